//! flagd's own test cases, run against dozen's evaluator: the in-process evaluator suite of
//! `open-feature/flagd-testbed` at commit 82ba89ec8db498fa51368e558e4d87642d9e93c4
//! (`evaluator/flags/testkit-flags.json` and `evaluator/gherkin/*.feature`, copied unchanged
//! into `tests/data/flagd-testbed/`). Every scenario runs, except the examples tagged
//! `@fractional-v1`: flagd's former float bucketing, which flagd itself no longer does (the
//! `@fractional-v2` examples, the same cases bucketed as flagd now buckets, run).
//!
//! Also the providers' suites about evaluation (`gherkin/{targeting,evaluation,metadata}
//! .feature`; the others are about connections, events, caches and selectors) over the flag
//! files they use (`flags/*.json`, seven of them), with `@fractional-v3` skipped too: bucketing
//! by flagd's accepted ADR for non-string bucketing values
//! (`docs/architecture-decisions/fractional-non-string-rand-units.md`), which flagd's evaluator
//! does not do yet (commit bbb05d4 is still "v2"); and `@deprecated`, which the suite itself
//! replaces by `@no-default-variant`.

use serde_json::{Map, Value, json};

use super::gherkin::{Scenario, Step, scenarios};
use super::jsonlogic_suite::same;
use crate::flags::{Context, Definitions, Evaluation, Kind, check};

const FLAGS: &str = include_str!("../../../tests/data/flagd-testbed/flags/testkit-flags.json");

const FEATURES: [(&str, &str); 11] = [
    (
        "disabled.feature",
        include_str!("../../../tests/data/flagd-testbed/gherkin/disabled.feature"),
    ),
    (
        "errors.feature",
        include_str!("../../../tests/data/flagd-testbed/gherkin/errors.feature"),
    ),
    (
        "evaluation.feature",
        include_str!("../../../tests/data/flagd-testbed/gherkin/evaluation.feature"),
    ),
    (
        "evaluator-refs.feature",
        include_str!("../../../tests/data/flagd-testbed/gherkin/evaluator-refs.feature"),
    ),
    (
        "fractional.feature",
        include_str!("../../../tests/data/flagd-testbed/gherkin/fractional.feature"),
    ),
    (
        "metadata.feature",
        include_str!("../../../tests/data/flagd-testbed/gherkin/metadata.feature"),
    ),
    (
        "no-default-variant.feature",
        include_str!("../../../tests/data/flagd-testbed/gherkin/no-default-variant.feature"),
    ),
    (
        "semver.feature",
        include_str!("../../../tests/data/flagd-testbed/gherkin/semver.feature"),
    ),
    (
        "string.feature",
        include_str!("../../../tests/data/flagd-testbed/gherkin/string.feature"),
    ),
    (
        "targeting.feature",
        include_str!("../../../tests/data/flagd-testbed/gherkin/targeting.feature"),
    ),
    (
        "zero-values.feature",
        include_str!("../../../tests/data/flagd-testbed/gherkin/zero-values.feature"),
    ),
];

/// Tags whose examples do not apply to flagd's current evaluation, and why.
const SKIPPED: [(&str, &str); 3] = [
    (
        "@fractional-v1",
        "flagd's legacy float bucketing (abs(hash) / i32::MAX * 100), replaced by (hash * total) >> 32",
    ),
    (
        "@fractional-v3",
        "the bucketing of flagd's ADR for non-string values, not in flagd's evaluator yet",
    ),
    (
        "@deprecated",
        "the suite's own words: replaced by @no-default-variant, whose DEFAULT (not ERROR) passes",
    ),
];

