//! What a model is made of, which its building and its readers share.

use super::declarations::Process;
use super::roles::Role;

/// One file and its role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRole {
    pub path: String,
    pub role: Role,
    pub why: &'static str,
}

/// A declared process, and whether it is production's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredProcess {
    pub process: Process,
    /// The role of the file that declares it.
    pub role: Role,
}

/// Where an image's init system (s6-overlay, its `services.d` and `cont-init.d`) takes
/// its scripts from: `Some(true)` for a service's `run`, `Some(false)` for a one-shot.
pub fn init_script_kind(image_path: &str) -> Option<bool> {
    let name = crate::audit::files::name(image_path);
    if (image_path.contains("etc/s6-overlay/s6-rc.d/") || image_path.contains("etc/services.d/"))
        && name == "run"
    {
        Some(true)
    } else if image_path.contains("etc/s6-overlay/s6-rc.d/") && name == "up"
        || image_path.contains("etc/cont-init.d/")
        // The scripts an image's entrypoint runs at every start (`/docker-entrypoint.d/`,
        // as nginx's and serversideup's PHP images do), not a database's one-time init.
        || (image_path.contains("/entrypoint.d/") || image_path.contains("docker-entrypoint.d/"))
            && crate::audit::files::has_extension(name, &["sh"])
    {
        Some(false)
    } else {
        None
    }
}

/// A quoted file name that says it is a default or a template (`config.default.php`): its
/// name is the first group. The walk's scan looks for it in the code
/// (`Fact::NamesDefaultsFile`).
pub const DEFAULTS_FILE_NAME: &str =
    r#"["'/]([A-Za-z0-9_-]+(?:[.-][A-Za-z0-9_-]+)*\.(?:default|dist)\.[A-Za-z0-9]+)["']"#;
