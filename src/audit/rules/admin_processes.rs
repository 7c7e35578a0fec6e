//! Factor XII, Admin processes: run admin tasks as one-off processes.

use crate::audit::files::{self, Kind, Kinds};
use crate::audit::finding::{Factor, Finding, Severity};
use crate::audit::module::Module;
use crate::audit::project::{Project, StartScript};
use crate::audit::rule::{Role, Roles, Rule};
use crate::audit::scan::{Hit, Pattern};
use crate::audit::shell::simple_commands;

/// The factor's rules, patterns and project check.
pub static MODULE: Module = Module {
    rules: &[&WORK_AT_START],
    patterns: &[PATTERNS],
    check,
};

/// Migrations run from the app's own start: the ORM's or migration library's call in code
/// (a migration command of the app's own, under a path that says so, is the admin process
/// done right), and a uWSGI hook that runs one before the app loads.
static PATTERNS: &[Pattern] = &[
    Pattern::new(
        &WORK_AT_START,
        r#"\b(AutoMigrate\(|command\.upgrade\(|call_command\(\s*["']migrate["']|Artisan::call\(\s*["']migrate|\.migrate\.(?:latest|up)\(|goose\.Up(?:Context)?\(|migrator\.up\(|umzug\.up\(|Flyway\.configure\(\)|run_pending_migrations\(|migrate!\([^)]*\)(?:\s*\.\w+\([^)]*\))*\s*\.run\(|flyway\.migrate\(\)|\.(?:[A-Z][A-Za-z]*)?Migrate(?:[A-Z][A-Za-z]*)?\(|Migrator::up\()"#,
        "the app migrates its database as it starts: every instance, on every start",
        Kinds::CODE,
    )
    .verify(migrates_in_app_code)
    .gate(
        r"AutoMigrate|command\.upgrade|call_command|Artisan::call|\.migrate\.|goose\.Up|migrator\.up|umzug\.up|Flyway\.configure|run_pending_migrations|migrate!|flyway\.migrate|Migrate|Migrator::up",
    ),
    // The app's own migration routine called from its boot code (`await
    // runMigrations(app)`, TypeORM's `dataSource.runMigrations()`): not its definition.
    Pattern::new(
        &WORK_AT_START,
        r"\b((?:run|apply|perform|execute)_?[Mm]igrations)\s*\(",
        "the app migrates its database as it starts: every instance, on every start",
        Kinds::CODE,
    )
    .verify(calls_a_migration_routine)
    .gate("igrations"),
    Pattern::new(
        &WORK_AT_START,
        r"(?m)^\s*(?:hook-pre-app|exec-pre-app|hook-asap|exec-asap|exec-as-root|hook-master-start)\s*=\s*(?:exec:)?\s*(.*\bmigrate\b.*)$",
        "the server migrates the database before each start of the app",
        Kinds::of(&[Kind::Config, Kind::Other]),
    )
    .gate("migrate"),
];

/// A migration call in code that runs with the app: not in a migration command, a
/// management command or a task of its own, and not in a comment.
fn migrates_in_app_code(hit: &Hit<'_>) -> bool {
    let lower = hit.path.to_ascii_lowercase();
    let own_command = lower.split('/').any(|part| {
        part.contains("migrat")
            || part == "alembic"
            || part == "management"
            || part == "commands"
            || part == "tasks"
            || part == "seeds"
            // The app's command-line subcommands (`cli/update.py`): run when asked.
            || part == "cli"
    });
    // `store.Migrate(ctx)` is Go's and .NET's way (EF Core's `Database.Migrate()`); in other
    // languages a method of that name is no convention.
    // (`p.SchemaMigrate(ctx, …)`, `store.Migrate(ctx)`: a method named for it.)
    let method = hit.evidence.starts_with('.') && hit.evidence.contains("Migrate");
    let convention = !method || files::has_extension(hit.path, &["go", "cs"]);
    convention
        && !own_command
        && !behind_a_migrate_switch(hit)
        && hit.class_at(hit.evidence_at) == crate::audit::lex::Class::Code
}

