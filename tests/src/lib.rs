//! End-to-end test helpers: the real `portcullis` server ([`TestApp`]) and headless Chromium
//! driven through Debian's chromedriver ([`Browser`]).
//!
//! How the server binary is found: a binary-only package cannot be a dependency, and
//! `CARGO_BIN_EXE_*` exists only inside the binary's own package. So [`TestApp`] runs
//! `cargo build -p portcullis` (same profile as the running tests) once per test process:
//! cargo has released its build lock by the time tests run, an up-to-date build is a no-op
//! (~0.3 s), and the tests can never run a stale server. `PORTCULLIS_BIN=/path/to/portcullis`
//! skips the build and uses that binary instead.
//!
//! The front end is not built here (a wasm build takes minutes): it must already be in
//! `dist/` (`make build`; `make test` builds it before the tests). A missing `dist/index.html`
//! fails the test with that instruction, it never skips.
pub mod app;
pub mod browser;

pub use app::TestApp;
pub use browser::Browser;

use std::{path::PathBuf, time::Duration};

/// How long to wait for anything to become ready (a server, a driver, an element).
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The password of the demo accounts (`viewer`, `operator`, `admin`) of every [`TestApp`].
pub const DEMO_PASSWORD: &str = "e2e-demo-password";

/// The repository root (the workspace).
pub fn repo_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .expect("tests/ lives inside the workspace")
        .to_owned()
}

/// Cargo's profile directory of the running test binary (`target/debug`, `target/release`):
/// the test executable is `<profile dir>/deps/<name>-<hash>`.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("path of the test executable");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("the test executable lives in <target>/<profile>/deps")
        .to_owned()
}

/// `target/` (or `CARGO_TARGET_DIR`): where screenshots and other test output go.
pub fn target_dir() -> PathBuf {
    profile_dir()
        .parent()
        .expect("the profile directory lives in the target directory")
        .to_owned()
}
