// Exercises the Kotlin client OpenAPI Generator makes from openapi.yaml (-g kotlin, jvm-okhttp4
// with Moshi). The value unions are generated with --schema-mappings as kotlin.Any, and
// ExactJsonValues (below) is added to the generated Serializer.moshiBuilder so that numbers keep
// their exact value: Moshi's own reader of Any turns every number into a Double.
//
//   java -cp ... clientcheck.ClientCheckKt roundtrip EXAMPLES.json
//   java -cp ... clientcheck.ClientCheckKt live EXAMPLES.json BASE_URL USER PASSWORD
//
// Both print one JSON object on stdout; tests/clients compares it with the spec.
package clientcheck

import com.squareup.moshi.JsonAdapter
import com.squareup.moshi.JsonReader
import com.squareup.moshi.JsonWriter
import com.squareup.moshi.Moshi
import com.squareup.moshi.Types
import java.io.File
import java.lang.reflect.Type
import java.math.BigDecimal
import kotlin.system.exitProcess
import org.openapitools.client.apis.AttributesApi
import org.openapitools.client.apis.ChannelsApi
import org.openapitools.client.apis.EventsApi
import org.openapitools.client.apis.IdentityApi
import org.openapitools.client.infrastructure.ApiClient
import org.openapitools.client.infrastructure.ApiResponse
import org.openapitools.client.infrastructure.ClientError
import org.openapitools.client.infrastructure.ServerError
import org.openapitools.client.infrastructure.Serializer
import org.openapitools.client.infrastructure.Success
import org.openapitools.client.models.Envelope
import org.openapitools.client.models.GetCuidsRequest
import org.openapitools.client.models.GetCuidsResponse
import org.openapitools.client.models.ReportEventsRequest
import org.openapitools.client.models.ReportEventsResponse
import org.openapitools.client.models.SetUserAttributesRequest
import org.openapitools.client.models.SetUserAttributesResponse
import org.openapitools.client.models.SetUserChannelsResponse
import org.openapitools.client.models.UserChannels

/** Reads a JSON value of type Any with whole numbers as Long and others as BigDecimal. */
object ExactJsonValues : JsonAdapter.Factory {
    override fun create(type: Type, annotations: Set<Annotation>, moshi: Moshi): JsonAdapter<*>? {
        if (type != Any::class.java || annotations.isNotEmpty()) return null
        val next = moshi.nextAdapter<Any>(this, type, annotations)
        return object : JsonAdapter<Any>() {
            override fun fromJson(reader: JsonReader): Any? = read(reader)

            override fun toJson(writer: JsonWriter, value: Any?) = write(writer, value, next)
        }
    }

    private fun read(reader: JsonReader): Any? = when (reader.peek()) {
        JsonReader.Token.NUMBER -> reader.nextString().let { it.toLongOrNull() ?: BigDecimal(it) }
        JsonReader.Token.BEGIN_ARRAY -> buildList {
            reader.beginArray()
            while (reader.hasNext()) add(read(reader))
            reader.endArray()
        }
        JsonReader.Token.BEGIN_OBJECT -> buildMap {
            reader.beginObject()
            while (reader.hasNext()) put(reader.nextName(), read(reader))
            reader.endObject()
        }
        else -> reader.readJsonValue()
    }

    private fun write(writer: JsonWriter, value: Any?, next: JsonAdapter<Any>) {
        when (value) {
            null -> writer.nullValue()
            is Number -> writer.value(value)
            is String -> writer.value(value)
            is Boolean -> writer.value(value)
            is List<*> -> {
                writer.beginArray()
                value.forEach { write(writer, it, next) }
                writer.endArray()
            }
            is Map<*, *> -> {
                writer.beginObject()
                value.forEach { (key, item) -> writer.name(key.toString()); write(writer, item, next) }
                writer.endObject()
            }
            else -> next.toJson(writer, value)
        }
    }
}

private val moshi: Moshi by lazy {
    Serializer.moshiBuilder.add(ExactJsonValues)
    Serializer.moshi
}

private val channelsType: Type = Types.newParameterizedType(List::class.java, UserChannels::class.java)

private fun through(json: String, type: Type): Any? {
    val adapter = moshi.adapter<Any>(type)
    return moshi.adapter(Any::class.java).fromJson(adapter.toJson(adapter.fromJson(json)))
}

private val models: Map<String, Type> = mapOf(
    "ReportEventsRequest" to ReportEventsRequest::class.java,
    "SetUserAttributesRequest" to SetUserAttributesRequest::class.java,
    "GetCuidsRequest" to GetCuidsRequest::class.java,
    "SetUserChannelsRequest" to channelsType,
    "ReportEventsResponse" to ReportEventsResponse::class.java,
    "SetUserAttributesResponse" to SetUserAttributesResponse::class.java,
    "GetCuidsResponse" to GetCuidsResponse::class.java,
    "SetUserChannelsResponse" to SetUserChannelsResponse::class.java,
    "Envelope" to Envelope::class.java,
)

