//! The arguments of the commands that talk to a running `dozen run` over its control socket:
//! `scale`, `restart`, `stop`, `ps`, `top`, `canary`, `logs`, `drains`.

use clap::Subcommand;

use crate::app::formation::ScaleChange;

#[derive(Debug, clap::Args)]
pub struct ScaleArgs {
    /// TYPE=N, TYPE+N or TYPE-N
    #[arg(value_name = "CHANGE", value_parser = ScaleChange::parse)]
    pub changes: Vec<ScaleChange>,

    /// Print the resulting formation as JSON
    #[arg(long)]
    pub json: bool,

    /// Wait until every instance of the new formation is up (ready, or started when it has
    /// no check) and the removed ones have stopped; exit 1 if one crashes
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, clap::Args)]
pub struct TargetArgs {
    /// A process type (`web`) or an instance (`web.2`) [default: every instance]
    #[arg(value_name = "TYPE|INSTANCE")]
    pub target: Option<String>,

    /// Wait for the result (the restart done, the instances stopped); exit 1 if it failed
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, clap::Args)]
pub struct CanaryArgs {
    #[arg(value_enum, default_value = "status")]
    pub action: CanaryVerb,

    /// Print the comparison as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CanaryVerb {
    /// The current step's comparison of the two sides
    Status,
    /// Skip the remaining steps: the canary's side grows and takes every request
    Promote,
    /// Every request back to the stable side; the canary stops
    Abort,
}

#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// How many of the last buffered lines to print
    #[arg(short = 'n', long = "num", value_name = "N", default_value_t = 100)]
    pub num: usize,

    /// Keep printing new lines until interrupted or the run ends (also -f, as tail -f)
    #[arg(short = 't', long = "tail", visible_alias = "follow")]
    pub follow: bool,

    /// Only the lines of a type (web) or of an instance (web.1)
    #[arg(
        short = 'p',
        long = "ps",
        visible_alias = "dyno",
        value_name = "TYPE|INSTANCE"
    )]
    pub ps: Option<String>,

    /// Only the app's lines, the router's, or dozen's own
    #[arg(short = 's', long, value_enum)]
    pub source: Option<crate::logs::Source>,

    /// One JSON object per line (`ts`, `process`, `stream`, `line`), as --log-format json
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct DrainsArgs {
    #[command(subcommand)]
    pub action: Option<DrainsAction>,

    /// Print the drains as JSON
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum DrainsAction {
    /// The drains: stored ones and dozen.toml's, redacted, with their ids (the default)
    List,
    /// Add a drain (`-` reads the URL from stdin, out of the shell's history)
    Add {
        /// syslog+tls://HOST:PORT, syslog+tcp://…, syslog+udp://…, https://…, http://…
        url: String,
    },
    /// Remove a stored drain by its id (or a prefix of it) or its URL
    Remove {
        /// The id `dozen drains` shows, or the URL
        drain: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct PsArgs {
    /// Print the formation and instances as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct TopArgs {
    /// Print one screen and exit (after one interval, so that rates are measured)
    #[arg(long)]
    pub once: bool,
    /// Print JSON: once with --once, else an object every interval
    #[arg(long)]
    pub json: bool,
    /// Seconds between two frames (0.1 to 60)
    #[arg(long, value_name = "SECONDS", default_value = "1", value_parser = top_interval)]
    pub interval: std::time::Duration,
}

fn top_interval(text: &str) -> Result<std::time::Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(0.1..=60.0).contains(&seconds) {
        return Err(format!("{text}s is outside 0.1 to 60 seconds"));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}
