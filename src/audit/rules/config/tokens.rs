//! The provider-format secrets: each provider's token shape (prefix, charset, length, the
//! checks that tell a live token from a published sample or a stand-in), as rules of errors.

use crate::audit::files::{self, Kinds};
use crate::audit::finding::{Factor, Severity};
use crate::audit::rule::{Roles, Rule};
use crate::audit::scan::{Hit, Pattern};

pub(super) const WHY_SECRET: &str = "Config that varies between deploys, credentials above all, belongs in the environment, never in the code: the litmus test is whether the codebase could be made open source at any moment without compromising any credentials. A secret in a commit is in every clone and every fork, and stays in the history after it is deleted.";
pub(super) const FIX_SECRET: &str = "Revoke the credential with its provider now (it is compromised), move the value into the environment (`dozen config set KEY=value`, read with an env lookup), and remove it from the file.";

/// A provider-format secret rule: precise patterns, so errors at most. Read where real
/// credentials live: production, the tooling that builds and deploys it, and the development
/// setup (a token in a test fixture or an example is a stand-in).
pub(super) const fn provider(id: &'static str, summary: &'static str) -> Rule {
    Rule {
        id,
        factor: Factor::III,
        severity: Severity::Error,
        roles: Roles::CREDENTIALS,
        summary,
        explanation: WHY_SECRET,
        fix: FIX_SECRET,
    }
}

pub static AWS_ACCESS_KEY: Rule = provider("config/aws-access-key", "An AWS access key id");

pub static AWS_SECRET_KEY: Rule = provider(
    "config/aws-secret-key",
    "An AWS secret access key assigned to an AWS-named variable",
);

pub static GITHUB_TOKEN: Rule = provider("config/github-token", "A GitHub token");

pub static GITLAB_TOKEN: Rule = provider(
    "config/gitlab-token",
    "A GitLab token: personal, routable, runner, deploy, trigger, CI job, feed, OAuth, SCIM, agent, mail or feature-flag",
);

pub static SLACK_TOKEN: Rule = provider(
    "config/slack-token",
    "A Slack token or incoming webhook URL",
);

pub static STRIPE_KEY: Rule = provider("config/stripe-key", "A Stripe secret or restricted key");

pub static SENDGRID_KEY: Rule = provider("config/sendgrid-key", "A SendGrid API key");

pub static GOOGLE_API_KEY: Rule = provider("config/google-api-key", "A Google API key");

pub static NPM_TOKEN: Rule = provider("config/npm-token", "An npm access token");

pub static PYPI_TOKEN: Rule = provider("config/pypi-token", "A PyPI API token");

pub static OPENAI_KEY: Rule = provider("config/openai-key", "An OpenAI API key");

pub static PRIVATE_KEY: Rule = provider("config/private-key", "A private key block");

pub static JWT: Rule = provider("config/jwt", "A JSON Web Token");

/// A provider-format token whose body is a stand-in is not a finding: a run of one character
/// (`ghp_xxxx…`, `AKIAXXXXXXXXXXXXXXXX`, `xoxb-000000000-…`), a handful of distinct characters,
/// or a documented example (`AKIAIOSFODNN7EXAMPLE`).
pub(super) fn real_token(hit: &Hit<'_>) -> bool {
    let token = hit.evidence;
    let mut longest = 0;
    let mut run = 0;
    let mut last = None;
    for c in token.chars().filter(char::is_ascii_alphanumeric) {
        run = if last == Some(c) { run + 1 } else { 1 };
        longest = longest.max(run);
        last = Some(c);
    }
    let distinct = token
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<std::collections::HashSet<_>>()
        .len();
    let lower = token.to_ascii_lowercase();
    // `abcdefgh`, `12345678`: typed, not generated.
    let sequential = token.as_bytes().windows(8).any(|w| {
        w.windows(2).all(|p| {
            // Alphanumeric first: `+ 1` on a byte of 255 would overflow.
            p[0].is_ascii_alphanumeric() && p[1].is_ascii_alphanumeric() && p[1] == p[0] + 1
        })
    });
    // `GR1348941` + `123123123123…`: a short pattern repeated over half the token or more is
    // typed. (A stretch inside a long token is not: base64 of any repeated text has one.)
    let alphanumeric: Vec<u8> = token.bytes().filter(u8::is_ascii_alphanumeric).collect();
    let periodic = (2..=4).any(|period| {
        let mut stretch = 0;
        let mut longest = 0;
        for i in period..alphanumeric.len() {
            stretch = if alphanumeric[i] == alphanumeric[i - period] {
                stretch + 1
            } else {
                0
            };
            longest = longest.max(stretch + period);
        }
        longest >= 12 && longest * 2 >= alphanumeric.len()
    });
    !(longest >= 6
        || distinct <= 6
        || sequential
        || periodic
        || lower.contains("example")
        || lower.contains("xxxx")
        || PUBLISHED_SAMPLES.contains(&token))
}

