//! dozen's integration tests: the binary as users run it. One test binary, one module per
//! area, sharing the `Test` builder in `harness`.

mod harness;

mod audit;
mod build;
mod check;
mod cli;
mod compose;
mod config;
mod dotenv;
mod exec;
mod export;
mod export_flags;
mod flags;
mod generate;
mod image;
mod init;
mod limits;
mod logs;
mod manifest;
mod oneoff;
mod oracle;
mod probe;
mod procfile;
mod recipes;
mod release;
mod router;
mod run;
mod sample;
mod scale;
mod schedule;
mod secrets;
mod store;
mod watch;
