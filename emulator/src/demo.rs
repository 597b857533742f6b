//! The demo tenant: two subscriptions, about 60 VMs, every situation the dashboard explains.
//! Deterministic for a seed (names of JIT rules, ETags); the one active JIT request ends two
//! hours after the emulator starts. Documented in docs/demo-tenant.md — keep the two in step.
use super::world::{SubscriptionInfo, World};
use super::TENANT_ID;
use portcullis_shared::fleet::{synthetic_fleet_into, InventoryBuilder, Rule, VmSpec};
use serde_json::json;

pub const PRODUCTION: &str = "11111111-1111-1111-1111-111111111111";
pub const DEV_TEST: &str = "22222222-2222-2222-2222-222222222222";
/// The subscription of the synthetic fleet that `--demo-extra-vms N` adds (absent when N is 0).
pub const SCALE_TEST: &str = "33333333-3333-3333-3333-333333333333";
/// Its display name.
pub const SCALE_TEST_NAME: &str = "Contoso Scale Test (synthetic)";
/// The office range (RFC 5737 documentation range) that "restricted" rules allow.
pub const OFFICE: &str = "203.0.113.0/24";

struct Vm<'a> {
    name: &'a str,
    rg: &'a str,
    os: &'a str,
    subnet: &'a str,
    ip: String,
    public_ip: Option<String>,
    nsg: Option<&'a str>,
    asgs: &'a [&'a str],
}

fn add(b: &mut InventoryBuilder, v: Vm<'_>) -> String {
    b.vm(&VmSpec {
        name: v.name,
        resource_group: v.rg,
        os: v.os,
        subnet_id: v.subnet,
        private_ip: &v.ip,
        public_ip: v.public_ip.as_deref(),
        nic_nsg_id: v.nsg,
        asg_ids: v.asgs,
    })
}

fn os(i: usize) -> &'static str {
    if i.is_multiple_of(2) {
        "Windows"
    } else {
        "Linux"
    }
}

/// An estate of many subscriptions (`--demo-estate SUBSCRIPTIONS,VMS`): how many synthetic
/// subscriptions, and how many VMs spread evenly over them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Estate {
    pub subscriptions: usize,
    pub vms: usize,
}

/// The management group that holds the estate (every subscription of the tenant).
pub const ESTATE_MANAGEMENT_GROUP: &str = "contoso";
/// The most subscriptions and VMs an estate may have (the emulator holds them all in memory).
pub const MAX_ESTATE_SUBSCRIPTIONS: usize = 10_000;
pub const MAX_ESTATE_VMS: usize = 200_000;

impl std::str::FromStr for Estate {
    type Err = String;
    /// `1000,100000`: subscriptions, then VMs.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("--demo-estate {s:?}: {why}");
        let (subs, vms) = s
            .split_once(',')
            .ok_or_else(|| bad("expected SUBSCRIPTIONS,VMS, for example 1000,100000"))?;
        let subscriptions: usize = subs
            .trim()
            .parse()
            .map_err(|_| bad(&format!("subscriptions {subs:?} is not a whole number")))?;
        let vms: usize = vms
            .trim()
            .parse()
            .map_err(|_| bad(&format!("VMs {vms:?} is not a whole number")))?;
        if !(1..=MAX_ESTATE_SUBSCRIPTIONS).contains(&subscriptions) {
            return Err(bad(&format!(
                "subscriptions must be 1 to {MAX_ESTATE_SUBSCRIPTIONS}, not {subscriptions}"
            )));
        }
        if vms > MAX_ESTATE_VMS {
            return Err(bad(&format!(
                "VMs must be at most {MAX_ESTATE_VMS}, not {vms}"
            )));
        }
        Ok(Estate { subscriptions, vms })
    }
}

/// The id of the estate's `i`-th synthetic subscription.
pub fn estate_subscription_id(i: usize) -> String {
    format!("e5a7e000-0000-4000-8000-{i:012}")
}

/// The demo world and an estate: `estate.subscriptions` synthetic subscriptions ("Contoso
/// Estate 0001", ...) under the management group [`ESTATE_MANAGEMENT_GROUP`], each with its
/// share of `estate.vms` VMs from [`synthetic_fleet_into`] (a VNet, subnet and NIC NSGs of 20
/// rules, public IPs on about 30%).
pub fn demo_estate(seed: u64, estate: Estate) -> World {
    let mut w = demo_world(seed);
    let mut b = InventoryBuilder::from_inventory(PRODUCTION, std::mem::take(&mut w.inventory));
    b.location = "westeurope".into();
    let (each, rest) = (
        estate.vms / estate.subscriptions,
        estate.vms % estate.subscriptions,
    );
    for i in 0..estate.subscriptions {
        let id = estate_subscription_id(i);
        b.subscription(&id);
        synthetic_fleet_into(&mut b, each + usize::from(i < rest), seed ^ (i as u64 + 1));
        w.subscriptions.push(SubscriptionInfo {
            subscription_id: id,
            display_name: format!("Contoso Estate {:04}", i + 1),
        });
    }
    w.inventory = b.build();
    w
}

/// Builds the demo world: resources first, then JIT applied through the emulator's own JIT
/// logic, so its deny and allow rules look exactly like those a later PUT/initiate would add.
pub fn demo_world(seed: u64) -> World {
    demo_world_with_extra_vms(seed, 0)
}

