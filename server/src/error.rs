//! The error type of request handlers.
//!
//! Which error type where: `anyhow` at start-up and in the CLI (a message for a person, then exit);
//! `thiserror` enums for domain errors in `portcullis-shared`; [`AppError`] for anything a
//! request handler returns. Its response body is always `{"error": {"code", "message",
//! "field"?}}` ([`portcullis_shared::api::ApiError`], ARM's shape), and server errors (5xx) are
//! logged but never show their details. [`AppJson`] gives bad JSON bodies the same shape.
use axum::{
    extract::{FromRequest, Request},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use portcullis_shared::api::{ApiError, ApiErrorBody};
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    NotFound(String),
    /// A request value is wrong: the field (JSON path) and why.
    #[error("{field}: {message}")]
    BadRequest { field: String, message: String },
    #[error("sign in first")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("missing or wrong X-CSRF-Token header")]
    Csrf,
    #[error("{0}")]
    Conflict(String),
    #[error("request body too large")]
    PayloadTooLarge,
    /// A JSON endpoint got another Content-Type (e.g. a cross-site `text/plain` form).
    #[error("the body must be JSON: Content-Type {0:?} is not application/json")]
    UnsupportedMediaType(String),
    #[error("too many failed sign-ins; try again in {0} s")]
    TooManyRequests(u64),
    /// ARM (or the emulator) refused or failed: passed on as 502 with ARM's message.
    #[error("Azure Resource Manager: {0}")]
    Upstream(String),
    #[error("the inventory has not been read yet; try again shortly")]
    NotReady,
    /// The server's request timeout ended the request (a write goes on: see the audit log).
    #[error("the request took too long and was ended; a write it started still finishes: see the audit log and the dashboard's events")]
    Timeout,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn bad(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadRequest {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::Csrf => StatusCode::FORBIDDEN,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Upstream(_) => StatusCode::BAD_GATEWAY,
            Self::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            Self::Timeout => StatusCode::REQUEST_TIMEOUT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "NotFound",
            Self::BadRequest { .. } => "BadRequest",
            Self::Unauthorized => "Unauthorized",
            Self::Forbidden(_) => "Forbidden",
            Self::Csrf => "CsrfMismatch",
            Self::Conflict(_) => "Conflict",
            Self::PayloadTooLarge => "PayloadTooLarge",
            Self::UnsupportedMediaType(_) => "UnsupportedMediaType",
            Self::TooManyRequests(_) => "TooManyRequests",
            Self::Upstream(_) => "UpstreamError",
            Self::NotReady => "NotReady",
            Self::Timeout => "RequestTimeout",
            Self::Internal(_) => "InternalError",
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(anyhow::Error::new(e).context("database"))
    }
}

impl From<crate::arm::ArmError> for AppError {
    fn from(e: crate::arm::ArmError) -> Self {
        Self::Upstream(e.to_string())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let message = if status.is_server_error() && !matches!(self, Self::Upstream(_)) {
            tracing::error!(error = ?self, "request failed");
            "internal server error".to_owned()
        } else {
            match &self {
                Self::BadRequest { message, .. } => message.clone(),
                other => other.to_string(),
            }
        };
        let field = match &self {
            Self::BadRequest { field, .. } if !field.is_empty() => Some(field.clone()),
            _ => None,
        };
        let body = ApiError {
            error: ApiErrorBody {
                code: self.code().to_owned(),
                message,
                field,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let Self::TooManyRequests(secs) = self {
            if let Ok(v) = secs.to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}

/// `Json<T>` whose rejections are [`AppError`]s: 400 naming the JSON path of the bad value,
/// 413 for oversized bodies, 415 folded into 400.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AppJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // only JSON: a cross-site form (text/plain, urlencoded) cannot post a body here
        let content_type = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if essence != "application/json" && !essence.ends_with("+json") {
            return Err(AppError::UnsupportedMediaType(content_type));
        }
        let bytes = match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => b,
            Err(rejection) => {
                return Err(if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::PayloadTooLarge
                } else {
                    AppError::bad("", rejection.body_text())
                })
            }
        };
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        match serde_path_to_error::deserialize::<_, T>(de) {
            Ok(v) => Ok(AppJson(v)),
            Err(e) => {
                let path = e.path().to_string();
                let inner = e.into_inner();
                Err(AppError::bad(
                    if path == "." { String::new() } else { path },
                    inner.to_string(),
                ))
            }
        }
    }
}

impl<T: serde::Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}
