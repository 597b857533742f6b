//! Writes to ARM: applying a remediation plan (one conditional PUT per NSG, then NIC and JIT
//! policy PUTs; a lost race re-reads and re-plans; a failure rolls back every earlier step),
//! and JIT access requests.
use crate::arm::{api, ArmClient, ArmError};
use crate::clock::rfc3339;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::MarkerRow;
use portcullis_shared::api::{
    ApplyOutcome, ApplyResult, ApplyStep, RemediationPlan, RemediationRequest, ServerEvent,
    StepOutcome,
};
use portcullis_shared::arm::{JitNetworkAccessPolicy, NetworkInterface, NetworkSecurityGroup};
use portcullis_shared::remediation::plan;
use serde_json::Value;

/// A write that went through, announced the same way by every kind of write (remediations,
/// JIT requests): a marker on the trend chart, an event to every dashboard, and a refresh so
/// that the posture shows it. The audit entry, which differs per kind, is written before.
pub struct Applied<'a> {
    /// Unix milliseconds.
    pub at: i64,
    pub actor: &'a str,
    /// The audit action (`remediation.apply`, `jit.request`).
    pub action: &'a str,
    /// The marker's kind on the trend chart.
    pub marker: &'a str,
    pub summary: String,
}

impl Applied<'_> {
    pub async fn announce(self, state: &AppState) -> Result<(), AppError> {
        state
            .store
            .add_marker(&MarkerRow {
                at: self.at,
                kind: self.marker.into(),
                summary: self.summary.clone(),
                actor: Some(self.actor.to_string()),
            })
            .await?;
        state.emit(ServerEvent::WriteApplied {
            at: rfc3339(self.at),
            actor: self.actor.to_string(),
            action: self.action.into(),
            summary: self.summary,
        });
        if let Err(e) = crate::refresh::refresh(state).await {
            tracing::warn!(error = %e, action = self.action, "snapshot after a write failed");
        }
        Ok(())
    }
}

fn path_of(id: &str, version: &str) -> String {
    format!("{id}?api-version={version}")
}

/// Plans against the current inventory (400 naming the field on bad input).
/// The planner (which evaluates the whole inventory twice) runs on a blocking thread, off the
/// async workers that serve requests.
pub async fn plan_now(
    state: &AppState,
    req: &RemediationRequest,
) -> Result<RemediationPlan, AppError> {
    let cur = state.current().ok_or(AppError::NotReady)?;
    let (cfg, req) = (state.config.eval.clone(), req.clone());
    tokio::task::spawn_blocking(move || {
        plan(&cur.inventory, &cfg, &req)
            .map(|p| p.plan)
            .map_err(|e| AppError::bad(e.path, e.message))
    })
    .await
    .map_err(|e| AppError::Internal(anyhow::anyhow!("the planner stopped: {e}")))?
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
    /// A JIT policy: its virtual machines as read just before the write (`None`: it did not
    /// exist).
    Jit {
        id: String,
        before: Option<Vec<portcullis_shared::arm::JitPolicyVm>>,
    },
}

/// What reading a resource back says of a write that failed in a way that does not prove it
/// was refused (accepted, then its operation lost from sight; a 5xx; a dropped connection).
enum Landed {
    Yes,
    No,
    /// Neither the state before nor the planned one, or the read failed: why.
    Unknown(String),
}

/// Whether a failed write may still have taken effect: a refusal (4xx other than 408) or an
/// error before anything was sent never does.
fn may_have_landed(e: &ArmError) -> bool {
    match e {
        ArmError::Api { status, .. } => *status >= 500 || *status == 408,
        ArmError::Network(_) | ArmError::Decode(_) | ArmError::Operation { .. } => true,
        ArmError::Auth(_) | ArmError::ForeignUrl(_) | ArmError::BadPath(_) => false,
    }
}

