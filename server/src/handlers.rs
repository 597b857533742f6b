//! Request handlers, one module per resource, named `verb_noun`.
pub mod alerts;
pub mod audit;
pub mod entra;
pub mod events;
pub mod health;
pub mod history;
pub mod jit;
pub mod posture;
pub mod remediations;
pub mod session;
pub mod users;
pub mod vms;

use crate::error::AppError;
use axum::extract::OriginalUri;

/// Any `/api/...` path without a route: a JSON 404, never the front end's `index.html`.
pub async fn api_not_found(OriginalUri(uri): OriginalUri) -> AppError {
    AppError::NotFound(format!("no API route for {}", uri.path()))
}