/// The demo world, plus `extra_vms` synthetic VMs ([`synthetic_fleet_into`]: NSGs of 20 rules,
/// about a quarter of the VMs unhealthy) in a subscription of their own, [`SCALE_TEST`], so the
/// scripted VMs above are the same whatever the size.
pub fn demo_world_with_extra_vms(seed: u64, extra_vms: usize) -> World {
    let mut b = InventoryBuilder::new(PRODUCTION);
    production(&mut b);
    ingress(&mut b);
    b.subscription(DEV_TEST);
    b.location = "northeurope".into();
    dev_test(&mut b);
    if extra_vms > 0 {
        b.subscription(SCALE_TEST);
        b.location = "westeurope".into();
        synthetic_fleet_into(&mut b, extra_vms, seed);
    }
    let mut subscriptions = vec![
        SubscriptionInfo {
            subscription_id: PRODUCTION.into(),
            display_name: "Contoso Production".into(),
        },
        SubscriptionInfo {
            subscription_id: DEV_TEST.into(),
            display_name: "Contoso Dev/Test".into(),
        },
    ];
    if extra_vms > 0 {
        subscriptions.push(SubscriptionInfo {
            subscription_id: SCALE_TEST.into(),
            display_name: SCALE_TEST_NAME.into(),
        });
    }
    let mut w = World::new(TENANT_ID, subscriptions, b.build(), seed);
    let vm = |sub: &str, rg: &str, name: &str| {
        format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}")
    };
    let policy = |vms: &[(String, &[u16])]| {
        json!({ "kind": "Basic", "properties": { "virtualMachines": vms.iter().map(|(id, ports)| json!({
            "id": id,
            "ports": ports.iter().map(|p| json!({ "number": p, "protocol": "*", "allowedSourceAddressPrefix": "*", "maxRequestAccessDuration": "PT3H" })).collect::<Vec<_>>()
        })).collect::<Vec<_>>() } })
        .to_string()
    };
    let jump1 = vm(PRODUCTION, "rg-mgmt", "jump-prod-01");
    let prod = policy(&[
        (jump1.clone(), &[3389, 5986]),
        (vm(PRODUCTION, "rg-mgmt", "jump-prod-02"), &[3389, 5986]),
        (vm(PRODUCTION, "rg-mgmt", "jump-prod-03"), &[22]),
        (vm(PRODUCTION, "rg-mgmt", "legacy-jump-01"), &[3389]),
    ]);
    w.put_jit(
        PRODUCTION,
        "rg-mgmt",
        "westeurope",
        "default",
        prod.as_bytes(),
    )
    .expect("demo JIT policy (production) is valid");
    let dev = policy(&[
        (vm(DEV_TEST, "rg-dev", "dev-jit-01"), &[22]),
        (vm(DEV_TEST, "rg-dev", "dev-jit-02"), &[22]),
    ]);
    w.put_jit(DEV_TEST, "rg-dev", "northeurope", "default", dev.as_bytes())
        .expect("demo JIT policy (dev/test) is valid");
    let end = super::util::format_time(w.now() + time::Duration::hours(2));
    let request = json!({
        "virtualMachines": [{ "id": jump1, "ports": [{ "number": 3389, "endTimeUtc": end, "allowedSourceAddressPrefix": "203.0.113.10" }] }],
        "justification": "Patch night: KB5034441 on the jump hosts"
    });
    w.initiate_jit(
        PRODUCTION,
        "rg-mgmt",
        "westeurope",
        "default",
        request.to_string().as_bytes(),
        "alex.ops@contoso.com",
        None,
    )
    .expect("demo JIT request is valid");
    w.operations.clear();
    w
}

/// Production's ingress (`rg-ingress`): every other way in from the Internet. A VM reached only
/// through a public load balancer's NAT rule, a pool behind an internal HA-ports rule and a
/// public SSH rule, a hub Azure Firewall (Firewall Policy) whose DNAT rule opens RDP on a VM
/// to `*`, a Bastion, and a VM with a Standard public IP and no NSG. Documented in
/// docs/demo-tenant.md ("Ways in").
fn ingress(b: &mut InventoryBuilder) {
    let rg = "rg-ingress";
    let apps_nsg = b.nsg(
        rg,
        "nsg-ingress-apps",
        vec![
            Rule::allow("Allow-RDP-Any", 300).port("3389").from("*"),
            Rule::allow("Allow-SSH-Office", 310).port("22").from(OFFICE),
            Rule::allow("Allow-HTTPS", 320).port("443").from("Internet"),
        ],
    );
    let backend_nsg = b.nsg(
        rg,
        "nsg-ingress-backend",
        vec![Rule::allow("Allow-HTTPS", 100).port("443").from("Internet")],
    );
    let spoke = b.vnet(
        rg,
        "vnet-ingress",
        &["10.50.0.0/16"],
        &[
            ("apps", "10.50.1.0/24", Some(&apps_nsg)),
            ("backend", "10.50.2.0/24", Some(&backend_nsg)),
            ("nonsg", "10.50.3.0/24", None),
            ("AzureBastionSubnet", "10.50.250.0/26", None),
        ],
    );
    // the application gateway's subnet: partners on its TCP proxy (SSH to the apps) only. (A
    // real v2 gateway's subnet also admits `GatewayManager` to 65200-65535; Portcullis does not
    // expand service tags and would warn about it, so the demo leaves it out.)
    let appgw_nsg = b.nsg(
        rg,
        "nsg-appgw",
        vec![Rule::allow("Allow-SSH-Proxy-Partners", 200)
            .port("2200")
            .from("198.51.100.0/24")],
    );
    let hub = b.vnet(
        rg,
        "vnet-hub",
        &["10.60.0.0/16"],
        &[
            ("AzureFirewallSubnet", "10.60.0.0/26", None),
            ("snet-appgw", "10.60.2.0/24", Some(&appgw_nsg)),
        ],
    );
    let vm = |b: &mut InventoryBuilder, name: &str, subnet: &str, ip: &str, pip: Option<&str>| {
        add(
            b,
            Vm {
                name,
                rg,
                os: if name.contains("ssh") || name.contains("ha") {
                    "Linux"
                } else {
                    "Windows"
                },
                subnet,
                ip: ip.into(),
                public_ip: pip.map(str::to_string),
                nsg: None,
                asgs: &[],
            },
        );
    };
    vm(b, "nat-rdp-01", &spoke[0], "10.50.1.10", None);
    vm(b, "ha-app-01", &spoke[0], "10.50.1.21", None);
    vm(b, "ha-app-02", &spoke[0], "10.50.1.22", None);
    vm(b, "dnat-rdp-01", &spoke[1], "10.50.2.10", None);
    vm(b, "std-ip-01", &spoke[2], "10.50.3.10", Some("20.61.50.30"));
    ingress_load_balancers(b, rg, &spoke);
    ingress_hub(b, rg, &spoke, &hub);
    ingress_app_gateway(b, rg, &hub[1]);
}