/// Rules compared as ARM keeps them: by name (case-insensitive), without the read-only fields.
fn same_rules(
    a: &[portcullis_shared::arm::SecurityRule],
    b: &[portcullis_shared::arm::SecurityRule],
) -> bool {
    let norm = |rules: &[portcullis_shared::arm::SecurityRule]| {
        let mut v: Vec<(String, Value)> = rules
            .iter()
            .map(|r| {
                let mut p = r.properties.clone();
                p.provisioning_state = None;
                let name = r.name.clone().unwrap_or_default().to_ascii_lowercase();
                (name, serde_json::to_value(p).unwrap_or_default())
            })
            .collect();
        v.sort_by(|x, y| x.0.cmp(&y.0));
        v
    };
    norm(a) == norm(b)
}

/// The part of a firewall or rule collection group that a DNAT fix changes.
fn nat_part(resource: &Value) -> (Value, Value) {
    let p = &resource["properties"];
    (
        p["ruleCollections"].clone(),
        p["natRuleCollections"].clone(),
    )
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
        let p = plan_now(state, req).await?;
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
            Ok((outcome, steps, jit)) => {
                let mut p = p;
                record_jit_written(&mut p, jit);
                return Ok(ApplyResult {
                    outcome,
                    plan: p,
                    steps,
                    replans,
                    audit_seq: 0,
                });
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
) -> Result<(ApplyOutcome, Vec<ApplyStep>, Vec<JitWritten>), String> {
    let total =
        p.nsg_changes.len() + p.nic_changes.len() + p.jit_policies.len() + p.firewall_changes.len();
    let mut run = Attempt {
        state,
        actor,
        total,
        done: Vec::new(),
        steps: Vec::new(),
        failure: None,
        lost: None,
        landed: None,
        uncertain: None,
        jit_written: Vec::new(),
    };
    run.write_nsgs(p).await?;
    if run.failure.is_none() {
        run.write_nics(p).await;
    }
    if run.failure.is_none() {
        run.write_jit_policies(p).await;
    }
    if run.failure.is_none() {
        run.write_firewalls(p).await?;
    }
    let written = std::mem::take(&mut run.jit_written);
    run.finish().await.map(|(o, s)| (o, s, written))
}

/// The plan's JIT policy changes as they were really read and written.
fn record_jit_written(p: &mut RemediationPlan, written: Vec<JitWritten>) {
    for (id, before, after) in written {
        let Some(j) = p.jit_policies.iter_mut().find(|j| j.policy_id == id) else {
            continue;
        };
        j.before = before.map(|vms| {
            let mut b = j.before.clone().unwrap_or_else(|| j.after.clone());
            b.properties.virtual_machines = vms;
            b
        });
        j.after.properties.virtual_machines = after;
    }
}

/// One attempt at a plan: what was written (to roll back), the steps so far, the first failure.
struct Attempt<'a> {
    state: &'a AppState,
    actor: &'a str,
    total: usize,
    done: Vec<Done>,
    steps: Vec<ApplyStep>,
    /// (kind, target, message) of the write that failed.
    failure: Option<(String, String, String)>,
    /// The resource whose ETag changed under a later write.
    lost: Option<String>,
    /// The failed write had landed all the same (read back): it is rolled back with the rest.
    landed: Option<String>,
    /// Whether the failed write landed cannot be told: why.
    uncertain: Option<String>,
    /// Each JIT policy as read just before its write and as written (the plan's change merged
    /// in): what the audit entry records.
    jit_written: Vec<JitWritten>,
}

/// A JIT policy's virtual machines as read just before the write, and as written.
type JitWritten = (
    String,
    Option<Vec<portcullis_shared::arm::JitPolicyVm>>,
    Vec<portcullis_shared::arm::JitPolicyVm>,
);

