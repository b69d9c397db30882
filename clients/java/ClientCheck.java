// Exercises the Java client OpenAPI Generator makes from openapi.yaml (-g java, okhttp-gson).
//
//   java clientcheck.ClientCheck roundtrip EXAMPLES.json
//   java clientcheck.ClientCheck live EXAMPLES.json BASE_URL USER PASSWORD
//
// Both print one JSON object on stdout; tests/clients compares it with the spec.
package clientcheck;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.reflect.TypeToken;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.openapitools.client.ApiClient;
import org.openapitools.client.ApiException;
import org.openapitools.client.ApiResponse;
import org.openapitools.client.JSON;
import org.openapitools.client.api.AttributesApi;
import org.openapitools.client.api.ChannelsApi;
import org.openapitools.client.api.EventsApi;
import org.openapitools.client.api.IdentityApi;
import org.openapitools.client.model.Envelope;
import org.openapitools.client.model.GetCuidsRequest;
import org.openapitools.client.model.GetCuidsResponse;
import org.openapitools.client.model.ReportEventsRequest;
import org.openapitools.client.model.ReportEventsResponse;
import org.openapitools.client.model.SetUserAttributesRequest;
import org.openapitools.client.model.SetUserAttributesResponse;
import org.openapitools.client.model.SetUserChannelsResponse;
import org.openapitools.client.model.UserChannels;

public final class ClientCheck {
    private ClientCheck() {}

    /** Decodes JSON text into a model and encodes the model again. */
    private interface Through {
        String apply(String json) throws IOException;
    }

    private static final Map<String, Through> MODELS = Map.of(
            "ReportEventsRequest", json -> ReportEventsRequest.fromJson(json).toJson(),
            "SetUserAttributesRequest", json -> SetUserAttributesRequest.fromJson(json).toJson(),
            "GetCuidsRequest", json -> GetCuidsRequest.fromJson(json).toJson(),
            "SetUserChannelsRequest", json -> JSON.serialize(
                    JSON.<List<UserChannels>>deserialize(json, new TypeToken<List<UserChannels>>() {}.getType())),
            "ReportEventsResponse", json -> ReportEventsResponse.fromJson(json).toJson(),
            "SetUserAttributesResponse", json -> SetUserAttributesResponse.fromJson(json).toJson(),
            "GetCuidsResponse", json -> GetCuidsResponse.fromJson(json).toJson(),
            "SetUserChannelsResponse", json -> SetUserChannelsResponse.fromJson(json).toJson(),
            "Envelope", json -> Envelope.fromJson(json).toJson());

    private static JsonArray readExamples(String path) throws IOException {
        return JsonParser.parseString(Files.readString(Path.of(path), StandardCharsets.UTF_8)).getAsJsonArray();
    }

    private static JsonObject roundTrip(JsonArray examples) {
        JsonObject out = new JsonObject();
        for (JsonElement element : examples) {
            JsonObject example = element.getAsJsonObject();
            String name = example.get("name").getAsString();
            Through through = MODELS.get(example.get("schema").getAsString());
            try {
                if (through == null) {
                    throw new IOException("no Java model for schema " + example.get("schema").getAsString());
                }
                out.add(name, JsonParser.parseString(through.apply(example.get("value").toString())));
            } catch (IOException | RuntimeException error) {
                JsonObject failed = new JsonObject();
                failed.addProperty("error", error.toString());
                out.add(name, failed);
            }
        }
        return out;
    }

    private static String documented(JsonArray examples, String operation) {
        for (JsonElement element : examples) {
            JsonObject example = element.getAsJsonObject();
            if (example.get("name").getAsString().equals(operation + " request documented")) {
                return example.get("value").toString();
            }
        }
        throw new IllegalArgumentException("no documented request example for " + operation);
    }

    /** A call of the generated API that answers with a typed success model. */
    private interface Call<T> {
        ApiResponse<T> execute() throws ApiException;
    }

    /** The status, code, msg (and a failure's data) of one call, read into the generated models. */
    private static <T> JsonObject record(Call<T> call, Function<T, Envelope> envelopeOf) {
        JsonObject result = new JsonObject();
        try {
            ApiResponse<T> answer = call.execute();
            result.addProperty("status", answer.getStatusCode());
            Envelope envelope = envelopeOf.apply(answer.getData());
            result.addProperty("code", envelope.getCode());
            result.addProperty("msg", envelope.getMsg());
            result.add("extra", names(envelope.getAdditionalProperties()));
        } catch (ApiException failure) {
            result.addProperty("status", failure.getCode());
            List<String> challenge = failure.getResponseHeaders() == null
                    ? null : failure.getResponseHeaders().get("www-authenticate");
            if (challenge != null && !challenge.isEmpty()) {
                result.addProperty("www_authenticate", challenge.get(0));
            }
            try {
                Envelope envelope = Envelope.fromJson(failure.getResponseBody());
                result.addProperty("code", envelope.getCode());
                result.addProperty("msg", envelope.getMsg());
                Map<String, Object> extra = envelope.getAdditionalProperties();
                result.add("extra", names(extra));
                if (extra != null && extra.containsKey("data")) {
                    result.add("data", JSON.getGson().toJsonTree(extra.get("data")));
                }
            } catch (IOException | RuntimeException error) {
                result.addProperty("error", "failure without a decoded Envelope: " + error);
            }
        } catch (RuntimeException error) {
            result.addProperty("error", error.toString());
        }
        return result;
    }

