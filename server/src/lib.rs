//! The library half of the `portcullis` package: the server ([`serve`], [`router`],
//! [`handlers`], [`store`], [`auth`], [`history`], [`writes`], [`audit`]), talking to Azure
//! Resource Manager (the [`arm`] client), the embedded ARM [`emulator`] with its demo tenant,
//! inventory [`snapshot`]s and the read-only ARM [`proxy`]. The binary (`main.rs`) and the
//! integration tests (`server/tests/`) use it.
pub mod alerts;
pub mod arm;
pub mod audit;
pub mod auth;
pub mod config;
pub mod emulator;
pub mod error;
pub mod handlers;
pub mod history;
pub mod metrics;
pub mod proxy;
pub mod router;
pub mod serve;
pub mod snapshot;
pub mod state;
pub mod store;
pub mod writes;
