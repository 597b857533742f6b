//! The inventory as the engine reads it: the fields it uses, borrowed.
//!
//! These types mirror the ARM types of [`crate::arm`] (same names, same JSON shapes, same
//! tolerance of `null` and missing fields) but keep only what the evaluation reads, as `&str`
//! slices of the input. Parsed from one buffer ([`Inventory::from_slice`]) they copy no text
//! and skip everything else (tags, `defaultSecurityRules`, subnets' `ipConfigurations`, the
//! VM's profiles, JIT requests, etags, ...) without building it. An owned
//! [`crate::inventory::Inventory`] lends the same view ([`crate::inventory::Inventory::view`]),
//! so the engine has one input type for the CLI, the server and the browser.
//!
//! The rarer resource types that only the paths code reads (load balancers, firewalls, rule
//! collection groups, Bastions, admin rules) are kept as the owned ARM types.
use crate::arm;
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;

/// Treats an explicit `null` like a missing field (ARM sends both).
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// As [`nullable`] for lists, without the spare capacity a list grows while it is read (JSON
/// gives no length up front): a fleet's rule lists would otherwise hold a third more.
pub(crate) fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let mut v = Option::<Vec<T>>::deserialize(d)?.unwrap_or_default();
    v.shrink_to_fit();
    Ok(v)
}

/// Told which bytes of the buffer an inventory is parsed from (by address) are done with, as
/// the parse and the model's build go: a caller that mapped the file lets their pages go. A
/// hint only: the bytes may still be read after (a range may also run past the buffer).
pub type Release<'r> = &'r (dyn Fn(std::ops::Range<usize>) + Sync);

/// `{"virtualMachines": [..], ...}`, as [`crate::inventory::Inventory`], borrowed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Inventory<'a> {
    #[serde(borrow, default, deserialize_with = "list")]
    pub virtual_machines: Vec<VirtualMachine<'a>>,
    #[serde(borrow, default, deserialize_with = "list")]
    pub network_interfaces: Vec<NetworkInterface<'a>>,
    #[serde(
        borrow,
        default,
        rename = "publicIPAddresses",
        deserialize_with = "list"
    )]
    pub public_ip_addresses: Vec<PublicIpAddress<'a>>,
    #[serde(borrow, default, deserialize_with = "list")]
    pub virtual_networks: Vec<VirtualNetwork<'a>>,
    #[serde(borrow, default, deserialize_with = "list")]
    pub network_security_groups: Vec<NetworkSecurityGroup<'a>>,
    #[serde(borrow, default, deserialize_with = "list")]
    pub application_security_groups: Vec<ApplicationSecurityGroup<'a>>,
    #[serde(borrow, default, deserialize_with = "list")]
    pub jit_network_access_policies: Vec<JitNetworkAccessPolicy<'a>>,
    #[serde(default, deserialize_with = "nullable")]
    pub load_balancers: Cow<'a, [arm::LoadBalancer]>,
    #[serde(default, deserialize_with = "nullable")]
    pub azure_firewalls: Cow<'a, [arm::AzureFirewall]>,
    #[serde(default, deserialize_with = "nullable")]
    pub firewall_policy_rule_collection_groups: Cow<'a, [arm::FirewallPolicyRuleCollectionGroup]>,
    #[serde(default, deserialize_with = "nullable")]
    pub bastion_hosts: Cow<'a, [arm::BastionHost]>,
    #[serde(default, deserialize_with = "nullable")]
    pub network_manager_effective_security_admin_rules: Cow<'a, [arm::EffectiveSecurityAdminRules]>,
    #[serde(default, deserialize_with = "nullable")]
    pub firewall_policies: Cow<'a, [arm::FirewallPolicy]>,
    #[serde(default, deserialize_with = "nullable")]
    pub ip_groups: Cow<'a, [arm::IpGroup]>,
    #[serde(default, deserialize_with = "nullable")]
    pub application_gateways: Cow<'a, [arm::ApplicationGateway]>,
}

impl<'a> Inventory<'a> {
    /// Parses an inventory from one buffer, borrowing its strings. Fails on anything the owned
    /// parse would reject in the fields read here, and also on a string with escapes (which
    /// cannot be borrowed); [`crate::inventory::Inventory::parse_view`] then falls back to the
    /// owned parse, which also names the JSON path of a bad value.
    pub fn from_slice(bytes: &'a [u8]) -> serde_json::Result<Self> {
        Self::from_slice_releasing(bytes, &|_| {})
    }

    /// [`Inventory::from_slice`], telling `release` which bytes of `bytes` it has parsed (by
    /// address), a few MB at a time, when it parses on two threads (see [`Release`]).
    pub fn from_slice_releasing(bytes: &'a [u8], release: Release<'_>) -> serde_json::Result<Self> {
        #[cfg(all(feature = "parallel", not(target_arch = "wasm32")))]
        if Self::two_threads(bytes.len(), 8 << 20) {
            // the UTF-8 check runs on this thread while the second finds its cut
            return split::parse_bytes(bytes, Self::targets(bytes.len()), release)
                .unwrap_or_else(|| serde_json::from_slice(bytes));
        }
        let _ = release;
        // one check of the whole buffer is faster than serde_json's check of every string
        match std::str::from_utf8(bytes) {
            Ok(text) => Self::from_text(text),
            Err(_) => serde_json::from_slice(bytes),
        }
    }

