//! The `.env` writer: a written file reads back as what was written, and editing any valid
//! file with `set` and `unset` changes exactly the key edited.
#![no_main]

use dozen::app::env_edit::render_file;
use dozen::app::env_file::{EnvFile, Value, is_valid_key};
use dozen::source::Source;
use libfuzzer_sys::fuzz_target;

fn literal_values(file: &EnvFile) -> Vec<(String, Option<String>)> {
    file.entries
        .iter()
        .map(|e| match &e.value {
            Value::Inherit => (e.key.clone(), None),
            Value::Template(t) => (e.key.clone(), t.evaluate(&|name| Some(format!("<{name}>"))).ok()),
        })
        .collect()
}

fuzz_target!(|input: (Vec<(String, String)>, String, String, String)| {
    let (pairs, text, key, value) = input;
    // parse(write(model)) == model.
    let pairs: Vec<(String, String)> = pairs.into_iter().filter(|(k, v)| is_valid_key(k) && !v.contains('\0')).collect();
    let (file, problems) = EnvFile::parse(Source::new(".env", render_file(&pairs)));
    assert!(problems.is_empty(), "{problems:?}");
    let read: Vec<(String, String)> = literal_values(&file).into_iter().map(|(k, v)| (k, v.unwrap())).collect();
    assert_eq!(read, pairs);

    // Editing an arbitrary valid file touches only the edited key.
    if !is_valid_key(&key) || value.contains('\0') {
        return;
    }
    let (mut file, problems) = EnvFile::parse(Source::new(".env", text));
    if problems.iter().any(|p| p.is_error()) {
        return;
    }
    let others = |file: &EnvFile| -> Vec<(String, Option<String>)> { literal_values(file).into_iter().filter(|(k, _)| *k != key).collect() };
    let before = others(&file);
    file.set(&key, &value);
    assert_eq!(file.literal(&key).as_deref(), Some(value.as_str()));
    assert_eq!(others(&file), before);
    file.unset(&key);
    assert!(file.get(&key).is_none());
    assert_eq!(others(&file), before);
});
