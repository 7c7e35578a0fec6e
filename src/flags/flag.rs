//! One flag of a definitions file, as flagd models it.

use indexmap::IndexMap;
use serde_json::{Map, Value};

/// `state`: a disabled flag evaluates to reason `DISABLED` and no value (flagd ≥ 0.12; see
/// `evaluation.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Enabled,
    Disabled,
}

impl State {
    /// As the file spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "ENABLED",
            Self::Disabled => "DISABLED",
        }
    }
}

/// The one type all of a flag's variants share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Boolean,
    String,
    Number,
    Object,
}

impl Kind {
    /// The kind of a variant value; arrays and null are no flag's kind.
    pub fn of(value: &Value) -> Option<Self> {
        match value {
            Value::Bool(_) => Some(Self::Boolean),
            Value::String(_) => Some(Self::String),
            Value::Number(_) => Some(Self::Number),
            Value::Object(_) => Some(Self::Object),
            Value::Null | Value::Array(_) => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Boolean => "boolean",
            Self::String => "string",
            Self::Number => "number",
            Self::Object => "object",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    pub state: State,
    /// In file order.
    pub variants: IndexMap<String, Value>,
    /// `None` when null or left out: the caller's own default is served.
    pub default_variant: Option<String>,
    /// The `JsonLogic` rule with every `$ref` to an evaluator replaced by its rule; `None` when
    /// absent or `{}`.
    pub targeting: Option<Value>,
    pub metadata: Map<String, Value>,
}

impl Flag {
    /// The variants' shared type, `None` if they have none (the file check reports that).
    pub fn kind(&self) -> Option<Kind> {
        let mut kinds = self.variants.values().map(Kind::of);
        let first = kinds.next()??;
        kinds.all(|k| k == Some(first)).then_some(first)
    }

    /// The default variant's value, if there is a default variant.
    pub fn default_value(&self) -> Option<&Value> {
        self.variants.get(self.default_variant.as_deref()?)
    }
}