/// A call of a migration routine (not its definition: `function runMigrations(`,
/// `async runMigrations(): Promise<void> {`, `def run_migrations(self):`) in code that
/// runs with the app.
fn calls_a_migration_routine(hit: &Hit<'_>) -> bool {
    let line_start = hit.content[..hit.at.min(hit.content.len())]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line_end = hit.content[hit.at.min(hit.content.len())..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(hit.content.len(), |i| hit.at + i);
    let line = String::from_utf8_lossy(&hit.content[line_start..line_end]);
    let before = line[..line.find(hit.evidence).unwrap_or(0)].trim();
    let defines = before.split_whitespace().any(|w| {
        matches!(
            w,
            "function" | "def" | "func" | "fn" | "public" | "private" | "protected" | "static"
        )
    }) || before.is_empty() && {
        // `async runMigrations() {` or `runMigrations(): Promise<void> {` in a class body.
        let after = line[line.find(hit.evidence).unwrap_or(0)..].trim_end();
        after.ends_with('{') || after.ends_with(':') || after.contains("):")
    } || before == "async";
    !defines && migrates_in_app_code(hit)
}

/// Whether the call is the body of a branch taken only when asked to migrate (`if
/// flagMigrate {`, `case "migrate":`, `if args.migrate:`): a one-off command the binary offers,
/// not its start. A function named for migrating (`func Migrate(apper Apper)`, `def
/// migrate_db():`) is the migration command itself, unless the same file calls it outside
/// such a branch (`migrate(&pool).await?` in the boot routine of a Rust server).
fn behind_a_migrate_switch(hit: &Hit<'_>) -> bool {
    const DEFINES: [&str; 7] = [
        "func ",
        "def ",
        "async def ",
        "fn ",
        "pub fn ",
        "pub async fn ",
        "async fn ",
    ];
    let before = &hit.content[..hit.at.min(hit.content.len())];
    let function = String::from_utf8_lossy(&before[before.len().saturating_sub(4000)..])
        .lines()
        .rev()
        .map(str::trim_start)
        .find_map(|l| DEFINES.iter().find_map(|k| l.strip_prefix(k)))
        .map(|rest| {
            // `(s *Store) Migrate(` names the method after its receiver.
            let rest = rest
                .strip_prefix('(')
                .and_then(|r| r.split_once(')'))
                .map_or(rest, |(_, r)| r.trim_start());
            rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .filter(|name| name.to_ascii_lowercase().contains("migrat"));
    if let Some(name) = function {
        let text = String::from_utf8_lossy(hit.content);
        let call = format!("{name}(");
        let called = text.match_indices(&call).any(|(at, _)| {
            let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
            let before_call = text[line_start..at].trim();
            let defines = DEFINES.iter().any(|k| before_call.starts_with(k.trim_end()))
                || before_call.ends_with(')') // `func (s *Store) Migrate(`
                || text[..at]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_')
                // Another object's method (`migrations.Migrate(store)`), not this one; the
                // object's own (`self.migrate()`, `this.migrate()`) is.
                || (before_call.ends_with('.') || before_call.ends_with("::"))
                    && !["self.", "this.", "Self::"]
                        .iter()
                        .any(|own| before_call.ends_with(own));
            !defines && !in_a_migrate_branch(&text.as_bytes()[..at])
        });
        if !called {
            return true;
        }
    }
    in_a_migrate_branch(before)
}

/// Whether one of the three lines of code before the end of `before` opens a branch that
/// mentions migrating, or the nearest command-line subcommand declared above it is one that
/// migrates (commander's `.command("migrate")`, clap's `Command::new("migrate")`, click's
/// `@cli.command("migrate")`): its action runs when asked, not at start.
fn in_a_migrate_branch(before: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&before[before.len().saturating_sub(1200)..]);
    let subcommand = text
        .lines()
        .rev()
        .skip(1)
        .take(12)
        .find(|l| l.contains("command(") || l.contains("Command::new("));
    if subcommand.is_some_and(|l| l.to_ascii_lowercase().contains("migrat")) {
        return true;
    }
    text.lines()
        .rev()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//") && !l.starts_with('#'))
        .take(3)
        .any(|l| {
            let lower = l.to_ascii_lowercase();
            let branch = ["if ", "} else if", "elif ", "case ", "when "]
                .iter()
                .any(|k| lower.starts_with(k));
            branch && lower.contains("migrat")
        })
}

pub static WORK_AT_START: Rule = Rule {
    id: "admin-processes/work-at-start",
    factor: Factor::XII,
    severity: Severity::Warning,
    roles: Roles::PRODUCTION,
    summary: "A long-running process runs migrations or seeding when it starts",
    explanation: "Admin work runs as a one-off process against a release, not as part of starting the formation: every instance would run it on every start and restart, concurrently with its siblings, and a failure takes the process type down with it.",
    fix: "Move it to the Procfile's `release:` entry (run once per release before it goes live) or to a `[tasks]` entry run with `dozen exec`.",
};

/// Commands that migrate or seed a database.
const MIGRATIONS: [&str; 32] = [
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
    "artisan migrate",
    "doctrine:migrations:migrate",
    "doctrine:schema:update",
    "dbmate up",
    "dbmate migrate",
    "node-pg-migrate up",
    "migration:up",
    "drizzle-kit migrate",
    "drizzle-kit push",
];

/// The migration a shell command runs, if any: a migration command, or a server started with
/// a flag that migrates first (`--run-migrations`, `--migrate`, `--auto-migrate`).
pub fn migration(command: &str) -> Option<String> {
    simple_commands(command)
        .into_iter()
        .find_map(|words| {
            let joined = words.join(" ");
            // An Elixir release's `bin/app eval "App.Release.migrate"` (or `rpc`, or a seed).
            let release_task = words.windows(2).any(|pair| {
                matches!(pair[0], "eval" | "rpc")
                    && words[0].contains("bin/")
                    && ["migrat", "seed"]
                        .iter()
                        .any(|task| pair[1].to_ascii_lowercase().contains(task))
            });
            (release_task
                || MIGRATIONS.iter().any(|m| joined.contains(m))
                || own_migration_command(&words))
            .then_some(joined)
        })
        .or_else(|| migration_flag(command))
}

/// The app's own migration command: a program named for it (`/app/bin/migrate`,
/// `./migrate.sh`, golang-migrate's `migrate -path db up`), or a program's `migrate`
/// subcommand (`./auth migrate`, `app db upgrade`), behind any privilege drop
/// (`sudo -E -u nobody /app/bin/migrate`, `gosu app ./server migrate`).
fn own_migration_command(words: &[&str]) -> bool {
    const UTILITIES: [&str; 24] = [
        "cp", "mv", "ln", "rm", "chmod", "chown", "cat", "echo", "printf", "ls", "mkdir", "test",
        "[", "[[", "cd", "grep", "sed", "awk", "find", "touch", "install", "tar", "curl", "wget",
    ];
    let mut rest = words;
    loop {
        match rest {
            ["sudo", tail @ ..] => {
                rest = tail;
                while let [flag, tail @ ..] = rest {
                    if !flag.starts_with('-') {
                        break;
                    }
                    // `-u nobody`, `-g group`: the flags that take a value.
                    rest = if matches!(*flag, "-u" | "-g" | "-C" | "-D" | "-h") {
                        tail.get(1..).unwrap_or_default()
                    } else {
                        tail
                    };
                }
            }
            [
                "gosu" | "su-exec" | "s6-setuidgid" | "chpst" | "setpriv",
                tail @ ..,
            ] => {
                rest = tail
                    .iter()
                    .position(|w| !w.starts_with('-'))
                    .map_or(&[][..], |i| &tail[i + 1..]);
            }
            ["tini" | "dumb-init" | "catatonit" | "--", tail @ ..] => rest = tail,
            _ => break,
        }
    }
    let Some((program, args)) = rest.split_first() else {
        return false;
    };
    let program = program.trim_matches(|c| c == '"' || c == '\'');
    let name = program.rsplit('/').next().unwrap_or(program);
    let stem = name.strip_suffix(".sh").unwrap_or(name);
    if matches!(
        stem,
        "migrate" | "migrations" | "run-migrations" | "run_migrations" | "db-migrate"
    ) {
        return true;
    }
    let own = program.contains('/') || !UTILITIES.contains(&name);
    let operands: Vec<&str> = args
        .iter()
        .map(|w| w.trim_matches(|c| c == '"' || c == '\''))
        .filter(|w| !w.starts_with('-'))
        .take(2)
        .collect();
    own && match operands.as_slice() {
        ["migrate", ..] => true,
        ["db", next] => matches!(*next, "migrate" | "upgrade"),
        _ => false,
    }
}

/// A flag that has a server migrate as it starts, wherever the command line holds it (an
/// `args=("--run-migrations")` array is one): not one that turns it off or runs nothing else.
fn migration_flag(command: &str) -> Option<String> {
    let words: Vec<&str> = command
        .split(|c: char| c.is_whitespace() || "\"'()[],;".contains(c))
        .collect();
    words.iter().find_map(|word| {
        let (flag, value) = word.split_once('=').unwrap_or((word, ""));
        let migrates = flag.starts_with("--")
            && flag.contains("migrat")
            && ![
                "no-", "skip", "disable", "dont", "without", "only", "allow", "dir", "path",
                "table",
            ]
            .iter()
            .any(|not| flag.contains(not))
            && !matches!(value, "false" | "0" | "no");
        migrates.then(|| (*word).to_owned())
    })
}

/// The script a command runs, if it runs one of the app's files: `bin/boot`,
/// `./docker-entrypoint.sh`, `sh scripts/start.sh`, `bash -e bin/web`.
fn script_of(words: &[&str]) -> Option<String> {
    let mut words = words
        .iter()
        .map(|w| w.trim_matches(|c| matches!(c, '"' | '\'' | '[' | ']' | ',')))
        .filter(|w| !w.is_empty())
        .skip_while(|w| w.contains('=') && !w.starts_with('-'));
    let mut first = words.next()?;
    let mut interpreted = false;
    // An init or a privilege drop in front runs the script after it: `tini --`,
    // `dumb-init`, `gosu app`, `su-exec app`, `s6-setuidgid app`, and the shells.
    loop {
        let program = first.rsplit('/').next().unwrap_or(first);
        match program {
            "sh" | "bash" | "exec" | "tini" | "dumb-init" | "catatonit" | "." | "source" => {
                first = words.find(|w| !w.starts_with('-'))?;
            }
            // An interpreter's first operand is its script: `node scripts/check-db.js`.
            "node" | "python" | "python3" | "ruby" | "php" | "perl" | "deno" | "tsx"
            | "ts-node"
                if !interpreted =>
            {
                interpreted = true;
                first = words.find(|w| !w.starts_with('-'))?;
            }
            "gosu" | "su-exec" | "s6-setuidgid" => {
                words.find(|w| !w.starts_with('-'))?;
                first = words.find(|w| !w.starts_with('-'))?;
            }
            _ => break,
        }
    }
    let looks_like_a_script = interpreted
        || first.contains('/')
        || crate::audit::files::has_suffix(first, ".sh")
        || crate::audit::files::has_suffix(first, ".bash");
    looks_like_a_script.then(|| first.trim_start_matches("./").to_owned())
}

/// The app's file a script path names: the path itself, else the one file with its name (a
/// Dockerfile names the script where it copied it, `/app/docker-entrypoint.sh`).
fn find_script<'p>(project: &'p Project<'_>, script: &str) -> Option<&'p String> {
    let trimmed = script.trim_start_matches('/');
    if let Some(exact) = project.files.iter().find(|f| f.as_str() == trimmed) {
        return Some(exact);
    }
    let name = script.rsplit('/').next().unwrap_or(script);
    let mut same = project
        .files
        .iter()
        .filter(|f| f.rsplit('/').next() == Some(name) && !crate::audit::files::is_test_path(f));
    let one = same.next()?;
    same.next().is_none().then_some(one)
}

/// The scripts production runs each time it starts: boot scripts a process's command names,
/// a Dockerfile's `ENTRYPOINT`/`CMD` script (found where the Dockerfile copied it from), the
/// service and init scripts of an image's init system (s6-overlay's `s6-rc.d/*/run` and
/// `up`, `cont-init.d/*`, `services.d/*/run`, where they are or where a Dockerfile copies
/// them), and the scripts those call at their top level, two calls deep.
pub fn start_scripts(project: &Project<'_>) -> Vec<StartScript> {
    project
        .start_scripts
        .get_or_init(|| find_start_scripts(project))
        .clone()
}

fn find_start_scripts(project: &Project<'_>) -> Vec<StartScript> {
    let mut starts: Vec<(String, String, bool)> = Vec::new();
    for (_, process) in project.processes() {
        for words in simple_commands(&process.command) {
            if let Some(script) = script_of(&words) {
                starts.push((format!("`{}`", process.name), script, false));
            }
        }
    }
    let production = |path: &str| project.is_production(path);
    for path in project.files.iter().filter(|f| {
        crate::audit::files::is_dockerfile(crate::audit::files::name(f)) && production(f)
    }) {
        let Some(text) = project.read(path) else {
            continue;
        };
        for instruction in crate::audit::dockerfile::parse(&text) {
            if matches!(instruction.keyword.as_str(), "ENTRYPOINT" | "CMD") {
                let words: Vec<&str> = instruction.args.split_whitespace().collect();
                if let Some(script) = script_of(&words) {
                    starts.push((format!("{path}'s {}", instruction.keyword), script, true));
                }
            }
        }
    }
    starts.sort();
    starts.dedup_by(|a, b| a.1 == b.1);
    let mut out: Vec<StartScript> = starts
        .into_iter()
        .filter_map(|(starter, named, signalled)| {
            find_script(project, &named).map(|path| StartScript {
                starter,
                named,
                path: path.clone(),
                signalled,
            })
        })
        .collect();
    let init_scripts: Vec<(String, bool)> = match project.model {
        Some(model) => model.init_scripts.clone(),
        None => project
            .files
            .iter()
            .filter_map(|f| crate::audit::model::init_script_kind(f).map(|kind| (f.clone(), kind)))
            .collect(),
    };
    for (path, service) in init_scripts {
        if !production(&path) || out.iter().any(|s| s.path == path) {
            continue;
        }
        out.push(StartScript {
            starter: "the image's init system or entrypoint".to_owned(),
            named: path.clone(),
            path,
            signalled: service,
        });
    }
    // The scripts a start script calls at its top level (`bin/docker-entrypoint.sh foreman
    // start` in a service's `run`) run at every start too.
    let mut next = 0;
    for _depth in 0..2 {
        let end = out.len();
        for i in next..end {
            let Some(text) = project.read(&out[i].path) else {
                continue;
            };
            let mut variables: Vec<(String, String)> = Vec::new();
            for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
                // `PRE_START=deploy/prestart.sh` then `. $PRE_START`: the script's own
                // plain assignments, read in order.
                if let Some(assignment) = crate::audit::shell::assignment(line) {
                    variables.push(assignment);
                    continue;
                }
                let line = crate::audit::shell::expand(line, &variables);
                for words in simple_commands(&line) {
                    let Some(named) = script_of(&words) else {
                        continue;
                    };
                    let Some(path) = find_script(project, &named) else {
                        continue;
                    };
                    if out.iter().any(|s| s.path == *path) {
                        continue;
                    }
                    out.push(StartScript {
                        starter: format!("{} (through {})", out[i].starter, out[i].named),
                        named,
                        path: path.clone(),
                        signalled: false,
                    });
                }
            }
        }
        next = end;
    }
    out
}

/// The first line of the app's file at `path`, not a comment, where `find` finds something.
pub fn first_line_of(
    project: &Project<'_>,
    path: &str,
    find: impl Fn(&str) -> Option<String>,
) -> Option<(usize, String)> {
    let text = project.read(path)?;
    text.lines().enumerate().find_map(|(i, line)| {
        let code = line.trim_start();
        if code.starts_with('#') {
            return None;
        }
        find(code).map(|found| (i + 1, found))
    })
}

/// Migrations in the commands the other declarations give production: a build hook
/// (`heroku-postbuild`, a render.yaml `buildCommand`) touches the database before the release
/// exists; a Compose service's command, a unit's `ExecStartPre` or a manifest's arguments run
/// them at every start. (The Procfile's types are read below, at their exact column.)
fn declared_migrations(project: &Project<'_>, out: &mut Vec<Finding>) {
    use crate::audit::model::declarations::Stage;
    let Some(model) = project.model else {
        return;
    };
    for process in model.production_processes() {
        let message = match process.stage {
            Stage::Build => "the build migrates the database before there is a release",
            Stage::Run if process.declared_by != "Procfile" => {
                "it runs each time it starts: make it a release phase or a task"
            }
            _ => continue,
        };
        if let Some(found) = migration(&process.command) {
            out.push(Finding::new(
                &WORK_AT_START,
                &process.path,
                (process.line, 1),
                format!(
                    "`{}` ({}) runs `{found}`: {message}",
                    process.name, process.declared_by
                ),
                &found,
                false,
            ));
        }
    }
}

/// Spring Boot runs Liquibase's or Flyway's migrations as it starts whenever the library is
/// on the classpath (`spring.liquibase.enabled` and `spring.flyway.enabled` default to true):
/// reported at the dependency of a production build that production's config does not turn
/// off.
fn spring_migrations(project: &Project<'_>, out: &mut Vec<Finding>) {
    let Some(model) = project.model else {
        return;
    };
    let config: Vec<String> = model
        .config
        .iter()
        .filter_map(|c| project.read(&c.path))
        .chain(model.production_processes().map(|p| p.command.clone()))
        .collect();
    for build in project.files.iter().filter(|f| {
        matches!(
            crate::audit::files::name(f),
            "pom.xml" | "build.gradle" | "build.gradle.kts"
        ) && model.role(f) == Role::Production
    }) {
        let Some(text) = project.read(build) else {
            continue;
        };
        if !text.contains("spring-boot") {
            continue;
        }
        for (tool, artifact, key) in [
            ("Liquibase", "liquibase-core", "liquibase"),
            ("Flyway", "flyway-core", "flyway"),
        ] {
            let Some(line) = runtime_dependency(&text, artifact) else {
                continue;
            };
            if config.iter().any(|c| turned_off(c, key)) {
                continue;
            }
            out.push(Finding::new(
                &WORK_AT_START,
                build,
                (line, 1),
                format!(
                    "Spring Boot runs {tool}'s migrations each time an instance starts (`spring.{key}.enabled` is true unless production's config sets it false): run them as a release phase or a task"
                ),
                artifact,
                false,
            ));
        }
    }
}

/// The line of `artifact` as a dependency the app runs with: not test-scoped, and not a
/// build plugin's own dependency or a managed version.
fn runtime_dependency(text: &str, artifact: &str) -> Option<usize> {
    let gradle = !text.trim_start().starts_with('<');
    let mut skip_depth = 0_usize;
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim();
        if gradle {
            if trimmed.contains(artifact)
                && ["implementation", "runtimeOnly", "api", "compile"]
                    .iter()
                    .any(|c| trimmed.starts_with(c))
            {
                return Some(i + 1);
            }
            continue;
        }
        for open in ["<plugins>", "<dependencyManagement>", "<pluginManagement>"] {
            skip_depth += usize::from(trimmed.contains(open));
        }
        for close in [
            "</plugins>",
            "</dependencyManagement>",
            "</pluginManagement>",
        ] {
            skip_depth = skip_depth.saturating_sub(usize::from(trimmed.contains(close)));
        }
        if skip_depth > 0 || !trimmed.contains(&format!("<artifactId>{artifact}</artifactId>")) {
            continue;
        }
        // The rest of its `<dependency>` block: a test scope makes it the tests' only.
        let test_scoped = lines[i..]
            .iter()
            .take_while(|l| !l.contains("</dependency>"))
            .any(|l| l.contains("<scope>test</scope>"));
        if !test_scoped {
            return Some(i + 1);
        }
    }
    None
}

