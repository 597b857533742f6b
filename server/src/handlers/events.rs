//! Server-sent events and on-demand refresh.
use crate::auth::Session;
use crate::error::AppError;
use crate::state::AppState;
use axum::{
    extract::State,
    http::StatusCode,
    response::sse::{Event, KeepAlive, Sse},
    Json,
};
use futures::stream::Stream;
use portcullis_shared::api::RefreshStarted;
use std::convert::Infallible;

/// `GET /api/events`: refresh progress, snapshot finished, write applied.
pub async fn stream_events(
    State(state): State<AppState>,
    _s: Session,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = state.events.subscribe();
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(e) => {
                    let ev = Event::default()
                        .event(e.name())
                        .json_data(&e)
                        .unwrap_or_default();
                    return Some((Ok(ev), rx));
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return None,
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// `POST /api/refresh` (operator): starts a snapshot in the background.
pub async fn start_refresh(
    State(state): State<AppState>,
    crate::auth::OperatorSession(s): crate::auth::OperatorSession,
) -> Result<(StatusCode, Json<RefreshStarted>), AppError> {
    // one refresh at a time: while one runs (the scheduler's too) another is refused, not
    // queued behind it
    let guard = state.refresh_lock.clone().try_lock_owned();
    state
        .store
        .audit(crate::audit::NewEntry {
            actor: s.actor(),
            action: "refresh.start".into(),
            target: "inventory".into(),
            outcome: if guard.is_ok() {
                "started"
            } else {
                "alreadyRunning"
            }
            .into(),
            before: serde_json::Value::Null,
            after: serde_json::Value::Null,
            detail: serde_json::Value::Null,
        })
        .await?;
    let Ok(guard) = guard else {
        return Ok((
            StatusCode::ACCEPTED,
            Json(RefreshStarted { started: false }),
        ));
    };
    let st = state.clone();
    tokio::spawn(async move {
        if let Err(e) = crate::refresh::refresh_locked(&st, guard).await {
            tracing::warn!(error = %e, "refresh failed");
        }
    });
    Ok((StatusCode::ACCEPTED, Json(RefreshStarted { started: true })))
}
