//! The command line, as clap definitions only: what each command accepts. What the commands
//! do lives in `commands`.

mod config;
mod flags;
mod live;

use std::path::PathBuf;

use clap::{ArgAction, Parser, Subcommand};

pub use config::{ConfigAction, ConfigArgs};
pub use flags::{FlagsAction, FlagsArgs};
pub use live::{
    CanaryArgs, CanaryVerb, DrainsAction, DrainsArgs, LogsArgs, PsArgs, ScaleArgs, TargetArgs,
    TopArgs,
};

use crate::app::formation::FormationFlag;
use crate::ui::ColorChoice;

#[derive(Debug, Parser)]
#[command(
    name = "dozen",
    version,
    about = "The twelve-factor lifecycle of an app on one machine",
    long_about = "dozen reads an app's Procfile, .env files and dozen.toml, checks them, manages its config, builds and releases it, runs its process formation, and audits it against the twelve factors.\n\nAn app is a directory (the current one, --app DIR or DOZEN_APP) with a Procfile, optional .env files per environment, and an optional dozen.toml.",
    after_help = "Examples:\n  dozen check                        validate the app in the current directory\n  dozen --app fixtures/sample check  validate another app\n  dozen --env production config      list production's keys, values redacted\n  dozen config set PORT=5000         edit .env in place",
    disable_help_subcommand = true
)]
pub struct Args {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Args)]
pub struct GlobalArgs {
    /// The app's directory [default: the Procfile's directory with -f, else the current one]
    #[arg(
        long,
        global = true,
        env = "DOZEN_APP",
        hide_env_values = true,
        value_name = "DIR"
    )]
    pub app: Option<PathBuf>,

    /// The environment whose env files apply [default: development]
    #[arg(long = "env", global = true, value_name = "NAME", value_parser = environment_name)]
    pub environment: Option<String>,

    /// The Procfile to read, as in foreman and honcho [default: APP/Procfile]
    #[arg(short = 'f', long, global = true, value_name = "PATH")]
    pub procfile: Option<PathBuf>,

    /// Env files to use instead of the environment's, comma-separated, as in foreman and honcho
    #[arg(
        short = 'e',
        long = "env-file",
        global = true,
        value_name = "FILES",
        value_delimiter = ','
    )]
    pub env_files: Option<Vec<PathBuf>>,

    /// Print only errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print more detail
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,

    /// When to use colours (`NO_COLOR` turns `auto` off)
    #[arg(long, global = true, value_enum, default_value_t, value_name = "WHEN")]
    pub color: ColorChoice,
}

/// `dozen logs -f` follows, as `tail -f`, `docker logs -f` and `kubectl logs -f` do: after the
/// `logs` subcommand, `-f` is `--tail` (everywhere else it is `--procfile`, as in foreman,
/// which `logs` has no use for). Global flags before the subcommand keep their meaning.
pub fn follow_flag(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    const TAKES_VALUE: [&str; 6] = ["-f", "--procfile", "-e", "--env-file", "--app", "--env"];
    let mut value_next = false;
    let mut logs_at = None;
    for (i, arg) in args.iter().enumerate().skip(1) {
        let Some(text) = arg.to_str() else {
            return args;
        };
        if value_next {
            value_next = false;
        } else if text == "--" {
            return args;
        } else if TAKES_VALUE.contains(&text) || text == "--color" {
            value_next = true;
        } else if !text.starts_with('-') {
            if text == "logs" {
                logs_at = Some(i);
            }
            break;
        }
    }
    let Some(at) = logs_at else { return args };
    for arg in &mut args[at + 1..] {
        if arg == "--" {
            break;
        }
        if arg == "-f" {
            *arg = "--tail".into();
        }
    }
    args
}