/// Whether config text turns Spring's `key` migrations off: `spring.liquibase.enabled=false`,
/// YAML's `liquibase:` with `enabled: false` under it, `SPRING_LIQUIBASE_ENABLED=false`, or a
/// profile named for it (`no-liquibase`).
fn turned_off(text: &str, key: &str) -> bool {
    static OFF: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r#"(?:spring\.|spring_)(liquibase|flyway)(?:\.|_)enabled\s*[=:]\s*["']?false"#,
        )
        .expect("valid regex")
    });
    let lower = text.to_ascii_lowercase();
    if lower.contains(&format!("no-{key}")) {
        return true;
    }
    if OFF.captures_iter(&lower).any(|c| &c[1] == key) {
        return true;
    }
    let lines: Vec<&str> = lower.lines().collect();
    lines.iter().enumerate().any(|(i, line)| {
        line.trim_start().starts_with(&format!("{key}:"))
            && lines[i + 1..]
                .iter()
                .take(12)
                .take_while(|l| {
                    l.trim().is_empty()
                        || l.len() - l.trim_start().len() > line.len() - line.trim_start().len()
                })
                .any(|l| {
                    let l = l.trim();
                    l.starts_with("enabled:") && l.trim_start_matches("enabled:").trim() == "false"
                })
    })
}

