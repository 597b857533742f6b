//! The emulator's HTTP side: connection handling (so a connection can be dropped without a
//! response), fault injection, authentication, `api-version`, throttling, request ids, the
//! OAuth2 token endpoint, the admin endpoints and the once-a-second housekeeping (JIT expiry,
//! operations nobody polls).
use super::http::{add_headers, well_formed_api_version, ArmRequest, Fail};
use super::routes::dispatch;
use super::util::Rng;
use super::world::World;
use super::{Auth, EmulatorConfig, Faults};
use axum::{
    body::{Body, Bytes},
    extract::{ConnectInfo, Path, Query, State},
    http::{HeaderMap, Method, Request, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::{get, post},
    Form, Json, Router,
};
use portcullis_shared::arm::versions::ApiFamily;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Mutex as AsyncMutex;
use tower::ServiceExt;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// Takes one token: `Ok(remaining)` or `Err(wait)` until one is back.
    fn take(&mut self, capacity: f64, per_second: f64) -> Result<u64, Duration> {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * per_second).min(capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(self.tokens.floor() as u64)
        } else {
            let secs = (1.0 - self.tokens) / per_second.max(1e-9);
            Err(Duration::from_secs_f64(secs.min(3600.0)))
        }
    }
}

#[derive(Debug)]
struct FaultState {
    faults: Faults,
    rng: Rng,
    buckets: HashMap<(String, bool), Bucket>,
}

/// Counters, for tests and for a curious operator (`GET /admin/stats`).
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub injected_429: AtomicU64,
    pub injected_5xx: AtomicU64,
    pub dropped: AtomicU64,
    pub throttled: AtomicU64,
}

pub struct Emu {
    cfg: EmulatorConfig,
    world: AsyncMutex<World>,
    initial: Initial,
    faults: Mutex<FaultState>,
    ids: Mutex<Rng>,
    tokens: Mutex<HashMap<String, (String, Instant)>>,
    /// Writes (non-GET) whose path contains one of these (lower case) fail with 500.
    fail_writes: Mutex<Vec<String>>,
    /// Whether those writes are done first and only their answer fails (`landed`).
    fail_writes_landed: std::sync::atomic::AtomicBool,
    /// The demo directory's keys, codes and faults (sign-in).
    entra: crate::entra::Entra,
    pub stats: Stats,
}

/// Where `POST /admin/reset` finds the world the emulator started with.
#[derive(Debug)]
pub enum Initial {
    /// Built from the configuration: built again.
    Built,
    /// Loaded from the state file: this copy of it, taken at start.
    File(std::path::PathBuf),
}

impl Initial {
    fn world(&self, cfg: &EmulatorConfig) -> World {
        match self {
            Initial::Built => crate::build_world(cfg),
            Initial::File(path) => match World::load(path) {
                Ok(Some(w)) => crate::prepare(w, cfg),
                other => {
                    tracing::warn!(path = %path.display(), error = ?other.err(), "the initial state is gone: building the configured tenant");
                    crate::build_world(cfg)
                }
            },
        }
    }
}

impl Emu {
    pub fn new(cfg: EmulatorConfig, world: World, initial: Initial) -> Self {
        Self {
            faults: Mutex::new(FaultState {
                faults: cfg.faults,
                rng: Rng::new(cfg.seed),
                buckets: HashMap::new(),
            }),
            ids: Mutex::new(Rng::new(cfg.seed.rotate_left(17) ^ 0xA11CE)),
            initial,
            world: AsyncMutex::new(world),
            tokens: Mutex::new(HashMap::new()),
            fail_writes: Mutex::new(Vec::new()),
            fail_writes_landed: std::sync::atomic::AtomicBool::new(false),
            entra: crate::entra::Entra::default(),
            stats: Stats::default(),
            cfg,
        }
    }

    /// After any change of the world: forgets what was derived from it and saves it.
    fn persist(&self, w: &World) {
        w.changed();
        if let Some(path) = &self.cfg.state_file {
            if let Err(e) = w.save(path) {
                tracing::error!(path = %path.display(), error = %e, "cannot save the emulator state");
            }
        }
    }