/// An application gateway (Standard_v2) in the hub whose TCP proxy forwards 2200 to the apps'
/// SSH: the apps' NSG sees the gateway's subnet (admitted by `AllowVnetInBound`, the VNets being
/// peered); the gateway subnet's NSG admits the partners' range only.
fn ingress_app_gateway(b: &mut InventoryBuilder, rg: &str, subnet: &str) {
    let pip = b.public_ip(rg, "agw-edge-ip", "20.61.60.20");
    let agw = b.id(rg, "Microsoft.Network/applicationGateways", "agw-edge");
    let child = |kind: &str, name: &str| json!({"id": format!("{agw}/{kind}/{name}")});
    b.inv.application_gateways.push(from(json!({
        "id": agw, "name": "agw-edge", "type": "Microsoft.Network/applicationGateways", "location": b.location,
        "etag": "W/\"00000000-0000-0000-0000-0000000000a1\"",
        "properties": {
            "sku": {"name": "Standard_v2", "tier": "Standard_v2", "family": "Generation_1", "capacity": 2},
            "operationalState": "Running", "provisioningState": "Succeeded",
            "gatewayIPConfigurations": [{"id": format!("{agw}/gatewayIPConfigurations/appGatewayIpConfig"),
                "name": "appGatewayIpConfig", "properties": {"subnet": {"id": subnet}}}],
            "frontendIPConfigurations": [{"id": format!("{agw}/frontendIPConfigurations/appGwPublicFrontendIp"),
                "name": "appGwPublicFrontendIp", "properties": {"privateIPAllocationMethod": "Dynamic",
                    "publicIPAddress": {"id": pip}}}],
            "frontendPorts": [{"id": format!("{agw}/frontendPorts/port-2200"), "name": "port-2200",
                "properties": {"port": 2200}}],
            "backendAddressPools": [{"id": format!("{agw}/backendAddressPools/pool-apps-ssh"), "name": "pool-apps-ssh",
                "properties": {"backendAddresses": [{"ipAddress": "10.50.1.21"}, {"ipAddress": "10.50.1.22"}]}}],
            "backendSettingsCollection": [{"id": format!("{agw}/backendSettingsCollection/ssh"), "name": "ssh",
                "properties": {"port": 22, "protocol": "Tcp", "timeout": 60}}],
            "listeners": [{"id": format!("{agw}/listeners/ssh-proxy"), "name": "ssh-proxy",
                "properties": {"frontendIPConfiguration": child("frontendIPConfigurations", "appGwPublicFrontendIp"),
                    "frontendPort": child("frontendPorts", "port-2200"), "protocol": "Tcp"}}],
            "routingRules": [{"id": format!("{agw}/routingRules/ssh-proxy"), "name": "ssh-proxy",
                "properties": {"ruleType": "Basic", "priority": 100,
                    "listener": child("listeners", "ssh-proxy"),
                    "backendAddressPool": child("backendAddressPools", "pool-apps-ssh"),
                    "backendSettings": child("backendSettingsCollection", "ssh")}}]
        }
    })));
}

