//! What `dozen flags set|rollout|enable|disable` do to one flag, as edits of its members
//! (`state`, `defaultVariant`, `targeting`), and how a flag is summed up in a few words
//! (`off for everyone`, `10% on, rest off`) for `dozen flags`, the run's lines and the
//! history.

use serde_json::{Value, json};

use super::flag::{Flag, State};
use crate::diagnostic::did_you_mean;

/// A change to one flag.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Serve `variant` to everyone: it becomes the default, the targeting goes, the flag is
    /// enabled.
    Set {
        variant: String,
    },
    /// Serve `variant` to `percent` of targeting keys, the default variant to the rest.
    /// A targeting rule of the flag's own (not a rollout) is replaced only when `replace`.
    Rollout {
        percent: Percent,
        variant: Option<String>,
        replace: bool,
    },
    Enable,
    Disable,
}

/// A percentage with at most two decimals, in hundredths (`12.5%` is 1250).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Percent(pub u32);

impl std::str::FromStr for Percent {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}` is not a percentage: give 0% to 100%, such as 10% or 12.5%");
        let text = text.trim();
        let number = text.strip_suffix('%').unwrap_or(text).trim_end();
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || (!fraction.is_empty() && !digits(fraction)) {
            return Err(bad());
        }
        if fraction.len() > 2 {
            return Err(format!(
                "`{text}`: a rollout takes at most two decimals (0.01% steps)"
            ));
        }
        let whole: u32 = whole.parse().map_err(|_| bad())?;
        let fraction: u32 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
        let hundredths = whole.checked_mul(100).and_then(|w| w.checked_add(fraction));
        match hundredths {
            Some(h) if h <= 10_000 => Ok(Self(h)),
            _ => Err(bad()),
        }
    }
}

impl std::fmt::Display for Percent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (whole, fraction) = (self.0 / 100, self.0 % 100);
        match fraction {
            0 => write!(f, "{whole}%"),
            f2 if f2 % 10 == 0 => write!(f, "{whole}.{}%", f2 / 10),
            f2 => write!(f, "{whole}.{f2:02}%"),
        }
    }
}

/// What a change does to the flag's members: each set to a value, or removed (`None`).
pub type Edits = Vec<(&'static str, Option<Value>)>;

/// Why a change cannot be made to a flag (a usage error: the flag is as it was).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refused {
    pub message: String,
    pub hint: Option<String>,
}

fn refused(message: String, hint: Option<String>) -> Refused {
    Refused { message, hint }
}

impl Change {
    /// The edits that make `flag` (named `key`) as this change says.
    pub fn edits(&self, key: &str, flag: &Flag) -> Result<Edits, Refused> {
        match self {
            Self::Enable => Ok(vec![("state", Some(json!(State::Enabled.as_str())))]),
            Self::Disable => Ok(vec![("state", Some(json!(State::Disabled.as_str())))]),
            Self::Set { variant } => {
                known_variant(key, flag, variant)?;
                Ok(vec![
                    ("state", Some(json!(State::Enabled.as_str()))),
                    ("defaultVariant", Some(json!(variant))),
                    ("targeting", None),
                ])
            }
            Self::Rollout {
                percent,
                variant,
                replace,
            } => {
                if flag.targeting.is_some() && rollout(flag).is_none() && !replace {
                    return Err(refused(
                        format!(
                            "flag `{key}` has a targeting rule of its own, which a rollout would replace"
                        ),
                        Some(format!(
                            "replace it with --replace (`dozen history --json` keeps it), or write the rollout into the rule: dozen flags get {key}"
                        )),
                    ));
                }
                let default = flag.default_variant.clone().ok_or_else(|| {
                    refused(
                        format!("flag `{key}` has no default variant to serve the rest"),
                        Some(format!("give it one first: dozen flags set {key} VARIANT")),
                    )
                })?;
                let (variant, rest) = match variant {
                    Some(v) => {
                        known_variant(key, flag, v)?;
                        (v.clone(), default.clone())
                    }
                    None => rolled_out(key, flag, &default)?,
                };
                if variant == rest {
                    return Err(refused(
                        format!(
                            "`{variant}` is flag `{key}`'s default variant: everyone has it already"
                        ),
                        Some(format!(
                            "roll out another variant: dozen flags rollout {key} {percent} VARIANT"
                        )),
                    ));
                }
                // The rolled-out variant first, so a larger percentage keeps everyone the
                // smaller one had (flagd's buckets fill the first variant from 0 up), and
                // weights that are whole hundredths of a percent: 10% is 1000 of 10000,
                // which buckets as 10 of 100 does.
                let scale = if percent.0 % 100 == 0 { 100 } else { 1 };
                let (weight, total) = (percent.0 / scale, 10_000 / scale);
                let mut edits = vec![("state", Some(json!(State::Enabled.as_str())))];
                if rest != default {
                    // Callers without a targeting key (which `fractional` cannot bucket) get
                    // the rest too.
                    edits.push(("defaultVariant", Some(json!(rest))));
                }
                edits.push((
                    "targeting",
                    Some(json!({"fractional": [[variant, weight], [rest, total - weight]]})),
                ));
                Ok(edits)
            }
        }
    }
}

fn known_variant(key: &str, flag: &Flag, variant: &str) -> Result<(), Refused> {
    if flag.variants.contains_key(variant) {
        return Ok(());
    }
    let names: Vec<&str> = flag.variants.keys().map(String::as_str).collect();
    let hint = did_you_mean(variant, names.iter().copied()).map_or_else(
        || format!("its variants: {}", names.join(", ")),
        |m| format!("did you mean `{m}`?"),
    );
    Err(refused(
        format!("flag `{key}` has no variant `{variant}`"),
        Some(hint),
    ))
}

/// What a rollout without a variant serves, and to the rest: a boolean flag's `true` variant
/// (the rest its `false` one, when `true` is the default: `set on` then `rollout 10%` is 10%
/// on); else the variant its rollout serves now, or its only one besides the default.
fn rolled_out(key: &str, flag: &Flag, default: &str) -> Result<(String, String), Refused> {
    let valued = |value: bool| {
        let named: Vec<&String> = (flag.variants.iter())
            .filter(|(_, v)| **v == Value::Bool(value))
            .map(|(name, _)| name)
            .collect();
        match named.as_slice() {
            [one] => Some((*one).clone()),
            _ => None,
        }
    };
    if let (Some(on), Some(off)) = (valued(true), valued(false)) {
        return Ok(if on == default {
            (on, off)
        } else {
            (on, default.to_owned())
        });
    }
    if let Some(Rollout { variant, .. }) = rollout(flag) {
        if variant != default {
            return Ok((variant, default.to_owned()));
        }
    }
    let others: Vec<&String> = flag.variants.keys().filter(|v| *v != default).collect();
    match others.as_slice() {
        [one] => Ok(((*one).clone(), default.to_owned())),
        _ => Err(refused(
            format!(
                "flag `{key}` has {} variants besides its default `{default}`: say which to roll out",
                others.len()
            ),
            Some(format!("dozen flags rollout {key} PERCENT VARIANT")),
        )),
    }
}

/// A rollout as `dozen flags rollout` writes it: a `fractional` of two variants bucketed by
/// the targeting key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollout {
    pub variant: String,
    pub percent: Percent,
    pub rest: String,
}

/// The flag's targeting, if it is a two-variant rollout by targeting key.
pub fn rollout(flag: &Flag) -> Option<Rollout> {
    let arms = flag.targeting.as_ref()?.as_object()?;
    if arms.len() != 1 {
        return None;
    }
    let arms = arms.get("fractional")?.as_array()?;
    let [first, second] = arms.as_slice() else {
        return None;
    };
    let arm = |value: &Value| -> Option<(String, u64)> {
        let [variant, weight] = value.as_array()?.as_slice() else {
            return None;
        };
        Some((variant.as_str()?.to_owned(), weight.as_u64()?))
    };
    let ((variant, weight), (rest, other)) = (arm(first)?, arm(second)?);
    let total = weight.checked_add(other).filter(|t| *t > 0)?;
    let hundredths = u32::try_from(weight * 10_000 / total).ok()?;
    (weight * 10_000 % total == 0).then_some(Rollout {
        variant,
        percent: Percent(hundredths),
        rest,
    })
}

/// The flag in a few words: `disabled`, `off for everyone`, `10% on, rest off`, `targeting
/// rule, else off`.
pub fn summary(flag: &Flag) -> String {
    if flag.state == State::Disabled {
        return "disabled (callers get their own default)".to_owned();
    }
    let default = flag.default_variant.as_deref();
    match (&flag.targeting, default) {
        (None, Some(default)) => format!("{default} for everyone"),
        (None, None) => "no default variant (callers get their own default)".to_owned(),
        (Some(_), _) => match rollout(flag) {
            Some(r) => format!("{} {}, rest {}", r.percent, r.variant, r.rest),
            None => match default {
                Some(default) => format!("targeting rule, else {default}"),
                None => "targeting rule, else the caller's default".to_owned(),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flags::Definitions;

    fn flag(json: &str) -> Flag {
        let text = format!("{{\"flags\": {{\"f\": {json}}}}}");
        Definitions::parse("flags.json", &text)
            .expect("valid")
            .flags
            .shift_remove("f")
            .expect("f")
    }

    const ONOFF: &str =
        r#"{"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"}"#;

    #[test]
    fn percentages_read_and_print_as_people_write_them() {
        for (text, hundredths, shown) in [
            ("10%", 1000, "10%"),
            ("10", 1000, "10%"),
            ("12.5%", 1250, "12.5%"),
            ("0.01%", 1, "0.01%"),
            ("100%", 10_000, "100%"),
            ("0%", 0, "0%"),
        ] {
            let p: Percent = text.parse().unwrap();
            assert_eq!((p.0, p.to_string().as_str()), (hundredths, shown), "{text}");
        }
        for bad in [
            "101%",
            "-1%",
            "ten",
            "1.234%",
            "",
            "%",
            "1e2",
            "4294967296%",
            "10%%",
        ] {
            assert!(bad.parse::<Percent>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_rollout_serves_the_other_variant_first_and_reads_back() {
        let f = flag(ONOFF);
        let change = Change::Rollout {
            percent: "10%".parse().unwrap(),
            variant: None,
            replace: false,
        };
        let edits = change.edits("f", &f).unwrap();
        assert_eq!(
            edits[1],
            (
                "targeting",
                Some(json!({"fractional": [["on", 10], ["off", 90]]}))
            )
        );
        let rolled = flag(&ONOFF.replace(
            "\"defaultVariant\": \"off\"",
            "\"defaultVariant\": \"off\", \"targeting\": {\"fractional\": [[\"on\", 1250], [\"off\", 8750]]}",
        ));
        assert_eq!(summary(&rolled), "12.5% on, rest off");
        let again = Change::Rollout {
            percent: "12.5%".parse().unwrap(),
            variant: None,
            replace: false,
        };
        assert_eq!(
            again.edits("f", &rolled).unwrap()[1].1,
            Some(json!({"fractional": [["on", 1250], ["off", 8750]]}))
        );
    }

    #[test]
    fn changes_that_cannot_be_made_say_why() {
        let f = flag(ONOFF);
        let set = Change::Set {
            variant: "offf".into(),
        };
        let refused = set.edits("f", &f).unwrap_err();
        assert!(refused.hint.unwrap().contains("`off`"));
        let to_default = Change::Rollout {
            percent: Percent(1000),
            variant: Some("off".into()),
            replace: false,
        };
        assert!(
            to_default
                .edits("f", &f)
                .unwrap_err()
                .message
                .contains("default")
        );
        let three = flag(
            r#"{"state": "ENABLED", "variants": {"a": 1, "b": 2, "c": 3}, "defaultVariant": "a"}"#,
        );
        let which = Change::Rollout {
            percent: Percent(1000),
            variant: None,
            replace: false,
        };
        assert!(
            which
                .edits("f", &three)
                .unwrap_err()
                .message
                .contains("say which")
        );
        let none = flag(r#"{"state": "ENABLED", "variants": {"a": 1, "b": 2}}"#);
        assert!(
            which
                .edits("f", &none)
                .unwrap_err()
                .message
                .contains("no default")
        );
    }

    #[test]
    fn summaries() {
        assert_eq!(summary(&flag(ONOFF)), "off for everyone");
        assert!(summary(&flag(&ONOFF.replace("ENABLED", "DISABLED"))).starts_with("disabled"));
        let rule = ONOFF.replace(
            "\"defaultVariant\": \"off\"",
            "\"defaultVariant\": \"off\", \"targeting\": {\"if\": [true, \"on\"]}",
        );
        assert_eq!(summary(&flag(&rule)), "targeting rule, else off");
    }

    #[test]
    fn a_boolean_rollout_serves_true_to_the_share_whatever_the_default() {
        let on = flag(&ONOFF.replace("\"defaultVariant\": \"off\"", "\"defaultVariant\": \"on\""));
        let change = Change::Rollout {
            percent: Percent(1000),
            variant: None,
            replace: false,
        };
        let edits = change.edits("f", &on).unwrap();
        assert!(
            edits.contains(&("defaultVariant", Some(json!("off")))),
            "{edits:?}"
        );
        assert!(edits.contains(&(
            "targeting",
            Some(json!({"fractional": [["on", 10], ["off", 90]]}))
        )));
        // With `off` the default, the default stays.
        let edits = change.edits("f", &flag(ONOFF)).unwrap();
        assert!(
            !edits.iter().any(|(member, _)| *member == "defaultVariant"),
            "{edits:?}"
        );
    }

    #[test]
    fn a_rule_of_the_flags_own_is_replaced_only_when_asked() {
        let rule = flag(&ONOFF.replace(
            "\"defaultVariant\": \"off\"",
            "\"defaultVariant\": \"off\", \"targeting\": {\"if\": [true, \"on\"]}",
        ));
        let mut change = Change::Rollout {
            percent: Percent(1000),
            variant: None,
            replace: false,
        };
        let refused = change.edits("f", &rule).unwrap_err();
        assert!(
            refused.message.contains("targeting rule of its own"),
            "{refused:?}"
        );
        assert!(refused.hint.unwrap().contains("--replace"));
        if let Change::Rollout { replace, .. } = &mut change {
            *replace = true;
        }
        assert!(change.edits("f", &rule).is_ok());
    }
}