impl Attempt<'_> {
    fn progress(&self, s: &ApplyStep, done: usize) {
        self.state.emit(ServerEvent::ApplyProgress {
            actor: self.actor.to_string(),
            step: s.clone(),
            done,
            total: self.total,
        })
    }

    fn applied(&mut self, kind: &str, target: &str, done: Option<Done>) {
        self.done.extend(done);
        self.steps
            .push(step(kind, target, StepOutcome::Applied, None));
        self.progress(&self.steps[self.steps.len() - 1], self.steps.len());
    }

    /// Records a failed write; `Err(target)` when it is the first write and lost a race, so
    /// that nothing needs undoing and the caller re-plans.
    fn failed(&mut self, kind: &str, target: &str, e: &ArmError) -> Result<(), String> {
        if e.status() == Some(412) {
            if self.done.is_empty() {
                return Err(target.to_string());
            }
            self.lost = Some(target.to_string());
        }
        self.failure = Some((kind.into(), target.into(), e.to_string()));
        Ok(())
    }

    /// A failed write that may have landed: what reading it back said decides whether it is
    /// rolled back with the earlier writes (`Yes`: `done` is its undo) or leaves the outcome
    /// uncertain.
    fn failed_checked(
        &mut self,
        kind: &str,
        target: &str,
        e: &ArmError,
        landed: Landed,
        done: Done,
    ) -> Result<(), String> {
        match landed {
            Landed::Yes => {
                self.done.push(done);
                self.landed = Some(target.to_string());
            }
            Landed::No => {}
            Landed::Unknown(why) => self.uncertain = Some(why),
        }
        self.failed(kind, target, e)
    }

    /// Reads an NSG back after a write that may have landed.
    async fn nsg_landed(&self, c: &portcullis_shared::api::NsgChange) -> Landed {
        let now: Result<NetworkSecurityGroup, ArmError> =
            self.state.arm.get(&path_of(&c.nsg_id, api::NETWORK)).await;
        match now {
            Ok(n) if same_rules(&n.properties.security_rules, &c.after) => Landed::Yes,
            Ok(n) if !c.create && same_rules(&n.properties.security_rules, &c.before) => Landed::No,
            Ok(_) => Landed::Unknown(
                "the NSG holds neither its rules before nor the planned ones".into(),
            ),
            Err(e) if c.create && e.status() == Some(404) => Landed::No,
            Err(e) => Landed::Unknown(format!("reading it back failed: {e}")),
        }
    }

    async fn write_nsgs(&mut self, p: &RemediationPlan) -> Result<(), String> {
        for c in &p.nsg_changes {
            let body = serde_json::json!({
                "location": current_location(self.state, &c.nsg_id),
                "properties": { "securityRules": c.after },
            });
            let r: Result<NetworkSecurityGroup, ArmError> = self
                .state
                .arm
                .put(&path_of(&c.nsg_id, api::NETWORK), &body, c.etag.as_deref())
                .await;
            let done = Done::Nsg {
                id: c.nsg_id.clone(),
                before: c.before.clone(),
                created: c.create,
            };
            match r {
                Ok(_) => self.applied("nsg", &c.nsg_id, Some(done)),
                Err(e) if may_have_landed(&e) => {
                    let landed = self.nsg_landed(c).await;
                    return self.failed_checked("nsg", &c.nsg_id, &e, landed, done);
                }
                Err(e) => return self.failed("nsg", &c.nsg_id, &e),
            }
        }
        Ok(())
    }

    async fn write_nics(&mut self, p: &RemediationPlan) {
        let arm = &self.state.arm;
        for c in &p.nic_changes {
            let nsg = serde_json::json!({ "id": c.nsg_after });
            match set_nic_nsg(arm, &c.nic_id, nsg).await {
                Ok(()) => self.applied(
                    "nic",
                    &c.nic_id,
                    Some(Done::Nic {
                        id: c.nic_id.clone(),
                        before: c.nsg_before.clone(),
                    }),
                ),
                Err(e) => {
                    let done = Done::Nic {
                        id: c.nic_id.clone(),
                        before: c.nsg_before.clone(),
                    };
                    let landed = if may_have_landed(&e) {
                        let now: Result<Value, ArmError> =
                            arm.get(&path_of(&c.nic_id, api::NETWORK)).await;
                        match now {
                            Ok(n) => {
                                let id = n["properties"]["networkSecurityGroup"]["id"].as_str();
                                if id.is_some_and(|i| i.eq_ignore_ascii_case(&c.nsg_after)) {
                                    Landed::Yes
                                } else {
                                    Landed::No
                                }
                            }
                            Err(r) => Landed::Unknown(format!("reading it back failed: {r}")),
                        }
                    } else {
                        Landed::No
                    };
                    let _ = self.failed_checked("nic", &c.nic_id, &e, landed, done);
                    return;
                }
            }
        }
    }

    /// JIT policies carry no ETag to write If-Match with, so each is read again just before
    /// its write and the plan's change (its VMs' entries) is merged into what is there now: a
    /// change made since the snapshot (another VM's ports) is kept, not overwritten.
    async fn write_jit_policies(&mut self, p: &RemediationPlan) {
        let arm = &self.state.arm;
        for j in &p.jit_policies {
            let fresh: Result<Option<JitNetworkAccessPolicy>, ArmError> =
                match arm.get(&path_of(&j.policy_id, api::JIT)).await {
                    Ok(v) => Ok(Some(v)),
                    Err(e) if e.status() == Some(404) => Ok(None),
                    Err(e) => Err(e),
                };
            let fresh = match fresh {
                Ok(f) => f,
                Err(e) => {
                    self.failure = Some(("jitPolicy".into(), j.policy_id.clone(), e.to_string()));
                    return;
                }
            };
            let before_vms = fresh
                .as_ref()
                .map(|f| f.properties.virtual_machines.clone());
            let vms = merge_jit_vms(before_vms.as_deref().unwrap_or_default(), j);
            let body =
                serde_json::json!({ "kind": "Basic", "properties": { "virtualMachines": vms } });
            let r: Result<Value, ArmError> =
                arm.put(&path_of(&j.policy_id, api::JIT), &body, None).await;
            self.jit_written
                .push((j.policy_id.clone(), before_vms.clone(), vms.clone()));
            let done = Done::Jit {
                id: j.policy_id.clone(),
                before: before_vms,
            };
            match r {
                Ok(_) => self.applied("jitPolicy", &j.policy_id, Some(done)),
                Err(e) => {
                    let landed = if may_have_landed(&e) {
                        let now: Result<JitNetworkAccessPolicy, ArmError> =
                            arm.get(&path_of(&j.policy_id, api::JIT)).await;
                        match now {
                            Ok(n) if n.properties.virtual_machines == vms => Landed::Yes,
                            Ok(_) => Landed::No,
                            Err(r) if r.status() == Some(404) => Landed::No,
                            Err(r) => Landed::Unknown(format!("reading it back failed: {r}")),
                        }
                    } else {
                        Landed::No
                    };
                    let _ = self.failed_checked("jitPolicy", &j.policy_id, &e, landed, done);
                    return;
                }
            }
        }
    }

    async fn write_firewalls(&mut self, p: &RemediationPlan) -> Result<(), String> {
        for c in &p.firewall_changes {
            let r: Result<Value, ArmError> = self
                .state
                .arm
                .put(
                    &path_of(&c.target_id, api::NETWORK),
                    &firewall_body(&c.after),
                    c.etag.as_deref(),
                )
                .await;
            let done = Done::Firewall {
                id: c.target_id.clone(),
                before: c.before.clone(),
            };
            match r {
                Ok(_) => self.applied("firewall", &c.target_id, Some(done)),
                Err(e) if may_have_landed(&e) => {
                    let now: Result<Value, ArmError> = self
                        .state
                        .arm
                        .get(&path_of(&c.target_id, api::NETWORK))
                        .await;
                    let landed = match now {
                        Ok(n) if nat_part(&n) == nat_part(&c.after) => Landed::Yes,
                        Ok(n) if nat_part(&n) == nat_part(&c.before) => Landed::No,
                        Ok(_) => Landed::Unknown(
                            "it holds neither its DNAT rules before nor the planned ones".into(),
                        ),
                        Err(r) => Landed::Unknown(format!("reading it back failed: {r}")),
                    };
                    return self.failed_checked("firewall", &c.target_id, &e, landed, done);
                }
                Err(e) => return self.failed("firewall", &c.target_id, &e),
            }
        }
        Ok(())
    }

    /// Applied when nothing failed; otherwise every earlier write is rolled back, newest
    /// first, and the steps say how each undo went.
    async fn finish(mut self) -> Result<(ApplyOutcome, Vec<ApplyStep>), String> {
        let Some((kind, target, message)) = self.failure.take() else {
            return Ok((ApplyOutcome::Applied, self.steps));
        };
        let mut clean = true;
        let message = match (&self.landed, self.uncertain.take()) {
            (Some(_), _) => format!("{message}; the change had landed all the same (read back), so it is rolled back too"),
            (None, Some(why)) => {
                clean = false;
                tracing::error!(kind, %target, %why, "a failed write may have landed");
                format!("{message}; whether the change landed is unknown ({why}): check {target}")
            }
            (None, None) => message,
        };
        self.steps
            .push(step(&kind, &target, StepOutcome::Failed, Some(message)));
        self.progress(&self.steps[self.steps.len() - 1], self.steps.len());
        let landed = self.landed.take();
        for d in std::mem::take(&mut self.done).into_iter().rev() {
            let (kind, id, r) = undo(&self.state.arm, d).await;
            if landed.as_deref() == Some(id.as_str()) {
                if let (Some(s), Err(e)) = (self.steps.last_mut(), &r) {
                    s.message = Some(format!(
                        "{}; rolling it back failed: {e}",
                        s.message.clone().unwrap_or_default()
                    ));
                }
            }
            self.mark_rolled_back(&id, &r);
            if r.is_err() {
                clean = false;
                tracing::error!(kind, %id, "rollback failed");
            }
        }
        match self.lost {
            // a lost race after earlier writes: they are undone, so re-plan from scratch
            Some(id) if clean => Err(id),
            _ => Ok((
                if clean {
                    ApplyOutcome::RolledBack
                } else {
                    ApplyOutcome::Failed
                },
                self.steps,
            )),
        }
    }

    fn mark_rolled_back(&mut self, id: &str, r: &Result<(), ArmError>) {
        let (actor, total) = (self.actor, self.total);
        for s in self
            .steps
            .iter_mut()
            .filter(|s| s.target == id && s.outcome == StepOutcome::Applied)
        {
            match r {
                Ok(()) => s.outcome = StepOutcome::RolledBack,
                Err(e) => {
                    s.outcome = StepOutcome::RollbackFailed;
                    s.message = Some(e.to_string());
                }
            }
            self.state.emit(ServerEvent::ApplyProgress {
                actor: actor.to_string(),
                step: s.clone(),
                done: total,
                total,
            });
        }
    }
}

