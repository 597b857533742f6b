//! Server configuration, parsed once at start-up. Precedence: flags, then environment variables
//! (see `.env.sample`), then the optional TOML file (`--config`), then defaults.
use anyhow::Context;
use clap::Args;
use portcullis_shared::api::Role;
use portcullis_shared::EvalConfig;
use serde::Deserialize;
use std::{fmt, net::SocketAddr, path::PathBuf, time::Duration};

/// `portcullis serve` options. Every flag can also be set through its environment variable or
/// the config file (same name, snake_case).
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// TOML config file (keys as the flags, snake_case; plus `[[users]]` and `[eval]`).
    #[arg(long, env = "PORTCULLIS_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default 127.0.0.1:8080]. Port 0 picks a free port; the address
    /// actually bound is printed.
    #[arg(long, env = "PORTCULLIS_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory for the server's state (created if missing) [default ./data].
    #[arg(long, env = "PORTCULLIS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The built front end (`trunk build --release` writes it); served at `/` [default ./dist].
    #[arg(long, env = "PORTCULLIS_DIST")]
    pub dist: Option<PathBuf>,
    /// Database URL [default sqlite://<data dir>/portcullis.db]. Also
    /// postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=verify-full, shared by several replicas.
    #[arg(long, env = "PORTCULLIS_DATABASE_URL")]
    pub database_url: Option<String>,
    /// PostgreSQL: the CA certificate (PEM) that signs the server's (sslmode verify-ca or
    /// verify-full) [default: Mozilla's root certificates, built in].
    #[arg(long, env = "PORTCULLIS_DATABASE_CA_FILE")]
    pub database_ca_file: Option<PathBuf>,
    /// PostgreSQL: read the password from this file (its first line) instead of the URL.
    #[arg(long, env = "PORTCULLIS_DATABASE_PASSWORD_FILE")]
    pub database_password_file: Option<PathBuf>,
    /// ARM base URL (default: the cloud's ARM with a credential, else the embedded emulator).
    #[arg(long, env = "PORTCULLIS_ARM_URL")]
    pub arm_url: Option<String>,
    /// Where ARM tokens come from: auto (client-secret when AZURE_TENANT_ID, AZURE_CLIENT_ID and
    /// AZURE_CLIENT_SECRET are set, else the embedded emulator), client-secret,
    /// managed-identity[=CLIENT_ID], workload-identity, developer-tools, none [default auto].
    #[arg(long, env = "PORTCULLIS_CREDENTIAL")]
    pub credential: Option<crate::arm::Credential>,
    /// Azure cloud: public, usgov or china (sign-in authority, ARM URL and token scope)
    /// [default public].
    #[arg(long, env = "PORTCULLIS_CLOUD", value_enum)]
    pub cloud: Option<crate::arm::Cloud>,
    /// Seconds between scheduled snapshots [default 900].
    #[arg(long, env = "PORTCULLIS_SNAPSHOT_INTERVAL_SECS")]
    pub snapshot_interval_secs: Option<u64>,
    /// Days of history kept [default 730].
    #[arg(long, env = "PORTCULLIS_RETENTION_DAYS")]
    pub retention_days: Option<u32>,
    /// Minutes a session lasts [default 480].
    #[arg(long, env = "PORTCULLIS_SESSION_TTL_MINUTES")]
    pub session_ttl_minutes: Option<u64>,
    /// Mark session cookies `Secure` (set it behind TLS; `X-Forwarded-Proto: https` does too).
    #[arg(long, env = "PORTCULLIS_SECURE_COOKIES")]
    pub secure_cookies: Option<bool>,
    /// Demo mode: the password of the viewer, operator and admin accounts (random if unset,
    /// printed at start-up).
    #[arg(long, env = "PORTCULLIS_DEMO_PASSWORD", hide_env_values = true)]
    pub demo_password: Option<String>,
    /// Demo mode: backfill 90 days of history on first start [default true].
    #[arg(long, env = "PORTCULLIS_BACKFILL")]
    pub backfill: Option<bool>,
    /// Demo mode: grow the demo tenant by N synthetic VMs (a third subscription, "Contoso Scale
    /// Test"), to try the dashboard at scale [default 0; at most 200000]. Read when the
    /// emulator's state is created (a fresh data directory).
    #[arg(long, env = "PORTCULLIS_DEMO_EXTRA_VMS")]
    pub demo_extra_vms: Option<usize>,
    /// Address ranges always kept by "Enforce rule" (e.g. the office or VPN egress), comma
    /// separated CIDRs [default none].
    #[arg(long, env = "PORTCULLIS_TRUSTED_RANGES", value_delimiter = ',')]
    pub trusted_ranges: Option<Vec<String>>,
    /// What the snapshots read: subscription ids (comma separated) or `managementGroups/NAME`
    /// [default: every subscription the credential sees]; past PORTCULLIS_GRAPH_THRESHOLD
    /// subscriptions, or with a management group, through Azure Resource Graph.
    #[arg(long, env = "PORTCULLIS_SCOPE", value_delimiter = ',')]
    pub scope: Option<Vec<String>>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (comma separated CIDRs) [default
    /// none: the peer is the client].
    #[arg(long, env = "PORTCULLIS_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Option<Vec<String>>,
    /// `/metrics` answers only requests with `Authorization: Bearer <this>`; without it, only
    /// requests from the machine itself (loopback).
    #[arg(long, env = "PORTCULLIS_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Sign-in with Entra ID: the directory (tenant id or domain; the issuer is the cloud's
    /// `https://login.microsoftonline.com/{tenant}/v2.0`). Needs --entra-client-id.
    #[arg(long, env = "PORTCULLIS_ENTRA_TENANT_ID")]
    pub entra_tenant: Option<String>,
    /// Sign-in: the OpenID issuer URL itself, instead of --entra-tenant.
    #[arg(long, env = "PORTCULLIS_ENTRA_ISSUER", conflicts_with = "entra_tenant")]
    pub entra_issuer: Option<String>,
    /// Sign-in: the app registration's client (application) id.
    #[arg(long, env = "PORTCULLIS_ENTRA_CLIENT_ID")]
    pub entra_client_id: Option<String>,
    /// Sign-in: the app's client secret (prefer --entra-client-secret-file).
    #[arg(long, env = "PORTCULLIS_ENTRA_CLIENT_SECRET", hide_env_values = true)]
    pub entra_client_secret: Option<String>,
    /// Sign-in: read the client secret from this file (its first line).
    #[arg(long, env = "PORTCULLIS_ENTRA_CLIENT_SECRET_FILE")]
    pub entra_client_secret_file: Option<PathBuf>,
    /// Sign-in: prove the app with a federated credential instead of a secret: the token file
    /// (workload identity's AZURE_FEDERATED_TOKEN_FILE), read at each sign-in.
    #[arg(long, env = "PORTCULLIS_ENTRA_FEDERATED_TOKEN_FILE")]
    pub entra_federated_token_file: Option<PathBuf>,
    /// Sign-in: the redirect URL registered on the app, https://HOST/auth/callback [default:
    /// /auth/callback at the address the browser used].
    #[arg(long, env = "PORTCULLIS_ENTRA_REDIRECT_URL")]
    pub entra_redirect_url: Option<String>,
    /// Sign-in: the app roles that make a viewer, an operator and an admin
    /// [default Portcullis.Viewer,Portcullis.Operator,Portcullis.Admin].
    #[arg(long, env = "PORTCULLIS_ENTRA_APP_ROLES")]
    pub entra_app_roles: Option<String>,
    /// Local accounts (user name and password): the demo's, and a break-glass admin beside
    /// Entra ID. `--local-accounts=false` switches them off [default true].
    #[arg(long, env = "PORTCULLIS_LOCAL_ACCOUNTS", num_args = 0..=1, default_missing_value = "true")]
    pub local_accounts: Option<bool>,
}

