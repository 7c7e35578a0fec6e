//! Any bytes as one of the files the audit's deployment model reads (the first byte picks the
//! name: a Compose file, a manifest, a Dockerfile, a unit, `fly.toml`, `package.json`…) and
//! as YAML: no panic, every declared process located inside the file, and a YAML tree no
//! larger than its node budget however many aliases the input nests.
#![no_main]

use dozen::audit::model::declarations::{self, Declared};
use dozen::audit::yaml;
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 10] = [
    "docker-compose.yml",
    "k8s/web.yaml",
    "heroku.yml",
    "render.yaml",
    "Dockerfile",
    "deploy/shop.service",
    "fly.toml",
    "package.json",
    "app.json",
    "compose.dev.yaml",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let name = NAMES[usize::from(pick) % NAMES.len()];
    let text = String::from_utf8_lossy(rest);
    if declarations::may_declare(name) && declarations::wanted(name, rest) {
        let mut out = Declared::default();
        declarations::read(name, &text, &mut out);
        let lines = text.lines().count().max(1);
        for process in &out.processes {
            assert!(process.line >= 1 && process.line <= lines + 1, "{process:?}");
        }
    }
    if let Some(documents) = yaml::parse(&text) {
        fn count(node: &yaml::Node) -> usize {
            1 + match &node.value {
                yaml::Value::Scalar(_) => 0,
                yaml::Value::Seq(items) => items.iter().map(count).sum(),
                yaml::Value::Map(entries) => entries.iter().map(|(_, v)| 1 + count(v)).sum(),
            }
        }
        let nodes: usize = documents.iter().map(count).sum();
        assert!(nodes <= 2 * 200_000 + 1, "{nodes}");
    }
});
