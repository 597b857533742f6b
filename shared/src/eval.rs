//! The evaluation: which sources reach each management port of each VM, the three
//! recommendations of "Secure management ports", and the control's score.
//!
//! `evaluate` is the entry point; `compile` turns NSG payloads into sets; `engine` walks the
//! rules; `report` holds the output shapes (the `portcullis evaluate` JSON contract).
mod classes;
pub mod compile;
pub mod engine;
mod keys;
pub mod path_rules;
pub mod paths;
pub mod report;
pub mod stream;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

pub use engine::{evaluate, ExposedPort, Model, VmBrief};
pub use report::{Exposure, Report, State, Status, VmReport};

/// `s.trim()`, without decoding characters when `s` starts and ends with visible ASCII (as
/// ids, names and numbers do).
pub(crate) fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(f), Some(l)) if f.is_ascii_graphic() && l.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

/// Protocol of a rule or a port probe. Rules match `*` against everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    Any,
    Tcp,
    Udp,
    Icmp,
    Esp,
    Ah,
}

impl Protocol {
    /// Parses any letter case; `All` (effective-rules spelling) means `*`.
    pub fn parse(s: &str) -> Option<Self> {
        let s = trim(s);
        let is = |name: &str| s.eq_ignore_ascii_case(name);
        Some(if s == "*" || is("all") || is("any") {
            Protocol::Any
        } else if is("tcp") {
            Protocol::Tcp
        } else if is("udp") {
            Protocol::Udp
        } else if is("icmp") {
            Protocol::Icmp
        } else if is("esp") {
            Protocol::Esp
        } else if is("ah") {
            Protocol::Ah
        } else {
            return None;
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Any => "*",
            Protocol::Tcp => "Tcp",
            Protocol::Udp => "Udp",
            Protocol::Icmp => "Icmp",
            Protocol::Esp => "Esp",
            Protocol::Ah => "Ah",
        }
    }

    /// Does a rule with protocol `self` match traffic of protocol `traffic`?
    pub fn matches(self, traffic: Protocol) -> bool {
        self == Protocol::Any || self == traffic
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Protocol {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Protocol {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Protocol::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{s:?} is not a protocol (*, Tcp, Udp, Icmp, Esp, Ah)"
            ))
        })
    }
}

/// A rule's access. `AlwaysAllow` exists only in Azure Virtual Network Manager security admin
/// rules: it admits traffic whatever the NSGs say (an admin `Allow` hands over to the NSGs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Access {
    Allow,
    Deny,
    AlwaysAllow,
}

impl Access {
    /// Allow or AlwaysAllow: where a rule's reach is uncertain, such rules are taken to match
    /// (uncertainty never hides exposure).
    pub fn permits(self) -> bool {
        matches!(self, Access::Allow | Access::AlwaysAllow)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Access::Allow => "Allow",
            Access::Deny => "Deny",
            Access::AlwaysAllow => "AlwaysAllow",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    Inbound,
    Outbound,
}
