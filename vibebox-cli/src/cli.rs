//! The command line: every command, flag and argument (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The exit codes, shown at the end of `vibebox --help`.
const EXIT_CODES: &str = "\
Environments are named PROJECT/ENV (slugs) or by id.

Exit codes: 0 ok, 1 failed, 2 usage, 3 not signed in (run `vibebox login`), 4 not found,
5 permission denied, 6 conflict (wrong state, name taken), 7 server unreachable,
130 interrupted. `vibebox exec` and `vibebox ssh` exit with the remote command's code (255 when
VibeBox or ssh failed).";

/// vibebox: development environments on a VibeBox server.
#[derive(Debug, Parser)]
#[command(name = "vibebox", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    /// The server (default: the one `vibebox login` used last).
    #[arg(long, global = true, env = "VIBEBOX_URL", value_name = "URL")]
    pub url: Option<String>,
    /// Print JSON (stable, for scripts) instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// Diagnostics on stderr (`-v` info, `-vv` debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign in to a server and remember it (password prompt, or a token from stdin).
    Login(LoginArgs),
    /// Sign out: revoke this device's sign-in and forget it.
    Logout,
    /// Who you are on the server.
    Whoami,
    /// Teams and their members.
    #[command(subcommand)]
    Team(TeamCommand),
    /// Projects.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Environments: list, create, show, rm, start, stop, restart.
    #[command(subcommand)]
    Env(EnvCommand),
    /// An environment's logs (stored, then live with -f).
    Logs(LogsArgs),
    /// An interactive shell in an environment.
    Shell(ShellArgs),
    /// Runs a command in an environment and exits with its code.
    Exec(ExecArgs),
    /// OpenSSH's `ssh` into an environment through the server's SSH gateway.
    Ssh(SshArgs),
    /// Prints an OpenSSH config with a `Host PROJECT.ENV` block per environment.
    SshConfig(SshConfigArgs),
    /// Your SSH public keys, which the SSH gateway signs you in with.
    #[command(subcommand)]
    SshKey(SshKeyCommand),
    /// Copies files and directories: `cp LOCAL ENV:PATH` or `cp ENV:PATH LOCAL`.
    Cp(CpArgs),
    /// Forwards local ports to ports inside an environment.
    PortForward(PortForwardArgs),
    /// Prints (or opens in a browser) the preview URL of a port.
    Open(OpenArgs),
    /// Environment variables and secrets.
    #[command(subcommand)]
    Vars(VarsCommand),
    /// Declared ports and their share levels.
    #[command(subcommand)]
    Ports(PortsCommand),
    /// Terminal sessions (shell, tmux, VS Code server).
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// VS Code extensions: the catalog and an environment's installs.
    #[command(subcommand)]
    Extensions(ExtensionsCommand),
    /// Your API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The audit log (yours, or a team's).
    Audit(AuditArgs),
    /// Prints shell completions.
    Completion(CompletionArgs),
}

/// `vibebox login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The server, e.g. http://127.0.0.1:8080 (default: --url, VIBEBOX_URL, or the last one).
    pub server: Option<String>,
    /// Your email (prompted for when missing).
    #[arg(long)]
    pub email: Option<String>,
    /// Read a token (an access token or an API key) from stdin instead of a password;
    /// VIBEBOX_TOKEN is used when set.
    #[arg(long, conflicts_with = "api_key")]
    pub token: bool,
    /// Read an API key (`vbx_…`) from stdin instead of a password.
    #[arg(long)]
    pub api_key: bool,
}

/// Options of list commands.
#[derive(Debug, Args, Clone, Copy)]
pub struct ListArgs {
    /// At most this many items (default: all).
    #[arg(long)]
    pub limit: Option<u32>,
}

/// `vibebox team …`.
#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// Your teams.
    #[command(alias = "ls")]
    List(ListArgs),
    /// Creates a team; you become its admin.
    Create {
        /// The slug (lowercase letters, digits and dashes).
        slug: String,
        /// The display name (default: the slug).
        #[arg(long)]
        name: Option<String>,
    },
    /// One team.
    Show {
        /// Slug or id.
        team: String,
    },
    /// Deletes a team (it must own no projects).
    #[command(alias = "delete")]
    Rm {
        /// Slug or id.
        team: String,
    },
    /// A team's members.
    Members {
        /// Slug or id.
        team: String,
        #[command(flatten)]
        list: ListArgs,
    },
    /// Adds a member, or changes a member's role.
    AddMember {
        /// Slug or id.
        team: String,
        /// The member's email.
        email: String,
        /// The role.
        #[arg(long, value_enum, default_value_t = RoleArg::Developer)]
        role: RoleArg,
    },
    /// Removes a member.
    RemoveMember {
        /// Slug or id.
        team: String,
        /// The member's user id (`vibebox team members` shows it).
        user: String,
    },
}

