//! The emulator as Entra ID: a demo directory of people with app roles, and the OpenID Connect
//! endpoints a web app signs them in through (discovery, authorize, token, JWKS, logout), with
//! RS256-signed id tokens in Entra's v2.0 shape.
//!
//! The authorize endpoint signs in the person named by `login_hint` without a form (tests drive
//! the whole flow with it); without one it shows a plain page to pick a demo person. Two admin
//! endpoints serve tests: `POST /admin/entra/rotate-keys` publishes and signs with a new key,
//! `POST /admin/entra/id-token-fault` spoils the next id token (tampered, expired, ...).
use crate::util::{base64url_decode, base64url_encode};
use crate::TENANT_ID;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Someone in the demo directory.
#[derive(Debug, Clone, Copy)]
pub struct Person {
    pub upn: &'static str,
    pub name: &'static str,
    pub object_id: &'static str,
    /// App roles assigned on the Portcullis app.
    pub roles: &'static [&'static str],
}

/// The demo directory (`contoso.onmicrosoft.com`): one person per app role, and one without.
pub const DIRECTORY: &[Person] = &[
    Person {
        upn: "adele@contoso.onmicrosoft.com",
        name: "Adele Vance",
        object_id: "a11d0000-0000-4000-8000-0000000ade1e",
        roles: &["Portcullis.Admin"],
    },
    Person {
        upn: "megan@contoso.onmicrosoft.com",
        name: "Megan Bowen",
        object_id: "a11d0000-0000-4000-8000-00000000e6a0",
        roles: &["Portcullis.Operator"],
    },
    Person {
        upn: "alex@contoso.onmicrosoft.com",
        name: "Alex Wilber",
        object_id: "a11d0000-0000-4000-8000-0000000a1e00",
        roles: &["Portcullis.Viewer"],
    },
    Person {
        upn: "lee@contoso.onmicrosoft.com",
        name: "Lee Gu",
        object_id: "a11d0000-0000-4000-8000-00000000ee90",
        roles: &[],
    },
];

/// The Portcullis app registration of the demo directory (when the emulator is not given a
/// client id and secret of its own).
pub const DEMO_APP_CLIENT_ID: &str = "5e7c0000-0000-4000-8000-0000000c11e0";
pub const DEMO_APP_SECRET: &str = "portcullis-demo-directory-secret";

/// The app people sign in to: its client id and secret, and redirect URIs besides loopback
/// ones (which, as in Entra, any port may use).
#[derive(Debug, Clone, PartialEq)]
pub struct SignInApp {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
}

impl Default for SignInApp {
    fn default() -> Self {
        Self {
            client_id: DEMO_APP_CLIENT_ID.into(),
            client_secret: DEMO_APP_SECRET.into(),
            redirect_uris: Vec::new(),
        }
    }
}

/// How the next id token is spoiled (`POST /admin/entra/id-token-fault`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdTokenFault {
    /// A claim changed after signing.
    Tampered,
    Expired,
    NotYetValid,
    WrongAudience,
    WrongIssuer,
    WrongNonce,
    /// Signed by a key the JWKS does not publish.
    UnknownKey,
    /// `alg: none`, no signature.
    Unsigned,
}

struct SigningKey {
    kid: String,
    pair: KeyPair,
    jwk: Value,
}

impl SigningKey {
    fn generate() -> Self {
        let pair = KeyPair::generate(KeySize::Rsa2048).expect("RSA key generation works");
        let (n, e) =
            rsa_public_components(aws_lc_rs::signature::KeyPair::public_key(&pair).as_ref())
                .expect("aws-lc writes a well-formed RSAPublicKey");
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &n);
        let kid = base64url_encode(&digest.as_ref()[..20]);
        let jwk = json!({
            "kty": "RSA", "use": "sig", "kid": kid,
            "n": base64url_encode(&n), "e": base64url_encode(&e),
        });
        Self { kid, pair, jwk }
    }

    fn sign(&self, claims: &Value) -> String {
        let header = json!({ "typ": "JWT", "alg": "RS256", "kid": self.kid });
        let input = format!(
            "{}.{}",
            base64url_encode(header.to_string().as_bytes()),
            base64url_encode(claims.to_string().as_bytes())
        );
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .expect("RSA signing works");
        format!("{input}.{}", base64url_encode(&signature))
    }
}

