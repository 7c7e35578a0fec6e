//! HTTPS at the router (docs/router.md "HTTPS"): certificates and keys from PEM files — a
//! chain each, several chosen by the name a client asks for (SNI) — read again when a file
//! changes or on `SIGHUP`, each new connection taking the newest set while the open ones
//! keep theirs; or a certificate the development CA issued ([`super::devca`]).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{PemObject as _, SectionKind};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// A certificate or key file is at most this long (a chain of ten 4096-bit certificates is
/// under 20 KiB): it is read whole, and someone else may have written it.
const MAX_PEM_BYTES: u64 = 1 << 20;

/// Why certificates were not loaded. Each names its file, and where in it (`FILE:LINE:1`)
/// when a line is to blame.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}", read_hint(.0))]
    Read(#[from] crate::fsutil::ReadError),
    #[error("{}:{line}:1: the private key is encrypted; the router needs it decrypted (openssl pkey -in {} -out {}.plain, then keep that file 0600)", path.display(), path.display(), path.display())]
    Encrypted { path: PathBuf, line: usize },
    #[error("{}:{line}:1: this {label} block cannot be read: {}", path.display(), pem_problem(source))]
    Block {
        path: PathBuf,
        line: usize,
        label: String,
        source: rustls::pki_types::pem::Error,
    },
    #[error("{}:{line}:1: this {label} block has no -----END line", path.display())]
    Unterminated {
        path: PathBuf,
        line: usize,
        label: String,
    },
    #[error("{} has no certificate{}", path.display(), if *.holds_key { ": it holds a private key — are cert and key the other way round?" } else { " (-----BEGIN CERTIFICATE-----)" })]
    NoCertificate { path: PathBuf, holds_key: bool },
    #[error("{} has no private key (-----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY)", path.display())]
    NoKey { path: PathBuf },
    #[error("{}:{line}:1: the file has more than one private key; give each its own file", path.display())]
    TwoKeys { path: PathBuf, line: usize },
    #[error("{} is the key of certificate {number} in {}, not of the first: put the server's own certificate (the leaf) first, then the chain", key.display(), cert.display())]
    KeyOfAnother {
        key: PathBuf,
        cert: PathBuf,
        number: usize,
    },
    #[error("{} is not the key of the certificate in {} (their public keys differ)", key.display(), cert.display())]
    NotTheKey { key: PathBuf, cert: PathBuf },
    #[error("{}: {source}", path.display())]
    Key {
        path: PathBuf,
        source: rustls::Error,
    },
    #[error("TLS: {0}")]
    Rustls(#[from] rustls::Error),
    #[error(transparent)]
    Issue(#[from] super::devca::Error),
}

/// What is wrong in a PEM block, in words (not the decoder's `InvalidCharacter(33)`).
fn pem_problem(error: &rustls::pki_types::pem::Error) -> &'static str {
    use rustls::pki_types::pem::Error as Pem;
    match error {
        Pem::Base64Decode(_) => "a line of it is not base64",
        Pem::MissingSectionEnd { .. } => "it has no -----END line",
        Pem::IllegalSectionStart { .. } => "its -----BEGIN line is not well formed",
        _ => "it is not well-formed PEM",
    }
}

/// A file not read, and what it would take, for a certificate or key.
fn read_hint(error: &crate::fsutil::ReadError) -> String {
    use crate::fsutil::ReadError;
    match error {
        ReadError::TooLong { .. } => format!("{error}: not a certificate or key"),
        ReadError::NotText { path } => format!(
            "{} is not PEM text (is it DER? convert it: openssl x509 -inform der -in FILE -out FILE.pem)",
            path.display()
        ),
        other => other.to_string(),
    }
}

/// The protocols offered in ALPN, preferred first; `http/1.0` too, as nginx offers it (a
/// client that asks only for it is served HTTP/1.x rather than refused at the handshake).
const ALPN: [&[u8]; 3] = [b"h2", b"http/1.1", b"http/1.0"];

/// One `{ cert, key }` of `[router] tls`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The router's TLS: the configuration new connections take, and where it came from.
pub struct Tls {
    current: RwLock<Arc<ServerConfig>>,
    source: Source,
    /// When the certificates in use from files stop being valid.
    ends: Mutex<Vec<End>>,
}

/// When a certificate from a file stops being valid, and whether its end was told.
#[derive(Debug, Clone)]
struct End {
    file: PathBuf,
    names: Vec<String>,
    at: jiff::Timestamp,
    told: bool,
}

/// A certificate this close to its end is warned of as it is loaded.
const SOON: jiff::SignedDuration = jiff::SignedDuration::from_hours(14 * 24);

impl End {
    fn list(pairs: &[Pair], named: &[Named], now: jiff::Timestamp) -> Vec<Self> {
        pairs
            .iter()
            .zip(named)
            .filter_map(|(pair, named)| {
                named.not_after.map(|at| Self {
                    file: pair.cert.clone(),
                    names: named.names.clone(),
                    at,
                    told: at <= now,
                })
            })
            .collect()
    }

    fn warning(&self, now: jiff::Timestamp) -> Option<String> {
        let which = if self.names.is_empty() {
            format!("the certificate in {}", self.file.display())
        } else {
            format!(
                "the certificate in {} ({})",
                self.file.display(),
                self.names.join(", ")
            )
        };
        let day = self.at.strftime("%Y-%m-%d %H:%M UTC");
        if self.at <= now {
            Some(format!(
                "{which} expired on {day}: clients refuse it — put a renewed one in its place (the router takes it at once)"
            ))
        } else if self.at.duration_since(now) < SOON {
            // To the nearest day (4 days 23 hours is "5 days").
            let left = match self.at.duration_since(now).as_hours() {
                0..24 => "less than a day".to_owned(),
                24..36 => "1 day".to_owned(),
                hours => format!("{} days", (hours + 12) / 24),
            };
            Some(format!("{which} expires on {day}, in {left}"))
        } else {
            None
        }
    }
}

enum Source {
    /// `[router] tls`: read again when a file changed.
    Files {
        pairs: Vec<Pair>,
        stamps: Mutex<Vec<Stamp>>,
    },
    /// `--tls`: issued by the development CA, again when half its life is gone.
    Issued {
        issue: Box<dyn Fn() -> Result<CertifiedKey, super::devca::Error> + Send + Sync>,
        at: Mutex<SystemTime>,
        renew_after: Duration,
    },
}

/// What says a file changed: its identity, size and modification time (a certificate
/// replaced by a rename, as certbot and Kubernetes' secret volumes do, is a new inode).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp(Option<(u64, u64, u64, SystemTime)>);

impl Stamp {
    fn of(path: &Path) -> Self {
        use std::os::unix::fs::MetadataExt as _;
        Self(std::fs::metadata(path).ok().map(|m| {
            (
                m.dev(),
                m.ino(),
                m.len(),
                m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            )
        }))
    }
}

impl Tls {
    /// `[router] tls`: every pair read and checked (the key is the certificate's).
    pub fn from_files(pairs: Vec<Pair>) -> Result<Self, Error> {
        let stamps = stamps(&pairs);
        let named = load(&pairs)?;
        let ends = End::list(&pairs, &named, jiff::Timestamp::now());
        Ok(Self {
            current: RwLock::new(config(named)?),
            source: Source::Files {
                pairs,
                stamps: Mutex::new(stamps),
            },
            ends: Mutex::new(ends),
        })
    }

    /// `--tls`: a certificate `issue` makes, made again once `renew_after` has passed.
    pub fn issued(
        issue: Box<dyn Fn() -> Result<CertifiedKey, super::devca::Error> + Send + Sync>,
        renew_after: Duration,
    ) -> Result<Self, Error> {
        let key = issue()?;
        Ok(Self {
            current: RwLock::new(config(vec![Named::of(key)])?),
            source: Source::Issued {
                issue,
                at: Mutex::new(SystemTime::now()),
                renew_after,
            },
            ends: Mutex::default(),
        })
    }

    /// The configuration a new connection takes.
    pub fn config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.current.read().expect("tls config lock"))
    }

    /// Whether a file changed since it was last read (or an issued certificate is due).
    pub fn changed(&self) -> bool {
        match &self.source {
            Source::Files { pairs, stamps } => {
                *stamps.lock().expect("tls stamps lock") != self::stamps(pairs)
            }
            Source::Issued {
                at, renew_after, ..
            } => at
                .lock()
                .expect("tls issued lock")
                .elapsed()
                .is_ok_and(|age| age >= *renew_after),
        }
    }

    /// Reads the files again (or issues again): on success new connections take the new set
    /// and its names are returned; on failure the set in use stays, and the error says why.
    pub fn reload(&self) -> Result<String, Error> {
        let (named, what) = match &self.source {
            Source::Files { pairs, stamps } => {
                // Stamped before reading: a change while reading is seen next time.
                *stamps.lock().expect("tls stamps lock") = self::stamps(pairs);
                let named = load(pairs)?;
                let what = describe(&named);
                *self.ends.lock().expect("tls ends lock") =
                    End::list(pairs, &named, jiff::Timestamp::now());
                (named, what)
            }
            Source::Issued { issue, at, .. } => {
                *at.lock().expect("tls issued lock") = SystemTime::now();
                (
                    vec![Named::of(issue()?)],
                    "a new development certificate".to_owned(),
                )
            }
        };
        let config = config(named)?;
        *self.current.write().expect("tls config lock") = config;
        Ok(what)
    }

    /// What to warn of the certificates in use: one expired, or expiring within two weeks.
    pub fn warnings(&self, now: jiff::Timestamp) -> Vec<String> {
        let ends = self.ends.lock().expect("tls ends lock");
        ends.iter().filter_map(|end| end.warning(now)).collect()
    }

    /// The certificates in use that expired since they were loaded or last asked of, told
    /// once each (a long run hears the moment its certificate stops being accepted).
    pub fn newly_expired(&self, now: jiff::Timestamp) -> Vec<String> {
        let mut ends = self.ends.lock().expect("tls ends lock");
        ends.iter_mut()
            .filter(|end| !end.told && end.at <= now)
            .filter_map(|end| {
                end.told = true;
                end.warning(now)
            })
            .collect()
    }

    /// Whether `SIGHUP` and changed files mean anything (certificates from files).
    pub fn from_files_source(&self) -> bool {
        matches!(self.source, Source::Files { .. })
    }
}

