//! Portcullis shared crate: ARM resource types, the NSG evaluation engine, the three
//! recommendations and the control score, and the API's wire types.
//!
//! Pure logic: no threads, no I/O, no async runtime, so it builds for `wasm32-unknown-unknown`
//! and the browser runs the very same engine for what-if previews.
pub mod api;
pub mod arm;
pub mod config;
pub mod duration;
pub mod eval;
pub mod fleet;
pub mod inventory;
pub mod net;
pub mod remediation;

pub use config::EvalConfig;
pub use eval::{evaluate, Report};
pub use inventory::{InputError, Inventory};