    /** The envelope part of a success model, with the names of the fields the spec does not name. */
    private static Envelope envelope(int code, String msg, Map<String, Object> extra) {
        Envelope envelope = new Envelope().code(code).msg(msg);
        if (extra != null) {
            extra.forEach(envelope::putAdditionalProperty);
        }
        return envelope;
    }

    private static JsonArray names(Map<String, Object> extra) {
        JsonArray names = new JsonArray();
        if (extra != null) {
            extra.keySet().stream().sorted().forEach(names::add);
        }
        return names;
    }

    private static JsonObject live(JsonArray examples, String baseUrl, String user, String password)
            throws IOException {
        ApiClient client = new ApiClient();
        client.setBasePath(baseUrl);
        client.setUsername(user);
        client.setPassword(password);
        JsonObject out = new JsonObject();

        ReportEventsRequest events = ReportEventsRequest.fromJson(documented(examples, "reportEvents"));
        out.add("reportEvents", record(() -> new EventsApi(client).reportEventsWithHttpInfo(events),
                (ReportEventsResponse r) -> envelope(r.getCode(), r.getMsg(), r.getAdditionalProperties())));

        SetUserAttributesRequest attributes =
                SetUserAttributesRequest.fromJson(documented(examples, "setUserAttributes"));
        out.add("setUserAttributes", record(
                () -> new AttributesApi(client).setUserAttributesWithHttpInfo(attributes),
                (SetUserAttributesResponse r) -> envelope(r.getCode(), r.getMsg(), r.getAdditionalProperties())));

        GetCuidsRequest lookup = GetCuidsRequest.fromJson(documented(examples, "getCuids"));
        JsonObject identified = record(() -> new IdentityApi(client).getCuidsWithHttpInfo(lookup),
                (GetCuidsResponse r) -> envelope(r.getCode(), r.getMsg(), r.getAdditionalProperties()));
        try {
            GetCuidsResponse found = new IdentityApi(client).getCuids(lookup);
            if (found.getData() != null && !found.getData().isEmpty()) {
                identified.addProperty("cuid", found.getData().get(0).getCuid());
            }
        } catch (ApiException failure) {
            identified.addProperty("error", "second getCuids failed: " + failure.getCode());
        }
        out.add("getCuids", identified);

        List<UserChannels> channels = JSON.deserialize(
                documented(examples, "setUserChannels"), new TypeToken<List<UserChannels>>() {}.getType());
        out.add("setUserChannels", record(() -> new ChannelsApi(client).setUserChannelsWithHttpInfo(channels),
                (SetUserChannelsResponse r) -> envelope(r.getCode(), r.getMsg(), r.getAdditionalProperties())));

        // A 400 with its data: an event name the spec's pattern refuses (checked by the sandbox only).
        ReportEventsRequest badEvent = ReportEventsRequest.fromJson(documented(examples, "reportEvents"));
        badEvent.getData().get(0).setEventName("Bad-Name");
        out.add("failure", record(() -> new EventsApi(client).reportEventsWithHttpInfo(badEvent),
                (ReportEventsResponse r) -> envelope(r.getCode(), r.getMsg(), r.getAdditionalProperties())));

        // A 401: the right user with a wrong password.
        ApiClient wrong = new ApiClient();
        wrong.setBasePath(baseUrl);
        wrong.setUsername(user);
        wrong.setPassword("wrong-" + password);
        out.add("unauthorized", record(() -> new IdentityApi(wrong).getCuidsWithHttpInfo(lookup),
                (GetCuidsResponse r) -> envelope(r.getCode(), r.getMsg(), r.getAdditionalProperties())));
        return out;
    }

    public static void main(String[] args) {
        try {
            JsonObject result;
            if (args.length == 2 && args[0].equals("roundtrip")) {
                result = roundTrip(readExamples(args[1]));
            } else if (args.length == 5 && args[0].equals("live")) {
                result = live(readExamples(args[1]), args[2], args[3], args[4]);
            } else {
                System.err.println("usage: ClientCheck roundtrip EXAMPLES.json | live EXAMPLES.json BASE_URL USER PASSWORD");
                System.exit(2);
                return;
            }
            System.out.println(result);
        } catch (IOException | RuntimeException error) {
            System.err.println("clientcheck: " + error);
            System.exit(2);
        }
    }
}