/// What is wrong with a value on the command line; clap prints it after the value and the
/// option it was given to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgError {
    /// `--env` with a name no environment can have.
    #[error("an environment name has letters, digits, `_` and `-` only")]
    EnvironmentName,
    /// `v0`: releases count from 1.
    #[error("releases count from v1")]
    VersionZero,
    /// Not `vN` or `N`.
    #[error("`{0}` is not a release version: write it like v3")]
    NotAVersion(String),
    /// Not up to 64 lower-case hex digits.
    #[error(
        "`{shown}` is not a build id: a build id is up to 64 lower-case hex digits (a unique prefix will do)",
        shown = crate::diagnostic::escape_invisible(.0)
    )]
    NotABuildId(String),
    /// `-t SECONDS` beyond [`crate::app::duration::Duration::MAX`].
    #[error("{0} seconds is longer than a day, the longest kill timeout dozen takes")]
    KillTimeoutTooLong(u64),
    /// A duration as `dozen.toml` writes them, which is not one.
    #[error(transparent)]
    Duration(#[from] crate::app::duration::DurationError),
    /// Not bytes, or a number with K, M or G.
    #[error("`{0}` is not a size: write bytes, or a number with K, M or G")]
    NotASize(String),
    /// `--router` with neither a port nor `HOST:PORT` (often a process type put after it).
    #[error("{0}; process types go before --router")]
    RouterAddr(#[source] crate::app::ports::NotAnAddress),
}

fn environment_name(name: &str) -> Result<String, ArgError> {
    if crate::app::name::is_valid_name(name) {
        Ok(name.to_owned())
    } else {
        Err(ArgError::EnvironmentName)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the Procfile, env files and dozen.toml, and show what they define
    #[command(
        after_help = "Exit status: 0 when the app is valid (warnings allowed), 1 when it has errors.\n\nExamples:\n  dozen check\n  dozen check --json | jq .errors\n  dozen --env production check"
    )]
    Check(CheckArgs),

    /// Show and edit the config of an environment (values redacted unless --reveal)
    Config(ConfigArgs),

    /// Check the app against the twelve factors: located, masked, suppressible findings
    #[command(
        after_help = "Prints a twelve-row scorecard (pass, warn, fail or skip per factor), then the findings by factor. Secrets are masked in every format.\n\nExit status: 0 when nothing is at or above --fail-on, 1 when something is, 2 for usage or configuration errors; the same for every --format.\n\nSuppress a finding with a comment on its line or the line above (`# dozen: ignore[RULE] reason`), with `[audit] ignore = [\"RULE\", \"RULE:path/glob\"]` in dozen.toml, or with a baseline of accepted findings (`--write-baseline FILE` once, then `--baseline FILE`).\n\nExamples:\n  dozen audit\n  dozen audit services/api --format sarif > audit.sarif\n  dozen audit --fail-on warning --format github\n  dozen audit --write-baseline .dozen-baseline.json\n  dozen audit --baseline .dozen-baseline.json\n  dozen audit rules\n  dozen audit --model\n  dozen audit explain config/aws-access-key"
    )]
    Audit(AuditArgs),

    /// Turn the source into an immutable build (the stored one when nothing changed)
    #[command(
        after_help = "Copies the files not ignored by .gitignore/.dozenignore into a staging directory, runs [build] steps there with the build env only, and stores the result under .dozen/, identified by a hash of its inputs. Prints the build id on stdout.\n\nExamples:\n  dozen build\n  dozen build --require-clean --json\n  dozen build verify            re-hash the latest build\n  dozen build verify 3fa9c2     a build by id prefix"
    )]
    Build(BuildArgs),

    /// Build (or reuse a build) and snapshot the config as a new numbered release
    #[command(
        after_help = "Creates vN (numbers count up and are never reused) from a build and the environment's config as it resolves now — a bare KEY line takes KEY from this command's environment. Runs the Procfile's release entry against it, and only then makes it current; a failed release phase keeps the previous current release and exits 1. When a `dozen run` follows the current release, its formation moves onto vN instance by instance and `dozen release` waits for that (--no-wait: it does not): a move whose new instance never becomes ready goes back, vN is recorded as aborted, the previous release stays current, and the exit status is 1 — CI never reports a release that is not running. Prints vN on stdout.\n\nExamples:\n  dozen --env production release -m \"fix login\"\n  DATABASE_URL=$SECRET dozen --env production release --json\n  dozen release --build 3fa9c2"
    )]
    Release(ReleaseArgs),

    /// Make a new release from an earlier one's build and config
    #[command(
        after_help = "Creates a new release (it does not rewrite history) copying vN's build and config; without vN, the succeeded release before the current one. Its release phase runs like any release's, and a running formation's move onto it is waited for as `dozen release` does (--no-wait: not). Databases and other external state are not rolled back.\n\nExamples:\n  dozen rollback\n  dozen rollback v3"
    )]
    Rollback(RollbackArgs),

    /// List releases, or show one (config keys with digests, the diff against the previous)
    #[command(
        after_help = "Examples:\n  dozen releases\n  dozen releases --json\n  dozen releases show v3\n  dozen releases show v3 --reveal     values too"
    )]
    Releases(ReleasesArgs),

    /// Remove builds that no recent release uses, and the files only they held
    #[command(
        after_help = "Keeps the builds of the last N succeeded releases, of the current one and of the one `dozen rollback` goes back to (interrupted, failed and aborted releases can never run, and keep nothing); removes every other build and every stored file no kept build uses.\n\nExamples:\n  dozen gc\n  dozen gc --keep 10"
    )]
    Gc(GcArgs),

    /// The activity log: builds, releases, rollbacks, one-off commands, scheduled jobs
    History(HistoryArgs),

    /// Run a one-off admin command in the current release (--dev: in the working tree)
    #[command(
        after_help = "The command gets the environment's config over the inherited environment, PORT, the app directory as its working directory, and your terminal: REPLs and debuggers work. dozen's exit code is the command's (128+N for signal N). When it ends, anything it left running is stopped.\n\nExamples:\n  dozen exec --dev migrate                 a [tasks] entry or a Procfile type\n  dozen exec --dev migrate --fake          extra arguments are appended\n  dozen exec --dev migrate -- -v           arguments that look like dozen's own flags\n  dozen exec --dev -- python3 manage.py shell\n  dozen --env production exec --dev -- printenv DATABASE_URL"
    )]
    Exec(ExecArgs),

    /// Run the process formation of the current release (--dev: of the working tree)
    #[command(
        after_help = "Also runs the [schedule.NAME] jobs of dozen.toml (cron, command or task, timezone, concurrency, timeout, starting_deadline), each fire a one-off under `schedule.NAME` in the output and in `dozen history`. With a flags file (flags.json, or [flags] file), serves the app's feature flags over OFREP at the address every process finds in OFREP_ENDPOINT, and applies each change of the file at once (`dozen flags`).\n\nExamples:\n  dozen run --dev                     the whole formation\n  dozen run --dev web                 only web\n  dozen run --dev -m web=2,worker=1   two web, one worker (others: none)\n  dozen run --dev -m all=2 -p 8000    two of each, ports from 8000\n  dozen run --dev --log-format json | jq .line"
    )]
    Run(RunArgs),

    /// Run the formation of the working tree: foreman's and honcho's `start`, the same as
    /// `dozen run --dev`
    #[command(
        after_help = "`dozen start` is `dozen run --dev` under the name foreman, honcho and node-foreman users type: every flag of `run` works the same.\n\nExamples:\n  dozen start\n  dozen start web\n  dozen start -m web=2,worker=1"
    )]
    Start(RunArgs),

    /// Change the formation of the running `dozen run` live, and store it for the next run
    #[command(
        after_help = "Heroku's syntax: TYPE=N sets a count, TYPE+N and TYPE-N change it; several changes apply together or not at all. New instances get the next index and port and start at once; removed ones are the highest-numbered and stop gracefully. The formation is stored, so the next `dozen run` starts with it; with no `dozen run` running, it is only stored. Without arguments: prints the formation.\n\nExit status: 0 applied (or stored; with --wait, once every instance is up), 1 refused by the run (a port taken, an instance still stopping; with --wait, an instance crashed or the run ended) or applied but not stored (the next run would start with the old counts), 2 a bad argument.\n\nExamples:\n  dozen scale web=3 worker+1\n  dozen scale clock=0\n  dozen scale"
    )]
    Scale(ScaleArgs),

    /// The instances of the running `dozen run`: state, pid, port, uptime, restarts, health, CPU, memory
    #[command(
        after_help = "States: waiting (for its `after` types), starting, ready (its health check passed), running (started; no health check), backing off (waiting to restart), stopping, exited, crashed.\n\nCPU is percent of one core over the last second, as top shows it (200% is two cores); MEM is resident memory; both of the instance's process group, sampled from /proc each second (`cpu_percent`, `rss_bytes` in --json; null until known). Under the table, each type's limits (`[processes.T] memory`, `cpu`, `open_files`) and what holds each: rlimit, watched (R14 over the quota, R15 restart over twice it), or not capped.\n\nScheduled jobs: each one's next fire and how its last one went (`schedules` in --json).\n\nExit status: 0, or 1 when no `dozen run` is running this app.\n\nExamples:\n  dozen ps\n  dozen ps --json | jq '.instances[] | select(.state != \"ready\")'"
    )]
    Ps(PsArgs),

    /// A live view of the running `dozen run`: instances, the router's rates and latencies, a deploy's progress, the selected instance's log
    #[command(
        after_help = "One row per instance (state, release, side, CPU %, resident memory, restarts, requests/s, p50/p99, errors/s, in flight), the router's totals with sparklines of requests/s and p99 over the last five minutes, a deploy's progress and a canary's comparison, and the selected instance's last lines. Rates are over the last interval; the router's p50/p99 are of the requests answered in it (as Prometheus' histogram_quantile computes them), an instance's since it started. Everything comes over the run's control socket: one subscription that the run answers every interval, and the selected instance's log.\n\nKeys: up/down (k/j) select an instance; r restarts its type (rolling); s stops its type (asks first); + and - scale its type by one; q, Esc or Ctrl-C quit. Restarts, stops and scales are recorded in `dozen history` as the commands' are.\n\n--once prints one screen (after one interval, so that rates are measured) and exits; with --json, the same as JSON; --json alone prints a JSON object every interval.\n\nExit status: 0, or 1 when no `dozen run` is running this app.\n\nExamples:\n  dozen top\n  dozen top --interval 0.5\n  dozen top --once\n  dozen top --once --json | jq '.instances[] | {name, cpu_percent, requests_per_s}'"
    )]
    Top(TopArgs),

    /// A canary release of the running `dozen run`: its live comparison, or promote or abort it
    #[command(
        after_help = "A canary release (`dozen release --strategy canary`) gives a few instances of the new release a growing share of requests, step by step, while the router compares them with the stable side: error rate and p99 service time, against `[deploy]`'s thresholds. A breach aborts it on its own; passing every step promotes it. `status` (the default) shows the current step's comparison; `promote` skips the remaining steps; `abort` sends every request back to the stable side and stops the canary (the release is recorded aborted).\n\nExit status: 0, or 1 when no canary release is running.\n\nExamples:\n  dozen canary\n  dozen canary --json | jq .canary.error_rate\n  dozen canary abort"
    )]
    Canary(CanaryArgs),

    /// The running formation's stream from any terminal: the last lines, then (-f) every new one
    #[command(
        after_help = "Reads the ring buffer of the running `dozen run` (the last [logs] buffer_lines lines, 10000 by default, held in memory only) through its control socket: the last -n lines, then with -f (-t, --tail, --follow) every new one until you interrupt it or the run ends. Lines look like the run's own (or --json: one object per line, as --log-format json prints). A reader that falls behind never slows the apps: it is told how many lines it missed.\n\nExit status: 0, or 1 when no `dozen run` is running this app.\n\nExamples:\n  dozen logs\n  dozen logs -f --ps web\n  dozen logs -n 1000 --ps worker.2\n  dozen logs --tail --source router\n  dozen logs -t --json | jq -r .line"
    )]
    Logs(LogsArgs),

    /// Ship the stream off the machine: list, add and remove log drains (syslog, HTTPS)
    #[command(
        after_help = "A drain gets every line of the running formation: syslog+tls://HOST:PORT, syslog+tcp://HOST:PORT (RFC 5424, octet-counted), syslog+udp://HOST:PORT, or https://… and http://… (batches of at most 500 lines or 1 MiB, at least every second, in Heroku's application/logplex-1 framing, or NDJSON with #format=ndjson). A drain URL may hold credentials: it is stored like config (.dozen/drains.json, mode 0600) and only ever shown redacted, by its id. A running `dozen run` starts and stops drains at once. Drains in dozen.toml's [logs] drains are listed too (`${NAME}` there takes a part from the config).\n\nA slow or unreachable drain drops its oldest lines (counted, in `dozen ps` and in the stream as Heroku's L10 error); it never slows the apps.\n\nExamples:\n  dozen drains\n  dozen drains add syslog+tls://logs.example.com:6514\n  echo \"https://user:$TOKEN@logs.example.com/in\" | dozen drains add -\n  dozen drains remove 3fa9c2d01b7e\n  dozen drains --json"
    )]
    Drains(DrainsArgs),

    /// Feature flags: list them, turn them on and off, roll them out to a percentage of users
    #[command(
        after_help = "The flags are flagd's JSON definitions in flags.json (or the file [flags] file names), part of the app's source and not of a release: a change needs no deploy. `dozen run` serves them over OFREP, the OpenFeature Remote Evaluation Protocol, at the address every process finds in OFREP_ENDPOINT: any OpenFeature SDK's OFREP provider reads them there.\n\n`set`, `rollout`, `enable` and `disable` edit the file in place (every other byte stays as it was), record the change in `dozen history` (who, what, and the flag before and after), and have a running `dozen run` apply it before they return. With no run they edit the file only, and say so. Editing the file by hand is picked up by the run too.\n\nA rollout buckets by targeting key exactly as flagd does (`fractional`): a user keeps the variant they got as the percentage grows, and gets the same one from flagd.\n\nExit status: 0; 1 when the change could not be made or applied; 2 for an unknown flag or variant, or a file with errors.\n\nExamples:\n  dozen flags\n  dozen flags rollout new-checkout 10%\n  dozen flags set new-checkout on\n  dozen flags disable new-checkout\n  dozen flags get new-checkout --targeting-key user-42\n  dozen flags --json"
    )]
    Flags(FlagsArgs),

    /// Restart instances of the running `dozen run`, one at a time
    #[command(
        after_help = "Without an argument every instance; with a type (`web`) its instances; with an instance (`web.2`) that one. One at a time: an instance gets its stop signal, starts again on the same port, and the next one is only stopped once it is ready again (its health check passed, or it started when it has none) — with two or more instances of a type, some always serve. A replacement that crashes or fails its check stops the roll. Stopped instances (`dozen stop`) start again.\n\nExit status: 0 when the restart began (with --wait: when every instance is back and ready), 1 when no `dozen run` is running this app (with --wait: or a replacement did not become ready), 2 for an unknown type or instance.\n\nExamples:\n  dozen restart\n  dozen restart web\n  dozen restart worker.2"
    )]
    Restart(TargetArgs),

    /// Stop instances of the running `dozen run` gracefully, until scaled or restarted
    #[command(
        after_help = "Without an argument every instance (dozen keeps running, waiting for `dozen restart` or `dozen scale`); with a type or an instance, those. Each gets its stop signal, then SIGKILL at its kill timeout. The formation does not change: `dozen ps` shows them as stopped.\n\nExit status: 0 (with --wait: once they have stopped), 1 when no `dozen run` is running this app, 2 for an unknown type or instance.\n\nExamples:\n  dozen stop worker\n  dozen stop web.3\n  dozen restart web.3"
    )]
    Stop(TargetArgs),

    /// Write the app as the native files of another engine (systemd, Kubernetes, Compose)
    #[command(
        after_help = "Exports the current release (or --release vN; the working tree with --env NAME, or when there is no release): its process types with the formation (the stored one, else [formation], else one each), config, restart policies, stop signals and timeouts, and release phase. The output is deterministic; every file names the release it came from. Files holding config are written with mode 0600.\n\nExamples:\n  dozen export systemd --out deploy/systemd --user app\n  dozen --env production export systemd --out /tmp/units"
    )]
    Export(ExportArgs),

    /// Build an OCI image of a release, without Docker: the base's layers and the build tree
    #[command(
        after_help = "Lays the release's build tree (the current release, or --release vN) at [image] workdir (/app) over the base's layers ([image] base or --base: an image reference pulled from its registry, oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE; it must have /bin/sh, which runs the command), with the build's environment ([build] env and PORT) — never the release's config — and the web command as Cmd. Reproducible: the same release and base give the same digest; an unchanged release reuses its layer. Before anything is written, every executable's interpreter (#! line, ELF loader) and every symlink of the build tree must resolve inside the image; otherwise the files and what they point at are listed and the exit status is 1.\n\nOutputs (one or more): --out DIR (an OCI image layout), --archive FILE (oci-archive), --push REF (the registry's blobs checked first, the base's mounted where the registry allows, the manifest last; credentials from Docker's config.json). Prints the manifest digest.\n\nExamples:\n  dozen image --base debian:12-slim --out image\n  dozen image --base debian:12-slim --push registry.example.com/shop:v7\n  dozen image --release v3 --archive shop-v3.tar --json"
    )]
    Image(ImageArgs),

    /// Write a starting dozen.toml and Procfile for the app in this directory
    #[command(
        after_help = "Detects the ecosystem (Cargo.toml, package.json, requirements.txt or pyproject.toml, go.mod, Gemfile, pom.xml) and writes a commented dozen.toml with build steps, and a Procfile with a web process that binds $PORT. Never overwrites a file.\n\nExamples:\n  dozen init\n  dozen --app ../api init"
    )]
    Init,

    /// Write shell completions and man pages (for packagers and dozen's own tests)
    #[command(name = "__generate", hide = true)]
    Generate(GenerateArgs),

    /// The parent of a `dozen exec` command (internal)
    #[command(name = "__guard", hide = true)]
    Guard {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        argv: Vec<String>,
    },
}

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
#[allow(clippy::struct_excessive_bools)] // command-line switches
pub struct AuditArgs {
    #[command(subcommand)]
    pub action: Option<AuditAction>,

