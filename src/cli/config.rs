use clap::{Args, Subcommand};

#[derive(Debug, Args)]
#[command(
    after_help = "Without a subcommand, lists the keys the environment's env files define, after interpolation, values redacted as •••• and a short digest.\n\nExamples:\n  dozen config                         keys of development, redacted\n  dozen config --env production --reveal\n  dozen config --json --reveal         exactly what the parser made of the files\n  dozen config get DATABASE_URL\n  dozen config set PORT=5000 DEBUG=1   edit .env in place, keeping comments\n  dozen --env production config unset DEBUG\n  dozen config diff development production"
)]
pub struct ConfigArgs {
    /// Print as JSON
    #[arg(long, global = true)]
    pub json: bool,

    /// Show values instead of redacting them
    #[arg(long, global = true)]
    pub reveal: bool,

    #[command(subcommand)]
    pub action: Option<ConfigAction>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print one key's value
    Get {
        /// The key to print
        key: String,
    },
    /// Set keys in the environment's own env file, keeping its comments and order
    #[command(
        after_help = "Edits .env.NAME with --env NAME, .env without it, or the last file dozen.toml lists for the environment. A missing file is created with mode 0600. Values are written literally (no interpolation)."
    )]
    Set {
        /// Assignments to make
        #[arg(required = true, value_name = "KEY=VALUE")]
        assignments: Vec<String>,
    },
    /// Remove keys from the environment's own env file
    Unset {
        /// Keys to remove
        #[arg(required = true, value_name = "KEY")]
        keys: Vec<String>,
    },
    /// Compare two environments: keys only in one, keys whose values differ (by digest)
    Diff {
        /// The first environment
        first: String,
        /// The second environment
        second: String,
        /// Exit with 1 when the environments differ
        #[arg(long)]
        exit_code: bool,
    },
}
