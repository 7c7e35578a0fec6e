//! Differential test: on the cases where the dialects agree (`fixtures/env/oracle/*.env`,
//! each naming its oracles in its first line), dozen reads a `.env` file exactly as
//! python-dotenv (`dotenv_values`) and npm `dotenv` + `dotenv-expand@12` do.
//!
//! The oracles are installed by `.ci/test`; a missing one fails the test with how to install
//! it, unless the run opted out (`DOZEN_SKIP_MISSING=1`, counted in `.ci/test`'s summary).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::harness::{Test, repo};

/// The object an oracle prints for one file, or why it could not run.
fn run_oracle(oracle: &str, path: &Path) -> Result<Value, String> {
    let script = repo().join("tests/oracle");
    let mut command = match oracle {
        "python-dotenv" => {
            let mut c = Command::new("python3");
            c.arg(script.join("python_dotenv.py"));
            c
        }
        "npm-dotenv" => {
            let mut c = Command::new("node");
            c.arg(script.join("npm_dotenv.js"));
            c
        }
        other => panic!("unknown oracle {other}"),
    };
    let output = command
        .arg(path)
        .env_remove("DOZEN_ORACLE_UNSET")
        .output()
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    let mut all: Value = serde_json::from_slice(&output.stdout).map_err(|e| e.to_string())?;
    Ok(all[path.to_str().unwrap()].take())
}

#[test]
fn dozen_agrees_with_python_dotenv_and_npm_dotenv_where_the_dialects_agree() {
    let mut missing = false;
    let mut compared = 0;
    let mut cases: Vec<_> = std::fs::read_dir(repo().join("fixtures/env/oracle"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    for case in &cases {
        let text = std::fs::read_to_string(case).unwrap();
        let header = text.lines().next().unwrap_or_default();
        let oracles = header
            .strip_prefix("# oracles:")
            .unwrap_or_else(|| panic!("{} lacks `# oracles:`", case.display()));
        let ours = Test::new()
            .procfile("web: x\n")
            .env_file(".env", &text)
            .args(&["config", "--json", "--reveal"])
            .run()
            .success()
            .json();
        for oracle in oracles.split_whitespace() {
            match run_oracle(oracle, case) {
                Ok(theirs) => {
                    assert_eq!(ours, theirs, "{} differs from {oracle}", case.display());
                    compared += 1;
                }
                Err(why) => {
                    crate::harness::missing(
                        oracle,
                        &format!(
                            "python3 -m pip install python-dotenv==1.2.2 and npm ci --prefix tests/oracle ({} on {}: {why})",
                            oracle,
                            case.display()
                        ),
                    );
                    missing = true;
                }
            }
        }
    }
    if !missing {
        assert!(compared >= 10, "only {compared} comparisons ran");
    }
    eprintln!("{compared} oracle comparisons agreed");
}
