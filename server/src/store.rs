//! The store: users and sessions, snapshots over time, history markers, the audit log and JIT
//! request records.
//!
//! SQLite (file under the data directory, WAL) is built in. The SQL is kept portable to
//! PostgreSQL — `TEXT`/`BIGINT`/`DOUBLE PRECISION` only, `$n` placeholders, times as Unix
//! milliseconds, application-chosen keys — so moving to a `postgres://` URL is a matter of
//! enabling sqlx's `postgres` driver and swapping [`Db`]; it is not compiled in today.
use anyhow::Context;
use portcullis_shared::api::{JitRequestRecord, JitRequestStatus, Role, UserInfo};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::Row;
use std::str::FromStr;
use std::sync::Arc;

pub type Db = sqlx::SqlitePool;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// RFC 3339 (UTC, seconds) of Unix milliseconds.
pub fn rfc3339(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[derive(Debug, Clone)]
pub struct Store {
    pub db: Db,
    /// Serialises audit appends (the chain needs the previous hash).
    pub(crate) audit_lock: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub username: String,
    pub role: Role,
    pub csrf_token: String,
    pub expires_at: i64,
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
    /// Opens (creating the file if needed) and migrates.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        if !url.starts_with("sqlite:") {
            anyhow::bail!(
                "database URL {url:?}: only sqlite:// is compiled in (the SQL is portable to PostgreSQL; see server/src/store.rs)"
            );
        }
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("database URL {url}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(std::time::Duration::from_secs(10))
            .foreign_keys(true);
        let db = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open the database {url}"))?;
        sqlx::migrate!("./migrations")
            .run(&db)
            .await
            .context("database migrations")?;
        Ok(Self {
            db,
            audit_lock: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    // ----- users -----

    /// Creates or replaces an account.
    pub async fn upsert_user(
        &self,
        username: &str,
        role: Role,
        password_hash: Option<&str>,
        source: &str,
    ) -> Result<(), sqlx::Error> {
        let existing = self.user(username).await?;
        match (existing, password_hash) {
            (Some(_), Some(hash)) => {
                sqlx::query("UPDATE users SET role = $1, password_hash = $2, source = $3 WHERE username = $4")
                    .bind(role.as_str()).bind(hash).bind(source).bind(username)
                    .execute(&self.db).await?;
            }
            (Some(_), None) => {
                sqlx::query("UPDATE users SET role = $1 WHERE username = $2")
                    .bind(role.as_str())
                    .bind(username)
                    .execute(&self.db)
                    .await?;
            }
            (None, hash) => {
                sqlx::query("INSERT INTO users (username, role, password_hash, source, created_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(username).bind(role.as_str()).bind(hash.unwrap_or("!")).bind(source).bind(now_ms())
                    .execute(&self.db).await?;
            }
        }
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

    /// A live session (not expired, not revoked) with its user's current role.
    pub async fn session(&self, token_hash: &str) -> Result<Option<SessionRow>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT s.username, u.role, s.csrf_token, s.expires_at FROM sessions s JOIN users u ON u.username = s.username \
             WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2",
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
        }))
    }

    pub async fn revoke_session(&self, token_hash: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2")
            .bind(now_ms())
            .bind(token_hash)
            .execute(&self.db)
            .await?;
        Ok(())
    }

    /// Test hook and housekeeping: ends a session now.
    pub async fn expire_session(&self, token_hash: &str) -> Result<(), sqlx::Error> {
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
        let id: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) + 1 FROM jit_requests")
            .fetch_one(&self.db)
            .await?
            .get(0);
        sqlx::query("INSERT INTO jit_requests (id, vm_id, vm_name, ports, source_address, justification, requested_by, requested_at, expires_at, status, message) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
            .bind(id).bind(&r.vm_id).bind(&r.vm_name)
            .bind(serde_json::to_string(&r.ports).unwrap_or_default())
            .bind(&r.source_address).bind(&r.justification).bind(&r.requested_by)
            .bind(parse_ms(&r.requested_at)).bind(parse_ms(&r.expires_at))
            .bind(status_str(r.status)).bind(&r.message)
            .execute(&self.db).await?;
        Ok(id)
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

fn status_str(s: JitRequestStatus) -> &'static str {
    match s {
        JitRequestStatus::Active => "active",
        JitRequestStatus::Expired => "expired",
        JitRequestStatus::Failed => "failed",
    }
}

/// Unix milliseconds of an RFC 3339 time (0 when unreadable).
pub fn parse_ms(s: &str) -> i64 {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .unwrap_or(0)
}