/// `n` and `e` of a DER `RSAPublicKey` (RFC 8017: a SEQUENCE of two INTEGERs), without
/// leading zero bytes.
fn rsa_public_components(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    fn item(b: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
        if *b.first()? != tag {
            return None;
        }
        let (len, skip) = match *b.get(1)? {
            l if l < 0x80 => (l as usize, 2),
            l => {
                let k = (l & 0x7f) as usize;
                let len = b
                    .get(2..2 + k)?
                    .iter()
                    .fold(0usize, |a, x| a << 8 | *x as usize);
                (len, 2 + k)
            }
        };
        Some((b.get(skip..skip + len)?, b.get(skip + len..)?))
    }
    let (seq, _) = item(der, 0x30)?;
    let (n, rest) = item(seq, 0x02)?;
    let (e, _) = item(rest, 0x02)?;
    let strip = |v: &[u8]| v[v.iter().take_while(|b| **b == 0).count()..].to_vec();
    Some((strip(n), strip(e)))
}

struct Grant {
    client_id: String,
    redirect_uri: String,
    nonce: Option<String>,
    challenge: Option<(String, String)>,
    person: Person,
    scope: String,
    expires: Instant,
}

/// The directory's state: signing keys (the last one signs; the JWKS publishes the last two),
/// authorization codes not yet redeemed, and the fault for the next id token.
pub struct Entra {
    keys: Mutex<Vec<Arc<SigningKey>>>,
    codes: Mutex<HashMap<String, Grant>>,
    fault: Mutex<Option<IdTokenFault>>,
}

impl Default for Entra {
    fn default() -> Self {
        Self {
            keys: Mutex::new(vec![Arc::new(SigningKey::generate())]),
            codes: Mutex::new(HashMap::new()),
            fault: Mutex::new(None),
        }
    }
}

impl std::fmt::Debug for Entra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Entra { .. }")
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn random(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut b).expect("the OS random source works");
    base64url_encode(&b)
}

/// `http://HOST` of a request (the issuer is the address the client used).
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

fn issuer(headers: &HeaderMap) -> String {
    format!("{}/{TENANT_ID}/v2.0", base_url(headers))
}

fn known_tenant(tenant: &str) -> bool {
    tenant.eq_ignore_ascii_case(TENANT_ID) || tenant.eq_ignore_ascii_case("contoso.onmicrosoft.com")
}