const PROVIDER_FLAGS: [(&str, &str); 7] = [
    (
        "custom-ops.json",
        include_str!("../../../tests/data/flagd-testbed/flags/custom-ops.json"),
    ),
    (
        "edge-case-flags.json",
        include_str!("../../../tests/data/flagd-testbed/flags/edge-case-flags.json"),
    ),
    (
        "evaluator-refs.json",
        include_str!("../../../tests/data/flagd-testbed/flags/evaluator-refs.json"),
    ),
    (
        "testing-flags.json",
        include_str!("../../../tests/data/flagd-testbed/flags/testing-flags.json"),
    ),
    (
        "zero-flags.json",
        include_str!("../../../tests/data/flagd-testbed/flags/zero-flags.json"),
    ),
    (
        "metadata-flags.json",
        include_str!("../../../tests/data/flagd-testbed/flags/metadata-flags.json"),
    ),
    (
        "selector-flag-combined-metadata.json",
        include_str!(
            "../../../tests/data/flagd-testbed/flags/selector-flag-combined-metadata.json"
        ),
    ),
];

const PROVIDER_FEATURES: [(&str, &str); 3] = [
    (
        "provider/targeting.feature",
        include_str!("../../../tests/data/flagd-testbed/gherkin/provider/targeting.feature"),
    ),
    (
        "provider/evaluation.feature",
        include_str!("../../../tests/data/flagd-testbed/gherkin/provider/evaluation.feature"),
    ),
    (
        "provider/metadata.feature",
        include_str!("../../../tests/data/flagd-testbed/gherkin/provider/metadata.feature"),
    ),
];

/// The testkit's flags as dozen reads them, through the file check's lenient half: the
/// testkit holds one flag that refers to an undefined evaluator on purpose (dozen's check
/// refuses such a file; the evaluator, given it anyway, answers as flagd does).
fn testkit() -> Definitions {
    let checked = check("testkit-flags.json", FLAGS);
    let (errors, warnings): (Vec<_>, Vec<_>) =
        checked.diagnostics.iter().partition(|d| d.is_error());
    let errors: Vec<String> = errors.iter().map(|d| d.headline()).collect();
    assert_eq!(
        errors,
        [
            "testkit-flags.json:588:21: `$ref` names evaluator `nonexistent_evaluator`, which `$evaluators` does not define"
        ],
    );
    // Eight rules break flagd's targeting schema on purpose (wrong argument counts, `v`
    // prefixes, numbers for versions): warnings, as flagd gives, one in each.
    let lines: Vec<&str> = FLAGS.lines().collect();
    let mut flagged: Vec<&str> = warnings
        .iter()
        .map(|warning| {
            let line = warning.location.as_ref().expect("located").line;
            // The flag whose definition the line is in: the last flag key above it.
            lines[..line]
                .iter()
                .rev()
                .find_map(|l| l.strip_prefix("    \"")?.strip_suffix("\": {"))
                .expect("inside a flag")
        })
        .collect();
    flagged.dedup();
    assert_eq!(
        flagged,
        [
            "semver-invalid-operator-flag",
            "semver-v-prefix-flag",
            "semver-partial-version-flag",
            "semver-numeric-context-flag",
            "starts-with-wrong-args-flag",
            "ends-with-wrong-args-flag",
            "fractional-negative-weight-flag",
            "semver-wrong-args-flag",
        ]
    );
    checked.definitions.expect("the testkit reads")
}

#[test]
fn flagd_testbed_scenarios() {
    let (ran, skipped) = run_features(&[("testkit-flags.json", testkit())], &FEATURES);
    assert_eq!(
        (ran, skipped),
        (RAN, SKIPPED_COUNT),
        "every scenario was read"
    );
}

#[test]
fn flagd_provider_scenarios() {
    // The testbed's launchpad serves its flag files merged into one (`CombineJSONFiles`), so
    // a flag may name an evaluator of another file; the file holding flag-set metadata is the
    // one a scenario's selector (`rawflags/FILE`) picks.
    let (selectable, merged): (Vec<_>, Vec<_>) = PROVIDER_FLAGS
        .iter()
        .partition(|(file, _)| *file == "selector-flag-combined-metadata.json");
    let mut combined = json!({"flags": {}, "$evaluators": {}});
    for (_, text) in merged {
        let document: Value = serde_json::from_str(text).expect("JSON");
        for section in ["flags", "$evaluators"] {
            if let Some(entries) = document.get(section).and_then(Value::as_object) {
                let into = combined[section].as_object_mut().expect("an object");
                into.extend(entries.clone());
            }
        }
    }
    let combined = combined.to_string();
    let mut sets = vec![(
        "allFlags.json",
        check("allFlags.json", &combined)
            .definitions
            .expect("reads"),
    )];
    for (file, text) in selectable {
        sets.push((file, check(file, text).definitions.expect("reads")));
    }
    let (ran, skipped) = run_features(&sets, &PROVIDER_FEATURES);
    assert_eq!(
        (ran, skipped),
        (PROVIDER_RAN, PROVIDER_SKIPPED),
        "every scenario was read"
    );
}

