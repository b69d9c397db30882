//! Exercises the Rust client OpenAPI Generator makes from openapi.yaml (-g rust, reqwest).
//!
//!   clientcheck roundtrip EXAMPLES.json
//!   clientcheck live EXAMPLES.json API_URL USER PASSWORD
//!
//! Both print one JSON object on stdout; tests/clients compares it with the spec.

use openapi::apis::configuration::Configuration;
use openapi::apis::{attributes_api, channels_api, events_api, identity_api, Error};
use openapi::models;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};

/// Decodes a JSON value into a T and encodes the T again.
fn through<T: DeserializeOwned + Serialize>(value: &Value) -> Result<Value, String> {
    let model: T = serde_json::from_value(value.clone()).map_err(|error| error.to_string())?;
    serde_json::to_value(&model).map_err(|error| error.to_string())
}

fn round_trip(examples: &[Value]) -> Value {
    let mut out = Map::new();
    for example in examples {
        let value = &example["value"];
        let result = match example["schema"].as_str().unwrap_or_default() {
            "ReportEventsRequest" => through::<models::ReportEventsRequest>(value),
            "SetUserAttributesRequest" => through::<models::SetUserAttributesRequest>(value),
            "GetCuidsRequest" => through::<models::GetCuidsRequest>(value),
            "SetUserChannelsRequest" => through::<Vec<models::UserChannels>>(value),
            "ReportEventsResponse" => through::<models::ReportEventsResponse>(value),
            "SetUserAttributesResponse" => through::<models::SetUserAttributesResponse>(value),
            "GetCuidsResponse" => through::<models::GetCuidsResponse>(value),
            "SetUserChannelsResponse" => through::<models::SetUserChannelsResponse>(value),
            "Envelope" => through::<models::Envelope>(value),
            other => Err(format!("no Rust model for schema {other}")),
        };
        let name = example["name"].as_str().unwrap_or_default().to_owned();
        out.insert(name, result.unwrap_or_else(|error| json!({ "error": error })));
    }
    Value::Object(out)
}

fn documented<T: DeserializeOwned>(examples: &[Value], operation: &str) -> Result<T, String> {
    let name = format!("{operation} request documented");
    let example = examples.iter().find(|e| e["name"] == name.as_str()).ok_or(format!("no {name}"))?;
    serde_json::from_value(example["value"].clone()).map_err(|error| format!("{name}: {error}"))
}

