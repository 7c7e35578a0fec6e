//! OCI image documents (image spec 1.1): descriptors, the image config, the manifest, the
//! index and the image layout, written as canonical JSON (sorted keys, no whitespace) so the
//! same image always has the same digest (docs/image.md).

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";

/// A reference to content: what it is, its digest and size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// JSON with its object keys sorted and no whitespace: one text per value.
pub fn canonical(value: &Value) -> Vec<u8> {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let ordered: BTreeMap<&String, Value> =
                    map.iter().map(|(k, v)| (k, sorted(v))).collect();
                Value::Object(ordered.into_iter().map(|(k, v)| (k.clone(), v)).collect())
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_vec(&sorted(value)).expect("JSON values serialize")
}

/// `sha256:…` of some bytes.
pub fn digest_of(bytes: &[u8]) -> String {
    super::sha256_name(&Sha256::digest(bytes))
}

/// Where blobs live: `DIR/sha256/<hex>` (an image layout's `blobs/`, or dozen's cache).
#[derive(Debug, Clone)]
pub struct Blobs {
    dir: PathBuf,
}

impl Blobs {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn path(&self, digest: &str) -> Option<PathBuf> {
        let (algorithm, hex) = digest.split_once(':')?;
        let valid = algorithm == "sha256"
            && hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| self.dir.join(algorithm).join(hex))
    }

    /// Stores bytes under their digest (atomically; nothing when already there).
    pub fn put(&self, media_type: &str, bytes: &[u8]) -> std::io::Result<Descriptor> {
        let digest = digest_of(bytes);
        let path = self.path(&digest).expect("a sha256 digest");
        if !path.exists() {
            std::fs::create_dir_all(path.parent().expect("under sha256/"))?;
            crate::fsutil::write_atomic(&path, bytes, 0o644)?;
        }
        Ok(Descriptor {
            media_type: media_type.to_owned(),
            digest,
            size: bytes.len() as u64,
            annotations: BTreeMap::new(),
            platform: None,
        })
    }

    /// A small blob's bytes (a manifest, an index, a config: at most [`MAX_DOCUMENT`]),
    /// checked against its digest.
    pub fn read(&self, descriptor: &Descriptor) -> std::io::Result<Vec<u8>> {
        let path = self.checked_path(descriptor)?;
        if descriptor.size > MAX_DOCUMENT {
            return Err(std::io::Error::other(format!(
                "{} is {} bytes: a manifest, an index or a config is at most {MAX_DOCUMENT}",
                descriptor.digest, descriptor.size
            )));
        }
        let mut bytes = Vec::new();
        std::fs::File::open(&path)?
            .take(MAX_DOCUMENT + 1)
            .read_to_end(&mut bytes)?;
        if digest_of(&bytes) != descriptor.digest || bytes.len() as u64 != descriptor.size {
            return Err(mismatch(&path));
        }
        Ok(bytes)
    }

    fn checked_path(&self, descriptor: &Descriptor) -> std::io::Result<PathBuf> {
        self.path(&descriptor.digest).ok_or_else(|| {
            std::io::Error::other(format!("unsupported digest {}", descriptor.digest))
        })
    }

    /// Whether this store has the blob in a file of this user's: one it wrote (or copied)
    /// itself, after checking it. A file of another owner (a hard link from someone else's
    /// layout, as dozen once made) is not trusted.
    pub fn has_own(&self, digest: &str) -> bool {
        use std::os::unix::fs::MetadataExt as _;
        self.path(digest)
            .and_then(|p| std::fs::symlink_metadata(p).ok())
            .is_some_and(|m| m.is_file() && m.uid() == rustix::process::geteuid().as_raw())
    }

    /// Copies a blob of another store here, checked against its digest while it is copied
    /// (never linked: the other store's owner could change the file after the check). A
    /// blob this store already has as its own is kept.
    pub fn import(&self, other: &Self, descriptor: &Descriptor) -> std::io::Result<()> {
        let from = other.checked_path(descriptor)?;
        let to = self.checked_path(descriptor)?;
        if self.has_own(&descriptor.digest) {
            return Ok(());
        }
        let dir = to.parent().expect("under sha256/");
        std::fs::create_dir_all(dir)?;
        let temp = tempfile::Builder::new()
            .prefix(".partial-")
            .tempfile_in(dir)?;
        let mut hashing = super::Hashing::new(std::io::BufWriter::new(temp));
        let source = std::fs::File::open(&from)?;
        // One more byte than it should have, to see a longer file as one.
        std::io::copy(&mut source.take(descriptor.size + 1), &mut hashing)?;
        let (writer, digest, size) = hashing.finish();
        if digest != descriptor.digest || size != descriptor.size {
            return Err(mismatch(&from));
        }
        let temp = writer
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        temp.persist(&to).map_err(|e| e.error)?;
        Ok(())
    }

    /// Stores a file under its digest, hashed while it is copied (a layer of any size in
    /// constant memory).
    pub fn put_file(&self, media_type: &str, file: &Path) -> std::io::Result<Descriptor> {
        std::fs::create_dir_all(self.dir.join("sha256"))?;
        let temp = tempfile::Builder::new()
            .prefix(".partial-")
            .tempfile_in(self.dir.join("sha256"))?;
        let mut hashing = super::Hashing::new(std::io::BufWriter::new(temp));
        std::io::copy(&mut std::fs::File::open(file)?, &mut hashing)?;
        hashing.flush()?;
        let (writer, digest, size) = hashing.finish();
        let temp = writer
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        let path = self.path(&digest).expect("a sha256 digest");
        if !self.has_own(&digest) {
            temp.persist(&path).map_err(|e| e.error)?;
        }
        Ok(Descriptor {
            media_type: media_type.to_owned(),
            digest,
            size,
            annotations: BTreeMap::new(),
            platform: None,
        })
    }

    /// Puts a blob of another store of this user's here: a hard link when both are on one
    /// file system, else a copy.
    pub fn take_from(&self, other: &Self, digest: &str) -> std::io::Result<()> {
        let (Some(from), Some(to)) = (other.path(digest), self.path(digest)) else {
            return Err(std::io::Error::other(format!(
                "unsupported digest {digest}"
            )));
        };
        if to.exists() {
            return Ok(());
        }
        std::fs::create_dir_all(to.parent().expect("under sha256/"))?;
        if std::fs::hard_link(&from, &to).is_err() {
            let temp = to.with_extension("partial");
            std::fs::copy(&from, &temp)?;
            std::fs::rename(&temp, &to)?;
        }
        Ok(())
    }
}

