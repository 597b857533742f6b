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
use portcullis_shared::api::{RefreshStarted, Role};
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
    s: Session,
) -> Result<(StatusCode, Json<RefreshStarted>), AppError> {
    s.require(Role::Operator)?;
    // one refresh at a time: while one runs (the scheduler's too) another is refused, not
    // queued behind it
    let Ok(guard) = state.refresh_lock.clone().try_lock_owned() else {
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
