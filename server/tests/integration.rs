//! The server's one integration test binary: the real router (through `oneshot`), the real
//! emulator over loopback HTTP, real SQLite and PostgreSQL stores, and the `portcullis` binary.
//! Shared helpers are in `integration/support.rs`.
mod integration {
    pub mod alerts;
    pub mod api;
    pub mod arm_examples;
    pub mod emulator_client;
    pub mod entra;
    pub mod evaluate_cli;
    pub mod identity;
    pub mod jit;
    pub mod nic_put;
    pub mod postgres;
    pub mod proxy;
    pub mod support;
}
