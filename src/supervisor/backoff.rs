//! When to restart a process that exited: exponential backoff with a cap, reset after a
//! stable period, and a limit after which dozen gives up.

use std::time::Duration;

pub const FIRST_DELAY: Duration = Duration::from_secs(1);
pub const MAX_DELAY: Duration = Duration::from_secs(30);
/// Up this long, a process counts as stable and its restart count starts again.
pub const STABLE_AFTER: Duration = Duration::from_secs(30);
/// Restarts in a row (without a stable period between them) before giving up.
pub const MAX_RESTARTS: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Restarts since the last stable period.
    pub restarts: u32,
    pub first_delay: Duration,
    pub max_restarts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            restarts: 0,
            first_delay: FIRST_DELAY,
            max_restarts: MAX_RESTARTS,
        }
    }
}

/// What to do about an exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Restart after this delay; this will be restart number `attempt` of the limit.
    RestartIn {
        delay: Duration,
        attempt: u32,
    },
    GiveUp,
}

impl Backoff {
    /// An instance that ran for `uptime` exited and its policy wants it restarted.
    pub fn next(&mut self, uptime: Duration) -> Decision {
        if uptime >= STABLE_AFTER {
            self.restarts = 0;
        }
        if self.restarts >= self.max_restarts {
            return Decision::GiveUp;
        }
        let delay = self
            .first_delay
            .saturating_mul(1 << self.restarts.min(16))
            .min(MAX_DELAY);
        self.restarts += 1;
        Decision::RestartIn {
            delay,
            attempt: self.restarts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_caps_gives_up_and_resets() {
        let mut backoff = Backoff::default();
        let quick = Duration::from_millis(100);
        let delays: Vec<Decision> = (0..6).map(|_| backoff.next(quick)).collect();
        assert_eq!(
            delays[0],
            Decision::RestartIn {
                delay: Duration::from_secs(1),
                attempt: 1
            }
        );
        assert_eq!(
            delays[3],
            Decision::RestartIn {
                delay: Duration::from_secs(8),
                attempt: 4
            }
        );
        assert_eq!(
            delays[4],
            Decision::RestartIn {
                delay: Duration::from_secs(16),
                attempt: 5
            }
        );
        assert_eq!(delays[5], Decision::GiveUp);
        assert_eq!(
            backoff.next(STABLE_AFTER),
            Decision::RestartIn {
                delay: Duration::from_secs(1),
                attempt: 1
            }
        );
        let mut long = Backoff {
            restarts: 4,
            ..Backoff::default()
        };
        assert_eq!(
            long.next(quick),
            Decision::RestartIn {
                delay: Duration::from_secs(16),
                attempt: 5
            }
        );
        let mut capped = Backoff::default();
        for _ in 0..4 {
            capped.next(quick);
        }
        assert!(
            matches!(capped.next(quick), Decision::RestartIn { delay, .. } if delay <= MAX_DELAY)
        );
    }

    #[test]
    fn the_first_delay_and_the_limit_are_configurable() {
        let quick = Duration::from_millis(100);
        let mut fast = Backoff {
            first_delay: Duration::from_millis(50),
            max_restarts: 2,
            ..Backoff::default()
        };
        assert_eq!(
            fast.next(quick),
            Decision::RestartIn {
                delay: Duration::from_millis(50),
                attempt: 1
            }
        );
        assert_eq!(
            fast.next(quick),
            Decision::RestartIn {
                delay: Duration::from_millis(100),
                attempt: 2
            }
        );
        assert_eq!(fast.next(quick), Decision::GiveUp);
    }
}
