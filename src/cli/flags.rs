//! `dozen flags`: the app's feature flags (docs/flags.md).

use clap::Subcommand;

#[derive(Debug, clap::Args)]
pub struct FlagsArgs {
    #[command(subcommand)]
    pub action: Option<FlagsAction>,

    /// Print JSON
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum FlagsAction {
    /// Every flag: its state, type and what it serves (the default)
    List,
    /// One flag's definition; with --targeting-key or --context, what it gives that context
    Get {
        /// The flag's key
        key: String,
        /// Evaluate the flag for this targeting key
        #[arg(long, value_name = "KEY")]
        targeting_key: Option<String>,
        /// Evaluate the flag for this evaluation context (a JSON object)
        #[arg(long, value_name = "JSON")]
        context: Option<String>,
    },
    /// Serve VARIANT to everyone: it becomes the default, any targeting goes, the flag is enabled
    Set {
        /// The flag's key
        key: String,
        /// One of its variants
        variant: String,
    },
    /// Serve VARIANT to PERCENT of targeting keys (the same ones every time), the default to the rest
    Rollout {
        /// The flag's key
        key: String,
        /// 0% to 100%, such as 10% or 12.5%
        #[arg(allow_hyphen_values = true)]
        percent: String,
        /// The variant rolled out [default: a boolean flag's `true` variant, else its only
        /// variant besides its default]
        variant: Option<String>,
        /// Replace a targeting rule of the flag's own (the history keeps it)
        #[arg(long)]
        replace: bool,
    },
    /// Serve the flag again (its default and targeting as they are)
    Enable {
        /// The flag's key
        key: String,
    },
    /// Turn the flag off: every caller gets its own default value
    Disable {
        /// The flag's key
        key: String,
    },
}
