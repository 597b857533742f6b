//! Start-up wiring (the composition root): the ARM client (Azure, or the embedded emulator), the
//! store, the accounts and the first snapshot, put together into an [`AppState`].
use crate::arm::{ArmClient, ArmClientConfig, NoAuth, TokenSource};
use crate::auth::LoginLimiter;
use crate::config::{Config, DataSource};
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::store::Store;
use anyhow::Context;
use portcullis_emulator::{spawn_emulator, EmulatorConfig, EmulatorHandle};
use portcullis_shared::api::Role;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock};
use tokio::sync::broadcast;

/// Connects everything and takes the first snapshot (and, in demo mode on a fresh store,
/// backfills the history).
pub async fn start(config: Config) -> anyhow::Result<AppState> {
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    // demo mode without a directory of its own: the embedded emulator's, with a fresh secret
    let demo_sign_in = (config.data_source == DataSource::Emulator
        && config.arm_url.is_none()
        && config.entra.is_none())
    .then(|| portcullis_emulator::entra::SignInApp {
        client_secret: crate::auth::random_token(),
        ..Default::default()
    });
    let (base, tokens, emulator): (String, Arc<dyn TokenSource>, _) =
        match (&config.arm_url, config.data_source) {
            (Some(url), _) => (
                url.clone(),
                config.credential.token_source(config.cloud)?,
                None,
            ),
            (None, DataSource::Azure) => (
                config.cloud.arm_url().to_string(),
                config.credential.token_source(config.cloud)?,
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
                    sign_in_app: demo_sign_in.clone().unwrap_or_default(),
                    ..EmulatorConfig::default()
                })
                .await
                .context("cannot start the embedded ARM emulator")?;
                (format!("http://{addr}"), Arc::new(NoAuth), Some(handle))
            }
        };
    match &emulator {
        Some(_) => {
            tracing::info!(arm = %base, "ARM: the embedded emulator (demo tenant), no credential")
        }
        None => tracing::info!(
            arm = %base,
            cloud = config.cloud.as_str(),
            credential = %config.credential,
            "ARM: Azure"
        ),
    }
    let arm_config = if config.fast_arm || emulator.is_some() {
        ArmClientConfig::fast(&base)?
    } else {
        ArmClientConfig::new(&base)?
    };
    let arm = ArmClient::new(arm_config, tokens)?;
    let store = Store::open(&config.database_url).await?;
    seed_users(&store, &config).await?;
    if !config.local_accounts {
        let n = store.revoke_local_sessions().await?;
        tracing::info!(
            ended = n,
            "local accounts are switched off: their sessions ended"
        );
    }
    let entra = match (&config.entra, &emulator, demo_sign_in) {
        (Some(e), _, _) => Some(e.clone()),
        (None, Some(handle), Some(app)) => Some(crate::oidc::EntraConfig {
            issuer: format!("{}/{}/v2.0", handle.url(), portcullis_emulator::TENANT_ID),
            client_id: app.client_id,
            client_auth: crate::oidc::ClientAuth::Secret(app.client_secret),
            redirect_url: None,
            app_roles: crate::oidc::AppRoles::default(),
            label: "Sign in with Microsoft (demo directory)".into(),
        }),
        _ => None,
    };
    if let Some(e) = &entra {
        tracing::info!(issuer = %e.issuer, client_id = %e.client_id, credential = ?e.client_auth, "sign-in with Entra ID");
    }
    let oidc = entra
        .map(|e| crate::oidc::Oidc::new(e).map(Arc::new))
        .transpose()?;
    let (events, _) = broadcast::channel(256);
    let state = AppState {
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
        oidc,
    };
    if let Err(e) = crate::refresh::refresh(&state).await {
        tracing::error!(error = %e, "first snapshot failed; the scheduler will retry");
    }
    if state.config.demo() && state.config.backfill {
        if let Some(cur) = state.current() {
            let n = crate::backfill::backfill_demo_once(&state, &cur).await?;
            if n > 0 {
                tracing::info!(days = n, "demo history backfilled");
            }
        }
    }
    Ok(state)
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
