//! `dozen run --dev --watch`: a thread that watches the app directory (the `notify` crate, as
//! watchexec), waits for a burst of changes to end, and asks the run to restart the types
//! whose watched paths changed, as `dozen restart TYPE` would (rolling behind the router).

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use notify::{EventKind, RecursiveMode};

use super::output::pump;
use crate::app::manifest::Watch;
use crate::control::{self, Response};

/// A burst ends after this long without a change…
pub const QUIET: Duration = Duration::from_millis(150);
/// …or this long after its first change, so that a stream that never stops still restarts.
pub const AT_MOST: Duration = Duration::from_secs(1);
/// How long the watcher waits for the run to take a restart.
const ANSWER_WITHIN: Duration = Duration::from_secs(30);

/// Never a reason to restart: version control's own files, editors' swap, backup and lock
/// files (vim's `4913` probe, emacs' `.#file` and `#file#`), bytecode an interpreter writes
/// as it imports, installed dependencies.
const ALWAYS_IGNORED: &[&str] = &[
    ".git/",
    ".hg/",
    ".svn/",
    ".jj/",
    "*.swp",
    "*.swx",
    "*.swo",
    "*~",
    "4913",
    ".#*",
    "#*#",
    ".DS_Store",
    "__pycache__/",
    "*.py[co]",
    "node_modules/",
];

/// The ignore files read from the app directory, in order (a later one's `!pattern` wins).
const IGNORE_FILES: &[&str] = &[".gitignore", ".ignore", ".dozenignore"];

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("`watch` takes paths relative to the app directory, not `{0}`")]
    Absolute(String),
    #[error("`watch`: {0}")]
    Glob(#[from] globset::Error),
    #[error("cannot watch {path}: {source}")]
    Watch {
        path: PathBuf,
        source: notify::Error,
    },
    #[error("cannot start the watcher: {0}")]
    Thread(#[from] std::io::Error),
}

/// Which changed paths restart a type.
#[derive(Debug, Clone)]
pub enum Paths {
    /// Any path in the app directory not ignored (the default).
    All,
    /// Paths (relative to the app directory) matching one of these globs.
    Matching(GlobSet),
}

impl Paths {
    fn matches(&self, relative: &Path) -> bool {
        match self {
            Self::All => true,
            Self::Matching(set) => set.is_match(relative),
        }
    }
}

/// What a type's `watch` setting watches: `None` for `watch = false`. A path with no glob
/// characters (`templates/`, `app.py`) stands for itself and everything under it.
pub fn paths(watch: &Watch) -> Result<Option<Paths>, WatchError> {
    let list = match watch {
        Watch::On(false) => return Ok(None),
        Watch::On(true) => return Ok(Some(Paths::All)),
        Watch::Paths(list) => list,
    };
    let mut set = GlobSetBuilder::new();
    for entry in list {
        if Path::new(entry).is_absolute() {
            return Err(WatchError::Absolute(entry.clone()));
        }
        let entry = entry.trim_start_matches("./").trim_end_matches('/');
        for pattern in [entry.to_owned(), format!("{entry}/**")] {
            set.add(GlobBuilder::new(&pattern).literal_separator(true).build()?);
        }
    }
    Ok(Some(Paths::Matching(set.build()?)))
}

/// What the run watches: the app directory, less the store, for the types that watch.
pub struct WatchPlan {
    pub root: PathBuf,
    /// dozen's store, when it is in the app directory (it changes as the run goes).
    pub store: PathBuf,
    /// The watched types, in Procfile order.
    pub types: Vec<(String, Paths)>,
    /// The env files, `dozen.toml` and the Procfile: the run read them when it started, so a
    /// restart would not take their change (it is said instead).
    pub config: Vec<PathBuf>,
    /// What the run applies itself when it changes (the flags file): no restart.
    pub live: Vec<PathBuf>,
}

/// Sends a restart request to the run, with where to answer; false once the run has ended.
pub type Restart = Box<dyn Fn(control::Request, mpsc::Sender<Response>) -> bool + Send>;

/// Starts watching; the thread ends with the run.
pub fn start(plan: WatchPlan, pump: pump::Handle, restart: Restart) -> Result<(), WatchError> {
    let root = std::fs::canonicalize(&plan.root).unwrap_or(plan.root.clone());
    let store = std::fs::canonicalize(&plan.store).unwrap_or(plan.store.clone());
    let (tx, rx) = mpsc::channel();
    let shown = root.clone();
    let watch_error = |source| WatchError::Watch {
        path: shown.clone(),
        source,
    };
    let mut watcher = notify::recommended_watcher(tx).map_err(watch_error)?;
    let changes = Changes {
        root,
        store,
        own_output: own_output(),
    };
    // Every directory but the ignored ones, each on its own: an ignored tree
    // (`node_modules/`, a build's output) costs no inotify watch, and there are 8,192 a user
    // by default.
    changes
        .watch_tree(&mut watcher, &changes.root.clone(), &changes.ignored())
        .map_err(watch_error)?;
    std::thread::Builder::new()
        .name("dozen-watch".into())
        .spawn(move || {
            let mut watcher = watcher;
            // As the changes name them: relative to the app directory.
            let relative = |files: &[PathBuf]| -> Vec<PathBuf> {
                files
                    .iter()
                    .filter_map(|p| {
                        let p = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
                        p.strip_prefix(&changes.root).ok().map(Path::to_owned)
                    })
                    .collect()
            };
            let (config, live) = (relative(&plan.config), relative(&plan.live));
            while let Some(mut changed) = changes.next_burst(&rx, &mut watcher) {
                changed.retain(|p| !live.contains(p));
                let (read_at_start, rest): (Vec<PathBuf>, Vec<PathBuf>) =
                    changed.drain(..).partition(|p| config.contains(p));
                changed = rest;
                if !read_at_start.is_empty() {
                    let names: Vec<String> =
                        read_at_start.iter().map(|p| p.display().to_string()).collect();
                    pump.system(
                        format!(
                            "{} changed: dozen run reads its env files, dozen.toml and the Procfile when it starts; stop it and run it again to use the change",
                            names.join(", ")
                        ),
                        None,
                    );
                }
                for (type_name, first, more) in restarts(&plan.types, &changed) {
                    let also = match more {
                        0 => String::new(),
                        1 => " and 1 other file".to_owned(),
                        n => format!(" and {n} other files"),
                    };
                    pump.system(
                        format!("{type_name}: {}{also} changed, restarting", first.display()),
                        None,
                    );
                    let (reply, answer) = mpsc::channel();
                    let request = control::Request {
                        v: control::VERSION,
                        op: control::Op::Restart {
                            target: Some(type_name.to_owned()),
                        },
                    };
                    if !restart(request, reply) {
                        return;
                    }
                    if let Ok(Response {
                        error: Some(error), ..
                    }) = answer.recv_timeout(ANSWER_WITHIN)
                    {
                        pump.system(format!("{type_name} not restarted: {error}"), None);
                    }
                }
            }
        })?;
    Ok(())
}

/// Per watched type with a change: the first changed path that is its, and how many more.
fn restarts<'a>(
    types: &'a [(String, Paths)],
    changed: &[PathBuf],
) -> Vec<(&'a str, PathBuf, usize)> {
    types
        .iter()
        .filter_map(|(name, paths)| {
            let mut its = changed.iter().filter(|p| paths.matches(p));
            let first = its.next()?.clone();
            Some((name.as_str(), first, its.count()))
        })
        .collect()
}

