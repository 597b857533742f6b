//! The store: users and sessions, snapshots over time, history markers, the audit log and JIT
//! request records.
//!
//! Two backends, chosen by the database URL, through sqlx's `Any` driver:
//! - **SQLite** (`sqlite://PATH`, the default: `<data dir>/portcullis.db`): the file is created
//!   if missing and switched to WAL; every connection has foreign keys on and a 10 s busy
//!   timeout. One server process owns the file.
//! - **PostgreSQL** (`postgres://USER:PASSWORD@HOST:PORT/DB`, or `postgresql://`): several
//!   stateless replicas can share one database behind a load balancer. TLS through rustls, with
//!   libpq's `sslmode` in the URL (`require`: encrypted, any certificate; `verify-ca`: signed by
//!   a trusted CA; `verify-full`: and naming the host, what Azure Database for PostgreSQL
//!   wants); the CA file (`sslrootcert`, or `--database-ca-file`) else Mozilla's roots. The
//!   password in the URL or from a file (`--database-password-file`); see [`database_url`].
//!
//! The SQL is the same on both — `TEXT`/`BIGINT`/`DOUBLE PRECISION` only, `$n` placeholders,
//! times as Unix milliseconds, application-chosen keys — and so are the migrations
//! (`server/migrations/`, run at start-up; on PostgreSQL sqlx holds an advisory lock while it
//! migrates, so replicas starting together do not race). What differs is coordination between
//! processes, which only PostgreSQL needs: audit appends and JIT request ids are taken inside a
//! transaction holding a transaction-level advisory lock ([`LockKey`]), and the scheduler leader
//! and the demo backfill hold session-level advisory locks ([`Store::try_lock`],
//! [`Store::lock`]). On SQLite those locks are no-ops and the in-process mutexes suffice.
use crate::clock::{now_ms, parse_ms, rfc3339};
use anyhow::Context;
use portcullis_shared::api::{JitRequestRecord, JitRequestStatus, Role, UserInfo};
use sqlx::any::AnyPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::AnyConnection;
use sqlx::{ConnectOptions, Connection, Executor, Row};
use std::str::FromStr;
use std::sync::Arc;

pub type Db = sqlx::AnyPool;

/// Which database the URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend of a database URL, or an error naming the setting and the value.
    pub fn of_url(url: &str) -> anyhow::Result<Self> {
        let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or("");
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" | "postgresql" => Ok(Self::Postgres),
            _ => anyhow::bail!(
                "database_url (--database-url, PORTCULLIS_DATABASE_URL) {:?}: unsupported; use \
                 sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE",
                redact(url)
            ),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// A database URL fit for logs and errors: the password replaced by `***`.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// libpq's TLS modes, as the URL's `sslmode` takes them.
pub const SSL_MODES: [&str; 6] = [
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
];

/// The URL the store connects with: `url` plus, for PostgreSQL, the password read from
/// `password_file` (its first line) and the CA certificate file `ca_file` as `sslrootcert`.
/// Errors name the setting and the value, never the password.
pub fn database_url(
    url: &str,
    ca_file: Option<&std::path::Path>,
    password_file: Option<&std::path::Path>,
) -> anyhow::Result<String> {
    let backend = Backend::of_url(url)?;
    if backend == Backend::Sqlite {
        if let Some(setting) = ca_file
            .map(|_| "database_ca_file")
            .or(password_file.map(|_| "database_password_file"))
        {
            anyhow::bail!(
                "{setting}: only for a postgres:// database_url, not {}",
                redact(url)
            );
        }
        return Ok(url.to_string());
    }
    let mut u =
        url::Url::parse(url).map_err(|e| anyhow::anyhow!("database_url {:?}: {e}", redact(url)))?;
    if let Some((_, mode)) = u.query_pairs().find(|(k, _)| k == "sslmode") {
        anyhow::ensure!(
            SSL_MODES.contains(&mode.as_ref()),
            "database_url sslmode {mode:?}: not one of {}",
            SSL_MODES.join(", ")
        );
    }
    if let Some(path) = ca_file {
        std::fs::metadata(path)
            .map_err(|e| anyhow::anyhow!("database_ca_file {}: {e}", path.display()))?;
        u.query_pairs_mut()
            .append_pair("sslrootcert", &path.to_string_lossy());
    }
    if let Some(path) = password_file {
        anyhow::ensure!(
            u.password().is_none(),
            "database_password_file {}: the database_url already has a password",
            path.display()
        );
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("database_password_file {}: {e}", path.display()))?;
        let password = text.lines().next().unwrap_or_default();
        anyhow::ensure!(
            !password.is_empty(),
            "database_password_file {}: empty",
            path.display()
        );
        u.set_password(Some(password)).map_err(|_| {
            anyhow::anyhow!("database_url {:?}: cannot carry a password", redact(url))
        })?;
    }
    Ok(u.to_string())
}

