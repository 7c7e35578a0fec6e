//! Keeping config values secret: how a value is shown when it is not revealed.

use sha2::{Digest as _, Sha256};

/// What stands in for a value that is not revealed.
pub const REDACTED: &str = "••••";

/// A short, stable digest of a value: enough to tell values apart, not to read them.
pub fn digest(value: &str) -> String {
    let mut hex = sha256_hex(Sha256::digest(value.as_bytes()).as_slice());
    hex.truncate(12);
    hex
}

/// Lower-case hex of a SHA-256 (or any) digest.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(64), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_short_stable_and_distinct() {
        assert_eq!(digest("secret"), digest("secret"));
        assert_ne!(digest("secret"), digest("secreT"));
        assert_eq!(digest("").len(), 12);
        // sha256("") starts e3b0c44298fc.
        assert_eq!(digest(""), "e3b0c44298fc");
    }
}
