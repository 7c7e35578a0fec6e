//! Provider-format secrets beyond the first thirteen: the token families of detect-secrets
//! 1.5's plugins (Artifactory, Azure, Discord, IBM Cloud, Mailchimp, Square, Telegram, Twilio)
//! and twenty of gitleaks' rules chosen by how common the service is. A prefix, a charset and
//! a length decide each, and the body is checked as the first thirteen's are: a run of one
//! character, a handful of distinct ones or a documented example is a stand-in.

use crate::audit::files::Kinds;
use crate::audit::module::Module;
use crate::audit::rule::Rule;
use crate::audit::scan::{Hit, Pattern};

use super::tokens::{provider, real_token};

/// Whether a token's body has a byte of each kind `kinds` asks for, and is a real token.
fn real_with(hit: &Hit<'_>, kinds: &[fn(&u8) -> bool]) -> bool {
    real_token(hit)
        && kinds
            .iter()
            .all(|kind| hit.evidence.bytes().any(|b| kind(&b)))
}

/// A generated token of lower-case letters and digits has both (a word or a number has not).
fn letters_and_digits(hit: &Hit<'_>) -> bool {
    real_with(hit, &[u8::is_ascii_digit, u8::is_ascii_alphabetic])
}

/// A generated token of letters has both cases.
fn mixed_case(hit: &Hit<'_>) -> bool {
    real_with(hit, &[u8::is_ascii_uppercase, u8::is_ascii_lowercase])
}

/// A generated token of letters and digits has both cases and a digit; a word-like run that
/// merely has the shape (`AgencyIdentificationCodeContentType`) has not.
fn random_mixed(hit: &Hit<'_>) -> bool {
    real_with(
        hit,
        &[
            u8::is_ascii_digit,
            u8::is_ascii_uppercase,
            u8::is_ascii_lowercase,
        ],
    )
}

/// Vault's legacy `s.` tokens are 24 letters and digits of both cases; a word after `s.` in
/// code (`s.AcceptanceTimeoutSeconds`) has no digit.
fn hashicorp_token(hit: &Hit<'_>) -> bool {
    if hit.evidence.starts_with("s.") {
        random_mixed(hit)
    } else {
        real_token(hit)
    }
}

macro_rules! providers {
    ($($name:ident $id:literal $summary:literal $what:literal $regex:expr, $verify:path $(, gate $gate:literal)?;)*) => {
        $(pub static $name: Rule = provider(concat!("config/", $id), $summary);)*

        /// These providers' rules and patterns (factor III; no project check).
        pub static MODULE: Module = Module {
            rules: &[$(&$name),*],
            patterns: &[PATTERNS],
            check: |_, _| {},
        };

        pub(super) static PATTERNS: &[Pattern] = &[$(
            Pattern::new(&$name, $regex, concat!($what, " in source"), Kinds::ALL)
                .secret()
                .verify($verify)
                $(.gate($gate))?,
        )*];
    };
}