/// A public load balancer (an RDP NAT rule, an SSH rule on a pool) and an internal HA-ports
/// one, in front of the spoke's apps subnet.
fn ingress_load_balancers(b: &mut InventoryBuilder, rg: &str, spoke: &[String]) {
    let lb_pip = b.public_ip(rg, "lb-edge-ip", "20.61.50.10");
    let network = b.id(rg, "Microsoft.Network", "");
    let id = |ty: &str, name: &str| format!("{network}{ty}/{name}");
    let nic = |vm: &str| {
        format!(
            "{}/ipConfigurations/ipconfig1",
            id("networkInterfaces", &format!("{vm}-nic"))
        )
    };
    let (lb, ilb) = (
        id("loadBalancers", "lb-edge"),
        id("loadBalancers", "lb-edge-internal"),
    );
    b.inv.load_balancers.push(from(json!({
        "id": lb, "name": "lb-edge", "type": "Microsoft.Network/loadBalancers", "location": b.location,
        "etag": "W/\"00000000-0000-0000-0000-0000000000e1\"", "sku": {"name": "Standard", "tier": "Regional"},
        "properties": {
            "frontendIPConfigurations": [{"id": format!("{lb}/frontendIPConfigurations/fe-public"), "name": "fe-public",
                "properties": {"publicIPAddress": {"id": lb_pip}}}],
            "backendAddressPools": [{"id": format!("{lb}/backendAddressPools/pool-ssh"), "name": "pool-ssh",
                "properties": {"backendIPConfigurations": [{"id": nic("ha-app-01")}, {"id": nic("ha-app-02")}]}}],
            "loadBalancingRules": [{"id": format!("{lb}/loadBalancingRules/ssh-alt"), "name": "ssh-alt", "properties": {
                "frontendIPConfiguration": {"id": format!("{lb}/frontendIPConfigurations/fe-public")},
                "backendAddressPool": {"id": format!("{lb}/backendAddressPools/pool-ssh")},
                "protocol": "Tcp", "frontendPort": 2222, "backendPort": 22, "enableFloatingIP": false}}],
            "inboundNatRules": [{"id": format!("{lb}/inboundNatRules/rdp-nat-01"), "name": "rdp-nat-01", "properties": {
                "frontendIPConfiguration": {"id": format!("{lb}/frontendIPConfigurations/fe-public")},
                "protocol": "Tcp", "frontendPort": 50001, "backendPort": 3389,
                "backendIPConfiguration": {"id": nic("nat-rdp-01")}}}],
            "provisioningState": "Succeeded"}
    })));
    b.inv.load_balancers.push(from(json!({
        "id": ilb, "name": "lb-edge-internal", "type": "Microsoft.Network/loadBalancers", "location": b.location,
        "etag": "W/\"00000000-0000-0000-0000-0000000000e2\"", "sku": {"name": "Standard", "tier": "Regional"},
        "properties": {
            "frontendIPConfigurations": [{"id": format!("{ilb}/frontendIPConfigurations/fe-private"), "name": "fe-private",
                "properties": {"privateIPAddress": "10.50.1.100", "privateIPAllocationMethod": "Static", "subnet": {"id": spoke[0]}}}],
            "backendAddressPools": [{"id": format!("{ilb}/backendAddressPools/pool-ha"), "name": "pool-ha",
                "properties": {"backendIPConfigurations": [{"id": nic("ha-app-01")}, {"id": nic("ha-app-02")}]}}],
            "loadBalancingRules": [{"id": format!("{ilb}/loadBalancingRules/ha-ports"), "name": "ha-ports", "properties": {
                "frontendIPConfiguration": {"id": format!("{ilb}/frontendIPConfigurations/fe-private")},
                "backendAddressPool": {"id": format!("{ilb}/backendAddressPools/pool-ha")},
                "protocol": "All", "frontendPort": 0, "backendPort": 0}}],
            "provisioningState": "Succeeded"}
    })));
    // the NICs name their pools and NAT rule, as ARM lists them
    for n in &mut b.inv.network_interfaces {
        let name = n.name.as_deref().unwrap_or_default();
        let Some(c) = std::sync::Arc::make_mut(&mut n.properties)
            .ip_configurations
            .first_mut()
        else {
            continue;
        };
        if name == "nat-rdp-01-nic" {
            c.properties.load_balancer_inbound_nat_rules =
                vec![portcullis_shared::arm::SubResource::new(format!(
                    "{lb}/inboundNatRules/rdp-nat-01"
                ))];
        }
        if name == "ha-app-01-nic" || name == "ha-app-02-nic" {
            c.properties.load_balancer_backend_address_pools = vec![
                portcullis_shared::arm::SubResource::new(format!(
                    "{lb}/backendAddressPools/pool-ssh"
                )),
                portcullis_shared::arm::SubResource::new(format!(
                    "{ilb}/backendAddressPools/pool-ha"
                )),
            ];
        }
    }
}

