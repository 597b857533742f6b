//! Reusable widgets, one component per file.
pub mod app_header;
pub mod health_summary;
