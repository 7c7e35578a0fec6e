//! Factor IV, Backing services: treat them as attached resources, addressed by config.

use crate::audit::files::Kinds;
use crate::audit::finding::{Factor, Severity};
use crate::audit::module::Module;
use crate::audit::rule::{Roles, Rule};
use crate::audit::scan::{Hit, Pattern};

/// The factor's rules, patterns and project check.
pub static MODULE: Module = Module {
    rules: &[&HARDCODED_ADDRESS],
    patterns: &[PATTERNS],
    check: |_, _| {},
};

pub static HARDCODED_ADDRESS: Rule = Rule {
    id: "backing-services/hardcoded-address",
    factor: Factor::IV,
    severity: Severity::Warning,
    roles: Roles::PRODUCTION,
    summary: "A backing service (database, cache, queue) addressed by a literal local address",
    explanation: "The code makes no distinction between local and third-party services: each is a resource attached through a URL in the config. A literal `localhost:5432` in code or framework config only works where that service happens to run locally, and swapping the database means a code change and a new build.",
    fix: "Read the address from the environment (`DATABASE_URL`, `REDIS_URL`) and keep the local default in `.env`, not in the code.",
};

/// Not in CI workflows or Compose files (they describe the local and CI setup), and not when
/// the line reads the environment (the literal is its fallback).
fn hardcoded_address(hit: &Hit<'_>) -> bool {
    !crate::audit::clues::dev_tooling(hit.path)
        && !crate::audit::clues::ui_component(hit.path)
        && !crate::audit::clues::env_fallback(hit)
}

pub static PATTERNS: &[Pattern] = &[Pattern::new(
        &HARDCODED_ADDRESS,
    r#"(?i)\b(?:postgres(?:ql)?|mysql2?|mariadb|redis|rediss|mongodb(?:\+srv)?|amqps?|memcached?|nats|kafka)://(?:[^\s'"@/]*@)?((?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])(?::\d+)?)|\b((?:localhost|127\.0\.0\.1|0\.0\.0\.0):(?:5432|3306|6379|27017|11211|5672|9200|9092|2181|1433|1521|4222|7687))\b"#,
    "backing service at a hard-coded local address: read it from the environment",
    Kinds::SHIPPED,
)
.verify(hardcoded_address)];
