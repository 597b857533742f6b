//! Remediations: preview (the plan) and apply (operator).
use crate::audit::NewEntry;
use crate::auth::OperatorSession;
use crate::clock::now_ms;
use crate::error::{AppError, AppJson};
use crate::state::AppState;
use crate::writes::Applied;
use axum::{extract::State, http::StatusCode, Json};
use portcullis_shared::api::{ApplyOutcome, ApplyResult, RemediationPlan, RemediationRequest};
use serde_json::json;

/// `POST /api/remediations/preview`
pub async fn preview_remediation(
    State(state): State<AppState>,
    _operator: OperatorSession,
    AppJson(req): AppJson<RemediationRequest>,
) -> Result<Json<RemediationPlan>, AppError> {
    Ok(Json(crate::writes::plan_now(&state, &req).await?))
}

/// `POST /api/remediations/apply`: 200 applied or no-op; 502 rolled back or failed (see steps).
///
/// The apply runs on a task of its own: if the request ends first (the server's request
/// timeout, a client that goes away), the writes, their rollback, the audit entry and the
/// refresh still finish; the outcome then reaches the dashboard through the event stream and
/// the audit log.
pub async fn apply_remediation(
    State(state): State<AppState>,
    OperatorSession(s): OperatorSession,
    AppJson(req): AppJson<RemediationRequest>,
) -> Result<(StatusCode, Json<ApplyResult>), AppError> {
    tokio::spawn(apply_and_audit(state, s, req))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("the apply stopped: {e}")))?
}

async fn apply_and_audit(
    state: AppState,
    s: crate::auth::Session,
    req: RemediationRequest,
) -> Result<(StatusCode, Json<ApplyResult>), AppError> {
    let result = crate::writes::apply(&state, &req, &s.actor()).await;
    let target = req.vm_ids.join(",");
    let mut result = match result {
        Ok(r) => r,
        Err(e) => {
            state
                .store
                .audit(NewEntry {
                    actor: s.actor(),
                    action: "remediation.apply".into(),
                    target,
                    outcome: "error".into(),
                    before: json!(null),
                    after: json!(null),
                    detail: json!({ "request": req, "error": e.to_string() }),
                })
                .await?;
            return Err(e);
        }
    };
    let outcome = match result.outcome {
        ApplyOutcome::Applied => "success",
        ApplyOutcome::Noop => "noop",
        ApplyOutcome::RolledBack => "rolledBack",
        ApplyOutcome::Failed => "failed",
    };
    // every resource the plan writes, as it was and as it becomes: NSG rules, NIC
    // attachments, JIT policies and firewall DNAT rules
    let p = &result.plan;
    let before: Vec<_> = p
        .nsg_changes
        .iter()
        .map(|c| json!({ "nsg": c.nsg_id, "securityRules": c.before }))
        .chain(
            p.nic_changes
                .iter()
                .map(|c| json!({ "nic": c.nic_id, "networkSecurityGroup": c.nsg_before })),
        )
        .chain(
            p.jit_policies
                .iter()
                .map(|j| json!({ "jitPolicy": j.policy_id, "before": j.before })),
        )
        .chain(
            p.firewall_changes
                .iter()
                .map(|f| json!({ "firewall": f.target_id, "resource": f.before })),
        )
        .collect();
    let after: Vec<_> = p
        .nsg_changes
        .iter()
        .map(|c| json!({ "nsg": c.nsg_id, "securityRules": c.after }))
        .chain(
            p.nic_changes
                .iter()
                .map(|c| json!({ "nic": c.nic_id, "networkSecurityGroup": c.nsg_after })),
        )
        .chain(
            p.jit_policies
                .iter()
                .map(|j| json!({ "jitPolicy": j.policy_id, "after": j.after })),
        )
        .chain(
            p.firewall_changes
                .iter()
                .map(|f| json!({ "firewall": f.target_id, "resource": f.after })),
        )
        .collect();
    result.audit_seq = state
        .store
        .audit(NewEntry {
            actor: s.actor(),
            action: "remediation.apply".into(),
            target,
            outcome: outcome.into(),
            before: json!(before),
            after: json!(after),
            detail: json!({ "request": req, "steps": result.steps, "replans": result.replans }),
        })
        .await?;
    let status = match result.outcome {
        ApplyOutcome::Applied => {
            let actor = s.actor();
            let write = Applied {
                at: now_ms(),
                actor: &actor,
                action: "remediation.apply",
                marker: "remediation",
                summary: format!(
                    "{} on {} VM(s): score {} → {}",
                    req.kind.as_str(),
                    req.vm_ids.len(),
                    result.plan.before.current_score,
                    result.plan.after.current_score
                ),
            };
            write.announce(&state).await?;
            StatusCode::OK
        }
        ApplyOutcome::Noop => StatusCode::OK,
        _ => {
            let _ = crate::refresh::refresh(&state).await;
            StatusCode::BAD_GATEWAY
        }
    };
    Ok((status, Json(result)))
}