/// Keys providers publish in their SDKs' samples and READMEs: everywhere an app copied a
/// sample from, and they open nothing (gitleaks allows the same ones).
pub(super) const PUBLISHED_SAMPLES: &[&str] = &[
    // Firebase's Android SDK.
    "AIzaSyabcdefghijklmnopqrstuvwxyz1234567",
    "AIzaSyAnLA7NfeLquW1tJFpx_eQCxoX-oo6YyIs",
    "AIzaSyCkEhVjf3pduRDt6d1yKOMitrUEke8agEM",
    "AIzaSyDMAScliyLx7F0NPDEJi1QmyCgHIAODrlU",
    "AIzaSyD3asb-2pEZVqMkmL6M9N6nHZRR_znhrh0",
    "AIzayDNSXIbFmlXbIE6mCzDLQAqITYefhixbX4A",
    "AIzaSyAdOS2zB6NCsk1pCdZ4-P6GBdi_UUPwX7c",
    "AIzaSyASWm6HmTMdYWpgMnjRBjxcQ9CKctWmLd4",
    "AIzaSyANUvH9H9BsUccjsu2pCmEkOPjjaXeDQgY",
    "AIzaSyA5_iVawFQ8ABuTZNUdcwERLJv_a_p4wtM",
    "AIzaSyA4UrcGxgwQFTfaI3no3t7Lt1sjmdnP5sQ",
    "AIzaSyDSb51JiIcB6OJpwwMicseKRhhrOq1cS7g",
    "AIzaSyBF2RrAIm4a0mO64EShQfqfd2AFnzAvvuU",
    "AIzaSyBcE-OOIbhjyR83gm4r2MFCu4MJmprNXsw",
    "AIzaSyB8qGxt4ec15vitgn44duC5ucxaOi4FmqE",
    "AIzaSyA8vmApnrHNFE0bApF4hoZ11srVL_n0nvY",
    // Mailchimp's iOS SDK README.
    "3012a5754bbd716926f99c028f7ea428-us18",
];

/// An AWS access key id that is not a presigned URL's: S3 puts the key id in every URL it
/// signs (`X-Amz-Credential=AKIA…/…`, `AWSAccessKeyId=AKIA…`), public by design; the secret
/// key never leaves.
pub(super) fn aws_key_id(hit: &Hit<'_>) -> bool {
    let before = hit
        .content
        .get(hit.evidence_at.saturating_sub(40)..hit.evidence_at)
        .map(String::from_utf8_lossy)
        .unwrap_or_default()
        .to_ascii_lowercase();
    real_token(hit)
        && !before.ends_with("x-amz-credential=")
        && !before.ends_with("x-amz-credential%3d")
        && !before.ends_with("awsaccesskeyid=")
}

/// A private key block with a body: base64 after the `BEGIN` line (in a file, or a JSON
/// string with `\n` escapes), not `...` or a template's stand-in.
pub(super) fn private_key_body(hit: &Hit<'_>) -> bool {
    // A key a test signs with is generated for it (saleor's OpenID tests); tokens in tests
    // are still reported: those can be real.
    if files::is_test_path(hit.path) {
        return false;
    }
    let after = &hit.content[(hit.at + hit.matched.len()).min(hit.content.len())..];
    let after = &after[..after.len().min(400)];
    let text = String::from_utf8_lossy(after).replace("\\n", "\n");
    let body: String = text
        .lines()
        .skip_while(|l| l.trim().is_empty() || l.contains(':') && !l.contains("-----"))
        .take_while(|l| !l.contains("-----"))
        .flat_map(|l| l.trim().trim_matches(['"', '\'', ',']).chars())
        .collect();
    let base64 = body
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
        .count();
    base64 >= 40 && !crate::audit::clues::is_placeholder(&body)
}

/// A JSON Web Token that still grants something: not a stand-in, and not expired. A token
/// whose `exp` has passed (an API doc's example response, a test's fixture) opens nothing.
pub(super) fn live_jwt(hit: &Hit<'_>) -> bool {
    let expired = hit
        .evidence
        .split('.')
        .nth(1)
        .and_then(base64url)
        .and_then(|payload| serde_json::from_slice::<serde_json::Value>(&payload).ok())
        .and_then(|claims| claims.get("exp").and_then(serde_json::Value::as_f64))
        .is_some_and(|exp| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            exp < now
        });
    real_token(hit) && !expired
}

/// Decodes unpadded base64url (RFC 4648 §5), as JWT segments are written.
pub(super) fn base64url(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut bits, mut count) = (0_u32, 0);
    for byte in text.trim_end_matches('=').bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push(u8::try_from((bits >> count) & 0xff).unwrap_or_default());
        }
    }
    Some(out)
}

