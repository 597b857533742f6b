//! Liveness, readiness, version, metrics, the OpenAPI document.
use crate::state::AppState;
use axum::{extract::State, http::header, http::StatusCode, response::IntoResponse, Json};
use portcullis_shared::api::Health;

/// `GET /api/health`: the version and where the data comes from (the dashboard shows both).
pub async fn get_health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        data_source: state.config.data_source.as_str().to_owned(),
        sign_in: portcullis_shared::api::SignInMethods {
            local_accounts: state.config.local_accounts,
            microsoft: state.oidc.as_ref().map(|o| o.config.label.clone()),
        },
    })
}

/// `GET /healthz`: plain liveness for load balancers and scripts.
pub async fn get_healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 once a snapshot has been read and the database answers.
pub async fn get_readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    let db = sqlx::query("SELECT 1")
        .execute(&state.store.db)
        .await
        .is_ok();
    match (db, state.current().is_some()) {
        (true, true) => (StatusCode::OK, "ready"),
        (false, _) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
        (_, false) => (StatusCode::SERVICE_UNAVAILABLE, "no snapshot yet"),
    }
}

/// `GET /metrics`: Prometheus text format, for `Authorization: Bearer <--metrics-token>`, or
/// without a token configured for loopback callers only.
pub async fn get_metrics(
    State(state): State<AppState>,
    crate::auth::ClientAddr(peer): crate::auth::ClientAddr,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    let allowed = match &state.config.metrics_token {
        Some(token) => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|t| crate::auth::same(t.trim(), token)),
        // in-process callers (tests) have no peer address
        None => peer.is_none_or(|p| p.ip().is_loopback()),
    };
    if !allowed {
        return (
            axum::http::StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "metrics need the bearer token (--metrics-token)",
        )
            .into_response();
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render() + &state.arm.render_metrics(),
    )
        .into_response()
}

/// `GET /api/openapi.json`
pub async fn get_openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("../../openapi.json"),
    )
}
