//! gitleaks' own rule test cases (`tests/gitleaks/cases.tsv`, made by
//! `tests/gitleaks/extract.py` from gitleaks' `cmd/generate/config/rules/*.go`) as a table test
//! for the providers dozen claims: each claimed provider finds at least 95% of gitleaks' true
//! positives for it, and all the provider rules together flag at most 5% of its negatives.

use std::collections::BTreeMap;

use crate::audit::files::Kind;
use crate::audit::scan::{Pattern, Scanner};

const CASES: &str = include_str!("../../../../tests/gitleaks/cases.tsv");

/// gitleaks' rule id → the dozen rule that claims it. A gitleaks rule not listed is a
/// provider dozen does not claim.
const CLAIMED: &[(&str, &str)] = &[
    (
        "1password-service-account-token",
        "config/onepassword-token",
    ),
    ("age-secret-key", "config/age-key"),
    ("alibaba-access-key-id", "config/alibaba-key"),
    ("anthropic-admin-api-key", "config/anthropic-key"),
    ("anthropic-api-key", "config/anthropic-key"),
    ("artifactory-api-key", "config/artifactory-token"),
    ("artifactory-reference-token", "config/artifactory-token"),
    ("atlassian-api-token", "config/atlassian-token"),
    ("aws-access-token", "config/aws-access-key"),
    ("azure-ad-client-secret", "config/azure-key"),
    ("databricks-api-token", "config/databricks-token"),
    ("digitalocean-access-token", "config/digitalocean-token"),
    ("digitalocean-pat", "config/digitalocean-token"),
    ("digitalocean-refresh-token", "config/digitalocean-token"),
    ("doppler-api-token", "config/doppler-token"),
    ("gcp-api-key", "config/google-api-key"),
    ("github-app-token", "config/github-token"),
    ("github-fine-grained-pat", "config/github-token"),
    ("github-oauth", "config/github-token"),
    ("github-pat", "config/github-token"),
    ("github-refresh-token", "config/github-token"),
    ("gitlab-cicd-job-token", "config/gitlab-token"),
    ("gitlab-deploy-token", "config/gitlab-token"),
    ("gitlab-feature-flag-client-token", "config/gitlab-token"),
    ("gitlab-feed-token", "config/gitlab-token"),
    ("gitlab-incoming-mail-token", "config/gitlab-token"),
    ("gitlab-kubernetes-agent-token", "config/gitlab-token"),
    ("gitlab-oauth-app-secret", "config/gitlab-token"),
    ("gitlab-pat", "config/gitlab-token"),
    ("gitlab-pat-routable", "config/gitlab-token"),
    ("gitlab-ptt", "config/gitlab-token"),
    ("gitlab-rrt", "config/gitlab-token"),
    ("gitlab-runner-authentication-token", "config/gitlab-token"),
    (
        "gitlab-runner-authentication-token-routable",
        "config/gitlab-token",
    ),
    ("gitlab-scim-token", "config/gitlab-token"),
    ("grafana-api-key", "config/grafana-token"),
    ("grafana-cloud-api-token", "config/grafana-token"),
    ("grafana-service-account-token", "config/grafana-token"),
    ("hashicorp-tf-api-token", "config/hashicorp-token"),
    ("heroku-api-key", "config/heroku-key"),
    ("heroku-api-key-v2", "config/heroku-key"),
    ("huggingface-access-token", "config/huggingface-token"),
    (
        "huggingface-organization-api-token",
        "config/huggingface-token",
    ),
    ("jfrog-api-key", "config/artifactory-token"),
    ("jfrog-identity-token", "config/artifactory-token"),
    ("jwt", "config/jwt"),
    ("linear-api-key", "config/linear-key"),
    ("mailchimp-api-key", "config/mailchimp-key"),
    ("new-relic-browser-api-token", "config/new-relic-key"),
    ("new-relic-insert-key", "config/new-relic-key"),
    ("new-relic-user-api-key", "config/new-relic-key"),
    ("npm-access-token", "config/npm-token"),
    ("openai-api-key", "config/openai-key"),
    ("planetscale-api-token", "config/planetscale-token"),
    ("planetscale-oauth-token", "config/planetscale-token"),
    ("planetscale-password", "config/planetscale-token"),
    ("postman-api-token", "config/postman-key"),
    ("private-key", "config/private-key"),
    ("pulumi-api-token", "config/pulumi-token"),
    ("pypi-upload-token", "config/pypi-token"),
    ("rubygems-api-token", "config/rubygems-key"),
    ("sendgrid-api-token", "config/sendgrid-key"),
    ("sendinblue-api-token", "config/brevo-key"),
    ("sentry-access-token", "config/sentry-token"),
    ("sentry-org-token", "config/sentry-token"),
    ("sentry-user-token", "config/sentry-token"),
    ("shopify-access-token", "config/shopify-token"),
    ("shopify-custom-access-token", "config/shopify-token"),
    ("shopify-private-app-access-token", "config/shopify-token"),
    ("shopify-shared-secret", "config/shopify-token"),
    ("slack-app-token", "config/slack-token"),
    ("slack-bot-token", "config/slack-token"),
    ("slack-config-access-token", "config/slack-token"),
    ("slack-config-refresh-token", "config/slack-token"),
    ("slack-legacy-bot-token", "config/slack-token"),
    ("slack-legacy-token", "config/slack-token"),
    ("slack-legacy-workspace-token", "config/slack-token"),
    ("slack-user-token", "config/slack-token"),
    ("slack-webhook-url", "config/slack-token"),
    ("square-access-token", "config/square-token"),
    ("square-secret", "config/square-token"),
    ("stripe-access-token", "config/stripe-key"),
    ("telegram-bot-api-token", "config/telegram-token"),
    ("twilio-api-key", "config/twilio-key"),
    ("vault-batch-token", "config/hashicorp-token"),
    ("vault-service-token", "config/hashicorp-token"),
];