fn stamps(pairs: &[Pair]) -> Vec<Stamp> {
    pairs
        .iter()
        .flat_map(|p| [Stamp::of(&p.cert), Stamp::of(&p.key)])
        .collect()
}

/// What a set of certificates serves, for the line that says it was loaded.
pub fn describe(certificates: &[Named]) -> String {
    let names: Vec<&str> = certificates
        .iter()
        .flat_map(|n| n.names.iter().map(String::as_str))
        .collect();
    let count = certificates.len();
    let plural = if count == 1 { "" } else { "s" };
    if names.is_empty() {
        format!("{count} certificate{plural}")
    } else {
        format!("{count} certificate{plural} for {}", names.join(", "))
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The server configuration for a set of certificates: TLS 1.2 and 1.3, ALPN `h2` then
/// `http/1.1`, session tickets for TLS 1.3 resumption.
fn config(named: Vec<Named>) -> Result<Arc<ServerConfig>, Error> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Resolver { named }));
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    config.ticketer = rustls::crypto::ring::Ticketer::new()?;
    Ok(Arc::new(config))
}

/// A certificate chain and its key, with the DNS names it is valid for.
pub struct Named {
    key: Arc<CertifiedKey>,
    /// Lowercase; `*.example.com` for a wildcard.
    names: Vec<String>,
    /// The leaf's end of validity, when its DER could be read that far.
    not_after: Option<jiff::Timestamp>,
}

