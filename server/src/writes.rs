//! Writes to ARM: applying a remediation plan (one conditional PUT per NSG, then NIC and JIT
//! policy PUTs; a lost race re-reads and re-plans; a failure rolls back every earlier step),
//! and JIT access requests.
use crate::arm::{api, ArmError};
use crate::error::AppError;
use crate::state::AppState;
use portcullis_shared::api::{
    ApplyOutcome, ApplyResult, ApplyStep, RemediationPlan, RemediationRequest, StepOutcome,
};
use portcullis_shared::arm::{NetworkInterface, NetworkSecurityGroup};
use portcullis_shared::remediation::plan;
use serde_json::Value;

fn path_of(id: &str, version: &str) -> String {
    format!("{id}?api-version={version}")
}

/// Plans against the current inventory (400 naming the field on bad input).
pub fn plan_now(state: &AppState, req: &RemediationRequest) -> Result<RemediationPlan, AppError> {
    let cur = state.current().ok_or(AppError::NotReady)?;
    plan(&cur.inventory, &state.config.eval, req)
        .map(|p| p.plan)
        .map_err(|e| AppError::bad(e.path, e.message))
}

enum Done {
    Nsg {
        id: String,
        before: Vec<portcullis_shared::arm::SecurityRule>,
        created: bool,
    },
    Nic {
        id: String,
        before: Option<String>,
    },
    /// A firewall or rule collection group: its whole resource before.
    Firewall {
        id: String,
        before: Value,
    },
}

/// A firewall or rule collection group as a PUT body: the resource without its read-only
/// identity (`etag` goes in If-Match).
fn firewall_body(resource: &Value) -> Value {
    let mut body = resource.clone();
    if let Some(o) = body.as_object_mut() {
        for k in ["etag", "id", "name", "type"] {
            o.remove(k);
        }
    }
    body
}

/// Applies a plan; on a 412 re-reads the inventory and re-plans (up to 3 times).
/// `actor` names who applies it in the progress events.
pub async fn apply(
    state: &AppState,
    req: &RemediationRequest,
    actor: &str,
) -> Result<ApplyResult, AppError> {
    let _w = state.write_lock.lock().await;
    let mut replans = 0;
    loop {
        let p = plan_now(state, req)?;
        if p.noop {
            return Ok(ApplyResult {
                outcome: ApplyOutcome::Noop,
                plan: p,
                steps: Vec::new(),
                replans,
                audit_seq: 0,
            });
        }
        match apply_once(state, &p, actor).await {
            Ok((outcome, steps)) => {
                return Ok(ApplyResult {
                    outcome,
                    plan: p,
                    steps,
                    replans,
                    audit_seq: 0,
                })
            }
            Err(lost) if replans < 3 => {
                tracing::info!(nsg = %lost, "lost a race (412); re-reading and re-planning");
                replans += 1;
                crate::refresh::refresh(state)
                    .await
                    .map_err(AppError::Internal)?;
            }
            Err(lost) => {
                return Err(AppError::Conflict(format!(
                    "{lost} kept changing under us; nothing was applied"
                )))
            }
        }
    }
}

