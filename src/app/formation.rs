//! The formation: how many instances of each process type run, and their names and ports.

use indexmap::IndexMap;

use super::manifest::{MAX_INSTANCES, Manifest};
use super::name::is_valid_name;
use super::procfile::Procfile;
use crate::diagnostic::did_you_mean;

/// Instance counts per process type, in Procfile order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Formation {
    pub counts: IndexMap<String, u32>,
}

/// One instance to run: `web.2` on port 5001.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub type_name: String,
    /// 1-based.
    pub index: u32,
    pub port: u16,
    pub command: String,
}

impl Instance {
    /// `web.1`, as foreman and Heroku name it (`PS`, `DOZEN_PROCESS`).
    pub fn name(&self) -> String {
        format!("{}.{}", self.type_name, self.index)
    }
}

/// What is wrong with an item of a `-m/--formation` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormationFlagError {
    /// An item without `=`.
    #[error("`{item}` is not TYPE=COUNT")]
    NotTypeCount { item: String },
    /// A count that is not a whole number from 0.
    #[error("`{count}` in `{item}` is not a count")]
    NotACount { count: String, item: String },
    /// More than [`MAX_INSTANCES`] of one type.
    #[error("{count} instances in `{item}`: at most {max} per type", max = MAX_INSTANCES)]
    TooMany { count: u32, item: String },
    /// A name no process type can have.
    #[error("`{name}` in `{item}` is not a process type name")]
    NotAName { name: String, item: String },
}

/// What is wrong with an argument of `dozen scale`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScaleChangeError {
    /// No `=`, `+` or `-` after a type name.
    #[error("`{0}` is not TYPE=N, TYPE+N or TYPE-N")]
    NotAChange(String),
    /// What follows the operator is not a count.
    #[error("`{arg}`: `{digits}` is not a count")]
    NotACount { arg: String, digits: String },
    /// What precedes the operator is not a process type's name.
    #[error("`{arg}`: `{name}` is not a process type name")]
    NotAName { arg: String, name: String },
}

/// Why a formation cannot be resolved, scaled or given ports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormationError {
    /// `-m` or `dozen run TYPE` names a type the Procfile does not have.
    #[error(
        "`{name}` is not a process type in the Procfile{hint}",
        hint = did_you_mean_hint(.suggestion.as_deref())
    )]
    UnknownType {
        name: String,
        /// The Procfile's type closest to it, if one is close.
        suggestion: Option<String>,
    },
    /// A `dozen scale` change names a type the Procfile does not have.
    #[error(
        "`{change}`: `{name}` is not a process type in the Procfile{hint}",
        name = .change.type_name,
        hint = did_you_mean_hint(.suggestion.as_deref())
    )]
    UnknownScaledType {
        change: ScaleChange,
        /// The Procfile's type closest to it, if one is close.
        suggestion: Option<String>,
    },
    /// A change would take a type below 0 or above [`MAX_INSTANCES`].
    #[error(
        "`{change}` would make {name} {count} instances: between 0 and {max}",
        name = .change.type_name,
        max = MAX_INSTANCES
    )]
    OutOfRange {
        change: ScaleChange,
        /// The count it would make.
        count: i64,
    },
    /// An instance's port (foreman's rule) would be above 65535.
    #[error("{instance} would need port {port}, above 65535; lower the base port")]
    PortTooHigh {
        /// `web.3`.
        instance: String,
        port: usize,
    },
}

/// `; did you mean `web`?`, or nothing.
fn did_you_mean_hint(suggestion: Option<&str>) -> String {
    suggestion
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default()
}

/// A `-m/--formation` value: `web=2,worker=1`, with `all=N` for every type not listed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FormationFlag {
    pub all: Option<u32>,
    pub counts: Vec<(String, u32)>,
}

