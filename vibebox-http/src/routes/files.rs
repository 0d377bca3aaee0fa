//! Files inside environments: `PUT /environments/{id}/files?path=&mode=` (upload, streamed),
//! `GET /environments/{id}/files?path=` (a file's bytes, or a directory as tar) and
//! `GET /environments/{id}/files/list?path=`. Core does the work, as the environment's user,
//! through exec (see `vibebox_core::service::files`).
//!
//! Uploads skip the router's body limit ([`HttpConfig::max_body_bytes`](crate::HttpConfig))
//! and are held to the service's own cap
//! ([`Config::max_upload_bytes`](vibebox_core::Config::max_upload_bytes)) instead, announced
//! by `Content-Length` (required) and streamed into the container without being buffered.

use std::io;

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;
use vibebox_core::error::Error;
use vibebox_core::id::EnvironmentId;
use vibebox_core::service::{Download, FileEntry, FileListing};

use crate::auth::Caller;
use crate::extract::{ApiPath, ApiQuery};
use crate::openapi::{Authenticated, Forbidden, NotFound};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// The bytes of a file, or a tar archive.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct FileBytes(Vec<u8>);

/// `?path=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PathQuery {
    /// A path inside the environment, at most 4096 bytes; a relative one starts at the
    /// user's home (`/home/vibebox`). `..` is resolved lexically; symlinks are followed
    /// inside the container.
    #[param(required = true, min_length = 1, max_length = 4096)]
    pub path: Option<String>,
}

/// `?path=&mode=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// Where to write: a path as for downloads, naming a file whose directory exists.
    #[param(required = true, min_length = 1, max_length = 4096)]
    pub path: Option<String>,
    /// The file's permission bits in octal, as chmod takes them (`644`, `0755`); default:
    /// an existing file's own, else 0666 less the umask.
    #[param(pattern = "^[0-7]{1,4}$")]
    pub mode: Option<String>,
}

/// Whether a request is an upload, which the router's body limit leaves alone.
pub(crate) fn is_upload(request: &Request) -> bool {
    request.method() == Method::PUT
        && request
            .uri()
            .path()
            .strip_prefix("/api/v1/environments/")
            .and_then(|rest| rest.strip_suffix("/files"))
            .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

/// Writes a file in a running environment, owned by the environment's user, atomically: the
/// body goes to a temporary file beside the target, renamed over it only once every byte
/// arrived, so a failed upload leaves the old file (if any) and nothing else. A symlink at
/// the target is replaced, never written through. The audit log records the path and size.
#[utoipa::path(
    put,
    path = "/environments/{id}/files",
    tag = "files",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
        UploadQuery,
    ),
    request_body(content = FileBytes, content_type = "application/octet-stream",
                 description = "The file's bytes, exactly `Content-Length` of them"),
    responses(
        (status = 201, description = "The file as written", body = FileEntry),
        (status = 400, description = "The body could not be read, ended short or ran past `Content-Length` (`field`: `body`); nothing was written", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The environment is not running, or writing failed inside it (a full disk)", body = Problem, content_type = "application/problem+json"),
        (status = 411, description = "No `Content-Length`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`Content-Length` is over the server's upload cap", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "A form (`multipart/*`) instead of the file's bytes", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The path breaks a rule, is a directory or not a regular file, its directory is missing, or the user may not write there; or a bad `mode` (`field` names it)", body = Problem, content_type = "application/problem+json"),
        Forbidden, NotFound, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn upload(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<EnvironmentId>,
    ApiQuery(q): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<FileEntry>), Response> {
    if is_form(&headers) {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the file's bytes as the body (application/octet-stream), not a form",
        )
        .into_response());
    }
    let Some(length) = content_length(&headers) else {
        return Err(Problem::new(
            StatusCode::LENGTH_REQUIRED,
            "length_required",
            "an upload needs a Content-Length header",
        )
        .into_response());
    };
    let max = s.vibebox.config().max_upload_bytes;
    if length > max {
        return Err(too_large(max));
    }
    let mode = match q.mode.as_deref().map(parse_mode).transpose() {
        Ok(mode) => mode,
        Err(e) => return Err(ApiError(e).into_response()),
    };
    let path = q.path.unwrap_or_default();
    let body = body.into_data_stream().map_err(io::Error::other);
    match s
        .vibebox
        .upload_file(&actor, id, &path, length, body, mode)
        .await
    {
        Ok(entry) => Ok((StatusCode::CREATED, Json(entry))),
        Err(Error::InvalidInput { field, reason }) if field == "body" => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("invalid body: {reason}"),
        )
        .with_field("body")
        .into_response()),
        Err(Error::InvalidInput { field, .. }) if field == "content_length" => Err(too_large(max)),
        Err(e) => Err(ApiError(e).into_response()),
    }
}

