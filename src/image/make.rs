//! Making the image of a release: the base resolved, the app layer written (or reused), the
//! interpreters checked, the config and manifest made, then written out or pushed
//! (docs/image.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::base::{self, Base, Source};
use super::error::Error;
use super::layer;
use super::oci::{self, Blobs, Descriptor, Platform, RunConfig};
use super::registry::{Reference, Registry};

/// What an image is made of.
pub struct Request<'a> {
    /// The app's store (`.dozen`).
    pub store: &'a Path,
    pub version: u32,
    pub build: &'a str,
    /// The release's build tree.
    pub tree: &'a Path,
    /// `Cmd`'s command (`sh -c`).
    pub command: String,
    /// Every process type's command, by type name: their programs must be in the image.
    pub programs: Vec<(String, String)>,
    /// The build's non-secret environment (`[build] env`).
    pub env: Vec<(String, String)>,
    pub base: Option<String>,
    pub workdir: String,
    pub user: Option<String>,
    pub platform: Platform,
    /// RFC 3339: the config's `created` and every layer entry's time.
    pub created: jiff::Timestamp,
    pub annotations: BTreeMap<String, String>,
}

/// A made image, its blobs in the store's blob cache.
pub struct Made {
    pub manifest: Descriptor,
    pub config: Descriptor,
    /// The base's layers, then the app's.
    pub layers: Vec<Descriptor>,
    /// The app layer was in the cache (its files not read).
    pub reused: bool,
    pub base: Option<(String, Base)>,
    pub blobs: Blobs,
}

/// The layer cache's record.
#[derive(Debug, Serialize, Deserialize)]
struct Cached {
    digest: String,
    diff_id: String,
    size: u64,
}

/// What runs the command: Procfile commands are shell command lines.
const SHELL: &str = "/bin/sh";

/// A change here changes every layer: cached layers of another format are not reused.
const LAYER_FORMAT: &str = "dozen-layer-1";

pub fn make(request: &Request<'_>) -> Result<Made, Error> {
    let images = request.store.join("images");
    let blobs = Blobs::new(images.join("blobs"));
    let base = match &request.base {
        Some(text) => {
            let source = Source::parse(text)?;
            Some((
                text.clone(),
                base::load(&source, &request.platform, &blobs)?,
            ))
        }
        None => None,
    };
    let (uid, gid) = numeric_owner(request.user.as_deref());
    let settings = layer::Settings {
        prefix: request.workdir.trim_start_matches('/').to_owned(),
        uid,
        gid,
        mtime: u64::try_from(request.created.as_second()).unwrap_or(0),
    };

    runnable(request, &settings, base.as_ref().map(|(_, b)| b), &blobs)?;

    let (app_layer, diff_id, reused) = app_layer(request, &settings, &blobs, &images)?;
    let mut layers: Vec<Descriptor> = base
        .as_ref()
        .map(|(_, b)| b.layers.clone())
        .unwrap_or_default();
    layers.push(app_layer);

    let mut env = request.env.clone();
    if !env.iter().any(|(k, _)| k == "PORT") {
        env.push(("PORT".into(), "5000".into()));
    }
    let port = env
        .iter()
        .find(|(k, _)| k == "PORT")
        .and_then(|(_, v)| v.parse().ok());
    let run = RunConfig {
        env,
        working_dir: request.workdir.clone(),
        cmd: vec![SHELL.into(), "-c".into(), request.command.clone()],
        user: request.user.clone(),
        exposed_port: port,
        labels: BTreeMap::new(),
    };
    let created = request.created.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let config = oci::image_config(
        base.as_ref().map(|(_, b)| &b.config),
        &base
            .as_ref()
            .map_or_else(|| request.platform.clone(), |(_, b)| b.platform.clone()),
        &diff_id,
        &run,
        &created,
        &format!("dozen image v{} (build {})", request.version, request.build),
    );
    let config = blobs
        .put(oci::CONFIG, &oci::canonical(&config))
        .map_err(Error::Io)?;
    let mut annotations = request.annotations.clone();
    if let Some((name, b)) = &base {
        annotations.extend(base::annotations(b, name));
    }
    let manifest = oci::manifest(&config, &layers, &annotations);
    let manifest = blobs
        .put(oci::MANIFEST, &oci::canonical(&manifest))
        .map_err(Error::Io)?;
    Ok(Made {
        manifest,
        config,
        layers,
        reused,
        base,
        blobs,
    })
}

