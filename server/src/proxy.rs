//! The read-only ARM proxy: `GET /arm/{*path}` forwards an allowlisted ARM read to the ARM
//! client (with the server's own token) and hands the JSON back.
//!
//! Only GET; only `/subscriptions`, Microsoft.Compute/virtualMachines,
//! Microsoft.Network/{networkInterfaces, publicIPAddresses, virtualNetworks (+subnets, and their
//! effective security admin rules, which ARM lists with a POST that the proxy makes itself),
//! networkSecurityGroups (+securityRules), applicationSecurityGroups, loadBalancers,
//! azureFirewalls, firewallPolicies (+ruleCollectionGroups), bastionHosts, ipGroups,
//! applicationGateways} and
//! Microsoft.Security/{jitNetworkAccessPolicies, secureScores, secureScoreControls,
//! assessments, alerts, locations}; only approved api-versions and a few query parameters.
//! Path segments may hold only `[A-Za-z0-9._()-]`, which shuts out traversal (`..`,
//! `%2e%2e`), encoded slashes, `@`, `:` and `//`. The upstream URL is always the ARM base
//! URL + the validated path: the host never comes from the request. Nothing of the browser's
//! request (cookies, headers) goes to ARM and nothing of ARM's response but the status and
//! the JSON body comes back; `nextLink` is rewritten to come through the proxy again.
use crate::arm::api::ApiFamily;
use crate::arm::ArmClient;
use axum::{
    extract::{OriginalUri, State},
    http::{header, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
    routing::any,
    Json, Router,
};
use serde_json::{json, Value};

/// Where the proxy is mounted.
pub const PREFIX: &str = "/arm";
/// Largest ARM response passed on (ARM pages are far smaller).
pub const DEFAULT_MAX_BODY: usize = 8 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct ArmProxy {
    client: ArmClient,
    max_body: usize,
}

impl ArmProxy {
    pub fn new(client: ArmClient) -> Self {
        Self {
            client,
            max_body: DEFAULT_MAX_BODY,
        }
    }

    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }
}

/// `GET /arm/{*path}`. Generic over the outer router's state so it merges into any router.
pub fn arm_proxy_router<S: Clone + Send + Sync + 'static>(proxy: ArmProxy) -> Router<S> {
    Router::new()
        .route("/arm", any(proxy_arm))
        .route("/arm/", any(proxy_arm))
        .route("/arm/{*path}", any(proxy_arm))
        .with_state(proxy)
}

fn reject(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let mut r = (
        status,
        Json(json!({ "error": { "code": code, "message": message.into() } })),
    )
        .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn proxy_arm(
    State(proxy): State<ArmProxy>,
    method: Method,
    OriginalUri(uri): OriginalUri,
) -> Response {
    if method != Method::GET {
        let mut r = reject(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "the ARM proxy is read-only: only GET",
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET"));
        return r;
    }
    let path_and_query = match validate(uri.path(), uri.query()) {
        Ok(p) => p,
        Err(why) => return reject(StatusCode::BAD_REQUEST, "ProxyRequestRejected", why),
    };
    let upstream = match admin_rules_post(&path_and_query) {
        // the one ARM read that is a POST: asked for here with GET, sent as ARM wants it
        Some((path, body)) => match proxy.client.url(&path) {
            Ok(url) => proxy.client.send(Method::POST, url, Some(&body), &[]).await,
            Err(e) => Err(e),
        },
        None => proxy.client.get_raw(&path_and_query).await,
    };
    let upstream = match upstream {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, path = %path_and_query, "ARM proxy: upstream failed");
            return reject(
                StatusCode::BAD_GATEWAY,
                "BadGateway",
                "Azure Resource Manager could not be reached",
            );
        }
    };
    if upstream.body.len() > proxy.max_body {
        return reject(
            StatusCode::BAD_GATEWAY,
            "ResponseTooLarge",
            format!("the ARM response exceeds {} bytes", proxy.max_body),
        );
    }
    let mut body: Value = match serde_json::from_slice(&upstream.body) {
        Ok(v) => v,
        Err(_) if upstream.body.is_empty() => Value::Null,
        Err(_) => {
            return reject(
                StatusCode::BAD_GATEWAY,
                "BadGateway",
                "ARM answered something other than JSON",
            )
        }
    };
    if let Some(link) = body
        .get("nextLink")
        .and_then(Value::as_str)
        .map(str::to_string)
    {
        match rewrite_next_link(&proxy.client, &link) {
            Some(l) => body["nextLink"] = Value::String(l),
            None => {
                body.as_object_mut().map(|o| o.remove("nextLink"));
            }
        }
    }
    let status = StatusCode::from_u16(upstream.status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut r = (status, Json(body)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A VNet's effective security admin rules (Virtual Network Manager) are read with a POST
/// (`listNetworkManagerEffectiveSecurityAdminRules`, paged by a `skipToken` in the body). The
/// proxy takes them as `GET .../listNetworkManagerEffectiveSecurityAdminRules?api-version=V
/// [&$skipToken=T]` and sends that POST itself, with a body it builds (`{}` or
/// `{"skipToken": T}`): nothing of the browser's request but the validated path and token
/// reaches ARM, and the browser's side stays a GET. `None` for every other (validated) path.
fn admin_rules_post(path_and_query: &str) -> Option<(String, Value)> {
    let (path, query) = path_and_query.split_once('?')?;
    if !path
        .to_ascii_lowercase()
        .ends_with("/listnetworkmanagereffectivesecurityadminrules")
    {
        return None;
    }
    let mut api_version = None;
    let mut skip_token = None;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "api-version" => api_version = Some(v.to_string()),
            "$skipToken" => skip_token = Some(v.to_string()),
            _ => {}
        }
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("api-version", &api_version?)
        .finish();
    let body = match skip_token {
        Some(t) => json!({ "skipToken": t }),
        None => json!({}),
    };
    Some((format!("{path}?{query}"), body))
}

/// An upstream `nextLink` as a proxy URL (`/arm/...`), if it points at ARM and passes the
/// same checks as a request; otherwise dropped.
fn rewrite_next_link(client: &ArmClient, link: &str) -> Option<String> {
    let u = client.url(link).ok()?;
    let base_path = client.base_url().path().trim_end_matches('/');
    let path = u.path().strip_prefix(base_path).unwrap_or(u.path());
    let proxied = format!("{PREFIX}{path}");
    validate(&proxied, u.query())
        .ok()
        .map(|pq| format!("{PREFIX}{pq}"))
}

fn segment_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 260
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'(' | b')'))
        && !s.bytes().all(|b| b == b'.')
}

fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        })
}

/// Is this provider tail (`[namespace, type, ...]`, lower case) one the proxy serves?
fn provider_tail_ok(t: &[&str]) -> bool {
    match t {
        ["microsoft.compute", "virtualmachines"] | ["microsoft.compute", "virtualmachines", _] => {
            true
        }
        ["microsoft.compute", "virtualmachines", _, "providers", "microsoft.security", "assessments", rest @ ..] => {
            rest.len() <= 1
        }
        ["microsoft.network", "networkinterfaces"
        | "publicipaddresses"
        | "applicationsecuritygroups"
        | "loadbalancers"
        | "azurefirewalls"
        | "bastionhosts"
        | "ipgroups"
        | "applicationgateways", rest @ ..] => rest.len() <= 1,
        ["microsoft.network", "firewallpolicies", rest @ ..] => {
            matches!(
                rest,
                [_] | [_, "rulecollectiongroups"] | [_, "rulecollectiongroups", _]
            )
        }
        ["microsoft.network", "virtualnetworks", rest @ ..] => {
            matches!(
                rest,
                [] | [_]
                    | [_, "subnets"]
                    | [_, "subnets", _]
                    | [_, "listnetworkmanagereffectivesecurityadminrules"]
            )
        }
        ["microsoft.network", "networksecuritygroups", rest @ ..] => {
            matches!(
                rest,
                [] | [_]
                    | [_, "securityrules" | "defaultsecurityrules"]
                    | [_, "securityrules" | "defaultsecurityrules", _]
            )
        }
        ["microsoft.security", "jitnetworkaccesspolicies" | "securescorecontrols" | "assessments" | "alerts", rest @ ..] => {
            rest.len() <= 1
        }
        ["microsoft.security", "securescores", rest @ ..] => {
            matches!(rest, [] | [_] | [_, "securescorecontrols"])
        }
        ["microsoft.security", "locations", rest @ ..] => {
            matches!(
                rest,
                [] | [_]
                    | [_, "jitnetworkaccesspolicies" | "alerts"]
                    | [_, "jitnetworkaccesspolicies" | "alerts", _]
            )
        }
        _ => false,
    }
}

