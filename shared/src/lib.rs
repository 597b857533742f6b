//! Portcullis shared crate: pure logic and wire types, no I/O, builds for wasm32 and native.
pub mod api;
