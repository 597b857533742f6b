//! Evaluation settings: which ports are management ports, and what counts as "open".
use crate::eval::Protocol;
use serde::{Deserialize, Serialize};

/// One management port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PortSpec {
    pub port: u16,
    pub protocol: Protocol,
}

/// A management port in a config file: `22` (TCP) or `{ port = 53, protocol = "Udp" }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PortEntry {
    Number(u16),
    Spec {
        port: u16,
        #[serde(default = "tcp")]
        protocol: Protocol,
    },
}

fn tcp() -> Protocol {
    Protocol::Tcp
}

impl From<PortEntry> for PortSpec {
    fn from(e: PortEntry) -> Self {
        match e {
            PortEntry::Number(port) => PortSpec {
                port,
                protocol: Protocol::Tcp,
            },
            PortEntry::Spec { port, protocol } => PortSpec { port, protocol },
        }
    }
}

/// Evaluation settings (all optional in a config file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EvalConfig {
    /// Management ports, default TCP 22, 3389, 5985, 5986.
    #[serde(default = "default_ports", alias = "management_ports")]
    pub management_ports: Vec<PortEntry>,
    /// A port is `open` when its allowed public IPv4 sources number at least 2^(32 - this)
    /// (default 8: a /8 worth of addresses).
    #[serde(default = "default_v4", alias = "open_threshold_ipv4_prefix")]
    pub open_threshold_ipv4_prefix: u8,
    /// Likewise for IPv6: at least 2^(128 - this) addresses (default 32).
    #[serde(default = "default_v6", alias = "open_threshold_ipv6_prefix")]
    pub open_threshold_ipv6_prefix: u8,
}

fn default_ports() -> Vec<PortEntry> {
    [22, 3389, 5985, 5986]
        .into_iter()
        .map(PortEntry::Number)
        .collect()
}
fn default_v4() -> u8 {
    8
}
fn default_v6() -> u8 {
    32
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            management_ports: default_ports(),
            open_threshold_ipv4_prefix: default_v4(),
            open_threshold_ipv6_prefix: default_v6(),
        }
    }
}

impl EvalConfig {
    pub fn ports(&self) -> Vec<PortSpec> {
        let mut out: Vec<PortSpec> = Vec::new();
        for p in self.management_ports.iter().copied().map(PortSpec::from) {
            if !out.contains(&p) {
                out.push(p);
            }
        }
        out
    }

    /// Checks the settings; the error names the offending key.
    pub fn validate(&self) -> Result<(), crate::inventory::InputError> {
        use crate::inventory::InputError;
        if self.open_threshold_ipv4_prefix > 32 {
            return Err(InputError::new(
                "openThresholdIpv4Prefix",
                format!(
                    "{} is not a prefix length (0-32)",
                    self.open_threshold_ipv4_prefix
                ),
            ));
        }
        if self.open_threshold_ipv6_prefix > 128 {
            return Err(InputError::new(
                "openThresholdIpv6Prefix",
                format!(
                    "{} is not a prefix length (0-128)",
                    self.open_threshold_ipv6_prefix
                ),
            ));
        }
        for (i, p) in self.ports().iter().enumerate() {
            if p.protocol == Protocol::Any {
                return Err(InputError::new(
                    format!("managementPorts[{i}].protocol"),
                    "\"*\" is not a protocol a port is reached with (use Tcp or Udp)",
                ));
            }
        }
        Ok(())
    }

    pub fn v4_open_threshold(&self) -> u128 {
        1u128 << (32 - u32::from(self.open_threshold_ipv4_prefix.min(32)))
    }

    pub fn v6_open_threshold(&self) -> u128 {
        let bits = 128 - u32::from(self.open_threshold_ipv6_prefix.min(128));
        if bits >= 128 {
            u128::MAX
        } else {
            1u128 << bits
        }
    }
}