    #[cfg(not(all(feature = "parallel", not(target_arch = "wasm32"))))]
    fn from_text(text: &'a str) -> serde_json::Result<Self> {
        serde_json::from_str(text)
    }

    /// On two threads for a text over 8 MB: a second thread finds a place past the middle
    /// where an element of a top-level list (or a top-level key) begins and parses from there
    /// to the end, while this thread parses from the start and stops there only if it arrives
    /// exactly there ([`split`]).
    #[cfg(all(feature = "parallel", not(target_arch = "wasm32")))]
    fn from_text(text: &'a str) -> serde_json::Result<Self> {
        // small inventories gain nothing from a thread
        Self::from_text_past(text, 8 << 20)
    }

    /// [`Self::from_text`], on two threads for a text longer than `alone` bytes.
    #[cfg(all(feature = "parallel", not(target_arch = "wasm32")))]
    fn from_text_past(text: &'a str, alone: usize) -> serde_json::Result<Self> {
        if !Self::two_threads(text.len(), alone) {
            return serde_json::from_str(text);
        }
        split::parse_with(text, Self::targets(text.len()))
    }

    /// Whether a text of `len` bytes is parsed on two threads.
    #[cfg(all(feature = "parallel", not(target_arch = "wasm32")))]
    fn two_threads(len: usize, alone: usize) -> bool {
        len > alone && std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2)
    }

    /// Where the second thread starts looking for its cut. A guess reads only what is near,
    /// so it starts about the middle: tried on the e2e bench's shapes from 46% to 54%, 52% was
    /// best or level on all three (this thread checks that the whole text is UTF-8 and the
    /// second only its part, but the lists late in an inventory parse slower per byte). A scan
    /// reads everything before its start (about a third of what parsing it costs), so it
    /// starts past the middle (1/2 was slowest, 4/7 and 16/25 close; 3/5 is between them).
    #[cfg(all(feature = "parallel", not(target_arch = "wasm32")))]
    fn targets(len: usize) -> split::Targets {
        split::Targets {
            guess: len / 25 * 13,
            scan: len / 5 * 3,
        }
    }
}

#[cfg(all(feature = "parallel", not(target_arch = "wasm32")))]
mod split;

/// The inventory's top-level keys, in the order of [`Inventory`]'s fields.
pub const INVENTORY_KEYS: [&str; 15] = [
    "virtualMachines",
    "networkInterfaces",
    "publicIPAddresses",
    "virtualNetworks",
    "networkSecurityGroups",
    "applicationSecurityGroups",
    "jitNetworkAccessPolicies",
    "loadBalancers",
    "azureFirewalls",
    "firewallPolicyRuleCollectionGroups",
    "bastionHosts",
    "networkManagerEffectiveSecurityAdminRules",
    "firewallPolicies",
    "ipGroups",
    "applicationGateways",
];

/// The top-level keys of an inventory object (one more pass over the text, values skipped):
/// how many are [`INVENTORY_KEYS`], and the others in the order written, which is what an
/// inventory that yields no VM may hold instead (an ARM list response's `value`, a misspelt
/// key). `(0, [])` if the text is not an object.
pub fn top_level_keys(bytes: &[u8]) -> (usize, Vec<String>) {
    struct Keys(usize, Vec<String>);

    impl<'de> Deserialize<'de> for Keys {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct KeysVisitor;
            impl<'de> serde::de::Visitor<'de> for KeysVisitor {
                type Value = Keys;

                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("an object")
                }

                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Keys, A::Error> {
                    let (mut known, mut unknown) = (0, Vec::new());
                    while let Some(key) = map.next_key::<String>()? {
                        map.next_value::<IgnoredAny>()?;
                        if INVENTORY_KEYS.contains(&key.as_str()) {
                            known += 1;
                        } else {
                            unknown.push(key);
                        }
                    }
                    Ok(Keys(known, unknown))
                }
            }
            d.deserialize_map(KeysVisitor)
        }
    }

    crate::inventory::json_text(bytes)
        .ok()
        .and_then(|text| serde_json::from_slice::<Keys>(text).ok())
        .map(|k| (k.0, k.1))
        .unwrap_or_default()
}

/// `{"id": "..."}`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct SubResource<'a> {
    #[serde(borrow, default)]
    pub id: Option<&'a str>,
}

impl<'a> From<&'a arm::SubResource> for SubResource<'a> {
    fn from(r: &'a arm::SubResource) -> Self {
        SubResource {
            id: r.id.as_deref(),
        }
    }
}

fn subs(v: &[arm::SubResource]) -> Vec<SubResource<'_>> {
    v.iter().map(SubResource::from).collect()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

