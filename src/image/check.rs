//! Before an image is written: every interpreter an executable of the app layer names (a
//! shebang's, an ELF's `PT_INTERP`) and every symlink of the app layer must resolve inside the
//! image — the base's layers and the app layer together, as a container sees its root. The
//! classic failure: a virtualenv or `node_modules/.bin` built on the host, pointing at host
//! paths (docs/image.md).

use std::collections::BTreeMap;
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use super::layer::{Entry, Kind};

/// What is at a path of the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Dir,
    File,
    Symlink(String),
}

/// The image's file system as paths (relative to the root, no leading or trailing `/`),
/// in order: what is under a directory is one range, so removing it costs what it removes
/// and a layer of n entries applies in O(n log n).
#[derive(Debug, Default, Clone)]
pub struct Tree {
    nodes: BTreeMap<String, Node>,
}

/// Links followed in one resolution before it is called a loop (Linux's `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

impl Tree {
    /// Adds a layer's entry, as applying a layer does: `.wh.NAME` removes `NAME` (and what is
    /// under it), `.wh..wh..opq` empties its directory of what lower layers put there.
    pub fn apply(&mut self, path: &str, node: Node) {
        // `./bin/sh`, `bin//sh/`: the same path (tar's `-C DIR .` names entries `./…`).
        let normal: Vec<&str> = path
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        let normal = normal.join("/");
        let path = normal.as_str();
        if path.is_empty() {
            return;
        }
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        if name == ".wh..wh..opq" {
            self.remove_under(dir);
            return;
        }
        if let Some(gone) = name.strip_prefix(".wh.") {
            let gone = if dir.is_empty() {
                gone.to_owned()
            } else {
                format!("{dir}/{gone}")
            };
            self.nodes.remove(&gone);
            self.remove_under(&gone);
            return;
        }
        if node != Node::Dir {
            // A file or link replaces a directory and everything under it.
            self.remove_under(path);
        }
        self.nodes.insert(path.to_owned(), node);
    }

    fn remove_under(&mut self, dir: &str) {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let under: Vec<String> = self
            .nodes
            .range::<str, _>((
                std::ops::Bound::Included(prefix.as_str()),
                std::ops::Bound::Unbounded,
            ))
            .map(|(p, _)| p)
            .take_while(|p| p.starts_with(&prefix))
            .cloned()
            .collect();
        for path in under {
            self.nodes.remove(&path);
        }
    }

    /// Where `path` leads (absolute from the root, or relative to `dir`), links followed;
    /// `None` when it leads nowhere in the image (missing, through a non-directory, or a loop).
    pub fn resolve(&self, dir: &str, path: &str) -> Option<String> {
        // A relative path is the directory's path and it, walked from the root (so the
        // directory's own `.`, `..` and links count as any path's).
        let path = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("{dir}/{path}")
        };
        let mut stack: Vec<String> = Vec::new();
        let mut rest: Vec<String> = path
            .split('/')
            .filter(|p| !p.is_empty())
            .rev()
            .map(str::to_owned)
            .collect();
        let mut links = 0;
        while let Some(part) = rest.pop() {
            match part.as_str() {
                "." => continue,
                // `..` at the root stays at the root, as in a container.
                ".." => {
                    stack.pop();
                    continue;
                }
                _ => {}
            }
            stack.push(part);
            let here = stack.join("/");
            match self.nodes.get(&here)? {
                Node::Dir => {}
                Node::File => {
                    if !rest.is_empty() {
                        return None;
                    }
                }
                Node::Symlink(target) => {
                    links += 1;
                    if links > MAX_LINKS {
                        return None;
                    }
                    stack.pop();
                    if target.starts_with('/') {
                        stack.clear();
                    }
                    rest.extend(
                        target
                            .split('/')
                            .filter(|p| !p.is_empty())
                            .rev()
                            .map(str::to_owned),
                    );
                }
            }
        }
        Some(stack.join("/"))
    }

    pub fn is_file(&self, path: &str) -> bool {
        self.nodes.get(path) == Some(&Node::File)
    }
}

/// A file of the app layer that points outside the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Its path in the image (`app/.venv/bin/pip`).
    pub path: String,
    /// `#!/home/ci/app/.venv/bin/python`, `-> /usr/local/bin/python3.12`, `ELF interpreter
    /// /lib/ld-musl-x86_64.so.1`.
    pub points_at: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} (not in the image)", self.path, self.points_at)
    }
}

