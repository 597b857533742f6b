//! The one client of the server's JSON API: its URLs and a typed fetch returning `shared` types.
use gloo_net::http::Request;
use portcullis_shared::api::Health;
use serde::de::DeserializeOwned;

/// URLs of the API, in one place.
pub mod url {
    pub const HEALTH: &str = "/api/health";
}

/// Why a call failed, worded for the person looking at the page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("cannot reach the server: {0}")]
    Network(String),
    #[error("the server answered {status}: {message}")]
    Status { status: u16, message: String },
    #[error("unexpected answer from the server: {0}")]
    Decode(String),
}

/// `GET url`, decoded as `T`. Errors carry the server's `{"error": {"message"}}` when it sent one.
pub async fn get_json<T: DeserializeOwned>(url: &str) -> Result<T, ApiError> {
    let response = Request::get(url)
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|error| ApiError::Network(error.to_string()))?;
    if !response.ok() {
        let body = response.text().await.unwrap_or_default();
        return Err(ApiError::Status {
            status: response.status(),
            message: error_message(&body).unwrap_or_else(|| response.status_text()),
        });
    }
    response
        .json::<T>()
        .await
        .map_err(|error| ApiError::Decode(error.to_string()))
}

/// The message of an error body shaped `{"error": {"code", "message"}}`.
fn error_message(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    Some(value["error"]["message"].as_str()?.to_owned())
}

pub async fn get_health() -> Result<Health, ApiError> {
    get_json(url::HEALTH).await
}
