//! What the client authenticates with: an API key, a pair of tokens (refreshed as needed), or
//! nothing (registration, sign-in, health checks). Every secret is a [`SecretString`], and
//! every `Debug` here leaves it out.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};

/// How the client authenticates its requests.
#[derive(Clone, Default)]
pub enum Credential {
    /// No credential: registration, sign-in and health checks only.
    #[default]
    None,
    /// An API key (`vbx_…`), sent as `Authorization: Bearer`. Keys do not expire mid-session,
    /// so nothing is refreshed.
    ApiKey(SecretString),
    /// An access token (a JWT) and the refresh token it came with. A refused access token is
    /// refreshed once, transparently, and the refresh token rotates (see
    /// [`Client::on_tokens_refreshed`](crate::Client::on_tokens_refreshed)).
    Tokens {
        /// The access token.
        access: SecretString,
        /// The refresh token.
        refresh: SecretString,
    },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("Credential::None"),
            Self::ApiKey(_) => f.write_str("Credential::ApiKey(<redacted>)"),
            Self::Tokens { .. } => f.write_str("Credential::Tokens(<redacted>)"),
        }
    }
}

impl From<TokenPair> for Credential {
    fn from(pair: TokenPair) -> Self {
        Self::Tokens {
            access: pair.access,
            refresh: pair.refresh,
        }
    }
}

/// An access token and its refresh token, as a sign-in or a refresh returns them.
#[derive(Clone)]
pub struct TokenPair {
    /// The access token (a JWT for `Authorization: Bearer`).
    pub access: SecretString,
    /// The refresh token; it rotates on every refresh, so persist the newest one.
    pub refresh: SecretString,
    /// When the access token expires, if known (from `expires_in`, or the JWT's `exp`).
    pub expires_at: Option<SystemTime>,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair")
            .field("access", &"<redacted>")
            .field("refresh", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl TokenPair {
    /// A pair whose access token expires as its JWT `exp` claim says (unknown if it has none).
    pub fn new(access: SecretString, refresh: SecretString) -> Self {
        let expires_at = jwt_expiry(access.expose_secret());
        Self {
            access,
            refresh,
            expires_at,
        }
    }

    /// Whether the access token expires within `margin` from now (false when unknown).
    pub fn expires_within(&self, margin: Duration) -> bool {
        self.expires_at
            .is_some_and(|at| at <= SystemTime::now() + margin)
    }
}

/// Called with the new pair after every refresh, so a caller can persist the rotated refresh
/// token.
pub type RefreshHook = Arc<dyn Fn(&TokenPair) + Send + Sync>;

/// The `exp` claim of a JWT, without verifying it (the server does that); `None` if the token
/// is not a JWT with a numeric `exp`.
pub(crate) fn jwt_expiry(token: &str) -> Option<SystemTime> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?.as_i64()?;
    let secs = u64::try_from(exp).ok()?;
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            e.encode(r#"{"alg":"HS256"}"#),
            e.encode(claims)
        )
    }

    #[test]
    fn the_expiry_comes_from_the_jwt_exp_claim() {
        let at = jwt_expiry(&jwt(r#"{"exp":2000000000}"#));
        assert_eq!(
            at,
            UNIX_EPOCH.checked_add(Duration::from_secs(2_000_000_000))
        );
        assert_eq!(jwt_expiry("vbx_not_a_jwt"), None);
        assert_eq!(jwt_expiry(&jwt(r#"{"sub":"x"}"#)), None);
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let canary = "canary-secret-1234";
        let pair = TokenPair::new(canary.into(), canary.into());
        let cred = Credential::from(pair.clone());
        let key = Credential::ApiKey(canary.into());
        for text in [format!("{pair:?}"), format!("{cred:?}"), format!("{key:?}")] {
            assert!(!text.contains(canary), "{text}");
        }
    }
}