/// Checks the app layer's `entries` against `base` (the base's layers applied); returns what
/// does not resolve, in the entries' order.
pub fn check(base: &Tree, entries: &[Entry]) -> std::io::Result<Vec<Problem>> {
    let image = with_app(base, entries);
    let mut problems = Vec::new();
    for entry in entries {
        let path = entry.name.trim_end_matches('/');
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        match &entry.kind {
            Kind::Symlink(target) if image.resolve(dir, target).is_none() => {
                problems.push(Problem {
                    path: path.to_owned(),
                    points_at: format!("-> {target}"),
                });
            }
            Kind::File(_) if entry.mode & 0o111 != 0 => {
                let Some((interpreter, what)) = interpreter(&entry.source)? else {
                    continue;
                };
                let found = image
                    .resolve("", &interpreter)
                    .is_some_and(|p| image.is_file(&p));
                if !found {
                    problems.push(Problem {
                        path: path.to_owned(),
                        points_at: format!("{what}{interpreter}"),
                    });
                }
            }
            _ => {}
        }
    }
    Ok(problems)
}

/// The image as a container sees it: `base` with the app layer's `entries` applied.
pub fn with_app(base: &Tree, entries: &[Entry]) -> Tree {
    let mut image = base.clone();
    for entry in entries {
        let node = match &entry.kind {
            Kind::Dir => Node::Dir,
            Kind::File(_) => Node::File,
            Kind::Symlink(target) => Node::Symlink(target.clone()),
        };
        image.apply(&entry.name, node);
    }
    image
}

/// Shell words that are not programs to find on `PATH`.
const BUILTINS: [&str; 29] = [
    "cd", ".", "source", "export", "set", "unset", "echo", "printf", "test", "[", "true", "false",
    "exit", "trap", "ulimit", "umask", "wait", "eval", "if", "then", "else", "fi", "for", "while",
    "do", "done", "case", "esac", "read",
];

/// The programs a Procfile command line runs: the first word of each simple command that is
/// not a builtin, an assignment (`PORT=1 node x`) or something only the shell knows (`$CMD`).
pub fn programs(command: &str) -> Vec<String> {
    command
        .split(['\n', ';', '|', '&', '(', ')', '{', '}'])
        .filter_map(|segment| {
            for word in segment
                .split_ascii_whitespace()
                .map(|w| w.trim_matches(['"', '\'']))
            {
                let assignment = word
                    .split_once('=')
                    .is_some_and(|(name, _)| !name.is_empty() && !name.contains('/'));
                if assignment || word == "exec" {
                    continue;
                }
                if BUILTINS.contains(&word) || word.contains('$') || word.contains('`') {
                    return None;
                }
                return Some(word.to_owned());
            }
            None
        })
        .collect()
}

/// `PATH` after a `.profile.d` script's plain assignments (`PATH="$PWD/bin:$PATH"`,
/// `export PATH=…`), `$PWD` being `workdir`; an assignment naming any other variable is not
/// followed.
pub fn profile_path(script: &str, workdir: &str, path: &str) -> String {
    let mut path = path.to_owned();
    for line in script.lines() {
        let line = line.trim();
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some(value) = line.strip_prefix("PATH=") else {
            continue;
        };
        let value = value.trim().trim_matches(['"', '\'']);
        let value = value
            .replace("${PWD}", workdir)
            .replace("$PWD", workdir)
            .replace("${PATH}", &path)
            .replace("$PATH", &path);
        if !value.contains('$') {
            path = value;
        }
    }
    path
}

/// Whether `program` (a name looked up on `path`, or a path from `workdir`) is a file of
/// `image`.
pub fn resolves(image: &Tree, program: &str, path: &str, workdir: &str) -> bool {
    let found = |candidate: &str| {
        image
            .resolve("", candidate)
            .is_some_and(|p| image.is_file(&p))
    };
    if program.contains('/') {
        let absolute = if program.starts_with('/') {
            program.to_owned()
        } else {
            format!(
                "{}/{}",
                workdir.trim_end_matches('/'),
                program.trim_start_matches("./")
            )
        };
        return found(&absolute);
    }
    path.split(':')
        .filter(|d| !d.is_empty())
        .any(|dir| found(&format!("{}/{program}", dir.trim_end_matches('/'))))
}

