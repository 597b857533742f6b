//! The library half of the `portcullis` package, used by the binary (`main.rs`) and the server's
//! integration tests (`server/tests/`):
//! - the server: [`startup`] (wiring), [`state`], [`router`], [`handlers`], [`auth`], [`store`],
//!   [`writes`], [`audit`], [`alerts`], [`metrics`], the read-only ARM [`proxy`];
//! - snapshots: [`snapshot`] (the inventory from ARM), [`refresh`] (evaluate, store, make
//!   current), [`summary`], [`scheduler`], the demo [`backfill`];
//! - the ARM client ([`arm`]). The ARM emulator is the `portcullis-emulator` crate.
//!
//! How the pieces fit: docs/ARCHITECTURE.md.
pub mod alerts;
pub mod arm;
pub mod audit;
pub mod auth;
pub mod backfill;
pub mod clock;
pub mod config;
pub mod error;
pub mod handlers;
pub mod metrics;
pub mod oidc;
pub mod proxy;
pub mod refresh;
pub mod router;
pub mod scheduler;
pub mod serve;
pub mod snapshot;
pub mod startup;
pub mod state;
pub mod store;
pub mod summary;
pub mod views;
pub mod vm_table;
pub mod writes;
