//! OFREP, the `OpenFeature` Remote Evaluation Protocol, as `dozen run` serves it: what a
//! request asks and what it is answered, apart from the HTTP server that carries them
//! ([`server`]). Any `OpenFeature` SDK's OFREP provider evaluates the app's flags through it
//! (docs/flags.md, "OFREP").
//!
//! - `POST /ofrep/v1/evaluate/flags/{key}`, body `{"context": {...}}`: 200 with `key`,
//!   `value`, `variant`, `reason`, `metadata`; 404 `FLAG_NOT_FOUND`; 400 with `errorCode` and
//!   `errorDetails` for the other errors. `value` and `variant` are left out when the
//!   caller's own default applies (a disabled flag, no default variant), as flagd does.
//! - `POST /ofrep/v1/evaluate/flags`: every flag, `{"flags": [...], "metadata": {...}}`, with
//!   an `ETag`; a request whose `If-None-Match` names it is answered 304 with no body.

pub mod server;

use serde_json::{Map, Value, json};

use crate::flags::live::Loaded;
use crate::flags::{Context, ErrorCode, Evaluation, EvaluationError};

/// The variable every process finds OFREP at (`dozen run`'s, or an export's flagd).
pub const ENDPOINT: &str = "OFREP_ENDPOINT";

/// The largest request body read (a context with this much in it is a mistake or an attack).
pub const MAX_BODY: usize = 1 << 20;

/// An answer: its status, its `ETag` (bulk only), its JSON body (none for 304).
#[derive(Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub etag: Option<String>,
    pub body: Vec<u8>,
}

impl Answer {
    fn json(status: u16, body: &Value) -> Self {
        Self {
            status,
            etag: None,
            body: serde_json::to_vec(body).expect("a JSON value serializes"),
        }
    }
}

/// What a request asks, by method and path.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// One flag, its key percent-decoded.
    One(String),
    All,
    /// An OFREP path asked with another method than POST.
    NotPost,
    NotOfrep,
}

/// The route `method` and `path` name.
pub fn route(method: &str, path: &str) -> Route {
    const ALL: &str = "/ofrep/v1/evaluate/flags";
    let route = if path == ALL || path == "/ofrep/v1/evaluate/flags/" {
        Route::All
    } else if let Some(key) = path.strip_prefix(ALL).and_then(|k| k.strip_prefix('/')) {
        Route::One(String::from_utf8_lossy(&crate::http::percent_decode(key)).into_owned())
    } else {
        return Route::NotOfrep;
    };
    if method == "POST" {
        route
    } else {
        Route::NotPost
    }
}

/// The context a request body gives: none (an empty body, no `context`, `null`) is empty;
/// anything but a JSON object with an object or null `context` is `INVALID_CONTEXT`.
pub fn context(body: &[u8]) -> Result<Context, EvaluationError> {
    let invalid = |message: String| EvaluationError {
        code: ErrorCode::InvalidContext,
        message,
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Context::default());
    }
    let request: Value = serde_json::from_slice(body)
        .map_err(|e| invalid(format!("the request body is not JSON: {e}")))?;
    match request {
        Value::Object(mut fields) => {
            Context::from_value(fields.remove("context").unwrap_or(Value::Null))
        }
        _ => Err(invalid(
            "the request body is not a JSON object with a `context`".to_owned(),
        )),
    }
}

/// `POST /ofrep/v1/evaluate/flags/{key}`.
pub fn evaluate_one(loaded: &Loaded, key: &str, body: &[u8]) -> Answer {
    let result = match context(body) {
        Ok(context) => loaded.definitions.evaluate(key, &context),
        Err(error) => {
            return Answer::json(
                400,
                &json!({"key": key, "errorCode": error.code, "errorDetails": error.message}),
            );
        }
    };
    let status = match &result.error {
        Some(error) if error.code == ErrorCode::FlagNotFound => 404,
        Some(_) => 400,
        None => 200,
    };
    Answer::json(status, &Value::Object(one(result)))
}

/// `POST /ofrep/v1/evaluate/flags`; `if_none_match` is the request's header, if any.
pub fn evaluate_all(loaded: &Loaded, body: &[u8], if_none_match: Option<&str>) -> Answer {
    let context = match context(body) {
        Ok(context) => context,
        Err(error) => {
            return Answer::json(
                400,
                &json!({"errorCode": error.code, "errorDetails": error.message}),
            );
        }
    };
    let flags: Vec<Value> = loaded
        .definitions
        .evaluate_all(&context)
        .into_iter()
        .map(|e| Value::Object(one(e)))
        .collect();
    let mut body = Map::new();
    body.insert("flags".to_owned(), Value::Array(flags));
    if !loaded.definitions.metadata.is_empty() {
        body.insert(
            "metadata".to_owned(),
            Value::Object(loaded.definitions.metadata.clone()),
        );
    }
    let body = serde_json::to_vec(&body).expect("a JSON value serializes");
    // The answer's own digest: it changes when the flags or the context change what it says,
    // and only then.
    let etag = format!("\"{}\"", crate::flags::live::digest(&body));
    if if_none_match.is_some_and(|header| matches_etag(header, &etag)) {
        return Answer {
            status: 304,
            etag: Some(etag),
            body: Vec::new(),
        };
    }
    Answer {
        status: 200,
        etag: Some(etag),
        body,
    }
}

/// Whether an `If-None-Match` header names `etag` (weakly, as RFC 9110 §13.1.2 compares for
/// it), or is `*`.
fn matches_etag(header: &str, etag: &str) -> bool {
    header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

/// One flag's result as OFREP spells it: a success, or `key`, `errorCode`, `errorDetails`.
fn one(result: Evaluation) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("key".to_owned(), Value::String(result.key));
    if let Some(error) = result.error {
        out.insert("errorCode".to_owned(), json!(error.code));
        out.insert("errorDetails".to_owned(), Value::String(error.message));
        return out;
    }
    if let Some(value) = result.value {
        out.insert("value".to_owned(), value);
    }
    if let Some(variant) = result.variant {
        out.insert("variant".to_owned(), Value::String(variant));
    }
    out.insert("reason".to_owned(), json!(result.reason));
    out.insert("metadata".to_owned(), Value::Object(result.metadata));
    out
}

#[cfg(test)]
mod tests;
