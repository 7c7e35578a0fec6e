//! What the project-level rules see: the app model, the files the walk found, which of them
//! git tracks, and the facts the content scan established.

use std::collections::HashSet;
use std::path::Path;

use crate::app::App;
use crate::app::procfile::{ProcessType, Procfile};

use super::files::Kind;

/// One file read by the walk, for the rules that look at a whole file.
pub struct File<'a> {
    /// Relative to the app, `/`-separated.
    pub path: &'a str,
    pub name: &'a str,
    pub kind: Kind,
    pub text: &'a str,
    /// The app's directory (empty in unit tests: no neighbours to read).
    pub root: &'a Path,
}

impl File<'_> {
    /// The text of another file of the app, by its path relative to the app.
    pub fn neighbour(&self, path: &str) -> Option<String> {
        if self.root.as_os_str().is_empty() {
            return None;
        }
        std::fs::read_to_string(self.root.join(path)).ok()
    }
}

impl File<'_> {
    /// 1-based line and column of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (
            before.matches('\n').count() + 1,
            before[line_start..].chars().count() + 1,
        )
    }
}

pub struct Project<'a> {
    pub root: &'a Path,
    pub app: &'a App,
    /// The Procfile's path relative to the app.
    pub procfile_path: &'a str,
    /// Every file the walk saw (vendored trees excluded), sorted.
    pub files: &'a [String],
    /// `None` outside a git repository.
    pub tracked: Option<&'a HashSet<String>>,
    /// What the content scan established about the code.
    pub facts: &'a [Fact],
    /// `Procfile` first, then the alternatives at the app's root (`Procfile.dev`, …) that
    /// `dozen run -f`, foreman and Heroku's `heroku local -f` run.
    pub procfiles: &'a [crate::audit::procfiles::ProcfileAt],
    /// The deployment model (`None` under `--probe-only`, which reads no file).
    pub model: Option<&'a super::model::Model>,
    /// The scripts production runs as it starts, found once for every rule that reads them
    /// (`rules::admin_processes::start_scripts`).
    pub start_scripts: std::sync::OnceLock<Vec<StartScript>>,
}

/// A script production runs each time it starts.
#[derive(Debug, Clone)]
pub struct StartScript {
    /// What runs it, for messages: "`web`", "Dockerfile's ENTRYPOINT".
    pub starter: String,
    /// The name it is run by.
    pub named: String,
    /// The app's file.
    pub path: String,
    /// Whether the shell that runs it is what gets the stop signal: a container's
    /// `ENTRYPOINT`/`CMD`, an init system's service `run` (not a script one of those calls).
    pub signalled: bool,
}

/// Something the code does that a project rule needs to know: it reads `PORT`, it imports a
/// third-party Python module…
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub name: super::scan::Fact,
    pub value: String,
    pub path: String,
    pub line: usize,
    pub column: usize,
}

impl Project<'_> {
    pub fn has(&self, path: &str) -> bool {
        self.files
            .binary_search_by(|p| p.as_str().cmp(path))
            .is_ok()
    }

    /// Whether git tracks the file (outside a repository, everything counts as tracked).
    pub fn is_tracked(&self, path: &str) -> bool {
        self.tracked.is_none_or(|tracked| tracked.contains(path))
    }

    /// Whether production runs or reads the file, as the model says (every file, without one).
    pub fn is_production(&self, path: &str) -> bool {
        self.model
            .is_none_or(|m| m.role(path) == super::model::roles::Role::Production)
    }

    /// The production files whose path ends with `suffix`
    /// (`config/environments/production.rb`), with their text.
    pub fn production_texts<'s>(
        &'s self,
        suffix: &'s str,
    ) -> impl Iterator<Item = (&'s String, String)> + 's {
        self.files
            .iter()
            .filter(move |f| f.ends_with(suffix) && self.is_production(f))
            .filter_map(|f| self.read(f).map(|text| (f, text)))
    }

    /// The Compose files the model says production runs, with their text and documents
    /// (none without a model).
    pub fn production_compose_files(
        &self,
    ) -> impl Iterator<Item = (&String, String, Vec<super::yaml::Node>)> + '_ {
        self.files
            .iter()
            .filter(move |f| {
                self.model.is_some()
                    && super::model::declarations::is_compose(
                        &super::files::name(f).to_ascii_lowercase(),
                    )
                    && self.is_production(f)
            })
            .filter_map(|f| {
                let text = self.read(f)?;
                let documents = super::yaml::parse(&text)?;
                Some((f, text, documents))
            })
    }

    /// The text of the app's file at `path`, at most [`files::MAX_READ`] bytes.
    pub fn read(&self, path: &str) -> Option<String> {
        crate::audit::files::read_bounded(&self.root.join(path))
    }

    /// The facts of one kind, in path order.
    /// The properties of Spring Boot's production config, with the file each is in.
    pub fn spring_properties(&self) -> &[(String, super::model::spring::Property)] {
        self.model.map_or(&[], |m| m.spring.as_slice())
    }

    pub fn facts(&self, name: super::scan::Fact) -> impl Iterator<Item = &Fact> {
        self.facts.iter().filter(move |f| f.name == name)
    }

    pub fn procfile(&self) -> Option<&Procfile> {
        self.app.procfile.as_ref()
    }

    /// Where `needle` is on a line of a Procfile (the line's start when it is not there).
    pub fn procfile_position(&self, path: &str, line: usize, needle: &str) -> (usize, usize) {
        let text = self.read(path).unwrap_or_default();
        let column = text
            .lines()
            .nth(line.saturating_sub(1))
            .and_then(|l| {
                let first = needle.split(' ').next().unwrap_or(needle);
                l.find(needle)
                    .or_else(|| l.find(first))
                    .map(|i| l[..i].chars().count())
            })
            .unwrap_or(0);
        (line, column + 1)
    }

    /// The process types of every Procfile, each with the path of its Procfile.
    pub fn processes(&self) -> impl Iterator<Item = (&str, &ProcessType)> {
        self.procfiles
            .iter()
            .flat_map(|p| p.procfile.types.iter().map(|t| (p.path.as_str(), t)))
    }

    /// The `release:` entries of every Procfile, each with the path of its Procfile.
    pub fn releases(&self) -> impl Iterator<Item = (&str, &ProcessType)> {
        self.procfiles
            .iter()
            .filter_map(|p| p.procfile.release.as_ref().map(|t| (p.path.as_str(), t)))
    }
}
