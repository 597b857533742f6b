//! Wire types of the server's JSON API (no business logic here).
use serde::{Deserialize, Serialize};

/// `GET /api/health`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    pub status: String,
    pub version: String,
    /// `"emulator"` (embedded ARM emulator, demo tenant) or `"azure"`.
    pub data_source: String,
}
