//! Any bytes as a Procfile: no panic, and every diagnostic renders.
#![no_main]

use dozen::app::procfile::Procfile;
use dozen::source::Source;
use dozen::ui::Paint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = Source::from_bytes("Procfile", data) else { return };
    let (procfile, problems) = Procfile::parse(&source);
    for problem in &problems {
        let _ = problem.render(Paint::plain());
        assert!(problem.location.as_ref().is_some_and(|l| l.line >= 1 && l.column >= 1));
    }
    if problems.is_empty() {
        for process in &procfile.types {
            assert!(!process.command.is_empty() && process.name.len() <= 63);
        }
    }
});
