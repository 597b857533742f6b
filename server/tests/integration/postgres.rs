//! The store and the server on a real PostgreSQL: a throwaway cluster per test (initdb into a
//! temporary directory, listening on a free port of 127.0.0.1 with trust authentication,
//! stopped when the test ends).
//!
//! Needs Debian's `postgresql` (scripts/setup.sh installs it): the tests fail, rather than
//! skip, when `initdb` and `pg_ctl` are not found under /usr/lib/postgresql/*/bin (or in
//! `PG_BIN_DIR`). Run as root, the cluster runs as the `postgres` system user (initdb refuses
//! root).
use axum::body::{to_bytes, Body};
use axum::http::{header, Method, Request, StatusCode};
use portcullis::audit::NewEntry;
use portcullis::clock::{now_ms, rfc3339};
use portcullis::config::Config;
use portcullis::router::build_router;
use portcullis::store::{Backend, LockKey, MarkerRow, SnapshotRow, Store, VmStatusRow};
use portcullis_shared::api::{AuditQuery, JitRequestRecord, JitRequestStatus, Role};
use serde_json::{json, Value};
use sqlx::Row;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use tower::ServiceExt;

/// A PostgreSQL cluster of its own, stopped on drop.
struct PgCluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    /// Run the server's tools as this user (`postgres` when the tests run as root).
    run_as: Option<String>,
    _dir: tempfile::TempDir,
}

/// The directory holding `initdb` and `pg_ctl`: `PG_BIN_DIR`, else the newest
/// /usr/lib/postgresql/*/bin.
fn pg_bin_dir() -> PathBuf {
    let usable = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Some(d) = std::env::var_os("PG_BIN_DIR").map(PathBuf::from) {
        assert!(
            usable(&d),
            "PG_BIN_DIR={} has no initdb and pg_ctl",
            d.display()
        );
        return d;
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            usable(&bin).then_some((version, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin: \
             run scripts/setup.sh (it installs Debian's postgresql), or set PG_BIN_DIR"
        ),
    }
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// TLS and a password for a test cluster: a CA and a server certificate that names
/// `localhost` only (made with openssl), and the superuser's password in a file.
struct Secured {
    ca: PathBuf,
    password_file: PathBuf,
    password: String,
}

fn openssl(dir: &Path, args: &[&str]) {
    run(
        Command::new("openssl").args(args).current_dir(dir),
        "openssl",
    );
}

/// Writes `ca.pem`, `server.pem`, `server.key` and `password` into `dir` (the cluster's home),
/// owned by `owner` when the cluster runs as another user (PostgreSQL refuses a key file it
/// does not own or that others can read).
fn secure(dir: &Path, owner: Option<(u32, u32)>) -> Secured {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/CN=Portcullis test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            "server.pem",
            "-extfile",
            "server.ext",
        ],
    );
    let password = "s3cret-Ä/%:@ pass".to_string();
    std::fs::write(dir.join("password"), format!("{password}\n")).unwrap();
    for f in ["server.key", "server.pem", "password"] {
        let path = dir.join(f);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
        }
    }
    Secured {
        ca: dir.join("ca.pem"),
        password_file: dir.join("password"),
        password,
    }
}

impl PgCluster {
    fn start() -> Self {
        Self::start_with(false).0
    }

