//! dozen: the twelve-factor lifecycle of an app on one machine.
//!
//! `main.rs` only calls [`run`]; everything else lives here so tests and fuzz targets can
//! reach it. Layout: `cli` (argument definitions) → `commands` (what each command does) →
//! `app` (the app model: Procfile, `.env` files, manifest), with `diagnostic` and `ui` for
//! presenting results.

pub mod app;
pub mod audit;
pub mod build;
pub mod cidr;
pub mod cli;
mod commands;
pub mod control;
pub mod diagnostic;
pub mod error;
pub mod exit_code;
pub mod export;
pub mod flags;
mod fsutil;
pub mod git;
pub mod http;
pub mod image;
pub mod logs;
pub mod ofrep;
pub mod procfs;
pub mod router;
pub mod secret;
pub mod source;
pub mod store;
pub mod supervisor;
#[cfg(test)]
mod testing;
pub mod top;
pub mod ui;

use std::ffi::OsString;

use clap::Parser as _;

/// Runs dozen with these arguments (the first is the program name) and returns the exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> i32 {
    let args: Vec<OsString> = args.into_iter().collect();
    // `dozen --version` is what scripts and shells call to probe for dozen: answer it without
    // building the whole command tree (clap's answer is the same text).
    if let [_, flag] = args.as_slice()
        && (flag == "--version" || flag == "-V")
    {
        let mut out = std::io::stdout().lock();
        let _ = std::io::Write::write_all(
            &mut out,
            concat!("dozen ", env!("CARGO_PKG_VERSION"), "\n").as_bytes(),
        );
        return exit_code::SUCCESS;
    }
    // The nursery is started once per run, build step and release phase, and stays for their
    // whole life: it starts without the command tree (less of dozen in its memory).
    if let [_, command] = args.as_slice()
        && command == "__nursery"
    {
        return supervisor::nursery::serve();
    }
    let args = match cli::Args::try_parse_from(cli::follow_flag(args)) {
        Ok(args) => args,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                exit_code::USAGE
            } else {
                exit_code::SUCCESS
            };
        }
    };
    commands::run(args)
}
