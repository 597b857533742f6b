//! Accounts (admin).
use crate::audit::NewEntry;
use crate::auth::{hash_password, AdminSession, Session};
use crate::error::{AppError, AppJson};
use crate::state::AppState;
use axum::{extract::State, Json};
use portcullis_shared::api::{Role, UpsertUserRequest, UserInfo};
use serde_json::json;

/// `GET /api/users`
pub async fn list_users(
    State(state): State<AppState>,
    s: Session,
) -> Result<Json<Vec<UserInfo>>, AppError> {
    s.require(Role::Admin)?;
    Ok(Json(state.store.users().await?))
}

/// `POST /api/users`: create an account, or change a role / password.
pub async fn upsert_user(
    State(state): State<AppState>,
    AdminSession(s): AdminSession,
    AppJson(req): AppJson<UpsertUserRequest>,
) -> Result<Json<Vec<UserInfo>>, AppError> {
    let name = req.username.trim();
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
    {
        return Err(AppError::bad(
            "username",
            "1-64 letters, digits, '.', '_', '-', '@'",
        ));
    }
    let existing = state.store.user(name).await?;
    let hash = match &req.password {
        Some(p) if p.len() < 12 => return Err(AppError::bad("password", "at least 12 characters")),
        Some(p) => {
            let p = p.clone();
            Some(
                tokio::task::spawn_blocking(move || hash_password(&p))
                    .await
                    .map_err(|e| AppError::Internal(e.into()))??,
            )
        }
        None if existing.is_none() => {
            return Err(AppError::bad("password", "a new account needs a password"))
        }
        None => None,
    };
    state
        .store
        .upsert_user(name, req.role, hash.as_deref(), "api")
        .await?;
    // a new password ends the sessions signed in with the old one
    let ended = match (&existing, &hash) {
        (Some(_), Some(_)) => state.store.revoke_sessions_of(name).await?,
        _ => 0,
    };
    state
        .store
        .audit(NewEntry {
            actor: s.actor(),
            action: "user.upsert".into(),
            target: name.into(),
            outcome: "success".into(),
            before: json!(existing.map(|e| e.0.as_str())),
            after: json!({ "role": req.role.as_str(), "passwordChanged": hash.is_some() }),
            detail: json!({ "sessionsEnded": ended }),
        })
        .await?;
    Ok(Json(state.store.users().await?))
}
