//! Validation rules of DESIGN.md §2. Each function checks one kind of value and, on failure,
//! returns `InvalidInput` naming the field. None of them panics, whatever the input.

use secrecy::{ExposeSecret, SecretString};

use crate::domain::IdlePolicy;
use crate::error::{Error, Result};

/// Longest email address accepted (RFC 5321 path limit).
pub const EMAIL_MAX: usize = 254;
/// Longest name (display, team, project, environment, key).
pub const NAME_MAX: usize = 100;
/// Slug length bounds.
pub const SLUG_MIN: usize = 3;
/// Slug length bounds.
pub const SLUG_MAX: usize = 50;
/// Longest description.
pub const DESCRIPTION_MAX: usize = 2000;
/// Password length bounds, in characters.
pub const PASSWORD_MIN: usize = 8;
/// Password length bounds, in characters (long passphrases are welcome; nothing is truncated).
pub const PASSWORD_MAX: usize = 1024;
/// Largest variable value, in bytes.
pub const VARIABLE_VALUE_MAX: usize = 32 * 1024;
/// Longest variable key.
pub const VARIABLE_KEY_MAX: usize = 128;
/// CPU limit bounds, in cores.
pub const CPU_MIN: f64 = 0.01;
/// CPU limit bounds, in cores.
pub const CPU_MAX: f64 = 256.0;
/// Memory limit bounds, in MB.
pub const MEMORY_MIN_MB: i64 = 64;
/// Memory limit bounds, in MB (1 TiB).
pub const MEMORY_MAX_MB: i64 = 1024 * 1024;
/// Storage limit bounds, in MB.
pub const STORAGE_MIN_MB: i64 = 512;
/// Storage limit bounds, in MB (16 TiB).
pub const STORAGE_MAX_MB: i64 = 16 * 1024 * 1024;
/// Idle timeout bounds, in minutes (up to a week).
pub const IDLE_TIMEOUT_MAX_MINUTES: i32 = 7 * 24 * 60;

/// Substrings that make a variable key secret-like; such variables are always encrypted.
pub const SECRET_KEY_MARKERS: &[&str] = &["API_KEY", "SECRET", "PASSWORD", "TOKEN", "PRIVATE_KEY"];

const COMMON_PASSWORDS: &[&str] = &[
    "password",
    "password1",
    "password12",
    "password123",
    "password1234",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "12345678",
    "123456789",
    "1234567890",
    "12341234",
    "87654321",
    "11111111",
    "00000000",
    "88888888",
    "qwertyui",
    "qwertyuiop",
    "qwerty123",
    "qwerty12",
    "1q2w3e4r",
    "1q2w3e4r5t",
    "1qaz2wsx",
    "zaq12wsx",
    "asdfghjkl",
    "asdfasdf",
    "abcd1234",
    "abc12345",
    "iloveyou",
    "iloveyou1",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "welcome1",
    "welcome123",
    "letmein1",
    "letmein123",
    "trustno1",
    "superman",
    "starwars",
    "whatever",
    "michael1",
    "shadow12",
    "master12",
    "monkey123",
    "dragon123",
    "jennifer",
    "computer",
    "internet",
    "changeme",
    "changeme1",
    "administrator",
    "admin123",
    "admin1234",
    "login123",
    "secret123",
    "default1",
    "mustang1",
    "liverpool",
    "chelsea1",
    "charlie1",
    "freedom1",
    "passpass",
    "testtest",
    "test1234",
    "q1w2e3r4",
    "q1w2e3r4t5",
    "aaaaaaaa",
    "access14",
    "batman123",
    "hello123",
    "hellohello",
    "loveyou1",
    "babygirl",
    "password!",
    "vibebox1",
    "vibebox123",
];

fn invalid(field: &'static str, reason: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::invalid(field, reason)
}

/// Validates and normalizes an email address: trimmed and lowercased.
pub fn email(value: &str) -> Result<String> {
    let v = value.trim().to_ascii_lowercase();
    if v.is_empty() {
        return Err(invalid("email", "must not be empty"));
    }
    if v.len() > EMAIL_MAX {
        return Err(invalid("email", "must be at most 254 characters"));
    }
    let Some((local, domain)) = v.rsplit_once('@') else {
        return Err(invalid("email", "must contain @"));
    };
    if local.is_empty() || local.len() > 64 {
        return Err(invalid(
            "email",
            "the part before @ must be 1-64 characters",
        ));
    }
    let local_ok = local
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    if !local_ok {
        return Err(invalid(
            "email",
            "the part before @ has characters that are not allowed",
        ));
    }
    hostname(domain).map_err(|_| invalid("email", "the domain is not valid"))?;
    if !domain.contains('.') {
        return Err(invalid("email", "the domain must contain a dot"));
    }
    let tld = domain.rsplit('.').next().unwrap_or_default();
    // Letters, or an internationalized top-level domain in punycode (`xn--p1ai`).
    let tld_ok = tld.len() >= 2
        && (tld.chars().all(|c| c.is_ascii_alphabetic())
            || tld
                .strip_prefix("xn--")
                .is_some_and(|rest| !rest.is_empty()));
    if !tld_ok {
        return Err(invalid("email", "the domain's last label must be letters"));
    }
    Ok(v)
}

