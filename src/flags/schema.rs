//! Validation against flagd's published JSON schema (`open-feature/flagd-schemas`,
//! `json/flags.json` and `json/targeting.json`, copied into `schemas/flagd/`), so a file dozen
//! accepts is one flagd and its providers accept. The schema is compiled once.

use std::sync::OnceLock;

use serde_json::Value;

const FLAGS_SCHEMA: &str = include_str!("../../schemas/flagd/flags.json");
const TARGETING_SCHEMA: &str = include_str!("../../schemas/flagd/targeting.json");
const FLAGS_URI: &str = "https://flagd.dev/schema/v0/flags.json";
const TARGETING_URI: &str = "https://flagd.dev/schema/v0/targeting.json";

/// One way the document breaks the schema: where (a JSON pointer's segments) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub path: Vec<String>,
    /// The last segment of `path` is a key that should not be there: point at the key.
    pub at_key: bool,
    pub message: String,
}

/// Every violation of flagd's schema by `document` outside its rules (`targeting` and
/// `$evaluators`, which [`rule_violations`] checks), in the validator's order.
pub fn violations(document: &Value) -> Vec<Violation> {
    let mut stripped = document.clone();
    if let Some(flags) = stripped.get_mut("flags").and_then(Value::as_object_mut) {
        for flag in flags.values_mut() {
            if let Some(targeting) = flag.get_mut("targeting") {
                *targeting = Value::Object(serde_json::Map::new());
            }
        }
    }
    if let Some(evaluators) = stripped
        .get_mut("$evaluators")
        .and_then(Value::as_object_mut)
    {
        for rule in evaluators.values_mut() {
            *rule = Value::Object(serde_json::Map::new());
        }
    }
    collect(flags_validator(), &stripped)
}

/// Every violation of flagd's targeting schema by one rule, with paths below the rule.
pub fn rule_violations(rule: &Value) -> Vec<Violation> {
    collect(targeting_validator(), rule)
}

fn collect(validator: &jsonschema::Validator, instance: &Value) -> Vec<Violation> {
    validator
        .iter_errors(instance)
        .map(|error| violation(most_specific(&error)))
        .collect()
}

/// For "not valid under any of the schemas in `anyOf`" (a flag is one of four shapes, a rule
/// one of many operations), the error of the branch that came closest: leaving out branches
/// that refused the value's very keys (another operation), the one with the fewest errors,
/// recursively. For a boolean flag whose `state` is misspelt, that is the `state` error, not
/// "no shape fits".
fn most_specific<'a>(
    error: &'a jsonschema::ValidationError<'a>,
) -> &'a jsonschema::ValidationError<'a> {
    use jsonschema::error::ValidationErrorKind::{AdditionalProperties, AnyOf, OneOfNotValid};
    let (AnyOf { context } | OneOfNotValid { context }) = error.kind() else {
        return error;
    };
    let here = error.instance_path().as_str();
    context
        .iter()
        .filter(|branch| {
            !branch.is_empty()
                && !branch.iter().any(|e| {
                    matches!(e.kind(), AdditionalProperties { .. })
                        && e.instance_path().as_str() == here
                })
        })
        .min_by_key(|branch| branch.len())
        .and_then(|branch| branch.first())
        .map_or(error, |inner| most_specific(inner))
}

fn violation(error: &jsonschema::ValidationError<'_>) -> Violation {
    let mut path: Vec<String> = error
        .instance_path()
        .as_str()
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    let mut at_key = false;
    if let jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } =
        error.kind()
        && let Some(first) = unexpected.first()
    {
        path.push(first.clone());
        at_key = true;
    }
    // The validator starts its messages with the whole offending value, which for a flag is
    // its whole definition: the location already shows where it is.
    let message = error.to_string();
    let instance = error.instance().to_string();
    let message = match message.strip_prefix(&instance) {
        Some(rest) if instance.len() > 40 => format!("this value{rest}"),
        _ => message,
    };
    Violation {
        path,
        at_key,
        message,
    }
}

fn targeting_validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let schema: Value =
            serde_json::from_str(TARGETING_SCHEMA).expect("the targeting schema is JSON");
        jsonschema::draft7::new(&schema).expect("flagd's targeting schema compiles")
    })
}

fn flags_validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let schema: Value = serde_json::from_str(FLAGS_SCHEMA).expect("the flags schema is JSON");
        // Draft 7 ignores `$id` beside the root's `$ref`: the base for `./targeting.json` is
        // given here.
        jsonschema::draft7::options()
            .with_base_uri(FLAGS_URI)
            .with_retriever(Embedded)
            .build(&schema)
            .expect("flagd's schema compiles")
    })
}

/// Serves the schema's one reference (`./targeting.json`) from the binary: never the network.
struct Embedded;

impl jsonschema::Retrieve for Embedded {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        if uri.as_str() == TARGETING_URI {
            Ok(serde_json::from_str(TARGETING_SCHEMA)?)
        } else {
            Err(format!("{} is not one of flagd's schemas", uri.as_str()).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{rule_violations, violations};
    use serde_json::json;

    #[test]
    fn accepts_a_flag_and_refuses_what_flagd_refuses() {
        let good = json!({"flags": {"f": {"state": "ENABLED", "variants": {"on": true, "off": false},
            "defaultVariant": "on", "targeting": {"if": [{"==": [{"var": "a"}, 1]}, "off"]}}}});
        assert_eq!(violations(&good), []);
        let bad_state = json!({"flags": {"f": {"state": "ON", "variants": {"on": true}}}});
        assert!(!violations(&bad_state).is_empty());
        let no_flags = json!({"$evaluators": {}});
        let found = violations(&no_flags);
        assert!(found.iter().any(|v| v.path.is_empty()), "{found:?}");
        let empty_variants = json!({"flags": {"f": {"state": "ENABLED", "variants": {}}}});
        assert!(!violations(&empty_variants).is_empty());
        // Rules are left to `rule_violations`.
        let odd_rule = json!({"flags": {"f": {"state": "ENABLED", "variants": {"a": 1},
            "targeting": {"sem_ver": [1, 2]}}}});
        assert_eq!(violations(&odd_rule), []);
        assert!(!rule_violations(&json!({"sem_ver": [1, 2]})).is_empty());
        assert_eq!(
            rule_violations(&json!({"if": [{"sem_ver": [{"var": "v"}, ">=", "1.2.3"]}, "a"]})),
            []
        );
    }
}