    /// The app to audit [default: --app, else the current directory]
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,

    /// How to print the report
    #[arg(long, value_enum, default_value_t, value_name = "FORMAT")]
    pub format: crate::audit::format::Format,

    /// Shorthand for --format json
    #[arg(long, conflicts_with = "format")]
    pub json: bool,

    /// Print the deployment model the rules reason from instead of auditing: the processes
    /// production runs and what declares them, the config files it reads, each file's role
    /// (every file with -v; --json for all of it)
    #[arg(long, conflicts_with_all = ["probe", "probe_only", "write_baseline", "baseline", "format"])]
    pub model: bool,

    /// Every finding at its rule's most severe (`dozen audit rules --json`: `ceiling`), not at
    /// the severity the rule's measured first-sight precision has earned: for teams that gate
    /// on every rule and triage what it finds
    #[arg(long)]
    pub strict: bool,

    /// The least severe finding that makes the exit status 1
    #[arg(long, value_enum, default_value_t, value_name = "SEVERITY")]
    pub fail_on: FailOn,

    /// Leave out the findings this baseline file accepts
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Write the current findings to FILE as a baseline (rule, path, evidence hash; no line
    /// numbers), then exit 0
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,

    /// Also run each process type of a copy of the app, one at a time, and check what it does:
    /// binds $PORT, stops on SIGTERM, stays in the foreground, writes no files (docs/probe.md)
    #[arg(long)]
    pub probe: bool,

    /// Only the probe, without the static checks
    #[arg(long, conflicts_with = "probe")]
    pub probe_only: bool,

    /// With the probe: how long a web type has to accept connections on $PORT
    #[arg(long, default_value = "60s", value_name = "DURATION", value_parser = duration)]
    pub boot_timeout: std::time::Duration,

    /// With the probe: how long a type has to exit after SIGTERM
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = duration)]
    pub grace: std::time::Duration,

    /// With the probe: run the current release (its build tree, Procfile and config snapshot)
    /// instead of the working tree
    #[arg(long)]
    pub release: bool,

    /// With the probe: start each type once per config key with the key removed; it must exit
    /// non-zero within 10 s instead of running misconfigured
    #[arg(long)]
    pub probe_config_strip: bool,

    /// Files larger than this are not read (bytes; K, M and G suffixes allowed)
    #[arg(long, default_value = "1M", value_name = "SIZE", value_parser = parse_size)]
    pub max_file_size: u64,
}

