//! `vibebox completion bash|zsh|fish`.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionArgs};
use crate::error::CliError;

/// Prints the completion script for the shell.
pub fn run(args: &CompletionArgs) -> Result<u8, CliError> {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "vibebox", &mut std::io::stdout());
    Ok(0)
}
