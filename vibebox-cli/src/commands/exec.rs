//! `vibebox exec ENV -- CMD ARGS…`: stdout and stderr go to the matching local streams, local
//! stdin is piped in when it is not a terminal, and the process exits with the remote code
//! (255 when VibeBox itself failed, as `ssh` does).

use std::collections::BTreeMap;
use std::io::IsTerminal;

use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vibebox_client::{ExecEvent, ExecStart};

use crate::cli::ExecArgs;
use crate::context::Context;
use crate::error::{CliError, Kind};
use crate::{parse, resolve};

/// The exit code when the command's own code is unknown (VibeBox failed, or the engine did
/// not say).
const NO_CODE: u8 = 255;

/// Runs the command; `Ok` holds the remote exit code, and every failure of VibeBox's own
/// exits 255.
pub async fn run(ctx: &Context, args: ExecArgs) -> Result<u8, CliError> {
    exec(ctx, args).await.map_err(|e| e.with_exit_code(NO_CODE))
}

async fn exec(ctx: &Context, args: ExecArgs) -> Result<u8, CliError> {
    let mut start = ExecStart::new(args.command.clone());
    start.workdir = args.workdir.clone();
    start.timeout = args
        .timeout
        .as_deref()
        .map(|t| parse::duration("--timeout", t))
        .transpose()?;
    let mut env = BTreeMap::new();
    for pair in &args.vars {
        let (key, value) = parse::pair("--env", pair)?;
        env.insert(key.to_owned(), value.to_owned());
    }
    start.env = env;
    let id = resolve::environment_id(&ctx.client, &args.env).await?;
    let socket = ctx.client.exec_socket(id, &start).await?;
    let (mut writer, mut reader) = socket.split();

    // Stdin: piped when it is a file or a pipe, closed at once when it is a terminal (the
    // command gets end-of-file rather than waiting for keys nobody will send).
    let pipe_stdin = !std::io::stdin().is_terminal();
    let stdin_task = tokio::spawn(async move {
        if pipe_stdin {
            let mut stdin = tokio::io::stdin();
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match stdin.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if writer.write_stdin(buf[..n].to_vec()).await.is_err() {
                            return writer;
                        }
                    }
                }
            }
        }
        let _ = writer.close_stdin().await;
        writer
    });

    let mut stdout = tokio::io::stdout();
    let mut stderr = tokio::io::stderr();
    let mut outcome: Result<u8, CliError> = Err(CliError::new(
        Kind::Failed,
        "the connection ended before the command did",
        "",
    ));
    while let Some(event) = reader.next().await {
        match event {
            Ok(ExecEvent::Stdout(data)) => {
                stdout.write_all(&data).await?;
                stdout.flush().await?;
            }
            Ok(ExecEvent::Stderr(data)) => {
                stderr.write_all(&data).await?;
                stderr.flush().await?;
            }
            Ok(ExecEvent::Exit {
                exit_code,
                timed_out,
            }) => {
                if timed_out {
                    eprintln!("vibebox: the command ran out of time and was killed");
                }
                outcome = Ok(exit_code
                    .and_then(|c| u8::try_from(c).ok())
                    .unwrap_or(NO_CODE));
                break;
            }
            Ok(ExecEvent::Error {
                message,
                field,
                code,
            }) => {
                let kind = match code.as_str() {
                    "invalid_input" => Kind::Usage,
                    "conflict" => Kind::Conflict,
                    "not_found" => Kind::NotFound,
                    "permission_denied" => Kind::Forbidden,
                    _ => Kind::Failed,
                };
                let message = match field {
                    Some(field) => format!("{field}: {message}"),
                    None => message,
                };
                outcome = Err(CliError::new(kind, message, ""));
                break;
            }
            Ok(_) => {}
            Err(e) => {
                outcome = Err(e.into());
                break;
            }
        }
    }
    stdin_task.abort();
    outcome
}
