//! Heroku's `.profile.d` convention: every `.profile.d/*.sh` of the app's directory is sourced,
//! in name order, by the shell that starts a process, so a build can set `PATH` (a virtualenv's
//! `bin`, a vendored runtime) and other variables for every process of its releases.

use std::path::Path;

/// What sources the scripts, in the working directory (a macro, so both scripts below are
/// one literal each).
macro_rules! source_scripts {
    () => {
        "for dozen_profile in ./.profile.d/*.sh; do if [ -r \"$dozen_profile\" ]; then . \"$dozen_profile\"; fi; done; unset dozen_profile; "
    };
}

/// What sources the scripts before a Procfile command (see [`start_script`]).
const SOURCE: &str = source_scripts!();

/// What sources the scripts and then runs the process's own argv (`"$@"`), in the same
/// process (`exec`): signals still reach the app.
const PRELUDE: &str = concat!(source_scripts!(), "exec \"$@\"");

/// The `/bin/sh -c` script that starts a Procfile command as a dyno does: the tree's
/// `.profile.d/*.sh` sourced first when `sources_profile` (the tree has any), then the command,
/// `exec`'d when it is a simple one. Every place that starts a command off the machine (the
/// export engines, an image's `Cmd`, the probe) uses it, so they start what `dozen run` starts.
pub fn start_script(command: &str, sources_profile: bool) -> String {
    let command = crate::app::procfile::shell_command(command);
    if sources_profile {
        format!("{SOURCE}{command}")
    } else {
        command
    }
}

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

/// Whether `cwd` has `.profile.d/*.sh` scripts to source.
pub fn has_scripts(cwd: &Path) -> bool {
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
    fn start_scripts_source_the_profile_then_exec_the_command() {
        assert_eq!(
            start_script("gunicorn app:app", false),
            "exec gunicorn app:app"
        );
        let script = start_script("rq worker tasks", true);
        assert!(script.starts_with("for dozen_profile in ./.profile.d/*.sh;"));
        assert!(script.ends_with("; exec rq worker tasks"));
        // Run: the profile's PATH finds the program.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".profile.d")).unwrap();
        std::fs::create_dir_all(dir.path().join("tools")).unwrap();
        std::fs::write(
            dir.path().join(".profile.d/tools.sh"),
            "PATH=\"$PWD/tools:$PATH\"\n",
        )
        .unwrap();
        let tool = dir.path().join("tools/hello-dozen");
        std::fs::write(&tool, "#!/bin/sh\necho hello \"$1\"\n").unwrap();
        let mut permissions = std::fs::metadata(&tool).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        std::fs::set_permissions(&tool, permissions).unwrap();
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(start_script("hello-dozen there", true))
            .current_dir(dir.path())
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hello there\n");
    }

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
