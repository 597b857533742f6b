//! Retries: which failures are worth another attempt and how long to wait before it.
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use std::time::Duration;

/// Bounded exponential backoff with jitter; `Retry-After` (or `retry-after-ms` /
/// `x-ms-retry-after-ms`) wins when the server sends it, capped at `max_delay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Tiny delays for tests.
    pub fn fast() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(200),
        }
    }

    /// Backoff before attempt `attempt + 1` (attempt counts from 0), jittered into
    /// [delay/2, delay] by `unit` ∈ [0, 1).
    pub fn backoff(&self, attempt: u32, unit: f64) -> Duration {
        let exp = self.base_delay.saturating_mul(1u32 << attempt.min(16));
        let capped = exp.min(self.max_delay);
        capped.mul_f64(0.5 + 0.5 * unit.clamp(0.0, 1.0))
    }
}

/// Statuses worth retrying. Writes that are not idempotent (POST) retry only when the server
/// says it did nothing (429, 503).
pub fn retryable_status(method: &Method, status: StatusCode) -> bool {
    match status.as_u16() {
        429 | 503 => true,
        408 | 500 | 502 | 504 => method != Method::POST,
        _ => false,
    }
}

/// Transport errors worth retrying: connect failures always; for idempotent methods also
/// timeouts and connections closed before a complete response.
pub fn retryable_error(method: &Method, e: &reqwest::Error) -> bool {
    if e.is_connect() {
        return true;
    }
    method != Method::POST && (e.is_timeout() || e.is_request() || e.is_body() || e.is_decode())
}

/// The server's requested wait: `retry-after-ms`, `x-ms-retry-after-ms`, then `Retry-After`
/// (seconds or an HTTP date).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::trim);
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(ms) = h(name).and_then(|v| v.parse::<u64>().ok()) {
            return Some(Duration::from_millis(ms));
        }
    }
    let v = h("retry-after")?;
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when =
        time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822).ok()?;
    let secs = (when - time::OffsetDateTime::now_utc())
        .whole_milliseconds()
        .max(0);
    Some(Duration::from_millis(secs as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(0, 1.0), Duration::from_millis(500));
        assert_eq!(p.backoff(1, 1.0), Duration::from_secs(1));
        assert_eq!(p.backoff(0, 0.0), Duration::from_millis(250));
        assert_eq!(p.backoff(10, 1.0), Duration::from_secs(30));
        assert_eq!(p.backoff(40, 1.0), Duration::from_secs(30));
    }

    #[test]
    fn retry_after_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert("retry-after-ms", HeaderValue::from_static("20"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(20)));
        let mut h = HeaderMap::new();
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
    }

    #[test]
    fn which_statuses_retry() {
        assert!(retryable_status(
            &Method::GET,
            StatusCode::TOO_MANY_REQUESTS
        ));
        assert!(retryable_status(
            &Method::GET,
            StatusCode::INTERNAL_SERVER_ERROR
        ));
        assert!(!retryable_status(
            &Method::POST,
            StatusCode::INTERNAL_SERVER_ERROR
        ));
        assert!(retryable_status(
            &Method::POST,
            StatusCode::SERVICE_UNAVAILABLE
        ));
        assert!(!retryable_status(&Method::GET, StatusCode::NOT_FOUND));
        assert!(!retryable_status(
            &Method::PUT,
            StatusCode::PRECONDITION_FAILED
        ));
    }
}