/// Checks a raw request path (`/arm/...`, still percent-encoded) and query; returns the ARM
/// path and a rebuilt query, or why not.
pub fn validate(raw_path: &str, raw_query: Option<&str>) -> Result<String, String> {
    let rest = raw_path
        .strip_prefix(PREFIX)
        .and_then(|r| r.strip_prefix('/'))
        .ok_or_else(|| "not an /arm/ path".to_string())?;
    let segs: Vec<&str> = rest.split('/').collect();
    if let Some(bad) = segs.iter().find(|s| !segment_ok(s)) {
        return Err(format!("path segment {bad:?} is not allowed (letters, digits, . _ - ( ) only; no empty, dot-only or encoded segments)"));
    }
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let ok = match l.as_slice() {
        ["subscriptions"] => true,
        ["subscriptions", sub] => is_guid(sub),
        ["subscriptions", sub, "providers", tail @ ..] => is_guid(sub) && provider_tail_ok(tail),
        ["subscriptions", sub, "resourcegroups", _, "providers", tail @ ..] => {
            is_guid(sub) && provider_tail_ok(tail)
        }
        _ => false,
    };
    if !ok {
        return Err(format!("/{rest} is not an ARM read the proxy allows"));
    }
    let family = ApiFamily::classify(&l)
        .ok_or_else(|| format!("/{rest} is not an ARM read the proxy allows"))?;
    let mut api_version = None;
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(raw_query.unwrap_or_default().as_bytes()) {
        match k.as_ref() {
            "api-version" if api_version.is_none() => {
                if !family.accepts(&v) {
                    return Err(format!(
                        "api-version {v:?} is not approved for this path (approved: {})",
                        family.supported().join(", ")
                    ));
                }
                api_version = Some(v.to_string());
                q.append_pair("api-version", &v);
            }
            "$skipToken" | "$expand" | "$top" => {
                if v.len() > 2048 {
                    return Err(format!("{k} is too long"));
                }
                q.append_pair(&k, &v);
            }
            other => return Err(format!("query parameter {other:?} is not allowed")),
        }
    }
    if api_version.is_none() {
        return Err("the api-version query parameter is required".into());
    }
    Ok(format!("/{rest}?{}", q.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "11111111-1111-1111-1111-111111111111";

    #[test]
    fn allowed_reads() {
        for (path, v) in [
            ("/arm/subscriptions".to_string(), "2022-12-01"),
            (format!("/arm/subscriptions/{SUB}/providers/Microsoft.Compute/virtualMachines"), "2024-11-01"),
            (format!("/arm/subscriptions/{SUB}/resourceGroups/rg-1/providers/Microsoft.Network/networkSecurityGroups/nsg.a(1)/securityRules/RDP"), "2024-07-01"),
            (format!("/arm/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/providers/Microsoft.Security/assessments"), "2021-06-01"),
            (format!("/arm/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Security/locations/westeurope/jitNetworkAccessPolicies/default"), "2020-01-01"),
            // a VNet's effective security admin rules (sent on as ARM's POST)
            (format!("/arm/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet/listNetworkManagerEffectiveSecurityAdminRules"), "2024-07-01"),
            // what the what-if worker reads by id: a firewall policy (its base), an IP group
            (format!("/arm/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/firewallPolicies/org"), "2024-07-01"),
            (format!("/arm/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/ipGroups/partners"), "2024-07-01"),
            // the snapshot's list of application gateways (their TCP/TLS listeners are paths)
            (format!("/arm/subscriptions/{SUB}/providers/Microsoft.Network/applicationGateways"), "2024-07-01"),
        ] {
            let q = format!("api-version={v}&$skipToken=20");
            let out = validate(&path, Some(&q)).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert!(out.starts_with(&path[4..]), "{out}");
            assert!(out.contains(&format!("?api-version={v}&%24skipToken=20")), "{out}");
        }
    }

    #[test]
    fn admin_rules_are_asked_with_get_and_sent_as_post() {
        let path = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/listNetworkManagerEffectiveSecurityAdminRules");
        let (to, body) = admin_rules_post(&format!("{path}?api-version=2024-07-01")).unwrap();
        assert_eq!(to, format!("{path}?api-version=2024-07-01"));
        assert_eq!(body, json!({}));
        let (to, body) =
            admin_rules_post(&format!("{path}?api-version=2024-07-01&%24skipToken=t1")).unwrap();
        assert_eq!(to, format!("{path}?api-version=2024-07-01"));
        assert_eq!(body, json!({"skipToken": "t1"}));
        let nsgs = format!("/subscriptions/{SUB}/providers/Microsoft.Network/networkSecurityGroups?api-version=2024-07-01");
        assert_eq!(admin_rules_post(&nsgs), None);
    }

    #[test]
    fn rejected_reads() {
        let q = Some("api-version=2024-07-01");
        let bad = [
            format!("/arm/subscriptions/{SUB}/providers/Microsoft.KeyVault/vaults"),
            format!("/arm/subscriptions/{SUB}/../../providers/Microsoft.KeyVault/vaults"),
            format!("/arm/subscriptions/{SUB}/%2e%2e/providers/Microsoft.Network/networkSecurityGroups"),
            format!("/arm/subscriptions/{SUB}%2fproviders%2fMicrosoft.Network%2fnetworkSecurityGroups"),
            "/arm//evil.example/subscriptions".to_string(),
            "/arm/https://evil.example/subscriptions".to_string(),
            "/arm/user@evil.example/subscriptions".to_string(),
            format!("/arm/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Security/locations/westeurope/jitNetworkAccessPolicies/default/initiate"),
            "/arm/subscriptions/not-a-guid/providers/Microsoft.Compute/virtualMachines".to_string(),
            format!("/arm/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/runCommand"),
        ];
        for path in bad {
            assert!(validate(&path, q).is_err(), "{path} should be rejected");
        }
        let ok_path =
            format!("/arm/subscriptions/{SUB}/providers/Microsoft.Network/networkSecurityGroups");
        assert!(validate(&ok_path, None).is_err(), "api-version is required");
        assert!(
            validate(&ok_path, Some("api-version=2099-01-01")).is_err(),
            "unapproved api-version"
        );
        assert!(
            validate(
                &ok_path,
                Some("api-version=2024-07-01&redirect=https://evil")
            )
            .is_err(),
            "unknown parameter"
        );
        assert!(validate(&ok_path, Some("api-version=2024-07-01")).is_ok());
    }
}
