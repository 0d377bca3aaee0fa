//! Terminals on the real Docker engine: a TTY exec whose keystrokes echo, whose size follows
//! resizes and whose exit code is reported; its process dies with its client, except that a
//! tmux session outlives its client and a new terminal re-attaches to it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod docker;

use docker::*;
use vibebox::Actor;
use vibebox::domain::{Environment, SessionStatus, SessionType};
use vibebox::runtime::TerminalSize;
use vibebox::service::{NewSession, Terminal};

async fn session(d: &D, actor: &Actor, env: &Environment, kind: SessionType, name: &str) {
    d.vb.create_session(
        actor,
        env.id,
        NewSession {
            session_type: kind,
            session_name: name.into(),
            idle_timeout_minutes: None,
        },
    )
    .await
    .unwrap();
}

/// A shell session `sh` in the environment and a terminal on it.
async fn open_shell(d: &D, alice: &Actor, env: &Environment) -> Terminal {
    session(d, alice, env, SessionType::Shell, "sh").await;
    d.vb.open_terminal(alice, env.id, "sh", TERM_SIZE)
        .await
        .unwrap()
}

/// Asks the terminal's shell for its pid (`$$`).
async fn shell_pid(t: &mut Terminal) -> String {
    t.input.write(b"printf 'PID:%s:\\n' $$\r").await.unwrap();
    let seen = read_until(t, ":\r\n").await;
    let after = seen.rsplit("PID:").next().unwrap();
    let pid: String = after.chars().take_while(char::is_ascii_digit).collect();
    assert!(!pid.is_empty(), "no pid in {seen:?}");
    pid
}

/// A running environment with a shell terminal open and `sleep <marker>` in its foreground:
/// the harness, the environment, the terminal, the shell's pid and the job's pid.
async fn shell_terminal_with_job(marker: &str) -> (D, Environment, Terminal, String, String) {
    let d = D::new().await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    let mut t = open_shell(&d, &alice, &env).await;
    let shell = shell_pid(&mut t).await;
    let job = foreground_sleep(&d, &env, &mut t, marker).await;
    (d, env, t, shell, job)
}

/// Starts `sleep <marker>` in the foreground of the terminal and returns its pid.
async fn foreground_sleep(d: &D, env: &Environment, t: &mut Terminal, marker: &str) -> String {
    t.input
        .write(format!("sleep {marker}\r").as_bytes())
        .await
        .unwrap();
    d.exec_until_ok(env, &format!("pgrep -fx 'sleep {marker}'"))
        .await
        .trim()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_echoes_keystrokes_runs_them_and_reports_the_exit_code() {
    let d = D::new().await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    let mut t = open_shell(&d, &alice, &env).await;
    t.input.write(b"echo typed-$((6*7))\r").await.unwrap();
    let seen = read_until(&mut t, "typed-42").await;
    assert!(
        seen.contains("echo typed-$((6*7))"),
        "the TTY echoes the keystrokes: {seen:?}"
    );
    t.input.write(b"exit 7\r").await.unwrap();
    read_to_end(&mut t).await;
    assert_eq!(t.control.exit_code().await.unwrap(), Some(7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resizing_a_terminal_changes_its_size_inside_the_container() {
    let d = D::new().await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    let mut t = open_shell(&d, &alice, &env).await;
    t.input.write(b"stty size\r").await.unwrap();
    read_until(&mut t, "24 80\r\n").await;
    t.control
        .resize(TerminalSize {
            cols: 132,
            rows: 43,
        })
        .await
        .unwrap();
    t.input.write(b"stty size\r").await.unwrap();
    read_until(&mut t, "43 132\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_a_terminal_kills_its_shell_and_foreground_job_in_the_container() {
    let (d, env, mut t, shell, job) = shell_terminal_with_job("4201").await;
    assert!(d.process_alive(&env, &shell).await);
    t.control.close().await;
    d.wait_process_gone(&env, &shell).await;
    d.wait_process_gone(&env, &job).await;
    read_to_end(&mut t).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_terminal_kills_its_shell_in_the_container() {
    let (d, env, t, shell, job) = shell_terminal_with_job("4202").await;
    drop(t);
    d.wait_process_gone(&env, &shell).await;
    d.wait_process_gone(&env, &job).await;
}

/// The tmux clients attached to a session, one line each.
async fn tmux_clients(d: &D, env: &Environment, name: &str) -> String {
    d.exec_until_ok(env, &format!("tmux list-clients -t ={name}"))
        .await
}

/// Waits until no tmux client is attached to the session.
async fn wait_no_tmux_client(d: &D, env: &Environment, name: &str) {
    d.exec_until_ok(env, &format!("test -z \"$(tmux list-clients -t ={name})\""))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_a_tmux_terminal_ends_only_the_client_and_reattaching_resumes_the_session() {
    let d = D::new().await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    session(&d, &alice, &env, SessionType::Tmux, "work").await;
    let mut t =
        d.vb.open_terminal(&alice, env.id, "work", TERM_SIZE)
            .await
            .unwrap();
    t.input
        .write(b"export MARK=kept-$((40+2)); echo typed-$((6*7))\r")
        .await
        .unwrap();
    read_until(&mut t, "typed-42").await;
    assert_eq!(tmux_clients(&d, &env, "work").await.lines().count(), 1);
    t.control.close().await;
    read_to_end(&mut t).await;
    wait_no_tmux_client(&d, &env, "work").await;
    let mut again =
        d.vb.open_terminal(&alice, env.id, "work", TERM_SIZE)
            .await
            .unwrap();
    assert_eq!(again.session.id, t.session.id);
    // The re-attached client redraws the screen typed on before...
    read_until(&mut again, "typed-42").await;
    // ...and the shell in it is the same one.
    again.input.write(b"echo mark=$MARK\r").await.unwrap();
    read_until(&mut again, "mark=kept-42").await;
    let s = d.vb.get_session(&alice, t.session.id).await.unwrap();
    assert_eq!(s.status, SessionStatus::Active);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_tmux_terminal_ends_only_the_client() {
    let d = D::new().await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    let mut t =
        d.vb.open_terminal(&alice, env.id, "main", TERM_SIZE)
            .await
            .unwrap();
    t.input.write(b"echo typed-$((6*7))\r").await.unwrap();
    read_until(&mut t, "typed-42").await;
    assert_eq!(tmux_clients(&d, &env, "main").await.lines().count(), 1);
    drop(t);
    wait_no_tmux_client(&d, &env, "main").await;
    let (code, _) = d.exec(&env, "tmux has-session -t =main").await;
    assert_eq!(code, 0, "the tmux session lives on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tmux_terminal_turns_off_the_status_line_clock_so_an_idle_client_prints_nothing() {
    // An attached tmux client redraws its status-line clock every minute; as terminal output
    // that would count as activity, and an unused terminal would never go idle.
    let d = D::new().await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    let mut t =
        d.vb.open_terminal(&alice, env.id, "main", TERM_SIZE)
            .await
            .unwrap();
    t.input.write(b"echo typed-$((6*7))\r").await.unwrap();
    read_until(&mut t, "typed-42").await;
    let (code, out) = d
        .exec(
            &env,
            "tmux display-message -p -t =main: '#{status-interval}'",
        )
        .await;
    assert_eq!((code, out.as_str()), (0, "0\n"));
}
