//! What a person sees at a terminal (tmux): the password prompt does not echo, and a start
//! shows its progress, then the result.

use crate::common::Cli;
use crate::harness::{BASE_IMAGE, PASSWORD};
use crate::tmux::Tmux;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_prompt_does_not_echo_at_a_terminal() {
    let cli = Cli::new("una").await;
    let tmux = Tmux::new();
    let pane = tmux
        .vibebox(
            &cli,
            "login",
            100,
            24,
            &["login", &cli.url, "--email", &cli.email],
        )
        .await;
    pane.wait_for("Password: ").await;
    pane.type_line(PASSWORD).await;
    assert_eq!(pane.wait_for_exit().await, 0, "{}", pane.capture().await);
    let screen = pane.capture().await;
    assert!(screen.contains("Signed in to"), "{screen}");
    assert!(
        !screen.contains(PASSWORD),
        "the password was echoed:\n{screen}"
    );
    // And the sign-in works.
    assert!(cli.run(&["whoami"]).await.ok().contains(&cli.email));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_at_a_terminal_shows_progress_then_the_status() {
    let cli = Cli::signed_in("vic").await;
    cli.run(&["project", "create", "web"]).await.ok();
    cli.run(&["env", "create", "web/dev", "--image", BASE_IMAGE])
        .await
        .ok();
    let tmux = Tmux::new();
    let pane = tmux
        .vibebox(&cli, "start", 100, 24, &["env", "start", "web/dev"])
        .await;
    // The spinner line names the environment while the request runs (tmux shows the latest
    // frame; the start takes long enough for several), then it is cleared for the result.
    pane.wait_until("the spinner", |s| s.contains("Starting web/dev"))
        .await;
    assert_eq!(pane.wait_for_exit().await, 0, "{}", pane.capture().await);
    let screen = pane.capture().await;
    assert!(screen.contains("web/dev is running."), "{screen}");
    assert!(
        !screen.contains("Starting web/dev"),
        "the spinner is cleared at the end:\n{screen}"
    );
}