    /// With `tls`: TLS on (the certificates of [`secure`]) and host connections by password
    /// (SCRAM) instead of trust.
    fn start_with(tls: bool) -> (Self, Option<Secured>) {
        let started = Instant::now();
        let bin = pg_bin_dir();
        let dir = tempfile::tempdir().expect("temporary directory");
        let root = std::fs::metadata("/proc/self")
            .map(|m| m.uid() == 0)
            .unwrap_or(false);
        let home = dir.path().join("pg");
        std::fs::create_dir(&home).unwrap();
        let run_as = root.then(|| "postgres".to_string());
        let mut owner = None;
        if let Some(user) = &run_as {
            // initdb refuses root: the cluster's directory belongs to the postgres user, and
            // the temporary directory above it must let that user through
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
            let id = |flag: &str| -> u32 {
                run(Command::new("id").args([flag, user]), "id")
                    .trim()
                    .parse()
                    .unwrap_or_else(|_| {
                        panic!("no {user} system user (Debian's postgresql creates it)")
                    })
            };
            std::os::unix::fs::chown(&home, Some(id("-u")), Some(id("-g"))).unwrap();
            owner = Some((id("-u"), id("-g")));
        }
        let secured = tls.then(|| secure(&home, owner));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Self {
            data: home.join("data"),
            bin,
            port,
            run_as,
            _dir: dir,
        };
        let mut initdb: Vec<std::ffi::OsString> = [
            "-D".into(),
            cluster.data.clone().into_os_string(),
            "-U".into(),
            "postgres".into(),
            "--encoding=UTF8".into(),
            "--locale=C".into(),
            "--no-sync".into(),
        ]
        .into();
        let mut options = format!(
            "-p {port} -h 127.0.0.1 -k {} -c fsync=off -c full_page_writes=off",
            home.display()
        );
        match &secured {
            None => initdb.push("--auth=trust".into()),
            Some(s) => {
                initdb.extend([
                    "--auth-local=trust".into(),
                    "--auth-host=scram-sha-256".into(),
                    format!("--pwfile={}", s.password_file.display()).into(),
                ]);
                options += &format!(
                    " -c ssl=on -c ssl_cert_file={0}/server.pem -c ssl_key_file={0}/server.key",
                    home.display()
                );
            }
        }
        let initdb: Vec<&std::ffi::OsStr> = initdb.iter().map(|a| a.as_os_str()).collect();
        cluster.tool("initdb", &initdb);
        cluster.tool(
            "pg_ctl",
            &[
                "-D".as_ref(),
                cluster.data.as_os_str(),
                "-l".as_ref(),
                home.join("server.log").as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
                "-w".as_ref(),
                "start".as_ref(),
            ],
        );
        eprintln!(
            "PostgreSQL from {} on 127.0.0.1:{port}: started in {:.1} s",
            cluster.bin.display(),
            started.elapsed().as_secs_f64()
        );
        (cluster, secured)
    }

    fn tool(&self, name: &str, args: &[&std::ffi::OsStr]) -> String {
        let exe = self.bin.join(name);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(exe);
                c
            }
            None => Command::new(exe),
        };
        cmd.args(args).current_dir("/");
        run(&mut cmd, name)
    }

    /// The URL of `database` (created first, empty).
    async fn database(&self, database: &str) -> String {
        let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", self.port);
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
            .await
            .expect("connect to the test cluster");
        sqlx::query(&format!("CREATE DATABASE {database}"))
            .execute(&mut conn)
            .await
            .unwrap();
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let exe = self.bin.join("pg_ctl");
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(exe);
                c
            }
            None => Command::new(exe),
        };
        let _ = cmd
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .current_dir("/")
            .output();
    }
}

fn snapshot(taken_at: i64, score: f64) -> SnapshotRow {
    SnapshotRow {
        taken_at,
        source: "test".into(),
        current_score: score,
        percentage: score / 8.0 * 100.0,
        healthy: 3,
        unhealthy: 2,
        not_applicable: 1,
        reachable: 2,
        recommendations: "[]".into(),
        subscriptions: "[]".into(),
        duration_ms: 12,
    }
}

fn entry(actor: &str, n: usize) -> NewEntry {
    NewEntry {
        actor: actor.into(),
        action: "test.append".into(),
        target: format!("target-{n}"),
        outcome: "success".into(),
        before: json!({ "n": n }),
        after: json!({ "n": n + 1, "note": "ünïcode ✓" }),
        detail: Value::Null,
    }
}

fn jit(vm: &str) -> JitRequestRecord {
    let now = now_ms();
    JitRequestRecord {
        id: 0,
        vm_id: vm.into(),
        vm_name: vm.rsplit('/').next().unwrap().into(),
        ports: vec![22, 3389],
        source_address: "203.0.113.7".into(),
        justification: "patching".into(),
        requested_by: "operator".into(),
        requested_at: rfc3339(now),
        expires_at: rfc3339(now + 3_600_000),
        status: JitRequestStatus::Active,
        message: None,
    }
}

