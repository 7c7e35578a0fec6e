//! `dozen run --dev --watch`: a thread that watches the app directory (the `notify` crate, as
//! watchexec), waits for a burst of changes to end, and asks the run to restart the types
//! whose watched paths changed, as `dozen restart TYPE` would (rolling behind the router).

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use notify::{EventKind, RecursiveMode, Watcher as _};

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
}

/// Sends a restart request to the run, with where to answer; false once the run has ended.
pub type Restart = Box<dyn Fn(control::Request, mpsc::Sender<Response>) -> bool + Send>;

/// Starts watching; the thread ends with the run.
pub fn start(plan: WatchPlan, pump: pump::Handle, restart: Restart) -> Result<(), WatchError> {
    let root = std::fs::canonicalize(&plan.root).unwrap_or(plan.root.clone());
    let store = std::fs::canonicalize(&plan.store).unwrap_or(plan.store.clone());
    let (tx, rx) = mpsc::channel();
    let watch_error = |source| WatchError::Watch {
        path: root.clone(),
        source,
    };
    let mut watcher = notify::recommended_watcher(tx).map_err(watch_error)?;
    watcher
        .watch(&root, RecursiveMode::Recursive)
        .map_err(watch_error)?;
    std::thread::Builder::new()
        .name("dozen-watch".into())
        .spawn(move || {
            let _watcher = watcher;
            let changes = Changes {
                root,
                store,
                own_output: own_output(),
            };
            while let Some(changed) = changes.next_burst(&rx) {
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
    ) -> Option<Vec<PathBuf>> {
        loop {
            let first = rx.recv().ok()?;
            // The ignore files are read again for each burst: an edit to them counts at once.
            let ignored = self.ignored();
            let mut changed = Vec::new();
            self.take(first, &ignored, &mut changed);
            if changed.is_empty() {
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
            return Some(changed);
        }
    }

    /// Adds an event's paths that count to `changed`.
    fn take(
        &self,
        event: notify::Result<notify::Event>,
        ignored: &Gitignore,
        changed: &mut Vec<PathBuf>,
    ) {
        let Ok(event) = event else { return };
        if !matches!(
            event.kind,
            EventKind::Any | EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
        ) {
            return;
        }
        for path in event.paths {
            if path.starts_with(&self.store) || self.own_output.contains(&path) {
                continue;
            }
            let Ok(relative) = path.strip_prefix(&self.root) else {
                continue;
            };
            if relative.as_os_str().is_empty()
                || ignored
                    .matched_path_or_any_parents(relative, path.is_dir())
                    .is_ignore()
            {
                continue;
            }
            if !changed.iter().any(|c| c == relative) {
                changed.push(relative.to_owned());
            }
        }
    }

    /// What is never a change: [`ALWAYS_IGNORED`], then the app directory's ignore files.
    fn ignored(&self) -> Gitignore {
        let mut builder = GitignoreBuilder::new(&self.root);
        for pattern in ALWAYS_IGNORED {
            let _ = builder.add_line(None, pattern);
        }
        for file in IGNORE_FILES {
            let path = self.root.join(file);
            if path.is_file() {
                // A line it cannot read is left out (git does the same).
                let _ = builder.add(path);
            }
        }
        builder.build().unwrap_or_else(|_| Gitignore::empty())
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
        let mut changed = Vec::new();
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
            changed,
            [PathBuf::from("app.py"), PathBuf::from("keep.log")]
        );
    }
}
