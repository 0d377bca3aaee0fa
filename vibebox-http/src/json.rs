//! JSON request bodies: a body that is not JSON is 400, a JSON value of the wrong shape is 422
//! naming the field, a wrong content type is 415 and an oversized body 413, all as problems.
//! Every body is an object: an array is 422 (serde would otherwise read a struct from one).

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::problem::Problem;

/// A JSON body, rejected as a problem document.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            )
            .into_response());
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large().into_response()
            } else {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    rejection.body_text(),
                )
                .into_response()
            }
        })?;
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
                "the request body must be a JSON object",
            )
            .into_response());
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(problem_for(&rejection, &bytes).into_response()),
        }
    }
}

/// `application/json` or `application/<something>+json`, as axum's `Json` accepts.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json"))
}

fn too_large() -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "the request body is too large",
    )
}

fn problem_for(rejection: &JsonRejection, body: &[u8]) -> Problem {
    match rejection {
        // serde_json reports a value of the wrong JSON type for an enum (`null`, a number) as a
        // syntax error ("expected value"), though the body is valid JSON.
        JsonRejection::JsonSyntaxError(e)
            if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() =>
        {
            invalid_input(&e.body_text())
        }
        JsonRejection::JsonSyntaxError(_) => Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "the request body is not valid JSON",
        ),
        JsonRejection::JsonDataError(e) => invalid_input(&e.body_text()),
        JsonRejection::MissingJsonContentType(_) => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json",
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        other => Problem::new(StatusCode::BAD_REQUEST, "bad_request", other.body_text()),
    }
}

/// A JSON value of the wrong shape: 422, naming the field when serde's message does
/// ("missing field `email`", "name: invalid type").
fn invalid_input(detail: &str) -> Problem {
    let problem = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", detail);
    match field_of(detail) {
        Some(field) => problem.with_field(field),
        None => problem,
    }
}

/// The field a serde data error names: the path before `: `, or the name in "missing field
/// `x`" / "unknown field `x`".
fn field_of(detail: &str) -> Option<String> {
    let detail = detail
        .strip_prefix("Failed to deserialize the JSON body into the target type: ")
        .or_else(|| detail.strip_prefix("Failed to parse the request body as JSON: "))
        .unwrap_or(detail);
    if let Some(start) = detail.find("field `") {
        let rest = &detail[start + "field `".len()..];
        let name = rest.split('`').next()?;
        // Inside an object: "idle_policy: missing field `stop_after_hours`".
        return Some(match detail[..start].split_once(": ") {
            Some((path, _)) if !path.is_empty() && !path.contains(' ') => format!("{path}.{name}"),
            _ => name.to_string(),
        });
    }
    let (path, _) = detail.split_once(": ")?;
    (!path.is_empty() && !path.contains(' ')).then(|| path.to_string())
}

#[cfg(test)]
mod tests {
    use super::{field_of, is_json};
    use axum::http::{HeaderMap, HeaderValue, header};

    #[test]
    fn json_and_plus_json_content_types_are_json() {
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(v));
            is_json(&h)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/merge-patch+json"));
        assert!(!with("text/plain"));
        assert!(!with("application/jsonx"));
        assert!(!is_json(&HeaderMap::new()));
    }

    #[test]
    fn fields_come_from_serde_paths_and_missing_field_messages() {
        assert_eq!(
            field_of(
                "Failed to deserialize the JSON body into the target type: missing field `email` at line 1 column 2"
            ),
            Some("email".to_string())
        );
        assert_eq!(
            field_of(
                "Failed to deserialize the JSON body into the target type: ports[0].host_port: invalid type: string \"x\", expected u16 at line 1 column 9"
            ),
            Some("ports[0].host_port".to_string())
        );
        assert_eq!(
            field_of(
                "Failed to parse the request body as JSON: share_level: expected value at line 1 column 16"
            ),
            Some("share_level".to_string())
        );
        assert_eq!(
            field_of(
                "Failed to deserialize the JSON body into the target type: idle_policy: missing field `stop_after_hours` at line 1 column 45"
            ),
            Some("idle_policy.stop_after_hours".to_string())
        );
        assert_eq!(field_of("invalid type: map, expected a string"), None);
    }
}
