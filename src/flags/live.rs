//! The definitions a run serves, replaced whole when the file changes: readers (OFREP
//! requests, the router) take the current set with one lock and one reference count, and keep
//! it for as long as they evaluate, whatever replaces it meanwhile.

use std::fmt::Write as _;
use std::sync::{Arc, RwLock};

use sha2::Digest as _;

use super::definitions::Definitions;

/// A loaded set of definitions and what it was loaded from.
#[derive(Debug)]
pub struct Loaded {
    pub definitions: Definitions,
    /// The first 16 hex digits of the file's SHA-256: the same text is the same set.
    pub digest: String,
    /// 1 for the set the run started with, one more at each change.
    pub generation: u64,
}

/// The current set.
#[derive(Debug)]
pub struct Live {
    current: RwLock<Arc<Loaded>>,
}

/// The first 16 hex digits of `text`'s SHA-256.
pub fn digest(text: &[u8]) -> String {
    let hash = sha2::Sha256::digest(text);
    hash.iter()
        .take(8)
        .fold(String::with_capacity(16), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

impl Live {
    pub fn new(definitions: Definitions, text: &[u8]) -> Self {
        Self {
            current: RwLock::new(Arc::new(Loaded {
                definitions,
                digest: digest(text),
                generation: 1,
            })),
        }
    }

    /// The set in effect now.
    pub fn current(&self) -> Arc<Loaded> {
        Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Puts `definitions` (read from `text`) in effect, unless the same text already is: the
    /// set now, and whether it changed.
    pub fn replace(&self, definitions: Definitions, text: &[u8]) -> (Arc<Loaded>, bool) {
        let digest = digest(text);
        let mut current = self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if current.digest == digest {
            return (Arc::clone(&current), false);
        }
        let loaded = Arc::new(Loaded {
            definitions,
            digest,
            generation: current.generation + 1,
        });
        *current = Arc::clone(&loaded);
        (loaded, true)
    }
}
