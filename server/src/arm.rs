//! The Azure Resource Manager client: one code path for Azure and for the emulator.
//!
//! Base URL configurable (default `https://management.azure.com`); bearer tokens from a
//! [`TokenSource`]; bounded retries with backoff and jitter honouring `Retry-After` on 429/5xx
//! and transport failures; per-attempt timeouts; `nextLink` paging; `If-Match` on writes;
//! long-running operations polled through `Azure-AsyncOperation` or `Location`; ARM errors as
//! [`ArmError::Api`] with status, code and message. Absolute URLs from the server (`nextLink`,
//! operation URLs) are followed only on the base URL's origin, so a token never leaves it.
pub mod api;
pub mod retry;
pub mod token;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use retry::{retry_after, retryable_error, retryable_status, RetryPolicy};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

pub use token::{AzureIdentity, ClientCredentials, Cloud, Credential, NoAuth, TokenSource};

#[derive(Debug, thiserror::Error)]
pub enum ArmError {
    /// ARM answered with an error status.
    #[error("ARM {status} {code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
        request_id: Option<String>,
    },
    #[error("cannot reach ARM: {0}")]
    Network(String),
    #[error("cannot get a token: {0}")]
    Auth(String),
    #[error("unexpected ARM response: {0}")]
    Decode(String),
    #[error("long-running operation ended {status}: {message}")]
    Operation { status: String, message: String },
    #[error("refusing to follow {0}: not on the ARM base URL's origin")]
    ForeignUrl(String),
    #[error("invalid ARM path {0}")]
    BadPath(String),
}

impl ArmError {
    /// Resource Graph's 400 for an answer over its largest (`ResponsePayloadTooLarge`, in the
    /// error's details).
    pub fn is_payload_too_large(&self) -> bool {
        matches!(self, ArmError::Api { status: 400, message, .. } if message.contains("ResponsePayloadTooLarge"))
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ArmError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn code(&self) -> Option<&str> {
        match self {
            ArmError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    fn from_response(r: &RawResponse) -> Self {
        let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        let err = &body["error"];
        ArmError::Api {
            status: r.status.as_u16(),
            code: err["code"]
                .as_str()
                .unwrap_or(r.status.canonical_reason().unwrap_or("Error"))
                .to_string(),
            message: {
                let mut m = err["message"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| {
                        String::from_utf8_lossy(&r.body).chars().take(500).collect()
                    });
                // the details say what a generic code does not (Resource Graph's
                // `BadRequest` / `ResponsePayloadTooLarge`)
                for d in err["details"].as_array().into_iter().flatten().take(5) {
                    if let (Some(code), Some(text)) = (d["code"].as_str(), d["message"].as_str()) {
                        m.push_str(&format!(" [{code}: {text}]"));
                    }
                }
                m
            },
            request_id: r.header("x-ms-request-id").map(str::to_string),
        }
    }
}

/// A complete response (after retries).
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: axum::body::Bytes,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ArmError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| ArmError::Decode(format!("{e} (status {})", self.status)))
    }
}

#[derive(Debug, Clone)]
pub struct ArmClientConfig {
    pub base_url: Url,
    pub retry: RetryPolicy,
    /// Per attempt.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Between operation polls when the server gives no `Retry-After`.
    pub poll_interval: Duration,
    /// Longest wait for a long-running operation.
    pub operation_timeout: Duration,
}

impl ArmClientConfig {
    pub fn new(base_url: &str) -> Result<Self, ArmError> {
        let base_url =
            Url::parse(base_url).map_err(|e| ArmError::BadPath(format!("{base_url}: {e}")))?;
        Ok(Self {
            base_url,
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            poll_interval: Duration::from_secs(5),
            operation_timeout: Duration::from_secs(600),
        })
    }