/// The config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub dist: Option<PathBuf>,
    pub database_url: Option<String>,
    pub database_ca_file: Option<PathBuf>,
    pub database_password_file: Option<PathBuf>,
    pub arm_url: Option<String>,
    pub credential: Option<String>,
    pub cloud: Option<crate::arm::Cloud>,
    pub snapshot_interval_secs: Option<u64>,
    pub retention_days: Option<u32>,
    pub session_ttl_minutes: Option<u64>,
    pub secure_cookies: Option<bool>,
    pub demo_password: Option<String>,
    pub backfill: Option<bool>,
    pub demo_extra_vms: Option<usize>,
    pub trusted_ranges: Option<Vec<String>>,
    /// Sign-in with Entra ID (as the `--entra-*` flags; the secret only from a file).
    pub entra_tenant: Option<String>,
    pub entra_issuer: Option<String>,
    pub entra_client_id: Option<String>,
    pub entra_client_secret_file: Option<PathBuf>,
    pub entra_federated_token_file: Option<PathBuf>,
    pub entra_redirect_url: Option<String>,
    pub entra_app_roles: Option<String>,
    pub local_accounts: Option<bool>,
    #[serde(default)]
    pub users: Vec<UserConfig>,
    #[serde(default)]
    pub eval: Option<EvalConfig>,
}

