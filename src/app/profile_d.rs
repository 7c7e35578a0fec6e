//! Heroku's `.profile.d` convention: every `.profile.d/*.sh` of the app's directory is sourced,
//! in name order, by the shell that starts a process, so a build can set `PATH` (a virtualenv's
//! `bin`, a vendored runtime) and other variables for every process of its releases.

use std::path::Path;

/// What sources the scripts and then runs the process's own argv (`"$@"`), in the same
/// process (`exec`): signals still reach the app.
const PRELUDE: &str = "for dozen_profile in ./.profile.d/*.sh; do if [ -r \"$dozen_profile\" ]; then . \"$dozen_profile\"; fi; done; unset dozen_profile; exec \"$@\"";

/// `argv` as it must start in `cwd`: wrapped to source `.profile.d/*.sh` first when `cwd` has
/// any, else unchanged.
pub fn wrap(cwd: &Path, argv: Vec<String>) -> Vec<String> {
    if !has_scripts(cwd) {
        return argv;
    }
    let mut wrapped = vec![
        "/bin/sh".to_owned(),
        "-c".to_owned(),
        PRELUDE.to_owned(),
        "dozen-profile".to_owned(),
    ];
    wrapped.extend(argv);
    wrapped
}

fn has_scripts(cwd: &Path) -> bool {
    std::fs::read_dir(cwd.join(".profile.d")).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".sh"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_are_sourced_in_order_before_the_command_which_keeps_its_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let argv = vec!["printf".to_owned(), "%s|".to_owned(), "a b".to_owned()];
        assert_eq!(wrap(dir.path(), argv.clone()), argv, "no .profile.d: as is");
        std::fs::create_dir(dir.path().join(".profile.d")).unwrap();
        std::fs::write(dir.path().join(".profile.d/b.sh"), "X=\"$X-b\"\n").unwrap();
        std::fs::write(dir.path().join(".profile.d/a.sh"), "export X=a\n").unwrap();
        std::fs::write(dir.path().join(".profile.d/notes.txt"), "exit 1\n").unwrap();
        let mut wrapped = wrap(dir.path(), argv);
        wrapped.push("$X".to_owned());
        let output = std::process::Command::new(&wrapped[0])
            .args(&wrapped[1..])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&output.stdout), "a b|$X|");
        let env = std::process::Command::new(&wrapped[0])
            .args(&wrapped[1..3])
            .arg("dozen-profile")
            .args(["sh", "-c", "echo $X"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&env.stdout), "a-b\n");
    }
}