/// The files dozen's own stdout and stderr go to (`dozen run --dev --watch > dev.log` in the
/// app directory): each line written would be a change, and each restart more lines.
fn own_output() -> Vec<PathBuf> {
    [1, 2]
        .iter()
        .filter_map(|fd| std::fs::read_link(format!("/proc/self/fd/{fd}")).ok())
        .filter(|path| path.is_file())
        .filter_map(|path| std::fs::canonicalize(path).ok())
        .collect()
}

/// Reads the watcher's events into bursts of changed paths, relative to the app directory.
struct Changes {
    root: PathBuf,
    store: PathBuf,
    own_output: Vec<PathBuf>,
}

impl Changes {
    /// The next burst's changed paths (none ignored, each once, in the order first seen);
    /// `None` once the watcher has ended.
    fn next_burst(
        &self,
        rx: &mpsc::Receiver<notify::Result<notify::Event>>,
        watcher: &mut impl notify::Watcher,
    ) -> Option<Vec<PathBuf>> {
        loop {
            let first = rx.recv().ok()?;
            // The ignore files are read again for each burst: an edit to them counts at once.
            let ignored = self.ignored();
            let mut changed = Changed::default();
            self.take(first, &ignored, &mut changed);
            if changed.paths.is_empty() {
                continue;
            }
            let end = Instant::now() + AT_MOST;
            loop {
                let left = end.saturating_duration_since(Instant::now()).min(QUIET);
                if left.is_zero() {
                    break;
                }
                match rx.recv_timeout(left) {
                    Ok(event) => self.take(event, &ignored, &mut changed),
                    Err(mpsc::RecvTimeoutError::Timeout) => break,
                    Err(mpsc::RecvTimeoutError::Disconnected) => return None,
                }
            }
            for dir in &changed.new_dirs {
                // Gone again, or unreadable: nothing in it to watch.
                let _ = self.watch_tree(watcher, &self.root.join(dir), &ignored);
            }
            let paths = changed.lasting(&self.root);
            if paths.is_empty() {
                continue;
            }
            return Some(paths);
        }
    }

