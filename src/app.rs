//! The app model every command starts from: Procfile, `.env` files per environment, and
//! `dozen.toml`, loaded and checked together.

pub mod concurrency;
pub mod cron;
pub mod duration;
pub mod env_edit;
pub mod env_file;
pub mod environment;
pub mod flags_section;
pub mod formation;
pub mod interpolation;
pub mod limits;
pub mod manifest;
pub mod name;
pub mod ports;
pub mod procfile;
pub mod profile_d;
pub mod schedule;
pub mod signal;
pub mod strategy;
pub mod tools;

use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Severity};
use crate::source::Source;
use env_file::EnvFile;
use environment::{Config, EnvFileRef, Inherited, Origin};
use manifest::Manifest;
use procfile::Procfile;

/// The problem reported when there is no Procfile at all: an error for `check` and for
/// commands that need process types, not for those that only read config.
pub const MISSING_PROCFILE: &str = "no Procfile found";

/// Where the app is and how to name its files to the user.
#[derive(Debug, Clone)]
pub struct AppDir {
    pub path: PathBuf,
    /// Prefix for paths in messages: empty for the current directory, else the directory as
    /// the user gave it, with a trailing `/`.
    display_prefix: String,
}

impl AppDir {
    pub fn new(path: PathBuf) -> Self {
        let display_prefix = if path.as_os_str().is_empty() || path == Path::new(".") {
            String::new()
        } else {
            format!("{}/", path.display().to_string().trim_end_matches('/'))
        };
        Self {
            path,
            display_prefix,
        }
    }

    /// The directory to run in or read from: `.` when it is the current one (an empty path
    /// is no working directory for a child process).
    pub fn working_dir(&self) -> PathBuf {
        if self.path.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            self.path.clone()
        }
    }

    pub fn join(&self, relative: &str) -> PathBuf {
        self.path.join(relative)
    }

    /// The directory as shown in messages (`.` for the current one).
    pub fn shown(&self) -> String {
        if self.display_prefix.is_empty() {
            ".".to_owned()
        } else {
            self.display_prefix.trim_end_matches('/').to_owned()
        }
    }

    /// A file of the app as shown in messages.
    pub fn display(&self, relative: &str) -> String {
        format!("{}{relative}", self.display_prefix)
    }
}

/// Where to find the app: `--app`, `-f/--procfile`, `-e/--env-file`.
#[derive(Debug, Clone, Default)]
pub struct Locator {
    pub app: Option<PathBuf>,
    pub procfile: Option<PathBuf>,
    /// Env files named on the command line, replacing every environment's stack (as `-e`
    /// does in foreman and honcho). Relative to the current directory.
    pub env_files: Option<Vec<PathBuf>>,
}

impl Locator {
    /// The app directory: `--app`, else the `-f` Procfile's directory (as foreman and honcho
    /// do), else the current directory.
    pub fn app_dir(&self) -> AppDir {
        let path = match (&self.app, &self.procfile) {
            (Some(app), _) => app.clone(),
            (None, Some(procfile)) => procfile.parent().map(Path::to_path_buf).unwrap_or_default(),
            (None, None) => PathBuf::new(),
        };
        AppDir::new(path)
    }
}

#[derive(Debug)]
pub struct App {
    pub dir: AppDir,
    pub name: String,
    pub procfile_display: String,
    /// Where the Procfile is read from (`-f`, else the app directory's).
    pub procfile_path: PathBuf,
    /// `None` when the Procfile is missing or unreadable (an error has been reported).
    pub procfile: Option<Procfile>,
    pub manifest: Manifest,
    pub manifest_source: Option<Source>,
    env_files: Option<Vec<PathBuf>>,
}

/// The largest Procfile, `dozen.toml` or env file dozen reads (16 MiB): more is a mistake
/// (a log, a sparse file), not config, and reading it whole would cost its size in memory.
pub const MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;

/// Reads a file of the app: `Ok(None)` when it does not exist, `Err(())` when it exists but
/// cannot be read (the problem is pushed, once). Only regular files, or symbolic links to one, up to
/// [`MAX_FILE_SIZE`]: a directory, a FIFO (reading would wait forever), a device
/// (`/dev/zero` never ends) or a broken link is an error naming the file.
fn read(path: &Path, display: &str, problems: &mut Vec<Diagnostic>) -> Result<Option<Vec<u8>>, ()> {
    let mut fail = |message: String| {
        problems.push(Diagnostic::general(
            Severity::Error,
            Some(display.to_owned()),
            message,
        ));
        Err(())
    };
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return if std::fs::symlink_metadata(path).is_ok() {
                fail("a symbolic link to a file that does not exist".to_owned())
            } else {
                Ok(None)
            };
        }
        Err(error) => return fail(format!("cannot read: {error}")),
    };
    if !metadata.is_file() {
        let kind = if metadata.is_dir() {
            "a directory"
        } else {
            "not a regular file (a FIFO, a socket or a device)"
        };
        return fail(format!("{kind}: dozen reads only regular files"));
    }
    if metadata.len() > MAX_FILE_SIZE {
        return fail(format!(
            "{} bytes: dozen reads files of at most {MAX_FILE_SIZE} bytes (16 MiB)",
            metadata.len()
        ));
    }
    let mut bytes = Vec::new();
    match std::fs::File::open(path).and_then(|file| {
        std::io::Read::read_to_end(
            &mut std::io::Read::take(file, MAX_FILE_SIZE + 1),
            &mut bytes,
        )
    }) {
        Ok(_) if bytes.len() as u64 > MAX_FILE_SIZE => fail(format!(
            "it grew past {MAX_FILE_SIZE} bytes while being read"
        )),
        Ok(_) => Ok(Some(bytes)),
        Err(error) => fail(format!("cannot read: {error}")),
    }
}

