//! `[schedule.NAME] concurrency`: what a fire does while a run of its schedule is going.

use serde::Deserialize;

/// What a fire does while a run of the same schedule is still going.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Concurrency {
    /// The fire is skipped (said, and in the history). The default: a job that overruns its
    /// period does not pile up copies of itself, each slowing the others.
    #[default]
    Forbid,
    /// Another run starts beside it.
    Allow,
    /// The running one is stopped and a new one starts.
    Replace,
}

impl Concurrency {
    /// As Kubernetes spells it (`concurrencyPolicy`).
    pub fn kubernetes(self) -> &'static str {
        match self {
            Self::Forbid => "Forbid",
            Self::Allow => "Allow",
            Self::Replace => "Replace",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Forbid => "forbid",
            Self::Allow => "allow",
            Self::Replace => "replace",
        }
    }
}
