//! Issue 14: no config value leaves dozen unless asked for with `--reveal`. A property test:
//! env files of every shape — valid, with warnings, with errors — whose values hold a marker,
//! and every command that reads them; none of their output (stdout or stderr, text or JSON)
//! may contain the marker.

use std::process::Command;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use proptest::prelude::*;

use crate::harness::{BIN, Test};

/// One line (or a few) of an env file whose value holds the marker `M`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    MultiLine,
    /// Reaches another key through `${…}`.
    Interpolated,
    /// Defined twice: `check` warns.
    Duplicate,
    /// A key with `.`: `check` warns.
    Dotted,
    /// Shadows an inherited variable (whose value holds the marker too): `check` warns.
    Shadowing,
    /// Text after the closing quote: an error on this line.
    AfterQuote,
    /// `KEY: value`: an error.
    Yaml,
    /// `KEY value`: not an assignment.
    NoEquals,
    /// `${UNSET:?}` after a key holding the marker: an error naming variables.
    Required,
    /// A line longer than an excerpt.
    Long,
    /// Terminal escapes around the marker.
    Escapes,
    /// Blank then `#`: `check` warns that the value is empty.
    HashAfterBlank,
}

const SHAPES: [Shape; 15] = [
    Shape::Plain,
    Shape::SingleQuoted,
    Shape::DoubleQuoted,
    Shape::MultiLine,
    Shape::Interpolated,
    Shape::Duplicate,
    Shape::Dotted,
    Shape::Shadowing,
    Shape::AfterQuote,
    Shape::Yaml,
    Shape::NoEquals,
    Shape::Required,
    Shape::Long,
    Shape::Escapes,
    Shape::HashAfterBlank,
];

/// The env file, and the inherited environment it shadows.
fn env_file(marker: &str, shapes: &[Shape]) -> (String, Vec<(String, String)>) {
    let mut text = String::new();
    let mut inherited = Vec::new();
    for (i, shape) in shapes.iter().enumerate() {
        let k = format!("K{i}");
        let line = match shape {
            Shape::Plain => format!("{k}={marker}\n"),
            Shape::SingleQuoted => format!("{k}='a {marker} b'\n"),
            Shape::DoubleQuoted => format!("{k}=\"x\\t{marker}\"\n"),
            Shape::MultiLine => format!("{k}=\"first\n{marker}\nlast\"\n"),
            Shape::Interpolated => format!("S{i}={marker}\n{k}=${{S{i}}}-suffix\n"),
            Shape::Duplicate => format!("{k}={marker}\n{k}={marker}2\n"),
            Shape::Dotted => format!("{k}.x={marker}\n"),
            Shape::Shadowing => {
                inherited.push((k.clone(), format!("inherited-{marker}")));
                format!("{k}={marker}\n")
            }
            Shape::AfterQuote => format!("{k}='{marker}' {marker}\n"),
            Shape::Yaml => format!("{k}: {marker}\n"),
            Shape::NoEquals => format!("{k} {marker}\n"),
            Shape::Required => format!("S{i}={marker}\n{k}=${{S{i}}}${{UNSET_{i}:?}}\n"),
            Shape::Long => format!("{k}={}{marker}{}\n", "a".repeat(150), "b".repeat(150)),
            Shape::Escapes => format!("{k}=\x1b]0;{marker}\x07\n"),
            Shape::HashAfterBlank => format!("{k}= #{marker}\n"),
        };
        text.push_str(&line);
    }
    (text, inherited)
}

/// Runs dozen in `dir` with `inherited`: stdout and stderr together.
fn output(dir: &std::path::Path, inherited: &[(String, String)], args: &[&str]) -> String {
    let output = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(inherited.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// What `dozen run` (of the release when there is one, else of the working tree) and a
/// `dozen ps` beside it print.
fn run_and_ps(dir: &std::path::Path, inherited: &[(String, String)], released: bool) -> String {
    static NEXT: AtomicU16 = AtomicU16::new(8400);
    let log = dir.join("run.log");
    let file = std::fs::File::create(&log).unwrap();
    let port = NEXT.fetch_add(7, Ordering::SeqCst).to_string();
    let mut args = vec!["run", "-p", &port];
    if !released {
        args.push("--dev");
    }
    let mut run = Command::new(BIN)
        .args(&args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(inherited.iter().map(|(k, v)| (k, v)))
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap();
    // A run that cannot start (an error shape) exits; one that can is looked at with `ps`
    // once its worker runs.
    let mut seen = String::new();
    let settled = crate::harness::within(Duration::from_secs(20), || {
        if run.try_wait().unwrap().is_some() {
            return true;
        }
        let ps = output(dir, inherited, &["ps", "--json"]);
        if ps.contains("\"running\"") {
            seen.push_str(&ps);
            seen.push_str(&output(dir, inherited, &["ps"]));
            return true;
        }
        false
    });
    let _ = rustix::process::kill_process(
        rustix::process::Pid::from_child(&run),
        rustix::process::Signal::TERM,
    );
    run.wait().unwrap();
    let printed = std::fs::read_to_string(&log).unwrap();
    assert!(
        settled,
        "dozen run neither ran its worker nor exited within 20 s:\n{printed}"
    );
    seen + &printed
}

fn no_output_holds_the_marker(marker: &str, shapes: &[Shape]) {
    let (env, inherited) = env_file(marker, shapes);
    let app = Test::new()
        .procfile("worker: echo started; exec sleep 30\n")
        .env_file(".env", &env);
    let dir = app.path();
    let mut seen = Vec::new();
    for args in [
        &["check"][..],
        &["check", "--json"],
        &["config"],
        &["config", "--json"],
        &["release", "-m", "property"],
        &["releases"],
        &["releases", "--json"],
        &["releases", "show", "v1"],
        &["releases", "show", "v1", "--json"],
        &["history"],
        &["history", "--json"],
        &["export", "compose", "--out", "exported"],
    ] {
        seen.push((args.join(" "), output(dir, &inherited, args)));
    }
    let released = dir.join(".dozen/releases/v1.json").exists();
    seen.push(("run, ps".into(), run_and_ps(dir, &inherited, released)));
    for (command, text) in seen {
        assert!(
            !text.contains(marker),
            "`dozen {command}` printed a config value\n--- .env ---\n{}\n--- output ---\n{text}",
            text_of(marker, shapes).escape_debug()
        );
    }
}

fn text_of(marker: &str, shapes: &[Shape]) -> String {
    env_file(marker, shapes).0
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn no_command_prints_a_config_value(
        marker in "[a-z0-9]{10}",
        shapes in proptest::collection::vec(proptest::sample::select(&SHAPES[..]), 1..6),
    ) {
        no_output_holds_the_marker(&format!("ZQX{marker}"), &shapes);
    }
}

/// Every shape at least once, valid ones together (so the release and the run happen), and
/// each error on its own (with the valid ones around it).
#[test]
fn every_shape_alone_and_all_valid_shapes_together() {
    let errors = [
        Shape::AfterQuote,
        Shape::Yaml,
        Shape::NoEquals,
        Shape::Required,
    ];
    let valid: Vec<Shape> = SHAPES
        .into_iter()
        .filter(|shape| !errors.contains(shape))
        .collect();
    assert_eq!(valid.len(), 11);
    no_output_holds_the_marker("ZQXallvalid", &valid);
    for error in errors {
        no_output_holds_the_marker("ZQXoneerror", &[Shape::Plain, error, Shape::Long]);
    }
}
