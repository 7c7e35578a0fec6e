//! The source of a build: the app's files that are not ignored by `.gitignore` or
//! `.dozenignore` (dotfiles included; never `.git` or `.dozen`), symlinks kept as links.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

/// One file of the source, with what the stat cache keys on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Relative, `/`-separated.
    pub path: String,
    pub kind: SourceKind,
    pub size: u64,
    pub mtime_ns: i128,
    pub ctime_ns: i128,
    pub inode: u64,
    pub executable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    File,
    Symlink(String),
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{path}: {message}")]
    Walk { path: String, message: String },
    #[error("{0}: file names must be UTF-8 to be built")]
    NotUtf8(String),
}

/// Never part of a build, whatever the ignore files say.
const NEVER: [&str; 2] = [".git", ".dozen"];

/// The walk over an app's own files that builds and the audit share — git's view of them:
/// every `.gitignore` from the repository's root down (the app may be a subdirectory of
/// it), `.git/info/exclude` and `core.excludesFile`, plus `.dozenignore`; `.gitignore`
/// honoured without a git repository too. Dotfiles seen, links not followed, never `.git`
/// or `.dozen`, nor any directory named in `skip_dirs`, nor a virtualenv (a directory with
/// `pyvenv.cfg`: made on this machine, its scripts name this machine's paths).
pub fn app_walker(root: &Path, skip_dirs: &'static [&'static str]) -> ignore::WalkBuilder {
    app_walker_noting(root, skip_dirs, LeftOut::default())
}

