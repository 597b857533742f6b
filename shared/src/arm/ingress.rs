//! The resources that open other ways in from the Internet (docs/ARCHITECTURE.md, "Paths from the Internet"):
//! load balancers, Azure Firewalls and their policies' rule collection groups, Bastion hosts and
//! Azure Virtual Network Manager's effective security admin rules.
//!
//! Tolerant as the rest of [`crate::arm`]: every field ARM may omit is optional or empty, and
//! unknown fields are ignored. Ports arrive as JSON numbers in load balancers and as strings in
//! firewall rules; both are validated by the engine with their JSON path.
use super::{nullable, SubResource};
use serde::{Deserialize, Serialize};

fn is_empty<T>(v: &[T]) -> bool {
    v.is_empty()
}

/// `{"name": "Standard", "tier": "Regional"}` of public IPs, load balancers and Bastion hosts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sku {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
}

impl Sku {
    pub fn is(&self, name: &str) -> bool {
        self.name
            .as_deref()
            .is_some_and(|n| n.trim().eq_ignore_ascii_case(name))
    }
}

// ---------------------------------------------------------------------------------------------
// Load balancers
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadBalancer {
    #[serde(default)]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<Sku>,
    #[serde(default, deserialize_with = "nullable")]
    pub properties: LoadBalancerProperties,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancerProperties {
    #[serde(
        default,
        rename = "frontendIPConfigurations",
        deserialize_with = "nullable"
    )]
    pub frontend_ip_configurations: Vec<LbFrontend>,
    #[serde(default, deserialize_with = "nullable")]
    pub backend_address_pools: Vec<LbBackendPool>,
    #[serde(default, deserialize_with = "nullable")]
    pub load_balancing_rules: Vec<LbRule>,
    #[serde(default, deserialize_with = "nullable")]
    pub inbound_nat_rules: Vec<LbNatRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LbFrontend {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub properties: LbFrontendProperties,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LbFrontendProperties {
    #[serde(
        default,
        rename = "privateIPAddress",
        skip_serializing_if = "Option::is_none"
    )]
    pub private_ip_address: Option<String>,
    #[serde(
        default,
        rename = "publicIPAddress",
        skip_serializing_if = "Option::is_none"
    )]
    pub public_ip_address: Option<SubResource>,
    #[serde(
        default,
        rename = "publicIPPrefix",
        skip_serializing_if = "Option::is_none"
    )]
    pub public_ip_prefix: Option<SubResource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<SubResource>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LbBackendPool {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub properties: LbBackendPoolProperties,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LbBackendPoolProperties {
    /// NIC-based pools: the ip configurations in the pool (ARM's back-reference).
    #[serde(
        default,
        rename = "backendIPConfigurations",
        deserialize_with = "nullable",
        skip_serializing_if = "is_empty"
    )]
    pub backend_ip_configurations: Vec<SubResource>,
    /// IP-based pools: addresses in a virtual network.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_empty"
    )]
    pub load_balancer_backend_addresses: Vec<LbBackendAddress>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LbBackendAddress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub properties: LbBackendAddressProperties,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LbBackendAddressProperties {
    #[serde(default, rename = "ipAddress", skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_network: Option<SubResource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<SubResource>,
    #[serde(
        default,
        rename = "networkInterfaceIPConfiguration",
        skip_serializing_if = "Option::is_none"
    )]
    pub network_interface_ip_configuration: Option<SubResource>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LbRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub properties: LbRuleProperties,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LbRuleProperties {
    #[serde(
        default,
        rename = "frontendIPConfiguration",
        skip_serializing_if = "Option::is_none"
    )]
    pub frontend_ip_configuration: Option<SubResource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_address_pool: Option<SubResource>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_empty"
    )]
    pub backend_address_pools: Vec<SubResource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontend_port: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_port: Option<i64>,
    #[serde(
        default,
        rename = "enableFloatingIP",
        skip_serializing_if = "Option::is_none"
    )]
    pub enable_floating_ip: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LbNatRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub properties: LbNatRuleProperties,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LbNatRuleProperties {
    #[serde(
        default,
        rename = "frontendIPConfiguration",
        skip_serializing_if = "Option::is_none"
    )]
    pub frontend_ip_configuration: Option<SubResource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// v1: one frontend port for one ip configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontend_port: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_port: Option<i64>,
    /// v2: a frontend port range over a backend pool, one port per backend instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontend_port_range_start: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontend_port_range_end: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_address_pool: Option<SubResource>,
    /// v1: the ip configuration the rule forwards to (ARM's back-reference).
    #[serde(
        default,
        rename = "backendIPConfiguration",
        skip_serializing_if = "Option::is_none"
    )]
    pub backend_ip_configuration: Option<SubResource>,
    #[serde(
        default,
        rename = "enableFloatingIP",
        skip_serializing_if = "Option::is_none"
    )]
    pub enable_floating_ip: Option<bool>,
}