/// Azure Database for PostgreSQL requires TLS: `sslmode` is honoured (verify-full checks the CA
/// and the host name, verify-ca only the CA, require only encryption, and a server without TLS
/// is refused), the CA comes from a file, and the password from a file, never shown.
#[tokio::test]
async fn postgres_over_tls_checks_the_server_and_reads_the_password_from_a_file() {
    use portcullis::store::database_url;
    let (pg, secured) = PgCluster::start_with(true);
    let s = secured.unwrap();
    let url = |host: &str, mode: &str| {
        format!(
            "postgres://postgres@{host}:{}/postgres?sslmode={mode}",
            pg.port
        )
    };
    let open = |host: &str, mode: &str, ca: bool| {
        let u = database_url(
            &url(host, mode),
            ca.then_some(s.ca.as_path()),
            Some(s.password_file.as_path()),
        )
        .unwrap();
        async move { Store::open(&u).await }
    };
    let encrypted = |store: Store| async move {
        sqlx::query("SELECT CAST(ssl AS TEXT) FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(&store.db)
            .await
            .unwrap()
            .get::<String, _>(0)
    };
    // verify-full with the CA, by the name on the certificate: connected, over TLS
    let store = open("localhost", "verify-full", true)
        .await
        .expect("verify-full");
    assert_eq!(encrypted(store).await, "true");
    // by address: the certificate names localhost, not 127.0.0.1
    let err = format!(
        "{:#}",
        open("127.0.0.1", "verify-full", true).await.err().unwrap()
    );
    assert!(err.to_ascii_lowercase().contains("certificate"), "{err}");
    assert!(!err.contains(&s.password), "{err}");
    // verify-ca checks the CA (sqlx 0.8.6 with rustls >= 0.23.24 also checks the name, its
    // issue #3793, so it is used here by name); require only encrypts, whatever the certificate
    let by_ca = open("localhost", "verify-ca", true)
        .await
        .expect("verify-ca");
    assert_eq!(encrypted(by_ca).await, "true");
    let err = format!(
        "{:#}",
        open("localhost", "verify-ca", false).await.err().unwrap()
    );
    assert!(err.to_ascii_lowercase().contains("certificate"), "{err}");
    let any = open("127.0.0.1", "require", false).await.expect("require");
    assert_eq!(encrypted(any).await, "true");
    // without the CA file the system's roots do not know the test CA
    let err = format!(
        "{:#}",
        open("localhost", "verify-full", false).await.err().unwrap()
    );
    assert!(err.to_ascii_lowercase().contains("certificate"), "{err}");
    // a wrong password is refused, and not shown
    let wrong = url("localhost", "verify-full").replace("postgres@", "postgres:not-it@");
    let err = format!(
        "{:#}",
        Store::open(&database_url(&wrong, Some(&s.ca), None).unwrap())
            .await
            .err()
            .unwrap()
    );
    assert!(err.contains("password authentication failed"), "{err}");
    assert!(!err.contains("not-it"), "{err}");
    // a server without TLS: require refuses it, prefer falls back to plaintext
    let plain = PgCluster::start();
    let plain_url = |mode: &str| {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?sslmode={mode}",
            plain.port
        )
    };
    assert!(Store::open(&plain_url("require")).await.is_err());
    assert_eq!(
        encrypted(Store::open(&plain_url("prefer")).await.unwrap()).await,
        "false"
    );
    // bad settings name the setting and the value
    let err = database_url(&plain_url("verify_full"), None, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("sslmode \"verify_full\""), "{err}");
    let err = database_url(
        &plain_url("require"),
        Some(Path::new("/nonexistent/ca.pem")),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("database_ca_file /nonexistent/ca.pem"),
        "{err}"
    );
    let err = database_url("sqlite://x.db", None, Some(&s.password_file))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("database_password_file"), "{err}");
}

