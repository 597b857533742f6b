//! ARM's wire conventions on the emulator side: error bodies, `api-version`, paging.
use axum::{
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use serde_json::{json, Value};

/// An ARM error response: `{"error": {"code", "message"}}` with its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fail {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

impl Fail {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_string(),
            message: message.into(),
        }
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn missing_api_version() -> Self {
        Self::bad_request(
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    }

    /// `The Resource 'Microsoft.Network/networkSecurityGroups/nsg1' under resource group 'rg' was not found.`
    pub fn resource_not_found(provider_type: &str, name: &str, rg: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!(
                "The Resource '{provider_type}/{name}' under resource group '{rg}' was not found. \
                 For more details please go to https://aka.ms/ARMResourceNotFoundFix"
            ),
        )
    }

    pub fn subscription_not_found(sub: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "SubscriptionNotFound",
            format!("The subscription '{sub}' could not be found."),
        )
    }

    pub fn resource_group_not_found(rg: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ResourceGroupNotFound",
            format!("Resource group '{rg}' could not be found."),
        )
    }

    pub fn invalid_content(detail: impl std::fmt::Display) -> Self {
        Self::bad_request(
            "InvalidRequestContent",
            format!("The request content was invalid and could not be deserialized: '{detail}'."),
        )
    }

    pub fn precondition_failed(what: &str) -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "PreconditionFailed",
            format!(
                "The condition specified using HTTP conditional header(s) is not met for {what}."
            ),
        )
    }

    pub fn body(&self) -> Value {
        json!({ "error": { "code": self.code, "message": self.message } })
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

/// A JSON response with extra headers.
pub fn json_response(
    status: StatusCode,
    body: &impl Serialize,
    headers: &[(&str, String)],
) -> Response {
    let mut r = (status, Json(body)).into_response();
    add_headers(r.headers_mut(), headers);
    r
}

pub fn add_headers(h: &mut HeaderMap, headers: &[(&str, String)]) {
    for (k, v) in headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            h.insert(name, value);
        }
    }
}

/// Is `v` shaped like an ARM api-version (`2024-07-01`, `2021-06-01-preview`)?
pub fn well_formed_api_version(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() >= 10
        && b[..10].iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
        && (b.len() == 10 || (b[10] == b'-' && b.len() > 11))
}

/// One page of `items` starting at `$skipToken`, with an absolute `nextLink` when more remain.
/// `base_url` is `scheme://host`, `path` the request path, `query` the other query pairs.
pub fn page<T: Serialize>(
    items: &[T],
    skip: usize,
    page_size: usize,
    base_url: &str,
    path: &str,
    query: &[(String, String)],
) -> Value {
    let page_size = page_size.max(1);
    let end = (skip + page_size).min(items.len());
    let value: Vec<&T> = items.get(skip..end).unwrap_or_default().iter().collect();
    page_window(value, skip, items.len(), base_url, path, query)
}

/// [`page`] when only the page's `items` (from `skip` on, out of `total`) were produced.
pub fn page_window<T: Serialize>(
    items: Vec<T>,
    skip: usize,
    total: usize,
    base_url: &str,
    path: &str,
    query: &[(String, String)],
) -> Value {
    let end = skip.saturating_add(items.len()).min(total);
    let mut body = json!({ "value": items });
    if end < total {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in query.iter().filter(|(k, _)| k != "$skipToken") {
            q.append_pair(k, v);
        }
        q.append_pair("$skipToken", &end.to_string());
        body["nextLink"] = Value::String(format!("{base_url}{path}?{}", q.finish()));
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions() {
        for ok in ["2024-07-01", "2021-06-01-preview"] {
            assert!(well_formed_api_version(ok), "{ok}");
        }
        for bad in ["", "2024-7-01", "latest", "2024-07-01-", "2024_07_01"] {
            assert!(!well_formed_api_version(bad), "{bad}");
        }
    }

    #[test]
    fn paging_links_carry_the_query_and_the_skip_token() {
        let items = [1, 2, 3, 4, 5];
        let q = vec![("api-version".to_string(), "2024-07-01".to_string())];
        let p = page(&items, 0, 2, "http://h", "/x", &q);
        assert_eq!(p["value"], json!([1, 2]));
        assert_eq!(
            p["nextLink"],
            "http://h/x?api-version=2024-07-01&%24skipToken=2"
        );
        let p = page(&items, 4, 2, "http://h", "/x", &q);
        assert_eq!(p["value"], json!([5]));
        assert!(p.get("nextLink").is_none());
        let p = page(&items, 9, 2, "http://h", "/x", &q);
        assert_eq!(p["value"], json!([]));
    }
}

/// An ARM request, parsed once.
#[derive(Debug)]
pub struct ArmRequest {
    pub method: axum::http::Method,
    /// Path segments, percent-decoded, original case.
    pub segs: Vec<String>,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub api_version: String,
    pub headers: axum::http::HeaderMap,
    pub body: axum::body::Bytes,
    /// `http://host:port`, for absolute `nextLink` and operation URLs.
    pub base: String,
    pub principal: String,
    pub peer: Option<String>,
    pub page_size: usize,
    pub retry_after_ms: u64,
}
