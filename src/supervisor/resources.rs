//! Each instance's CPU and memory for `dozen ps`, and the types' limits held as every
//! process can be held without a cgroup (docs/supervisor.md): `open_files` as
//! `RLIMIT_NOFILE`, set by the instance's shell before the command runs; `memory` watched each
//! second as Heroku watches a dyno — `Error R14 (Memory quota exceeded)` once each time an
//! instance goes over its quota, and at twice it `Error R15 (Memory quota vastly exceeded)`
//! and the instance restarted; `cpu` not capped (only a cgroup can), and said so.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use super::machine::Machine;
use super::usage::{Sampler, Usage};
use crate::app::limits::{Limits, Memory, format_decimal, human};
use crate::control::{self, Limit, Mechanism, Op, Response, TypeLimits};

/// How often instances are sampled (and memory quotas checked).
pub const SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// An instance over twice its quota is restarted (Heroku's R15 on most dyno types).
const VASTLY: u64 = 2;

/// What the run measures and watches.
pub struct Resources {
    sampler: Sampler,
    /// When the next sample is due.
    pub next: Instant,
    /// The last sample, by instance pid.
    usage: HashMap<u32, Usage>,
    /// Instances (by pid) over their memory quota at the last sample: told once per crossing.
    over: HashSet<u32>,
    /// Instances (by pid) restarted for going vastly over: asked once.
    restarted: HashSet<u32>,
    /// The hard `RLIMIT_NOFILE` dozen runs with (`None`: unlimited). It is not raised, even
    /// as root: root in a container often may not (no `CAP_SYS_RESOURCE`), and a limit that
    /// cannot be set would fail every start of the type.
    open_files_ceiling: Option<u64>,
}

impl Resources {
    pub fn new(now: Instant) -> Self {
        let hard = rustix::process::getrlimit(rustix::process::Resource::Nofile).maximum;
        Self {
            sampler: Sampler::new(),
            next: now + SAMPLE_EVERY,
            usage: HashMap::new(),
            over: HashSet::new(),
            restarted: HashSet::new(),
            open_files_ceiling: hard,
        }
    }

    /// The `open_files` an instance gets: what its type asks, within dozen's hard limit.
    pub fn open_files(&self, asked: u64) -> u64 {
        self.open_files_ceiling
            .map_or(asked, |hard| asked.min(hard))
    }

    /// The argv that sets `RLIMIT_NOFILE` (soft and hard) in the process before running
    /// `argv`: `ulimit -n` in a shell that then `exec`s it.
    pub fn with_open_files(&self, argv: Vec<String>, open_files: Option<u64>) -> Vec<String> {
        let Some(asked) = open_files else { return argv };
        let mut wrapped = vec![
            "/bin/sh".to_owned(),
            "-c".to_owned(),
            "ulimit -n \"$0\" && exec \"$@\"".to_owned(),
            self.open_files(asked).to_string(),
        ];
        wrapped.extend(argv);
        wrapped
    }

    /// The line said at start for each type with limits: what holds each one.
    pub fn start_lines(&self, limits: &[(String, Limits)]) -> Vec<String> {
        limits
            .iter()
            .map(|(type_name, limits)| {
                let mut parts = Vec::new();
                if let Some(bytes) = limits.memory {
                    parts.push(format!(
                        "memory {} watched from /proc each second (R14 warning over it, R15 restart over {})",
                        Memory(bytes),
                        Memory(bytes.saturating_mul(VASTLY))
                    ));
                }
                if let Some(cpu) = limits.cpu {
                    parts.push(format!(
                        "cpu {} not capped (only a cgroup can cap CPU; this run uses none)",
                        format_decimal(cpu)
                    ));
                }
                if let Some(asked) = limits.open_files {
                    let given = self.open_files(asked);
                    parts.push(if given == asked {
                        format!("open_files {asked} as RLIMIT_NOFILE")
                    } else {
                        format!(
                            "open_files {given} as RLIMIT_NOFILE (not {asked}: dozen's own hard limit is {given})"
                        )
                    });
                }
                format!("{type_name} limits: {}", parts.join("; "))
            })
            .collect()
    }

    /// The limits and how each is held, for `dozen ps`.
    pub fn status(&self, limits: &[(String, Limits)]) -> Vec<TypeLimits> {
        limits
            .iter()
            .map(|(type_name, limits)| TypeLimits {
                type_name: type_name.clone(),
                memory: limits.memory.map(|value| Limit {
                    value,
                    mechanism: Mechanism::Watch,
                }),
                cpu: limits.cpu.map(|value| Limit {
                    value,
                    mechanism: Mechanism::None,
                }),
                open_files: limits.open_files.map(|asked| Limit {
                    value: self.open_files(asked),
                    mechanism: Mechanism::Rlimit,
                }),
            })
            .collect()
    }

