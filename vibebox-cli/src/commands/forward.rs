//! `vibebox port-forward ENV LOCAL:REMOTE…`: listens on local ports and tunnels each
//! connection to its port inside the environment, until Ctrl-C.
//!
//! Each accepted connection opens its own tunnel (any port inside works, declared or not).
//! A connection that fails is reported and closed; the others and the listeners go on.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use vibebox_client::Client;
use vibebox_core::id::EnvironmentId;

use crate::cli::PortForwardArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::{parse, resolve};

/// Bytes buffered per direction of a forwarded connection.
const BUFFER: usize = 256 * 1024;

/// Listens and forwards until Ctrl-C.
pub async fn run(ctx: &Context, args: PortForwardArgs) -> Result<u8, CliError> {
    let forwards = args
        .ports
        .iter()
        .map(|p| parse::forward(p))
        .collect::<Result<Vec<_>, _>>()?;
    let env = resolve::environment_id(&ctx.client, &args.env).await?;
    let mut listeners = Vec::new();
    for (local, remote) in forwards {
        let listener = TcpListener::bind((args.address.as_str(), local))
            .await
            .map_err(|e| {
                CliError::usage(
                    format!("cannot listen on {}:{local}: {e}", args.address),
                    "pick another local port (LOCAL:REMOTE), or 0 for any free one",
                )
            })?;
        let bound = listener.local_addr()?;
        println!("Forwarding {bound} -> {}:{remote}", args.env);
        listeners.push((listener, remote));
    }
    for (listener, remote) in listeners {
        tokio::spawn(serve(ctx.client.clone(), env, listener, remote));
    }
    tokio::signal::ctrl_c().await?;
    Ok(0)
}

async fn serve(client: Client, env: EnvironmentId, listener: TcpListener, remote: u16) {
    loop {
        match listener.accept().await {
            Ok((socket, peer)) => {
                tokio::spawn(forward(client.clone(), env, socket, peer, remote));
            }
            Err(e) => {
                eprintln!("warning: accepting a connection failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

async fn forward(
    client: Client,
    env: EnvironmentId,
    mut socket: TcpStream,
    peer: SocketAddr,
    remote: u16,
) {
    let _ = socket.set_nodelay(true);
    let mut tunnel = match client.tunnel(env, remote).await {
        Ok(tunnel) => tunnel,
        Err(e) => {
            eprintln!("connection from {peer} to port {remote}: {e}");
            return;
        }
    };
    if let Err(e) =
        tokio::io::copy_bidirectional_with_sizes(&mut socket, &mut tunnel, BUFFER, BUFFER).await
    {
        tracing::debug!(%peer, remote, error = %e, "a forwarded connection ended with an error");
    }
}
