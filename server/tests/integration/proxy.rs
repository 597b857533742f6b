//! The read-only ARM proxy over real HTTP: allowed reads pass with `nextLink` rewritten;
//! traversal, encoded slashes, host/userinfo injection, other providers, writes and
//! unapproved api-versions are refused; browser headers never reach ARM, ARM headers never
//! reach the browser; responses are size-capped.

use super::support::*;
use axum::{extract::State, http::HeaderMap, routing::get, Json, Router};
use portcullis::arm::{ArmClient, ArmClientConfig, ArmError, TokenSource};
use portcullis::proxy::{arm_proxy_router, ArmProxy};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn proxy_for(
    arm_url: &str,
    max_body: Option<usize>,
    tokens: Arc<dyn TokenSource>,
) -> SocketAddr {
    let client = ArmClient::new(ArmClientConfig::fast(arm_url).unwrap(), tokens).unwrap();
    let mut proxy = ArmProxy::new(client);
    if let Some(n) = max_body {
        proxy = proxy.with_max_body(n);
    }
    serve(Router::new().merge(arm_proxy_router(proxy))).await
}

/// Sends a request line exactly as written (no client-side URL normalisation).
async fn raw(addr: SocketAddr, method: &str, target: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn allowed_reads_pass_and_next_link_comes_back_through_the_proxy() {
    let emu = emulator(EmulatorConfig {
        page_size: 2,
        ..config()
    })
    .await;
    let proxy = proxy_for(&emu.url(), None, Arc::new(portcullis::arm::NoAuth)).await;
    let base = format!("http://{proxy}");
    let mut next = Some(format!("/arm/subscriptions/{PROD}/providers/Microsoft.Compute/virtualMachines?api-version=2024-11-01"));
    let mut names = Vec::new();
    while let Some(path) = next.take() {
        let r = http().get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let page: Value = r.json().await.unwrap();
        names.extend(
            page["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["name"].as_str().unwrap().to_string()),
        );
        next = page["nextLink"].as_str().map(|l| {
            assert!(
                l.starts_with("/arm/subscriptions/"),
                "rewritten to the proxy: {l}"
            );
            l.to_string()
        });
    }
    let expected = emu
        .inventory()
        .await
        .virtual_machines
        .iter()
        .filter(|v| v.id.contains(PROD))
        .count();
    assert_eq!(names.len(), expected);
    // ARM errors pass through as ARM errors
    let r = http().get(format!("{base}/arm/subscriptions/{PROD}/resourceGroups/rg-mgmt/providers/Microsoft.Network/networkSecurityGroups/nope?api-version=2024-07-01")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "ResourceNotFound"
    );
    // Defender reads
    for p in [
        "providers/Microsoft.Security/secureScores?api-version=2020-01-01",
        "providers/Microsoft.Security/assessments?api-version=2021-06-01",
        "providers/Microsoft.Security/jitNetworkAccessPolicies?api-version=2020-01-01",
    ] {
        let r = http()
            .get(format!("{base}/arm/subscriptions/{PROD}/{p}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{p}");
    }
}

#[tokio::test]
async fn attacks_are_refused() {
    let emu = emulator(config()).await;
    let proxy = proxy_for(&emu.url(), None, Arc::new(portcullis::arm::NoAuth)).await;
    let nsgs = format!("/arm/subscriptions/{PROD}/providers/Microsoft.Network/networkSecurityGroups?api-version=2024-07-01");
    assert_eq!(
        raw(proxy, "GET", &nsgs).await.0,
        200,
        "the baseline is allowed"
    );
    let attacks = [
        format!("/arm/subscriptions/{PROD}/../../providers/Microsoft.KeyVault/vaults?api-version=2024-07-01"),
        format!("/arm/subscriptions/{PROD}/%2e%2e/%2e%2e/providers/Microsoft.Network/networkSecurityGroups?api-version=2024-07-01"),
        format!("/arm/subscriptions/{PROD}/providers%2fMicrosoft.Network%2fnetworkSecurityGroups?api-version=2024-07-01"),
        format!("/arm/subscriptions/{PROD}/providers/Microsoft.KeyVault/vaults?api-version=2023-07-01"),
        "/arm//evil.example/subscriptions?api-version=2022-12-01".to_string(),
        "/arm/http://evil.example/subscriptions?api-version=2022-12-01".to_string(),
        "/arm/user:pass@evil.example/subscriptions?api-version=2022-12-01".to_string(),
        format!("/arm/subscriptions/{PROD}@evil.example/providers/Microsoft.Compute/virtualMachines?api-version=2024-11-01"),
        format!("/arm/subscriptions/{PROD}/providers/Microsoft.Network/networkSecurityGroups?api-version=2099-01-01"),
        format!("/arm/subscriptions/{PROD}/providers/Microsoft.Network/networkSecurityGroups"),
        format!("/arm/subscriptions/{PROD}/providers/Microsoft.Network/networkSecurityGroups?api-version=2024-07-01&$filter=x"),
        format!("/arm/subscriptions/{PROD}/resourceGroups/rg-mgmt/providers/Microsoft.Security/locations/westeurope/jitNetworkAccessPolicies/default/initiate?api-version=2020-01-01"),
    ];
    for a in &attacks {
        let (status, text) = raw(proxy, "GET", a).await;
        assert_eq!(status, 400, "{a}: {text}");
        assert!(text.contains("ProxyRequestRejected"), "{a}: {text}");
    }
    // writes never pass, not even to allowed paths
    for m in ["POST", "PUT", "DELETE", "PATCH"] {
        let (status, text) = raw(proxy, m, &nsgs).await;
        assert_eq!(status, 405, "{m}: {text}");
    }
    // an absolute-form request target cannot choose the upstream host: ARM is still the emulator
    let (status, text) = raw(proxy, "GET", &format!("http://evil.example{nsgs}")).await;
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("dev-linux") || text.contains("sql-lab-01-nsg"),
        "{text}"
    );
    // nothing reached ARM but the baseline and the absolute-form read
    assert_eq!(stats(&emu.url()).await["requests"], 2);
}

/// A token source with a fixed token.
#[derive(Debug)]
struct Fixed;

#[async_trait::async_trait]
impl TokenSource for Fixed {
    async fn token(&self) -> Result<Option<String>, ArmError> {
        Ok(Some("server-side-token".into()))
    }
}

#[tokio::test]
async fn headers_do_not_cross_the_proxy_in_either_direction() {
    // an upstream that records what it receives and answers with headers of its own
    let seen: Arc<Mutex<Vec<HeaderMap>>> = Arc::default();
    let upstream = Router::new()
        .route(
            "/subscriptions",
            get(|State(seen): State<Arc<Mutex<Vec<HeaderMap>>>>, headers: HeaderMap| async move {
                seen.lock().unwrap().push(headers);
                (
                    [("set-cookie", "arm=secret"), ("x-ms-request-id", "r-1"), ("x-upstream-secret", "s"), ("www-authenticate", "Bearer x")],
                    Json(json!({"value": [{"id": "/subscriptions/x", "padding": "y".repeat(300)}], "nextLink": "https://evil.example/subscriptions?api-version=2022-12-01"})),
                )
            }),
        )
        .with_state(seen.clone());
    let up = serve(upstream).await;
    let proxy = proxy_for(&format!("http://{up}"), None, Arc::new(Fixed)).await;
    let r = http()
        .get(format!(
            "http://{proxy}/arm/subscriptions?api-version=2022-12-01"
        ))
        .header("cookie", "session=browser-session")
        .header("authorization", "Bearer browser-token")
        .header("x-custom", "1")
        .header("x-forwarded-for", "10.0.0.1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for h in [
        "set-cookie",
        "x-ms-request-id",
        "x-upstream-secret",
        "www-authenticate",
    ] {
        assert!(r.headers().get(h).is_none(), "{h} leaked to the browser");
    }
    let body: Value = r.json().await.unwrap();
    assert!(
        body.get("nextLink").is_none(),
        "a nextLink off the ARM origin is dropped: {body}"
    );
    let h = seen.lock().unwrap()[0].clone();
    assert_eq!(h["authorization"], "Bearer server-side-token");
    for name in ["cookie", "x-custom", "x-forwarded-for"] {
        assert!(h.get(name).is_none(), "{name} reached ARM");
    }
    // responses are size-capped
    let capped = proxy_for(&format!("http://{up}"), Some(100), Arc::new(Fixed)).await;
    let r = http()
        .get(format!(
            "http://{capped}/arm/subscriptions?api-version=2022-12-01"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "ResponseTooLarge"
    );
}

/// A VNet's effective security admin rules: asked of the proxy with GET, sent to ARM as its
/// POST (`listNetworkManagerEffectiveSecurityAdminRules`); a POST to the proxy is still refused.
#[tokio::test]
async fn effective_admin_rules_are_read_through_the_proxy() {
    let emu = emulator(config()).await;
    let proxy = proxy_for(&emu.url(), None, Arc::new(portcullis::arm::NoAuth)).await;
    let path = format!("/arm/subscriptions/{PROD}/resourceGroups/rg-ingress/providers/Microsoft.Network/virtualNetworks/vnet-ingress/listNetworkManagerEffectiveSecurityAdminRules?api-version=2024-07-01");
    let r = http()
        .get(format!("http://{proxy}{path}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page: Value = r.json().await.unwrap();
    let names: Vec<&str> = page["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["id"].as_str())
        .collect();
    assert!(
        names.iter().any(|id| id.ends_with("/deny-winrm-internet")),
        "{page}"
    );
    let (status, _) = raw(proxy, "POST", &path).await;
    assert_eq!(status, 405);
    // ARM's answer for a VNet that does not exist passes through as it is
    let r = http()
        .get(format!(
            "http://{proxy}{}",
            path.replace("vnet-ingress", "vnet-nope")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "ResourceNotFound"
    );
}