/// A local account: `[[users]] username = "..", role = "operator", password_hash = "$argon2id$.."`
/// (`portcullis hash-password` prints the hash).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub username: String,
    pub role: Role,
    pub password_hash: String,
}

/// The most synthetic VMs `--demo-extra-vms` adds (the emulator holds them all in memory).
pub const MAX_DEMO_EXTRA_VMS: usize = 200_000;

/// Everything the server needs to know, fixed for the life of the process.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub dist: PathBuf,
    pub data_source: DataSource,
    pub database_url: String,
    pub arm_url: Option<String>,
    /// Where ARM tokens come from (`Auto` already resolved).
    pub credential: crate::arm::Credential,
    pub cloud: crate::arm::Cloud,
    pub snapshot_interval: Duration,
    pub retention_days: u32,
    pub session_ttl: Duration,
    pub secure_cookies: bool,
    pub demo_password: Option<String>,
    pub backfill: bool,
    /// Synthetic VMs added to the demo tenant (`--demo-extra-vms`).
    pub demo_extra_vms: usize,
    /// CIDRs "Enforce rule" always allows besides the legitimate sources seen in the traffic.
    pub trusted_ranges: Vec<String>,
    /// What snapshots read (`--scope`).
    pub scope: crate::snapshot::Scope,
    /// The bearer token `/metrics` needs (`None`: loopback callers only).
    pub metrics_token: Option<String>,
    /// Proxies trusted for `X-Forwarded-For`.
    pub trusted_proxies: Vec<portcullis_shared::net::Cidr>,
    /// Sign-in with Entra ID (`None`: not configured; demo mode then signs in through the
    /// embedded emulator's demo directory).
    pub entra: Option<crate::oidc::EntraConfig>,
    /// Local accounts may sign in.
    pub local_accounts: bool,
    pub users: Vec<UserConfig>,
    pub eval: EvalConfig,
    /// Largest request body accepted (bytes).
    pub max_body_bytes: usize,
    /// Longest a request may take.
    pub request_timeout: Duration,
    /// Failed sign-ins (per user name or address, 15 minutes) before sign-in is refused.
    pub login_max_failures: u32,
    /// Test hook: ARM client timings for the emulator (tiny delays).
    pub fast_arm: bool,
}