/// `Err(resource)` when the first write lost a race (nothing changed yet).
async fn apply_once(
    state: &AppState,
    p: &RemediationPlan,
    actor: &str,
) -> Result<(ApplyOutcome, Vec<ApplyStep>), String> {
    let arm = &state.arm;
    let mut done: Vec<Done> = Vec::new();
    let mut steps: Vec<ApplyStep> = Vec::new();
    let mut failure: Option<(String, String, String)> = None;
    let mut lost: Option<String> = None;
    let total =
        p.nsg_changes.len() + p.nic_changes.len() + p.jit_policies.len() + p.firewall_changes.len();
    let progress = |s: &ApplyStep, done: usize| {
        state.emit(portcullis_shared::api::ServerEvent::ApplyProgress {
            actor: actor.to_string(),
            step: s.clone(),
            done,
            total,
        })
    };
    for c in &p.nsg_changes {
        let body = serde_json::json!({
            "location": current_location(state, &c.nsg_id),
            "properties": { "securityRules": c.after },
        });
        let r: Result<NetworkSecurityGroup, ArmError> = arm
            .put(&path_of(&c.nsg_id, api::NETWORK), &body, c.etag.as_deref())
            .await;
        match r {
            Ok(_) => {
                done.push(Done::Nsg {
                    id: c.nsg_id.clone(),
                    before: c.before.clone(),
                    created: c.create,
                });
                steps.push(step("nsg", &c.nsg_id, StepOutcome::Applied, None));
                progress(&steps[steps.len() - 1], steps.len());
            }
            Err(e) if e.status() == Some(412) && done.is_empty() => return Err(c.nsg_id.clone()),
            Err(e) => {
                if e.status() == Some(412) {
                    lost = Some(c.nsg_id.clone());
                }
                failure = Some(("nsg".into(), c.nsg_id.clone(), e.to_string()));
                break;
            }
        }
    }
    if failure.is_none() {
        for c in &p.nic_changes {
            let r = async {
                let mut nic: Value = arm.get(&path_of(&c.nic_id, api::NETWORK)).await?;
                let etag = nic["etag"].as_str().map(str::to_string);
                nic["properties"]["networkSecurityGroup"] =
                    serde_json::json!({ "id": c.nsg_after });
                let _: NetworkInterface = arm
                    .put(&path_of(&c.nic_id, api::NETWORK), &nic, etag.as_deref())
                    .await?;
                Ok::<_, ArmError>(())
            }
            .await;
            match r {
                Ok(()) => {
                    done.push(Done::Nic {
                        id: c.nic_id.clone(),
                        before: c.nsg_before.clone(),
                    });
                    steps.push(step("nic", &c.nic_id, StepOutcome::Applied, None));
                    progress(&steps[steps.len() - 1], steps.len());
                }
                Err(e) => {
                    failure = Some(("nic".into(), c.nic_id.clone(), e.to_string()));
                    break;
                }
            }
        }
    }
    if failure.is_none() {
        for j in &p.jit_policies {
            let body = serde_json::json!({ "kind": "Basic", "properties": { "virtualMachines": j.after.properties.virtual_machines } });
            let r: Result<Value, ArmError> =
                arm.put(&path_of(&j.policy_id, api::JIT), &body, None).await;
            match r {
                Ok(_) => {
                    steps.push(step("jitPolicy", &j.policy_id, StepOutcome::Applied, None));
                    progress(&steps[steps.len() - 1], steps.len());
                }
                Err(e) => {
                    failure = Some(("jitPolicy".into(), j.policy_id.clone(), e.to_string()));
                    break;
                }
            }
        }
    }
    if failure.is_none() {
        for c in &p.firewall_changes {
            let r: Result<Value, ArmError> = arm
                .put(
                    &path_of(&c.target_id, api::NETWORK),
                    &firewall_body(&c.after),
                    c.etag.as_deref(),
                )
                .await;
            match r {
                Ok(_) => {
                    done.push(Done::Firewall {
                        id: c.target_id.clone(),
                        before: c.before.clone(),
                    });
                    steps.push(step("firewall", &c.target_id, StepOutcome::Applied, None));
                    progress(&steps[steps.len() - 1], steps.len());
                }
                Err(e) if e.status() == Some(412) && done.is_empty() => {
                    return Err(c.target_id.clone())
                }
                Err(e) => {
                    if e.status() == Some(412) {
                        lost = Some(c.target_id.clone());
                    }
                    failure = Some(("firewall".into(), c.target_id.clone(), e.to_string()));
                    break;
                }
            }
        }
    }
    let Some((kind, target, message)) = failure else {
        return Ok((ApplyOutcome::Applied, steps));
    };
    steps.push(step(&kind, &target, StepOutcome::Failed, Some(message)));
    progress(&steps[steps.len() - 1], steps.len());
    // roll back, newest first: each NSG gets its previous rules back (If-Match its new ETag)
    let mut clean = true;
    for d in done.into_iter().rev() {
        let (kind, id, r) = match d {
            Done::Nsg {
                id, created: true, ..
            } => {
                let r = arm
                    .delete(&path_of(&id, api::NETWORK), None)
                    .await
                    .map(|_| ());
                ("nsg", id, r)
            }
            Done::Nsg { id, before, .. } => {
                let r = async {
                    let now: NetworkSecurityGroup = arm.get(&path_of(&id, api::NETWORK)).await?;
                    let body = serde_json::json!({ "location": now.location, "properties": { "securityRules": before } });
                    let _: NetworkSecurityGroup = arm.put(&path_of(&id, api::NETWORK), &body, now.etag.as_deref()).await?;
                    Ok::<_, ArmError>(())
                }
                .await;
                ("nsg", id, r)
            }
            Done::Nic { id, before } => {
                let r = async {
                    let mut nic: Value = arm.get(&path_of(&id, api::NETWORK)).await?;
                    let etag = nic["etag"].as_str().map(str::to_string);
                    nic["properties"]["networkSecurityGroup"] = match before {
                        Some(b) => serde_json::json!({ "id": b }),
                        None => Value::Null,
                    };
                    let _: Value = arm
                        .put(&path_of(&id, api::NETWORK), &nic, etag.as_deref())
                        .await?;
                    Ok::<_, ArmError>(())
                }
                .await;
                ("nic", id, r)
            }
            Done::Firewall { id, before } => {
                let r = async {
                    let now: Value = arm.get(&path_of(&id, api::NETWORK)).await?;
                    let etag = now["etag"].as_str().map(str::to_string);
                    let _: Value = arm
                        .put(
                            &path_of(&id, api::NETWORK),
                            &firewall_body(&before),
                            etag.as_deref(),
                        )
                        .await?;
                    Ok::<_, ArmError>(())
                }
                .await;
                ("firewall", id, r)
            }
        };
        for s in steps
            .iter_mut()
            .filter(|s| s.target == id && s.outcome == StepOutcome::Applied)
        {
            match &r {
                Ok(()) => s.outcome = StepOutcome::RolledBack,
                Err(e) => {
                    s.outcome = StepOutcome::RollbackFailed;
                    s.message = Some(e.to_string());
                }
            }
            state.emit(portcullis_shared::api::ServerEvent::ApplyProgress {
                actor: actor.to_string(),
                step: s.clone(),
                done: total,
                total,
            });
        }
        if r.is_err() {
            clean = false;
            tracing::error!(kind, %id, "rollback failed");
        }
    }
    match lost {
        // a lost race after earlier writes: they are undone, so re-plan from scratch
        Some(id) if clean => Err(id),
        _ => Ok((
            if clean {
                ApplyOutcome::RolledBack
            } else {
                ApplyOutcome::Failed
            },
            steps,
        )),
    }
}

fn current_location(state: &AppState, id: &str) -> Option<String> {
    let cur = state.current()?;
    cur.inventory
        .network_security_groups
        .iter()
        .find(|n| n.id.eq_ignore_ascii_case(id))
        .and_then(|n| n.location.clone())
        .or_else(|| {
            cur.inventory
                .network_interfaces
                .iter()
                .find_map(|n| n.location.clone())
        })
}

fn step(kind: &str, target: &str, outcome: StepOutcome, message: Option<String>) -> ApplyStep {
    ApplyStep {
        target_kind: kind.into(),
        target: target.into(),
        outcome,
        message,
    }
}
