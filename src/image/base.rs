//! The base an image starts from: an OCI image layout, an `oci-archive` or `docker-archive`
//! tarball (a registry comes later: docs/image.md), resolved to one platform, its blobs
//! copied into dozen's blob store and checked against their digests; and its layers' files,
//! for the interpreter check.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::check::{Node, Tree};
use super::error::Error;
use super::oci::{self, Blobs, Descriptor, Platform};

/// Where a base comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `oci:DIR[:TAG]`.
    Layout(PathBuf, Option<String>),
    /// `oci-archive:FILE[:TAG]`.
    OciArchive(PathBuf, Option<String>),
    /// `docker-archive:FILE`.
    DockerArchive(PathBuf),
    /// `REGISTRY/REPOSITORY:TAG` or `…@sha256:…`, pulled.
    Registry(super::registry::Reference),
}

impl Source {
    pub fn parse(text: &str) -> Result<Self, Error> {
        let split = |rest: &str| -> (PathBuf, Option<String>) {
            match rest.rsplit_once(':') {
                Some((path, tag)) if !tag.is_empty() && !tag.contains('/') => {
                    (PathBuf::from(path), Some(tag.to_owned()))
                }
                _ => (PathBuf::from(rest), None),
            }
        };
        if let Some(rest) = text.strip_prefix("oci:") {
            let (path, tag) = split(rest);
            return Ok(Self::Layout(path, tag));
        }
        if let Some(rest) = text.strip_prefix("oci-archive:") {
            let (path, tag) = split(rest);
            return Ok(Self::OciArchive(path, tag));
        }
        if let Some(rest) = text.strip_prefix("docker-archive:") {
            return Ok(Self::DockerArchive(PathBuf::from(rest)));
        }
        let rest = text.strip_prefix("docker://").unwrap_or(text);
        super::registry::Reference::parse(rest)
            .map(Self::Registry)
            .map_err(|_| Error::UnknownBase(text.to_owned()))
    }
}

/// A base, resolved: its config and layers, in dozen's blob store.
#[derive(Debug, Clone)]
pub struct Base {
    pub config: Value,
    pub layers: Vec<Descriptor>,
    pub platform: Platform,
    /// The digest of the manifest it came from (none for a `docker save` tarball).
    pub manifest: Option<String>,
}

const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
const DOCKER_LAYER_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";

/// Loads `source` for `platform`, its blobs put into `store`.
pub fn load(source: &Source, platform: &Platform, store: &Blobs) -> Result<Base, Error> {
    match source {
        Source::Layout(dir, tag) => from_layout(dir, tag.as_deref(), platform, store),
        Source::OciArchive(file, tag) => {
            let unpacked = tempfile::Builder::new()
                .prefix(".dozen-base-")
                .tempdir_in(store_parent(store))
                .map_err(Error::Io)?;
            unpack(file, unpacked.path())?;
            from_layout(unpacked.path(), tag.as_deref(), platform, store)
        }
        Source::DockerArchive(file) => from_docker_archive(file, platform, store),
        Source::Registry(reference) => from_registry(reference, platform, store),
    }
}

/// Pulls a base: its manifest (through an index to the platform's), config and layers,
/// each checked against its digest, into `store`.
fn from_registry(
    reference: &super::registry::Reference,
    platform: &Platform,
    store: &Blobs,
) -> Result<Base, Error> {
    let mut session = super::registry::Registry::new(reference)?;
    let (mut bytes, mut media_type) = session.manifest(reference.manifest_reference())?;
    if is_index(&media_type) {
        let index: Value = serde_json::from_slice(&bytes).map_err(Error::malformed("the index"))?;
        let picked = pick_platform(&index, platform)?;
        (bytes, media_type) = session.manifest(&picked.digest)?;
    }
    let manifest = store.put(&media_type, &bytes).map_err(Error::Io)?;
    let body: Value = serde_json::from_slice(&bytes).map_err(Error::malformed("the manifest"))?;
    let mut blobs = vec![descriptor(&body["config"])?];
    for layer in body["layers"].as_array().cloned().unwrap_or_default() {
        blobs.push(descriptor(&layer)?);
    }
    for blob in &blobs {
        session.pull_blob(blob, store)?;
    }
    resolve_manifest(store, &manifest, store)
}

