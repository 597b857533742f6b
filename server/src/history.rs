//! Snapshots over time: take one (ARM inventory through [`crate::snapshot`], then the engine),
//! store its summary, run them on a schedule with retention, and in demo mode backfill 90 days
//! by replaying a scripted timeline of the demo tenant's changes through the real engine.
use crate::snapshot::{list_subscriptions, Subscription};
use crate::state::{AppState, Current};
use crate::store::{
    now_ms, rfc3339, Backend, LockKey, MarkerRow, SessionLock, SnapshotRow, VmStatusRow,
};
use portcullis_shared::api::{RecommendationCounts, ServerEvent};
use portcullis_shared::arm::id_key;
use portcullis_shared::eval::report::ControlScore;
use portcullis_shared::eval::{Access, Model, State, Status};
use portcullis_shared::{evaluate, EvalConfig, Inventory, Report};
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Per-subscription counts stored with each snapshot (JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionCounts {
    pub subscription_id: String,
    pub display_name: String,
    pub current_score: f64,
    pub percentage: f64,
    pub healthy: usize,
    pub unhealthy: usize,
    pub not_applicable: usize,
    pub reachable: usize,
}

pub fn reachable(v: &portcullis_shared::eval::VmReport) -> bool {
    v.exposures
        .iter()
        .any(|e| e.reachable && matches!(e.state, State::Open | State::Restricted))
}

/// The kinds of path that reach an open or restricted management port of the VM, each once.
pub fn reachable_kinds(
    v: &portcullis_shared::eval::VmReport,
) -> Vec<portcullis_shared::eval::report::PathKind> {
    let mut kinds = Vec::new();
    for e in v
        .exposures
        .iter()
        .filter(|e| matches!(e.state, State::Open | State::Restricted))
    {
        for p in e.paths.iter().filter(|p| p.reachable) {
            if !kinds.contains(&p.kind) {
                kinds.push(p.kind);
            }
        }
    }
    kinds.sort_by_key(|k| k.as_str());
    kinds
}

/// The stored summary of one evaluation.
pub fn summarize(
    report: &Report,
    subs: &[Subscription],
    taken_at: i64,
    source: &str,
    duration_ms: i64,
) -> (SnapshotRow, Vec<VmStatusRow>) {
    (
        summarize_counts(report, subs, taken_at, source, duration_ms),
        vm_rows(report),
    )
}

/// Each VM's status and recommendations, as stored with a snapshot.
pub fn vm_rows(report: &Report) -> Vec<VmStatusRow> {
    report
        .vms
        .iter()
        .map(|v| VmStatusRow {
            vm_id: v.id.clone(),
            subscription_id: v.subscription_id.clone(),
            status: v.status.as_str().to_string(),
            recommendations: serde_json::to_string(&v.recommendations).unwrap_or_default(),
        })
        .collect()
}

/// The snapshot row of [`summarize`]: score and counts, overall and per subscription.
pub fn summarize_counts(
    report: &Report,
    subs: &[Subscription],
    taken_at: i64,
    source: &str,
    duration_ms: i64,
) -> SnapshotRow {
    let recs: Vec<RecommendationCounts> = report
        .recommendations
        .iter()
        .map(|r| RecommendationCounts {
            key: r.key,
            healthy: r.healthy,
            unhealthy: r.unhealthy,
            not_applicable: r.not_applicable,
        })
        .collect();
    let mut sub_ids: Vec<String> = subs.iter().map(|s| s.id.clone()).collect();
    for v in &report.vms {
        if !sub_ids
            .iter()
            .any(|s| s.eq_ignore_ascii_case(&v.subscription_id))
        {
            sub_ids.push(v.subscription_id.clone());
        }
    }
    let per_sub: Vec<SubscriptionCounts> = sub_ids
        .iter()
        .map(|id| {
            let vms: Vec<_> = report
                .vms
                .iter()
                .filter(|v| v.subscription_id.eq_ignore_ascii_case(id))
                .collect();
            let c = |s: Status| vms.iter().filter(|v| v.status == s).count();
            let score = ControlScore::from_counts(
                c(Status::Healthy),
                c(Status::Unhealthy),
                c(Status::NotApplicable),
            );
            SubscriptionCounts {
                subscription_id: id.clone(),
                display_name: subs
                    .iter()
                    .find(|s| s.id.eq_ignore_ascii_case(id))
                    .map(|s| s.name.clone())
                    .unwrap_or_else(|| id.clone()),
                current_score: score.current_score,
                percentage: score.percentage,
                healthy: score.healthy,
                unhealthy: score.unhealthy,
                not_applicable: score.not_applicable,
                reachable: vms.iter().filter(|v| reachable(v)).count(),
            }
        })
        .collect();
    let c = &report.control;
    SnapshotRow {
        taken_at,
        source: source.to_string(),
        current_score: c.current_score,
        percentage: c.percentage,
        healthy: c.healthy as i64,
        unhealthy: c.unhealthy as i64,
        not_applicable: c.not_applicable as i64,
        reachable: report.vms.iter().filter(|v| reachable(v)).count() as i64,
        recommendations: serde_json::to_string(&recs).unwrap_or_default(),
        subscriptions: serde_json::to_string(&per_sub).unwrap_or_default(),
        duration_ms,
    }
}

/// Reads the inventory, evaluates it, stores the snapshot and makes it current.
pub async fn refresh(state: &AppState) -> anyhow::Result<Arc<Current>> {
    refresh_as(state, true).await
}

/// A refresh of this replica's view only: the inventory is read and evaluated and made current,
/// but no snapshot is stored and no alert resolved. The scheduler of a replica that is not the
/// leader runs this, so that every replica serves a fresh posture while the history holds one
/// series.
pub async fn refresh_view(state: &AppState) -> anyhow::Result<Arc<Current>> {
    refresh_as(state, false).await
}

async fn refresh_as(state: &AppState, record: bool) -> anyhow::Result<Arc<Current>> {
    let _guard = state.refresh_lock.lock().await;
    state.refreshing.store(true, Ordering::SeqCst);
    let started = Instant::now();
    let events = state.events.clone();
    let result = async {
        let subs = list_subscriptions(&state.arm).await?;
        let progress = move |p: &crate::snapshot::Progress| {
            let _ = events.send(ServerEvent::RefreshProgress {
                subscription_id: p.subscription_id.clone(),
                resource_type: p.resource_type.to_string(),
                done: p.done,
                total: p.total,
            });
        };
        // take_snapshot's future is Send, but rustc cannot prove it through its stream of
        // borrowing closures (a known higher-ranked-lifetime limitation): run it on a blocking
        // thread of the same runtime, where no Send bound applies
        let arm = state.arm.clone();
        let scope = state.config.scope.clone();
        let handle = tokio::runtime::Handle::current();
        let inventory = tokio::task::spawn_blocking(move || {
            handle.block_on(async move {
                crate::snapshot::take_snapshot_scoped(
                    &arm,
                    4,
                    &progress,
                    crate::snapshot::Source::Auto,
                    &scope,
                )
                .await
            })
        })
        .await??;
        let report = evaluate(&inventory, &state.config.eval)
            .map_err(|e| anyhow::anyhow!("the inventory does not evaluate: {e}"))?;
        anyhow::Ok((subs, inventory, report))
    }
    .await;
    state.refreshing.store(false, Ordering::SeqCst);
    let (subs, inventory, report) = match result {
        Ok(x) => x,
        Err(e) => {
            state.emit(ServerEvent::SnapshotFailed {
                at: rfc3339(now_ms()),
                message: e.to_string(),
            });
            state.metrics.snapshot_failed();
            return Err(e);
        }
    };
    let elapsed = started.elapsed();
    // unique, increasing keys even for two snapshots in the same millisecond
    let mut at = now_ms();
    if let Some(prev) = state.current() {
        at = at.max(prev.at_ms + 1);
    }
    let (mut row, vms) = summarize(
        &report,
        &subs,
        at,
        state.config.data_source.as_str(),
        elapsed.as_millis() as i64,
    );
    if record {
        // another replica may have stored one in the same millisecond: the next free one
        at = state
            .store
            .insert_snapshot_at_free_key(&mut row, &vms)
            .await?;
    }
    state
        .metrics
        .snapshot_taken(elapsed, report.control.current_score);
    state.emit(ServerEvent::SnapshotFinished {
        at: rfc3339(at),
        current_score: report.control.current_score,
        healthy: report.control.healthy,
        unhealthy: report.control.unhealthy,
        duration_ms: elapsed.as_millis() as u64,
    });
    let cur = Arc::new(Current::new(inventory, report, at, subs));
    state.set_current(cur.clone());
    // alerts about ports that are no longer open are resolved (and audited)
    let resolved = if record {
        crate::alerts::resolve_closed(state, &cur).await
    } else {
        Ok(0)
    };
    match resolved {
        Ok(0) => {}
        Ok(n) => state.emit(ServerEvent::WriteApplied {
            at: rfc3339(now_ms()),
            actor: "portcullis".into(),
            action: "alert.resolve".into(),
            summary: format!("{n} alert(s) resolved: their ports are no longer open"),
        }),
        Err(e) => tracing::warn!(error = %e, "resolving alerts failed"),
    }
    tracing::info!(
        score = cur.report.control.current_score,
        vms = cur.report.vms.len(),
        ms = elapsed.as_millis() as u64,
        stored = record,
        "snapshot taken"
    );
    Ok(cur)
}

/// Snapshots every `snapshot_interval` (and when `kick` is notified), pruning past retention.
///
/// With several replicas on one PostgreSQL database, only the scheduler leader — the replica
/// holding the [`LockKey::SchedulerLeader`] advisory lock, on a connection of its own — stores
/// snapshots and prunes; the others refresh their own view ([`refresh_view`]) and try for the
/// lock again at every tick, so a leader that stops is replaced within one interval. On SQLite
/// the process is always the leader.
pub fn spawn_scheduler(
    state: AppState,
    kick: Arc<tokio::sync::Notify>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut leader: Option<SessionLock> = None;
        // at start-up too, so that the log says at once which replica leads
        let mut was_leader = None;
        let mut is_leader = lead(&state, &mut leader).await;
        loop {
            if was_leader != Some(is_leader) && state.store.backend == Backend::Postgres {
                if is_leader {
                    tracing::info!("scheduler leader: this replica stores the snapshots");
                } else {
                    tracing::info!("another replica is the scheduler leader");
                }
            }
            was_leader = Some(is_leader);
            tokio::select! {
                _ = tokio::time::sleep(state.config.snapshot_interval) => {},
                _ = kick.notified() => {},
            }
            is_leader = lead(&state, &mut leader).await;
            if !is_leader {
                if let Err(e) = refresh_view(&state).await {
                    tracing::warn!(error = %e, "scheduled refresh failed");
                }
                continue;
            }
            if let Err(e) = refresh(&state).await {
                tracing::warn!(error = %e, "scheduled snapshot failed");
            }
            let keep = Duration::from_secs(u64::from(state.config.retention_days) * 86_400);
            let cutoff = now_ms() - keep.as_millis() as i64;
            match state.store.prune(cutoff).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "old snapshots pruned"),
                Err(e) => tracing::warn!(error = %e, "pruning failed"),
            }
        }
    })
}