// ---------------------------------------------------------------------------------------------
// Compute
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default, Deserialize)]
pub struct VirtualMachine<'a> {
    #[serde(borrow, default)]
    pub id: &'a str,
    #[serde(borrow, default)]
    pub name: Option<&'a str>,
    #[serde(borrow, default)]
    pub location: Option<&'a str>,
    #[serde(borrow, default, deserialize_with = "nullable")]
    pub properties: VmProperties<'a>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmProperties<'a> {
    #[serde(borrow, default)]
    pub storage_profile: Option<StorageProfile<'a>>,
    #[serde(default)]
    pub os_profile: Option<OsProfile>,
    #[serde(borrow, default, deserialize_with = "nullable")]
    pub network_profile: NetworkProfile<'a>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageProfile<'a> {
    #[serde(borrow, default)]
    pub os_disk: Option<OsDisk<'a>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OsDisk<'a> {
    #[serde(borrow, default)]
    pub os_type: Option<&'a str>,
}

/// Only whether the Windows or Linux configuration is there.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OsProfile {
    #[serde(default)]
    pub windows_configuration: Option<IgnoredAny>,
    #[serde(default)]
    pub linux_configuration: Option<IgnoredAny>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkProfile<'a> {
    #[serde(borrow, default, deserialize_with = "list")]
    pub network_interfaces: Vec<SubResource<'a>>,
}

impl<'a> VirtualMachine<'a> {
    /// `Windows` / `Linux` from the OS disk, else from the OS profile, else `None`.
    pub fn os_type(&self) -> Option<&'a str> {
        let p = &self.properties;
        if let Some(t) = p
            .storage_profile
            .as_ref()
            .and_then(|s| s.os_disk.as_ref())
            .and_then(|d| d.os_type)
        {
            return Some(t);
        }
        match &p.os_profile {
            Some(o) if o.windows_configuration.is_some() => Some("Windows"),
            Some(o) if o.linux_configuration.is_some() => Some("Linux"),
            _ => None,
        }
    }
}

impl arm::VirtualMachine {
    /// This VM as the engine reads it.
    pub fn view(&self) -> VirtualMachine<'_> {
        let p = &self.properties;
        VirtualMachine {
            id: &self.id,
            name: self.name.as_deref(),
            location: self.location.as_deref(),
            properties: VmProperties {
                storage_profile: p.storage_profile.as_ref().map(|s| StorageProfile {
                    os_disk: s.os_disk.as_ref().map(|d| OsDisk {
                        os_type: d.os_type.as_deref(),
                    }),
                }),
                os_profile: p.os_profile.as_ref().map(|o| OsProfile {
                    windows_configuration: o.windows_configuration.as_ref().map(|_| IgnoredAny),
                    linux_configuration: o.linux_configuration.as_ref().map(|_| IgnoredAny),
                }),
                network_profile: NetworkProfile {
                    network_interfaces: subs(&p.network_profile.network_interfaces),
                },
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Network
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default, Deserialize)]
pub struct NetworkInterface<'a> {
    #[serde(borrow, default)]
    pub id: &'a str,
    #[serde(borrow, default, deserialize_with = "nullable")]
    pub properties: NicProperties<'a>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NicProperties<'a> {
    #[serde(borrow, default)]
    pub network_security_group: Option<SubResource<'a>>,
    #[serde(borrow, default)]
    pub virtual_machine: Option<SubResource<'a>>,
    #[serde(borrow, default, deserialize_with = "list")]
    pub ip_configurations: Vec<IpConfiguration<'a>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct IpConfiguration<'a> {
    #[serde(borrow, default)]
    pub id: Option<&'a str>,
    #[serde(borrow, default)]
    pub name: Option<&'a str>,
    #[serde(borrow, default, deserialize_with = "nullable")]
    pub properties: IpConfigurationProperties<'a>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct IpConfigurationProperties<'a> {
    #[serde(borrow, default, rename = "privateIPAddress")]
    pub private_ip_address: Option<&'a str>,
    #[serde(borrow, default, rename = "privateIPAddressVersion")]
    pub private_ip_address_version: Option<&'a str>,
    #[serde(borrow, default, rename = "publicIPAddress")]
    pub public_ip_address: Option<SubResource<'a>>,
    #[serde(borrow, default)]
    pub subnet: Option<SubResource<'a>>,
    #[serde(
        borrow,
        default,
        rename = "applicationSecurityGroups",
        deserialize_with = "list"
    )]
    pub application_security_groups: Vec<SubResource<'a>>,
    #[serde(
        borrow,
        default,
        rename = "loadBalancerBackendAddressPools",
        deserialize_with = "list"
    )]
    pub load_balancer_backend_address_pools: Vec<SubResource<'a>>,
    #[serde(
        borrow,
        default,
        rename = "loadBalancerInboundNatRules",
        deserialize_with = "list"
    )]
    pub load_balancer_inbound_nat_rules: Vec<SubResource<'a>>,
    #[serde(
        borrow,
        default,
        rename = "applicationGatewayBackendAddressPools",
        deserialize_with = "list"
    )]
    pub application_gateway_backend_address_pools: Vec<SubResource<'a>>,
}