    /// Samples every live instance and checks the memory quotas: the lines to say; an
    /// instance vastly over is restarted as `dozen restart web.1` restarts it.
    pub fn tick(&mut self, machine: &mut Machine, now: Instant) -> Vec<String> {
        self.next = now + SAMPLE_EVERY;
        let ps = machine.control(ps_request(), now, None);
        let pids: Vec<u32> = ps.instances.iter().filter_map(|i| i.pid).collect();
        self.usage = self.sampler.sample(&pids, now);
        let quotas: HashMap<String, u64> = machine
            .limits()
            .into_iter()
            .filter_map(|(type_name, limits)| Some((type_name, limits.memory?)))
            .collect();
        let live: HashSet<u32> = pids.iter().copied().collect();
        self.over.retain(|pid| live.contains(pid));
        self.restarted.retain(|pid| live.contains(pid));
        let mut lines = Vec::new();
        for instance in &ps.instances {
            let (Some(pid), Some(quota)) = (instance.pid, quotas.get(&instance.type_name)) else {
                continue;
            };
            let Some(rss) = self.usage.get(&pid).map(|u| u.rss_bytes) else {
                continue;
            };
            match self.watch(pid, rss, *quota) {
                Verdict::Under | Verdict::StillOver => {}
                Verdict::Over => lines.push(format!(
                    "Error R14 (Memory quota exceeded): {} uses {} of its {}",
                    instance.name,
                    human(rss),
                    Memory(*quota)
                )),
                Verdict::VastlyOver => {
                    lines.push(format!(
                        "Error R15 (Memory quota vastly exceeded): {} uses {}, over twice its {}: restarting it",
                        instance.name,
                        human(rss),
                        Memory(*quota)
                    ));
                    let restart = control::Request {
                        v: control::VERSION,
                        op: Op::Restart {
                            target: Some(instance.name.clone()),
                        },
                    };
                    let answer = machine.control(restart, now, None);
                    if let Some(error) = answer.error {
                        lines.push(format!("cannot restart {}: {error}", instance.name));
                    }
                }
            }
        }
        lines
    }

    /// Where an instance stands against its quota, remembering what was told.
    fn watch(&mut self, pid: u32, rss: u64, quota: u64) -> Verdict {
        if rss > quota.saturating_mul(VASTLY) {
            if self.restarted.insert(pid) {
                self.over.insert(pid);
                return Verdict::VastlyOver;
            }
            return Verdict::StillOver;
        }
        if rss > quota {
            return if self.over.insert(pid) {
                Verdict::Over
            } else {
                Verdict::StillOver
            };
        }
        self.over.remove(&pid);
        Verdict::Under
    }

    /// The last sample into a `dozen ps` answer, and the limits with how they are held.
    pub fn fill(&self, response: &mut Response, limits: &[(String, Limits)]) {
        for instance in &mut response.instances {
            if let Some(usage) = instance.pid.and_then(|pid| self.usage.get(&pid)) {
                instance.cpu_percent = usage.cpu_percent.map(|c| (c * 10.0).round() / 10.0);
                instance.rss_bytes = Some(usage.rss_bytes);
            }
        }
        response.limits = self.status(limits);
    }
}

/// Where an instance's memory stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Under,
    /// Just went over its quota.
    Over,
    /// Over, and already told (or already restarted).
    StillOver,
    /// Just went over twice its quota.
    VastlyOver,
}

fn ps_request() -> control::Request {
    control::Request {
        v: control::VERSION,
        op: Op::Ps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_the_quota_is_told_once_per_crossing_and_twice_it_restarts_once() {
        let mut resources = Resources::new(Instant::now());
        let quota = 100;
        let verdicts: Vec<Verdict> = [50, 120, 130, 90, 110, 250, 260]
            .into_iter()
            .map(|rss| resources.watch(7, rss, quota))
            .collect();
        assert_eq!(
            verdicts,
            [
                Verdict::Under,
                Verdict::Over,
                Verdict::StillOver,
                Verdict::Under,
                Verdict::Over,
                Verdict::VastlyOver,
                Verdict::StillOver,
            ]
        );
    }

    #[test]
    fn the_start_line_says_what_holds_each_limit() {
        let mut resources = Resources::new(Instant::now());
        resources.open_files_ceiling = Some(1024);
        let limits = Limits {
            memory: Some(512 << 20),
            cpu: Some(0.5),
            open_files: Some(4096),
        };
        assert_eq!(
            resources.start_lines(&[("web".into(), limits)]),
            [
                "web limits: memory 512M watched from /proc each second (R14 warning over it, R15 restart over 1G); cpu 0.5 not capped (only a cgroup can cap CPU; this run uses none); open_files 1024 as RLIMIT_NOFILE (not 4096: dozen's own hard limit is 1024)"
            ]
        );
        assert_eq!(
            resources.with_open_files(vec!["app".into()], Some(64)),
            [
                "/bin/sh",
                "-c",
                "ulimit -n \"$0\" && exec \"$@\"",
                "64",
                "app"
            ]
        );
    }
}
