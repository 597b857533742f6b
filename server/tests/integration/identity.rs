//! Tokens from the emulator's OAuth2 endpoint: through azure_identity's ClientSecretCredential
//! (its authority must be https, so a transport rewrites https://login.emulator.test to the
//! emulator's http address) and through the plain client-credentials source; ARM endpoints
//! refuse requests without a valid bearer token.

use super::support::*;
use azure_core::{
    cloud::{CloudConfiguration, CustomConfiguration},
    credentials::{Secret, TokenCredential},
    http::{
        new_http_client, AsyncRawResponse, ClientOptions, HttpClient, Request, RetryOptions,
        Transport,
    },
};
use azure_identity::{ClientSecretCredential, ClientSecretCredentialOptions};
use portcullis::arm::token::ARM_SCOPE;
use portcullis::arm::{ArmClient, ArmClientConfig, AzureIdentity, ClientCredentials};
use portcullis::snapshot::list_subscriptions;
use portcullis_emulator::{Auth, TENANT_ID};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;

const CLIENT_ID: &str = "portcullis-test-client";
const SECRET: &str = "s3cret-for-tests";

/// Keeps the https authority azure_identity insists on, sends the request to the emulator.
#[derive(Debug)]
struct RedirectToEmulator {
    inner: Arc<dyn HttpClient>,
    addr: SocketAddr,
}

#[async_trait::async_trait]
impl HttpClient for RedirectToEmulator {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let mut req = request.clone();
        let url = req.url_mut();
        assert_eq!(
            url.host_str(),
            Some("login.emulator.test"),
            "only the authority is redirected"
        );
        url.set_scheme("http").unwrap();
        url.set_host(Some(&self.addr.ip().to_string())).unwrap();
        url.set_port(Some(self.addr.port())).unwrap();
        self.inner.execute_request(&req).await
    }
}

fn credential(addr: SocketAddr, secret: &str) -> Arc<ClientSecretCredential> {
    let mut custom = CustomConfiguration::default();
    custom.authority_host = "https://login.emulator.test".to_string();
    let client_options = ClientOptions {
        cloud: Some(Arc::new(CloudConfiguration::from(custom))),
        transport: Some(Transport::new(Arc::new(RedirectToEmulator {
            inner: new_http_client(None),
            addr,
        }))),
        retry: RetryOptions::none(),
        ..Default::default()
    };
    ClientSecretCredential::new(
        TENANT_ID,
        CLIENT_ID.into(),
        Secret::new(secret.to_string()),
        Some(ClientSecretCredentialOptions { client_options }),
    )
    .unwrap()
}

async fn secured() -> EmulatorHandle {
    emulator(EmulatorConfig {
        auth: Auth::ClientCredentials {
            client_id: CLIENT_ID.into(),
            client_secret: SECRET.into(),
        },
        ..config()
    })
    .await
}

#[tokio::test]
async fn azure_identity_gets_a_token_from_the_emulator_and_arm_accepts_it() {
    let emu = secured().await;
    let url = emu.url();
    // without a token: 401 AuthenticationFailed
    let r = http()
        .get(format!("{url}/subscriptions?api-version=2022-12-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("www-authenticate").is_some());
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "AuthenticationFailed"
    );
    let r = http()
        .get(format!("{url}/subscriptions?api-version=2022-12-01"))
        .bearer_auth("forged")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // azure_identity's ClientSecretCredential against the emulator's token endpoint
    let token = credential(emu.addr(), SECRET)
        .get_token(&[ARM_SCOPE], None)
        .await
        .unwrap();
    assert!(token.token.secret().starts_with("emu."));
    assert!(token.expires_on > time::OffsetDateTime::now_utc() + time::Duration::minutes(50));
    let r = http()
        .get(format!("{url}/subscriptions?api-version=2022-12-01"))
        .bearer_auth(token.token.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // the same credential behind the client's token trait
    let source = Arc::new(AzureIdentity::new(
        credential(emu.addr(), SECRET),
        ARM_SCOPE,
    ));
    let client = ArmClient::new(ArmClientConfig::fast(&url).unwrap(), source).unwrap();
    let subs = list_subscriptions(&client).await.unwrap();
    assert_eq!(
        subs.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["Contoso Production", "Contoso Dev/Test"]
    );

    // a wrong secret is refused by the token endpoint
    let e = credential(emu.addr(), "wrong")
        .get_token(&[ARM_SCOPE], None)
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("AADSTS7000215") || e.to_string().contains("401"),
        "{e}"
    );
}

#[tokio::test]
async fn plain_client_credentials_work_too_and_are_cached() {
    let emu = secured().await;
    let url = emu.url();
    let token_url = format!("{url}/{TENANT_ID}/oauth2/v2.0/token");
    let source = Arc::new(ClientCredentials::new(
        &token_url, CLIENT_ID, SECRET, ARM_SCOPE,
    ));
    use portcullis::arm::TokenSource;
    let first = source.token().await.unwrap();
    assert_eq!(
        source.token().await.unwrap(),
        first,
        "cached until near expiry"
    );
    let client = ArmClient::new(ArmClientConfig::fast(&url).unwrap(), source).unwrap();
    assert_eq!(list_subscriptions(&client).await.unwrap().len(), 2);
    let bad = ClientCredentials::new(&token_url, CLIENT_ID, "nope", ARM_SCOPE);
    assert!(
        matches!(bad.token().await, Err(portcullis::arm::ArmError::Auth(m)) if m.contains("401"))
    );
}
