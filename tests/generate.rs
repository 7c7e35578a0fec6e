//! The committed completions and man pages match what the binary generates.

use std::collections::BTreeMap;
use std::path::Path;

use crate::harness::{Test, repo};

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut found = BTreeMap::new();
    for sub in ["completions", "man"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            found.insert(
                format!("{sub}/{}", path.file_name().unwrap().to_string_lossy()),
                std::fs::read(&path).unwrap(),
            );
        }
    }
    found
}

#[test]
fn completions_and_man_pages_are_up_to_date() {
    let output = Test::new()
        .args(&["__generate", "--out", "generated"])
        .run()
        .success();
    let generated = files(&output.dir.path().join("generated"));
    let committed = files(&repo());
    assert_eq!(
        generated.keys().collect::<Vec<_>>(),
        committed.keys().collect::<Vec<_>>(),
        "regenerate with: cargo run -- __generate --out ."
    );
    for (name, contents) in &generated {
        assert!(
            committed[name] == *contents,
            "{name} is stale; regenerate with: cargo run -- __generate --out ."
        );
    }
    assert!(
        generated.contains_key("completions/_dozen")
            && generated.contains_key("man/dozen-config-set.1")
    );
}
