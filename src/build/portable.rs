//! Whether a build runs anywhere: after its steps, the tree is read for references to the
//! absolute path it was built at (a virtualenv's script, an absolute link, a `.pth` file, an
//! interpreter inside the tree) and to the app's working tree (a developer's virtualenv copied
//! in). The first makes the build "runs only here": `export` and `image` refuse it. The second
//! is an error: a release would run the developer's files.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::Path;

use super::source::{SourceFile, SourceKind};

/// Bytes of an executable's start read for its `#!` line (and pip's `/bin/sh` trampoline for
/// an interpreter path too long for a `#!` line, which names it on the next lines).
const HEAD: usize = 512;
/// The most of a `.pth` file read: they are a few lines.
const PTH_MAX: u64 = 64 * 1024;
/// The most references named; the rest are counted.
pub const LISTED: usize = 20;

/// What the scan found: `path: what it names`, each list in path order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Found {
    /// References to the build's own absolute path.
    pub own: Vec<String>,
    /// References to the app's working tree (outside the build).
    pub working_tree: Vec<String>,
}

/// Reads `files` (the build tree's, as [`super::source::walk_everything`] lists them) under
/// `root` for references to `root` itself or to `app_dir`.
pub fn scan(root: &Path, app_dir: &Path, files: &[SourceFile]) -> Found {
    let root_text = root.display().to_string();
    let app_text = app_dir.display().to_string();
    let mut found = Found::default();
    let mut classify = |path: &str, text: &str, what: &str| {
        if text.contains(&root_text) {
            found.own.push(format!("{path}: {what}"));
        } else if text.contains(&app_text) {
            found.working_tree.push(format!("{path}: {what}"));
        }
    };
    for file in files {
        match &file.kind {
            SourceKind::Symlink(target) => {
                if target.starts_with('/') {
                    classify(&file.path, target, &format!("links to {target}"));
                }
            }
            SourceKind::File
                if Path::new(&file.path)
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("pth")) =>
            {
                let text = read_head(&root.join(&file.path), PTH_MAX);
                let text = String::from_utf8_lossy(&text);
                classify(&file.path, &text, "a .pth file naming an absolute path");
            }
            SourceKind::File if file.executable => {
                let head = read_head(&root.join(&file.path), HEAD as u64);
                if head.starts_with(b"#!") {
                    let text = String::from_utf8_lossy(&head);
                    let line = text.lines().next().unwrap_or_default().to_owned();
                    classify(&file.path, &text, &line);
                } else if let Ok(opened) = std::fs::File::open(root.join(&file.path))
                    && let Ok(Some(interpreter)) =
                        crate::image::check::elf_interpreter(&opened, &head)
                {
                    classify(
                        &file.path,
                        &interpreter,
                        &format!("its ELF interpreter is {interpreter}"),
                    );
                }
            }
            SourceKind::File => {}
        }
    }
    found.own.sort();
    found.working_tree.sort();
    found
}

fn read_head(path: &Path, max: u64) -> Vec<u8> {
    let mut head = Vec::new();
    if let Ok(file) = std::fs::File::open(path) {
        let _ = file.take(max).read_to_end(&mut head);
    }
    head
}

/// At most [`LISTED`] references, then how many more.
pub fn listed(references: &[String]) -> String {
    let more = references.len().saturating_sub(LISTED);
    let mut text = references
        .iter()
        .take(LISTED)
        .map(|r| format!("  {r}"))
        .collect::<Vec<_>>()
        .join("\n");
    if more > 0 {
        let _ = write!(text, "\n  … and {more} more");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, kind: SourceKind, executable: bool) -> SourceFile {
        SourceFile {
            path: path.to_owned(),
            kind,
            size: 0,
            mtime_ns: 0,
            ctime_ns: 0,
            inode: 0,
            executable,
        }
    }

    #[test]
    fn own_paths_and_the_working_tree_are_told_apart() {
        let app = tempfile::tempdir().unwrap();
        let root = app.path().join(".dozen/trees/abc");
        std::fs::create_dir_all(root.join(".venv/bin")).unwrap();
        std::fs::create_dir_all(root.join("lib")).unwrap();
        let own_script = format!("#!{}/.venv/bin/python3\nimport x\n", root.display());
        std::fs::write(root.join(".venv/bin/gunicorn"), own_script).unwrap();
        let long = format!(
            "#!/bin/sh\n'''exec' \"{}/.venv/bin/python3\" \"$0\" \"$@\"\n' '''\n",
            app.path().display()
        );
        std::fs::write(root.join(".venv/bin/flask"), long).unwrap();
        std::fs::write(root.join("run.sh"), "#!/usr/bin/env python3\n").unwrap();
        std::fs::write(
            root.join("lib/site.pth"),
            format!("{}/lib/extra\n", root.display()),
        )
        .unwrap();
        std::fs::write(root.join("notes.txt"), root.display().to_string()).unwrap();
        let files = vec![
            file(".venv/bin/gunicorn", SourceKind::File, true),
            file(".venv/bin/flask", SourceKind::File, true),
            file(
                ".venv/bin/python",
                SourceKind::Symlink("/usr/bin/python3".into()),
                false,
            ),
            file(
                "current",
                SourceKind::Symlink(format!("{}/lib", root.display())),
                false,
            ),
            file("run.sh", SourceKind::File, true),
            file("lib/site.pth", SourceKind::File, false),
            file("notes.txt", SourceKind::File, false),
        ];
        let found = scan(&root, app.path(), &files);
        assert_eq!(
            found.own,
            [
                format!("current: links to {}/lib", root.display()),
                format!(".venv/bin/gunicorn: #!{}/.venv/bin/python3", root.display()),
                "lib/site.pth: a .pth file naming an absolute path".to_owned(),
            ]
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
        );
        assert_eq!(found.working_tree, [".venv/bin/flask: #!/bin/sh"]);
    }

    #[test]
    fn long_lists_are_cut() {
        let many: Vec<String> = (0..25).map(|i| format!("f{i}")).collect();
        let text = listed(&many);
        assert_eq!(text.lines().count(), LISTED + 1);
        assert!(text.ends_with("… and 5 more"));
    }
}