/// The most bytes a manifest, an index or a config may have (containerd's limit for
/// manifests, and then some for configs with long histories).
pub const MAX_DOCUMENT: u64 = 4 << 20;

fn mismatch(path: &Path) -> std::io::Error {
    std::io::Error::other(format!("{} does not match its digest", path.display()))
}

/// What the image config says about running it.
#[derive(Debug, Clone, Default)]
pub struct RunConfig {
    pub env: Vec<(String, String)>,
    pub working_dir: String,
    pub cmd: Vec<String>,
    pub user: Option<String>,
    pub exposed_port: Option<u16>,
    pub labels: BTreeMap<String, String>,
}

/// The `PATH` of an image whose base sets none: Docker's and podman's default.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The image config: the base's (its `config`, `rootfs` and `history` kept), with the app
/// layer's `diff_id` appended and `config` changed as `run` says. `Env` keeps the base's
/// variables, a name given again replaced in place, and [`DEFAULT_PATH`] when nothing sets
/// `PATH`.
pub fn image_config(
    base: Option<&Value>,
    platform: &Platform,
    diff_id: &str,
    run: &RunConfig,
    created: &str,
    created_by: &str,
) -> Value {
    let mut config = base.cloned().unwrap_or_else(|| {
        serde_json::json!({
            "architecture": platform.architecture,
            "os": platform.os,
            "config": {},
            "rootfs": { "type": "layers", "diff_ids": [] },
            "history": [],
        })
    });
    let object = config
        .as_object_mut()
        .expect("an image config is an object");
    object.insert("created".into(), Value::from(created));
    let inner = object
        .entry("config")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    if !inner.is_object() {
        *inner = Value::Object(serde_json::Map::new());
    }
    let inner = inner.as_object_mut().expect("an object");
    let mut env: Vec<String> = inner
        .get("Env")
        .and_then(Value::as_array)
        .map(|e| {
            e.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    for (key, value) in &run.env {
        let line = format!("{key}={value}");
        match env
            .iter_mut()
            .find(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == key)
        {
            Some(existing) => *existing = line,
            None => env.push(line),
        }
    }
    // The PATH the image's programs were checked against, written down when the base sets
    // none: runtimes differ in what they give a process otherwise.
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.insert(0, format!("PATH={DEFAULT_PATH}"));
    }
    inner.insert("Env".into(), Value::from(env));
    inner.insert("WorkingDir".into(), Value::from(run.working_dir.clone()));
    inner.insert("Cmd".into(), Value::from(run.cmd.clone()));
    // The base's entrypoint would take the command as its arguments.
    inner.remove("Entrypoint");
    if let Some(user) = &run.user {
        inner.insert("User".into(), Value::from(user.clone()));
    }
    if let Some(port) = run.exposed_port {
        let ports = inner
            .entry("ExposedPorts")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Some(ports) = ports.as_object_mut() {
            ports.insert(format!("{port}/tcp"), serde_json::json!({}));
        }
    }
    if !run.labels.is_empty() {
        let labels = inner
            .entry("Labels")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Some(labels) = labels.as_object_mut() {
            for (key, value) in &run.labels {
                labels.insert(key.clone(), Value::from(value.clone()));
            }
        }
    }
    let rootfs = object
        .entry("rootfs")
        .or_insert_with(|| serde_json::json!({ "type": "layers", "diff_ids": [] }));
    if let Some(ids) = rootfs.get_mut("diff_ids").and_then(Value::as_array_mut) {
        ids.push(Value::from(diff_id));
    }
    let history = object
        .entry("history")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Some(history) = history.as_array_mut() {
        history.push(serde_json::json!({ "created": created, "created_by": created_by }));
    }
    config
}

/// An image manifest of a config and its layers.
pub fn manifest(
    config: &Descriptor,
    layers: &[Descriptor],
    annotations: &BTreeMap<String, String>,
) -> Value {
    let mut value = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": config,
        "layers": layers,
    });
    if !annotations.is_empty() {
        value["annotations"] = serde_json::json!(annotations);
    }
    value
}