/// gitleaks' positives whose token dozen reads as a stand-in on purpose, with why. They are
/// left out of recall and counted apart; every one must still be missed (a stand-in dozen
/// starts reporting is a change to look at).
const STAND_INS: &[(&str, &str)] = &[
    (
        "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ",
        "one character repeated: an all-zero key",
    ),
    (
        "sk-ant-api03-abc123xyz-456def789ghij-klmnopqrstuvwx-3456yza789bcde-1234fghijklmnopby56aaaogaopaaaabc123xyzAA",
        "typed: the alphabet in order",
    ),
    (
        "sk-ant-admin01-abc12fake-456def789ghij-klmnopqrstuvwx-3456yza789bcde-12fakehijklmnopby56aaaogaopaaaabc123xyzAA",
        "typed: the alphabet in order, `fake`",
    ),
    (
        "12345678-ABCD-ABCD-ABCD-1234567890AB",
        "typed: digits in order",
    ),
    (
        "xoxb-123456789012-Xw937qtWSXJss1lFaKe",
        "typed: digits in order",
    ),
    (
        "xoxa-2-511111111-31111111111-3111111111111-e039d02840a0b9379c",
        "one character repeated",
    ),
];

/// Why dozen's JWT rule passes over a gitleaks `jwt` positive, if it does on purpose: the rule
/// reports a signed token that has not expired (docs/audit.md). gitleaks reports any
/// `ey….ey….` shape.
fn jwt_left_out(text: &str) -> Option<&'static str> {
    let shape = regex::Regex::new(r"ey[A-Za-z0-9_/\\-]+\.ey[A-Za-z0-9_/\\-]+\.[A-Za-z0-9_/\\=-]*")
        .expect("the JWT shape compiles");
    let mut why = None;
    for token in shape.find_iter(text) {
        let parts: Vec<&str> = token.as_str().split('.').collect();
        let json = |part: &str| {
            super::tokens::base64url(part)
                .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        };
        let (Some(header), Some(payload)) = (json(parts[0]), json(parts[1])) else {
            why = why.or(Some("not a JWT: its parts are not base64url JSON"));
            continue;
        };
        let alg = header.get("alg").and_then(serde_json::Value::as_str);
        if alg.is_none_or(|alg| alg.eq_ignore_ascii_case("none")) || parts[2].len() < 10 {
            why = Some("unsigned");
            continue;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        if payload
            .get("exp")
            .and_then(serde_json::Value::as_f64)
            .is_some_and(|exp| exp < now)
        {
            why = Some("expired");
            continue;
        }
        return None;
    }
    why
}