/// Spring Boot settings that change the schema at every start: the SQL init scripts run
/// `always`, Hibernate's `ddl-auto` updating or creating it.
fn spring_schema_at_start(project: &Project<'_>, out: &mut Vec<Finding>) {
    for (path, property) in project.spring_properties() {
        let value = property.effective().to_ascii_lowercase();
        let what = match property.key.as_str() {
            "spring.sql.init.mode" | "spring.datasource.initialization-mode"
                if value == "always" =>
            {
                "runs the SQL init scripts at every start"
            }
            "spring.jpa.hibernate.ddl-auto" | "spring.jpa.properties.hibernate.hbm2ddl.auto"
                if matches!(value.as_str(), "update" | "create" | "create-drop") =>
            {
                "has Hibernate change the schema at every start"
            }
            // Spring's vendor-neutral switch: `true` makes Hibernate's default `update`.
            "spring.jpa.generate-ddl" if value == "true" => {
                "has the JPA provider change the schema at every start"
            }
            _ => continue,
        };
        out.push(Finding::new(
            &WORK_AT_START,
            path,
            (property.line, 1),
            format!(
                "`{}: {value}` {what}, from every instance: run migrations as a release phase or a task",
                property.key
            ),
            &property.key,
            false,
        ));
    }
}

/// Migrations the package.json scripts a start runs (`npm start`, `pnpm start-docker`), or the
/// scripts those run (`node scripts/check-db.js`), run at every start.
fn migrations_in_package_scripts(project: &Project<'_>, out: &mut Vec<Finding>) {
    use crate::audit::model::declarations::Stage;
    const AT_START: &str = "each time it starts: make it a release phase or a task";
    const AT_BUILD: &str = "before there is a release: the build must not touch the database";
    let mut starts: Vec<(String, String, &str)> = project
        .processes()
        .map(|(_, p)| (format!("`{}`", p.name), p.command.clone(), AT_START))
        .collect();
    if let Some(model) = project.model {
        starts.extend(model.deployed_processes().filter_map(|p| {
            let when = match p.stage {
                Stage::Run => AT_START,
                Stage::Build => AT_BUILD,
                Stage::Release => return None,
            };
            Some((
                format!("`{}` ({})", p.name, p.declared_by),
                p.command.clone(),
                when,
            ))
        }));
    }
    for start in start_scripts(project) {
        if let Some(text) = project.read(&start.path) {
            starts.extend(
                text.lines()
                    .filter(|l| !l.trim_start().starts_with('#'))
                    .map(|l| (start.named.clone(), l.to_owned(), AT_START)),
            );
        }
    }
    // A script both a start and the build run is reported as the start's.
    starts.sort_by_key(|(_, _, when)| *when != AT_START);
    let mut reported: Vec<(String, usize)> = Vec::new();
    for (starter, command, when) in starts {
        for script in project
            .model
            .map(|m| m.package_scripts(&command))
            .unwrap_or_default()
        {
            let (path, line, found) = if let Some(found) = migration(&script.body) {
                ("package.json".to_owned(), script.line, found)
            } else if let Some((path, line, found)) = simple_commands(&script.body)
                .iter()
                .filter_map(|words| script_of(words))
                .filter_map(|named| find_script(project, &named).cloned())
                .find_map(|path| {
                    first_line_of(project, &path, migration).map(|(l, f)| (path, l, f))
                })
            {
                (path, line, found)
            } else {
                continue;
            };
            if reported.contains(&(path.clone(), line)) {
                continue;
            }
            reported.push((path.clone(), line));
            out.push(Finding::new(
                &WORK_AT_START,
                &path,
                (line, 1),
                format!(
                    "{starter} runs the `{}` script, which runs `{found}` {when}",
                    script.name
                ),
                &found,
                false,
            ));
        }
    }
}