/// The checks before anything is written: the app layer's interpreters and links resolve
/// against the base's files, and the base has the shell that runs the command.
fn runnable(
    request: &Request<'_>,
    settings: &layer::Settings,
    base: Option<&Base>,
    blobs: &Blobs,
) -> Result<(), Error> {
    // The interpreters and links of the app layer, against the base's files.
    let entries = layer::entries(request.tree, &settings.prefix)?;
    let base_tree = match base {
        Some(base) => base::tree(base, blobs)?,
        None => super::check::Tree::default(),
    };
    let problems = super::check::check(&base_tree, &entries).map_err(Error::Io)?;
    if !problems.is_empty() {
        return Err(Error::OutsideImage(problems));
    }
    let image = super::check::with_app(&base_tree, &entries);
    drop(entries);
    // The command runs through the image's shell.
    let has_shell = base_tree
        .resolve("", SHELL)
        .is_some_and(|p| base_tree.is_file(&p));
    if !has_shell {
        return Err(Error::NoShell {
            shell: SHELL,
            command: request.command.clone(),
        });
    }
    // And every process type's programs are on its PATH, after `.profile.d`.
    let path = image_path(request, base);
    let missing: Vec<String> = request
        .programs
        .iter()
        .flat_map(|(name, command)| {
            super::check::programs(command)
                .into_iter()
                .filter(|p| !super::check::resolves(&image, p, &path, &request.workdir))
                .map(move |p| format!("{name} runs `{p}`"))
        })
        .collect();
    if !missing.is_empty() {
        return Err(Error::NotInImage { missing, path });
    }
    Ok(())
}

/// The `PATH` a process of the image starts with: the build's, else the base's, else the
/// runtimes' default; then what the tree's `.profile.d` scripts add.
fn image_path(request: &Request<'_>, base: Option<&Base>) -> String {
    let from_base = base.and_then(|b| {
        b.config["config"]["Env"]
            .as_array()?
            .iter()
            .filter_map(serde_json::Value::as_str)
            .find_map(|e| e.strip_prefix("PATH=").map(str::to_owned))
    });
    let mut path = request
        .env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .or(from_base)
        .unwrap_or_else(|| super::oci::DEFAULT_PATH.to_owned());
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(request.tree.join(".profile.d"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .collect();
    scripts.sort();
    for script in scripts {
        // A few lines each: read at most 64 KiB of one.
        let mut text = String::new();
        if let Ok(file) = std::fs::File::open(&script) {
            let _ =
                std::io::Read::read_to_string(&mut std::io::Read::take(file, 64 * 1024), &mut text);
        }
        path = super::check::profile_path(&text, &request.workdir, &path);
    }
    path
}

/// `UID[:GID]` as numbers for the layer's entries; a name (resolved by the runtime in the
/// image's `/etc/passwd`) leaves them root's.
fn numeric_owner(user: Option<&str>) -> (u32, u32) {
    let Some(user) = user else { return (0, 0) };
    let (uid, gid) = user.split_once(':').unwrap_or((user, user));
    match (uid.parse(), gid.parse()) {
        (Ok(uid), Ok(gid)) => (uid, gid),
        (Ok(uid), Err(_)) => (uid, 0),
        _ => (0, 0),
    }
}

/// The app layer: from the cache when the same build was laid out the same way before.
fn app_layer(
    request: &Request<'_>,
    settings: &layer::Settings,
    blobs: &Blobs,
    images: &Path,
) -> Result<(Descriptor, String, bool), Error> {
    let key = blake3::hash(
        format!(
            "{LAYER_FORMAT}\n{}\n{}\n{}:{}\n{}",
            request.build, settings.prefix, settings.uid, settings.gid, settings.mtime
        )
        .as_bytes(),
    )
    .to_hex();
    let record = images.join("layers").join(format!("{}.json", &key[..32]));
    if let Ok(bytes) = std::fs::read(&record)
        && let Ok(cached) = serde_json::from_slice::<Cached>(&bytes)
        && blobs.path(&cached.digest).is_some_and(|p| p.exists())
    {
        let descriptor = descriptor(cached.digest, cached.size);
        return Ok((descriptor, cached.diff_id, true));
    }
    std::fs::create_dir_all(images.join("blobs/sha256")).map_err(Error::Io)?;
    let temp = tempfile::NamedTempFile::new_in(images.join("blobs/sha256")).map_err(Error::Io)?;
    let written = layer::write(
        request.tree,
        settings,
        std::io::BufWriter::with_capacity(1 << 20, temp.as_file()),
    )?;
    let path = blobs.path(&written.digest).expect("a sha256 digest");
    temp.persist(&path).map_err(|e| Error::Persist {
        path: None,
        source: e.error,
    })?;
    let cached = Cached {
        digest: written.digest.clone(),
        diff_id: written.diff_id.clone(),
        size: written.size,
    };
    std::fs::create_dir_all(images.join("layers")).map_err(Error::Io)?;
    crate::fsutil::write_atomic(
        &record,
        &serde_json::to_vec(&cached).expect("serializable"),
        0o644,
    )
    .map_err(Error::Io)?;
    Ok((
        descriptor(written.digest, written.size),
        written.diff_id,
        false,
    ))
}

fn descriptor(digest: String, size: u64) -> Descriptor {
    Descriptor {
        media_type: oci::LAYER_GZIP.into(),
        digest,
        size,
        annotations: BTreeMap::new(),
        platform: None,
    }
}

/// Whether `--out DIR` may be (re)written: missing, empty, or an image layout (a previous
/// `dozen image`'s); never a directory of other files (`--out .` must not replace the app).
fn replaceable(dir: &Path) -> Result<(), Error> {
    let io = Error::io_at(dir.display());
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(e)),
        Ok(meta) if !meta.is_dir() => Err(Error::NotADirectory(dir.to_owned())),
        Ok(_) => {
            let empty = std::fs::read_dir(dir).map_err(io)?.next().is_none();
            if empty || dir.join("oci-layout").is_file() {
                Ok(())
            } else {
                Err(Error::NotReplacing(dir.to_owned()))
            }
        }
    }
}