/// Whether this process is the scheduler leader: keeps the leader lock if it still holds it,
/// else tries to take it.
async fn lead(state: &AppState, leader: &mut Option<SessionLock>) -> bool {
    if let Some(lock) = leader.as_mut() {
        if lock.is_held().await {
            return true;
        }
        tracing::warn!("lost the scheduler leader lock (its database connection failed)");
        *leader = None;
    }
    match state.store.try_lock(LockKey::SchedulerLeader).await {
        Ok(lock) => {
            *leader = lock;
            leader.is_some()
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot try the scheduler leader lock");
            false
        }
    }
}

/// In demo mode on a fresh store, backfills the history once: under the
/// [`LockKey::DemoBackfill`] lock, and only when no snapshot is older than this replica's first
/// one — so replicas starting together on one PostgreSQL database backfill exactly once.
pub async fn backfill_demo_once(state: &AppState, cur: &Current) -> anyhow::Result<usize> {
    let lock = state.store.lock(LockKey::DemoBackfill).await?;
    let result = async {
        if state.store.snapshot_count_before(cur.at_ms).await? > 0 {
            return anyhow::Ok(0);
        }
        backfill_demo(state, cur).await
    }
    .await;
    lock.release().await;
    result
}

// ---------------------------------------------------------------------------------------------
// demo backfill
// ---------------------------------------------------------------------------------------------