pub fn check(project: &Project<'_>, out: &mut Vec<Finding>) {
    declared_migrations(project, out);
    migrations_in_package_scripts(project, out);
    spring_migrations(project, out);
    spring_schema_at_start(project, out);
    for start in start_scripts(project) {
        if let Some((line, found)) = first_line_of(project, &start.path, migration) {
            out.push(Finding::new(
                &WORK_AT_START,
                &start.path,
                (line, 1),
                format!(
                    "{} starts with {}, which runs `{found}` each time: make it a release phase or a task",
                    start.starter, start.named
                ),
                &found,
                false,
            ));
        }
    }
    for (procfile, process) in project.processes() {
        if let Some(found) = migration(&process.command) {
            out.push(Finding::new(
                &WORK_AT_START,
                procfile,
                project.procfile_position(procfile, process.line, &found),
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
    fn spring_migrations_are_off_by_property_yaml_env_or_profile() {
        assert!(turned_off("spring.liquibase.enabled=false\n", "liquibase"));
        assert!(turned_off("SPRING_FLYWAY_ENABLED: \"false\"\n", "flyway"));
        assert!(turned_off(
            "spring:\n  liquibase:\n    contexts: prod\n    enabled: false\n",
            "liquibase"
        ));
        assert!(turned_off(
            "java -Dspring.profiles.active=prod,no-liquibase -jar app.jar",
            "liquibase"
        ));
        assert!(!turned_off(
            "spring:\n  liquibase:\n    contexts: prod\nother:\n  enabled: false\n",
            "liquibase"
        ));
        assert!(!turned_off("spring.flyway.enabled=false\n", "liquibase"));
    }

    #[test]
    fn spring_migration_libraries_count_where_the_app_runs_with_them() {
        let gradle = "dependencies {\n    testImplementation 'org.flywaydb:flyway-core'\n    implementation 'org.flywaydb:flyway-core'\n}\n";
        assert_eq!(runtime_dependency(gradle, "flyway-core"), Some(3));
        let test_scoped = "<project>\n<dependency>\n<artifactId>flyway-core</artifactId>\n<scope>test</scope>\n</dependency>\n</project>\n";
        assert_eq!(runtime_dependency(test_scoped, "flyway-core"), None);
        let managed = "<project>\n<dependencyManagement>\n<dependency>\n<artifactId>flyway-core</artifactId>\n</dependency>\n</dependencyManagement>\n</project>\n";
        assert_eq!(runtime_dependency(managed, "flyway-core"), None);
    }

    #[test]
    fn migrations_found_in_compound_commands() {
        assert_eq!(
            migration("bundle exec rake db:migrate && bundle exec puma").as_deref(),
            Some("bundle exec rake db:migrate")
        );
        assert!(migration("python manage.py migrate --noinput; gunicorn app").is_some());
        assert!(migration("gunicorn app:app").is_none());
        assert!(migration("node migrate-users-report.js").is_none());
        assert_eq!(
            migration("args=(\"--run-migrations\")").as_deref(),
            Some("--run-migrations")
        );
        assert!(migration("svix-server --migrate=true").is_some());
        assert!(migration("server --no-migrate").is_none());
        // The app's own migration program or subcommand, behind a privilege drop.
        assert!(migration("sudo -E -u nobody /app/bin/migrate").is_some());
        assert!(migration("./auth migrate").is_some());
        assert!(migration("gosu app ./server db upgrade").is_some());
        assert!(migration("migrate -path db/migrations -database $DB up").is_some());
        assert!(migration("cp migrate /usr/local/bin").is_none());
        assert!(migration("echo migrate").is_none());
        assert!(migration("chmod +x bin/migrate.sh").is_none());
        assert!(migration("server --migrate=false").is_none());
        assert!(migration("server --migrations-dir db").is_none());
        assert!(migration("/opt/app/bin/app eval \"App.ReleaseTasks.migrate\"").is_some());
        assert!(migration("bin/app eval \"App.Release.seed()\"").is_some());
        assert!(migration("bin/app eval \"App.Release.check()\"").is_none());
    }

    #[test]
    fn scripts_a_command_starts() {
        assert_eq!(script_of(&["bin/boot"]).as_deref(), Some("bin/boot"));
        assert_eq!(
            script_of(&["[\"./docker-entrypoint.sh\",", "\"web\"]"]).as_deref(),
            Some("docker-entrypoint.sh")
        );
        assert_eq!(
            script_of(&["bash", "-e", "scripts/start"]).as_deref(),
            Some("scripts/start")
        );
        assert_eq!(
            script_of(&["PORT=1", "sh", "run.sh"]).as_deref(),
            Some("run.sh")
        );
        assert_eq!(script_of(&["gunicorn", "app:app"]), None);
        assert_eq!(script_of(&["bundle", "exec", "puma"]), None);
    }
}
