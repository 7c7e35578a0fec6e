//! Keeping config values secret: how a value is shown when it is not revealed.

use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

/// What stands in for a value that is not revealed.
pub const REDACTED: &str = "••••";

/// Digests of values, keyed by a secret of the store's (`digest.key`, 32 random bytes,
/// `0600`): equal values in one store have equal digests, so `config diff` and `releases
/// show` can say what changed, but a digest cannot be looked up in a table or brute-forced
/// from a short value (`sha256("hunter2")`, a 4-digit PIN) without the key.
pub struct Digests {
    key: [u8; 32],
}

/// The key's file in the store.
pub const KEY_FILE: &str = "digest.key";

impl Digests {
    /// The store's key, made on first use.
    pub fn of_store(store: &Path) -> std::io::Result<Self> {
        let path = store.join(KEY_FILE);
        loop {
            match std::fs::read(&path) {
                Ok(bytes) => {
                    let key: [u8; 32] = bytes.try_into().map_err(|_| {
                        std::io::Error::other(format!(
                            "{}: not a key of 32 bytes (remove it to make a new one; value digests shown before change)",
                            path.display()
                        ))
                    })?;
                    return Ok(Self { key });
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            let mut key = [0u8; 32];
            std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut key)?;
            let mut file = match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
            {
                Ok(file) => file,
                // Another command made it first: read theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            };
            std::io::Write::write_all(&mut file, &key)?;
            file.sync_all()?;
            return Ok(Self { key });
        }
    }

    /// The whole keyed digest of some bytes, in hex.
    pub fn full(&self, bytes: &[u8]) -> String {
        blake3::keyed_hash(&self.key, bytes).to_hex().to_string()
    }

    /// A short, stable digest of a value: enough to tell values apart, not to read them.
    pub fn digest(&self, value: &str) -> String {
        let mut hex = blake3::keyed_hash(&self.key, value.as_bytes())
            .to_hex()
            .to_string();
        hex.truncate(12);
        hex
    }
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
    fn digests_are_short_stable_distinct_and_keyed_per_store() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let digests = Digests::of_store(a.path()).unwrap();
        assert_eq!(digests.digest("secret"), digests.digest("secret"));
        assert_ne!(digests.digest("secret"), digests.digest("secreT"));
        assert_eq!(digests.digest("").len(), 12);
        // Not the unkeyed SHA-256 of the value (sha256("hunter2") starts f52fbd32b2b3).
        assert_ne!(digests.digest("hunter2"), "f52fbd32b2b3");
        // The same store, the same key; another store, another.
        let again = Digests::of_store(a.path()).unwrap();
        assert_eq!(again.digest("hunter2"), digests.digest("hunter2"));
        let other = Digests::of_store(b.path()).unwrap();
        assert_ne!(other.digest("hunter2"), digests.digest("hunter2"));
        let mode = std::fs::metadata(a.path().join(KEY_FILE))
            .unwrap()
            .permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
    }
}
