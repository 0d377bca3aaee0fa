//! Extensions on the real Docker engine: installed in the running environment by exec, with
//! tracked statuses; a failure keeps its message and can be retried; a custom extension is
//! downloaded from its URL and installed from the file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod docker;

use std::time::Duration;

use docker::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use vibebox::Actor;
use vibebox::domain::{Environment, EnvironmentExtension, ExtensionStatus};
use vibebox::service::NewExtension;
use vibebox::store::PageRequest;

/// Waits until the environment's only extension satisfies `done`; returns it.
async fn wait_extension(
    d: &D,
    actor: &Actor,
    env: &Environment,
    done: impl Fn(&EnvironmentExtension) -> bool,
) -> EnvironmentExtension {
    let mut last = Vec::new();
    let reached = tokio::time::timeout(WAIT, async {
        loop {
            last =
                d.vb.list_environment_extensions(actor, env.id, &PageRequest::first(50))
                    .await
                    .unwrap()
                    .items;
            if let [one] = last.as_slice()
                && done(one)
            {
                return one.clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    reached.unwrap_or_else(|_| panic!("the extension never got there; last: {last:?}"))
}

/// Whether an installation has ended, either way.
fn settled(e: &EnvironmentExtension) -> bool {
    matches!(
        e.status,
        ExtensionStatus::Installed | ExtensionStatus::Failed
    )
}

fn marketplace(extension_id: &str, version: &str) -> NewExtension {
    NewExtension {
        extension_id: extension_id.into(),
        name: "Test extension".into(),
        version: version.into(),
        is_custom: false,
        download_url: None,
    }
}

/// A custom extension `acme.custom` downloaded from `url`.
fn custom(url: &str) -> NewExtension {
    NewExtension {
        extension_id: "acme.custom".into(),
        name: "Custom".into(),
        version: "0.1.0".into(),
        is_custom: true,
        download_url: Some(url.into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_installer_fails_with_a_message_saying_so_and_a_retry_installs_once_present() {
    let d = D::with(|c| {
        c.extension_install_command = vec![
            "/home/vibebox/bin/code-server".into(),
            "--install-extension".into(),
        ];
        c.default_sessions = vec![];
    })
    .await;
    // The first user is a platform admin: they may add to the catalog.
    let (admin, env) = d.owner_with_running_env("admin").await;
    d.vb.add_extension(&admin, marketplace("acme.linter", "1.2.3"))
        .await
        .unwrap();
    let requested =
        d.vb.install_extension(&admin, env.id, "acme.linter")
            .await
            .unwrap();
    assert_eq!(requested.status, ExtensionStatus::Pending);
    let failed = wait_extension(&d, &admin, &env, settled).await;
    assert_eq!(failed.status, ExtensionStatus::Failed);
    let message = failed.error_message.expect("the failure keeps its message");
    assert_eq!(
        message,
        "the extension installer /home/vibebox/bin/code-server is not present in this \
         environment's image"
    );
    let shim = "mkdir -p $HOME/bin && printf '#!/bin/sh\\necho \"$@\" >> $HOME/installer-calls\\n' \
                > $HOME/bin/code-server && chmod +x $HOME/bin/code-server";
    assert_eq!(d.exec(&env, shim).await.0, 0);
    d.vb.install_extension(&admin, env.id, "acme.linter")
        .await
        .unwrap();
    let installed = wait_extension(&d, &admin, &env, |e| {
        settled(e) && e.updated_at > failed.updated_at
    })
    .await;
    assert_eq!(
        (installed.status, installed.error_message.as_deref()),
        (ExtensionStatus::Installed, None)
    );
    assert!(installed.installed_at.is_some());
    let (code, calls) = d.exec(&env, "cat $HOME/installer-calls").await;
    assert_eq!(
        (code, calls.as_str()),
        (0, "--install-extension acme.linter@1.2.3\n")
    );
}

/// The host as seen from the environment: its default gateway, from `/proc/net/route`.
async fn gateway(d: &D, env: &Environment) -> String {
    let (code, routes) = d.exec(env, "cat /proc/net/route").await;
    assert_eq!(code, 0);
    let hex = routes
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(1) == Some(&"00000000")).then(|| f[2].to_string())
        })
        .expect("a default route");
    let ip = u32::from_str_radix(&hex, 16).unwrap().to_le_bytes();
    std::net::Ipv4Addr::from(ip).to_string()
}

/// Serves `body` to one HTTP GET; reports the requested path.
async fn serve_once(body: Vec<u8>) -> (u16, oneshot::Receiver<String>) {
    let listener = TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = conn.read(&mut buf).await.unwrap();
            assert!(n > 0, "the request ended early");
            request.extend_from_slice(&buf[..n]);
        }
        let head = format!(
            "HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        conn.write_all(head.as_bytes()).await.unwrap();
        conn.write_all(&body).await.unwrap();
        conn.shutdown().await.unwrap();
        let line = String::from_utf8_lossy(&request)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        let _ = tx.send(line);
    });
    (port, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_extension_is_downloaded_from_its_url_and_installed_from_the_file() {
    let d = D::with(|c| {
        c.extension_install_command =
            vec!["/tmp/bin/code-server".into(), "--install-extension".into()];
        c.default_sessions = vec![];
        c.container_user = Some("1000".into());
    })
    .await;
    let admin = d.user("admin").await;
    let project = d.project(&admin, "tools").await;
    let env =
        d.vb.create_environment(&admin, new_env(&project, "busybox", BUSYBOX_IMAGE))
            .await
            .unwrap();
    let env = d.vb.start_environment(&admin, env.id).await.unwrap();
    // The shim records its arguments and keeps a copy of the file it is given.
    let shim = "mkdir -p /tmp/bin && printf '#!/bin/sh\\necho \"$@\" > /tmp/installer-args\\n\
                cat \"$2\" > /tmp/installed.vsix\\n' > /tmp/bin/code-server && \
                chmod +x /tmp/bin/code-server";
    assert_eq!(d.exec(&env, shim).await.0, 0);
    let payload = format!("vsix payload of run {}", d.run());
    let (port, request) = serve_once(payload.clone().into_bytes()).await;
    let url = format!(
        "http://{}:{port}/acme-custom-0.1.0.vsix",
        gateway(&d, &env).await
    );
    d.vb.add_extension(&admin, custom(&url)).await.unwrap();
    d.vb.install_extension(&admin, env.id, "acme.custom")
        .await
        .unwrap();
    let outcome = wait_extension(&d, &admin, &env, settled).await;
    assert_eq!(
        (outcome.status, outcome.error_message.as_deref()),
        (ExtensionStatus::Installed, None)
    );
    assert_eq!(
        request.await.unwrap(),
        "GET /acme-custom-0.1.0.vsix HTTP/1.1"
    );
    let (code, got) = d.exec(&env, "cat /tmp/installed.vsix").await;
    assert_eq!((code, got), (0, payload));
    let (code, args) = d.exec(&env, "cat /tmp/installer-args").await;
    assert_eq!(code, 0);
    let file = args
        .trim()
        .strip_prefix("--install-extension ")
        .unwrap_or_else(|| panic!("unexpected installer arguments {args:?}"));
    assert!(file.ends_with(".vsix"), "{file}");
    let (code, _) = d.exec(&env, &format!("test -e '{file}'")).await;
    assert_ne!(code, 0, "the downloaded file is removed afterwards");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_extension_fails_saying_so_when_the_image_has_no_downloader() {
    let d = D::with(|c| {
        // An installer that exists: only the download can fail.
        c.extension_install_command = vec!["true".into()];
        c.default_sessions = vec![];
    })
    .await;
    let (admin, env) = d.owner_with_running_env("admin").await;
    d.vb.add_extension(&admin, custom("http://example.invalid/acme.vsix"))
        .await
        .unwrap();
    d.vb.install_extension(&admin, env.id, "acme.custom")
        .await
        .unwrap();
    let failed = wait_extension(&d, &admin, &env, settled).await;
    assert_eq!(failed.status, ExtensionStatus::Failed);
    let message = failed.error_message.unwrap();
    assert!(
        message.contains("neither curl nor wget is installed"),
        "{message}"
    );
    let (code, left) = d.exec(&env, "ls /tmp | grep vibebox-ext || true").await;
    assert_eq!(
        (code, left.as_str()),
        (0, ""),
        "no download directory is left"
    );
}
