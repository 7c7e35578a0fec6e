//! Autoscaling: the policies, what is measured, and the scale each measurement asks for.

use crate::supervisor::autoscale::{Autoscaler, Metric, Policy};
use std::time::Duration;

use super::{Action, Machine, ScaleError};
use crate::app::formation::ScaleChange;

impl Machine {
    /// Scales `type_name` by its load (docs/deploy.md): the formation's count of it is
    /// [`Autoscaler::decide`]'s to change, except while a restart or a move runs.
    pub fn autoscale(&mut self, type_name: &str, policy: Policy) {
        self.autoscalers
            .push((type_name.to_owned(), Autoscaler::new(policy)));
    }

    /// The autoscaled types and what each is measured by.
    pub fn autoscaled(&self) -> Vec<(String, Metric)> {
        self.autoscalers
            .iter()
            .map(|(t, a)| (t.clone(), a.policy.metric))
            .collect()
    }

    /// The autoscaled types measured by a command: the type, the command, how often.
    pub fn metric_commands(&self) -> Vec<(String, String, Duration)> {
        self.autoscalers
            .iter()
            .filter_map(|(t, a)| {
                let command = a.policy.command.clone()?;
                (a.policy.metric == Metric::Command)
                    .then(|| (t.clone(), command, a.policy.interval))
            })
            .collect()
    }

    pub(super) fn on_measured(&mut self, type_name: &str, value: f64) {
        if self.stopping {
            return;
        }
        let current = self.count(type_name);
        let busy = self.busy().is_some();
        let now = self.now;
        let Some((_, autoscaler)) = self.autoscalers.iter_mut().find(|(t, _)| t == type_name)
        else {
            return;
        };
        let Some(decision) = autoscaler.decide(now, current, value) else {
            return;
        };
        if busy {
            // A restart or a move holds the formation's shape; the next measurement after it
            // decides again.
            return;
        }
        let (metric, target) = (autoscaler.policy.metric.name(), autoscaler.policy.target);
        let change = ScaleChange {
            type_name: type_name.to_owned(),
            op: crate::app::formation::ScaleOp::Set,
            count: decision.to,
        };
        let cause = format!(
            "{metric} {:.1} per instance, target {target}",
            decision.measured
        );
        match self.scale(&[change]) {
            Ok(()) => {
                let said = format!("{type_name} {} → {} ({cause})", decision.from, decision.to);
                if let Some((_, autoscaler)) =
                    self.autoscalers.iter_mut().find(|(t, _)| t == type_name)
                {
                    autoscaler.last_decision = Some(said.clone());
                }
                self.say(format!("autoscale: {said}"));
                self.actions.push(Action::Log {
                    what: "autoscale",
                    details: serde_json::json!({
                        "type": type_name,
                        "from": decision.from,
                        "to": decision.to,
                        "metric": metric,
                        "measured": (decision.measured * 10.0).round() / 10.0,
                        "target": target,
                    }),
                });
            }
            Err(ScaleError::Usage(error) | ScaleError::Refused(error)) => {
                self.say(format!(
                    "autoscale: {type_name} {} → {} not applied ({cause}): {error}",
                    decision.from, decision.to
                ));
            }
        }
    }
}