providers! {
    ARTIFACTORY_TOKEN "artifactory-token" "A JFrog Artifactory API key or reference token, or a JFrog identity token or API key assigned to a JFrog-named variable" "JFrog token"
        concat!(
            r"\b(AKCp[A-Za-z0-9]{69}|cmVmd[A-Za-z0-9]{59})\b|",
            assigned!("jfrog|artifactory|bintray|xray", r"[A-Za-z0-9]{73}|[A-Za-z0-9]{64}")
        ),
        letters_and_digits, gate "AKCp|cmVmd|(?i)jfrog|artifactory|bintray|xray";
    AZURE_KEY "azure-key" "An Azure storage account key or Entra ID (Azure AD) client secret" "Azure key"
        r#"(AccountKey=[A-Za-z0-9+/]{86}==)|(?:^|[\\'"`\s>=:(,)])([A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34})(?:$|[\\'"`\s<),])"#,
        real_token, gate "AccountKey=|Q~";
    DISCORD_TOKEN "discord-token" "A Discord bot token" "Discord bot token"
        r"\b([MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38})(?:[^A-Za-z0-9_.-]|$)",
        random_mixed;
    MAILCHIMP_KEY "mailchimp-key" "A Mailchimp API key" "Mailchimp API key"
        r"\b([0-9a-f]{32}-us[0-9]{1,2})\b",
        real_token;
    SQUARE_TOKEN "square-token" "A Square access token or application secret" "Square token"
        r"\b((?:EAAA|sq0atp-)[0-9A-Za-z_-]{22,60}|sq0csp-[0-9A-Za-z_-]{43})(?:[^0-9A-Za-z_-]|$)",
        real_token;
    TELEGRAM_TOKEN "telegram-token" "A Telegram bot token" "Telegram bot token"
        r"(?:^|[^0-9A-Za-z_:-])([0-9]{5,16}:A[A-Za-z0-9_-]{34})(?:[^A-Za-z0-9_-]|$)",
        random_mixed;
    TWILIO_KEY "twilio-key" "A Twilio API key" "Twilio API key"
        r"\b(SK[0-9a-fA-F]{32})\b",
        real_token;
    IBM_CLOUD_KEY "ibm-cloud-key" "An IBM Cloud IAM key, Cloud Object Storage HMAC secret, Cloudant or SoftLayer credential" "IBM Cloud credential"
        r#"(?i)\b(?:ibm|cloudant|softlayer|cos)[\w.-]{0,24}?(?:api_?key|apikey|key|password|pwd|pass|token|secret)\b["']?\s*(?:=|:|:=|=>)\s*["']?([A-Za-z0-9_-]{44}|[0-9a-f]{48}|[0-9a-f]{64})(?:[^A-Za-z0-9_-]|$)"#,
        real_token;
    ANTHROPIC_KEY "anthropic-key" "An Anthropic API or admin key" "Anthropic API key"
        r"\b(sk-ant-(?:api03|admin01)-[A-Za-z0-9_-]{93}AA)(?:[^A-Za-z0-9_-]|$)",
        real_token;
    DIGITALOCEAN_TOKEN "digitalocean-token" "A DigitalOcean personal access, OAuth or refresh token" "DigitalOcean token"
        r"\b(do[opr]_v1_[a-f0-9]{64})\b",
        real_token;
    DOPPLER_TOKEN "doppler-token" "A Doppler personal, service, CLI, service-account, SCIM or audit token" "Doppler token"
        r"\b(dp\.(?:pt|st(?:\.[a-z0-9_-]{1,30})?|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44})\b",
        real_token;
    SHOPIFY_TOKEN "shopify-token" "A Shopify access token or shared secret" "Shopify token"
        r"\b(shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})\b",
        real_token;
    HEROKU_KEY "heroku-key" "A Heroku API key" "Heroku API key"
        concat!(
            r"\b(HRKU-AA[0-9A-Za-z_-]{58})(?:[^0-9A-Za-z_-]|$)|",
            assigned!("heroku", r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
        ),
        real_token, gate "HRKU-AA|(?i)heroku";
    HUGGINGFACE_TOKEN "huggingface-token" "A Hugging Face access or organisation token" "Hugging Face token"
        r"\b((?:hf_|api_org_)[A-Za-z]{34})\b",
        mixed_case;
    LINEAR_KEY "linear-key" "A Linear API key" "Linear API key"
        r"\b(lin_api_[A-Za-z0-9]{40})\b",
        real_token;
    POSTMAN_KEY "postman-key" "A Postman API key" "Postman API key"
        r"\b(PMAK-[A-Fa-f0-9]{24}-[A-Fa-f0-9]{34})\b",
        real_token;
    PULUMI_TOKEN "pulumi-token" "A Pulumi access token" "Pulumi access token"
        r"\b(pul-[a-f0-9]{40})\b",
        real_token;
    SENTRY_TOKEN "sentry-token" "A Sentry user or organisation auth token, or a legacy token assigned to a Sentry-named variable" "Sentry token"
        concat!(
            r"\b(sntryu_[a-f0-9]{64}|sntrys_eyJpYXQiO[A-Za-z0-9+/]{10,200}(?:LCJyZWdpb25fdXJs|InJlZ2lvbl91cmwi|cmVnaW9uX3VybCI6)[A-Za-z0-9+/]{10,200}={0,2}_[A-Za-z0-9+/]{43})(?:[^A-Za-z0-9+/]|$)|",
            assigned!("sentry", r"[a-fA-F0-9]{64}")
        ),
        letters_and_digits, gate "(?i)sentry|sntry";
    GRAFANA_TOKEN "grafana-token" "A Grafana API key, Grafana Cloud token or service account token" "Grafana token"
        r"\b(glc_[A-Za-z0-9+/]{32,400}={0,3}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|eyJrIjoi[A-Za-z0-9]{70,400}={0,3})",
        real_token;
    NEW_RELIC_KEY "new-relic-key" "A New Relic user API key, browser or insights key" "New Relic key"
        r"\b(NRAK-[A-Za-z0-9]{27}|NRJS-[a-f0-9]{19}|NRII-[A-Za-z0-9_-]{32})\b",
        real_token;
    AGE_KEY "age-key" "An age secret key" "age secret key"
        r"\b(AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})\b",
        real_token;
    PLANETSCALE_TOKEN "planetscale-token" "A PlanetScale password, API or OAuth token" "PlanetScale token"
        r"\b(pscale_(?:pw|tkn|oauth)_[A-Za-z0-9_=.-]{32,64})(?:[^A-Za-z0-9_=.-]|$)",
        real_token;
    RUBYGEMS_KEY "rubygems-key" "A RubyGems API key" "RubyGems API key"
        r"\b(rubygems_[a-f0-9]{48})\b",
        real_token;
    DATABRICKS_TOKEN "databricks-token" "A Databricks access token" "Databricks token"
        r"\b(dapi[a-f0-9]{32}(?:-[0-9])?)\b",
        real_token;
    ATLASSIAN_TOKEN "atlassian-token" "An Atlassian (Jira, Confluence) API token, or a legacy one assigned to an Atlassian-, Jira- or Confluence-named variable" "Atlassian API token"
        concat!(
            r"\b(ATATT3[A-Za-z0-9_=-]{186})(?:[^A-Za-z0-9_=-]|$)|",
            assigned!("atlassian|confluence|jira", r"[A-Za-z0-9]{20}[A-Fa-f0-9]{4}")
        ),
        letters_and_digits, gate "ATATT3|(?i)atlassian|confluence|jira";
    BREVO_KEY "brevo-key" "A Brevo (Sendinblue) API or SMTP key" "Brevo key"
        r"\b(x(?:keysib|smtpsib)-[a-f0-9]{64}-[A-Za-z0-9]{16})\b",
        real_token;
    ALIBABA_KEY "alibaba-key" "An Alibaba Cloud AccessKey ID" "Alibaba Cloud AccessKey ID"
        r"\b(LTAI[A-Za-z0-9]{12,20})\b",
        random_mixed;
    HASHICORP_TOKEN "hashicorp-token" "A Terraform Cloud/Enterprise API token or HashiCorp Vault token" "HashiCorp token"
        r"\b([A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}|hvs\.[A-Za-z0-9_-]{90,120}|hvb\.[A-Za-z0-9_-]{138,300}|s\.[A-Za-z0-9]{24})(?:[^A-Za-z0-9_=.-]|$)",
        hashicorp_token;
    ONEPASSWORD_TOKEN "onepassword-token" "A 1Password service account token" "1Password service account token"
        r"\b(ops_eyJ[A-Za-z0-9+/]{250,}={0,3})",
        real_token;
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::audit::scan::Scanner;

    /// (rule, true positives, false positives). True positives are gitleaks' own examples
    /// where it writes them out, and tokens generated in each provider's documented format
    /// (gitleaks generates its examples the same way) in three settings: an assignment, YAML
    /// and JSON. False positives are gitleaks' negative examples and, for every provider, the
    /// body too short, the prefix changed, and a run of one character. One of gitleaks'
    /// examples is here as a false positive on purpose: its Anthropic key is typed
    /// (`abc123xyz`, `klmnopqrstuvwx`), a stand-in as `AKIAIOSFODNN7EXAMPLE` is.
    pub(crate) const CASES: &[(&str, &[&str], &[&str])] = &[
        (
            "config/artifactory-token",
            &[
                r#"KEY = "AKCpj59pjomke57foiu94c0D1lNQgtYk3IMJ9PvMJ11Uqz6DNLLgGxJCbUUrt93l4BczNvltF""#,
                r"key: cmVmdhjG9yO7uRQz3lnGl4QrPz3A2o40ILiI6s6DcouhN1fHW93RYY7TKuHmvguT",
            ],
            &[
                r"lowEntropy := AKCpXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
                r"lowEntropy := cmVmdXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
                r#"KEY = "AKCpj59pjomke57foiu94c0D1lNQgtYk3IMJ9PvMJ11""#,
                r#"KEY = "ZKCpj59pjomke57foiu94c0D1lNQgtYk3IMJ9PvMJ11Uqz6DNLLgGxJCbUUrt93l4BczNvltF""#,
                r#"KEY = "AKCpj59pjomke57foiu94c0D1lNQgtYk3IMJ9PvMJ11Uqz6DNXXXXXXXXXXXXXXXXXXXXXXXX""#,
            ],
        ),
        (
            "config/azure-key",
            &[
                r"client_secret=bP88Q~rcBcYjzzOhg1Hnn76Wm3jGgakZiZ.8vMgR",
                r"client_secret: .IQ8Q~79R7TOWOspFnWcEG-dYt4KXqFqxK16cxr",
                r"AUTH_CLIENTSECRET = _V28Q~IC8qxmlWNpHuDm34JlbKv9LXV5MvUR3a-P",
                r#"<value xsi:type="xsd:string">~Gg8Q~nVhlLi2vpg_nXBGqFsbGK-t~Hus1JmTa0y</value>"#,
                r#""CLIENT_SECRET": "YYz7Q~Sudoqwap1PnzEBA3zqBK~i5uesDIv.C""#,
                r#"KEY = "AccountKey=8o4FG5B5EGnwAp+cz2jlPR9+RrxEmlKi+Mf549e3y3FEYVFPqTLkCVeHcKMTXsHH/hkz0nQQG9WJ05X72qibob==""#,
                r"key: T_J8Q~ox17RWEVxropmO6W9~.yNsOSUTbfUwzov1",
            ],
            &[
                r#"KEY = "AccountKey=8o4FG5B5EGnwAp+cz2jlPR9+RrxEmlKi+Mf549e3y3FEYVFP""#,
                r#"KEY = "ZccountKey=8o4FG5B5EGnwAp+cz2jlPR9+RrxEmlKi+Mf549e3y3FEYVFPqTLkCVeHcKMTXsHH/hkz0nQQG9WJ05X72qibob==""#,
                r#"KEY = "AccountKey=8o4FG5B5EGnwAp+cz2jlPR9+RrxEmlKi+Mf549e3y3FEYVFPqTLkCVeHcKMTXsHHXXXXXXXXXXXXXXXXXXXXXXXX""#,
            ],
        ),
        (
            "config/discord-token",
            &[
                r#"KEY = "OjentWtpzSf1kMJPKXskKVZX.5Mhikf.hyPsrTEIXdHJwqRIsBIrlyDrWNH""#,
                r"key: MEGQ21Zz3uI1r8NAC0CGMWTGdB.ZY7Isg.-qOwVxQ3pZ9wpzcVRMk245Brxqq_KyzsOnFg4x",
            ],
            &[
                r#"KEY = "OjentWtpzSf1kMJPKXskKVZX.5Mhikf.hyP""#,
                r#"KEY = "ZjentWtpzSf1kMJPKXskKVZX.5Mhikf.hyPsrTEIXdHJwqRIsBIrlyDrWNH""#,
                r#"KEY = "OjentWtpzSf1kMJPKXskKVZX.5Mhikf.hyPXXXXXXXXXXXXXXXXXXXXXXXX""#,
            ],
        ),
        (
            "config/mailchimp-key",
            &[
                r"mailchimp_api_key: cefa780880ba5f5696192a34f6292c35-us18",
                r#"MAILCHIMPE_KEY = "b5b9f8e50c640da28993e8b6a48e3e53-us18""#,
                r#"KEY = "048e7d8f4f53f0b0d74b87c3b5ce2126-us19""#,
            ],
            &[
                r#"KEY = "048e7d8f4f53f0b0d74b87""#,
                r#"KEY = "Z48e7d8f4f53f0b0d74b87c3b5ce2126-us19""#,
                r#"KEY = "048e7d8f4f53fXXXXXXXXXXXXXXXXXXXXXXXX""#,
            ],
        ),
        (
            "config/square-token",
            &[
                r#"value: "sq0csp-0p9h7g6f4s3s3s3-4a3ardgwa6ADRDJDDKUFYDYDYDY""#,
                r#"KEY = "EAAA5nYQnLqFWfDNJGhjaIFw40YUcYqvc4eDqFj1ZKnb8EXW-_srXpBKG7m85VKq""#,
                r"key: sq0atp-F6b9Rw9NSp6lpBOpnbxR5K",
                r#"{"token": "sq0csp-vW3_-q_UXX84FI0Ta01Mjk4JyoQdEjS8ZZAZ4F8VV2x"}"#,
            ],
            &[
                r"aws-cli@sha256:eaaa7b11777babe28e6133a8b19ff71cea687e0d7f05158dee95a71f76ce3d00",
                r#"KEY = "sq0csp-vW3_-q_UXX84FI0Ta01Mjk4""#,
                r#"KEY = "Zq0csp-vW3_-q_UXX84FI0Ta01Mjk4JyoQdEjS8ZZAZ4F8VV2x""#,
                r#"KEY = "sq0csp-vW3_-q_UXX84FI0Ta01XXXXXXXXXXXXXXXXXXXXXXXX""#,
            ],
        ),
        (
            "config/telegram-token",
            &[
                r#"KEY = "1313239707:AAhO3mvRFbzupZJn48DPn5UcxeX1auGRyvr""#,
                r"key: 64015:AhhmeZV-R2gMwNRxovC14Hqrjz16A8eXXJg",
            ],
            &[
                r#"<xsd:element name="AgencyIdentificationCode" type="clm12345:AgencyIdentificationCodeContentType"/>"#,
                r#"token:"clm12345:AgencyIdentificationCodeContentType""#,
                r#"type="12345678:AgencyIdentificationCodeContentType""#,
                r#"KEY = "1313239707:AAhO3mvRFbzupZJn""#,
                r#"KEY = "Z313239707:AAhO3mvRFbzupZJn48DPn5UcxeX1auGRyvr""#,
                r#"KEY = "1313239707:AAhO3mvRFbzXXXXXXXXXXXXXXXXXXXXXXXX""#,
            ],
        ),
        (
            "config/twilio-key",
            &[r#"KEY = "SKe4129f56e3413d1c9341d61571ca31c5""#],
            &[
                r#"KEY = "SKe4129f56e3413d1c93""#,
                r#"KEY = "ZKe4129f56e3413d1c9341d61571ca31c5""#,
                r#"KEY = "SKe4129f56XXXXXXXXXXXXXXXXXXXXXXXX""#,
            ],
        ),
        (
            "config/ibm-cloud-key",
            &[
                r#"IBM_CLOUD_API_KEY = "ldbwrg-WQrsAVZSEzia18ZDLLtxzVMoiE7CfpzNN3HLr""#,
                r"cos_hmac_secret_access_key: ef560044ed7ea44caf0991af673f821f9f9abce21e726032",
                r#"cloudant_password = "8c5fc273853c40f834c15554719596e1085ed77b917c7828131635c751d6c9c2""#,
                r"SOFTLAYER_API_KEY=af4f71fc7865ecb34867db276aa63565bfbeac7f1c489c62d7b7c37c3debaa1a",
            ],
            &[
                r#"IBM_CLOUD_API_KEY = "ldbwrg-WQrsAVZSEzia18ZDLLtxzVMoiE7CfpzNN3HL""#,
                r#"CLOUD_API_KEY = "ldbwrg-WQrsAVZSEzia18ZDLLtxzVMoiE7CfpzNN3HLr""#,
            ],
        ),
        (
            "config/anthropic-key",
            &[
                r#"KEY = "sk-ant-api03-fkde1BqHAZGigy5TLaFfSX3hD_qgR2k-dhLHEWRfkAYtPo_aK3lbpMeUU3B9w-Q_0lMUA9wrnFZlPLQuEZpPQh1SigvyeAA""#,
                r"key: sk-ant-admin01-ROnphcwvRErpWG18ePYq6Aq_berGFlly6Ek2X83aT4iXujHBpJmNnOLpeZaYPjPITayynpUiJquH7cndSLLcei5rYEKkYAA",
            ],
            &[
                r"sk-ant-api03-abc123xyz-456def789ghij-klmnopqrstuvwx-3456yza789bcde-1234fghijklmnopby56aaaogaopaaaabc123xyzAA",
                r"sk-ant-api03-abc123xyz-456de-klMnopqrstuvwx-3456yza789bcde-1234fghijklmnopAA",
                r"sk-ant-api03-abc123xyz-456def789ghij-klmnopqrstuvwx-3456yza789bcde-1234fghijklmnopby56aaaogaopaaaabc123xyzBB",
                r#"KEY = "sk-ant-api03-fkde1BqHAZGigy5TLaFfSX3hD_qgR2k-dhLHEWRfkAYtPo_aK3l""#,
                r#"KEY = "Zk-ant-api03-fkde1BqHAZGigy5TLaFfSX3hD_qgR2k-dhLHEWRfkAYtPo_aK3lbpMeUU3B9w-Q_0lMUA9wrnFZlPLQuEZpPQh1SigvyeAA""#,
                r#"KEY = "sk-ant-api03-fkde1BqHAZGigy5TLaFfSX3hD_qgR2k-dhLHEWRfkAYtPo_aK3lbpMeUU3B9w-Q_0lMUA9wXXXXXXXXXXXXXXXXXXXXXXXX""#,
            ],
        ),
        (
            "config/digitalocean-token",
            &[
                r#"KEY = "dop_v1_16e35d626ddaf722f10c069f1d95a4b0775deb82404fe223f77991b421b1f957""#,
                r"key: doo_v1_815d30d20558c7a6a088c681b4e70c53b99b8e562dc49c0cec3b94e3ca381feb",
                r#"{"token": "dor_v1_693b81c47cf4b9bda118bd2b1ddd4280d8d73d18f71f52842fff5e1f8ff4ea70"}"#,
            ],
            &[
                r#"KEY = "dop_v1_16e35d626ddaf722f10c069f1d95a4b0775""#,
                r#"KEY = "Zop_v1_16e35d626ddaf722f10c069f1d95a4b0775deb82404fe223f77991b421b1f957""#,
                r#"KEY = "dop_v1_16e35d626ddaf722f10c069f1d95a4b0775deb82XXXXXXXXXXXXXXXXXXXXXXXX""#,
            ],
        ),
        (
            "config/doppler-token",
            &[
                r#"KEY = "dp.pt.H2lz8APjGnRx2zbjTIdvvBEaBgnJnTzUjqNzmulA8Rn""#,
                r"key: dp.st.prd.s37mbQyhLipJQs7YSKRJgUQP4NyBZ9pj0xOFZaaA",
            ],
            &[
                r#"KEY = "dp.pt.H2lz8APjGnRx2zbjTIdvvBE""#,
                r#"KEY = "Zp.pt.H2lz8APjGnRx2zbjTIdvvBEaBgnJnTzUjqNzmulA8Rn""#,
                r#"KEY = "dp.pt.H2lz8APjGnRx2zbjTIdXXXXXXXXXXXXXXXXXXXXXXXX""#,
            ],
        ),
        (
            "config/shopify-token",
            &[
                r#"KEY = "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""#,
                r"key: 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",
                r#"{"token": "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"}"#,
                r#"KEY = "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""#,
            ],
            &[
                r#"KEY = "shpat_1efe6b9db1748b3a""#,
                r#"KEY = "Zhpat_1efe6b9db1748b3a3f7c6ba7059797a1""#,
                r#"KEY = "shpat_1efe6b9dXXXXXXXXXXXXXXXXXXXXXXXX""#,
            ],
        ),
        (
            "config/heroku-key",
            &[
                r#"heroku_api_key = "832d2129-a846-4e27-99f4-7004b6ad53ef""#,
                r#"API_Key = "HRKU-AAy9Ppr_HD2pPuTyIiTYInO0hbzhoERRSO93ZQusSYHgaD7_WQ07FnF7L9FX""#,
                r#"KEY = "HRKU-AAOfFUyyZMcj8nlHmN27lsm12UrdN9MnJTXFE8teKlGQs7DvJroj0_6Pv3u6""#,
                r"key: HEROKU_API_KEY=696e6803-3eca-cc4b-c64b-4b3153e30e33",
            ],
            &[
                r#"KEY = "HRKU-AAOfFUyyZMcj8nlHmN27lsm12UrdN9MnJT""#,
                r#"KEY = "ZRKU-AAOfFUyyZMcj8nlHmN27lsm12UrdN9MnJTXFE8teKlGQs7DvJroj0_6Pv3u6""#,
                r#"KEY = "HRKU-AAOfFUyyZMcj8nlHmN27lsm12UrdN9MnJTXFXXXXXXXXXXXXXXXXXXXXXXXX""#,
            ],
        ),
        (
            "config/huggingface-token",
            &[
                r"huggingface-cli login --token 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",
                r#"-H "Authorization: Bearer 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""#,
                r"DEV=1 HF_TOKEN=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 poetry run python app.py",
                r#"KEY = "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""#,
                r"key: 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",
            ],
            &[
                r#"KEY = "hf_hrIXoVKppBFNPIrvFwT""#,
                r#"KEY = "Zf_hrIXoVKppBFNPIrvFwTFGfLGhycCBOjNhi""#,
                r#"KEY = "hf_hrIXoVKppBXXXXXXXXXXXXXXXXXXXXXXXX""#,
            ],
        ),
        (
            "config/linear-key",
            &[r#"KEY = "lin_api_7JSVFMGpp37G3WjEhFaoD796e2EWn0HufULKoeOB""#],
            &[
                r#"KEY = "lin_api_7JSVFMGpp37G3WjEhFao""#,
                r#"KEY = "Zin_api_7JSVFMGpp37G3WjEhFaoD796e2EWn0HufULKoeOB""#,
                r#"KEY = "lin_api_7JSVFMGpp37G3WjEXXXXXXXXXXXXXXXXXXXXXXXX""#,
            ],
        ),
        (
            "config/postman-key",
            &[r#"KEY = "PMAK-6803d6deec23175bd0a80a61-e872d7c32e294bc9ae8fb8230ebaf6d468""#],
            &[
                r#"KEY = "PMAK-6803d6deec23175bd0a80a61-e872d7c3""#,
                r#"KEY = "ZMAK-6803d6deec23175bd0a80a61-e872d7c32e294bc9ae8fb8230ebaf6d468""#,
                r#"KEY = "PMAK-6803d6deec23175bd0a80a61-e872d7c32eXXXXXXXXXXXXXXXXXXXXXXXX""#,
            ],
        ),
        (
            "config/pulumi-token",
            &[r#"KEY = "pul-4ffd93758b892cd297064dd1134cf8adc5e633c2""#],
            &[
                r#"<img src="./assets/vipul-f0eb1acf0da84c06a50c5b2c59932001997786b176dec02bd16128ee9ea83628.png" alt="">"#,
                r#"KEY = "pul-4ffd93758b892cd297064d""#,
                r#"KEY = "Zul-4ffd93758b892cd297064dd1134cf8adc5e633c2""#,
                r#"KEY = "pul-4ffd93758b892cd2XXXXXXXXXXXXXXXXXXXXXXXX""#,
            ],
        ),
        (
            "config/sentry-token",
            &[
                r"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",
                r#"KEY = "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""#,
                r"key: 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",
            ],
            &[
                r#"KEY = "sntryu_e186c55a6d2eea7d599e4d3e3bfedff884c""#,
                r#"KEY = "Zntryu_e186c55a6d2eea7d599e4d3e3bfedff884ca70599c009879970f87806a967cd3""#,
                r#"KEY = "sntryu_e186c55a6d2eea7d599e4d3e3bfedff884ca7059XXXXXXXXXXXXXXXXXXXXXXXX""#,
            ],
        ),
        (
            "config/grafana-token",
            &[
                r"'Authorization': 'Bearer glsa_pITqMOBIfNH2KL4PkXJqmTyQl0D9QGxF_486f63e1'",
                r#"KEY = "glc_BM1vzaKbGcy7CNc6bGdVAWNK3TFAVyUO""#,
                r"key: glsa_TPnjHiQJ6Fdn9YEQZKdXbME0R1IRzeub_1ebeaf3e",
                r#"{"token": "eyJrIjoilJiL2W4v8GzSddpANyzdxCfv6jEDI9EkDSVwJ2b1bxpKOvtBP7Nqolu078E9ilgBhfH7AV"}"#,
            ],
            &[
                r"glc_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                r#"   API_KEY="glc_111111111111111111111111111111111111111111=""#,
                r#"KEY = "glc_BM1vzaKbGcy7CNc6b""#,
                r#"KEY = "Zlc_BM1vzaKbGcy7CNc6bGdVAWNK3TFAVyUO""#,
                r#"KEY = "glc_BM1vzaKbXXXXXXXXXXXXXXXXXXXXXXXX""#,
            ],
        ),
        (
            "config/new-relic-key",
            &[
                r#"KEY = "NRAK-ML58G0NTEZ54ZYVDRWJCGGHP0G7""#,
                r"key: NRJS-d6ca9f4cf0369261268",
            ],
            &[
                r#"KEY = "NRAK-ML58G0NTEZ54ZY""#,
                r#"KEY = "ZRAK-ML58G0NTEZ54ZYVDRWJCGGHP0G7""#,
                r#"KEY = "NRAK-ML5XXXXXXXXXXXXXXXXXXXXXXXX""#,
            ],
        ),
        (
            "config/age-key",
            &[
                r#"KEY = "AGE-SECRET-KEY-1TGV3FY2FPMLENK7G92CEG4ZG3XJJTCXJP00J6CDVUZ8TT4JQ0DTF6CST06""#,
            ],
            &[
                r#"KEY = "AGE-SECRET-KEY-1TGV3FY2FPMLENK7G92CEG4ZG3XJJ""#,
                r#"KEY = "ZGE-SECRET-KEY-1TGV3FY2FPMLENK7G92CEG4ZG3XJJTCXJP00J6CDVUZ8TT4JQ0DTF6CST06""#,
                r#"KEY = "AGE-SECRET-KEY-1TGV3FY2FPMLENK7G92CEG4ZG3XJJTCXJP0XXXXXXXXXXXXXXXXXXXXXXXX""#,
            ],
        ),
        (
            "config/planetscale-token",
            &[
                r#"KEY = "pscale_pw_DFJsChvAIz5rpoTzYCMqDN-wxRpH6ZCE.FKSSUUo3yz""#,
                r"key: pscale_tkn_zn8FV5IrjFeux9nRofmpwunLfS2fYwty",
                r#"{"token": "pscale_oauth_08TLiqj3htsGYQm3xTBeEEcA3znMaYUAt3GUUa4khGmbHY5IJl9Hs6rqyLMlvBSK"}"#,
            ],
            &[
                r#"KEY = "pscale_pw_DFJsChvAIz5rpoTzYCMqD""#,
                r#"KEY = "Zscale_pw_DFJsChvAIz5rpoTzYCMqDN-wxRpH6ZCE.FKSSUUo3yz""#,
                r#"KEY = "pscale_pw_DFJsChvAIz5rpoTzYCMXXXXXXXXXXXXXXXXXXXXXXXX""#,
            ],
        ),
        (
            "config/rubygems-key",
            &[r#"KEY = "rubygems_8aea02fb8ad0359bbe559cd18b14210efe26ec78fc3461e0""#],
            &[
                r#"KEY = "rubygems_8aea02fb8ad0359bbe559cd18""#,
                r#"KEY = "Zubygems_8aea02fb8ad0359bbe559cd18b14210efe26ec78fc3461e0""#,
                r#"KEY = "rubygems_8aea02fb8ad0359bbe559cd1XXXXXXXXXXXXXXXXXXXXXXXX""#,
            ],
        ),
        (
            "config/databricks-token",
            &[
                r"token = dapif13ac4b49d1cb31f69f678e39602e381-2",
                r#"KEY = "dapi5f344f704e3d5688ed6e11e6393fee37""#,
                r"key: dapi69e34e83c3d0d7ce35b7e8ba3a408a84-2",
            ],
            &[
                r"DATABRICKS_TOKEN=dapi123456789012345678a9bc01234defg5",
                r#"KEY = "dapi5f344f704e3d5688e""#,
                r#"KEY = "Zapi5f344f704e3d5688ed6e11e6393fee37""#,
                r#"KEY = "dapi5f344f70XXXXXXXXXXXXXXXXXXXXXXXX""#,
            ],
        ),
        (
            "config/atlassian-token",
            &[
                r"JIRA_TOKEN=ATATT3xFfGF0K3irG5tKKi-6u-wwaXQFeGwZ-IHR-hQ3CulkKtMSuteRQFfLZ6jihHThzZCg_UjnDt-4Wl_gIRf4zrZJs5JqaeuBhsfJ4W5GD6yGg3W7903gbvaxZPBjxIQQ7BgFDSkPS8oPispw4KLz56mdK-G6CIvLO6hHRrZHY0Q3tvJ6JxE=C63992E6",
                r#"KEY = "ATATT3qCQzkOl-HsPeQFdG6E6BIQ0R91HwnBWtoKVH8dpYeMkKpb5a8ZcRvu0lZ50ejyrFt_IH8QK-DGJrexiffisCEvk4X1NKt2scKVKawhQxvCMwwbcN=grQMv8ICPeqUOX3IqJl2LlrA3aSUuduAi8_mn04Z=lXZjg2ZyMkn1PSyj=KgpNjeoNXhpWvgR""#,
            ],
            &[
                r"getPagesInConfluenceSpace,searchConfluenceUsingCql",
                r#"KEY = "ATATT3qCQzkOl-HsPeQFdG6E6BIQ0R91HwnBWtoKVH8dpYeMkKpb5a8ZcRvu0lZ50ejyrFt_IH8QK-DGJrexiffisCEvk4X1NKt2scKVKawhQxvCMww""#,
                r#"KEY = "ZTATT3qCQzkOl-HsPeQFdG6E6BIQ0R91HwnBWtoKVH8dpYeMkKpb5a8ZcRvu0lZ50ejyrFt_IH8QK-DGJrexiffisCEvk4X1NKt2scKVKawhQxvCMwwbcN=grQMv8ICPeqUOX3IqJl2LlrA3aSUuduAi8_mn04Z=lXZjg2ZyMkn1PSyj=KgpNjeoNXhpWvgR""#,
                r#"KEY = "ATATT3qCQzkOl-HsPeQFdG6E6BIQ0R91HwnBWtoKVH8dpYeMkKpb5a8ZcRvu0lZ50ejyrFt_IH8QK-DGJrexiffisCEvk4X1NKt2scKVKawhQxvCMwwbcN=grQMv8ICPeqUOX3IqJl2LlrA3aSUuduAi8_mn04Z=lXZjg2ZyXXXXXXXXXXXXXXXXXXXXXXXX""#,
            ],
        ),
        (
            "config/brevo-key",
            &[
                r#"KEY = "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""#,
                r"key: xsmtpsib-b37fd2b774e27b52f9aa6a0adfb90439403b6e3150e5e9b0b0bc0417ccf90f47-31pnGUjlk6kz2kMA",
            ],
            &[
                r#"KEY = "xkeysib-a8929e269ef8809713c969cf257e95631efd0501ac176""#,
                r#"KEY = "Zkeysib-a8929e269ef8809713c969cf257e95631efd0501ac1764a1d8f604c94d5fc576-0FyXyWPBDFscd8D0""#,
                r#"KEY = "xkeysib-a8929e269ef8809713c969cf257e95631efd0501ac1764a1d8f604c94XXXXXXXXXXXXXXXXXXXXXXXX""#,
            ],
        ),
        (
            "config/alibaba-key",
            &[
                r#"KEY = "LTAIKyCseCem1r91kzCB2p8Q""#,
                r"key: LTAI425YoUVjxIkv",
            ],
            &[
                r#"KEY = "LTAIKyCseCem1r""#,
                r#"KEY = "ZTAIKyCseCem1r91kzCB2p8Q""#,
                r#"KEY = "XXXXXXXXXXXXXXXXXXXXXXXX""#,
            ],
        ),
        (
            "config/hashicorp-token",
            &[
                r#"#token = "hE1hlYILrSqpqh.atlasv1.ARjZuyzl33F71WR55s6ln5GQ1HWIwTDDH3MiRjz7OnpCfaCb1RCF5zGaSncCWmJdcYA""#,
                r#"KEY = "Eg0tl7yypQAjYp.atlasv1.x-XMo1juppfcBh2fvc1NC2_GxSidwXYP4fQSdla8loayC4AG=TgrMrbIwtU7LC4oteh""#,
                r"key: hvs.hTdoXHxS8D4F0W6HdirvbqlXSU8i7xT_yl0ys-uScF-nG-C-FEVe7jpwxL29d5T7rfhw2ytS9F5r3wZ1Hx2gdD3Laxn_LwJ",
                r#"{"token": "hvb.5PlZGLNWq2yeTZGK1m4rCmkdl2LaHipnJBKnoy5koicH9moK3UOOl4C_-3D5pU4nLvOIJ3zNsnTo-1HrPV8CzIvAUv4BSxo-Fyv5zRFFljV1S3yUtFSHy7nYScyXd16jt-aqiLGZriul"}"#,
            ],
            &[
                r#"token        = "xxxxxxxxxxxxxx.atlasv1.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx""#,
                r#"KEY = "hvs.hTdoXHxS8D4F0W6HdirvbqlXSU8i7xT_yl0ys-uScF-nG-C-FEVe7jp""#,
                r#"KEY = "Zvs.hTdoXHxS8D4F0W6HdirvbqlXSU8i7xT_yl0ys-uScF-nG-C-FEVe7jpwxL29d5T7rfhw2ytS9F5r3wZ1Hx2gdD3Laxn_LwJ""#,
                r#"KEY = "hvs.hTdoXHxS8D4F0W6HdirvbqlXSU8i7xT_yl0ys-uScF-nG-C-FEVe7jpwxL29d5T7rfhw2ytXXXXXXXXXXXXXXXXXXXXXXXX""#,
            ],
        ),
        (
            "config/onepassword-token",
            &[
                r#"KEY = "ops_eyJzaWduSW5BZGRyZXNzIjoibXkuMXBhc3N3b3JkLmNvbSIsInVzZXJBdXRoIjp7Im1ldGhvZCI6IlNSUGctNDA5NiIsImFsZyI6IlBCRVMyZy1IUzI1NiIsIml0ZXJhdGlvbnMiOjY1MDAwMCwic2FsdCI6IkdSRHlxQWhKUVl0akhYT1lrZVM4Y2QifSwiZW1haWwiOiJhaHp5YWtxeWl3b2p1QDFwYXNzd29yZHNlcnZpY2VhY2NvdW50cy5jb20iLCJzcnBYIjoiMzBmYjljYTViN2U1NGM1N2UxOTU5NjA3MzE3YzdmNzU4YjIzMzk0YzExNzI2MWEzZmM3ZTBlNzc0N2ZkMTgxNiIsIm11ayI6eyJhbGciOiJBMjU2R0NNIiwiayI6ImdfSUEzdmRQNHVOYlp1eVdjWTRFSk5ZRHdNMnRLMUh4anpydkJJQk4ySnoifX0""#,
            ],
            &[
                r#"KEY = "ops_eyJzaWduSW5BZGRyZXNzIjoibXkuMXBhc3N3b3JkLmNvbSIsInVzZXJBdXRoIjp7Im1ldGhvZCI6IlNSUGctNDA5NiIsImFsZyI6IlBCRVMyZy1IUzI1NiIsIml0ZXJhdGlvbnMiOjY1MDAwMCwic2FsdCI6IkdSRHlxQWhKUVl0akhYT1lrZVM4Y2QifSwiZW1h""#,
                r#"KEY = "Zps_eyJzaWduSW5BZGRyZXNzIjoibXkuMXBhc3N3b3JkLmNvbSIsInVzZXJBdXRoIjp7Im1ldGhvZCI6IlNSUGctNDA5NiIsImFsZyI6IlBCRVMyZy1IUzI1NiIsIml0ZXJhdGlvbnMiOjY1MDAwMCwic2FsdCI6IkdSRHlxQWhKUVl0akhYT1lrZVM4Y2QifSwiZW1haWwiOiJhaHp5YWtxeWl3b2p1QDFwYXNzd29yZHNlcnZpY2VhY2NvdW50cy5jb20iLCJzcnBYIjoiMzBmYjljYTViN2U1NGM1N2UxOTU5NjA3MzE3YzdmNzU4YjIzMzk0YzExNzI2MWEzZmM3ZTBlNzc0N2ZkMTgxNiIsIm11ayI6eyJhbGciOiJBMjU2R0NNIiwiayI6ImdfSUEzdmRQNHVOYlp1eVdjWTRFSk5ZRHdNMnRLMUh4anpydkJJQk4ySnoifX0""#,
                r#"KEY = "ops_eyJzaWduSW5BZGRyZXNzIjoibXkuMXBhc3N3b3JkLmNvbSIsInVzZXJBdXRoIjp7Im1ldGhvZCI6IlNSUGctNDA5NiIsImFsZyI6IlBCRVMyZy1IUzI1NiIsIml0ZXJhdGlvbnMiOjY1MDAwMCwic2FsdCI6IkdSRHlxQWhKUVl0akhYT1lrZVM4Y2QifSwiZW1haWwiOiJhaHp5YWtxeWl3b2p1QDFwYXNzd29yZHNlcnZpY2VhY2NvdW50cy5jb20iLCJzcnBYIjoiMzBmYjljYTViN2U1NGM1N2UxOTU5NjA3MzE3YzdmNzU4YjIzMzk0YzExNzI2MWEzZmM3ZTBlNzc0N2ZkMTgxNiIsIm11ayI6eyJhbGciOiJBMjU2R0NNIiwiayI6ImdfSUEzdmRQNHVOYlp1eVdjWTRFSk5ZRHdNMnRXXXXXXXXXXXXXXXXXXXXXXXX""#,
            ],
        ),
    ];

    #[test]
    fn every_provider_finds_its_true_positives_and_none_of_its_false_positives() {
        let finds = crate::audit::scan::finder(PATTERNS);
        let (mut positives, mut found, mut negatives, mut matched) = (0, 0, 0, 0);
        for (rule, tps, fps) in CASES {
            let index = PATTERNS
                .iter()
                .position(|p| p.rule().map(|r| r.id) == Some(*rule))
                .unwrap_or_else(|| panic!("no pattern for {rule}"));
            for text in *tps {
                positives += 1;
                if finds(index, text) {
                    found += 1;
                } else {
                    eprintln!("{rule} missed {text:?}");
                }
            }
            for text in *fps {
                negatives += 1;
                if finds(index, text) {
                    matched += 1;
                    eprintln!("{rule} matched {text:?}");
                }
            }
        }
        assert_eq!(CASES.len(), PATTERNS.len(), "every provider has cases");
        assert_eq!(
            (found, matched),
            (positives, 0),
            "of {positives} and {negatives}"
        );
    }

    #[test]
    fn one_provider_reports_a_token() {
        // No token of one provider is also another's.
        let patterns: Vec<&Pattern> = PATTERNS
            .iter()
            .chain(super::super::SECRETS.iter())
            .collect();
        let scanner = Scanner::new(&patterns, None).unwrap();
        for (rule, tps, _) in CASES {
            for text in *tps {
                let rules: std::collections::BTreeSet<&str> = scanner
                    .scan(text.as_bytes())
                    .iter()
                    .filter_map(|m| patterns[m.pattern].rule().map(|r| r.id))
                    .collect();
                assert!(
                    rules.len() <= 1,
                    "{rule}: {text:?} is reported by {rules:?}"
                );
            }
        }
    }
}
