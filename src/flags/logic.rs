//! A `JsonLogic` evaluator (<https://jsonlogic.com>), faithful to the reference implementation
//! `json-logic-js` (its test suite runs in `tests::jsonlogic_suite`), with flagd's operations
//! (`fractional`, `sem_ver`, `starts_with`, `ends_with`) and bounds a hostile rule cannot pass:
//! nesting depth, evaluation steps and the size of built values.

use serde_json::Value;

use super::custom;
use super::js::truthy;
use super::logic_error::LogicError;
use super::operations;

/// How deep rules may nest: far past what a person writes, well inside a thread's stack.
pub const MAX_DEPTH: usize = 128;
/// How many rule nodes one evaluation may visit (`map` inside `map` multiplies).
pub const MAX_STEPS: usize = 100_000;

/// Evaluates `rule` against `data`.
pub fn apply(rule: &Value, data: &Value) -> Result<Value, LogicError> {
    Evaluator { steps: 0 }.apply(rule, data, 0)
}

struct Evaluator {
    steps: usize,
}

impl Evaluator {
    fn apply(&mut self, rule: &Value, data: &Value, depth: usize) -> Result<Value, LogicError> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(LogicError::TooLong(MAX_STEPS));
        }
        if depth > MAX_DEPTH {
            return Err(LogicError::TooDeep(MAX_DEPTH));
        }
        match rule {
            Value::Array(items) => items
                .iter()
                .map(|item| self.apply(item, data, depth + 1))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            // Only an object with exactly one key is an operation; any other is data.
            Value::Object(map) if map.len() == 1 => {
                let (op, args) = map.iter().next().expect("one key");
                let args = match args {
                    Value::Array(items) => items.as_slice(),
                    single => std::slice::from_ref(single),
                };
                self.operation(op, args, data, depth + 1)
            }
            other => Ok(other.clone()),
        }
    }

    fn operation(
        &mut self,
        op: &str,
        args: &[Value],
        data: &Value,
        depth: usize,
    ) -> Result<Value, LogicError> {
        match op {
            "if" | "?:" => self.if_(args, data, depth),
            "and" | "or" => {
                let mut current = Value::Null;
                for arg in args {
                    current = self.apply(arg, data, depth)?;
                    if truthy(&current) == (op == "or") {
                        break;
                    }
                }
                Ok(current)
            }
            "filter" | "map" | "all" | "none" | "some" | "reduce" => {
                self.iterate(op, args, data, depth)
            }
            _ => {
                let values = args
                    .iter()
                    .map(|arg| self.apply(arg, data, depth))
                    .collect::<Result<Vec<_>, _>>()?;
                if let Some(result) = operations::eager(op, &values, data) {
                    return result;
                }
                custom::flagd(op, &values, data)
                    .ok_or_else(|| LogicError::UnknownOperation(op.to_owned()))
            }
        }
    }

    /// `if` and `?:`: condition, consequent pairs, then an optional else; lazily.
    fn if_(&mut self, args: &[Value], data: &Value, depth: usize) -> Result<Value, LogicError> {
        let mut pairs = args.chunks_exact(2);
        for pair in pairs.by_ref() {
            if truthy(&self.apply(&pair[0], data, depth)?) {
                return self.apply(&pair[1], data, depth);
            }
        }
        match pairs.remainder() {
            [otherwise] => self.apply(otherwise, data, depth),
            _ => Ok(Value::Null),
        }
    }

    /// The operations that run a rule once per element, with the element as the data.
    fn iterate(
        &mut self,
        op: &str,
        args: &[Value],
        data: &Value,
        depth: usize,
    ) -> Result<Value, LogicError> {
        let scoped = match args.first() {
            Some(first) => self.apply(first, data, depth)?,
            None => Value::Null,
        };
        let null = Value::Null;
        let logic = args.get(1).unwrap_or(&null);
        if op == "reduce" {
            let mut accumulator = match args.get(2) {
                Some(initial) => self.apply(initial, data, depth)?,
                None => Value::Null,
            };
            let Value::Array(items) = scoped else {
                return Ok(accumulator);
            };
            for current in items {
                let scope = serde_json::json!({"current": current, "accumulator": accumulator});
                accumulator = self.apply(logic, &scope, depth)?;
            }
            return Ok(accumulator);
        }
        let items = match scoped {
            Value::Array(items) => items,
            _ if op == "all" => return Ok(Value::Bool(false)),
            _ => Vec::new(),
        };
        match op {
            "map" => items
                .iter()
                .map(|item| self.apply(logic, item, depth))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            "all" => {
                if items.is_empty() {
                    return Ok(Value::Bool(false));
                }
                for item in &items {
                    if !truthy(&self.apply(logic, item, depth)?) {
                        return Ok(Value::Bool(false));
                    }
                }
                Ok(Value::Bool(true))
            }
            _ => {
                let mut kept = Vec::new();
                for item in items {
                    if truthy(&self.apply(logic, &item, depth)?) {
                        kept.push(item);
                    }
                }
                Ok(match op {
                    "none" => Value::Bool(kept.is_empty()),
                    "some" => Value::Bool(!kept.is_empty()),
                    _ => Value::Array(kept),
                })
            }
        }
    }
}
