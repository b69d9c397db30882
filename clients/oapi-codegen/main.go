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
	"fmt"
	"net/http"

	"clientcheck/oapi/growth"
)

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
