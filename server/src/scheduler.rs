//! The scheduler: a refresh every `snapshot_interval` (or when kicked), retention, and which
//! replica leads.
use crate::clock::now_ms;
use crate::refresh::{refresh, refresh_view};
use crate::state::AppState;
use crate::store::{Backend, LockKey, SessionLock};
use std::sync::Arc;
use std::time::Duration;

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