/// A release on the command line: `v3` or `3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version(pub u32);

impl std::str::FromStr for Version {
    type Err = ArgError;

    fn from_str(text: &str) -> Result<Self, ArgError> {
        match text.strip_prefix('v').unwrap_or(text).parse::<u32>() {
            Ok(0) => Err(ArgError::VersionZero),
            Ok(n) => Ok(Self(n)),
            Err(_) => Err(ArgError::NotAVersion(text.to_owned())),
        }
    }
}

/// A build id, or a prefix of one, on the command line: hex digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildId(pub String);

impl std::str::FromStr for BuildId {
    type Err = ArgError;

    fn from_str(text: &str) -> Result<Self, ArgError> {
        let hex = text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if text.is_empty() || text.len() > 64 || !hex {
            return Err(ArgError::NotABuildId(text.to_owned()));
        }
        Ok(Self(text.to_owned()))
    }
}

/// `-t 10` (seconds, as foreman takes it) or `-t 10s` / `-t 500ms`, at most a day.
pub fn kill_timeout(text: &str) -> Result<std::time::Duration, ArgError> {
    if let Ok(seconds) = text.parse::<u64>() {
        let timeout = std::time::Duration::from_secs(seconds);
        if timeout > crate::app::duration::Duration::MAX {
            return Err(ArgError::KillTimeoutTooLong(seconds));
        }
        return Ok(timeout);
    }
    duration(text)
}

