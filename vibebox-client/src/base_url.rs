//! The server's base URL (`http[s]://host[:port][/prefix]`) and the URLs built from it.

use hyper::Uri;

use crate::error::{ClientError, Result};

/// Where the API lives under the base URL.
pub(crate) const API_PREFIX: &str = "/api/v1";

/// A parsed base URL: scheme, authority and an optional path prefix (for a server mounted
/// under a sub-path). Never holds credentials: URLs with a user or password are refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BaseUrl {
    pub(crate) https: bool,
    authority: String,
    prefix: String,
}

impl BaseUrl {
    /// Parses `http://…` or `https://…`. Errors: `InvalidUrl`.
    pub(crate) fn parse(raw: &str) -> Result<Self> {
        let uri: Uri = raw
            .trim()
            .parse()
            .map_err(|e| ClientError::InvalidUrl(format!("{raw:?} is not a URL: {e}")))?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            Some(other) => {
                return Err(ClientError::InvalidUrl(format!(
                    "the scheme must be http or https, not {other}"
                )));
            }
            None => {
                return Err(ClientError::InvalidUrl(format!(
                    "{raw:?} has no scheme (http:// or https://)"
                )));
            }
        };
        let authority = uri
            .authority()
            .ok_or_else(|| ClientError::InvalidUrl(format!("{raw:?} has no host")))?;
        if authority.as_str().contains('@') {
            return Err(ClientError::InvalidUrl(
                "the base URL may not carry a user or password; pass a Credential".into(),
            ));
        }
        if uri.query().is_some() {
            return Err(ClientError::InvalidUrl(
                "the base URL may not have a query".into(),
            ));
        }
        let prefix = uri.path().trim_end_matches('/').to_string();
        Ok(Self {
            https,
            authority: authority.as_str().to_string(),
            prefix,
        })
    }

    /// The base URL as given (without a trailing slash), for messages.
    pub(crate) fn display(&self) -> String {
        format!(
            "{}://{}{}",
            if self.https { "https" } else { "http" },
            self.authority,
            self.prefix
        )
    }

    /// The URI of `path` (absolute from the server's root, e.g. `/api/v1/teams`) with the
    /// query pairs, percent-encoded.
    pub(crate) fn uri(&self, path: &str, query: &[(&str, String)]) -> Result<Uri> {
        let scheme = if self.https { "https" } else { "http" };
        self.build(scheme, path, query)
    }

    /// The `ws://` or `wss://` URI of `path`.
    pub(crate) fn ws_uri(&self, path: &str, query: &[(&str, String)]) -> Result<Uri> {
        let scheme = if self.https { "wss" } else { "ws" };
        self.build(scheme, path, query)
    }

    fn build(&self, scheme: &str, path: &str, query: &[(&str, String)]) -> Result<Uri> {
        let mut text = format!("{scheme}://{}{}{path}", self.authority, self.prefix);
        if !query.is_empty() {
            let encoded = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())))
                .finish();
            text.push('?');
            text.push_str(&encoded);
        }
        text.parse()
            .map_err(|e| ClientError::InvalidUrl(format!("cannot build a URL for {path}: {e}")))
    }
}

/// One path segment, percent-encoded (a variable's key, a provider's name).
pub(crate) fn segment(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_url_keeps_its_prefix_and_builds_encoded_urls() -> Result<()> {
        let base = BaseUrl::parse("https://example.com:8443/vibebox/")?;
        let uri = base.uri("/api/v1/files", &[("path", "a b/ü".to_string())])?;
        assert_eq!(
            uri.to_string(),
            "https://example.com:8443/vibebox/api/v1/files?path=a+b%2F%C3%BC"
        );
        assert_eq!(
            base.ws_uri("/api/v1/ws/x", &[])?.to_string(),
            "wss://example.com:8443/vibebox/api/v1/ws/x"
        );
        Ok(())
    }

    #[test]
    fn urls_with_credentials_or_odd_schemes_are_refused() {
        for bad in [
            "ftp://example.com",
            "example.com",
            "http://user:pw@example.com",
            "http://example.com/?a=b",
        ] {
            assert!(
                matches!(BaseUrl::parse(bad), Err(ClientError::InvalidUrl(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(segment("A_B"), "A_B");
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
    }
}
