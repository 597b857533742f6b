//! Sign-in with Entra ID: OpenID Connect's authorization code flow with PKCE (S256), `state`
//! and `nonce`, against a tenant-specific issuer. The `openidconnect` crate does discovery,
//! the code exchange and the id token's checks (RS256 signature against the issuer's JWKS,
//! `iss`, `aud`, `exp`, `nonce`); this module adds `nbf`, key rotation (an unknown `kid`
//! fetches the JWKS again, once), app roles and the HTTP client, which is the reqwest already in
//! the tree with redirects off.
//!
//! Between `/auth/login` and `/auth/callback` the browser holds the flow's `state`, `nonce` and
//! PKCE verifier in a short-lived HttpOnly cookie (`SameSite=Lax`, since the callback is a
//! top-level navigation from the identity provider); the callback refuses a `state` that does
//! not match it, so nobody can finish a sign-in the browser did not start.
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken,
    EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenFields, IssuerUrl,
    JsonWebKeySet, Nonce, PkceCodeChallenge, PkceCodeVerifier, ProviderMetadataWithLogout,
    RedirectUrl, Scope, StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use portcullis_shared::api::Role;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Claims Entra adds to a v2.0 id token that the standard set lacks.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EntraClaims {
    /// App roles assigned to the person on this app.
    #[serde(default)]
    pub roles: Vec<String>,
    /// The person's object id in the directory.
    pub oid: Option<String>,
    pub tid: Option<String>,
    /// Not before (Unix seconds).
    pub nbf: Option<i64>,
}
impl AdditionalClaims for EntraClaims {}

type EntraIdTokenFields = IdTokenFields<
    EntraClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type EntraTokenResponse = StandardTokenResponse<EntraIdTokenFields, CoreTokenType>;
type EntraClient = Client<
    EntraClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    EntraTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// How the server proves itself to Entra when it redeems a code.
#[derive(Clone)]
pub enum ClientAuth {
    Secret(String),
    /// A federated credential: a token file (workload identity's
    /// `AZURE_FEDERATED_TOKEN_FILE`), read at each use since the platform rotates it.
    FederatedTokenFile(PathBuf),
}

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Secret(_) => f.write_str("client secret"),
            Self::FederatedTokenFile(p) => write!(f, "federated token file {}", p.display()),
        }
    }
}

/// The app-role names that give each role (`--entra-app-roles`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRoles {
    pub viewer: String,
    pub operator: String,
    pub admin: String,
}

impl Default for AppRoles {
    fn default() -> Self {
        Self {
            viewer: "Portcullis.Viewer".into(),
            operator: "Portcullis.Operator".into(),
            admin: "Portcullis.Admin".into(),
        }
    }
}

impl AppRoles {
    /// `VIEWER,OPERATOR,ADMIN`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let names: Vec<&str> = s.split(',').map(str::trim).collect();
        match names[..] {
            [v, o, a] if !v.is_empty() && !o.is_empty() && !a.is_empty() => Ok(Self {
                viewer: v.into(),
                operator: o.into(),
                admin: a.into(),
            }),
            _ => Err(format!(
                "entra_app_roles: {s:?} is not three app-role names VIEWER,OPERATOR,ADMIN"
            )),
        }
    }

    /// The highest role the token's app roles give.
    pub fn role(&self, roles: &[String]) -> Option<Role> {
        [
            (&self.admin, Role::Admin),
            (&self.operator, Role::Operator),
            (&self.viewer, Role::Viewer),
        ]
        .into_iter()
        .find(|(name, _)| roles.iter().any(|r| r == *name))
        .map(|(_, role)| role)
    }
}

/// Sign-in with Entra ID, as configured.
#[derive(Debug, Clone)]
pub struct EntraConfig {
    /// `https://login.microsoftonline.com/{tenant}/v2.0` (or the cloud's authority).
    pub issuer: String,
    pub client_id: String,
    pub client_auth: ClientAuth,
    /// The callback URL registered on the app; `None`: this server's `/auth/callback` at the
    /// address the browser used.
    pub redirect_url: Option<String>,
    pub app_roles: AppRoles,
    /// The sign-in button's text.
    pub label: String,
}

