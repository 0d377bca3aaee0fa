//! One OAuth sign-in in progress: the `state` that binds the callback to the browser that
//! started it, and the PKCE (RFC 7636, S256) verifier that binds the code to this server.
//!
//! Nothing is kept on the server. The state and the verifier travel in a short-lived signed
//! token (the same keys and checks as access tokens, with its own `typ`, so neither can stand
//! for the other) in an `HttpOnly`, `SameSite=Lax` cookie scoped to the callback path. Any
//! replica with the keys can finish the sign-in, and abandoned sign-ins cost nothing.
//!
//! A sign-in started by a page may carry where to return to (`return_to`, a path on this
//! server, checked by [`check_return_to`]); it travels in the same signed token, so nobody
//! can change it on the way.

use std::time::Duration;

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use vibebox_core::error::{Error, Result};
use vibebox_core::tokens::random_bytes;

use super::OAuthProvider;
use crate::access_token::{AccessTokens, Claims};

/// The `typ` of flow tokens.
const FLOW_TYPE: &str = "oauth_flow";
/// How long a sign-in may take between leaving for the provider and coming back.
pub const FLOW_TTL: Duration = Duration::from_secs(10 * 60);
/// The longest `return_to` accepted, in bytes (the flow cookie must stay under 4 KiB).
pub const MAX_RETURN_TO: usize = 1024;

/// The claims of a flow token.
#[derive(Debug, Serialize, Deserialize)]
struct FlowClaims {
    #[serde(flatten)]
    base: Claims,
    /// The `state` sent to the provider.
    state: String,
    /// The PKCE code verifier.
    verifier: String,
    /// Where the page wants the browser back, when it asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    return_to: Option<String>,
}

/// A sign-in just started.
#[derive(Debug)]
pub struct StartedFlow {
    /// The random `state` parameter (256 bits, base64url).
    pub state: String,
    /// `BASE64URL(SHA-256(verifier))`, sent to the provider.
    pub code_challenge: String,
    /// The signed flow token, for the cookie.
    pub cookie_value: SecretString,
}

/// A sign-in coming back, checked against its cookie.
#[derive(Debug)]
pub struct ReturnedFlow {
    /// The PKCE code verifier, sent with the code.
    pub verifier: SecretString,
    /// The path on this server to send the browser to, when the sign-in started with one.
    pub return_to: Option<String>,
}

/// Starts a sign-in with `provider` that comes back to `return_to` (checked with
/// [`check_return_to`]) when given. Errors: `InvalidInput` naming `return_to`; `Internal`
/// without randomness.
pub fn start(
    tokens: &AccessTokens,
    provider: &OAuthProvider,
    return_to: Option<String>,
) -> Result<StartedFlow> {
    if let Some(path) = &return_to {
        check_return_to(path)?;
    }
    let state = URL_SAFE_NO_PAD.encode(random_bytes::<32>()?);
    // 32 random bytes give a 43-character verifier, the shortest RFC 7636 allows.
    let verifier = URL_SAFE_NO_PAD.encode(random_bytes::<32>()?);
    let code_challenge = challenge(&verifier);
    let claims = FlowClaims {
        base: tokens.claims(provider.name.clone(), FLOW_TYPE, FLOW_TTL),
        state: state.clone(),
        verifier,
        return_to,
    };
    Ok(StartedFlow {
        state,
        code_challenge,
        cookie_value: tokens.sign_any(&claims)?,
    })
}

/// The S256 code challenge of a verifier.
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Checks a callback: the cookie holds a valid flow token of this provider whose state
/// equals the `state` parameter (compared in constant time).
///
/// Errors: `Unauthenticated` for a missing, expired, forged or mismatched flow.
pub fn returned(
    tokens: &AccessTokens,
    provider: &OAuthProvider,
    cookie_value: Option<&str>,
    state: Option<&str>,
) -> Result<ReturnedFlow> {
    let (Some(cookie_value), Some(state)) = (cookie_value, state) else {
        tracing::debug!("oauth callback without its cookie or state");
        return Err(Error::Unauthenticated);
    };
    let claims: FlowClaims =
        tokens.verify_any(cookie_value, FLOW_TYPE, |c: &FlowClaims| &c.base)?;
    let same_state: bool = claims.state.as_bytes().ct_eq(state.as_bytes()).into();
    if claims.base.sub != provider.name || !same_state {
        tracing::debug!("oauth callback state does not match its cookie");
        return Err(Error::Unauthenticated);
    }
    Ok(ReturnedFlow {
        verifier: SecretString::from(claims.verifier),
        return_to: claims.return_to,
    })
}

/// Checks a `return_to`: a path on this server (starting with `/`, but not `//` or `/\`,
/// which browsers read as another host), in visible ASCII without spaces (browsers drop tabs
/// and line breaks from URLs, which could turn `/<tab>/evil` into `//evil`), at most
/// [`MAX_RETURN_TO`] bytes. Errors: `InvalidInput` naming `return_to`.
pub fn check_return_to(path: &str) -> Result<()> {
    let on_this_server =
        path.starts_with('/') && !path.starts_with("//") && !path.starts_with("/\\");
    if !on_this_server {
        return Err(Error::invalid(
            "return_to",
            "must be a path on this server: start with / but not // or /\\",
        ));
    }
    if path.len() > MAX_RETURN_TO || !path.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::invalid(
            "return_to",
            "must be at most 1024 visible ASCII characters, without spaces (percent-encode the rest)",
        ));
    }
    Ok(())
}

