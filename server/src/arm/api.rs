//! The ARM api-versions: the table lives in `portcullis_shared::arm::versions`, shared with the
//! emulator and the browser's what-if worker.
pub use portcullis_shared::arm::versions::*;