/// The issuer of a tenant in a cloud; `common`, `organizations` and `consumers` are refused
/// (sign-in is for one directory).
pub fn tenant_issuer(authority: &str, tenant: &str) -> Result<String, String> {
    let t = tenant.trim();
    if t.is_empty()
        || ["common", "organizations", "consumers"].contains(&t.to_lowercase().as_str())
        || !t
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Err(format!(
            "entra_tenant: {t:?} is not a tenant id or domain (multi-tenant authorities such as common are not accepted)"
        ));
    }
    Ok(format!("{}/{t}/v2.0", authority.trim_end_matches('/')))
}

/// Who signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub username: String,
    pub name: String,
    pub object_id: String,
    pub app_roles: Vec<String>,
}

/// Why a sign-in failed (shown to the person, logged, audited).
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("the sign-in was not started here or has expired; start again")]
    State,
    #[error("Entra ID answered {error}: {description}")]
    Provider { error: String, description: String },
    #[error("cannot reach the identity provider: {0}")]
    Unreachable(String),
    #[error("the code exchange failed: {0}")]
    Exchange(String),
    #[error("the id token was refused: {0}")]
    IdToken(String),
}

#[derive(Debug)]
struct HttpError(String);
impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for HttpError {}

/// openidconnect's HTTP client: the tree's reqwest (each call owns a clone of the client, so the
/// future is `Send` for any lifetime).
struct Http(reqwest::Client);

impl<'c> openidconnect::AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<openidconnect::HttpResponse, HttpError>>
                + Send
                + 'c,
        >,
    >;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        let client = self.0.clone();
        Box::pin(async move { Oidc::send(&client, request).await })
    }
}

struct Provider {
    metadata: ProviderMetadataWithLogout,
    fetched: Instant,
}

/// How long discovery and the JWKS are reused before they are fetched again (an unknown key
/// fetches the JWKS at once).
const METADATA_TTL: Duration = Duration::from_secs(24 * 3600);

/// The OpenID Connect relying party.
pub struct Oidc {
    pub config: EntraConfig,
    http: Http,
    provider: tokio::sync::Mutex<Option<Provider>>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("issuer", &self.config.issuer)
            .finish()
    }
}

/// The flow's secrets, held by the browser between login and callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

impl Pending {
    pub fn to_cookie_value(&self) -> String {
        format!("{}.{}.{}", self.state, self.nonce, self.verifier)
    }

    pub fn from_cookie_value(v: &str) -> Option<Self> {
        let mut parts = v.split('.');
        let (state, nonce, verifier) = (parts.next()?, parts.next()?, parts.next()?);
        let ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 200
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        (parts.next().is_none() && ok(state) && ok(nonce) && ok(verifier)).then(|| Self {
            state: state.into(),
            nonce: nonce.into(),
            verifier: verifier.into(),
        })
    }
}