/// Decodes a file as UTF-8, reporting where it is not.
fn decode(display: &str, bytes: &[u8], problems: &mut Vec<Diagnostic>) -> Option<Source> {
    match Source::from_bytes(display, bytes) {
        Ok(source) => Some(source),
        Err(location) => {
            problems.push(Diagnostic::error(location, "not valid UTF-8"));
            None
        }
    }
}

impl App {
    /// Loads the Procfile and manifest, with every problem found in them.
    pub fn load(locator: &Locator) -> (Self, Vec<Diagnostic>) {
        let dir = locator.app_dir();
        let mut problems = Vec::new();
        let (procfile_path, procfile_display) = match &locator.procfile {
            Some(path) => (path.clone(), path.display().to_string()),
            None => (dir.join("Procfile"), dir.display("Procfile")),
        };
        let procfile = if let Ok(Some(bytes)) =
            read(&procfile_path, &procfile_display, &mut problems)
        {
            decode(&procfile_display, &bytes, &mut problems).map(|source| {
                let (procfile, found) = Procfile::parse(&source);
                problems.extend(found);
                procfile
            })
        } else {
            if problems.is_empty() {
                problems.push(
                    Diagnostic::general(Severity::Error, Some(procfile_display.clone()), MISSING_PROCFILE)
                        .note("write one (`web: command`), run `dozen init`, or name another with `-f PATH`"),
                );
            }
            None
        };
        let manifest_display = dir.display(manifest::FILE_NAME);
        let mut manifest = Manifest::default();
        let mut manifest_source = None;
        if let Ok(Some(bytes)) = read(
            &dir.join(manifest::FILE_NAME),
            &manifest_display,
            &mut problems,
        ) {
            if let Some(source) = decode(&manifest_display, &bytes, &mut problems) {
                match Manifest::parse(&source) {
                    Ok(parsed) => {
                        problems.extend(parsed.validate(&source, procfile.as_ref()));
                        problems.extend(tools::check(&parsed.requires.tools, &source));
                        manifest = parsed;
                    }
                    Err(problem) => problems.push(problem),
                }
                manifest_source = Some(source);
            }
        }
        let name = manifest
            .app
            .name
            .as_ref()
            .map_or_else(|| default_name(&dir.working_dir()), |n| n.get_ref().clone());
        let app = Self {
            dir,
            name,
            procfile_display,
            procfile_path,
            procfile,
            manifest,
            manifest_source,
            env_files: locator.env_files.clone(),
        };
        (app, problems)
    }

    /// The stack of env files for an environment: `-e` files, else the manifest's list, else
    /// `.env` then `.env.NAME`, each only if present.
    pub fn env_stack(&self, environment: &str) -> Vec<EnvFileRef> {
        if let Some(files) = &self.env_files {
            return files
                .iter()
                .map(|path| EnvFileRef {
                    path: path.clone(),
                    display: path.display().to_string(),
                    origin: Origin::Flag,
                })
                .collect();
        }
        if let (Some(files), Some(source)) = (
            self.manifest.environment_files(environment),
            &self.manifest_source,
        ) {
            // Files outside the app are an error of the manifest (`check` says so) and never read.
            return files
                .iter()
                .filter(|file| manifest::inside_the_app(file.get_ref()))
                .map(|file| EnvFileRef {
                    path: self.dir.join(file.get_ref()),
                    display: self.dir.display(file.get_ref()),
                    origin: Origin::Manifest(manifest::located(source, file.span())),
                })
                .collect();
        }
        // A default env file that is there as anything but a directory (`.env` is a common
        // name for a virtualenv) is read: a FIFO, a device or a dangling link is an error
        // `read` names, never silently no config (issue 31, finding 24).
        [".env".to_owned(), format!(".env.{environment}")]
            .into_iter()
            .filter(|name| {
                let path = self.dir.join(name);
                match std::fs::metadata(&path) {
                    Ok(metadata) => !metadata.is_dir(),
                    Err(_) => std::fs::symlink_metadata(&path).is_ok(),
                }
            })
            .map(|name| EnvFileRef {
                path: self.dir.join(&name),
                display: self.dir.display(&name),
                origin: Origin::Default,
            })
            .collect()
    }