// ---------------------------------------------------------------------------------------------
// Azure Firewall and Firewall Policy
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AzureFirewall {
    #[serde(default)]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub properties: AzureFirewallProperties,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AzureFirewallProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<Sku>,
    #[serde(default, deserialize_with = "nullable")]
    pub ip_configurations: Vec<FirewallIpConfiguration>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_empty"
    )]
    pub nat_rule_collections: Vec<FirewallNatRuleCollection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firewall_policy: Option<SubResource>,
    #[serde(
        default,
        rename = "hubIPAddresses",
        skip_serializing_if = "Option::is_none"
    )]
    pub hub_ip_addresses: Option<HubIpAddresses>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_hub: Option<SubResource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    /// Everything else (network and application rule collections, threat intelligence, ...),
    /// kept as it came so that a write sends it back unchanged.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FirewallIpConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub properties: FirewallIpConfigurationProperties,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FirewallIpConfigurationProperties {
    #[serde(
        default,
        rename = "privateIPAddress",
        skip_serializing_if = "Option::is_none"
    )]
    pub private_ip_address: Option<String>,
    #[serde(
        default,
        rename = "publicIPAddress",
        skip_serializing_if = "Option::is_none"
    )]
    pub public_ip_address: Option<SubResource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<SubResource>,
}

/// A secured virtual hub's addresses (`AZFW_Hub` firewalls have no ip configurations).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HubIpAddresses {
    #[serde(default, rename = "publicIPs", skip_serializing_if = "Option::is_none")]
    pub public_ips: Option<HubPublicIps>,
    #[serde(
        default,
        rename = "privateIPAddress",
        skip_serializing_if = "Option::is_none"
    )]
    pub private_ip_address: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HubPublicIps {
    #[serde(default, deserialize_with = "nullable")]
    pub addresses: Vec<HubPublicIp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HubPublicIp {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// A classic (non-policy) NAT rule collection of a firewall.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FirewallNatRuleCollection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub properties: FirewallNatRuleCollectionProperties,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FirewallNatRuleCollectionProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<RuleAction>,
    #[serde(default, deserialize_with = "nullable")]
    pub rules: Vec<NatRule>,
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// `{"type": "Dnat"}` (classic) or `{"type": "DNAT"}` (policy).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleAction {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// A DNAT rule, classic (`protocols`) or Firewall Policy (`ruleType: NatRule`, `ipProtocols`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NatRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_empty"
    )]
    pub source_addresses: Vec<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_empty"
    )]
    pub source_ip_groups: Vec<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_empty"
    )]
    pub destination_addresses: Vec<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_empty"
    )]
    pub destination_ports: Vec<String>,
    /// Classic rules: `["TCP", "UDP"]`. (Application rules of a policy write objects here,
    /// `{"protocolType", "port"}`: kept as JSON.)
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_empty"
    )]
    pub protocols: Vec<serde_json::Value>,
    /// Firewall Policy rules.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_empty"
    )]
    pub ip_protocols: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub translated_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub translated_port: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub translated_fqdn: Option<String>,
    /// The fields of other rule types (network, application rules), kept as they came.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// `Microsoft.Network/firewallPolicies/ruleCollectionGroups`: id `{policy id}/ruleCollectionGroups/{name}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FirewallPolicyRuleCollectionGroup {
    #[serde(default)]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub properties: RuleCollectionGroupProperties,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleCollectionGroupProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    #[serde(default, deserialize_with = "nullable")]
    pub rule_collections: Vec<PolicyRuleCollection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRuleCollection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_collection_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<RuleAction>,
    /// Every rule type is read with the NAT fields; the engine looks only at `NatRule`s of
    /// `FirewallPolicyNatRuleCollection`s.
    #[serde(default, deserialize_with = "nullable")]
    pub rules: Vec<NatRule>,
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

// ---------------------------------------------------------------------------------------------
// Azure Bastion
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BastionHost {
    #[serde(default)]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<Sku>,
    #[serde(default, deserialize_with = "nullable")]
    pub properties: BastionHostProperties,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BastionHostProperties {
    #[serde(default, deserialize_with = "nullable")]
    pub ip_configurations: Vec<BastionIpConfiguration>,
    /// Developer SKU: the VNet it serves (no subnet of its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_network: Option<SubResource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BastionIpConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub properties: BastionIpConfigurationProperties,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BastionIpConfigurationProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<SubResource>,
    #[serde(
        default,
        rename = "publicIPAddress",
        skip_serializing_if = "Option::is_none"
    )]
    pub public_ip_address: Option<SubResource>,
}

// ---------------------------------------------------------------------------------------------
// Azure Virtual Network Manager: effective security admin rules of one VNet
// ---------------------------------------------------------------------------------------------

/// One inventory item: the VNet and the `value` of its
/// `listNetworkManagerEffectiveSecurityAdminRules` answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EffectiveSecurityAdminRules {
    #[serde(default)]
    pub virtual_network: SubResource,
    #[serde(default, deserialize_with = "nullable")]
    pub value: Vec<EffectiveSecurityAdminRule>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EffectiveSecurityAdminRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `Custom` or `Default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_description: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub properties: AdminRuleProperties,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminRuleProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub sources: Vec<AdminRuleAddress>,
    #[serde(default, deserialize_with = "nullable")]
    pub destinations: Vec<AdminRuleAddress>,
    #[serde(default, deserialize_with = "nullable")]
    pub source_port_ranges: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub destination_port_ranges: Vec<String>,
    /// `Allow` (hand over to the NSGs), `Deny` or `AlwaysAllow`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminRuleAddress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_prefix: Option<String>,
    /// `IPPrefix` or `ServiceTag`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_prefix_type: Option<String>,
}