    /// Watches `dir` and every directory under it that is not ignored.
    fn watch_tree(
        &self,
        watcher: &mut impl notify::Watcher,
        dir: &Path,
        ignored: &Ignored,
    ) -> notify::Result<()> {
        let mut pending = vec![dir.to_owned()];
        let mut first = true;
        while let Some(dir) = pending.pop() {
            match watcher.watch(&dir, RecursiveMode::NonRecursive) {
                Ok(()) => {}
                // The app directory itself must be watched; one below it may be gone already.
                Err(e) if first => return Err(e),
                Err(_) => continue,
            }
            first = false;
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                // Not a link to a directory: it may lead out of the app, or round in a loop.
                if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                let path = entry.path();
                if !self.counts(&path, true, ignored) {
                    continue;
                }
                pending.push(path);
            }
        }
        Ok(())
    }

    /// Whether a change at `path` (absolute) counts: not in the store, not dozen's own
    /// output, inside the app directory, not ignored.
    fn counts(&self, path: &Path, is_dir: bool, ignored: &Ignored) -> bool {
        if path.starts_with(&self.store) || self.own_output.iter().any(|o| o == path) {
            return false;
        }
        let Ok(relative) = path.strip_prefix(&self.root) else {
            return false;
        };
        !relative.as_os_str().is_empty() && !ignored.is_ignored(relative, is_dir)
    }

    /// Adds an event's paths that count to `changed`.
    fn take(&self, event: notify::Result<notify::Event>, ignored: &Ignored, changed: &mut Changed) {
        let Ok(event) = event else { return };
        let created = match event.kind {
            EventKind::Create(_) => true,
            EventKind::Any | EventKind::Modify(_) | EventKind::Remove(_) => false,
            _ => return,
        };
        for path in event.paths {
            let is_dir = path.is_dir();
            if !self.counts(&path, is_dir, ignored) {
                continue;
            }
            let relative = path.strip_prefix(&self.root).expect("counted").to_owned();
            if created && is_dir {
                changed.new_dirs.push(relative.clone());
            }
            if created && !changed.paths.contains(&relative) {
                changed.created.push(relative.clone());
            }
            if !changed.paths.contains(&relative) {
                changed.paths.push(relative);
            }
        }
    }

    /// What is never a change: [`ALWAYS_IGNORED`], then the ignore files of the app
    /// directory and of each directory under it (read as a path needs them).
    fn ignored(&self) -> Ignored {
        let mut builder = GitignoreBuilder::new(&self.root);
        for pattern in ALWAYS_IGNORED {
            let _ = builder.add_line(None, pattern);
        }
        add_ignore_files(&mut builder, &self.root);
        Ignored {
            root: self.root.clone(),
            top: builder.build().unwrap_or_else(|_| Gitignore::empty()),
            nested: std::cell::RefCell::new(std::collections::HashMap::new()),
        }
    }
}

/// The ignore files of `dir`, in order (a later one's `!pattern` wins); a line that cannot be
/// read is left out, as git does.
fn add_ignore_files(builder: &mut GitignoreBuilder, dir: &Path) {
    for file in IGNORE_FILES {
        let path = dir.join(file);
        if path.is_file() {
            let _ = builder.add(path);
        }
    }
}

/// The paths of one burst.
#[derive(Default)]
struct Changed {
    /// Every path that counts, each once, in the order first seen.
    paths: Vec<PathBuf>,
    /// Those created in the burst.
    created: Vec<PathBuf>,
    /// Directories created in the burst: watched from now on.
    new_dirs: Vec<PathBuf>,
}

impl Changed {
    /// The burst's changes without the files made and gone within it (an editor's or `sed
    /// -i`'s temporary file, renamed over the one edited) and the directories made in it that
    /// are still empty (git tracks none; what is put in one later is a change then): what a
    /// restart line names.
    fn lasting(self, root: &Path) -> Vec<PathBuf> {
        let created = self.created;
        self.paths
            .into_iter()
            .filter(|p| {
                if !created.contains(p) {
                    return true;
                }
                let path = root.join(p);
                match path.symlink_metadata() {
                    Err(_) => false,
                    Ok(meta) if meta.is_dir() => {
                        std::fs::read_dir(&path).is_ok_and(|mut d| d.next().is_some())
                    }
                    Ok(_) => true,
                }
            })
            .collect()
    }
}

