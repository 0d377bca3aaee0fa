//! One module per command; [`run`] dispatches and returns the exit code.

mod audit;
mod auth;
mod completion;
mod cp;
mod envs;
mod exec;
mod extensions;
mod forward;
mod keys;
mod lifecycle;
mod logs;
mod open;
mod ports;
mod projects;
mod sessions;
mod shell;
mod ssh;
mod ssh_config;
mod ssh_keys;
mod teams;
mod vars;

use vibebox_client::{PageRequest, collect_all};

use crate::cli::{Cli, Command, ListArgs};
use crate::context::Context;
use crate::error::CliError;

/// Runs the command; `Ok` carries the exit code (0, or the remote code of `exec`).
pub async fn run(cli: Cli) -> Result<u8, CliError> {
    let url = cli.url.as_deref();
    let json = cli.json;
    match cli.command {
        Command::Login(args) => auth::login(url, args).await,
        Command::Completion(args) => completion::run(&args),
        Command::Logout => auth::logout(url).await,
        command => {
            let ctx = Context::signed_in(url, json)?;
            signed_in(&ctx, command).await
        }
    }
}

async fn signed_in(ctx: &Context, command: Command) -> Result<u8, CliError> {
    match command {
        Command::Whoami => auth::whoami(ctx).await,
        Command::Team(c) => teams::run(ctx, c).await,
        Command::Project(c) => projects::run(ctx, c).await,
        Command::Env(c) => envs::run(ctx, c).await,
        Command::Logs(args) => logs::run(ctx, args).await,
        Command::Shell(args) => shell::run(ctx, args).await,
        Command::Exec(args) => exec::run(ctx, args).await,
        Command::Ssh(args) => ssh::run(ctx, args).await,
        Command::SshConfig(args) => ssh_config::run(ctx, args).await,
        Command::SshKey(c) => ssh_keys::run(ctx, c).await,
        Command::Cp(args) => cp::run(ctx, args).await,
        Command::PortForward(args) => forward::run(ctx, args).await,
        Command::Open(args) => open::run(ctx, args).await,
        Command::Vars(c) => vars::run(ctx, c).await,
        Command::Ports(c) => ports::run(ctx, c).await,
        Command::Sessions(c) => sessions::run(ctx, c).await,
        Command::Extensions(c) => extensions::run(ctx, c).await,
        Command::Keys(c) => keys::run(ctx, c).await,
        Command::Audit(args) => audit::run(ctx, args).await,
        Command::Login(_) | Command::Logout | Command::Completion(_) => Ok(0),
    }
}

/// Every item of a list, or the first `--limit` of them.
pub async fn list_all<T, F, Fut>(list: ListArgs, mut fetch: F) -> Result<Vec<T>, CliError>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = vibebox_client::Result<vibebox_core::store::Page<T>>>,
{
    match list.limit {
        Some(limit) => Ok(fetch(PageRequest::first(limit.clamp(1, 500))).await?.items),
        None => Ok(collect_all(fetch).await?),
    }
}
