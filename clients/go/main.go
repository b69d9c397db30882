// Command clientcheck exercises the Go client that OpenAPI Generator makes from openapi.yaml.
//
//	clientcheck roundtrip EXAMPLES.json   decode every example into its model, print it encoded again
//	clientcheck live EXAMPLES.json PORT USER PASSWORD
//	                                      call every operation on the sandbox at 127.0.0.1:PORT
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

	openapi "github.com/GIT_USER_ID/GIT_REPO_ID"
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
	"ReportEventsRequest":       through[openapi.ReportEventsRequest],
	"SetUserAttributesRequest":  through[openapi.SetUserAttributesRequest],
	"GetCuidsRequest":           through[openapi.GetCuidsRequest],
	"SetUserChannelsRequest":    through[[]openapi.UserChannels],
	"ReportEventsResponse":      through[openapi.ReportEventsResponse],
	"SetUserAttributesResponse": through[openapi.SetUserAttributesResponse],
	"GetCuidsResponse":          through[openapi.GetCuidsResponse],
	"SetUserChannelsResponse":   through[openapi.SetUserChannelsResponse],
	"Envelope":                  through[openapi.Envelope],
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
		if ex.Operation == operation && ex.Kind == "request" && ex.Name == operation+" request documented" {
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

// envelopeModel is what every generated answer model has: the envelope's fields.
type envelopeModel interface {
	GetCode() int32
	GetMsg() string
}

func names(extra map[string]interface{}) []string {
	found := []string{}
	for name := range extra {
		found = append(found, name)
	}
	sort.Strings(found)
	return found
}

// record reads the status, and code, msg and unnamed fields of a success model or of the
// Envelope in a failure (with the failure's data).
func record(model envelopeModel, extra map[string]interface{}, answer *http.Response, err error) outcome {
	result := outcome{Extra: []string{}}
	if model != nil {
		code, msg := model.GetCode(), model.GetMsg()
		result.Code, result.Msg, result.Extra = &code, &msg, names(extra)
	}
	if answer != nil {
		result.Status = answer.StatusCode
		result.WWWAuthenticate = answer.Header.Get("WWW-Authenticate")
	}
	var failure *openapi.GenericOpenAPIError
	if errors.As(err, &failure) {
		if envelope, ok := failure.Model().(openapi.Envelope); ok {
			result.Code, result.Msg, result.Extra = &envelope.Code, envelope.Msg, names(envelope.AdditionalProperties)
			if data, found := envelope.AdditionalProperties["data"]; found {
				result.Data, _ = json.Marshal(data)
			}
		} else {
			result.Error = "failure without a decoded Envelope: " + failure.Error()
		}
	} else if err != nil {
		result.Error = err.Error()
	}
	return result
}

func live(examples []example, port, user, password string) (map[string]outcome, error) {
	client := openapi.NewAPIClient(openapi.NewConfiguration())
	sandbox := context.WithValue(context.Background(), openapi.ContextServerIndex, 1)
	sandbox = context.WithValue(sandbox, openapi.ContextServerVariables, map[string]string{"port": port})
	ctx := context.WithValue(sandbox, openapi.ContextBasicAuth, openapi.BasicAuth{UserName: user, Password: password})
	out := map[string]outcome{}

	events, err := request[openapi.ReportEventsRequest](examples, "reportEvents")
	if err != nil {
		return nil, err
	}
	reported, answer, err := client.EventsAPI.ReportEvents(ctx).ReportEventsRequest(events).Execute()
	if reported != nil {
		out["reportEvents"] = record(reported, reported.AdditionalProperties, answer, err)
	} else {
		out["reportEvents"] = record(nil, nil, answer, err)
	}

	attributes, err := request[openapi.SetUserAttributesRequest](examples, "setUserAttributes")
	if err != nil {
		return nil, err
	}
	written, answer, err := client.AttributesAPI.SetUserAttributes(ctx).SetUserAttributesRequest(attributes).Execute()
	if written != nil {
		out["setUserAttributes"] = record(written, written.AdditionalProperties, answer, err)
	} else {
		out["setUserAttributes"] = record(nil, nil, answer, err)
	}

	lookup, err := request[openapi.GetCuidsRequest](examples, "getCuids")
	if err != nil {
		return nil, err
	}
	found, answer, err := client.IdentityAPI.GetCuids(ctx).GetCuidsRequest(lookup).Execute()
	identified := record(nil, nil, answer, err)
	if found != nil {
		identified = record(found, found.AdditionalProperties, answer, err)
		if len(found.Data) > 0 {
			identified.Cuid = found.Data[0].Cuid.Get()
		}
	}
	out["getCuids"] = identified

	channels, err := request[[]openapi.UserChannels](examples, "setUserChannels")
	if err != nil {
		return nil, err
	}
	set, answer, err := client.ChannelsAPI.SetUserChannels(ctx).UserChannels(channels).Execute()
	if set != nil {
		out["setUserChannels"] = record(set, set.AdditionalProperties, answer, err)
	} else {
		out["setUserChannels"] = record(nil, nil, answer, err)
	}

	// A 400 with its data: an event name the spec's pattern refuses (the Go client sends it).
	invalid, err := request[openapi.ReportEventsRequest](examples, "reportEvents")
	if err != nil {
		return nil, err
	}
	invalid.Data[0].EventName = "Bad-Name"
	refused, answer, err := client.EventsAPI.ReportEvents(ctx).ReportEventsRequest(invalid).Execute()
	if refused != nil {
		out["failure"] = record(refused, refused.AdditionalProperties, answer, err)
	} else {
		out["failure"] = record(nil, nil, answer, err)
	}

	// A 401: the right user with a wrong password.
	wrong := context.WithValue(sandbox, openapi.ContextBasicAuth, openapi.BasicAuth{UserName: user, Password: "wrong-" + password})
	denied, answer, err := client.IdentityAPI.GetCuids(wrong).GetCuidsRequest(lookup).Execute()
	if denied != nil {
		out["unauthorized"] = record(denied, denied.AdditionalProperties, answer, err)
	} else {
		out["unauthorized"] = record(nil, nil, answer, err)
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
		err = errors.New("usage: clientcheck roundtrip EXAMPLES.json | live EXAMPLES.json PORT USER PASSWORD")
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