/// What is ignored: the app directory's patterns, and each directory's own ignore files,
/// which a deeper one overrides (as git reads them).
struct Ignored {
    root: PathBuf,
    top: Gitignore,
    /// A directory (relative) with ignore files of its own: their patterns.
    nested: std::cell::RefCell<std::collections::HashMap<PathBuf, Option<Gitignore>>>,
}

impl Ignored {
    fn is_ignored(&self, relative: &Path, is_dir: bool) -> bool {
        // The deepest directory with a say decides; the app directory's patterns last.
        let ancestors: Vec<&Path> = relative
            .ancestors()
            .skip(1)
            .filter(|a| !a.as_os_str().is_empty())
            .collect();
        for dir in ancestors {
            if self.top.matched_path_or_any_parents(dir, true).is_ignore() {
                return true;
            }
        }
        for dir in relative
            .ancestors()
            .skip(1)
            .filter(|a| !a.as_os_str().is_empty())
        {
            let mut nested = self.nested.borrow_mut();
            let matcher = nested.entry(dir.to_owned()).or_insert_with(|| {
                let absolute = self.root.join(dir);
                if !IGNORE_FILES.iter().any(|f| absolute.join(f).is_file()) {
                    return None;
                }
                let mut builder = GitignoreBuilder::new(&absolute);
                add_ignore_files(&mut builder, &absolute);
                builder.build().ok()
            });
            if let Some(matcher) = matcher {
                let below = relative.strip_prefix(dir).unwrap_or(relative);
                match matcher.matched_path_or_any_parents(below, is_dir) {
                    ignore::Match::Ignore(_) => return true,
                    ignore::Match::Whitelist(_) => return false,
                    ignore::Match::None => {}
                }
            }
        }
        self.top
            .matched_path_or_any_parents(relative, is_dir)
            .is_ignore()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(list: &[&str]) -> Paths {
        paths(&Watch::Paths(
            list.iter().map(|s| (*s).to_owned()).collect(),
        ))
        .unwrap()
        .unwrap()
    }

    #[test]
    fn a_directory_stands_for_everything_under_it_and_globs_keep_to_their_level() {
        let paths = set(&["app/**/*.py", "templates/", "config.toml"]);
        for yes in [
            "app/x.py",
            "app/a/b/x.py",
            "templates/a/b.html",
            "config.toml",
        ] {
            assert!(paths.matches(Path::new(yes)), "{yes}");
        }
        for no in ["app/x.txt", "x.py", "templatesx", "other/config.toml"] {
            assert!(!paths.matches(Path::new(no)), "{no}");
        }
        assert!(set(&["*.py"]).matches(Path::new("app.py")));
        assert!(!set(&["*.py"]).matches(Path::new("app/x.py")));
    }

    #[test]
    fn false_watches_nothing_and_bad_entries_are_refused() {
        assert!(paths(&Watch::On(false)).unwrap().is_none());
        assert!(matches!(paths(&Watch::On(true)), Ok(Some(Paths::All))));
        let bad = |s: &str| {
            paths(&Watch::Paths(vec![s.to_owned()]))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            bad("/etc"),
            "`watch` takes paths relative to the app directory, not `/etc`"
        );
        assert!(bad("app/[x").starts_with("`watch`: "), "{}", bad("app/[x"));
    }

    #[test]
    fn editors_files_and_the_ignore_files_patterns_are_not_changes() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::write(root.join(".gitignore"), "*.log\nbuild/\n").unwrap();
        std::fs::write(root.join(".dozenignore"), "!keep.log\n").unwrap();
        let reader = Changes {
            store: root.join(".dozen"),
            root: root.clone(),
            own_output: Vec::new(),
        };
        let ignored = reader.ignored();
        let mut changed = Changed::default();
        let names = [
            "app.py",
            ".app.py.swp",
            "app.py~",
            "4913",
            ".#app.py",
            ".git/index",
            "x.log",
            "keep.log",
            "build/out.js",
            ".dozen/state",
            "__pycache__/app.cpython-311.pyc",
        ];
        let mut event = notify::Event::new(EventKind::Modify(notify::event::ModifyKind::Any));
        event.paths = names.iter().map(|n| root.join(n)).collect();
        reader.take(Ok(event), &ignored, &mut changed);
        assert_eq!(
            changed.paths,
            [PathBuf::from("app.py"), PathBuf::from("keep.log")]
        );
    }

    fn reader(root: &Path) -> Changes {
        Changes {
            store: root.join(".dozen"),
            root: root.to_owned(),
            own_output: Vec::new(),
        }
    }