fn hostname(domain: &str) -> std::result::Result<(), ()> {
    if domain.is_empty() || domain.len() > 253 {
        return Err(());
    }
    for label in domain.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(());
        }
    }
    Ok(())
}

/// Validates a human-readable name of 1–100 characters without control characters; returns it
/// trimmed.
pub fn name(field: &'static str, value: &str) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if v.chars().count() > NAME_MAX {
        return Err(invalid(field, "must be at most 100 characters"));
    }
    if v.chars().any(char::is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(v.to_string())
}

/// Validates a display name (1–100 characters).
pub fn display_name(value: &str) -> Result<String> {
    name("display_name", value)
}

/// Validates a slug: `^[a-z0-9]+(-[a-z0-9]+)*$`, 3–50 characters.
pub fn slug(field: &'static str, value: &str) -> Result<()> {
    if value.len() < SLUG_MIN || value.len() > SLUG_MAX {
        return Err(invalid(field, "must be 3-50 characters"));
    }
    let charset = value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !charset {
        return Err(invalid(
            field,
            "may contain only lowercase letters, digits and hyphens",
        ));
    }
    if value.starts_with('-') || value.ends_with('-') || value.contains("--") {
        return Err(invalid(field, "hyphens must separate letters or digits"));
    }
    Ok(())
}

