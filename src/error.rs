//! Errors at the command edge, each with its exit code and a hint where one helps.

use crate::diagnostic::Diagnostic;
use crate::exit_code;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad arguments (exit 2).
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    /// The thing asked for failed (exit 1).
    #[error("{message}")]
    Failed {
        message: String,
        hint: Option<String>,
    },
    /// The app's files have errors; they are printed as diagnostics (exit 2).
    #[error("the app has errors")]
    InvalidApp(Vec<Diagnostic>),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// Stdout was closed (`dozen config | head`): not an error for the user.
    #[error("broken pipe")]
    BrokenPipe,
}

impl Error {
    pub fn usage(message: impl Into<String>) -> Self {
        Self::Usage {
            message: message.into(),
            hint: None,
        }
    }

    pub fn failed(message: impl Into<String>) -> Self {
        Self::Failed {
            message: message.into(),
            hint: None,
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    #[must_use]
    pub fn hint(self, hint: impl Into<String>) -> Self {
        match self {
            Self::Usage { message, .. } => Self::Usage {
                message,
                hint: Some(hint.into()),
            },
            Self::Failed { message, .. } => Self::Failed {
                message,
                hint: Some(hint.into()),
            },
            other => other,
        }
    }

    /// Writing to stdout failed: a closed pipe ends the command quietly; anything else is
    /// said as what it is. (No blanket conversion from `io::Error`: every other I/O error
    /// says what was being done.)
    pub fn stdout(error: std::io::Error) -> Self {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            Self::BrokenPipe
        } else {
            Self::io("cannot write to stdout", error)
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Usage { .. } | Self::InvalidApp(_) => exit_code::USAGE,
            Self::Failed { .. } | Self::Io { .. } => exit_code::FAILURE,
            Self::BrokenPipe => exit_code::SUCCESS,
        }
    }
}
