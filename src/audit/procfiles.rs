//! The Procfiles the audit reads: `Procfile` and the alternatives beside it.

use std::path::Path;

use crate::app::procfile::Procfile;

/// A Procfile the rules read, with what parsing it found wrong.
pub struct ProcfileAt {
    /// Relative to the app.
    pub path: String,
    pub procfile: Procfile,
    pub problems: Vec<crate::diagnostic::Diagnostic>,
}

impl ProcfileAt {
    /// The alternative Procfiles among the app's files: `Procfile.*` at its root.
    pub fn alternatives(root: &Path, files: &[String]) -> Vec<Self> {
        files
            .iter()
            // `Procfile.sh` is the script a Procfile runs, not another Procfile.
            .filter(|path| {
                path.starts_with("Procfile.")
                    && !path.contains('/')
                    && crate::audit::files::kind(path) != crate::audit::files::Kind::Code
            })
            .filter_map(|path| {
                let bytes = std::fs::read(root.join(path)).ok()?;
                let source = crate::source::Source::from_bytes(path.clone(), &bytes).ok()?;
                let (procfile, problems) = Procfile::parse(&source);
                Some(Self {
                    path: path.clone(),
                    procfile,
                    problems,
                })
            })
            .collect()
    }
}