    fn guid(&self) -> String {
        self.ids.lock().unwrap_or_else(|e| e.into_inner()).guid()
    }

    /// Drop / latency decision, taken before the request reaches the router.
    fn pre_faults(&self) -> (bool, u64) {
        let mut f = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        let drop_rate = f.faults.drop_rate;
        (f.rng.chance(drop_rate), f.faults.latency_ms)
    }

    /// 429 / 5xx decision.
    fn injected_failure(&self) -> Option<StatusCode> {
        let mut f = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        let (r429, r5xx) = (f.faults.rate429, f.faults.rate5xx);
        if f.rng.chance(r429) {
            return Some(StatusCode::TOO_MANY_REQUESTS);
        }
        if f.rng.chance(r5xx) {
            return Some(if f.rng.next_u64().is_multiple_of(2) {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            });
        }
        None
    }

    fn throttle(&self, scope: &str, write: bool) -> Result<u64, Duration> {
        let t = self.cfg.throttle;
        let (cap, rate) = if write {
            (t.writes_capacity, t.writes_per_second)
        } else {
            (t.reads_capacity, t.reads_per_second)
        };
        let mut f = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        f.buckets
            .entry((scope.to_ascii_lowercase(), write))
            .or_insert_with(|| Bucket {
                tokens: cap,
                last: Instant::now(),
            })
            .take(cap, rate)
    }

    /// The principal of a bearer token (`None`: missing, unknown or expired).
    fn principal(&self, headers: &HeaderMap) -> Result<String, &'static str> {
        let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
            return Err("The access token is missing: the request has no 'Authorization' header.");
        };
        let token = match value.split_once(' ') {
            Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim(),
            _ => return Err("The 'Authorization' header is not a Bearer token."),
        };
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        match tokens.get(token) {
            Some((who, exp)) if *exp > Instant::now() => Ok(who.clone()),
            Some(_) => Err("The access token has expired."),
            None => Err("The access token is invalid."),
        }
    }
}

/// A running emulator. Dropping it stops the server too.
pub struct EmulatorHandle {
    addr: SocketAddr,
    emu: Arc<Emu>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl EmulatorHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn tenant_id(&self) -> String {
        super::TENANT_ID.to_string()
    }

    /// The emulator's current resources (all subscriptions).
    pub async fn inventory(&self) -> portcullis_shared::Inventory {
        self.emu.world.lock().await.inventory.clone()
    }

    pub fn stats(&self) -> &Stats {
        &self.emu.stats
    }

    /// Stops accepting, closes every connection, stops housekeeping.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The connection was dropped on purpose (fault injection): hyper closes it unanswered.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Dropped {}

pub(super) fn start(
    emu: Arc<Emu>,
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
) -> EmulatorHandle {
    let router = router(emu.clone());
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task_emu = emu.clone();
    let task = tokio::spawn(async move {
        let mut conns = tokio::task::JoinSet::new();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut stop_rx => break,
                _ = tick.tick() => housekeeping(&task_emu).await,
                accepted = listener.accept() => {
                    let Ok((stream, peer)) = accepted else { continue };
                    let router = router.clone();
                    let emu = task_emu.clone();
                    conns.spawn(async move {
                        let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                            serve_one(emu.clone(), router.clone(), peer, req)
                        });
                        let io = hyper_util::rt::TokioIo::new(stream);
                        let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                    });
                }
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
        conns.abort_all();
        while conns.join_next().await.is_some() {}
    });
    EmulatorHandle {
        addr,
        emu,
        stop: Some(stop_tx),
        task: Some(task),
    }
}

async fn housekeeping(emu: &Emu) {
    let mut w = emu.world.lock().await;
    let settled = w.settle_operations();
    let expired = w.expire_jit();
    if settled || expired > 0 {
        if expired > 0 {
            tracing::info!(expired, "JIT access requests expired");
        }
        emu.persist(&w);
    }
}