/// The advisory locks Portcullis takes on PostgreSQL (one 64-bit key space per database).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKey {
    /// Held for as long as a replica is the scheduler leader.
    SchedulerLeader,
    /// Held while the demo history is checked and backfilled.
    DemoBackfill,
    /// Held (per transaction) while an audit entry is chained and appended.
    AuditAppend,
    /// Held (per transaction) while a JIT request record gets its id.
    JitRequestId,
}

impl LockKey {
    /// `"PCUL"` in the high half, the lock in the low half.
    pub fn id(self) -> i64 {
        let low = match self {
            Self::SchedulerLeader => 1,
            Self::DemoBackfill => 2,
            Self::AuditAppend => 3,
            Self::JitRequestId => 4,
        };
        (0x5043_554c_i64 << 32) | low
    }
}

/// A session-level advisory lock, held by a connection of its own until [`SessionLock::release`]
/// (or the drop of the lock, which closes the connection; PostgreSQL then frees the lock). On
/// SQLite it holds nothing: one process owns the database.
#[derive(Debug)]
pub struct SessionLock {
    conn: Option<AnyConnection>,
    key: i64,
}

impl SessionLock {
    /// Whether the lock is still held: on PostgreSQL, whether its connection is alive (a lost
    /// connection frees the lock on the server).
    pub async fn is_held(&mut self) -> bool {
        match &mut self.conn {
            None => true,
            Some(conn) => conn.ping().await.is_ok(),
        }
    }

    /// Frees the lock now: unlocked before its connection closes, since PostgreSQL frees a
    /// closed session's locks only once its backend has seen the connection go (another
    /// replica trying the lock at once could still find it held).
    pub async fn release(mut self) {
        if let Some(mut conn) = self.conn.take() {
            let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(self.key)
                .execute(&mut conn)
                .await;
            let _ = conn.close().await;
        }
    }
}

#[derive(Debug, Clone)]
pub struct Store {
    pub db: Db,
    pub backend: Backend,
    /// Serialises audit appends from this process (the chain needs the previous hash); on
    /// PostgreSQL an advisory lock serialises them across replicas too.
    pub(crate) audit_lock: Arc<tokio::sync::Mutex<()>>,
    /// Reads that every request makes (its session) or every page view (active JIT requests).
    cache: Arc<std::sync::Mutex<ReadCache>>,
}

/// How long this process reuses a session row or the active JIT requests it read: its own
/// sign-outs, role changes and JIT requests show at once; another replica's within this time.
pub const READ_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);
/// Sessions kept at most (then the cache starts again).
const SESSION_CACHE_MAX: usize = 10_000;

#[derive(Debug, Default)]
struct ReadCache {
    sessions: std::collections::HashMap<String, (SessionRow, std::time::Instant)>,
    /// The expiry (Unix ms) of each active JIT request, and when they were read.
    jit_active: Option<(Vec<i64>, std::time::Instant)>,
}

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub username: String,
    pub role: Role,
    pub csrf_token: String,
    pub expires_at: i64,
    /// Signed in with Entra ID: the person's name and object id (`None`: a local account).
    pub person: Option<SessionPerson>,
}

/// Who an Entra ID session belongs to, beside its user name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPerson {
    pub name: String,
    pub object_id: String,
}