/// The hub: its firewall with a DNAT policy to the spoke; the spoke's Bastion; the platform
/// team's admin rule; the peering of hub and spoke.
fn ingress_hub(b: &mut InventoryBuilder, rg: &str, spoke: &[String], hub: &[String]) {
    let fw_pip = b.public_ip(rg, "fw-hub-ip", "20.61.60.4");
    let bas_pip = b.public_ip(rg, "bas-edge-ip", "20.61.50.250");
    let network = b.id(rg, "Microsoft.Network", "");
    let id = |ty: &str, name: &str| format!("{network}{ty}/{name}");
    let (fw, pol, vnet_spoke, vnet_hub) = (
        id("azureFirewalls", "fw-hub"),
        id("firewallPolicies", "fwpol-hub"),
        id("virtualNetworks", "vnet-ingress"),
        id("virtualNetworks", "vnet-hub"),
    );
    b.inv.azure_firewalls.push(from(json!({
        "id": fw, "name": "fw-hub", "type": "Microsoft.Network/azureFirewalls", "location": b.location,
        "etag": "W/\"00000000-0000-0000-0000-0000000000f1\"",
        "properties": {"sku": {"name": "AZFW_VNet", "tier": "Standard"}, "threatIntelMode": "Alert",
            "ipConfigurations": [{"id": format!("{fw}/azureFirewallIpConfigurations/ipconfig"), "name": "ipconfig",
                "properties": {"privateIPAddress": "10.60.0.4", "subnet": {"id": hub[0]}, "publicIPAddress": {"id": fw_pip}}}],
            "firewallPolicy": {"id": pol}, "provisioningState": "Succeeded"}
    })));
    b.inv.firewall_policy_rule_collection_groups.push(from(json!({
        "id": format!("{pol}/ruleCollectionGroups/DefaultDnatRuleCollectionGroup"), "name": "DefaultDnatRuleCollectionGroup",
        "type": "Microsoft.Network/FirewallPolicies/RuleCollectionGroups",
        "etag": "W/\"00000000-0000-0000-0000-0000000000f2\"",
        "properties": {"priority": 100, "provisioningState": "Succeeded", "ruleCollections": [
            {"ruleCollectionType": "FirewallPolicyNatRuleCollection", "name": "inbound-dnat", "priority": 100,
                "action": {"type": "DNAT"}, "rules": [
                    {"ruleType": "NatRule", "name": "rdp-in", "sourceAddresses": ["*"], "sourceIpGroups": [],
                        "destinationAddresses": ["20.61.60.4"], "destinationPorts": ["3389"], "ipProtocols": ["TCP"],
                        "translatedAddress": "10.50.2.10", "translatedPort": "3389"}]}]}
    })));
    // the organisation's base policy, which fwpol-hub inherits: partners' SSH to dnat-rdp-01,
    // from an IP group
    let org = b.id(
        "rg-platform",
        "Microsoft.Network/firewallPolicies",
        "fwpol-org",
    );
    let partners = b.id("rg-platform", "Microsoft.Network/ipGroups", "ipg-partners");
    for (policy, name, base) in [(&pol, "fwpol-hub", Some(&org)), (&org, "fwpol-org", None)] {
        b.inv.firewall_policies.push(from(json!({
            "id": policy, "name": name, "type": "Microsoft.Network/firewallPolicies", "location": b.location,
            "properties": {"basePolicy": base.map(|id| json!({"id": id})), "sku": {"tier": "Standard"},
                "threatIntelMode": "Alert", "provisioningState": "Succeeded"}
        })));
    }
    b.inv.ip_groups.push(from(json!({
        "id": partners, "name": "ipg-partners", "type": "Microsoft.Network/ipGroups", "location": b.location,
        "etag": "W/\"00000000-0000-0000-0000-0000000000f4\"",
        "properties": {"ipAddresses": ["198.51.100.0/24", "203.0.113.64/27"], "provisioningState": "Succeeded"}
    })));
    b.inv.firewall_policy_rule_collection_groups.push(from(json!({
        "id": format!("{org}/ruleCollectionGroups/OrgDnatRuleCollectionGroup"), "name": "OrgDnatRuleCollectionGroup",
        "type": "Microsoft.Network/FirewallPolicies/RuleCollectionGroups",
        "etag": "W/\"00000000-0000-0000-0000-0000000000f3\"",
        "properties": {"priority": 100, "provisioningState": "Succeeded", "ruleCollections": [
            {"ruleCollectionType": "FirewallPolicyNatRuleCollection", "name": "partner-access", "priority": 100,
                "action": {"type": "DNAT"}, "rules": [
                    {"ruleType": "NatRule", "name": "ssh-partners", "sourceAddresses": [], "sourceIpGroups": [partners],
                        "destinationAddresses": ["20.61.60.4"], "destinationPorts": ["22"], "ipProtocols": ["TCP"],
                        "translatedAddress": "10.50.2.10", "translatedPort": "22"}]}]}
    })));
    b.inv.bastion_hosts.push(from(json!({
        "id": id("bastionHosts", "bas-edge"), "name": "bas-edge", "type": "Microsoft.Network/bastionHosts", "location": b.location,
        "sku": {"name": "Standard"},
        "properties": {"dnsName": "bst-edge.bastion.azure.com", "provisioningState": "Succeeded", "ipConfigurations": [
            {"id": format!("{}/bastionHostIpConfigurations/ipconfig", id("bastionHosts", "bas-edge")), "name": "ipconfig",
                "properties": {"subnet": {"id": spoke[3]}, "publicIPAddress": {"id": bas_pip}}}]}
    })));
    // Virtual Network Manager: the platform team denies WinRM from the Internet on the spoke
    b.inv.network_manager_effective_security_admin_rules.push(from(json!({
        "virtualNetwork": {"id": vnet_spoke},
        "value": [{"id": format!("{}/securityAdminConfigurations/platform-baseline/ruleCollections/deny-mgmt/rules/deny-winrm-internet",
                b.id("rg-platform", "Microsoft.Network/networkManagers", "nm-contoso")),
            "kind": "Custom", "configurationDescription": "Platform baseline", "ruleCollectionDescription": "Management ports",
            "properties": {"protocol": "Tcp", "access": "Deny", "priority": 10, "direction": "Inbound",
                "sources": [{"addressPrefixType": "ServiceTag", "addressPrefix": "Internet"}],
                "destinations": [{"addressPrefixType": "IPPrefix", "addressPrefix": "*"}],
                "sourcePortRanges": ["0-65535"], "destinationPortRanges": ["5985-5986"],
                "provisioningState": "Succeeded"}}]
    })));
    // the hub and the spoke are peered both ways
    for (vnet, remote, name) in [
        (&vnet_spoke, &vnet_hub, "ingress-to-hub"),
        (&vnet_hub, &vnet_spoke, "hub-to-ingress"),
    ] {
        if let Some(v) = b.inv.virtual_networks.iter_mut().find(|v| &v.id == vnet) {
            v.properties.virtual_network_peerings.push(from(json!({
                "id": format!("{vnet}/virtualNetworkPeerings/{name}"), "name": name,
                "properties": {"peeringState": "Connected", "remoteVirtualNetwork": {"id": remote}}
            })));
        }
    }
}

/// An ARM payload of the demo, as its type.
fn from<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("demo payload is ARM-shaped")
}