/// The interpreter an executable names, and how it names it (`#!` or `ELF interpreter `).
fn interpreter(path: &Path) -> std::io::Result<Option<(String, &'static str)>> {
    let file = std::fs::File::open(path)?;
    let mut head = [0u8; 512];
    let n = read_at_most(&file, &mut head, 0)?;
    let head = &head[..n];
    if let Some(interpreter) = shebang(head) {
        return Ok(Some((interpreter, "#!")));
    }
    Ok(elf_interpreter(&file, head)?.map(|i| (i, "ELF interpreter ")))
}

fn read_at_most(file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], offset + filled as u64)? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// A script's interpreter: the first word after `#!` on its first line.
pub fn shebang(head: &[u8]) -> Option<String> {
    let rest = head.strip_prefix(b"#!")?;
    let line = rest.split(|b| *b == b'\n').next().unwrap_or(rest);
    let line = String::from_utf8_lossy(line);
    line.split_ascii_whitespace().next().map(str::to_owned)
}

/// An ELF file's `PT_INTERP` (its dynamic loader), from its program headers.
pub fn elf_interpreter(file: &std::fs::File, head: &[u8]) -> std::io::Result<Option<String>> {
    if head.len() < 52 || &head[..4] != b"\x7fELF" {
        return Ok(None);
    }
    let wide = match head[4] {
        1 => false,
        2 => true,
        _ => return Ok(None),
    };
    let little = match head[5] {
        1 => true,
        2 => false,
        _ => return Ok(None),
    };
    let u16_at = |b: &[u8], at: usize| -> Option<u64> {
        let bytes: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
        Some(u64::from(if little {
            u16::from_le_bytes(bytes)
        } else {
            u16::from_be_bytes(bytes)
        }))
    };
    let u32_at = |b: &[u8], at: usize| -> Option<u64> {
        let bytes: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(u64::from(if little {
            u32::from_le_bytes(bytes)
        } else {
            u32::from_be_bytes(bytes)
        }))
    };
    let u64_at = |b: &[u8], at: usize| -> Option<u64> {
        let bytes: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
        Some(if little {
            u64::from_le_bytes(bytes)
        } else {
            u64::from_be_bytes(bytes)
        })
    };
    let word = |b: &[u8], at32: usize, at64: usize| {
        if wide {
            u64_at(b, at64)
        } else {
            u32_at(b, at32)
        }
    };
    let (Some(phoff), Some(phentsize), Some(phnum)) = (
        word(head, 28, 32),
        u16_at(head, if wide { 54 } else { 42 }),
        u16_at(head, if wide { 56 } else { 44 }),
    ) else {
        return Ok(None);
    };
    let entry_size = if wide { 56 } else { 32 };
    let length = file.metadata()?.len();
    // Offsets and sizes are the file's word: a table or a path beyond its end is no loader.
    let within = |offset: u64, size: u64| offset.checked_add(size).is_some_and(|end| end <= length);
    if phentsize < entry_size || phnum == 0 || !within(phoff, phentsize * phnum) {
        return Ok(None);
    }
    let mut table = vec![0u8; usize::try_from(phentsize * phnum).unwrap_or(0).min(1 << 20)];
    let n = read_at_most(file, &mut table, phoff)?;
    for at in (0..n).step_by(usize::try_from(phentsize).unwrap_or(usize::MAX)) {
        let header = &table[at..n];
        // PT_INTERP.
        if u32_at(header, 0) != Some(3) {
            continue;
        }
        let (Some(offset), Some(size)) = (word(header, 4, 8), word(header, 16, 32)) else {
            return Ok(None);
        };
        if !within(offset, size) {
            return Ok(None);
        }
        let mut path = vec![0u8; usize::try_from(size).unwrap_or(0).min(4096)];
        let n = read_at_most(file, &mut path, offset)?;
        path.truncate(n);
        let end = path.iter().position(|b| *b == 0).unwrap_or(path.len());
        return Ok(Some(String::from_utf8_lossy(&path[..end]).into_owned()));
    }
    Ok(None)
}

#[cfg(test)]
mod program_tests {
    use super::*;

    #[test]
    fn the_programs_of_a_command_line() {
        assert_eq!(programs("exec gunicorn app:app"), ["gunicorn"]);
        assert_eq!(programs("cd public && PORT=1 httpd -f -p $PORT"), ["httpd"]);
        assert_eq!(
            programs("python3 manage.py migrate; exec ./bin/web"),
            ["python3", "./bin/web"]
        );
        assert!(programs("$SERVER --port 1").is_empty());
        assert!(programs("while true; do echo tick; sleep 1; done").contains(&"sleep".to_owned()));
    }