/// Directories a walk left out because they are a machine's, not the app's (virtualenvs).
#[derive(Debug, Clone, Default)]
pub struct LeftOut(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl LeftOut {
    /// The directories, relative to the walk's root, sorted.
    pub fn take(&self, root: &Path) -> Vec<String> {
        let mut dirs: Vec<String> = std::mem::take(
            &mut *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
        .into_iter()
        .map(|d| {
            Path::new(&d)
                .strip_prefix(root)
                .map_or(d.clone(), |p| p.display().to_string())
        })
        .collect();
        dirs.sort();
        dirs
    }
}

/// [`app_walker`], noting in `left_out` the virtualenvs it leaves out.
pub fn app_walker_noting(
    root: &Path,
    skip_dirs: &'static [&'static str],
    left_out: LeftOut,
) -> ignore::WalkBuilder {
    let mut builder = ignore::WalkBuilder::new(root);
    builder
        .hidden(false)
        .parents(true)
        .git_global(true)
        .git_exclude(true)
        .require_git(false)
        .follow_links(false)
        .add_custom_ignore_filename(".dozenignore")
        .filter_entry(move |entry| {
            if !entry.file_type().is_some_and(|t| t.is_dir()) {
                return true;
            }
            if NEVER
                .iter()
                .chain(skip_dirs)
                .any(|n| entry.file_name() == *n)
            {
                return false;
            }
            let virtualenv = entry.depth() > 0 && entry.path().join("pyvenv.cfg").is_file();
            if virtualenv {
                left_out
                    .0
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(entry.path().display().to_string());
            }
            !virtualenv
        });
    builder
}

/// Example env files, which document keys and may be built; every other `.env.*` is config.
const ENV_EXAMPLES: [&str; 4] = ["example", "sample", "template", "dist"];

/// Whether a file name is an env file (`.env`, `.env.NAME`), which holds runtime config and is
/// never part of a build, whatever `.gitignore` says. Examples (`.env.example`, …) are not.
pub fn is_env_file(name: &str) -> bool {
    name == ".env"
        || name
            .strip_prefix(".env.")
            .is_some_and(|suffix| !suffix.is_empty() && !ENV_EXAMPLES.contains(&suffix))
}

/// Lists the source files of the app in `dir`, sorted by path: never env files (by name, at
/// any depth, or any path in `env_files`, app-relative), which are runtime config.
pub fn walk(dir: &Path, env_files: &[String]) -> Result<Vec<SourceFile>, SourceError> {
    walk_noting(dir, env_files).map(|(files, _)| files)
}

/// [`walk`], and the virtualenvs it left out (app-relative).
pub fn walk_noting(
    dir: &Path,
    env_files: &[String],
) -> Result<(Vec<SourceFile>, Vec<String>), SourceError> {
    let left_out = LeftOut::default();
    let mut files = collect(dir, &app_walker_noting(dir, &[], left_out.clone()))?;
    files.retain(|file| {
        let name = file.path.rsplit('/').next().unwrap_or_default();
        !is_env_file(name) && !env_files.contains(&file.path)
    });
    Ok((files, left_out.take(dir)))
}

/// Lists the app's files as [`walk`] does, env files included (the audit probe runs a copy
/// of the app as `run --dev` would, config files and all).
pub fn walk_with_env_files(dir: &Path) -> Result<Vec<SourceFile>, SourceError> {
    collect(dir, &app_walker(dir, &[]))
}

/// Every file under `dir` but `.git` and `.dozen`, ignore files not applied (a release's build
/// tree, whose outputs its `.gitignore` names).
pub fn walk_everything(dir: &Path) -> Result<Vec<SourceFile>, SourceError> {
    let mut builder = ignore::WalkBuilder::new(dir);
    builder
        .standard_filters(false)
        .hidden(false)
        .filter_entry(|entry| !matches!(entry.file_name().to_str(), Some(".git" | ".dozen")));
    collect(dir, &builder)
}

fn collect(dir: &Path, builder: &ignore::WalkBuilder) -> Result<Vec<SourceFile>, SourceError> {
    let (tx, rx) = std::sync::mpsc::channel();
    builder.build_parallel().run(|| {
        let tx = tx.clone();
        let root = dir.to_path_buf();
        Box::new(move |entry| {
            let _ = tx.send(
                entry
                    .map_err(|e| e.to_string())
                    .map(|e| (e.into_path(), root.clone())),
            );
            ignore::WalkState::Continue
        })
    });
    drop(tx);
    let mut files = Vec::new();
    for item in rx {
        let (path, root) = item.map_err(|message| SourceError::Walk {
            path: dir.display().to_string(),
            message,
        })?;
        if let Some(file) = source_file(&root, &path)? {
            files.push(file);
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn source_file(root: &Path, path: &PathBuf) -> Result<Option<SourceFile>, SourceError> {
    let metadata = std::fs::symlink_metadata(path).map_err(|e| SourceError::Walk {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let kind = if metadata.file_type().is_symlink() {
        let target = std::fs::read_link(path).map_err(|e| SourceError::Walk {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        SourceKind::Symlink(
            target
                .into_os_string()
                .into_string()
                .map_err(|t| SourceError::NotUtf8(t.to_string_lossy().into_owned()))?,
        )
    } else if metadata.is_file() {
        SourceKind::File
    } else {
        return Ok(None);
    };
    let relative = path.strip_prefix(root).unwrap_or(path);
    let relative = relative
        .to_str()
        .ok_or_else(|| SourceError::NotUtf8(relative.to_string_lossy().into_owned()))?
        .to_owned();
    Ok(Some(SourceFile {
        path: relative,
        kind,
        size: metadata.len(),
        mtime_ns: mtime_ns(&metadata),
        ctime_ns: i128::from(metadata.ctime()) * 1_000_000_000 + i128::from(metadata.ctime_nsec()),
        inode: metadata.ino(),
        executable: metadata.mode() & 0o111 != 0,
    }))
}

/// A file's modification time in nanoseconds since the epoch.
pub fn mtime_ns(metadata: &std::fs::Metadata) -> i128 {
    i128::from(metadata.mtime()) * 1_000_000_000 + i128::from(metadata.mtime_nsec())
}

/// Copies `files` (as [`walk`] lists them) from `from` into `to`, links as links; an error
/// names the file.
pub fn copy_files(
    files: &[SourceFile],
    from: &Path,
    to: &Path,
) -> Result<(), (String, std::io::Error)> {
    for file in files {
        let target = to.join(&file.path);
        let failed = |e| (file.path.clone(), e);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(failed)?;
        }
        let copied = match &file.kind {
            SourceKind::File => std::fs::copy(from.join(&file.path), &target).map(drop),
            SourceKind::Symlink(link) => std::os::unix::fs::symlink(link, &target),
        };
        copied.map_err(failed)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn ignore_files_are_honoured_and_dotfiles_kept() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for dir in [
            ".git/objects",
            ".dozen/objects",
            "src",
            "node_modules/x",
            "build",
            "sub",
            "sub/.git",
        ] {
            fs::create_dir_all(d.join(dir)).unwrap();
        }
        for file in [
            ".git/HEAD",
            ".dozen/FORMAT",
            "src/app.py",
            "node_modules/x/i.js",
            "build/out",
            ".env.example",
            "Procfile",
            "sub/keep",
            "sub/drop.log",
            "sub/.git/config",
            "secret.key",
        ] {
            fs::write(d.join(file), b"x").unwrap();
        }
        fs::write(d.join(".gitignore"), "node_modules/\n/build\n*.log\n").unwrap();
        fs::write(d.join(".dozenignore"), "secret.key\n").unwrap();
        std::os::unix::fs::symlink("src/app.py", d.join("link")).unwrap();
        let paths: Vec<String> = walk(d, &[]).unwrap().into_iter().map(|f| f.path).collect();
        assert_eq!(
            paths,
            [
                ".dozenignore",
                ".env.example",
                ".gitignore",
                "Procfile",
                "link",
                "src/app.py",
                "sub/keep"
            ]
        );
        let link = walk(d, &[])
            .unwrap()
            .into_iter()
            .find(|f| f.path == "link")
            .unwrap();
        assert_eq!(link.kind, SourceKind::Symlink("src/app.py".into()));
    }

    #[test]
    fn env_files_are_never_source_whatever_gitignore_says() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::create_dir_all(d.join("web/config")).unwrap();
        for file in [
            ".env",
            ".env.production",
            ".env.local",
            ".env.example",
            ".env.sample",
            "web/.env",
            "web/.env.test",
            "web/.env.template",
            "config/prod.env",
            ".envrc",
            "env.py",
            "Procfile",
        ] {
            let path = d.join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, b"SECRET=x").unwrap();
        }
        // Not ignored by git: the files are committed, as Heroku's samples do.
        fs::write(d.join(".gitignore"), "").unwrap();
        let paths: Vec<String> = walk(d, &["config/prod.env".to_owned()])
            .unwrap()
            .into_iter()
            .map(|f| f.path)
            .collect();
        assert_eq!(
            paths,
            [
                ".env.example",
                ".env.sample",
                ".envrc",
                ".gitignore",
                "Procfile",
                "env.py",
                "web/.env.template"
            ]
        );
        assert!(is_env_file(".env") && is_env_file(".env.staging"));
        assert!(!is_env_file(".env.") && !is_env_file(".env.dist") && !is_env_file("x.env"));
    }
}
