//! JSON request bodies: a body that is not JSON is 400, a JSON value of the wrong shape is 422
//! naming the field, a wrong content type is 415 and an oversized body 413, all as problems.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
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
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(problem_for(&rejection).into_response()),
        }
    }
}

fn problem_for(rejection: &JsonRejection) -> Problem {
    match rejection {
        JsonRejection::JsonSyntaxError(_) => Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "the request body is not valid JSON",
        ),
        JsonRejection::JsonDataError(e) => {
            // serde's message names the path: "missing field `email`", "name: invalid type".
            let detail = e.body_text();
            let problem = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", &detail);
            match field_of(&detail) {
                Some(field) => problem.with_field(field),
                None => problem,
            }
        }
        JsonRejection::MissingJsonContentType(_) => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json",
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is too large",
        ),
        other => Problem::new(StatusCode::BAD_REQUEST, "bad_request", other.body_text()),
    }
}

/// The field a serde data error names: the path before `: `, or the name in "missing field
/// `x`" / "unknown field `x`".
fn field_of(detail: &str) -> Option<String> {
    let detail = detail
        .strip_prefix("Failed to deserialize the JSON body into the target type: ")
        .unwrap_or(detail);
    if let Some(start) = detail.find("field `") {
        let rest = &detail[start + "field `".len()..];
        return rest.split('`').next().map(str::to_string);
    }
    let (path, _) = detail.split_once(": ")?;
    (!path.is_empty() && !path.contains(' ')).then(|| path.to_string())
}

#[cfg(test)]
mod tests {
    use super::field_of;

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
        assert_eq!(field_of("invalid type: map, expected a string"), None);
    }
}