fn duration(text: &str) -> Result<std::time::Duration, ArgError> {
    Ok(crate::app::duration::Duration::parse(text)?.0)
}

fn parse_size(text: &str) -> Result<u64, ArgError> {
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => text.split_at(i),
        None => (text, ""),
    };
    let multiplier: u64 = match unit
        .to_ascii_uppercase()
        .trim_end_matches("IB")
        .trim_end_matches('B')
    {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        _ => return Err(ArgError::NotASize(text.to_owned())),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| ArgError::NotASize(text.to_owned()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum FailOn {
    #[default]
    Error,
    Warning,
    Note,
    /// Always exit 0 (usage errors still exit 2)
    Never,
}

#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// List every rule: id, factor, default severity, what it finds
    Rules {
        /// Print the rules as JSON
        #[arg(long)]
        json: bool,
    },
    /// Explain a rule: its factor, why it matters, how to fix it
    Explain {
        /// The rule id, as findings show it (`config/aws-access-key`)
        #[arg(value_name = "RULE")]
        rule: String,
        /// Print the rule as JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[command(subcommand)]
    pub target: ExportTarget,
}

#[derive(Debug, Subcommand)]
pub enum ExportTarget {
    /// systemd units: a target, a template unit per process type (instances named by port), the
    /// release phase as a oneshot unit, and an env file with the config (mode 0600)
    #[command(
        after_help = "Install (dozen prints the line): copy the files to the --install-dir (/etc/systemd/system unless given; the units read APP.env from there), then `systemctl daemon-reload` and `systemctl enable --now APP.target`. Instances are named by their port (APP-web@5000.service), as foreman's exporter names them. A type without a restart policy gets Restart=on-failure.\n\nExamples:\n  dozen export systemd --out deploy/systemd --user app\n  dozen export systemd --release v3 --out /tmp/units --install-dir /etc/systemd/system"
    )]
    Systemd {
        /// The directory to write into (created if missing)
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The release to export [default: the current one]
        #[arg(long, value_name = "vN")]
        release: Option<Version>,
        /// The user the processes run as (`User=`)
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
        /// Where the files will be installed: the units read their env file from there
        #[arg(long, value_name = "DIR", default_value = "/etc/systemd/system")]
        install_dir: PathBuf,
    },

    /// Kubernetes manifests: a Deployment per process type, a Secret with the config, probes
    /// from the health checks, a Service for web, the release phase as a Job
    #[command(
        after_help = "dozen does not build images: --image names one that holds the build (the release's tree) with the tools it needs; without it the manifests name APP:RELEASE, and dozen says so. Apply: kubectl apply -f DIR (the Job runs the release phase; wait for it before the Deployments roll, or apply it first). Every object is labelled app.kubernetes.io/name, app.kubernetes.io/component and dozen.dev/release.\n\nExamples:\n  dozen export kubernetes --out deploy/k8s --image registry.example.com/shop:v7"
    )]
    Kubernetes {
        /// The directory to write into (created if missing)
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The container image that holds the app's build [default: APP:RELEASE]
        #[arg(long, value_name = "IMAGE")]
        image: Option<String>,
        /// The release to export [default: the current one]
        #[arg(long, value_name = "vN")]
        release: Option<Version>,
    },

    /// A Compose file: a service per process type with deploy.replicas, an env file with the
    /// config, health checks, stop signals and grace periods, the release phase first
    #[command(
        after_help = "Run: docker compose -f DIR/compose.yaml up (the release service runs the release phase; the others start once it has succeeded). web is published on the host: its instances on consecutive host ports from web's port by dozen's rule (PORT, else 5000), or from --host-port. Without --image the services use the image `APP:RELEASE`, to be built from the release's tree.\n\nExamples:\n  dozen export compose --out deploy/compose --image shop:v7\n  dozen export compose --out deploy/compose --host-port 8080"
    )]
    Compose {
        /// The directory to write into (created if missing)
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The container image that holds the app's build [default: APP:RELEASE]
        #[arg(long, value_name = "IMAGE")]
        image: Option<String>,
        /// The release to export [default: the current one]
        #[arg(long, value_name = "vN")]
        release: Option<Version>,
        /// The host port web's first instance is published on; the others take the next ones
        /// [default: web's port by dozen's rule: PORT, else 5000]
        #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
        host_port: Option<u16>,
    },
}

