//! What goes wrong with the store's small files — the stored formation, the drains, the
//! history: reading or writing them, or what they hold. Every error names its file.

use std::path::PathBuf;

use crate::logs::url::UrlError;

/// Why a store file cannot be read, written or trusted.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading the file failed (a missing file is no error: it holds nothing yet).
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Writing the file failed.
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Appending a line to the file failed.
    #[error("cannot append to {}: {source}", .path.display())]
    Append {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Opening or taking the file's lock failed; the message is the system's alone.
    #[error("{source}")]
    Lock {
        /// The lock file.
        path: PathBuf,
        source: std::io::Error,
    },
    /// The stored formation cannot be trusted.
    #[error("{}: {damage}; fix it, or remove it and `dozen scale` again", .path.display())]
    Formation {
        path: PathBuf,
        #[source]
        damage: FormationDamage,
    },
    /// The drains file is not JSON of its shape.
    #[error(
        "{}:{}:{}: not a drains file: {source}",
        .path.display(),
        .source.line(),
        .source.column()
    )]
    DrainsFile {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// A stored drain URL does not parse.
    #[error("{}: drain {number}: {source}", .path.display())]
    Drain {
        path: PathBuf,
        /// Its place in the file, from 1.
        number: usize,
        source: UrlError,
    },
    /// A deploy record that is not JSON of its shape.
    #[error(
        "{}:{}:{}: not a deploy record: {source}; the store file was damaged or edited by hand",
        .path.display(),
        .source.line(),
        .source.column()
    )]
    DeployRecord {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// What is wrong with what the stored formation holds.
#[derive(Debug, thiserror::Error)]
pub enum FormationDamage {
    /// Not JSON of its shape.
    #[error(
        "not a stored formation (line {line}, column {column}: {source})",
        line = .source.line(),
        column = .source.column()
    )]
    NotJson { source: serde_json::Error },
    /// A schema this dozen does not read.
    #[error("schema {0} (this dozen reads schema 1)")]
    Schema(u32),
    /// A name no process type can have.
    #[error("`{0}` cannot be a process type")]
    NotAName(String),
    /// More instances of a type than a formation may have.
    #[error(
        "{count} instances of {name}: at most {max} per type",
        max = crate::app::manifest::MAX_INSTANCES
    )]
    TooMany { name: String, count: u32 },
}
