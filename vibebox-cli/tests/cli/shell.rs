//! `vibebox shell` under a real terminal (tmux on this machine): keys reach the remote shell,
//! resizes follow, leaving and coming back resumes the tmux session, and the local terminal
//! is restored however the shell ends.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::common::Cli;
use crate::harness::{PASSWORD, run_id};
use crate::tmux::{Tmux, read};

/// The remote tmux session draws a status line: its pane is one row shorter than the terminal
/// the CLI reports.
const REMOTE_STATUS_ROWS: u16 = 1;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_runs_commands_forwards_resize_and_restores_the_terminal() {
    let cli = Cli::signed_in("sal").await;
    let env = cli.running_env("term").await;
    let tmux = Tmux::new();
    let pane = tmux.vibebox(&cli, "one", 80, 24, &["shell", &env]).await;
    pane.wait_for_prompt().await;
    let before = read(&pane.before());
    assert!(!before.is_empty());
    // Raw mode while attached: the comparison at the end is not trivially true.
    assert_ne!(
        pane.stty_now().await,
        before,
        "the terminal is in raw mode while attached"
    );

    pane.type_line("echo client=$(tmux display -p '#{client_width}x#{client_height}')")
        .await;
    pane.wait_for_line("client=80x24").await;
    pane.type_line("stty size").await;
    pane.wait_for_line(&format!("{} 80", 24 - REMOTE_STATUS_ROWS))
        .await;

    // The remote shell waits for the new size, so the check does not race the resize.
    let (cols, rows) = (100, 30);
    pane.type_line(&format!(
        "until [ \"$(stty size)\" = \"{} {cols}\" ]; do sleep 0.05; done; echo \"now $(stty size)\"",
        rows - REMOTE_STATUS_ROWS
    ))
    .await;
    pane.resize(cols, rows).await;
    pane.wait_for_line(&format!("now {} {cols}", rows - REMOTE_STATUS_ROWS))
        .await;
    pane.type_line("echo client=$(tmux display -p '#{client_width}x#{client_height}')")
        .await;
    pane.wait_for_line(&format!("client={cols}x{rows}")).await;

    pane.type_line("exit").await;
    assert_eq!(pane.wait_for_exit().await, 0, "{}", pane.capture().await);
    assert_eq!(
        read(&pane.after()),
        before,
        "the terminal settings are restored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_reaches_the_remote_shell_not_the_cli() {
    let cli = Cli::signed_in("tam").await;
    let env = cli.running_env("term").await;
    let tmux = Tmux::new();
    let pane = tmux.vibebox(&cli, "one", 80, 24, &["shell", &env]).await;
    pane.wait_for_prompt().await;
    pane.type_line("echo sleeping-$((1+1)); sleep 300").await;
    pane.wait_for_line("sleeping-2").await;
    pane.press("C-c").await;
    // Only a shell whose sleep was interrupted, behind a CLI still running, prints this.
    pane.type_line("echo alive-$((40+2))").await;
    let screen = pane.wait_for_line("alive-42").await;
    assert!(
        pane.exited().await.is_none(),
        "the CLI is still attached:\n{screen}"
    );
    pane.type_line("exit").await;
    assert_eq!(pane.wait_for_exit().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_resumes_the_tmux_session() {
    let cli = Cli::signed_in("uma").await;
    let env = cli.running_env("term").await;
    let tmux = Tmux::new();
    let mark = run_id();
    let first = tmux
        .vibebox(&cli, "one", 80, 24, &["shell", &env, "--session", "work"])
        .await;
    first.wait_for_prompt().await;
    first
        .type_line(&format!(
            "export MARK={mark}; echo \"first-$MARK-$((6*7))\""
        ))
        .await;
    first.wait_for_line(&format!("first-{mark}-42")).await;
    // The terminal window goes away: the CLI gets SIGHUP and the connection drops.
    first.close().await;

    let second = tmux
        .vibebox(&cli, "two", 80, 24, &["shell", &env, "--session", "work"])
        .await;
    // tmux redraws the session's screen on attach: the earlier output is there...
    second.wait_for_line(&format!("first-{mark}-42")).await;
    // ...and it is the same shell, with its variables.
    second.type_line("echo \"again-$MARK-$((7*7))\"").await;
    second.wait_for_line(&format!("again-{mark}-49")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection_restores_the_terminal_and_says_how_to_resume() {
    let cli = Cli::signed_in("vic").await;
    let env = cli.running_env("term").await;
    let upstream: SocketAddr = cli.url.trim_start_matches("http://").parse().unwrap();
    let proxy = Proxy::start(upstream).await;
    let via = format!("http://{}", proxy.addr);
    cli.run_with_stdin(
        &["login", &via, "--email", &cli.email],
        &format!("{PASSWORD}\n"),
    )
    .await
    .ok();
    let tmux = Tmux::new();
    let pane = tmux
        .vibebox(&cli, "one", 80, 24, &["shell", &env, "--url", &via])
        .await;
    pane.wait_for_prompt().await;
    pane.type_line("echo up-$((2+3))").await;
    pane.wait_for_line("up-5").await;
    let before = read(&pane.before());
    assert_ne!(
        pane.stty_now().await,
        before,
        "the terminal is in raw mode while attached"
    );

    assert!(proxy.cut() > 0, "the terminal went through the proxy");
    let screen = pane
        .wait_until("the CLI's error", |s| s.contains("was lost"))
        .await;
    let error: Vec<&str> = screen
        .lines()
        .filter(|l| l.starts_with("error:") || l.starts_with("hint:"))
        .collect();
    assert_eq!(error.len(), 2, "one error line and one hint:\n{screen}");
    assert!(
        error[0].contains("connection") && error[0].contains(&env),
        "{screen}"
    );
    assert!(
        error[1].contains(&format!("vibebox shell {env} --session main")),
        "{screen}"
    );
    assert_eq!(pane.wait_for_exit().await, 7, "unreachable:\n{screen}");
    assert_eq!(
        read(&pane.after()),
        before,
        "the terminal settings are restored"
    );
    assert_eq!(
        pane.screen_modes().await,
        "00",
        "the remote tmux's alternate screen and keypad mode are left:\n{screen}"
    );
}

/// A TCP relay whose connections can all be cut at once, as a network failure does.
struct Proxy {
    addr: SocketAddr,
    accept: JoinHandle<()>,
    relays: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let relays: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let held = relays.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut down, _)) = listener.accept().await {
                let relay = tokio::spawn(async move {
                    if let Ok(mut up) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                    }
                });
                held.lock().unwrap().push(relay);
            }
        });
        Self {
            addr,
            accept,
            relays,
        }
    }

    /// Closes every open connection (both ends); returns how many were open.
    fn cut(&self) -> usize {
        let relays = std::mem::take(&mut *self.relays.lock().unwrap());
        let open = relays.iter().filter(|r| !r.is_finished()).count();
        for relay in relays {
            relay.abort();
        }
        open
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}
