//! `vibebox ssh-key list|add|rm`: the SSH public keys the gateway signs you in with.
//!
//! `add` reads a `.pub` file (or stdin with `-`) and refuses a private key before anything is
//! sent; the key's name defaults to its comment, else the file's name.

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::str::FromStr;

use vibebox_client::{NewSshKey, SshKey, collect_all};
use vibebox_core::id::SshKeyId;

use crate::cli::SshKeyCommand;
use crate::context::Context;
use crate::error::{CliError, Kind};
use crate::output::when;

/// More than any public key line (an RSA-16384 key is about 2.8 KB).
const MAX_KEY_FILE: u64 = 16 * 1024;

/// The longest name the server takes.
const MAX_NAME: usize = 100;

/// Runs an ssh-key command.
pub async fn run(ctx: &Context, command: SshKeyCommand) -> Result<u8, CliError> {
    let client = &ctx.client;
    match command {
        SshKeyCommand::List => {
            let keys = collect_all(|page| client.ssh_keys(page)).await?;
            ctx.out.print(&keys, |out| {
                let rows = keys
                    .iter()
                    .map(|k| {
                        vec![
                            k.name.clone(),
                            k.fingerprint.clone(),
                            k.algorithm.clone(),
                            when(Some(k.created_at)),
                            when(k.last_used_at),
                            k.id.to_string(),
                        ]
                    })
                    .collect::<Vec<_>>();
                out.table(
                    &["name", "fingerprint", "type", "added", "last used", "id"],
                    &rows,
                )
            })?;
        }
        SshKeyCommand::Add { path, name } => {
            let (line, file_name) = read_public_key(&path)?;
            let name = match name {
                Some(name) => name,
                None => default_name(&line, file_name.as_deref()).ok_or_else(|| {
                    CliError::usage(
                        "the key has no comment to name it by",
                        "give it a name: --name laptop",
                    )
                })?,
            };
            let key = client
                .add_ssh_key(&NewSshKey {
                    name,
                    public_key: line,
                })
                .await?;
            if !ctx.out.json {
                eprintln!("Added SSH key {} ({}).", key.name, key.fingerprint);
            }
            show(ctx, &key)?;
        }
        SshKeyCommand::Rm { key } => {
            let id = match SshKeyId::from_str(&key) {
                Ok(id) => id,
                Err(_) => find(&collect_all(|page| client.ssh_keys(page)).await?, &key)?,
            };
            client.remove_ssh_key(id).await?;
            eprintln!("Removed SSH key {key}.");
        }
    }
    Ok(0)
}

fn show(ctx: &Context, key: &SshKey) -> Result<(), CliError> {
    ctx.out.print(key, |out| {
        out.fields(&[
            ("name", key.name.clone()),
            ("fingerprint", key.fingerprint.clone()),
            ("type", key.algorithm.clone()),
            ("id", key.id.to_string()),
        ])
    })
}