impl Named {
    pub fn of(key: CertifiedKey) -> Self {
        let names = key
            .end_entity_cert()
            .ok()
            .and_then(|der| {
                webpki::EndEntityCert::try_from(der).ok().map(|cert| {
                    cert.valid_dns_names()
                        .map(str::to_ascii_lowercase)
                        .collect::<Vec<_>>()
                })
            })
            .unwrap_or_default();
        let not_after = key
            .end_entity_cert()
            .ok()
            .and_then(|der| validity::not_after(der));
        Self {
            key: Arc::new(key),
            names,
            not_after,
        }
    }

    fn serves(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    fn serves_by_wildcard(&self, name: &str) -> bool {
        let Some((_, parent)) = name.split_once('.') else {
            return false;
        };
        self.names
            .iter()
            .any(|n| n.strip_prefix("*.").is_some_and(|p| p == parent))
    }
}

/// Picks the certificate for the name the client asks (SNI): the first that names it
/// exactly, else the first whose wildcard covers it, else — no name asked (an address), or
/// one no certificate has — the first, as nginx's default server does.
struct Resolver {
    named: Vec<Named>,
}

impl Resolver {
    fn pick(&self, asked: Option<&str>) -> Option<Arc<CertifiedKey>> {
        let first = self.named.first()?;
        if self.named.len() == 1 {
            return Some(Arc::clone(&first.key));
        }
        let chosen = asked.map(str::to_ascii_lowercase).and_then(|name| {
            self.named
                .iter()
                .find(|n| n.serves(&name))
                .or_else(|| self.named.iter().find(|n| n.serves_by_wildcard(&name)))
        });
        Some(Arc::clone(&chosen.unwrap_or(first).key))
    }
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver")
            .field("certificates", &self.named.len())
            .finish()
    }
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.pick(hello.server_name())
    }
}

