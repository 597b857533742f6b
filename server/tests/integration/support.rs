//! Test helpers shared by the integration tests: a real emulator on
//! an ephemeral loopback port, a client with tiny retry delays, the admin endpoints.
#![allow(dead_code, unused_imports)]
use portcullis::arm::{ArmClient, ArmClientConfig, NoAuth};
pub use portcullis_emulator::{spawn_emulator, EmulatorConfig, EmulatorHandle};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

pub const PROD: &str = "11111111-1111-1111-1111-111111111111";
pub const DEV: &str = "22222222-2222-2222-2222-222222222222";

/// A config for tests: fast operation polls and retry hints.
pub fn config() -> EmulatorConfig {
    EmulatorConfig {
        retry_after_ms: 5,
        ..EmulatorConfig::default()
    }
}

pub async fn emulator(cfg: EmulatorConfig) -> EmulatorHandle {
    spawn_emulator(cfg).await.expect("emulator starts").1
}

pub fn client(url: &str) -> ArmClient {
    ArmClient::new(ArmClientConfig::fast(url).unwrap(), Arc::new(NoAuth)).unwrap()
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// POST /admin/{what} with a JSON body; returns the JSON answer (Null when empty).
pub async fn admin(url: &str, what: &str, body: Value) -> Value {
    let r = http()
        .post(format!("{url}/admin/{what}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "admin {what}: {}", r.status());
    let bytes = r.bytes().await.unwrap();
    if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    }
}

pub async fn stats(url: &str) -> Value {
    http()
        .get(format!("{url}/admin/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
