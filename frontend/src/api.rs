//! The one client of the server's JSON API: its URLs and a typed fetch returning `shared` types.
//!
//! Reads are plain `GET`s with the session cookie; every write also sends the session's CSRF
//! token in `X-CSRF-Token` (see [`set_csrf_token`], called by the auth context on sign-in).
use crate::query;
use gloo_net::http::{Request, RequestBuilder};
use portcullis_shared::api::{
    Alert, AlertList, ApplyResult, AuditPage, AuditQuery, CreateJitRequest, Health, History,
    HistoryQuery, JitPolicyList, JitRequestList, JitRequestRecord, LoginRequest, Me, Posture,
    RefreshStarted, RemediationPlan, RemediationRequest, VmDetail, VmFilter,
};
use serde::{de::DeserializeOwned, Serialize};
use std::cell::RefCell;

/// URLs of the API, in one place.
pub mod url {
    use super::query;
    use portcullis_shared::api::{AuditQuery, HistoryQuery, VmFilter};

    pub const HEALTH: &str = "/api/health";
    pub const LOGIN: &str = "/api/login";
    pub const LOGOUT: &str = "/api/logout";
    pub const ME: &str = "/api/me";
    pub const REFRESH: &str = "/api/refresh";
    pub const EVENTS: &str = "/api/events";
    pub const PREVIEW: &str = "/api/remediations/preview";
    pub const APPLY: &str = "/api/remediations/apply";
    pub const JIT_REQUESTS: &str = "/api/jit/requests";

    pub fn posture(filter: &VmFilter) -> String {
        with_query("/api/posture", &query::filter_to_pairs(filter))
    }

    /// The CSV export of the same filter (every page).
    pub fn vms_csv(filter: &VmFilter) -> String {
        let mut filter = filter.clone();
        filter.page = None;
        filter.per_page = None;
        with_query("/api/vms.csv", &query::filter_to_pairs(&filter))
    }

    /// `/api/vms/{id}` with the ARM id URL-encoded (one path segment).
    pub fn vm(id: &str) -> String {
        format!("/api/vms/{}", query::encode(id))
    }

    pub fn history(q: &HistoryQuery) -> String {
        let mut pairs = Vec::new();
        if let Some(range) = q.range {
            pairs.push(("range".to_owned(), query::range_str(range).to_owned()));
        }
        with_query("/api/history", &pairs)
    }

    /// `/api/alerts` with filters (comma-separated lists; empty = any).
    pub fn alerts(vm: &str, severity: &str, status: &str) -> String {
        let pairs: Vec<(String, String)> = [("vm", vm), ("severity", severity), ("status", status)]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        with_query("/api/alerts", &pairs)
    }

    /// `/api/alerts/{id}` with the ARM id URL-encoded (one path segment).
    pub fn alert(id: &str) -> String {
        format!("/api/alerts/{}", query::encode(id))
    }

    pub fn jit_requests(all: bool) -> String {
        if all {
            "/api/jit/requests?all=true".to_owned()
        } else {
            JIT_REQUESTS.to_owned()
        }
    }

    pub fn audit(q: &AuditQuery) -> String {
        let mut pairs = Vec::new();
        if let Some(actor) = &q.actor {
            pairs.push(("actor".to_owned(), actor.clone()));
        }
        if let Some(action) = &q.action {
            pairs.push(("action".to_owned(), action.clone()));
        }
        if let Some(seq) = q.before_seq {
            pairs.push(("beforeSeq".to_owned(), seq.to_string()));
        }
        if let Some(limit) = q.limit {
            pairs.push(("limit".to_owned(), limit.to_string()));
        }
        with_query("/api/audit", &pairs)
    }

    pub fn with_query(path: &str, pairs: &[(String, String)]) -> String {
        if pairs.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{}", query::encode_pairs(pairs))
        }
    }
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

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The session is missing or expired.
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(401)
    }
}

