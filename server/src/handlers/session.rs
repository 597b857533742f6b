//! Sign-in and sign-out.
use crate::audit::NewEntry;
use crate::auth::{
    random_token, secure_request, session_cookie, token_hash, verify_password, ClientAddr, Session,
};
use crate::clock::{now_ms, rfc3339};
use crate::error::{AppError, AppJson};
use crate::state::AppState;
use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use portcullis_shared::api::{LoginRequest, Me};
use serde_json::json;
use std::time::Duration;

/// `POST /api/login`
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(peer): ClientAddr,
    headers: HeaderMap,
    AppJson(body): AppJson<LoginRequest>,
) -> Result<Response, AppError> {
    if !state.config.local_accounts {
        return Err(AppError::Forbidden(
            "local accounts are switched off (--local-accounts=false); sign in with Microsoft"
                .into(),
        ));
    }
    let ip = crate::auth::client_address(&headers, peer, &state.config.trusted_proxies);
    let username = body.username.trim().to_string();
    if username.is_empty() || username.len() > 128 {
        return Err(AppError::bad(
            "username",
            "give a user name (at most 128 characters)",
        ));
    }
    let keys = crate::auth::LoginLimiter::keys(&username, &ip, state.config.login_max_failures);
    if let Some(wait) = state.limiter.blocked(&keys) {
        tracing::warn!(%username, %ip, "sign-in refused: too many failures");
        return Err(AppError::TooManyRequests(wait));
    }
    let user = state.store.user(&username).await?;
    let password = body.password.clone();
    let ok = match user.clone() {
        Some((_, hash)) => tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .unwrap_or(false),
        None => false,
    };
    let Some((role, _)) = user.filter(|_| ok) else {
        let n = state.limiter.failed(&keys);
        tracing::warn!(%username, %ip, failures = n, "sign-in failed");
        state
            .store
            .audit(NewEntry {
                actor: username.clone(),
                action: "login".into(),
                target: username.clone(),
                outcome: "failure".into(),
                before: json!(null),
                after: json!(null),
                detail: json!({ "address": ip, "failures": n }),
            })
            .await?;
        // the same answer for an unknown user and a wrong password
        return Err(AppError::Unauthorized);
    };
    state.limiter.succeeded(&keys);
    let token = random_token();
    let csrf = random_token();
    let ttl = state.config.session_ttl;
    let expires_at = now_ms() + ttl.as_millis() as i64;
    state
        .store
        .create_session(&token_hash(&token), &username, &csrf, expires_at)
        .await?;
    state.store.touch_login(&username).await?;
    state
        .store
        .audit(NewEntry {
            actor: username.clone(),
            action: "login".into(),
            target: username.clone(),
            outcome: "success".into(),
            before: json!(null),
            after: json!({ "role": role.as_str() }),
            detail: json!({ "address": ip }),
        })
        .await?;
    let me = Me {
        username,
        role,
        csrf_token: csrf,
        expires_at: rfc3339(expires_at),
        data_source: state.config.data_source.as_str().into(),
        signed_in_with: "local".into(),
    };
    let cookie = session_cookie(
        &token,
        ttl,
        secure_request(&headers, state.config.secure_cookies),
    );
    Ok(([(header::SET_COOKIE, cookie)], Json(me)).into_response())
}

/// `POST /api/logout?endEntraSession=true`
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogoutQuery {
    #[serde(default)]
    end_entra_session: bool,
}

/// `POST /api/logout`: revokes the session (204). With `?endEntraSession=true`, for a person
/// signed in with Entra ID, answers 200 `{"endSessionUrl": ...}`: the identity provider's
/// `end_session_endpoint`, where the browser goes next to end that session too.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<LogoutQuery>,
    session: Session,
) -> Result<Response, AppError> {
    state.store.revoke_session(&session.token_hash).await?;
    state
        .store
        .audit(NewEntry {
            actor: session.actor(),
            action: "logout".into(),
            target: session.username.clone(),
            outcome: "success".into(),
            before: json!(null),
            after: json!(null),
            detail: json!(null),
        })
        .await?;
    let secure = secure_request(&headers, state.config.secure_cookies);
    let cookie = session_cookie("", Duration::ZERO, secure);
    let end_session = match (&state.oidc, &session.person, query.end_entra_session) {
        (Some(oidc), Some(_), true) => {
            let back = match headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
                Some(host) => format!("{}://{host}/login", if secure { "https" } else { "http" }),
                None => "/login".into(),
            };
            oidc.end_session_url(&back).await
        }
        _ => None,
    };
    match end_session {
        Some(url) => Ok((
            [(header::SET_COOKIE, cookie)],
            Json(json!({ "endSessionUrl": url })),
        )
            .into_response()),
        None => Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response()),
    }
}

/// `GET /api/me?optional=true`: 204 No Content instead of 401 when nobody is signed in.
#[derive(Debug, Default, serde::Deserialize)]
pub struct MeQuery {
    #[serde(default)]
    optional: bool,
}

/// `GET /api/me`: who is signed in; 401 when nobody is (or 204 with `?optional=true`, which
/// the dashboard's start-up check uses, so that a signed-out visit logs no failed request).
pub async fn get_me(
    State(state): State<AppState>,
    Query(query): Query<MeQuery>,
    session: Result<Session, AppError>,
) -> Result<Response, AppError> {
    let session = match session {
        Ok(session) => session,
        Err(AppError::Unauthorized) if query.optional => {
            return Ok(StatusCode::NO_CONTENT.into_response())
        }
        Err(error) => return Err(error),
    };
    Ok(Json(Me {
        username: session.username,
        role: session.role,
        csrf_token: session.csrf_token,
        expires_at: rfc3339(session.expires_at),
        data_source: state.config.data_source.as_str().into(),
        signed_in_with: if session.person.is_some() {
            "entra"
        } else {
            "local"
        }
        .into(),
    })
    .into_response())
}
