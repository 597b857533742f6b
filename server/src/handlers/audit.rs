//! The audit log (admin).
use crate::auth::Session;
use crate::error::AppError;
use crate::state::AppState;
use axum::{
    extract::{Query, State},
    Json,
};
use portcullis_shared::api::{AuditPage, AuditQuery, Role};

/// `GET /api/audit`
pub async fn list_audit(
    State(state): State<AppState>,
    s: Session,
    Query(q): Query<AuditQuery>,
) -> Result<Json<AuditPage>, AppError> {
    s.require(Role::Admin)?;
    let entries = state.store.audit_entries(&q).await?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000) as usize;
    let next_before_seq = if entries.len() == limit {
        entries.last().map(|e| e.seq)
    } else {
        None
    };
    Ok(Json(AuditPage {
        entries,
        next_before_seq,
    }))
}