impl Oidc {
    pub fn new(config: EntraConfig) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            // following redirects would let a response steer the server's requests (SSRF)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(15))
            .build()?;
        Ok(Self {
            config,
            http: Http(http),
            provider: tokio::sync::Mutex::new(None),
        })
    }

    async fn send(
        http: &reqwest::Client,
        request: openidconnect::HttpRequest,
    ) -> Result<openidconnect::HttpResponse, HttpError> {
        let (parts, body) = request.into_parts();
        let response = http
            .request(parts.method, parts.uri.to_string())
            .headers(parts.headers)
            .body(body)
            .send()
            .await
            .map_err(|e| HttpError(format!("{e}")))?;
        let mut builder = axum::http::Response::builder().status(response.status());
        for (k, v) in response.headers() {
            builder = builder.header(k, v);
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| HttpError(format!("{e}")))?;
        builder
            .body(body.to_vec())
            .map_err(|e| HttpError(format!("{e}")))
    }

    /// Discovery (cached); with `refresh_keys`, the JWKS fetched again.
    async fn metadata(
        &self,
        refresh_keys: bool,
    ) -> Result<ProviderMetadataWithLogout, SignInError> {
        let http = &self.http;
        let mut provider = self.provider.lock().await;
        let stale = provider
            .as_ref()
            .is_none_or(|p| p.fetched.elapsed() > METADATA_TTL);
        if stale {
            let issuer = IssuerUrl::new(self.config.issuer.clone())
                .map_err(|e| SignInError::Unreachable(format!("issuer: {e}")))?;
            let metadata = ProviderMetadataWithLogout::discover_async(issuer, http)
                .await
                .map_err(|e| SignInError::Unreachable(error_chain(&e)))?;
            tracing::info!(issuer = %self.config.issuer, keys = metadata.jwks().keys().len(), "Entra ID: discovery and signing keys fetched");
            *provider = Some(Provider {
                metadata,
                fetched: Instant::now(),
            });
        } else if refresh_keys {
            let p = provider.as_mut().expect("not stale");
            let jwks = JsonWebKeySet::fetch_async(p.metadata.jwks_uri(), http)
                .await
                .map_err(|e| SignInError::Unreachable(error_chain(&e)))?;
            tracing::info!(
                keys = jwks.keys().len(),
                "Entra ID: signing keys fetched again (a token named a key we did not have)"
            );
            p.metadata = p.metadata.clone().set_jwks(jwks);
        }
        Ok(provider.as_ref().expect("set above").metadata.clone())
    }

    fn client(
        &self,
        metadata: ProviderMetadataWithLogout,
        redirect_url: &str,
    ) -> Result<EntraClient, SignInError> {
        let secret = match &self.config.client_auth {
            ClientAuth::Secret(s) => Some(ClientSecret::new(s.clone())),
            ClientAuth::FederatedTokenFile(_) => None,
        };
        Ok(EntraClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            secret,
        )
        .set_auth_type(openidconnect::AuthType::RequestBody)
        .set_redirect_uri(
            RedirectUrl::new(redirect_url.to_string())
                .map_err(|e| SignInError::Exchange(format!("redirect URL: {e}")))?,
        ))
    }

    /// The URL to send the browser to, and what it must bring back.
    pub async fn begin(
        &self,
        redirect_url: &str,
        login_hint: Option<&str>,
    ) -> Result<(String, Pending), SignInError> {
        let client = self.client(self.metadata(false).await?, redirect_url)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("email".into()))
            .set_pkce_challenge(challenge);
        if let Some(hint) = login_hint.filter(|h| !h.trim().is_empty()) {
            request = request.add_extra_param("login_hint", hint.trim().to_string());
        }
        let (url, state, nonce) = request.url();
        Ok((
            url.to_string(),
            Pending {
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                verifier: verifier.secret().clone(),
            },
        ))
    }

    /// Redeems the code and checks the id token; the person it names.
    pub async fn finish(
        &self,
        redirect_url: &str,
        code: &str,
        returned_state: &str,
        pending: Option<Pending>,
    ) -> Result<Person, SignInError> {
        let pending = pending
            .filter(|p| crate::auth::same(&p.state, returned_state))
            .ok_or(SignInError::State)?;
        let client = self.client(self.metadata(false).await?, redirect_url)?;
        let mut exchange = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| SignInError::Exchange(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()));
        if let ClientAuth::FederatedTokenFile(path) = &self.config.client_auth {
            let assertion = std::fs::read_to_string(path).map_err(|e| {
                SignInError::Exchange(format!("federated token file {}: {e}", path.display()))
            })?;
            // (with no secret, the request body already carries client_id)
            exchange = exchange
                .add_extra_param(
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                )
                .add_extra_param("client_assertion", assertion.trim().to_string());
        }
        let http = &self.http;
        let response = exchange.request_async(http).await.map_err(|e| match e {
            openidconnect::RequestTokenError::ServerResponse(r) => SignInError::Provider {
                error: r.error().as_ref().to_string(),
                description: r.error_description().cloned().unwrap_or_default(),
            },
            other => SignInError::Exchange(error_chain(&other)),
        })?;
        let id_token = response
            .id_token()
            .ok_or_else(|| SignInError::IdToken("the token response has no id_token".into()))?
            .clone();
        let nonce = Nonce::new(pending.nonce.clone());
        let check = |client: &EntraClient| {
            let verifier = client
                .id_token_verifier()
                .set_allowed_algs(vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
            id_token.claims(&verifier, &nonce).cloned()
        };
        let claims = match check(&client) {
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(
                openidconnect::SignatureVerificationError::NoMatchingKey,
            )) => {
                // the provider rolled its keys: fetch them again, once
                let client = self.client(self.metadata(true).await?, redirect_url)?;
                check(&client)
            }
            other => other,
        }
        .map_err(|e| SignInError::IdToken(error_chain(&e)))?;
        let extra = claims.additional_claims();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        if extra.nbf.is_some_and(|nbf| nbf > now + 300) {
            return Err(SignInError::IdToken(
                "the id token is not valid yet (nbf)".into(),
            ));
        }
        let object_id = extra
            .oid
            .clone()
            .unwrap_or_else(|| claims.subject().as_str().to_string());
        let username = claims
            .preferred_username()
            .map(|u| u.as_str().to_string())
            .unwrap_or_else(|| object_id.clone());
        let name = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_string())
            .unwrap_or_else(|| username.clone());
        Ok(Person {
            username,
            name,
            object_id,
            app_roles: extra.roles.clone(),
        })
    }

    /// The provider's `end_session_endpoint` with this app's client id and where to come back.
    /// (No `logout_hint`: Entra wants the optional `login_hint` claim's value there, not the user
    /// name, so the person may be asked which account to sign out.)
    pub async fn end_session_url(&self, post_logout_redirect: &str) -> Option<String> {
        let metadata = self.metadata(false).await.ok()?;
        let mut url = metadata
            .additional_metadata()
            .end_session_endpoint
            .as_ref()?
            .url()
            .clone();
        url.query_pairs_mut()
            .append_pair("client_id", &self.config.client_id)
            .append_pair("post_logout_redirect_uri", post_logout_redirect);
        Some(url.to_string())
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_roles_map_to_the_highest_role() {
        let r = AppRoles::default();
        assert_eq!(
            r.role(&["Portcullis.Viewer".into(), "Portcullis.Operator".into()]),
            Some(Role::Operator)
        );
        assert_eq!(r.role(&["Other".into()]), None);
        assert_eq!(r.role(&[]), None);
        let custom = AppRoles::parse("Read, Fix ,Own").unwrap();
        assert_eq!(custom.role(&["Own".into()]), Some(Role::Admin));
        assert!(AppRoles::parse("a,b").unwrap_err().contains("\"a,b\""));
    }

    #[test]
    fn issuers_are_tenant_specific() {
        assert_eq!(
            tenant_issuer(
                "https://login.microsoftonline.com/",
                "contoso.onmicrosoft.com"
            )
            .unwrap(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0"
        );
        for bad in ["common", "Organizations", "consumers", "", "a/b"] {
            assert!(
                tenant_issuer("https://login.microsoftonline.com", bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_pending_cookie_round_trips_and_refuses_junk() {
        let p = Pending {
            state: "s-1".into(),
            nonce: "n_2".into(),
            verifier: "v3".into(),
        };
        assert_eq!(Pending::from_cookie_value(&p.to_cookie_value()), Some(p));
        for bad in ["a.b", "a.b.c.d", "a..c", "a.b.c;d", "a.b.<c>"] {
            assert_eq!(Pending::from_cookie_value(bad), None, "{bad}");
        }
    }
}