impl arm::NetworkInterface {
    /// This NIC as the engine reads it.
    pub fn view(&self) -> NetworkInterface<'_> {
        let p = &self.properties;
        NetworkInterface {
            id: &self.id,
            properties: NicProperties {
                network_security_group: p.network_security_group.as_ref().map(Into::into),
                virtual_machine: p.virtual_machine.as_ref().map(Into::into),
                ip_configurations: p
                    .ip_configurations
                    .iter()
                    .map(|c| {
                        let q = &c.properties;
                        IpConfiguration {
                            id: c.id.as_deref(),
                            name: c.name.as_deref(),
                            properties: IpConfigurationProperties {
                                private_ip_address: q.private_ip_address.as_deref(),
                                private_ip_address_version: q.private_ip_address_version.as_deref(),
                                public_ip_address: q.public_ip_address.as_ref().map(Into::into),
                                subnet: q.subnet.as_ref().map(Into::into),
                                application_security_groups: subs(&q.application_security_groups),
                                load_balancer_backend_address_pools: subs(
                                    &q.load_balancer_backend_address_pools,
                                ),
                                load_balancer_inbound_nat_rules: subs(
                                    &q.load_balancer_inbound_nat_rules,
                                ),
                                application_gateway_backend_address_pools: subs(
                                    &q.application_gateway_backend_address_pools,
                                ),
                            },
                        }
                    })
                    .collect(),
            },
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PublicIpAddress<'a> {
    #[serde(borrow, default)]
    pub id: &'a str,
    #[serde(borrow, default)]
    pub sku: Option<Sku<'a>>,
    #[serde(borrow, default, deserialize_with = "nullable")]
    pub properties: PublicIpProperties<'a>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Sku<'a> {
    #[serde(borrow, default)]
    pub name: Option<&'a str>,
}

impl Sku<'_> {
    pub fn is(&self, name: &str) -> bool {
        self.name
            .is_some_and(|n| n.trim().eq_ignore_ascii_case(name))
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PublicIpProperties<'a> {
    #[serde(borrow, default, rename = "ipAddress")]
    pub ip_address: Option<&'a str>,
}

impl arm::PublicIpAddress {
    /// This public IP as the engine reads it.
    pub fn view(&self) -> PublicIpAddress<'_> {
        PublicIpAddress {
            id: &self.id,
            sku: self.sku.as_ref().map(|s| Sku {
                name: s.name.as_deref(),
            }),
            properties: PublicIpProperties {
                ip_address: self.properties.ip_address.as_deref(),
            },
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct VirtualNetwork<'a> {
    #[serde(borrow, default)]
    pub id: &'a str,
    #[serde(borrow, default, deserialize_with = "nullable")]
    pub properties: VnetProperties<'a>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VnetProperties<'a> {
    #[serde(borrow, default)]
    pub address_space: Option<AddressSpace<'a>>,
    #[serde(borrow, default, deserialize_with = "list")]
    pub subnets: Vec<Subnet<'a>>,
    #[serde(borrow, default, deserialize_with = "list")]
    pub virtual_network_peerings: Vec<VnetPeering<'a>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct VnetPeering<'a> {
    #[serde(borrow, default, deserialize_with = "nullable")]
    pub properties: VnetPeeringProperties<'a>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VnetPeeringProperties<'a> {
    #[serde(borrow, default)]
    pub remote_virtual_network: Option<SubResource<'a>>,
    #[serde(borrow, default)]
    pub peering_state: Option<&'a str>,
    #[serde(borrow, default)]
    pub remote_address_space: Option<AddressSpace<'a>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressSpace<'a> {
    #[serde(borrow, default, deserialize_with = "list")]
    pub address_prefixes: Vec<&'a str>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Subnet<'a> {
    #[serde(borrow, default)]
    pub id: Option<&'a str>,
    #[serde(borrow, default)]
    pub name: Option<&'a str>,
    #[serde(borrow, default, deserialize_with = "nullable")]
    pub properties: SubnetProperties<'a>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubnetProperties<'a> {
    #[serde(borrow, default)]
    pub address_prefix: Option<&'a str>,
    #[serde(borrow, default, deserialize_with = "list")]
    pub address_prefixes: Vec<&'a str>,
    #[serde(borrow, default)]
    pub network_security_group: Option<SubResource<'a>>,
}

fn space(a: &arm::AddressSpace) -> AddressSpace<'_> {
    AddressSpace {
        address_prefixes: strs(&a.address_prefixes),
    }
}

impl arm::VirtualNetwork {
    /// This VNet as the engine reads it.
    pub fn view(&self) -> VirtualNetwork<'_> {
        let p = &self.properties;
        VirtualNetwork {
            id: &self.id,
            properties: VnetProperties {
                address_space: p.address_space.as_ref().map(space),
                subnets: p
                    .subnets
                    .iter()
                    .map(|s| Subnet {
                        id: s.id.as_deref(),
                        name: s.name.as_deref(),
                        properties: SubnetProperties {
                            address_prefix: s.properties.address_prefix.as_deref(),
                            address_prefixes: strs(&s.properties.address_prefixes),
                            network_security_group: s
                                .properties
                                .network_security_group
                                .as_ref()
                                .map(Into::into),
                        },
                    })
                    .collect(),
                virtual_network_peerings: p
                    .virtual_network_peerings
                    .iter()
                    .map(|q| VnetPeering {
                        properties: VnetPeeringProperties {
                            remote_virtual_network: q
                                .properties
                                .remote_virtual_network
                                .as_ref()
                                .map(Into::into),
                            peering_state: q.properties.peering_state.as_deref(),
                            remote_address_space: q
                                .properties
                                .remote_address_space
                                .as_ref()
                                .map(space),
                        },
                    })
                    .collect(),
            },
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct NetworkSecurityGroup<'a> {
    #[serde(borrow, default)]
    pub id: &'a str,
    #[serde(borrow, default)]
    pub name: Option<&'a str>,
    #[serde(borrow, default, deserialize_with = "nullable")]
    pub properties: NsgProperties<'a>,
}

impl NetworkSecurityGroup<'_> {
    /// The addresses its strings span: where it lies in the buffer it was parsed from, as far
    /// as the engine reads it.
    pub fn span(&self) -> std::ops::Range<usize> {
        let id = self.id.as_ptr() as usize;
        let mut span = id..id + self.id.len();
        let mut add = |s: &str| {
            let at = s.as_ptr() as usize;
            span = span.start.min(at)..span.end.max(at + s.len());
        };
        self.name.map(&mut add);
        for r in &self.properties.security_rules {
            r.name.map(&mut add);
            let p = &r.properties;
            let one = [
                p.protocol,
                p.source_port_range,
                p.destination_port_range,
                p.source_address_prefix,
                p.destination_address_prefix,
                p.access,
                p.direction,
            ];
            one.into_iter().flatten().for_each(&mut add);
            let lists = [
                &p.source_port_ranges,
                &p.destination_port_ranges,
                &p.source_address_prefixes,
                &p.destination_address_prefixes,
            ];
            lists.into_iter().flatten().for_each(|s| add(s));
            let asgs = [
                &p.source_application_security_groups,
                &p.destination_application_security_groups,
            ];
            asgs.into_iter()
                .flatten()
                .filter_map(|a| a.id)
                .for_each(&mut add);
        }
        span
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NsgProperties<'a> {
    #[serde(borrow, default, deserialize_with = "list")]
    pub security_rules: Vec<SecurityRule<'a>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SecurityRule<'a> {
    #[serde(borrow, default)]
    pub name: Option<&'a str>,
    #[serde(borrow, default, deserialize_with = "nullable")]
    pub properties: SecurityRuleProperties<'a>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityRuleProperties<'a> {
    #[serde(borrow, default)]
    pub protocol: Option<&'a str>,
    #[serde(borrow, default)]
    pub source_port_range: Option<&'a str>,
    #[serde(borrow, default, deserialize_with = "list")]
    pub source_port_ranges: Vec<&'a str>,
    #[serde(borrow, default)]
    pub destination_port_range: Option<&'a str>,
    #[serde(borrow, default, deserialize_with = "list")]
    pub destination_port_ranges: Vec<&'a str>,
    #[serde(borrow, default)]
    pub source_address_prefix: Option<&'a str>,
    #[serde(borrow, default, deserialize_with = "list")]
    pub source_address_prefixes: Vec<&'a str>,
    #[serde(borrow, default, deserialize_with = "list")]
    pub source_application_security_groups: Vec<SubResource<'a>>,
    #[serde(borrow, default)]
    pub destination_address_prefix: Option<&'a str>,
    #[serde(borrow, default, deserialize_with = "list")]
    pub destination_address_prefixes: Vec<&'a str>,
    #[serde(borrow, default, deserialize_with = "list")]
    pub destination_application_security_groups: Vec<SubResource<'a>>,
    #[serde(borrow, default)]
    pub access: Option<&'a str>,
    #[serde(default)]
    pub priority: Option<i64>,
    #[serde(borrow, default)]
    pub direction: Option<&'a str>,
}

impl arm::SecurityRule {
    /// This rule as the engine reads it.
    pub fn view(&self) -> SecurityRule<'_> {
        let p = &self.properties;
        SecurityRule {
            name: self.name.as_deref(),
            properties: SecurityRuleProperties {
                protocol: p.protocol.as_deref(),
                source_port_range: p.source_port_range.as_deref(),
                source_port_ranges: strs(&p.source_port_ranges),
                destination_port_range: p.destination_port_range.as_deref(),
                destination_port_ranges: strs(&p.destination_port_ranges),
                source_address_prefix: p.source_address_prefix.as_deref(),
                source_address_prefixes: strs(&p.source_address_prefixes),
                source_application_security_groups: subs(&p.source_application_security_groups),
                destination_address_prefix: p.destination_address_prefix.as_deref(),
                destination_address_prefixes: strs(&p.destination_address_prefixes),
                destination_application_security_groups: subs(
                    &p.destination_application_security_groups,
                ),
                access: p.access.as_deref(),
                priority: p.priority,
                direction: p.direction.as_deref(),
            },
        }
    }
}

impl arm::NetworkSecurityGroup {
    /// This NSG as the engine reads it.
    pub fn view(&self) -> NetworkSecurityGroup<'_> {
        NetworkSecurityGroup {
            id: &self.id,
            name: self.name.as_deref(),
            properties: NsgProperties {
                security_rules: self
                    .properties
                    .security_rules
                    .iter()
                    .map(arm::SecurityRule::view)
                    .collect(),
            },
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ApplicationSecurityGroup<'a> {
    #[serde(borrow, default)]
    pub id: &'a str,
}

// ---------------------------------------------------------------------------------------------
// Defender for Cloud: just-in-time network access
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default, Deserialize)]
pub struct JitNetworkAccessPolicy<'a> {
    #[serde(borrow, default)]
    pub id: &'a str,
    #[serde(borrow, default, deserialize_with = "nullable")]
    pub properties: JitPolicyProperties<'a>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JitPolicyProperties<'a> {
    #[serde(borrow, default, deserialize_with = "list")]
    pub virtual_machines: Vec<JitPolicyVm<'a>>,
    #[serde(borrow, default)]
    pub provisioning_state: Option<&'a str>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JitPolicyVm<'a> {
    #[serde(borrow, default)]
    pub id: &'a str,
    #[serde(borrow, default, deserialize_with = "list")]
    pub ports: Vec<JitPortRule<'a>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JitPortRule<'a> {
    pub number: i64,
    #[serde(borrow, default)]
    pub protocol: Option<&'a str>,
}

impl arm::JitNetworkAccessPolicy {
    /// This policy as the engine reads it.
    pub fn view(&self) -> JitNetworkAccessPolicy<'_> {
        let p = &self.properties;
        JitNetworkAccessPolicy {
            id: &self.id,
            properties: JitPolicyProperties {
                virtual_machines: p
                    .virtual_machines
                    .iter()
                    .map(|v| JitPolicyVm {
                        id: &v.id,
                        ports: v
                            .ports
                            .iter()
                            .map(|r| JitPortRule {
                                number: r.number,
                                protocol: r.protocol.as_deref(),
                            })
                            .collect(),
                    })
                    .collect(),
                provisioning_state: p.provisioning_state.as_deref(),
            },
        }
    }
}

impl crate::inventory::Inventory {
    /// Parses an inventory for the engine from one buffer: borrowed, only the fields the
    /// evaluation reads (see [`crate::arm::view`]), nothing else built. Where that fails (a bad
    /// value, or a string with escapes that cannot be borrowed) it parses the owned inventory
    /// into `owned` as [`crate::inventory::Inventory::from_json`] does, so a bad value's error names its JSON
    /// path, and lends its view.
    pub fn parse_view<'a>(
        bytes: &'a [u8],
        owned: &'a mut Option<crate::inventory::Inventory>,
    ) -> Result<Inventory<'a>, crate::inventory::InputError> {
        Self::parse_view_releasing(bytes, owned, &|_| {})
    }

    /// [`Self::parse_view`], telling `release` which bytes it has parsed as it goes (see
    /// [`Release`]).
    pub fn parse_view_releasing<'a>(
        bytes: &'a [u8],
        owned: &'a mut Option<crate::inventory::Inventory>,
        release: Release<'_>,
    ) -> Result<Inventory<'a>, crate::inventory::InputError> {
        let bytes = crate::inventory::json_text(bytes)?;
        match Inventory::from_slice_releasing(bytes, release) {
            Ok(view) => Ok(view),
            Err(_) => Ok(owned
                .insert(crate::inventory::Inventory::from_json(bytes)?)
                .view()),
        }
    }

    /// The inventory as the engine reads it, borrowed from this one.
    pub fn view(&self) -> Inventory<'_> {
        self.view_where(|_| true)
    }

    /// The resources whose id `keep` accepts (effective admin rules: by their VNet's id), as
    /// the engine reads them, borrowed from this inventory: a subscription of a large one
    /// without copying its resources ([`crate::inventory::Inventory::filtered`] copies).
    pub fn view_where(&self, keep: impl Fn(&str) -> bool) -> Inventory<'_> {
        fn cow<'a, T: Clone>(
            items: &'a [T],
            id: impl Fn(&T) -> &str,
            keep: &dyn Fn(&str) -> bool,
        ) -> Cow<'a, [T]> {
            if items.iter().all(|r| keep(id(r))) {
                Cow::Borrowed(items)
            } else {
                Cow::Owned(items.iter().filter(|r| keep(id(r))).cloned().collect())
            }
        }
        /// The kept items of a list, each viewed by `view`.
        fn pick<'a, T, V>(
            items: &'a [T],
            id: impl Fn(&T) -> &str,
            view: impl Fn(&'a T) -> V,
            keep: &dyn Fn(&str) -> bool,
        ) -> Vec<V> {
            items.iter().filter(|r| keep(id(r))).map(view).collect()
        }
        let k: &dyn Fn(&str) -> bool = &keep;
        Inventory {
            virtual_machines: pick(&self.virtual_machines, |r| &r.id, |v| v.view(), k),
            network_interfaces: pick(&self.network_interfaces, |r| &r.id, |v| v.view(), k),
            public_ip_addresses: pick(&self.public_ip_addresses, |r| &r.id, |v| v.view(), k),
            virtual_networks: pick(&self.virtual_networks, |r| &r.id, |v| v.view(), k),
            network_security_groups: pick(
                &self.network_security_groups,
                |r| &r.id,
                |v| v.view(),
                k,
            ),
            application_security_groups: pick(
                &self.application_security_groups,
                |r| &r.id,
                |a| ApplicationSecurityGroup { id: &a.id },
                k,
            ),
            jit_network_access_policies: pick(
                &self.jit_network_access_policies,
                |r| &r.id,
                |v| v.view(),
                k,
            ),
            load_balancers: cow(&self.load_balancers, |r| &r.id, k),
            azure_firewalls: cow(&self.azure_firewalls, |r| &r.id, k),
            firewall_policy_rule_collection_groups: cow(
                &self.firewall_policy_rule_collection_groups,
                |r| &r.id,
                k,
            ),
            bastion_hosts: cow(&self.bastion_hosts, |r| &r.id, k),
            network_manager_effective_security_admin_rules: cow(
                &self.network_manager_effective_security_admin_rules,
                |r| r.virtual_network.id.as_deref().unwrap_or_default(),
                k,
            ),
            firewall_policies: cow(&self.firewall_policies, |r| &r.id, k),
            ip_groups: cow(&self.ip_groups, |r| &r.id, k),
            application_gateways: cow(&self.application_gateways, |r| &r.id, k),
        }
    }
}

#[cfg(all(test, feature = "parallel", not(target_arch = "wasm32")))]
mod two_threads {
    use super::split::{parse_bytes, parse_traced, Targets};
    use super::Inventory;

    /// The one-thread parse and the two-thread parse cut at `target`: the same inventory, or
    /// both an error; and whether the second thread's part was taken.
    fn both(text: &str, target: usize) -> (Option<String>, bool) {
        let one = serde_json::from_str::<Inventory>(text).map(|i| format!("{i:?}"));
        let (two, joined) = parse_traced(text, target);
        let two = two.map(|i| format!("{i:?}"));
        match (&one, &two) {
            (Ok(a), Ok(b)) => assert!(a == b, "cut at {target}: the inventories differ"),
            (Err(_), Err(_)) => {}
            _ => panic!(
                "cut at {target}: one thread {:?}, two threads {:?}",
                one.as_ref().err(),
                two.as_ref().err()
            ),
        }
        (one.ok(), joined)
    }

    /// Cuts at 41 places through `text`: returns how many were taken.
    fn everywhere(text: &str) -> usize {
        (0..=40)
            .filter(|k| both(text, text.len() * k / 40).1)
            .count()
    }

    /// Every shape, compact and pretty, cut anywhere (in every list, between keys, past the
    /// end): the same inventory as one parse, and most cuts are taken.
    #[test]
    fn the_second_thread_changes_nothing() {
        let mut rich = crate::fleet::rich_fleet(300, 7);
        // the last top-level keys, given
        rich.application_gateways.push(
            serde_json::from_value(serde_json::json!({
                "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/applicationGateways/agw",
                "properties": {"listeners": [{"name": "ssh", "properties": {"protocol": "Tcp"}}],
                    "frontendPorts": [{"name": "p", "properties": {"port": 2200}}]}
            }))
            .unwrap(),
        );
        rich.firewall_policies.push(
            serde_json::from_value(serde_json::json!({
                "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/firewallPolicies/child",
                "properties": {"basePolicy": {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/firewallPolicies/base"}}
            }))
            .unwrap(),
        );
        let shapes = [
            crate::fleet::synthetic_fleet(300, 7),
            crate::fleet::per_vm_nsg_fleet(300, 7),
            rich,
        ];
        for inv in &shapes {
            for text in [
                serde_json::to_string(inv).unwrap(),
                serde_json::to_string_pretty(inv).unwrap(),
            ] {
                let taken = everywhere(&text);
                assert!(taken >= 30, "only {taken} of 41 cuts taken");
            }
        }
    }

    /// Ids that are not ARM's (nothing to guess from): the second thread scans for its cut,
    /// and the cuts are taken as before.
    #[test]
    fn without_arm_ids_the_scan_finds_the_cut() {
        let inv = crate::fleet::per_vm_nsg_fleet(300, 7);
        let text = serde_json::to_string_pretty(&inv)
            .unwrap()
            .replace("/providers/", "/p/");
        assert!(serde_json::from_str::<Inventory>(&text).is_ok());
        let taken = everywhere(&text);
        assert!(taken >= 30, "only {taken} of 41 cuts taken");
    }

    /// A guess that reads as a resource of a list but is not one of that list's elements (a
    /// resource under an unknown key; a NIC inside the VM list): this thread does not arrive
    /// there in that list, so the cut is not taken and the inventory is one parse's.
    #[test]
    fn a_wrong_guess_is_not_taken() {
        let inv = crate::fleet::per_vm_nsg_fleet(200, 3);
        let mut decoy = serde_json::to_value(&inv.network_interfaces[0]).unwrap();
        decoy["name"] = "decoy-nic".into();
        decoy["id"] =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/decoy-nic"
                .into();
        let start_of = |text: &str| {
            let marker = text.find("decoy-nic").unwrap();
            text[..marker].rfind(",{").unwrap() + 1
        };
        // under an unknown key, between other values
        let json = serde_json::to_string(&inv).unwrap();
        let body = json.trim_end().strip_suffix('}').unwrap();
        let unknown = format!("{body},\"zzz\":[1,{decoy},2]}}");
        // a NIC among the VMs
        let mut value = serde_json::to_value(&inv).unwrap();
        value["virtualMachines"]
            .as_array_mut()
            .unwrap()
            .insert(100, decoy.clone());
        let among_vms = serde_json::to_string(&value).unwrap();
        for text in [&unknown, &among_vms] {
            let at = start_of(text);
            let (one, joined) = both(text, at);
            assert!(!joined, "a cut at the decoy was taken");
            if text == &unknown {
                assert!(one.is_some(), "valid");
            }
        }
    }

    /// Text that looks like a list or a key where it is not (a nested key of the same name,
    /// an escaped key, a string holding brackets and quotes), null lists and unknown keys: the
    /// same inventory as one parse wherever the cut falls.
    #[test]
    fn misleading_text_changes_nothing() {
        let inv = crate::fleet::per_vm_nsg_fleet(200, 3);
        let json = serde_json::to_string(&inv).unwrap();
        let body = json.trim_end().strip_suffix('}').unwrap();
        let texts = [
            // a nested "networkSecurityGroups" list after the real one
            format!("{body}, \"zzz\": {{\"networkSecurityGroups\": [{{\"id\": \"/not/an/nsg\"}}, 1, 2]}}}}"),
            // an escaped top-level key (serde reads it as virtualMachines)
            json.replacen("\"virtualMachines\"", "\"virtual\\u004dachines\"", 1),
            // a string full of JSON-looking text, numbers and nulls among unknown keys
            format!("{body}, \"note\": \"], [{{\\\", \\\"virtualMachines\\\": [\", \"n\": -1.5e3, \"zz\": null, \"yy\": [true, false]}}"),
            // no NSGs at all, and null lists
            json.replacen("\"networkSecurityGroups\"", "\"otherGroups\"", 1),
            json.replacen("\"applicationSecurityGroups\":[]", "\"applicationSecurityGroups\":null", 1),
        ];
        for text in &texts {
            let (one, _) = both(text, text.len() / 2);
            assert!(one.is_some(), "valid: {}", &text[text.len() - 120..]);
            everywhere(text);
        }
    }

    /// From bytes (the UTF-8 check on the first thread while the second scans): text gives
    /// the inventory one parse gives wherever the cut falls; bytes that are not UTF-8 (before,
    /// at or after the cut, in a string or between values) give `None`, and nothing hangs.
    #[test]
    fn bytes_are_checked_beside_the_scan() {
        let inv = crate::fleet::synthetic_fleet(200, 9);
        let text = serde_json::to_string(&inv).unwrap();
        let one = format!("{:?}", serde_json::from_str::<Inventory>(&text).unwrap());
        for k in 0..=40 {
            let target = text.len() * k / 40;
            let two = parse_bytes(text.as_bytes(), Targets::both(target), &|_| {}).expect("UTF-8");
            assert_eq!(format!("{:?}", two.unwrap()), one, "cut at {target}");
        }
        for at in [10, text.len() / 3, text.len() * 3 / 5, text.len() - 30] {
            // a lone continuation byte in place of a string's letter
            let mut bytes = text.clone().into_bytes();
            let letter = (at..bytes.len())
                .find(|&i| bytes[i].is_ascii_lowercase())
                .unwrap();
            bytes[letter] = 0x80;
            for k in [0, 20, 24, 40] {
                let target = bytes.len() * k / 40;
                assert!(
                    parse_bytes(&bytes, Targets::both(target), &|_| {}).is_none(),
                    "0x80 at {letter}, cut at {target}"
                );
            }
            // then the parse is serde_json's from the bytes
            let slice = serde_json::from_slice::<Inventory>(&bytes).map(|i| format!("{i:?}"));
            let view = Inventory::from_slice(&bytes).map(|i| format!("{i:?}"));
            assert_eq!(slice.ok(), view.ok());
        }
    }

    /// What the one-thread parse refuses, the two-thread parse refuses, wherever the cut falls:
    /// a key given twice (once on each side of a cut), trailing text, a trailing comma in a
    /// list or after the last key, a value of the wrong type.
    #[test]
    fn what_one_parse_refuses_two_refuse() {
        let inv = crate::fleet::synthetic_fleet(200, 5);
        let json = serde_json::to_string(&inv).unwrap();
        let body = json.trim_end().strip_suffix('}').unwrap();
        let vms = serde_json::to_string(&inv.virtual_machines[..2]).unwrap();
        let texts = [
            format!("{body}, \"virtualMachines\": {vms}}}"),
            format!("{json} x"),
            format!("{body},}}"),
            json.replacen("}]", "},]", 1),
            json.replacen("\"priority\":", "\"priority\":\"high\",\"x\":", 1),
            json.replacen("\"virtualNetworks\":[", "\"virtualNetworks\":{\"a\":[", 1),
        ];
        for text in &texts {
            assert!(serde_json::from_str::<Inventory>(text).is_err());
            for k in 0..=40 {
                let target = text.len() * k / 40;
                assert!(parse_traced(text, target).0.is_err(), "cut at {target}");
            }
        }
    }
}