/// The name of the flow cookie for `provider`.
pub fn cookie_name(provider: &OAuthProvider) -> String {
    format!("vibebox_oauth_{}", provider.name)
}

/// The `Set-Cookie` value that stores a flow (or, with `None`, clears it).
pub fn set_cookie(provider: &OAuthProvider, value: Option<&SecretString>) -> String {
    let secure = if provider.callback_is_https() {
        "; Secure"
    } else {
        ""
    };
    let (value, max_age) = match value {
        Some(v) => (v.expose_secret(), FLOW_TTL.as_secs()),
        None => ("", 0),
    };
    format!(
        "{}={value}; Path={}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}",
        cookie_name(provider),
        provider.callback_path()
    )
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(k, v)| (k == name).then_some(v))
}

#[cfg(test)]
mod tests {
    use secrecy::SecretBox;

    use super::*;
    use crate::access_token::SigningKey;

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    fn tokens() -> Result<AccessTokens> {
        let key = SigningKey::new("k1", SecretBox::new(Box::new(vec![9u8; 32])))?;
        Ok(AccessTokens::new("vibebox", "vibebox-api", key))
    }

    fn github() -> Result<OAuthProvider> {
        OAuthProvider::github(
            "id",
            SecretString::from("s"),
            "https://vibebox.example.com/api/v1/auth/oauth/github/callback",
        )
    }

    #[test]
    fn the_challenge_is_rfc_7636_s256() -> TestResult {
        // RFC 7636 appendix B.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        Ok(())
    }

    #[test]
    fn a_started_flow_returns_with_its_state_and_verifier() -> TestResult {
        let t = tokens()?;
        let p = github()?;
        let started = start(&t, &p, None)?;
        assert_eq!(started.state.len(), 43);
        let back = returned(
            &t,
            &p,
            Some(started.cookie_value.expose_secret()),
            Some(&started.state),
        )?;
        assert_eq!(
            challenge(back.verifier.expose_secret()),
            started.code_challenge
        );
        Ok(())
    }

    #[test]
    fn return_to_travels_in_the_signed_flow() -> TestResult {
        let t = tokens()?;
        let p = github()?;
        let started = start(&t, &p, Some("/projects/x?tab=envs".into()))?;
        let back = returned(
            &t,
            &p,
            Some(started.cookie_value.expose_secret()),
            Some(&started.state),
        )?;
        assert_eq!(back.return_to.as_deref(), Some("/projects/x?tab=envs"));
        Ok(())
    }

    #[test]
    fn return_to_must_be_a_path_on_this_server() {
        for ok in ["/", "/projects/x", "/a/b?c=d#e", "/%2F%2Fevil"] {
            assert!(check_return_to(ok).is_ok(), "{ok}");
        }
        let long = format!("/{}", "a".repeat(MAX_RETURN_TO));
        for bad in [
            "",
            "projects",
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/a b",
            "/\u{e9}",
            long.as_str(),
        ] {
            let e = check_return_to(bad).err();
            assert_eq!(
                e.as_ref().and_then(|e| e.field()),
                Some("return_to"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn another_state_another_provider_or_no_cookie_is_refused() -> TestResult {
        let t = tokens()?;
        let p = github()?;
        let started = start(&t, &p, None)?;
        let cookie = started.cookie_value.expose_secret();
        assert!(returned(&t, &p, Some(cookie), Some("forged")).is_err());
        assert!(returned(&t, &p, None, Some(&started.state)).is_err());
        let google = OAuthProvider::google(
            "id",
            SecretString::from("s"),
            "https://vibebox.example.com/cb",
        )?;
        assert!(returned(&t, &google, Some(cookie), Some(&started.state)).is_err());
        Ok(())
    }

    #[test]
    fn a_flow_token_is_never_an_access_token_and_back() -> TestResult {
        let t = tokens()?;
        let started = start(&t, &github()?, None)?;
        assert!(t.verify(started.cookie_value.expose_secret()).is_err());
        let access = t.issue(vibebox_core::id::UserId::new())?;
        assert!(
            returned(
                &t,
                &github()?,
                Some(access.token.expose_secret()),
                Some("x")
            )
            .is_err()
        );
        Ok(())
    }

    #[test]
    fn the_cookie_is_http_only_lax_secure_and_scoped_to_the_callback() -> TestResult {
        let p = github()?;
        let set = set_cookie(&p, Some(&SecretString::from("v")));
        assert_eq!(
            set,
            "vibebox_oauth_github=v; Path=/api/v1/auth/oauth/github/callback; Max-Age=600; HttpOnly; SameSite=Lax; Secure"
        );
        assert!(set_cookie(&p, None).contains("Max-Age=0"));
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "a=1; vibebox_oauth_github=tok".parse()?);
        assert_eq!(cookie(&headers, "vibebox_oauth_github"), Some("tok"));
        assert_eq!(cookie(&headers, "vibebox_oauth_google"), None);
        Ok(())
    }
}