/// A generated error type: an untagged enum of the documented failure answers (every one an
/// Envelope) and UnknownValue for any other body.
trait Failure {
    /// The variant serde chose and the Envelope it holds (None for UnknownValue).
    fn envelope(&self) -> Option<(&'static str, &models::Envelope)>;
}

macro_rules! failure {
    ($($error:ty),*) => {$(
        impl Failure for $error {
            fn envelope(&self) -> Option<(&'static str, &models::Envelope)> {
                match self {
                    Self::Status401(envelope) => Some(("Status401", envelope)),
                    Self::Status429(envelope) => Some(("Status429", envelope)),
                    Self::Status4XX(envelope) => Some(("Status4XX", envelope)),
                    Self::Status5XX(envelope) => Some(("Status5XX", envelope)),
                    Self::UnknownValue(_) => None,
                }
            }
        }
    )*};
}

failure!(
    events_api::ReportEventsError,
    attributes_api::SetUserAttributesError,
    identity_api::GetCuidsError,
    channels_api::SetUserChannelsError
);

/// The status, code, msg and (for a failure) data of one answer, read into the generated models.
fn record<E: Failure>(answer: Result<(i32, Option<String>), Error<E>>) -> Value {
    match answer {
        // The generated answer models keep no field they do not name: "extra" is always empty.
        Ok((code, msg)) => json!({ "status": 200, "code": code, "msg": msg, "extra": [] }),
        Err(Error::ResponseError(failure)) => {
            let status = failure.status.as_u16();
            match failure.entity.as_ref().and_then(Failure::envelope) {
                Some((model, envelope)) => {
                    let mut result = json!({
                        "status": status, "code": envelope.code, "msg": envelope.msg, "model": model, "extra": [],
                    });
                    // The generated Envelope has no data field: a failure's data is in the raw content.
                    if let Ok(Value::Object(body)) = serde_json::from_str::<Value>(&failure.content) {
                        if let Some(data) = body.get("data") {
                            result["data"] = data.clone();
                        }
                    }
                    result
                }
                None => json!({ "status": status, "error": "the body is no Envelope", "extra": [] }),
            }
        }
        Err(error) => json!({ "error": error.to_string(), "extra": [] }),
    }
}

fn unsent(error: String) -> Value {
    json!({ "error": format!("could not build the request: {error}"), "extra": [] })
}

async fn live(examples: &[Value], api_url: &str, user: &str, password: &str) -> Value {
    let config = Configuration {
        base_path: api_url.to_owned(),
        basic_auth: Some((user.to_owned(), Some(password.to_owned()))),
        ..Configuration::default()
    };
    let mut out = Map::new();

    let events = match documented::<models::ReportEventsRequest>(examples, "reportEvents") {
        Ok(events) => events,
        Err(error) => return json!({ "error": error }),
    };
    let reported = events_api::report_events(&config, events.clone()).await;
    out.insert("reportEvents".into(), record(reported.map(|r| (r.code, r.msg))));

    let written = match documented::<models::SetUserAttributesRequest>(examples, "setUserAttributes") {
        Ok(attributes) => {
            record(attributes_api::set_user_attributes(&config, attributes).await.map(|r| (r.code, r.msg)))
        }
        Err(error) => unsent(error),
    };
    out.insert("setUserAttributes".into(), written);

    let lookup = match documented::<models::GetCuidsRequest>(examples, "getCuids") {
        Ok(lookup) => lookup,
        Err(error) => return json!({ "error": error }),
    };
    let found = identity_api::get_cuids(&config, lookup.clone()).await;
    let cuid = found.as_ref().ok().and_then(|r| r.data.clone().flatten()).and_then(|d| d.first()?.cuid.flatten());
    let mut identified = record(found.map(|r| (r.code, r.msg)));
    if let Some(cuid) = cuid {
        identified["cuid"] = json!(cuid);
    }
    out.insert("getCuids".into(), identified);

    let set = match documented::<Vec<models::UserChannels>>(examples, "setUserChannels") {
        Ok(channels) => record(channels_api::set_user_channels(&config, channels).await.map(|r| (r.code, r.msg))),
        Err(error) => unsent(error),
    };
    out.insert("setUserChannels".into(), set);

    // A 400 with its data: the documented events, the first renamed to an event name the spec's
    // pattern refuses (the client sends it; the sandbox stores none of them).
    let mut invalid = events;
    invalid.data[0].event_name = "Bad-Name".into();
    let failure = events_api::report_events(&config, invalid).await;
    out.insert("failure".into(), record(failure.map(|r| (r.code, r.msg))));

    // A 401: the right user with a wrong password.
    let wrong = Configuration {
        basic_auth: Some((user.to_owned(), Some(format!("wrong-{password}")))),
        ..config.clone()
    };
    let denied = identity_api::get_cuids(&wrong, lookup).await;
    out.insert("unauthorized".into(), record(denied.map(|r| (r.code, r.msg))));
    Value::Object(out)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let read = |path: &str| -> Vec<Value> {
        let text = std::fs::read_to_string(path).expect("examples file");
        serde_json::from_str(&text).expect("examples JSON")
    };
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [_, "roundtrip", path] => round_trip(&read(path)),
        [_, "live", path, api_url, user, password] => live(&read(path), api_url, user, password).await,
        _ => {
            eprintln!("usage: clientcheck roundtrip EXAMPLES.json | live EXAMPLES.json API_URL USER PASSWORD");
            std::process::exit(2);
        }
    };
    println!("{result}");
}