    /// A directory's own ignore files count for what is under it, a deeper one over its
    /// parents' (as git reads them); a directory its parent ignores stays ignored.
    #[test]
    fn nested_ignore_files_are_read_as_git_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        for sub in ["web/static", "web/build", "api"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        std::fs::write(root.join(".gitignore"), "*.tmp\nweb/build/\n").unwrap();
        std::fs::write(
            root.join("web/.gitignore"),
            "static/gen/\n*.map\n!keep.tmp\n",
        )
        .unwrap();
        std::fs::write(root.join("web/build/.gitignore"), "!*\n").unwrap();
        let ignored = reader(&root).ignored();
        let is = |p: &str| ignored.is_ignored(Path::new(p), false);
        for yes in [
            "web/static/gen/a.js",
            "web/app.js.map",
            "api/x.tmp",
            "web/build/out.js",
        ] {
            assert!(is(yes), "{yes} should be ignored");
        }
        for no in [
            "web/app.js",
            "api/app.js.map",
            "web/keep.tmp",
            "web/static/a.js",
        ] {
            assert!(!is(no), "{no} should count");
        }
    }

    /// `sed -i` writes a temporary file and renames it over the one edited: the restart
    /// names the file edited, and a file made and gone within the burst is no change; nor
    /// is a directory made empty.
    #[test]
    fn a_file_made_and_gone_within_a_burst_is_not_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::write(root.join("app.py"), "x").unwrap();
        std::fs::write(root.join("gone.py"), "x").unwrap();
        let reader = reader(&root);
        let ignored = reader.ignored();
        let mut changed = Changed::default();
        let event = |kind, names: &[&str]| {
            let mut event = notify::Event::new(kind);
            event.paths = names.iter().map(|n| root.join(n)).collect();
            Ok(event)
        };
        let create = EventKind::Create(notify::event::CreateKind::File);
        let modify = EventKind::Modify(notify::event::ModifyKind::Any);
        let remove = EventKind::Remove(notify::event::RemoveKind::File);
        std::fs::create_dir(root.join("empty")).unwrap();
        std::fs::create_dir(root.join("full")).unwrap();
        std::fs::write(root.join("full/x.py"), "x").unwrap();
        let dir_made = EventKind::Create(notify::event::CreateKind::Folder);
        reader.take(event(dir_made, &["empty", "full"]), &ignored, &mut changed);
        reader.take(event(create, &["sedAbC123"]), &ignored, &mut changed);
        reader.take(
            event(modify, &["sedAbC123", "app.py"]),
            &ignored,
            &mut changed,
        );
        std::fs::remove_file(root.join("gone.py")).unwrap();
        reader.take(event(remove, &["gone.py"]), &ignored, &mut changed);
        assert_eq!(
            changed.lasting(&root),
            [
                PathBuf::from("full"),
                PathBuf::from("app.py"),
                PathBuf::from("gone.py")
            ]
        );
    }

    /// A watcher that records what it is asked to watch.
    struct Recorder(Vec<PathBuf>);

    impl notify::Watcher for Recorder {
        fn new<F: notify::EventHandler>(_: F, _: notify::Config) -> notify::Result<Self> {
            Ok(Self(Vec::new()))
        }
        fn watch(&mut self, path: &Path, mode: RecursiveMode) -> notify::Result<()> {
            assert_eq!(mode, RecursiveMode::NonRecursive);
            self.0.push(path.to_owned());
            Ok(())
        }
        fn unwatch(&mut self, _: &Path) -> notify::Result<()> {
            Ok(())
        }
        fn kind() -> notify::WatcherKind {
            notify::WatcherKind::NullWatcher
        }
    }

    /// Ignored trees (dependencies, a build's output, the store) cost no watch.
    #[test]
    fn only_directories_that_are_not_ignored_are_watched() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        for sub in [
            "src/a",
            "node_modules/x/y",
            "dist/js",
            ".git/objects",
            ".dozen/trees",
            "docs",
        ] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        std::fs::write(root.join(".gitignore"), "dist/\n").unwrap();
        std::os::unix::fs::symlink("/", root.join("link")).unwrap();
        let reader = reader(&root);
        let mut watcher = Recorder(Vec::new());
        reader
            .watch_tree(&mut watcher, &root, &reader.ignored())
            .unwrap();
        let mut seen: Vec<String> = watcher
            .0
            .iter()
            .map(|p| p.strip_prefix(&root).unwrap().display().to_string())
            .collect();
        seen.sort();
        assert_eq!(seen, ["", "docs", "src", "src/a"]);
    }
}
