//! Security alerts about attacks on management ports (every signed-in user reads them).
use crate::alerts::{fetch, is_open};
use crate::auth::Session;
use crate::error::AppError;
use crate::state::AppState;
use axum::{
    extract::{Path, Query, State},
    Json,
};
use portcullis_shared::api::{Alert, AlertList};
use portcullis_shared::arm::id_key;
use serde::Deserialize;

/// Filters of `GET /api/alerts`: each a comma-separated list, matched without regard to case.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AlertQuery {
    /// VM ids or names.
    pub vm: Option<String>,
    /// `High`, `Medium`, `Low`, `Informational`.
    pub severity: Option<String>,
    /// `Active`, `InProgress`, `Resolved`, `Dismissed`, or `open` (Active and InProgress).
    pub status: Option<String>,
}

const SEVERITIES: [&str; 4] = ["high", "medium", "low", "informational"];
const STATUSES: [&str; 5] = ["active", "inprogress", "resolved", "dismissed", "open"];

fn list(
    field: &str,
    v: &Option<String>,
    allowed: Option<&[&str]>,
) -> Result<Vec<String>, AppError> {
    let items: Vec<String> = v
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    if let Some(allowed) = allowed {
        if let Some(bad) = items.iter().find(|i| !allowed.contains(&i.as_str())) {
            return Err(AppError::bad(
                field,
                format!("{bad:?} is not one of {}", allowed.join(", ")),
            ));
        }
    }
    Ok(items)
}

/// `GET /api/alerts?vm=&severity=&status=`
pub async fn list_alerts(
    State(state): State<AppState>,
    _s: Session,
    Query(q): Query<AlertQuery>,
) -> Result<Json<AlertList>, AppError> {
    let vms = list("vm", &q.vm, None)?;
    let severities = list("severity", &q.severity, Some(&SEVERITIES))?;
    let statuses = list("status", &q.status, Some(&STATUSES))?;
    let cur = state.current().ok_or(AppError::NotReady)?;
    let (alerts, errors) = fetch(&state, &cur).await;
    if alerts.is_empty() && !errors.is_empty() {
        return Err(AppError::Upstream(errors.join("; ")));
    }
    let open = alerts.iter().filter(|a| is_open(a)).count();
    let alerts = alerts
        .into_iter()
        .filter(|a| {
            vms.is_empty()
                || vms
                    .iter()
                    .any(|v| id_key(v) == id_key(&a.vm_id) || v.eq_ignore_ascii_case(&a.vm_name))
        })
        .filter(|a| severities.is_empty() || severities.contains(&a.severity.to_ascii_lowercase()))
        .filter(|a| {
            statuses.is_empty()
                || statuses.contains(&a.status.to_ascii_lowercase())
                || (statuses.iter().any(|s| s == "open") && is_open(a))
        })
        .collect();
    Ok(Json(AlertList {
        alerts,
        open,
        errors,
    }))
}

/// `GET /api/alerts/{id}`: by ARM id or name.
pub async fn get_alert(
    State(state): State<AppState>,
    _s: Session,
    Path(id): Path<String>,
) -> Result<Json<Alert>, AppError> {
    let cur = state.current().ok_or(AppError::NotReady)?;
    let (alerts, errors) = fetch(&state, &cur).await;
    let wanted = if id.starts_with('/') {
        id.clone()
    } else {
        format!("/{id}")
    };
    alerts
        .into_iter()
        .find(|a| id_key(&a.id) == id_key(&wanted) || a.name.eq_ignore_ascii_case(&id))
        .map(Json)
        .ok_or_else(|| {
            if errors.is_empty() {
                AppError::NotFound(format!("no alert {id:?}"))
            } else {
                AppError::Upstream(errors.join("; "))
            }
        })
}
