//! What goes wrong reading a base, making an image, writing it out or talking to a registry
//! (docs/image.md): the image subsystem's one error type. Each says itself as the message
//! the command prints; `commands/image.rs` decides whether it is the user's (a usage error)
//! or a failure.
//!
//! (Not re-exported from `image.rs`: this names `layer` and `check`, which use `image.rs`.)

use std::path::{Path, PathBuf};

use super::check::Problem;
use super::layer;
use super::oci::Platform;
use crate::http;

/// Why the image subsystem could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not `[REGISTRY/]REPOSITORY[:TAG][@DIGEST]` (the text as given).
    #[error("`{0}` is not an image reference (REGISTRY/REPOSITORY:TAG)")]
    InvalidReference(String),
    /// A base that is none of the kinds dozen reads (the text as given).
    #[error(
        "unknown base `{0}`: give an image reference (debian:12-slim, ghcr.io/org/base:1), oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker-archive:FILE"
    )]
    UnknownBase(String),

    /// An I/O error and what it was about: a file's path, a registry's host, `blob sha256:…`,
    /// `layer sha256:…`.
    #[error("{context}: {source}")]
    IoAt {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// An I/O error said as the system says it, nothing before it: in the blob store, the
    /// layer cache and the scratch directories beside them or beside `--out`/`--archive`,
    /// and writing a request to a token service or a blob's redirect.
    #[error("{0}")]
    Io(#[source] std::io::Error),
    /// A finished temporary file could not take its place: an app layer in the blob store
    /// (no path said), an `--archive` (its path).
    #[error("{}failed to persist temporary file: {source}", at(.path.as_deref()))]
    Persist {
        path: Option<PathBuf>,
        #[source]
        source: std::io::Error,
    },
    /// The app's tree cannot be a layer.
    #[error(transparent)]
    Layer(#[from] layer::Error),
    /// A connection to a registry, a token service or a blob's redirect failed, or its
    /// answer was not HTTP.
    #[error(transparent)]
    Http(#[from] http::Error),

    /// A registry answered a request with a status other than its success: the registry,
    /// what was asked, the status, and its own words (the start of the answer's body; empty
    /// when it gave none).
    #[error("{registry}: {what}: HTTP {status}{}", with_words(.said))]
    Refused {
        registry: String,
        what: String,
        status: u16,
        said: String,
    },
    /// A registry answered 401 with no `WWW-Authenticate` to say how to authenticate.
    #[error("{registry} answered 401 without a challenge")]
    NoChallenge { registry: String },
    /// A registry wants Basic credentials and Docker's configuration has none for it.
    #[error("{registry} needs credentials (docker login, or DOCKER_CONFIG)")]
    NeedsCredentials { registry: String },
    /// A challenge of a scheme other than Basic or Bearer (the scheme).
    #[error("unsupported authentication `{0}`")]
    UnsupportedAuthentication(String),
    /// A Bearer challenge that does not say where tokens come from.
    #[error("a Bearer challenge without a realm")]
    NoRealm,
    /// The token service refused (its HTTP status).
    #[error("the token service answered HTTP {0}")]
    TokenRefused(u16),
    /// The token service's answer had neither `token` nor `access_token`.
    #[error("the token service gave no token")]
    NoToken,
    /// A redirect or a started upload without the `Location` to go on to (`a redirect`,
    /// `an upload`).
    #[error("{0} without a location")]
    NoLocation(&'static str),
    /// An upload's location that is neither a path nor a URL.
    #[error("an upload location `{0}` that is not a URL")]
    UploadNotUrl(String),
    /// An upload's location on another host than the registry's (that authority): the blob
    /// is not sent there.
    #[error("the registry sent the upload to another host, {0}")]
    OtherHost(String),
    /// A URL to fetch (a token realm, a blob's redirect) that is not one.
    #[error("`{0}` is not a URL")]
    NotUrl(String),
    /// A URL of a scheme other than `http` and `https` (the scheme).
    #[error("unsupported scheme `{0}`")]
    UnsupportedScheme(String),
    /// A URL whose port is not a port number.
    #[error("a bad port")]
    BadPort,

    /// A digest of an algorithm other than `sha256`, or not in its form.
    #[error("unsupported digest {0}")]
    UnsupportedDigest(String),
    /// A manifest asked for by digest whose bytes have another.
    #[error("the manifest {0} does not match its digest")]
    ManifestMismatch(String),
    /// An answer that crossed a bound (its size, its time): the registry, what was asked.
    #[error("{registry}: {what}: {source}")]
    Answer {
        registry: String,
        what: String,
        #[source]
        source: http::Error,
    },
    /// A blob whose body was longer than its descriptor says (it is not kept).
    #[error("blob {digest} is longer than its descriptor's {size} bytes")]
    BlobTooLong { digest: String, size: u64 },
    /// A token service dozen did not send the registry's credentials to refused a token
    /// without them: the registry, the realm, why they were withheld, its status.
    #[error(
        "{registry}: the token service {realm} answered HTTP {status}; the credentials for {registry} were not sent to it: {why}"
    )]
    CredentialsWithheld {
        registry: String,
        realm: String,
        why: &'static str,
        status: u16,
    },
    /// A blob whose bytes (or size) are not the descriptor's: the digest expected, the
    /// digest that arrived.
    #[error("blob {expected} arrived as {arrived}")]
    BlobMismatch { expected: String, arrived: String },
    /// A document that is not the JSON it should be: which (`the manifest`, `the index
    /// sha256:…`, `a bad descriptor`, a file's path, `the token service`), and why.
    #[error("{what}: {source}")]
    Malformed {
        what: String,
        #[source]
        source: serde_json::Error,
    },

    /// An image layout's `index.json` (its path) lists no manifests.
    #[error("{0}: no manifests")]
    NoManifests(PathBuf),
    /// An image layout (its directory) with no image of the tag asked for.
    #[error("{dir} has no image tagged `{tag}`")]
    NoSuchTag { dir: PathBuf, tag: String },
    /// An index without an image for the platform: the platforms it has.
    #[error(
        "the base has no image for {}/{} (it has {})",
        .platform.os,
        .platform.architecture,
        .offered.join(", ")
    )]
    NoPlatform {
        platform: Platform,
        offered: Vec<String>,
    },
    /// The base's top manifest is not an image manifest (its media type).
    #[error("the base's manifest has media type {0}, not an image manifest")]
    NotAManifest(String),
    /// A base's layer of a media type dozen does not read.
    #[error("the base's layer {digest} is {media_type}: dozen reads gzip and plain tar layers")]
    UnsupportedLayer { digest: String, media_type: String },
    /// A `docker save` tarball of several images (how many).
    #[error("{file} holds {count} images: save one")]
    SeveralImages { file: PathBuf, count: usize },
    /// A `docker save` tarball whose `manifest.json` lists no image.
    #[error("{0}: no image in manifest.json")]
    NoImage(PathBuf),
    /// A `docker save` tarball's `manifest.json` names its config or a layer by no string.
    #[error("manifest.json names no file")]
    NoFileNamed,
    /// A `docker save` tarball's `manifest.json` names a file outside it (the name).
    #[error("manifest.json names `{0}` outside the archive")]
    NamedOutside(String),
    /// A `docker save` tarball's config is not JSON.
    #[error("{0}")]
    ArchiveConfig(#[source] serde_json::Error),
    /// A `docker save` tarball of an image for another platform.
    #[error(
        "{file} is an image for {}/{}, not {}/{}",
        .found.os,
        .found.architecture,
        .wanted.os,
        .wanted.architecture
    )]
    WrongPlatform {
        file: PathBuf,
        found: Platform,
        wanted: Platform,
    },

    /// Files of the app layer that point (by `#!`, symlink or ELF interpreter) at nothing in
    /// the image.
    #[error("{}", outside(.0))]
    OutsideImage(Vec<Problem>),
    /// The image has no shell to run its command with: the shell, the command.
    #[error(
        "the image has no {shell} for its command (`{shell} -c {command}`): the base must have a shell"
    )]
    NoShell {
        shell: &'static str,
        command: String,
    },
    /// Programs the process types run that are not on the image's `PATH` (each as "web runs"
    /// and the program), and that `PATH`.
    #[error(
        "not in the image: {} (its PATH, .profile.d's additions included: {path}); use a base that has {}",
        .missing.join(", "),
        if .missing.len() == 1 { "it" } else { "them" }
    )]
    NotInImage { missing: Vec<String>, path: String },
    /// `--out` names something that is not a directory.
    #[error("{0} exists and is not a directory")]
    NotADirectory(PathBuf),
    /// `--out` names a directory of other files than an image layout: it is not replaced.
    #[error(
        "{0} holds other files and is not an image layout: not replacing it (give a new or empty directory)"
    )]
    NotReplacing(PathBuf),
    /// `--archive` names a file that is not an OCI archive: it is not replaced.
    #[error("{0} exists and is not an OCI archive: not replacing it (give a new file name)")]
    NotReplacingArchive(PathBuf),
}