#[derive(Debug, Clone)]
pub struct SnapshotRow {
    pub taken_at: i64,
    pub source: String,
    pub current_score: f64,
    pub percentage: f64,
    pub healthy: i64,
    pub unhealthy: i64,
    pub not_applicable: i64,
    pub reachable: i64,
    /// JSON: `[RecommendationCounts]`
    pub recommendations: String,
    /// JSON: `[{subscriptionId, displayName, currentScore, ...}]`
    pub subscriptions: String,
    pub duration_ms: i64,
}

#[derive(Debug, Clone)]
pub struct VmStatusRow {
    pub vm_id: String,
    pub subscription_id: String,
    pub status: String,
    pub recommendations: String,
}

#[derive(Debug, Clone)]
pub struct MarkerRow {
    pub at: i64,
    pub kind: String,
    pub summary: String,
    pub actor: Option<String>,
}

impl Store {
    /// Opens (on SQLite creating the file if needed) and migrates.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let backend = Backend::of_url(url)?;
        sqlx::any::install_default_drivers();
        let shown = redact(url);
        let mut pool = AnyPoolOptions::new().max_connections(8);
        if backend == Backend::Sqlite {
            // Create the file and switch it to WAL once (the journal mode is stored in the
            // file); the Any driver takes nothing but the URL, so the per-connection settings
            // are applied as each connection opens.
            let options = SqliteConnectOptions::from_str(url)
                .with_context(|| format!("database_url {shown:?}"))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(std::time::Duration::from_secs(10))
                .foreign_keys(true);
            let conn = options
                .connect()
                .await
                .with_context(|| format!("cannot open the database {shown}"))?;
            conn.close().await.ok();
            pool = pool.after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    Ok(())
                })
            });
            if url.contains(":memory:") || url.contains("mode=memory") {
                // every connection would see a database of its own: keep exactly one
                pool = pool
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None);
            }
        }
        let db = pool
            .connect(url)
            .await
            .with_context(|| format!("cannot open the database {shown}"))?;
        sqlx::migrate!("./migrations")
            .run(&db)
            .await
            .context("database migrations")?;
        Ok(Self {
            db,
            backend,
            audit_lock: Arc::new(tokio::sync::Mutex::new(())),
            cache: Arc::default(),
        })
    }

    // ----- locks between replicas -----

    /// Takes a session-level advisory lock if it is free (`None` when another connection holds
    /// it). Always succeeds on SQLite.
    pub async fn try_lock(&self, key: LockKey) -> Result<Option<SessionLock>, sqlx::Error> {
        if self.backend == Backend::Sqlite {
            return Ok(Some(SessionLock {
                conn: None,
                key: key.id(),
            }));
        }
        // a connection of its own, outside the pool: the lock lives as long as it does
        let mut conn = self.db.acquire().await?.detach();
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(key.id())
            .fetch_one(&mut conn)
            .await?;
        if got {
            Ok(Some(SessionLock {
                conn: Some(conn),
                key: key.id(),
            }))
        } else {
            let _ = conn.close().await;
            Ok(None)
        }
    }

    /// Takes a session-level advisory lock, waiting while another connection holds it.
    pub async fn lock(&self, key: LockKey) -> Result<SessionLock, sqlx::Error> {
        if self.backend == Backend::Sqlite {
            return Ok(SessionLock {
                conn: None,
                key: key.id(),
            });
        }
        let mut conn = self.db.acquire().await?.detach();
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(key.id())
            .execute(&mut conn)
            .await?;
        Ok(SessionLock {
            conn: Some(conn),
            key: key.id(),
        })
    }

    /// Begins a transaction; on PostgreSQL it first takes the transaction-level advisory lock
    /// `key`, so that read-then-write sequences (the audit chain, JIT ids) are serialised across
    /// replicas. On SQLite it is a plain connection (no transaction: a deferred SQLite
    /// transaction that reads and then writes fails at once with SQLITE_BUSY when another
    /// writer is active, whereas single statements wait out the busy timeout); callers hold an
    /// in-process lock instead.
    pub(crate) async fn serialized(&self, key: LockKey) -> Result<Serialized, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => Ok(Serialized::Plain(self.db.acquire().await?)),
            Backend::Postgres => {
                let mut tx = self.db.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(key.id())
                    .execute(&mut *tx)
                    .await?;
                Ok(Serialized::Tx(tx))
            }
        }
    }

    /// Rows of `snapshots` taken before `ms`.
    pub async fn snapshot_count_before(&self, ms: i64) -> Result<i64, sqlx::Error> {
        sqlx::query("SELECT COUNT(*) FROM snapshots WHERE taken_at < $1")
            .bind(ms)
            .fetch_one(&self.db)
            .await
            .map(|r| r.get(0))
    }

    // ----- users -----

    /// Creates or replaces an account (one statement, so that replicas starting together on
    /// one database do not race). Without a hash, an existing account keeps its password and
    /// source, and a new one cannot sign in.
    pub async fn upsert_user(
        &self,
        username: &str,
        role: Role,
        password_hash: Option<&str>,
        source: &str,
    ) -> Result<(), sqlx::Error> {
        // a role change applies to the user's sessions at once
        self.read_cache().sessions.clear();
        let on_conflict = match password_hash {
            Some(_) => "role = excluded.role, password_hash = excluded.password_hash, source = excluded.source",
            None => "role = excluded.role",
        };
        sqlx::query(&format!(
            "INSERT INTO users (username, role, password_hash, source, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (username) DO UPDATE SET {on_conflict}"
        ))
        .bind(username)
        .bind(role.as_str())
        .bind(password_hash.unwrap_or("!"))
        .bind(source)
        .bind(now_ms())
        .execute(&self.db)
        .await?;
        Ok(())
    }

    /// `(role, password hash)`.
    pub async fn user(&self, username: &str) -> Result<Option<(Role, String)>, sqlx::Error> {
        let row = sqlx::query("SELECT role, password_hash FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.db)
            .await?;
        Ok(row.map(|r| {
            let role: String = r.get(0);
            (Role::parse(&role).unwrap_or(Role::Viewer), r.get(1))
        }))
    }

    pub async fn users(&self) -> Result<Vec<UserInfo>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT username, role, source, created_at, last_login_at FROM users ORDER BY username",
        )
        .fetch_all(&self.db)
        .await?;
        Ok(rows
            .iter()
            .map(|r| UserInfo {
                username: r.get(0),
                role: Role::parse(&r.get::<String, _>(1)).unwrap_or(Role::Viewer),
                source: r.get(2),
                created_at: rfc3339(r.get(3)),
                last_login_at: r.get::<Option<i64>, _>(4).map(rfc3339),
            })
            .collect())
    }

    pub async fn touch_login(&self, username: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE users SET last_login_at = $1 WHERE username = $2")
            .bind(now_ms())
            .bind(username)
            .execute(&self.db)
            .await?;
        Ok(())
    }

    // ----- sessions -----

    pub async fn create_session(
        &self,
        token_hash: &str,
        username: &str,
        csrf: &str,
        expires_at: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO sessions (token_hash, username, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(token_hash).bind(username).bind(csrf).bind(now_ms()).bind(expires_at)
            .execute(&self.db).await?;
        Ok(())
    }

    /// A session of someone signed in with Entra ID, with the role their app roles gave.
    pub async fn create_person_session(
        &self,
        token_hash: &str,
        username: &str,
        role: Role,
        person: &SessionPerson,
        csrf: &str,
        expires_at: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO sessions (token_hash, username, csrf_token, created_at, expires_at, role, person_name, object_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(token_hash).bind(username).bind(csrf).bind(now_ms()).bind(expires_at)
            .bind(role.as_str()).bind(&person.name).bind(&person.object_id)
            .execute(&self.db).await?;
        Ok(())
    }

    /// Ends every local account's session (when local accounts are switched off).
    pub async fn revoke_local_sessions(&self) -> Result<u64, sqlx::Error> {
        self.read_cache().sessions.clear();
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE role IS NULL AND revoked_at IS NULL",
        )
        .bind(now_ms())
        .execute(&self.db)
        .await?;
        Ok(done.rows_affected())
    }

    /// A live session (not expired, not revoked) with its user's current role.
    fn read_cache(&self) -> std::sync::MutexGuard<'_, ReadCache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The session of a token (its hash), if it is valid now; reused for [`READ_CACHE_TTL`].
    pub async fn session(&self, token_hash: &str) -> Result<Option<SessionRow>, sqlx::Error> {
        let now = now_ms();
        if let Some((row, at)) = self.read_cache().sessions.get(token_hash) {
            if at.elapsed() < READ_CACHE_TTL && row.expires_at > now {
                return Ok(Some(row.clone()));
            }
        }
        let row = self.session_uncached(token_hash).await?;
        if let Some(r) = &row {
            let mut cache = self.read_cache();
            if cache.sessions.len() >= SESSION_CACHE_MAX {
                cache.sessions.clear();
            }
            cache.sessions.insert(
                token_hash.to_string(),
                (r.clone(), std::time::Instant::now()),
            );
        }
        Ok(row)
    }

    async fn session_uncached(&self, token_hash: &str) -> Result<Option<SessionRow>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT s.username, COALESCE(s.role, u.role), s.csrf_token, s.expires_at, s.person_name, s.object_id \
             FROM sessions s LEFT JOIN users u ON u.username = s.username AND s.role IS NULL \
             WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 \
             AND (s.role IS NOT NULL OR u.role IS NOT NULL)",
        )
        .bind(token_hash)
        .bind(now_ms())
        .fetch_optional(&self.db)
        .await?;
        Ok(row.map(|r| SessionRow {
            username: r.get(0),
            role: Role::parse(&r.get::<String, _>(1)).unwrap_or(Role::Viewer),
            csrf_token: r.get(2),
            expires_at: r.get(3),
            person: match (r.get::<Option<String>, _>(4), r.get::<Option<String>, _>(5)) {
                (Some(name), Some(object_id)) => Some(SessionPerson { name, object_id }),
                _ => None,
            },
        }))
    }

    /// Ends every session of a local account (its password changed): the old password's
    /// sessions stop at once. Returns how many there were.
    pub async fn revoke_sessions_of(&self, username: &str) -> Result<u64, sqlx::Error> {
        self.read_cache().sessions.clear();
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE username = $2 AND role IS NULL AND revoked_at IS NULL",
        )
        .bind(now_ms())
        .bind(username)
        .execute(&self.db)
        .await?;
        Ok(done.rows_affected())
    }

    pub async fn revoke_session(&self, token_hash: &str) -> Result<(), sqlx::Error> {
        self.read_cache().sessions.remove(token_hash);
        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2")
            .bind(now_ms())
            .bind(token_hash)
            .execute(&self.db)
            .await?;
        Ok(())
    }

    /// Test hook and housekeeping: ends a session now.
    pub async fn expire_session(&self, token_hash: &str) -> Result<(), sqlx::Error> {
        self.read_cache().sessions.remove(token_hash);
        sqlx::query("UPDATE sessions SET expires_at = $1 WHERE token_hash = $2")
            .bind(now_ms() - 1)
            .bind(token_hash)
            .execute(&self.db)
            .await?;
        Ok(())
    }

    // ----- snapshots and markers -----

    pub async fn insert_snapshot(
        &self,
        s: &SnapshotRow,
        vms: &[VmStatusRow],
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.db.begin().await?;
        sqlx::query("INSERT INTO snapshots (taken_at, source, current_score, percentage, healthy, unhealthy, not_applicable, reachable, recommendations, subscriptions, duration_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
            .bind(s.taken_at).bind(&s.source).bind(s.current_score).bind(s.percentage)
            .bind(s.healthy).bind(s.unhealthy).bind(s.not_applicable).bind(s.reachable)
            .bind(&s.recommendations).bind(&s.subscriptions).bind(s.duration_ms)
            .execute(&mut *tx).await?;
        for v in vms {
            sqlx::query("INSERT INTO snapshot_vms (taken_at, vm_id, subscription_id, status, recommendations) VALUES ($1, $2, $3, $4, $5)")
                .bind(s.taken_at).bind(&v.vm_id).bind(&v.subscription_id).bind(&v.status).bind(&v.recommendations)
                .execute(&mut *tx).await?;
        }
        tx.commit().await
    }

    /// [`Store::insert_snapshot`], moving `taken_at` on by a millisecond (a few times) while
    /// another snapshot — another replica's — has it; returns the key stored.
    pub async fn insert_snapshot_at_free_key(
        &self,
        s: &mut SnapshotRow,
        vms: &[VmStatusRow],
    ) -> Result<i64, sqlx::Error> {
        let mut tries = 0;
        loop {
            match self.insert_snapshot(s, vms).await {
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() && tries < 8 => {
                    tries += 1;
                    s.taken_at += 1;
                }
                r => return r.map(|()| s.taken_at),
            }
        }
    }

    pub async fn snapshots_since(&self, since_ms: i64) -> Result<Vec<SnapshotRow>, sqlx::Error> {
        let rows = sqlx::query("SELECT taken_at, source, current_score, percentage, healthy, unhealthy, not_applicable, reachable, recommendations, subscriptions, duration_ms \
                                FROM snapshots WHERE taken_at >= $1 ORDER BY taken_at")
            .bind(since_ms).fetch_all(&self.db).await?;
        Ok(rows
            .iter()
            .map(|r| SnapshotRow {
                taken_at: r.get(0),
                source: r.get(1),
                current_score: r.get(2),
                percentage: r.get(3),
                healthy: r.get(4),
                unhealthy: r.get(5),
                not_applicable: r.get(6),
                reachable: r.get(7),
                recommendations: r.get(8),
                subscriptions: r.get(9),
                duration_ms: r.get(10),
            })
            .collect())
    }

    pub async fn snapshot_count(&self) -> Result<i64, sqlx::Error> {
        sqlx::query("SELECT COUNT(*) FROM snapshots")
            .fetch_one(&self.db)
            .await
            .map(|r| r.get(0))
    }

    /// Per-VM statuses of one snapshot.
    pub async fn snapshot_vms(&self, taken_at: i64) -> Result<Vec<VmStatusRow>, sqlx::Error> {
        let rows = sqlx::query("SELECT vm_id, subscription_id, status, recommendations FROM snapshot_vms WHERE taken_at = $1 ORDER BY vm_id")
            .bind(taken_at).fetch_all(&self.db).await?;
        Ok(rows
            .iter()
            .map(|r| VmStatusRow {
                vm_id: r.get(0),
                subscription_id: r.get(1),
                status: r.get(2),
                recommendations: r.get(3),
            })
            .collect())
    }

    /// Deletes snapshots and markers older than `before_ms`; returns the snapshots deleted.
    pub async fn prune(&self, before_ms: i64) -> Result<u64, sqlx::Error> {
        let mut tx = self.db.begin().await?;
        sqlx::query("DELETE FROM snapshot_vms WHERE taken_at < $1")
            .bind(before_ms)
            .execute(&mut *tx)
            .await?;
        let n = sqlx::query("DELETE FROM snapshots WHERE taken_at < $1")
            .bind(before_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM markers WHERE at < $1")
            .bind(before_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(n)
    }

    pub async fn add_marker(&self, m: &MarkerRow) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO markers (at, kind, summary, actor) VALUES ($1, $2, $3, $4)")
            .bind(m.at)
            .bind(&m.kind)
            .bind(&m.summary)
            .bind(&m.actor)
            .execute(&self.db)
            .await?;
        Ok(())
    }

    pub async fn markers_since(&self, since_ms: i64) -> Result<Vec<MarkerRow>, sqlx::Error> {
        let rows =
            sqlx::query("SELECT at, kind, summary, actor FROM markers WHERE at >= $1 ORDER BY at")
                .bind(since_ms)
                .fetch_all(&self.db)
                .await?;
        Ok(rows
            .iter()
            .map(|r| MarkerRow {
                at: r.get(0),
                kind: r.get(1),
                summary: r.get(2),
                actor: r.get(3),
            })
            .collect())
    }

    // ----- JIT requests -----

    pub async fn insert_jit_request(&self, r: &JitRequestRecord) -> Result<i64, sqlx::Error> {
        self.read_cache().jit_active = None;
        let mut conn = self.serialized(LockKey::JitRequestId).await?;
        let id: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) + 1 FROM jit_requests")
            .fetch_one(conn.as_mut())
            .await?
            .get(0);
        sqlx::query("INSERT INTO jit_requests (id, vm_id, vm_name, ports, source_address, justification, requested_by, requested_at, expires_at, status, message) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
            .bind(id).bind(&r.vm_id).bind(&r.vm_name)
            .bind(serde_json::to_string(&r.ports).unwrap_or_default())
            .bind(&r.source_address).bind(&r.justification).bind(&r.requested_by)
            .bind(parse_ms(&r.requested_at)).bind(parse_ms(&r.expires_at))
            .bind(status_str(r.status)).bind(&r.message)
            .execute(conn.as_mut()).await?;
        conn.finish().await?;
        Ok(id)
    }

    /// How many JIT requests are active now (the expiries are reused for [`READ_CACHE_TTL`]).
    pub async fn active_jit_requests(&self) -> Result<usize, sqlx::Error> {
        let now = now_ms();
        if let Some((ends, at)) = &self.read_cache().jit_active {
            if at.elapsed() < READ_CACHE_TTL {
                return Ok(ends.iter().filter(|&&e| e > now).count());
            }
        }
        let ends: Vec<i64> = sqlx::query(
            "SELECT expires_at FROM jit_requests WHERE status = 'active' AND expires_at > $1",
        )
        .bind(now)
        .fetch_all(&self.db)
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
        let count = ends.len();
        self.read_cache().jit_active = Some((ends, std::time::Instant::now()));
        Ok(count)
    }

    /// Requests, newest first: all, or only those active at `now_ms`; optionally for one VM.
    pub async fn jit_requests(
        &self,
        active_at: Option<i64>,
        vm_id: Option<&str>,
    ) -> Result<Vec<JitRequestRecord>, sqlx::Error> {
        let rows = sqlx::query("SELECT id, vm_id, vm_name, ports, source_address, justification, requested_by, requested_at, expires_at, status, message \
                                FROM jit_requests ORDER BY id DESC")
            .fetch_all(&self.db).await?;
        let now = now_ms();
        Ok(rows
            .iter()
            .map(|r| {
                let expires_at: i64 = r.get(8);
                let stored: String = r.get(9);
                let status = match stored.as_str() {
                    "failed" => JitRequestStatus::Failed,
                    _ if expires_at <= now => JitRequestStatus::Expired,
                    "active" => JitRequestStatus::Active,
                    _ => JitRequestStatus::Expired,
                };
                JitRequestRecord {
                    id: r.get(0),
                    vm_id: r.get(1),
                    vm_name: r.get(2),
                    ports: serde_json::from_str(&r.get::<String, _>(3)).unwrap_or_default(),
                    source_address: r.get(4),
                    justification: r.get(5),
                    requested_by: r.get(6),
                    requested_at: rfc3339(r.get(7)),
                    expires_at: rfc3339(expires_at),
                    status,
                    message: r.get(10),
                }
            })
            .filter(|r| {
                active_at.is_none_or(|_| r.status == JitRequestStatus::Active)
                    && vm_id.is_none_or(|v| r.vm_id.eq_ignore_ascii_case(v))
            })
            .collect())
    }
}

/// A connection for a serialised read-then-write: see [`Store::serialized`].
pub(crate) enum Serialized {
    Plain(sqlx::pool::PoolConnection<sqlx::Any>),
    Tx(sqlx::Transaction<'static, sqlx::Any>),
}

impl Serialized {
    pub(crate) fn as_mut(&mut self) -> &mut AnyConnection {
        match self {
            Self::Plain(c) => c,
            Self::Tx(tx) => tx,
        }
    }

    /// Commits (PostgreSQL), which also frees the advisory lock.
    pub(crate) async fn finish(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Plain(_) => Ok(()),
            Self::Tx(tx) => tx.commit().await,
        }
    }
}

fn status_str(s: JitRequestStatus) -> &'static str {
    match s {
        JitRequestStatus::Active => "active",
        JitRequestStatus::Expired => "expired",
        JitRequestStatus::Failed => "failed",
    }
}
