//! What each instance uses, read from `/proc` (docs/supervisor.md): CPU and resident memory
//! summed over the instance's **process group** — what dozen signals as the instance, so
//! what `dozen restart` would end; a daemon that left the group with `setsid` is not counted.
//!
//! A sample reads `/proc/PID/stat` of the processes known to be in the instances' groups (the
//! group, CPU times and resident pages are all there); every fifth sample, and whenever a
//! group is new, it lists all of `/proc` instead, to find processes that joined a group (so a
//! fork is counted within 5 s, and the run does not read every process of a busy machine
//! each second). A process may end between the listing and the read: it is skipped. CPU % is the CPU time
//! the group's processes used between two samples over the time between them (a process
//! first seen counts from its start), in percent of one core, as `top` shows it.

use std::collections::HashMap;
use std::time::Instant;

/// What one instance used at the last sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// None at the first sample of a group.
    pub cpu_percent: Option<f64>,
    pub rss_bytes: u64,
}

/// A process's line of `/proc/PID/stat`, the fields kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub group: i32,
    /// User and system time, in clock ticks.
    pub ticks: u64,
    /// Resident pages.
    pub rss_pages: u64,
}

/// A `/proc/PID/stat` line's group, CPU ticks and resident pages.
pub fn parse_stat(line: &str) -> Option<Stat> {
    of(&crate::procfs::Stat::parse(line)?)
}

fn of(stat: &crate::procfs::Stat) -> Option<Stat> {
    Some(Stat {
        group: stat.group()?,
        ticks: stat.ticks()?,
        rss_pages: stat.rss_pages()?,
    })
}

/// Reads one process's `stat`; None when it has gone (or is not readable).
fn read_stat(pid: i32) -> Option<Stat> {
    of(&crate::procfs::Stat::read(pid)?)
}

/// Every this many samples, all of `/proc` is listed to find the groups' new members.
const FULL_SCAN_EVERY: u32 = 5;

/// Samples instances' process groups, keeping each process's CPU ticks for the next sample.
pub struct Sampler {
    /// Samples taken (a full scan when it is a multiple of [`FULL_SCAN_EVERY`]).
    samples: u32,
    ticks_per_second: f64,
    page_size: u64,
    /// Each process seen at the last sample (pid → its group and ticks).
    last: HashMap<i32, (i32, u64)>,
    last_at: Option<Instant>,
    /// Groups seen at the last sample (a group's first sample has no CPU %).
    known: std::collections::HashSet<i32>,
}

impl Default for Sampler {
    fn default() -> Self {
        Self::new()
    }
}

impl Sampler {
    pub fn new() -> Self {
        #[allow(clippy::cast_precision_loss)]
        let ticks = rustix::param::clock_ticks_per_second().max(1) as f64;
        Self {
            samples: 0,
            ticks_per_second: ticks,
            page_size: u64::try_from(rustix::param::page_size()).unwrap_or(4096),
            last: HashMap::new(),
            last_at: None,
            known: std::collections::HashSet::new(),
        }
    }

    /// Samples the groups led by `leaders` (an instance's pid leads its group) from `/proc`.
    pub fn sample(&mut self, leaders: &[u32], now: Instant) -> HashMap<u32, Usage> {
        let groups: std::collections::HashSet<i32> = leaders
            .iter()
            .filter_map(|pid| i32::try_from(*pid).ok())
            .collect();
        let full = self.samples.is_multiple_of(FULL_SCAN_EVERY)
            || groups.iter().any(|g| !self.known.contains(g));
        self.samples = self.samples.wrapping_add(1);
        let pids: Vec<i32> = if groups.is_empty() {
            Vec::new()
        } else if full {
            std::fs::read_dir("/proc")
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
                .collect()
        } else {
            // The leaders are members too, and known already.
            self.last.keys().copied().collect()
        };
        let stats: Vec<(i32, Stat)> = pids
            .into_iter()
            .filter_map(|pid| Some((pid, read_stat(pid)?)))
            .filter(|(_, stat)| groups.contains(&stat.group))
            .collect();
        self.record(&stats, &groups, now)
    }

