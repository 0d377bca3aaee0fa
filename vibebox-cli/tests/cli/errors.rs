//! Bad input and bad conditions: one clear line with a hint, a documented exit code, no panic.

use std::os::unix::fs::PermissionsExt;

use crate::common::Cli;

/// Exit code, and that stderr is `error: …` plus at most a hint line, with no Rust debug dump.
#[track_caller]
fn one_clear_line(run: &crate::common::Run, code: i32) {
    assert_eq!(run.code, code, "{run:?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(
        !lines.is_empty() && lines.len() <= 2 && lines[0].starts_with("error: "),
        "{}",
        run.stderr
    );
    for bad in ["panicked", "RUST_BACKTRACE", "Error {", "kind:"] {
        assert!(!run.stderr.contains(bad), "{}", run.stderr);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_environment_is_exit_4_naming_it() {
    let cli = Cli::signed_in("fay").await;
    cli.run(&["project", "create", "web"]).await.ok();
    let run = cli.run(&["env", "show", "web/nope"]).await;
    one_clear_line(&run, 4);
    assert!(run.stderr.contains("nope"), "{}", run.stderr);
    let run = cli.run(&["env", "show", "nothing-like-this"]).await;
    one_clear_line(&run, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_down_is_exit_7_with_a_hint() {
    let cli = Cli::signed_in("gus").await;
    // A port nothing listens on: bind one, note it, close it.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let down = format!("http://127.0.0.1:{port}");
    let run = cli
        .command(&["env", "list"])
        .env("VIBEBOX_URL", &down)
        .env("VIBEBOX_TOKEN", "vbx_0000000000000000_00")
        .output()
        .await
        .unwrap();
    let run = crate::common::Run {
        code: run.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&run.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&run.stderr).into_owned(),
    };
    one_clear_line(&run, 7);
    assert!(
        run.stderr.contains(&format!("127.0.0.1:{port}")),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hosts_file_others_can_read_is_refused_with_the_chmod_that_fixes_it() {
    let cli = Cli::signed_in("hal").await;
    std::fs::set_permissions(cli.hosts(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = cli.run(&["env", "list"]).await;
    one_clear_line(&run, 1);
    assert!(run.stderr.contains("chmod 600"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_access_token_is_refreshed_and_the_new_pair_saved() {
    let cli = Cli::signed_in("ivy").await;
    let path = cli.hosts();
    let mut hosts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let old_refresh = hosts["servers"][&cli.url]["credential"]["refresh_token"].clone();
    // An access token the server refuses: as good as expired.
    hosts["servers"][&cli.url]["credential"]["access_token"] = "expired.token.value".into();
    std::fs::write(&path, hosts.to_string()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    cli.run(&["env", "list"]).await.ok();
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let credential = &saved["servers"][&cli.url]["credential"];
    assert_ne!(
        credential["refresh_token"], old_refresh,
        "the rotated token was saved"
    );
    assert_ne!(credential["access_token"], "expired.token.value");
    // And the saved pair works on the next run.
    cli.run(&["whoami"]).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_sign_in_asks_to_log_in_again_with_exit_3() {
    let cli = Cli::signed_in("jo").await;
    let path = cli.hosts();
    let mut hosts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let refresh = hosts["servers"][&cli.url]["credential"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let client = vibebox_client::Client::new(&cli.url, vibebox_client::Credential::None).unwrap();
    client
        .revoke_refresh_token(&secrecy::SecretString::from(refresh))
        .await
        .unwrap();
    hosts["servers"][&cli.url]["credential"]["access_token"] = "expired.token.value".into();
    std::fs::write(&path, hosts.to_string()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let run = cli.run(&["env", "list"]).await;
    one_clear_line(&run, 3);
    assert!(run.stderr.contains("vibebox login"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_flags_name_the_flag_and_create_nothing() {
    let cli = Cli::signed_in("kit").await;
    cli.run(&["project", "create", "web"]).await.ok();
    let run = cli
        .run(&["env", "create", "web/dev", "--memory", "lots"])
        .await;
    one_clear_line(&run, 2);
    assert!(run.stderr.contains("--memory"), "{}", run.stderr);
    let run = cli
        .run(&["env", "create", "web/dev", "--var", "NOEQUALS"])
        .await;
    one_clear_line(&run, 2);
    assert!(run.stderr.contains("--var"), "{}", run.stderr);
    let listed = cli.run(&["env", "list", "--json"]).await;
    let envs: serde_json::Value = serde_json::from_str(listed.ok()).unwrap();
    assert_eq!(envs.as_array().unwrap().len(), 0, "nothing was created");
}