/// Writes an OCI image layout at `dir` naming `manifest` (`ref` in
/// `org.opencontainers.image.ref.name`), its blobs taken from `from`. A layout already there
/// keeps what it has, as skopeo and umoci add to one: the blobs are added, and the index
/// gains the manifest, replacing only an entry of the same name; the index is written last,
/// in one step, so an interrupted write leaves the layout as it was (and some blobs more).
pub fn write_layout(
    dir: &Path,
    from: &Blobs,
    manifest: &Descriptor,
    blobs: &[String],
    reference: &str,
) -> std::io::Result<()> {
    let target = Blobs::new(dir.join("blobs"));
    for digest in blobs.iter().chain(std::iter::once(&manifest.digest)) {
        target.take_from(from, digest)?;
    }
    let mut named = manifest.clone();
    named
        .annotations
        .insert(REF_NAME.into(), reference.to_owned());
    let mut manifests = existing_manifests(&dir.join("index.json"))?;
    manifests.retain(|m| m["annotations"][REF_NAME].as_str() != Some(reference));
    manifests.push(serde_json::to_value(&named).map_err(std::io::Error::other)?);
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": INDEX,
        "manifests": manifests,
    });
    crate::fsutil::write_atomic(
        &dir.join("oci-layout"),
        &canonical(&serde_json::json!({ "imageLayoutVersion": "1.0.0" })),
        0o644,
    )?;
    crate::fsutil::write_atomic(&dir.join("index.json"), &canonical(&index), 0o644)
}