/// A team role.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// Everything, members included.
    Admin,
    /// Environments: create, start, exec.
    Developer,
    /// Read only.
    Viewer,
}

/// `vibebox project …`.
#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// The projects you can see.
    #[command(alias = "ls")]
    List(ListArgs),
    /// Creates a project (yours, or a team's with --team).
    Create {
        /// The slug.
        slug: String,
        /// The display name (default: the slug).
        #[arg(long)]
        name: Option<String>,
        /// The owning team (slug or id).
        #[arg(long)]
        team: Option<String>,
    },
    /// One project.
    Show {
        /// Slug or id.
        project: String,
    },
    /// Deletes a project and its environments.
    #[command(alias = "delete")]
    Rm {
        /// Slug or id.
        project: String,
    },
}

/// `vibebox env …`.
#[derive(Debug, Subcommand)]
pub enum EnvCommand {
    /// The environments you can see.
    #[command(alias = "ls")]
    List {
        /// Only this project's (slug or id).
        #[arg(long)]
        project: Option<String>,
        #[command(flatten)]
        list: ListArgs,
    },
    /// Creates an environment (stopped), with its ports and variables.
    Create(EnvCreateArgs),
    /// One environment.
    Show {
        /// PROJECT/ENV or id.
        env: String,
    },
    /// Deletes an environment and its container.
    #[command(alias = "delete")]
    Rm {
        /// PROJECT/ENV or id.
        env: String,
    },
    /// Starts an environment and waits until it runs.
    Start(LifecycleArgs),
    /// Stops an environment and waits until it has stopped.
    Stop(LifecycleArgs),
    /// Restarts an environment.
    Restart(LifecycleArgs),
    /// Suspends a running environment: its processes are frozen, their memory kept; any
    /// use (shell, exec, ssh, a tunnel, a preview) resumes it.
    Suspend(LifecycleArgs),
    /// Resumes a suspended environment ahead of use.
    Resume(LifecycleArgs),
    /// Shows or sets when an idle environment is suspended, and when a suspended one is
    /// stopped.
    Idle(EnvIdleArgs),
}

/// `vibebox env idle`.
#[derive(Debug, Args)]
pub struct EnvIdleArgs {
    /// PROJECT/ENV or id.
    pub env: String,
    /// Suspend after this long without activity (e.g. 15m, 2h, 1d), or `never`.
    #[arg(long, value_name = "DURATION|never")]
    pub suspend_after: Option<String>,
    /// Stop after this long suspended (e.g. 24h, 7d), or `never`.
    #[arg(long, value_name = "DURATION|never")]
    pub stop_after: Option<String>,
}

/// `vibebox env create`.
#[derive(Debug, Args)]
pub struct EnvCreateArgs {
    /// PROJECT/ENV: the project's slug (or id) and the new environment's slug.
    pub env: String,
    /// The display name (default: the slug).
    #[arg(long)]
    pub name: Option<String>,
    /// The image (default: the server's base image).
    #[arg(long)]
    pub image: Option<String>,
    /// CPU cores, e.g. 1.5.
    #[arg(long)]
    pub cpu: Option<f64>,
    /// Memory, e.g. 2048 (MB), 512M or 4G.
    #[arg(long)]
    pub memory: Option<String>,
    /// Storage, e.g. 10G.
    #[arg(long)]
    pub storage: Option<String>,
    /// A port to declare: PORT or PORT/udp (repeatable).
    #[arg(long = "port", value_name = "PORT")]
    pub ports: Vec<String>,
    /// A variable, KEY=VALUE (repeatable).
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,
    /// A secret variable whose value is read from stdin or a prompt, never argv (repeatable).
    #[arg(long = "secret", value_name = "KEY")]
    pub secrets: Vec<String>,
    /// Start it once created.
    #[arg(long)]
    pub start: bool,
}

