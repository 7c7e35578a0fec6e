//! The OCI distribution API, as `dozen image` needs it: pulling a base's manifest and blobs
//! and pushing an image (blob existence checks, cross-repository mounts, uploads, the
//! manifest last), with Docker's token authentication (docs/image.md).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

mod budget;
mod credentials;
mod realm;

use budget::{Budget, ERROR_BODY, MANIFEST, SMALL, TIMEOUT, blob_budget};
#[cfg(test)]
use credentials::credentials_in;
pub use credentials::docker_credentials;
use realm::{Url, fetch_token, fetch_url, withhold_from};

use super::error::Error;
use super::oci::{self, Blobs, Descriptor};
use crate::http::{self, Head, Wire};

/// `[REGISTRY/]REPOSITORY[:TAG][@DIGEST]`, as Docker reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `docker.io`, `ghcr.io`, `localhost:5000`.
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl Reference {
    pub fn parse(text: &str) -> Result<Self, Error> {
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => (rest, Some(digest.to_owned())),
            None => (text, None),
        };
        let (registry, path) = match rest.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_owned(), path)
            }
            _ => ("docker.io".to_owned(), rest),
        };
        let (repository, tag) = match path.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => (repo.to_owned(), Some(tag.to_owned())),
            _ => (path.to_owned(), None),
        };
        let repository = if registry == "docker.io" && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        let valid_repo = !repository.is_empty()
            && repository.split('/').all(|part| {
                !part.is_empty()
                    && part.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)
                    })
            });
        let valid_tag = tag.as_deref().is_none_or(|t| {
            !t.is_empty()
                && t.len() <= 128
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        });
        let valid_digest = digest
            .as_deref()
            .is_none_or(|d| Blobs::new("/").path(d).is_some());
        if !(valid_repo && valid_tag && valid_digest) {
            return Err(Error::InvalidReference(text.to_owned()));
        }
        Ok(Self {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// The tag or digest a manifest is asked for by (`latest` when neither is given).
    pub fn manifest_reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }

    /// Where the API is: Docker Hub's is not at its name.
    fn endpoint(&self) -> (bool, String, u16) {
        let host = if self.registry == "docker.io" {
            "registry-1.docker.io"
        } else {
            self.registry.as_str()
        };
        let (name, port) = match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => {
                (name.to_owned(), port.parse().ok())
            }
            _ => (host.to_owned(), None),
        };
        // A registry on this machine speaks plain HTTP, as Docker lets a local one.
        let local = matches!(name.as_str(), "localhost" | "127.0.0.1" | "[::1]" | "::1");
        let https = !local;
        (https, name, port.unwrap_or(if https { 443 } else { 80 }))
    }
}

const ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

/// A session with one registry.
pub struct Registry {
    reference: Reference,
    https: bool,
    host: String,
    port: u16,
    tls: Option<Arc<rustls::ClientConfig>>,
    connection: Option<Wire>,
    /// `Bearer …` or `Basic …`, once a challenge asked for it.
    authorization: Option<String>,
    credentials: Option<String>,
    /// Bytes of request bodies sent (blobs and manifests).
    pub sent: u64,
    /// The body of the last answer that was not a success (the registry's error).
    last_error: String,
}

