//! The server's SSH gateway as OpenSSH reaches it: its host and port, and its host keys pinned
//! in a `known_hosts` file of the CLI's own (`known_hosts` in the config directory) under a
//! `HostKeyAlias` named after the server. `ssh` then checks the key the API vouched for
//! (`StrictHostKeyChecking yes`) and never asks the user to trust one.
//!
//! The file is rewritten from `GET /ssh` every time: lines of other servers are kept, this
//! server's are replaced, and only `<type> <base64>` of each key is written, so nothing the
//! server sends can add a line of another kind (`@cert-authority`, another host).

use std::fs;
use std::path::{Path, PathBuf};

use vibebox_client::{ErrorKind, SshGateway};
use vibebox_core::domain::{Environment, Project};

use crate::config;
use crate::context::Context;
use crate::error::{CliError, Kind};

/// The file's name inside the config directory.
pub const KNOWN_HOSTS: &str = "known_hosts";

/// The gateway, its keys written to [`Gateway::known_hosts`].
#[derive(Debug)]
pub struct Gateway {
    /// The host to connect to: the one the server names, else the API URL's.
    pub host: String,
    /// The port to connect to.
    pub port: u16,
    /// The name its keys are filed under (`HostKeyAlias`), e.g. `vibebox-example.com-2222`.
    pub alias: String,
    /// The absolute path of the `known_hosts` file.
    pub known_hosts: PathBuf,
    /// What the server answered.
    pub reported: SshGateway,
}

/// Asks the server where its gateway is and pins its host keys. Errors: `NotFound` (with what
/// to do) when the server runs no gateway; `Failed` when it reports no usable host key or a
/// host OpenSSH cannot be given safely.
pub async fn pin(ctx: &Context) -> Result<Gateway, CliError> {
    let reported = ctx.client.ssh_gateway().await.map_err(|e| {
        if e.kind() == ErrorKind::NotFound {
            CliError::new(
                Kind::NotFound,
                format!("{} runs no SSH gateway", ctx.server),
                "ask the server's admin to turn it on (the example server: --ssh-listen ADDR)",
            )
        } else {
            CliError::from(e)
        }
    })?;
    let api_host = url_host(&ctx.server).ok_or_else(|| {
        CliError::usage(
            format!("{}: no host in the server's URL", ctx.server),
            "give a URL like http://127.0.0.1:8080",
        )
    })?;
    let host = reported.host.clone().unwrap_or_else(|| api_host.clone());
    check_host(&host)?;
    let keys = reported
        .host_keys
        .iter()
        .filter_map(|k| known_hosts_key(&k.public_key))
        .collect::<Vec<_>>();
    if keys.is_empty() {
        return Err(CliError::failed(format!(
            "the SSH gateway of {} reports no usable host key",
            ctx.server
        )));
    }
    let alias = alias(&api_host, reported.port);
    let path = config::dir()?.join(KNOWN_HOSTS);
    let known_hosts = std::path::absolute(&path).map_err(|e| CliError::io(&path, e))?;
    write_known_hosts(&known_hosts, &alias, &keys)?;
    Ok(Gateway {
        host,
        port: reported.port,
        alias,
        known_hosts,
        reported,
    })
}

/// The SSH username of `env`: `<project>.<env>`, or the environment's id when its project's
/// slug is one that several of `projects` share (the gateway refuses such a name as
/// ambiguous), or when its project is not among them.
pub fn username(projects: &[Project], env: &Environment) -> String {
    let Some(project) = projects.iter().find(|p| p.id == env.project_id) else {
        return env.id.to_string();
    };
    if projects.iter().filter(|p| p.slug == project.slug).count() > 1 {
        return env.id.to_string();
    }
    format!("{}.{}", project.slug, env.slug)
}

/// The host of an `http[s]://host[:port][/…]` URL, without the brackets of an IPv6 address.
pub fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split_once(']')?.0,
        None => authority.split(':').next()?,
    };
    (!host.is_empty()).then(|| host.to_owned())
}

/// `vibebox-<host>-<port>`, lowercase, with anything but letters, digits, dots and dashes
/// turned into dashes (no pattern characters, no spaces).
pub fn alias(api_host: &str, port: u16) -> String {
    format!("vibebox-{api_host}-{port}")
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '.' | '-' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '-',
        })
        .collect()
}

