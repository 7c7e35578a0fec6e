//! Local HTTPS for development, as Caddy's local CA and mkcert do it (docs/router.md "HTTPS
//! in development"): a certificate authority per user, made once under dozen's home
//! (`$XDG_DATA_HOME/dozen/ca`, else `~/.local/share/dozen/ca`; its key `0600`, in a `0700`
//! directory), that issues the router a certificate for `localhost`, `127.0.0.1` and `::1` at
//! each start. The certificate and its key live in memory only; the CA's certificate is what
//! a user trusts, once. No network is needed.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;

/// How long the CA is valid: ten years, as mkcert's.
const CA_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// How long an issued certificate is valid; the router issues a new one after half of it.
pub const LEAF_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
/// A file of the CA is at most this long.
const MAX_FILE: u64 = 64 * 1024;

/// Why the development CA could not be opened, made, or issue a certificate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("neither XDG_DATA_HOME nor HOME is set: dozen has no home for its development CA")]
    NoHome,
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Read(#[from] crate::fsutil::ReadError),
    #[error("{} is not a directory of yours that only you can open (mode 0700): the development CA's key is there", dir.display())]
    NotPrivate { dir: PathBuf },
    #[error("the development CA in {} is damaged ({what}): remove the directory and run again to make a new one (then trust its new root.crt)", dir.display())]
    Damaged { dir: PathBuf, what: String },
    #[error("{doing}: {source}")]
    Rcgen {
        doing: &'static str,
        source: rcgen::Error,
    },
    #[error("the development certificate: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("{} could not be made", dir.display())]
    NotMade { dir: PathBuf },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

fn rcgen(doing: &'static str) -> impl FnOnce(rcgen::Error) -> Error {
    move |source| Error::Rcgen { doing, source }
}

/// The development CA: where its certificate is, and its key to issue with.
pub struct DevCa {
    /// The CA's directory.
    pub dir: PathBuf,
    /// Made by this call (the first `--tls` of this user).
    pub created: bool,
    issuer: Issuer<'static, KeyPair>,
}

/// Where dozen keeps what belongs to a user rather than an app: `$XDG_DATA_HOME/dozen`, else
/// `$HOME/.local/share/dozen`.
pub fn home() -> Result<PathBuf, Error> {
    if let Some(data) = std::env::var_os("XDG_DATA_HOME").filter(|d| Path::new(d).is_absolute()) {
        return Ok(PathBuf::from(data).join("dozen"));
    }
    std::env::var_os("HOME")
        .filter(|h| Path::new(h).is_absolute())
        .map(|h| PathBuf::from(h).join(".local/share/dozen"))
        .ok_or(Error::NoHome)
}

impl DevCa {
    /// The CA under `home`, made if it is not there yet. Two first runs at once make one CA:
    /// each makes its own in a directory of its own and renames it into place; the second
    /// rename fails, and that run uses the first's.
    pub fn open_or_create(home: &Path) -> Result<Self, Error> {
        let dir = home.join("ca");
        if !dir.exists() {
            create(home, &dir)?;
            let mut ca = Self::open(&dir)?;
            ca.created = true;
            return Ok(ca);
        }
        Self::open(&dir)
    }

    /// The CA's certificate, the file a user trusts.
    pub fn cert_path(&self) -> PathBuf {
        self.dir.join("root.crt")
    }

    fn open(dir: &Path) -> Result<Self, Error> {
        let uid = rustix::process::getuid().as_raw();
        let metadata = std::fs::symlink_metadata(dir).map_err(io(dir))?;
        if !metadata.is_dir() || metadata.uid() != uid || metadata.mode() & 0o077 != 0 {
            return Err(Error::NotPrivate {
                dir: dir.to_owned(),
            });
        }
        let key_pem = read_own(&dir.join("root.key"), uid)?;
        let name = read_own(&dir.join("root.name"), uid)?;
        let cert_pem = read_own(&dir.join("root.crt"), uid)?;
        let broken = |what: &str| Error::Damaged {
            dir: dir.to_owned(),
            what: what.to_owned(),
        };
        let key = KeyPair::from_pem(&key_pem).map_err(|e| broken(&format!("root.key: {e}")))?;
        let cert = CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .map_err(|_| broken("root.crt is not a certificate"))?;
        // The certificate must be the key's: a leaf signed by another key verifies nowhere.
        let certified = CertifiedKey::from_der(
            vec![cert],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            &rustls::crypto::ring::default_provider(),
        );
        if certified.is_err() {
            return Err(broken("root.key is not the key of root.crt"));
        }
        Ok(Self {
            dir: dir.to_owned(),
            created: false,
            issuer: Issuer::new(ca_params(name.trim()), key),
        })
    }

    /// A certificate for `localhost`, `127.0.0.1`, `::1` and `extra` (the router's own
    /// address when it is not loopback), valid for [`LEAF_LIFETIME`] from an hour ago (a
    /// clock a little behind still accepts it).
    pub fn issue(
        &self,
        extra: &[std::net::IpAddr],
        hosts: &[String],
    ) -> Result<CertifiedKey, Error> {
        let mut names = vec![
            SanType::DnsName("localhost".try_into().expect("a DNS name")),
            SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()),
            SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()),
        ];
        for address in extra {
            if !address.is_loopback() && !address.is_unspecified() {
                names.push(SanType::IpAddress(*address));
            }
        }
        for host in hosts {
            if let Ok(name) = host.as_str().try_into() {
                names.push(SanType::DnsName(name));
            }
        }
        let mut params = CertificateParams::default();
        params.subject_alt_names = names;
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost (dozen development)");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let now = jiff::Timestamp::now();
        params.not_before = offset(now, -3600);
        params.not_after = offset(now, i64::try_from(LEAF_LIFETIME.as_secs()).unwrap_or(0));
        let key = KeyPair::generate().map_err(rcgen("a key for the certificate"))?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(rcgen("issuing the development certificate"))?;
        // The leaf alone: a client that trusts the CA has its certificate already.
        CertifiedKey::from_der(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            &rustls::crypto::ring::default_provider(),
        )
        .map_err(Error::from)
    }
}