    /// The file `config set`/`unset` edit for an environment: the last `-e` file, else the last
    /// file the manifest lists for it, else `.env.NAME` when an environment was named, else
    /// `.env`.
    pub fn env_file_to_edit(&self, environment: Option<&str>) -> EnvFileRef {
        let name = environment.unwrap_or(environment::DEFAULT);
        if let Some(last) = self
            .env_stack(name)
            .pop()
            .filter(|f| !matches!(f.origin, Origin::Default))
        {
            return last;
        }
        let file = environment.map_or_else(|| ".env".to_owned(), |name| format!(".env.{name}"));
        EnvFileRef {
            path: self.dir.join(&file),
            display: self.dir.display(&file),
            origin: Origin::Default,
        }
    }

    /// Every environment the app knows of: the default, the manifest's, and `.env.NAME` files.
    pub fn environments(&self) -> Vec<String> {
        let mut names = vec![environment::DEFAULT.to_owned()];
        names.extend(
            self.manifest
                .environments
                .keys()
                .map(|k| k.get_ref().clone()),
        );
        if let Ok(entries) = std::fs::read_dir(self.dir.join(".")) {
            let mut found: Vec<String> = entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter_map(|name| name.strip_prefix(".env.").map(str::to_owned))
                .filter(|name| environment::is_environment_suffix(name))
                .collect();
            found.sort();
            names.extend(found);
        }
        let mut unique = Vec::new();
        for name in names {
            if !unique.contains(&name) {
                unique.push(name);
            }
        }
        unique
    }
}

/// The files of one environment, parsed, with their problems.
pub fn read_env_files(stack: &[EnvFileRef]) -> (Vec<EnvFile>, Vec<Diagnostic>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for file in stack {
        match read(&file.path, &file.display, &mut problems) {
            Err(()) => {}
            Ok(Some(bytes)) => {
                let before = problems.len();
                let decoded = decode(&file.display, &bytes, &mut problems);
                // A line that is not UTF-8 is shown masked like any env-file line.
                for problem in &mut problems[before..] {
                    problem.mask_excerpt(crate::source::mask_env_line);
                }
                if let Some(source) = decoded {
                    let (parsed, found) = EnvFile::parse(source);
                    problems.extend(found);
                    files.push(parsed);
                }
            }
            Ok(None) => match &file.origin {
                Origin::Default => {}
                Origin::Manifest(location) => problems.push(Diagnostic::error(
                    location.clone(),
                    format!("env file `{}` does not exist", file.display),
                )),
                Origin::Flag => problems.push(Diagnostic::general(
                    Severity::Error,
                    Some(file.display.clone()),
                    "env file given with -e/--env-file does not exist",
                )),
            },
        }
    }
    (files, problems)
}

/// An environment, fully read: its files and its resolved config.
#[derive(Debug)]
pub struct ResolvedEnvironment {
    pub name: String,
    pub files: Vec<EnvFile>,
    pub config: Config,
}

impl App {
    pub fn resolve(
        &self,
        environment: &str,
        inherited: &Inherited,
    ) -> (ResolvedEnvironment, Vec<Diagnostic>) {
        let (files, mut problems) = read_env_files(&self.env_stack(environment));
        let (config, found) = Config::resolve(&files, inherited);
        problems.extend(found);
        (
            ResolvedEnvironment {
                name: environment.to_owned(),
                files,
                config,
            },
            problems,
        )
    }
}

/// The app's name when `[app] name` does not give one: the app directory's real name (after
/// resolving `.`, `..` and symlinks, so every spelling of the path gives the same name), in
/// lower case with anything outside `[a-z0-9_-]` as `-`.
pub fn default_name(dir: &Path) -> String {
    let absolute = std::fs::canonicalize(dir)
        .or_else(|_| std::path::absolute(dir))
        .unwrap_or_else(|_| dir.to_path_buf());
    let raw = absolute
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    // `.tmpab12` or `my app!` do not start or end a name with `-`.
    let name = name.trim_matches('-');
    if name.is_empty() {
        "app".to_owned()
    } else {
        name.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_name_is_the_real_directory_name_however_it_is_spelled() {
        let root = tempfile::tempdir().unwrap();
        let app = root.path().join("My Shop.v2");
        std::fs::create_dir(&app).unwrap();
        std::fs::create_dir(root.path().join("other")).unwrap();
        std::os::unix::fs::symlink(&app, root.path().join("link")).unwrap();
        let spellings = [
            app.clone(),
            app.join("."),
            root.path().join("other/../My Shop.v2"),
            root.path().join("link"),
        ];
        for spelling in spellings {
            assert_eq!(
                default_name(&spelling),
                "my-shop-v2",
                "{}",
                spelling.display()
            );
        }
        let hidden = root.path().join(".tmp ab!");
        std::fs::create_dir(&hidden).unwrap();
        assert_eq!(
            default_name(&hidden),
            "tmp-ab",
            "no leading or trailing `-`"
        );
        // The current directory: its real name, never a placeholder.
        let here = std::env::current_dir().unwrap();
        let expected = default_name(&here);
        assert_eq!(default_name(Path::new(".")), expected);
        assert_ne!(expected, "app");
    }
}
