//! [`TestApp`]: a real `portcullis serve` process on a free port, with its own data directory.
use crate::{profile_dir, repo_root, READY_TIMEOUT};
use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{mpsc, OnceLock},
    time::{Duration, Instant},
};

/// A running server. Dropping it kills the process (and prints its log if the test failed).
pub struct TestApp {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base_url: String,
    child: Child,
    log_path: PathBuf,
    _data_dir: tempfile::TempDir,
}

impl TestApp {
    /// Starts the server over the repository's built front end (`dist/`).
    pub fn start() -> Self {
        let dist = repo_root().join("dist");
        assert!(
            dist.join("index.html").is_file(),
            "{} is missing: build the front end first with `make build` \
             (trunk build --release at the repository root); `make test` does it before these tests",
            dist.join("index.html").display()
        );
        Self::start_with_dist(&dist)
    }

    /// Starts the server over any directory of static files.
    pub fn start_with_dist(dist: &Path) -> Self {
        Self::spawn(dist, &[], &[], READY_TIMEOUT)
    }

    /// [`TestApp::start`] with more `portcullis serve` flags and environment variables, waiting
    /// up to `startup` for the server (its first snapshot and history backfill come before
    /// it listens: a large demo tenant takes longer than [`READY_TIMEOUT`]).
    pub fn start_with(args: &[&str], envs: &[(&str, &str)], startup: Duration) -> Self {
        let dist = repo_root().join("dist");
        assert!(
            dist.join("index.html").is_file(),
            "{} is missing: build the front end first (scripts/build-frontend.sh)",
            dist.join("index.html").display()
        );
        Self::spawn(&dist, args, envs, startup)
    }

    fn spawn(dist: &Path, args: &[&str], envs: &[(&str, &str)], startup: Duration) -> Self {
        let data_dir = tempfile::tempdir().expect("temporary data directory");
        let log_path = data_dir.path().join("server.log");
        let log = std::fs::File::create(&log_path).expect("server log file");
        let mut child = Command::new(server_binary())
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .arg("--dist")
            .arg(dist)
            .arg("--data-dir")
            .arg(data_dir.path().join("data"))
            // Tests always use the embedded emulator, whatever credentials the machine has.
            .env_remove("AZURE_CLIENT_ID")
            .env_remove("AZURE_TENANT_ID")
            .env_remove("AZURE_CLIENT_SECRET")
            .env("RUST_LOG", "info")
            // Demo accounts viewer / operator / admin get a known password.
            .env("PORTCULLIS_DEMO_PASSWORD", crate::DEMO_PASSWORD)
            .args(args)
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start the portcullis binary");

        let addr = read_listening_addr(&mut child, &log_path, startup);
        let app = Self {
            base_url: format!("http://{addr}"),
            child,
            log_path,
            _data_dir: data_dir,
        };
        app.wait_until_healthy();
        app
    }

    /// `base_url` + `path` (`path` starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A plain HTTP/1.0 GET: (status, body). Enough for JSON and HTML checks, no client crate.
    pub fn get(&self, path: &str) -> (u16, String) {
        http_get(self.base_url.trim_start_matches("http://"), path)
            .unwrap_or_else(|error| panic!("GET {path}: {error}\n{}", self.log()))
    }

    /// `GET path`, expecting 200 and JSON of type `T`.
    pub fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|error| panic!("GET {path}: {error}: {body}"))
    }

    /// What the server logged so far (stderr).
    pub fn log(&self) -> String {
        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        format!("--- server log ({}) ---\n{log}", self.log_path.display())
    }

    fn wait_until_healthy(&self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            match http_get(self.base_url.trim_start_matches("http://"), "/healthz") {
                Ok((200, _)) => return,
                result if Instant::now() > deadline => {
                    panic!(
                        "/healthz never answered 200 (last: {result:?})\n{}",
                        self.log()
                    )
                }
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("{}", self.log());
        }
    }
}

/// Reads the server's stdout until its "Portcullis listening on http://ADDR ..." line.
fn read_listening_addr(child: &mut Child, log_path: &Path, timeout: Duration) -> String {
    let stdout = child.stdout.take().expect("piped stdout");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut sender = Some(sender);
        // Keep reading to the end so that the server never blocks on a full pipe.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("Portcullis listening on http://") {
                let addr = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                if let Some(sender) = sender.take() {
                    let _ = sender.send(addr);
                }
            }
        }
    });
    receiver.recv_timeout(timeout).unwrap_or_else(|_| {
        let status = child.try_wait().ok().flatten();
        let _ = child.kill();
        let log = std::fs::read_to_string(log_path).unwrap_or_default();
        panic!("the server did not announce its address (exit status: {status:?})\n{log}")
    })
}

fn http_get(host_port: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(host_port)?;
    stream.set_read_timeout(Some(READY_TIMEOUT))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host_port}\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {head:?}")))?;
    Ok((status, body.to_owned()))
}

/// The `portcullis` binary: `PORTCULLIS_BIN`, or a fresh `cargo build -p portcullis` (see the
/// crate docs), once per test process.
fn server_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            if let Some(path) = std::env::var_os("PORTCULLIS_BIN") {
                return PathBuf::from(path);
            }
            let profile_dir = profile_dir();
            let profile = match profile_dir.file_name().and_then(|name| name.to_str()) {
                Some("debug") | None => "dev".to_owned(),
                Some(other) => other.to_owned(),
            };
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
            let output = Command::new(cargo)
                .args(["build", "--package", "portcullis", "--bin", "portcullis"])
                .args(["--profile", &profile])
                .current_dir(crate::repo_root())
                .output()
                .expect("run cargo build");
            assert!(
                output.status.success(),
                "cargo build --package portcullis failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            profile_dir.join(format!("portcullis{}", std::env::consts::EXE_SUFFIX))
        })
        .clone()
}
