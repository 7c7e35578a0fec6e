//! Autoscaling decisions, as Kubernetes' `HorizontalPodAutoscaler` makes them (docs/deploy.md):
//! desired = ⌈current × measured / target⌉, left alone within a tolerance of the target; up
//! at once (at most doubling), down only as far as the highest recommendation of the
//! scale-down window, so a dip does not remove what the next peak needs; always within
//! `min..=max`. Pure: the runner measures and carries the decision out.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// What is measured per instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Requests in progress at the router, per instance, averaged over the last second.
    InFlight,
    /// Requests per second at the router, per instance.
    Rps,
    /// A number a command prints (a queue's length), per instance: for types the router
    /// does not front.
    Command,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Self::InFlight => "in-flight",
            Self::Rps => "rps",
            Self::Command => "command",
        }
    }
}

/// `[processes.TYPE] autoscale`.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub min: u32,
    pub max: u32,
    /// The metric's value per instance to keep.
    pub target: f64,
    pub metric: Metric,
    /// How far back a scale-down looks for a higher recommendation (HPA: 5 minutes).
    pub scale_down_window: Duration,
    /// The `command` metric's command (`sh -c`, in the app's environment).
    pub command: Option<String>,
    /// How often the metric is measured: each second at the router; the command's own.
    pub interval: Duration,
}

/// Within this fraction of the target, nothing changes (HPA's default tolerance).
pub const TOLERANCE: f64 = 0.1;

/// A change decided, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub from: u32,
    pub to: u32,
    /// The measurement per instance that led to it.
    pub measured: f64,
}

/// One type's autoscaler: its policy and the recommendations of the scale-down window.
pub struct Autoscaler {
    pub policy: Policy,
    recommendations: VecDeque<(Instant, u32)>,
    /// The last measurement, for `dozen ps`.
    pub last_measured: Option<f64>,
    /// Why the last measurement failed (a metric command's error), told once.
    pub last_error: Option<super::meter::Failed>,
    /// The last change made, as said in the stream (`web 1 → 2 (in-flight 8.0 …)`).
    pub last_decision: Option<String>,
}

impl Autoscaler {
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            recommendations: VecDeque::new(),
            last_measured: None,
            last_error: None,
            last_decision: None,
        }
    }

    /// The count to start with: the formation's, within the policy's range.
    pub fn initial(&self, count: u32) -> u32 {
        count.clamp(self.policy.min, self.policy.max)
    }

    /// Given `current` instances and the metric's value per instance, the change to make now,
    /// if any.
    pub fn decide(&mut self, now: Instant, current: u32, measured: f64) -> Option<Decision> {
        if !measured.is_finite() || measured < 0.0 {
            // Not a measurement: nothing to recommend.
            return None;
        }
        self.last_measured = Some(measured);
        self.last_error = None;
        let policy = &self.policy;
        if current == 0 {
            // Scaled to 0 by hand: stopped, not idle. A scale back up resumes it.
            return None;
        }
        let raw = if (measured / policy.target - 1.0).abs() <= TOLERANCE {
            current
        } else {
            let wanted = (f64::from(current) * measured / policy.target).ceil();
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let wanted = if wanted.is_finite() && wanted > 0.0 {
                wanted.min(f64::from(u32::MAX)) as u32
            } else {
                0
            };
            wanted
        };
        let recommendation = raw.clamp(policy.min, policy.max);
        self.recommendations.push_back((now, recommendation));
        while let Some(&(at, _)) = self.recommendations.front() {
            if now.duration_since(at) > policy.scale_down_window {
                self.recommendations.pop_front();
            } else {
                break;
            }
        }
        let to = if recommendation > current {
            // Up at once, at most doubling (and at least one more).
            recommendation.min(current.saturating_mul(2).max(current + 1))
        } else {
            // Down no lower than anything the window recommended.
            let highest = self
                .recommendations
                .iter()
                .map(|&(_, r)| r)
                .max()
                .unwrap_or(recommendation);
            highest.min(current)
        };
        let to = to.clamp(policy.min, policy.max);
        (to != current).then_some(Decision {
            from: current,
            to,
            measured,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(min: u32, max: u32, target: f64) -> Policy {
        Policy {
            min,
            max,
            target,
            metric: Metric::InFlight,
            scale_down_window: Duration::from_secs(300),
            command: None,
            interval: Duration::from_secs(1),
        }
    }

    #[test]
    fn scales_up_at_once_by_the_ratio_to_the_target_at_most_doubling() {
        let now = Instant::now();
        let mut a = Autoscaler::new(policy(1, 20, 10.0));
        // 2 instances at 30 in flight each: 6 wanted, at most 4 now.
        let d = a.decide(now, 2, 30.0).unwrap();
        assert_eq!((d.from, d.to), (2, 4));
        let d = a.decide(now + Duration::from_secs(1), 4, 15.0).unwrap();
        assert_eq!(d.to, 6, "⌈4 × 15 / 10⌉");
        // One instance always gets at least a second.
        assert_eq!(a.decide(now, 1, 11.5).unwrap().to, 2);
    }

    #[test]
    fn within_the_tolerance_nothing_changes() {
        let now = Instant::now();
        let mut a = Autoscaler::new(policy(1, 20, 10.0));
        assert_eq!(a.decide(now, 4, 10.9), None);
        assert_eq!(a.decide(now, 4, 9.1), None);
        assert_eq!(a.last_measured, Some(9.1));
    }

    #[test]
    fn scales_down_only_to_the_highest_recommendation_of_the_window() {
        let start = Instant::now();
        let mut a = Autoscaler::new(Policy {
            scale_down_window: Duration::from_secs(60),
            ..policy(1, 20, 10.0)
        });
        // A peak recommends 8 (from 8, at target).
        assert_eq!(a.decide(start, 8, 10.0), None);
        // Quiet: 1 is recommended, but the window still holds the peak's 8.
        for s in 1..=60 {
            assert_eq!(
                a.decide(start + Duration::from_secs(s), 8, 0.5),
                None,
                "{s}"
            );
        }
        // The peak leaves the window: down to what the quiet seconds recommended.
        let d = a.decide(start + Duration::from_secs(61), 8, 0.5).unwrap();
        assert_eq!((d.from, d.to), (8, 1));
    }

    #[test]
    fn never_outside_min_and_max() {
        let now = Instant::now();
        let mut a = Autoscaler::new(Policy {
            scale_down_window: Duration::ZERO,
            ..policy(2, 5, 10.0)
        });
        let at = |s: u64| now + Duration::from_secs(s);
        assert_eq!(a.decide(at(1), 4, 100.0).unwrap().to, 5);
        assert_eq!(a.decide(at(2), 5, 0.0).unwrap().to, 2);
        assert_eq!(a.decide(at(3), 2, 0.0), None);
        // Started outside the range (by hand): brought back into it.
        assert_eq!(a.decide(at(4), 9, 10.0).unwrap().to, 5);
        assert_eq!(a.decide(at(5), 0, 0.0), None, "stopped by hand");
        assert_eq!(a.initial(7), 5);
        assert_eq!(a.initial(1), 2);
    }

    #[test]
    fn a_metric_that_is_not_a_number_changes_nothing() {
        let now = Instant::now();
        let mut a = Autoscaler::new(policy(1, 4, 10.0));
        assert_eq!(a.decide(now, 2, f64::NAN), None);
        assert_eq!(a.decide(now, 2, f64::INFINITY), None);
        assert_eq!(a.decide(now, 2, -1.0), None);
        assert_eq!(a.last_measured, None);
    }
}