/// A value for an OpenSSH option (`-o KEY=VALUE`, or a line of a config file): double-quoted
/// when it has spaces. Errors: a value with a double quote or a control character, which
/// OpenSSH cannot be given.
pub fn config_value(value: &str) -> Result<String, CliError> {
    if value.contains('"') || value.chars().any(char::is_control) {
        return Err(CliError::failed(format!(
            "{value:?} cannot be written in an OpenSSH option (a quote or control character)"
        )));
    }
    if value.chars().any(char::is_whitespace) {
        Ok(format!("\"{value}\""))
    } else {
        Ok(value.to_owned())
    }
}

/// Refuses a host that OpenSSH could take for something else: empty, an option (`-…`), or
/// with characters no host name or address has.
fn check_host(host: &str) -> Result<(), CliError> {
    let fine = !host.is_empty()
        && !host.starts_with('-')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_' | '%'));
    if fine {
        Ok(())
    } else {
        Err(CliError::failed(format!(
            "the server names its SSH gateway's host {host:?}, which is not a host name"
        )))
    }
}

/// `<type> <base64>` of an OpenSSH public key line, or `None` when it is not one.
fn known_hosts_key(line: &str) -> Option<String> {
    let mut words = line.split_whitespace();
    let (kind, blob) = (words.next()?, words.next()?);
    let kind_ok = kind.starts_with(|c: char| c.is_ascii_alphabetic())
        && kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '@' | '.'));
    let blob_ok = blob
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='));
    (kind_ok && blob_ok).then(|| format!("{kind} {blob}"))
}

/// The file's text with `alias`'s lines replaced by one line per key.
fn known_hosts_text(old: &str, alias: &str, keys: &[String]) -> String {
    let mut text = String::new();
    for line in old.lines() {
        if line.split_whitespace().next() != Some(alias) && !line.trim().is_empty() {
            text.push_str(line);
            text.push('\n');
        }
    }
    for key in keys {
        text.push_str(&format!("{alias} {key}\n"));
    }
    text
}

/// Writes `alias`'s keys into the file at `path` (mode 0644, its directory made 0700),
/// atomically; an unchanged file is left alone.
fn write_known_hosts(path: &Path, alias: &str, keys: &[String]) -> Result<(), CliError> {
    let old = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(CliError::io(path, e)),
    };
    let text = known_hosts_text(&old, alias, keys);
    if text == old {
        return Ok(());
    }
    config::write_atomically(path, &text, 0o644)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_host_drops_scheme_port_path_and_ipv6_brackets() {
        assert_eq!(
            url_host("https://vibebox.example.com:8443/base").as_deref(),
            Some("vibebox.example.com")
        );
        assert_eq!(
            url_host("http://127.0.0.1:3000").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(url_host("http://[::1]:3000/").as_deref(), Some("::1"));
        assert_eq!(url_host("no-scheme"), None);
    }

    #[test]
    fn alias_has_no_pattern_characters_or_uppercase() {
        assert_eq!(
            alias("Box.Example.com", 2222),
            "vibebox-box.example.com-2222"
        );
        assert_eq!(alias("::1", 22), "vibebox---1-22");
        assert_eq!(alias("a*b?c,d e", 1), "vibebox-a-b-c-d-e-1");
    }

    #[test]
    fn known_hosts_keeps_other_servers_and_replaces_this_ones() {
        let old = "vibebox-a-1 ssh-ed25519 OLD\nvibebox-b-2 ssh-ed25519 OTHER\n";
        let text = known_hosts_text(old, "vibebox-a-1", &["ssh-ed25519 NEW".into()]);
        assert_eq!(
            text,
            "vibebox-b-2 ssh-ed25519 OTHER\nvibebox-a-1 ssh-ed25519 NEW\n"
        );
    }

    #[test]
    fn a_host_key_line_keeps_type_and_key_only() {
        assert_eq!(
            known_hosts_key("ssh-ed25519 AAAAC3Nz+/= comment here").as_deref(),
            Some("ssh-ed25519 AAAAC3Nz+/=")
        );
        assert_eq!(known_hosts_key("ssh-ed25519"), None);
        assert_eq!(known_hosts_key("@cert-authority * ssh-ed25519 AAAA"), None);
        assert_eq!(
            known_hosts_key("ssh-ed25519 AAAA\nevil ssh-rsa BBBB").as_deref(),
            Some("ssh-ed25519 AAAA")
        );
    }

    #[test]
    fn hosts_that_ssh_could_take_for_options_are_refused() {
        assert!(check_host("ssh.example.com").is_ok());
        assert!(check_host("::1").is_ok());
        assert!(check_host("-oProxyCommand=x").is_err());
        assert!(check_host("a b").is_err());
        assert!(check_host("").is_err());
    }
}