/// Sends a file's bytes (`application/octet-stream`, with `Content-Length` and
/// `Last-Modified`), or a directory as a tar archive (`application/x-tar`, streamed; links
/// inside are archived as links). A symlink at `path` is followed inside the container.
/// Devices, FIFOs and sockets are refused. If the file shrinks, or tar cannot archive
/// everything, while the body is sent, the connection is cut rather than the body ending
/// cleanly. The audit log records the path, kind and size.
#[utoipa::path(
    get,
    path = "/environments/{id}/files",
    tag = "files",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
        PathQuery,
    ),
    responses(
        (status = 200, description = "The file's bytes, or a tar archive of the directory",
         content(
            (FileBytes = "application/octet-stream"),
            (FileBytes = "application/x-tar"),
         )),
        (status = 409, description = "The environment is not running", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The path breaks a rule, is not a regular file or directory, or the user may not read it (`field`: `path`)", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "The container did not start answering in time", body = Problem, content_type = "application/problem+json"),
        Forbidden, NotFound, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn download(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<EnvironmentId>,
    ApiQuery(q): ApiQuery<PathQuery>,
) -> Result<Response, ApiError> {
    let path = q.path.unwrap_or_default();
    let download = s.vibebox.download(&actor, id, &path).await?;
    Ok(download_response(download))
}

/// A directory's entries: name, path, kind, size, mode, mtime and link target, by name;
/// `truncated` when it holds more than 10,000.
#[utoipa::path(
    get,
    path = "/environments/{id}/files/list",
    tag = "files",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
        PathQuery,
    ),
    responses(
        (status = 200, description = "The directory's entries", body = FileListing),
        (status = 409, description = "The environment is not running", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The path breaks a rule, is not a directory, or the user may not read it (`field`: `path`)", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "The listing did not finish in time", body = Problem, content_type = "application/problem+json"),
        Forbidden, NotFound, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<EnvironmentId>,
    ApiQuery(q): ApiQuery<PathQuery>,
) -> Result<Json<FileListing>, ApiError> {
    let path = q.path.unwrap_or_default();
    Ok(Json(s.vibebox.list_files(&actor, id, &path).await?))
}

fn too_large(max: u64) -> Response {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("an upload may be at most {max} bytes"),
    )
    .with_field("content_length")
    .into_response()
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| {
            t.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/")
        })
}

/// Octal permission bits; core checks the range.
fn parse_mode(raw: &str) -> Result<u32, Error> {
    if raw.is_empty() || raw.len() > 4 {
        return Err(Error::invalid("mode", "must be 1 to 4 octal digits"));
    }
    u32::from_str_radix(raw, 8).map_err(|_| Error::invalid("mode", "must be octal digits (0-7)"))
}

fn download_response(download: Download) -> Response {
    let archive = download.is_archive();
    let Download { entry, body } = download;
    let path = entry.path.clone();
    let body = body.map(move |chunk| {
        chunk.map_err(|e| {
            tracing::warn!(error = %e, path = %path, "a download was cut short");
            io::Error::other(e.to_string())
        })
    });
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    let (content_type, filename) = if archive {
        ("application/x-tar", format!("{}.tar", entry.name))
    } else {
        ("application/octet-stream", entry.name.clone())
    };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(value) = HeaderValue::from_str(&content_disposition(&filename)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    if let Ok(value) =
        HeaderValue::from_str(&entry.mtime.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
    {
        headers.insert(header::LAST_MODIFIED, value);
    }
    if !archive {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(entry.size));
    }
    response
}

/// `attachment` with an ASCII `filename` (anything else becomes `_`) and the exact name as
/// RFC 8187 `filename*` (UTF-8, percent-encoded).
fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() || c == ' ') && c != '"' && c != '\\' && c != '%' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_disposition_is_ascii_and_keeps_the_exact_name_encoded() {
        assert_eq!(
            content_disposition("a b.txt"),
            "attachment; filename=\"a b.txt\"; filename*=UTF-8''a%20b.txt"
        );
        let odd = content_disposition("ü\"\n%;.tar");
        assert_eq!(
            odd,
            "attachment; filename=\"____;.tar\"; filename*=UTF-8''%C3%BC%22%0A%25%3B.tar"
        );
        assert!(HeaderValue::from_str(&odd).is_ok());
    }

    #[test]
    fn modes_are_octal_digits() {
        assert_eq!(parse_mode("644").ok(), Some(0o644));
        assert_eq!(parse_mode("0755").ok(), Some(0o755));
        for bad in ["", "8", "12345", "rwx", "-1"] {
            assert_eq!(
                parse_mode(bad).err().as_ref().and_then(Error::field),
                Some("mode"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn only_the_upload_route_is_an_upload() {
        let request = |method: Method, uri: &str| {
            Request::builder()
                .method(method)
                .uri(uri)
                .body(Body::empty())
                .unwrap_or_default()
        };
        assert!(is_upload(&request(
            Method::PUT,
            "/api/v1/environments/abc/files?path=x"
        )));
        assert!(!is_upload(&request(
            Method::GET,
            "/api/v1/environments/abc/files"
        )));
        assert!(!is_upload(&request(
            Method::PUT,
            "/api/v1/environments/a/b/files"
        )));
        assert!(!is_upload(&request(
            Method::PUT,
            "/api/v1/environments//files"
        )));
        assert!(!is_upload(&request(Method::POST, "/api/v1/auth/login")));
    }
}