fn error_page(status: StatusCode, code: &str, text: &str) -> Response {
    (
        status,
        Html(format!(
            "<!doctype html><link rel=icon href=\"data:,\"><title>Sign in: error</title><h1>Sorry, but we're having trouble signing you in.</h1><p>{code}: {}</p>",
            escape(text)
        )),
    )
        .into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn tenant_not_found(tenant: &str) -> Response {
    error_page(
        StatusCode::BAD_REQUEST,
        "AADSTS90002",
        &format!("Tenant '{tenant}' not found."),
    )
}

/// A redirect URI the app may use: a registered one, or any loopback address over http(s).
fn allowed_redirect(app: &SignInApp, uri: &str) -> bool {
    if app.redirect_uris.iter().any(|r| r == uri) {
        return true;
    }
    url::Url::parse(uri).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https")
            && matches!(
                u.host_str(),
                Some("127.0.0.1") | Some("localhost") | Some("[::1]")
            )
            && u.fragment().is_none()
    })
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`
pub fn discovery(tenant: &str, headers: &HeaderMap) -> Response {
    if !known_tenant(tenant) {
        return tenant_not_found(tenant);
    }
    let base = base_url(headers);
    Json(json!({
        "issuer": issuer(headers),
        "authorization_endpoint": format!("{base}/{TENANT_ID}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}/{TENANT_ID}/oauth2/v2.0/token"),
        "end_session_endpoint": format!("{base}/{TENANT_ID}/oauth2/v2.0/logout"),
        "jwks_uri": format!("{base}/{TENANT_ID}/discovery/v2.0/keys"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "request_uri_parameter_supported": false,
        "code_challenge_methods_supported": ["plain", "S256"],
        "tenant_region_scope": "NA",
        "cloud_instance_name": "microsoftonline.com",
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "auth_time", "nonce", "name", "preferred_username", "oid", "tid", "roles", "ver"],
    }))
    .into_response()
}

/// `GET /{tenant}/discovery/v2.0/keys`
pub fn jwks(entra: &Entra, tenant: &str) -> Response {
    if !known_tenant(tenant) {
        return tenant_not_found(tenant);
    }
    let keys = lock(&entra.keys);
    let published: Vec<&Value> = keys.iter().rev().take(2).map(|k| &k.jwk).collect();
    Json(json!({ "keys": published })).into_response()
}

/// `GET /{tenant}/oauth2/v2.0/authorize`
pub fn authorize(
    entra: &Entra,
    app: &SignInApp,
    tenant: &str,
    q: &HashMap<String, String>,
) -> Response {
    if !known_tenant(tenant) {
        return tenant_not_found(tenant);
    }
    let client_id = q.get("client_id").map(String::as_str).unwrap_or_default();
    if client_id != app.client_id {
        return error_page(StatusCode::BAD_REQUEST, "AADSTS700016", &format!("Application with identifier '{client_id}' was not found in the directory 'Contoso'."));
    }
    let redirect_uri = q.get("redirect_uri").cloned().unwrap_or_default();
    if !allowed_redirect(app, &redirect_uri) {
        return error_page(StatusCode::BAD_REQUEST, "AADSTS50011", &format!("The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application '{client_id}'."));
    }
    let state = q.get("state").cloned();
    let back = |params: &[(&str, &str)]| -> Response {
        let mut u = url::Url::parse(&redirect_uri).expect("checked above");
        {
            let mut pairs = u.query_pairs_mut();
            for (k, v) in params {
                pairs.append_pair(k, v);
            }
            if let Some(s) = &state {
                pairs.append_pair("state", s);
            }
        }
        Redirect::to(u.as_str()).into_response()
    };
    let fail = |error: &str, description: &str| {
        back(&[("error", error), ("error_description", description)])
    };
    if q.get("response_type").map(String::as_str) != Some("code") {
        return fail(
            "unsupported_response_type",
            "AADSTS700054: response_type is not enabled for the application; only 'code' is.",
        );
    }
    if q.get("response_mode").is_some_and(|m| m != "query") {
        return fail(
            "invalid_request",
            "AADSTS900144: the emulator answers with response_mode=query only.",
        );
    }
    let scope = q.get("scope").cloned().unwrap_or_default();
    if scope.trim().is_empty() {
        return fail(
            "invalid_request",
            "AADSTS900144: The request body must contain the following parameter: 'scope'.",
        );
    }
    let challenge = match (q.get("code_challenge"), q.get("code_challenge_method")) {
        (None, _) => None,
        (Some(c), m) => {
            let method = m.map(String::as_str).unwrap_or("plain");
            if method != "S256" && method != "plain" {
                return fail(
                    "invalid_request",
                    "AADSTS501491: Invalid size of Code_Challenge parameter.",
                );
            }
            Some((c.clone(), method.to_string()))
        }
    };
    let hint = q.get("login_hint").map(|h| h.trim().to_lowercase());
    let person = hint.as_deref().and_then(|h| {
        DIRECTORY
            .iter()
            .find(|p| p.upn == h || p.upn.split('@').next() == Some(h))
    });
    let Some(person) = person.copied() else {
        if q.get("prompt").map(String::as_str) == Some("none") {
            return fail(
                "login_required",
                "AADSTS50058: A silent sign-request was sent but no user is signed in.",
            );
        }
        return pick_person(q, hint.as_deref());
    };
    let code = random(48);
    let mut codes = lock(&entra.codes);
    codes.retain(|_, g| g.expires > Instant::now());
    codes.insert(
        code.clone(),
        Grant {
            client_id: client_id.to_string(),
            redirect_uri: redirect_uri.clone(),
            nonce: q.get("nonce").cloned(),
            challenge,
            person,
            scope,
            expires: Instant::now() + Duration::from_secs(600),
        },
    );
    drop(codes);
    back(&[("code", &code), ("session_state", &random(16))])
}

/// The page to pick a demo person: each a link to the same request with `login_hint`.
fn pick_person(q: &HashMap<String, String>, unknown: Option<&str>) -> Response {
    let mut people = String::new();
    for p in DIRECTORY {
        let mut params: Vec<(&str, &str)> = q
            .iter()
            .filter(|(k, _)| k.as_str() != "login_hint")
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        params.push(("login_hint", p.upn));
        params.sort();
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        let roles = if p.roles.is_empty() {
            "no app role".to_string()
        } else {
            p.roles.join(", ")
        };
        people.push_str(&format!(
            "<li><a href=\"?{}\" data-upn=\"{}\">{}</a> <small>{} · {}</small></li>",
            escape(&query),
            p.upn,
            p.name,
            p.upn,
            roles
        ));
    }
    let note = unknown
        .map(|u| {
            format!(
                "<p>Nobody in the demo directory is called {}.</p>",
                escape(u)
            )
        })
        .unwrap_or_default();
    Html(format!(
        "<!doctype html><meta charset=utf-8><link rel=icon href=\"data:,\"><title>Sign in to the demo directory</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}}li{{margin:.6rem 0}}small{{color:#555}}</style>\
         <h1>Pick an account</h1><p>Contoso demo directory (the Portcullis emulator's stand-in for Entra ID).</p>{note}<ul>{people}</ul>"
    ))
    .into_response()
}

/// The token endpoint's fields that the authorization-code grant reads.
#[derive(Debug, Default)]
pub struct CodeRedemption<'a> {
    pub code: Option<&'a str>,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
    pub client_id: &'a str,
}

fn token_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// `POST /{tenant}/oauth2/v2.0/token` with `grant_type=authorization_code`, the client already
/// authenticated: the id token (and an access token) for the code's person.
pub fn redeem_code(
    entra: &Entra,
    headers: &HeaderMap,
    form: CodeRedemption<'_>,
    access_token: String,
) -> Response {
    let Some(grant) = form.code.and_then(|c| lock(&entra.codes).remove(c)) else {
        return token_error(
            "invalid_grant",
            "AADSTS70000: The provided authorization code is invalid or has already been used.",
        );
    };
    if grant.expires <= Instant::now() {
        return token_error("invalid_grant", "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.");
    }
    if grant.client_id != form.client_id {
        return token_error(
            "invalid_grant",
            "AADSTS70000: The authorization code was issued to another client.",
        );
    }
    if form.redirect_uri != Some(grant.redirect_uri.as_str()) {
        return token_error("invalid_grant", &format!("AADSTS500112: The reply address '{}' does not match the reply address '{}' provided when requesting the authorization code.", form.redirect_uri.unwrap_or_default(), grant.redirect_uri));
    }
    if let Some((challenge, method)) = &grant.challenge {
        let Some(verifier) = form.code_verifier else {
            return token_error("invalid_grant", "AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request.");
        };
        let computed = if method == "S256" {
            base64url_encode(
                aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()).as_ref(),
            )
        } else {
            verifier.to_string()
        };
        if &computed != challenge {
            return token_error("invalid_grant", "AADSTS50148: The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.");
        }
    }
    let mut body = json!({
        "token_type": "Bearer",
        "scope": grant.scope,
        "expires_in": 3600,
        "ext_expires_in": 3600,
        "access_token": access_token,
    });
    if grant.scope.split_whitespace().any(|s| s == "openid") {
        body["id_token"] = Value::String(id_token(entra, headers, &grant));
    }
    Json(body).into_response()
}

fn id_token(entra: &Entra, headers: &HeaderMap, grant: &Grant) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let p = grant.person;
    let sub_digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("{}|{}", p.object_id, grant.client_id).as_bytes(),
    );
    let mut claims = json!({
        "ver": "2.0",
        "iss": issuer(headers),
        "sub": base64url_encode(&sub_digest.as_ref()[..24]),
        "aud": grant.client_id,
        "exp": now + 3600,
        "iat": now,
        "nbf": now,
        "name": p.name,
        "preferred_username": p.upn,
        "oid": p.object_id,
        "tid": TENANT_ID,
        "uti": random(16),
    });
    if let Some(n) = &grant.nonce {
        claims["nonce"] = Value::String(n.clone());
    }
    if !p.roles.is_empty() {
        claims["roles"] = json!(p.roles);
    }
    let fault = lock(&entra.fault).take();
    match fault {
        Some(IdTokenFault::Expired) => {
            claims["iat"] = json!(now - 7200);
            claims["nbf"] = json!(now - 7200);
            claims["exp"] = json!(now - 3600);
        }
        Some(IdTokenFault::NotYetValid) => claims["nbf"] = json!(now + 3600),
        Some(IdTokenFault::WrongAudience) => {
            claims["aud"] = json!(DEMO_APP_CLIENT_ID.replace('5', "6"))
        }
        Some(IdTokenFault::WrongIssuer) => {
            claims["iss"] = json!(format!(
                "https://login.microsoftonline.com/{}/v2.0",
                DEMO_APP_CLIENT_ID
            ))
        }
        Some(IdTokenFault::WrongNonce) => claims["nonce"] = json!(random(16)),
        _ => {}
    }
    let key = lock(&entra.keys).last().cloned().expect("one key at least");
    match fault {
        Some(IdTokenFault::UnknownKey) => SigningKey::generate().sign(&claims),
        Some(IdTokenFault::Unsigned) => format!(
            "{}.{}.",
            base64url_encode(
                json!({ "typ": "JWT", "alg": "none" })
                    .to_string()
                    .as_bytes()
            ),
            base64url_encode(claims.to_string().as_bytes())
        ),
        Some(IdTokenFault::Tampered) => {
            let signed = key.sign(&claims);
            let mut parts: Vec<String> = signed.split('.').map(str::to_string).collect();
            let mut payload: Value = base64url_decode(&parts[1])
                .and_then(|b| serde_json::from_slice(&b).ok())
                .expect("our own payload");
            // someone else's name under the same signature
            payload["preferred_username"] = json!("mallory@contoso.onmicrosoft.com");
            payload["roles"] = json!(["Portcullis.Admin"]);
            parts[1] = base64url_encode(payload.to_string().as_bytes());
            parts.join(".")
        }
        _ => key.sign(&claims),
    }
}

/// `GET /{tenant}/oauth2/v2.0/logout`: ends the directory session; back to
/// `post_logout_redirect_uri` when the app may use it, else a page.
pub fn logout(app: &SignInApp, tenant: &str, q: &HashMap<String, String>) -> Response {
    if !known_tenant(tenant) {
        return tenant_not_found(tenant);
    }
    match q.get("post_logout_redirect_uri") {
        Some(uri) if allowed_redirect(app, uri) => Redirect::to(uri).into_response(),
        _ => Html("<!doctype html><link rel=icon href=\"data:,\"><title>Signed out</title><h1>You signed out of your account</h1><p>It's a good idea to close all browser windows.</p>").into_response(),
    }
}

/// `POST /admin/entra/rotate-keys`: a new signing key, published beside the previous one.
pub fn rotate_keys(entra: &Entra) -> Response {
    let key = Arc::new(SigningKey::generate());
    let kid = key.kid.clone();
    let mut keys = lock(&entra.keys);
    keys.push(key);
    let excess = keys.len().saturating_sub(2);
    keys.drain(..excess);
    Json(json!({ "kid": kid })).into_response()
}

/// `POST /admin/entra/id-token-fault` `{"fault": "expired"}`: spoils the next id token.
pub fn set_fault(entra: &Entra, body: &Value) -> Response {
    match serde_json::from_value::<IdTokenFault>(body["fault"].clone()) {
        Ok(f) => {
            *lock(&entra.fault) = Some(f);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": { "code": "InvalidRequestContent", "message": format!("fault: {e}") } })),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_keys_publish_the_modulus_and_exponent() {
        let key = SigningKey::generate();
        let n = base64url_decode(key.jwk["n"].as_str().unwrap()).unwrap();
        assert_eq!(n.len(), 256, "a 2048-bit modulus");
        assert_eq!(key.jwk["e"], "AQAB");
        let token = key.sign(&json!({ "sub": "x" }));
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let public = aws_lc_rs::signature::RsaPublicKeyComponents {
            n: &n[..],
            e: &[1u8, 0, 1][..],
        };
        public
            .verify(
                &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
                format!("{}.{}", parts[0], parts[1]).as_bytes(),
                &base64url_decode(parts[2]).unwrap(),
            )
            .expect("the signature verifies with the published key");
    }

    #[test]
    fn only_loopback_or_registered_redirects_are_allowed() {
        let app = SignInApp {
            redirect_uris: vec!["https://portcullis.contoso.com/auth/callback".into()],
            ..SignInApp::default()
        };
        assert!(allowed_redirect(
            &app,
            "http://127.0.0.1:8080/auth/callback"
        ));
        assert!(allowed_redirect(
            &app,
            "https://portcullis.contoso.com/auth/callback"
        ));
        assert!(!allowed_redirect(
            &app,
            "https://evil.example/auth/callback"
        ));
        assert!(!allowed_redirect(&app, "javascript:alert(1)"));
    }
}
