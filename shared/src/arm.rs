//! ARM resource types, as Azure Resource Manager returns them.
//!
//! Tolerant by design: unknown fields are ignored, every field that ARM may omit or send as
//! `null` is optional or defaults to empty, and both the singular and the plural forms of NSG rule
//! fields are kept (the engine unions them). Resource ids are compared case-insensitively with
//! [`id_key`]. The same types serialise back to ARM's shapes (the emulator uses them).
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

pub mod graph;
mod ingress;
pub mod versions;
pub mod view;
pub use ingress::*;

/// Lower-cased id, the key for every join between resources (ARM ids are case-insensitive).
pub fn id_key(id: &str) -> String {
    id.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// `(subscriptionId, resourceGroup)` of an ARM id (empty when absent).
pub fn id_scope(id: &str) -> (String, String) {
    let (sub, rg) = id_scope_ref(id);
    (sub.to_string(), rg.to_string())
}

/// [`id_scope`] without allocating: slices of `id`.
pub fn id_scope_ref(id: &str) -> (&str, &str) {
    let mut sub = None;
    let mut rg = None;
    let mut parts = id.split('/');
    while let Some(p) = parts.next() {
        if sub.is_none() && p.len() == 13 && p.eq_ignore_ascii_case("subscriptions") {
            sub = parts.next();
        } else if rg.is_none() && p.len() == 14 && p.eq_ignore_ascii_case("resourceGroups") {
            rg = parts.next();
        }
        if sub.is_some() && rg.is_some() {
            break;
        }
    }
    (sub.unwrap_or_default(), rg.unwrap_or_default())
}

/// Treats an explicit `null` like a missing field (ARM sends both).
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Reads and discards `defaultSecurityRules` (see [`NsgProperties::default_security_rules`]).
fn skip_default_rules<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SecurityRule>, D::Error> {
    serde::de::IgnoredAny::deserialize(d)?;
    Ok(Vec::new())
}

fn is_empty<T>(v: &[T]) -> bool {
    v.is_empty()
}

/// `{"id": "..."}` reference to another resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubResource {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl SubResource {
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: Some(id.into()),
        }
    }
}

/// A top-level ARM resource: the envelope every type shares (ARM's common `Resource` and
/// `TrackedResource` definitions), with the type's own `properties`. Fields a type does not
/// have stay `None` or empty and are not serialised.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, bound(deserialize = "P: Deserialize<'de> + Default"))]
pub struct Resource<P> {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub tags: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<Sku>,
    #[serde(deserialize_with = "nullable")]
    pub properties: P,
}

impl<P: Clone> Resource<Arc<P>> {
    /// The properties, to change: copied first if another snapshot shares them.
    pub fn props_mut(&mut self) -> &mut P {
        Arc::make_mut(&mut self.properties)
    }
}

impl<P: PartialEq> Resource<Arc<P>> {
    /// Takes `old`'s properties (shares them) when they equal this resource's: a snapshot that
    /// reads a resource unchanged since the last one then holds its properties once.
    pub fn share_properties(&mut self, old: &Self) {
        if !Arc::ptr_eq(&self.properties, &old.properties) && self.properties == old.properties {
            self.properties = Arc::clone(&old.properties);
        }
    }
}

/// A resource nested in its parent (ARM's `SubResource` with a name and properties): a subnet,
/// an IP configuration, a load-balancer rule, a firewall rule collection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, bound(deserialize = "P: Deserialize<'de> + Default"))]
pub struct Child<P> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub properties: P,
}

// ---------------------------------------------------------------------------------------------
// Compute
// ---------------------------------------------------------------------------------------------

