//! The resources that open other ways in from the Internet (docs/ARCHITECTURE.md, "Paths from the Internet"):
//! load balancers, Azure Firewalls and their policies' rule collection groups, Bastion hosts and
//! Azure Virtual Network Manager's effective security admin rules.
//!
//! Tolerant as the rest of [`crate::arm`]: every field ARM may omit is optional or empty, and
//! unknown fields are ignored. Ports arrive as JSON numbers in load balancers and as strings in
//! firewall rules; both are validated by the engine with their JSON path.
use super::{nullable, Child, Resource, SubResource};
use serde::{Deserialize, Serialize};

fn is_empty<T>(v: &[T]) -> bool {
    v.is_empty()
}

/// `{"name": "Standard", "tier": "Regional"}` of public IPs, load balancers and Bastion hosts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Sku {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
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

pub type LoadBalancer = Resource<LoadBalancerProperties>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LoadBalancerProperties {
    #[serde(rename = "frontendIPConfigurations", deserialize_with = "nullable")]
    pub frontend_ip_configurations: Vec<LbFrontend>,
    #[serde(deserialize_with = "nullable")]
    pub backend_address_pools: Vec<LbBackendPool>,
    #[serde(deserialize_with = "nullable")]
    pub load_balancing_rules: Vec<LbRule>,
    #[serde(deserialize_with = "nullable")]
    pub inbound_nat_rules: Vec<LbNatRule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
}

pub type LbFrontend = Child<LbFrontendProperties>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LbFrontendProperties {
    #[serde(rename = "privateIPAddress", skip_serializing_if = "Option::is_none")]
    pub private_ip_address: Option<String>,
    #[serde(rename = "publicIPAddress", skip_serializing_if = "Option::is_none")]
    pub public_ip_address: Option<SubResource>,
    #[serde(rename = "publicIPPrefix", skip_serializing_if = "Option::is_none")]
    pub public_ip_prefix: Option<SubResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet: Option<SubResource>,
}

pub type LbBackendPool = Child<LbBackendPoolProperties>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LbBackendPoolProperties {
    /// NIC-based pools: the ip configurations in the pool (ARM's back-reference).
    #[serde(
        rename = "backendIPConfigurations",
        deserialize_with = "nullable",
        skip_serializing_if = "is_empty"
    )]
    pub backend_ip_configurations: Vec<SubResource>,
    /// IP-based pools: addresses in a virtual network.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_empty")]
    pub load_balancer_backend_addresses: Vec<LbBackendAddress>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LbBackendAddress {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub properties: LbBackendAddressProperties,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LbBackendAddressProperties {
    #[serde(rename = "ipAddress", skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_network: Option<SubResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet: Option<SubResource>,
    #[serde(
        rename = "networkInterfaceIPConfiguration",
        skip_serializing_if = "Option::is_none"
    )]
    pub network_interface_ip_configuration: Option<SubResource>,
}

pub type LbRule = Child<LbRuleProperties>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LbRuleProperties {
    #[serde(
        rename = "frontendIPConfiguration",
        skip_serializing_if = "Option::is_none"
    )]
    pub frontend_ip_configuration: Option<SubResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend_address_pool: Option<SubResource>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_empty")]
    pub backend_address_pools: Vec<SubResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frontend_port: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend_port: Option<i64>,
    #[serde(rename = "enableFloatingIP", skip_serializing_if = "Option::is_none")]
    pub enable_floating_ip: Option<bool>,
}

pub type LbNatRule = Child<LbNatRuleProperties>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LbNatRuleProperties {
    #[serde(
        rename = "frontendIPConfiguration",
        skip_serializing_if = "Option::is_none"
    )]
    pub frontend_ip_configuration: Option<SubResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// v1: one frontend port for one ip configuration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frontend_port: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend_port: Option<i64>,
    /// v2: a frontend port range over a backend pool, one port per backend instance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frontend_port_range_start: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frontend_port_range_end: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend_address_pool: Option<SubResource>,
    /// v1: the ip configuration the rule forwards to (ARM's back-reference).
    #[serde(
        rename = "backendIPConfiguration",
        skip_serializing_if = "Option::is_none"
    )]
    pub backend_ip_configuration: Option<SubResource>,
    #[serde(rename = "enableFloatingIP", skip_serializing_if = "Option::is_none")]
    pub enable_floating_ip: Option<bool>,
}

// ---------------------------------------------------------------------------------------------
// Azure Firewall and Firewall Policy
// ---------------------------------------------------------------------------------------------