/// One scripted change of the demo tenant: on `days_ago`, `what` happened; `undo` turns the
/// inventory after it into the inventory before it.
struct Event {
    days_ago: i64,
    what: &'static str,
    undo: Undo,
}

enum Undo {
    /// The VMs (with their NICs and public IPs) did not exist yet.
    Created(&'static [&'static str]),
    /// The rules that let the Internet reach this port of these VMs did not exist yet.
    Opened(&'static [&'static str], u16),
    /// JIT did not cover these VMs yet (policy entries and JIT deny rules absent).
    JitEnabled(&'static [&'static str]),
}

const TIMELINE: &[Event] = &[
    Event {
        days_ago: 3,
        what: "JIT enabled on dev-jit-01 and dev-jit-02",
        undo: Undo::JitEnabled(&["dev-jit-01", "dev-jit-02"]),
    },
    Event {
        days_ago: 9,
        what: "winrm-test-01: WinRM over HTTPS (5986) opened to any source",
        undo: Undo::Opened(&["winrm-test-01"], 5986),
    },
    Event {
        days_ago: 16,
        what: "edge-gw-01 and edge-gw-02 deployed without an NSG",
        undo: Undo::Created(&["edge-gw-01", "edge-gw-02"]),
    },
    Event {
        days_ago: 27,
        what: "legacy-jump-01: Allow-RDP-Legacy left above the JIT deny",
        undo: Undo::Opened(&["legacy-jump-01"], 3389),
    },
    Event {
        days_ago: 38,
        what: "dev-linux-09..16 deployed from the SSH-open template",
        undo: Undo::Created(&[
            "dev-linux-09",
            "dev-linux-10",
            "dev-linux-11",
            "dev-linux-12",
            "dev-linux-13",
            "dev-linux-14",
            "dev-linux-15",
            "dev-linux-16",
        ]),
    },
    Event {
        days_ago: 52,
        what: "sql-lab-01: RDP opened to any source",
        undo: Undo::Opened(&["sql-lab-01"], 3389),
    },
    Event {
        days_ago: 64,
        what: "JIT enabled on jump-prod-01..03",
        undo: Undo::JitEnabled(&["jump-prod-01", "jump-prod-02", "jump-prod-03"]),
    },
    Event {
        days_ago: 77,
        what: "mgmt-win-01..03: WinRM allowed from the Internet",
        undo: Undo::Opened(&["mgmt-win-01", "mgmt-win-02", "mgmt-win-03"], 5985),
    },
    Event {
        days_ago: 88,
        what: "dev-linux-01..08 deployed from the SSH-open template",
        undo: Undo::Created(&[
            "dev-linux-01",
            "dev-linux-02",
            "dev-linux-03",
            "dev-linux-04",
            "dev-linux-05",
            "dev-linux-06",
            "dev-linux-07",
            "dev-linux-08",
        ]),
    },
];