/// Points a NIC at an NSG (or at none, with `null`), If-Match its current ETag.
async fn set_nic_nsg(arm: &ArmClient, nic_id: &str, nsg: Value) -> Result<(), ArmError> {
    let mut nic: Value = arm.get(&path_of(nic_id, api::NETWORK)).await?;
    let etag = nic["etag"].as_str().map(str::to_string);
    nic["properties"]["networkSecurityGroup"] = nsg;
    let _: NetworkInterface = arm
        .put(&path_of(nic_id, api::NETWORK), &nic, etag.as_deref())
        .await?;
    Ok(())
}

/// Undoes one write, and when the undo's own answer is lost, reads the resource back: an
/// undo that landed is an undo done. Returns (kind, id, result).
async fn undo(arm: &ArmClient, d: Done) -> (&'static str, String, Result<(), ArmError>) {
    let check = undo_check(&d);
    let (kind, id, r) = undo_once(arm, d).await;
    let r = match r {
        Err(e) if may_have_landed(&e) => match check.holds(arm, &id).await {
            true => Ok(()),
            false => Err(e),
        },
        r => r,
    };
    (kind, id, r)
}

/// What a resource looks like once its undo has landed.
enum UndoCheck {
    Deleted,
    Rules(Vec<portcullis_shared::arm::SecurityRule>),
    NicNsg(Option<String>),
    Nat((Value, Value)),
    JitVms(Option<Vec<portcullis_shared::arm::JitPolicyVm>>),
}