/// The blob store's directory (created): archives are unpacked beside the blobs they add.
fn store_parent(store: &Blobs) -> PathBuf {
    let dir = store
        .path(&format!("sha256:{}", "0".repeat(64)))
        .and_then(|p| p.parent()?.parent().map(Path::to_owned))
        .unwrap_or_else(std::env::temp_dir);
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// Extracts a tarball of regular files and directories (an archive's layout) into `dir`.
fn unpack(file: &Path, dir: &Path) -> Result<(), Error> {
    let io = Error::io_at(file.display());
    let reader = std::fs::File::open(file).map_err(&io)?;
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries().map_err(&io)? {
        let mut entry = entry.map_err(&io)?;
        let kind = entry.header().entry_type();
        if !(kind.is_file() || kind.is_dir()) {
            continue;
        }
        // `unpack_in` refuses paths that climb out of `dir`.
        entry.unpack_in(dir).map_err(&io)?;
    }
    Ok(())
}

fn read_json(path: &Path) -> Result<Value, Error> {
    let bytes = std::fs::read(path).map_err(Error::io_at(path.display()))?;
    serde_json::from_slice(&bytes).map_err(Error::malformed(path.display()))
}

fn descriptor(value: &Value) -> Result<Descriptor, Error> {
    serde_json::from_value(value.clone()).map_err(Error::malformed("a bad descriptor"))
}

fn from_layout(
    dir: &Path,
    tag: Option<&str>,
    platform: &Platform,
    store: &Blobs,
) -> Result<Base, Error> {
    let index = read_json(&dir.join("index.json"))?;
    let blobs = Blobs::new(dir.join("blobs"));
    let manifests = index["manifests"]
        .as_array()
        .ok_or_else(|| Error::NoManifests(dir.join("index.json")))?;
    let named = |m: &&Value| m["annotations"]["org.opencontainers.image.ref.name"].as_str() == tag;
    let chosen: Vec<&Value> = match tag {
        Some(_) => manifests.iter().filter(named).collect(),
        None => manifests.iter().collect(),
    };
    let top = match chosen.as_slice() {
        [one] => descriptor(one)?,
        [] => {
            return Err(Error::NoSuchTag {
                dir: dir.to_owned(),
                tag: tag.unwrap_or("").to_owned(),
            });
        }
        _ => {
            // Several: an index of platforms, as a layout of a multi-arch image may be.
            let listed = serde_json::json!({ "manifests": chosen });
            let picked = pick_platform(&listed, platform)?;
            return resolve_manifest(&blobs, &picked, store);
        }
    };
    let top = if is_index(&top.media_type) {
        let index: Value = serde_json::from_slice(&checked(&blobs, &top)?)
            .map_err(Error::malformed(format!("the index {}", top.digest)))?;
        pick_platform(&index, platform)?
    } else {
        top
    };
    resolve_manifest(&blobs, &top, store)
}

fn is_index(media_type: &str) -> bool {
    media_type == oci::INDEX || media_type == DOCKER_LIST
}

fn checked(blobs: &Blobs, descriptor: &Descriptor) -> Result<Vec<u8>, Error> {
    blobs
        .read(descriptor)
        .map_err(Error::io_at(format!("blob {}", descriptor.digest)))
}

/// The manifest of `platform` in an index; what it offers when it has none.
fn pick_platform(index: &Value, platform: &Platform) -> Result<Descriptor, Error> {
    let manifests = index["manifests"].as_array().cloned().unwrap_or_default();
    let mut offered = Vec::new();
    for manifest in &manifests {
        let p = &manifest["platform"];
        let (os, arch) = (p["os"].as_str(), p["architecture"].as_str());
        offered.push(format!("{}/{}", os.unwrap_or("?"), arch.unwrap_or("?")));
        let variant_ok = platform
            .variant
            .as_deref()
            .is_none_or(|v| p["variant"].as_str() == Some(v));
        if os == Some(platform.os.as_str())
            && arch == Some(platform.architecture.as_str())
            && variant_ok
        {
            return descriptor(manifest);
        }
    }
    Err(Error::NoPlatform {
        platform: platform.clone(),
        offered,
    })
}

/// A manifest's config and layers, copied into `store`.
fn resolve_manifest(blobs: &Blobs, manifest: &Descriptor, store: &Blobs) -> Result<Base, Error> {
    if manifest.media_type != oci::MANIFEST && manifest.media_type != DOCKER_MANIFEST {
        return Err(Error::NotAManifest(manifest.media_type.clone()));
    }
    let body: Value = serde_json::from_slice(&checked(blobs, manifest)?).map_err(
        Error::malformed(format!("the manifest {}", manifest.digest)),
    )?;
    let config_desc = descriptor(&body["config"])?;
    let config_bytes = checked(blobs, &config_desc)?;
    let config: Value = serde_json::from_slice(&config_bytes).map_err(Error::malformed(
        format!("the config {}", config_desc.digest),
    ))?;
    let mut layers = Vec::new();
    for layer in body["layers"].as_array().cloned().unwrap_or_default() {
        let mut layer = descriptor(&layer)?;
        store
            .import(blobs, &layer)
            .map_err(Error::io_at(format!("blob {}", layer.digest)))?;
        layer.media_type = match layer.media_type.as_str() {
            DOCKER_LAYER_GZIP => oci::LAYER_GZIP.to_owned(),
            DOCKER_LAYER_TAR => oci::LAYER_TAR.to_owned(),
            other => other.to_owned(),
        };
        if layer.media_type != oci::LAYER_GZIP && layer.media_type != oci::LAYER_TAR {
            return Err(Error::UnsupportedLayer {
                digest: layer.digest,
                media_type: layer.media_type,
            });
        }
        layers.push(layer);
    }
    let platform = platform_of(&config);
    Ok(Base {
        config,
        layers,
        platform,
        manifest: Some(manifest.digest.clone()),
    })
}

/// The platform an image config says it is for.
fn platform_of(config: &Value) -> Platform {
    Platform {
        architecture: config["architecture"]
            .as_str()
            .unwrap_or("amd64")
            .to_owned(),
        os: config["os"].as_str().unwrap_or("linux").to_owned(),
        variant: config["variant"].as_str().map(str::to_owned),
    }
}

/// `docker save`'s tarball: `manifest.json` names the config and each layer's tar.
fn from_docker_archive(file: &Path, platform: &Platform, store: &Blobs) -> Result<Base, Error> {
    let unpacked = tempfile::Builder::new()
        .prefix(".dozen-base-")
        .tempdir_in(store_parent(store))
        .map_err(Error::Io)?;
    unpack(file, unpacked.path())?;
    let dir = unpacked.path();
    let manifest = read_json(&dir.join("manifest.json"))?;
    let image = match manifest.as_array().map(Vec::as_slice) {
        Some([one]) => one.clone(),
        Some(many) if !many.is_empty() => {
            return Err(Error::SeveralImages {
                file: file.to_owned(),
                count: many.len(),
            });
        }
        _ => return Err(Error::NoImage(file.to_owned())),
    };
    let inside = |name: &Value| -> Result<PathBuf, Error> {
        let name = name.as_str().ok_or(Error::NoFileNamed)?;
        if name.split('/').any(|p| p == "..") || name.starts_with('/') {
            return Err(Error::NamedOutside(name.to_owned()));
        }
        Ok(dir.join(name))
    };
    let mut config_bytes = Vec::new();
    std::fs::File::open(inside(&image["Config"])?)
        .and_then(|f| {
            std::io::Read::read_to_end(
                &mut std::io::Read::take(f, oci::MAX_DOCUMENT),
                &mut config_bytes,
            )
        })
        .map_err(Error::Io)?;
    let config: Value = serde_json::from_slice(&config_bytes).map_err(Error::ArchiveConfig)?;
    let mut layers = Vec::new();
    for layer in image["Layers"].as_array().cloned().unwrap_or_default() {
        let path = inside(&layer)?;
        let mut magic = [0u8; 2];
        let gzip = std::fs::File::open(&path)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
            .is_ok()
            && magic == [0x1f, 0x8b];
        let media_type = if gzip {
            oci::LAYER_GZIP
        } else {
            oci::LAYER_TAR
        };
        layers.push(store.put_file(media_type, &path).map_err(Error::Io)?);
    }
    let found = platform_of(&config);
    if found.os != platform.os || found.architecture != platform.architecture {
        return Err(Error::WrongPlatform {
            file: file.to_owned(),
            found,
            wanted: platform.clone(),
        });
    }
    Ok(Base {
        config,
        layers,
        platform: found,
        manifest: None,
    })
}

/// The base's file system: its layers applied in order (for the interpreter check).
pub fn tree(base: &Base, store: &Blobs) -> Result<Tree, Error> {
    let mut tree = Tree::default();
    for layer in &base.layers {
        let path = store
            .path(&layer.digest)
            .ok_or_else(|| Error::UnsupportedDigest(layer.digest.clone()))?;
        let file = std::fs::File::open(&path).map_err(Error::io_at(path.display()))?;
        let reader: Box<dyn std::io::Read> = if layer.media_type == oci::LAYER_GZIP {
            // Every member: a gzip stream may be several (pigz's, dozen's own layers).
            Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(
                file,
            )))
        } else {
            Box::new(std::io::BufReader::new(file))
        };
        let mut archive = tar::Archive::new(reader);
        let io = Error::io_at(format!("layer {}", layer.digest));
        let entries = archive.entries().map_err(&io)?;
        for entry in entries {
            let entry = entry.map_err(&io)?;
            let name = entry.path().map_err(&io)?.to_string_lossy().into_owned();
            let node = match entry.header().entry_type() {
                tar::EntryType::Directory => Node::Dir,
                tar::EntryType::Symlink => Node::Symlink(
                    entry
                        .link_name()
                        .ok()
                        .flatten()
                        .map(|l| l.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                ),
                _ => Node::File,
            };
            // The archive skips each entry's contents on the way to the next.
            tree.apply(&name, node);
        }
    }
    Ok(tree)
}

