//! OCI images of releases, without a daemon (docs/image.md, issue 20). Built in parts; the
//! `dozen image` command comes when every part of the issue works.

pub mod base;
pub mod check;
pub mod layer;
pub mod make;
pub mod oci;
pub mod registry;

/// `sha256:` and the digest in lower-case hex: how OCI names content.
pub fn sha256_name(digest: &[u8]) -> String {
    use std::fmt::Write as _;
    digest.iter().fold(String::from("sha256:"), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}
