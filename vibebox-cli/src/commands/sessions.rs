//! `vibebox sessions list|create|rm`.

use std::str::FromStr;

use vibebox_client::{NewSession, collect_all};
use vibebox_core::domain::SessionType;
use vibebox_core::id::SessionId;

use crate::cli::{SessionKindArg, SessionsCommand};
use crate::context::Context;
use crate::error::CliError;
use crate::output::when;
use crate::resolve;

/// Runs a sessions command.
pub async fn run(ctx: &Context, command: SessionsCommand) -> Result<u8, CliError> {
    let client = &ctx.client;
    match command {
        SessionsCommand::List { env, all } => {
            let id = resolve::environment_id(client, &env).await?;
            let sessions = collect_all(|page| client.list_sessions(id, all, page)).await?;
            ctx.out.print(&sessions, |out| {
                let rows = sessions
                    .iter()
                    .map(|s| {
                        vec![
                            s.session_name.clone(),
                            s.session_type.to_string(),
                            s.status.to_string(),
                            when(Some(s.last_activity_at)),
                            s.id.to_string(),
                        ]
                    })
                    .collect::<Vec<_>>();
                out.table(&["name", "kind", "status", "last activity", "id"], &rows)
            })?;
        }
        SessionsCommand::Create { env, kind, name } => {
            let id = resolve::environment_id(client, &env).await?;
            let session_type = match kind {
                SessionKindArg::Shell => SessionType::Shell,
                SessionKindArg::Tmux => SessionType::Tmux,
                SessionKindArg::Vscode => SessionType::VscodeServer,
            };
            let session = client
                .create_session(
                    id,
                    &NewSession {
                        session_type,
                        session_name: name.unwrap_or_else(|| "main".into()),
                        idle_timeout_minutes: None,
                    },
                )
                .await?;
            ctx.out.print(&session, |_| {
                eprintln!(
                    "Started {} session {}.",
                    session.session_type, session.session_name
                );
                Ok(())
            })?;
        }
        SessionsCommand::Rm { id } => {
            let session = SessionId::from_str(&id).map_err(|_| {
                CliError::usage(
                    format!("`{id}` is not a session id"),
                    "`vibebox sessions list ENV` shows them",
                )
            })?;
            client.terminate_session(session).await?;
            eprintln!("Terminated session {id}.");
        }
    }
    Ok(0)
}
