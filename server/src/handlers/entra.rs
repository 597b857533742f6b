//! Sign-in with Entra ID: `GET /auth/login` sends the browser to the identity provider,
//! `GET /auth/callback` brings it back signed in (or on a page that says why not).
use crate::audit::NewEntry;
use crate::auth::{
    cookie_value, random_token, secure_request, session_cookie, token_hash, ClientAddr, HOST_PREFIX,
};
use crate::clock::now_ms;
use crate::oidc::{Oidc, Pending, SignInError};
use crate::state::AppState;
use crate::store::SessionPerson;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

/// The cookie that carries the flow's state, nonce and PKCE verifier from login to callback.
pub const FLOW_COOKIE: &str = "portcullis_oidc";

fn flow_cookie(value: &str, max_age: u64, secure: bool) -> String {
    // Lax, not Strict: the callback is a top-level navigation from the identity provider
    format!(
        "{}{FLOW_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        if secure { HOST_PREFIX } else { "" },
        if secure { "; Secure" } else { "" }
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A page of its own (the callback's answers when sign-in does not end in the dashboard), in
/// the dashboard's look: its stylesheet (the `<link>` in `dist/index.html`) and sign-in card.
pub fn page(dist: &std::path::Path, status: StatusCode, title: &str, body: &str) -> Response {
    let stylesheet = std::fs::read_to_string(dist.join("index.html"))
        .ok()
        .and_then(|index| {
            let start = index.find("<link rel=\"stylesheet\"")?;
            let end = start + index[start..].find('>')? + 1;
            Some(index[start..end].to_string())
        })
        .unwrap_or_default();
    (
        status,
        Html(format!(
            "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content=\"width=device-width, initial-scale=1\">\
             <meta name=color-scheme content=\"light dark\">{stylesheet}<link rel=icon type=\"image/svg+xml\" href=\"/favicon.svg\">\
             <title>{t} · Portcullis</title></head><body>\
             <header class=app-header><a class=app-header-brand href=\"/\"><img class=app-header-logo src=\"/favicon.svg\" alt=\"\" width=28 height=28><span>Portcullis</span></a>\
             <span class=app-header-tagline>Secure management ports for Azure VMs</span></header>\
             <main class=\"login login-single\"><section class=\"card login-card\"><h1>{t}</h1>{body}\
             <p><a class=\"button button-primary button-microsoft\" href=\"/login\">Back to sign-in</a></p></section></main></body></html>",
            t = escape(title)
        )),
    )
        .into_response()
}

/// This server's callback URL: the configured one, or `/auth/callback` where the browser is.
fn redirect_url(
    state: &AppState,
    oidc: &Oidc,
    headers: &HeaderMap,
) -> Result<String, Box<Response>> {
    if let Some(u) = &oidc.config.redirect_url {
        return Ok(u.clone());
    }
    let dist = &state.config.dist;
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .ok_or_else(|| {
            Box::new(page(
                dist,
                StatusCode::BAD_REQUEST,
                "Sign-in is not possible",
                "<p>The request names no valid host; set --entra-redirect-url.</p>",
            ))
        })?;
    let scheme = if secure_request(headers, state.config.secure_cookies) {
        "https"
    } else {
        "http"
    };
    Ok(format!("{scheme}://{host}/auth/callback"))
}

fn not_configured(state: &AppState) -> Response {
    page(
        &state.config.dist,
        StatusCode::NOT_FOUND,
        "Sign-in with Microsoft is not configured",
        "<p>Start the server with --entra-tenant and --entra-client-id (see docs/deploy.md).</p>",
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    login_hint: Option<String>,
}

/// `GET /auth/login?login_hint=`: to the identity provider's authorize endpoint.
pub async fn begin_sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let Some(oidc) = state.oidc.clone() else {
        return not_configured(&state);
    };
    let redirect = match redirect_url(&state, &oidc, &headers) {
        Ok(r) => r,
        Err(page) => return *page,
    };
    match oidc.begin(&redirect, q.login_hint.as_deref()).await {
        Ok((url, pending)) => {
            let secure = secure_request(&headers, state.config.secure_cookies);
            let cookie = flow_cookie(&pending.to_cookie_value(), 600, secure);
            ([(header::SET_COOKIE, cookie)], Redirect::to(&url)).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "sign-in with Entra ID cannot start");
            page(
                &state.config.dist,
                StatusCode::BAD_GATEWAY,
                "Sign-in is not available",
                &format!("<p>{}</p>", escape(&e.to_string())),
            )
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /auth/callback?code=&state=`: redeems the code, checks the id token and the person's
/// app roles, and starts a session.
pub async fn finish_sign_in(
    State(state): State<AppState>,
    ClientAddr(peer): ClientAddr,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let Some(oidc) = state.oidc.clone() else {
        return not_configured(&state);
    };
    let secure = secure_request(&headers, state.config.secure_cookies);
    let clear_flow = flow_cookie("", 0, secure);
    let ip = crate::auth::client_address(&headers, peer, &state.config.trusted_proxies);
    let pending = cookie_value(&headers, &format!("{HOST_PREFIX}{FLOW_COOKIE}"))
        .or_else(|| cookie_value(&headers, FLOW_COOKIE))
        .and_then(|v| Pending::from_cookie_value(&v));
    let result = match (&q.error, &q.code) {
        (Some(error), _) => Err(SignInError::Provider {
            error: error.clone(),
            description: q.error_description.clone().unwrap_or_default(),
        }),
        (None, None) => Err(SignInError::State),
        (None, Some(code)) => match redirect_url(&state, &oidc, &headers) {
            Ok(redirect) => {
                oidc.finish(
                    &redirect,
                    code,
                    q.state.as_deref().unwrap_or_default(),
                    pending,
                )
                .await
            }
            Err(page) => return *page,
        },
    };
    let mut response = match result {
        Ok(person) => signed_in(&state, &oidc, person, &ip, secure).await,
        Err(e) => {
            tracing::warn!(error = %e, %ip, "sign-in with Entra ID failed");
            audit_quietly(
                &state,
                NewEntry {
                    actor: "unknown".into(),
                    action: "login".into(),
                    target: "entra".into(),
                    outcome: "failure".into(),
                    before: json!(null),
                    after: json!(null),
                    detail: json!({ "address": ip, "via": "entra", "reason": e.to_string() }),
                },
            )
            .await;
            page(
                &state.config.dist,
                StatusCode::UNAUTHORIZED,
                "Sign-in failed",
                &format!(
                    "<p data-testid=\"sign-in-error\">{}</p>",
                    escape(&e.to_string())
                ),
            )
        }
    };
    if let Ok(v) = HeaderValue::from_str(&clear_flow) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

async fn audit_quietly(state: &AppState, entry: NewEntry) {
    if let Err(e) = state.store.audit(entry).await {
        tracing::error!(error = %e, "cannot write the audit entry of a sign-in");
    }
}

async fn signed_in(
    state: &AppState,
    oidc: &Arc<Oidc>,
    person: crate::oidc::Person,
    ip: &str,
    secure: bool,
) -> Response {
    let roles = &oidc.config.app_roles;
    let actor = format!(
        "{} ({}, oid {})",
        person.username, person.name, person.object_id
    );
    let Some(role) = roles.role(&person.app_roles) else {
        tracing::warn!(user = %person.username, oid = %person.object_id, "sign-in refused: no Portcullis app role");
        audit_quietly(
            state,
            NewEntry {
                actor,
                action: "login".into(),
                target: person.username.clone(),
                outcome: "denied".into(),
                before: json!(null),
                after: json!(null),
                detail: json!({ "address": ip, "via": "entra", "appRoles": person.app_roles }),
            },
        )
        .await;
        return page(
            &state.config.dist,
            StatusCode::FORBIDDEN,
            "You need an app role to use Portcullis",
            &format!(
                "<p data-testid=\"no-role\">{} ({}) signed in, but has none of Portcullis's app roles. \
                 Ask an administrator to assign you one of <b>{}</b> (read), <b>{}</b> (fix) or <b>{}</b> (manage) \
                 on the Portcullis app in Entra ID (Enterprise applications → Portcullis → Users and groups).</p>",
                escape(&person.name),
                escape(&person.username),
                escape(&roles.viewer),
                escape(&roles.operator),
                escape(&roles.admin)
            ),
        );
    };
    let token = random_token();
    let csrf = random_token();
    let ttl = state.config.session_ttl;
    let expires_at = now_ms() + ttl.as_millis() as i64;
    let session_person = SessionPerson {
        name: person.name.clone(),
        object_id: person.object_id.clone(),
    };
    let stored = state
        .store
        .create_person_session(
            &token_hash(&token),
            &person.username,
            role,
            &session_person,
            &csrf,
            expires_at,
        )
        .await;
    if let Err(e) = stored {
        tracing::error!(error = %e, "cannot store the session");
        return page(
            &state.config.dist,
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign-in failed",
            "<p>The server cannot store the session; try again.</p>",
        );
    }
    tracing::info!(user = %person.username, oid = %person.object_id, role = role.as_str(), "signed in with Entra ID");
    audit_quietly(
        state,
        NewEntry {
            actor,
            action: "login".into(),
            target: person.username.clone(),
            outcome: "success".into(),
            before: json!(null),
            after: json!({ "role": role.as_str() }),
            detail: json!({ "address": ip, "via": "entra", "name": person.name, "objectId": person.object_id, "appRoles": person.app_roles }),
        },
    )
    .await;
    (
        [(header::SET_COOKIE, session_cookie(&token, ttl, secure))],
        Redirect::to("/"),
    )
        .into_response()
}
