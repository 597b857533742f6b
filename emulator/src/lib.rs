//! The embedded ARM emulator: Azure Resource Manager's REST paths, api-versions and JSON shapes
//! for VMs, networking, NSGs and Defender for Cloud (JIT, secure score, assessments), with
//! ARM's behaviour (paging, ETags, long-running operations, errors, throttling), an OAuth2
//! token endpoint, fault injection, and a seeded demo tenant.
//!
//! `portcullis emulator` runs it alone; `portcullis serve` starts it in-process with
//! [`spawn_emulator`] when no Azure credential is configured. Tests start it on an ephemeral
//! port and steer it through `/admin/*` (faults, clock, reset).
pub mod alerts;
pub mod assessment;
pub mod defender;
pub mod demo;
pub mod effective;
pub mod entra;
pub mod graph;
pub mod http;
pub mod jit;
pub mod network;
pub mod resources;
pub mod routes;
pub mod service;
pub mod timeline;
pub mod util;
pub mod world;

use anyhow::Context;
use clap::Args;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

pub use service::EmulatorHandle;
use world::{SubscriptionInfo, World};

/// Fault injection, settable by flags or `POST /admin/faults`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Faults {
    /// Share of ARM requests answered 429 (before any work is done).
    pub rate429: f64,
    /// Share answered 500 or 503 with an ARM error body.
    pub rate5xx: f64,
    /// Added to every ARM request.
    pub latency_ms: u64,
    /// Share of ARM requests whose connection is closed without a response.
    pub drop_rate: f64,
}

/// ARM's token buckets per subscription (Azure's published defaults: reads 250 refilled at
/// 25/s, writes 200 at 10/s).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttle {
    pub reads_capacity: f64,
    pub reads_per_second: f64,
    pub writes_capacity: f64,
    pub writes_per_second: f64,
}

impl Default for Throttle {
    fn default() -> Self {
        Self {
            reads_capacity: 250.0,
            reads_per_second: 25.0,
            writes_capacity: 200.0,
            writes_per_second: 10.0,
        }
    }
}

/// Who may call the ARM endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// No token needed (the embedded demo). The token endpoint still issues tokens to anyone.
    Open,
    /// `Authorization: Bearer <token>` from the token endpoint, which checks this client.
    ClientCredentials {
        client_id: String,
        client_secret: String,
    },
}

/// What the emulator starts with (when `state_file` does not exist yet).
#[derive(Debug, Clone, PartialEq)]
pub enum Tenant {
    /// The seeded demo tenant (docs/demo-tenant.md).
    Demo,
    /// Given subscriptions and resources.
    Custom {
        subscriptions: Vec<SubscriptionInfo>,
        inventory: Box<portcullis_shared::Inventory>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct EmulatorConfig {
    pub listen: SocketAddr,
    pub seed: u64,
    /// Items per list page (ARM's are larger; small pages exercise `nextLink`).
    pub page_size: usize,
    pub faults: Faults,
    pub throttle: Throttle,
    /// Saved after every write, loaded at start when present.
    pub state_file: Option<PathBuf>,
    pub auth: Auth,
    pub tenant: Tenant,
    /// `retry-after-ms` of injected 429/503 and of long-running operations (`Retry-After`
    /// carries the same, rounded up to whole seconds).
    pub retry_after_ms: u64,
    /// Polls before an `Azure-AsyncOperation` reports Succeeded.
    pub lro_polls: u32,
    /// [`Tenant::Demo`] only: synthetic VMs added in a subscription of their own
    /// ([`demo::demo_world_with_extra_vms`]).
    pub demo_extra_vms: usize,
    /// [`Tenant::Demo`] only: grow the tenant into an estate of many subscriptions
    /// ([`demo::demo_estate`]) instead of adding `demo_extra_vms`.
    pub demo_estate: Option<demo::Estate>,
    /// Seconds between Defender's assessments of a subscription (0: live). `None`: the
    /// tenant's default, 4 hours for the demo tenant (Defender lags behind changes), live for
    /// a custom one.
    pub assessment_interval_seconds: Option<i64>,
    /// The app people sign in to through the emulator's Entra ID (the demo directory).
    pub sign_in_app: entra::SignInApp,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: 42,
            page_size: 20,
            faults: Faults::default(),
            throttle: Throttle::default(),
            state_file: None,
            auth: Auth::Open,
            tenant: Tenant::Demo,
            retry_after_ms: 1000,
            lro_polls: 1,
            demo_extra_vms: 0,
            demo_estate: None,
            assessment_interval_seconds: None,
            sign_in_app: entra::SignInApp::default(),
        }
    }
}