async fn serve_one(
    emu: Arc<Emu>,
    router: Router,
    peer: SocketAddr,
    req: Request<hyper::body::Incoming>,
) -> Result<Response, Dropped> {
    let path = req.uri().path();
    let is_arm =
        !path.starts_with("/admin/") && !path.contains("/oauth2/") && !path.contains("/v2.0/");
    if is_arm {
        emu.stats.requests.fetch_add(1, Ordering::Relaxed);
        let (drop, latency) = emu.pre_faults();
        if latency > 0 {
            tokio::time::sleep(Duration::from_millis(latency)).await;
        }
        if drop {
            emu.stats.dropped.fetch_add(1, Ordering::Relaxed);
            return Err(Dropped);
        }
    }
    let mut req = req.map(Body::new);
    req.extensions_mut().insert(ConnectInfo(peer));
    Ok(router.oneshot(req).await.unwrap_or_else(|e| match e {}))
}

fn router(emu: Arc<Emu>) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(issue_token))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(|Path(t): Path<String>, h: HeaderMap| async move { crate::entra::discovery(&t, &h) }),
        )
        .route(
            "/{tenant}/discovery/v2.0/keys",
            get(|State(emu): State<Arc<Emu>>, Path(t): Path<String>| async move {
                crate::entra::jwks(&emu.entra, &t)
            }),
        )
        .route(
            "/{tenant}/oauth2/v2.0/authorize",
            get(|State(emu): State<Arc<Emu>>, Path(t): Path<String>, Query(q): Query<HashMap<String, String>>| async move {
                crate::entra::authorize(&emu.entra, &emu.cfg.sign_in_app, &t, &q)
            }),
        )
        .route(
            "/{tenant}/oauth2/v2.0/logout",
            get(|State(emu): State<Arc<Emu>>, Path(t): Path<String>, Query(q): Query<HashMap<String, String>>| async move {
                crate::entra::logout(&emu.cfg.sign_in_app, &t, &q)
            }),
        )
        .route(
            "/admin/entra/rotate-keys",
            post(|State(emu): State<Arc<Emu>>| async move { crate::entra::rotate_keys(&emu.entra) }),
        )
        .route(
            "/admin/entra/id-token-fault",
            post(|State(emu): State<Arc<Emu>>, Json(body): Json<Value>| async move {
                crate::entra::set_fault(&emu.entra, &body)
            }),
        )
        .route("/metadata/identity/oauth2/token", get(imds_token))
        .route("/admin/revoke-tokens", post(revoke_tokens))
        .route("/admin/faults", get(get_faults).post(set_faults))
        .route("/admin/reset", post(reset))
        .route("/admin/clock", post(advance_clock))
        .route("/admin/stats", get(get_stats))
        .route("/admin/fail-writes", post(set_fail_writes))
        .route("/admin/graph-payload-limit", post(set_graph_payload_limit))
        .fallback(arm)
        .with_state(emu)
}

// ---------------------------------------------------------------------------------------------
// OAuth2 client credentials
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
    scope: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
}

/// The claims of a federated token (workload identity) that Entra checks against the app's
/// federated credential; the emulator trusts any issuer and does not check the signature.
fn federated_claims(assertion: &str) -> Result<Value, &'static str> {
    let payload = assertion
        .split('.')
        .nth(1)
        .and_then(crate::util::base64url_decode)
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .ok_or("AADSTS50027: JWT token is invalid or malformed.")?;
    let aud_ok = match &payload["aud"] {
        Value::String(a) => a == "api://AzureADTokenExchange",
        Value::Array(a) => a.iter().any(|a| a == "api://AzureADTokenExchange"),
        _ => false,
    };
    if !aud_ok {
        return Err("AADSTS700212: No matching federated identity record found for presented assertion audience.");
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if payload["exp"].as_i64().is_none_or(|exp| exp <= now) {
        return Err("AADSTS700024: Client assertion is not within its valid time range.");
    }
    if payload["sub"].as_str().is_none_or(str::is_empty) || payload["iss"].as_str().is_none() {
        return Err(
            "AADSTS70021: No matching federated identity record found for presented assertion.",
        );
    }
    Ok(payload)
}