/// Provider-format secrets: high precision, so errors.
pub static SECRETS: [Pattern; 13] = [
    Pattern::new(
        &AWS_ACCESS_KEY,
        r"\b((?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})\b",
        "AWS access key id in source",
        Kinds::ALL,
    )
    .secret()
    .verify(aws_key_id),
    Pattern::new(
        &AWS_SECRET_KEY,
        r#"(?i)\baws_?secret_?(?:access_?)?key\b["']?\s*(?:=|:|:=|=>)\s*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"#,
        "AWS secret access key in source",
        Kinds::ALL,
    )
    .secret()
    .verify(real_token),
    Pattern::new(
        &GITHUB_TOKEN,
        r"\b((?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})\b",
        "GitHub token in source",
        Kinds::ALL,
    )
    .secret()
    .verify(real_token),
    Pattern::new(
        &GITLAB_TOKEN,
        r"\b((?:glpat-[A-Za-z0-9_-]{27,}\.[0-9a-z]{9}|glpat-[A-Za-z0-9_-]{20}|GR1348941[A-Za-z0-9_-]{20}|gl(?:rt|dt|ft|soat|ffct)-[A-Za-z0-9_-]{20}|glptt-[0-9a-f]{40}|glcbt-[0-9a-zA-Z]{1,5}_[0-9a-zA-Z_-]{20}|gloas-[0-9a-zA-Z_-]{20,}|glagent-[0-9a-zA-Z_-]{20,}|glimt-[0-9a-zA-Z_-]{25}))",
        "GitLab token in source",
        Kinds::ALL,
    )
    .secret()
    .verify(real_token),
    Pattern::new(
        &SLACK_TOKEN,
        concat!(
            r"\b(xoxe\.xox[bp]-\d-[A-Za-z0-9]{163,166}|xoxe-\d-[A-Za-z0-9]{146}",
            r"|xoxb-[0-9]{10,13}-[0-9]{10,13}[A-Za-z0-9-]*|xoxb-[0-9]{8,14}-[A-Za-z0-9]{18,26}",
            r"|xox[pe](?:-[0-9]{10,13}){3}-[A-Za-z0-9-]{28,34}|xox[ar]-(?:\d-)?[0-9A-Za-z]{8,48}",
            r"|xox[os]-\d+-\d+-\d+-[a-fA-F\d]+|xapp-\d-[A-Za-z0-9]+-\d+-[A-Za-z0-9]+",
            r"|(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{43,})"
        ),
        "Slack token or webhook in source",
        Kinds::ALL,
    )
    .secret()
    .verify(real_token),
    Pattern::new(
        &STRIPE_KEY,
        r"\b((?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{10,99})",
        "Stripe secret key in source",
        Kinds::ALL,
    )
    .secret()
    .verify(real_token),
    Pattern::new(
        &SENDGRID_KEY,
        // The documented form is `SG.` 22 `.` 43; gitleaks' examples are any 66 of the set.
        r"\b(SG\.[A-Za-z0-9=_.-]{66})(?:[^A-Za-z0-9=_.-]|$)",
        "SendGrid API key in source",
        Kinds::ALL,
    )
    .secret()
    .verify(real_token),
    Pattern::new(
        &GOOGLE_API_KEY,
        r"\b(AIza[0-9A-Za-z_-]{35})(?:[^0-9A-Za-z_-]|$)",
        "Google API key in source",
        Kinds::ALL,
    )
    .secret()
    .verify(real_token),
    Pattern::new(
        &NPM_TOKEN,
        r"\b(npm_[A-Za-z0-9]{36})\b",
        "npm access token in source",
        Kinds::ALL,
    )
    .secret()
    .verify(real_token),
    Pattern::new(
        &PYPI_TOKEN,
        r"\b(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,})",
        "PyPI API token in source",
        Kinds::ALL,
    )
    .secret()
    .verify(real_token),
    Pattern::new(
        &OPENAI_KEY,
        r"\b(sk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,})",
        "OpenAI API key in source",
        Kinds::ALL,
    )
    .secret()
    .verify(real_token),
    Pattern::new(
        &PRIVATE_KEY,
        r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----",
        "private key block in source",
        Kinds::ALL,
    )
    .secret()
    .verify(private_key_body),
    Pattern::new(
        &JWT,
        r"\b(eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})",
        "JSON Web Token in source",
        Kinds::ALL,
    )
    .secret()
    .verify(live_jwt),
];

/// Whether a rule is one of the provider-format secret rules (they share one mechanism, so
/// their measured precision is pooled: [`crate::audit::measured`]).
pub fn is_provider(rule: &Rule) -> bool {
    rule.fix == FIX_SECRET
}

/// Whether a token proves it was issued by its provider: GitHub's tokens (`ghp_`, `gho_`,
/// `ghu_`, `ghs_`, `ghr_`) end in the base62 CRC32 of their 30 random characters. A
/// stand-in typed or generated for a test almost never carries a valid one (1 in 56.8 G).
/// Tokens of other formats carry no such proof.
pub fn live_shaped(token: &str) -> bool {
    const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let Some(body) = ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]
        .iter()
        .find_map(|prefix| token.strip_prefix(prefix))
    else {
        return false;
    };
    let body = body.get(..36).unwrap_or(body);
    if body.len() != 36 || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let (random, checksum) = body.split_at(30);
    let mut value = crc32fast::hash(random.as_bytes());
    let mut encoded = [b'0'; 6];
    for slot in encoded.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    value == 0 && encoded == checksum.as_bytes()
}
