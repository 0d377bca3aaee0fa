//! `GET /users/me`.

use axum::Json;
use axum::extract::State;
use vibebox_core::domain::User;

use crate::auth::Caller;
use crate::problem::ApiError;
use crate::state::AppState;

/// The caller's own account.
pub async fn me(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<User>, ApiError> {
    Ok(Json(state.vibebox.me(&actor).await?))
}