pub type VirtualMachine = Resource<Arc<VmProperties>>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct VmProperties {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vm_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hardware_profile: Option<HardwareProfile>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_profile: Option<StorageProfile>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_profile: Option<OsProfile>,
    #[serde(deserialize_with = "nullable")]
    pub network_profile: NetworkProfile,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HardwareProfile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vm_size: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct StorageProfile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_disk: Option<OsDisk>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_reference: Option<ImageReference>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OsDisk {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ImageReference {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OsProfile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub computer_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub windows_configuration: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linux_configuration: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NetworkProfile {
    #[serde(deserialize_with = "nullable")]
    pub network_interfaces: Vec<SubResource>,
}

impl VirtualMachine {
    /// `Windows` / `Linux` from the OS disk, else from the OS profile, else `None`.
    pub fn os_type(&self) -> Option<&str> {
        let p = &self.properties;
        if let Some(t) = p
            .storage_profile
            .as_ref()
            .and_then(|s| s.os_disk.as_ref())
            .and_then(|d| d.os_type.as_deref())
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

// ---------------------------------------------------------------------------------------------
// Network
// ---------------------------------------------------------------------------------------------

pub type NetworkInterface = Resource<Arc<NicProperties>>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NicProperties {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_security_group: Option<SubResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_machine: Option<SubResource>,
    #[serde(deserialize_with = "nullable")]
    pub ip_configurations: Vec<IpConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
}

pub type IpConfiguration = Child<IpConfigurationProperties>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IpConfigurationProperties {
    #[serde(rename = "privateIPAddress", skip_serializing_if = "Option::is_none")]
    pub private_ip_address: Option<String>,
    #[serde(
        rename = "privateIPAddressVersion",
        skip_serializing_if = "Option::is_none"
    )]
    pub private_ip_address_version: Option<String>,
    #[serde(
        rename = "privateIPAllocationMethod",
        skip_serializing_if = "Option::is_none"
    )]
    pub private_ip_allocation_method: Option<String>,
    #[serde(rename = "publicIPAddress", skip_serializing_if = "Option::is_none")]
    pub public_ip_address: Option<SubResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet: Option<SubResource>,
    #[serde(
        rename = "applicationSecurityGroups",
        deserialize_with = "nullable",
        skip_serializing_if = "is_empty"
    )]
    pub application_security_groups: Vec<SubResource>,
    /// NIC-based load balancer backend pools this ip configuration is in.
    #[serde(
        rename = "loadBalancerBackendAddressPools",
        deserialize_with = "nullable",
        skip_serializing_if = "is_empty"
    )]
    pub load_balancer_backend_address_pools: Vec<SubResource>,
    /// Load balancer inbound NAT rules (v1) that forward to this ip configuration.
    #[serde(
        rename = "loadBalancerInboundNatRules",
        deserialize_with = "nullable",
        skip_serializing_if = "is_empty"
    )]
    pub load_balancer_inbound_nat_rules: Vec<SubResource>,
    /// Application gateway backend pools this ip configuration is in.
    #[serde(
        rename = "applicationGatewayBackendAddressPools",
        deserialize_with = "nullable",
        skip_serializing_if = "is_empty"
    )]
    pub application_gateway_backend_address_pools: Vec<SubResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
}

/// `Standard` (closed to inbound traffic unless an NSG allows it) or `Basic` (retired,
/// open); a missing SKU reads Standard, Azure's default.
pub type PublicIpAddress = Resource<Arc<PublicIpProperties>>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PublicIpProperties {
    #[serde(rename = "ipAddress", skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    #[serde(
        rename = "publicIPAddressVersion",
        skip_serializing_if = "Option::is_none"
    )]
    pub public_ip_address_version: Option<String>,
    #[serde(
        rename = "publicIPAllocationMethod",
        skip_serializing_if = "Option::is_none"
    )]
    pub public_ip_allocation_method: Option<String>,
    #[serde(rename = "ipConfiguration", skip_serializing_if = "Option::is_none")]
    pub ip_configuration: Option<SubResource>,
}

pub type VirtualNetwork = Resource<VnetProperties>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct VnetProperties {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_space: Option<AddressSpace>,
    #[serde(deserialize_with = "nullable")]
    pub subnets: Vec<Subnet>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_empty")]
    pub virtual_network_peerings: Vec<VnetPeering>,
}

pub type VnetPeering = Child<VnetPeeringProperties>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct VnetPeeringProperties {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_virtual_network: Option<SubResource>,
    /// `Connected`, `Initiated` or `Disconnected`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peering_state: Option<String>,
    /// The remote VNet's address space, as ARM reports it on the peering.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_address_space: Option<AddressSpace>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AddressSpace {
    #[serde(deserialize_with = "nullable")]
    pub address_prefixes: Vec<String>,
}

pub type Subnet = Child<SubnetProperties>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SubnetProperties {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_prefix: Option<String>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_empty")]
    pub address_prefixes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_security_group: Option<SubResource>,
}

