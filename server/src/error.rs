//! The error type of request handlers.
//!
//! Which error type where: `anyhow` at start-up and in the CLI (a message for a person, then exit);
//! `thiserror` enums for domain errors in `portcullis-shared`; [`AppError`] for anything a
//! request handler returns. Its response body is always `{"error": {"code", "message"}}`, the
//! shape ARM uses, and server errors (5xx) are logged but never show their details.
use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    NotFound(String),
}

impl AppError {
    pub fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "NotFound",
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let message = if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
            "internal server error".to_owned()
        } else {
            self.to_string()
        };
        let body = json!({ "error": { "code": self.code(), "message": message } });
        (status, Json(body)).into_response()
    }
}