/// How often the demo tenant's Defender re-assesses a subscription: 4 hours.
pub const DEMO_ASSESSMENT_INTERVAL_SECONDS: i64 = 4 * 3600;

/// The tenant id of the emulator's directory.
pub const TENANT_ID: &str = "72f988bf-0000-4000-8000-00000000c0de";

/// Starts the emulator on `cfg.listen` (port 0: any free port); returns the bound address.
pub async fn spawn_emulator(cfg: EmulatorConfig) -> anyhow::Result<(SocketAddr, EmulatorHandle)> {
    let (world, initial) = match cfg.state_file.as_deref().map(World::load).transpose()? {
        Some(Some(w)) => {
            // `POST /admin/reset` goes back to this state: a copy on disk, not in memory (at
            // 100k VMs a world is hundreds of MB)
            let file = cfg.state_file.as_deref().expect("loaded from it");
            let copy = file.with_extension("initial.json");
            std::fs::copy(file, &copy)
                .with_context(|| format!("cannot copy {} to {}", file.display(), copy.display()))?;
            (prepare(w, &cfg), service::Initial::File(copy))
        }
        _ => (build_world(&cfg), service::Initial::Built),
    };
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    let handle = service::start(
        Arc::new(service::Emu::new(cfg, world, initial)),
        listener,
        addr,
    );
    Ok((addr, handle))
}

/// The world the configuration describes, freshly built (at start without a state file, and
/// again at `POST /admin/reset`: the build is deterministic).
pub(crate) fn build_world(cfg: &EmulatorConfig) -> World {
    let mut w = match &cfg.tenant {
        Tenant::Demo => match cfg.demo_estate {
            Some(estate) => demo::demo_estate(cfg.seed, estate),
            None => demo::demo_world_with_extra_vms(cfg.seed, cfg.demo_extra_vms),
        },
        Tenant::Custom {
            subscriptions,
            inventory,
        } => World::new(
            TENANT_ID,
            subscriptions.clone(),
            (**inventory).clone(),
            cfg.seed,
        ),
    };
    w.lro_polls = cfg.lro_polls.max(1);
    if matches!(cfg.tenant, Tenant::Demo) {
        w.assessment_interval_seconds = DEMO_ASSESSMENT_INTERVAL_SECONDS;
    }
    prepare(w, cfg)
}

/// The configured assessment interval, and Defender's first assessment.
pub(crate) fn prepare(mut world: World, cfg: &EmulatorConfig) -> World {
    if let Some(secs) = cfg.assessment_interval_seconds {
        world.assessment_interval_seconds = secs.max(0);
    }
    if world.assessment_interval_seconds > 0 && world.assessed.is_empty() {
        world.assess_all();
    }
    world
}