/// The CA's parameters; its name (`dozen development CA user@host`, kept in `root.name`)
/// is its certificate's subject, which every certificate it issues names as issuer.
fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "dozen development CA");
    dn.push(DnType::CommonName, name);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

/// `seconds` from `now`, as rcgen takes a time.
fn offset(now: jiff::Timestamp, seconds: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(now.as_second().saturating_add(seconds))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

fn create(home: &Path, dir: &Path) -> Result<(), Error> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(home)
        .map_err(io(home))?;
    let user =
        std::env::var("USER").unwrap_or_else(|_| rustix::process::getuid().as_raw().to_string());
    let host = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    let name = format!("dozen development CA {user}@{host}");
    let key = KeyPair::generate().map_err(rcgen("a key for the development CA"))?;
    let mut params = ca_params(&name);
    let now = jiff::Timestamp::now();
    params.not_before = offset(now, -3600);
    params.not_after = offset(now, i64::try_from(CA_LIFETIME.as_secs()).unwrap_or(0));
    let cert = params
        .self_signed(&key)
        .map_err(rcgen("making the development CA"))?;
    let staging = tempfile::Builder::new()
        .prefix(".ca-")
        .tempdir_in(home)
        .map_err(io(home))?;
    let write = |file: &str, text: &str, mode: u32| {
        crate::fsutil::write_new(&staging.path().join(file), text.as_bytes(), mode)
            .map(|_| ())
            .map_err(io(&staging.path().join(file)))
    };
    write("root.key", &key.serialize_pem(), 0o600)?;
    write("root.name", &format!("{name}\n"), 0o644)?;
    write("root.crt", &cert.pem(), 0o644)?;
    std::fs::set_permissions(staging.path(), std::fs::Permissions::from_mode(0o700))
        .map_err(io(staging.path()))?;
    let staged = staging.keep();
    if std::fs::rename(&staged, dir).is_err() {
        // Another run made it first: use that one.
        let _ = std::fs::remove_dir_all(&staged);
        if !dir.exists() {
            return Err(Error::NotMade {
                dir: dir.to_owned(),
            });
        }
    }
    Ok(())
}

/// A file of the CA: the user's own, at most [`MAX_FILE`] long.
fn read_own(path: &Path, uid: u32) -> Result<String, Error> {
    Ok(crate::fsutil::read_bounded(path, MAX_FILE, Some(uid))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::{ServerName, UnixTime};

    fn verify(ca: &DevCa, leaf: &CertifiedKey, name: &str) -> Result<(), webpki::Error> {
        let root = std::fs::read(ca.cert_path()).unwrap();
        let root = CertificateDer::from_pem_slice(&root).unwrap();
        let anchors = [webpki::anchor_from_trusted_cert(&root).unwrap()];
        let cert = webpki::EndEntityCert::try_from(&leaf.cert[0]).unwrap();
        cert.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchors,
            &leaf.cert[1..],
            UnixTime::now(),
            webpki::KeyUsage::server_auth(),
            None,
            None,
        )?;
        cert.verify_is_valid_for_subject_name(&ServerName::try_from(name).unwrap())
    }

    #[test]
    fn the_ca_is_made_once_and_its_certificates_verify_for_loopback() {
        use std::os::unix::fs::PermissionsExt as _;
        let home = tempfile::tempdir().unwrap();
        let home = home.path().join("share/dozen");
        let ca = DevCa::open_or_create(&home).unwrap();
        assert!(ca.created);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&ca.dir), 0o700);
        assert_eq!(mode(&ca.dir.join("root.key")), 0o600);
        let root = std::fs::read(ca.cert_path()).unwrap();

        let again = DevCa::open_or_create(&home).unwrap();
        assert!(!again.created);
        assert_eq!(std::fs::read(again.cert_path()).unwrap(), root, "made once");

        let leaf = again
            .issue(&["192.0.2.7".parse().unwrap()], &["devbox".to_owned()])
            .unwrap();
        assert_eq!(leaf.cert.len(), 1, "the leaf alone");
        for name in ["localhost", "127.0.0.1", "::1", "192.0.2.7", "devbox"] {
            verify(&again, &leaf, name).unwrap();
        }
        assert!(verify(&again, &leaf, "example.com").is_err());
        // Only what the CA made: nothing left beside it.
        let left: Vec<_> = std::fs::read_dir(&home)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["ca"]);
    }

    #[test]
    fn a_ca_others_can_open_or_a_damaged_one_is_refused_with_the_way_out() {
        use std::os::unix::fs::PermissionsExt as _;
        let home = tempfile::tempdir().unwrap();
        let ca = DevCa::open_or_create(home.path()).unwrap();
        std::fs::set_permissions(&ca.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let error = DevCa::open_or_create(home.path())
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("only you can open"), "{error}");
        std::fs::set_permissions(&ca.dir, std::fs::Permissions::from_mode(0o700)).unwrap();

        let other = tempfile::tempdir().unwrap();
        let other = DevCa::open_or_create(other.path()).unwrap();
        std::fs::copy(other.dir.join("root.key"), ca.dir.join("root.key")).unwrap();
        let error = DevCa::open_or_create(home.path())
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.contains("is damaged (root.key is not the key of root.crt)"),
            "{error}"
        );
        assert!(error.contains("remove the directory"), "{error}");
    }
}
