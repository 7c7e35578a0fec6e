//! Any bytes as a `.env` file: no panic while parsing, resolving or rendering diagnostics.
#![no_main]

use dozen::app::env_file::EnvFile;
use dozen::app::environment::{Config, Inherited};
use dozen::source::Source;
use dozen::ui::Paint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let source = match Source::from_bytes(".env", data) {
        Ok(source) => source,
        Err(location) => {
            assert!(location.line >= 1 && location.column >= 1);
            return;
        }
    };
    let (file, problems) = EnvFile::parse(source);
    let inherited: Inherited = [("HOME", "/home/u"), ("EMPTY", "")].into_iter().map(|(k, v)| (k.into(), v.into())).collect();
    let (config, more) = Config::resolve(std::slice::from_ref(&file), &inherited);
    for problem in problems.iter().chain(&more) {
        let _ = problem.render(Paint::plain());
    }
    for var in config.vars.values() {
        assert!(!var.value.contains('\0'));
    }
});