/// Validates an optional description (at most 2000 characters).
pub fn description(value: &str) -> Result<()> {
    if value.chars().count() > DESCRIPTION_MAX {
        return Err(invalid("description", "must be at most 2000 characters"));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(invalid(
            "description",
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// Validates a new password: 8–1024 characters and not a commonly used password.
pub fn password(value: &SecretString) -> Result<()> {
    let v = value.expose_secret();
    let n = v.chars().count();
    if n < PASSWORD_MIN {
        return Err(invalid("password", "must be at least 8 characters"));
    }
    if n > PASSWORD_MAX {
        return Err(invalid("password", "must be at most 1024 characters"));
    }
    let lower = v.to_lowercase();
    if COMMON_PASSWORDS.contains(&lower.as_str()) {
        return Err(invalid("password", "is too common; choose another"));
    }
    if v.chars().all(|c| v.starts_with(c)) {
        return Err(invalid("password", "must not repeat a single character"));
    }
    Ok(())
}

/// Validates an OpenSSH public key (`ssh-ed25519`, `ssh-rsa` of at least 2048 bits,
/// `ecdsa-sha2-nistp256/384/521`, or their `sk-` security-key forms) and returns it trimmed.
/// The rules are [`PublicKeyLine::parse`](crate::ssh::PublicKeyLine::parse)'s; the error
/// names `ssh_public_key`, the profile field.
pub fn ssh_public_key(value: &str) -> Result<String> {
    crate::ssh::PublicKeyLine::parse(value).map_err(|e| match e {
        Error::InvalidInput { reason, .. } => Error::invalid("ssh_public_key", reason),
        other => other,
    })?;
    Ok(value.trim().to_string())
}

/// Validates an environment variable key: `^[A-Z_][A-Z0-9_]*$`, at most 128 characters.
pub fn variable_key(value: &str) -> Result<()> {
    if value.is_empty() || value.len() > VARIABLE_KEY_MAX {
        return Err(invalid("key", "must be 1-128 characters"));
    }
    let mut chars = value.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_uppercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !first_ok || !rest_ok {
        return Err(invalid(
            "key",
            "must match ^[A-Z_][A-Z0-9_]*$ (uppercase letters, digits, underscores)",
        ));
    }
    Ok(())
}

/// Validates a variable value: at most 32 KiB, no NUL byte.
pub fn variable_value(value: &str) -> Result<()> {
    if value.len() > VARIABLE_VALUE_MAX {
        return Err(invalid("value", "must be at most 32768 bytes"));
    }
    if value.contains('\0') {
        return Err(invalid("value", "must not contain NUL bytes"));
    }
    Ok(())
}

/// Whether a variable key looks like a secret (and so is always encrypted).
pub fn is_secret_like_key(key: &str) -> bool {
    let upper = key.to_ascii_uppercase();
    SECRET_KEY_MARKERS.iter().any(|m| upper.contains(m))
}

/// Validates a container port (1–65535).
pub fn container_port(value: i64) -> Result<u16> {
    u16::try_from(value)
        .ok()
        .filter(|p| *p >= 1)
        .ok_or_else(|| invalid("container_port", "must be between 1 and 65535"))
}

/// Validates a requested host port (1024–65535).
pub fn host_port(value: i64) -> Result<u16> {
    u16::try_from(value)
        .ok()
        .filter(|p| *p >= 1024)
        .ok_or_else(|| invalid("host_port", "must be between 1024 and 65535"))
}

/// Validates a semantic version (`1.2.3`, `1.0.0-beta.1`).
pub fn semver(field: &'static str, value: &str) -> Result<()> {
    semver::Version::parse(value)
        .map(|_| ())
        .map_err(|_| invalid(field, "must be a semantic version such as 1.2.3"))
}

/// Validates an extension id `publisher.name` and returns it lowercased with its publisher.
pub fn extension_id(value: &str) -> Result<(String, String)> {
    const FIELD: &str = "extension_id";
    let v = value.trim().to_ascii_lowercase();
    let Some((publisher, name)) = v.split_once('.') else {
        return Err(invalid(FIELD, "must be publisher.name"));
    };
    let part_ok = |p: &str| {
        !p.is_empty()
            && p.len() <= 128
            && p.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if !part_ok(publisher) || !part_ok(name) {
        return Err(invalid(
            FIELD,
            "must be publisher.name, each part letters, digits, '-' or '_'",
        ));
    }
    let publisher = publisher.to_string();
    Ok((v, publisher))
}

/// Validates a container image reference (`[registry[:port]/]path[:tag][@digest]`), per the
/// Docker reference grammar.
pub fn image_reference(value: &str) -> Result<()> {
    const FIELD: &str = "base_image";
    let err = |reason: &'static str| invalid(FIELD, reason);
    if value.is_empty() || value.len() > 512 {
        return Err(err("must be 1-512 characters"));
    }
    let (rest, digest) = match value.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (value, None),
    };
    if let Some(d) = digest {
        let Some((alg, hex)) = d.split_once(':') else {
            return Err(err("digest must be algorithm:hex"));
        };
        let alg_ok = !alg.is_empty()
            && alg
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c));
        let hex_ok = hex.len() >= 32
            && hex
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase());
        if !alg_ok || !hex_ok {
            return Err(err("digest is malformed"));
        }
    }
    // A tag follows the last ':' that comes after the last '/'.
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(t) = tag {
        let ok = !t.is_empty()
            && t.len() <= 128
            && t.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if !ok {
            return Err(err("tag must be 1-128 of letters, digits, '_', '.', '-'"));
        }
    }
    if name.is_empty() || name.len() > 255 {
        return Err(err("repository name must be 1-255 characters"));
    }
    let mut components: Vec<&str> = name.split('/').collect();
    let first = components.first().copied().unwrap_or_default();
    if components.len() > 1
        && (first.contains('.')
            || first.contains(':')
            || first == "localhost"
            || first.chars().any(|c| c.is_ascii_uppercase()))
    {
        let (host, port) = match first.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (first, None),
        };
        if hostname(host).is_err() {
            return Err(err("registry host is not valid"));
        }
        if let Some(p) = port
            && (p.is_empty() || p.len() > 5 || !p.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(err("registry port is not valid"));
        }
        components.remove(0);
    }
    for c in components {
        if !path_component(c) {
            return Err(err(
                "repository path components must be lowercase letters and digits, separated by '.', '_', '__' or '-'",
            ));
        }
    }
    Ok(())
}

fn path_component(c: &str) -> bool {
    let bytes = c.as_bytes();
    if bytes.is_empty() {
        return false;
    }
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.chars().all(|ch| ch == '-');
        if !ok {
            return false;
        }
    }
    true
}

/// Validates a CPU limit in cores (0.01–256, finite).
pub fn cpu_limit(value: f64) -> Result<()> {
    if !value.is_finite() || !(CPU_MIN..=CPU_MAX).contains(&value) {
        return Err(invalid(
            "cpu_limit",
            "must be greater than 0 (at least 0.01) and at most 256",
        ));
    }
    Ok(())
}

