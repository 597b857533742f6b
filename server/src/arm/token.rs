//! Bearer tokens for ARM behind one small trait: Azure identity credentials (service
//! principal, managed identity, developer tools), a plain OAuth2 client-credentials flow (the
//! emulator's token endpoint), or none (the open embedded emulator). Cached, refreshed five
//! minutes before expiry.
use super::ArmError;
use async_trait::async_trait;
use azure_core::credentials::{Secret, TokenCredential};
use azure_identity::{ClientSecretCredential, DeveloperToolsCredential, ManagedIdentityCredential};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use tokio::sync::Mutex;

/// The scope of Azure Resource Manager tokens.
pub const ARM_SCOPE: &str = "https://management.azure.com/.default";
const REFRESH_MARGIN: Duration = Duration::minutes(5);

#[async_trait]
pub trait TokenSource: Send + Sync + std::fmt::Debug {
    /// A bearer token (`None`: send no `Authorization` header).
    async fn token(&self) -> Result<Option<String>, ArmError>;
    /// Forget the cached token (after a 401).
    async fn invalidate(&self) {}
}

/// No token: for the open emulator.
#[derive(Debug, Default)]
pub struct NoAuth;

#[async_trait]
impl TokenSource for NoAuth {
    async fn token(&self) -> Result<Option<String>, ArmError> {
        Ok(None)
    }
}

#[derive(Debug, Default)]
struct Cache(Option<(String, OffsetDateTime)>);

impl Cache {
    fn fresh(&self) -> Option<String> {
        self.0
            .as_ref()
            .filter(|(_, exp)| *exp - REFRESH_MARGIN > OffsetDateTime::now_utc())
            .map(|(t, _)| t.clone())
    }
}

/// Any `azure_identity` credential.
#[derive(Debug)]
pub struct AzureIdentity {
    credential: Arc<dyn TokenCredential>,
    scope: String,
    cache: Mutex<Cache>,
}

impl AzureIdentity {
    pub fn new(credential: Arc<dyn TokenCredential>, scope: &str) -> Self {
        Self {
            credential,
            scope: scope.to_string(),
            cache: Mutex::new(Cache::default()),
        }
    }

    /// A service principal from `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`.
    pub fn client_secret_from_env() -> Result<Self, ArmError> {
        let var = |n: &str| {
            std::env::var(n)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| ArmError::Auth(format!("{n} is not set")))
        };
        let cred = ClientSecretCredential::new(
            &var("AZURE_TENANT_ID")?,
            var("AZURE_CLIENT_ID")?,
            Secret::new(var("AZURE_CLIENT_SECRET")?),
            None,
        )
        .map_err(|e| ArmError::Auth(e.to_string()))?;
        Ok(Self::new(cred, ARM_SCOPE))
    }

    pub fn managed_identity() -> Result<Self, ArmError> {
        let cred =
            ManagedIdentityCredential::new(None).map_err(|e| ArmError::Auth(e.to_string()))?;
        Ok(Self::new(cred, ARM_SCOPE))
    }

    /// `az` or `azd`, whichever is signed in.
    pub fn developer_tools() -> Result<Self, ArmError> {
        let cred =
            DeveloperToolsCredential::new(None).map_err(|e| ArmError::Auth(e.to_string()))?;
        Ok(Self::new(cred, ARM_SCOPE))
    }
}

#[async_trait]
impl TokenSource for AzureIdentity {
    async fn token(&self) -> Result<Option<String>, ArmError> {
        let mut cache = self.cache.lock().await;
        if let Some(t) = cache.fresh() {
            return Ok(Some(t));
        }
        let t = self
            .credential
            .get_token(&[self.scope.as_str()], None)
            .await
            .map_err(|e| ArmError::Auth(e.to_string()))?;
        let secret = t.token.secret().to_string();
        cache.0 = Some((secret.clone(), t.expires_on));
        Ok(Some(secret))
    }

    async fn invalidate(&self) {
        self.cache.lock().await.0 = None;
    }
}

/// OAuth2 client credentials against any token URL (e.g. the emulator's
/// `http://127.0.0.1:PORT/{tenant}/oauth2/v2.0/token`, which azure_identity refuses: no https).
#[derive(Debug)]
pub struct ClientCredentials {
    http: reqwest::Client,
    token_url: String,
    client_id: String,
    client_secret: String,
    scope: String,
    cache: Mutex<Cache>,
}

impl ClientCredentials {
    pub fn new(token_url: &str, client_id: &str, client_secret: &str, scope: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            token_url: token_url.to_string(),
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
            scope: scope.to_string(),
            cache: Mutex::new(Cache::default()),
        }
    }
}

#[async_trait]
impl TokenSource for ClientCredentials {
    async fn token(&self) -> Result<Option<String>, ArmError> {
        let mut cache = self.cache.lock().await;
        if let Some(t) = cache.fresh() {
            return Ok(Some(t));
        }
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &self.client_id)
            .append_pair("client_secret", &self.client_secret)
            .append_pair("grant_type", "client_credentials")
            .append_pair("scope", &self.scope)
            .finish();
        let resp = self
            .http
            .post(&self.token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .map_err(|e| ArmError::Auth(format!("token request failed: {e}")))?;
        let status = resp.status();
        let body: serde_json::Value = resp
            .json()
            .await
            .map_err(|e| ArmError::Auth(format!("token response: {e}")))?;
        let (Some(token), true) = (body["access_token"].as_str(), status.is_success()) else {
            return Err(ArmError::Auth(format!(
                "token endpoint answered {status}: {}",
                body["error_description"]
                    .as_str()
                    .or(body["error"].as_str())
                    .unwrap_or("no access_token")
            )));
        };
        let expires = OffsetDateTime::now_utc()
            + Duration::seconds(body["expires_in"].as_i64().unwrap_or(3600));
        cache.0 = Some((token.to_string(), expires));
        Ok(Some(token.to_string()))
    }

    async fn invalidate(&self) {
        self.cache.lock().await.0 = None;
    }
}
