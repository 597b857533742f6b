//! The one end-to-end test binary: the real server, the built front end, headless Chromium.
//! Needs `dist/` (`make build`); `make test` builds it first.
mod integration {
    pub mod alerts;
    pub mod dashboard;
    pub mod entra;
    pub mod health;
    pub mod keyboard_layout;
    pub mod paths;
    pub mod scale;
}
