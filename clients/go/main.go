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
	"net/http"

	openapi "github.com/GIT_USER_ID/GIT_REPO_ID"
)

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

// envelopeModel is what every generated answer model has: the envelope's fields.
type envelopeModel interface {
	GetCode() int32
	GetMsg() string
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
