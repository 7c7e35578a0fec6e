//! Any bytes as one of the files the audit reads whole or scans (the first byte picks the
//! name): no panic, and every finding and suppression located inside the file.
#![no_main]

use std::sync::LazyLock;

use dozen::audit::files;
use dozen::audit::rules::PATTERNS;
use dozen::audit::scan::Scanners;
use dozen::audit::walk::{Options, Walked, scan_file};
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 19] = [
    "lib/tasks/deploy.rake",
    "app/views/help.md.erb",
    "src/main.rs",
    "tests/conftest.py",
    "config/secrets.yml",
    "Dockerfile",
    "requirements.txt",
    "pom.xml",
    "settings.py",
    "src/main/resources/application.properties",
    "config/database.yml",
    "server.js",
    "app.py",
    "main.go",
    ".env",
    "nginx.conf",
    "README.md",
    "config/logging.php",
    "app/settings/base.py",
];

static SCANNERS: LazyLock<Scanners<'static>> = LazyLock::new(|| Scanners::new(&PATTERNS));

fuzz_target!(|data: &[u8]| {
    let Some((&pick, content)) = data.split_first() else { return };
    let path = NAMES[usize::from(pick) % NAMES.len()];
    let mut walked = Walked::default();
    scan_file(path, content, &SCANNERS, &Options::default(), &mut walked);
    let lines = content.split(|&b| b == b'\n').count();
    for finding in &walked.findings {
        assert!(finding.line >= 1 && finding.line <= lines, "{finding:?}");
        assert!(finding.column >= 1, "{finding:?}");
        assert_eq!(finding.path, path);
    }
    for suppression in &walked.suppressions {
        assert!(suppression.line >= 1 && suppression.line <= lines);
    }
    let _ = files::kind(path);
    let _ = dozen::audit::dockerfile::parse(&String::from_utf8_lossy(content));
});