fn production(b: &mut InventoryBuilder) {
    sql_lab(b);
    web_prod(b);
    management(b);
    edge(b);
}

/// SQL Server lab: RDP left open to the Internet on a public IP.
fn sql_lab(b: &mut InventoryBuilder) {
    let lab = b.vnet(
        "rg-sql-lab",
        "vnet-sql-lab",
        &["10.10.0.0/16"],
        &[("default", "10.10.1.0/24", None)],
    );
    let lab_nsg = b.nsg(
        "rg-sql-lab",
        "sql-lab-01-nsg",
        vec![
            Rule::allow("RDP", 300).port("3389").from("*"),
            Rule::allow("MSSQL-Office", 310).port("1433").from(OFFICE),
        ],
    );
    add(
        b,
        Vm {
            name: "sql-lab-01",
            rg: "rg-sql-lab",
            os: "Windows",
            subnet: &lab[0],
            ip: "10.10.1.4".into(),
            public_ip: Some("20.61.12.34".into()),
            nsg: Some(&lab_nsg),
            asgs: &[],
        },
    );
    let lab2_nsg = b.nsg(
        "rg-sql-lab",
        "sql-lab-02-nsg",
        vec![Rule::allow("SSH-VNet", 300)
            .port("22")
            .from("VirtualNetwork")],
    );
    add(
        b,
        Vm {
            name: "sql-lab-02",
            rg: "rg-sql-lab",
            os: "Linux",
            subnet: &lab[0],
            ip: "10.10.1.5".into(),
            public_ip: None,
            nsg: Some(&lab2_nsg),
            asgs: &[],
        },
    );
}

/// Production web tier: subnet NSGs only; SSH restricted to the office range.
fn web_prod(b: &mut InventoryBuilder) {
    let web_nsg = b.nsg(
        "rg-web-prod",
        "nsg-web",
        vec![
            Rule::allow("Allow-HTTPS", 100).port("443").from("Internet"),
            Rule::allow("Allow-SSH-Office", 200).port("22").from(OFFICE),
        ],
    );
    let app_nsg = b.nsg(
        "rg-web-prod",
        "nsg-app",
        vec![
            Rule::allow("Allow-App-From-Web", 100)
                .port("8080")
                .from("10.20.1.0/24"),
            Rule::allow("Allow-RDP-Bastion", 200)
                .port("3389")
                .from("10.20.250.0/26"),
        ],
    );
    let data_nsg = b.nsg(
        "rg-web-prod",
        "nsg-data",
        vec![Rule::allow("Allow-SQL-From-App", 100)
            .port("1433")
            .from("10.20.2.0/24")],
    );
    let prod = b.vnet(
        "rg-web-prod",
        "vnet-prod",
        &["10.20.0.0/16"],
        &[
            ("web", "10.20.1.0/24", Some(&web_nsg)),
            ("app", "10.20.2.0/24", Some(&app_nsg)),
            ("data", "10.20.3.0/24", Some(&data_nsg)),
            ("AzureBastionSubnet", "10.20.250.0/26", None),
        ],
    );
    for i in 1..=5 {
        let name = format!("web-prod-{i:02}");
        add(
            b,
            Vm {
                name: &name,
                rg: "rg-web-prod",
                os: "Linux",
                subnet: &prod[0],
                ip: format!("10.20.1.{}", 10 + i),
                public_ip: Some(format!("20.61.20.{}", 10 + i)),
                nsg: None,
                asgs: &[],
            },
        );
    }
    for i in 1..=5 {
        let name = format!("app-prod-{i:02}");
        add(
            b,
            Vm {
                name: &name,
                rg: "rg-web-prod",
                os: os(i),
                subnet: &prod[1],
                ip: format!("10.20.2.{}", 10 + i),
                public_ip: None,
                nsg: None,
                asgs: &[],
            },
        );
    }
    for i in 1..=3 {
        let name = format!("db-prod-{i:02}");
        add(
            b,
            Vm {
                name: &name,
                rg: "rg-web-prod",
                os: "Windows",
                subnet: &prod[2],
                ip: format!("10.20.3.{}", 10 + i),
                public_ip: None,
                nsg: None,
                asgs: &[],
            },
        );
    }
}

