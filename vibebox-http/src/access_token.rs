//! Access tokens: JWTs signed with HS256 (one pinned algorithm) under a key id, valid for 15
//! minutes. `exp`, `nbf`, `iat`, `iss`, `aud`, `sub` and the token type are all validated,
//! with at most 30 s of leeway; a token of another type (a refresh token) is never accepted.

use std::time::Duration;

use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretBox};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use vibebox_core::error::{Error, Result};
use vibebox_core::id::UserId;

/// The only algorithm tokens are signed and accepted with.
pub const ALGORITHM: Algorithm = Algorithm::HS256;
/// The `typ` claim of access tokens.
pub const ACCESS_TYPE: &str = "access";
/// How long an access token is valid.
pub const ACCESS_TTL: Duration = Duration::from_secs(15 * 60);
/// The clock skew tolerated on `exp`, `nbf` and `iat`.
pub const LEEWAY: Duration = Duration::from_secs(30);
/// The shortest signing key accepted, in bytes (HS256 wants at least the hash's size).
pub const MIN_KEY_BYTES: usize = 32;

/// The claims of an access token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The issuer.
    pub iss: String,
    /// The audience.
    pub aud: String,
    /// The user id.
    pub sub: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Expires at.
    pub exp: i64,
    /// The token type: always `access`.
    pub typ: String,
}

/// A signing key with its id.
pub struct SigningKey {
    kid: String,
    secret: SecretBox<Vec<u8>>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A key of at least 32 bytes under the id `kid` (1–64 characters of `[A-Za-z0-9._-]`).
    ///
    /// Errors: `InvalidInput` naming `kid` or `signing_key`.
    pub fn new(kid: impl Into<String>, secret: SecretBox<Vec<u8>>) -> Result<Self> {
        let kid = kid.into();
        let kid_ok = (1..=64).contains(&kid.len())
            && kid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !kid_ok {
            return Err(Error::invalid(
                "kid",
                "must be 1-64 characters of letters, digits, '.', '_' or '-'",
            ));
        }
        if secret.expose_secret().len() < MIN_KEY_BYTES {
            return Err(Error::invalid("signing_key", "must be at least 32 bytes"));
        }
        Ok(Self { kid, secret })
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }
}

/// Issues and verifies access tokens. One key signs; older keys still verify until they are
/// dropped (rotation).
#[derive(Debug)]
pub struct AccessTokens {
    issuer: String,
    audience: String,
    current: SigningKey,
    previous: Vec<SigningKey>,
}

/// A freshly issued access token.
#[derive(Debug)]
pub struct IssuedAccessToken {
    /// The compact JWT.
    pub token: secrecy::SecretString,
    /// Seconds until it expires.
    pub expires_in: u64,
}

impl AccessTokens {
    /// Tokens for `issuer` and `audience`, signed with `current`.
    pub fn new(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        current: SigningKey,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            current,
            previous: Vec::new(),
        }
    }

    /// Also accepts tokens signed with `key` (a key being rotated out).
    pub fn also_verify(mut self, key: SigningKey) -> Self {
        self.previous.push(key);
        self
    }

    /// Issues an access token for the user, valid for [`ACCESS_TTL`].
    pub fn issue(&self, user: UserId) -> Result<IssuedAccessToken> {
        let ttl = ACCESS_TTL.as_secs();
        let claims = self.claims(user.to_string(), ACCESS_TYPE, ACCESS_TTL);
        self.sign(&claims).map(|token| IssuedAccessToken {
            token,
            expires_in: ttl,
        })
    }

    /// Claims of type `typ` about `subject`, from this issuer for this audience, valid `ttl`
    /// from now.
    pub(crate) fn claims(&self, subject: String, typ: &str, ttl: Duration) -> Claims {
        let now = Utc::now().timestamp();
        Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: subject,
            iat: now,
            nbf: now,
            exp: now + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX),
            typ: typ.to_string(),
        }
    }

    /// Signs arbitrary claims with the current key (tests use it to build bad tokens).
    pub fn sign(&self, claims: &Claims) -> Result<secrecy::SecretString> {
        self.sign_any(claims)
    }

    /// Signs any claims that embed [`Claims`] with the current key.
    pub(crate) fn sign_any<T: Serialize>(&self, claims: &T) -> Result<secrecy::SecretString> {
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(self.current.kid.clone());
        let key = EncodingKey::from_secret(self.current.secret.expose_secret());
        jsonwebtoken::encode(&header, claims, &key)
            .map(secrecy::SecretString::from)
            .map_err(|e| Error::internal("could not sign a token", Some(Box::new(e) as _)))
    }

    /// The user an access token names, if it is valid. Every failure is `Unauthenticated`,
    /// without saying why (the reason is traced at debug level).
    pub fn verify(&self, token: &str) -> Result<UserId> {
        let claims: Claims = self.verify_any(token, ACCESS_TYPE, |c| c)?;
        claims
            .sub
            .parse::<UserId>()
            .map_err(|_| reject_now("subject is not a user id"))
    }

    /// Verifies a token of type `typ` (signature under a known key id, the pinned algorithm,
    /// `exp`, `nbf`, `iat`, `iss`, `aud`, `sub`, leeway) and returns its claims; `base`
    /// finds the standard claims inside `T`. Every failure is `Unauthenticated`.
    pub(crate) fn verify_any<T: DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
        base: impl Fn(&T) -> &Claims,
    ) -> Result<T> {
        let header = jsonwebtoken::decode_header(token).map_err(reject("malformed header"))?;
        if header.alg != ALGORITHM {
            return Err(reject_now("algorithm not accepted"));
        }
        let kid = header.kid.ok_or_else(|| reject_now("no key id"))?;
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.kid == kid)
            .ok_or_else(|| reject_now("unknown key id"))?;
        let mut validation = Validation::new(ALGORITHM);
        validation.leeway = LEEWAY.as_secs();
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<T>(
            token,
            &DecodingKey::from_secret(key.secret.expose_secret()),
            &validation,
        )
        .map_err(reject("invalid token"))?;
        let claims = base(&data.claims);
        if claims.typ != typ {
            return Err(reject_now("a token of another type"));
        }
        let leeway = i64::try_from(LEEWAY.as_secs()).unwrap_or(0);
        if claims.iat > Utc::now().timestamp() + leeway {
            return Err(reject_now("issued in the future"));
        }
        Ok(data.claims)
    }
}

fn reject_now(why: &'static str) -> Error {
    tracing::debug!(why, "token rejected");
    Error::Unauthenticated
}

fn reject<E: std::fmt::Display>(why: &'static str) -> impl Fn(E) -> Error {
    move |e| {
        tracing::debug!(why, error = %e, "token rejected");
        Error::Unauthenticated
    }
}