impl Config {
    /// `env` looks up an environment variable (`std::env::var(..).ok()` outside tests).
    pub fn new(args: ServeArgs, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let file = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the config file {}", path.display()))?;
                toml::from_str::<FileConfig>(&text)
                    .with_context(|| format!("config file {}", path.display()))?
            }
            None => FileConfig::default(),
        };
        // sign-in: flags (and their environment variables) over the config file
        let mut args = args;
        let f = &file;
        args.entra_tenant = args.entra_tenant.or_else(|| f.entra_tenant.clone());
        args.entra_issuer = args.entra_issuer.or_else(|| f.entra_issuer.clone());
        args.entra_client_id = args.entra_client_id.or_else(|| f.entra_client_id.clone());
        args.entra_client_secret_file = args
            .entra_client_secret_file
            .or_else(|| f.entra_client_secret_file.clone());
        args.entra_federated_token_file = args
            .entra_federated_token_file
            .or_else(|| f.entra_federated_token_file.clone());
        args.entra_redirect_url = args
            .entra_redirect_url
            .or_else(|| f.entra_redirect_url.clone());
        args.entra_app_roles = args.entra_app_roles.or_else(|| f.entra_app_roles.clone());
        args.local_accounts = args.local_accounts.or(f.local_accounts);
        if args.entra_tenant.is_some() && args.entra_issuer.is_some() {
            anyhow::bail!("entra_tenant and entra_issuer: give one of the two");
        }
        let entra = entra_config(&args, args.cloud.or(file.cloud).unwrap_or_default())?;
        let data_dir = args
            .data_dir
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("./data"));
        let database_url = args
            .database_url
            .or(file.database_url)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("portcullis.db").display()));
        let database_url = crate::store::database_url(
            &database_url,
            args.database_ca_file.or(file.database_ca_file).as_deref(),
            args.database_password_file
                .or(file.database_password_file)
                .as_deref(),
        )?;
        let arm_url = args.arm_url.or(file.arm_url);
        let credential = match (args.credential, file.credential) {
            (Some(c), _) => c,
            (None, Some(c)) => c.parse().map_err(|e| anyhow::anyhow!("config file: {e}"))?,
            (None, None) => crate::arm::Credential::Auto,
        }
        .resolve(&env);
        let cloud = args.cloud.or(file.cloud).unwrap_or_default();
        let data_source = if arm_url.is_some() || credential != crate::arm::Credential::None {
            DataSource::Azure
        } else {
            DataSource::Emulator
        };
        let eval = file.eval.unwrap_or_default();
        eval.validate()
            .map_err(|e| anyhow::anyhow!("config file [eval]: {e}"))?;
        let trusted_ranges: Vec<String> = args
            .trusted_ranges
            .or(file.trusted_ranges)
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        for (i, r) in trusted_ranges.iter().enumerate() {
            if !portcullis_shared::remediation::valid_source(r) {
                anyhow::bail!("trusted_ranges[{i}]: {r:?} is not an IP address or CIDR");
            }
        }
        for (i, u) in file.users.iter().enumerate() {
            if !u.password_hash.starts_with("$argon2") {
                anyhow::bail!("config file users[{i}].password_hash: not an argon2 hash (use `portcullis hash-password`)");
            }
        }
        let local_accounts = args.local_accounts.unwrap_or(true);
        if !local_accounts && entra.is_none() && data_source == DataSource::Azure {
            anyhow::bail!("--local-accounts=false needs sign-in with Entra ID (--entra-tenant and --entra-client-id), or nobody could sign in");
        }
        let demo_extra_vms = args.demo_extra_vms.or(file.demo_extra_vms).unwrap_or(0);
        if demo_extra_vms > MAX_DEMO_EXTRA_VMS {
            anyhow::bail!(
                "--demo-extra-vms {demo_extra_vms}: at most {MAX_DEMO_EXTRA_VMS} synthetic VMs"
            );
        }
        Ok(Self {
            listen: args
                .listen
                .or(file.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            dist: args
                .dist
                .or(file.dist)
                .unwrap_or_else(|| PathBuf::from("./dist")),
            data_dir,
            data_source,
            database_url,
            credential,
            cloud,
            arm_url,
            snapshot_interval: Duration::from_secs(
                args.snapshot_interval_secs
                    .or(file.snapshot_interval_secs)
                    .unwrap_or(900)
                    .max(1),
            ),
            retention_days: args.retention_days.or(file.retention_days).unwrap_or(730),
            session_ttl: Duration::from_secs(
                60 * args
                    .session_ttl_minutes
                    .or(file.session_ttl_minutes)
                    .unwrap_or(480),
            ),
            secure_cookies: args.secure_cookies.or(file.secure_cookies).unwrap_or(false),
            demo_password: args.demo_password.or(file.demo_password),
            backfill: args.backfill.or(file.backfill).unwrap_or(true),
            demo_extra_vms,
            trusted_ranges,
            scope: crate::snapshot::Scope::parse(&args.scope.unwrap_or_default())
                .map_err(anyhow::Error::msg)?,
            metrics_token: args.metrics_token.filter(|t| !t.trim().is_empty()),
            trusted_proxies: args
                .trusted_proxies
                .unwrap_or_default()
                .iter()
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .enumerate()
                .map(|(i, s)| {
                    portcullis_shared::net::Cidr::parse(s).ok_or_else(|| {
                        anyhow::anyhow!("trusted_proxies[{i}]: {s:?} is not an IP address or CIDR")
                    })
                })
                .collect::<anyhow::Result<_>>()?,
            entra,
            local_accounts,
            users: file.users,
            eval,
            max_body_bytes: 256 * 1024,
            request_timeout: Duration::from_secs(60),
            login_max_failures: 5,
            fast_arm: false,
        })
    }

    /// A config for tests: emulator, temporary directories, fast ARM timings, no backfill.
    pub fn for_tests(dist: PathBuf, data_dir: PathBuf) -> Self {
        let mut c = Self::new(
            ServeArgs {
                listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
                dist: Some(dist),
                data_dir: Some(data_dir),
                demo_password: Some("demo-password".into()),
                backfill: Some(false),
                snapshot_interval_secs: Some(3600),
                ..ServeArgs::default()
            },
            |_| None,
        )
        .expect("test config is valid");
        c.fast_arm = true;
        c
    }

    /// Demo mode: the embedded emulator (demo accounts, history backfill).
    pub fn demo(&self) -> bool {
        self.data_source == DataSource::Emulator
    }
}

