//! Sign-in with Entra ID over real HTTP: the server's `/auth/login` and `/auth/callback`, the
//! emulator's demo directory as the identity provider (discovery, authorize with `login_hint`,
//! token, JWKS), a real SQLite store. Every spoiled id token is refused, keys roll, a person
//! without an app role is turned away with the roles named, and nobody can finish a sign-in
//! their browser did not start.
use super::support::*;
use portcullis::config::Config;
use portcullis::oidc::{AppRoles, ClientAuth, EntraConfig};
use portcullis::state::AppState;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::{json, Value};
use std::net::SocketAddr;

struct Server {
    addr: SocketAddr,
    state: AppState,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let dist = dir.path().join("dist");
        std::fs::create_dir_all(&dist).unwrap();
        std::fs::write(dist.join("index.html"), "<!-- test index -->").unwrap();
        let mut config = Config::for_tests(dist, dir.path().join("data"));
        tweak(&mut config);
        let state = portcullis::startup::start(config)
            .await
            .expect("server starts");
        let app = portcullis::router::build_router(state.clone())
            .into_make_service_with_connect_info::<SocketAddr>();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            addr,
            state,
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn emulator(&self) -> String {
        self.state.emulator_url.clone().expect("demo mode")
    }
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `NAME=value` of a `Set-Cookie` whose name ends with `name`.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|kv| kv.split('=').next().is_some_and(|k| k.ends_with(name)))
        .map(str::to_string)
}

fn location(headers: &HeaderMap) -> String {
    headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .expect("a redirect")
        .to_string()
}

/// Where a sign-in ended: the callback's status, its body and the session cookie it set.
struct Outcome {
    status: u16,
    body: String,
    session: Option<String>,
    authorize_url: String,
}

