//! One module per route.
pub mod alerts;
pub mod audit;
pub mod jit;
pub mod login;
pub mod not_found;
pub mod overview;
pub mod remediate;
pub mod trends;
pub mod vm_detail;
pub mod vms;