pub const BACKFILL_DAYS: i64 = 90;

fn vm_ids(inv: &Inventory, names: &[&str]) -> Vec<String> {
    inv.virtual_machines
        .iter()
        .filter(|v| {
            v.name
                .as_deref()
                .is_some_and(|n| names.iter().any(|x| x.eq_ignore_ascii_case(n)))
        })
        .map(|v| v.id.clone())
        .collect()
}

fn undo(inv: &mut Inventory, u: &Undo, cfg: &EvalConfig) {
    match u {
        Undo::Created(names) => {
            let ids: Vec<String> = vm_ids(inv, names).iter().map(|i| id_key(i)).collect();
            let nic_ids: Vec<String> = inv
                .virtual_machines
                .iter()
                .filter(|v| ids.contains(&id_key(&v.id)))
                .flat_map(|v| v.properties.network_profile.network_interfaces.iter())
                .filter_map(|r| r.id.as_deref().map(id_key))
                .collect();
            let pip_ids: Vec<String> = inv
                .network_interfaces
                .iter()
                .filter(|n| nic_ids.contains(&id_key(&n.id)))
                .flat_map(|n| n.properties.ip_configurations.iter())
                .filter_map(|c| {
                    c.properties
                        .public_ip_address
                        .as_ref()?
                        .id
                        .as_deref()
                        .map(id_key)
                })
                .collect();
            inv.virtual_machines
                .retain(|v| !ids.contains(&id_key(&v.id)));
            inv.network_interfaces
                .retain(|n| !nic_ids.contains(&id_key(&n.id)));
            inv.public_ip_addresses
                .retain(|p| !pip_ids.contains(&id_key(&p.id)));
        }
        Undo::Opened(names, port) => {
            // the engine names the rules that let the Internet in: those did not exist yet
            let ids = vm_ids(inv, names);
            let mut doomed: Vec<(String, String)> = Vec::new();
            if let Ok(model) = Model::build(inv, cfg) {
                for vm in inv.virtual_machines.iter().filter(|v| ids.contains(&v.id)) {
                    let r = model.evaluate_vm(vm);
                    for e in r.exposures.iter().filter(|e| e.port == *port) {
                        if !matches!(e.state, State::Open | State::Restricted) {
                            continue;
                        }
                        for d in e.deciding_rules.iter() {
                            if d.access == Access::Allow && !d.default {
                                doomed.push((id_key(&d.nsg), d.rule.to_string()));
                            }
                        }
                    }
                }
            }
            for nsg in &mut inv.network_security_groups {
                let key = id_key(&nsg.id);
                nsg.properties.security_rules.retain(|r| {
                    !doomed
                        .iter()
                        .any(|(n, rule)| *n == key && r.name.as_deref() == Some(rule.as_str()))
                });
            }
        }
        Undo::JitEnabled(names) => {
            let ids: Vec<String> = vm_ids(inv, names).iter().map(|i| id_key(i)).collect();
            let descriptions: Vec<String> = names.iter().map(|n| format!("of VM '{n}'")).collect();
            for p in &mut inv.jit_network_access_policies {
                p.properties
                    .virtual_machines
                    .retain(|v| !ids.contains(&id_key(&v.id)));
            }
            inv.jit_network_access_policies
                .retain(|p| !p.properties.virtual_machines.is_empty());
            for nsg in &mut inv.network_security_groups {
                nsg.properties.security_rules.retain(|r| {
                    let jit = r
                        .name
                        .as_deref()
                        .is_some_and(|n| n.starts_with("SecurityCenter-JITRule"));
                    let mine = r
                        .properties
                        .description
                        .as_deref()
                        .is_some_and(|d| descriptions.iter().any(|x| d.contains(x.as_str())));
                    !(jit && mine)
                });
            }
        }
    }
}

