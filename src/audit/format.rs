//! The report in each `--format`: text (scorecard, then findings by factor), json (DESIGN §8),
//! sarif (2.1.0), junit, github (workflow annotations). Secrets are masked before they get
//! here: a finding's evidence is already masked.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::finding::{Factor, Finding, Severity};
use super::report::{FactorStatus, Report};
use super::rule::Rule;
use super::rules;
use super::suppress::Suppressed;
use crate::ui::Paint;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
    Sarif,
    Junit,
    Github,
}

fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// Milliseconds as seconds, for one decimal.
#[allow(clippy::cast_precision_loss)]
fn seconds(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

fn plural(count: usize, word: &str) -> String {
    format!("{count} {word}{}", if count == 1 { "" } else { "s" })
}

/// The scorecard, then the findings grouped by factor, then the totals.
pub fn text(report: &Report, suppressed: Suppressed, paint: Paint) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        paint.bold(&format!("dozen audit: {}", report.app))
    );
    for factor in Factor::ALL {
        let status = report.status(factor);
        let mark = match status {
            FactorStatus::Pass => paint.good("pass"),
            FactorStatus::Warn => paint.warning("warn"),
            FactorStatus::Fail => paint.error("fail"),
            FactorStatus::Skip => paint.dim("skip"),
        };
        let counts: Vec<String> = [Severity::Error, Severity::Warning, Severity::Note]
            .into_iter()
            .filter_map(|severity| {
                let n = report
                    .findings
                    .iter()
                    .filter(|f| f.factor == factor && f.severity == severity)
                    .count();
                (n > 0).then(|| plural(n, severity_word(severity)))
            })
            .collect();
        let row = format!("  {mark}  {:<5} {:<20}", factor.roman(), factor.name());
        if counts.is_empty() {
            let _ = writeln!(out, "{}", row.trim_end());
        } else {
            let _ = writeln!(out, "{row} {}", paint.dim(&counts.join(", ")));
        }
    }
    probe_lines(report, paint, &mut out);
    for factor in Factor::ALL {
        let findings: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.factor == factor)
            .collect();
        if findings.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "\n{}",
            paint.bold(&format!("{} {}", factor.roman(), factor.name()))
        );
        for finding in findings {
            let severity = severity_word(finding.severity);
            let painted = match finding.severity {
                Severity::Error => paint.error(severity),
                Severity::Warning => paint.warning(severity),
                Severity::Note => paint.dim(severity),
            };
            let _ = write!(
                out,
                "  {}:{}:{}: {painted}[{}] {}",
                finding.path, finding.line, finding.column, finding.rule, finding.message
            );
            if !finding.evidence.is_empty() && !finding.message.contains(&finding.evidence) {
                let _ = write!(out, " {}", paint.dim(&format!("({})", finding.evidence)));
            }
            out.push('\n');
            also_lines(finding, paint, &mut out);
        }
    }
    let mut totals = format!(
        "\n{}, {}, {}",
        plural(report.count(Severity::Error), "error"),
        plural(report.count(Severity::Warning), "warning"),
        plural(report.count(Severity::Note), "note")
    );
    let hidden = suppressed.inline + suppressed.manifest + suppressed.baseline;
    if hidden > 0 {
        let _ = write!(
            totals,
            "; {hidden} suppressed ({} inline, {} by dozen.toml, {} by the baseline)",
            suppressed.inline, suppressed.manifest, suppressed.baseline
        );
    }
    out.push_str(&totals);
    out.push('\n');
    out
}

