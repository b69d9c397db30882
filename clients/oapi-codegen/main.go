// Command clientcheck exercises the Go client oapi-codegen v2 makes from openapi.yaml.
//
//	clientcheck roundtrip EXAMPLES.json   decode every example into its model, print it encoded again
//	clientcheck live EXAMPLES.json API_URL USER PASSWORD
//	                                      call every operation on the sandbox at API_URL
//
// Both print one JSON object on stdout; tests/clients compares it with the spec.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"

	"clientcheck/oapi/growth"
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

var models = map[string]func([]byte) (json.RawMessage, error){
	"ReportEventsRequest":       through[growth.ReportEventsRequest],
	"SetUserAttributesRequest":  through[growth.SetUserAttributesRequest],
	"GetCuidsRequest":           through[growth.GetCuidsRequest],
	"SetUserChannelsRequest":    through[growth.SetUserChannelsRequest],
	"ReportEventsResponse":      through[growth.ReportEventsResponse],
	"SetUserAttributesResponse": through[growth.SetUserAttributesResponse],
	"GetCuidsResponse":          through[growth.GetCuidsResponse],
	"SetUserChannelsResponse":   through[growth.SetUserChannelsResponse],
	"Envelope":                  through[growth.Envelope],
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

func names(extra map[string]interface{}) []string {
	found := []string{}
	for name := range extra {
		found = append(found, name)
	}
	sort.Strings(found)
	return found
}

// record reads the status and the envelope: the success model's or, for a failure, the
// generated Envelope (401 or 4XX) with its data.
func record(raw *http.Response, code int32, msg *string, extra map[string]interface{}, failures ...*growth.Envelope) outcome {
	result := outcome{Status: raw.StatusCode, Extra: []string{}, WWWAuthenticate: raw.Header.Get("WWW-Authenticate")}
	if raw.StatusCode == http.StatusOK {
		result.Code, result.Msg, result.Extra = &code, msg, names(extra)
		return result
	}
	for _, envelope := range failures {
		if envelope != nil {
			result.Code, result.Msg, result.Extra = &envelope.Code, envelope.Msg, names(envelope.AdditionalProperties)
			if data, found := envelope.AdditionalProperties["data"]; found {
				result.Data, _ = json.Marshal(data)
			}
			return result
		}
	}
	result.Error = fmt.Sprintf("HTTP %d without a decoded Envelope", raw.StatusCode)
	return result
}

func failed(err error) outcome {
	return outcome{Extra: []string{}, Error: err.Error()}
}

func live(examples []example, apiURL, user, password string) (map[string]outcome, error) {
	basic := func(secret string) growth.ClientOption {
		return growth.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			req.SetBasicAuth(user, secret)
			return nil
		})
	}
	client, err := growth.NewClientWithResponses(apiURL, basic(password))
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	out := map[string]outcome{}

	events, err := request[growth.ReportEventsRequest](examples, "reportEvents")
	if err != nil {
		return nil, err
	}
	if got, err := client.ReportEventsWithResponse(ctx, events); err != nil {
		out["reportEvents"] = failed(err)
	} else if got.JSON200 != nil {
		out["reportEvents"] = record(got.HTTPResponse, got.JSON200.Code, got.JSON200.Msg, got.JSON200.AdditionalProperties)
	} else {
		out["reportEvents"] = record(got.HTTPResponse, 0, nil, nil, got.JSON401, got.JSON4XX)
	}

	attributes, err := request[growth.SetUserAttributesRequest](examples, "setUserAttributes")
	if err != nil {
		return nil, err
	}
	if got, err := client.SetUserAttributesWithResponse(ctx, attributes); err != nil {
		out["setUserAttributes"] = failed(err)
	} else if got.JSON200 != nil {
		out["setUserAttributes"] = record(got.HTTPResponse, got.JSON200.Code, got.JSON200.Msg, got.JSON200.AdditionalProperties)
	} else {
		out["setUserAttributes"] = record(got.HTTPResponse, 0, nil, nil, got.JSON401, got.JSON4XX)
	}

	lookup, err := request[growth.GetCuidsRequest](examples, "getCuids")
	if err != nil {
		return nil, err
	}
	if got, err := client.GetCuidsWithResponse(ctx, lookup); err != nil {
		out["getCuids"] = failed(err)
	} else if got.JSON200 != nil {
		identified := record(got.HTTPResponse, got.JSON200.Code, got.JSON200.Msg, got.JSON200.AdditionalProperties)
		if got.JSON200.Data != nil && len(*got.JSON200.Data) > 0 {
			identified.Cuid = (*got.JSON200.Data)[0].Cuid
		}
		out["getCuids"] = identified
	} else {
		out["getCuids"] = record(got.HTTPResponse, 0, nil, nil, got.JSON401, got.JSON4XX)
	}

	channels, err := request[growth.SetUserChannelsRequest](examples, "setUserChannels")
	if err != nil {
		return nil, err
	}
	if got, err := client.SetUserChannelsWithResponse(ctx, channels); err != nil {
		out["setUserChannels"] = failed(err)
	} else if got.JSON200 != nil {
		out["setUserChannels"] = record(got.HTTPResponse, got.JSON200.Code, got.JSON200.Msg, got.JSON200.AdditionalProperties)
	} else {
		out["setUserChannels"] = record(got.HTTPResponse, 0, nil, nil, got.JSON401, got.JSON4XX)
	}

	// A 400 with its data: an event name the spec's pattern refuses (the client sends it).
	invalid, err := request[growth.ReportEventsRequest](examples, "reportEvents")
	if err != nil {
		return nil, err
	}
	invalid.Data[0].EventName = "Bad-Name"
	if got, err := client.ReportEventsWithResponse(ctx, invalid); err != nil {
		out["failure"] = failed(err)
	} else {
		out["failure"] = record(got.HTTPResponse, 0, nil, nil, got.JSON401, got.JSON4XX)
	}

	// A 401: the right user with a wrong password.
	wrong, err := growth.NewClientWithResponses(apiURL, basic("wrong-"+password))
	if err != nil {
		return nil, err
	}
	if got, err := wrong.GetCuidsWithResponse(ctx, lookup); err != nil {
		out["unauthorized"] = failed(err)
	} else {
		out["unauthorized"] = record(got.HTTPResponse, 0, nil, nil, got.JSON401, got.JSON4XX)
	}
	return out, nil
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
		err = errors.New("usage: clientcheck roundtrip EXAMPLES.json | live EXAMPLES.json API_URL USER PASSWORD")
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
