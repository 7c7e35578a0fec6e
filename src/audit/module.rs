//! A factor's part of the audit, as the rules' files declare it.

use super::finding::Finding;
use super::project::Project;
use super::rule::Rule;
use super::scan::Pattern;

/// A factor's part of the audit: its rules, the content patterns that report them (or
/// establish facts for the project checks), and the check that reads the whole project.
pub struct Module {
    pub rules: &'static [&'static Rule],
    pub patterns: &'static [&'static [Pattern]],
    pub check: fn(&Project<'_>, &mut Vec<Finding>),
}