    /// Tiny delays: for tests against the emulator.
    pub fn fast(base_url: &str) -> Result<Self, ArmError> {
        Ok(Self {
            retry: RetryPolicy::fast(),
            timeout: Duration::from_secs(10),
            poll_interval: Duration::from_millis(10),
            operation_timeout: Duration::from_secs(20),
            ..Self::new(base_url)?
        })
    }
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    cfg: ArmClientConfig,
    tokens: Arc<dyn TokenSource>,
    jitter: AtomicU64,
    /// Attempts beyond the first, over the client's life (for tests and logs).
    retries: AtomicU64,
    /// Requests sent (every attempt), 429s met, transport errors, and the latency of answered
    /// attempts (microseconds, and per bucket of [`LATENCY_BUCKETS`]): `/metrics`.
    sent: AtomicU64,
    throttled: AtomicU64,
    failed: AtomicU64,
    latency_us: AtomicU64,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    /// Resource Graph's last word on the user's quota: when it resets, if it was used up.
    graph_quota_resets: std::sync::Mutex<Option<tokio::time::Instant>>,
    /// Requests per Azure RBAC operation ([`operation`]): what a role for Portcullis must allow.
    operations: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
}

/// The Azure RBAC operation that an ARM request needs, read off its method and path as Azure
/// names them: the resource provider of the last `/providers/` segment, the resource types
/// (every other segment after it), then `read`, `write`, `delete`, or `NAME/action` for a
/// POST to an action (`.../jitNetworkAccessPolicies/default/initiate` →
/// `Microsoft.Security/locations/jitNetworkAccessPolicies/initiate/action`). Paths without a
/// provider are `Microsoft.Resources` (`/subscriptions` → `Microsoft.Resources/subscriptions/read`);
/// a Resource Graph query is `Microsoft.ResourceGraph/resources/read`.
pub fn operation(method: &Method, path: &str) -> String {
    let path = path.split('?').next().unwrap_or_default();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (namespace, rest) = match segs
        .iter()
        .rposition(|s| s.eq_ignore_ascii_case("providers"))
    {
        Some(i) if i + 1 < segs.len() => (segs[i + 1], &segs[i + 2..]),
        _ => ("Microsoft.Resources", &segs[..]),
    };
    let mut types: Vec<&str> = rest.iter().step_by(2).copied().collect();
    let ends_with_type = rest.len() % 2 == 1;
    let verb = match *method {
        Method::GET | Method::HEAD => "read",
        Method::DELETE => "delete",
        Method::POST if namespace.eq_ignore_ascii_case("Microsoft.ResourceGraph") => "read",
        Method::POST if ends_with_type => {
            let action = types.pop().unwrap_or_default();
            return format!("{namespace}/{}/{action}/action", types.join("/"));
        }
        _ => "write",
    };
    format!("{namespace}/{}/{verb}", types.join("/"))
}

/// ARM latency histogram bounds, seconds.
const LATENCY_BUCKETS: [f64; 7] = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// `hh:mm:ss` (Resource Graph's `x-ms-user-quota-resets-after`).
fn parse_hms(s: &str) -> Option<Duration> {
    let mut secs = 0u64;
    for part in s.trim().split(':') {
        secs = secs * 60 + part.parse::<f64>().ok()?.ceil() as u64;
    }
    Some(Duration::from_secs(secs))
}

