//! The inventory: ARM resources exactly as ARM returns them, grouped by type.
use crate::arm::*;
use serde::{Deserialize, Serialize};
use std::fmt;

/// `{"virtualMachines": [..], "networkInterfaces": [..], ...}`; missing keys mean empty lists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Inventory {
    #[serde(default, deserialize_with = "crate::arm::nullable")]
    pub virtual_machines: Vec<VirtualMachine>,
    #[serde(default, deserialize_with = "crate::arm::nullable")]
    pub network_interfaces: Vec<NetworkInterface>,
    #[serde(
        default,
        rename = "publicIPAddresses",
        deserialize_with = "crate::arm::nullable"
    )]
    pub public_ip_addresses: Vec<PublicIpAddress>,
    #[serde(default, deserialize_with = "crate::arm::nullable")]
    pub virtual_networks: Vec<VirtualNetwork>,
    #[serde(default, deserialize_with = "crate::arm::nullable")]
    pub network_security_groups: Vec<NetworkSecurityGroup>,
    #[serde(default, deserialize_with = "crate::arm::nullable")]
    pub application_security_groups: Vec<ApplicationSecurityGroup>,
    #[serde(default, deserialize_with = "crate::arm::nullable")]
    pub jit_network_access_policies: Vec<JitNetworkAccessPolicy>,
    #[serde(default, deserialize_with = "crate::arm::nullable")]
    pub load_balancers: Vec<LoadBalancer>,
    #[serde(default, deserialize_with = "crate::arm::nullable")]
    pub azure_firewalls: Vec<AzureFirewall>,
    #[serde(default, deserialize_with = "crate::arm::nullable")]
    pub firewall_policy_rule_collection_groups: Vec<FirewallPolicyRuleCollectionGroup>,
    #[serde(default, deserialize_with = "crate::arm::nullable")]
    pub bastion_hosts: Vec<BastionHost>,
    /// Per VNet: `{"virtualNetwork": {"id"}, "value": [..]}`.
    #[serde(default, deserialize_with = "crate::arm::nullable")]
    pub network_manager_effective_security_admin_rules: Vec<EffectiveSecurityAdminRules>,
    /// The firewall policies, for their `basePolicy` (the rule collection groups are listed
    /// apart, in `firewallPolicyRuleCollectionGroups`).
    #[serde(default, deserialize_with = "crate::arm::nullable")]
    pub firewall_policies: Vec<FirewallPolicy>,
    /// The IP groups that firewall rules name (`sourceIpGroups`).
    #[serde(default, deserialize_with = "crate::arm::nullable")]
    pub ip_groups: Vec<IpGroup>,
    /// Application gateways: their TCP/TLS listeners forward to VMs, the client's address
    /// replaced by the gateway's.
    #[serde(default, deserialize_with = "crate::arm::nullable")]
    pub application_gateways: Vec<ApplicationGateway>,
}

/// Bad input: the JSON path of the offending value and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct InputError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() || self.path == "." {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl InputError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }

    /// `path: "value" <what>`, the form every validation error takes.
    pub fn value(path: impl Into<String>, value: &str, what: &str) -> Self {
        Self::new(path, format!("{} {what}", serde_json::Value::from(value)))
    }
}

/// The JSON text of an inventory file: without a UTF-8 byte order mark (which Windows
/// PowerShell 5 writes, and which JSON parsers may ignore), and refused if it is UTF-16 or
/// UTF-32 (what PowerShell 5's `>` writes) or not an object. An inventory is one JSON object of
/// lists: serde would read an array positionally (so `[]`, or the array `az vm list` prints,
/// would evaluate as an empty inventory and pass), and a bare value would fail with a less
/// helpful message. An empty file (what `az ... > inventory.json` leaves when the command
/// fails) is refused as such. Text that is not JSON is left to the parser, whose error gives
/// the line and column.
pub fn json_text(bytes: &[u8]) -> Result<&[u8], InputError> {
    if bytes.starts_with(&[0xFF, 0xFE])
        || bytes.starts_with(&[0xFE, 0xFF])
        || bytes.starts_with(&[0, 0, 0xFE, 0xFF])
    {
        return Err(InputError::new(
            "",
            "the inventory is UTF-16 or UTF-32 text (as Windows PowerShell 5 writes with `>`): \
             save it as UTF-8 (`Out-File -Encoding utf8`)",
        ));
    }
    let text = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    let first = text.iter().copied().find(|b| !b" \t\r\n".contains(b));
    let what = match first {
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b'n') => "null",
        Some(b't' | b'f') => "a boolean",
        Some(b'-' | b'0'..=b'9') => "a number",
        None => {
            let what = if text.is_empty() {
                "empty"
            } else {
                "only whitespace"
            };
            return Err(InputError::new(
                "",
                format!(
                    "the inventory is {what} ({} bytes): it must be one JSON object such as \
                     {{\"virtualMachines\": [..], \"networkInterfaces\": [..], ...}} (did the \
                     command that wrote it fail?)",
                    bytes.len()
                ),
            ));
        }
        _ => return Ok(text),
    };
    Err(InputError::new(
        "",
        format!(
            "the inventory is {what}, not an object: it must be {{\"virtualMachines\": [..], \
             \"networkInterfaces\": [..], ...}} (a list of resources, such as `az vm list` \
             prints, goes under its type's key)"
        ),
    ))
}

/// Text after the inventory's object (`az ... >> inventory.json` run twice, or a log line): an
/// error, never a partial read of the file.
fn after_the_object(e: &serde_json::Error) -> InputError {
    InputError::new(
        "",
        format!(
            "text after the inventory's closing brace ({e}): the file must hold one JSON object"
        ),
    )
}