#[tokio::test]
async fn the_store_on_postgres() {
    let pg = PgCluster::start();
    let url = pg.database("portcullis").await;
    let started = Instant::now();
    let store = Store::open(&url).await.expect("store opens and migrates");
    assert_eq!(store.backend, Backend::Postgres);
    // a second replica on the same database: migrations already applied, nothing to do
    let replica = Store::open(&url).await.expect("second store opens");

    // users and sessions
    store
        .upsert_user("alice", Role::Operator, Some("$argon2id$x"), "config")
        .await
        .unwrap();
    store
        .upsert_user("alice", Role::Admin, None, "config")
        .await
        .unwrap();
    assert_eq!(
        replica.user("alice").await.unwrap(),
        Some((Role::Admin, "$argon2id$x".to_string()))
    );
    assert_eq!(store.user("nobody").await.unwrap(), None);
    store.touch_login("alice").await.unwrap();
    let users = store.users().await.unwrap();
    assert_eq!(users.len(), 1);
    assert!(users[0].last_login_at.is_some());
    store
        .create_session("h1", "alice", "csrf1", now_ms() + 60_000)
        .await
        .unwrap();
    let s = replica.session("h1").await.unwrap().expect("live session");
    assert_eq!((s.username.as_str(), s.role), ("alice", Role::Admin));
    replica.revoke_session("h1").await.unwrap();
    assert!(store.session("h1").await.unwrap().is_none());
    store
        .create_session("h2", "alice", "csrf2", now_ms() + 60_000)
        .await
        .unwrap();
    store.expire_session("h2").await.unwrap();
    assert!(store.session("h2").await.unwrap().is_none());

    // snapshots, per-VM rows, markers, pruning
    let t = now_ms();
    let vms = vec![VmStatusRow {
        vm_id: "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/a"
            .into(),
        subscription_id: "s".into(),
        status: "unhealthy".into(),
        recommendations: "[\"closePorts\"]".into(),
    }];
    store
        .insert_snapshot(&snapshot(t - 10 * 86_400_000, 4.25), &vms)
        .await
        .unwrap();
    store
        .insert_snapshot(&snapshot(t, 6.5), &vms)
        .await
        .unwrap();
    assert!(
        store.insert_snapshot(&snapshot(t, 1.0), &[]).await.is_err(),
        "taken_at is the key"
    );
    // two replicas storing in the same millisecond: the second moves on by one
    let mut same = snapshot(t + 5, 7.0);
    store
        .insert_snapshot_at_free_key(&mut same.clone(), &vms)
        .await
        .unwrap();
    assert_eq!(
        replica
            .insert_snapshot_at_free_key(&mut same, &vms)
            .await
            .unwrap(),
        t + 6
    );
    let rows = replica.snapshots_since(t - 20 * 86_400_000).await.unwrap();
    assert_eq!(
        rows.iter().map(|r| r.current_score).collect::<Vec<_>>(),
        [4.25, 6.5, 7.0, 7.0]
    );
    assert_eq!(rows[1].percentage, 6.5 / 8.0 * 100.0);
    assert_eq!(store.snapshot_count().await.unwrap(), 4);
    assert_eq!(store.snapshot_count_before(t).await.unwrap(), 1);
    assert_eq!(store.snapshot_vms(t).await.unwrap()[0].status, "unhealthy");
    store
        .add_marker(&MarkerRow {
            at: t - 1,
            kind: "remediation".into(),
            summary: "denyPorts".into(),
            actor: Some("alice".into()),
        })
        .await
        .unwrap();
    store
        .add_marker(&MarkerRow {
            at: t - 20 * 86_400_000,
            kind: "scripted".into(),
            summary: "old".into(),
            actor: None,
        })
        .await
        .unwrap();
    assert_eq!(store.markers_since(t - 86_400_000).await.unwrap().len(), 1);
    assert_eq!(store.prune(t - 86_400_000).await.unwrap(), 1);
    assert_eq!(store.snapshots_since(0).await.unwrap().len(), 3);
    assert_eq!(store.markers_since(0).await.unwrap().len(), 1);
    assert!(store
        .snapshot_vms(t - 10 * 86_400_000)
        .await
        .unwrap()
        .is_empty());

    // JIT request records: ids stay unique with two replicas inserting at once
    let (a, b) = tokio::join!(
        async {
            let mut ids = Vec::new();
            for i in 0..10 {
                ids.push(
                    store
                        .insert_jit_request(&jit(&format!("/vm/a{i}")))
                        .await
                        .unwrap(),
                );
            }
            ids
        },
        async {
            let mut ids = Vec::new();
            for i in 0..10 {
                ids.push(
                    replica
                        .insert_jit_request(&jit(&format!("/vm/b{i}")))
                        .await
                        .unwrap(),
                );
            }
            ids
        }
    );
    let mut ids: Vec<i64> = a.into_iter().chain(b).collect();
    ids.sort();
    assert_eq!(ids, (1..=20).collect::<Vec<_>>());
    let mut failed = jit("/vm/c");
    failed.status = JitRequestStatus::Failed;
    failed.message = Some("the policy changed".into());
    let id = store.insert_jit_request(&failed).await.unwrap();
    let all = store.jit_requests(None, None).await.unwrap();
    assert_eq!(all.len(), 21);
    assert_eq!(all[0].id, id);
    assert_eq!(all[0].status, JitRequestStatus::Failed);
    assert_eq!(all[0].message.as_deref(), Some("the policy changed"));
    assert_eq!(all[1].ports, [22, 3389]);
    let active = store
        .jit_requests(Some(now_ms()), Some("/VM/A3"))
        .await
        .unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].message, None);

    // audit: two replicas appending at once keep one chain
    let (a, b) = tokio::join!(
        async {
            for i in 0..15 {
                store.audit(entry("alice", i)).await.unwrap();
            }
        },
        async {
            for i in 0..15 {
                replica.audit(entry("bob", i)).await.unwrap();
            }
        }
    );
    let ((), ()) = (a, b);
    assert_eq!(store.verify_audit().await.unwrap(), Ok(30));
    let page = replica
        .audit_entries(&AuditQuery {
            actor: Some("bob".into()),
            limit: Some(5),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 5);
    assert!(page.iter().all(|e| e.actor == "bob"));
    assert!(page.windows(2).all(|w| w[0].seq > w[1].seq));
    assert_eq!(page[0].after["note"], "ünïcode ✓");
    let older = store
        .audit_entries(&AuditQuery {
            before_seq: Some(page[4].seq),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert!(older.iter().all(|e| e.seq < page[4].seq));

    // `portcullis audit verify --database-url postgres://...`, intact then tampered with
    let verify = || {
        Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .args(["audit", "verify", "--database-url", &url])
            .env_remove("PORTCULLIS_DATA_DIR")
            .output()
            .unwrap()
    };
    let ok = verify();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("30 entries"));
    sqlx::query("UPDATE audit SET actor = 'mallory' WHERE seq = 7")
        .execute(&store.db)
        .await
        .unwrap();
    let verdict = store.verify_audit().await.unwrap().unwrap_err();
    assert!(verdict.starts_with("entry 7:"), "{verdict}");
    let bad = verify();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("entry 7"));
    sqlx::query("DELETE FROM audit WHERE seq = 12")
        .execute(&store.db)
        .await
        .unwrap();
    sqlx::query("UPDATE audit SET actor = CASE WHEN seq % 2 = 0 THEN 'bob' ELSE 'alice' END")
        .execute(&store.db)
        .await
        .unwrap();
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM audit")
        .fetch_one(&store.db)
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 29);
    assert!(store.verify_audit().await.unwrap().is_err());

    // the scheduler leader lock: one holder at a time, freed on release
    let mut first = store
        .try_lock(LockKey::SchedulerLeader)
        .await
        .unwrap()
        .expect("the first replica leads");
    assert!(replica
        .try_lock(LockKey::SchedulerLeader)
        .await
        .unwrap()
        .is_none());
    assert!(
        store
            .try_lock(LockKey::SchedulerLeader)
            .await
            .unwrap()
            .is_none(),
        "a second connection of the same process does not lead either"
    );
    assert!(first.is_held().await);
    // another key is independent
    let other = replica.try_lock(LockKey::DemoBackfill).await.unwrap();
    assert!(other.is_some());
    other.unwrap().release().await;
    first.release().await;
    let second = replica
        .try_lock(LockKey::SchedulerLeader)
        .await
        .unwrap()
        .expect("the lock is free once released");
    // a dropped holder (its connection gone) frees it too
    drop(second);
    let mut again = None;
    for _ in 0..50 {
        again = store.try_lock(LockKey::SchedulerLeader).await.unwrap();
        if again.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(again.is_some(), "the lock of a closed connection is freed");
    eprintln!(
        "store checks on PostgreSQL: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test]
async fn sqlite_stays_the_default_and_bad_urls_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("p.db").display());
    let store = Store::open(&url).await.unwrap();
    assert_eq!(store.backend, Backend::Sqlite);
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(&store.db)
        .await
        .unwrap()
        .get(0);
    assert_eq!(mode, "wal");
    let fk: i64 = sqlx::query("PRAGMA foreign_keys")
        .fetch_one(&store.db)
        .await
        .unwrap()
        .get(0);
    assert_eq!(fk, 1);
    let busy: i64 = sqlx::query("PRAGMA busy_timeout")
        .fetch_one(&store.db)
        .await
        .unwrap()
        .get(0);
    assert_eq!(busy, 10_000);
    let mut row = snapshot(1_000, 5.0);
    store.insert_snapshot(&row, &[]).await.unwrap();
    assert_eq!(
        store
            .insert_snapshot_at_free_key(&mut row, &[])
            .await
            .unwrap(),
        1_001
    );
    // SQLite: this process always leads
    let a = store.try_lock(LockKey::SchedulerLeader).await.unwrap();
    let b = store.try_lock(LockKey::SchedulerLeader).await.unwrap();
    assert!(a.is_some() && b.is_some());
    let err = format!(
        "{:#}",
        Store::open("mysql://root:secret@localhost/p")
            .await
            .unwrap_err()
    );
    assert!(err.contains("database_url"), "{err}");
    assert!(err.contains("mysql://root:***@localhost/p"), "{err}");
}

