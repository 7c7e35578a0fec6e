//! `[requires] tools`: is each declared tool on `PATH`?

use std::path::{Path, PathBuf};

use toml::Spanned;

use crate::diagnostic::Diagnostic;
use crate::source::Source;

/// Where `name` would be found on `PATH`, like `which`.
pub fn which(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        return is_executable(Path::new(name)).then(|| PathBuf::from(name));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A warning for each declared tool missing from `PATH`.
pub(super) fn check(tools: &[Spanned<String>], source: &Source) -> Vec<Diagnostic> {
    tools
        .iter()
        .filter(|tool| which(tool.get_ref()).is_none())
        .map(|tool| {
            Diagnostic::warning(
                super::manifest::located(source, tool.span()),
                format!("declared tool `{}` is not on PATH", tool.get_ref()),
            )
        })
        .collect()
}