/// The key `reference` names: its fingerprint (with or without `SHA256:`), else its name.
fn find(keys: &[SshKey], reference: &str) -> Result<SshKeyId, CliError> {
    let fingerprint = format!("SHA256:{}", reference.trim_start_matches("SHA256:"));
    let mut found: Vec<&SshKey> = keys
        .iter()
        .filter(|k| k.fingerprint == fingerprint)
        .collect();
    if found.is_empty() {
        found = keys.iter().filter(|k| k.name == reference).collect();
    }
    match found.as_slice() {
        [key] => Ok(key.id),
        [] => Err(CliError::new(
            Kind::NotFound,
            format!("no SSH key `{reference}`"),
            "`vibebox ssh-key list` shows yours",
        )),
        several => Err(CliError::usage(
            format!(
                "`{reference}` names {} keys: {}",
                several.len(),
                several
                    .iter()
                    .map(|k| k.fingerprint.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "give the fingerprint",
        )),
    }
}

/// The one public key line of a file (or of stdin for `-`), and the file's name.
fn read_public_key(path: &str) -> Result<(String, Option<String>), CliError> {
    let mut text = String::new();
    let file_name = if path == "-" {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            eprintln!("Paste the public key line, then press Enter and Ctrl-D:");
        }
        stdin.lock().take(MAX_KEY_FILE).read_to_string(&mut text)?;
        None
    } else {
        let file = Path::new(path);
        let opened = std::fs::File::open(file).map_err(|e| {
            let hint = if e.kind() == std::io::ErrorKind::NotFound {
                "a public key is a .pub file, e.g. ~/.ssh/id_ed25519.pub; `ssh-keygen -t ed25519` makes one"
            } else {
                ""
            };
            CliError::new(Kind::Usage, format!("{path}: {e}"), hint)
        })?;
        opened
            .take(MAX_KEY_FILE)
            .read_to_string(&mut text)
            .map_err(|e| CliError::usage(format!("{path}: {e}"), "give a .pub file"))?;
        file.file_name()
            .map(|n| n.to_string_lossy().trim_end_matches(".pub").to_owned())
    };
    parse_public_key(path, &text).map(|line| (line, file_name))
}

/// The one key line of `text`; a private key is refused (and never sent).
fn parse_public_key(path: &str, text: &str) -> Result<String, CliError> {
    let shown = if path == "-" { "stdin" } else { path };
    if text.contains("PRIVATE KEY") {
        return Err(CliError::usage(
            format!("{shown} holds a private key; only its public half may leave this machine"),
            format!(
                "give the .pub file{}",
                if path == "-" {
                    String::new()
                } else {
                    format!(": {path}.pub")
                }
            ),
        ));
    }
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    match lines.as_slice() {
        [line] => Ok((*line).to_owned()),
        [] => Err(CliError::usage(
            format!("{shown} holds no public key"),
            "give a .pub file, e.g. ~/.ssh/id_ed25519.pub",
        )),
        several => Err(CliError::usage(
            format!(
                "{shown} holds {} lines; add one key at a time",
                several.len()
            ),
            "",
        )),
    }
}

/// The key's comment, else the file's name; at most [`MAX_NAME`] characters.
fn default_name(line: &str, file_name: Option<&str>) -> Option<String> {
    let comment = line
        .split_whitespace()
        .skip(2)
        .collect::<Vec<_>>()
        .join(" ");
    let name = if comment.is_empty() {
        file_name.filter(|n| !n.is_empty())?.to_owned()
    } else {
        comment
    };
    Some(name.chars().take(MAX_NAME).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPTtA0C0H5qjMD7Vwo/BqPlwn0WzKHBO6P7YepGDR7TC";

    #[test]
    fn the_name_is_the_comment_else_the_file_name() {
        assert_eq!(
            default_name(&format!("{LINE} me@laptop"), Some("id_ed25519")).as_deref(),
            Some("me@laptop")
        );
        assert_eq!(
            default_name(LINE, Some("id_ed25519")).as_deref(),
            Some("id_ed25519")
        );
        assert_eq!(default_name(LINE, None), None);
    }

    #[test]
    fn a_private_key_is_refused_before_anything_is_sent() -> Result<(), String> {
        let private = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n-----END OPENSSH PRIVATE KEY-----\n";
        let Err(e) = parse_public_key("/k/id_ed25519", private) else {
            return Err("a private key was taken".into());
        };
        assert!(e.to_string().contains("private key"), "{e}");
        assert!(e.hint().contains("/k/id_ed25519.pub"), "{}", e.hint());
        Ok(())
    }

    #[test]
    fn one_key_line_is_taken_and_several_are_refused() -> Result<(), CliError> {
        assert_eq!(
            parse_public_key("-", &format!("\n{LINE} c\n"))?,
            format!("{LINE} c")
        );
        assert!(parse_public_key("-", &format!("{LINE}\n{LINE}\n")).is_err());
        assert!(parse_public_key("-", "\n").is_err());
        Ok(())
    }
}
