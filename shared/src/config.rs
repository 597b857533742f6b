//! Evaluation settings: which ports are management ports, and what counts as "open".
use crate::eval::Protocol;
use serde::{Deserialize, Serialize};

/// One management port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PortSpec {
    pub port: u16,
    pub protocol: Protocol,
}

/// A management port in a config file, as written: `22` (TCP) or `{ port = 53, protocol = "Udp" }`.
/// Its values are checked by [`EvalConfig::validate`], whose error names the entry
/// (`managementPorts[1]: 70000 is not a port (1-65535)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum PortEntry {
    Number(i64),
    Spec {
        port: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        protocol: Option<String>,
    },
}

impl PortEntry {
    /// The port, when its values are valid.
    fn spec(&self) -> Result<PortSpec, (&'static str, String)> {
        let (port, protocol) = match self {
            PortEntry::Number(port) => (*port, None),
            PortEntry::Spec { port, protocol } => (*port, protocol.as_deref()),
        };
        let port_field = match self {
            PortEntry::Number(_) => "",
            PortEntry::Spec { .. } => ".port",
        };
        let port = u16::try_from(port)
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| (port_field, format!("{port} is not a port (1-65535)")))?;
        let protocol = match protocol {
            None => Protocol::Tcp,
            Some(s) => match Protocol::parse(s) {
                Some(Protocol::Any) => {
                    return Err((
                        ".protocol",
                        format!("{s:?} is not a protocol a port is reached with (use Tcp or Udp)"),
                    ))
                }
                Some(p) => p,
                None => return Err((".protocol", format!("{s:?} is not a protocol (Tcp, Udp)"))),
            },
        };
        Ok(PortSpec { port, protocol })
    }
}

impl<'de> Deserialize<'de> for PortEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{self, MapAccess, Visitor};
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PortEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a port number or { port, protocol }")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PortEntry, E> {
                Ok(PortEntry::Number(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PortEntry, E> {
                Ok(PortEntry::Number(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<PortEntry, A::Error> {
                let (mut port, mut protocol) = (None, None);
                while let Some(k) = m.next_key::<String>()? {
                    match k.as_str() {
                        "port" => port = Some(m.next_value::<i64>()?),
                        "protocol" => protocol = Some(m.next_value::<String>()?),
                        _ => return Err(de::Error::unknown_field(&k, &["port", "protocol"])),
                    }
                }
                let port = port.ok_or_else(|| de::Error::missing_field("port"))?;
                Ok(PortEntry::Spec { port, protocol })
            }
        }
        d.deserialize_any(V)
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
    /// The management ports, each once (entries [`EvalConfig::validate`] rejects are left out).
    pub fn ports(&self) -> Vec<PortSpec> {
        let mut out: Vec<PortSpec> = Vec::new();
        for p in self.management_ports.iter().filter_map(|e| e.spec().ok()) {
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
        if self.management_ports.is_empty() {
            // no port to check would make every VM pass the control: a typo, never a setting
            return Err(InputError::new(
                "managementPorts",
                "[] names no port: list the ports to check, or leave the key out for the \
                 defaults (22, 3389, 5985, 5986)",
            ));
        }
        for (i, e) in self.management_ports.iter().enumerate() {
            if let Err((field, message)) = e.spec() {
                return Err(InputError::new(
                    format!("managementPorts[{i}]{field}"),
                    message,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(v: serde_json::Value) -> Result<Vec<PortSpec>, String> {
        let cfg: EvalConfig = serde_json::from_value(v).map_err(|e| e.to_string())?;
        cfg.validate().map_err(|e| e.to_string())?;
        Ok(cfg.ports())
    }

    #[test]
    fn a_bad_management_port_names_its_entry_and_value() {
        use serde_json::json;
        let cases = [
            (json!([22, 70000]), "managementPorts[1]: 70000 is not a port (1-65535)"),
            (json!([0]), "managementPorts[0]: 0 is not a port (1-65535)"),
            (json!([22, -3]), "managementPorts[1]: -3 is not a port (1-65535)"),
            (
                json!([{"port": 70000, "protocol": "Udp"}]),
                "managementPorts[0].port: 70000 is not a port (1-65535)",
            ),
            (
                json!([22, 22, {"port": 53, "protocol": "Tcpp"}]),
                "managementPorts[2].protocol: \"Tcpp\" is not a protocol (Tcp, Udp)",
            ),
            (
                json!([{"port": 53, "protocol": "*"}]),
                "managementPorts[0].protocol: \"*\" is not a protocol a port is reached with (use Tcp or Udp)",
            ),
            (
                json!([]),
                "managementPorts: [] names no port: list the ports to check, or leave the key out \
                 for the defaults (22, 3389, 5985, 5986)",
            ),
        ];
        for (ports, want) in cases {
            assert_eq!(
                checked(json!({ "managementPorts": ports })).unwrap_err(),
                want
            );
        }
        // a wrong shape is a parse error that says what is expected
        let e = checked(json!({"managementPorts": [{"port": 22, "proto": "Tcp"}]})).unwrap_err();
        assert!(e.contains("unknown field `proto`"), "{e}");
        let e = checked(json!({"managementPorts": ["22"]})).unwrap_err();
        assert!(e.contains("a port number or { port, protocol }"), "{e}");
    }

    #[test]
    fn management_ports_read_as_written_and_once() {
        let ports = checked(serde_json::json!({"managementPorts":
            [22, {"port": 53, "protocol": "udp"}, {"port": 22}, 65535]}))
        .unwrap();
        let want = [
            (22, Protocol::Tcp),
            (53, Protocol::Udp),
            (65535, Protocol::Tcp),
        ]
        .map(|(port, protocol)| PortSpec { port, protocol });
        assert_eq!(ports, want);
        // the defaults, and a round trip through the serialised form
        let cfg = EvalConfig::default();
        assert_eq!(cfg.ports().len(), 4);
        let again: EvalConfig =
            serde_json::from_value(serde_json::to_value(&cfg).unwrap()).unwrap();
        assert_eq!(again, cfg);
    }
}
