use super::*;
use crate::audit::scan::Scanner;

/// (rule, true positives, false positives): the gitleaks pattern of testing rules.
const CASES: [(&str, &[&str], &[&str]); 13] = [
    (
        "config/aws-access-key",
        &["key = 'AKIAQ3EGV7XJ2MBZR4TN'", "ASIAY34FZKBOKMUTVV7A"],
        &[
            "AKIAQ3EGV7XJ2MBZR4T",
            "XAKIAQ3EGV7XJ2MBZR4TN",
            "akiaq3egv7xj2mbzr4tn",
            // Stand-ins: AWS's documented example, a run of one character.
            "key = 'AKIAIOSFODNN7EXAMPLE'",
            "AKIAXXXXXXXXXXXXXXXX",
        ],
    ),
    (
        "config/aws-secret-key",
        &[
            "AWS_SECRET_ACCESS_KEY=q8Zt3VwKx0Lr7Yb2NmC9pD4sHf6Jg1Te5Ua8Wi0O",
            "aws_secret_key: \"Hk2/Lp9Qr4+Ts7Vw1Xy3Za5Bc8De0Fg6Hj2Kl4Mn\"",
        ],
        &[
            "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws_secret_key: \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzzzzzzzzz\"",
            "AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY}",
            "aws_secret_access_key = os.environ['AWS_SECRET_ACCESS_KEY']",
            "SECRET_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ],
    ),
    (
        "config/github-token",
        &[
            "ghp_xEEsAoCaA2QTqpOoast0vQj8VMtbYo9Mqb5j",
            "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",
        ],
        &[
            "ghp_short",
            "ghx_IcQPzMuEGQ80YRP10eougTfIhpazOc61hVRd",
            "ghp_0123456789abcdefghijABCDEFGHIJ012345",
            "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ],
    ),
    (
        "config/gitlab-token",
        &[
            "glpat-u8jzPde0IgxLd6GncfBA",
            "glpat-iEl2hpChYgCfrL1spNxnyVmihA-2O7.01.3xtplpf",
            "GR1348941KtHF4vUCsMehGAkWvj7F",
            "glrt-Ac9QeWJKY40uvSwMFLZD",
            "gldt-e1f8rESQedUStPKR0Cs-",
            "glptt-cb0eb53f16947ccf25ec84d8dbc74254770f5890",
            "glcbt-jAI_xNKu8iS2G8NPRVdD53X8",
            "glft-3RZJzzzzgEOzdmenCkhv",
            "glsoat-MdgaKjIg8xNbe3nNyjOq",
            "glagent-9wMxEhh2FDEEtfjgVvVqE1SkHbn88HxjSI6bWHtP3fS2qHx6kw",
            "glimt-XoIIXGvOoNZYW2mZp0zVZomHF",
            "glffct-wUbbYrEqmSM9wCZ7Uw9x",
            "gloas-fogoEmvnEN5N1aE6PwZPf1Qh6yYTWmE4lBYOvfZ8UzDzV8fUkkibjL5DZPjN0MEQ",
        ],
        &[
            "glpat-short",
            "glpat-ABCDEFGHIJ0123456789",
            "glpat-xxxxxxxxxxxxxxxxxxxx",
        ],
    ),
    (
        "config/slack-token",
        &[
            "xoxb-528820018263-03nbqnsGpWLuqIA1id6Vw5DQ",
            "https://hooks.slack.com/services/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",
            "xapp-1-A29BE2U66MR-7887838483726-3cea27d26934b484e73cf575dcad6ba2b0aee0ca923732881584d8c4fa2815d2",
            "xoxe-1-RBFQFOEQH3AV90RIC7PHKQDLMTT7NS26LRWBQCAB69M64P2G158Z6TNOVMIZWDIAEQ1KDFY6SPSC3LKR2AQXV9UPCTNWLAVYF4R6MP6AFQFJZCZBTTOF7JYU5JSJC616I76BOFBCIXGY29DB8P",
            "https://hooks.slack.com/workflows/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",
            "hooks.slack.com/triggers/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",
        ],
        &[
            "xoxz-123456789012",
            "https://hooks.slack.com/",
            "xoxb-xxxxxxxxx-xxxxxxxxxxxx",
            "https://hooks.slack.com/services/TXXXXXXXX/BXXXXXXXX/XXXXXXXXXXXXXXXXXXXXXXXX",
        ],
    ),
    (
        "config/stripe-key",
        &[
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "rk_test_zy3Lex7BWr2drgd1QsO7jprB",
            "sk_prod_GumXxY9B4bZWOz648JJnUfd7",
            "rk_prod_UACNWiP3sF",
        ],
        &[
            "sk_live_short",
            "pk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "rk_test_abcdefghijklmnop",
        ],
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
        &["npm_zeomDnTaOaovzMNndr5ObyOdjQ9IS8onGY2O"],
        &[
            "npm_install",
            "npm_config_cache",
            "npm_abcdefghijklmnopqrstuvwxyz0123456789",
        ],
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
        &["sk-proj-2IQ0OUV86rGbNNZZGnELT3BlbkFJEwiTDVT6lgmbf7xUsP0P"],
        &[
            "sk-abc",
            "task-abcdefghijklmnopqrstuvwxyz",
            "sk-proj-abcdefghijklmnopqrstT3BlbkFJabcdefghijklmnopqrst",
        ],
    ),
    (
        "config/private-key",
        &[
            "-----BEGIN RSA PRIVATE KEY-----\nmtexpDSA3lxl7kettuA1fToZ0HpXyT4V3cSykBX0hB0RfZScs1EPvZhWfZ5esavy\nL0dgpaqOkM5s2K0ksfMHM4OjHWN9cpoQZI5LBIb8\n-----END RSA PRIVATE KEY-----\n",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nazk1tCR0nIbOvV1LUBuzfkJacmIynp//TcaiG1pQ19WEzNuCxwXTjsdAs0lHL2RPYzQF6d\n",
            "\"private_key\": \"-----BEGIN PRIVATE KEY-----\\ncSc400lsEFcwfvHCU+e/qFO81VQFL0b0aA3taBrdmzEZJb6hPNOQFEfKsGPSpFk/\\n-----END PRIVATE KEY-----\\n\"",
        ],
        &[
            "-----BEGIN PUBLIC KEY-----\ndtOp3rzHjUsGd0wyanwfQuvxBGtpMZh4mNU5MP4fLi38BJlV5JN5imMkZnSUXMDH\n",
            "-----BEGIN CERTIFICATE-----",
            "\"private_key\": \"-----BEGIN PRIVATE KEY-----\\n...\\n-----END PRIVATE KEY-----\\n\"",
            "-----BEGIN RSA PRIVATE KEY-----\n<your key here>\n-----END RSA PRIVATE KEY-----",
        ],
    ),
    (
        "config/jwt",
        &[
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            // Expires in 2100.
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI1ZjFjMmE5ZSIsImV4cCI6NDEwMjQ0NDgwMH0.Qm3vT8xR2pL9wK4nZ7yB1cF6hJ0sD5gA8eU3iO2tY4M",
        ],
        &[
            "eyJ.eyJ.x",
            "ey.ey.ey",
            // Expired in 2020 (an API doc's example response).
            "refreshToken: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI1ZWJhYzUzNDk1NGI1NDEzOTgwNmMxMTIiLCJpYXQiOjE1ODkyOTg0ODQsImV4cCI6MTU4OTMwMDI4NH0.m1U63blB0MLej_WfB7yC2FTMnCziif9X8yzwDEfJXAg",
        ],
    ),
];

#[test]
fn every_rule_finds_its_true_positives_and_none_of_its_false_positives() {
    // A match that the pattern's check (placeholders, bodies) accepts.
    let finds = crate::audit::scan::finder(&SECRETS);
    for (rule, positives, negatives) in CASES {
        let index = SECRETS
            .iter()
            .position(|p| p.rule().map(|r| r.id) == Some(rule))
            .unwrap();
        for text in positives {
            assert!(finds(index, text), "{rule} missed {text:?}");
        }
        for text in negatives {
            assert!(!finds(index, text), "{rule} matched {text:?}");
        }
    }
    assert_eq!(CASES.len(), SECRETS.len(), "every rule has cases");
}

/// Found by the `audit_file` fuzz target: a user name with bytes that are not UTF-8 before
/// the password (the verifier sliced lossy text at the file's byte offsets).
#[test]
fn a_url_whose_user_is_not_utf8_is_read_without_panic() {
    use crate::audit::scan::Scanners;
    use crate::audit::walk::{Options, Walked, scan_file};
    let scanners = Scanners::new(&crate::audit::rules::PATTERNS);
    let mut walked = Walked::default();
    let content = b"db = \"postgres://u\xff:Hk2Lp9Qr4T@db.internal/app\"\n";
    scan_file(
        "app.py",
        content,
        &scanners,
        &Options::default(),
        &mut walked,
    );
    assert!(
        walked
            .findings
            .iter()
            .any(|f| f.rule == "config/credentialed-url")
    );
}

#[test]
fn github_tokens_prove_their_checksum() {
    // The checksum of GitHub's published token-format example, and stand-ins that
    // look as generated but carry none.
    let random = "aBcDeFgHiJkLmNoPqRsTuVwXyZ0123";
    let mut value = crc32fast::hash(random.as_bytes());
    let alphabet = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut checksum = [b'0'; 6];
    for slot in checksum.iter_mut().rev() {
        *slot = alphabet[(value % 62) as usize];
        value /= 62;
    }
    let checksum = std::str::from_utf8(&checksum).unwrap();
    assert!(live_shaped(&format!("ghp_{random}{checksum}")));
    assert!(live_shaped(&format!("ghs_{random}{checksum}")));
    assert!(!live_shaped(&format!("ghp_{random}000000")));
    assert!(!live_shaped("ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"));
    assert!(!live_shaped(
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"
    ));
    assert!(!live_shaped("AKIAQ3EGV7XJ2MBZR4TN"));
}

#[test]
fn secret_names_short_forms_are_whole_words() {
    for name in [
        "DB_PASS",
        "MYSQL_PWD",
        "SMTP_PW",
        "GPG_PASSPHRASE",
        "API_TOKEN",
        "db-password",
    ] {
        assert!(is_secret_name(name), "{name}");
    }
    for name in [
        "PASSENGER_HOME",
        "COMPASS",
        "PWDX",
        "DB_PASSWORD_FILE",
        "PUBLIC_TOKEN",
        "DD_UWSGI_PASS",
        "NGINX_PROXY_PASS",
    ] {
        assert!(!is_secret_name(name), "{name}");
    }
}

#[test]
fn matches_are_located_on_the_secret() {
    let patterns: Vec<&Pattern> = SECRETS.iter().collect();
    let scanner = Scanner::new(&patterns, None).unwrap();
    let text = b"x = 1\naws = \"AKIAQ3EGV7XJ2MBZR4TN\"\n";
    let found = scanner.scan(text);
    assert_eq!(found.len(), 1);
    assert_eq!(&text[found[0].start..found[0].end], b"AKIAQ3EGV7XJ2MBZR4TN");
}
