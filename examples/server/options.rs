//! The server's settings: each from a flag, else an environment variable, else a default.
//! Secrets (keys, OAuth client secrets) come only from the environment or the key file,
//! never from flags, so they do not show in `ps`.

use std::net::SocketAddr;
use std::path::PathBuf;

use secrecy::SecretString;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The instance label of a server given none.
pub const DEFAULT_INSTANCE: &str = "default";

pub const USAGE: &str = "\
usage: server [flags]

  --database URL            VIBEBOX_DATABASE_URL       sqlite://vibebox.db (or postgres://...)
  --listen ADDR             VIBEBOX_LISTEN             127.0.0.1:3000
  --public-url URL          VIBEBOX_PUBLIC_URL         http://<listen> (OAuth callbacks)
  --keys PATH               VIBEBOX_KEY_FILE           ./vibebox.keys (created on first run, 0600)
  (secret)                  VIBEBOX_ENCRYPTION_KEYS    bring your own keyring instead of the file
  (secret)                  VIBEBOX_SIGNING_KEY        bring your own <kid>=<base64url key>
  (secret)                  VIBEBOX_SSH_HOST_KEY       bring your own Ed25519 SSH host key (OpenSSH
                                                       private key, or the key file's one-line form)
  --cors-origin URL         VIBEBOX_CORS_ORIGINS       none (repeat the flag, or comma-separate)
  --instance NAME           VIBEBOX_INSTANCE           default (label vibebox.instance on this
                                                       server's containers; it manages no others)
  --no-first-user-admin     VIBEBOX_FIRST_USER_ADMIN   true (the first account is platform admin)
  --rate-limit-per-ip N     VIBEBOX_RATE_LIMIT_PER_IP  6000 requests/minute per address, 0 = off
  --rate-limit-auth N       VIBEBOX_RATE_LIMIT_AUTH    60 sign-in requests/minute per address
  --rate-limit-per-user N   VIBEBOX_RATE_LIMIT_PER_USER 3000 requests/minute per user
  --worker-threads N        VIBEBOX_WORKER_THREADS     one fewer than the CPUs, at least 1 (the
                                                       database's own threads get the rest)
  --base-image IMAGE        VIBEBOX_BASE_IMAGE         vibebox/base:bookworm (checked at startup)
  --no-build-images         VIBEBOX_BUILD_IMAGES       true (build a missing base image with
                                                       scripts/base-image, about a minute, and
                                                       fetch missing console assets with
                                                       scripts/console-assets)
  --console-vendor-dir DIR  VIBEBOX_CONSOLE_VENDOR     <repository>/target/console-vendor (the
                                                       console's xterm.js files)
  --secure-cookies          VIBEBOX_SECURE_COOKIES     true when --public-url is https (the
                                                       session cookie is sent over https only)
  --trusted-proxy CIDR      VIBEBOX_TRUSTED_PROXIES    none (reverse proxies whose X-Forwarded-For
                                                       names the client; repeat the flag, or
                                                       comma-separate: 10.0.0.0/8,127.0.0.1)
  --ssh-listen ADDR         VIBEBOX_SSH_LISTEN         127.0.0.1:2222 (the SSH gateway; off = none)
  --ssh-public-host HOST    VIBEBOX_SSH_PUBLIC_HOST    the API's host (where clients reach the
                                                       gateway, as GET /api/v1/ssh tells them)
  --preview-domain DOMAIN   VIBEBOX_PREVIEW_DOMAIN     vibebox.localhost (preview URLs at
                                                       <port>--<env>--<project>.DOMAIN; off = none)
  --preview-tls             VIBEBOX_PREVIEW_TLS        false (previews are served over https by a
                                                       proxy in front: https URLs, Secure cookie)
  --pool SHAPE              VIBEBOX_POOL               none (warm containers for instant
                                                       create-and-start; SHAPE is
                                                       count=N,cpu=C,memory=MB,image=IMAGE; repeat
                                                       the flag, or separate shapes with `;`)
  (secret)                  VIBEBOX_GITHUB_CLIENT_ID, VIBEBOX_GITHUB_CLIENT_SECRET, VIBEBOX_GITHUB_URL
  (secret)                  VIBEBOX_GOOGLE_CLIENT_ID, VIBEBOX_GOOGLE_CLIENT_SECRET, VIBEBOX_GOOGLE_URL
                            DOCKER_HOST                unix:///var/run/docker.sock
";

/// One OAuth provider's client, from the environment.
pub struct OAuthClient {
    pub client_id: String,
    pub client_secret: SecretString,
    /// Where its endpoints live, when not the public service (a test double, GitHub
    /// Enterprise).
    pub base_url: Option<String>,
}

pub struct Options {
    pub database: String,
    pub listen: SocketAddr,
    pub public_url: String,
    pub keys: PathBuf,
    pub encryption_keys: Option<SecretString>,
    pub signing_key: Option<SecretString>,
    pub ssh_host_key: Option<SecretString>,
    pub cors_origins: Vec<String>,
    pub instance: Option<String>,
    pub first_user_admin: bool,
    pub rate_limit_per_ip: u32,
    pub rate_limit_auth: u32,
    pub rate_limit_per_user: u32,
    pub worker_threads: usize,
    /// The image checked for at startup.
    pub base_image: String,
    /// Whether a missing base image is built with `scripts/base-image` at startup (else the
    /// image is not checked at all), and missing console assets fetched with
    /// `scripts/console-assets`.
    pub build_images: bool,
    /// Where the console's third-party files (xterm.js) are.
    pub console_vendor_dir: PathBuf,
    /// Whether the session cookie is `Secure`.
    pub secure_cookies: bool,
    /// The reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<vibebox_http::client_ip::Cidr>,
    /// Where the SSH gateway listens; `None` runs none.
    pub ssh_listen: Option<SocketAddr>,
    /// The host clients reach the gateway at, when not the API's.
    pub ssh_public_host: Option<String>,
    /// The preview domain; `None` turns preview URLs off.
    pub preview_domain: Option<String>,
    /// Whether previews are served over TLS (by a proxy in front).
    pub preview_tls: bool,
    /// The warm pool's shapes.
    pub pool: Vec<vibebox::config::PoolShape>,
    pub github: Option<OAuthClient>,
    pub google: Option<OAuthClient>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn number(what: &str, value: &str) -> Result<u32, BoxError> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("{what} must be a whole number, got {value:?}").into())
}

fn boolean(what: &str, value: &str) -> Result<bool, BoxError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(format!("{what} must be true or false, got {value:?}").into()),
    }
}