    /// What the processes read (pid and stat, all in sampled groups) make per group.
    pub fn record(
        &mut self,
        stats: &[(i32, Stat)],
        groups: &std::collections::HashSet<i32>,
        now: Instant,
    ) -> HashMap<u32, Usage> {
        let elapsed = self
            .last_at
            .map(|at| now.saturating_duration_since(at).as_secs_f64());
        let mut used: HashMap<i32, (u64, u64)> = HashMap::new();
        let mut next = HashMap::with_capacity(stats.len());
        for (pid, stat) in stats {
            let before = match self.last.get(pid) {
                Some((group, ticks)) if *group == stat.group => *ticks,
                _ => 0,
            };
            let entry = used.entry(stat.group).or_default();
            entry.0 += stat.ticks.saturating_sub(before);
            entry.1 += stat.rss_pages;
            next.insert(*pid, (stat.group, stat.ticks));
        }
        // A group with no process read (it has just ended, or its stat could not be read)
        // has no usage rather than none used.
        let usage = used
            .iter()
            .map(|(group, (ticks, pages))| {
                #[allow(clippy::cast_precision_loss)]
                let cpu_percent = elapsed
                    .filter(|e| *e > 0.0 && self.known.contains(group))
                    .map(|seconds| *ticks as f64 / self.ticks_per_second / seconds * 100.0);
                let usage = Usage {
                    cpu_percent,
                    rss_bytes: pages.saturating_mul(self.page_size),
                };
                (group.unsigned_abs(), usage)
            })
            .collect();
        self.last = next;
        self.known.clone_from(groups);
        self.last_at = Some(now);
        usage
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_stat_line_with_a_strange_name_parses() {
        let line = "4242 (we) ird (na)me) S 1 4240 4240 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 123 1000000 300 18446744073709551615";
        assert_eq!(
            parse_stat(line),
            Some(Stat {
                group: 4240,
                ticks: 300,
                rss_pages: 300
            })
        );
        assert_eq!(parse_stat("4242 (x) S 1"), None);
        assert_eq!(parse_stat(""), None);
    }

    #[test]
    fn cpu_is_the_groups_ticks_between_samples_and_memory_its_sum() {
        let mut sampler = Sampler::new();
        sampler.ticks_per_second = 100.0;
        sampler.page_size = 4096;
        let groups = [10].into_iter().collect();
        let stat = |ticks, rss_pages| Stat {
            group: 10,
            ticks,
            rss_pages,
        };
        let at = Instant::now();
        let first = sampler.record(&[(10, stat(100, 10)), (11, stat(50, 5))], &groups, at);
        assert_eq!(
            first[&10],
            Usage {
                cpu_percent: None,
                rss_bytes: 15 * 4096
            }
        );
        // One second later: 10 ticks by one, 40 by the other, and a new one with 25 of its
        // own; one that ended is simply not there.
        let second = sampler.record(
            &[(10, stat(110, 10)), (12, stat(25, 1))],
            &groups,
            at + Duration::from_secs(1),
        );
        assert_eq!(second[&10].rss_bytes, 11 * 4096);
        let cpu = second[&10].cpu_percent.unwrap();
        assert!((cpu - 35.0).abs() < 0.01, "{cpu}");
        // A group with no process left has no usage (not none used).
        let third = sampler.record(&[], &groups, at + Duration::from_secs(2));
        assert!(third.is_empty());
    }

    #[test]
    fn this_process_is_sampled_and_a_gone_one_is_not_an_error() {
        let mut sampler = Sampler::new();
        let me = rustix::process::getpgrp()
            .as_raw_nonzero()
            .get()
            .unsigned_abs();
        let usage = sampler.sample(&[me, 999_999_999], Instant::now());
        assert!(usage[&me].rss_bytes > 0);
        assert!(!usage.contains_key(&999_999_999));
        // Between full scans, the members found are read again: still there, with a CPU %.
        let again = sampler.sample(&[me, 999_999_999], Instant::now());
        assert!(again[&me].rss_bytes > 0 && again[&me].cpu_percent.is_some());
    }

    #[test]
    fn a_new_member_is_found_by_the_next_full_scan() {
        let mut sampler = Sampler::new();
        let me = rustix::process::getpgrp()
            .as_raw_nonzero()
            .get()
            .unsigned_abs();
        sampler.sample(&[me], Instant::now());
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let child_pid = i32::try_from(child.id()).unwrap();
        let mut found_at = None;
        for n in 1..=FULL_SCAN_EVERY {
            sampler.sample(&[me], Instant::now());
            if sampler.last.contains_key(&child_pid) {
                found_at = Some(n);
                break;
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(found_at, Some(FULL_SCAN_EVERY));
    }
}
