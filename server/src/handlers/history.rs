//! The score over time: the whole control and per subscription, with write markers.
use crate::auth::Session;
use crate::clock::{now_ms, rfc3339};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::SnapshotRow;
use crate::summary::SubscriptionCounts;
use axum::{
    extract::{Query, State},
    Json,
};
use portcullis_shared::api::{
    Granularity, History, HistoryMarker, HistoryPoint, HistoryQuery, HistoryRange,
    RecommendationCounts, SubscriptionHistory,
};
use std::collections::BTreeMap;

const DAY: i64 = 86_400_000;

/// `GET /api/history?range=30d&granularity=day`
pub async fn get_history(
    State(state): State<AppState>,
    _s: Session,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<History>, AppError> {
    let range = q.range.unwrap_or(HistoryRange::Days30);
    let granularity = q.granularity.unwrap_or(if range == HistoryRange::Days7 {
        Granularity::Hour
    } else {
        Granularity::Day
    });
    let since = match range {
        HistoryRange::Days7 => now_ms() - 7 * DAY,
        HistoryRange::Days30 => now_ms() - 30 * DAY,
        HistoryRange::Days90 => now_ms() - 90 * DAY,
        HistoryRange::Year => now_ms() - 365 * DAY,
        HistoryRange::All => 0,
    };
    let rows = state.store.snapshots_since(since).await?;
    let bucket = match granularity {
        Granularity::Raw => 1,
        Granularity::Hour => 3_600_000,
        Granularity::Day => DAY,
        Granularity::Week => 7 * DAY,
    };
    // the last snapshot of each bucket
    let mut last: BTreeMap<i64, &SnapshotRow> = BTreeMap::new();
    for r in &rows {
        last.insert(r.taken_at.div_euclid(bucket), r);
    }
    let mut points = Vec::new();
    let mut subs: BTreeMap<String, SubscriptionHistory> = BTreeMap::new();
    for r in last.values() {
        let recs: Vec<RecommendationCounts> =
            serde_json::from_str(&r.recommendations).unwrap_or_default();
        points.push(HistoryPoint {
            at: rfc3339(r.taken_at),
            current_score: r.current_score,
            percentage: r.percentage,
            healthy: r.healthy as usize,
            unhealthy: r.unhealthy as usize,
            not_applicable: r.not_applicable as usize,
            reachable_from_internet: r.reachable as usize,
            recommendations: recs,
        });
        let per: Vec<SubscriptionCounts> =
            serde_json::from_str(&r.subscriptions).unwrap_or_default();
        for s in per {
            subs.entry(s.subscription_id.clone())
                .or_insert_with(|| SubscriptionHistory {
                    subscription_id: s.subscription_id.clone(),
                    display_name: s.display_name.clone(),
                    points: Vec::new(),
                })
                .points
                .push(HistoryPoint {
                    at: rfc3339(r.taken_at),
                    current_score: s.current_score,
                    percentage: s.percentage,
                    healthy: s.healthy,
                    unhealthy: s.unhealthy,
                    not_applicable: s.not_applicable,
                    reachable_from_internet: s.reachable,
                    recommendations: Vec::new(),
                });
        }
    }
    let markers = state
        .store
        .markers_since(since)
        .await?
        .into_iter()
        .map(|m| HistoryMarker {
            at: rfc3339(m.at),
            kind: m.kind,
            summary: m.summary,
            actor: m.actor,
        })
        .collect();
    Ok(Json(History {
        range,
        granularity,
        points,
        subscriptions: subs.into_values().collect(),
        markers,
    }))
}