/// The base's annotations for the image's manifest.
pub fn annotations(base: &Base, name: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert("org.opencontainers.image.base.name".into(), name.to_owned());
    if let Some(digest) = &base.manifest {
        out.insert(
            "org.opencontainers.image.base.digest".into(),
            digest.clone(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An image pushed to a registry (Debian's `docker-registry`) loads as a base: the same
    /// manifest and layers, in a store of the base's own.
    #[test]
    fn an_image_in_a_registry_loads_as_a_base() {
        let (Some(registry), Some(busybox)) = (
            super::super::registry::tests::local_registry(),
            oci::tests::busybox(),
        ) else {
            return;
        };
        let work = tempfile::tempdir().unwrap();
        let (_, manifest) = oci::tests::busybox_image(work.path(), &busybox);
        let store = Blobs::new(work.path().join("store"));
        let body: serde_json::Value =
            serde_json::from_slice(&store.read(&manifest).unwrap()).unwrap();
        let config: Descriptor = serde_json::from_value(body["config"].clone()).unwrap();
        let layers: Vec<Descriptor> = serde_json::from_value(body["layers"].clone()).unwrap();
        let name = format!("127.0.0.1:{}/team/app:v1", registry.port);
        let mut session = super::super::registry::Registry::new(
            &super::super::registry::Reference::parse(&name).unwrap(),
        )
        .unwrap();
        for blob in layers.iter().chain(std::iter::once(&config)) {
            session.push_blob(blob, &store, None).unwrap();
        }
        session
            .push_manifest("v1", oci::MANIFEST, &store.read(&manifest).unwrap())
            .unwrap();
        let amd64 = Platform {
            architecture: "amd64".into(),
            os: "linux".into(),
            variant: None,
        };
        let base_store = Blobs::new(work.path().join("base"));
        let base = load(&Source::parse(&name).unwrap(), &amd64, &base_store).unwrap();
        assert_eq!(base.manifest.as_deref(), Some(manifest.digest.as_str()));
        assert_eq!(base.layers, layers);
    }

    #[test]
    fn sources() {
        assert_eq!(
            Source::parse("oci:/tmp/base:12").unwrap(),
            Source::Layout("/tmp/base".into(), Some("12".into()))
        );
        assert_eq!(
            Source::parse("oci:base").unwrap(),
            Source::Layout("base".into(), None)
        );
        assert_eq!(
            Source::parse("oci-archive:../b.tar:latest").unwrap(),
            Source::OciArchive("../b.tar".into(), Some("latest".into()))
        );
        assert_eq!(
            Source::parse("docker-archive:b.tar").unwrap(),
            Source::DockerArchive("b.tar".into())
        );
        assert_eq!(
            Source::parse("debian:12").unwrap(),
            Source::Registry(super::super::registry::Reference::parse("debian:12").unwrap())
        );
        assert_eq!(
            Source::parse("Not A Reference").unwrap_err().to_string(),
            "unknown base `Not A Reference`: give an image reference (debian:12-slim, ghcr.io/org/base:1), oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker-archive:FILE"
        );
    }

    #[test]
    fn a_platform_is_picked_from_an_index_or_the_choice_is_listed() {
        let index = serde_json::json!({ "manifests": [
            { "mediaType": oci::MANIFEST, "digest": format!("sha256:{}", "a".repeat(64)), "size": 1, "platform": { "os": "linux", "architecture": "arm64", "variant": "v8" } },
            { "mediaType": oci::MANIFEST, "digest": format!("sha256:{}", "b".repeat(64)), "size": 2, "platform": { "os": "linux", "architecture": "amd64" } },
        ]});
        let amd64 = Platform {
            architecture: "amd64".into(),
            os: "linux".into(),
            variant: None,
        };
        assert_eq!(pick_platform(&index, &amd64).unwrap().size, 2);
        let arm64 = Platform {
            architecture: "arm64".into(),
            os: "linux".into(),
            variant: Some("v8".into()),
        };
        assert_eq!(pick_platform(&index, &arm64).unwrap().size, 1);
        let s390x = Platform {
            architecture: "s390x".into(),
            os: "linux".into(),
            variant: None,
        };
        assert_eq!(
            pick_platform(&index, &s390x).unwrap_err().to_string(),
            "the base has no image for linux/s390x (it has linux/arm64, linux/amd64)"
        );
    }

    #[test]
    fn a_layout_and_both_archives_give_the_same_base_and_its_files() {
        let Some(skopeo) = oci::tests::tool("skopeo") else {
            return;
        };
        let Some(busybox) = oci::tests::busybox() else {
            return;
        };
        let work = tempfile::tempdir().unwrap();
        let (layout, manifest) = oci::tests::busybox_image(work.path(), &busybox);
        let amd64 = Platform {
            architecture: "amd64".into(),
            os: "linux".into(),
            variant: None,
        };
        let store = Blobs::new(work.path().join("cache/blobs"));
        let from_layout = load(
            &Source::Layout(layout.clone(), Some("v1".into())),
            &amd64,
            &store,
        )
        .unwrap();
        assert_eq!(
            from_layout.manifest.as_deref(),
            Some(manifest.digest.as_str())
        );
        assert_eq!(from_layout.layers.len(), 2);
        for layer in &from_layout.layers {
            assert!(store.read(layer).is_ok());
        }
        let copy = |to: &str| {
            let out = std::process::Command::new(&skopeo)
                .args(["copy", &format!("oci:{}:v1", layout.display()), to])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let archive = work.path().join("base.oci.tar");
        copy(&format!("oci-archive:{}:v1", archive.display()));
        let from_archive = load(
            &Source::OciArchive(archive, Some("v1".into())),
            &amd64,
            &store,
        )
        .unwrap();
        let digests = |b: &Base| {
            b.layers
                .iter()
                .map(|l| l.digest.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(digests(&from_archive), digests(&from_layout));

        let docker = work.path().join("base.docker.tar");
        copy(&format!("docker-archive:{}", docker.display()));
        let from_docker = load(&Source::DockerArchive(docker.clone()), &amd64, &store).unwrap();
        // docker save keeps layers uncompressed: each is named by its diff_id.
        assert_eq!(
            serde_json::json!(digests(&from_docker)),
            from_layout.config["rootfs"]["diff_ids"]
        );
        let arm = Platform {
            architecture: "arm64".into(),
            os: "linux".into(),
            variant: None,
        };
        assert!(
            load(&Source::DockerArchive(docker), &arm, &store)
                .unwrap_err()
                .to_string()
                .contains("an image for linux/amd64, not linux/arm64")
        );
        assert!(
            load(&Source::Layout(layout, Some("v2".into())), &amd64, &store)
                .unwrap_err()
                .to_string()
                .contains("no image tagged `v2`")
        );

        for base in [&from_layout, &from_docker] {
            let tree = tree(base, &store).unwrap();
            assert_eq!(tree.resolve("", "/bin/sh").as_deref(), Some("bin/busybox"));
            assert!(tree.resolve("", "/app/web").is_some());
            assert!(tree.resolve("", "/usr/bin/env").is_none());
        }
    }
}
