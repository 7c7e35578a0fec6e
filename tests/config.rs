//! `dozen config`: listing with redaction, get, set and unset in place, diff.

use std::os::unix::fs::PermissionsExt as _;

use serde_json::json;

use crate::harness::Test;

const SECRET: &str = "hunter2-very-secret";

fn app() -> Test {
    Test::new()
        .procfile("web: x\n")
        .env_file(".env", &format!("# shared\nPASSWORD={SECRET}\nPORT=5000\n"))
        .env_file(".env.production", "PORT=80\nSENTRY=https://sentry\n")
}

#[test]
fn values_are_redacted_unless_revealed() {
    let output = app().args(&["config"]).run().success().stdout_lacks(SECRET);
    let line = output
        .stdout
        .lines()
        .find(|l| l.starts_with("PASSWORD"))
        .unwrap();
    assert!(line.contains("••••"), "{line}");
    assert!(line.contains(".env:2"), "{line}");
    app()
        .args(&["config", "--json"])
        .run()
        .success()
        .stdout_lacks(SECRET)
        .stdout_has("\"digest\"");
    let revealed = app();
    let (code, stdout, stderr) = crate::harness::dozen_in(revealed.path(), &["config", "--reveal"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, format!("PASSWORD={SECRET}\nPORT=5000\n"));
    // Shown whole, nothing needs the store's digest key: no store is made (the sample app's
    // config was read in the checkout itself, which then held root's store).
    assert!(!revealed.path().join(".dozen").exists());
}

#[test]
fn digests_tell_equal_values_apart_from_different_ones() {
    let output = Test::new()
        .procfile("web: x\n")
        .env_file(".env", "A=same\nB=same\nC=other\n")
        .args(&["config", "--json"])
        .run()
        .success();
    let json = output.json();
    assert_eq!(json["A"]["digest"], json["B"]["digest"]);
    assert_ne!(json["A"]["digest"], json["C"]["digest"]);
}

#[test]
fn revealed_text_output_reads_back_as_the_same_config() {
    let tricky = "A=\"it's\"\nB=\"multi\\nline $ \\\" \\\\\"\nC='  padded  '\nD=\n";
    let first = Test::new()
        .procfile("web: x\n")
        .env_file(".env", tricky)
        .args(&["config", "--reveal"])
        .run()
        .success();
    let again = Test::new()
        .procfile("web: x\n")
        .env_file(".env", &first.stdout)
        .args(&["config", "--json", "--reveal"])
        .run()
        .success();
    let original = Test::new()
        .procfile("web: x\n")
        .env_file(".env", tricky)
        .args(&["config", "--json", "--reveal"])
        .run()
        .success();
    assert_eq!(again.json(), original.json());
}

#[test]
fn get_prints_one_value_or_fails() {
    app()
        .args(&["config", "get", "PASSWORD"])
        .run()
        .success()
        .stdout(&format!("{SECRET}\n"));
    app()
        .args(&["--env", "production", "config", "get", "PORT"])
        .run()
        .success()
        .stdout("80\n");
    app()
        .args(&["config", "get", "PORT", "--json"])
        .run()
        .success()
        .stdout("{\n  \"PORT\": \"5000\"\n}\n");
    app()
        .args(&["config", "get", "NOPE"])
        .run()
        .code(1)
        .stderr_has("error: `NOPE` is not set in `development`");
}

#[test]
fn set_edits_in_place_keeping_comments_order_and_quoting() {
    let original = "# Database\nexport DB='postgres://x' # primary\n\nNAME=\"quoted\"\nPORT=5000\n";
    let output = Test::new()
        .procfile("web: x\n")
        .env_file(".env", original)
        .args(&[
            "config",
            "set",
            "PORT=6000",
            "NEW=has space",
            "DOLLAR=$HOME",
        ])
        .run()
        .success()
        .stderr_has("set PORT, NEW, DOLLAR in .env")
        .stdout("");
    assert_eq!(
        output.read(".env"),
        "# Database\nexport DB='postgres://x' # primary\n\nNAME=\"quoted\"\nPORT=6000\nNEW='has space'\nDOLLAR='$HOME'\n"
    );
}

#[test]
fn set_values_are_literal_and_read_back() {
    let value = "a $b \"c\" 'd' \\e #f\ng";
    let output = Test::new()
        .procfile("web: x\n")
        .args(&["config", "set", &format!("A={value}")])
        .run()
        .success();
    let dir = output.dir;
    let read = std::process::Command::new(crate::harness::BIN)
        .args(["--app", dir.path().to_str().unwrap(), "config", "get", "A"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(read.stdout).unwrap(),
        format!("{value}\n")
    );
}

#[test]
fn set_creates_a_missing_file_0600() {
    let output = Test::new()
        .procfile("web: x\n")
        .args(&["--env", "staging", "config", "set", "A=1"])
        .run()
        .success();
    let metadata = std::fs::metadata(output.dir.path().join(".env.staging")).unwrap();
    assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
    assert_eq!(output.read(".env.staging"), "A=1\n");
    assert!(!output.dir.path().join(".env").exists());
}

#[test]
fn set_keeps_an_existing_files_mode() {
    let test = Test::new().procfile("web: x\n").env_file(".env", "A=1\n");
    std::fs::set_permissions(
        test.path().join(".env"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    let output = test.args(&["config", "set", "A=2"]).run().success();
    let mode = std::fs::metadata(output.dir.path().join(".env"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640);
}

#[test]
fn set_edits_the_last_file_the_manifest_lists() {
    let output = Test::new()
        .procfile("web: x\n")
        .manifest("[environments.production]\nfiles = [\".env\", \"config/prod.env\"]\n")
        .env_file(".env", "A=1\n")
        .env_file("config/prod.env", "B=2\n")
        .args(&["--env", "production", "config", "set", "C=3"])
        .run()
        .success();
    assert_eq!(output.read("config/prod.env"), "B=2\nC=3\n");
    assert_eq!(output.read(".env"), "A=1\n");
}

#[test]
fn set_rejects_bad_arguments_before_writing() {
    app()
        .args(&["config", "set", "NOEQUALS"])
        .run()
        .code(2)
        .stderr_has("error: `NOEQUALS` is not an assignment");
    app()
        .args(&["config", "set", "A=1", "1BAD=2"])
        .run()
        .code(2)
        .stderr_has("error: invalid key `1BAD`");
    let output = app()
        .args(&["config", "set", "OK=1", "bad-key=2"])
        .run()
        .code(2);
    assert!(!output.read(".env").contains("OK=1"));
}

#[test]
fn unset_removes_every_definition() {
    let output = Test::new()
        .procfile("web: x\n")
        .env_file(".env", "A=1\n# keep\nB=2\nA=\"multi\nline\"\n")
        .args(&["config", "unset", "A", "ZZZ"])
        .run()
        .success()
        .stderr_has("unset A in .env")
        .stderr_has("not set in .env: ZZZ");
    assert_eq!(output.read(".env"), "# keep\nB=2\n");
}

#[test]
fn diff_compares_keys_and_values_by_digest() {
    let output = app()
        .args(&["config", "diff", "development", "production"])
        .run()
        .success()
        .stdout_lacks(SECRET);
    assert!(
        output.stdout.contains("only in production: SENTRY"),
        "{}",
        output.stdout
    );
    assert!(output.stdout.contains("differs: PORT"), "{}", output.stdout);
    assert!(!output.stdout.contains("5000"));
    app()
        .args(&["config", "diff", "development", "production", "--reveal"])
        .run()
        .success()
        .stdout_has("5000")
        .stdout_has("80");
    let json = app()
        .args(&["config", "diff", "development", "production", "--json"])
        .run()
        .success()
        .json();
    assert_eq!(json["only"]["production"], json!(["SENTRY"]));
    assert_eq!(json["only"]["development"], json!([]));
    assert_eq!(json["different"][0]["key"], "PORT");
    assert_eq!(json["same"], json!(["PASSWORD"]));
    app()
        .args(&["config", "diff", "development", "production", "--exit-code"])
        .run()
        .code(1);
    app()
        .args(&[
            "config",
            "diff",
            "development",
            "development",
            "--exit-code",
        ])
        .run()
        .success();
}

#[test]
fn config_on_an_invalid_app_exits_2_with_the_diagnostics() {
    Test::new()
        .procfile("web x\n")
        .env_file(".env", "A=1\n")
        .args(&["config", "set", "B=2"])
        .run()
        .code(2)
        .stderr_has("error: Procfile:1:4: expected `:` after `web`")
        .stderr_has("`dozen check` shows them all");
}

#[test]
fn secrets_never_reach_check_output() {
    app()
        .args(&["check"])
        .run()
        .success()
        .stdout_lacks(SECRET)
        .stderr_lacks(SECRET);
    app()
        .args(&["check", "--json"])
        .run()
        .success()
        .stdout_lacks(SECRET);
}

/// Issue 28: `config set` that creates an env file git would track adds it to `.gitignore`
/// and says so; an env file git already ignores, or outside a repository, is left alone.
#[test]
fn a_new_env_file_is_kept_out_of_git() {
    let test = Test::new()
        .procfile("web: sleep 100\n")
        .file(".gitignore", "target/")
        .git_add_all();
    let (code, _, stderr) =
        crate::harness::dozen_in(test.path(), &["config", "set", "API_TOKEN=s3cr3t-value"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("added /.env to .gitignore: git would have tracked .env"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(test.path().join(".gitignore")).unwrap(),
        "target/\n/.env\n"
    );
    let status = std::process::Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=all"])
        .current_dir(test.path())
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&status.stdout).contains(".env"),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
    // Already ignored: nothing added.
    let test = Test::new()
        .procfile("web: sleep 100\n")
        .file(".gitignore", ".env*\n")
        .git_add_all();
    let (code, _, stderr) = crate::harness::dozen_in(test.path(), &["config", "set", "A=1"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains(".gitignore"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(test.path().join(".gitignore")).unwrap(),
        ".env*\n"
    );
    // Not a repository: nothing to keep out of.
    let test = Test::new().procfile("web: sleep 100\n");
    let (code, _, stderr) = crate::harness::dozen_in(test.path(), &["config", "set", "A=1"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!test.path().join(".gitignore").exists());
}

/// Twelve `config set` at once on one env file keep all twelve keys, and a `set` racing an
/// `unset` loses neither (issue 31, finding 14: before, 2–4 keys survived).
#[test]
fn concurrent_sets_and_unsets_lose_no_change() {
    let test = app();
    let dir = test.path().to_path_buf();
    let threads: Vec<_> = (0..12)
        .map(|i| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                let (code, _, stderr) =
                    crate::harness::dozen_in(&dir, &["config", "set", &format!("K{i}=v{i}")]);
                assert_eq!(code, Some(0), "{stderr}");
            })
        })
        .chain(std::iter::once({
            let dir = dir.clone();
            std::thread::spawn(move || {
                let (code, _, stderr) =
                    crate::harness::dozen_in(&dir, &["config", "unset", "PORT"]);
                assert_eq!(code, Some(0), "{stderr}");
            })
        }))
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let env = std::fs::read_to_string(dir.join(".env")).unwrap();
    for i in 0..12 {
        assert!(env.contains(&format!("K{i}=v{i}\n")), "K{i} lost:\n{env}");
    }
    assert!(!env.contains("PORT="), "the unset was lost:\n{env}");
    assert!(env.contains(&format!("PASSWORD={SECRET}")));
}

/// `config set` on an env file that is a symlink writes the file it names; the link stays
/// (issue 31, finding 25).
#[test]
fn set_writes_through_a_symlinked_env_file() {
    let test = Test::new()
        .procfile("web: x\n")
        .file("shared/app.env", "A=1\n");
    let dir = test.path().to_path_buf();
    std::os::unix::fs::symlink("shared/app.env", dir.join(".env")).unwrap();
    let (code, _, stderr) = crate::harness::dozen_in(&dir, &["config", "set", "B=2"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        std::fs::symlink_metadata(dir.join(".env"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("shared/app.env")).unwrap(),
        "A=1\nB=2\n"
    );
}

/// A `.env` that is a FIFO, a device or a dangling link is an error naming it, never a
/// silent "no config" (issue 31, finding 24); a `.env` directory (a virtualenv) is still
/// not an env file.
#[test]
fn a_special_file_behind_env_is_an_error_and_a_directory_is_no_env_file() {
    for (make, says) in [
        (
            "ln -s /dev/zero .env",
            "not a regular file (a FIFO, a socket or a device)",
        ),
        ("mkfifo .env", "not a regular file"),
        (
            "ln -s nowhere .env",
            "a symbolic link to a file that does not exist",
        ),
    ] {
        let test = Test::new().procfile("web: x\n");
        let made = std::process::Command::new("sh")
            .args(["-c", make])
            .current_dir(test.path())
            .status()
            .unwrap();
        assert!(made.success());
        test.args(&["config"]).run().code(2).stderr_has(says);
    }
    let test = Test::new().procfile("web: x\n");
    std::fs::create_dir(test.path().join(".env")).unwrap();
    test.args(&["config"]).run().success();
}