/// `vibebox env start|stop|restart`.
#[derive(Debug, Args)]
pub struct LifecycleArgs {
    /// PROJECT/ENV or id.
    pub env: String,
    /// Return at once instead of waiting for the status to settle.
    #[arg(long)]
    pub no_wait: bool,
    /// Restart only: kill every process at once instead of a graceful stop.
    #[arg(long)]
    pub force: bool,
}

/// `vibebox logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// PROJECT/ENV or id.
    pub env: String,
    /// Keep following new lines until Ctrl-C.
    #[arg(short, long)]
    pub follow: bool,
    /// Only lines newer than this: 30s, 10m, 2h, 1d, or an RFC 3339 time.
    #[arg(long)]
    pub since: Option<String>,
    /// Only this stream.
    #[arg(long, value_enum)]
    pub stream: Option<StreamArg>,
    /// Prefix each line with its time.
    #[arg(short, long)]
    pub timestamps: bool,
}

/// An output stream.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StreamArg {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// `vibebox shell`.
#[derive(Debug, Args)]
pub struct ShellArgs {
    /// PROJECT/ENV or id.
    pub env: String,
    /// A tmux session to attach to (created when missing); reconnecting resumes it.
    #[arg(long, value_name = "NAME")]
    pub session: Option<String>,
}

/// `vibebox exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// PROJECT/ENV or id.
    pub env: String,
    /// The working directory inside.
    #[arg(short = 'w', long)]
    pub workdir: Option<String>,
    /// An extra variable, KEY=VALUE (repeatable).
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,
    /// Kill the command after this long: 30s, 5m.
    #[arg(long)]
    pub timeout: Option<String>,
    /// The command and its arguments (after `--`).
    #[arg(last = true, required = true, num_args = 1..)]
    pub command: Vec<String>,
}

/// `vibebox ssh`.
#[derive(Debug, Args)]
#[command(after_help = "\
The gateway's host keys are written to `known_hosts` in the config directory and pinned
(StrictHostKeyChecking yes); then `ssh` replaces vibebox, so the terminal, signals and exit
code are OpenSSH's: the remote command's code, 255 when ssh or VibeBox failed (no key
registered, no gateway, no ssh installed). You sign in with a key from `vibebox ssh-key add`.

Examples:
  vibebox ssh web/dev                              a login shell
  vibebox ssh web/dev -- make test                 exits with make's code
  vibebox ssh web/dev -- 'cd app && ls | wc -l'    one word: a command line for the shell
  vibebox ssh web/dev -i ~/.ssh/work -o ConnectTimeout=5")]
pub struct SshArgs {
    /// PROJECT/ENV or id.
    pub env: String,
    /// The private key to sign in with (ssh -i); only it is offered (IdentitiesOnly).
    #[arg(short = 'i', long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub identity: Option<PathBuf>,
    /// An OpenSSH option, KEY=VALUE (ssh -o; repeatable); given before VibeBox's, so it wins.
    #[arg(short = 'o', long = "ssh-option", value_name = "KEY=VALUE")]
    pub options: Vec<String>,
    /// A command to run instead of a login shell (after `--`). Several words arrive as they
    /// are, as with `vibebox exec`; one word is a command line for the remote shell.
    #[arg(last = true, num_args = 1..)]
    pub command: Vec<String>,
}

/// `vibebox ssh-config`.
#[derive(Debug, Args)]
#[command(after_help = "\
Use it with `vibebox ssh-config >> ~/.ssh/config`, or keep it in a file of its own that
~/.ssh/config includes (`Include vibebox.conf` at the top) and run it again after creating
environments. Then `ssh web.dev`, `scp`, `sftp` and `rsync` work as with any host.")]
pub struct SshConfigArgs {
    /// Only this project's environments (slug or id).
    #[arg(long)]
    pub project: Option<String>,
}

/// `vibebox ssh-key …`.
#[derive(Debug, Subcommand)]
pub enum SshKeyCommand {
    /// Your SSH keys and their fingerprints.
    #[command(alias = "ls")]
    List,
    /// Registers a public key: a .pub file, or `-` to read it from stdin.
    Add {
        /// The public key file (e.g. ~/.ssh/id_ed25519.pub), or `-` for stdin.
        #[arg(value_name = "PATH_OR_-", value_hint = clap::ValueHint::FilePath)]
        path: String,
        /// A name to recognise it by (default: the key's comment, else the file's name).
        #[arg(long)]
        name: Option<String>,
    },
    /// Removes a key; the gateway stops taking it at once.
    #[command(alias = "delete")]
    Rm {
        /// The key's id, fingerprint (SHA256:…) or name.
        key: String,
    },
}

