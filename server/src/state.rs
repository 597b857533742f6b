//! The state every handler can reach (cheap to clone). It is built at start-up by
//! [`crate::startup`]; extractors that need only a part of it take that part through `FromRef`.
use crate::arm::ArmClient;
use crate::auth::LoginLimiter;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::snapshot::Subscription;
use crate::store::Store;
use crate::vm_table::VmTable;
use axum::extract::FromRef;
use portcullis_emulator::EmulatorHandle;
use portcullis_shared::api::{ServerEvent, VmFilter, VmRow};
use portcullis_shared::eval::VmReport;
use portcullis_shared::{Inventory, Report};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock};
use tokio::sync::broadcast;

/// The inventory and its evaluation, as of the last snapshot.
#[derive(Debug)]
pub struct Current {
    pub inventory: Inventory,
    pub report: Report,
    pub at_ms: i64,
    pub subscriptions: Vec<Subscription>,
    /// The VM table's sort orders, the posture's counts and an index of the VMs by id,
    /// computed once per snapshot.
    pub table: VmTable,
}

impl Current {
    /// `table` is `VmTable::new(&report, &subscriptions)`, built by the caller off the async
    /// workers.
    pub fn new(
        inventory: Inventory,
        report: Report,
        at_ms: i64,
        subscriptions: Vec<Subscription>,
        table: VmTable,
    ) -> Self {
        Self {
            inventory,
            report,
            at_ms,
            subscriptions,
            table,
        }
    }

    /// A VM's evaluation by ARM id (any case), without a scan of every VM.
    pub fn vm(&self, id: &str) -> Option<&VmReport> {
        let i = self.table.position(&self.report.vms, id)?;
        self.report.vms.get(i)
    }

    /// A page of the VM table ([`VmTable::page`]).
    pub fn vm_page(&self, f: &VmFilter, skip: usize, take: usize) -> (Vec<VmRow>, usize) {
        self.table.page(&self.report.vms, f, skip, take)
    }

    /// The VMs `f` selects, in its order ([`VmTable::filtered`]).
    pub fn vms_filtered<'a>(&'a self, f: &VmFilter) -> impl Iterator<Item = &'a VmReport> + 'a {
        self.table.filtered(&self.report.vms, f)
    }

    pub fn subscription_name(&self, id: &str) -> String {
        self.subscriptions
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(id))
            .map(|s| s.name.clone())
            .unwrap_or_else(|| id.to_string())
    }
}

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub arm: ArmClient,
    pub current: Arc<RwLock<Option<Arc<Current>>>>,
    pub events: broadcast::Sender<ServerEvent>,
    pub metrics: Arc<Metrics>,
    /// One refresh at a time.
    pub refresh_lock: Arc<tokio::sync::Mutex<()>>,
    pub refreshing: Arc<AtomicBool>,
    /// One write (remediation apply, JIT request) at a time from this server; ETags guard
    /// against everyone else.
    pub write_lock: Arc<tokio::sync::Mutex<()>>,
    pub limiter: Arc<LoginLimiter>,
    /// Sign-in with Entra ID (configured, or in demo mode the embedded emulator's directory).
    pub oidc: Option<Arc<crate::oidc::Oidc>>,
    /// The embedded emulator's URL (demo mode; tests steer it through `/admin/*`).
    pub emulator_url: Option<String>,
    /// Keeps the embedded emulator running as long as the state lives.
    pub(crate) _emulator: Option<Arc<EmulatorHandle>>,
}

impl AppState {
    /// The last snapshot, if any.
    pub fn current(&self) -> Option<Arc<Current>> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Makes `c` the current snapshot and gives back the one it replaces, which the caller
    /// lets go of ([`release`]): freeing a 100k-VM snapshot takes a few hundred ms, which must
    /// not happen under the lock every request reads through, nor on an async worker.
    #[must_use = "the previous snapshot is freed where it is dropped: hand it to `release`"]
    pub fn set_current(&self, c: Arc<Current>) -> Option<Arc<Current>> {
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        current.replace(c)
    }

    pub fn emit(&self, e: ServerEvent) {
        let _ = self.events.send(e);
    }
}

impl FromRef<AppState> for Store {
    fn from_ref(state: &AppState) -> Store {
        state.store.clone()
    }
}

/// Frees a snapshot that is no longer current on a blocking thread, once the requests that
/// still read it are done with it (they hold it for the length of one answer), so that neither
/// an async worker nor the lock of [`AppState::current`] pays for it.
pub fn release(old: Option<Arc<Current>>) {
    let Some(mut old) = old else { return };
    tokio::task::spawn_blocking(move || {
        // a reader may still hold it for a moment: wait (at most 10 s) to be the last one
        for _ in 0..2000 {
            match Arc::try_unwrap(old) {
                Ok(snapshot) => {
                    drop(snapshot);
                    return;
                }
                Err(still_shared) => old = still_shared,
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        tracing::debug!("a snapshot still read after 10 s is freed by its last reader");
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_shared::{evaluate, EvalConfig};

    fn snapshot(at_ms: i64) -> Arc<Current> {
        let inventory = portcullis_shared::fleet::synthetic_fleet(50, 1);
        let report = evaluate(&inventory, &EvalConfig::default()).unwrap();
        let table = VmTable::new(&report, &[]);
        Arc::new(Current::new(inventory, report, at_ms, Vec::new(), table))
    }

    /// A released snapshot is freed once its last reader lets go of it, not before, and not
    /// by that reader.
    #[tokio::test]
    async fn a_released_snapshot_is_freed_after_its_last_reader() {
        let old = snapshot(1);
        let weak = Arc::downgrade(&old);
        let reader = old.clone();
        release(Some(old));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(weak.upgrade().is_some(), "still read: not freed");
        assert_eq!(
            Arc::strong_count(&reader),
            2,
            "the releasing thread still holds it"
        );
        drop(reader);
        let freed = async {
            while weak.upgrade().is_some() {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(5), freed)
            .await
            .expect("freed once its reader is done");
    }
}