/// Whether `--archive FILE` may be written: missing, or an OCI archive (one dozen wrote, or
/// another tool), which is replaced whole; never another file.
fn is_oci_archive(file: &Path) -> Result<bool, Error> {
    let io = Error::io_at(file.display());
    let opened = match std::fs::File::open(file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(e) => return Err(io(e)),
        Ok(opened) => opened,
    };
    if !opened.metadata().map_err(&io)?.is_file() {
        return Ok(false);
    }
    // An `oci-layout` entry at its top, looked for by the entries' headers (the contents
    // between them skipped by seeking).
    let mut archive = tar::Archive::new(opened);
    let Ok(entries) = archive.entries_with_seek() else {
        return Ok(false);
    };
    Ok(entries.take(1_000_000).any(|entry| {
        entry.is_ok_and(|e| {
            e.path()
                .is_ok_and(|p| p.as_os_str() == "oci-layout" || p.as_os_str() == "./oci-layout")
        })
    }))
}

impl Made {
    fn all_blobs(&self) -> Vec<String> {
        self.layers
            .iter()
            .map(|l| l.digest.clone())
            .chain(std::iter::once(self.config.digest.clone()))
            .collect()
    }

    /// An OCI image layout at `dir`: a new one, or the image added to the layout there
    /// under `reference` (what else it holds is kept).
    pub fn write_layout(&self, dir: &Path, reference: &str) -> Result<(), Error> {
        replaceable(dir)?;
        std::fs::create_dir_all(dir).map_err(Error::io_at(dir.display()))?;
        oci::write_layout(
            dir,
            &self.blobs,
            &self.manifest,
            &self.all_blobs(),
            reference,
        )
        .map_err(Error::io_at(dir.display()))
    }

    /// An `oci-archive`: the layout as one tar, reproducible as a layer is.
    pub fn write_archive(&self, file: &Path, reference: &str) -> Result<(), Error> {
        if !is_oci_archive(file)? {
            return Err(Error::NotReplacingArchive(file.to_owned()));
        }
        let parent = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let layout = tempfile::Builder::new()
            .prefix(".dozen-image-")
            .tempdir_in(parent)
            .map_err(Error::io_at(parent.display()))?;
        let dir: PathBuf = layout.path().join("layout");
        oci::write_layout(
            &dir,
            &self.blobs,
            &self.manifest,
            &self.all_blobs(),
            reference,
        )
        .map_err(Error::Io)?;
        let out = tempfile::NamedTempFile::new_in(parent).map_err(Error::Io)?;
        let settings = layer::Settings {
            prefix: String::new(),
            uid: 0,
            gid: 0,
            mtime: 0,
        };
        layer::write_plain(&dir, &settings, std::io::BufWriter::new(out.as_file()))?;
        out.persist(file).map_err(|e| Error::Persist {
            path: Some(file.to_owned()),
            source: e.error,
        })?;
        Ok(())
    }

    /// Pushes to `reference` (its tag, else `fallback_tag`): the blobs the registry lacks,
    /// the base's mounted from its repository when it is on the same registry, the manifest
    /// last. Returns the bytes sent.
    pub fn push(&self, reference: &Reference, fallback_tag: &str) -> Result<u64, Error> {
        let mut session = Registry::new(reference)?;
        let mount_from = self.base.as_ref().and_then(|(name, _)| {
            let base = Reference::parse(name.strip_prefix("docker://").unwrap_or(name)).ok()?;
            (base.registry == reference.registry).then_some(base.repository)
        });
        let base_count = self.base.as_ref().map_or(0, |(_, b)| b.layers.len());
        for (i, layer) in self.layers.iter().enumerate() {
            let from = if i < base_count {
                mount_from.as_deref()
            } else {
                None
            };
            session.push_blob(layer, &self.blobs, from)?;
        }
        session.push_blob(&self.config, &self.blobs, None)?;
        let bytes = self.blobs.read(&self.manifest).map_err(Error::Io)?;
        let tag = reference.tag.as_deref().unwrap_or(fallback_tag);
        session.push_manifest(tag, oci::MANIFEST, &bytes)?;
        Ok(session.sent)
    }
}