/// Runs every scenario of `features` against the first of `sets` to define each flag, and
/// answers how many ran (all passing, or the test fails) and how many were skipped for each
/// of [`SKIPPED`]'s tags.
fn run_features(sets: &[(&str, Definitions)], features: &[(&str, &str)]) -> (usize, [usize; 3]) {
    let (mut ran, mut skipped, mut failures) = (0, [0; 3], Vec::new());
    for (file, text) in features {
        for scenario in scenarios(file, text) {
            if let Some(i) = SKIPPED
                .iter()
                .position(|(tag, _)| scenario.tags.iter().any(|t| t == tag))
            {
                skipped[i] += 1;
                continue;
            }
            ran += 1;
            if let Err(why) = run(sets, &scenario) {
                failures.push(format!("{}: {why}", scenario.name));
            }
        }
    }
    eprintln!(
        "flagd-testbed: {ran} ran, {} passed, skipped {skipped:?} (v1, v3, deprecated)",
        ran - failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    (ran, skipped)
}

/// Examples and scenarios in the eleven features, less the skipped ones.
const RAN: usize = 125;
const SKIPPED_COUNT: [usize; 3] = [15, 0, 0];
const PROVIDER_RAN: usize = 125;
const PROVIDER_SKIPPED: [usize; 3] = [15, 132, 7];

/// The state a scenario builds up, step by step.
#[derive(Default)]
struct World {
    /// The flag's type as the scenario names it (`Integer`, `Float`, …), key and fallback.
    flag: Option<(String, String, Value)>,
    context: Map<String, Value>,
    evaluation: Option<Evaluation>,
    /// The one file a `selector` option names (`rawflags/FILE`).
    selector: Option<String>,
}

fn run(sets: &[(&str, Definitions)], scenario: &Scenario) -> Result<(), String> {
    let mut world = World::default();
    for step in &scenario.steps {
        apply(sets, &mut world, step).map_err(|why| format!("`{}`: {why}", step.text))?;
    }
    Ok(())
}

/// The quoted arguments of a step, in order; `\"` inside one is kept (an object's quotes).
fn quoted(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut start = None;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match (c, start) {
            ('"', None) => start = Some(i + 1),
            ('"', Some(from)) if !escaped => {
                found.push(&text[from..i]);
                start = None;
            }
            _ => {}
        }
        escaped = c == '\\' && !escaped;
    }
    found
}

/// A value written as text in a scenario, read as the scenario's type says.
fn typed(type_name: &str, text: &str) -> Result<Value, String> {
    let bad = || format!("`{text}` is no {type_name}");
    Ok(match type_name {
        "Boolean" => Value::Bool(text.parse().map_err(|_| bad())?),
        "String" => Value::String(text.to_owned()),
        "Integer" => Value::from(text.parse::<i64>().map_err(|_| bad())?),
        "Float" => json!(text.parse::<f64>().map_err(|_| bad())?),
        "Object" => serde_json::from_str(&text.replace("\\\"", "\"")).map_err(|e| e.to_string())?,
        other => return Err(format!("unknown type {other}")),
    })
}

fn kind_of(type_name: &str) -> Kind {
    match type_name {
        "Boolean" => Kind::Boolean,
        "String" => Kind::String,
        "Object" => Kind::Object,
        _ => Kind::Number,
    }
}

