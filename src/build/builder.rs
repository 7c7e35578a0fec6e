//! Running a build: identify its inputs, return a stored build when they are unchanged, else
//! copy the source to where the build will live (`trees/<id>/`), run the steps there with the
//! build environment only, store its contents and seal it. The record is written last: a build
//! exists whole or not at all (docs/store.md).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::index::{Index, tree_hash};
use super::source;
use crate::store::builds;
use crate::store::kept::KeptLog;
use crate::store::objects::Objects;
use crate::store::tree::{self, Tree};

/// Bumped when what goes into a build id changes meaning.
const ID_FORMAT: &str = "dozen-build 1";
/// Names of the inherited environment a build step sees besides the build env.
const PASS_THROUGH: [&str; 5] = ["PATH", "HOME", "LANG", "TERM", "TMPDIR"];
/// `SOURCE_DATE_EPOCH` for build steps unless `[build] env` sets it: 1980-01-01, the
/// earliest time a zip (a wheel, a jar) can hold.
pub const SOURCE_DATE_EPOCH: &str = "315532800";
/// Lines of a failed step's output shown with the error.
const TAIL_LINES: usize = 20;

/// What to build, validated.
pub struct Plan {
    pub app_dir: PathBuf,
    pub store: PathBuf,
    pub steps: Vec<String>,
    /// App-relative directories kept between builds.
    pub cache: Vec<String>,
    pub env: Vec<(String, String)>,
    pub tools: Vec<String>,
    /// The inherited environment (for the pass-through names).
    pub inherited: Vec<(String, String)>,
    /// App-relative env files the manifest names (besides `.env*`), never part of a build.
    pub env_files: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub created: String,
    pub source_tree: String,
    pub steps: Vec<StepRecord>,
    pub env: Vec<(String, String)>,
    pub tools: Vec<(String, String)>,
    pub git: Option<Git>,
    pub size: u64,
    pub files: usize,
    pub duration_ms: u64,
    /// Files of the tree that name the absolute path it was built at (`path: what`): the
    /// build runs only there, and `export` and `image` refuse it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs_only_here: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    pub command: String,
    pub exit_code: i32,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Git {
    pub commit: String,
    pub branch: Option<String>,
    pub dirty: bool,
    /// BLAKE3 of `git diff HEAD` plus the untracked files' names and contents: the same dirty
    /// tree gives the same hash (never a random suffix).
    pub diff_hash: Option<String>,
}

pub enum Outcome {
    /// Inputs unchanged: the stored build (and what had to be put back in its tree).
    Cached(Record, builds::Repair),
    Built(Record),
    /// Built again: the stored build of these inputs was lost (its tree could not be made
    /// from the store, a stored file damaged or gone: the [`tree::TreeError::Lost`] said).
    Rebuilt(Record, tree::TreeError),
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("step {number} `{command}` failed: {status}")]
    StepFailed {
        number: usize,
        command: String,
        status: String,
        tail: Vec<String>,
    },
    #[error(transparent)]
    Source(#[from] source::SourceError),
    #[error(transparent)]
    Tree(#[from] tree::TreeError),
    #[error("{path}: {message}")]
    Damaged { path: String, message: String },
    #[error(
        "the build runs the app's working tree, not its own files: {} of its files name {}",
        references.len(),
        app_dir
    )]
    WorkingTree {
        app_dir: String,
        references: Vec<String>,
    },
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> BuildError {
    let context = context.into();
    move |source| BuildError::Io { context, source }
}

/// Where a build's record lives in the store.
pub fn record_path(store: &Path, id: &str) -> PathBuf {
    builds::record_path(store, id)
}

/// Reads a build record, naming the file when it is damaged.
pub fn read_record(path: &Path) -> Result<Record, BuildError> {
    let bytes = fs::read(path).map_err(io(format!("cannot read {}", path.display())))?;
    serde_json::from_slice(&bytes).map_err(|e| BuildError::Damaged {
        path: path.display().to_string(),
        message: format!("not a valid build record ({e})"),
    })
}

/// Builds, or finds the build of these exact inputs. `log` receives each line of the steps'
/// output as it comes; `left_out`, the app's directories the build did not copy because they
/// are this machine's (virtualenvs). The caller holds the shared store lock.
pub fn build(
    plan: &Plan,
    log: &mut dyn FnMut(&str),
    left_out: &mut dyn FnMut(&[String]),
) -> Result<Outcome, BuildError> {
    let started = Instant::now();
    for dir in ["builds", "trees", "tmp", "cache"] {
        let path = plan.store.join(dir);
        crate::store::create_dir(&path).map_err(io(format!("cannot create {}", path.display())))?;
    }
    let (files, machines) = source::walk_noting(&plan.app_dir, &plan.env_files)?;
    if !machines.is_empty() {
        left_out(&machines);
    }
    let index_path = plan.store.join("index");
    let mut index = Index::load(&index_path);
    let hashes = index.hashes(&plan.app_dir, &files).map_err(|e| {
        io(format!(
            "cannot read the source in {}",
            plan.app_dir.display()
        ))(e)
    })?;
    let hashes = without_image_settings(&plan.app_dir, &files, hashes);
    let source_tree = tree_hash(&files, &hashes);
    let tools: Vec<(String, String)> = plan
        .tools
        .iter()
        .map(|t| (t.clone(), tool_version(t)))
        .collect();
    let id = build_id(&source_tree, plan, &tools);
    let _ = index.save(&index_path);

    let lost = match stored(plan, &id) {
        Ok(Some(cached)) => return Ok(cached),
        Ok(None) => None,
        // No longer stored: built again below, from the source.
        Err(BuildError::Tree(lost @ tree::TreeError::Lost { .. })) => Some(lost),
        Err(error) => return Err(error),
    };
    // One builder per id: a concurrent build of the same inputs waits here, then finds the
    // record and uses it.
    let _lock = builds::lock(&plan.store, &id).map_err(io(format!("cannot lock build {id}")))?;
    if let Some(cached) = stored(plan, &id)? {
        return Ok(cached);
    }
    let root = builds::tree_dir(&plan.store, &id);
    clear_partial(&plan.store, &id)?;
    // The steps' output goes to the build log as it comes, never held whole.
    let log_path = plan.store.join("builds").join(format!("{id}.log"));
    let mut kept = KeptLog::create(&log_path).map_err(io("cannot write the build log"))?;
    let mut tee = |line: &str| {
        kept.line(line);
        log(line);
    };
    let result = run_steps(plan, &root, &files, &mut tee).and_then(|steps| {
        let runs_only_here = portability(plan, &root)?;
        store(
            plan,
            &root,
            kept,
            Record {
                id: id.clone(),
                created: jiff::Timestamp::now().to_string(),
                source_tree,
                steps,
                env: plan.env.clone(),
                tools,
                git: git_info(&plan.app_dir),
                size: 0,
                files: 0,
                duration_ms: 0,
                runs_only_here,
            },
            started,
        )
    });
    if result.is_err() {
        let _ = clear_partial(&plan.store, &id);
    }
    result.map(|record| match lost {
        Some(lost) => Outcome::Rebuilt(record, lost),
        None => Outcome::Built(record),
    })
}

/// The hashes with `dozen.toml`'s replaced by one of its content without `[image]`: how a
/// release is packaged is not what it is, so adding or changing `[image]` keeps the build (and
/// `dozen image` reads `[image]` from the app's current `dozen.toml`).
fn without_image_settings(
    app_dir: &Path,
    files: &[source::SourceFile],
    mut hashes: Vec<Option<String>>,
) -> Vec<Option<String>> {
    let Some(at) = files
        .iter()
        .position(|f| f.path == crate::app::manifest::FILE_NAME)
    else {
        return hashes;
    };
    let Ok(text) = fs::read_to_string(app_dir.join(crate::app::manifest::FILE_NAME)) else {
        return hashes;
    };
    if text.parse::<toml::Table>().is_err() {
        return hashes;
    }
    // The text without the table, so the hash still follows every other change of the file
    // (comments included): the lines from `[image]` to the next table dropped, and the
    // blank lines that end the file.
    let mut kept = String::new();
    let mut inside = false;
    for line in text.split_inclusive('\n') {
        let header = line.trim_start();
        if header.starts_with('[') {
            inside = header.starts_with("[image]") || header.starts_with("[image.");
        }
        if !inside {
            kept.push_str(line);
        }
    }
    hashes[at] = Some(format!(
        "manifest:{}",
        blake3::hash(kept.trim_end().as_bytes()).to_hex()
    ));
    hashes
}

/// What of the built tree names its own path (the build runs only there); an error when it
/// names the app's working tree.
fn portability(plan: &Plan, root: &Path) -> Result<Vec<String>, BuildError> {
    let canonical = |p: &Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let (root, app_dir) = (canonical(root), canonical(&plan.app_dir));
    let files = source::walk_everything(&root)?;
    let found = super::portable::scan(&root, &app_dir, &files);
    if !found.working_tree.is_empty() {
        return Err(BuildError::WorkingTree {
            app_dir: app_dir.display().to_string(),
            references: found.working_tree,
        });
    }
    Ok(found.own)
}

/// The stored build of `id`, checked intact (and put back if a process changed it).
fn stored(plan: &Plan, id: &str) -> Result<Option<Outcome>, BuildError> {
    let record_file = record_path(&plan.store, id);
    if !record_file.is_file() {
        return Ok(None);
    }
    let record = read_record(&record_file)?;
    let repair = builds::verified(&plan.store, id)?;
    Ok(Some(Outcome::Cached(record, repair)))
}

/// Removes what a dead build of `id` left (the caller holds the build's lock).
fn clear_partial(store: &Path, id: &str) -> Result<(), BuildError> {
    let root = builds::tree_dir(store, id);
    if fs::symlink_metadata(&root).is_ok() {
        tree::remove_materialized(&root)
            .map_err(io(format!("cannot remove {}", root.display())))?;
    }
    for extension in ["tree", "seal", "clean", "log", "log.partial"] {
        let _ = fs::remove_file(store.join("builds").join(format!("{id}.{extension}")));
    }
    Ok(())
}

fn build_id(source_tree: &str, plan: &Plan, tools: &[(String, String)]) -> String {
    let mut id = blake3::Hasher::new();
    id.update(ID_FORMAT.as_bytes());
    id.update(b"\0tree\0");
    id.update(source_tree.as_bytes());
    for step in &plan.steps {
        id.update(b"\0step\0");
        id.update(step.as_bytes());
    }
    for (key, value) in &plan.env {
        id.update(format!("\0env\0{key}={value}").as_bytes());
    }
    for dir in &plan.cache {
        id.update(format!("\0cache\0{dir}").as_bytes());
    }
    for (tool, version) in tools {
        id.update(format!("\0tool\0{tool}\0{version}").as_bytes());
    }
    id.finalize().to_hex()[..32].to_string()
}

/// The first line `tool --version` prints, or `missing`.
fn tool_version(tool: &str) -> String {
    let Ok(output) = Command::new(tool)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
    else {
        return "missing".to_owned();
    };
    let text = if output.stdout.is_empty() {
        output.stderr
    } else {
        output.stdout
    };
    String::from_utf8_lossy(&text)
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_owned()
}

/// Copies the source to where the build will live, restores caches, runs the steps there,
/// saves caches.
fn run_steps(
    plan: &Plan,
    root: &Path,
    files: &[source::SourceFile],
    log: &mut dyn FnMut(&str),
) -> Result<Vec<StepRecord>, BuildError> {
    fs::create_dir_all(root).map_err(io(format!("cannot create {}", root.display())))?;
    source::copy_files(files, &plan.app_dir, root)
        .map_err(|(path, e)| io(format!("cannot copy {path}"))(e))?;
    for dir in &plan.cache {
        let saved = plan.store.join("cache").join(cache_name(dir));
        if saved.is_dir() {
            copy_dir(&saved, &root.join(dir))?;
        }
    }
    let mut env: Vec<(String, String)> = plan
        .inherited
        .iter()
        .filter(|(k, _)| PASS_THROUGH.contains(&k.as_str()))
        .cloned()
        .collect();
    // The reproducible-builds convention: tools that stamp times use this one. Python's
    // compiler then writes hash-checked bytecode, still valid when the tree's files carry
    // other times (a tree made from the store, a copy, an image layer), so a start never
    // rewrites `__pycache__`. `[build] env` may set another.
    if !plan.env.iter().any(|(k, _)| k == "SOURCE_DATE_EPOCH") {
        env.push(("SOURCE_DATE_EPOCH".to_owned(), SOURCE_DATE_EPOCH.to_owned()));
    }
    env.extend(plan.env.iter().cloned());
    let mut records = Vec::new();
    for (number, step) in plan.steps.iter().enumerate() {
        let started = Instant::now();
        let (code, output) = run_step(step, root, &env, log)
            .map_err(io(format!("cannot run step {}", number + 1)))?;
        records.push(StepRecord {
            command: step.clone(),
            exit_code: code,
            duration_ms: millis(started.elapsed()),
        });
        if code != 0 {
            let tail = output
                .iter()
                .rev()
                .take(TAIL_LINES)
                .rev()
                .cloned()
                .collect();
            let status = if code > 128 {
                format!(
                    "killed by {}",
                    crate::supervisor::exit::signal_name(code - 128)
                )
            } else {
                format!("exit code {code}")
            };
            return Err(BuildError::StepFailed {
                number: number + 1,
                command: step.clone(),
                status,
                tail,
            });
        }
    }
    for dir in &plan.cache {
        let built = root.join(dir);
        let saved = plan.store.join("cache").join(cache_name(dir));
        if built.is_dir() {
            let _ = fs::remove_dir_all(&saved);
            fs::rename(&built, &saved).map_err(io(format!("cannot save the build cache {dir}")))?;
        }
    }
    Ok(records)
}

/// Runs one step with its output (stdout and stderr, in order) sent line by line to `log`,
/// under a nursery: what the step leaves running is ended once it ends, and said so.
fn run_step(
    step: &str,
    dir: &Path,
    env: &[(String, String)],
    log: &mut dyn FnMut(&str),
) -> std::io::Result<(i32, Vec<String>)> {
    // Its last lines only, for a failure to show (the log has the rest).
    let mut lines = std::collections::VecDeque::new();
    let mut keep = |line: &str| {
        if lines.len() == TAIL_LINES {
            lines.pop_front();
        }
        lines.push_back(line.to_owned());
    };
    let finished = crate::supervisor::oneoff::run(
        &["/bin/sh".to_owned(), "-c".to_owned(), step.to_owned()],
        env,
        dir,
        &mut |line| {
            log(line);
            keep(line);
        },
    )?;
    if let Some(note) = finished.leftovers("the step") {
        let note = format!("dozen: {note}");
        log(&note);
        keep(&note);
    }
    Ok((finished.code(), lines.into()))
}

/// Stores the finished tree: new contents into the objects, the tree's list, its seal, the
/// log, and last the record.
fn store(
    plan: &Plan,
    root: &Path,
    log: KeptLog,
    mut record: Record,
    started: Instant,
) -> Result<Record, BuildError> {
    let id = record.id.clone();
    let id = id.as_str();
    let objects = Objects::open(&plan.store).map_err(io("cannot open the object store"))?;
    for dir in &plan.cache {
        let _ = fs::remove_dir_all(root.join(dir));
    }
    let tree = Tree::ingest(root, &objects)?;
    record.size = tree.size();
    record.files = tree.file_count();
    tree.write(&builds::tree_file(&plan.store, id))?;
    builds::seal(&plan.store, id, &tree)?;
    builds::mark_clean(&plan.store, id).map_err(io("cannot mark the build clean"))?;
    log.finish().map_err(io("cannot write the build log"))?;
    if let Ok(pause) = std::env::var("DOZEN_TEST_PAUSE_BEFORE_RECORD") {
        test_pause(&pause);
    }
    record.duration_ms = millis(started.elapsed());
    let bytes = serde_json::to_vec_pretty(&record)
        .map_err(|e| io("cannot encode the build record")(e.into()))?;
    crate::fsutil::write_atomic(&record_path(&plan.store, id), &bytes, 0o600)
        .map_err(io("cannot write the build record"))?;
    Ok(record)
}

/// A hook for the tests that kill a command at a chosen moment: creates `FILE.ready`, then
/// waits (at most 60 s) until `FILE` exists. Never set outside tests.
pub fn test_pause(file: &str) {
    let _ = fs::write(format!("{file}.ready"), b"");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !Path::new(file).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn cache_name(dir: &str) -> String {
    dir.trim_matches('/').replace('/', "%")
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), BuildError> {
    fs::create_dir_all(to).map_err(io(format!("cannot create {}", to.display())))?;
    for entry in fs::read_dir(from).map_err(io(format!("cannot read {}", from.display())))? {
        let entry = entry.map_err(io(format!("cannot read {}", from.display())))?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry
            .file_type()
            .map_err(io(format!("cannot read {}", source.display())))?;
        if kind.is_dir() {
            copy_dir(&source, &target)?;
        } else if kind.is_symlink() {
            let link =
                fs::read_link(&source).map_err(io(format!("cannot read {}", source.display())))?;
            std::os::unix::fs::symlink(link, &target)
                .map_err(io(format!("cannot copy {}", source.display())))?;
        } else {
            fs::copy(&source, &target).map_err(io(format!("cannot copy {}", source.display())))?;
        }
    }
    Ok(())
}

/// Commit, branch, dirty flag and a hash of the uncommitted changes, from `git` (nothing when
/// the app is not in a git repository or git is not installed).
fn git_info(dir: &Path) -> Option<Git> {
    let git = |args: &[&str]| crate::git::output(dir, args);
    let commit = String::from_utf8(git(&["rev-parse", "HEAD"])?)
        .ok()?
        .trim()
        .to_owned();
    let branch = git(&["symbolic-ref", "--short", "-q", "HEAD"])
        .and_then(|b| String::from_utf8(b).ok())
        .map(|b| b.trim().to_owned())
        .filter(|b| !b.is_empty());
    let status = git(&["status", "--porcelain", "-z"]).unwrap_or_default();
    let dirty = !status.is_empty();
    let diff_hash = dirty.then(|| {
        let mut hash = blake3::Hasher::new();
        hash.update(&git(&["diff", "HEAD", "--binary"]).unwrap_or_default());
        for name in git(&["ls-files", "--others", "--exclude-standard", "-z"])
            .unwrap_or_default()
            .split(|b| *b == 0)
            .filter(|n| !n.is_empty())
        {
            hash.update(name);
            hash.update(
                &fs::read(dir.join(String::from_utf8_lossy(name).as_ref())).unwrap_or_default(),
            );
        }
        hash.finalize().to_hex().to_string()
    });
    Some(Git {
        commit,
        branch,
        dirty,
        diff_hash,
    })
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

// Builds run their steps under the nursery (`dozen __nursery`), which a unit-test binary is
// not: the builder is tested through the binary, in tests/build.rs.
