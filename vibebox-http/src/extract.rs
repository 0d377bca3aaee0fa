//! Path and query extractors that reject with problem documents.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use vibebox_core::store::PageRequest;

use crate::problem::{ApiError, Problem};

/// Path parameters. A segment that cannot be an id names nothing: 404.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| Self(v))
            .map_err(|e: PathRejection| {
                tracing::debug!(error = %e, "unusable path parameter");
                Problem::new(StatusCode::NOT_FOUND, "not_found", "no such resource").into_response()
            })
    }
}

/// Query parameters; a value of the wrong type is 422.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Self(v))
            .map_err(|e: QueryRejection| {
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_input",
                    e.body_text(),
                )
                .into_response()
            })
    }
}

/// `?limit=&cursor=` of list routes.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// From the previous page's `next_cursor`; absent or empty for the first page.
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The page request; an empty cursor (`?cursor=`) is the first page. Errors: 422 naming
    /// `limit` or `cursor`.
    pub fn page(self) -> Result<PageRequest, ApiError> {
        let cursor = self.cursor.filter(|c| !c.is_empty());
        Ok(PageRequest::new(self.limit, cursor)?)
    }
}