impl FormationFlag {
    pub fn parse(text: &str) -> Result<Self, FormationFlagError> {
        let mut flag = Self::default();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let Some((name, count)) = item.split_once('=') else {
                return Err(FormationFlagError::NotTypeCount {
                    item: item.to_owned(),
                });
            };
            let (name, count) = (name.trim(), count.trim());
            let count: u32 = count.parse().map_err(|_| FormationFlagError::NotACount {
                count: count.to_owned(),
                item: item.to_owned(),
            })?;
            if count > MAX_INSTANCES {
                return Err(FormationFlagError::TooMany {
                    count,
                    item: item.to_owned(),
                });
            }
            if name == "all" {
                flag.all = Some(count);
            } else if is_valid_name(name) {
                flag.counts.push((name.to_owned(), count));
            } else {
                return Err(FormationFlagError::NotAName {
                    name: name.to_owned(),
                    item: item.to_owned(),
                });
            }
        }
        Ok(flag)
    }
}

/// One argument of `dozen scale`: `web=3`, `worker+1`, `clock-2` (Heroku's syntax).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScaleChange {
    #[serde(rename = "type")]
    pub type_name: String,
    pub op: ScaleOp,
    pub count: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ScaleOp {
    #[serde(rename = "=")]
    Set,
    #[serde(rename = "+")]
    Add,
    #[serde(rename = "-")]
    Remove,
}

impl ScaleChange {
    pub fn parse(arg: &str) -> Result<Self, ScaleChangeError> {
        let at = arg
            .find(['=', '+', '-'])
            .filter(|&i| i > 0)
            .ok_or_else(|| ScaleChangeError::NotAChange(arg.to_owned()))?;
        // A type name may contain `-`: the operator is the last `=`/`+`/`-` before the digits
        // (found by characters, never by a byte inside one).
        let digits_start = arg.len() - arg.chars().rev().take_while(char::is_ascii_digit).count();
        let before_digits = arg[..digits_start].chars().next_back();
        let at = match before_digits {
            Some(c @ ('=' | '+' | '-')) if digits_start < arg.len() => digits_start - c.len_utf8(),
            _ => at,
        };
        let (name, rest) = arg.split_at(at);
        let mut chars = rest.chars();
        let op = match chars.next() {
            Some('=') => ScaleOp::Set,
            Some('+') => ScaleOp::Add,
            Some('-') => ScaleOp::Remove,
            _ => return Err(ScaleChangeError::NotAChange(arg.to_owned())),
        };
        let digits = chars.as_str();
        let count: u32 = digits.parse().map_err(|_| ScaleChangeError::NotACount {
            arg: arg.to_owned(),
            digits: digits.to_owned(),
        })?;
        if !is_valid_name(name) {
            return Err(ScaleChangeError::NotAName {
                arg: arg.to_owned(),
                name: name.to_owned(),
            });
        }
        Ok(Self {
            type_name: name.to_owned(),
            op,
            count,
        })
    }
}

impl std::fmt::Display for ScaleChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = match self.op {
            ScaleOp::Set => '=',
            ScaleOp::Add => '+',
            ScaleOp::Remove => '-',
        };
        write!(f, "{}{op}{}", self.type_name, self.count)
    }
}

impl Formation {
    /// The formation after `changes`, all or nothing: every type must be one of `types` (the
    /// Procfile's, in order) and every result between 0 and [`MAX_INSTANCES`].
    pub fn scaled(&self, types: &[&str], changes: &[ScaleChange]) -> Result<Self, FormationError> {
        let mut counts = self.counts.clone();
        for change in changes {
            if !types.contains(&change.type_name.as_str()) {
                return Err(FormationError::UnknownScaledType {
                    change: change.clone(),
                    suggestion: did_you_mean(&change.type_name, types.iter().copied())
                        .map(str::to_owned),
                });
            }
            let current = counts.get(&change.type_name).copied().unwrap_or(0);
            let next = match change.op {
                ScaleOp::Set => Some(change.count),
                ScaleOp::Add => current.checked_add(change.count),
                ScaleOp::Remove => current.checked_sub(change.count),
            };
            let next =
                next.filter(|n| *n <= MAX_INSTANCES)
                    .ok_or_else(|| FormationError::OutOfRange {
                        change: change.clone(),
                        count: i64::from(current)
                            + match change.op {
                                ScaleOp::Set => i64::from(change.count) - i64::from(current),
                                ScaleOp::Add => i64::from(change.count),
                                ScaleOp::Remove => -i64::from(change.count),
                            },
                    })?;
            counts.insert(change.type_name.clone(), next);
        }
        // Procfile order, every type present.
        let counts = types
            .iter()
            .map(|t| ((*t).to_owned(), counts.get(*t).copied().unwrap_or(0)))
            .collect();
        Ok(Self { counts })
    }

