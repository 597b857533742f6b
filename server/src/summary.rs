//! What is stored with each snapshot: the score and counts, overall and per subscription, and
//! each VM's status; and which VMs the Internet reaches, and how.
use crate::snapshot::Subscription;
use crate::store::{SnapshotRow, VmStatusRow};
use portcullis_shared::api::RecommendationCounts;
use portcullis_shared::eval::report::ControlScore;
use portcullis_shared::eval::{State, Status};
use portcullis_shared::Report;
use serde::{Deserialize, Serialize};

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
