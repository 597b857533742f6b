//! The library half of the `portcullis` package: talking to Azure Resource Manager (the
//! [`arm`] client), the embedded ARM [`emulator`] with its demo tenant, inventory
//! [`snapshot`]s and the read-only ARM [`proxy`]. The binary (`main.rs`) and the integration
//! tests (`server/tests/`) use it.
pub mod arm;
pub mod emulator;
pub mod proxy;
pub mod snapshot;