    #[test]
    fn profile_scripts_extend_path() {
        let script = "# venv\nexport PYTHONPATH=\"$PWD/x\"\nPATH=\"$PWD/.python-packages/bin:$PATH\"\nPATH=\"$HOME/bin:$PATH\"\n";
        assert_eq!(
            profile_path(script, "/app", "/usr/bin:/bin"),
            "/app/.python-packages/bin:/usr/bin:/bin"
        );
    }

    #[test]
    fn programs_resolve_on_path_or_from_the_workdir() {
        let mut image = Tree::default();
        for dir in [
            "usr",
            "usr/bin",
            "usr/local",
            "usr/local/bin",
            "app",
            "app/bin",
        ] {
            image.apply(dir, Node::Dir);
        }
        image.apply("usr/bin/node", Node::File);
        image.apply("app/bin/web", Node::File);
        image.apply(
            "usr/local/bin/python3",
            Node::Symlink("../../bin/node".into()),
        );
        assert!(resolves(&image, "node", "/usr/local/bin:/usr/bin", "/app"));
        assert!(resolves(&image, "python3", "/usr/local/bin", "/app"));
        assert!(resolves(&image, "./bin/web", "/usr/bin", "/app"));
        assert!(!resolves(&image, "ruby", "/usr/local/bin:/usr/bin", "/app"));
        assert!(!resolves(&image, "bin/other", "/usr/bin", "/app"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Tree {
        let mut tree = Tree::default();
        for (path, node) in [
            ("bin", Node::Symlink("usr/bin".into())),
            ("usr", Node::Dir),
            ("usr/bin", Node::Dir),
            ("usr/bin/python3.11", Node::File),
            ("usr/bin/python3", Node::Symlink("python3.11".into())),
            ("usr/bin/env", Node::File),
            ("usr/bin/sh", Node::File),
            ("lib64", Node::Dir),
            ("lib64/ld-linux-x86-64.so.2", Node::File),
            ("etc", Node::Dir),
            ("etc/loop", Node::Symlink("/etc/loop".into())),
        ] {
            tree.apply(path, node);
        }
        tree
    }

    #[test]
    fn resolution_follows_links_as_a_container_root_does() {
        let tree = base();
        assert_eq!(
            tree.resolve("", "/usr/bin/python3").as_deref(),
            Some("usr/bin/python3.11")
        );
        // Through a linked directory (`/bin` -> `usr/bin`, as in merged-/usr bases).
        assert_eq!(tree.resolve("", "/bin/sh").as_deref(), Some("usr/bin/sh"));
        assert_eq!(
            tree.resolve("usr/bin", "../../../../usr/bin/env")
                .as_deref(),
            Some("usr/bin/env")
        );
        assert_eq!(tree.resolve("", "/usr/local/bin/python3"), None);
        assert_eq!(tree.resolve("", "/usr/bin/env/x"), None);
        assert_eq!(tree.resolve("", "/etc/loop"), None);
    }

    #[test]
    fn entries_named_from_the_current_directory_are_the_same_paths() {
        let mut tree = Tree::default();
        tree.apply("./", Node::Dir);
        tree.apply("./bin/", Node::Dir);
        tree.apply("./bin/busybox", Node::File);
        tree.apply("./bin/sh", Node::Symlink("busybox".into()));
        assert_eq!(tree.resolve("", "/bin/sh").as_deref(), Some("bin/busybox"));
    }

    #[test]
    fn a_directory_given_as_dot_or_through_a_link_is_walked_as_any_path() {
        let tree = base();
        assert_eq!(tree.resolve(".", "").as_deref(), Some(""));
        assert_eq!(
            tree.resolve("./usr/./bin", "env").as_deref(),
            Some("usr/bin/env")
        );
        assert_eq!(tree.resolve("bin", "env").as_deref(), Some("usr/bin/env"));
    }

    #[test]
    fn whiteouts_remove_what_lower_layers_put() {
        let mut tree = base();
        tree.apply("usr/bin/.wh.env", Node::File);
        assert_eq!(tree.resolve("", "/usr/bin/env"), None);
        tree.apply("usr/bin/.wh..wh..opq", Node::File);
        assert_eq!(tree.resolve("", "/usr/bin/python3"), None);
        assert!(tree.resolve("", "/usr/bin").is_some());
        tree.apply("usr", Node::File);
        assert_eq!(tree.resolve("", "/usr/bin"), None);
    }

    /// A layer of many files applies in about linear time: each entry's replacement of what
    /// was under it looks at a range, not at every path (it took 35 s for 150,000 files).
    #[test]
    fn a_tree_of_many_files_is_built_in_linear_time() {
        let started = std::time::Instant::now();
        let mut tree = Tree::default();
        for d in 0..400 {
            tree.apply(&format!("d{d}/"), Node::Dir);
            for f in 0..500 {
                tree.apply(&format!("./d{d}/f{f}"), Node::File);
            }
        }
        // An opaque directory and a whiteout remove what is under them, and only that.
        tree.apply("d7/.wh..wh..opq", Node::File);
        tree.apply("d8/.wh.f3", Node::File);
        tree.apply("d9", Node::File);
        assert!(
            tree.is_file("d6/f499") && !tree.is_file("d7/f0") && tree.resolve("", "d7").is_some()
        );
        assert!(!tree.is_file("d8/f3") && tree.is_file("d8/f4"));
        assert!(tree.is_file("d9") && !tree.is_file("d9/f1"));
        assert!(tree.is_file("d10/f1") && tree.is_file("d99/f0"));
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "200,000 entries took {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn shebangs() {
        assert_eq!(
            shebang(b"#!/usr/bin/env python3\nprint()").as_deref(),
            Some("/usr/bin/env")
        );
        assert_eq!(shebang(b"#! /bin/sh -e\n").as_deref(), Some("/bin/sh"));
        assert_eq!(shebang(b"#!\n"), None);
        assert_eq!(shebang(b"echo hi\n"), None);
    }

    #[test]
    fn an_elf_s_interpreter_is_read_from_its_program_headers() {
        // This test's own binary, and the system's shell, are dynamic ELF executables.
        for exe in [std::env::current_exe().unwrap(), "/bin/sh".into()] {
            let file = std::fs::File::open(&exe).unwrap();
            let mut head = [0u8; 512];
            let n = read_at_most(&file, &mut head, 0).unwrap();
            let interp = elf_interpreter(&file, &head[..n]).unwrap().unwrap();
            assert!(
                interp.starts_with('/') && interp.contains("ld-"),
                "{interp}"
            );
            assert!(Path::new(&interp).exists(), "{interp}");
        }
        // Garbage and truncated headers: no interpreter, no panic.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        for bytes in [
            &b"\x7fELF\x02\x01"[..],
            &[
                0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0x3e, 0, 1, 0, 0,
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0,
                0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 56, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0,
            ][..],
        ] {
            std::fs::write(&path, bytes).unwrap();
            let file = std::fs::File::open(&path).unwrap();
            assert_eq!(elf_interpreter(&file, bytes).unwrap(), None);
        }
    }

    #[test]
    fn host_paths_in_an_app_layer_are_found_and_portable_ones_pass() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::create_dir_all(p.join(".venv/bin")).unwrap();
        let script = |name: &str, text: &str| {
            std::fs::write(p.join(name), text).unwrap();
            std::fs::set_permissions(p.join(name), std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        script(".venv/bin/pip", "#!/home/ci/app/.venv/bin/python\n");
        script(".venv/bin/ok", "#!/app/.venv/bin/python\n");
        script("start", "#!/usr/bin/env sh\n");
        std::fs::write(p.join("data.txt"), "#!/nowhere\n").unwrap(); // not executable
        std::os::unix::fs::symlink("/usr/bin/python3", p.join(".venv/bin/python")).unwrap();
        std::os::unix::fs::symlink("/usr/local/bin/python3.12", p.join(".venv/bin/python3"))
            .unwrap();
        std::os::unix::fs::symlink("../../start", p.join(".venv/bin/relative")).unwrap();
        std::fs::copy("/bin/sh", p.join("tool")).unwrap();
        let entries = super::super::layer::entries(p, "app").unwrap();
        let problems = check(&base(), &entries).unwrap();
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "app/.venv/bin/pip #!/home/ci/app/.venv/bin/python (not in the image)",
                "app/.venv/bin/python3 -> /usr/local/bin/python3.12 (not in the image)",
            ]
        );
        // Without the base, the copied shell's loader and the links into /usr are missing too.
        let problems = check(&Tree::default(), &entries).unwrap();
        assert!(
            problems
                .iter()
                .any(|p| p.path == "app/tool" && p.points_at.starts_with("ELF interpreter /")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.path == "app/start"),
            "{problems:?}"
        );
    }
}