/// Whether an ARM id lies in the synthetic fleet's subscription (`--demo-extra-vms`).
fn in_extra_fleet(id: &str) -> bool {
    portcullis_shared::eval::engine::id_scope(id)
        .0
        .eq_ignore_ascii_case(crate::emulator::demo::SCALE_TEST)
}

/// The inventory without the synthetic fleet: the scripted demo tenant, which the timeline
/// changes.
fn scripted_part(inv: &Inventory) -> Inventory {
    inv.filtered(|id| !in_extra_fleet(id))
}

/// Writes one snapshot per day for the last 90 days, each the engine's verdict on the demo
/// inventory of that day (today's, with the later scripted changes undone). Returns the days
/// written.
///
/// The synthetic fleet of `--demo-extra-vms` has no scripted changes: it counts as present,
/// unchanged, since day 0. So only the scripted part is evaluated per day, today's verdicts of
/// the fleet are added to each day's score and counts, and its per-VM rows are stored with
/// today's snapshot only (not 90 more times). The backfill costs the same with 10,000 extra VMs
/// as without.
pub async fn backfill_demo(state: &AppState, cur: &Current) -> anyhow::Result<usize> {
    let cfg = state.config.eval.clone();
    let mut inv = scripted_part(&cur.inventory);
    let mut fleet: Vec<_> = cur
        .report
        .vms
        .iter()
        .filter(|v| in_extra_fleet(&v.id))
        .cloned()
        .collect();
    let today = cur.at_ms;
    let day_ms = 86_400_000i64;
    let mut written = 0;
    for days_ago in 1..=BACKFILL_DAYS {
        // the state at the end of day `days_ago` lacks every change made after it
        for e in TIMELINE.iter().filter(|e| e.days_ago == days_ago - 1) {
            undo(&mut inv, &e.undo, &cfg);
        }
        let report = evaluate(&inv, &cfg).map_err(|e| anyhow::anyhow!("backfill: {e}"))?;
        let at = today - days_ago * day_ms;
        let vms = vm_rows(&report);
        let scripted = report.vms.len();
        let mut all = report.vms;
        all.append(&mut fleet);
        let mut whole = Report::from_vms(all, report.warnings);
        let row = summarize_counts(&whole, &cur.subscriptions, at, "backfill", 0);
        fleet = whole.vms.split_off(scripted);
        state.store.insert_snapshot(&row, &vms).await?;
        written += 1;
    }
    for e in TIMELINE {
        state
            .store
            .add_marker(&MarkerRow {
                at: today - e.days_ago * day_ms - day_ms / 2,
                kind: "scripted".into(),
                summary: e.what.into(),
                actor: None,
            })
            .await?;
    }
    Ok(written)
}

/// Every scripted event's day and summary (docs and tests).
pub fn timeline() -> Vec<(i64, &'static str)> {
    TIMELINE.iter().map(|e| (e.days_ago, e.what)).collect()
}