impl Error {
    /// An I/O error about `context` (a path, a host, a blob).
    pub fn io_at(context: impl std::fmt::Display) -> impl Fn(std::io::Error) -> Self {
        move |source| Self::IoAt {
            context: context.to_string(),
            source,
        }
    }

    /// A document that is not JSON, `what` saying which.
    pub fn malformed(what: impl std::fmt::Display) -> impl Fn(serde_json::Error) -> Self {
        move |source| Self::Malformed {
            what: what.to_string(),
            source,
        }
    }
}

/// `PATH: ` before a message, when there is a path.
fn at(path: Option<&Path>) -> String {
    path.map(|p| format!("{}: ", p.display()))
        .unwrap_or_default()
}

/// `: ` and a registry's words, when it said some.
fn with_words(words: &str) -> String {
    if words.is_empty() {
        String::new()
    } else {
        format!(": {words}")
    }
}

/// `2 files in the app layer point outside the image:` and each, on a line of its own.
fn outside(problems: &[Problem]) -> String {
    use std::fmt::Write as _;
    let mut message = if problems.len() == 1 {
        "1 file in the app layer points outside the image:".to_owned()
    } else {
        format!(
            "{} files in the app layer point outside the image:",
            problems.len()
        )
    };
    for problem in problems {
        let _ = write!(message, "\n  {problem}");
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn says(error: &Error, message: &str) {
        assert_eq!(error.to_string(), message);
    }

    fn platform(os: &str, architecture: &str) -> Platform {
        Platform {
            os: os.into(),
            architecture: architecture.into(),
            variant: None,
        }
    }

    /// The messages are the ones the strings they replaced said: a registry's refusal, the
    /// I/O errors.
    #[test]
    fn refusals_and_io_read_as_before() {
        let refused = |what: &str, status, said: &str| Error::Refused {
            registry: "ghcr.io".into(),
            what: what.into(),
            status,
            said: said.into(),
        };
        says(
            &refused("org/app:v2", 404, ""),
            "ghcr.io: org/app:v2: HTTP 404",
        );
        says(
            &refused("the manifest", 400, "{\"errors\":[]}"),
            "ghcr.io: the manifest: HTTP 400: {\"errors\":[]}",
        );
        let full = || std::io::Error::other("disk full");
        says(
            &Error::Persist {
                path: None,
                source: full(),
            },
            "failed to persist temporary file: disk full",
        );
        says(
            &Error::Persist {
                path: Some("out/app.tar".into()),
                source: full(),
            },
            "out/app.tar: failed to persist temporary file: disk full",
        );
        says(
            &Error::io_at("blob sha256:ab")(full()),
            "blob sha256:ab: disk full",
        );
        says(&Error::Io(full()), "disk full");
    }

    /// And a base's and the made image's problems.
    #[test]
    fn bases_and_images_read_as_before() {
        says(
            &Error::NoPlatform {
                platform: platform("linux", "s390x"),
                offered: vec!["linux/amd64".into(), "linux/arm64".into()],
            },
            "the base has no image for linux/s390x (it has linux/amd64, linux/arm64)",
        );
        says(
            &Error::WrongPlatform {
                file: "base.tar".into(),
                found: platform("linux", "amd64"),
                wanted: platform("linux", "arm64"),
            },
            "base.tar is an image for linux/amd64, not linux/arm64",
        );
        says(
            &Error::NoSuchTag {
                dir: "base".into(),
                tag: "v2".into(),
            },
            "base has no image tagged `v2`",
        );
        says(
            &Error::NoShell {
                shell: "/bin/sh",
                command: "exec web".into(),
            },
            "the image has no /bin/sh for its command (`/bin/sh -c exec web`): the base must have a shell",
        );
        let not_in = |missing: &[&str]| Error::NotInImage {
            missing: missing.iter().map(|m| (*m).to_owned()).collect(),
            path: "/usr/bin:/bin".into(),
        };
        says(
            &not_in(&["web runs `gunicorn`"]),
            "not in the image: web runs `gunicorn` (its PATH, .profile.d's additions included: /usr/bin:/bin); use a base that has it",
        );
        says(
            &not_in(&["web runs `a`", "worker runs `b`"]),
            "not in the image: web runs `a`, worker runs `b` (its PATH, .profile.d's additions included: /usr/bin:/bin); use a base that has them",
        );
        let problem = |path: &str, points_at: &str| Problem {
            path: path.into(),
            points_at: points_at.into(),
        };
        says(
            &Error::OutsideImage(vec![problem("app/bin/x", "-> /opt/x")]),
            "1 file in the app layer points outside the image:\n  app/bin/x -> /opt/x (not in the image)",
        );
        says(
            &Error::OutsideImage(vec![problem("app/a", "-> /a"), problem("app/b", "-> /b")]),
            "2 files in the app layer point outside the image:\n  app/a -> /a (not in the image)\n  app/b -> /b (not in the image)",
        );
    }
}
