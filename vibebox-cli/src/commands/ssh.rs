//! `vibebox ssh ENV [-i KEY] [-o OPTION]… [-- COMMAND…]`: OpenSSH's own `ssh` into an
//! environment through the server's SSH gateway.
//!
//! The gateway's host keys are pinned first (see [`gateway`]), then `vibebox` replaces itself
//! with `ssh` (exec), so the terminal, signals and exit code are OpenSSH's: a login shell
//! with a pty, or the command's code; 255 when ssh or VibeBox itself failed, as with
//! `vibebox exec`. Nothing is sent to the gateway before the user's own key signs in.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use vibebox_client::{PageRequest, collect_all};

use crate::cli::SshArgs;
use crate::context::Context;
use crate::error::{CliError, Kind};
use crate::gateway::{self, Gateway};
use crate::resolve;

/// The exit code of every failure before `ssh` runs (and ssh's own for its failures).
const NO_CODE: u8 = 255;

/// Checks, pins and execs `ssh`; returns only when that failed (exit 255).
pub async fn run(ctx: &Context, args: SshArgs) -> Result<u8, CliError> {
    let (program, argv) = prepare(ctx, &args)
        .await
        .map_err(|e| e.with_exit_code(NO_CODE))?;
    tracing::debug!(program = %program.display(), ?argv, "running ssh");
    let e = std::process::Command::new(&program).args(&argv).exec();
    let error = if e.kind() == std::io::ErrorKind::NotFound {
        not_installed()
    } else {
        CliError::failed(format!("cannot run {}: {e}", program.display()))
    };
    Err(error.with_exit_code(NO_CODE))
}

/// The `ssh` program and its arguments, once the gateway's keys are pinned and the user has a
/// key to sign in with.
async fn prepare(ctx: &Context, args: &SshArgs) -> Result<(PathBuf, Vec<OsString>), CliError> {
    let program = find_ssh()?;
    let gateway = gateway::pin(ctx).await?;
    let keys = ctx.client.ssh_keys(PageRequest::first(1)).await?;
    if keys.items.is_empty() {
        return Err(no_key(&ctx.server));
    }
    let env = resolve::environment(&ctx.client, &args.env).await?;
    let projects = collect_all(|page| ctx.client.list_projects(page)).await?;
    let user = gateway::username(&projects, &env);
    Ok((program, ssh_args(&gateway, &user, args)?))
}

/// `-o` options of the user's first (OpenSSH keeps the first value it is given, so they win),
/// then the key, the pinning, the port, the user, and the host after `--` (so no host can
/// pass for an option), then the remote command.
fn ssh_args(gateway: &Gateway, user: &str, args: &SshArgs) -> Result<Vec<OsString>, CliError> {
    let mut argv: Vec<OsString> = Vec::new();
    for option in &args.options {
        argv.push("-o".into());
        argv.push(option.into());
    }
    if let Some(identity) = &args.identity {
        argv.push("-i".into());
        argv.push(identity.into());
        argv.push("-o".into());
        argv.push("IdentitiesOnly=yes".into());
    }
    for option in [
        format!("HostKeyAlias={}", gateway.alias),
        format!(
            "UserKnownHostsFile={}",
            gateway::config_value(&gateway.known_hosts.display().to_string())?
        ),
        "StrictHostKeyChecking=yes".to_owned(),
    ] {
        argv.push("-o".into());
        argv.push(option.into());
    }
    argv.push("-p".into());
    argv.push(gateway.port.to_string().into());
    argv.push("-l".into());
    argv.push(user.into());
    argv.push("--".into());
    argv.push(gateway.host.clone().into());
    if !args.command.is_empty() {
        argv.push(remote_command(&args.command).into());
    }
    Ok(argv)
}

/// What the remote shell runs: one word is a command line of its own (`-- 'make && ./run'`,
/// as `ssh` takes it); several are quoted so that each arrives as it is (`-- sh -c 'exit 3'`,
/// as `vibebox exec` runs it).
fn remote_command(words: &[String]) -> String {
    match words {
        [line] => line.clone(),
        words => words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" "),
    }
}

/// A word for a POSIX shell: as it is when it is plain, else single-quoted.
fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '_' | '-' | '.' | '/' | ':' | ',' | '+' | '@' | '%')
        });
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The first executable `ssh` on `PATH`.
fn find_ssh() -> Result<PathBuf, CliError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("ssh"))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(not_installed)
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn not_installed() -> CliError {
    CliError::new(
        Kind::NotFound,
        "`ssh` is not installed (no ssh on PATH): `vibebox ssh` runs OpenSSH's client",
        "install it (apt-get install openssh-client, dnf install openssh-clients, \
         brew install openssh), or use `vibebox shell` / `vibebox exec`, which need no ssh",
    )
}

fn no_key(server: &str) -> CliError {
    CliError::new(
        Kind::NotFound,
        format!("you have no SSH key registered on {server}, so the gateway cannot sign you in"),
        "register your public key: `vibebox ssh-key add ~/.ssh/id_ed25519.pub` \
         (no key yet? `ssh-keygen -t ed25519` makes one)",
    )
}

#[cfg(test)]
mod tests {
    use vibebox_client::SshGateway;

    use super::*;

    fn gateway() -> Gateway {
        Gateway {
            host: "ssh.example.com".into(),
            port: 2222,
            alias: "vibebox-box.example.com-2222".into(),
            known_hosts: PathBuf::from("/home/a b/.config/vibebox/known_hosts"),
            reported: SshGateway {
                host: Some("ssh.example.com".into()),
                port: 2222,
                host_keys: Vec::new(),
            },
        }
    }

    fn args(command: &[&str]) -> SshArgs {
        SshArgs {
            env: "web/dev".into(),
            identity: Some(PathBuf::from("/k/id")),
            options: vec!["ConnectTimeout=5".into()],
            command: command.iter().map(|w| (*w).to_owned()).collect(),
        }
    }

    fn strings(argv: &[OsString]) -> Vec<String> {
        argv.iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn ssh_gets_user_options_first_then_the_pinned_key_and_the_host_after_double_dash()
    -> Result<(), CliError> {
        let argv = strings(&ssh_args(&gateway(), "web.dev", &args(&[]))?);
        assert_eq!(
            argv,
            [
                "-o",
                "ConnectTimeout=5",
                "-i",
                "/k/id",
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "HostKeyAlias=vibebox-box.example.com-2222",
                "-o",
                "UserKnownHostsFile=\"/home/a b/.config/vibebox/known_hosts\"",
                "-o",
                "StrictHostKeyChecking=yes",
                "-p",
                "2222",
                "-l",
                "web.dev",
                "--",
                "ssh.example.com",
            ]
        );
        Ok(())
    }

    #[test]
    fn several_words_reach_the_remote_as_they_are_and_one_is_a_command_line() -> Result<(), CliError>
    {
        let argv = strings(&ssh_args(&gateway(), "u", &args(&["sh", "-c", "exit 3"]))?);
        assert_eq!(argv.last().map(String::as_str), Some("sh -c 'exit 3'"));
        assert_eq!(
            remote_command(&["echo".into(), "it's".into(), "".into(), "A=1".into()]),
            r"echo 'it'\''s' '' 'A=1'"
        );
        assert_eq!(remote_command(&["ls | head".into()]), "ls | head");
        Ok(())
    }
}
