//! Bearer tokens for ARM behind one small trait: azure_identity's credentials (service
//! principal, managed identity, workload identity, developer tools; [`Credential`], in a
//! [`Cloud`]), a plain OAuth2 client-credentials flow (the emulator's token endpoint; cached,
//! refreshed five minutes before expiry), or none (the open embedded emulator).
use super::ArmError;
use async_trait::async_trait;
use azure_core::credentials::{Secret, TokenCredential};
use azure_identity::{
    ClientAssertionCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions,
    DeveloperToolsCredential, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
    UserAssignedId, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
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

/// Which Azure cloud: its sign-in authority, ARM's URL and ARM's token scope, chosen together
/// (`--cloud`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    #[default]
    Public,
    Usgov,
    China,
}

impl Cloud {
    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Public => "public",
            Cloud::Usgov => "usgov",
            Cloud::China => "china",
        }
    }

    /// Azure Resource Manager's endpoint in this cloud.
    pub fn arm_url(self) -> &'static str {
        match self {
            Cloud::Public => "https://management.azure.com",
            Cloud::Usgov => "https://management.usgovcloudapi.net",
            Cloud::China => "https://management.chinacloudapi.cn",
        }
    }

    /// Microsoft Entra ID's sign-in authority in this cloud.
    pub fn authority(self) -> &'static str {
        match self {
            Cloud::Public => "https://login.microsoftonline.com",
            Cloud::Usgov => "https://login.microsoftonline.us",
            Cloud::China => "https://login.chinacloudapi.cn",
        }
    }

    /// The scope of ARM tokens in this cloud.
    pub fn arm_scope(self) -> String {
        format!("{}/.default", self.arm_url())
    }

    fn configuration(self) -> azure_core::cloud::CloudConfiguration {
        use azure_core::cloud::CloudConfiguration as C;
        match self {
            Cloud::Public => C::AzurePublic,
            Cloud::Usgov => C::AzureGovernment,
            Cloud::China => C::AzureChina,
        }
    }
}

/// Where ARM tokens come from (`--credential`, `PORTCULLIS_CREDENTIAL`), each through
/// azure_identity's own credential.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Credential {
    /// A service principal when `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and `AZURE_CLIENT_SECRET`
    /// are all set, else none (the embedded emulator).
    #[default]
    Auto,
    /// `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`.
    ClientSecret,
    /// The workload's managed identity: system-assigned, or the user-assigned one with this
    /// client id (`managed-identity=CLIENT_ID`).
    ManagedIdentity(Option<String>),
    /// A federated token (Kubernetes, Container Apps jobs): `AZURE_TENANT_ID`,
    /// `AZURE_CLIENT_ID`, `AZURE_FEDERATED_TOKEN_FILE`.
    WorkloadIdentity,
    /// `az` or `azd`, whichever is signed in.
    DeveloperTools,
    /// No token (an open emulator).
    None,
}

impl std::str::FromStr for Credential {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (kind, id) = match s.split_once('=') {
            Some((k, id)) => (k, Some(id.trim().to_string())),
            None => (s, None),
        };
        let c = match (kind.trim(), id) {
            ("auto", None) => Credential::Auto,
            ("client-secret", None) => Credential::ClientSecret,
            ("managed-identity", id) => Credential::ManagedIdentity(id.filter(|i| !i.is_empty())),
            ("workload-identity", None) => Credential::WorkloadIdentity,
            ("developer-tools", None) => Credential::DeveloperTools,
            ("none", None) => Credential::None,
            _ => {
                return Err(format!(
                    "credential {s:?}: one of auto, client-secret, managed-identity[=CLIENT_ID], \
                     workload-identity, developer-tools, none"
                ))
            }
        };
        Ok(c)
    }
}

impl std::fmt::Display for Credential {
    /// The name, and a user-assigned identity's client id (not a secret); never a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Auto => f.write_str("auto"),
            Credential::ClientSecret => f.write_str("client-secret"),
            Credential::ManagedIdentity(None) => f.write_str("managed-identity"),
            Credential::ManagedIdentity(Some(id)) => write!(f, "managed-identity={id}"),
            Credential::WorkloadIdentity => f.write_str("workload-identity"),
            Credential::DeveloperTools => f.write_str("developer-tools"),
            Credential::None => f.write_str("none"),
        }
    }
}

impl Credential {
    /// `Auto` decided by the environment: client-secret when the three variables are set
    /// (and not blank), else none.
    pub fn resolve(&self, env: impl Fn(&str) -> Option<String>) -> Credential {
        match self {
            Credential::Auto => {
                let set = ["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"]
                    .iter()
                    .all(|n| env(n).is_some_and(|v| !v.trim().is_empty()));
                if set {
                    Credential::ClientSecret
                } else {
                    Credential::None
                }
            }
            c => c.clone(),
        }
    }

    /// The token source of this (resolved) credential in `cloud`.
    pub fn token_source(&self, cloud: Cloud) -> Result<Arc<dyn TokenSource>, ArmError> {
        Ok(match self.resolve(|n| std::env::var(n).ok()) {
            Credential::None | Credential::Auto => Arc::new(NoAuth),
            c => Arc::new(AzureIdentity::new(c, cloud)?),
        })
    }
}