pub type AzureFirewall = Resource<AzureFirewallProperties>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AzureFirewallProperties {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<Sku>,
    #[serde(deserialize_with = "nullable")]
    pub ip_configurations: Vec<FirewallIpConfiguration>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_empty")]
    pub nat_rule_collections: Vec<FirewallNatRuleCollection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firewall_policy: Option<SubResource>,
    #[serde(rename = "hubIPAddresses", skip_serializing_if = "Option::is_none")]
    pub hub_ip_addresses: Option<HubIpAddresses>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_hub: Option<SubResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    /// Everything else (network and application rule collections, threat intelligence, ...),
    /// kept as it came so that a write sends it back unchanged.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

pub type FirewallIpConfiguration = Child<FirewallIpConfigurationProperties>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FirewallIpConfigurationProperties {
    #[serde(rename = "privateIPAddress", skip_serializing_if = "Option::is_none")]
    pub private_ip_address: Option<String>,
    #[serde(rename = "publicIPAddress", skip_serializing_if = "Option::is_none")]
    pub public_ip_address: Option<SubResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet: Option<SubResource>,
}

/// A secured virtual hub's addresses (`AZFW_Hub` firewalls have no ip configurations).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HubIpAddresses {
    #[serde(rename = "publicIPs", skip_serializing_if = "Option::is_none")]
    pub public_ips: Option<HubPublicIps>,
    #[serde(rename = "privateIPAddress", skip_serializing_if = "Option::is_none")]
    pub private_ip_address: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HubPublicIps {
    #[serde(deserialize_with = "nullable")]
    pub addresses: Vec<HubPublicIp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HubPublicIp {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// A classic (non-policy) NAT rule collection of a firewall.
pub type FirewallNatRuleCollection = Child<FirewallNatRuleCollectionProperties>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FirewallNatRuleCollectionProperties {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<RuleAction>,
    #[serde(deserialize_with = "nullable")]
    pub rules: Vec<NatRule>,
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// `{"type": "Dnat"}` (classic) or `{"type": "DNAT"}` (policy).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RuleAction {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// A DNAT rule, classic (`protocols`) or Firewall Policy (`ruleType: NatRule`, `ipProtocols`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NatRule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_empty")]
    pub source_addresses: Vec<String>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_empty")]
    pub source_ip_groups: Vec<String>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_empty")]
    pub destination_addresses: Vec<String>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_empty")]
    pub destination_ports: Vec<String>,
    /// Classic rules: `["TCP", "UDP"]`. (Application rules of a policy write objects here,
    /// `{"protocolType", "port"}`: kept as JSON.)
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_empty")]
    pub protocols: Vec<serde_json::Value>,
    /// Firewall Policy rules.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_empty")]
    pub ip_protocols: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub translated_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub translated_port: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub translated_fqdn: Option<String>,
    /// The fields of other rule types (network, application rules), kept as they came.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// `Microsoft.Network/ipGroups`: addresses, CIDRs and ranges that firewall rules name by the
/// group's id (`sourceIpGroups`).
pub type IpGroup = Resource<IpGroupProperties>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct IpGroupProperties {
    #[serde(deserialize_with = "nullable")]
    pub ip_addresses: Vec<String>,
    /// The other properties (`firewalls`, `firewallPolicies`, `provisioningState`), kept as
    /// they came.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// The IP groups that DNAT rules name as sources (`sourceIpGroups`), in the firewalls' classic NAT
/// collections and in the policies' NAT rule collections: what a snapshot reads besides the
/// lists (the server's and the browser's alike). Sorted, each once (ids compare
/// case-insensitively).
pub fn dnat_ip_groups(
    firewalls: &[AzureFirewall],
    groups: &[FirewallPolicyRuleCollectionGroup],
) -> Vec<String> {
    let classic = firewalls
        .iter()
        .flat_map(|f| &f.properties.nat_rule_collections)
        .flat_map(|c| &c.properties.rules);
    let policy = groups
        .iter()
        .flat_map(|g| &g.properties.rule_collections)
        .filter(|c| {
            c.rule_collection_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("FirewallPolicyNatRuleCollection"))
        })
        .flat_map(|c| &c.rules);
    let mut ids: Vec<String> = classic
        .chain(policy)
        .flat_map(|r| &r.source_ip_groups)
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty())
        .collect();
    ids.sort_by_key(|id| super::id_key(id));
    ids.dedup_by_key(|id| super::id_key(id));
    ids
}

/// `Microsoft.Network/firewallPolicies`, read for `basePolicy`: a policy inherits its base
/// policy's rule collection groups, whose DNAT rules Azure processes before its own.
pub type FirewallPolicy = Resource<FirewallPolicyProperties>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FirewallPolicyProperties {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_policy: Option<SubResource>,
    /// The other properties (`childPolicies`, `firewalls`, `ruleCollectionGroups`, `sku`,
    /// `threatIntelMode`, ...), kept as they came.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// `Microsoft.Network/firewallPolicies/ruleCollectionGroups`: id `{policy id}/ruleCollectionGroups/{name}`.
pub type FirewallPolicyRuleCollectionGroup = Resource<RuleCollectionGroupProperties>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RuleCollectionGroupProperties {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    #[serde(deserialize_with = "nullable")]
    pub rule_collections: Vec<PolicyRuleCollection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PolicyRuleCollection {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_collection_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<RuleAction>,
    /// Every rule type is read with the NAT fields; the engine looks only at `NatRule`s of
    /// `FirewallPolicyNatRuleCollection`s.
    #[serde(deserialize_with = "nullable")]
    pub rules: Vec<NatRule>,
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

// ---------------------------------------------------------------------------------------------
// Azure Bastion
// ---------------------------------------------------------------------------------------------

pub type BastionHost = Resource<BastionHostProperties>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BastionHostProperties {
    #[serde(deserialize_with = "nullable")]
    pub ip_configurations: Vec<BastionIpConfiguration>,
    /// Developer SKU: the VNet it serves (no subnet of its own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_network: Option<SubResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
}

pub type BastionIpConfiguration = Child<BastionIpConfigurationProperties>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BastionIpConfigurationProperties {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet: Option<SubResource>,
    #[serde(rename = "publicIPAddress", skip_serializing_if = "Option::is_none")]
    pub public_ip_address: Option<SubResource>,
}

// ---------------------------------------------------------------------------------------------
// Azure Virtual Network Manager: effective security admin rules of one VNet
// ---------------------------------------------------------------------------------------------

/// One inventory item: the VNet and the `value` of its
/// `listNetworkManagerEffectiveSecurityAdminRules` answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EffectiveSecurityAdminRules {
    pub virtual_network: SubResource,
    #[serde(deserialize_with = "nullable")]
    pub value: Vec<EffectiveSecurityAdminRule>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EffectiveSecurityAdminRule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `Custom` or `Default`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configuration_description: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub properties: AdminRuleProperties,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AdminRuleProperties {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub sources: Vec<AdminRuleAddress>,
    #[serde(deserialize_with = "nullable")]
    pub destinations: Vec<AdminRuleAddress>,
    #[serde(deserialize_with = "nullable")]
    pub source_port_ranges: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub destination_port_ranges: Vec<String>,
    /// `Allow` (hand over to the NSGs), `Deny` or `AlwaysAllow`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AdminRuleAddress {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_prefix: Option<String>,
    /// `IPPrefix` or `ServiceTag`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_prefix_type: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Application gateways
// ---------------------------------------------------------------------------------------------

/// `Microsoft.Network/applicationGateways`. Only its TCP/TLS proxy (layer 4: `listeners`,
/// `routingRules`, `backendSettingsCollection`) can carry a management protocol to a VM; the
/// HTTP(S) side (`httpListeners`, `requestRoutingRules`) speaks HTTP to its backends and is
/// kept as it came, unread.
pub type ApplicationGateway = Resource<ApplicationGatewayProperties>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ApplicationGatewayProperties {
    /// The gateway's own subnet (the first entry; a gateway has one).
    #[serde(
        rename = "gatewayIPConfigurations",
        deserialize_with = "nullable",
        skip_serializing_if = "is_empty"
    )]
    pub gateway_ip_configurations: Vec<Child<AgGatewayIpConfigurationProperties>>,
    #[serde(
        rename = "frontendIPConfigurations",
        deserialize_with = "nullable",
        skip_serializing_if = "is_empty"
    )]
    pub frontend_ip_configurations: Vec<LbFrontend>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_empty")]
    pub frontend_ports: Vec<Child<AgFrontendPortProperties>>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_empty")]
    pub backend_address_pools: Vec<Child<AgBackendPoolProperties>>,
    /// Layer 4 backend settings (port and protocol `Tcp` or `Tls`).
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_empty")]
    pub backend_settings_collection: Vec<Child<AgBackendSettingsProperties>>,
    /// Layer 4 listeners (protocol `Tcp` or `Tls`).
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_empty")]
    pub listeners: Vec<Child<AgListenerProperties>>,
    /// Layer 4 routing rules: a listener to a backend pool with backend settings.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_empty")]
    pub routing_rules: Vec<Child<AgRoutingRuleProperties>>,
    /// The other properties (`sku`, `httpListeners`, `requestRoutingRules`, `probes`,
    /// `provisioningState`, ...), kept as they came.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgGatewayIpConfigurationProperties {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet: Option<SubResource>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgFrontendPortProperties {
    /// Validated by the engine with its path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgBackendPoolProperties {
    /// The NIC ip configurations in the pool (ARM's back-reference of the NICs'
    /// `applicationGatewayBackendAddressPools`).
    #[serde(
        rename = "backendIPConfigurations",
        deserialize_with = "nullable",
        skip_serializing_if = "is_empty"
    )]
    pub backend_ip_configurations: Vec<SubResource>,
    /// Addresses (`ipAddress`) or host names (`fqdn`).
    #[serde(
        rename = "backendAddresses",
        deserialize_with = "nullable",
        skip_serializing_if = "is_empty"
    )]
    pub backend_addresses: Vec<AgBackendAddress>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgBackendAddress {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    #[serde(rename = "ipAddress", skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgBackendSettingsProperties {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgListenerProperties {
    #[serde(
        rename = "frontendIPConfiguration",
        skip_serializing_if = "Option::is_none"
    )]
    pub frontend_ip_configuration: Option<SubResource>,
    #[serde(rename = "frontendPort", skip_serializing_if = "Option::is_none")]
    pub frontend_port: Option<SubResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgRoutingRuleProperties {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listener: Option<SubResource>,
    #[serde(rename = "backendAddressPool", skip_serializing_if = "Option::is_none")]
    pub backend_address_pool: Option<SubResource>,
    #[serde(rename = "backendSettings", skip_serializing_if = "Option::is_none")]
    pub backend_settings: Option<SubResource>,
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}
