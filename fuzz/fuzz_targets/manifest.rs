//! Any bytes as `dozen.toml`: no panic while parsing, validating or rendering diagnostics.
#![no_main]

use dozen::app::manifest::Manifest;
use dozen::app::procfile::Procfile;
use dozen::source::Source;
use dozen::ui::Paint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = Source::from_bytes("dozen.toml", data) else { return };
    let (procfile, _) = Procfile::parse(&Source::new("Procfile", "web: a\nworker: b\n"));
    match Manifest::parse(&source) {
        Ok(manifest) => {
            for problem in manifest.validate(&source, Some(&procfile)) {
                let _ = problem.render(Paint::plain());
            }
        }
        Err(problem) => {
            let _ = problem.render(Paint::plain());
        }
    }
});
