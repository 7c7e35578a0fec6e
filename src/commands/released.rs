//! What `run` and `exec` need to run a release instead of the working tree.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::context::Context;
use crate::app::environment::{Config, Var};
use crate::app::{App, Locator};
use crate::error::Error;
use crate::store::releases::{Ledger, Status};

/// A release, ready to run: its build tree, its own app model, its config.
pub(super) struct Released {
    pub version: u32,
    pub tree: PathBuf,
    pub app: App,
    pub config: BTreeMap<String, String>,
    pub store: PathBuf,
    /// Held while the release runs, so `gc` cannot remove its build meanwhile.
    _lock: crate::store::StoreLock,
    /// Its tree is in use (checked by the last user out).
    _in_use: crate::store::builds::Use,
}

impl Released {
    /// The current release, or `--release vN`. No release yet: exit 2 with a hint.
    pub fn load(context: &Context, requested: Option<u32>) -> Result<Self, Error> {
        let (working, _) = App::load(&context.locator);
        let store = super::context::open_store(&working)?;
        let lock =
            crate::store::lock_shared(&store).map_err(|e| Error::io("cannot lock the store", e))?;
        let ledger = Ledger::open(&store).map_err(|e| Error::failed(e.to_string()))?;
        let version = match requested {
            Some(version) => version,
            None => ledger
                .current()
                .map_err(|e| Error::failed(e.to_string()))?
                .ok_or_else(|| {
                    Error::usage("no release yet")
                        .hint("create one with `dozen release`, or run the working tree with --dev")
                })?,
        };
        let release = ledger
            .read(version)
            .map_err(|e| Error::usage(e.to_string()))?;
        let status = ledger
            .status(&release)
            .map_err(|e| Error::failed(e.to_string()))?;
        if status != Status::Succeeded {
            return Err(Error::usage(format!(
                "v{version} did not succeed; only succeeded releases run"
            )));
        }
        let (tree, in_use) =
            super::context::use_build(context, &store, &release.build, &format!("v{version}"))?;
        let (mut app, problems) = App::load(&Locator {
            app: Some(tree.clone()),
            procfile: None,
            env_files: None,
        });
        // The release belongs to the app that owns the store, not to its build tree's
        // directory (a build id): exports and `DOZEN_HOME/<name>` use this name.
        app.name.clone_from(&working.name);
        let errors: Vec<_> = problems
            .into_iter()
            .filter(crate::diagnostic::Diagnostic::is_error)
            .collect();
        if !errors.is_empty() {
            return Err(Error::InvalidApp(errors));
        }
        let config = ledger
            .config(version)
            .map_err(|e| Error::failed(e.to_string()))?;
        Ok(Self {
            version,
            tree,
            app,
            config,
            store,
            _lock: lock,
            _in_use: in_use,
        })
    }

    /// The record of the release's build.
    pub fn build(&self) -> Result<crate::build::builder::Record, Error> {
        let ledger = Ledger::open(&self.store).map_err(|e| Error::failed(e.to_string()))?;
        let id = ledger
            .read(self.version)
            .map_err(|e| Error::failed(e.to_string()))?
            .build;
        crate::build::builder::read_record(&crate::build::builder::record_path(&self.store, &id))
            .map_err(|e| Error::failed(e.to_string()))
    }

    /// Refuses (`what`: `export` or `image`) a release whose build names the absolute path it
    /// was built at: it runs only on this machine, at that path.
    pub fn refuse_if_runs_only_here(&self, what: &str) -> Result<(), Error> {
        let build = self.build()?;
        if build.runs_only_here.is_empty() {
            return Ok(());
        }
        Err(Error::failed(format!(
            "v{} runs only here: {} files of its build name the path it was built at, so `dozen {what}` would make something that cannot start elsewhere:\n{}",
            self.version,
            build.runs_only_here.len(),
            crate::build::portable::listed(&build.runs_only_here)
        ))
        .hint("make the build relocatable — install into the tree with relative paths (`pip install --target`, `npm ci`, a static binary; `dozen init` writes such steps) — then `dozen release` (README: \"Portable builds\")"))
    }

    /// The snapshot as a resolved config (for the port rule).
    pub fn as_config(&self) -> Config {
        let file = format!("v{}", self.version);
        Config {
            vars: self
                .config
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        Var {
                            value: v.clone(),
                            file: file.clone(),
                            line: 0,
                        },
                    )
                })
                .collect(),
        }
    }

    /// `[env] inherit` of the release's own manifest.
    pub fn inherit(&self) -> Vec<String> {
        self.app
            .manifest
            .env
            .inherit
            .iter()
            .map(|p| p.get_ref().clone())
            .collect()
    }
}
