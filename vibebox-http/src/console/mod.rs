//! The web console (DESIGN.md §10), with the `console` feature: the files of
//! `vibebox-http/console/` are embedded at build time and served by the router when
//! [`HttpConfig::console`](crate::HttpConfig) is set.
//!
//! - `GET /assets/<version>/<path>`: an embedded file, or under `vendor/` one of the
//!   third-party files (xterm.js and its addons) that `scripts/console-assets` downloads and
//!   the server reads once from [`ConsoleConfig::vendor_dir`]. `<version>` is the first 12 hex
//!   digits of a SHA-256 over every file served, so a file's URL changes with its contents
//!   and answers are cached for a year (`immutable`). Another version, or an unknown path, is
//!   404.
//! - `GET /` and any other page path (see `console/pages.rs`) answers `index.html`, where
//!   `{{assets}}` becomes `/assets/<version>` and `{{terminal}}` `available` or `missing`
//!   (whether the vendor files are there), with `Cache-Control: no-cache`.
//! - Every console answer carries a strict Content-Security-Policy and the other headers of
//!   `console/headers.rs`. The API under `/api/`, the health checks and preview hosts are
//!   untouched.
//!
//! The folder `vendor/` of `console/` is reserved for the downloaded files.

mod assets;
mod headers;
mod pages;
mod vendor;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub use headers::CONTENT_SECURITY_POLICY;
pub use vendor::VENDOR_FILES;

use crate::state::AppState;

/// How the console is served.
#[derive(Clone, Debug, Default)]
pub struct ConsoleConfig {
    /// The folder `scripts/console-assets` filled (xterm.js and its addons), read once when
    /// the router is built. `None`, or a folder without the files, serves the console without
    /// them: the page says the terminal is unavailable, and a warning says to run the script.
    pub vendor_dir: Option<PathBuf>,
}

/// The console as the router serves it: the files in memory, their version, the page.
#[derive(Debug)]
struct Console {
    /// The first 12 hex digits of the SHA-256 over every file.
    version: String,
    /// `index.html` with its placeholders filled.
    index: Bytes,
    /// Every file by its path under `/assets/<version>/` (`css/app.css`, `vendor/xterm.js`).
    files: HashMap<String, Bytes>,
}

impl Console {
    /// Reads the vendor files and fills in the page.
    fn load(config: &ConsoleConfig) -> Self {
        let vendor = vendor::load(config.vendor_dir.as_deref());
        let mut files: Vec<(String, Bytes)> = assets::FILES
            .iter()
            .map(|(path, bytes)| (path.to_string(), Bytes::from_static(bytes)))
            .collect();
        files.extend(
            vendor
                .files
                .into_iter()
                .map(|(name, bytes)| (format!("vendor/{name}"), bytes)),
        );
        let version = assets::version(&files);
        let index = pages::render(assets::INDEX, &version, vendor.complete);
        tracing::debug!(%version, files = files.len(), terminal = vendor.complete, "console loaded");
        Self {
            version,
            index,
            files: files
                .into_iter()
                .filter(|(path, _)| path != assets::INDEX_PATH)
                .collect(),
        }
    }

    fn asset(&self, version: &str, path: &str) -> Response {
        let file = if version == self.version {
            self.files.get(path)
        } else {
            None
        };
        let Some(bytes) = file else {
            return headers::secured(crate::router::not_found_response());
        };
        let mut response = bytes.clone().into_response();
        let h = response.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(assets::content_type(path)),
        );
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(headers::IMMUTABLE),
        );
        headers::secured(response)
    }

    fn page(&self, request: &Request) -> Response {
        if !pages::is_page(request) {
            return crate::router::not_found_response();
        }
        let body = if request.method() == axum::http::Method::HEAD {
            Bytes::new()
        } else {
            self.index.clone()
        };
        let mut response = (StatusCode::OK, body).into_response();
        let h = response.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers::secured(response)
    }
}

/// Adds the console to the router: the asset route and, as the fallback, the page.
pub(crate) fn mount(routes: Router<AppState>, config: &ConsoleConfig) -> Router<AppState> {
    let console = Arc::new(Console::load(config));
    let for_assets = console.clone();
    let asset = move |path: Result<Path<(String, String)>, PathRejection>| {
        let console = for_assets.clone();
        async move {
            match path {
                Ok(Path((version, path))) => console.asset(&version, &path),
                Err(_) => headers::secured(crate::router::not_found_response()),
            }
        }
    };
    let page = move |request: Request| {
        let console = console.clone();
        async move { console.page(&request) }
    };
    routes
        .route(
            "/assets/{version}/{*path}",
            get(asset).fallback(crate::router::not_found),
        )
        .fallback(page)
}
