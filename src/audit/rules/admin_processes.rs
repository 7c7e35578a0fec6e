//! Factor XII, Admin processes: run admin tasks as one-off processes.

use crate::audit::finding::{Factor, Finding, Severity};
use crate::audit::project::Project;
use crate::audit::rule::{Precision, Rule};
use crate::audit::shell::simple_commands;

pub const RULES: &[Rule] = &[Rule {
    id: "admin-processes/work-at-start",
    factor: Factor::XII,
    severity: Severity::Warning,
    precision: Precision::High,
    summary: "A long-running process runs migrations or seeding when it starts",
    explanation: "Admin work runs as a one-off process against a release, not as part of starting the formation: every instance would run it on every start and restart, concurrently with its siblings, and a failure takes the process type down with it.",
    fix: "Move it to the Procfile's `release:` entry (run once per release before it goes live) or to a `[tasks]` entry run with `dozen exec`.",
}];

/// Commands that migrate or seed a database.
const MIGRATIONS: [&str; 23] = [
    "db:migrate",
    "db:seed",
    "db:setup",
    "db:prepare",
    "db:schema:load",
    "manage.py migrate",
    "manage.py loaddata",
    "django-admin migrate",
    "alembic upgrade",
    "flask db upgrade",
    "prisma migrate",
    "prisma db push",
    "knex migrate",
    "sequelize db:migrate",
    "migration:run",
    "run migrate",
    "yarn migrate",
    "diesel migration run",
    "sqlx migrate run",
    "flyway migrate",
    "liquibase update",
    "goose up",
    "ecto.migrate",
];

/// The migration a shell command runs, if any.
pub fn migration(command: &str) -> Option<String> {
    simple_commands(command).into_iter().find_map(|words| {
        let joined = words.join(" ");
        MIGRATIONS
            .iter()
            .any(|m| joined.contains(m))
            .then_some(joined)
    })
}

pub fn check(project: &Project<'_>, out: &mut Vec<Finding>) {
    for process in project.processes() {
        if let Some(found) = migration(&process.command) {
            out.push(Finding::new(
                super::rule("admin-processes/work-at-start"),
                project.procfile_path,
                project.procfile_position(process.line, &found),
                format!(
                    "`{}` runs `{found}` each time it starts: make it a release phase or a task",
                    process.name
                ),
                &found,
                false,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_found_in_compound_commands() {
        assert_eq!(
            migration("bundle exec rake db:migrate && bundle exec puma").as_deref(),
            Some("bundle exec rake db:migrate")
        );
        assert!(migration("python manage.py migrate --noinput; gunicorn app").is_some());
        assert!(migration("gunicorn app:app").is_none());
        assert!(migration("node migrate-users-report.js").is_none());
    }
}