fn apply(sets: &[(&str, Definitions)], world: &mut World, step: &Step) -> Result<(), String> {
    let text = step.text.as_str();
    let args = quoted(text);
    let arg = |i: usize| args.get(i).copied().ok_or("too few arguments");
    let evaluation = || world.evaluation.as_ref().ok_or("not evaluated yet");
    let flag_type = || world.flag.as_ref().map(|f| f.0.as_str()).ok_or("no flag");
    if text.starts_with("an option \"selector\"") {
        let file = arg(2)?.rsplit('/').next().unwrap_or_default();
        world.selector = Some(file.to_owned());
        return Ok(());
    }
    // The evaluator is in process: nothing to start, no other options to set.
    if [
        "an evaluator",
        "a stable flagd provider",
        "a metadata flagd provider",
    ]
    .contains(&text)
        || text.starts_with("an option ")
    {
        return Ok(());
    }
    if let Some((type_name, _)) = text
        .strip_prefix("a ")
        .and_then(|t| t.split_once("-flag with key "))
    {
        world.flag = Some((
            type_name.to_owned(),
            arg(0)?.to_owned(),
            typed(type_name, arg(1)?)?,
        ));
    } else if text.starts_with("a context containing a key ") {
        let value = typed(arg(1)?, arg(2)?)?;
        world.context.insert(arg(0)?.to_owned(), value);
    } else if text.starts_with("a context containing a targeting key") {
        world.context.insert("targetingKey".into(), json!(arg(0)?));
    } else if text.starts_with("a context containing a nested property") {
        let outer = world
            .context
            .entry(arg(0)?.to_owned())
            .or_insert_with(|| json!({}));
        let outer = outer.as_object_mut().ok_or("outer key is not an object")?;
        outer.insert(arg(1)?.to_owned(), json!(arg(2)?));
    } else if text == "the flag was evaluated with details" {
        let (type_name, key, _) = world.flag.as_ref().ok_or("no flag")?;
        let context = Context(world.context.clone());
        let definitions = &sets
            .iter()
            .find(|(file, _)| {
                world
                    .selector
                    .as_ref()
                    .is_none_or(|selected| file == selected)
            })
            .unwrap_or(&sets[0])
            .1;
        world.evaluation = Some(
            definitions
                .evaluate(key, &context)
                .expect(kind_of(type_name)),
        );
    } else if text.starts_with("the resolved details value should be") {
        let (_, _, fallback) = world.flag.as_ref().ok_or("no flag")?;
        let got = evaluation()?.value_or(fallback.clone());
        let want = typed(flag_type()?, arg(0)?)?;
        if !same(&got, &want) {
            return Err(format!("value {got}, want {want} ({:?})", evaluation()?));
        }
    } else if text.starts_with("the reason should be") {
        let got = serde_json::to_value(evaluation()?.reason).map_err(|e| e.to_string())?;
        if got != arg(0)? {
            return Err(format!("reason {got} ({:?})", evaluation()?));
        }
    } else if text.starts_with("the error-code should be") {
        let code = evaluation()?.error.as_ref().map(|e| e.code);
        let got = serde_json::to_value(code).map_err(|e| e.to_string())?;
        // An empty code is no error at all.
        let want = Some(arg(0)?).filter(|code| !code.is_empty());
        if got != serde_json::to_value(want).map_err(|e| e.to_string())? {
            return Err(format!("error code {got} ({:?})", evaluation()?));
        }
    } else if text == "the resolved metadata should contain" {
        let metadata = &evaluation()?.metadata;
        for row in step.table.iter().skip(1) {
            let [key, type_name, value] = row.as_slice() else {
                return Err(format!("a metadata row is key, type, value: {row:?}"));
            };
            let want = typed(type_name, value)?;
            if !metadata.get(key).is_some_and(|got| same(got, &want)) {
                return Err(format!(
                    "metadata {key}: {:?}, want {want}",
                    metadata.get(key)
                ));
            }
        }
    } else if text == "the resolved metadata is empty" {
        if !evaluation()?.metadata.is_empty() {
            return Err(format!("metadata {:?}", evaluation()?.metadata));
        }
    } else {
        return Err("a step this runner does not know".into());
    }
    Ok(())
}