fn aad_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// The client of a token request: `client_id` and `client_secret` from the form or from HTTP
/// Basic authentication (client_secret_basic), or a federated `client_assertion`.
fn authenticate_client(
    headers: &HeaderMap,
    form: &TokenForm,
    want_id: &str,
    want_secret: &str,
) -> Result<String, Box<Response>> {
    let basic = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| crate::util::base64url_decode(b.trim()))
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            let (id, secret) = s.split_once(':')?;
            let decode = |v: &str| {
                url::form_urlencoded::parse(format!("v={v}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
            };
            Some((decode(id)?, decode(secret)?))
        });
    let client_id = form
        .client_id
        .clone()
        .or_else(|| basic.as_ref().map(|b| b.0.clone()))
        .unwrap_or_default();
    if client_id != want_id {
        return Err(Box::new(aad_error(StatusCode::BAD_REQUEST, "unauthorized_client", &format!("AADSTS700016: Application with identifier '{client_id}' was not found in the directory."))));
    }
    let secret = form.client_secret.clone().or(basic.map(|b| b.1));
    match (&form.client_assertion, &form.client_assertion_type) {
        (Some(assertion), Some(kind))
            if kind == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" =>
        {
            federated_claims(assertion)
                .map_err(|why| Box::new(aad_error(StatusCode::UNAUTHORIZED, "invalid_client", why)))?;
        }
        (Some(_), _) => {
            return Err(Box::new(aad_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "AADSTS50027: client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
            )))
        }
        (None, _) if secret.as_deref() != Some(want_secret) => {
            return Err(Box::new(aad_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "AADSTS7000215: Invalid client secret provided.",
            )))
        }
        (None, _) => {}
    }
    Ok(client_id)
}

fn new_access_token(emu: &Emu, client_id: String) -> String {
    let token = format!("emu.{}", emu.guid().replace('-', ""));
    emu.tokens.lock().unwrap_or_else(|e| e.into_inner()).insert(
        token.clone(),
        (client_id, Instant::now() + Duration::from_secs(3600)),
    );
    token
}