fn oauth_client(provider: &str) -> Result<Option<OAuthClient>, BoxError> {
    let upper = provider.to_ascii_uppercase();
    let id = env(&format!("VIBEBOX_{upper}_CLIENT_ID"));
    let secret = env(&format!("VIBEBOX_{upper}_CLIENT_SECRET"));
    match (id, secret) {
        (Some(client_id), Some(secret)) => Ok(Some(OAuthClient {
            client_id,
            client_secret: SecretString::from(secret),
            base_url: env(&format!("VIBEBOX_{upper}_URL")),
        })),
        (None, None) => Ok(None),
        _ => Err(format!(
            "set both VIBEBOX_{upper}_CLIENT_ID and VIBEBOX_{upper}_CLIENT_SECRET, or neither"
        )
        .into()),
    }
}

/// A warm pool shape: `count=N,cpu=C,memory=MB,image=IMAGE` (cpu defaults to 2, memory to
/// 4096 MB, the environments' defaults).
fn pool_shape(what: &str, text: &str) -> Result<vibebox::config::PoolShape, BoxError> {
    let mut shape = vibebox::config::PoolShape {
        image: String::new(),
        cpu_limit: 2.0,
        memory_limit: 4096,
        count: 0,
    };
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || {
            format!("{what}: {part:?} in {text:?} is not count=N, cpu=C, memory=MB or image=IMAGE")
        };
        let (key, value) = part.split_once('=').ok_or_else(bad)?;
        match key.trim() {
            "count" => shape.count = value.trim().parse().map_err(|_| bad())?,
            "cpu" => shape.cpu_limit = value.trim().parse().map_err(|_| bad())?,
            "memory" => shape.memory_limit = value.trim().parse().map_err(|_| bad())?,
            "image" => shape.image = value.trim().to_string(),
            _ => return Err(bad().into()),
        }
    }
    if shape.image.is_empty() || shape.count == 0 {
        return Err(format!("{what}: {text:?} needs image=IMAGE and count=N (at least 1)").into());
    }
    Ok(shape)
}