#[derive(Debug, clap::Args)]
pub struct ImageArgs {
    /// This release instead of the current one
    #[arg(long, value_name = "vN")]
    pub release: Option<Version>,

    /// The base image, over [image] base: REF, oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE
    #[arg(long, value_name = "BASE")]
    pub base: Option<String>,

    /// The platform of a multi-platform base
    #[arg(long, value_name = "OS/ARCH", default_value = "linux/amd64")]
    pub platform: String,

    /// Write an OCI image layout to this directory
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Write an oci-archive tarball
    #[arg(long, value_name = "FILE")]
    pub archive: Option<PathBuf>,

    /// Push to this reference (REGISTRY/REPOSITORY[:TAG]; the tag defaults to the release)
    #[arg(long, value_name = "REF")]
    pub push: Option<String>,

    /// Print what was made as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Refuse to build a git work tree with uncommitted changes
    #[arg(long)]
    pub require_clean: bool,

    /// Print the build record as JSON
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub action: Option<BuildAction>,
}

#[derive(Debug, Subcommand)]
pub enum BuildAction {
    /// Re-hash a stored build and report every file changed since it was stored
    Verify {
        /// A build id or a unique prefix of one [default: the latest build]
        id: Option<BuildId>,
    },
}

#[derive(Debug, clap::Args)]
pub struct ReleaseArgs {
    /// Release this stored build (an id or a unique prefix) instead of building
    #[arg(long, value_name = "ID")]
    pub build: Option<BuildId>,