/// `vibebox cp`.
#[derive(Debug, Args)]
pub struct CpArgs {
    /// LOCAL or ENV:PATH.
    pub source: String,
    /// ENV:PATH or LOCAL.
    pub destination: String,
}

/// `vibebox port-forward`.
#[derive(Debug, Args)]
pub struct PortForwardArgs {
    /// PROJECT/ENV or id.
    pub env: String,
    /// LOCAL:REMOTE or PORT (the same on both sides); LOCAL 0 picks a free port.
    #[arg(required = true, num_args = 1..)]
    pub ports: Vec<String>,
    /// The local address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub address: String,
}

/// `vibebox open`.
#[derive(Debug, Args)]
pub struct OpenArgs {
    /// PROJECT/ENV or id.
    pub env: String,
    /// The port inside the environment.
    pub port: u16,
    /// Print the URL only; do not start a browser.
    #[arg(long)]
    pub print: bool,
}

/// `vibebox vars …`.
#[derive(Debug, Subcommand)]
pub enum VarsCommand {
    /// An environment's variables (secret values are never shown).
    #[command(alias = "ls")]
    List {
        /// PROJECT/ENV or id.
        env: String,
    },
    /// Sets variables: KEY=VALUE…
    Set {
        /// PROJECT/ENV or id.
        env: String,
        /// KEY=VALUE pairs.
        #[arg(required = true, num_args = 1..)]
        pairs: Vec<String>,
    },
    /// Sets a secret variable; the value is read from stdin or a prompt.
    Secret {
        /// PROJECT/ENV or id.
        env: String,
        /// The name.
        key: String,
    },
    /// Removes variables.
    #[command(alias = "delete")]
    Rm {
        /// PROJECT/ENV or id.
        env: String,
        /// Names.
        #[arg(required = true, num_args = 1..)]
        keys: Vec<String>,
    },
}

/// `vibebox ports …`.
#[derive(Debug, Subcommand)]
pub enum PortsCommand {
    /// Declared ports, their host ports and share levels.
    #[command(alias = "ls")]
    List {
        /// PROJECT/ENV or id.
        env: String,
    },
    /// Declares a port (applies at the next start).
    Add {
        /// PROJECT/ENV or id.
        env: String,
        /// PORT or PORT/udp.
        port: String,
        /// Its share level.
        #[arg(long, value_enum)]
        share: Option<ShareArg>,
    },
    /// Sets who may open a port's preview URL.
    Share {
        /// PROJECT/ENV or id.
        env: String,
        /// The container port.
        port: u16,
        /// The level.
        #[arg(value_enum)]
        level: ShareArg,
    },
    /// Removes a declared port.
    #[command(alias = "delete")]
    Rm {
        /// PROJECT/ENV or id.
        env: String,
        /// The container port.
        port: u16,
    },
}

/// A share level.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ShareArg {
    /// Developers and admins of the project.
    Private,
    /// Any member of the owning team.
    Team,
    /// Any signed-in user.
    Authenticated,
    /// Anyone.
    Public,
}

/// `vibebox sessions …`.
#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// An environment's sessions.
    #[command(alias = "ls")]
    List {
        /// PROJECT/ENV or id.
        env: String,
        /// Terminated ones too.
        #[arg(long)]
        all: bool,
    },
    /// Starts a session.
    Create {
        /// PROJECT/ENV or id.
        env: String,
        /// The kind.
        #[arg(long, value_enum, default_value_t = SessionKindArg::Tmux)]
        kind: SessionKindArg,
        /// Its name.
        #[arg(long)]
        name: Option<String>,
    },
    /// Terminates a session.
    #[command(alias = "kill")]
    Rm {
        /// The session id.
        id: String,
    },
}

/// A session kind.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SessionKindArg {
    /// A login shell.
    Shell,
    /// A tmux session.
    Tmux,
    /// A VS Code server.
    Vscode,
}

