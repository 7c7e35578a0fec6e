//! OCI images of releases, without a daemon (docs/image.md): the parts `dozen image`
//! (`commands/image.rs`) is made of.

pub mod base;
pub mod check;
pub mod error;
pub mod layer;
pub mod make;
pub mod oci;
pub mod registry;

use sha2::Digest as _;

/// `sha256:` and the digest in lower-case hex: how OCI names content.
pub fn sha256_name(digest: &[u8]) -> String {
    use std::fmt::Write as _;
    digest.iter().fold(String::from("sha256:"), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// A writer that hashes and counts what goes through it.
pub struct Hashing<W> {
    inner: W,
    hash: sha2::Sha256,
    count: u64,
}

impl<W: std::io::Write> Hashing<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hash: sha2::Sha256::new(),
            count: 0,
        }
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// The inner writer, `sha256:…` of what was written, and its length.
    pub fn finish(self) -> (W, String, u64) {
        let digest = sha256_name(&self.hash.finalize());
        (self.inner, digest, self.count)
    }
}

impl<W: std::io::Write> std::io::Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