    /// A note recorded with the release
    #[arg(short, long, value_name = "MESSAGE")]
    pub message: Option<String>,

    /// Print the release as JSON
    #[arg(long)]
    pub json: bool,

    /// Do not wait for a running formation to move onto the release (by default `dozen
    /// release` waits, and exits 1 and aborts the release when the move fails)
    #[arg(long)]
    pub no_wait: bool,

    /// Wait for a running formation's move, deploy or canary to end, promoted or aborted
    /// (the default; as `dozen restart --wait` and `dozen scale --wait` say it)
    #[arg(long, conflicts_with = "no_wait")]
    pub wait: bool,

    /// How a running formation moves onto the release: `rolling`, instance by instance;
    /// `blue-green`, a whole new side of the routed type switched to at once when ready; or
    /// `canary`, a few new instances given a growing share while the router compares them
    /// with the rest (both need the router) [default: `[deploy] strategy`, else rolling]
    #[arg(long, value_name = "STRATEGY")]
    pub strategy: Option<crate::app::strategy::Strategy>,
}

#[derive(Debug, clap::Args)]
pub struct ReleasesArgs {
    /// Print as JSON
    #[arg(long, global = true)]
    pub json: bool,

    /// Show config values instead of digests
    #[arg(long, global = true)]
    pub reveal: bool,

    #[command(subcommand)]
    pub action: Option<ReleasesAction>,
}

#[derive(Debug, Subcommand)]
pub enum ReleasesAction {
    /// One release: its config keys with value digests and the diff against the previous one
    Show {
        /// The release, like v3
        version: Version,
    },
}

#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    /// The release to go back to [default: the succeeded release before the current one]
    #[arg(value_name = "vN")]
    pub version: Option<Version>,

    /// Print the new release as JSON
    #[arg(long)]
    pub json: bool,

    /// Do not wait for a running formation to move onto the new release
    #[arg(long)]
    pub no_wait: bool,

    /// Wait for a running formation to move onto the new release (the default, as for
    /// `dozen release --wait`)
    #[arg(long, conflicts_with = "no_wait")]
    pub wait: bool,
}

#[derive(Debug, clap::Args)]
pub struct GcArgs {
    /// How many of the latest succeeded releases keep their builds
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub keep: u32,
}

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// Print as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
#[allow(clippy::struct_excessive_bools)] // command-line switches
pub struct RunArgs {
    /// Run the working tree with the env files applied, not a release
    #[arg(long, conflicts_with = "release")]
    pub dev: bool,

    /// Run this release instead of the current one
    #[arg(long, value_name = "vN")]
    pub release: Option<Version>,

    /// Process types to run [default: the whole formation]
    #[arg(value_name = "TYPE")]
    pub types: Vec<String>,

    /// Instances per type, as foreman takes it: web=2,worker=1 (all=N for the rest)
    #[arg(short = 'm', long, value_name = "TYPE=N,...", value_parser = FormationFlag::parse)]
    pub formation: Option<FormationFlag>,

    /// Base port, 1–65535 [default: PORT from the env files, else the environment's, else 5000]
    #[arg(short, long, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,

    /// Time each process gets to stop before SIGKILL (seconds, or 500ms, 10s) [default: 5s]
    #[arg(short = 't', long, value_name = "DURATION", value_parser = kill_timeout)]
    pub timeout: Option<std::time::Duration>,

    /// Leave the time out of each line
    #[arg(long)]
    pub no_timestamps: bool,

    /// `text` (`HH:MM:SS web.1 | line`) or `json` (one object per line)
    #[arg(long, value_enum, default_value_t, value_name = "FORMAT")]
    pub log_format: crate::supervisor::output::format::LogFormat,

    /// Put dozen's HTTP router in front of `web`, on ADDR (a port, or HOST:PORT) [default:
    /// 127.0.0.1 and the base port]; instances then take ports from the base port + 1.
    /// Process types go before it: `dozen run web --router`
    #[arg(long, value_name = "ADDR", num_args = 0..=1, value_parser = router_addr)]
    pub router: Option<Option<crate::app::ports::RouterAddr>>,

