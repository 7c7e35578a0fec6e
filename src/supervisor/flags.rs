//! The run's feature flags (docs/flags.md): the definitions file read at start, served over
//! OFREP on its own listener, and read again whenever it changes — by hand (the file is
//! watched) or by `dozen flags` (which asks through the control socket and waits). A file
//! that does not check is said, located, and the flags in effect stay.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use notify::{RecursiveMode, Watcher as _};

use super::output::pump;
use crate::flags::Definitions;
use crate::flags::live::{Live, Loaded};

/// A burst of writes (an editor's save) is read once, this long after its last event.
const QUIET: Duration = Duration::from_millis(50);

/// What `run` gives the runner: the file, its flags as read at start, the OFREP listener.
pub struct FlagsPlan {
    pub path: PathBuf,
    /// The file as the user names it (`flags.json`).
    pub shown: String,
    pub live: Arc<Live>,
    pub listener: std::net::TcpListener,
    /// The listener as the processes reach it (`http://127.0.0.1:PORT`).
    pub endpoint: String,
}

/// The flags of a running formation, served and watched until dropped.
pub struct Flags {
    /// `http://ADDRESS` of the OFREP server.
    endpoint: String,
    reloader: Arc<Reloader>,
    _serving: crate::ofrep::server::Serving,
    _watcher: Option<notify::RecommendedWatcher>,
}

struct Reloader {
    path: PathBuf,
    shown: String,
    live: Arc<Live>,
    /// One reload at a time (the watcher's and a `dozen flags` request's); whether the last
    /// one refused the file.
    lock: Mutex<bool>,
}

/// What a reload found.
#[derive(Debug, PartialEq, Eq)]
pub enum Reloaded {
    /// The file says what is in effect already.
    Unchanged,
    /// The flags now in effect, and what changed, in words.
    Changed(Vec<String>),
}

impl Flags {
    /// Serves and watches the flags; says where.
    pub fn start(plan: FlagsPlan, pump: &pump::Handle) -> std::io::Result<Self> {
        let count = plan.live.current().definitions.flags.len();
        let serving = crate::ofrep::server::serve(plan.listener, Arc::clone(&plan.live))?;
        let reloader = Arc::new(Reloader {
            path: plan.path,
            shown: plan.shown,
            live: plan.live,
            lock: Mutex::new(false),
        });
        pump.system(
            format!(
                "flags: {count} from {}, OFREP on {} (OFREP_ENDPOINT)",
                reloader.shown, plan.endpoint
            ),
            None,
        );
        let watcher = match watch(&reloader, pump.try_clone()?) {
            Ok(watcher) => Some(watcher),
            Err(e) => {
                pump.system(
                    format!(
                        "flags: cannot watch {} ({e}); `dozen flags` changes still apply",
                        reloader.shown
                    ),
                    None,
                );
                None
            }
        };
        Ok(Self {
            endpoint: plan.endpoint,
            reloader,
            _serving: serving,
            _watcher: watcher,
        })
    }

    /// Where OFREP is served.
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// Reads the file again (for `dozen flags`): what changed, or why the file was refused.
    pub fn reload(&self, pump: &pump::Handle) -> Result<Reloaded, String> {
        self.reloader.reload(pump)
    }
}

impl Reloader {
    fn reload(&self, pump: &pump::Handle) -> Result<Reloaded, String> {
        let mut refused = self
            .lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let read = self.read();
        let was_refused = std::mem::replace(&mut *refused, read.is_err());
        let (text, definitions) = read?;
        let before = self.live.current();
        let (now, changed) = self.live.replace(definitions, text.as_bytes());
        if !changed {
            if was_refused {
                pump.system(
                    format!(
                        "flags: {} checks again; the flags in effect are its",
                        self.shown
                    ),
                    None,
                );
            }
            return Ok(Reloaded::Unchanged);
        }
        let said = differences(&before, &now);
        pump.system(
            format!(
                "flags: {} changed: {}",
                self.shown,
                if said.is_empty() {
                    "no flag's definition (only its layout or metadata)".to_owned()
                } else {
                    said.join("; ")
                }
            ),
            None,
        );
        Ok(Reloaded::Changed(said))
    }

    /// The file, read and checked: its text and flags, or its first errors in a line.
    fn read(&self) -> Result<(String, Definitions), String> {
        Definitions::read_text(&self.path, &self.shown).map_err(|problems| {
            let mut lines: Vec<String> = problems
                .iter()
                .filter(|d| d.is_error())
                .map(crate::diagnostic::Diagnostic::headline)
                .collect();
            lines.truncate(5);
            lines.join("; ")
        })
    }
}

/// What differs between two sets, flag by flag, in words.
pub fn differences(before: &Loaded, now: &Loaded) -> Vec<String> {
    let (old, new) = (&before.definitions.flags, &now.definitions.flags);
    let mut out = Vec::new();
    for (key, flag) in new {
        match old.get(key) {
            None => out.push(format!(
                "{key} added ({})",
                crate::flags::change::summary(flag)
            )),
            Some(was) if was != flag => {
                let (was, is) = (
                    crate::flags::change::summary(was),
                    crate::flags::change::summary(flag),
                );
                if was == is {
                    out.push(format!("{key} changed ({is})"));
                } else {
                    out.push(format!("{key}: {is} (was {was})"));
                }
            }
            Some(_) => {}
        }
    }
    out.extend(
        old.keys()
            .filter(|key| !new.contains_key(*key))
            .map(|key| format!("{key} removed")),
    );
    out
}

/// Watches the file's directory (an editor replaces the file, a new inode the file's own
/// watch would miss); a burst of events about the file is one reload.
fn watch(
    reloader: &Arc<Reloader>,
    pump: pump::Handle,
) -> notify::Result<notify::RecommendedWatcher> {
    let dir = reloader
        .path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_owned();
    let name = reloader.path.file_name().map(ToOwned::to_owned);
    let (tx, rx) = mpsc::channel::<()>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        let ours = event
            .paths
            .iter()
            .any(|p| p.file_name().map(ToOwned::to_owned) == name);
        if ours && !matches!(event.kind, notify::EventKind::Access(_)) {
            let _ = tx.send(());
        }
    })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    let reloader = Arc::clone(reloader);
    std::thread::Builder::new()
        .name("dozen-flags".into())
        .spawn(move || {
            while rx.recv().is_ok() {
                while rx.recv_timeout(QUIET).is_ok() {}
                if let Err(problem) = reloader.reload(&pump) {
                    pump.system(
                        format!(
                            "flags: {} not applied, the flags in effect stay: {problem}",
                            reloader.shown
                        ),
                        None,
                    );
                }
            }
        })
        .map_err(notify::Error::io)?;
    Ok(watcher)
}

/// The answer to `dozen flags`' request to read the file again.
pub fn answer(flags: Option<&Flags>, pump: &pump::Handle) -> crate::control::Response {
    use crate::control::Response;
    let Some(flags) = flags else {
        return Response::error(
            "this run serves no flags (it started without a flags file): stop it and run it again to serve them",
        );
    };
    match flags.reload(pump) {
        Ok(reloaded) => Response {
            message: Some(match reloaded {
                Reloaded::Unchanged => "the flags in effect are the file's already".to_owned(),
                Reloaded::Changed(changes) => changes.join("; "),
            }),
            ..Response::ok()
        },
        Err(problem) => Response::error(format!(
            "the file was not applied, the flags in effect stay: {problem}"
        )),
    }
}
