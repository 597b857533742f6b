//! Request handlers, one module per resource, named `verb_noun`.
pub mod health;

use crate::error::AppError;
use axum::extract::OriginalUri;

/// Any `/api/...` path without a route: a JSON 404, never the front end's `index.html`.
pub async fn api_not_found(OriginalUri(uri): OriginalUri) -> AppError {
    AppError::NotFound(format!("no API route for {}", uri.path()))
}