fn undo_check(d: &Done) -> UndoCheck {
    match d {
        Done::Nsg { created: true, .. } => UndoCheck::Deleted,
        Done::Nsg { before, .. } => UndoCheck::Rules(before.clone()),
        Done::Nic { before, .. } => UndoCheck::NicNsg(before.clone()),
        Done::Firewall { before, .. } => UndoCheck::Nat(nat_part(before)),
        Done::Jit { before, .. } => UndoCheck::JitVms(before.clone()),
    }
}

impl UndoCheck {
    async fn holds(&self, arm: &ArmClient, id: &str) -> bool {
        match self {
            UndoCheck::Deleted => {
                let r: Result<Value, ArmError> = arm.get(&path_of(id, api::NETWORK)).await;
                matches!(r, Err(e) if e.status() == Some(404))
            }
            UndoCheck::Rules(before) => {
                let r: Result<NetworkSecurityGroup, ArmError> =
                    arm.get(&path_of(id, api::NETWORK)).await;
                r.is_ok_and(|n| same_rules(&n.properties.security_rules, before))
            }
            UndoCheck::NicNsg(before) => {
                let r: Result<Value, ArmError> = arm.get(&path_of(id, api::NETWORK)).await;
                r.is_ok_and(|n| {
                    let now = n["properties"]["networkSecurityGroup"]["id"].as_str();
                    match (now, before) {
                        (None, None) => true,
                        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                        _ => false,
                    }
                })
            }
            UndoCheck::Nat(before) => {
                let r: Result<Value, ArmError> = arm.get(&path_of(id, api::NETWORK)).await;
                r.is_ok_and(|n| nat_part(&n) == *before)
            }
            UndoCheck::JitVms(before) => {
                let r: Result<JitNetworkAccessPolicy, ArmError> =
                    arm.get(&path_of(id, api::JIT)).await;
                match (r, before) {
                    (Err(e), None) => e.status() == Some(404),
                    (Ok(p), Some(vms)) => p.properties.virtual_machines == *vms,
                    _ => false,
                }
            }
        }
    }
}