/// Management: WinRM open to the Internet, JIT jump hosts, a JIT deny below an older allow.
fn management(b: &mut InventoryBuilder) {
    let mgmt = b.vnet(
        "rg-mgmt",
        "vnet-mgmt",
        &["10.40.0.0/16"],
        &[
            ("mgmt", "10.40.1.0/24", None),
            ("ops", "10.40.2.0/24", None),
        ],
    );
    let winrm_nsg = b.nsg(
        "rg-mgmt",
        "mgmt-win-nsg",
        vec![Rule::allow("Allow-WinRM", 400)
            .ports(&["5985", "5986"])
            .from("Internet")],
    );
    for i in 1..=3 {
        let name = format!("mgmt-win-{i:02}");
        add(
            b,
            Vm {
                name: &name,
                rg: "rg-mgmt",
                os: "Windows",
                subnet: &mgmt[0],
                ip: format!("10.40.1.{}", 10 + i),
                public_ip: Some(format!("20.61.40.{}", 10 + i)),
                nsg: Some(&winrm_nsg),
                asgs: &[],
            },
        );
    }
    for i in 1..=3 {
        let name = format!("jump-prod-{i:02}");
        let nsg = b.nsg(
            "rg-mgmt",
            &format!("{name}-nsg"),
            vec![Rule::allow("Allow-HTTPS", 300).port("443").from("Internet")],
        );
        let os = if i == 3 { "Linux" } else { "Windows" };
        add(
            b,
            Vm {
                name: &name,
                rg: "rg-mgmt",
                os,
                subnet: &mgmt[0],
                ip: format!("10.40.1.{}", 20 + i),
                public_ip: Some(format!("20.61.40.{}", 20 + i)),
                nsg: Some(&nsg),
                asgs: &[],
            },
        );
    }
    let legacy_nsg = b.nsg(
        "rg-mgmt",
        "legacy-jump-01-nsg",
        vec![Rule::allow("Allow-RDP-Legacy", 1000)
            .port("3389")
            .from("*")
            .description("temporary - vendor access (2019)")],
    );
    add(
        b,
        Vm {
            name: "legacy-jump-01",
            rg: "rg-mgmt",
            os: "Windows",
            subnet: &mgmt[0],
            ip: "10.40.1.30".into(),
            public_ip: Some("20.61.40.30".into()),
            nsg: Some(&legacy_nsg),
            asgs: &[],
        },
    );
    let admins = b.asg("rg-mgmt", "asg-admin-workstations");
    let ops_asg = b.asg("rg-mgmt", "asg-ops-servers");
    let ops_nsg = b.nsg(
        "rg-mgmt",
        "ops-nsg",
        vec![Rule::allow("SSH-From-Admins", 200)
            .port("22")
            .from_asg(&admins)
            .to_asg(&ops_asg)],
    );
    for i in 1..=2 {
        let name = format!("ops-linux-{i:02}");
        add(
            b,
            Vm {
                name: &name,
                rg: "rg-mgmt",
                os: "Linux",
                subnet: &mgmt[1],
                ip: format!("10.40.2.{}", 10 + i),
                public_ip: None,
                nsg: Some(&ops_nsg),
                asgs: &[&ops_asg],
            },
        );
    }
}

/// Edge: internet-facing VMs without any NSG.
fn edge(b: &mut InventoryBuilder) {
    let edge = b.vnet(
        "rg-edge",
        "vnet-edge",
        &["10.50.0.0/16"],
        &[("dmz", "10.50.1.0/24", None)],
    );
    for i in 1..=2 {
        let name = format!("edge-gw-{i:02}");
        add(
            b,
            Vm {
                name: &name,
                rg: "rg-edge",
                os: "Linux",
                subnet: &edge[0],
                ip: format!("10.50.1.{}", 10 + i),
                public_ip: Some(format!("20.61.50.{}", 10 + i)),
                nsg: None,
                asgs: &[],
            },
        );
    }
}

