//! What an answer from a registry, a token service or a blob's redirect may cost.

use std::time::Duration;

pub(super) const TIMEOUT: Duration = Duration::from_secs(30);

/// What one answer's body may cost: its bytes, and the time from the request sent to the
/// body's end (docs/image.md, "What a registry may cost").
#[derive(Debug, Clone, Copy)]
pub(super) struct Budget {
    pub bytes: u64,
    pub time: Duration,
}

/// A manifest or an index: containerd's limit.
pub(super) const MANIFEST: Budget = Budget {
    bytes: 4 << 20,
    time: Duration::from_secs(60),
};
/// A token service's answer.
pub(super) const TOKEN: Budget = Budget {
    bytes: 1 << 20,
    time: Duration::from_secs(60),
};
/// The answer to a HEAD, an upload's start or end, a manifest's push.
pub(super) const SMALL: Budget = Budget {
    bytes: 64 << 10,
    time: Duration::from_secs(60),
};
/// The most of an error's body kept (the rest is not read; the connection is closed).
pub(super) const ERROR_BODY: u64 = 4 << 10;

/// A blob's budget: exactly its size, in a minute plus its size at 256 KiB/s.
pub(super) fn blob_budget(size: u64) -> Budget {
    Budget {
        bytes: size,
        time: Duration::from_secs(60 + size / (256 << 10)),
    }
}
