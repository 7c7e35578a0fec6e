//! The formation: how many instances of each process type run, and their names and ports.

use indexmap::IndexMap;

use super::manifest::{MAX_INSTANCES, Manifest, is_valid_name};
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

/// A `-m/--formation` value: `web=2,worker=1`, with `all=N` for every type not listed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FormationFlag {
    pub all: Option<u32>,
    pub counts: Vec<(String, u32)>,
}

impl FormationFlag {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut flag = Self::default();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let Some((name, count)) = item.split_once('=') else {
                return Err(format!("`{item}` is not TYPE=COUNT"));
            };
            let (name, count) = (name.trim(), count.trim());
            let count: u32 = count
                .parse()
                .map_err(|_| format!("`{count}` in `{item}` is not a count"))?;
            if count > MAX_INSTANCES {
                return Err(format!(
                    "{count} instances in `{item}`: at most {MAX_INSTANCES} per type"
                ));
            }
            if name == "all" {
                flag.all = Some(count);
            } else if is_valid_name(name) {
                flag.counts.push((name.to_owned(), count));
            } else {
                return Err(format!("`{name}` in `{item}` is not a process type name"));
            }
        }
        Ok(flag)
    }
}

impl Formation {
    /// The formation to run.
    ///
    /// - With `-m`: exactly what it says; unlisted types run `all=N` instances, else none (as
    ///   in foreman, where `-m web=2` runs only web).
    /// - Else the manifest's `[formation]` over one instance of each type.
    /// - `only` (`dozen run web worker`) keeps just those types, at least one instance each.
    pub fn resolve(
        procfile: &Procfile,
        manifest: &Manifest,
        flag: Option<&FormationFlag>,
        only: &[String],
    ) -> Result<Self, String> {
        let known = |name: &str| -> Result<(), String> {
            if procfile.get(name).is_some() {
                return Ok(());
            }
            let hint = did_you_mean(name, procfile.names())
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            Err(format!(
                "`{name}` is not a process type in the Procfile{hint}"
            ))
        };
        let mut counts: IndexMap<String, u32> = IndexMap::new();
        for t in &procfile.types {
            let count = match flag {
                Some(flag) => flag.all.unwrap_or(0),
                None => manifest
                    .formation
                    .iter()
                    .find(|(k, _)| *k.get_ref() == t.name)
                    .map_or(1, |(_, v)| *v.get_ref()),
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
    pub fn instances(&self, procfile: &Procfile, base_port: u16) -> Result<Vec<Instance>, String> {
        let mut instances = Vec::new();
        for (type_index, t) in procfile.types.iter().enumerate() {
            let count = self.counts.get(&t.name).copied().unwrap_or(0);
            for index in 1..=count {
                let offset = 100 * type_index + (index as usize - 1);
                let port = u16::try_from(usize::from(base_port) + offset).map_err(|_| {
                    format!(
                        "{}.{index} would need port {}, above 65535; lower the base port",
                        t.name,
                        usize::from(base_port) + offset
                    )
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
        assert!(
            FormationFlag::parse("web")
                .unwrap_err()
                .contains("not TYPE=COUNT")
        );
        assert!(
            FormationFlag::parse("web=-1")
                .unwrap_err()
                .contains("not a count")
        );
        assert!(
            FormationFlag::parse("web=x")
                .unwrap_err()
                .contains("not a count")
        );
        assert!(
            FormationFlag::parse("web=101")
                .unwrap_err()
                .contains("at most 100")
        );
        assert!(
            FormationFlag::parse("w.b=1")
                .unwrap_err()
                .contains("not a process type name")
        );
    }

    #[test]
    fn default_is_one_each_with_the_manifest_over_it() {
        let f = Formation::resolve(&procfile(), &Manifest::default(), None, &[]).unwrap();
        assert_eq!(counts(&f), [("web", 1), ("worker", 1), ("clock", 1)]);
        let f = Formation::resolve(
            &procfile(),
            &manifest("[formation]\nweb = 3\nclock = 0\n"),
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
            &[],
        )
        .unwrap();
        assert_eq!(counts(&f), [("web", 2), ("worker", 0), ("clock", 0)]);
        let flag = FormationFlag::parse("all=2,clock=0").unwrap();
        let f = Formation::resolve(&procfile(), &Manifest::default(), Some(&flag), &[]).unwrap();
        assert_eq!(counts(&f), [("web", 2), ("worker", 2), ("clock", 0)]);
        let flag = FormationFlag::parse("wbe=1").unwrap();
        assert_eq!(
            Formation::resolve(&procfile(), &Manifest::default(), Some(&flag), &[]).unwrap_err(),
            "`wbe` is not a process type in the Procfile; did you mean `web`?"
        );
        let flag = FormationFlag::parse("release=1").unwrap();
        assert!(Formation::resolve(&procfile(), &Manifest::default(), Some(&flag), &[]).is_err());
    }

    #[test]
    fn named_types_only() {
        let f = Formation::resolve(
            &procfile(),
            &manifest("[formation]\nweb = 2\nworker = 0\n"),
            None,
            &["worker".into(), "web".into()],
        )
        .unwrap();
        assert_eq!(counts(&f), [("web", 2), ("worker", 1), ("clock", 0)]);
        assert!(
            Formation::resolve(&procfile(), &Manifest::default(), None, &["nope".into()]).is_err()
        );
    }

    #[test]
    fn ports_follow_foremans_rule() {
        let flag = FormationFlag::parse("web=2,clock=2").unwrap();
        let f = Formation::resolve(&procfile(), &Manifest::default(), Some(&flag), &[]).unwrap();
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
        assert!(
            f.instances(&procfile(), 65500)
                .unwrap_err()
                .contains("above 65535")
        );
    }
}
