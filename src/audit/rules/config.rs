//! Factor III, Config: secrets in source.

use crate::audit::scan::Pattern;

/// Provider-format secrets: high precision, so errors.
pub const SECRETS: [Pattern; 12] = [
    Pattern {
        rule: "config/aws-access-key",
        regex: r"\b((?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})\b",
        message: "AWS access key id in source",
    },
    Pattern {
        rule: "config/github-token",
        regex: r"\b((?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})\b",
        message: "GitHub token in source",
    },
    Pattern {
        rule: "config/gitlab-token",
        regex: r"\b(glpat-[A-Za-z0-9_-]{20})\b",
        message: "GitLab personal access token in source",
    },
    Pattern {
        rule: "config/slack-token",
        regex: r"\b(xox[baprs]-[A-Za-z0-9-]{10,72}|https://hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]{20,})",
        message: "Slack token or webhook in source",
    },
    Pattern {
        rule: "config/stripe-key",
        regex: r"\b((?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,99})\b",
        message: "Stripe secret key in source",
    },
    Pattern {
        rule: "config/sendgrid-key",
        regex: r"\b(SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})\b",
        message: "SendGrid API key in source",
    },
    Pattern {
        rule: "config/google-api-key",
        regex: r"\b(AIza[0-9A-Za-z_-]{35})\b",
        message: "Google API key in source",
    },
    Pattern {
        rule: "config/npm-token",
        regex: r"\b(npm_[A-Za-z0-9]{36})\b",
        message: "npm access token in source",
    },
    Pattern {
        rule: "config/pypi-token",
        regex: r"\b(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,})",
        message: "PyPI API token in source",
    },
    Pattern {
        rule: "config/openai-key",
        regex: r"\b(sk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,})",
        message: "OpenAI API key in source",
    },
    Pattern {
        rule: "config/private-key",
        regex: r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----",
        message: "private key block in source",
    },
    Pattern {
        rule: "config/jwt",
        regex: r"\b(eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})",
        message: "JSON Web Token in source",
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::scan::Scanner;

    /// (rule, true positives, false positives): the gitleaks pattern of testing rules.
    const CASES: [(&str, &[&str], &[&str]); 12] = [
        (
            "config/aws-access-key",
            &["key = 'AKIAIOSFODNN7EXAMPLE'", "ASIAY34FZKBOKMUTVV7A"],
            &[
                "AKIAIOSFODNN7EXAMPL",
                "XAKIAIOSFODNN7EXAMPLE",
                "akiaiosfodnn7example",
            ],
        ),
        (
            "config/github-token",
            &[
                "ghp_0123456789abcdefghijABCDEFGHIJ012345",
                "github_pat_11ABCDEFG0123456789abc_defghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
            ],
            &["ghp_short", "ghx_0123456789abcdefghijABCDEFGHIJ012345"],
        ),
        (
            "config/gitlab-token",
            &["glpat-ABCDEFGHIJ0123456789"],
            &["glpat-short"],
        ),
        (
            "config/slack-token",
            &[
                "xoxb-123456789012-abcdefghijkl",
                "https://hooks.slack.com/services/T0ABCDEF/B0ABCDEF/abcdefghijklmnopqrstuvwx",
            ],
            &["xoxz-123456789012", "https://hooks.slack.com/"],
        ),
        (
            "config/stripe-key",
            &[
                "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
                "rk_test_abcdefghijklmnop",
            ],
            &["sk_live_short", "pk_live_4eC39HqLyjWDarjtT1zdp7dc"],
        ),
        (
            "config/sendgrid-key",
            &["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"],
            &["SG.short.key"],
        ),
        (
            "config/google-api-key",
            &["AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe"],
            &["AIzaShort"],
        ),
        (
            "config/npm-token",
            &["npm_abcdefghijklmnopqrstuvwxyz0123456789"],
            &["npm_install", "npm_config_cache"],
        ),
        (
            "config/pypi-token",
            &[
                "pypi-AgEIcHlwaS5vcmcCJDU3OTM5NmZiLWRmNjMtNDVhNi1iOTY5LTRhYTIzZjVlOWNiYwACKlszLCJkNGI0NzhmZS0yN2E4",
            ],
            &["pypi-token-placeholder"],
        ),
        (
            "config/openai-key",
            &["sk-proj-abcdefghijklmnopqrstT3BlbkFJabcdefghijklmnopqrst"],
            &["sk-abc", "task-abcdefghijklmnopqrstuvwxyz"],
        ),
        (
            "config/private-key",
            &[
                "-----BEGIN RSA PRIVATE KEY-----",
                "-----BEGIN OPENSSH PRIVATE KEY-----",
                "-----BEGIN PRIVATE KEY-----",
            ],
            &["-----BEGIN PUBLIC KEY-----", "-----BEGIN CERTIFICATE-----"],
        ),
        (
            "config/jwt",
            &[
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            ],
            &["eyJ.eyJ.x", "ey.ey.ey"],
        ),
    ];

    #[test]
    fn every_rule_finds_its_true_positives_and_none_of_its_false_positives() {
        let scanner = Scanner::new(&SECRETS).unwrap();
        for (rule, positives, negatives) in CASES {
            let index = SECRETS.iter().position(|p| p.rule == rule).unwrap();
            for text in positives {
                let found = scanner.scan(text.as_bytes());
                assert!(
                    found.iter().any(|m| m.pattern == index),
                    "{rule} missed {text:?}"
                );
            }
            for text in negatives {
                let found = scanner.scan(text.as_bytes());
                assert!(
                    !found.iter().any(|m| m.pattern == index),
                    "{rule} matched {text:?}"
                );
            }
        }
        assert_eq!(CASES.len(), SECRETS.len(), "every rule has cases");
    }

    #[test]
    fn matches_are_located_on_the_secret() {
        let scanner = Scanner::new(&SECRETS).unwrap();
        let text = b"x = 1\naws = \"AKIAIOSFODNN7EXAMPLE\"\n";
        let found = scanner.scan(text);
        assert_eq!(found.len(), 1);
        assert_eq!(&text[found[0].start..found[0].end], b"AKIAIOSFODNN7EXAMPLE");
    }
}