impl Inventory {
    /// Gives back the spare capacity of every list (lists grown by appending pages keep up to
    /// as much again), for an inventory that is kept.
    pub fn shrink_to_fit(&mut self) {
        let Inventory {
            virtual_machines,
            network_interfaces,
            public_ip_addresses,
            virtual_networks,
            network_security_groups,
            application_security_groups,
            jit_network_access_policies,
            load_balancers,
            azure_firewalls,
            firewall_policy_rule_collection_groups,
            bastion_hosts,
            network_manager_effective_security_admin_rules,
            firewall_policies,
            ip_groups,
            application_gateways,
        } = self;
        virtual_machines.shrink_to_fit();
        network_interfaces.shrink_to_fit();
        public_ip_addresses.shrink_to_fit();
        virtual_networks.shrink_to_fit();
        network_security_groups.shrink_to_fit();
        application_security_groups.shrink_to_fit();
        jit_network_access_policies.shrink_to_fit();
        load_balancers.shrink_to_fit();
        azure_firewalls.shrink_to_fit();
        firewall_policy_rule_collection_groups.shrink_to_fit();
        bastion_hosts.shrink_to_fit();
        network_manager_effective_security_admin_rules.shrink_to_fit();
        firewall_policies.shrink_to_fit();
        ip_groups.shrink_to_fit();
        application_gateways.shrink_to_fit();
    }

    /// Parses an inventory. On malformed JSON or a value of the wrong type the error names the
    /// JSON path (e.g. `networkSecurityGroups[0].properties.securityRules[1].properties.priority`).
    pub fn from_json(bytes: &[u8]) -> Result<Self, InputError> {
        let bytes = json_text(bytes)?;
        match serde_json::from_slice::<Inventory>(bytes) {
            Ok(inv) => Ok(inv),
            // parse again, slowly, only to find where it went wrong
            Err(_) => {
                let de = &mut serde_json::Deserializer::from_slice(bytes);
                match serde_path_to_error::deserialize::<_, Inventory>(&mut *de) {
                    // what made the first parse fail comes after the object
                    Ok(inv) => de.end().map(|()| inv).map_err(|e| after_the_object(&e)),
                    Err(e) => {
                        let path = e.path().to_string();
                        let inner = e.into_inner();
                        Err(InputError::new(path, inner.to_string()))
                    }
                }
            }
        }
    }

    /// Parses an inventory from a reader in one streaming pass (the input is never held in
    /// memory whole), with the same JSON-path errors as [`Inventory::from_json`].
    pub fn from_reader<R: std::io::Read>(reader: R) -> Result<Self, InputError> {
        let de = &mut serde_json::Deserializer::from_reader(reader);
        let inv = serde_path_to_error::deserialize::<_, Inventory>(&mut *de).map_err(|e| {
            let path = e.path().to_string();
            InputError::new(path, e.into_inner().to_string())
        })?;
        de.end().map_err(|e| after_the_object(&e))?;
        Ok(inv)
    }

    /// The resources whose id `keep` accepts (effective admin rules by their VNet's id), e.g.
    /// one subscription's part of a tenant.
    pub fn filtered(&self, keep: impl Fn(&str) -> bool) -> Inventory {
        fn pick<T: Clone>(
            items: &[T],
            id: impl Fn(&T) -> &str,
            keep: &dyn Fn(&str) -> bool,
        ) -> Vec<T> {
            items.iter().filter(|r| keep(id(r))).cloned().collect()
        }
        let k: &dyn Fn(&str) -> bool = &keep;
        Inventory {
            virtual_machines: pick(&self.virtual_machines, |r| &r.id, k),
            network_interfaces: pick(&self.network_interfaces, |r| &r.id, k),
            public_ip_addresses: pick(&self.public_ip_addresses, |r| &r.id, k),
            virtual_networks: pick(&self.virtual_networks, |r| &r.id, k),
            network_security_groups: pick(&self.network_security_groups, |r| &r.id, k),
            application_security_groups: pick(&self.application_security_groups, |r| &r.id, k),
            jit_network_access_policies: pick(&self.jit_network_access_policies, |r| &r.id, k),
            load_balancers: pick(&self.load_balancers, |r| &r.id, k),
            azure_firewalls: pick(&self.azure_firewalls, |r| &r.id, k),
            firewall_policy_rule_collection_groups: pick(
                &self.firewall_policy_rule_collection_groups,
                |r| &r.id,
                k,
            ),
            bastion_hosts: pick(&self.bastion_hosts, |r| &r.id, k),
            network_manager_effective_security_admin_rules: pick(
                &self.network_manager_effective_security_admin_rules,
                |r| r.virtual_network.id.as_deref().unwrap_or_default(),
                k,
            ),
            firewall_policies: pick(&self.firewall_policies, |r| &r.id, k),
            ip_groups: pick(&self.ip_groups, |r| &r.id, k),
            application_gateways: pick(&self.application_gateways, |r| &r.id, k),
        }
    }

    pub fn resource_count(&self) -> usize {
        self.virtual_machines.len()
            + self.network_interfaces.len()
            + self.public_ip_addresses.len()
            + self.virtual_networks.len()
            + self.network_security_groups.len()
            + self.application_security_groups.len()
            + self.jit_network_access_policies.len()
            + self.load_balancers.len()
            + self.azure_firewalls.len()
            + self.firewall_policy_rule_collection_groups.len()
            + self.bastion_hosts.len()
            + self.network_manager_effective_security_admin_rules.len()
            + self.firewall_policies.len()
            + self.ip_groups.len()
            + self.application_gateways.len()
    }
}