/// A fresh `x-ms-client-request-id` (a random GUID), so that a request can be found in ARM's logs.
fn client_request_id() -> String {
    let mut b = [0u8; 16];
    if getrandom::getrandom(&mut b).is_err() {
        b = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos().to_le_bytes())
            .unwrap_or_default();
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct ArmClient {
    inner: Arc<Inner>,
}

impl ArmClient {
    pub fn new(cfg: ArmClientConfig, tokens: Arc<dyn TokenSource>) -> Result<Self, ArmError> {
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("portcullis/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ArmError::Network(e.to_string()))?;
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            | 1;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                cfg,
                tokens,
                jitter: AtomicU64::new(seed),
                retries: AtomicU64::new(0),
                sent: AtomicU64::new(0),
                throttled: AtomicU64::new(0),
                failed: AtomicU64::new(0),
                latency_us: AtomicU64::new(0),
                latency_buckets: Default::default(),
                graph_quota_resets: std::sync::Mutex::new(None),
                operations: Default::default(),
            }),
        })
    }

    pub fn base_url(&self) -> &Url {
        &self.inner.cfg.base_url
    }

    /// The client's ARM counters in Prometheus text format (requests, retries, 429s, transport
    /// errors, latency).
    pub fn render_metrics(&self) -> String {
        let i = &self.inner;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut o = String::new();
        o.push_str(&format!("# HELP portcullis_arm_requests_total ARM requests sent (every attempt).\n# TYPE portcullis_arm_requests_total counter\nportcullis_arm_requests_total {}\n", load(&i.sent)));
        o.push_str(&format!("# HELP portcullis_arm_retries_total ARM attempts beyond the first.\n# TYPE portcullis_arm_retries_total counter\nportcullis_arm_retries_total {}\n", load(&i.retries)));
        o.push_str(&format!("# HELP portcullis_arm_throttled_total ARM answers 429 (throttled).\n# TYPE portcullis_arm_throttled_total counter\nportcullis_arm_throttled_total {}\n", load(&i.throttled)));
        o.push_str(&format!("# HELP portcullis_arm_transport_errors_total ARM requests without an answer.\n# TYPE portcullis_arm_transport_errors_total counter\nportcullis_arm_transport_errors_total {}\n", load(&i.failed)));
        o.push_str("# HELP portcullis_arm_operations_total ARM requests per Azure RBAC operation.\n# TYPE portcullis_arm_operations_total counter\n");
        for (op, n) in self.operations() {
            o.push_str(&format!(
                "portcullis_arm_operations_total{{operation=\"{op}\"}} {n}\n"
            ));
        }
        o.push_str("# HELP portcullis_arm_request_duration_seconds Latency of answered ARM requests.\n# TYPE portcullis_arm_request_duration_seconds histogram\n");
        let answered = load(&i.sent).saturating_sub(load(&i.failed));
        for (k, b) in LATENCY_BUCKETS.iter().enumerate() {
            o.push_str(&format!(
                "portcullis_arm_request_duration_seconds_bucket{{le=\"{b}\"}} {}\n",
                load(&i.latency_buckets[k])
            ));
        }
        o.push_str(&format!(
            "portcullis_arm_request_duration_seconds_bucket{{le=\"+Inf\"}} {answered}\n"
        ));
        o.push_str(&format!(
            "portcullis_arm_request_duration_seconds_sum {}\n",
            load(&i.latency_us) as f64 / 1e6
        ));
        o.push_str(&format!(
            "portcullis_arm_request_duration_seconds_count {answered}\n"
        ));
        o
    }

    /// Requests so far per Azure RBAC operation ([`operation`]).
    pub fn operations(&self) -> std::collections::BTreeMap<String, u64> {
        self.inner
            .operations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Attempts beyond the first so far.
    pub fn retries(&self) -> u64 {
        self.inner.retries.load(Ordering::Relaxed)
    }

    /// Requests sent so far (every attempt).
    pub fn requests(&self) -> u64 {
        self.inner.sent.load(Ordering::Relaxed)
    }

    /// Answers 429 so far.
    pub fn throttled(&self) -> u64 {
        self.inner.throttled.load(Ordering::Relaxed)
    }

    /// `path_and_query` (e.g. `/subscriptions?api-version=2022-12-01`) on the base URL; an
    /// absolute URL is accepted only on the base URL's origin.
    pub fn url(&self, path_and_query: &str) -> Result<Url, ArmError> {
        let base = &self.inner.cfg.base_url;
        if path_and_query.starts_with("http://") || path_and_query.starts_with("https://") {
            let u = Url::parse(path_and_query)
                .map_err(|e| ArmError::BadPath(format!("{path_and_query}: {e}")))?;
            if u.origin() != base.origin() || !u.username().is_empty() || u.password().is_some() {
                return Err(ArmError::ForeignUrl(path_and_query.to_string()));
            }
            return Ok(u);
        }
        if !path_and_query.starts_with('/') || path_and_query.starts_with("//") {
            return Err(ArmError::BadPath(path_and_query.to_string()));
        }
        let prefix = base.as_str().trim_end_matches('/');
        let u = Url::parse(&format!("{prefix}{path_and_query}"))
            .map_err(|e| ArmError::BadPath(format!("{path_and_query}: {e}")))?;
        if u.origin() != base.origin() {
            return Err(ArmError::ForeignUrl(path_and_query.to_string()));
        }
        Ok(u)
    }

    fn unit(&self) -> f64 {
        // xorshift64: jitter needs no cryptography
        let mut x = self.inner.jitter.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.inner.jitter.store(x, Ordering::Relaxed);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Sends with retries; returns the final response whatever its status (errors only when
    /// no response came at all, or no token).
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<RawResponse, ArmError> {
        let policy = self.inner.cfg.retry;
        // ARM's `list*` actions (listKeys, listNetworkManagerEffectiveSecurityAdminRules) are
        // POSTs that only read: retried as reads are
        let retry_as = match url.path_segments().and_then(|mut s| s.next_back()) {
            Some(last)
                if method == Method::POST
                    && (last.starts_with("list")
                        || url
                            .path()
                            .to_ascii_lowercase()
                            .starts_with("/providers/microsoft.resourcegraph/")) =>
            {
                Method::GET
            }
            _ => method.clone(),
        };
        let mut attempt: u32 = 0;
        let mut reauthenticated = false;
        loop {
            let token = self.inner.tokens.token().await?;
            let mut req = self.inner.http.request(method.clone(), url.clone());
            if let Some(t) = &token {
                req = req.bearer_auth(t);
            }
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            let request_id = client_request_id();
            req = req.header("x-ms-client-request-id", &request_id);
            self.inner.sent.fetch_add(1, Ordering::Relaxed);
            *self
                .inner
                .operations
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(operation(&method, url.path()))
                .or_default() += 1;
            let started = std::time::Instant::now();
            if let Some(b) = body {
                req = req
                    .header("content-type", "application/json")
                    .body(b.to_string());
            }
            let outcome = match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    let took = started.elapsed();
                    self.inner
                        .latency_us
                        .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
                    for (k, b) in LATENCY_BUCKETS.iter().enumerate() {
                        if took.as_secs_f64() <= *b {
                            self.inner.latency_buckets[k].fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        self.inner.throttled.fetch_add(1, Ordering::Relaxed);
                    }
                    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::debug!(
                        %method,
                        path = url.path(),
                        status = status.as_u16(),
                        ms = took.as_millis() as u64,
                        client_request_id = %request_id,
                        correlation_request_id = h("x-ms-correlation-request-id"),
                        remaining_reads = h("x-ms-ratelimit-remaining-subscription-reads"),
                        remaining_writes = h("x-ms-ratelimit-remaining-subscription-writes"),
                        "ARM answered"
                    );
                    match resp.bytes().await {
                        Ok(body) => Ok(RawResponse {
                            status,
                            headers,
                            body,
                        }),
                        Err(e) => Err(e),
                    }
                }
                Err(e) => {
                    self.inner.failed.fetch_add(1, Ordering::Relaxed);
                    Err(e)
                }
            };
            let last = attempt + 1 >= policy.max_attempts.max(1);
            let delay = match outcome {
                Ok(r)
                    if r.status == StatusCode::UNAUTHORIZED
                        && token.is_some()
                        && !reauthenticated =>
                {
                    // a revoked or expired token: one fresh try
                    self.inner.tokens.invalidate().await;
                    reauthenticated = true;
                    Duration::ZERO
                }
                Ok(r) if retryable_status(&retry_as, r.status) && !last => {
                    let backoff = policy.backoff(attempt, self.unit());
                    retry_after(&r.headers)
                        .map(|d| d.min(policy.max_delay))
                        .unwrap_or(backoff)
                }
                Ok(r) => return Ok(r),
                Err(e) if retryable_error(&retry_as, &e) && !last => {
                    policy.backoff(attempt, self.unit())
                }
                Err(e) => return Err(ArmError::Network(describe(&e))),
            };
            tracing::debug!(%method, %url, attempt, ?delay, "retrying ARM request");
            self.inner.retries.fetch_add(1, Ordering::Relaxed);
            attempt += 1;
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
    }

    async fn expect_ok(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<RawResponse, ArmError> {
        let r = self.send(method, self.url(path)?, body, headers).await?;
        if r.status.is_success() {
            Ok(r)
        } else {
            Err(ArmError::from_response(&r))
        }
    }

    /// GET, the response whatever its status (the read-only proxy passes ARM errors through).
    pub async fn get_raw(&self, path: &str) -> Result<RawResponse, ArmError> {
        self.send(Method::GET, self.url(path)?, None, &[]).await
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ArmError> {
        self.expect_ok(Method::GET, path, None, &[]).await?.json()
    }

    /// Every item of a list, following `nextLink` until it is absent.
    pub async fn list<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, ArmError> {
        let mut out = Vec::new();
        self.list_each(path, |items: Vec<T>| {
            out.extend(items);
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// Each page of a list handed to `on_page` as it arrives, following `nextLink` until it is
    /// absent, so that a long list is never held whole in its JSON form. Returns the items seen.
    pub async fn list_each<T: DeserializeOwned>(
        &self,
        path: &str,
        mut on_page: impl FnMut(Vec<T>) -> Result<(), ArmError>,
    ) -> Result<usize, ArmError> {
        let mut next = Some(path.to_string());
        let (mut pages, mut items) = (0usize, 0usize);
        while let Some(p) = next.take() {
            pages += 1;
            if pages > 10_000 {
                return Err(ArmError::Decode(format!(
                    "more than 10000 pages listing {path}"
                )));
            }
            let page: portcullis_shared::arm::Page<T> =
                self.expect_ok(Method::GET, &p, None, &[]).await?.json()?;
            next = page.next_link.filter(|l| !l.trim().is_empty());
            items += page.value.len();
            on_page(page.value)?;
        }
        Ok(items)
    }

    /// PUT with optional `If-Match`; waits for a long-running operation to finish and returns
    /// the final resource.
    pub async fn put<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        if_match: Option<&str>,
    ) -> Result<T, ArmError> {
        let body = serde_json::to_value(body).map_err(|e| ArmError::Decode(e.to_string()))?;
        let headers: Vec<(&str, &str)> =
            if_match.map(|e| vec![("if-match", e)]).unwrap_or_default();
        let r = self
            .expect_ok(Method::PUT, path, Some(&body), &headers)
            .await?;
        match self.wait(&r).await? {
            Some(final_body) => {
                serde_json::from_value(final_body).map_err(|e| ArmError::Decode(e.to_string()))
            }
            // Azure-AsyncOperation finished: the resource is read again (final-state-via
            // azure-async-operation)
            None if r.header("azure-asyncoperation").is_some() => self.get(path).await,
            None => r.json(),
        }
    }

    /// DELETE with optional `If-Match`; waits for a long-running operation. `Ok(false)`: there
    /// was nothing to delete (204).
    pub async fn delete(&self, path: &str, if_match: Option<&str>) -> Result<bool, ArmError> {
        let headers: Vec<(&str, &str)> =
            if_match.map(|e| vec![("if-match", e)]).unwrap_or_default();
        let r = self.expect_ok(Method::DELETE, path, None, &headers).await?;
        if r.status == StatusCode::NO_CONTENT {
            return Ok(false);
        }
        self.wait(&r).await?;
        Ok(true)
    }

    /// One Resource Graph POST, obeying the per-user quota: with `x-ms-user-quota-remaining: 0`
    /// on the last answer it first waits out `x-ms-user-quota-resets-after`.
    async fn graph_post(&self, body: &Value) -> Result<RawResponse, ArmError> {
        let path = format!(
            "/providers/Microsoft.ResourceGraph/resources?api-version={}",
            api::RESOURCE_GRAPH
        );
        // a used-up quota: wait for its reset rather than be throttled
        let resets = *self
            .inner
            .graph_quota_resets
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(at) = resets {
            if at > tokio::time::Instant::now() {
                tracing::debug!("Resource Graph quota used up: waiting for its reset");
                tokio::time::sleep_until(at).await;
            }
        }
        let url = self.url(&path)?;
        let mut throttled = 0;
        loop {
            let r = self
                .send(Method::POST, url.clone(), Some(body), &[])
                .await?;
            // every answer, an error too, says how much of the quota is left
            let resets = r
                .header("x-ms-user-quota-resets-after")
                .and_then(parse_hms)
                .unwrap_or(Duration::from_secs(1));
            let used_up = r.header("x-ms-user-quota-remaining") == Some("0")
                || r.status == StatusCode::TOO_MANY_REQUESTS;
            *self
                .inner
                .graph_quota_resets
                .lock()
                .unwrap_or_else(|e| e.into_inner()) =
                used_up.then(|| tokio::time::Instant::now() + resets);
            if r.status.is_success() {
                return Ok(r);
            }
            // still throttled after the retries (another client shares the user's quota):
            // wait out the quota's reset, a few times
            if r.status == StatusCode::TOO_MANY_REQUESTS && throttled < 3 {
                throttled += 1;
                tracing::debug!(
                    ?resets,
                    "Resource Graph throttled: waiting for the quota's reset"
                );
                tokio::time::sleep(resets).await;
                continue;
            }
            return Err(ArmError::from_response(&r));
        }
    }

    /// The rows of a Resource Graph summary (a `summarize`, which has one page only) over
    /// `subscriptions`, with the size of the answer in bytes. An answer that says it was
    /// truncated (`resultTruncated: "true"`) is an error: rows would be missing.
    pub async fn graph_summary(
        &self,
        subscriptions: &[String],
        query: &str,
    ) -> Result<(Vec<Value>, usize), ArmError> {
        let body = serde_json::json!({
            "query": query,
            "subscriptions": subscriptions,
            "options": {"resultFormat": "objectArray", "$top": 1000},
        });
        let r = self.graph_post(&body).await?;
        let size = r.body.len();
        let mut v: Value = r.json()?;
        let bad = |field: &str| {
            ArmError::Decode(format!(
                "Resource Graph query {query:?}, page 1: {field} is missing or malformed"
            ))
        };
        let data = v["data"].as_array().ok_or_else(|| bad("data"))?;
        let count = v["count"].as_u64().ok_or_else(|| bad("count"))?;
        if count as usize != data.len() {
            return Err(bad(&format!("count ({count} for {} rows)", data.len())));
        }
        match &v["resultTruncated"] {
            Value::String(t) if t.eq_ignore_ascii_case("false") => {}
            Value::Bool(false) | Value::Null => {}
            _ => {
                return Err(bad(
                    "resultTruncated (the summary was cut short: a summary has no second page)",
                ))
            }
        }
        match v["data"].take() {
            Value::Array(rows) => Ok((rows, size)),
            _ => Err(bad("data")),
        }
    }

    /// Every row of a Resource Graph query (`resultFormat: objectArray`, 1,000 rows a page,
    /// `$skipToken` paging) over `subscriptions` or, when given, a management group. The
    /// per-user quota is obeyed: with `x-ms-user-quota-remaining: 0` the next page waits out
    /// `x-ms-user-quota-resets-after`; a 429 is retried after its `Retry-After` by [`Self::send`].
    /// A malformed answer names the query, the page and the field.
    pub async fn graph_query(
        &self,
        subscriptions: &[String],
        management_group: Option<&str>,
        query: &str,
    ) -> Result<Vec<Value>, ArmError> {
        let mut rows = Vec::new();
        self.graph_query_pages(subscriptions, management_group, query, &mut |page| {
            rows.extend(page);
            Ok(())
        })
        .await?;
        Ok(rows)
    }

    /// [`Self::graph_query`], handing each page's rows to `on_page` as it arrives (a large
    /// estate is then never held whole as JSON).
    pub async fn graph_query_pages(
        &self,
        subscriptions: &[String],
        management_group: Option<&str>,
        query: &str,
        on_page: &mut (dyn FnMut(Vec<Value>) -> Result<(), ArmError> + Send),
    ) -> Result<(), ArmError> {
        let mut received = 0usize;
        let mut skip_token: Option<String> = None;
        // rows a page: halved while an answer would exceed Resource Graph's largest
        let mut top = 1000usize;
        let mut page = 0usize;
        while page < 100_000 {
            page += 1;
            let mut body = serde_json::json!({
                "query": query,
                "options": {"resultFormat": "objectArray", "$top": top},
            });
            match management_group {
                Some(mg) => body["managementGroups"] = serde_json::json!([mg]),
                None => body["subscriptions"] = serde_json::json!(subscriptions),
            }
            if let Some(t) = &skip_token {
                body["options"]["$skipToken"] = Value::from(t.as_str());
            }
            let r = match self.graph_post(&body).await {
                Err(e) if e.is_payload_too_large() && top > 1 => {
                    top /= 2;
                    tracing::debug!(top, "Resource Graph answer too large: fewer rows a page");
                    page -= 1;
                    continue;
                }
                r => r?,
            };
            let mut v: Value = r.json()?;
            let bad = |field: &str| {
                ArmError::Decode(format!(
                    "Resource Graph query {query:?}, page {page}: {field} is missing or malformed"
                ))
            };
            let data = v["data"].as_array().ok_or_else(|| bad("data"))?;
            let count = v["count"].as_u64().ok_or_else(|| bad("count"))?;
            if count as usize != data.len() {
                return Err(bad(&format!("count ({count} for {} rows)", data.len())));
            }
            if data.iter().any(|row| !row["id"].is_string()) {
                return Err(bad("data[].id"));
            }
            received += data.len();
            let next = match &v["$skipToken"] {
                Value::String(t) if !t.is_empty() => Some(t.clone()),
                Value::Null => None,
                _ => return Err(bad("$skipToken")),
            };
            let total = v["totalRecords"].as_u64();
            if let Value::Array(rows) = v["data"].take() {
                on_page(rows)?;
            }
            skip_token = next;
            if skip_token.is_none() {
                if let Some(total) = total {
                    if total as usize != received && management_group.is_none() {
                        return Err(bad(&format!(
                            "totalRecords ({total}, but {received} rows arrived)"
                        )));
                    }
                }
                return Ok(());
            }
        }
        Err(ArmError::Decode(format!(
            "Resource Graph query {query:?}: more than 100000 pages"
        )))
    }

    /// POST an action; returns the status and the JSON body (`Null` when empty).
    pub async fn post<B: Serialize>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<(StatusCode, Value), ArmError> {
        let body = serde_json::to_value(body).map_err(|e| ArmError::Decode(e.to_string()))?;
        let r = self.expect_ok(Method::POST, path, Some(&body), &[]).await?;
        let v = if r.body.is_empty() {
            Value::Null
        } else {
            r.json()?
        };
        Ok((r.status, v))
    }

    /// Polls a long-running operation to its end. `Some(body)`: the final body from a
    /// `Location` poll; `None`: nothing more to read (or not an operation at all).
    async fn wait(&self, first: &RawResponse) -> Result<Option<Value>, ArmError> {
        let deadline = tokio::time::Instant::now() + self.inner.cfg.operation_timeout;
        let poll_delay = |r: &RawResponse| {
            retry_after(&r.headers)
                .unwrap_or(self.inner.cfg.poll_interval)
                .min(self.inner.cfg.retry.max_delay)
        };
        if let Some(op_url) = first.header("azure-asyncoperation").map(str::to_string) {
            let url = self.url(&op_url)?;
            let mut delay = poll_delay(first);
            loop {
                if tokio::time::Instant::now() + delay > deadline {
                    return Err(ArmError::Operation {
                        status: "TimedOut".into(),
                        message: format!("{op_url} did not finish in time"),
                    });
                }
                tokio::time::sleep(delay).await;
                let r = self.send(Method::GET, url.clone(), None, &[]).await?;
                if !r.status.is_success() {
                    return Err(ArmError::from_response(&r));
                }
                let v: Value = r.json()?;
                match v["status"].as_str().unwrap_or("InProgress") {
                    s if s.eq_ignore_ascii_case("Succeeded") => return Ok(None),
                    s if ["Failed", "Canceled", "Cancelled"]
                        .iter()
                        .any(|t| s.eq_ignore_ascii_case(t)) =>
                    {
                        return Err(ArmError::Operation {
                            status: s.to_string(),
                            message: v["error"]["message"]
                                .as_str()
                                .unwrap_or("no details")
                                .to_string(),
                        })
                    }
                    _ => delay = poll_delay(&r),
                }
            }
        }
        if first.status == StatusCode::ACCEPTED {
            if let Some(loc) = first.header("location").map(str::to_string) {
                let url = self.url(&loc)?;
                let mut delay = poll_delay(first);
                loop {
                    if tokio::time::Instant::now() + delay > deadline {
                        return Err(ArmError::Operation {
                            status: "TimedOut".into(),
                            message: format!("{loc} did not finish in time"),
                        });
                    }
                    tokio::time::sleep(delay).await;
                    let r = self.send(Method::GET, url.clone(), None, &[]).await?;
                    match r.status {
                        StatusCode::ACCEPTED => delay = poll_delay(&r),
                        s if s.is_success() => {
                            return Ok(if r.body.is_empty() {
                                None
                            } else {
                                Some(r.json()?)
                            })
                        }
                        _ => return Err(ArmError::from_response(&r)),
                    }
                }
            }
        }
        Ok(None)
    }
}

fn describe(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::{operation, Method};

    #[test]
    fn operations_are_named_as_azure_rbac_names_them() {
        let rg = "/subscriptions/s/resourceGroups/rg/providers";
        let cases = [
            (Method::GET, "/subscriptions?api-version=2022-12-01".to_string(), "Microsoft.Resources/subscriptions/read"),
            (Method::GET, format!("{rg}/Microsoft.Compute/virtualMachines/vm-1?api-version=x"), "Microsoft.Compute/virtualMachines/read"),
            (Method::GET, "/subscriptions/s/providers/Microsoft.Network/networkInterfaces".into(), "Microsoft.Network/networkInterfaces/read"),
            (Method::PUT, format!("{rg}/Microsoft.Network/networkSecurityGroups/n/securityRules/r"), "Microsoft.Network/networkSecurityGroups/securityRules/write"),
            (Method::DELETE, format!("{rg}/Microsoft.Network/networkSecurityGroups/n/securityRules/r"), "Microsoft.Network/networkSecurityGroups/securityRules/delete"),
            (Method::POST, format!("{rg}/Microsoft.Security/locations/westeurope/jitNetworkAccessPolicies/default/initiate"), "Microsoft.Security/locations/jitNetworkAccessPolicies/initiate/action"),
            (Method::POST, format!("{rg}/Microsoft.Network/virtualNetworks/v/listNetworkManagerEffectiveSecurityAdminRules"), "Microsoft.Network/virtualNetworks/listNetworkManagerEffectiveSecurityAdminRules/action"),
            (Method::GET, format!("{rg}/Microsoft.Compute/virtualMachines/vm/providers/Microsoft.Security/assessments"), "Microsoft.Security/assessments/read"),
            (Method::POST, "/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01".into(), "Microsoft.ResourceGraph/resources/read"),
            (Method::GET, "/providers/Microsoft.Management/managementGroups/contoso/descendants?api-version=2023-04-01".into(), "Microsoft.Management/managementGroups/descendants/read"),
            (Method::GET, "/subscriptions/s/providers/Microsoft.Network/locations/westeurope/operations/1".into(), "Microsoft.Network/locations/operations/read"),
        ];
        for (method, path, want) in cases {
            assert_eq!(operation(&method, &path), want, "{method} {path}");
        }
    }
}
