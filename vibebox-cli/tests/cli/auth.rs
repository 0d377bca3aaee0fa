//! Signing in and out, and what is kept on disk.

use std::os::unix::fs::PermissionsExt;

use crate::common::Cli;
use crate::harness::PASSWORD;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_login_keeps_a_private_hosts_file_that_never_reaches_output() {
    let cli = Cli::new("ada").await;
    let run = cli
        .run_with_stdin(
            &["login", &cli.url, "--email", &cli.email],
            &format!("{PASSWORD}\n"),
        )
        .await;
    run.ok();
    let mode = std::fs::metadata(cli.hosts()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let hosts = std::fs::read_to_string(cli.hosts()).unwrap();
    let stored: serde_json::Value = serde_json::from_str(&hosts).unwrap();
    let refresh = stored["servers"][&cli.url]["credential"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!refresh.is_empty());
    let whoami = cli.run(&["whoami"]).await;
    assert!(whoami.ok().contains("ada@example.com"), "{}", whoami.stdout);
    for run in [&run, &whoami] {
        assert!(!run.stdout.contains(&refresh) && !run.stderr.contains(&refresh));
        assert!(!run.stdout.contains(PASSWORD) && !run.stderr.contains(PASSWORD));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_exit_3_and_stores_nothing() {
    let cli = Cli::new("bea").await;
    let run = cli
        .run_with_stdin(
            &["login", &cli.url, "--email", &cli.email],
            "not the password\n",
        )
        .await;
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(
        run.stderr.lines().count(),
        2,
        "one error line and one hint: {}",
        run.stderr
    );
    assert!(!cli.hosts().exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_revokes_the_refresh_token_and_forgets_the_server() {
    let cli = Cli::signed_in("cy").await;
    let hosts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cli.hosts()).unwrap()).unwrap();
    let refresh = hosts["servers"][&cli.url]["credential"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    cli.run(&["logout"]).await.ok();
    let after = cli.run(&["whoami", "--url", &cli.url]).await;
    assert_eq!(after.code, 3, "{after:?}");
    assert!(after.stderr.contains("vibebox login"), "{}", after.stderr);
    // The server no longer takes the refresh token.
    let client = vibebox_client::Client::new(&cli.url, vibebox_client::Credential::None).unwrap();
    let refused = client.refresh(&secrecy::SecretString::from(refresh)).await;
    assert!(refused.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_key_from_stdin_signs_in_and_is_used_as_it_is() {
    let cli = Cli::signed_in("dee").await;
    let created = cli.run(&["keys", "create", "ci"]).await;
    let key = created.ok().trim().to_owned();
    assert!(key.starts_with("vbx_"), "{created:?}");
    std::fs::remove_file(cli.hosts()).unwrap();
    cli.run_with_stdin(&["login", &cli.url, "--api-key"], &format!("{key}\n"))
        .await
        .ok();
    assert!(cli.run(&["whoami"]).await.ok().contains("dee@example.com"));
    let listed = cli.run(&["keys", "list"]).await;
    assert!(listed.ok().contains("ci"), "{listed:?}");
    assert!(!listed.stdout.contains(&key));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vibebox_token_overrides_the_stored_sign_in() {
    let cli = Cli::signed_in("eve").await;
    let key = cli
        .run(&["keys", "create", "env"])
        .await
        .ok()
        .trim()
        .to_owned();
    std::fs::remove_file(cli.hosts()).unwrap();
    let run = cli
        .command(&["whoami", "--json"])
        .env("VIBEBOX_TOKEN", &key)
        .env("VIBEBOX_URL", &cli.url)
        .output()
        .await
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let me: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(me["email"], "eve@example.com");
}
