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

pub use token::{AzureIdentity, ClientCredentials, NoAuth, TokenSource};

pub const AZURE_ARM_URL: &str = "https://management.azure.com";

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
            message: err["message"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| String::from_utf8_lossy(&r.body).chars().take(500).collect()),
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
            }),
        })
    }

    pub fn base_url(&self) -> &Url {
        &self.inner.cfg.base_url
    }

    /// Attempts beyond the first so far.
    pub fn retries(&self) -> u64 {
        self.inner.retries.load(Ordering::Relaxed)
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
            Some(last) if method == Method::POST && last.starts_with("list") => Method::GET,
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
            if let Some(b) = body {
                req = req
                    .header("content-type", "application/json")
                    .body(b.to_string());
            }
            let outcome = match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    match resp.bytes().await {
                        Ok(body) => Ok(RawResponse {
                            status,
                            headers,
                            body,
                        }),
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(e),
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
        let mut next = Some(path.to_string());
        let mut pages = 0usize;
        while let Some(p) = next.take() {
            pages += 1;
            if pages > 10_000 {
                return Err(ArmError::Decode(format!(
                    "more than 10000 pages listing {path}"
                )));
            }
            let page: portcullis_shared::arm::Page<T> =
                self.expect_ok(Method::GET, &p, None, &[]).await?.json()?;
            out.extend(page.value);
            next = page.next_link.filter(|l| !l.trim().is_empty());
        }
        Ok(out)
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
