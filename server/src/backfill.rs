//! Demo mode: 90 days of history, backfilled once on a fresh store by replaying the demo tenant's
//! scripted timeline (`portcullis_emulator::timeline`) backwards through the real engine.
use crate::state::{AppState, Current};
use crate::store::{LockKey, MarkerRow};
use crate::summary::{summarize_counts, vm_rows};
use portcullis_emulator::timeline::{in_extra_fleet, scripted_part, undo, TIMELINE};
use portcullis_shared::{evaluate, Report};

pub use portcullis_emulator::timeline::BACKFILL_DAYS;

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
