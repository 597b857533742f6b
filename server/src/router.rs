//! Every route of the server, in one place.
use crate::{
    auth::Session,
    handlers::{
        self, alerts, audit, events, health, history, jit, posture, remediations, session, users,
        vms,
    },
    proxy::{arm_proxy_router, ArmProxy},
    state::AppState,
};
use axum::{
    extract::{DefaultBodyLimit, MatchedPath, Request, State},
    http::{header, HeaderName, HeaderValue, StatusCode},
    middleware::{self, Next},
    response::Response,
    routing::{get, post},
    Router,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tower_http::{
    compression::CompressionLayer,
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    services::{ServeDir, ServeFile},
    set_header::SetResponseHeaderLayer,
    timeout::TimeoutLayer,
    trace::{DefaultOnResponse, TraceLayer},
};
use tracing::Level;

/// The Content-Security-Policy: the WASM app from this origin and nothing else. Trunk's
/// index.html starts the app with one inline module script; it is allowed by its hash only.
pub fn csp(index_html: Option<&str>) -> String {
    let hashes: String = index_html
        .map(inline_scripts)
        .unwrap_or_default()
        .iter()
        .map(|s| {
            use sha2::Digest;
            format!(" 'sha256-{}'", base64(&sha2::Sha256::digest(s.as_bytes())))
        })
        .collect();
    format!("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
}

fn inline_scripts(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("<script") {
        let after = &rest[i..];
        let Some(open_end) = after.find('>') else {
            break;
        };
        let tag = &after[..open_end];
        let body = &after[open_end + 1..];
        let Some(close) = body.find("</script>") else {
            break;
        };
        if !tag.contains("src=") && !body[..close].trim().is_empty() {
            out.push(body[..close].to_string());
        }
        rest = &body[close..];
    }
    out
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn build_router(state: AppState) -> Router {
    let api = Router::new()
        // health, version, API description
        .route("/health", get(health::get_health))
        .route("/openapi.json", get(health::get_openapi))
        // sign-in
        .route("/login", post(session::login))
        .route("/logout", post(session::logout))
        .route("/me", get(session::get_me))
        // reads
        .route("/posture", get(posture::get_posture))
        .route("/vms.csv", get(posture::export_vms_csv))
        .route("/vms/{*id}", get(vms::get_vm))
        .route("/history", get(history::get_history))
        .route("/events", get(events::stream_events))
        .route("/alerts", get(alerts::list_alerts))
        .route("/alerts/{*id}", get(alerts::get_alert))
        // writes (operator)
        .route("/refresh", post(events::start_refresh))
        .route(
            "/remediations/preview",
            post(remediations::preview_remediation),
        )
        .route("/remediations/apply", post(remediations::apply_remediation))
        .route("/jit/policies", get(jit::list_jit_policies))
        .route(
            "/jit/requests",
            get(jit::list_jit_requests).post(jit::create_jit_request),
        )
        // admin
        .route("/audit", get(audit::list_audit))
        .route("/users", get(users::list_users).post(users::upsert_user))
        // unknown API paths answer JSON, not the front end
        .fallback(handlers::api_not_found);

    // the read-only ARM proxy, for signed-in users only
    let arm = arm_proxy_router(ArmProxy::new(state.arm.clone()))
        .route_layer(middleware::from_fn_with_state(state.clone(), signed_in));

    // The front end: files from dist/, and index.html for any other path so that deep links
    // (`/vms/...`) load the app, whose router then shows the page or its own "not found".
    let dist = &state.config.dist;
    let front_end = ServeDir::new(dist).fallback(ServeFile::new(dist.join("index.html")));
    let x_request_id = HeaderName::from_static("x-request-id");
    let index = std::fs::read_to_string(dist.join("index.html")).ok();
    let csp = HeaderValue::from_str(&csp(index.as_deref()))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"));

    Router::new()
        .nest("/api", api)
        .merge(arm)
        .route("/auth/login", get(handlers::entra::begin_sign_in))
        .route("/auth/callback", get(handlers::entra::finish_sign_in))
        .route("/healthz", get(health::get_healthz))
        .route("/readyz", get(health::get_readyz))
        .route("/metrics", get(health::get_metrics))
        .fallback_service(front_end)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            record_metrics,
        ))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(RequestBodyLimitLayer::new(state.config.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.config.request_timeout,
        ))
        // (outside both) the limit and timeout layers answer in plain text or not at all: give
        // those answers the API's JSON error shape
        .layer(middleware::map_response(json_errors))
        .layer(CompressionLayer::new())
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            csp,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        // one span per request, named by its route pattern (`/api/vms/{*id}`), with its id
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let matched_path = request
                        .extensions()
                        .get::<MatchedPath>()
                        .map(MatchedPath::as_str);
                    let request_id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        matched_path,
                        request_id,
                    )
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(SetRequestIdLayer::new(x_request_id, Counter::default()))
        .with_state(state)
}

/// Request ids: a per-process counter with a random prefix.
#[derive(Clone)]
struct Counter {
    prefix: Arc<str>,
    next: Arc<AtomicU64>,
}

impl Default for Counter {
    fn default() -> Self {
        Self {
            prefix: Arc::from(&crate::auth::random_token()[..8]),
            next: Arc::new(AtomicU64::new(1)),
        }
    }
}

impl MakeRequestId for Counter {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

async fn signed_in(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, crate::error::AppError> {
    let (mut parts, body) = request.into_parts();
    use axum::extract::FromRequestParts;
    Session::from_request_parts(&mut parts, &state).await?;
    Ok(next.run(Request::from_parts(parts, body)).await)
}

async fn record_metrics(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| {
            if request.uri().path().starts_with("/api/") {
                "/api/*".into()
            } else {
                "static".into()
            }
        });
    let response = next.run(request).await;
    state.metrics.request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// A 413 or 408 that is not already the API's JSON error (the limit and timeout layers answer
/// in plain text, or with no body) becomes one.
async fn json_errors(response: axum::response::Response) -> axum::response::Response {
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let error = match response.status() {
        _ if json => return response,
        StatusCode::PAYLOAD_TOO_LARGE => crate::error::AppError::PayloadTooLarge,
        StatusCode::REQUEST_TIMEOUT => crate::error::AppError::Timeout,
        _ => return response,
    };
    axum::response::IntoResponse::into_response(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_allows_the_inline_start_script_by_hash_and_wasm() {
        let c = csp(Some("<html><script type=\"module\">import x from './a.js';</script><script src=\"b.js\"></script>"));
        assert!(c.contains("'wasm-unsafe-eval'"), "{c}");
        assert_eq!(c.matches("'sha256-").count(), 1, "{c}");
        assert!(!c.contains("unsafe-inline"));
        assert_eq!(base64(b"hello"), "aGVsbG8=");
        assert_eq!(base64(b"hi!"), "aGkh");
    }
}