/// Reads every pair: each chain, its key, and that they belong together.
fn load(pairs: &[Pair]) -> Result<Vec<Named>, Error> {
    let provider = provider();
    pairs
        .iter()
        .map(|pair| {
            let chain = certificates(&pair.cert)?;
            let key = private_key(&pair.key)?;
            let mismatch = |chain: &[CertificateDer<'static>]| {
                // The key may be another certificate's of the file: the chain out of order.
                let owner = chain.iter().skip(1).position(|cert| {
                    CertifiedKey::from_der(vec![cert.clone()], key.clone_key(), &provider).is_ok()
                });
                let (key, cert) = (pair.key.clone(), pair.cert.clone());
                match owner {
                    Some(i) => Error::KeyOfAnother {
                        key,
                        cert,
                        number: i + 2,
                    },
                    None => Error::NotTheKey { key, cert },
                }
            };
            let key =
                CertifiedKey::from_der(chain.clone(), key.clone_key(), &provider).map_err(|e| {
                    match e {
                        rustls::Error::InconsistentKeys(_) => mismatch(&chain),
                        source => Error::Key {
                            path: pair.key.clone(),
                            source,
                        },
                    }
                })?;
            Ok(Named::of(key))
        })
        .collect()
}

/// A PEM file's blocks of certificates and keys, each with the line its `-----BEGIN` is on.
/// Blocks of other kinds (`EC PARAMETERS`, which `openssl ecparam -genkey` writes before the
/// key) are passed over; an encrypted key is an error that says how to decrypt it.
fn blocks(path: &Path) -> Result<Vec<(usize, SectionKind, Vec<u8>)>, Error> {
    let text = crate::fsutil::read_bounded(path, MAX_PEM_BYTES, None)?;
    let mut out = Vec::new();
    let mut start: Option<(usize, usize, &str)> = None; // (line, byte offset, label)
    let mut offset = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let trimmed = line.trim();
        if let Some(label) = trimmed
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            start = Some((index + 1, offset, label));
        } else if trimmed.starts_with("-----END ") {
            if let Some((line_no, from, label)) = start.take() {
                let block = &text[from..offset + line.len()];
                if label == "ENCRYPTED PRIVATE KEY" || block.contains("Proc-Type: 4,ENCRYPTED") {
                    return Err(Error::Encrypted {
                        path: path.to_owned(),
                        line: line_no,
                    });
                }
                match <(SectionKind, Vec<u8>)>::from_pem_slice(block.as_bytes()) {
                    Ok((kind, der)) => out.push((line_no, kind, der)),
                    Err(_) if !is_known(label) => {}
                    Err(source) => {
                        // The first line of the block that is not base64, where there is one.
                        let bad = block
                            .lines()
                            .enumerate()
                            .skip(1)
                            .find(|(_, l)| {
                                let l = l.trim();
                                !l.starts_with("-----")
                                    && !l.contains(':')
                                    && !l
                                        .bytes()
                                        .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
                            })
                            .map_or(line_no, |(i, _)| line_no + i);
                        return Err(Error::Block {
                            path: path.to_owned(),
                            line: bad,
                            label: label.to_owned(),
                            source,
                        });
                    }
                }
            }
        }
        offset += line.len();
    }
    if let Some((line_no, _, label)) = start {
        return Err(Error::Unterminated {
            path: path.to_owned(),
            line: line_no,
            label: label.to_owned(),
        });
    }
    Ok(out)
}

/// The PEM labels of certificates and keys.
fn is_known(label: &str) -> bool {
    matches!(
        label,
        "CERTIFICATE" | "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY"
    )
}

/// A certificate file's chain, leaf first.
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let blocks = blocks(path)?;
    let chain: Vec<_> = blocks
        .iter()
        .filter(|(_, kind, _)| *kind == SectionKind::Certificate)
        .map(|(_, _, der)| CertificateDer::from(der.clone()))
        .collect();
    if chain.is_empty() {
        return Err(Error::NoCertificate {
            path: path.to_owned(),
            holds_key: blocks.iter().any(|(_, kind, _)| is_key(*kind)),
        });
    }
    Ok(chain)
}

fn is_key(kind: SectionKind) -> bool {
    matches!(
        kind,
        SectionKind::PrivateKey | SectionKind::RsaPrivateKey | SectionKind::EcPrivateKey
    )
}

/// A key file's private key (PKCS#8, PKCS#1 or SEC1).
fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, Error> {
    let blocks = blocks(path)?;
    let mut keys = blocks.into_iter().filter(|(_, kind, _)| is_key(*kind));
    let Some((line, kind, der)) = keys.next() else {
        return Err(Error::NoKey {
            path: path.to_owned(),
        });
    };
    if keys.next().is_some() {
        return Err(Error::TwoKeys {
            path: path.to_owned(),
            line,
        });
    }
    Ok(match kind {
        SectionKind::RsaPrivateKey => PrivateKeyDer::Pkcs1(der.into()),
        SectionKind::EcPrivateKey => PrivateKeyDer::Sec1(der.into()),
        _ => PrivateKeyDer::Pkcs8(der.into()),
    })
}

#[cfg(test)]
mod tests;
pub mod validity;