/// `vibebox extensions …`.
#[derive(Debug, Subcommand)]
pub enum ExtensionsCommand {
    /// The server's extension catalog, or an environment's installs with --env.
    #[command(alias = "ls")]
    List {
        /// PROJECT/ENV or id.
        #[arg(long)]
        env: Option<String>,
    },
    /// Installs an extension (publisher.name, or publisher.name@version) in an environment.
    Install {
        /// PROJECT/ENV or id.
        env: String,
        /// publisher.name or publisher.name@version.
        extension: String,
    },
    /// Uninstalls an extension from an environment.
    Uninstall {
        /// PROJECT/ENV or id.
        env: String,
        /// publisher.name.
        extension: String,
    },
}

/// `vibebox keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Your API keys (never their secrets).
    #[command(alias = "ls")]
    List,
    /// Creates an API key and prints it once.
    Create {
        /// A name to recognise it by.
        name: String,
        /// Days until it expires (default: the server's).
        #[arg(long)]
        expires_in_days: Option<u32>,
        /// A scope to grant (repeatable): read, projects:write, environments:write,
        /// environments:lifecycle, environments:exec, teams:write, account:write, admin.
        /// Default: all but admin.
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
    },
    /// Revokes an API key.
    #[command(alias = "delete")]
    Rm {
        /// The key's id or prefix.
        key: String,
    },
}

/// `vibebox audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// A team's log (slug or id) instead of yours.
    #[arg(long)]
    pub team: Option<String>,
    #[command(flatten)]
    pub list: ListArgs,
}

/// `vibebox completion`.
#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Where `cp` copies from or to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CpEnd {
    /// A local path.
    Local(PathBuf),
    /// `ENV:PATH`.
    Remote {
        /// PROJECT/ENV or id.
        env: String,
        /// The path inside.
        path: String,
    },
}

impl CpEnd {
    /// `ENV:PATH` (ENV being PROJECT/ENV or an id) is remote; a path that starts with `/`,
    /// `.` or `~`, or has no colon, is local.
    pub fn parse(text: &str) -> Self {
        let local = text.starts_with('/') || text.starts_with('.') || text.starts_with('~');
        match text.split_once(':') {
            Some((env, path)) if !local && !env.is_empty() => Self::Remote {
                env: env.to_owned(),
                path: if path.is_empty() {
                    ".".into()
                } else {
                    path.to_owned()
                },
            },
            _ => Self::Local(PathBuf::from(text)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn cp_ends_are_remote_only_with_an_env_prefix() {
        assert_eq!(
            CpEnd::parse("web/dev:/tmp/a"),
            CpEnd::Remote {
                env: "web/dev".into(),
                path: "/tmp/a".into()
            }
        );
        assert_eq!(CpEnd::parse("./a:b"), CpEnd::Local("./a:b".into()));
        assert_eq!(CpEnd::parse("/abs/x"), CpEnd::Local("/abs/x".into()));
        assert_eq!(CpEnd::parse("file.txt"), CpEnd::Local("file.txt".into()));
    }

    #[test]
    fn exec_takes_the_command_after_double_dash() -> Result<(), clap::Error> {
        let cli = Cli::try_parse_from(["vibebox", "exec", "p/e", "--", "ls", "-la"])?;
        let Command::Exec(args) = cli.command else {
            return Err(clap::Error::new(clap::error::ErrorKind::InvalidSubcommand));
        };
        assert_eq!(args.command, ["ls", "-la"]);
        Ok(())
    }

    #[test]
    fn ssh_takes_options_before_the_env_and_the_command_after_double_dash()
    -> Result<(), clap::Error> {
        let cli = Cli::try_parse_from([
            "vibebox", "ssh", "-o", "A=1", "p/e", "-i", "/k", "--", "sh", "-c", "exit 3",
        ])?;
        let Command::Ssh(args) = cli.command else {
            return Err(clap::Error::new(clap::error::ErrorKind::InvalidSubcommand));
        };
        assert_eq!(args.env, "p/e");
        assert_eq!(args.options, ["A=1"]);
        assert_eq!(args.identity, Some(PathBuf::from("/k")));
        assert_eq!(args.command, ["sh", "-c", "exit 3"]);
        let cli = Cli::try_parse_from(["vibebox", "ssh", "p/e"])?;
        let Command::Ssh(args) = cli.command else {
            return Err(clap::Error::new(clap::error::ErrorKind::InvalidSubcommand));
        };
        assert!(args.command.is_empty());
        Ok(())
    }
}