/// The browser's part: `/auth/login`, the identity provider's authorize, back to the callback
/// with the flow cookie.
async fn sign_in(server: &Server, hint: &str) -> Outcome {
    let http = no_redirects();
    let r = http
        .get(server.url(&format!("/auth/login?login_hint={hint}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "/auth/login redirects");
    let flow = cookie(r.headers(), "portcullis_oidc").expect("the flow cookie");
    let authorize_url = location(r.headers());
    let r = http.get(&authorize_url).send().await.unwrap();
    assert_eq!(
        r.status(),
        303,
        "authorize redirects back: {}",
        r.text().await.unwrap()
    );
    let callback = location(r.headers());
    assert!(
        callback.starts_with(&server.url("/auth/callback?")),
        "{callback}"
    );
    let r = http
        .get(&callback)
        .header("cookie", &flow)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let session = cookie(r.headers(), "portcullis_session").filter(|c| !c.ends_with('='));
    if status == 303 {
        assert_eq!(location(r.headers()), "/");
    }
    Outcome {
        status,
        body: r.text().await.unwrap(),
        session,
        authorize_url,
    }
}

async fn whoami(server: &Server, session: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(server.url("/api/me"))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_operator_signs_in_through_the_demo_directory_with_pkce_state_and_nonce() {
    let server = Server::start(|_| {}).await;
    let health: Value = reqwest::get(server.url("/api/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["signIn"]["localAccounts"], true);
    assert_eq!(
        health["signIn"]["microsoft"],
        "Sign in with Microsoft (demo directory)"
    );

    let out = sign_in(&server, "megan@contoso.onmicrosoft.com").await;
    assert_eq!(out.status, 303, "{}", out.body);
    let url = url::Url::parse(&out.authorize_url).unwrap();
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["response_type"], "code");
    assert!(q["scope"].split(' ').any(|s| s == "openid"));
    for k in ["state", "nonce", "code_challenge"] {
        assert!(q[k].len() >= 22, "{k} is random: {:?}", q[k]);
    }
    assert!(url.path().ends_with("/oauth2/v2.0/authorize"), "{url}");

    let session = out.session.expect("a session cookie");
    let (status, me) = whoami(&server, &session).await;
    assert_eq!(status, 200);
    assert_eq!(me["username"], "megan@contoso.onmicrosoft.com");
    assert_eq!(me["role"], "operator");
    assert_eq!(me["signedInWith"], "entra");

    // the audit log names the person and their object id
    let entries = server
        .state
        .store
        .audit_entries(&portcullis_shared::api::AuditQuery {
            actor: None,
            action: Some("login".into()),
            before_seq: None,
            limit: Some(50),
        })
        .await
        .unwrap();
    let login = entries
        .iter()
        .find(|e| e.action == "login" && e.outcome == "success")
        .expect("a login entry");
    assert!(login.actor.contains("Megan Bowen"), "{}", login.actor);
    assert!(
        login.actor.contains("a11d0000-0000-4000-8000-00000000e6a0"),
        "{}",
        login.actor
    );
    assert_eq!(
        login.detail["objectId"],
        "a11d0000-0000-4000-8000-00000000e6a0"
    );

    // a second sign-in with a fresh flow; the old flow cookie cannot be replayed with its code
    let again = sign_in(&server, "adele").await;
    assert_eq!(again.status, 303, "{}", again.body);
    let (_, me) = whoami(&server, &again.session.unwrap()).await;
    assert_eq!(me["role"], "admin");
}

#[tokio::test]
async fn a_person_without_an_app_role_is_refused_with_the_roles_named() {
    let server = Server::start(|_| {}).await;
    let out = sign_in(&server, "lee@contoso.onmicrosoft.com").await;
    assert_eq!(out.status, 403);
    assert!(out.session.is_none(), "no session");
    for role in [
        "Portcullis.Viewer",
        "Portcullis.Operator",
        "Portcullis.Admin",
    ] {
        assert!(
            out.body.contains(role),
            "the page names {role}: {}",
            out.body
        );
    }
    assert!(out.body.contains("Lee Gu"), "{}", out.body);
    let entries = server
        .state
        .store
        .audit_entries(&portcullis_shared::api::AuditQuery {
            actor: None,
            action: Some("login".into()),
            before_seq: None,
            limit: Some(50),
        })
        .await
        .unwrap();
    assert!(entries
        .iter()
        .any(|e| e.action == "login" && e.outcome == "denied"));
}

#[tokio::test]
async fn spoiled_id_tokens_are_refused() {
    let server = Server::start(|_| {}).await;
    let emulator = server.emulator();
    for (fault, why) in [
        ("tampered", "signature"),
        ("expired", "expired"),
        ("wrong-audience", "audience"),
        ("wrong-nonce", "nonce"),
        ("wrong-issuer", "issuer"),
        ("not-yet-valid", "nbf"),
        ("unknown-key", "key"),
        ("unsigned", ""),
    ] {
        admin(&emulator, "entra/id-token-fault", json!({ "fault": fault })).await;
        let out = sign_in(&server, "adele").await;
        assert_eq!(out.status, 401, "{fault}: {}", out.body);
        assert!(out.session.is_none(), "{fault}: no session");
        assert!(
            out.body.to_lowercase().contains(why),
            "{fault}: the page says why ({why}): {}",
            out.body
        );
    }
    // and a good token still works afterwards
    assert_eq!(sign_in(&server, "adele").await.status, 303);
}

#[tokio::test]
async fn signing_keys_roll_and_the_new_key_is_fetched() {
    let server = Server::start(|_| {}).await;
    assert_eq!(sign_in(&server, "alex").await.status, 303);
    let rotated = admin(&server.emulator(), "entra/rotate-keys", json!({})).await;
    assert!(rotated["kid"].is_string());
    let out = sign_in(&server, "alex").await;
    assert_eq!(out.status, 303, "signed with the new key: {}", out.body);
    let (_, me) = whoami(&server, &out.session.unwrap()).await;
    assert_eq!(me["role"], "viewer");
}

#[tokio::test]
async fn nobody_finishes_a_sign_in_their_browser_did_not_start() {
    let server = Server::start(|_| {}).await;
    let http = no_redirects();
    // the attacker starts a flow and gets a code for their own account
    let r = http
        .get(server.url("/auth/login?login_hint=adele"))
        .send()
        .await
        .unwrap();
    let attacker_flow = cookie(r.headers(), "portcullis_oidc").unwrap();
    let r = http.get(location(r.headers())).send().await.unwrap();
    let callback = location(r.headers());
    // the victim's browser, with no flow cookie or its own, is sent to that callback
    let r = http.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 401, "no flow cookie");
    assert!(cookie(r.headers(), "portcullis_session").is_none_or(|c| c.ends_with('=')));
    let r = http.get(server.url("/auth/login")).send().await.unwrap();
    let victim_flow = cookie(r.headers(), "portcullis_oidc").unwrap();
    let r = http
        .get(&callback)
        .header("cookie", &victim_flow)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "another flow's state");
    // the browser that started the flow finishes it, once: a code is good once
    for expected in [303, 401] {
        let r = http
            .get(&callback)
            .header("cookie", &attacker_flow)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), expected);
    }
}

#[tokio::test]
async fn signing_out_can_end_the_entra_session_too() {
    let server = Server::start(|_| {}).await;
    let session = sign_in(&server, "megan").await.session.unwrap();
    let (_, me_before) = whoami(&server, &session).await;
    let r = reqwest::Client::new()
        .post(server.url("/api/logout?endEntraSession=true"))
        .header("cookie", &session)
        .header("x-csrf-token", me_before["csrfToken"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let end = body["endSessionUrl"].as_str().unwrap();
    assert!(end.starts_with(&format!("{}/", server.emulator())), "{end}");
    assert!(end.contains("/oauth2/v2.0/logout?"), "{end}");
    assert!(end.contains("post_logout_redirect_uri="), "{end}");
    assert_eq!(whoami(&server, &session).await.0, 401, "the session ended");
    // the identity provider sends the browser back to the sign-in page
    let r = no_redirects().get(end).send().await.unwrap();
    assert_eq!(location(r.headers()), server.url("/login"));
}

#[tokio::test]
async fn local_accounts_can_be_switched_off() {
    let server = Server::start(|c| c.local_accounts = false).await;
    let health: Value = reqwest::get(server.url("/api/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["signIn"]["localAccounts"], false);
    let r = reqwest::Client::new()
        .post(server.url("/api/login"))
        .json(&json!({ "username": "admin", "password": "demo-password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("local accounts are switched off"));
    assert_eq!(sign_in(&server, "megan").await.status, 303);
}

/// A directory of its own (a standalone emulator), the app proving itself with a client secret
/// or with a federated credential (workload identity's token file), custom app-role names.
#[tokio::test]
async fn a_configured_directory_with_a_secret_or_a_federated_credential() {
    let idp = emulator(config()).await;
    let issuer = format!("{}/{}/v2.0", idp.url(), portcullis_emulator::TENANT_ID);
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("federated-token");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let b64 = |v: Value| {
        use std::fmt::Write;
        // unpadded base64url, enough for the emulator's parser
        let bytes = v.to_string().into_bytes();
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for c in bytes.chunks(3) {
            let n = (c[0] as u32) << 16
                | (*c.get(1).unwrap_or(&0) as u32) << 8
                | *c.get(2).unwrap_or(&0) as u32;
            for i in 0..=c.len() {
                let _ = write!(
                    out,
                    "{}",
                    alphabet[(n >> (18 - 6 * i) & 63) as usize] as char
                );
            }
        }
        out
    };
    let assertion = format!(
        "{}.{}.sig",
        b64(json!({ "alg": "RS256" })),
        b64(
            json!({ "aud": "api://AzureADTokenExchange", "iss": "https://oidc.example", "sub": "system:serviceaccount:portcullis:web", "exp": now + 600 })
        )
    );
    std::fs::write(&token_file, assertion).unwrap();
    for auth in [
        ClientAuth::Secret(portcullis_emulator::entra::DEMO_APP_SECRET.into()),
        ClientAuth::FederatedTokenFile(token_file.clone()),
        ClientAuth::Secret("wrong".into()),
    ] {
        let wrong = matches!(&auth, ClientAuth::Secret(s) if s == "wrong");
        let entra = EntraConfig {
            issuer: issuer.clone(),
            client_id: portcullis_emulator::entra::DEMO_APP_CLIENT_ID.into(),
            client_auth: auth,
            redirect_url: None,
            app_roles: AppRoles::parse("Portcullis.Viewer,Portcullis.Admin,Portcullis.Operator")
                .unwrap(),
            label: "Sign in with Microsoft".into(),
        };
        let server = Server::start(move |c| c.entra = Some(entra)).await;
        let out = sign_in(&server, "megan").await;
        if wrong {
            assert_eq!(out.status, 401);
            assert!(out.body.contains("AADSTS7000215"), "{}", out.body);
            continue;
        }
        assert_eq!(out.status, 303, "{}", out.body);
        // the custom names: Portcullis.Operator is this deployment's admin role
        let (_, me) = whoami(&server, &out.session.unwrap()).await;
        assert_eq!(me["role"], "admin");
    }
}
