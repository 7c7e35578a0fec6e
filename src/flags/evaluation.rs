//! Evaluating a flag for a context, with the result `OpenFeature` and OFREP define (value,
//! variant, reason, error code, metadata), decided as flagd's evaluator decides it
//! (`core/pkg/evaluator/json.go`, `evaluateVariant` and `resolve`).

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Map, Value};

use super::definitions::Definitions;
use super::flag::{Flag, Kind, State};
use super::js::number_to_string;
use super::logic;

/// Why a flag has the value it has (`OpenFeature`'s resolution reasons that flagd uses; flagd
/// never answers `SPLIT`: a `fractional` match is a `TARGETING_MATCH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason {
    /// No targeting: the default variant.
    Static,
    /// The targeting chose a variant.
    TargetingMatch,
    /// The targeting chose nothing (null), or there is no default variant to serve: the
    /// default variant, or, without one, the caller's own default.
    Default,
    /// The flag is disabled: the caller's own default.
    Disabled,
    Error,
}

/// `OpenFeature`'s error codes, as OFREP spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    FlagNotFound,
    /// The targeting rule cannot be evaluated (an unknown operation, an unresolved `$ref`, a
    /// rule past the evaluator's bounds).
    ParseError,
    /// The value is not of the type the caller asked for ([`Evaluation::expect`]).
    TypeMismatch,
    /// Part of `OpenFeature`'s vocabulary; flagd's evaluator never answers it (a rule that needs
    /// a targeting key and has none answers null, hence the default), nor does dozen's.
    TargetingKeyMissing,
    /// The evaluation context is not a JSON object ([`Context::from_value`]).
    InvalidContext,
    /// The targeting answered something that is not one of the flag's variants.
    General,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvaluationError {
    pub code: ErrorCode,
    pub message: String,
}

/// The result of evaluating one flag.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub key: String,
    /// `None` when the caller's own default applies (disabled, no default variant, errors).
    pub value: Option<Value>,
    pub variant: Option<String>,
    pub reason: Reason,
    pub error: Option<EvaluationError>,
    /// The flag set's metadata overridden key by key by the flag's own.
    pub metadata: Map<String, Value>,
}

impl Evaluation {
    /// The value, or the caller's default when the evaluation has none.
    pub fn value_or(&self, default: Value) -> Value {
        self.value.clone().unwrap_or(default)
    }

    /// Turns a value of another type than `kind` into `TYPE_MISMATCH`, as flagd's typed
    /// resolvers do (`resolve[T]`); evaluations without a value pass unchanged.
    #[must_use]
    pub fn expect(self, kind: Kind) -> Self {
        match &self.value {
            Some(value) if Kind::of(value) != Some(kind) => {
                let message = format!(
                    "flag `{}` is a {}, not a {}",
                    self.key,
                    Kind::of(value).map_or("null", Kind::as_str),
                    kind.as_str()
                );
                Self {
                    value: None,
                    reason: Reason::Error,
                    error: Some(EvaluationError {
                        code: ErrorCode::TypeMismatch,
                        message,
                    }),
                    ..self
                }
            }
            _ => self,
        }
    }

    fn error(key: &str, code: ErrorCode, message: String, metadata: Map<String, Value>) -> Self {
        Self {
            key: key.to_owned(),
            value: None,
            variant: None,
            reason: Reason::Error,
            error: Some(EvaluationError { code, message }),
            metadata,
        }
    }
}

/// The evaluation context: `targetingKey` and any other attributes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context(pub Map<String, Value>);

impl Context {
    /// A context from a request's JSON, which must be an object (or absent: null).
    pub fn from_value(value: Value) -> Result<Self, EvaluationError> {
        match value {
            Value::Object(map) => Ok(Self(map)),
            Value::Null => Ok(Self::default()),
            _ => Err(EvaluationError {
                code: ErrorCode::InvalidContext,
                message: "the evaluation context is not a JSON object".to_owned(),
            }),
        }
    }

    pub fn targeting_key(&self) -> Option<&str> {
        self.0.get("targetingKey").and_then(Value::as_str)
    }
}

impl Definitions {
    /// Evaluates flag `key` for `context` now.
    pub fn evaluate(&self, key: &str, context: &Context) -> Evaluation {
        self.evaluate_at(key, context, unix_now())
    }

    /// Evaluates every flag for `context`, in file order (OFREP's bulk evaluation).
    pub fn evaluate_all(&self, context: &Context) -> Vec<Evaluation> {
        let now = unix_now();
        self.flags
            .keys()
            .map(|key| self.evaluate_at(key, context, now))
            .collect()
    }

    /// Evaluates flag `key` for `context` as at `timestamp` (Unix seconds), which the rule
    /// sees as `$flagd.timestamp`.
    pub fn evaluate_at(&self, key: &str, context: &Context, timestamp: i64) -> Evaluation {
        let Some(flag) = self.flags.get(key) else {
            return Evaluation::error(
                key,
                ErrorCode::FlagNotFound,
                format!("flag `{key}` does not exist"),
                self.metadata.clone(),
            );
        };
        let mut metadata = self.metadata.clone();
        metadata.extend(
            flag.metadata
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        let done = |variant: Option<&str>, reason| Evaluation {
            key: key.to_owned(),
            value: variant.and_then(|v| flag.variants.get(v)).cloned(),
            variant: variant.map(str::to_owned),
            reason,
            error: None,
            metadata: metadata.clone(),
        };
        if flag.state == State::Disabled {
            return done(None, Reason::Disabled);
        }
        let Some(rule) = &flag.targeting else {
            return match &flag.default_variant {
                Some(default) => done(Some(default), Reason::Static),
                None => done(None, Reason::Default),
            };
        };
        let data = Value::Object(enriched(context, key, timestamp));
        let result = match logic::apply(rule, &data) {
            Ok(result) => result,
            Err(error) => {
                return Evaluation::error(
                    key,
                    ErrorCode::ParseError,
                    format!("flag `{key}`'s targeting: {error}"),
                    metadata,
                );
            }
        };
        match variant_name(&result) {
            None => done(flag.default_variant.as_deref(), Reason::Default),
            Some(name) if flag.variants.contains_key(&name) => {
                done(Some(&name), Reason::TargetingMatch)
            }
            Some(name) => Evaluation::error(
                key,
                ErrorCode::General,
                format!(
                    "flag `{key}`'s targeting chose `{name}`, which is not one of its variants"
                ),
                metadata,
            ),
        }
    }

    /// The flag named `key`.
    pub fn flag(&self, key: &str) -> Option<&Flag> {
        self.flags.get(key)
    }
}

/// The context as the rule sees it: flagd adds `$flagd.flagKey` and `$flagd.timestamp`,
/// replacing any `$flagd` the caller sent.
fn enriched(context: &Context, key: &str, timestamp: i64) -> Map<String, Value> {
    let mut data = context.0.clone();
    data.insert(
        "$flagd".to_owned(),
        serde_json::json!({"flagKey": key, "timestamp": timestamp}),
    );
    data
}

/// The variant a rule's result names: flagd marshals the result to JSON and strips the quotes,
/// so `true` names variant `"true"` and `1` names `"1"`; null names none.
fn variant_name(result: &Value) -> Option<String> {
    Some(match result {
        Value::Null => return None,
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), number_to_string),
        other => other.to_string().replace('"', ""),
    })
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