async fn issue_token(
    State(emu): State<Arc<Emu>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    if form.grant_type.as_deref() == Some("authorization_code") {
        if !tenant.eq_ignore_ascii_case(super::TENANT_ID) {
            return aad_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("AADSTS90002: Tenant '{tenant}' not found."),
            );
        }
        let app = &emu.cfg.sign_in_app;
        let client_id =
            match authenticate_client(&headers, &form, &app.client_id, &app.client_secret) {
                Ok(id) => id,
                Err(response) => return *response,
            };
        let access_token = new_access_token(&emu, client_id.clone());
        return crate::entra::redeem_code(
            &emu.entra,
            &headers,
            crate::entra::CodeRedemption {
                code: form.code.as_deref(),
                redirect_uri: form.redirect_uri.as_deref(),
                code_verifier: form.code_verifier.as_deref(),
                client_id: &client_id,
            },
            access_token,
        );
    }
    if form.grant_type.as_deref() != Some("client_credentials") {
        return aad_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type; only client_credentials and authorization_code are supported.");
    }
    if form.scope.as_deref().is_none_or(|s| s.trim().is_empty()) {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "AADSTS1002012: The provided value for scope is not valid.",
        );
    }
    let client_id = match &emu.cfg.auth {
        Auth::ClientCredentials {
            client_id,
            client_secret,
        } => {
            if !tenant.eq_ignore_ascii_case(super::TENANT_ID) {
                return aad_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    &format!("AADSTS90002: Tenant '{tenant}' not found."),
                );
            }
            match authenticate_client(&headers, &form, client_id, client_secret) {
                Ok(id) => id,
                Err(response) => return *response,
            }
        }
        Auth::Open => form.client_id.clone().unwrap_or_default(),
    };
    let token = new_access_token(&emu, client_id);
    Json(json!({ "token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "access_token": token })).into_response()
}

#[derive(Debug, Deserialize)]
struct ImdsQuery {
    resource: Option<String>,
    client_id: Option<String>,
}

/// Azure's Instance Metadata Service token endpoint (`http://169.254.169.254/metadata/identity/
/// oauth2/token`, which tests route here): a token for the VM's managed identity. With
/// client credentials configured, the user-assigned identity is the emulator's client id
/// (asked for by `client_id`); without `client_id`, the system-assigned identity.
async fn imds_token(
    State(emu): State<Arc<Emu>>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<ImdsQuery>,
) -> Response {
    let imds_error = |status: StatusCode, error: &str, description: &str| {
        (
            status,
            Json(json!({ "error": error, "error_description": description })),
        )
            .into_response()
    };
    if headers.get("metadata").and_then(|v| v.to_str().ok()) != Some("true") {
        return imds_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required metadata header not specified",
        );
    }
    let Some(resource) = q.resource.filter(|r| !r.is_empty()) else {
        return imds_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required query variable 'resource' is missing",
        );
    };
    let who = match (&emu.cfg.auth, q.client_id) {
        (Auth::ClientCredentials { client_id, .. }, Some(asked)) if &asked != client_id => {
            return imds_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Identity not found",
            )
        }
        (_, Some(asked)) => asked,
        (_, None) => "system-assigned".to_string(),
    };
    let token = format!("emu.{}", emu.guid().replace('-', ""));
    emu.tokens.lock().unwrap_or_else(|e| e.into_inner()).insert(
        token.clone(),
        (who.clone(), Instant::now() + Duration::from_secs(3600)),
    );
    let expires_on = time::OffsetDateTime::now_utc().unix_timestamp() + 3600;
    Json(json!({
        "access_token": token, "client_id": who, "expires_in": "3600",
        "expires_on": expires_on.to_string(), "ext_expires_in": "3600",
        "not_before": (expires_on - 3600).to_string(), "resource": resource, "token_type": "Bearer"
    }))
    .into_response()
}

// ---------------------------------------------------------------------------------------------
// admin
// ---------------------------------------------------------------------------------------------

/// Revokes every token issued so far (ARM then answers 401 `InvalidAuthenticationToken` until
/// the client gets a new one); returns how many.
async fn revoke_tokens(State(emu): State<Arc<Emu>>) -> Json<Value> {
    let mut tokens = emu.tokens.lock().unwrap_or_else(|e| e.into_inner());
    let revoked = tokens.len();
    tokens.clear();
    Json(json!({ "revoked": revoked }))
}

async fn get_faults(State(emu): State<Arc<Emu>>) -> Json<Faults> {
    Json(emu.faults.lock().unwrap_or_else(|e| e.into_inner()).faults)
}

async fn set_faults(State(emu): State<Arc<Emu>>, Json(faults): Json<Faults>) -> Json<Faults> {
    emu.faults.lock().unwrap_or_else(|e| e.into_inner()).faults = faults;
    Json(faults)
}