@Suppress("UNCHECKED_CAST")
private fun readExamples(path: String): List<Map<String, Any?>> =
    moshi.adapter(Any::class.java).fromJson(File(path).readText()) as List<Map<String, Any?>>

private fun json(value: Any?): String = moshi.adapter(Any::class.java).toJson(value)

private fun roundTrip(examples: List<Map<String, Any?>>): Map<String, Any?> = examples.associate { example ->
    val name = example["name"] as String
    val type = models[example["schema"]]
    name to try {
        if (type == null) throw IllegalArgumentException("no Kotlin model for schema ${example["schema"]}")
        through(json(example["value"]), type)
    } catch (error: Exception) {
        mapOf("error" to error.toString())
    }
}

private fun documented(examples: List<Map<String, Any?>>, operation: String): String =
    json(examples.first { it["name"] == "$operation request documented" }["value"])

private inline fun <reified T> decode(text: String): T = moshi.adapter(T::class.java).fromJson(text)!!

/** The status, code, msg and a failure's data of one answer, read into the generated models. */
private fun record(answer: ApiResponse<*>, code: Int?, msg: String?): MutableMap<String, Any?> {
    val result = mutableMapOf<String, Any?>("status" to answer.statusCode, "extra" to listOf<String>())
    answer.headers.entries.firstOrNull { it.key.equals("www-authenticate", ignoreCase = true) }
        ?.let { result["www_authenticate"] = it.value.first() }
    val failureBody = when (answer) {
        is ClientError<*> -> answer.body as String?
        is ServerError<*> -> answer.body as String?
        else -> null
    }
    if (answer is Success<*>) {
        result["code"] = code
        result["msg"] = msg
    } else if (failureBody != null) {
        val envelope = decode<Envelope>(failureBody)
        result["code"] = envelope.code
        result["msg"] = envelope.msg
        // The generated Envelope does not keep fields it does not name: the error's data is read
        // from the same body as a JSON object.
        @Suppress("UNCHECKED_CAST")
        val fields = moshi.adapter(Any::class.java).fromJson(failureBody) as Map<String, Any?>
        if ("data" in fields) result["data"] = fields["data"]
    } else {
        result["error"] = "HTTP ${answer.statusCode} without a body"
    }
    return result
}

private fun live(examples: List<Map<String, Any?>>, baseUrl: String, user: String, password: String): Map<String, Any?> {
    ApiClient.username = user
    ApiClient.password = password
    val out = mutableMapOf<String, Any?>()

    val events = decode<ReportEventsRequest>(documented(examples, "reportEvents"))
    val reported = EventsApi(baseUrl).reportEventsWithHttpInfo(events)
    val reportedModel = (reported as? Success<*>)?.data as ReportEventsResponse?
    out["reportEvents"] = record(reported, reportedModel?.code, reportedModel?.msg)

    val attributes = decode<SetUserAttributesRequest>(documented(examples, "setUserAttributes"))
    val written = AttributesApi(baseUrl).setUserAttributesWithHttpInfo(attributes)
    val writtenModel = (written as? Success<*>)?.data as SetUserAttributesResponse?
    out["setUserAttributes"] = record(written, writtenModel?.code, writtenModel?.msg)

    val lookup = decode<GetCuidsRequest>(documented(examples, "getCuids"))
    val found = IdentityApi(baseUrl).getCuidsWithHttpInfo(lookup)
    val foundModel = (found as? Success<*>)?.data as GetCuidsResponse?
    val identified = record(found, foundModel?.code, foundModel?.msg)
    foundModel?.`data`?.firstOrNull()?.cuid?.let { identified["cuid"] = it }
    out["getCuids"] = identified

    val channels = moshi.adapter<List<UserChannels>>(channelsType).fromJson(documented(examples, "setUserChannels"))!!
    val set = ChannelsApi(baseUrl).setUserChannelsWithHttpInfo(channels)
    val setModel = (set as? Success<*>)?.data as SetUserChannelsResponse?
    out["setUserChannels"] = record(set, setModel?.code, setModel?.msg)

    // A 400 with its data: an event name the spec's pattern refuses (the client sends it).
    val invalid = events.copy(data = listOf(events.`data`[0].copy(eventName = "Bad-Name")) + events.`data`.drop(1))
    out["failure"] = record(EventsApi(baseUrl).reportEventsWithHttpInfo(invalid), null, null)

    // A 401: the right user with a wrong password.
    ApiClient.password = "wrong-$password"
    out["unauthorized"] = record(IdentityApi(baseUrl).getCuidsWithHttpInfo(lookup), null, null)
    return out
}

fun main(args: Array<String>) {
    val result = when {
        args.size == 2 && args[0] == "roundtrip" -> roundTrip(readExamples(args[1]))
        args.size == 5 && args[0] == "live" -> live(readExamples(args[1]), args[2], args[3], args[4])
        else -> {
            System.err.println("usage: ClientCheckKt roundtrip EXAMPLES.json | live EXAMPLES.json BASE_URL USER PASSWORD")
            exitProcess(2)
        }
    }
    println(json(result))
}