/// Validates a memory limit in MB (64 MB – 1 TiB).
pub fn memory_limit(value: i64) -> Result<()> {
    if !(MEMORY_MIN_MB..=MEMORY_MAX_MB).contains(&value) {
        return Err(invalid("memory_limit", "must be between 64 and 1048576 MB"));
    }
    Ok(())
}

/// Validates a storage limit in MB (512 MB – 16 TiB).
pub fn storage_limit(value: i64) -> Result<()> {
    if !(STORAGE_MIN_MB..=STORAGE_MAX_MB).contains(&value) {
        return Err(invalid(
            "storage_limit",
            "must be between 512 and 16777216 MB",
        ));
    }
    Ok(())
}

/// Validates an idle policy: suspend after 1 minute to 7 days, stop after 1 hour to a year.
pub fn idle_policy(policy: &IdlePolicy) -> Result<()> {
    if policy
        .suspend_after_minutes
        .is_some_and(|m| !(1..=IDLE_SUSPEND_MAX_MINUTES).contains(&m))
    {
        return Err(invalid(
            "idle_policy.suspend_after_minutes",
            "must be between 1 and 10080 minutes, or null for never",
        ));
    }
    if policy
        .stop_after_hours
        .is_some_and(|h| !(1..=IDLE_STOP_MAX_HOURS).contains(&h))
    {
        return Err(invalid(
            "idle_policy.stop_after_hours",
            "must be between 1 and 8760 hours, or null for never",
        ));
    }
    Ok(())
}

/// The longest idle time before a suspend: a week.
const IDLE_SUSPEND_MAX_MINUTES: i32 = 7 * 24 * 60;
/// The longest time suspended before a stop: a year.
const IDLE_STOP_MAX_HOURS: i32 = 365 * 24;

/// Validates a session name: 1–64 of letters, digits, `_` and `-` (tmux reserves `.` and `:`).
pub fn session_name(value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok {
        return Err(invalid(
            "session_name",
            "must be 1-64 letters, digits, '_' or '-'",
        ));
    }
    Ok(())
}

/// Validates an idle timeout (1 minute – 7 days).
pub fn idle_timeout_minutes(value: i64) -> Result<i32> {
    i32::try_from(value)
        .ok()
        .filter(|v| (1..=IDLE_TIMEOUT_MAX_MINUTES).contains(v))
        .ok_or_else(|| invalid("idle_timeout_minutes", "must be between 1 and 10080"))
}

/// Validates a download URL: `http` or `https`, a host, no whitespace, at most 2048 characters.
pub fn download_url(value: &str) -> Result<()> {
    const FIELD: &str = "download_url";
    if value.len() > 2048 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(
            FIELD,
            "must be a URL of at most 2048 characters without spaces",
        ));
    }
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .ok_or_else(|| invalid(FIELD, "must start with https:// or http://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let (host, port) = match host_port.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (host_port, None),
    };
    if host.is_empty() || hostname(host).is_err() {
        return Err(invalid(FIELD, "must name a valid host"));
    }
    if let Some(p) = port
        && !(p.len() <= 5
            && p.chars().all(|c| c.is_ascii_digit())
            && p.parse::<u16>().is_ok_and(|p| p >= 1))
    {
        return Err(invalid(FIELD, "port must be between 1 and 65535"));
    }
    if value.contains(['\'', '"', '`', '$', '\\']) {
        return Err(invalid(FIELD, "must not contain quotes, '$', '`' or '\\'"));
    }
    Ok(())
}

/// Validates notification settings: a JSON object of at most 16 KiB.
pub fn notification_settings(value: &serde_json::Value) -> Result<()> {
    if !value.is_object() {
        return Err(invalid("notification_settings", "must be a JSON object"));
    }
    if value.to_string().len() > 16 * 1024 {
        return Err(invalid("notification_settings", "must be at most 16 KiB"));
    }
    Ok(())
}

/// Validates an OAuth provider name (1–32 of lowercase letters, digits, `_`, `-`).
pub fn oauth_provider(value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= 32
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !ok {
        return Err(invalid(
            "provider",
            "must be 1-32 lowercase letters, digits, '_' or '-'",
        ));
    }
    Ok(())
}

/// Validates an OAuth subject (1–255 characters, no control characters).
pub fn oauth_subject(value: &str) -> Result<()> {
    if value.is_empty() || value.len() > 255 || value.chars().any(char::is_control) {
        return Err(invalid("subject", "must be 1-255 characters"));
    }
    Ok(())
}
