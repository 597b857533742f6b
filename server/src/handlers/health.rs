//! Liveness and version.
use crate::state::AppState;
use axum::{extract::State, Json};
use portcullis_shared::api::Health;

/// `GET /api/health`: the version and where the data comes from (the dashboard shows both).
pub async fn get_health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        data_source: state.config.data_source.as_str().to_owned(),
    })
}

/// `GET /healthz`: plain liveness for load balancers and scripts.
pub async fn get_healthz() -> &'static str {
    "ok"
}
