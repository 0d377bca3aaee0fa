//! The `sftp` subsystem: the environment's own `sftp-server` (Debian's
//! `openssh-sftp-server`), run through [`exec`](super::exec) with stdin and stdout piped, so
//! `sftp`, `scp` (which speaks sftp since OpenSSH 9) and VS Code work. Nothing of SFTP is
//! parsed here: the server inside does it, as the user, in their home directory.

use tokio::sync::mpsc;

use super::exec::{self, Command};
use super::session::Setup;
use super::{ConnectionContext, Outlet, SessionEvent};

/// Runs the first sftp-server found where distributions put it; exit 127 says none is there.
const SFTP_SERVER: &str = r#"for p in /usr/lib/openssh/sftp-server /usr/lib/sftp-server /usr/libexec/openssh/sftp-server /usr/libexec/sftp-server; do
  [ -x "$p" ] && exec "$p"
done
echo "vibebox: this environment's image has no sftp-server (install openssh-sftp-server)" >&2
exit 127"#;

/// Runs the subsystem until it ends.
pub(crate) async fn run(
    ctx: &ConnectionContext,
    outlet: &Outlet,
    events: mpsc::Receiver<SessionEvent>,
    mut setup: Setup,
) {
    // A binary protocol: never through a terminal.
    setup.pty = None;
    let request = exec::request(Command::Script(SFTP_SERVER), &setup);
    exec::run(ctx, outlet, events, request, setup).await;
}
