//! The app's feature flags in an export: the engines have no dozen to serve them over OFREP,
//! so each runs flagd (the `OpenFeature` daemon dozen's evaluation follows) on the same
//! definitions file, and the processes get `OFREP_ENDPOINT` pointing at it (docs/flags.md,
//! "Exports").

use std::path::PathBuf;

/// flagd's container image, pinned: the exports are deterministic, and a new flagd is a
/// change to review (its evaluation is what dozen's must match).
pub const IMAGE: &str = "ghcr.io/open-feature/flagd:v0.12.9";
/// flagd's defaults, written out so the files say every port it binds: flag evaluation (gRPC
/// and Connect), management (`/healthz`, `/readyz`, `/metrics`), the sync service, and OFREP.
pub const PORT: u16 = 8013;
pub const MANAGEMENT_PORT: u16 = 8014;
pub const SYNC_PORT: u16 = 8015;
pub const OFREP_PORT: u16 = 8016;
pub use crate::ofrep::ENDPOINT;
/// Where the containers see the definitions.
pub const MOUNT_DIR: &str = "/etc/flagd";
/// Where the systemd unit finds the flagd binary (a release of open-feature/flagd).
pub const BINARY: &str = "/usr/local/bin/flagd";

/// The flags an export carries.
pub struct Flags {
    /// The definitions file's text, exactly (checked as `dozen run` checks it).
    pub text: String,
    /// Absolute: the file in the app directory (its name stays the same in containers).
    pub path: PathBuf,
    /// `[flags] header`: the router stamps it in `dozen run`; no engine here has that router.
    pub header: Option<String>,
}

impl Flags {
    /// The file's name (`flags.json`), as the containers mount it.
    pub fn file_name(&self) -> String {
        self.path.file_name().map_or_else(
            || "flags.json".to_owned(),
            |n| n.to_string_lossy().into_owned(),
        )
    }

    /// `flagd start`'s arguments for definitions at `path`: every port written out.
    pub fn start_args(path: &str) -> Vec<String> {
        vec![
            "start".into(),
            "--uri".into(),
            format!("file:{path}"),
            "--port".into(),
            PORT.to_string(),
            "--ofrep-port".into(),
            OFREP_PORT.to_string(),
            "--management-port".into(),
            MANAGEMENT_PORT.to_string(),
            "--sync-port".into(),
            SYNC_PORT.to_string(),
        ]
    }
}
