// The part of the Go check programs that does not depend on the generated client: reading the
// examples, the round trip, the outcome of a call and the command line. tools/clients.py copies
// this file beside clients/go/main.go and clients/oapi-codegen/main.go; each of those defines
// `models` (schema name -> round trip through its model) and `live`.
//
//	clientcheck roundtrip EXAMPLES.json
//	clientcheck live EXAMPLES.json TARGET USER PASSWORD
//
// Both print one JSON object on stdout; tests/clients compares it with the spec.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
)

type example struct {
	Name      string          `json:"name"`
	Operation string          `json:"operation"`
	Kind      string          `json:"kind"`
	Schema    string          `json:"schema"`
	Value     json.RawMessage `json:"value"`
}

// through decodes data into a T and encodes the T again.
func through[T any](data []byte) (json.RawMessage, error) {
	var model T
	if err := json.Unmarshal(data, &model); err != nil {
		return nil, err
	}
	return json.Marshal(&model)
}

func readExamples(path string) ([]example, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var found []example
	return found, json.Unmarshal(data, &found)
}

func roundTrip(examples []example) map[string]any {
	out := map[string]any{}
	for _, ex := range examples {
		convert, ok := models[ex.Schema]
		if !ok {
			out[ex.Name] = map[string]string{"error": "no Go model for schema " + ex.Schema}
			continue
		}
		encoded, err := convert(ex.Value)
		if err != nil {
			out[ex.Name] = map[string]string{"error": err.Error()}
			continue
		}
		out[ex.Name] = encoded
	}
	return out
}

// request returns the documented request example of an operation, decoded into a T.
func request[T any](examples []example, operation string) (T, error) {
	var model T
	for _, ex := range examples {
		if ex.Name == operation+" request documented" {
			return model, json.Unmarshal(ex.Value, &model)
		}
	}
	return model, fmt.Errorf("no documented request example for %s", operation)
}

// outcome is what the live check reports of one call.
type outcome struct {
	Status          int             `json:"status"`
	Code            *int32          `json:"code"`
	Msg             *string         `json:"msg"`
	Data            json.RawMessage `json:"data,omitempty"`
	Extra           []string        `json:"extra"`
	WWWAuthenticate string          `json:"www_authenticate,omitempty"`
	Cuid            *int64          `json:"cuid,omitempty"`
	Error           string          `json:"error,omitempty"`
}

// names lists the fields a model kept without the spec naming them.
func names(extra map[string]interface{}) []string {
	found := []string{}
	for name := range extra {
		found = append(found, name)
	}
	sort.Strings(found)
	return found
}

func main() {
	var result any
	var err error
	var examples []example
	switch {
	case len(os.Args) == 3 && os.Args[1] == "roundtrip":
		if examples, err = readExamples(os.Args[2]); err == nil {
			result = roundTrip(examples)
		}
	case len(os.Args) == 6 && os.Args[1] == "live":
		if examples, err = readExamples(os.Args[2]); err == nil {
			result, err = live(examples, os.Args[3], os.Args[4], os.Args[5])
		}
	default:
		err = errors.New("usage: clientcheck roundtrip EXAMPLES.json | live EXAMPLES.json TARGET USER PASSWORD")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "clientcheck:", err)
		os.Exit(2)
	}
	if err := json.NewEncoder(os.Stdout).Encode(result); err != nil {
		fmt.Fprintln(os.Stderr, "clientcheck:", err)
		os.Exit(2)
	}
}