/// Where the server reads Azure resources from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataSource {
    /// The embedded ARM emulator with its demo tenant: the default, and all tests use it.
    Emulator,
    /// Azure Resource Manager, with the `--credential` given or found (or `--arm-url`).
    Azure,
}

impl DataSource {
    /// The name used on the wire (`Health::data_source`) and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Emulator => "emulator",
            Self::Azure => "azure",
        }
    }
}

impl fmt::Display for DataSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The sign-in with Entra ID that the flags describe, if any; errors name the flag and value.
fn entra_config(
    args: &ServeArgs,
    cloud: crate::arm::Cloud,
) -> anyhow::Result<Option<crate::oidc::EntraConfig>> {
    use crate::oidc::{AppRoles, ClientAuth, EntraConfig};
    let issuer = match (&args.entra_issuer, &args.entra_tenant) {
        (Some(i), _) => {
            let u = url::Url::parse(i)
                .map_err(|e| anyhow::anyhow!("--entra-issuer: {i:?} is not a URL: {e}"))?;
            if u.path().contains("/common/") || u.path().contains("/organizations/") {
                anyhow::bail!(
                    "--entra-issuer: {i:?} is multi-tenant; give the tenant's own issuer"
                );
            }
            Some(i.trim_end_matches('/').to_string())
        }
        (None, Some(t)) => {
            Some(crate::oidc::tenant_issuer(cloud.authority(), t).map_err(anyhow::Error::msg)?)
        }
        (None, None) => None,
    };
    let Some(issuer) = issuer else {
        if args.entra_client_id.is_some() {
            anyhow::bail!(
                "--entra-client-id: sign-in also needs --entra-tenant (or --entra-issuer)"
            );
        }
        return Ok(None);
    };
    let client_id = args
        .entra_client_id
        .clone()
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| anyhow::anyhow!("--entra-tenant: sign-in also needs --entra-client-id"))?;
    let client_auth = match (
        &args.entra_client_secret,
        &args.entra_client_secret_file,
        &args.entra_federated_token_file,
    ) {
        (_, _, Some(f)) => ClientAuth::FederatedTokenFile(f.clone()),
        (_, Some(f), None) => {
            let text = std::fs::read_to_string(f).with_context(|| {
                format!("--entra-client-secret-file: cannot read {}", f.display())
            })?;
            ClientAuth::Secret(text.lines().next().unwrap_or_default().trim().to_string())
        }
        (Some(s), None, None) => ClientAuth::Secret(s.clone()),
        (None, None, None) => anyhow::bail!(
            "--entra-client-id: sign-in needs --entra-client-secret, --entra-client-secret-file or --entra-federated-token-file"
        ),
    };
    if let Some(r) = &args.entra_redirect_url {
        let u = url::Url::parse(r)
            .map_err(|e| anyhow::anyhow!("--entra-redirect-url: {r:?} is not a URL: {e}"))?;
        if u.scheme() != "https" && !matches!(u.host_str(), Some("localhost" | "127.0.0.1")) {
            anyhow::bail!("--entra-redirect-url: {r:?} must be https (Entra ID allows http for localhost only)");
        }
    }
    Ok(Some(EntraConfig {
        issuer,
        client_id,
        client_auth,
        redirect_url: args.entra_redirect_url.clone(),
        app_roles: match &args.entra_app_roles {
            Some(r) => AppRoles::parse(r).map_err(anyhow::Error::msg)?,
            None => AppRoles::default(),
        },
        label: "Sign in with Microsoft".into(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_can_come_from_the_config_file_under_the_flags() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "from-file\n").unwrap();
        let file = dir.path().join("portcullis.toml");
        std::fs::write(
            &file,
            format!(
                "entra_tenant = \"contoso.onmicrosoft.com\"\nentra_client_id = \"file-app\"\nentra_client_secret_file = {:?}\nlocal_accounts = false\n",
                secret.display().to_string()
            ),
        )
        .unwrap();
        let args = |client: Option<&str>| ServeArgs {
            config: Some(file.clone()),
            entra_client_id: client.map(str::to_string),
            ..ServeArgs::default()
        };
        let c = Config::new(args(None), |_| None).unwrap();
        let entra = c.entra.unwrap();
        assert_eq!(entra.client_id, "file-app");
        assert!(
            matches!(entra.client_auth, crate::oidc::ClientAuth::Secret(ref s) if s == "from-file")
        );
        assert!(!c.local_accounts);
        let c = Config::new(args(Some("flag-app")), |_| None).unwrap();
        assert_eq!(c.entra.unwrap().client_id, "flag-app", "the flag wins");
    }

    #[test]
    fn sign_in_flags_are_checked_and_errors_name_the_flag() {
        let with = |f: fn(&mut ServeArgs)| {
            let mut a = ServeArgs::default();
            f(&mut a);
            Config::new(a, |_| None)
        };
        let ok = with(|a| {
            a.entra_tenant = Some("contoso.onmicrosoft.com".into());
            a.entra_client_id = Some("app".into());
            a.entra_client_secret = Some("s3cret".into());
            a.cloud = Some(crate::arm::Cloud::Usgov);
        })
        .unwrap();
        let entra = ok.entra.unwrap();
        assert_eq!(
            entra.issuer,
            "https://login.microsoftonline.us/contoso.onmicrosoft.com/v2.0"
        );
        assert_eq!(entra.app_roles, crate::oidc::AppRoles::default());
        assert!(
            !format!("{:?}", entra.client_auth).contains("s3cret"),
            "no secret in Debug"
        );
        for (f, needle) in [
            (
                (|a: &mut ServeArgs| {
                    a.entra_tenant = Some("common".into());
                    a.entra_client_id = Some("app".into());
                    a.entra_client_secret = Some("s".into());
                }) as fn(&mut ServeArgs),
                "entra_tenant: \"common\"",
            ),
            (
                |a| a.entra_client_id = Some("app".into()),
                "--entra-client-id",
            ),
            (
                |a| {
                    a.entra_tenant = Some("t".into());
                    a.entra_client_id = Some("app".into());
                },
                "--entra-client-secret",
            ),
            (
                |a| {
                    a.entra_tenant = Some("t".into());
                    a.entra_client_id = Some("app".into());
                    a.entra_client_secret = Some("s".into());
                    a.entra_app_roles = Some("Read,Write".into());
                },
                "\"Read,Write\"",
            ),
            (
                |a| {
                    a.entra_tenant = Some("t".into());
                    a.entra_client_id = Some("app".into());
                    a.entra_client_secret = Some("s".into());
                    a.entra_redirect_url =
                        Some("http://portcullis.contoso.com/auth/callback".into());
                },
                "--entra-redirect-url",
            ),
            (
                |a| {
                    a.arm_url = Some("https://management.azure.com".into());
                    a.local_accounts = Some(false);
                },
                "--local-accounts=false",
            ),
        ] {
            let e = format!("{:#}", with(f).unwrap_err());
            assert!(e.contains(needle), "{needle}: {e}");
        }
    }

    fn env_of<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        }
    }

    fn data_source_with(args: ServeArgs, vars: &[(&str, &str)]) -> (DataSource, String) {
        let c = Config::new(args, env_of(vars)).unwrap();
        (c.data_source, c.credential.to_string())
    }

    #[test]
    fn data_source_is_the_emulator_without_a_full_credential() {
        let auto = || ServeArgs::default();
        assert_eq!(
            data_source_with(auto(), &[]),
            (DataSource::Emulator, "none".into())
        );
        let partial = [("AZURE_CLIENT_ID", "id"), ("AZURE_TENANT_ID", "tenant")];
        assert_eq!(data_source_with(auto(), &partial).0, DataSource::Emulator);
        let blank_secret = [
            ("AZURE_CLIENT_ID", "id"),
            ("AZURE_TENANT_ID", "tenant"),
            ("AZURE_CLIENT_SECRET", " "),
        ];
        assert_eq!(
            data_source_with(auto(), &blank_secret).0,
            DataSource::Emulator
        );
    }

    #[test]
    fn data_source_is_azure_with_a_full_credential_or_a_chosen_one() {
        let full = [
            ("AZURE_CLIENT_ID", "id"),
            ("AZURE_TENANT_ID", "tenant"),
            ("AZURE_CLIENT_SECRET", "secret"),
        ];
        assert_eq!(
            data_source_with(ServeArgs::default(), &full),
            (DataSource::Azure, "client-secret".into())
        );
        assert_eq!(DataSource::Azure.to_string(), "azure");
        let mi = ServeArgs {
            credential: Some(
                "managed-identity=11111111-2222-3333-4444-555555555555"
                    .parse()
                    .unwrap(),
            ),
            cloud: Some(crate::arm::Cloud::Usgov),
            ..ServeArgs::default()
        };
        let c = Config::new(mi, env_of(&[])).unwrap();
        assert_eq!(c.data_source, DataSource::Azure);
        assert_eq!(
            c.credential.to_string(),
            "managed-identity=11111111-2222-3333-4444-555555555555"
        );
        assert_eq!(c.cloud.arm_url(), "https://management.usgovcloudapi.net");
        assert_eq!(
            c.cloud.arm_scope(),
            "https://management.usgovcloudapi.net/.default"
        );
    }

    #[test]
    fn database_urls_name_their_backend_and_others_are_refused() {
        let with = |url: &str| {
            Config::new(
                ServeArgs {
                    database_url: Some(url.into()),
                    ..ServeArgs::default()
                },
                |_| None,
            )
        };
        assert!(with("sqlite://./data/x.db").is_ok());
        assert!(with("postgres://portcullis@db.internal:5432/portcullis").is_ok());
        assert!(with("postgresql://portcullis@db.internal/portcullis").is_ok());
        let err = format!(
            "{:#}",
            with("mysql://root:hunter2@db/portcullis").unwrap_err()
        );
        assert!(err.contains("database_url"), "{err}");
        assert!(err.contains("mysql://root:***@db/portcullis"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        assert!(with("./data/portcullis.db").is_err());
    }

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9999\"\nretention_days = 30\nsnapshot_interval_secs = 60\n",
        )
        .unwrap();
        let c = Config::new(
            ServeArgs {
                config: Some(file.clone()),
                retention_days: Some(7),
                ..ServeArgs::default()
            },
            |_| None,
        )
        .unwrap();
        assert_eq!(c.listen.port(), 9999);
        assert_eq!(c.retention_days, 7);
        assert_eq!(c.snapshot_interval, Duration::from_secs(60));
        assert!(c.database_url.starts_with("sqlite://"));
        std::fs::write(&file, "bogus_key = 1\n").unwrap();
        let err = Config::new(
            ServeArgs {
                config: Some(file),
                ..ServeArgs::default()
            },
            |_| None,
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("bogus_key"), "{err:#}");
    }

    #[test]
    fn demo_extra_vms_from_the_flag_or_the_file_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.toml");
        std::fs::write(&file, "demo_extra_vms = 500\n").unwrap();
        let with = |flag: Option<usize>| {
            Config::new(
                ServeArgs {
                    config: Some(file.clone()),
                    demo_extra_vms: flag,
                    ..ServeArgs::default()
                },
                |_| None,
            )
        };
        assert_eq!(with(None).unwrap().demo_extra_vms, 500);
        assert_eq!(with(Some(10_000)).unwrap().demo_extra_vms, 10_000);
        let err = with(Some(MAX_DEMO_EXTRA_VMS + 1)).unwrap_err();
        assert!(format!("{err:#}").contains("at most"), "{err:#}");
        assert_eq!(
            Config::new(ServeArgs::default(), |_| None)
                .unwrap()
                .demo_extra_vms,
            0
        );
    }
}
