//! `dozen audit`: the fixtures per ecosystem, every output format, the CI contract (exit codes,
//! suppressions, baselines), and masking.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::harness::{Test, repo};

const ECOSYSTEMS: [&str; 6] = ["python", "node", "ruby", "go", "rust", "java"];

/// (rule, `path:line`) of the warnings and errors in a JSON report.
fn located(report: &Value) -> BTreeSet<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] != "note")
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                format!("{}:{}", f["path"].as_str().unwrap(), f["line"]),
            )
        })
        .collect()
}

/// The warnings and errors of `audit --strict` on a test app, located.
fn strict(test: Test) -> BTreeSet<(String, String)> {
    located(&test.args(&["audit", "--strict", "--json"]).run().json())
}

/// Where `audit --strict` reports `rule` on a test app (`path:line`, sorted).
fn places(test: Test, rule: &str) -> Vec<String> {
    of_rule(&strict(test), rule)
}

/// The places of `rule` among located findings (`path:line`, sorted).
fn of_rule(found: &BTreeSet<(String, String)>, rule: &str) -> Vec<String> {
    found
        .iter()
        .filter(|(r, _)| r == rule)
        .map(|(_, at)| at.clone())
        .collect()
}

/// The role a `--model --json` report gives a file (a test fails when the file is missing).
fn role_in(model: &Value, path: &str) -> String {
    model["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path)
        .map_or_else(
            || panic!("{path} not in the model"),
            |f| f["role"].as_str().unwrap().to_owned(),
        )
}

/// The paths of the production config a `--model --json` report lists.
fn config_paths(model: &Value) -> Vec<&str> {
    model["production_config"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect()
}

/// Where `audit --strict` reports `rule` on a test app, notes included (`path:line`, sorted).
fn noted(test: Test, rule: &str) -> Vec<String> {
    let report = test.args(&["audit", "--strict", "--json"]).run().json();
    let mut at: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .map(|f| format!("{}:{}", f["path"].as_str().unwrap(), f["line"]))
        .collect();
    at.sort();
    at
}

/// The fixture's `planted.txt`: what the audit must find, written with the fixture.
fn planted(ecosystem: &str) -> BTreeSet<(String, String)> {
    let path = repo().join(format!("fixtures/audit/{ecosystem}/bad/planted.txt"));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (rule, at) = l.split_once(' ').unwrap();
            (rule.to_owned(), at.trim().to_owned())
        })
        .collect()
}

mod contract;
mod findings;
mod first_sight_1;
mod first_sight_2;
mod first_sight_3;
mod model;
