//! What VibeBox needs to know about an OAuth provider: its client credentials, its endpoints
//! (configurable, so tests and self-hosted instances such as GitHub Enterprise can point
//! elsewhere) and how to read the signed-in person's profile.

use axum::http::Uri;
use secrecy::SecretString;
use vibebox_core::error::{Error, Result};

/// How a provider describes the person who signed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileFormat {
    /// GitHub's `GET /user` (`id`, `login`, `name`) plus `GET /user/emails` for a verified
    /// address.
    GitHub,
    /// OpenID Connect's userinfo (`sub`, `email`, `email_verified`, `name`), as Google serves it.
    OpenIdConnect,
}

/// One OAuth 2.0 provider (authorization code flow with PKCE S256).
#[derive(Clone, Debug)]
pub struct OAuthProvider {
    /// The name in the URL (`/auth/oauth/{name}`) and in stored identities: `github`,
    /// `google`, or another 1–32 characters of `[a-z0-9_-]`.
    pub name: String,
    /// How the profile is read.
    pub format: ProfileFormat,
    /// The client id registered with the provider.
    pub client_id: String,
    /// The client secret registered with the provider.
    pub client_secret: SecretString,
    /// Where the browser is sent to sign in.
    pub authorize_url: String,
    /// Where the code is exchanged for an access token.
    pub token_url: String,
    /// Where the profile is read with that token.
    pub userinfo_url: String,
    /// GitHub only: where the account's email addresses are listed.
    pub emails_url: Option<String>,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// This server's callback URL as registered with the provider:
    /// `https://<host>/api/v1/auth/oauth/<name>/callback`.
    pub redirect_uri: String,
}

impl OAuthProvider {
    /// The name people see on the sign-in button: `GitHub`, `Google`, else the name itself.
    pub fn display_name(&self) -> String {
        match self.name.as_str() {
            "github" => "GitHub".to_string(),
            "google" => "Google".to_string(),
            other => other.to_string(),
        }
    }

    /// GitHub (github.com), asking for `read:user` and `user:email`.
    ///
    /// Errors: `InvalidInput` naming the field.
    pub fn github(
        client_id: impl Into<String>,
        client_secret: SecretString,
        redirect_uri: impl Into<String>,
    ) -> Result<Self> {
        Self {
            name: "github".into(),
            format: ProfileFormat::GitHub,
            client_id: client_id.into(),
            client_secret,
            authorize_url: "https://github.com/login/oauth/authorize".into(),
            token_url: "https://github.com/login/oauth/access_token".into(),
            userinfo_url: "https://api.github.com/user".into(),
            emails_url: Some("https://api.github.com/user/emails".into()),
            scopes: vec!["read:user".into(), "user:email".into()],
            redirect_uri: redirect_uri.into(),
        }
        .validated()
    }

    /// Google (OpenID Connect), asking for `openid`, `email` and `profile`.
    ///
    /// Errors: `InvalidInput` naming the field.
    pub fn google(
        client_id: impl Into<String>,
        client_secret: SecretString,
        redirect_uri: impl Into<String>,
    ) -> Result<Self> {
        Self {
            name: "google".into(),
            format: ProfileFormat::OpenIdConnect,
            client_id: client_id.into(),
            client_secret,
            authorize_url: "https://accounts.google.com/o/oauth2/v2/auth".into(),
            token_url: "https://oauth2.googleapis.com/token".into(),
            userinfo_url: "https://openidconnect.googleapis.com/v1/userinfo".into(),
            emails_url: None,
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
            redirect_uri: redirect_uri.into(),
        }
        .validated()
    }

    /// The same provider with its endpoints moved under `base` (a test double or a
    /// self-hosted instance): `{base}/authorize`, `{base}/token`, `{base}/user` or
    /// `{base}/userinfo`, and `{base}/user/emails`.
    ///
    /// Errors: `InvalidInput` naming the field.
    pub fn at(mut self, base: &str) -> Result<Self> {
        let base = base.trim_end_matches('/');
        self.authorize_url = format!("{base}/authorize");
        self.token_url = format!("{base}/token");
        match self.format {
            ProfileFormat::GitHub => {
                self.userinfo_url = format!("{base}/user");
                self.emails_url = Some(format!("{base}/user/emails"));
            }
            ProfileFormat::OpenIdConnect => self.userinfo_url = format!("{base}/userinfo"),
        }
        self.validated()
    }

    /// Checks every field. Errors: `InvalidInput` naming the field.
    pub fn validated(self) -> Result<Self> {
        vibebox_core::validate::oauth_provider(&self.name)?;
        if self.client_id.trim().is_empty() {
            return Err(Error::invalid("client_id", "must not be empty"));
        }
        let urls = [
            ("authorize_url", Some(&self.authorize_url)),
            ("token_url", Some(&self.token_url)),
            ("userinfo_url", Some(&self.userinfo_url)),
            ("emails_url", self.emails_url.as_ref()),
            ("redirect_uri", Some(&self.redirect_uri)),
        ];
        for (field, url) in urls {
            if let Some(url) = url {
                absolute_url(field, url)?;
            }
        }
        Ok(self)
    }

    /// The path of the callback (the OAuth flow cookie is scoped to it).
    pub(crate) fn callback_path(&self) -> String {
        self.redirect_uri
            .parse::<Uri>()
            .map(|u| u.path().to_string())
            .unwrap_or_else(|_| "/".into())
    }

    /// Whether the callback is served over TLS (the flow cookie is then `Secure`).
    pub(crate) fn callback_is_https(&self) -> bool {
        self.redirect_uri.starts_with("https://")
    }
}

/// Checks that `url` is an absolute `http` or `https` URL with a host.
fn absolute_url(field: &'static str, url: &str) -> Result<Uri> {
    let uri: Uri = url
        .parse()
        .map_err(|_| Error::invalid(field, "must be an absolute http(s) URL"))?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    if !scheme_ok || uri.host().is_none() {
        return Err(Error::invalid(field, "must be an absolute http(s) URL"));
    }
    Ok(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    /// The error of a result that must have failed.
    fn refused(r: Result<OAuthProvider>) -> std::result::Result<Error, &'static str> {
        r.err().ok_or("the provider was accepted")
    }

    fn secret() -> SecretString {
        SecretString::from("s3cret")
    }

    #[test]
    fn providers_validate_their_urls_naming_the_field() -> TestResult {
        let e = refused(OAuthProvider::github("id", secret(), "not a url"))?;
        assert_eq!(e.field(), Some("redirect_uri"));
        let e = refused(OAuthProvider::google(
            "id",
            secret(),
            "ftp://example.com/cb",
        ))?;
        assert_eq!(e.field(), Some("redirect_uri"));
        let e = refused(OAuthProvider::google(
            "",
            secret(),
            "https://example.com/cb",
        ))?;
        assert_eq!(e.field(), Some("client_id"));
        let e = refused(
            OAuthProvider::github("id", secret(), "https://example.com/cb")?.at("/relative"),
        )?;
        assert_eq!(e.field(), Some("authorize_url"));
        Ok(())
    }

    #[test]
    fn endpoints_move_under_a_base_url() -> TestResult {
        let p = OAuthProvider::github("id", secret(), "http://127.0.0.1:3000/cb")?
            .at("http://127.0.0.1:9/")?;
        assert_eq!(p.token_url, "http://127.0.0.1:9/token");
        assert_eq!(
            p.emails_url.as_deref(),
            Some("http://127.0.0.1:9/user/emails")
        );
        assert_eq!(p.callback_path(), "/cb");
        assert!(!p.callback_is_https());
        Ok(())
    }
}
