//! Any bytes as a flag definitions file, then (after a NUL byte) an evaluation context: no
//! panic while checking the file, rendering its diagnostics or evaluating every flag; and the
//! file's text, if it is JSON, as a `JsonLogic` rule on its own.
#![no_main]

use dozen::flags::{Context, check, logic};
use dozen::ui::Paint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (file, context) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let Ok(text) = std::str::from_utf8(file) else { return };
    let context = serde_json::from_slice(context)
        .ok()
        .and_then(|value| Context::from_value(value).ok())
        .unwrap_or_default();
    let checked = check("flags.json", text);
    for problem in &checked.diagnostics {
        let _ = problem.render(Paint::plain());
    }
    if let Some(definitions) = checked.definitions {
        for evaluation in definitions.evaluate_all(&context) {
            let _ = serde_json::to_string(&evaluation);
        }
    }
    if let Ok(rule) = serde_json::from_str::<serde_json::Value>(text) {
        let _ = logic::apply(&rule, &serde_json::Value::Object(context.0));
    }
});