pub type NetworkSecurityGroup = Resource<Arc<NsgProperties>>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NsgProperties {
    #[serde(deserialize_with = "nullable")]
    pub security_rules: Vec<SecurityRule>,
    /// ARM's six default rules are fixed and read-only: they are accepted in payloads but not
    /// kept (the engine always applies the canonical set, and large inventories need not carry
    /// 6 copies per NSG); [`default_security_rules`] regenerates them for output.
    #[serde(
        deserialize_with = "skip_default_rules",
        skip_serializing_if = "is_empty"
    )]
    pub default_security_rules: Vec<SecurityRule>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_empty")]
    pub network_interfaces: Vec<SubResource>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_empty")]
    pub subnets: Vec<SubResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecurityRule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub properties: SecurityRuleProperties,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SecurityRuleProperties {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_port_range: Option<String>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_empty")]
    pub source_port_ranges: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_port_range: Option<String>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_empty")]
    pub destination_port_ranges: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_address_prefix: Option<String>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_empty")]
    pub source_address_prefixes: Vec<String>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_empty")]
    pub source_application_security_groups: Vec<SubResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_address_prefix: Option<String>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_empty")]
    pub destination_address_prefixes: Vec<String>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_empty")]
    pub destination_application_security_groups: Vec<SubResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApplicationSecurityGroup {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Defender for Cloud: just-in-time network access
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JitNetworkAccessPolicy {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub properties: JitPolicyProperties,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct JitPolicyProperties {
    #[serde(deserialize_with = "nullable")]
    pub virtual_machines: Vec<JitPolicyVm>,
    #[serde(deserialize_with = "nullable")]
    pub requests: Vec<JitRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct JitPolicyVm {
    pub id: String,
    #[serde(deserialize_with = "nullable")]
    pub ports: Vec<JitPortRule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_ip_address: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JitPortRule {
    pub number: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_source_address_prefix: Option<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_empty"
    )]
    pub allowed_source_address_prefixes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_request_access_duration: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct JitRequest {
    #[serde(deserialize_with = "nullable")]
    pub virtual_machines: Vec<JitRequestVm>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time_utc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requestor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct JitRequestVm {
    pub id: String,
    #[serde(deserialize_with = "nullable")]
    pub ports: Vec<JitRequestPort>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JitRequestPort {
    pub number: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time_utc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_source_address_prefix: Option<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_empty"
    )]
    pub allowed_source_address_prefixes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
}

/// A list page as ARM returns it: `{"value": [...], "nextLink": "..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub struct Page<T> {
    #[serde(default = "Vec::new", deserialize_with = "nullable")]
    pub value: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Self {
            value: Vec::new(),
            next_link: None,
        }
    }
}

/// The standard ARM (and NSG) default rules, with ids under `nsg_id`.
pub fn default_security_rules(nsg_id: &str) -> Vec<SecurityRule> {
    let rule =
        |name: &str, desc: &str, src: &str, dst: &str, access: &str, prio: i64, dir: &str| {
            SecurityRule {
                id: Some(format!("{nsg_id}/defaultSecurityRules/{name}")),
                name: Some(name.to_string()),
                etag: None,
                kind: None,
                properties: SecurityRuleProperties {
                    description: Some(desc.to_string()),
                    protocol: Some("*".into()),
                    source_port_range: Some("*".into()),
                    destination_port_range: Some("*".into()),
                    source_address_prefix: Some(src.into()),
                    destination_address_prefix: Some(dst.into()),
                    access: Some(access.into()),
                    priority: Some(prio),
                    direction: Some(dir.into()),
                    provisioning_state: Some("Succeeded".into()),
                    ..Default::default()
                },
            }
        };
    vec![
        rule(
            "AllowVnetInBound",
            "Allow inbound traffic from all VMs in VNET",
            "VirtualNetwork",
            "VirtualNetwork",
            "Allow",
            65000,
            "Inbound",
        ),
        rule(
            "AllowAzureLoadBalancerInBound",
            "Allow inbound traffic from azure load balancer",
            "AzureLoadBalancer",
            "*",
            "Allow",
            65001,
            "Inbound",
        ),
        rule(
            "DenyAllInBound",
            "Deny all inbound traffic",
            "*",
            "*",
            "Deny",
            65500,
            "Inbound",
        ),
        rule(
            "AllowVnetOutBound",
            "Allow outbound traffic from all VMs to all VMs in VNET",
            "VirtualNetwork",
            "VirtualNetwork",
            "Allow",
            65000,
            "Outbound",
        ),
        rule(
            "AllowInternetOutBound",
            "Allow outbound traffic from all VMs to Internet",
            "*",
            "Internet",
            "Allow",
            65001,
            "Outbound",
        ),
        rule(
            "DenyAllOutBound",
            "Deny all outbound traffic",
            "*",
            "*",
            "Deny",
            65500,
            "Outbound",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::id_scope;

    #[test]
    fn scopes_of_ids() {
        assert_eq!(
            id_scope("/SUBSCRIPTIONS/s1/ResourceGroups/rg-1/providers/x/y"),
            ("s1".to_string(), "rg-1".to_string())
        );
        assert_eq!(id_scope("nothing"), (String::new(), String::new()));
    }
}
