//! The state every handler can reach (cheap to clone), and how it is built at start-up: the
//! ARM client (Azure, or the embedded emulator), the store, the accounts, the first snapshot.
use crate::arm::{ArmClient, ArmClientConfig, AzureIdentity, NoAuth, TokenSource, AZURE_ARM_URL};
use crate::auth::LoginLimiter;
use crate::config::{Config, DataSource};
use crate::emulator::{spawn_emulator, EmulatorConfig, EmulatorHandle};
use crate::metrics::Metrics;
use crate::snapshot::Subscription;
use crate::store::Store;
use anyhow::Context;
use portcullis_shared::api::{Role, ServerEvent};
use portcullis_shared::arm::id_key;
use portcullis_shared::eval::VmReport;
use portcullis_shared::{Inventory, Report};
use std::collections::HashMap;
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
    /// `report.vms` positions by lower-cased id ([`Current::vm`]).
    vm_index: HashMap<String, usize>,
}

impl Current {
    pub fn new(
        inventory: Inventory,
        report: Report,
        at_ms: i64,
        subscriptions: Vec<Subscription>,
    ) -> Self {
        let vm_index = report
            .vms
            .iter()
            .enumerate()
            .map(|(i, v)| (id_key(&v.id), i))
            .collect();
        Self {
            inventory,
            report,
            at_ms,
            subscriptions,
            vm_index,
        }
    }

    /// A VM's evaluation by ARM id (any case), without a scan of every VM.
    pub fn vm(&self, id: &str) -> Option<&VmReport> {
        self.vm_index
            .get(&id_key(id))
            .and_then(|&i| self.report.vms.get(i))
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
    /// The embedded emulator's URL (demo mode; tests steer it through `/admin/*`).
    pub emulator_url: Option<String>,
    _emulator: Option<Arc<EmulatorHandle>>,
}

impl AppState {
    /// Connects everything and takes the first snapshot (and, in demo mode on a fresh store,
    /// backfills the history).
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                config.data_dir.display()
            )
        })?;
        let (base, tokens, emulator): (String, Arc<dyn TokenSource>, _) =
            match (&config.arm_url, config.data_source) {
                (Some(url), _) => {
                    let tokens: Arc<dyn TokenSource> =
                        if DataSource::detect(|n| std::env::var(n).ok()) == DataSource::Azure {
                            Arc::new(AzureIdentity::client_secret_from_env()?)
                        } else {
                            Arc::new(NoAuth)
                        };
                    (url.clone(), tokens, None)
                }
                (None, DataSource::Azure) => (
                    AZURE_ARM_URL.to_string(),
                    Arc::new(AzureIdentity::client_secret_from_env()?),
                    None,
                ),
                (None, DataSource::Emulator) => {
                    let (addr, handle) = spawn_emulator(EmulatorConfig {
                        state_file: Some(config.data_dir.join("emulator.json")),
                        // small pages exercise nextLink on the demo tenant; a synthetic
                        // fleet is listed in pages of 1,000 (ARM's usual largest), or its
                        // ~600 list calls would run into ARM's read throttling
                        page_size: if config.demo_extra_vms > 0 { 1000 } else { 50 },
                        demo_extra_vms: config.demo_extra_vms,
                        retry_after_ms: if config.fast_arm { 20 } else { 1000 },
                        ..EmulatorConfig::default()
                    })
                    .await
                    .context("cannot start the embedded ARM emulator")?;
                    (format!("http://{addr}"), Arc::new(NoAuth), Some(handle))
                }
            };
        let arm_config = if config.fast_arm || emulator.is_some() {
            ArmClientConfig::fast(&base)?
        } else {
            ArmClientConfig::new(&base)?
        };
        let arm = ArmClient::new(arm_config, tokens)?;
        let store = Store::open(&config.database_url).await?;
        seed_users(&store, &config).await?;
        let (events, _) = broadcast::channel(256);
        let state = Self {
            emulator_url: emulator.as_ref().map(|h: &EmulatorHandle| h.url()),
            _emulator: emulator.map(Arc::new),
            config: Arc::new(config),
            store,
            arm,
            current: Arc::new(RwLock::new(None)),
            events,
            metrics: Arc::new(Metrics::default()),
            refresh_lock: Arc::new(tokio::sync::Mutex::new(())),
            refreshing: Arc::new(AtomicBool::new(false)),
            write_lock: Arc::new(tokio::sync::Mutex::new(())),
            limiter: Arc::new(LoginLimiter::default()),
        };
        if let Err(e) = crate::history::refresh(&state).await {
            tracing::error!(error = %e, "first snapshot failed; the scheduler will retry");
        }
        if state.config.demo() && state.config.backfill {
            if let Some(cur) = state.current() {
                let n = crate::history::backfill_demo_once(&state, &cur).await?;
                if n > 0 {
                    tracing::info!(days = n, "demo history backfilled");
                }
            }
        }
        Ok(state)
    }

    /// The last snapshot, if any.
    pub fn current(&self) -> Option<Arc<Current>> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn set_current(&self, c: Arc<Current>) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(c);
    }

    pub fn emit(&self, e: ServerEvent) {
        let _ = self.events.send(e);
    }
}

/// Accounts from the config file; in demo mode also viewer, operator and admin.
async fn seed_users(store: &Store, config: &Config) -> anyhow::Result<()> {
    for u in &config.users {
        store
            .upsert_user(&u.username, u.role, Some(&u.password_hash), "config")
            .await?;
    }
    if config.demo() {
        let (password, generated) = match &config.demo_password {
            Some(p) if !p.is_empty() => (p.clone(), false),
            _ => (crate::auth::random_token()[..16].to_string(), true),
        };
        let hash = tokio::task::spawn_blocking(move || {
            crate::auth::hash_password(&password).map(|h| (h, password))
        })
        .await??;
        for (name, role) in [
            ("viewer", Role::Viewer),
            ("operator", Role::Operator),
            ("admin", Role::Admin),
        ] {
            store.upsert_user(name, role, Some(&hash.0), "demo").await?;
        }
        if generated {
            eprintln!(
                "Demo accounts viewer, operator and admin: password {} (set PORTCULLIS_DEMO_PASSWORD to choose one)",
                hash.1
            );
        }
    }
    Ok(())
}