/// Reads the flags (`args`, without the program name) over the environment.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, BoxError> {
    let mut database = env("VIBEBOX_DATABASE_URL").unwrap_or_else(|| "sqlite://vibebox.db".into());
    let mut listen = env("VIBEBOX_LISTEN").unwrap_or_else(|| "127.0.0.1:3000".into());
    let mut public_url = env("VIBEBOX_PUBLIC_URL");
    let mut keys = env("VIBEBOX_KEY_FILE").unwrap_or_else(|| "vibebox.keys".into());
    let mut cors_origins: Vec<String> = env("VIBEBOX_CORS_ORIGINS")
        .map(|v| {
            v.split(',')
                .map(|o| o.trim().to_string())
                .filter(|o| !o.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let mut instance = env("VIBEBOX_INSTANCE");
    let mut first_user_admin = match env("VIBEBOX_FIRST_USER_ADMIN") {
        Some(v) => boolean("VIBEBOX_FIRST_USER_ADMIN", &v)?,
        None => true,
    };
    let limit = |name: &str, default: u32| -> Result<u32, BoxError> {
        env(name).map_or(Ok(default), |v| number(name, &v))
    };
    let mut rate_limit_per_ip = limit("VIBEBOX_RATE_LIMIT_PER_IP", 6000)?;
    let mut rate_limit_auth = limit("VIBEBOX_RATE_LIMIT_AUTH", 60)?;
    let mut rate_limit_per_user = limit("VIBEBOX_RATE_LIMIT_PER_USER", 3000)?;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    // SQLite runs each query on a thread of its own; on a small machine a worker per CPU
    // leaves those threads (and Docker) no core, and the waits stretch every request.
    let default_workers = u32::try_from(cpus)
        .unwrap_or(u32::MAX)
        .saturating_sub(1)
        .max(1);
    let mut worker_threads = limit("VIBEBOX_WORKER_THREADS", default_workers)?;
    let mut base_image =
        env("VIBEBOX_BASE_IMAGE").unwrap_or_else(|| crate::images::BASE_IMAGE.into());
    let mut build_images = match env("VIBEBOX_BUILD_IMAGES") {
        Some(v) => boolean("VIBEBOX_BUILD_IMAGES", &v)?,
        None => true,
    };
    let mut console_vendor_dir =
        env("VIBEBOX_CONSOLE_VENDOR").unwrap_or_else(|| crate::console::DEFAULT_VENDOR_DIR.into());
    let mut secure_cookies = match env("VIBEBOX_SECURE_COOKIES") {
        Some(v) => Some(boolean("VIBEBOX_SECURE_COOKIES", &v)?),
        None => None,
    };
    let mut trusted_proxies = match env("VIBEBOX_TRUSTED_PROXIES") {
        Some(v) => v
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.parse())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("VIBEBOX_TRUSTED_PROXIES: {e}"))?,
        None => Vec::new(),
    };
    let mut ssh_listen = env("VIBEBOX_SSH_LISTEN").unwrap_or_else(|| "127.0.0.1:2222".into());
    let mut ssh_public_host = env("VIBEBOX_SSH_PUBLIC_HOST");
    let mut preview_domain =
        env("VIBEBOX_PREVIEW_DOMAIN").unwrap_or_else(|| "vibebox.localhost".into());
    let mut preview_tls = match env("VIBEBOX_PREVIEW_TLS") {
        Some(v) => boolean("VIBEBOX_PREVIEW_TLS", &v)?,
        None => false,
    };

    let mut pool = match env("VIBEBOX_POOL") {
        Some(v) => v
            .split(';')
            .filter(|s| !s.trim().is_empty())
            .map(|s| pool_shape("VIBEBOX_POOL", s))
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };

    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--database" => database = value()?,
            "--listen" => listen = value()?,
            "--public-url" => public_url = Some(value()?),
            "--keys" => keys = value()?,
            "--cors-origin" => cors_origins.push(value()?),
            "--instance" => instance = Some(value()?),
            "--no-first-user-admin" => first_user_admin = false,
            "--rate-limit-per-ip" => rate_limit_per_ip = number(&flag, &value()?)?,
            "--rate-limit-auth" => rate_limit_auth = number(&flag, &value()?)?,
            "--rate-limit-per-user" => rate_limit_per_user = number(&flag, &value()?)?,
            "--worker-threads" => worker_threads = number(&flag, &value()?)?,
            "--base-image" => base_image = value()?,
            "--no-build-images" => build_images = false,
            "--console-vendor-dir" => console_vendor_dir = value()?,
            "--secure-cookies" => secure_cookies = Some(true),
            "--trusted-proxy" => trusted_proxies.push(
                value()?
                    .parse()
                    .map_err(|e| format!("--trusted-proxy: {e}"))?,
            ),
            "--ssh-listen" => ssh_listen = value()?,
            "--ssh-public-host" => ssh_public_host = Some(value()?),
            "--preview-domain" => preview_domain = value()?,
            "--preview-tls" => preview_tls = true,
            "--pool" => pool.push(pool_shape("--pool", &value()?)?),
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown flag {other} (try --help)").into()),
        }
    }
    let preview_domain = preview_domain.trim().trim_matches('.').to_ascii_lowercase();
    let preview_domain = match preview_domain.as_str() {
        "off" | "none" => None,
        d if d.is_empty()
            || !d.split('.').all(|l| {
                !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            }) =>
        {
            return Err(format!(
                "--preview-domain (VIBEBOX_PREVIEW_DOMAIN) {d:?} is not a domain name (or `off`)"
            )
            .into());
        }
        d => Some(d.to_string()),
    };
    if worker_threads == 0 {
        return Err("--worker-threads (VIBEBOX_WORKER_THREADS) must be at least 1".into());
    }
    let listen: SocketAddr = listen
        .parse()
        .map_err(|e| format!("--listen {listen}: {e}"))?;
    let ssh_listen = match ssh_listen.trim() {
        "off" | "none" => None,
        addr => Some(addr.parse::<SocketAddr>().map_err(|e| {
            format!("--ssh-listen (VIBEBOX_SSH_LISTEN) {addr}: {e} (an address:port, or `off`)")
        })?),
    };
    let public_url = public_url
        .unwrap_or_else(|| format!("http://{listen}"))
        .trim_end_matches('/')
        .to_string();
    let secure_cookies = secure_cookies.unwrap_or(public_url.starts_with("https://"));
    Ok(Options {
        database,
        listen,
        public_url,
        keys: PathBuf::from(keys),
        encryption_keys: env("VIBEBOX_ENCRYPTION_KEYS").map(SecretString::from),
        signing_key: env("VIBEBOX_SIGNING_KEY").map(SecretString::from),
        ssh_host_key: env("VIBEBOX_SSH_HOST_KEY").map(SecretString::from),
        cors_origins,
        instance,
        first_user_admin,
        rate_limit_per_ip,
        rate_limit_auth,
        rate_limit_per_user,
        worker_threads: worker_threads as usize,
        base_image,
        build_images,
        console_vendor_dir: PathBuf::from(console_vendor_dir),
        secure_cookies,
        trusted_proxies,
        ssh_listen,
        ssh_public_host,
        preview_domain,
        preview_tls,
        pool,
        github: oauth_client("github")?,
        google: oauth_client("google")?,
    })
}