/// One line per type the probe ran: times, port, files written.
fn probe_lines(report: &Report, paint: Paint, out: &mut String) {
    if report.probes.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{}", paint.bold("Probe"));
    let width = report
        .probes
        .iter()
        .map(|p| p.type_name.len())
        .max()
        .unwrap_or(0);
    for probe in &report.probes {
        let ready = probe.ready_ms.map_or_else(
            || "not ready".to_owned(),
            |ms| format!("ready in {:.1}s", seconds(ms)),
        );
        let stop = probe.stop_ms.map_or_else(
            || "did not stop".to_owned(),
            |ms| format!("stopped in {:.1}s", seconds(ms)),
        );
        let mut line = format!("  {:<width$}  {ready}, {stop}", probe.type_name);
        if !probe.started {
            line = format!(
                "  {:<width$}  did not start ({})",
                probe.type_name,
                probe.exit.as_deref().unwrap_or("no exit status")
            );
        }
        let _ = write!(line, "; port {}", probe.port);
        if !probe.files.is_empty() {
            let _ = write!(
                line,
                "; wrote {}",
                probe.files[..probe.files.len().min(5)].join(", ")
            );
            if probe.files.len() > 5 {
                let _ = write!(line, " and {} more", probe.files.len() - 5);
            }
        }
        let _ = writeln!(out, "{line}");
    }
}

/// The other places of a finding's cause, under it: five at most, then how many more.
fn also_lines(finding: &Finding, paint: Paint, out: &mut String) {
    const SHOWN: usize = 5;
    if let Some(own) = &finding.own_message {
        let _ = writeln!(out, "      {}", paint.dim(&format!("here: {own}")));
    }
    for l in finding.also.iter().take(SHOWN) {
        let own = l
            .message
            .as_deref()
            .map(|m| format!(": {m}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "      {}",
            paint.dim(&format!("also {}:{}:{}{own}", l.path, l.line, l.column))
        );
    }
    if finding.also.len() > SHOWN {
        let _ = writeln!(
            out,
            "      {}",
            paint.dim(&format!("and {} more places", finding.also.len() - SHOWN))
        );
    }
}

/// DESIGN §8's JSON, plus what was suppressed.
pub fn json(report: &Report, suppressed: Suppressed) -> String {
    let mut value = report.to_json();
    value["suppressed"] = json!(suppressed);
    let mut text = serde_json::to_string_pretty(&value).expect("serializable");
    text.push('\n');
    text
}

fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

fn rule_descriptor(rule: &Rule) -> Value {
    json!({
        "id": rule.id,
        "name": rule.id,
        "shortDescription": { "text": rule.summary },
        "fullDescription": { "text": rule.explanation },
        "help": {
            "text": format!("{}\n\nFix: {}", rule.explanation, rule.fix),
            "markdown": format!("**Factor {} — {}.** {}\n\n**Fix:** {}", rule.factor.roman(), rule.factor.name(), rule.explanation, rule.fix),
        },
        "helpUri": format!("https://12factor.net/{}", factor_page(rule.factor)),
        "defaultConfiguration": {
            "level": sarif_level(crate::audit::measured::default_severity(rule)),
            "enabled": !crate::audit::measured::off(rule),
        },
        "properties": properties(rule),
    })
}

/// A rule's SARIF properties: its tags and, once measured, its first-sight precision in
/// SARIF's words (`very-high` at 0.95, `high` at 0.80, `medium` at 0.50, else `low`) with the
/// counts it rests on.
fn properties(rule: &Rule) -> Value {
    let measured = crate::audit::measured::of(rule);
    let mut value = json!({
        "tags": ["twelve-factor", format!("factor-{}", rule.factor.roman()), rule.factor.slug()],
        "measured-true-positives": measured.true_positives,
        "measured-false-positives": measured.false_positives,
    });
    if let Some(p) = measured.precision() {
        value["precision"] = json!(match p {
            p if p >= 0.95 => "very-high",
            p if p >= 0.80 => "high",
            p if p >= 0.50 => "medium",
            _ => "low",
        });
    }
    value
}

/// The page of 12factor.net that explains a factor.
fn factor_page(factor: Factor) -> &'static str {
    match factor {
        Factor::I => "codebase",
        Factor::II => "dependencies",
        Factor::III => "config",
        Factor::IV => "backing-services",
        Factor::V => "build-release-run",
        Factor::VI => "processes",
        Factor::VII => "port-binding",
        Factor::VIII => "concurrency",
        Factor::IX => "disposability",
        Factor::X => "dev-prod-parity",
        Factor::XI => "logs",
        Factor::XII => "admin-processes",
    }
}