    /// `web=2 worker=1 clock=0`, as `dozen scale` prints it.
    pub fn describe(&self) -> String {
        self.counts
            .iter()
            .map(|(name, count)| format!("{name}={count}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The formation to run.
    ///
    /// - With `-m`: exactly what it says; unlisted types run `all=N` instances, else none (as
    ///   in foreman, where `-m web=2` runs only web).
    /// - Else the stored formation (the last `dozen scale`), for the types it names.
    /// - Else the manifest's `[formation]` over one instance of each type.
    /// - `only` (`dozen run web worker`) keeps just those types, at least one instance each.
    pub fn resolve(
        procfile: &Procfile,
        manifest: &Manifest,
        flag: Option<&FormationFlag>,
        stored: Option<&IndexMap<String, u32>>,
        only: &[String],
    ) -> Result<Self, FormationError> {
        let known = |name: &str| -> Result<(), FormationError> {
            if procfile.get(name).is_some() {
                return Ok(());
            }
            Err(FormationError::UnknownType {
                name: name.to_owned(),
                suggestion: did_you_mean(name, procfile.names()).map(str::to_owned),
            })
        };
        let mut counts: IndexMap<String, u32> = IndexMap::new();
        for t in &procfile.types {
            let count = match flag {
                Some(flag) => flag.all.unwrap_or(0),
                None => stored
                    .and_then(|s| s.get(&t.name).copied())
                    .unwrap_or_else(|| {
                        manifest
                            .formation
                            .iter()
                            .find(|(k, _)| *k.get_ref() == t.name)
                            .map_or(1, |(_, v)| *v.get_ref())
                    }),
            };
            counts.insert(t.name.clone(), count);
        }
        if let Some(flag) = flag {
            for (name, count) in &flag.counts {
                known(name)?;
                counts.insert(name.clone(), *count);
            }
        }
        if !only.is_empty() {
            for name in only {
                known(name)?;
            }
            for (name, count) in &mut counts {
                *count = if only.contains(name) {
                    (*count).max(1)
                } else {
                    0
                };
            }
        }
        Ok(Self { counts })
    }

    pub fn total(&self) -> u32 {
        self.counts.values().sum()
    }

    /// Every instance, in Procfile order: `PORT = base + 100 × type index + (instance − 1)`,
    /// where the type index counts every Procfile type, running or not (foreman's rule).
    pub fn instances(
        &self,
        procfile: &Procfile,
        base_port: u16,
    ) -> Result<Vec<Instance>, FormationError> {
        let mut instances = Vec::new();
        for (type_index, t) in procfile.types.iter().enumerate() {
            let count = self.counts.get(&t.name).copied().unwrap_or(0);
            for index in 1..=count {
                let port =
                    super::ports::instance_port(base_port, type_index, index).map_err(|port| {
                        FormationError::PortTooHigh {
                            instance: format!("{}.{index}", t.name),
                            port,
                        }
                    })?;
                instances.push(Instance {
                    type_name: t.name.clone(),
                    index,
                    port,
                    command: t.command.clone(),
                });
            }
        }
        Ok(instances)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_arguments_with_any_characters_are_errors_never_panics() {
        for arg in [
            "web=é5",
            "wéb+5",
            "é",
            "=5",
            "web=",
            "web-é",
            "web=5é",
            "ß-3",
            "-",
            "+1",
            "a=99999999999",
        ] {
            assert!(ScaleChange::parse(arg).is_err(), "{arg}");
        }
        assert_eq!(ScaleChange::parse("my-web-2").unwrap().count, 2);
        assert_eq!(ScaleChange::parse("my-web-2").unwrap().type_name, "my-web");
    }

    proptest::proptest! {
        #[test]
        fn scale_parse_never_panics(arg in "\\PC{0,12}") {
            let _ = ScaleChange::parse(&arg);
        }
    }
    use crate::source::Source;

    fn procfile() -> Procfile {
        Procfile::parse(&Source::new(
            "Procfile",
            "web: w\nworker: k\nclock: c\nrelease: r\n",
        ))
        .0
    }

    fn manifest(text: &str) -> Manifest {
        Manifest::parse(&Source::new("dozen.toml", text)).unwrap()
    }

    fn counts(f: &Formation) -> Vec<(&str, u32)> {
        f.counts.iter().map(|(k, v)| (k.as_str(), *v)).collect()
    }

    #[test]
    fn flag_syntax() {
        assert_eq!(
            FormationFlag::parse("web=2, worker=1,all=3").unwrap(),
            FormationFlag {
                all: Some(3),
                counts: vec![("web".into(), 2), ("worker".into(), 1)]
            }
        );
        let error = |text| FormationFlag::parse(text).unwrap_err().to_string();
        assert_eq!(error("web"), "`web` is not TYPE=COUNT");
        assert_eq!(error("web=-1"), "`-1` in `web=-1` is not a count");
        assert_eq!(error("web=x"), "`x` in `web=x` is not a count");
        assert_eq!(
            error("web=101"),
            "101 instances in `web=101`: at most 100 per type"
        );
        assert_eq!(
            error("w.b=1"),
            "`w.b` in `w.b=1` is not a process type name"
        );
    }

    #[test]
    fn default_is_one_each_with_the_manifest_over_it() {
        let f = Formation::resolve(&procfile(), &Manifest::default(), None, None, &[]).unwrap();
        assert_eq!(counts(&f), [("web", 1), ("worker", 1), ("clock", 1)]);
        let f = Formation::resolve(
            &procfile(),
            &manifest("[formation]\nweb = 3\nclock = 0\n"),
            None,
            None,
            &[],
        )
        .unwrap();
        assert_eq!(counts(&f), [("web", 3), ("worker", 1), ("clock", 0)]);
    }

    #[test]
    fn flag_replaces_and_all_fills_in() {
        let flag = FormationFlag::parse("web=2").unwrap();
        let f = Formation::resolve(
            &procfile(),
            &manifest("[formation]\nworker = 4\n"),
            Some(&flag),
            None,
            &[],
        )
        .unwrap();
        assert_eq!(counts(&f), [("web", 2), ("worker", 0), ("clock", 0)]);
        let flag = FormationFlag::parse("all=2,clock=0").unwrap();
        let f =
            Formation::resolve(&procfile(), &Manifest::default(), Some(&flag), None, &[]).unwrap();
        assert_eq!(counts(&f), [("web", 2), ("worker", 2), ("clock", 0)]);
        let flag = FormationFlag::parse("wbe=1").unwrap();
        assert_eq!(
            Formation::resolve(&procfile(), &Manifest::default(), Some(&flag), None, &[])
                .unwrap_err()
                .to_string(),
            "`wbe` is not a process type in the Procfile; did you mean `web`?"
        );
        let flag = FormationFlag::parse("release=1").unwrap();
        assert_eq!(
            Formation::resolve(&procfile(), &Manifest::default(), Some(&flag), None, &[]),
            Err(FormationError::UnknownType {
                name: "release".into(),
                suggestion: None
            })
        );
    }

    #[test]
    fn stored_formation_comes_after_the_flag_and_before_the_manifest() {
        let stored: IndexMap<String, u32> = [("web".to_owned(), 4), ("clock".to_owned(), 0)]
            .into_iter()
            .collect();
        let m = manifest("[formation]\nweb = 2\nworker = 3\n");
        let f = Formation::resolve(&procfile(), &m, None, Some(&stored), &[]).unwrap();
        assert_eq!(counts(&f), [("web", 4), ("worker", 3), ("clock", 0)]);
        let flag = FormationFlag::parse("worker=1").unwrap();
        let f = Formation::resolve(&procfile(), &m, Some(&flag), Some(&stored), &[]).unwrap();
        assert_eq!(counts(&f), [("web", 0), ("worker", 1), ("clock", 0)]);
    }

    #[test]
    fn scale_syntax_and_arithmetic() {
        let parse = |a: &str| ScaleChange::parse(a);
        assert_eq!(
            parse("web=3").unwrap(),
            ScaleChange {
                type_name: "web".into(),
                op: ScaleOp::Set,
                count: 3
            }
        );
        assert_eq!(parse("worker+1").unwrap().op, ScaleOp::Add);
        let dashed = parse("low-prio-2").unwrap();
        assert_eq!(
            (dashed.type_name.as_str(), dashed.op, dashed.count),
            ("low-prio", ScaleOp::Remove, 2)
        );
        assert_eq!(parse("low-prio=2").unwrap().type_name, "low-prio");
        assert_eq!(
            parse("web").unwrap_err().to_string(),
            "`web` is not TYPE=N, TYPE+N or TYPE-N"
        );
        assert_eq!(
            parse("web=x").unwrap_err().to_string(),
            "`web=x`: `x` is not a count"
        );
        assert_eq!(
            parse("w.b=1").unwrap_err().to_string(),
            "`w.b=1`: `w.b` is not a process type name"
        );
        for bad in [
            "web",
            "=3",
            "web=",
            "web=x",
            "web=-1",
            "w.b=1",
            "web=99999999999",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let f = Formation::resolve(&procfile(), &Manifest::default(), None, None, &[]).unwrap();
        let types = procfile();
        let names: Vec<&str> = types.names().collect();
        let scaled = f
            .scaled(
                &names,
                &[
                    parse("web=3").unwrap(),
                    parse("worker+2").unwrap(),
                    parse("clock-1").unwrap(),
                ],
            )
            .unwrap();
        assert_eq!(counts(&scaled), [("web", 3), ("worker", 3), ("clock", 0)]);
        assert_eq!(scaled.describe(), "web=3 worker=3 clock=0");
        assert_eq!(
            f.scaled(&names, &[parse("clock-2").unwrap()])
                .unwrap_err()
                .to_string(),
            "`clock-2` would make clock -1 instances: between 0 and 100"
        );
        assert!(f.scaled(&names, &[parse("web=101").unwrap()]).is_err());
        assert!(f.scaled(&names, &[parse("web+100").unwrap()]).is_err());
        assert_eq!(
            f.scaled(&names, &[parse("wbe=1").unwrap()])
                .unwrap_err()
                .to_string(),
            "`wbe=1`: `wbe` is not a process type in the Procfile; did you mean `web`?"
        );
        assert!(f.scaled(&names, &[parse("release=1").unwrap()]).is_err());
    }

    #[test]
    fn named_types_only() {
        let f = Formation::resolve(
            &procfile(),
            &manifest("[formation]\nweb = 2\nworker = 0\n"),
            None,
            None,
            &["worker".into(), "web".into()],
        )
        .unwrap();
        assert_eq!(counts(&f), [("web", 2), ("worker", 1), ("clock", 0)]);
        assert!(
            Formation::resolve(
                &procfile(),
                &Manifest::default(),
                None,
                None,
                &["nope".into()]
            )
            .is_err()
        );
    }

    #[test]
    fn ports_follow_foremans_rule() {
        let flag = FormationFlag::parse("web=2,clock=2").unwrap();
        let f =
            Formation::resolve(&procfile(), &Manifest::default(), Some(&flag), None, &[]).unwrap();
        let ports: Vec<(String, u16)> = f
            .instances(&procfile(), 5000)
            .unwrap()
            .iter()
            .map(|i| (i.name(), i.port))
            .collect();
        assert_eq!(
            ports,
            [
                ("web.1".into(), 5000),
                ("web.2".into(), 5001),
                ("clock.1".into(), 5200),
                ("clock.2".into(), 5201)
            ]
        );
        assert_eq!(
            f.instances(&procfile(), 65500).unwrap_err().to_string(),
            "clock.1 would need port 65700, above 65535; lower the base port"
        );
    }
}