    /// No router, even when dozen.toml's `[router] enabled` asks for one
    #[arg(long, conflicts_with = "router")]
    pub no_router: bool,

    /// Serve HTTPS (and HTTP/2) at the router with a certificate for localhost from your own
    /// development CA, made once under ~/.local/share/dozen/ca; starts the router if off
    #[arg(long, conflicts_with = "no_router")]
    pub tls: bool,

    /// Restart the types whose files change (rolling behind the router); bursts debounced,
    /// .gitignore, .dozenignore and editors' swap files ignored. With --dev only
    #[arg(long, requires = "dev")]
    pub watch: bool,
}

/// `--router`'s address; a type named after it (`--router web`) gets told where types go.
fn router_addr(text: &str) -> Result<crate::app::ports::RouterAddr, ArgError> {
    crate::app::ports::RouterAddr::parse(text).map_err(ArgError::RouterAddr)
}

#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// Run in the working tree with the env files applied, not in a release
    #[arg(long, conflicts_with = "release")]
    pub dev: bool,

    /// Run in this release instead of the current one
    #[arg(long, value_name = "vN")]
    pub release: Option<Version>,

    /// A `[tasks]` entry of dozen.toml or a Procfile type
    #[arg(value_name = "TASK")]
    pub task: Option<String>,

    /// Extra arguments for the task
    #[arg(value_name = "ARGS", allow_hyphen_values = true)]
    pub args: Vec<String>,

    /// After `--`: the command to run (or, after a TASK, more arguments for it)
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Directory to write `completions/` and `man/` into
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn follow(args: &[&str]) -> Vec<String> {
        follow_flag(args.iter().map(std::ffi::OsString::from).collect())
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn after_logs_dash_f_follows_and_elsewhere_it_names_the_procfile() {
        assert_eq!(
            follow(&["dozen", "logs", "-f", "--ps", "web"]),
            ["dozen", "logs", "--tail", "--ps", "web"]
        );
        assert_eq!(
            follow(&["dozen", "-f", "Procfile.dev", "logs", "-n", "5", "-f"]),
            ["dozen", "-f", "Procfile.dev", "logs", "-n", "5", "--tail"]
        );
        // A value that happens to be `logs` is not the subcommand.
        assert_eq!(
            follow(&["dozen", "--env", "logs", "run", "-f", "P"]),
            ["dozen", "--env", "logs", "run", "-f", "P"]
        );
        assert_eq!(
            follow(&["dozen", "run", "-f", "P"]),
            ["dozen", "run", "-f", "P"]
        );
        assert_eq!(
            follow(&["dozen", "logs", "--", "-f"]),
            ["dozen", "logs", "--", "-f"]
        );
        let parsed = Args::try_parse_from(follow(&["dozen", "logs", "-f"])).unwrap();
        assert!(matches!(
            parsed.command,
            Command::Logs(LogsArgs { follow: true, .. })
        ));
    }

    #[test]
    fn versions_build_ids_and_timeouts_are_parsed_at_the_edge() {
        assert_eq!("v3".parse(), Ok(Version(3)));
        assert_eq!("3".parse(), Ok(Version(3)));
        assert!("v0".parse::<Version>().is_err());
        assert!("v3.1".parse::<Version>().is_err());
        assert!("é".parse::<Version>().is_err());
        assert_eq!("3fa9".parse(), Ok(BuildId("3fa9".into())));
        for bad in ["", "3FA9", "xyz", "../x", &"a".repeat(65)] {
            assert!(bad.parse::<BuildId>().is_err(), "{bad}");
        }
        assert_eq!(kill_timeout("10"), Ok(std::time::Duration::from_secs(10)));
        assert_eq!(
            kill_timeout("500ms"),
            Ok(std::time::Duration::from_millis(500))
        );
        assert_eq!(
            kill_timeout("soon").unwrap_err().to_string(),
            "invalid duration `soon`: write a number and a unit, like `500ms`, `10s`, `2m` or `1h`"
        );
        assert_eq!(
            kill_timeout("18446744073709551615")
                .unwrap_err()
                .to_string(),
            "18446744073709551615 seconds is longer than a day, the longest kill timeout dozen takes"
        );
        assert_eq!(
            "v0".parse::<Version>().unwrap_err().to_string(),
            "releases count from v1"
        );
        assert_eq!(
            "v3.1".parse::<Version>().unwrap_err().to_string(),
            "`v3.1` is not a release version: write it like v3"
        );
        assert_eq!(
            "a\u{200b}b".parse::<BuildId>().unwrap_err().to_string(),
            format!(
                "`{}` is not a build id: a build id is up to 64 lower-case hex digits (a unique prefix will do)",
                crate::diagnostic::escape_invisible("a\u{200b}b")
            )
        );
        assert_eq!(parse_size("2K"), Ok(2048));
        assert_eq!(
            parse_size("2T").unwrap_err().to_string(),
            "`2T` is not a size: write bytes, or a number with K, M or G"
        );
        assert_eq!(
            router_addr("web").unwrap_err().to_string(),
            "`web` is neither a port (1–65535) nor HOST:PORT (127.0.0.1:8080, [::1]:8080); process types go before --router"
        );
    }
}