/// SARIF 2.1.0 for code-scanning uploads: every rule's metadata, results with repo-relative
/// URIs (`prefix` is the app's directory within the repository).
pub fn sarif(report: &Report, prefix: &str) -> String {
    let all: Vec<&Rule> = rules::all().collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|finding| {
            let index = all.iter().position(|r| r.id == finding.rule).unwrap_or(0);
            let text = if finding.evidence.is_empty() || finding.message.contains(&finding.evidence) {
                format!("{}.", finding.message)
            } else {
                format!("{}: {}.", finding.message, finding.evidence)
            };
            json!({
                "ruleId": finding.rule,
                "ruleIndex": index,
                "level": sarif_level(finding.severity),
                "message": { "text": text },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": format!("{prefix}{}", finding.path) },
                        "region": { "startLine": finding.line, "startColumn": finding.column },
                    }
                }],
                // The other places of the same cause: one result, N locations.
                "relatedLocations": finding.also.iter().enumerate().map(|(i, l)| json!({
                    "id": i + 1,
                    "physicalLocation": {
                        "artifactLocation": { "uri": format!("{prefix}{}", l.path) },
                        "region": { "startLine": l.line, "startColumn": l.column },
                    },
                    "message": { "text": l.message.as_deref().unwrap_or("the same cause") },
                })).collect::<Vec<_>>(),
                "properties": { "factor": finding.factor.roman(), "fingerprint": finding.fingerprint },
            })
        })
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "dozen",
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://12factor.net/",
                    "rules": all.iter().map(|r| rule_descriptor(r)).collect::<Vec<_>>(),
                }
            },
            "automationDetails": { "id": "dozen-audit/" },
            "results": results,
        }]
    });
    let mut text = serde_json::to_string_pretty(&log).expect("serializable");
    text.push('\n');
    text
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c < ' ' && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// `JUnit` XML: one test case per rule, with a failure per finding of that rule (CI systems show
/// each failure; a rule without findings is a passing case).
pub fn junit(report: &Report) -> String {
    let mut cases = String::new();
    let mut tests = 0;
    let mut failures = 0;
    for rule in rules::all() {
        tests += 1;
        let findings: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.rule == rule.id)
            .collect();
        let _ = write!(
            cases,
            "    <testcase classname=\"factor-{}.{}\" name=\"{}\"",
            rule.factor.roman(),
            rule.factor.slug(),
            xml_escape(rule.id)
        );
        if findings.is_empty() {
            cases.push_str("/>\n");
            continue;
        }
        failures += 1;
        cases.push_str(">\n");
        for finding in findings {
            let _ = writeln!(
                cases,
                "      <failure type=\"{}\" message=\"{}\">{}:{}:{}: {} ({})</failure>",
                severity_word(finding.severity),
                xml_escape(&finding.message),
                xml_escape(&finding.path),
                finding.line,
                finding.column,
                xml_escape(&finding.message),
                xml_escape(&finding.evidence)
            );
        }
        cases.push_str("    </testcase>\n");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"dozen audit\" tests=\"{tests}\" failures=\"{failures}\">\n  <testsuite name=\"dozen audit: {}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">\n{cases}  </testsuite>\n</testsuites>\n",
        xml_escape(&report.app)
    )
}

/// Escapes a GitHub workflow command's data (`%`, CR, LF) or property (also `:` and `,`).
fn github_escape(text: &str, property: bool) -> String {
    let mut out = text
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    if property {
        out = out.replace(':', "%3A").replace(',', "%2C");
    }
    out
}

/// GitHub Actions workflow commands: one annotation per finding, repo-relative paths.
pub fn github(report: &Report, prefix: &str) -> String {
    let mut out = String::new();
    for finding in &report.findings {
        let command = match finding.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "notice",
        };
        let message = if finding.evidence.is_empty() || finding.message.contains(&finding.evidence)
        {
            finding.message.clone()
        } else {
            format!("{} ({})", finding.message, finding.evidence)
        };
        let _ = writeln!(
            out,
            "::{command} file={},line={},col={},title={}::{}",
            github_escape(&format!("{prefix}{}", finding.path), true),
            finding.line,
            finding.column,
            github_escape(finding.rule, true),
            github_escape(&message, false)
        );
    }
    out
}