/// `portcullis emulator`: run the ARM emulator alone.
#[derive(Debug, Clone, Args)]
pub struct EmulatorArgs {
    /// Address to listen on (port 0: any free port; the bound address is printed).
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// JSON state file: loaded at start if present, rewritten after every write.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Seed of the demo tenant and of fault injection.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Items per list page.
    #[arg(long, default_value_t = 20)]
    pub page_size: usize,
    /// Grow the demo tenant by this many synthetic VMs, in a subscription of their own.
    #[arg(long, env = "PORTCULLIS_DEMO_EXTRA_VMS", default_value_t = 0)]
    pub demo_extra_vms: usize,
    /// Build an estate instead: SUBSCRIPTIONS,VMS (for example 1000,100000) synthetic
    /// subscriptions and VMs, beside the demo tenant, under the management group `contoso`.
    #[arg(
        long,
        value_name = "SUBSCRIPTIONS,VMS",
        conflicts_with = "demo_extra_vms"
    )]
    pub demo_estate: Option<demo::Estate>,
    /// Minutes between Defender's assessments of a subscription (0: assessments always show the
    /// state as it is) [default: 240 for the demo tenant].
    #[arg(long)]
    pub assessment_interval_minutes: Option<i64>,
    #[arg(long = "fault-429-rate", default_value_t = 0.0)]
    pub fault_429_rate: f64,
    #[arg(long = "fault-5xx-rate", default_value_t = 0.0)]
    pub fault_5xx_rate: f64,
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    #[arg(long, default_value_t = 0.0)]
    pub drop_rate: f64,
    /// Require tokens from the token endpoint for this client id (with --client-secret);
    /// without it ARM endpoints are open.
    #[arg(
        long,
        env = "PORTCULLIS_EMULATOR_CLIENT_ID",
        requires = "client_secret"
    )]
    pub client_id: Option<String>,
    #[arg(
        long,
        env = "PORTCULLIS_EMULATOR_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub client_secret: Option<String>,
    /// Sign-in (the demo directory): redirect URIs the app may use besides loopback ones
    /// (repeatable).
    #[arg(long)]
    pub redirect_uri: Vec<String>,
}

impl EmulatorArgs {
    pub fn config(&self) -> EmulatorConfig {
        EmulatorConfig {
            listen: self.listen,
            seed: self.seed,
            page_size: self.page_size.max(1),
            faults: Faults {
                rate429: self.fault_429_rate,
                rate5xx: self.fault_5xx_rate,
                latency_ms: self.latency_ms,
                drop_rate: self.drop_rate,
            },
            state_file: self.state.clone(),
            demo_extra_vms: self.demo_extra_vms,
            demo_estate: self.demo_estate,
            assessment_interval_seconds: self.assessment_interval_minutes.map(|m| m * 60),
            sign_in_app: match (&self.client_id, &self.client_secret) {
                (Some(id), Some(secret)) => entra::SignInApp {
                    client_id: id.clone(),
                    client_secret: secret.clone(),
                    redirect_uris: self.redirect_uri.clone(),
                },
                _ => entra::SignInApp {
                    redirect_uris: self.redirect_uri.clone(),
                    ..entra::SignInApp::default()
                },
            },
            auth: match (&self.client_id, &self.client_secret) {
                (Some(id), Some(secret)) => Auth::ClientCredentials {
                    client_id: id.clone(),
                    client_secret: secret.clone(),
                },
                _ => Auth::Open,
            },
            ..EmulatorConfig::default()
        }
    }
}

pub fn run(args: EmulatorArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("portcullis emulator: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result: anyhow::Result<()> = runtime.block_on(async {
        let cfg = args.config();
        let open = cfg.auth == Auth::Open;
        let (addr, handle) = spawn_emulator(cfg).await?;
        println!(
            "ARM emulator listening on http://{addr} (tenant {TENANT_ID}, token endpoint http://{addr}/{TENANT_ID}/oauth2/v2.0/token, OpenID issuer http://{addr}/{TENANT_ID}/v2.0, {})",
            if open { "open: no token needed" } else { "bearer tokens required" }
        );
        tokio::signal::ctrl_c().await.context("waiting for ctrl-c")?;
        handle.shutdown().await;
        Ok(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portcullis emulator: {e:#}");
            ExitCode::FAILURE
        }
    }
}
