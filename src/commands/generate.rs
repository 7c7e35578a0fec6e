//! `dozen __generate --out DIR`: shell completions and man pages from the CLI definition.
//! The results are committed under `completions/` and `man/`; a test fails when they are stale.

use std::path::Path;

use clap::CommandFactory as _;
use clap_complete::Shell;

use crate::cli::{Args, GenerateArgs};
use crate::error::Error;
use crate::exit_code;

pub(super) fn run(args: &GenerateArgs) -> Result<i32, Error> {
    let mut command = Args::command();
    command.build();
    let completions = args.out.join("completions");
    let man = args.out.join("man");
    for dir in [&completions, &man] {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    }
    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::PowerShell,
        Shell::Elvish,
    ] {
        let mut buffer = Vec::new();
        clap_complete::generate(shell, &mut command.clone(), "dozen", &mut buffer);
        write(
            &completions.join(clap_complete::Generator::file_name(&shell, "dozen")),
            &buffer,
        )?;
    }
    write_man_pages(&command, "dozen", &man)?;
    Ok(exit_code::SUCCESS)
}

/// One page per visible command: `dozen.1`, `dozen-config.1`, `dozen-config-set.1`, ...
fn write_man_pages(command: &clap::Command, name: &str, dir: &Path) -> Result<(), Error> {
    let page = command
        .clone()
        .name(name.to_owned())
        .bin_name(name.replace('-', " "));
    let mut buffer = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut buffer)
        .map_err(|e| Error::io("cannot render man page", e))?;
    write(&dir.join(format!("{name}.1")), &buffer)?;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_man_pages(sub, &format!("{name}-{}", sub.get_name()), dir)?;
    }
    Ok(())
}

fn write(path: &Path, contents: &[u8]) -> Result<(), Error> {
    std::fs::write(path, contents)
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}