/// Undoes one write: a created NSG is deleted; an NSG gets its previous rules back, a NIC its
/// previous NSG, a firewall or rule collection group its previous resource (each If-Match its
/// new ETag), a JIT policy its previous VMs. Returns (kind, id, result).
async fn undo_once(arm: &ArmClient, d: Done) -> (&'static str, String, Result<(), ArmError>) {
    match d {
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
                let _: NetworkSecurityGroup = arm
                    .put(&path_of(&id, api::NETWORK), &body, now.etag.as_deref())
                    .await?;
                Ok::<_, ArmError>(())
            }
            .await;
            ("nsg", id, r)
        }
        Done::Nic { id, before } => {
            let nsg = match before {
                Some(b) => serde_json::json!({ "id": b }),
                None => Value::Null,
            };
            let r = set_nic_nsg(arm, &id, nsg).await;
            ("nic", id, r)
        }
        Done::Jit { id, before } => {
            let r = match before {
                Some(vms) => {
                    let body = serde_json::json!({ "kind": "Basic", "properties": { "virtualMachines": vms } });
                    let r: Result<Value, ArmError> =
                        arm.put(&path_of(&id, api::JIT), &body, None).await;
                    r.map(|_| ())
                }
                None => arm.delete(&path_of(&id, api::JIT), None).await.map(|_| ()),
            };
            ("jitPolicy", id, r)
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
    }
}

/// The policy's VMs as read now, with the plan's entries (those its `after` adds or changes
/// against its `before`) put in: each replaces the VM's entry, or is added.
fn merge_jit_vms(
    now: &[portcullis_shared::arm::JitPolicyVm],
    j: &portcullis_shared::api::JitPolicyChange,
) -> Vec<portcullis_shared::arm::JitPolicyVm> {
    let planned_before = j
        .before
        .as_ref()
        .map(|b| b.properties.virtual_machines.as_slice())
        .unwrap_or_default();
    let key = |id: &str| portcullis_shared::arm::id_key(id);
    let mut out = now.to_vec();
    for vm in &j.after.properties.virtual_machines {
        if planned_before.iter().any(|b| b == vm) {
            continue; // not part of the change
        }
        match out.iter_mut().find(|x| key(&x.id) == key(&vm.id)) {
            Some(x) => *x = vm.clone(),
            None => out.push(vm.clone()),
        }
    }
    out
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