thread_local! {
    static CSRF: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The token every write sends back in `X-CSRF-Token` (from [`Me::csrf_token`]).
pub fn set_csrf_token(token: Option<String>) {
    CSRF.with(|csrf| *csrf.borrow_mut() = token);
}

fn csrf_token() -> Option<String> {
    CSRF.with(|csrf| csrf.borrow().clone())
}

/// `GET url`, decoded as `T`. Errors carry the server's `{"error": {"message"}}` when it sent one.
pub async fn get_json<T: DeserializeOwned>(url: &str) -> Result<T, ApiError> {
    send(Request::get(url).header("Accept", "application/json")).await
}

/// `POST url` with a JSON body (and the CSRF header), decoded as `T`.
pub async fn post_json<B: Serialize, T: DeserializeOwned>(
    url: &str,
    body: &B,
) -> Result<T, ApiError> {
    let mut request = Request::post(url).header("Accept", "application/json");
    if let Some(token) = csrf_token() {
        request = request.header("X-CSRF-Token", &token);
    }
    let request = request
        .json(body)
        .map_err(|error| ApiError::Decode(error.to_string()))?;
    let response = request
        .send()
        .await
        .map_err(|error| ApiError::Network(error.to_string()))?;
    decode(response).await
}

async fn send<T: DeserializeOwned>(request: RequestBuilder) -> Result<T, ApiError> {
    let response = request
        .send()
        .await
        .map_err(|error| ApiError::Network(error.to_string()))?;
    decode(response).await
}

async fn decode<T: DeserializeOwned>(response: gloo_net::http::Response) -> Result<T, ApiError> {
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

/// Who is signed in: `None` when nobody is. Asks with `?optional=true`, so a signed-out visit
/// gets 204 rather than 401 and the browser logs no failed request.
pub async fn get_me() -> Result<Option<Me>, ApiError> {
    let response = Request::get(&format!("{}?optional=true", url::ME))
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|error| ApiError::Network(error.to_string()))?;
    if response.status() == 204 {
        return Ok(None);
    }
    decode(response).await.map(Some)
}

pub async fn login(username: String, password: String) -> Result<Me, ApiError> {
    post_json(url::LOGIN, &LoginRequest { username, password }).await
}

/// `POST /api/logout` (answers 204, no body). With `end_entra_session`, a person signed in
/// with Entra ID gets the identity provider's sign-out URL to go to next.
pub async fn logout(end_entra_session: bool) -> Result<Option<String>, ApiError> {
    let target = if end_entra_session {
        format!("{}?endEntraSession=true", url::LOGOUT)
    } else {
        url::LOGOUT.to_owned()
    };
    let mut request = Request::post(&target);
    if let Some(token) = csrf_token() {
        request = request.header("X-CSRF-Token", &token);
    }
    let response = request
        .send()
        .await
        .map_err(|error| ApiError::Network(error.to_string()))?;
    if response.status() == 200 {
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|error| ApiError::Network(error.to_string()))?;
        Ok(body["endSessionUrl"].as_str().map(str::to_owned))
    } else if response.ok() {
        Ok(None)
    } else {
        Err(ApiError::Status {
            status: response.status(),
            message: response.status_text(),
        })
    }
}

pub async fn get_posture(filter: VmFilter) -> Result<Posture, ApiError> {
    get_json(&url::posture(&filter)).await
}

pub async fn get_vm(id: String) -> Result<VmDetail, ApiError> {
    get_json(&url::vm(&id)).await
}

pub async fn get_history(q: HistoryQuery) -> Result<History, ApiError> {
    get_json(&url::history(&q)).await
}

pub async fn refresh() -> Result<RefreshStarted, ApiError> {
    post_json(url::REFRESH, &serde_json::json!({})).await
}

pub async fn preview(request: RemediationRequest) -> Result<RemediationPlan, ApiError> {
    post_json(url::PREVIEW, &request).await
}

pub async fn apply(request: RemediationRequest) -> Result<ApplyResult, ApiError> {
    post_json(url::APPLY, &request).await
}

pub async fn get_alerts(
    vm: String,
    severity: String,
    status: String,
) -> Result<AlertList, ApiError> {
    get_json(&url::alerts(&vm, &severity, &status)).await
}

pub async fn get_alert(id: String) -> Result<Alert, ApiError> {
    get_json(&url::alert(&id)).await
}

pub async fn get_jit_policies() -> Result<JitPolicyList, ApiError> {
    get_json("/api/jit/policies").await
}

pub async fn get_jit_requests(all: bool) -> Result<JitRequestList, ApiError> {
    get_json(&url::jit_requests(all)).await
}

pub async fn create_jit_request(request: CreateJitRequest) -> Result<JitRequestRecord, ApiError> {
    post_json(url::JIT_REQUESTS, &request).await
}

pub async fn get_audit(q: AuditQuery) -> Result<AuditPage, ApiError> {
    get_json(&url::audit(&q)).await
}
