//! File descriptors: what the router's connections cost, what the process may open
//! (`RLIMIT_NOFILE`), and running out of them told as that — never as an instance refusing.
//!
//! Each client connection the router serves holds two descriptors (its socket and one to an
//! instance). A soft limit below what `max_connections` needs would show up under load as
//! connections failing with EMFILE, so the two are reconciled once, at start, as nginx and Go
//! do: a short soft limit is raised to the hard one, and when even that cannot hold
//! `max_connections`, it is lowered to what fits, and said once.

use rustix::io::Errno;
use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Descriptors per client connection: its socket, and its connection to an instance.
pub const PER_CONNECTION: u64 = 2;

/// Descriptors kept for everything else a run opens: the instances' output pipes, the
/// control socket and its clients, log drains, health checks, the runtimes' own, and idle
/// pooled instance connections beyond those in use.
pub const HEADROOM: u64 = 256;

/// The process, or the system, has no descriptor left for a new socket: the router's own
/// shortage, not an instance's doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Exhausted {
    #[error("too many open files (EMFILE: the router's RLIMIT_NOFILE is reached)")]
    Process,
    #[error("too many open files in the system (ENFILE)")]
    System,
}

impl Exhausted {
    /// Whether an I/O error is running out of descriptors.
    pub fn of(error: &std::io::Error) -> Option<Self> {
        match Errno::from_io_error(error)? {
            Errno::MFILE => Some(Self::Process),
            Errno::NFILE => Some(Self::System),
            _ => None,
        }
    }
}

/// What reconciling `max_connections` with the descriptor limit came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fit {
    /// The client connections the router takes at once.
    pub max_connections: usize,
    /// What was asked, when that did not fit and was lowered.
    pub lowered_from: Option<usize>,
    /// The soft limit now (`None`: unlimited), and the hard one.
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

impl Fit {
    /// The line said once at start when `max_connections` was lowered.
    pub fn warning(&self) -> Option<String> {
        let asked = self.lowered_from?;
        let limit = |l: Option<u64>| l.map_or_else(|| "unlimited".to_owned(), |l| l.to_string());
        Some(format!(
            "router max_connections lowered from {asked} to {}: the open-files limit (RLIMIT_NOFILE) is {} (hard limit {}), each connection takes {PER_CONNECTION} and {HEADROOM} are kept for the rest; raise the hard limit (ulimit -Hn, systemd's LimitNOFILE=) to keep {asked}",
            self.max_connections,
            limit(self.soft),
            limit(self.hard),
        ))
    }
}

/// Reconciles `max_connections` with this process's `RLIMIT_NOFILE`, raising the soft limit
/// to the hard one when it is short. Instances keep the limit dozen started with (the nursery
/// that starts them was forked before).
pub fn fit(max_connections: usize) -> Fit {
    let limit = getrlimit(Resource::Nofile);
    let mut soft = limit.current;
    if let Some(raised) = raise_to(limit.current, limit.maximum, needed(max_connections)) {
        let new = Rlimit {
            current: Some(raised),
            maximum: limit.maximum,
        };
        if setrlimit(Resource::Nofile, new).is_ok() {
            soft = Some(raised);
        }
    }
    fitting(max_connections, soft, limit.maximum)
}

/// Descriptors `max_connections` needs.
fn needed(max_connections: usize) -> u64 {
    (max_connections as u64)
        .saturating_mul(PER_CONNECTION)
        .saturating_add(HEADROOM)
}

/// The soft limit to raise to, if it is short of `needed`: the hard limit (or, unlimited,
/// what is needed: Linux refuses an unlimited soft limit for descriptors).
fn raise_to(soft: Option<u64>, hard: Option<u64>, needed: u64) -> Option<u64> {
    let soft = soft?;
    let target = hard.unwrap_or(needed);
    (soft < needed && target > soft).then_some(target)
}

/// `max_connections` within the soft limit: as asked when it fits, else what does (one at
/// least: the router still serves, and says why it serves so few).
fn fitting(max_connections: usize, soft: Option<u64>, hard: Option<u64>) -> Fit {
    let fits = soft.is_none_or(|soft| soft >= needed(max_connections));
    let lowered = soft
        .filter(|_| !fits)
        .map(|soft| (soft.saturating_sub(HEADROOM) / PER_CONNECTION).max(1))
        .map(|most| {
            usize::try_from(most)
                .unwrap_or(usize::MAX)
                .min(max_connections)
        });
    Fit {
        max_connections: lowered.unwrap_or(max_connections),
        lowered_from: lowered.map(|_| max_connections),
        soft,
        hard,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_soft_limit_is_raised_to_the_hard_one() {
        assert_eq!(raise_to(Some(1024), Some(524_288), 20_256), Some(524_288));
        assert_eq!(raise_to(Some(1024), None, 20_256), Some(20_256));
        assert_eq!(
            raise_to(Some(65_536), Some(524_288), 20_256),
            None,
            "enough"
        );
        assert_eq!(raise_to(Some(1024), Some(1024), 20_256), None, "no higher");
        assert_eq!(raise_to(None, None, 20_256), None, "unlimited");
    }

    #[test]
    fn max_connections_is_lowered_to_what_the_limit_holds_and_said() {
        let fit = fitting(10_000, Some(1024), Some(1024));
        assert_eq!(fit.max_connections, 384);
        assert_eq!(fit.lowered_from, Some(10_000));
        let warning = fit.warning().unwrap();
        assert!(
            warning.starts_with("router max_connections lowered from 10000 to 384: the open-files limit (RLIMIT_NOFILE) is 1024 (hard limit 1024)"),
            "{warning}"
        );
        assert_eq!(fitting(100, Some(1024), Some(1024)).lowered_from, None);
        assert_eq!(fitting(10_000, None, None).max_connections, 10_000);
        assert_eq!(fitting(10_000, Some(100), Some(100)).max_connections, 1);
        assert!(fitting(100, Some(1024), None).warning().is_none());
    }

    #[test]
    fn running_out_of_descriptors_is_told_apart() {
        let emfile = std::io::Error::from_raw_os_error(Errno::MFILE.raw_os_error());
        assert_eq!(Exhausted::of(&emfile), Some(Exhausted::Process));
        assert!(
            Exhausted::Process
                .to_string()
                .contains("too many open files")
        );
        let refused = std::io::Error::from_raw_os_error(Errno::CONNREFUSED.raw_os_error());
        assert_eq!(Exhausted::of(&refused), None);
    }
}
