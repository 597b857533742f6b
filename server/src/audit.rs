//! The audit log: every write and every sign-in (who, when, what, before, after, outcome),
//! append-only and hash-chained. Entry `n`'s hash is
//! `sha256(prev_hash || canonical JSON of {seq, at, actor, action, target, outcome, before, after, detail})`
//! (keys sorted, no spaces); the first entry's `prev_hash` is 64 zeros. `portcullis audit
//! verify` recomputes the chain and names the first entry that does not match.
use crate::clock::{now_ms, rfc3339};
use crate::store::{LockKey, Store};
use clap::{Args, Subcommand};
use portcullis_shared::api::{AuditEntry, AuditQuery};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::path::PathBuf;
use std::process::ExitCode;

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What to record.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub before: Value,
    pub after: Value,
    pub detail: Value,
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The hash of an entry given the previous one's.
pub fn entry_hash(prev_hash: &str, e: &AuditEntry) -> String {
    // serde_json's map is a BTreeMap: keys come out sorted, so this is canonical
    let canonical = json!({
        "seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "target": e.target,
        "outcome": e.outcome, "before": e.before, "after": e.after, "detail": e.detail,
    })
    .to_string();
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(canonical.as_bytes());
    hex(&h.finalize())
}

impl Store {
    /// Appends an entry; returns its sequence number.
    pub async fn audit(&self, e: NewEntry) -> Result<i64, sqlx::Error> {
        // Appends from this process are serialised by this lock; on PostgreSQL the chain is
        // read and extended inside a transaction holding an advisory lock, which serialises
        // appends across replicas (see `Store::serialized`).
        let _guard = self.audit_lock.lock().await;
        let mut conn = self.serialized(LockKey::AuditAppend).await?;
        let last = sqlx::query("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
            .fetch_optional(conn.as_mut())
            .await?;
        let (seq, prev) = match last {
            Some(r) => (r.get::<i64, _>(0) + 1, r.get::<String, _>(1)),
            None => (1, GENESIS.to_string()),
        };
        let mut entry = AuditEntry {
            seq,
            at: rfc3339(now_ms()),
            actor: e.actor,
            action: e.action,
            target: e.target,
            outcome: e.outcome,
            before: e.before,
            after: e.after,
            detail: e.detail,
            prev_hash: prev.clone(),
            hash: String::new(),
        };
        entry.hash = entry_hash(&prev, &entry);
        sqlx::query("INSERT INTO audit (seq, at, actor, action, target, outcome, before_json, after_json, detail_json, prev_hash, hash) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
            .bind(entry.seq).bind(crate::clock::parse_ms(&entry.at)).bind(&entry.actor).bind(&entry.action)
            .bind(&entry.target).bind(&entry.outcome).bind(entry.before.to_string())
            .bind(entry.after.to_string()).bind(entry.detail.to_string())
            .bind(&entry.prev_hash).bind(&entry.hash)
            .execute(conn.as_mut()).await?;
        conn.finish().await?;
        Ok(seq)
    }

    /// Entries, newest first.
    pub async fn audit_entries(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, sqlx::Error> {
        let limit = i64::from(q.limit.unwrap_or(100).clamp(1, 1000));
        let rows = sqlx::query(
            "SELECT seq, at, actor, action, target, outcome, before_json, after_json, detail_json, prev_hash, hash FROM audit \
             WHERE seq < $1 AND ($2 = '' OR actor = $2 OR substr(actor, 1, length($2) + 2) = $2 || ' (') AND ($3 = '' OR action = $3) ORDER BY seq DESC LIMIT $4",
        )
        .bind(q.before_seq.unwrap_or(i64::MAX))
        .bind(q.actor.clone().unwrap_or_default())
        .bind(q.action.clone().unwrap_or_default())
        .bind(limit)
        .fetch_all(&self.db)
        .await?;
        Ok(rows.iter().map(row_entry).collect())
    }

    /// Checks the whole chain: `Ok(n)` entries verified, or `Err(message naming the entry)`.
    pub async fn verify_audit(&self) -> Result<Result<usize, String>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, action, target, outcome, before_json, after_json, detail_json, prev_hash, hash FROM audit ORDER BY seq",
        )
        .fetch_all(&self.db)
        .await?;
        let mut prev = GENESIS.to_string();
        for (expected_seq, r) in (1i64..).zip(rows.iter()) {
            let e = row_entry(r);
            if e.seq != expected_seq {
                return Ok(Err(format!(
                    "entry {}: expected sequence number {expected_seq} (an entry was removed or inserted)",
                    e.seq
                )));
            }
            if e.prev_hash != prev {
                return Ok(Err(format!(
                    "entry {}: prev_hash does not match the hash of entry {}",
                    e.seq,
                    e.seq - 1
                )));
            }
            let h = entry_hash(&prev, &e);
            if h != e.hash {
                return Ok(Err(format!(
                    "entry {}: content does not match its hash (altered)",
                    e.seq
                )));
            }
            prev = e.hash;
        }
        Ok(Ok(rows.len()))
    }
}

fn row_entry(r: &sqlx::any::AnyRow) -> AuditEntry {
    let parse = |s: String| serde_json::from_str(&s).unwrap_or(Value::String(s));
    AuditEntry {
        seq: r.get(0),
        at: rfc3339(r.get(1)),
        actor: r.get(2),
        action: r.get(3),
        target: r.get(4),
        outcome: r.get(5),
        before: parse(r.get(6)),
        after: parse(r.get(7)),
        detail: parse(r.get(8)),
        prev_hash: r.get(9),
        hash: r.get(10),
    }
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain; exit 1 naming the first broken entry.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The server's data directory (the database is `portcullis.db` in it).
    #[arg(long, env = "PORTCULLIS_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Database URL (overrides --data-dir).
    #[arg(long, env = "PORTCULLIS_DATABASE_URL")]
    pub database_url: Option<String>,
}

pub fn run(cmd: AuditCommand) -> ExitCode {
    let AuditCommand::Verify(args) = cmd;
    let url = args
        .database_url
        .unwrap_or_else(|| format!("sqlite://{}", args.data_dir.join("portcullis.db").display()));
    let db_file = args.data_dir.join("portcullis.db");
    if url.starts_with("sqlite:")
        && !url.contains("memory")
        && !db_file.is_file()
        && url.ends_with("portcullis.db")
    {
        eprintln!(
            "portcullis audit verify: no database at {}",
            db_file.display()
        );
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("portcullis audit verify: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async {
        let store = match Store::open(&url).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("portcullis audit verify: {e:#}");
                return ExitCode::from(2);
            }
        };
        match store.verify_audit().await {
            Ok(Ok(n)) => {
                println!("audit chain intact: {n} entries");
                ExitCode::SUCCESS
            }
            Ok(Err(msg)) => {
                eprintln!("audit chain broken: {msg}");
                ExitCode::from(1)
            }
            Err(e) => {
                eprintln!("portcullis audit verify: {e}");
                ExitCode::from(2)
            }
        }
    })
}
