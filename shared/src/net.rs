//! Exact set arithmetic over addresses and ports.
pub mod addr;
pub mod intervals;
pub mod ports;

pub use addr::{AddrSet, Cidr, Family};
pub use intervals::IntervalSet;