struct Case {
    rule: &'static str,
    positive: bool,
    text: String,
}

fn cases() -> Vec<Case> {
    CASES
        .lines()
        .map(|line| {
            let mut fields = line.splitn(3, '\t');
            let (Some(rule), Some(kind), Some(text)) =
                (fields.next(), fields.next(), fields.next())
            else {
                panic!("a case is three fields: {line:?}");
            };
            let text: String = serde_json::from_str(text).expect("the case is a JSON string");
            Case {
                rule,
                positive: kind == "tp",
                text,
            }
        })
        .collect()
}

fn provider_patterns() -> Vec<&'static Pattern> {
    super::SECRETS
        .iter()
        .chain(super::providers::PATTERNS.iter())
        .collect()
}

/// The dozen rules that report something in `text`, as the audit runs them on code.
fn reported(scanner: &Scanner, patterns: &[&'static Pattern], text: &str) -> Vec<&'static str> {
    reported_in(scanner, patterns, text, "app.py", Kind::Code)
}

/// The dozen rules that report something in `text`, a file at `path` of `kind`.
fn reported_in(
    scanner: &Scanner,
    patterns: &[&'static Pattern],
    text: &str,
    path: &str,
    kind: Kind,
) -> Vec<&'static str> {
    let mut rules: Vec<&'static str> =
        crate::audit::scan::verified(scanner, patterns, text, path, kind)
            .into_iter()
            .filter_map(|i| patterns[i].rule().map(|r| r.id))
            .collect();
    rules.sort_unstable();
    rules.dedup();
    rules
}

#[test]
fn every_claimed_provider_finds_gitleaks_positives_and_few_negatives() {
    let patterns = provider_patterns();
    let scanner = Scanner::new(&patterns, None).expect("the patterns compile");
    let claimed: BTreeMap<&str, &str> = CLAIMED.iter().copied().collect();
    // Per gitleaks rule: (positives, found); negatives over every gitleaks rule.
    let mut recall: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let (mut negatives, mut flagged) = (0, 0);
    let mut left_out: BTreeMap<&str, usize> = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut misses = Vec::new();
    for case in cases() {
        let Some(ours) = claimed.get(case.rule) else {
            continue;
        };
        let rules = reported(&scanner, &patterns, &case.text);
        if case.positive {
            seen.insert(case.rule);
            let found = rules.contains(ours);
            let stand_in = STAND_INS
                .iter()
                .find(|(token, _)| case.text.contains(token))
                .map(|(_, why)| *why);
            if let Some(why) = stand_in {
                assert!(
                    !found,
                    "{} is a stand-in ({why}) yet reported: {:?}",
                    case.rule, case.text
                );
            }
            let jwt = || {
                (case.rule == "jwt" && !found)
                    .then(|| jwt_left_out(&case.text))
                    .flatten()
            };
            if let Some(why) = stand_in.or_else(jwt) {
                *left_out.entry(why).or_default() += 1;
                continue;
            }
            let entry = recall.entry(case.rule).or_default();
            entry.0 += 1;
            if found {
                entry.1 += 1;
            } else {
                misses.push(format!("{} ({ours}) missed {:?}", case.rule, case.text));
            }
        } else {
            negatives += 1;
            if !rules.is_empty() {
                flagged += 1;
                misses.push(format!(
                    "{} negative flagged by {rules:?}: {:?}",
                    case.rule, case.text
                ));
            }
        }
    }
    for line in &misses {
        eprintln!("{line}");
    }
    let mut below = Vec::new();
    for (rule, (positives, found)) in &recall {
        #[allow(clippy::cast_precision_loss)]
        let share = *found as f64 / *positives as f64;
        eprintln!("{rule:45} {found:4}/{positives:<4} {share:.2}");
        if share < 0.95 {
            below.push(format!("{rule} {found}/{positives}"));
        }
    }
    eprintln!("negatives flagged: {flagged}/{negatives}");
    eprintln!("positives left out on purpose: {left_out:?}");
    assert_eq!(
        seen.len(),
        claimed.len(),
        "every claimed gitleaks rule has cases in the table"
    );
    assert!(below.is_empty(), "recall below 0.95: {below:?}");
    assert!(
        flagged * 20 <= negatives,
        "{flagged} of {negatives} negatives flagged"
    );
}

const CONTEXTS: &str = include_str!("../../../../tests/gitleaks/contexts.tsv");

/// A file of the language a gitleaks context is written in, so the rule sees it as the audit
/// would.
fn file_for(context: &str) -> (&'static str, Kind) {
    let path = match context.split(" - ").next().unwrap_or(context) {
        "ini" => "app.ini",
        "json" => "settings.json",
        "xml" => "app.xml",
        "yaml" => "settings.yml",
        "C#" => "Settings.cs",
        "go" => "main.go",
        "java" | "misc" => "Main.java",
        "kotlin" => "Main.kt",
        "php" => "index.php",
        "python" => "app.py",
        "logstash" => "pipeline.conf",
        "make" => "Makefile",
        other => panic!("no file for gitleaks context {other:?}"),
    };
    (path, crate::audit::files::kind(path))
}

/// Every assignment context gitleaks tests reaches the keyword rules (a Heroku key, a legacy
/// Atlassian token) and the generic secret rule alike.
#[test]
fn every_assignment_context_reaches_the_keyword_and_generic_rules() {
    let providers = provider_patterns();
    let provider_scanner = Scanner::new(&providers, None).expect("the patterns compile");
    let generic: Vec<&'static Pattern> = super::PATTERNS
        .iter()
        .filter(|p| p.rule().map(|r| r.id) == Some("config/generic-secret"))
        .collect();
    let generic_scanner = Scanner::new(&generic, None).expect("the patterns compile");
    let mut missed = Vec::new();
    for line in CONTEXTS.lines() {
        let (name, template) = line.split_once('\t').expect("name<TAB>template");
        let template: String = serde_json::from_str(template).expect("a JSON string");
        let (path, kind) = file_for(name);
        let fill = |identifier: &str, secret: &str| {
            template
                .replace("{i}", identifier)
                .replace("{I}", &identifier.to_ascii_uppercase())
                .replace("{s}", secret)
        };
        let cases = [
            (
                &provider_scanner,
                &providers,
                fill("heroku", "9bc945e0-a392-046c-3672-71d34c7870e2"),
                "config/heroku-key",
            ),
            (
                &provider_scanner,
                &providers,
                fill("jira", "gjchjg3b87ztd4xulo37a374"),
                "config/atlassian-token",
            ),
            (
                &generic_scanner,
                &generic,
                fill("payment", "Xq7vR2mK9pL4wN8sT3bY6zD1"),
                "config/generic-secret",
            ),
        ];
        for (scanner, patterns, text, rule) in cases {
            if !reported_in(scanner, patterns, &text, path, kind).contains(&rule) {
                missed.push(format!("{rule} in {name}: {text:?}"));
            }
        }
    }
    assert!(missed.is_empty(), "missed:\n{}", missed.join("\n"));
}
