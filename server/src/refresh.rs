//! A refresh: the inventory read from ARM (through [`crate::snapshot`]), evaluated by the engine
//! off the async workers, its summary stored, and made the current one.
use crate::clock::{now_ms, rfc3339};
use crate::snapshot::list_subscriptions;
use crate::state::{AppState, Current};
use crate::summary::summarize;
use crate::vm_table::VmTable;
use portcullis_shared::api::ServerEvent;
use portcullis_shared::evaluate;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::OwnedMutexGuard;

/// Reads the inventory, evaluates it, stores the snapshot and makes it current.
pub async fn refresh(state: &AppState) -> anyhow::Result<Arc<Current>> {
    let guard = state.refresh_lock.clone().lock_owned().await;
    refresh_as(state, true, guard).await
}

/// [`refresh`], by the holder of the refresh lock: `POST /api/refresh` takes it before it
/// answers, so that a refresh asked for while one runs is refused rather than queued.
pub async fn refresh_locked(
    state: &AppState,
    guard: OwnedMutexGuard<()>,
) -> anyhow::Result<Arc<Current>> {
    refresh_as(state, true, guard).await
}

/// A refresh of this replica's view only: the inventory is read and evaluated and made current,
/// but no snapshot is stored and no alert resolved. The scheduler of a replica that is not the
/// leader runs this, so that every replica serves a fresh posture while the history holds one
/// series.
pub async fn refresh_view(state: &AppState) -> anyhow::Result<Arc<Current>> {
    let guard = state.refresh_lock.clone().lock_owned().await;
    refresh_as(state, false, guard).await
}

/// The lock is held (and `refreshing` set) until the snapshot is current; the lock stays held
/// while the alerts it closed are resolved.
async fn refresh_as(
    state: &AppState,
    record: bool,
    _guard: OwnedMutexGuard<()>,
) -> anyhow::Result<Arc<Current>> {
    let running = Running::set(&state.refreshing);
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
        // thread of the same runtime, where no Send bound applies. The engine's work runs there
        // too, off the async workers that serve requests.
        let arm = state.arm.clone();
        let scope = state.config.scope.clone();
        let eval = state.config.eval.clone();
        let handle = tokio::runtime::Handle::current();
        // what has not changed since the current snapshot is shared with it, not held twice
        let previous = state.current();
        let (inventory, report) = tokio::task::spawn_blocking(move || {
            let inventory = handle.block_on(async move {
                crate::snapshot::take_snapshot_sharing(
                    &arm,
                    4,
                    &progress,
                    crate::snapshot::Source::Auto,
                    &scope,
                    previous.as_deref().map(|c| &c.inventory),
                )
                .await
            })?;
            let report = in_background(|| {
                evaluate(&inventory, &eval)
                    .map_err(|e| anyhow::anyhow!("the inventory does not evaluate: {e}"))
            })?;
            anyhow::Ok((inventory, report))
        })
        .await??;
        anyhow::Ok((subs, inventory, report))
    }
    .await;
    let (subs, inventory, report) = match result {
        Ok(x) => x,
        Err(e) => {
            drop(running);
            return Err(failed(state, e));
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
        let stored = state
            .store
            .insert_snapshot_at_free_key(&mut row, &vms)
            .await;
        at = match stored {
            Ok(at) => at,
            Err(e) => {
                drop(running);
                return Err(failed(
                    state,
                    anyhow::Error::from(e).context("storing the snapshot"),
                ));
            }
        };
    }
    state
        .metrics
        .snapshot_taken(elapsed, report.control.current_score);
    // off the async workers, at the evaluation's lower priority
    let (report, subs, table) = tokio::task::spawn_blocking(move || {
        in_background(move || {
            // the stored rows go before the VM table is built: at 100k VMs they are tens of
            // MB, on top of the current snapshot and the new one
            drop(vms);
            let table = VmTable::new(&report, &subs);
            (report, subs, table)
        })
    })
    .await?;
    let finished = ServerEvent::SnapshotFinished {
        at: rfc3339(at),
        current_score: report.control.current_score,
        healthy: report.control.healthy,
        unhealthy: report.control.unhealthy,
        duration_ms: elapsed.as_millis() as u64,
    };
    let cur = Arc::new(Current::new(inventory, report, at, subs, table));
    crate::state::release(state.set_current(cur.clone()));
    drop(running);
    // announced once current, so that a client told of it reads the new posture
    state.emit(finished);
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

/// Tells the dashboards and the metrics that a refresh failed (the previous snapshot stays the
/// current one), and gives the error back.
fn failed(state: &AppState, e: anyhow::Error) -> anyhow::Error {
    state.emit(ServerEvent::SnapshotFailed {
        at: rfc3339(now_ms()),
        message: format!("{e:#}"),
    });
    state.metrics.snapshot_failed();
    e
}

/// `refreshing` set while it lives: cleared on every way out of a refresh (an error, a panic,
/// the future dropped), or where the refresh drops it.
struct Running<'a>(&'a AtomicBool);

impl<'a> Running<'a> {
    fn set(flag: &'a AtomicBool) -> Self {
        flag.store(true, Ordering::SeqCst);
        Self(flag)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// Runs `f` on a thread of its own at a lower CPU priority (nice +10 on Linux, best effort;
/// the threads the engine starts inherit it), so that while a large snapshot is evaluated the
/// async workers serving requests still win the cores. The thread ends with `f`, so no thread
/// of the runtime's pools is left with the lower priority.
pub fn in_background<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                #[cfg(target_os = "linux")]
                if let Err(e) =
                    rustix::process::setpriority_process(Some(rustix::thread::gettid()), 10)
                {
                    tracing::debug!("cannot lower the evaluation's priority: {e}");
                }
                f()
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

#[cfg(test)]
mod tests {
    /// The nice value of the calling thread (field 19 of /proc/thread-self/stat).
    #[cfg(target_os = "linux")]
    fn nice() -> i32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        // the command name (field 2) may hold spaces: count from after its closing parenthesis
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        rest.split(' ').nth(16).unwrap().parse().unwrap()
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn background_work_runs_at_a_lower_priority_and_returns_its_result() {
        let before = nice();
        let (inside, spawned) = super::in_background(|| {
            // a thread started by the work (as the engine's are) inherits the priority
            let spawned = std::thread::spawn(nice).join().unwrap();
            (nice(), spawned)
        });
        assert_eq!(inside, (before + 10).min(19));
        assert_eq!(spawned, inside);
        assert_eq!(nice(), before, "the caller's priority is unchanged");
    }
}
