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
use portcullis::arm::{
    ArmClient, ArmClientConfig, AzureIdentity, ClientCredentials, Cloud, Credential, TokenSource,
};
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
        assert!(
            matches!(
                url.host_str(),
                Some("login.emulator.test" | "login.microsoftonline.com" | "169.254.169.254")
            ),
            "only the authority and IMDS are redirected: {url}"
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
    let addr = emu.addr();
    let source = Arc::new(
        AzureIdentity::from_factory(
            Box::new(move || Ok(credential(addr, SECRET) as Arc<dyn TokenCredential>)),
            ARM_SCOPE,
            "client-secret",
        )
        .unwrap(),
    );
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

/// The emulator's addresses for azure_identity's own HTTP client: Entra's authority and IMDS.
fn redirect(addr: SocketAddr) -> Transport {
    Transport::new(Arc::new(RedirectToEmulator {
        inner: new_http_client(None),
        addr,
    }))
}

fn env_of(vars: &[(&str, String)]) -> impl Fn(&str) -> Option<String> + Send + Sync + 'static {
    let vars: std::collections::HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    move |n| vars.get(n).cloned()
}

/// A federated token as Kubernetes or Container Apps would mount it (the emulator checks its
/// audience, expiry, subject and issuer; not its signature).
fn federated_token(aud: &str, exp: i64) -> String {
    let b64 = |v: &Value| {
        let bytes = v.to_string().into_bytes();
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut s = String::new();
        for c in bytes.chunks(3) {
            let n = (c[0] as u32) << 16
                | (*c.get(1).unwrap_or(&0) as u32) << 8
                | *c.get(2).unwrap_or(&0) as u32;
            for i in 0..=c.len() {
                s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            }
        }
        s
    };
    format!(
        "{}.{}.c2lnbmF0dXJl",
        b64(&serde_json::json!({"alg": "RS256", "typ": "JWT"})),
        b64(
            &serde_json::json!({"aud": [aud], "exp": exp, "iss": "https://oidc.emulator.test",
            "sub": "system:serviceaccount:portcullis:portcullis"})
        )
    )
}

/// `--credential client-secret|workload-identity|managed-identity=ID` as the server builds
/// them (azure_identity's credentials, public cloud), each against the emulator: the token
/// endpoint for the first two, the IMDS endpoint for the managed identity. A revoked token
/// is answered 401, after which the client gets a genuinely new one (azure_identity's own
/// cache is left behind) and the call succeeds.
#[tokio::test]
async fn each_credential_kind_signs_in_and_a_revoked_token_is_replaced() {
    let emu = secured().await;
    let url = emu.url();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("federated-token");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    std::fs::write(
        &file,
        federated_token("api://AzureADTokenExchange", now + 3600),
    )
    .unwrap();
    let common = [
        ("AZURE_TENANT_ID", TENANT_ID.to_string()),
        ("AZURE_CLIENT_ID", CLIENT_ID.to_string()),
    ];
    let with = |extra: &[(&str, String)]| {
        let mut vars = common.to_vec();
        vars.extend_from_slice(extra);
        env_of(&vars)
    };
    let kinds = [
        (
            Credential::ClientSecret,
            with(&[("AZURE_CLIENT_SECRET", SECRET.to_string())]),
        ),
        (
            Credential::WorkloadIdentity,
            with(&[("AZURE_FEDERATED_TOKEN_FILE", file.display().to_string())]),
        ),
        (
            Credential::ManagedIdentity(Some(CLIENT_ID.to_string())),
            with(&[]),
        ),
    ];
    for (kind, env) in kinds {
        let what = kind.to_string();
        let source = Arc::new(
            AzureIdentity::with_env(kind, Cloud::Public, Some(redirect(emu.addr())), env).unwrap(),
        );
        let first = source.token().await.unwrap().unwrap();
        assert!(first.starts_with("emu."), "{what}: {first}");
        let client = ArmClient::new(ArmClientConfig::fast(&url).unwrap(), source.clone()).unwrap();
        assert_eq!(
            list_subscriptions(&client).await.unwrap().len(),
            2,
            "{what}"
        );
        // the emulator revokes every token: the next call meets a 401, renews, succeeds
        let revoked = admin(&url, "revoke-tokens", Value::Null).await;
        assert!(revoked["revoked"].as_u64() >= Some(1), "{what}: {revoked}");
        assert_eq!(
            list_subscriptions(&client).await.unwrap().len(),
            2,
            "{what}"
        );
        let second = source.token().await.unwrap().unwrap();
        assert_ne!(second, first, "{what}: a new token after the 401");
    }

    // what the token endpoint and IMDS refuse
    let addr = emu.addr();
    let refused = move |kind: Credential, env| async move {
        let source =
            AzureIdentity::with_env(kind, Cloud::Public, Some(redirect(addr)), env).unwrap();
        source.token().await.unwrap_err().to_string()
    };
    let stale = dir.path().join("stale-token");
    std::fs::write(
        &stale,
        federated_token("api://AzureADTokenExchange", now - 60),
    )
    .unwrap();
    let e = refused(
        Credential::WorkloadIdentity,
        with(&[("AZURE_FEDERATED_TOKEN_FILE", stale.display().to_string())]),
    )
    .await;
    assert!(e.contains("AADSTS700024"), "{e}");
    let wrong_aud = dir.path().join("wrong-audience");
    std::fs::write(
        &wrong_aud,
        federated_token("api://somewhere-else", now + 3600),
    )
    .unwrap();
    let e = refused(
        Credential::WorkloadIdentity,
        with(&[(
            "AZURE_FEDERATED_TOKEN_FILE",
            wrong_aud.display().to_string(),
        )]),
    )
    .await;
    assert!(e.contains("AADSTS700212"), "{e}");
    let e = refused(
        Credential::ManagedIdentity(Some("not-assigned".into())),
        with(&[]),
    )
    .await;
    assert!(e.contains("not been assigned"), "{e}");
    // a missing variable is named, before any request
    let e = AzureIdentity::with_env(
        Credential::ClientSecret,
        Cloud::Public,
        None,
        env_of(&common),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("client-secret: AZURE_CLIENT_SECRET is not set"),
        "{e}"
    );
    // the names users give
    assert_eq!(
        "managed-identity=abc".parse::<Credential>().unwrap(),
        Credential::ManagedIdentity(Some("abc".into()))
    );
    assert!("password"
        .parse::<Credential>()
        .unwrap_err()
        .contains("\"password\""));
}
