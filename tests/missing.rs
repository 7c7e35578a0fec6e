// How a test treats a tool it checks with that is not on the machine: shared by the
// integration tests (`tests/harness.rs`) and the library's own tests (`src/image/oci.rs`),
// which include this file by path.

/// A check needs `tool`, which is not on this machine: fails the test with how to install it
/// — a missing tool never reads as a pass — unless the run opted out with
/// `DOZEN_SKIP_MISSING=1`; then the skip is written to `DOZEN_SKIPPED_FILE`, which `.ci/test`
/// counts in its summary, and the caller returns without the check.
#[track_caller]
pub fn missing(tool: &str, install: &str) {
    assert!(
        skipping_missing(),
        "{tool} is missing: {install} (`.ci/test` installs every tool the tests use; `DOZEN_SKIP_MISSING=1 .ci/test` skips what needs one and counts it)"
    );
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    if let Some(file) = std::env::var_os("DOZEN_SKIPPED_FILE") {
        use std::io::Write as _;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file)
            .unwrap();
        // One short write per line: lines from parallel tests do not interleave.
        file.write_all(format!("{test}: no {tool}\n").as_bytes())
            .unwrap();
    }
    eprintln!("{tool} is missing: {test} skipped it (DOZEN_SKIP_MISSING=1)");
}

/// Whether the run opted out of the checks whose tools are missing (`DOZEN_SKIP_MISSING=1`).
pub fn skipping_missing() -> bool {
    std::env::var("DOZEN_SKIP_MISSING").is_ok_and(|v| v == "1")
}