/// Sends a request to the router; returns the status, the JSON body and any cookie set.
async fn send(
    router: &axum::Router,
    method: Method,
    uri: &str,
    session: Option<(&str, &str)>,
    body: Option<Value>,
) -> (StatusCode, Value, Option<String>) {
    let mut r = Request::builder().method(method).uri(uri);
    if let Some((cookie, csrf)) = session {
        r = r
            .header(header::COOKIE, cookie)
            .header("x-csrf-token", csrf);
    }
    let req = match body {
        Some(b) => r
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string()))
            .unwrap(),
        None => r.body(Body::empty()).unwrap(),
    };
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let cookie = resp
        .headers()
        .get(header::SET_COOKIE)
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_string());
    let bytes = to_bytes(resp.into_body(), 1 << 24).await.unwrap();
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, v, cookie)
}

async fn login(router: &axum::Router, user: &str) -> (String, String) {
    let (s, me, cookie) = send(
        router,
        Method::POST,
        "/api/login",
        None,
        Some(json!({ "username": user, "password": "demo-password" })),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "login {user}: {me}");
    (
        cookie.expect("session cookie"),
        me["csrfToken"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn two_servers_share_one_postgres() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("portcullis=warn")
        .try_init();
    let pg = PgCluster::start();
    let url = pg.database("portcullis").await;
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), "<!-- test index -->").unwrap();
    // two replicas (each with its own emulator), starting at once with the demo backfill on
    let config = |name: &str| {
        let mut c = Config::for_tests(dist.clone(), dir.path().join(name));
        c.database_url = url.clone();
        c.backfill = true;
        c
    };
    let started = Instant::now();
    let (a, b) = tokio::join!(
        portcullis::startup::start(config("a")),
        portcullis::startup::start(config("b"))
    );
    let (a, b) = (a.expect("replica a starts"), b.expect("replica b starts"));
    eprintln!(
        "two replicas started on PostgreSQL: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let backfilled: i64 = sqlx::query("SELECT COUNT(*) FROM snapshots WHERE source = 'backfill'")
        .fetch_one(&a.store.db)
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        backfilled,
        portcullis::backfill::BACKFILL_DAYS,
        "the demo history is backfilled once"
    );

    let ra = build_router(a.clone());
    let rb = build_router(b.clone());
    // signed in on one replica, the session works on the other (sessions live in the database)
    let (cookie, csrf) = login(&ra, "operator").await;
    let op = Some((cookie.as_str(), csrf.as_str()));
    let (s, posture, _) = send(&rb, Method::GET, "/api/posture?q=sql-lab-01", op, None).await;
    assert_eq!(s, StatusCode::OK, "{posture}");
    let sql_lab = posture["vms"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "sql-lab-01")
        .expect("sql-lab-01 in the posture")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let req = json!({ "kind": "denyPorts", "vmIds": [sql_lab] });
    let (s, r, _) = send(&rb, Method::POST, "/api/remediations/apply", op, Some(req)).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["outcome"], "applied");

    let (cookie, csrf) = login(&rb, "admin").await;
    let admin = Some((cookie.as_str(), csrf.as_str()));
    let (s, page, _) = send(&ra, Method::GET, "/api/audit", admin, None).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let actions: Vec<&str> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"remediation.apply"), "{actions:?}");
    assert_eq!(actions.iter().filter(|a| **a == "login").count(), 2);
    assert!(matches!(a.store.verify_audit().await.unwrap(), Ok(n) if n >= 3));
    let (s, h, _) = send(
        &ra,
        Method::GET,
        "/api/history?range=90d&granularity=raw",
        admin,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{h}");
    assert!(h["points"].as_array().unwrap().len() > 90, "{h}");
    assert!(h["markers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["kind"] == "remediation"));
    let (s, ready, _) = send(&rb, Method::GET, "/readyz", None, None).await;
    assert_eq!((s, ready), (StatusCode::OK, json!("ready")));
}