/// The annotation an image layout names its images by.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// The manifests an existing layout's index lists (none when it has no index); an index
/// that is not one is an error, not something to write over.
fn existing_manifests(index: &Path) -> std::io::Result<Vec<Value>> {
    let mut bytes = Vec::new();
    match std::fs::File::open(index) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
        Ok(file) => file.take(MAX_DOCUMENT).read_to_end(&mut bytes)?,
    };
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
        std::io::Error::other(format!("{}: not an image index: {e}", index.display()))
    })?;
    match value.get("manifests") {
        Some(Value::Array(manifests)) => Ok(manifests.clone()),
        None => Ok(Vec::new()),
        Some(_) => Err(std::io::Error::other(format!(
            "{}: not an image index: `manifests` is not a list",
            index.display()
        ))),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let value = serde_json::json!({ "b": 1, "a": { "z": [ { "y": 1, "x": 2 } ], "c": null } });
        assert_eq!(
            String::from_utf8(canonical(&value)).unwrap(),
            r#"{"a":{"c":null,"z":[{"x":2,"y":1}]},"b":1}"#
        );
    }

    #[test]
    fn the_config_keeps_the_base_and_adds_the_app() {
        let base = serde_json::json!({
            "architecture": "amd64", "os": "linux",
            "config": { "Env": ["PATH=/usr/bin", "PORT=80"], "Entrypoint": ["/docker-entrypoint.sh"], "Cmd": ["nginx"] },
            "rootfs": { "type": "layers", "diff_ids": ["sha256:aa"] },
            "history": [{ "created_by": "base" }],
        });
        let run = RunConfig {
            env: vec![
                ("PORT".into(), "5000".into()),
                ("NODE_ENV".into(), "production".into()),
            ],
            working_dir: "/app".into(),
            cmd: vec!["/bin/sh".into(), "-c".into(), "node index.js".into()],
            user: Some("1000:1000".into()),
            exposed_port: Some(5000),
            labels: BTreeMap::new(),
        };
        let platform = Platform {
            architecture: "amd64".into(),
            os: "linux".into(),
            variant: None,
        };
        let config = image_config(
            Some(&base),
            &platform,
            "sha256:bb",
            &run,
            "2026-12-01T00:00:00Z",
            "dozen image v3",
        );
        assert_eq!(
            config["config"]["Env"],
            serde_json::json!(["PATH=/usr/bin", "PORT=5000", "NODE_ENV=production"])
        );
        assert_eq!(
            config["config"]["Cmd"],
            serde_json::json!(["/bin/sh", "-c", "node index.js"])
        );
        assert!(config["config"].get("Entrypoint").is_none());
        assert_eq!(config["config"]["WorkingDir"], "/app");
        assert_eq!(config["config"]["User"], "1000:1000");
        assert_eq!(
            config["config"]["ExposedPorts"],
            serde_json::json!({ "5000/tcp": {} })
        );
        assert_eq!(
            config["rootfs"]["diff_ids"],
            serde_json::json!(["sha256:aa", "sha256:bb"])
        );
        assert_eq!(config["history"][1]["created_by"], "dozen image v3");
        // From scratch.
        let config = image_config(
            None,
            &platform,
            "sha256:bb",
            &run,
            "2026-12-01T00:00:00Z",
            "x",
        );
        assert_eq!(
            config["rootfs"]["diff_ids"],
            serde_json::json!(["sha256:bb"])
        );
        assert_eq!(config["architecture"], "amd64");
    }

    /// A blob taken from someone else's layout is a copy checked on the way: changing the
    /// layout's file afterwards changes nothing in the store, a longer or changed file is
    /// refused, and a blob in the store that is not the user's own is replaced.
    #[test]
    fn blobs_from_another_store_are_copied_checked_and_never_shared() {
        use std::os::unix::fs::MetadataExt as _;
        let theirs_dir = tempfile::tempdir().unwrap();
        let ours_dir = tempfile::tempdir().unwrap();
        let (theirs, ours) = (Blobs::new(theirs_dir.path()), Blobs::new(ours_dir.path()));
        let layer = theirs.put(LAYER_GZIP, b"a verified layer").unwrap();
        ours.import(&theirs, &layer).unwrap();
        let (from, to) = (
            theirs.path(&layer.digest).unwrap(),
            ours.path(&layer.digest).unwrap(),
        );
        assert_ne!(
            std::fs::metadata(&from).unwrap().ino(),
            std::fs::metadata(&to).unwrap().ino()
        );
        std::fs::write(&from, b"a poisoned layer").unwrap();
        assert_eq!(std::fs::read(&to).unwrap(), b"a verified layer");
        // A poisoned or longer file is refused, and nothing is left of it.
        std::fs::remove_file(&to).unwrap();
        let error = ours.import(&theirs, &layer).unwrap_err().to_string();
        assert!(error.ends_with("does not match its digest"), "{error}");
        std::fs::write(&from, b"a verified layer and more").unwrap();
        assert!(ours.import(&theirs, &layer).is_err());
        assert!(!to.exists());
        let left = std::fs::read_dir(to.parent().unwrap()).unwrap().count();
        assert_eq!(left, 0, "a temporary file was left");
        // A blob in the store of another owner (as an old hard link was) is not trusted.
        std::fs::write(&from, b"a verified layer").unwrap();
        std::fs::write(&to, b"planted").unwrap();
        if rustix::process::geteuid().is_root() {
            std::os::unix::fs::chown(&to, Some(65534), Some(65534)).unwrap();
            assert!(!ours.has_own(&layer.digest));
            ours.import(&theirs, &layer).unwrap();
            assert_eq!(std::fs::read(&to).unwrap(), b"a verified layer");
            assert!(ours.has_own(&layer.digest));
        }
    }

    #[test]
    fn a_layout_holds_its_blobs_and_names_its_manifest() {
        let store = tempfile::tempdir().unwrap();
        let blobs = Blobs::new(store.path().join("blobs"));
        let layer = blobs.put(LAYER_TAR, &[0u8; 1024]).unwrap();
        let config = blobs.put(CONFIG, &canonical(&serde_json::json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [layer.digest]}, "config": {}}))).unwrap();
        let manifest = blobs
            .put(
                MANIFEST,
                &canonical(&manifest(
                    &config,
                    std::slice::from_ref(&layer),
                    &BTreeMap::new(),
                )),
            )
            .unwrap();
        assert_eq!(blobs.read(&manifest).unwrap().len() as u64, manifest.size);
        let out = tempfile::tempdir().unwrap();
        write_layout(
            out.path(),
            &blobs,
            &manifest,
            &[config.digest.clone(), layer.digest.clone()],
            "v1",
        )
        .unwrap();
        let index: Value =
            serde_json::from_slice(&std::fs::read(out.path().join("index.json")).unwrap()).unwrap();
        assert_eq!(index["manifests"][0]["digest"], manifest.digest.as_str());
        assert_eq!(
            index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
            "v1"
        );
        for d in [&layer, &config, &manifest] {
            assert!(Blobs::new(out.path().join("blobs")).read(d).is_ok());
        }
        // A tampered blob is refused.
        let path = blobs.path(&layer.digest).unwrap();
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, [1u8; 1024]).unwrap();
        assert!(blobs.read(&layer).is_err());
        assert!(blobs.path("sha256:../../etc").is_none());
    }

    mod missing_tool {
        include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/missing.rs"));
    }
    use missing_tool::missing;

    /// A tool the test checks with, or `None` after [`missing`] let the test stop.
    pub(crate) fn tool(name: &str) -> Option<PathBuf> {
        let found = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(name))
                .find(|p| p.exists())
        });
        if found.is_none() {
            missing(name, "apt-get install skopeo umoci busybox-static");
        }
        found
    }

    /// An image of `busybox` (`/bin/sh` its link) and an app layer (`/app/web`), in an
    /// image layout under `work`: the layout and its manifest.
    /// A static busybox, or `None` after [`missing`] let the test stop.
    pub(crate) fn busybox() -> Option<PathBuf> {
        let found = ["/bin/busybox", "/usr/bin/busybox"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists());
        if found.is_none() {
            missing("busybox", "apt-get install busybox-static");
        }
        found
    }

    pub(crate) fn busybox_image(work: &Path, busybox: &Path) -> (PathBuf, Descriptor) {
        let root = work.join("root");
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::copy(busybox, root.join("bin/busybox")).unwrap();
        std::os::unix::fs::symlink("busybox", root.join("bin/sh")).unwrap();
        let app = work.join("app");
        std::fs::create_dir_all(&app).unwrap();
        std::fs::write(app.join("web"), "#!/bin/sh\necho hello\n").unwrap();
        std::fs::set_permissions(app.join("web"), std::fs::Permissions::from_mode(0o755)).unwrap();

        let blobs = Blobs::new(work.join("store"));
        let mut layers = Vec::new();
        let mut diff_ids = Vec::new();
        for (tree, prefix) in [(&root, ""), (&app, "app")] {
            let mut bytes = Vec::new();
            let settings = super::super::layer::Settings {
                prefix: prefix.into(),
                uid: 0,
                gid: 0,
                mtime: 0,
            };
            let layer = super::super::layer::write(tree, &settings, &mut bytes).unwrap();
            let stored = blobs.put(LAYER_GZIP, &bytes).unwrap();
            assert_eq!(stored.digest, layer.digest);
            layers.push(stored);
            diff_ids.push(layer.diff_id);
        }
        let platform = Platform {
            architecture: "amd64".into(),
            os: "linux".into(),
            variant: None,
        };
        let run = RunConfig {
            env: vec![("PORT".into(), "5000".into())],
            working_dir: "/app".into(),
            cmd: vec!["/bin/sh".into(), "-c".into(), "./web".into()],
            ..RunConfig::default()
        };
        let mut config = image_config(
            None,
            &platform,
            &diff_ids[0],
            &run,
            "1970-01-01T00:00:00Z",
            "busybox",
        );
        config["rootfs"]["diff_ids"]
            .as_array_mut()
            .unwrap()
            .push(Value::from(diff_ids[1].clone()));
        let config = blobs.put(CONFIG, &canonical(&config)).unwrap();
        let annotations = BTreeMap::from([("dozen.dev/release".to_owned(), "v1".to_owned())]);
        let manifest_desc = blobs
            .put(
                MANIFEST,
                &canonical(&manifest(&config, &layers, &annotations)),
            )
            .unwrap();
        let layout = work.join("layout");
        let mut all: Vec<String> = layers.iter().map(|l| l.digest.clone()).collect();
        all.push(config.digest.clone());
        write_layout(&layout, &blobs, &manifest_desc, &all, "v1").unwrap();

        (layout, manifest_desc)
    }

    #[test]
    fn an_image_from_scratch_is_read_by_skopeo_and_unpacked_by_umoci() {
        let (Some(skopeo), Some(umoci)) = (tool("skopeo"), tool("umoci")) else {
            return;
        };
        let Some(busybox) = busybox() else {
            return;
        };
        let work = tempfile::tempdir().unwrap();
        let (layout, manifest_desc) = busybox_image(work.path(), &busybox);
        let image = format!("oci:{}:v1", layout.display());
        let out = std::process::Command::new(&skopeo)
            .args(["inspect", &image])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let inspected: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(inspected["Digest"], manifest_desc.digest.as_str());
        assert_eq!(inspected["Layers"].as_array().unwrap().len(), 2);
        assert_eq!(
            inspected["Env"],
            serde_json::json!([format!("PATH={DEFAULT_PATH}"), "PORT=5000"])
        );

        let bundle = work.path().join("bundle");
        let out = std::process::Command::new(&umoci)
            .args(["unpack", "--rootless", "--image"])
            .arg(format!("{}:v1", layout.display()))
            .arg(&bundle)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            std::fs::read_to_string(bundle.join("rootfs/app/web")).unwrap(),
            "#!/bin/sh\necho hello\n"
        );
        assert_eq!(
            std::fs::read_link(bundle.join("rootfs/bin/sh")).unwrap(),
            PathBuf::from("busybox")
        );
        let runtime: Value =
            serde_json::from_slice(&std::fs::read(bundle.join("config.json")).unwrap()).unwrap();
        assert_eq!(
            runtime["process"]["args"],
            serde_json::json!(["/bin/sh", "-c", "./web"])
        );
        assert_eq!(runtime["process"]["cwd"], "/app");
    }
}
