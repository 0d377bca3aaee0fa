//! Embeds VibeBox on the in-memory kit and walks the main path:
//! register → team → project → environment → start → logs → stop.
//!
//! Run with `cargo run --example embed`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use vibebox::Vibebox;
use vibebox::domain::{LogStream, Role};
use vibebox::events::EventKind;
use vibebox::runtime::ContainerId;
use vibebox::secrets::{AesGcmSecrets, KeyId, Keyring};
use vibebox::service::{NewEnvironment, NewPort, NewProject, NewTeam, NewVariable, Registration};
use vibebox::store::PageRequest;
use vibebox::testing::{FakeRuntime, MemoryStore};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_tracing();
    run().await
}

/// Logs to stderr, filtered by `RUST_LOG` (default `warn`).
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
}

/// The walk.
pub async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = Arc::new(FakeRuntime::new());
    let vibebox = Vibebox::builder()
        .store(Arc::new(MemoryStore::new()))
        .runtime(runtime.clone())
        .secrets(Arc::new(AesGcmSecrets::new(Keyring::generate(
            KeyId::new("k1")?,
        )?)))
        .build()?;
    println!("built a Vibebox on MemoryStore + FakeRuntime");

    let alice = vibebox
        .register(Registration {
            email: "alice@example.com".into(),
            password: SecretString::from("correct horse battery staple"),
            display_name: "Alice".into(),
        })
        .await?;
    println!(
        "registered {} (platform admin: {})",
        alice.email, alice.is_platform_admin
    );
    let bob = vibebox
        .register(Registration {
            email: "bob@example.com".into(),
            password: SecretString::from("another long passphrase"),
            display_name: "Bob".into(),
        })
        .await?;
    let alice_actor = vibebox.actor_for_user(alice.id).await?;
    let bob_actor = vibebox.actor_for_user(bob.id).await?;

    let team = vibebox
        .create_team(
            &alice_actor,
            NewTeam {
                name: "Platform".into(),
                slug: "platform".into(),
                description: Some("the platform team".into()),
            },
        )
        .await?;
    vibebox
        .add_member(&alice_actor, team.id, "bob@example.com", Role::Viewer)
        .await?;
    println!("created team {} with bob as viewer", team.slug);

    let project = vibebox
        .create_project(
            &alice_actor,
            NewProject {
                name: "API".into(),
                slug: "api".into(),
                team_id: Some(team.id),
            },
        )
        .await?;
    println!("created project {}", project.slug);

    let env = vibebox
        .create_environment(
            &alice_actor,
            NewEnvironment {
                project_id: project.id,
                name: "Dev box".into(),
                slug: "dev".into(),
                base_image: "vibebox/base:bookworm".into(),
                cpu_limit: Some(1.0),
                memory_limit: Some(1024),
                storage_limit: None,
                // The default: suspended after 15 idle minutes, stopped after 24 hours so.
                idle_policy: None,
                start: false,
            },
        )
        .await?;
    vibebox
        .add_port(
            &alice_actor,
            env.id,
            NewPort {
                container_port: 8080,
                host_port: None,
                protocol: None,
            },
        )
        .await?;
    let secret = vibebox
        .set_variable(
            &alice_actor,
            env.id,
            NewVariable {
                key: "DATABASE_PASSWORD".into(),
                value: SecretString::from("hunter2-but-longer"),
                is_encrypted: false,
            },
        )
        .await?;
    println!(
        "created environment {} ({} CPU, {} MB) with port 8080 and {} = {} (encrypted: {})",
        env.slug, env.cpu_limit, env.memory_limit, secret.key, secret.value, secret.is_encrypted
    );

    match vibebox.start_environment(&bob_actor, env.id).await {
        Err(e) => println!("bob (viewer) cannot start it: {e}"),
        Ok(_) => return Err("a viewer started an environment".into()),
    }

    let mut events = vibebox.subscribe(&alice_actor, env.id).await?;
    let env = vibebox.start_environment(&alice_actor, env.id).await?;
    let ports = vibebox
        .list_ports(&alice_actor, env.id, &PageRequest::first(50))
        .await?
        .items;
    println!(
        "started: status {}, container {}, port 8080 bound on host port {:?}",
        env.status,
        env.container_id.as_deref().unwrap_or("?"),
        ports[0].bound_host_port
    );

    let container = ContainerId(env.container_id.clone().unwrap_or_default());
    runtime.push_log(&container, LogStream::Stdout, "listening on :8080");
    runtime.push_log(&container, LogStream::Stderr, "warning: debug build");
    let mut seen = 0;
    while seen < 3 {
        let event = tokio::time::timeout(Duration::from_secs(5), events.recv()).await??;
        match event.kind {
            EventKind::Log {
                stream, message, ..
            } => {
                println!("live log [{stream}] {message}");
                seen += 1;
            }
            EventKind::Status { status, .. } => println!("status → {status}"),
            EventKind::Session {
                session_name,
                status,
                ..
            } => println!("session {session_name} → {status}"),
            _ => {}
        }
    }

    let env = vibebox.stop_environment(&alice_actor, env.id).await?;
    println!("stopped: status {}", env.status);
    let logs = vibebox
        .query_logs(
            &alice_actor,
            env.id,
            Default::default(),
            &PageRequest::first(100),
        )
        .await?;
    println!("{} log lines persisted:", logs.items.len());
    for line in &logs.items {
        println!(
            "  {} [{}] {}",
            line.timestamp.format("%H:%M:%S%.3f"),
            line.stream,
            line.message
        );
    }
    let audit = vibebox
        .list_audit(&alice_actor, &PageRequest::first(100))
        .await?;
    println!(
        "{} audit events recorded; newest: {}",
        audit.items.len(),
        audit.items[0].action
    );
    Ok(())
}