/// A request's body.
enum Body<'a> {
    Empty,
    Bytes(&'a [u8]),
    File(&'a Path, u64),
}

impl Registry {
    pub fn new(reference: &Reference) -> Result<Self, Error> {
        Self::with_credentials(reference, docker_credentials(&reference.registry))
    }

    /// A session with these credentials (base64 `user:password`) instead of Docker's.
    pub fn with_credentials(
        reference: &Reference,
        credentials: Option<String>,
    ) -> Result<Self, Error> {
        let (https, host, port) = reference.endpoint();
        let tls = if https {
            Some(http::tls_config()?)
        } else {
            None
        };
        Ok(Self {
            reference: reference.clone(),
            https,
            host,
            port,
            tls,
            connection: None,
            authorization: None,
            credentials,
            sent: 0,
            last_error: String::new(),
        })
    }

    fn send_once(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, String)],
        body: &Body<'_>,
        sink: &mut dyn std::io::Write,
        budget: Budget,
    ) -> Result<Head, Error> {
        if self.connection.is_none() {
            let tls = if self.https { self.tls.as_ref() } else { None };
            let (wire, _) = http::connect_http(&self.host, self.port, tls, TIMEOUT, TIMEOUT)?;
            self.connection = Some(wire);
        }
        let wire = self.connection.as_mut().expect("connected");
        let length = match body {
            Body::Empty => 0,
            Body::Bytes(b) => b.len() as u64,
            Body::File(_, size) => *size,
        };
        let host = if self.port == if self.https { 443 } else { 80 } {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        };
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: dozen/{}\r\n",
            env!("CARGO_PKG_VERSION")
        );
        if let Some(auth) = &self.authorization {
            let _ = write!(head, "Authorization: {auth}\r\n");
        }
        for (name, value) in headers {
            let _ = write!(head, "{name}: {value}\r\n");
        }
        if method != "GET" && method != "HEAD" {
            let _ = write!(head, "Content-Length: {length}\r\n");
        }
        head.push_str("\r\n");
        let io = Error::io_at(&host);
        wire.write_all(head.as_bytes()).map_err(&io)?;
        match body {
            Body::Empty => {}
            Body::Bytes(bytes) => wire.write_all(bytes).map_err(&io)?,
            Body::File(path, _) => {
                let mut file = std::fs::File::open(path).map_err(&io)?;
                std::io::copy(&mut file, wire).map_err(&io)?;
            }
        }
        wire.flush().map_err(&io)?;
        self.sent += length;
        // A success's body goes where the caller wants it, within its budget; another's is
        // its error, its start kept here.
        let wire = &mut http::Deadline::new(wire, budget.time);
        let result = http::read_head(wire, method).and_then(|(head, pending)| {
            if (200..300).contains(&head.status) {
                return pending.copy_to(wire, head, sink, budget.bytes);
            }
            let mut error = Vec::new();
            let head = pending.copy_start(wire, head, &mut error, ERROR_BODY)?;
            let words: String = String::from_utf8_lossy(&error).chars().take(500).collect();
            self.last_error = crate::ui::terminal::printable(&words).into_owned();
            Ok(head)
        });
        match &result {
            Ok(head) if head.keep_alive => {}
            _ => self.connection = None,
        }
        Ok(result?)
    }

    /// A request, answering an authentication challenge once.
    fn send(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, String)],
        body: &Body<'_>,
        sink: &mut dyn std::io::Write,
        budget: Budget,
    ) -> Result<Head, Error> {
        let head = self.send_once(method, target, headers, body, sink, budget)?;
        if head.status != 401 {
            return Ok(head);
        }
        let challenge = head
            .header("www-authenticate")
            .ok_or_else(|| Error::NoChallenge {
                registry: self.reference.registry.clone(),
            })?
            .to_owned();
        self.authorize(&challenge)?;
        self.send_once(method, target, headers, body, sink, budget)
    }

    /// Answers a `WWW-Authenticate` challenge: Bearer (a token from the realm, with the
    /// credentials if any) or Basic (the credentials).
    fn authorize(&mut self, challenge: &str) -> Result<(), Error> {
        let (scheme, params) = challenge.split_once(' ').unwrap_or((challenge, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            let credentials = self
                .credentials
                .clone()
                .ok_or_else(|| Error::NeedsCredentials {
                    registry: self.reference.registry.clone(),
                })?;
            self.authorization = Some(format!("Basic {credentials}"));
            return Ok(());
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(Error::UnsupportedAuthentication(scheme.to_owned()));
        }
        let param = |name: &str| {
            params.split(',').find_map(|p| {
                let (key, value) = p.trim().split_once('=')?;
                key.eq_ignore_ascii_case(name)
                    .then(|| value.trim_matches('"').to_owned())
            })
        };
        let realm = param("realm").ok_or(Error::NoRealm)?;
        Url::parse(&realm)?;
        let mut query = Vec::new();
        if let Some(service) = param("service") {
            query.push(format!("service={}", encode(&service)));
        }
        if let Some(scope) = param("scope") {
            query.push(format!("scope={}", encode(&scope)));
        }
        let url = if query.is_empty() {
            realm.clone()
        } else {
            format!(
                "{realm}{}{}",
                if realm.contains('?') { '&' } else { '?' },
                query.join("&")
            )
        };
        let withheld = self
            .credentials
            .as_ref()
            .and_then(|_| withhold_from(&self.host, self.https, &Url::parse(&url).ok()?));
        let credentials = if withheld.is_some() {
            None
        } else {
            self.credentials.as_deref()
        };
        let token = fetch_token(&url, credentials)
            .map_err(|e| self.crossed(e, &format!("the token service {realm}")))
            .map_err(|e| match (e, withheld) {
                (Error::TokenRefused(status), Some(why)) => Error::CredentialsWithheld {
                    registry: self.reference.registry.clone(),
                    realm: realm.clone(),
                    why,
                    status,
                },
                (e, _) => e,
            })?;
        self.authorization = Some(format!("Bearer {token}"));
        Ok(())
    }

    /// A manifest or index: its bytes and media type, checked against the digest asked for.
    pub fn manifest(&mut self, reference: &str) -> Result<(Vec<u8>, String), Error> {
        let target = format!("/v2/{}/manifests/{reference}", self.reference.repository);
        let mut body = Vec::new();
        let head = self
            .send(
                "GET",
                &target,
                &[("Accept", ACCEPT.to_owned())],
                &Body::Empty,
                &mut body,
                MANIFEST,
            )
            .map_err(|e| {
                self.crossed(
                    e,
                    &format!("the manifest {}:{reference}", self.reference.repository),
                )
            })?;
        if head.status != 200 {
            return Err(self.failed(
                &format!("{}:{reference}", self.reference.repository),
                head.status,
            ));
        }
        if reference.starts_with("sha256:") && oci::digest_of(&body) != reference {
            return Err(Error::ManifestMismatch(reference.to_owned()));
        }
        let media_type = head
            .header("content-type")
            .map(|t| t.split(';').next().unwrap_or("").trim().to_owned())
            .unwrap_or_default();
        Ok((body, media_type))
    }

    /// Downloads a blob into `store`, checked against its digest (following a redirect to
    /// where the registry keeps it). No more than its descriptor's size is read, and nothing
    /// is left behind when it fails.
    pub fn pull_blob(&mut self, descriptor: &Descriptor, store: &Blobs) -> Result<(), Error> {
        let path = store
            .path(&descriptor.digest)
            .ok_or_else(|| Error::UnsupportedDigest(descriptor.digest.clone()))?;
        if store.has_own(&descriptor.digest) {
            return Ok(());
        }
        let dir = path.parent().expect("under sha256/");
        std::fs::create_dir_all(dir).map_err(Error::Io)?;
        // Removed when dropped: on every error below.
        let temp = tempfile::Builder::new()
            .prefix(".partial-")
            .tempfile_in(dir)
            .map_err(Error::Io)?;
        let mut hashing = super::Hashing::new(temp);
        let target = format!(
            "/v2/{}/blobs/{}",
            self.reference.repository, descriptor.digest
        );
        let budget = blob_budget(descriptor.size);
        let too_long = |e| blob_too_long(e, descriptor);
        let head = self
            .send("GET", &target, &[], &Body::Empty, &mut hashing, budget)
            .map_err(too_long)?;
        let head = if matches!(head.status, 301 | 302 | 303 | 307 | 308) {
            let location = head
                .header("location")
                .ok_or(Error::NoLocation("a redirect"))?
                .to_owned();
            // The redirect's body is the blob: start the file over.
            let (temp, _, _) = hashing.finish();
            temp.as_file().set_len(0).map_err(Error::Io)?;
            hashing = super::Hashing::new(temp);
            std::io::Seek::rewind(hashing.get_mut()).map_err(Error::Io)?;
            fetch_url(&location, &mut hashing, budget).map_err(too_long)?
        } else {
            head
        };
        if head.status != 200 {
            return Err(self.failed(&format!("blob {}", descriptor.digest), head.status));
        }
        let (temp, digest, size) = hashing.finish();
        if digest != descriptor.digest || size != descriptor.size {
            return Err(Error::BlobMismatch {
                expected: descriptor.digest.clone(),
                arrived: digest,
            });
        }
        temp.persist(&path).map_err(|e| Error::Persist {
            path: None,
            source: e.error,
        })?;
        Ok(())
    }

    /// Whether the repository has a blob.
    fn has_blob(&mut self, digest: &str) -> Result<bool, Error> {
        let target = format!("/v2/{}/blobs/{digest}", self.reference.repository);
        let head = self.send(
            "HEAD",
            &target,
            &[],
            &Body::Empty,
            &mut std::io::sink(),
            SMALL,
        )?;
        Ok(head.status == 200)
    }

    /// Puts a blob of `store` in the repository: nothing when it has it, a mount from
    /// `mount_from` (a repository of the same registry) when the registry allows, else an
    /// upload. Returns what it did.
    pub fn push_blob(
        &mut self,
        descriptor: &Descriptor,
        store: &Blobs,
        mount_from: Option<&str>,
    ) -> Result<&'static str, Error> {
        if self.has_blob(&descriptor.digest)? {
            return Ok("present");
        }
        let repository = self.reference.repository.clone();
        let mut target = format!("/v2/{repository}/blobs/uploads/");
        if let Some(from) = mount_from {
            let _ = write!(target, "?mount={}&from={}", descriptor.digest, encode(from));
        }
        let head = self.send(
            "POST",
            &target,
            &[],
            &Body::Bytes(&[]),
            &mut std::io::sink(),
            SMALL,
        )?;
        if head.status == 201 {
            return Ok("mounted");
        }
        if head.status != 202 {
            return Err(self.failed(&format!("starting an upload to {repository}"), head.status));
        }
        let location = head
            .header("location")
            .ok_or(Error::NoLocation("an upload"))?;
        let path = store
            .path(&descriptor.digest)
            .ok_or_else(|| Error::UnsupportedDigest(descriptor.digest.clone()))?;
        let location = self.relative(location)?;
        let separator = if location.contains('?') { '&' } else { '?' };
        let target = format!("{location}{separator}digest={}", encode(&descriptor.digest));
        let head = self.send(
            "PUT",
            &target,
            &[("Content-Type", "application/octet-stream".to_owned())],
            &Body::File(&path, descriptor.size),
            &mut std::io::sink(),
            SMALL,
        )?;
        if head.status != 201 {
            return Err(self.failed(&format!("uploading {}", descriptor.digest), head.status));
        }
        Ok("uploaded")
    }

    /// Puts a manifest under a tag (after its blobs).
    pub fn push_manifest(
        &mut self,
        tag: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<(), Error> {
        let target = format!("/v2/{}/manifests/{tag}", self.reference.repository);
        let head = self.send(
            "PUT",
            &target,
            &[("Content-Type", media_type.to_owned())],
            &Body::Bytes(bytes),
            &mut std::io::sink(),
            SMALL,
        )?;
        if head.status != 201 {
            return Err(self.failed("the manifest", head.status));
        }
        Ok(())
    }

    /// An answer's bound crossed, said with what was asked.
    fn crossed(&self, error: Error, what: &str) -> Error {
        match error {
            Error::Http(
                source @ (http::Error::BodyTooLarge { .. } | http::Error::TooSlow { .. }),
            ) => Error::Answer {
                registry: self.reference.registry.clone(),
                what: what.to_owned(),
                source,
            },
            other => other,
        }
    }

    /// What went wrong, with the registry's own words when it gave some.
    fn failed(&self, what: &str, status: u16) -> Error {
        Error::Refused {
            registry: self.reference.registry.clone(),
            what: what.to_owned(),
            status,
            said: self.last_error.trim().to_owned(),
        }
    }

    /// A location the registry gave, as a path on it (an absolute URL must be the same
    /// registry's).
    fn relative(&self, location: &str) -> Result<String, Error> {
        if location.starts_with('/') {
            return Ok(location.to_owned());
        }
        let (_, rest) = location
            .split_once("://")
            .ok_or_else(|| Error::UploadNotUrl(location.to_owned()))?;
        let split = rest.find('/').unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        let same = authority == self.host || authority == format!("{}:{}", self.host, self.port);
        if !same {
            return Err(Error::OtherHost(authority.to_owned()));
        }
        Ok(if path.is_empty() {
            "/".to_owned()
        } else {
            path.to_owned()
        })
    }
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A blob's body longer than its size, said as the blob's.
fn blob_too_long(error: Error, descriptor: &Descriptor) -> Error {
    match error {
        Error::Http(http::Error::BodyTooLarge { .. }) => Error::BlobTooLong {
            digest: descriptor.digest.clone(),
            size: descriptor.size,
        },
        other => other,
    }
}

#[cfg(test)]
mod hostile;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn references_as_docker_reads_them() {
        let r = Reference::parse("debian:12-slim").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_deref()),
            ("docker.io", "library/debian", Some("12-slim"))
        );
        assert_eq!(r.endpoint(), (true, "registry-1.docker.io".into(), 443));
        let r = Reference::parse("localhost:5000/team/app:v3").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_deref()),
            ("localhost:5000", "team/app", Some("v3"))
        );
        assert_eq!(r.endpoint(), (false, "localhost".into(), 5000));
        let digest = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("ghcr.io/org/app@{digest}")).unwrap();
        assert_eq!(r.manifest_reference(), digest);
        assert_eq!(
            Reference::parse("ghcr.io/org/app")
                .unwrap()
                .manifest_reference(),
            "latest"
        );
        for bad in [
            "",
            "UPPER/case",
            "app:",
            "app:bad tag",
            "a//b",
            "app@sha256:xyz",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Reference::parse("UPPER/case").unwrap_err().to_string(),
            "`UPPER/case` is not an image reference (REGISTRY/REPOSITORY:TAG)"
        );
    }

    /// Debian's `docker-registry` (the distribution registry) on a port of its own.
    pub(crate) struct LocalRegistry {
        child: std::process::Child,
        pub(crate) port: u16,
        _dir: tempfile::TempDir,
    }

    impl Drop for LocalRegistry {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    pub(crate) fn local_registry() -> Option<LocalRegistry> {
        let binary = oci::tests::tool("docker-registry")?;
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let child = std::process::Command::new(binary)
            .arg("serve")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "docker-registry did not listen"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(LocalRegistry {
            child,
            port,
            _dir: dir,
        })
    }

    #[test]
    fn an_image_is_pushed_pulled_back_byte_for_byte_and_its_base_mounted_not_sent() {
        let (Some(registry), Some(skopeo), Some(busybox)) = (
            local_registry(),
            oci::tests::tool("skopeo"),
            oci::tests::busybox(),
        ) else {
            return;
        };
        let work = tempfile::tempdir().unwrap();
        let (layout, manifest) = oci::tests::busybox_image(work.path(), &busybox);
        let store = Blobs::new(work.path().join("store"));
        let body: serde_json::Value =
            serde_json::from_slice(&store.read(&manifest).unwrap()).unwrap();
        let config: Descriptor = serde_json::from_value(body["config"].clone()).unwrap();
        let layers: Vec<Descriptor> = serde_json::from_value(body["layers"].clone()).unwrap();

        let push = |repository: &str, mount_from: Option<&str>| {
            let reference =
                Reference::parse(&format!("127.0.0.1:{}/{repository}:v1", registry.port)).unwrap();
            let mut session = Registry::new(&reference).unwrap();
            let mut done = Vec::new();
            for blob in layers.iter().chain(std::iter::once(&config)) {
                done.push(session.push_blob(blob, &store, mount_from).unwrap());
            }
            let bytes = store.read(&manifest).unwrap();
            session.push_manifest("v1", oci::MANIFEST, &bytes).unwrap();
            (done, session.sent)
        };
        let (done, sent) = push("team/app", None);
        assert_eq!(done, ["uploaded", "uploaded", "uploaded"]);
        let blob_bytes: u64 = layers.iter().map(|l| l.size).sum::<u64>() + config.size;
        assert_eq!(sent, blob_bytes + manifest.size);
        // Again: everything is there already; only the manifest goes.
        let (done, sent) = push("team/app", None);
        assert_eq!(done, ["present", "present", "present"]);
        assert_eq!(sent, manifest.size);
        // Another repository: the layers are mounted from the first, not sent.
        let (done, sent) = push("team/other", Some("team/app"));
        assert_eq!(done, ["mounted", "mounted", "mounted"]);
        assert_eq!(sent, manifest.size);

        // skopeo sees the same image, and copies it back byte for byte.
        let image = format!("docker://127.0.0.1:{}/team/app:v1", registry.port);
        let out = std::process::Command::new(&skopeo)
            .args(["inspect", "--tls-verify=false", &image])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let inspected: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(inspected["Digest"], manifest.digest.as_str());
        let back = work.path().join("back");
        let out = std::process::Command::new(&skopeo)
            .args([
                "copy",
                "--src-tls-verify=false",
                &image,
                &format!("oci:{}:v1", back.display()),
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for blob in layers.iter().chain([&config, &manifest]) {
            let path = |root: &Path| root.join("blobs/sha256").join(&blob.digest[7..]);
            assert_eq!(
                std::fs::read(path(&back)).unwrap(),
                std::fs::read(path(&layout)).unwrap()
            );
        }

        // Pulled by dozen into a fresh store: the same bytes.
        let reference =
            Reference::parse(&format!("127.0.0.1:{}/team/other:v1", registry.port)).unwrap();
        let mut session = Registry::new(&reference).unwrap();
        let (bytes, media_type) = session.manifest("v1").unwrap();
        assert_eq!(oci::digest_of(&bytes), manifest.digest);
        assert_eq!(media_type, oci::MANIFEST);
        let fresh = Blobs::new(work.path().join("fresh"));
        for blob in layers.iter().chain(std::iter::once(&config)) {
            session.pull_blob(blob, &fresh).unwrap();
            assert!(fresh.read(blob).is_ok());
        }
        let missing = session.manifest("v2").unwrap_err();
        assert!(
            matches!(missing, Error::Refused { status: 404, .. }),
            "{missing}"
        );
        assert!(
            missing.to_string().contains("team/other:v2: HTTP 404"),
            "{missing}"
        );
    }

    /// A registry that wants a Bearer token from its realm, which wants Basic credentials:
    /// Docker Hub's and GHCR's scheme, played by a small Python server.
    const TOKEN_REGISTRY: &str = r#"
import http.server, json, sys
port = int(sys.argv[1])
log = open(sys.argv[2], "a")
MANIFEST = b'{"schemaVersion":2}'
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        log.write("%s %s %s\n" % (self.path, self.headers.get("Authorization"), self.headers.get("Accept", "")[:30])); log.flush()
        if self.path.startswith("/token"):
            if self.headers.get("Authorization") != "Basic dXNlcjpwdw==":
                return self.reply(401)
            return self.reply(200, json.dumps({"access_token": "t0k"}).encode())
        if self.headers.get("Authorization") != "Bearer t0k":
            realm = "http://127.0.0.1:%d/token" % port
            return self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', [("WWW-Authenticate", 'Bearer realm="%s",service="reg",scope="repository:team/app:pull"' % realm)])
        return self.reply(200, MANIFEST, [("Content-Type", "application/vnd.oci.image.manifest.v1+json")])
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
"#;

    #[test]
    fn a_bearer_challenge_is_answered_with_a_token_from_its_realm() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("registry.py"), TOKEN_REGISTRY).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.path().join("requests.log");
        let mut child = std::process::Command::new("python3")
            .arg(dir.path().join("registry.py"))
            .arg(port.to_string())
            .arg(&log)
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(20));
        }
        let reference = Reference::parse(&format!("127.0.0.1:{port}/team/app:v1")).unwrap();
        let mut session =
            Registry::with_credentials(&reference, Some(http::base64(b"user:pw"))).unwrap();
        let (bytes, media_type) = session.manifest("v1").unwrap();
        assert_eq!(
            (bytes.as_slice(), media_type.as_str()),
            (&b"{\"schemaVersion\":2}"[..], oci::MANIFEST)
        );
        let requests = std::fs::read_to_string(&log).unwrap();
        let lines: Vec<&str> = requests.lines().collect();
        assert!(
            lines[0].starts_with("/v2/team/app/manifests/v1 None application/vnd.oci.image"),
            "{requests}"
        );
        assert_eq!(
            lines[1],
            "/token?service=reg&scope=repository%3Ateam%2Fapp%3Apull Basic dXNlcjpwdw== "
        );
        assert!(
            lines[2].starts_with("/v2/team/app/manifests/v1 Bearer t0k "),
            "{requests}"
        );
        // Wrong credentials: the token service's refusal is said.
        let mut session =
            Registry::with_credentials(&reference, Some(http::base64(b"user:no"))).unwrap();
        assert_eq!(
            session.manifest("v1").unwrap_err().to_string(),
            "the token service answered HTTP 401"
        );
        let _ = child.kill();
        let _ = child.wait();
    }
}