/// Builds an azure_identity credential (again after a 401, for a genuinely fresh token).
pub type MakeCredential =
    Box<dyn Fn() -> Result<Arc<dyn TokenCredential>, ArmError> + Send + Sync + 'static>;

/// An `azure_identity` credential. azure_identity caches tokens itself, so nothing is cached
/// here; [`TokenSource::invalidate`] (after a 401) builds the credential anew, so the next
/// token is genuinely fresh rather than the cached one ARM just refused.
pub struct AzureIdentity {
    make: MakeCredential,
    credential: std::sync::Mutex<Arc<dyn TokenCredential>>,
    scope: String,
    describe: String,
}

impl std::fmt::Debug for AzureIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureIdentity")
            .field("credential", &self.describe)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl AzureIdentity {
    /// `credential` (not `Auto` or `None`) in `cloud`, configured from the process environment.
    pub fn new(credential: Credential, cloud: Cloud) -> Result<Self, ArmError> {
        Self::with_env(credential, cloud, None, |n| std::env::var(n).ok())
    }

    /// [`Self::new`] with the variables read from `env` (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
    /// `AZURE_CLIENT_SECRET`, `AZURE_FEDERATED_TOKEN_FILE`); `transport` replaces the HTTP client
    /// azure_identity uses (tests point it at the emulator's token and IMDS endpoints).
    pub fn with_env(
        credential: Credential,
        cloud: Cloud,
        transport: Option<azure_core::http::Transport>,
        env: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Result<Self, ArmError> {
        let describe = credential.to_string();
        let options = move || azure_core::http::ClientOptions {
            transport: transport.clone(),
            cloud: Some(Arc::new(cloud.configuration())),
            ..Default::default()
        };
        let fail = {
            let describe = describe.clone();
            move |e: &dyn std::fmt::Display| ArmError::Auth(format!("{describe}: {e}"))
        };
        let var = {
            let fail = fail.clone();
            move |n: &str| {
                env(n)
                    .filter(|v| !v.trim().is_empty())
                    .ok_or_else(|| fail(&format!("{n} is not set")))
            }
        };
        let make: MakeCredential = match credential {
            Credential::ClientSecret => Box::new(move || {
                let cred = ClientSecretCredential::new(
                    &var("AZURE_TENANT_ID")?,
                    var("AZURE_CLIENT_ID")?,
                    Secret::new(var("AZURE_CLIENT_SECRET")?),
                    Some(ClientSecretCredentialOptions {
                        client_options: options(),
                    }),
                )
                .map_err(|e| fail(&e))?;
                Ok(cred as Arc<dyn TokenCredential>)
            }),
            Credential::ManagedIdentity(id) => Box::new(move || {
                let cred = ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                    user_assigned_id: id.clone().map(UserAssignedId::ClientId),
                    client_options: options(),
                }))
                .map_err(|e| fail(&e))?;
                Ok(cred as Arc<dyn TokenCredential>)
            }),
            Credential::WorkloadIdentity => Box::new(move || {
                let cred =
                    WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
                        credential_options: ClientAssertionCredentialOptions {
                            client_options: options(),
                        },
                        tenant_id: Some(var("AZURE_TENANT_ID")?),
                        client_id: Some(var("AZURE_CLIENT_ID")?),
                        token_file_path: Some(var("AZURE_FEDERATED_TOKEN_FILE")?.into()),
                    }))
                    .map_err(|e| fail(&e))?;
                Ok(cred as Arc<dyn TokenCredential>)
            }),
            Credential::DeveloperTools => Box::new(move || {
                let cred = DeveloperToolsCredential::new(None).map_err(|e| fail(&e))?;
                Ok(cred as Arc<dyn TokenCredential>)
            }),
            Credential::Auto | Credential::None => {
                return Err(fail(&"not an azure_identity credential"));
            }
        };
        Self::from_factory(make, &cloud.arm_scope(), &describe)
    }

    /// Tokens for `scope` from the credentials `make` builds (once now, again after a 401).
    pub fn from_factory(
        make: MakeCredential,
        scope: &str,
        describe: &str,
    ) -> Result<Self, ArmError> {
        let first = make()?;
        Ok(Self {
            make,
            credential: std::sync::Mutex::new(first),
            scope: scope.to_string(),
            describe: describe.to_string(),
        })
    }

    /// With `scope` instead of the cloud's ARM scope.
    pub fn with_scope(mut self, scope: &str) -> Self {
        self.scope = scope.to_string();
        self
    }
}

#[async_trait]
impl TokenSource for AzureIdentity {
    async fn token(&self) -> Result<Option<String>, ArmError> {
        let credential = self
            .credential
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let t = credential
            .get_token(&[self.scope.as_str()], None)
            .await
            .map_err(|e| ArmError::Auth(format!("{}: {e}", self.describe)))?;
        Ok(Some(t.token.secret().to_string()))
    }

    async fn invalidate(&self) {
        match (self.make)() {
            Ok(fresh) => *self.credential.lock().unwrap_or_else(|e| e.into_inner()) = fresh,
            Err(e) => tracing::warn!("cannot renew the {} credential: {e}", self.describe),
        }
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