fn dev_test(b: &mut InventoryBuilder) {
    let test_nsg = b.nsg(
        "rg-dev",
        "nsg-test",
        vec![
            Rule::allow("Allow-SSH-VNet", 100)
                .port("22")
                .from("VirtualNetwork"),
            Rule::allow("Allow-RDP-Office", 110)
                .port("3389")
                .from(OFFICE),
        ],
    );
    let dev = b.vnet(
        "rg-dev",
        "vnet-dev",
        &["10.30.0.0/16"],
        &[
            ("dev", "10.30.1.0/24", None),
            ("test", "10.30.2.0/24", Some(&test_nsg)),
        ],
    );
    // dev VMs from one template: SSH open to any source (some with public IPs)
    for i in 1..=16 {
        let name = format!("dev-linux-{i:02}");
        let nsg = b.nsg(
            "rg-dev",
            &format!("{name}-nsg"),
            vec![Rule::allow("SSH", 300).port("22").from("*")],
        );
        let public_ip = (i <= 8).then(|| format!("51.104.30.{}", 10 + i));
        add(
            b,
            Vm {
                name: &name,
                rg: "rg-dev",
                os: "Linux",
                subnet: &dev[0],
                ip: format!("10.30.1.{}", 10 + i),
                public_ip,
                nsg: Some(&nsg),
                asgs: &[],
            },
        );
    }
    // Windows dev boxes: RDP only from the office range
    for i in 1..=4 {
        let name = format!("dev-win-{i:02}");
        let nsg = b.nsg(
            "rg-dev",
            &format!("{name}-nsg"),
            vec![Rule::allow("RDP-Office", 300).port("3389").from(OFFICE)],
        );
        add(
            b,
            Vm {
                name: &name,
                rg: "rg-dev",
                os: "Windows",
                subnet: &dev[0],
                ip: format!("10.30.1.{}", 40 + i),
                public_ip: Some(format!("51.104.30.{}", 40 + i)),
                nsg: Some(&nsg),
                asgs: &[],
            },
        );
    }
    // JIT-protected dev VMs
    for i in 1..=2 {
        let name = format!("dev-jit-{i:02}");
        let nsg = b.nsg(
            "rg-dev",
            &format!("{name}-nsg"),
            vec![Rule::allow("Allow-HTTPS", 300).port("443").from("Internet")],
        );
        add(
            b,
            Vm {
                name: &name,
                rg: "rg-dev",
                os: "Linux",
                subnet: &dev[0],
                ip: format!("10.30.1.{}", 50 + i),
                public_ip: Some(format!("51.104.30.{}", 50 + i)),
                nsg: Some(&nsg),
                asgs: &[],
            },
        );
    }
    // WinRM over HTTPS open to any source
    let winrm = b.nsg(
        "rg-dev",
        "winrm-test-01-nsg",
        vec![Rule::allow("WinRM-HTTPS", 500).port("5986").from("*")],
    );
    add(
        b,
        Vm {
            name: "winrm-test-01",
            rg: "rg-dev",
            os: "Windows",
            subnet: &dev[0],
            ip: "10.30.1.60".into(),
            public_ip: Some("51.104.30.60".into()),
            nsg: Some(&winrm),
            asgs: &[],
        },
    );
    // private-only test VMs and build agents behind the subnet NSG
    for i in 1..=6 {
        let name = format!("test-{i:02}");
        add(
            b,
            Vm {
                name: &name,
                rg: "rg-dev",
                os: os(i),
                subnet: &dev[1],
                ip: format!("10.30.2.{}", 10 + i),
                public_ip: None,
                nsg: None,
                asgs: &[],
            },
        );
    }
    for i in 1..=3 {
        let name = format!("build-agent-{i:02}");
        add(
            b,
            Vm {
                name: &name,
                rg: "rg-dev",
                os: "Linux",
                subnet: &dev[1],
                ip: format!("10.30.2.{}", 30 + i),
                public_ip: None,
                nsg: None,
                asgs: &[],
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_shared::eval::report::Status;
    use portcullis_shared::{evaluate, EvalConfig};

    #[test]
    fn demo_tenant_covers_every_situation_with_a_mid_score() {
        let w = demo_world(42);
        let inv = &w.inventory;
        assert!(
            (55..=65).contains(&inv.virtual_machines.len()),
            "{} VMs",
            inv.virtual_machines.len()
        );
        let report = evaluate(inv, &EvalConfig::default()).unwrap();
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
        let score = report.control.current_score;
        assert!((3.0..=5.0).contains(&score), "score {score}");
        let vm = |name: &str| {
            report
                .vms
                .iter()
                .find(|v| v.name == name)
                .unwrap_or_else(|| panic!("{name}"))
        };
        let open = |name: &str, port: u16| {
            vm(name)
                .exposures
                .iter()
                .any(|e| e.port == port && e.state.as_str() == "open")
        };
        assert!(
            open("sql-lab-01", 3389)
                && vm("sql-lab-01")
                    .exposures
                    .iter()
                    .any(|e| e.port == 3389 && e.reachable)
        );
        assert!(open("dev-linux-01", 22));
        // the application gateway's TCP proxy reaches the apps' SSH from the partners' range
        for name in ["ha-app-01", "ha-app-02"] {
            let ssh = vm(name).exposures.iter().find(|e| e.port == 22).unwrap();
            let via = ssh
                .paths
                .iter()
                .find(|p| p.kind == portcullis_shared::eval::report::PathKind::ApplicationGateway)
                .unwrap_or_else(|| panic!("{name}: {:?}", ssh.paths));
            assert!(via.reachable, "{name}");
            assert_eq!(via.frontend.to_string(), "20.61.60.20:2200");
            assert_eq!(
                &via.allowed_public_sources[..],
                ["198.51.100.0/24".to_string()]
            );
        }
        assert!(open("mgmt-win-01", 5985) && open("mgmt-win-01", 5986));
        assert!(
            open("legacy-jump-01", 3389),
            "the JIT deny sits below the older allow"
        );
        assert_eq!(
            vm("edge-gw-01")
                .recommendations
                .internet_facing_vms_protected_by_nsg,
            Status::Unhealthy
        );
        assert_eq!(
            vm("jump-prod-02")
                .recommendations
                .management_ports_jit_protected,
            Status::Healthy
        );
        let jump1 = vm("jump-prod-01");
        assert_eq!(
            jump1.recommendations.management_ports_jit_protected,
            Status::Healthy
        );
        let rdp = jump1.exposures.iter().find(|e| e.port == 3389).unwrap();
        assert_eq!(
            rdp.state.as_str(),
            "restricted",
            "the active request opens RDP to one address"
        );
        assert_eq!(
            rdp.allowed_public_sources
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
            vec!["203.0.113.10/32".to_string()]
        );
        assert_eq!(vm("web-prod-01").status, Status::Healthy);
        assert_eq!(vm("test-01").status, Status::Healthy);
        // deterministic for a seed (apart from the request's times)
        let again = demo_world(42);
        let names = |w: &World| {
            w.inventory
                .network_security_groups
                .iter()
                .flat_map(|n| n.properties.security_rules.iter().map(|r| r.name.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&w), names(&again));
    }

    #[test]
    fn extra_vms_come_in_a_subscription_of_their_own() {
        let base = demo_world(42);
        let w = demo_world_with_extra_vms(42, 1000);
        let inv = &w.inventory;
        let in_scale = |id: &str| id.starts_with(&format!("/subscriptions/{SCALE_TEST}/"));
        assert_eq!(
            inv.virtual_machines
                .iter()
                .filter(|v| in_scale(&v.id))
                .count(),
            1000
        );
        assert_eq!(
            inv.virtual_machines.len(),
            base.inventory.virtual_machines.len() + 1000
        );
        assert!(w
            .subscriptions
            .iter()
            .any(|s| s.subscription_id == SCALE_TEST));
        // the scripted VMs are untouched
        let scripted = |inv: &portcullis_shared::Inventory| {
            serde_json::to_string(
                &inv.virtual_machines
                    .iter()
                    .filter(|v| !in_scale(&v.id))
                    .collect::<Vec<_>>(),
            )
            .unwrap()
        };
        assert_eq!(scripted(inv), scripted(&base.inventory));
        let report = evaluate(inv, &EvalConfig::default()).unwrap();
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
        assert!(report.control.unhealthy > 100, "{:?}", report.control);
    }
}