/// Back to the start: the initial world, the configured faults, full token buckets.
async fn reset(State(emu): State<Arc<Emu>>) -> StatusCode {
    let mut w = emu.world.lock().await;
    *w = emu.initial.world(&emu.cfg);
    emu.persist(&w);
    let mut f = emu.faults.lock().unwrap_or_else(|e| e.into_inner());
    f.faults = emu.cfg.faults;
    f.rng = Rng::new(emu.cfg.seed);
    f.buckets.clear();
    emu.fail_writes
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
    emu.fail_writes_landed.store(false, Ordering::Relaxed);
    StatusCode::NO_CONTENT
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClockBody {
    advance_seconds: i64,
}

/// Moves the emulator clock forward, then runs housekeeping (so expiries happen at once).
async fn advance_clock(State(emu): State<Arc<Emu>>, Json(body): Json<ClockBody>) -> Response {
    let mut w = emu.world.lock().await;
    w.clock_offset_seconds = w.clock_offset_seconds.saturating_add(body.advance_seconds);
    w.settle_operations();
    let expired = w.expire_jit();
    emu.persist(&w);
    Json(json!({ "now": w.now_str(), "offsetSeconds": w.clock_offset_seconds, "expired": expired }))
        .into_response()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FailWritesBody {
    /// Substrings of request paths (case-insensitive); empty clears.
    path_contains: Vec<String>,
    /// The write is done, and only then answered with the 500 (a gateway that gives up after
    /// ARM has committed the change): the client cannot tell from the answer that it landed.
    #[serde(default)]
    landed: bool,
}

/// Deterministic write failures for tests: every non-GET request whose path contains one of
/// the strings answers 500 (until cleared with an empty list or `/admin/reset`); with
/// `landed`, after the write is done.
async fn set_fail_writes(
    State(emu): State<Arc<Emu>>,
    Json(body): Json<FailWritesBody>,
) -> StatusCode {
    emu.fail_writes_landed.store(body.landed, Ordering::Relaxed);
    *emu.fail_writes.lock().unwrap_or_else(|e| e.into_inner()) = body
        .path_contains
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    StatusCode::NO_CONTENT
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PayloadLimitBody {
    /// Bytes; `null` restores Resource Graph's own limit.
    bytes: Option<usize>,
}

/// Lowers the size of the largest Resource Graph answer (until `/admin/reset`), so that tests
/// meet `ResponsePayloadTooLarge` without a gigantic tenant.
async fn set_graph_payload_limit(
    State(emu): State<Arc<Emu>>,
    Json(body): Json<PayloadLimitBody>,
) -> StatusCode {
    emu.world.lock().await.graph_payload_limit = body.bytes;
    StatusCode::NO_CONTENT
}

async fn get_stats(State(emu): State<Arc<Emu>>) -> Response {
    let s = &emu.stats;
    let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
    Json(json!({
        "requests": l(&s.requests), "injected429": l(&s.injected_429), "injected5xx": l(&s.injected_5xx),
        "dropped": l(&s.dropped), "throttled": l(&s.throttled)
    }))
    .into_response()
}

// ---------------------------------------------------------------------------------------------
// ARM
// ---------------------------------------------------------------------------------------------

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn arm(
    State(emu): State<Arc<Emu>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = emu.guid();
    let correlation = headers
        .get("x-ms-correlation-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| request_id.clone());
    let mut extra: Vec<(&str, String)> = vec![
        ("x-ms-request-id", request_id),
        ("x-ms-correlation-request-id", correlation),
    ];
    // ARM echoes the client's own request id
    if let Some(id) = headers
        .get("x-ms-client-request-id")
        .and_then(|v| v.to_str().ok())
    {
        extra.push(("x-ms-client-request-id", id.to_string()));
    }
    let mut resp = arm_inner(&emu, peer, method, uri, headers, body, &mut extra).await;
    add_headers(resp.headers_mut(), &extra);
    resp
}

async fn arm_inner(
    emu: &Emu,
    peer: SocketAddr,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    extra: &mut Vec<(&'static str, String)>,
) -> Response {
    let req = match admit(emu, peer, method, uri, headers, body, extra) {
        Ok(req) => req,
        Err(refused) => return *refused,
    };
    let mut w = emu.world.lock().await;
    let (resp, changed) = dispatch(&mut w, &req);
    if changed {
        emu.persist(&w);
    } else if req.method != Method::GET && !read_only_post(&req.path) {
        // a refused or no-op write: forget derived values anyway, to be safe
        w.changed();
    }
    if emu.fail_writes_landed.load(Ordering::Relaxed) {
        // the write is done; only its answer is lost
        if let Err(lost) = injected_write_failure(emu, &req) {
            return *lost;
        }
    }
    resp
}

/// `Retry-After` (seconds) and `retry-after-ms`, as ARM sends them with a 429 or 503.
fn retry_headers(extra: &mut Vec<(&'static str, String)>, ms: u64) {
    extra.push(("Retry-After", ms.div_ceil(1000).max(1).to_string()));
    extra.push(("retry-after-ms", ms.to_string()));
}

/// ARM's gate, in its order: injected faults, authentication, the api-version, throttling,
/// injected write failures. The request, parsed, or the refusal.
fn admit(
    emu: &Emu,
    peer: SocketAddr,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    extra: &mut Vec<(&'static str, String)>,
) -> Result<ArmRequest, Box<Response>> {
    injected_fault(emu, extra)?;
    let principal = authenticate(emu, &headers)?;
    let (path, segs, query, api_version) = parse_target(&uri)?;
    let write = !matches!(method, Method::GET | Method::HEAD);
    let scope = if segs.len() > 1 && segs[0].eq_ignore_ascii_case("subscriptions") {
        segs[1].clone()
    } else {
        "tenant".into()
    };
    throttle(emu, &scope, write, extra)?;
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| emu_addr_fallback(&peer));
    let req = ArmRequest {
        method,
        segs,
        path,
        query,
        api_version,
        headers,
        body,
        base: format!("http://{host}"),
        principal,
        peer: Some(peer.ip().to_string()),
        page_size: emu.cfg.page_size,
        retry_after_ms: emu.cfg.retry_after_ms,
    };
    if !emu.fail_writes_landed.load(Ordering::Relaxed) {
        injected_write_failure(emu, &req)?;
    }
    Ok(req)
}

/// A fault that `--fault-*` or `/admin/faults` injects, answered before any work is done.
fn injected_fault(emu: &Emu, extra: &mut Vec<(&'static str, String)>) -> Result<(), Box<Response>> {
    let retry_ms = emu.cfg.retry_after_ms;
    let fail = match emu.injected_failure() {
        None => return Ok(()),
        Some(StatusCode::TOO_MANY_REQUESTS) => {
            emu.stats.injected_429.fetch_add(1, Ordering::Relaxed);
            retry_headers(extra, retry_ms);
            Fail::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "The request is being throttled as the limit has been reached for operation type. Please retry after the time given in the Retry-After header.",
            )
        }
        Some(StatusCode::INTERNAL_SERVER_ERROR) => {
            emu.stats.injected_5xx.fetch_add(1, Ordering::Relaxed);
            Fail::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "Encountered internal server error. Please try again.",
            )
        }
        Some(status) => {
            emu.stats.injected_5xx.fetch_add(1, Ordering::Relaxed);
            retry_headers(extra, retry_ms);
            Fail::new(status, "ServiceUnavailable", "The service is temporarily unavailable. Please retry after the time given in the Retry-After header.")
        }
    };
    Err(Box::new(fail.into_response()))
}

/// POST actions that only read (Resource Graph queries, effective rules): they keep what is
/// derived from the world (a snapshot of an estate sends thousands of them).
fn read_only_post(path: &str) -> bool {
    let p = path.trim_end_matches('/').to_ascii_lowercase();
    p.ends_with("/providers/microsoft.resourcegraph/resources")
        || p.ends_with("/listnetworkmanagereffectivesecurityadminrules")
        || p.ends_with("/effectivenetworksecuritygroups")
}

/// The caller's principal; with client credentials required, 401 without a valid token.
fn authenticate(emu: &Emu, headers: &HeaderMap) -> Result<String, Box<Response>> {
    match (emu.principal(headers), &emu.cfg.auth) {
        (Ok(p), _) => Ok(p),
        (Err(_), Auth::Open) => Ok("demo.user@contoso.com".to_string()),
        (Err(why), Auth::ClientCredentials { .. }) => {
            let mut r = Fail::new(
                StatusCode::UNAUTHORIZED,
                "AuthenticationFailed",
                format!("Authentication failed. {why}"),
            )
            .into_response();
            add_headers(
                r.headers_mut(),
                &[("WWW-Authenticate", format!("Bearer authorization_uri=\"https://login.emulator.test/{}\", error=\"invalid_token\"", super::TENANT_ID))],
            );
            Err(Box::new(r))
        }
    }
}

/// Path, decoded segments, query and api-version, which must be one that Azure publishes for
/// the path's resource type (ARM's exact errors otherwise).
#[allow(clippy::type_complexity)]
fn parse_target(
    uri: &Uri,
) -> Result<(String, Vec<String>, Vec<(String, String)>, String), Box<Response>> {
    let path = uri.path().to_string();
    let segs: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let Some(api_version) = query
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("api-version"))
        .map(|(_, v)| v.clone())
    else {
        return Err(Box::new(Fail::missing_api_version().into_response()));
    };
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let lower_refs: Vec<&str> = lower.iter().map(String::as_str).collect();
    if !well_formed_api_version(&api_version) {
        return Err(Box::new(
            Fail::bad_request(
                "InvalidApiVersionParameter",
                format!(
                    "The api-version '{api_version}' is invalid. The supported versions are '{}'.",
                    ApiFamily::Subscriptions.supported().join(",")
                ),
            )
            .into_response(),
        ));
    }
    if let Some(family) = ApiFamily::classify(&lower_refs) {
        if !family.accepts(&api_version) {
            let ty = lower_refs
                .iter()
                .rposition(|s| *s == "providers")
                .and_then(|i| segs.get(i + 2))
                .cloned()
                .unwrap_or_else(|| "subscriptions".into());
            return Err(Box::new(Fail::bad_request(
                "NoRegisteredProviderFound",
                format!("No registered resource provider found for location 'westeurope' and API version '{api_version}' for type '{ty}'. The supported api-versions are '{}'.", family.supported().join(", ")),
            )
            .into_response()));
        }
    }
    Ok((path, segs, query, api_version))
}

/// ARM's per-subscription token buckets: the remaining count as a header, or a 429.
fn throttle(
    emu: &Emu,
    scope: &str,
    write: bool,
    extra: &mut Vec<(&'static str, String)>,
) -> Result<(), Box<Response>> {
    match emu.throttle(scope, write) {
        Ok(remaining) => {
            extra.push((
                if write {
                    "x-ms-ratelimit-remaining-subscription-writes"
                } else {
                    "x-ms-ratelimit-remaining-subscription-reads"
                },
                remaining.to_string(),
            ));
            Ok(())
        }
        Err(wait) => {
            emu.stats.throttled.fetch_add(1, Ordering::Relaxed);
            retry_headers(extra, (wait.as_millis() as u64).max(1));
            Err(Box::new(Fail::new(
                StatusCode::TOO_MANY_REQUESTS,
                "SubscriptionRequestsThrottled",
                format!("Number of '{}' requests for subscription '{scope}' exceeded the limit. Please try again after the time given in the Retry-After header.", if write { "write" } else { "read" }),
            )
            .into_response()))
        }
    }
}

/// A write to a path that `/admin/fail-writes` names fails with a 500.
fn injected_write_failure(emu: &Emu, req: &ArmRequest) -> Result<(), Box<Response>> {
    if req.method == Method::GET {
        return Ok(());
    }
    let lower = req.path.to_ascii_lowercase();
    let fail = emu
        .fail_writes
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .any(|f| lower.contains(f.as_str()));
    if !fail {
        return Ok(());
    }
    emu.stats.injected_5xx.fetch_add(1, Ordering::Relaxed);
    Err(Box::new(
        Fail::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "Injected write failure.",
        )
        .into_response(),
    ))
}

fn emu_addr_fallback(peer: &SocketAddr) -> String {
    // without a Host header (HTTP/1.0) the best guess is loopback on the peer's family
    if peer.is_ipv4() {
        "127.0.0.1".into()
    } else {
        "[::1]".into()
    }
}
