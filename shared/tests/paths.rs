//! Paths from the Internet beyond the NIC's own public IP (docs/ARCHITECTURE.md, "Paths from the Internet"),
//! table-driven on ARM-shaped payloads: public IP SKUs, load balancer NAT rules (v1, v2) and
//! load-balancing rules (HA ports, floating IP), firewall DNAT (classic and policy), security
//! admin rules and Bastion.
//!
//! The scene: VNet `vnet1` 10.0.0.0/16, subnet `default` 10.0.1.0/24, VM `vm1` at 10.0.1.4;
//! hub VNet `hub` 10.100.0.0/16 with `AzureFirewallSubnet` 10.100.0.0/26, peered with `vnet1`.
mod briefs;

use portcullis_shared::eval::report::{Exposure, PathKind, State, Status, VmReport};
use portcullis_shared::{evaluate, EvalConfig, Inventory, Report};
use serde_json::{json, Value};

const SUB: &str = "/subscriptions/sub1/resourceGroups/rg1/providers";

fn id(kind: &str, name: &str) -> String {
    format!("{SUB}/Microsoft.Network/{kind}/{name}")
}

fn rule(name: &str, prio: u32, access: &str, src: &str, dst: &str, port: &str) -> Value {
    json!({"name": name, "properties": {"priority": prio, "access": access, "direction": "Inbound",
        "protocol": "Tcp", "sourceAddressPrefix": src, "sourcePortRange": "*",
        "destinationAddressPrefix": dst, "destinationPortRange": port}})
}

/// The scene as a JSON inventory. `nic_rules`: the NIC NSG's rules (`None`: no NIC NSG);
/// `pip`: the public IP's SKU (`Some("")` for no `sku` at all).
struct Scene {
    nic_rules: Option<Vec<Value>>,
    subnet_rules: Option<Vec<Value>>,
    pip: Option<&'static str>,
    extra: Value,
    peered: bool,
}

impl Default for Scene {
    fn default() -> Self {
        Scene {
            nic_rules: Some(vec![]),
            subnet_rules: None,
            pip: None,
            extra: json!({}),
            peered: true,
        }
    }
}

fn inventory(s: Scene) -> Value {
    let nic_id = id("networkInterfaces", "vm1-nic");
    let subnet_id = format!("{}/subnets/default", id("virtualNetworks", "vnet1"));
    let mut nsgs = vec![];
    let mut nic_props = json!({
        "ipConfigurations": [{"id": format!("{nic_id}/ipConfigurations/ipconfig1"), "name": "ipconfig1",
            "properties": {"privateIPAddress": "10.0.1.4", "privateIPAddressVersion": "IPv4",
                "subnet": {"id": subnet_id}}}]
    });
    if let Some(rules) = s.nic_rules {
        nsgs.push(
            json!({"id": id("networkSecurityGroups", "nic-nsg"), "name": "nic-nsg",
            "properties": {"securityRules": rules}}),
        );
        nic_props["networkSecurityGroup"] = json!({"id": id("networkSecurityGroups", "nic-nsg")});
    }
    let mut subnet =
        json!({"id": subnet_id, "name": "default", "properties": {"addressPrefix": "10.0.1.0/24"}});
    if let Some(rules) = s.subnet_rules {
        nsgs.push(
            json!({"id": id("networkSecurityGroups", "subnet-nsg"), "name": "subnet-nsg",
            "properties": {"securityRules": rules}}),
        );
        subnet["properties"]["networkSecurityGroup"] =
            json!({"id": id("networkSecurityGroups", "subnet-nsg")});
    }
    let mut pips = vec![
        json!({"id": id("publicIPAddresses", "fw-pip"), "name": "fw-pip", "sku": {"name": "Standard"},
            "properties": {"ipAddress": "52.1.1.1"}}),
        json!({"id": id("publicIPAddresses", "lb-pip"), "name": "lb-pip", "sku": {"name": "Standard"},
            "properties": {"ipAddress": "20.1.2.3"}}),
    ];
    if let Some(sku) = s.pip {
        let mut pip = json!({"id": id("publicIPAddresses", "vm1-pip"), "name": "vm1-pip",
            "properties": {"ipAddress": "20.50.1.2"}});
        if !sku.is_empty() {
            pip["sku"] = json!({"name": sku, "tier": "Regional"});
        }
        pips.push(pip);
        nic_props["ipConfigurations"][0]["properties"]["publicIPAddress"] =
            json!({"id": id("publicIPAddresses", "vm1-pip")});
    }
    let peering = |remote: &str| {
        json!([{"name": "p", "properties": {"peeringState": "Connected",
        "remoteVirtualNetwork": {"id": id("virtualNetworks", remote)}}}])
    };
    let mut inv = json!({
        "virtualMachines": [{"id": format!("{SUB}/Microsoft.Compute/virtualMachines/vm1"), "name": "vm1",
            "properties": {"networkProfile": {"networkInterfaces": [{"id": nic_id}]}}}],
        "networkInterfaces": [{"id": nic_id, "name": "vm1-nic", "properties": nic_props}],
        "publicIPAddresses": pips,
        "virtualNetworks": [
            {"id": id("virtualNetworks", "vnet1"), "name": "vnet1", "properties": {
                "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}, "subnets": [subnet],
                "virtualNetworkPeerings": if s.peered { peering("hub") } else { json!([]) }}},
            {"id": id("virtualNetworks", "hub"), "name": "hub", "properties": {
                "addressSpace": {"addressPrefixes": ["10.100.0.0/16"]},
                "subnets": [{"id": format!("{}/subnets/AzureFirewallSubnet", id("virtualNetworks", "hub")),
                    "name": "AzureFirewallSubnet", "properties": {"addressPrefix": "10.100.0.0/26"}}],
                "virtualNetworkPeerings": if s.peered { peering("vnet1") } else { json!([]) }}}
        ],
        "networkSecurityGroups": nsgs,
    });
    if let Value::Object(extra) = s.extra {
        for (k, v) in extra {
            inv[k] = v;
        }
    }
    inv
}

fn eval_json(v: &Value) -> Report {
    let inv = Inventory::from_json(v.to_string().as_bytes()).expect("inventory parses");
    let report = evaluate(&inv, &EvalConfig::default()).expect("inventory evaluates");
    // every scene's table lines (the lean evaluation) agree with its report
    briefs::briefs_agree(&inv, &report);
    report
}

fn vm1(r: &Report) -> &VmReport {
    r.vms.iter().find(|v| v.name == "vm1").expect("vm1")
}

fn port(v: &VmReport, p: u16) -> &Exposure {
    v.exposures.iter().find(|e| e.port == p).expect("port")
}

fn lb(sku: &str, frontend_public: bool, rules: Value, nat: Value, pools: Value) -> Value {
    let lb_id = id("loadBalancers", "lb-web");
    let fe = if frontend_public {
        json!({"publicIPAddress": {"id": id("publicIPAddresses", "lb-pip")}})
    } else {
        json!({"privateIPAddress": "10.0.1.100", "subnet": {"id": format!("{}/subnets/default", id("virtualNetworks", "vnet1"))}})
    };
    json!([{"id": lb_id, "name": "lb-web", "sku": {"name": sku}, "properties": {
        "frontendIPConfigurations": [{"id": format!("{lb_id}/frontendIPConfigurations/fe"), "name": "fe", "properties": fe}],
        "backendAddressPools": pools, "loadBalancingRules": rules, "inboundNatRules": nat}}])
}

fn lb_id(child: &str) -> String {
    format!("{}/{child}", id("loadBalancers", "lb-web"))
}

fn nat_v1(frontend: u32, backend: u32) -> Value {
    json!([{"id": lb_id("inboundNatRules/rdp"), "name": "rdp", "properties": {
        "frontendIPConfiguration": {"id": lb_id("frontendIPConfigurations/fe")},
        "protocol": "Tcp", "frontendPort": frontend, "backendPort": backend,
        "backendIPConfiguration": {"id": format!("{}/ipConfigurations/ipconfig1", id("networkInterfaces", "vm1-nic"))}}}])
}

fn pool_with_vm() -> Value {
    json!([{"id": lb_id("backendAddressPools/pool"), "name": "pool", "properties": {
        "backendIPConfigurations": [{"id": format!("{}/ipConfigurations/ipconfig1", id("networkInterfaces", "vm1-nic"))}]}}])
}

fn firewall(rules: Value) -> Value {
    json!([{"id": id("azureFirewalls", "fw-hub"), "name": "fw-hub", "properties": {
        "sku": {"name": "AZFW_VNet", "tier": "Standard"},
        "ipConfigurations": [{"name": "ipc", "properties": {"privateIPAddress": "10.100.0.4",
            "subnet": {"id": format!("{}/subnets/AzureFirewallSubnet", id("virtualNetworks", "hub"))},
            "publicIPAddress": {"id": id("publicIPAddresses", "fw-pip")}}}],
        "natRuleCollections": [{"name": "inbound", "properties": {"priority": 100, "action": {"type": "Dnat"},
            "rules": rules}}]}}])
}

fn dnat(name: &str, sources: &[&str], port: &str, to: &str, to_port: &str) -> Value {
    json!({"name": name, "sourceAddresses": sources, "destinationAddresses": ["52.1.1.1"],
        "destinationPorts": [port], "protocols": ["TCP"], "translatedAddress": to, "translatedPort": to_port})
}

#[test]
fn public_ip_sku_decides_reachability_without_an_nsg() {
    // (case, pip SKU, NIC NSG rules, expected reachable, expected state)
    let allow_rdp = || Some(vec![rule("RDP", 300, "Allow", "*", "*", "3389")]);
    type Case = (&'static str, &'static str, Option<Vec<Value>>, bool, State);
    let cases: Vec<Case> = vec![
        (
            "Standard, no NSG: closed by default",
            "Standard",
            None,
            false,
            State::Open,
        ),
        ("no sku reads Standard", "", None, false, State::Open),
        (
            "Basic, no NSG: open to all",
            "Basic",
            None,
            true,
            State::Open,
        ),
        (
            "Standard with an NSG that allows",
            "Standard",
            allow_rdp(),
            true,
            State::Open,
        ),
        (
            "Basic with an NSG that allows",
            "Basic",
            allow_rdp(),
            true,
            State::Open,
        ),
        (
            "Standard with an NSG of defaults",
            "Standard",
            Some(vec![]),
            false,
            State::Private,
        ),
    ];
    for (case, sku, rules, reachable, state) in cases {
        let r = eval_json(&inventory(Scene {
            nic_rules: rules,
            pip: Some(sku),
            ..Default::default()
        }));
        let v = vm1(&r);
        let e = port(v, 3389);
        assert_eq!(e.reachable, reachable, "{case}: reachable");
        assert_eq!(e.state, state, "{case}: state");
        let path = &e.paths[0];
        assert_eq!(path.kind, PathKind::PublicIp, "{case}");
        assert_eq!(&*path.frontend.to_string(), "20.50.1.2:3389", "{case}");
        assert_eq!(&*path.target.to_string(), "10.0.1.4:3389", "{case}");
        assert_eq!(path.reachable, reachable, "{case}: path reachable");
    }
    // Standard, no NSG: the port reads open, Recommendation 1 unhealthy, not reachable
    let r = eval_json(&inventory(Scene {
        nic_rules: None,
        pip: Some("Standard"),
        ..Default::default()
    }));
    let v = vm1(&r);
    assert_eq!(
        v.recommendations.internet_facing_vms_protected_by_nsg,
        Status::Unhealthy
    );
    assert_eq!(v.recommendations.management_ports_closed, Status::Unhealthy);
    assert!(v.exposures.iter().all(|e| !e.reachable));
    assert!(
        port(v, 22).paths[0]
            .reason()
            .contains("Standard public IP 20.50.1.2"),
        "{}",
        port(v, 22).paths[0].reason()
    );
}

#[test]
fn a_public_load_balancer_frontend_makes_a_vm_internet_facing() {
    // (case, SKU, public frontend, NIC NSG rules, Recommendation 1, RDP reachable)
    type Case = (
        &'static str,
        &'static str,
        bool,
        Option<Vec<Value>>,
        Status,
        bool,
    );
    let cases: Vec<Case> = vec![
        // Standard closed by default: not reachable, but no NSG guards it
        (
            "Standard LB NAT, no NSG",
            "Standard",
            true,
            None,
            Status::Unhealthy,
            false,
        ),
        (
            "Basic LB NAT, no NSG",
            "Basic",
            true,
            None,
            Status::Unhealthy,
            true,
        ),
        (
            "Standard LB NAT, a NIC NSG",
            "Standard",
            true,
            Some(vec![rule("RDP", 300, "Allow", "*", "*", "3389")]),
            Status::Healthy,
            true,
        ),
        (
            "internal LB only: not Internet-facing",
            "Standard",
            false,
            None,
            Status::NotApplicable,
            false,
        ),
    ];
    for (case, sku, public, nic_rules, rec, reachable) in cases {
        let r = eval_json(&inventory(Scene {
            nic_rules,
            extra: json!({"loadBalancers": lb(sku, public, json!([]), nat_v1(50001, 3389), json!([]))}),
            ..Default::default()
        }));
        let v = vm1(&r);
        assert_eq!(
            v.recommendations.internet_facing_vms_protected_by_nsg, rec,
            "{case}"
        );
        let rdp = port(v, 3389);
        assert_eq!(rdp.reachable, reachable, "{case}");
        assert_eq!(rdp.state, State::Open, "{case}");
        assert_eq!(r.control.unhealthy, 1, "{case}");
    }
}

#[test]
fn a_subnet_nsg_missing_from_the_inventory_never_makes_a_standard_ip_safer() {
    let mut inv = inventory(Scene {
        nic_rules: None,
        pip: Some("Standard"),
        ..Default::default()
    });
    inv["virtualNetworks"][0]["properties"]["subnets"][0]["properties"]["networkSecurityGroup"] =
        json!({"id": id("networkSecurityGroups", "gone")});
    let r = eval_json(&inv);
    let e = port(vm1(&r), 3389);
    assert!(e.reachable, "an unseen NSG may allow: reachable");
    assert_eq!(e.state, State::Open);
}

#[test]
fn load_balancer_paths() {
    let allow = |src: &str, dst: &str| Some(vec![rule("RDP", 300, "Allow", src, dst, "3389")]);
    // (case, LB sku, public frontend, rules, nat rules, pools, NIC rules, port, state, reachable, kind, frontend)
    #[allow(clippy::type_complexity)]
    let cases: Vec<(
        &str,
        &str,
        bool,
        Value,
        Value,
        Value,
        Option<Vec<Value>>,
        u16,
        State,
        bool,
        Option<(PathKind, &str)>,
    )> = vec![
        (
            "NAT v1 50001 -> 3389, NSG allows *",
            "Standard",
            true,
            json!([]),
            nat_v1(50001, 3389),
            json!([]),
            allow("*", "*"),
            3389,
            State::Open,
            true,
            Some((PathKind::LoadBalancerNat, "20.1.2.3:50001")),
        ),
        (
            "NAT v1 on a Standard LB without any NSG: not reachable",
            "Standard",
            true,
            json!([]),
            nat_v1(50001, 3389),
            json!([]),
            None,
            3389,
            State::Open,
            false,
            Some((PathKind::LoadBalancerNat, "20.1.2.3:50001")),
        ),
        (
            "NAT v1 on a Basic LB without any NSG: reachable",
            "Basic",
            true,
            json!([]),
            nat_v1(50001, 3389),
            json!([]),
            None,
            3389,
            State::Open,
            true,
            Some((PathKind::LoadBalancerNat, "20.1.2.3:50001")),
        ),
        (
            "NAT v1 with NSG defaults only: private, not reachable",
            "Standard",
            true,
            json!([]),
            nat_v1(50001, 3389),
            json!([]),
            Some(vec![]),
            3389,
            State::Private,
            false,
            Some((PathKind::LoadBalancerNat, "20.1.2.3:50001")),
        ),
        (
            "NAT to another port does not reach 3389 through the LB",
            "Standard",
            true,
            json!([]),
            nat_v1(50022, 22),
            json!([]),
            allow("*", "*"),
            3389,
            State::Open,
            false,
            None,
        ),
        (
            "internal LB: no Internet path",
            "Standard",
            false,
            json!([]),
            nat_v1(50001, 3389),
            json!([]),
            allow("*", "*"),
            3389,
            State::Open,
            false,
            None,
        ),
        (
            "NAT v2 over a pool: the frontend range",
            "Standard",
            true,
            json!([]),
            json!([{"name": "rdp-v2", "id": lb_id("inboundNatRules/rdp-v2"), "properties": {
                "frontendIPConfiguration": {"id": lb_id("frontendIPConfigurations/fe")}, "protocol": "Tcp",
                "frontendPortRangeStart": 50000, "frontendPortRangeEnd": 50099, "backendPort": 3389,
                "backendAddressPool": {"id": lb_id("backendAddressPools/pool")}}}]),
            pool_with_vm(),
            allow("*", "*"),
            3389,
            State::Open,
            true,
            Some((PathKind::LoadBalancerNat, "20.1.2.3:50000-50099")),
        ),
        (
            "HA ports rule reaches every port",
            "Standard",
            true,
            json!([{"name": "ha", "id": lb_id("loadBalancingRules/ha"), "properties": {
                "frontendIPConfiguration": {"id": lb_id("frontendIPConfigurations/fe")}, "protocol": "All",
                "frontendPort": 0, "backendPort": 0, "backendAddressPool": {"id": lb_id("backendAddressPools/pool")}}}]),
            json!([]),
            pool_with_vm(),
            Some(vec![rule("SSH", 300, "Allow", "*", "*", "22")]),
            22,
            State::Open,
            true,
            Some((PathKind::LoadBalancerRule, "20.1.2.3:22")),
        ),
        (
            "LB rule 443 -> 3389 from a NSG-restricted source",
            "Standard",
            true,
            json!([{"name": "tls-rdp", "id": lb_id("loadBalancingRules/tls-rdp"), "properties": {
                "frontendIPConfiguration": {"id": lb_id("frontendIPConfigurations/fe")}, "protocol": "Tcp",
                "frontendPort": 443, "backendPort": 3389, "backendAddressPool": {"id": lb_id("backendAddressPools/pool")}}}]),
            json!([]),
            pool_with_vm(),
            allow("203.0.113.0/24", "*"),
            3389,
            State::Restricted,
            true,
            Some((PathKind::LoadBalancerRule, "20.1.2.3:443")),
        ),
        (
            "floating IP: an allow to the private IP does not match the frontend address",
            "Standard",
            true,
            json!([{"name": "fl", "id": lb_id("loadBalancingRules/fl"), "properties": {
                "frontendIPConfiguration": {"id": lb_id("frontendIPConfigurations/fe")}, "protocol": "Tcp",
                "frontendPort": 3389, "backendPort": 3389, "enableFloatingIP": true,
                "backendAddressPool": {"id": lb_id("backendAddressPools/pool")}}}]),
            json!([]),
            pool_with_vm(),
            allow("*", "10.0.1.4"),
            3389,
            State::Open,
            false,
            Some((PathKind::LoadBalancerRule, "20.1.2.3:3389")),
        ),
        (
            "floating IP: an allow to * matches",
            "Standard",
            true,
            json!([{"name": "fl", "id": lb_id("loadBalancingRules/fl"), "properties": {
                "frontendIPConfiguration": {"id": lb_id("frontendIPConfigurations/fe")}, "protocol": "Tcp",
                "frontendPort": 3389, "backendPort": 3389, "enableFloatingIP": true,
                "backendAddressPool": {"id": lb_id("backendAddressPools/pool")}}}]),
            json!([]),
            pool_with_vm(),
            allow("*", "*"),
            3389,
            State::Open,
            true,
            Some((PathKind::LoadBalancerRule, "20.1.2.3:3389")),
        ),
        (
            "IP-based pool: by VNet and address",
            "Standard",
            true,
            json!([{"name": "r", "id": lb_id("loadBalancingRules/r"), "properties": {
                "frontendIPConfiguration": {"id": lb_id("frontendIPConfigurations/fe")}, "protocol": "Tcp",
                "frontendPort": 2222, "backendPort": 22, "backendAddressPool": {"id": lb_id("backendAddressPools/ipb")}}}]),
            json!([]),
            json!([{"id": lb_id("backendAddressPools/ipb"), "name": "ipb", "properties": {"loadBalancerBackendAddresses": [
                {"name": "a1", "properties": {"ipAddress": "10.0.1.4", "virtualNetwork": {"id": id("virtualNetworks", "vnet1")}}}]}}]),
            Some(vec![rule("SSH", 300, "Allow", "*", "*", "22")]),
            22,
            State::Open,
            true,
            Some((PathKind::LoadBalancerRule, "20.1.2.3:2222")),
        ),
    ];
    for (case, sku, public, rules, nat, pools, nic_rules, p, state, reachable, kind) in cases {
        let r = eval_json(&inventory(Scene {
            nic_rules,
            extra: json!({"loadBalancers": lb(sku, public, rules, nat, pools)}),
            ..Default::default()
        }));
        let e = port(vm1(&r), p);
        assert_eq!(e.state, state, "{case}: state");
        assert_eq!(e.reachable, reachable, "{case}: reachable ({:?})", e.paths);
        match kind {
            Some((k, frontend)) => {
                let path = e
                    .paths
                    .iter()
                    .find(|x| x.kind == k)
                    .unwrap_or_else(|| panic!("{case}: a {k:?} path in {:?}", e.paths));
                assert_eq!(&*path.frontend.to_string(), frontend, "{case}");
                assert_eq!(
                    &*path.target.to_string(),
                    &format!("10.0.1.4:{p}"),
                    "{case}"
                );
                assert_eq!(path.reachable, reachable, "{case}");
                assert!(
                    path.reason().contains("load balancer lb-web"),
                    "{case}: {}",
                    path.reason()
                );
            }
            None => assert!(e.paths.is_empty(), "{case}: no path, got {:?}", e.paths),
        }
        if state == State::Open {
            assert_eq!(
                vm1(&r).recommendations.management_ports_closed,
                Status::Unhealthy,
                "{case}"
            );
        }
    }
}

#[test]
fn nic_side_references_join_and_missing_load_balancers_warn() {
    // the NIC names the pool; the pool does not list the NIC back
    let mut inv = inventory(Scene {
        nic_rules: Some(vec![rule("RDP", 300, "Allow", "*", "*", "3389")]),
        extra: json!({"loadBalancers": lb("Standard", true,
            json!([{"name": "r", "id": lb_id("loadBalancingRules/r"), "properties": {
                "frontendIPConfiguration": {"id": lb_id("frontendIPConfigurations/FE")}, "protocol": "Tcp",
                "frontendPort": 3389, "backendPort": 3389, "backendAddressPool": {"id": lb_id("backendAddressPools/pool")}}}]),
            json!([]), json!([{"id": lb_id("backendAddressPools/pool"), "name": "pool", "properties": {}}]))}),
        ..Default::default()
    });
    inv["networkInterfaces"][0]["properties"]["ipConfigurations"][0]["properties"]
        ["loadBalancerBackendAddressPools"] =
        json!([{"id": lb_id("backendAddressPools/POOL").to_uppercase()}]);
    let r = eval_json(&inv);
    let e = port(vm1(&r), 3389);
    assert!(e.reachable, "{:?}", e.paths);
    assert_eq!(e.paths.len(), 1);
    assert_eq!(e.paths[0].kind, PathKind::LoadBalancerRule);

    // a pool of a load balancer that is not in the inventory: a warning and a path to every port
    let mut inv = inventory(Scene {
        nic_rules: Some(vec![rule("SSH", 300, "Allow", "*", "*", "22")]),
        ..Default::default()
    });
    inv["networkInterfaces"][0]["properties"]["ipConfigurations"][0]["properties"]
        ["loadBalancerBackendAddressPools"] =
        json!([{"id": format!("{}/backendAddressPools/p", id("loadBalancers", "gone"))}]);
    let r = eval_json(&inv);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("loadBalancers/gone") && w.contains("not in the inventory")),
        "{:?}",
        r.warnings
    );
    let e = port(vm1(&r), 22);
    assert!(
        e.reachable,
        "an unseen load balancer may forward: {:?}",
        e.paths
    );
    assert_eq!(&*e.paths[0].frontend.to_string(), "?:22");
    assert!(!port(vm1(&r), 3389).reachable, "the NSG still decides 3389");
}

#[test]
fn firewall_dnat_paths() {
    // (case, DNAT rules, NIC rules, peered, state, reachable, sources)
    #[allow(clippy::type_complexity)]
    let cases: Vec<(&str, Value, Option<Vec<Value>>, bool, State, bool, &[&str])> = vec![
        (
            "DNAT from * through the default AllowVnetInBound (peered hub)",
            json!([dnat("rdp-in", &["*"], "3389", "10.0.1.4", "3389")]),
            Some(vec![]),
            true,
            State::Open,
            true,
            &["0.0.0.0/0"],
        ),
        (
            "DNAT from one range: restricted",
            json!([dnat(
                "rdp-in",
                &["203.0.113.0/24"],
                "3389",
                "10.0.1.4",
                "3389"
            )]),
            Some(vec![]),
            true,
            State::Restricted,
            true,
            &["203.0.113.0/24"],
        ),
        (
            "DNAT on another frontend port still reaches 3389",
            json!([dnat("rdp-in", &["*"], "50001", "10.0.1.4", "3389")]),
            Some(vec![]),
            true,
            State::Open,
            true,
            &["0.0.0.0/0"],
        ),
        (
            "NSG denies the firewall's subnet: not reachable",
            json!([dnat("rdp-in", &["*"], "3389", "10.0.1.4", "3389")]),
            Some(vec![rule(
                "no-hub",
                100,
                "Deny",
                "10.100.0.0/16",
                "*",
                "3389",
            )]),
            true,
            State::Private,
            false,
            &[],
        ),
        (
            "unpeered hub: its addresses are not VirtualNetwork, DenyAllInBound stops them",
            json!([dnat("rdp-in", &["*"], "3389", "10.0.1.4", "3389")]),
            Some(vec![]),
            false,
            State::Private,
            false,
            &[],
        ),
        (
            "an earlier DNAT rule for the same frontend takes its sources",
            json!([
                dnat("elsewhere", &["*"], "3389", "10.0.9.9", "3389"),
                dnat("rdp-in", &["*"], "3389", "10.0.1.4", "3389")
            ]),
            Some(vec![]),
            true,
            State::Private,
            false,
            &[],
        ),
        (
            "an earlier, narrower rule leaves the rest",
            json!([
                dnat("elsewhere", &["0.0.0.0/1"], "3389", "10.0.9.9", "3389"),
                dnat("rdp-in", &["*"], "3389", "10.0.1.4", "3389")
            ]),
            Some(vec![]),
            true,
            State::Open,
            true,
            &["128.0.0.0/1"],
        ),
        (
            "DNAT to another address: no path",
            json!([dnat("rdp-in", &["*"], "3389", "10.0.1.5", "3389")]),
            Some(vec![]),
            true,
            State::Private,
            false,
            &[],
        ),
    ];
    for (case, rules, nic_rules, peered, state, reachable, sources) in cases {
        let r = eval_json(&inventory(Scene {
            nic_rules,
            peered,
            extra: json!({"azureFirewalls": firewall(rules)}),
            ..Default::default()
        }));
        let v = vm1(&r);
        let e = port(v, 3389);
        assert_eq!(e.state, state, "{case}: state ({:?})", e.paths);
        assert_eq!(e.reachable, reachable, "{case}: reachable");
        let got: Vec<&str> = e
            .allowed_public_sources
            .iter()
            .map(String::as_str)
            .collect();
        assert_eq!(got, sources, "{case}: sources");
        if state == State::Open {
            assert_eq!(
                v.recommendations.management_ports_closed,
                Status::Unhealthy,
                "{case}"
            );
            assert_eq!(v.status, Status::Unhealthy, "{case}");
        }
    }
    // the reason names the path
    let r = eval_json(&inventory(Scene {
        extra: json!({"azureFirewalls": firewall(json!([dnat("rdp-in", &["*"], "3389", "10.0.1.4", "3389")]))}),
        ..Default::default()
    }));
    let e = port(vm1(&r), 3389);
    let p = &e.paths[0];
    assert_eq!(p.kind, PathKind::FirewallDnat);
    assert_eq!(
        p.reason(),
        "reachable from 0.0.0.0/0 through firewall fw-hub DNAT rule rdp-in, 52.1.1.1:3389 → 10.0.1.4:3389"
    );
    assert_eq!(
        &*e.reason,
        &*p.reason(),
        "the path that makes the port open explains it"
    );
    assert!(!port(vm1(&r), 22).reachable);
}

#[test]
fn only_the_firewalls_public_addresses_are_internet_frontends() {
    // (case, DNAT destinations, with the firewall's public IP (false: ip configuration without
    // one), firewall public IP in the inventory, expected firewallDnat frontend on 3389)
    type Case = (&'static str, Value, bool, bool, Option<&'static str>);
    let cases: Vec<Case> = vec![
        (
            "its public IP",
            json!(["52.1.1.1"]),
            true,
            true,
            Some("52.1.1.1:3389"),
        ),
        (
            "* is its public IP",
            json!(["*"]),
            true,
            true,
            Some("52.1.1.1:3389"),
        ),
        (
            "its private IP (private IP DNAT)",
            json!(["10.100.0.4"]),
            true,
            true,
            None,
        ),
        (
            "a private IP DNAT on a firewall without a public IP",
            json!(["10.100.0.4"]),
            false,
            true,
            None,
        ),
        (
            "* on a firewall without a public IP",
            json!(["*"]),
            false,
            true,
            None,
        ),
        (
            "another host's public address",
            json!(["52.9.9.9"]),
            true,
            true,
            None,
        ),
        (
            "another host's, then its own",
            json!(["52.9.9.9", "52.1.1.0/30"]),
            true,
            true,
            Some("52.1.1.1:3389"),
        ),
        // the firewall's address unknown: any public destination may be it (never look safer)
        (
            "its public IP missing from the inventory",
            json!(["52.9.9.9"]),
            true,
            false,
            Some("52.9.9.9:3389"),
        ),
        (
            "its public IP missing, a private destination",
            json!(["10.100.0.4"]),
            true,
            false,
            None,
        ),
    ];
    for (case, dests, with_pip, pip_listed, frontend) in cases {
        let mut fw = firewall(json!([dnat("rdp-in", &["*"], "3389", "10.0.1.4", "3389")]));
        fw[0]["properties"]["natRuleCollections"][0]["properties"]["rules"][0]
            ["destinationAddresses"] = dests;
        if !with_pip {
            fw[0]["properties"]["ipConfigurations"][0]["properties"]
                .as_object_mut()
                .unwrap()
                .remove("publicIPAddress");
        }
        let mut inv = inventory(Scene {
            nic_rules: Some(vec![]),
            extra: json!({ "azureFirewalls": fw }),
            ..Default::default()
        });
        if !pip_listed {
            inv["publicIPAddresses"] = json!([]);
        }
        let r = eval_json(&inv);
        let rdp = port(vm1(&r), 3389);
        let shown: Vec<String> = rdp
            .paths
            .iter()
            .filter(|p| p.kind == PathKind::FirewallDnat)
            .map(|p| p.frontend.to_string())
            .collect();
        match frontend {
            Some(f) => {
                assert_eq!(shown, [f], "{case}");
                assert_eq!(rdp.state, State::Open, "{case}");
                assert!(rdp.reachable, "{case}");
            }
            None => {
                assert!(shown.is_empty(), "{case}: {shown:?}");
                assert_eq!(rdp.state, State::Private, "{case}");
                assert!(!rdp.reachable, "{case}");
            }
        }
    }
}

#[test]
fn firewall_policy_rule_collection_groups() {
    let policy = format!("{SUB}/Microsoft.Network/firewallPolicies/hub-policy");
    let mut fw = firewall(json!([]));
    fw[0]["properties"]["natRuleCollections"] = json!([]);
    fw[0]["properties"]["firewallPolicy"] = json!({"id": policy});
    let group = |name: &str, prio: u32, rules: Value| {
        json!({
        "id": format!("{policy}/ruleCollectionGroups/{name}"), "name": name,
        "properties": {"priority": prio, "ruleCollections": [
            {"ruleCollectionType": "FirewallPolicyFilterRuleCollection", "name": "net", "priority": 50,
                "action": {"type": "Allow"}, "rules": [{"ruleType": "NetworkRule", "name": "any",
                "sourceAddresses": ["*"], "destinationAddresses": ["*"], "destinationPorts": ["*"], "ipProtocols": ["Any"]}]},
            {"ruleCollectionType": "FirewallPolicyNatRuleCollection", "name": "dnat", "priority": 100,
                "action": {"type": "DNAT"}, "rules": rules}]}})
    };
    let nat = |name: &str, src: &str, to: &str| {
        json!({"ruleType": "NatRule", "name": name, "sourceAddresses": [src],
        "destinationAddresses": ["52.1.1.1"], "destinationPorts": ["22"], "ipProtocols": ["TCP"],
        "translatedAddress": to, "translatedPort": "22"})
    };
    // the group with the lower priority number goes first and takes 192.0.2.0/24 elsewhere
    let r = eval_json(&inventory(Scene {
        extra: json!({"azureFirewalls": fw, "firewallPolicyRuleCollectionGroups": [
            group("late", 300, json!([nat("ssh-vm1", "*", "10.0.1.4")])),
            group("early", 200, json!([nat("ssh-other", "192.0.2.0/24", "10.0.1.9")]))]}),
        ..Default::default()
    }));
    let e = port(vm1(&r), 22);
    assert_eq!(e.state, State::Open);
    assert!(e.reachable);
    let p = &e.paths[0];
    assert_eq!(p.kind, PathKind::FirewallDnat);
    assert!(p.via.ends_with("ruleCollectionGroups/late"), "{}", p.via);
    // 0.0.0.0/0 less 192.0.2.0/24, as merged CIDRs
    assert!(
        !p.allowed_public_sources.iter().any(|s| s == "0.0.0.0/0"),
        "{:?}",
        p.allowed_public_sources
    );
    assert!(
        p.allowed_public_sources.iter().any(|s| s == "192.0.0.0/23"),
        "{:?}",
        p.allowed_public_sources
    );

    // a policy whose groups are not in the inventory: a warning
    let r = eval_json(&inventory(Scene {
        extra: json!({"azureFirewalls": fw}),
        ..Default::default()
    }));
    assert!(
        r.warnings.iter().any(|w| w.contains("hub-policy")),
        "{:?}",
        r.warnings
    );
}

/// A DNAT rule's `sourceIpGroups` are the inventory's IP groups' addresses; a group the
/// inventory lacks counts as every source, with a warning; a bad address in a group names its
/// JSON path.
#[test]
fn dnat_source_ip_groups_are_expanded() {
    let group_id = format!("{SUB}/Microsoft.Network/ipGroups/partners");
    let mut r = dnat("rdp-partners", &[], "3389", "10.0.1.4", "3389");
    r["sourceIpGroups"] = json!([group_id.to_uppercase()]);
    let fw = firewall(json!([r]));
    let group = |addresses: Value| {
        json!([{"id": group_id, "name": "partners",
        "properties": {"ipAddresses": addresses}}])
    };
    let r = eval_json(&inventory(Scene {
        extra: json!({"azureFirewalls": fw,
            "ipGroups": group(json!(["198.51.100.0/24", "203.0.113.7", "192.0.2.10-192.0.2.11"]))}),
        ..Default::default()
    }));
    let e = port(vm1(&r), 3389);
    assert_eq!((e.state, e.reachable), (State::Restricted, true));
    assert_eq!(
        e.paths[0].allowed_public_sources.to_vec(),
        ["192.0.2.10/31", "198.51.100.0/24", "203.0.113.7/32"]
    );
    assert!(
        e.reason
            .contains("DNAT rule rdp-partners (sources: IP group partners)"),
        "{}",
        e.reason
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);

    let r = eval_json(&inventory(Scene {
        extra: json!({"azureFirewalls": fw}),
        ..Default::default()
    }));
    assert_eq!(port(vm1(&r), 3389).state, State::Open);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("partners") && w.contains("every source")),
        "{:?}",
        r.warnings
    );

    let inv = inventory(Scene {
        extra: json!({"azureFirewalls": fw, "ipGroups": group(json!(["198.51.100.0/24", "partner-net"]))}),
        ..Default::default()
    });
    let inv = Inventory::from_json(inv.to_string().as_bytes()).unwrap();
    let err = evaluate(&inv, &EvalConfig::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("ipGroups[0].properties.ipAddresses[1]: \"partner-net\""),
        "{err}"
    );
}

/// Firewall Policy inheritance: a child policy inherits its base policy's rule collection
/// groups, and Azure processes the base policy's DNAT rules before the child's.
#[test]
fn a_base_policys_dnat_rules_come_first_and_reach_the_vm() {
    let pol = |name: &str| format!("{SUB}/Microsoft.Network/firewallPolicies/{name}");
    let (parent, child) = (pol("org-parent"), pol("hub-child"));
    let mut fw = firewall(json!([]));
    fw[0]["properties"]["natRuleCollections"] = json!([]);
    fw[0]["properties"]["firewallPolicy"] = json!({"id": child});
    let group = |policy: &str, name: &str, prio: u32, rules: Value| {
        json!({
        "id": format!("{policy}/ruleCollectionGroups/{name}"), "name": name,
        "properties": {"priority": prio, "ruleCollections": [
            {"ruleCollectionType": "FirewallPolicyNatRuleCollection", "name": "dnat", "priority": 100,
                "action": {"type": "DNAT"}, "rules": rules}]}})
    };
    let nat = |name: &str, src: &str, to: &str| {
        json!({"ruleType": "NatRule", "name": name, "sourceAddresses": [src],
        "destinationAddresses": ["52.1.1.1"], "destinationPorts": ["3389"], "ipProtocols": ["TCP"],
        "translatedAddress": to, "translatedPort": "3389"})
    };
    let policies = json!([
        {"id": child, "name": "hub-child", "properties": {"basePolicy": {"id": parent.to_uppercase()}}},
        {"id": parent, "name": "org-parent", "properties": {}}]);
    // the parent's group (priority 500) before the child's (priority 100): its rule for
    // 198.51.100.0/24 to another host shadows those sources of the child's rule to vm1
    let groups = json!([
        group(
            &child,
            "spoke-dnat",
            100,
            json!([nat("rdp-vm1", "*", "10.0.1.4")])
        ),
        group(
            &parent,
            "org-dnat",
            500,
            json!([nat("rdp-jump", "198.51.100.0/24", "10.0.1.9")])
        )
    ]);
    let r = eval_json(&inventory(Scene {
        extra: json!({"azureFirewalls": fw, "firewallPolicyRuleCollectionGroups": groups,
            "firewallPolicies": policies}),
        ..Default::default()
    }));
    let e = port(vm1(&r), 3389);
    assert_eq!(e.state, State::Open);
    let p = &e.paths[0];
    assert!(
        p.via.ends_with("hub-child/ruleCollectionGroups/spoke-dnat"),
        "{}",
        p.via
    );
    assert!(
        !p.allowed_public_sources.iter().any(|s| s == "0.0.0.0/0")
            && p.allowed_public_sources
                .iter()
                .any(|s| s == "198.51.0.0/18"),
        "the base policy's rule goes first: {:?}",
        p.allowed_public_sources
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);

    // only the base policy translates to vm1: its rule reaches vm1 through the child's firewall
    let groups = json!([
        group(&child, "spoke-dnat", 100, json!([])),
        group(
            &parent,
            "org-dnat",
            500,
            json!([nat("rdp-vm1", "*", "10.0.1.4")])
        )
    ]);
    let r = eval_json(&inventory(Scene {
        extra: json!({"azureFirewalls": fw, "firewallPolicyRuleCollectionGroups": groups.clone(),
            "firewallPolicies": policies}),
        ..Default::default()
    }));
    let e = port(vm1(&r), 3389);
    assert_eq!((e.state, e.reachable), (State::Open, true));
    assert!(
        e.paths[0]
            .via
            .ends_with("org-parent/ruleCollectionGroups/org-dnat"),
        "{}",
        e.paths[0].via
    );
    assert!(
        e.reason
            .contains("DNAT rule rdp-vm1 (from base policy org-parent)"),
        "{}",
        e.reason
    );
    assert_eq!(vm1(&r).status, Status::Unhealthy);

    // without firewallPolicies the inheritance is unknown: the port reads closed to the
    // Internet, and a warning says that the parent's groups are used by no firewall here
    let r = eval_json(&inventory(Scene {
        extra: json!({"azureFirewalls": fw, "firewallPolicyRuleCollectionGroups": groups}),
        ..Default::default()
    }));
    assert!(!port(vm1(&r), 3389).reachable);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("org-parent") && w.contains("firewallPolicies")),
        "{:?}",
        r.warnings
    );

    // a base policy missing from firewallPolicies is still followed, with a warning; a loop
    // of base policies ends where it closes
    let looped = json!([
        {"id": child, "properties": {"basePolicy": {"id": parent}}},
        {"id": parent, "properties": {"basePolicy": {"id": child}}}]);
    let missing = json!([{"id": child, "properties": {"basePolicy": {"id": parent}}}]);
    for (policies, says) in [
        (looped, "already in its chain"),
        (missing, "is not in firewallPolicies"),
    ] {
        let groups = json!([group(
            &parent,
            "org-dnat",
            500,
            json!([nat("rdp-vm1", "*", "10.0.1.4")])
        )]);
        let r = eval_json(&inventory(Scene {
            extra: json!({"azureFirewalls": fw, "firewallPolicyRuleCollectionGroups": groups,
                "firewallPolicies": policies}),
            ..Default::default()
        }));
        assert!(port(vm1(&r), 3389).reachable, "{says}");
        assert!(
            r.warnings.iter().any(|w| w.contains(says)),
            "{says}: {:?}",
            r.warnings
        );
    }
}

/// Narrowing a DNAT rule that a firewall inherits: the base policy's group changes, and the
/// change says which policies inherit it.
#[test]
fn narrowing_an_inherited_dnat_rule_changes_the_base_policy() {
    use portcullis_shared::api::{RemediationKind, RemediationParams, RemediationRequest};
    let pol = |name: &str| format!("{SUB}/Microsoft.Network/firewallPolicies/{name}");
    let (parent, child) = (pol("org-parent"), pol("hub-child"));
    let mut fw = firewall(json!([]));
    fw[0]["properties"]["natRuleCollections"] = json!([]);
    fw[0]["properties"]["firewallPolicy"] = json!({"id": child});
    let inv_json = inventory(Scene {
        extra: json!({"azureFirewalls": fw,
            "firewallPolicies": [{"id": child, "name": "hub-child", "properties": {"basePolicy": {"id": parent}}}],
            "firewallPolicyRuleCollectionGroups": [{
                "id": format!("{parent}/ruleCollectionGroups/org-dnat"), "name": "org-dnat",
                "properties": {"priority": 100, "ruleCollections": [{"ruleCollectionType": "FirewallPolicyNatRuleCollection",
                    "name": "dnat", "priority": 100, "action": {"type": "DNAT"}, "rules": [{"ruleType": "NatRule",
                        "name": "rdp-vm1", "sourceIpGroups": [format!("{SUB}/Microsoft.Network/ipGroups/everyone")],
                        "destinationAddresses": ["52.1.1.1"],
                        "destinationPorts": ["3389"], "ipProtocols": ["TCP"], "translatedAddress": "10.0.1.4",
                        "translatedPort": "3389"}]}]}}],
            "ipGroups": [{"id": format!("{SUB}/Microsoft.Network/ipGroups/everyone"),
                "properties": {"ipAddresses": ["0.0.0.0/1", "128.0.0.0/1"]}}]}),
        ..Default::default()
    });
    let inv = Inventory::from_json(inv_json.to_string().as_bytes()).unwrap();
    let req = RemediationRequest {
        kind: RemediationKind::NarrowDnat,
        vm_ids: vec![inv.virtual_machines[0].id.clone()],
        ports: vec![],
        params: RemediationParams {
            sources: vec!["203.0.113.0/24".into()],
            ..Default::default()
        },
    };
    let cfg = EvalConfig::default();
    assert_eq!(
        port(vm1(&evaluate(&inv, &cfg).unwrap()), 3389).state,
        State::Open
    );
    let p = portcullis_shared::remediation::plan(&inv, &cfg, &req).unwrap();
    let c = &p.plan.firewall_changes[0];
    assert!(
        c.target_id
            .ends_with("org-parent/ruleCollectionGroups/org-dnat"),
        "{}",
        c.target_id
    );
    assert!(
        c.diff[0]
            .summary
            .contains("base policy org-parent (inherited by hub-child) (→ 10.0.1.4:3389): sources IP group everyone narrowed to 203.0.113.0/24"),
        "{}",
        c.diff[0].summary
    );
    let after = evaluate(&p.predicted, &cfg).unwrap();
    assert_eq!(port(vm1(&after), 3389).state, State::Restricted);
}

#[test]
fn security_admin_rules_come_before_the_nsgs() {
    let admin = |access: &str, src: &str, port: &str| {
        json!([{"virtualNetwork": {"id": id("virtualNetworks", "vnet1")},
        "value": [{"id": format!("{SUB}/Microsoft.Network/networkManagers/nm/securityAdminConfigurations/c/ruleCollections/rc/rules/r1"),
            "kind": "Custom", "properties": {"protocol": "Tcp", "access": access, "priority": 10, "direction": "Inbound",
                "sources": [{"addressPrefixType": "IPPrefix", "addressPrefix": src}],
                "destinations": [{"addressPrefixType": "IPPrefix", "addressPrefix": "*"}],
                "sourcePortRanges": [], "destinationPortRanges": [port]}}]}])
    };
    let allow_all = || Some(vec![rule("RDP", 300, "Allow", "*", "*", "3389")]);
    let deny_all = || Some(vec![rule("no-RDP", 300, "Deny", "*", "*", "3389")]);
    // (case, admin access, source, NIC rules, state)
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        Option<Vec<Value>>,
        State,
    );
    let cases: Vec<Case> = vec![
        (
            "admin Deny closes what the NSG allows",
            "Deny",
            "*",
            allow_all(),
            State::Closed,
        ),
        (
            "admin Deny of the Internet leaves private sources",
            "Deny",
            "Internet",
            allow_all(),
            State::Private,
        ),
        (
            "admin AlwaysAllow opens what the NSG denies",
            "AlwaysAllow",
            "*",
            deny_all(),
            State::Open,
        ),
        (
            "admin Allow hands over to the NSG (deny)",
            "Allow",
            "*",
            deny_all(),
            State::Closed,
        ),
        (
            "admin Allow hands over to the NSG (allow)",
            "Allow",
            "*",
            allow_all(),
            State::Open,
        ),
        (
            "admin AlwaysAllow of one range: restricted",
            "AlwaysAllow",
            "198.51.100.0/24",
            deny_all(),
            State::Restricted,
        ),
    ];
    for (case, access, src, nic_rules, state) in cases {
        let r = eval_json(&inventory(Scene {
            nic_rules,
            pip: Some("Standard"),
            extra: json!({"networkManagerEffectiveSecurityAdminRules": admin(access, src, "3389")}),
            ..Default::default()
        }));
        let e = port(vm1(&r), 3389);
        assert_eq!(e.state, state, "{case}: {}", e.reason);
        if access != "Allow" && state != State::Private {
            assert!(
                e.deciding_rules.iter().any(|d| &*d.rule == "r1"),
                "{case}: the admin rule decides: {:?}",
                e.deciding_rules
            );
        }
        // other ports are the NSG's alone
        assert_eq!(port(vm1(&r), 22).state, State::Private, "{case}");
    }
}

#[test]
fn bastion_is_managed_access_not_exposure() {
    let bastion = |vnet: &str, sku: &str| {
        json!([{"id": id("bastionHosts", "bas"), "name": "bas", "sku": {"name": sku},
        "properties": {"ipConfigurations": [{"name": "c", "properties": {
            "subnet": {"id": format!("{}/subnets/AzureBastionSubnet", id("virtualNetworks", vnet))},
            "publicIPAddress": {"id": id("publicIPAddresses", "bas-pip")}}}]}}])
    };
    for (case, vnet, sku, listed) in [
        ("in the VM's VNet", "vnet1", "Standard", true),
        ("in a peered VNet", "hub", "Basic", true),
        (
            "Developer in a peered VNet does not serve it",
            "hub",
            "Developer",
            false,
        ),
    ] {
        let r = eval_json(&inventory(Scene {
            extra: json!({"bastionHosts": bastion(vnet, sku)}),
            ..Default::default()
        }));
        let e = port(vm1(&r), 3389);
        assert_eq!(e.managed_access.is_some(), listed, "{case}");
        assert!(!e.reachable, "{case}: Bastion is no exposure");
        assert_eq!(e.state, State::Private, "{case}");
        if listed {
            assert_eq!(&*e.managed_access.as_ref().expect("listed")[0].name, "bas");
        }
    }
}

#[test]
fn bad_load_balancer_and_firewall_values_name_their_path() {
    let bad_lb = inventory(Scene {
        extra: json!({"loadBalancers": lb("Standard", true, json!([]), nat_v1(70000, 3389), json!([]))}),
        ..Default::default()
    });
    let inv = Inventory::from_json(bad_lb.to_string().as_bytes()).expect("parses");
    let err = evaluate(&inv, &EvalConfig::default()).expect_err("a port out of range");
    assert_eq!(
        err.path,
        "loadBalancers[0].properties.inboundNatRules[0].properties.frontendPort"
    );
    assert!(err.message.contains("70000"), "{}", err.message);

    let bad_fw = inventory(Scene {
        extra: json!({"azureFirewalls": firewall(json!([dnat("rdp", &["300.1.1.1"], "3389", "10.0.1.4", "3389")]))}),
        ..Default::default()
    });
    let inv = Inventory::from_json(bad_fw.to_string().as_bytes()).expect("parses");
    let err = evaluate(&inv, &EvalConfig::default()).expect_err("a bad address");
    assert_eq!(
        err.path,
        "azureFirewalls[0].properties.natRuleCollections[0].properties.rules[0].sourceAddresses[0]"
    );
    assert!(err.message.contains("300.1.1.1"), "{}", err.message);

    let bad_port = inventory(Scene {
        extra: json!({"azureFirewalls": firewall(json!([dnat("rdp", &["*"], "3389", "10.0.1.4", "99999")]))}),
        ..Default::default()
    });
    let inv = Inventory::from_json(bad_port.to_string().as_bytes()).expect("parses");
    let err = evaluate(&inv, &EvalConfig::default()).expect_err("a bad port");
    assert!(
        err.path.ends_with("rules[0].translatedPort"),
        "{}",
        err.path
    );
}

#[test]
fn narrowing_or_removing_the_dnat_rule_closes_the_path() {
    use portcullis_shared::api::{
        RemediationKind, RemediationParams, RemediationRequest, RuleChangeKind,
    };
    let inv_json = inventory(Scene {
        extra: json!({"azureFirewalls": firewall(json!([
            dnat("rdp-in", &["*"], "3389", "10.0.1.4", "3389"),
            dnat("web-in", &["*"], "443", "10.0.1.4", "443")]))}),
        ..Default::default()
    });
    let inv = Inventory::from_json(inv_json.to_string().as_bytes()).unwrap();
    let vm = inv.virtual_machines[0].id.clone();
    let req = |sources: Vec<String>| RemediationRequest {
        kind: RemediationKind::NarrowDnat,
        vm_ids: vec![vm.clone()],
        ports: vec![],
        params: RemediationParams {
            sources,
            ..Default::default()
        },
    };
    let cfg = EvalConfig::default();
    // narrowed to the office: restricted, reachable from the office only
    let p = portcullis_shared::remediation::plan(&inv, &cfg, &req(vec!["203.0.113.0/24".into()]))
        .unwrap();
    assert_eq!(p.plan.firewall_changes.len(), 1);
    let c = &p.plan.firewall_changes[0];
    assert!(c.target_id.ends_with("azureFirewalls/fw-hub"));
    assert_eq!(
        c.diff.len(),
        1,
        "only the rule to a management port: {:?}",
        c.diff
    );
    assert_eq!(c.diff[0].change, RuleChangeKind::Changed);
    assert_eq!(
        c.after["properties"]["natRuleCollections"][0]["properties"]["rules"][0]["sourceAddresses"],
        json!(["203.0.113.0/24"])
    );
    assert_eq!(
        c.after["properties"]["natRuleCollections"][0]["properties"]["rules"][1]["sourceAddresses"],
        json!(["*"]),
        "443 untouched"
    );
    let after = evaluate(&p.predicted, &cfg).unwrap();
    let e = port(vm1(&after), 3389);
    assert_eq!(e.state, State::Restricted);
    assert_eq!(
        &e.allowed_public_sources[..],
        &["203.0.113.0/24".to_string()]
    );
    assert_eq!(p.plan.vms[0].after, Status::Healthy);
    assert!(p.plan.after.current_score > p.plan.before.current_score);
    // removed: the port reads private again
    let p = portcullis_shared::remediation::plan(&inv, &cfg, &req(vec![])).unwrap();
    assert_eq!(
        p.plan.firewall_changes[0].diff[0].change,
        RuleChangeKind::Removed
    );
    let after = evaluate(&p.predicted, &cfg).unwrap();
    assert_eq!(port(vm1(&after), 3389).state, State::Private);
    assert!(!port(vm1(&after), 3389).reachable);
    // an NSG fix cannot close a DNAT path, and its preview says which fix can
    let deny = RemediationRequest {
        kind: RemediationKind::DenyPorts,
        ..req(vec![])
    };
    let p = portcullis_shared::remediation::plan(&inv, &cfg, &deny).unwrap();
    assert!(
        p.plan.warnings.iter().any(|w| w.contains(
            "port 3389 is open through firewall fw-hub DNAT rule rdp-in at 52.1.1.1:3389"
        ) && w.contains("(narrowDnat)")),
        "{:?}",
        p.plan.warnings
    );
    // a VM without DNAT: nothing to do
    let plain = Inventory::from_json(inventory(Scene::default()).to_string().as_bytes()).unwrap();
    let p = portcullis_shared::remediation::plan(
        &plain,
        &cfg,
        &RemediationRequest {
            vm_ids: vec![plain.virtual_machines[0].id.clone()],
            ..req(vec![])
        },
    )
    .unwrap();
    assert!(p.plan.noop);
}

#[test]
fn floating_ip_is_judged_at_the_frontend_address() {
    // an allow to the Internet tag matches no private address, but with floating IP the
    // NSGs see the (public) frontend address: the LB path is open, and so is the port
    let rules = json!([{"name": "fl", "id": lb_id("loadBalancingRules/fl"), "properties": {
        "frontendIPConfiguration": {"id": lb_id("frontendIPConfigurations/fe")}, "protocol": "Tcp",
        "frontendPort": 3389, "backendPort": 3389, "enableFloatingIP": true,
        "backendAddressPool": {"id": lb_id("backendAddressPools/pool")}}}]);
    let r = eval_json(&inventory(Scene {
        nic_rules: Some(vec![rule("RDP", 300, "Allow", "*", "Internet", "3389")]),
        extra: json!({"loadBalancers": lb("Standard", true, rules, json!([]), pool_with_vm())}),
        ..Default::default()
    }));
    let e = port(vm1(&r), 3389);
    let p = &e.paths[0];
    assert_eq!(p.kind, PathKind::LoadBalancerRule);
    assert!(p.reachable, "{}", p.reason());
    assert_eq!(e.state, State::Open, "{}", e.reason);
    assert!(e.reachable);
}

#[test]
fn a_load_balancer_or_firewall_public_ip_missing_from_the_inventory_is_reported() {
    // both frontends' public IPs left out: the paths are still evaluated (a partial inventory
    // never makes a VM look safer), and each missing address is named in a warning
    let mut inv = inventory(Scene {
        nic_rules: Some(vec![rule("Mgmt", 300, "Allow", "*", "*", "22,3389")]),
        extra: json!({
            "loadBalancers": lb("Standard", true, json!([]), nat_v1(50001, 22), pool_with_vm()),
            "azureFirewalls": firewall(json!([dnat("rdp-in", &["*"], "3389", "10.0.1.4", "3389")])),
        }),
        ..Default::default()
    });
    inv["networkSecurityGroups"][0]["properties"]["securityRules"][0]["properties"]
        ["destinationPortRange"] = json!(null);
    inv["networkSecurityGroups"][0]["properties"]["securityRules"][0]["properties"]
        ["destinationPortRanges"] = json!(["22", "3389"]);
    inv["publicIPAddresses"] = json!([]);
    let r = eval_json(&inv);
    for (what, name) in [
        ("load balancer lb-web", "lb-pip"),
        ("Azure Firewall fw-hub", "fw-pip"),
    ] {
        assert!(
            r.warnings.iter().any(|w| w.contains(what)
                && w.contains(&format!("publicIPAddresses/{name}"))
                && w.contains("not in the inventory")),
            "{what}: {:?}",
            r.warnings
        );
    }
    let vm = vm1(&r);
    let ssh = port(vm, 22);
    assert!(ssh.reachable, "{:?}", ssh.paths);
    assert_eq!(ssh.paths[0].kind, PathKind::LoadBalancerNat);
    assert_eq!(&*ssh.paths[0].frontend.to_string(), "?:50001");
    let rdp = port(vm, 3389);
    assert!(rdp
        .paths
        .iter()
        .any(|p| p.kind == PathKind::FirewallDnat && p.reachable));

    // with the addresses present, no such warning
    let r = eval_json(&inventory(Scene {
        nic_rules: Some(vec![rule("SSH", 300, "Allow", "*", "*", "22")]),
        extra: json!({"loadBalancers": lb("Standard", true, json!([]), nat_v1(50001, 22), pool_with_vm())}),
        ..Default::default()
    }));
    assert!(
        !r.warnings
            .iter()
            .any(|w| w.contains("not in the inventory")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn a_vm_without_a_network_interface_is_closed_with_a_whole_reason() {
    let mut inv = inventory(Scene::default());
    inv["virtualMachines"][0]["properties"]["networkProfile"]["networkInterfaces"] = json!([]);
    let r = eval_json(&inv);
    let vm = vm1(&r);
    for e in &vm.exposures {
        assert_eq!(e.state, State::Closed);
        assert!(!e.reachable);
        assert!(
            e.reason.starts_with("No source can connect: ") && !e.reason.ends_with("by "),
            "{}",
            e.reason
        );
        assert!(e.reason.contains("no network interface"), "{}", e.reason);
    }
}

/// An application gateway in the hub's subnet `appgw` (10.100.1.0/24, with `nsg_rules` as its
/// NSG when given): a public frontend (52.9.9.9) and a private one, and one routing rule from
/// `listener` (protocol, frontend port, public) to a pool with `pool` as its properties through
/// backend settings (protocol, port).
struct Gateway {
    listener: (&'static str, u32, bool),
    settings: (&'static str, u32),
    pool: Value,
    nsg_rules: Option<Vec<Value>>,
}

fn ag_id(child: &str) -> String {
    format!("{}/{child}", id("applicationGateways", "ag-edge"))
}

fn vm1_conf() -> String {
    format!(
        "{}/ipConfigurations/ipconfig1",
        id("networkInterfaces", "vm1-nic")
    )
}

/// `scene` with the gateway added (its subnet, NSG, public IP and the gateway itself).
fn with_gateway(scene: Scene, g: Gateway) -> Value {
    let mut inv = inventory(scene);
    let subnet_id = format!("{}/subnets/appgw", id("virtualNetworks", "hub"));
    let mut subnet =
        json!({"id": subnet_id, "name": "appgw", "properties": {"addressPrefix": "10.100.1.0/24"}});
    if let Some(rules) = g.nsg_rules {
        let nsg = id("networkSecurityGroups", "appgw-nsg");
        inv["networkSecurityGroups"]
            .as_array_mut()
            .expect("nsgs")
            .push(json!({"id": nsg, "name": "appgw-nsg", "properties": {"securityRules": rules}}));
        subnet["properties"]["networkSecurityGroup"] = json!({ "id": nsg });
    }
    inv["virtualNetworks"][1]["properties"]["subnets"]
        .as_array_mut()
        .expect("hub subnets")
        .push(subnet);
    inv["publicIPAddresses"].as_array_mut().expect("pips").push(
        json!({"id": id("publicIPAddresses", "ag-pip"), "name": "ag-pip",
            "sku": {"name": "Standard"}, "properties": {"ipAddress": "52.9.9.9"}}),
    );
    let (proto, port, public) = g.listener;
    let (set_proto, set_port) = g.settings;
    let frontend = if public { "fe-public" } else { "fe-private" };
    let http = proto.starts_with("Http");
    let (listeners, rules, settings) = if http {
        (
            "httpListeners",
            "requestRoutingRules",
            "backendHttpSettingsCollection",
        )
    } else {
        ("listeners", "routingRules", "backendSettingsCollection")
    };
    let mut rule = json!({"ruleType": "Basic", "priority": 100,
        "backendAddressPool": {"id": ag_id("backendAddressPools/pool")}});
    rule[if http { "httpListener" } else { "listener" }] =
        json!({"id": ag_id(&format!("{listeners}/rdp"))});
    rule[if http {
        "backendHttpSettings"
    } else {
        "backendSettings"
    }] = json!({"id": ag_id(&format!("{settings}/rdp"))});
    let mut props = json!({
        "sku": {"name": "Standard_v2", "tier": "Standard_v2", "capacity": 2},
        "gatewayIPConfigurations": [{"id": ag_id("gatewayIPConfigurations/gw"), "name": "gw",
            "properties": {"subnet": {"id": subnet_id}}}],
        "frontendIPConfigurations": [
            {"id": ag_id("frontendIPConfigurations/fe-public"), "name": "fe-public",
                "properties": {"publicIPAddress": {"id": id("publicIPAddresses", "ag-pip")}}},
            {"id": ag_id("frontendIPConfigurations/fe-private"), "name": "fe-private",
                "properties": {"privateIPAddress": "10.100.1.10", "privateIPAllocationMethod": "Static",
                    "subnet": {"id": subnet_id}}}],
        "frontendPorts": [{"id": ag_id("frontendPorts/p"), "name": "p", "properties": {"port": port}}],
        "backendAddressPools": [{"id": ag_id("backendAddressPools/pool"), "name": "pool", "properties": g.pool}],
    });
    props[settings] = json!([{"id": ag_id(&format!("{settings}/rdp")), "name": "rdp",
        "properties": {"port": set_port, "protocol": set_proto, "timeout": 20}}]);
    props[listeners] = json!([{"id": ag_id(&format!("{listeners}/rdp")), "name": "rdp",
        "properties": {"frontendIPConfiguration": {"id": ag_id(&format!("frontendIPConfigurations/{frontend}"))},
            "frontendPort": {"id": ag_id("frontendPorts/p")}, "protocol": proto}}]);
    props[rules] =
        json!([{"id": ag_id(&format!("{rules}/rdp")), "name": "rdp", "properties": rule}]);
    inv["applicationGateways"] = json!([{"id": id("applicationGateways", "ag-edge"), "name": "ag-edge",
        "type": "Microsoft.Network/applicationGateways", "location": "westeurope", "properties": props}]);
    inv
}

fn gateway() -> Gateway {
    Gateway {
        listener: ("Tcp", 3389, true),
        settings: ("Tcp", 3389),
        pool: json!({"backendIPConfigurations": [{"id": vm1_conf()}]}),
        nsg_rules: None,
    }
}

#[test]
fn application_gateway_tcp_listeners_are_paths() {
    let any = &["0.0.0.0/0"][..];
    let partners = &["198.51.100.0/24"][..];
    let none: &[&str] = &[];
    // (case, scene, gateway, state of 3389, reachable, sources)
    #[allow(clippy::type_complexity)]
    let cases: Vec<(&str, Scene, Gateway, State, bool, &[&str])> = vec![
        (
            "a TCP listener with no NSG on the gateway's subnet: every source, through AllowVnetInBound",
            Scene::default(),
            gateway(),
            State::Open,
            true,
            any,
        ),
        (
            "TLS in, TLS to the backend: the same path",
            Scene::default(),
            Gateway {
                listener: ("Tls", 3389, true),
                settings: ("Tls", 3389),
                ..gateway()
            },
            State::Open,
            true,
            any,
        ),
        (
            "the gateway subnet's NSG admits partners only: restricted",
            Scene::default(),
            Gateway {
                nsg_rules: Some(vec![
                    rule("partners", 100, "Allow", "198.51.100.0/24", "*", "3389"),
                    rule("no-rdp", 200, "Deny", "Internet", "*", "3389"),
                ]),
                ..gateway()
            },
            State::Restricted,
            true,
            partners,
        ),
        (
            "the gateway subnet's NSG lets no public source in: only the VNet's default",
            Scene::default(),
            Gateway {
                nsg_rules: Some(vec![]),
                ..gateway()
            },
            State::Private,
            false,
            none,
        ),
        (
            "listener 50000 to 3389: the subnet's NSG is judged at 50000, not at 3389",
            Scene::default(),
            Gateway {
                listener: ("Tcp", 50000, true),
                nsg_rules: Some(vec![rule("in", 100, "Allow", "*", "*", "50000")]),
                ..gateway()
            },
            State::Open,
            true,
            any,
        ),
        (
            "listener 50000, the subnet's NSG allowing 3389 only: closed",
            Scene::default(),
            Gateway {
                listener: ("Tcp", 50000, true),
                nsg_rules: Some(vec![rule("in", 100, "Allow", "Internet", "*", "3389")]),
                ..gateway()
            },
            State::Private,
            false,
            none,
        ),
        (
            "an Allow for the gateway's public frontend as destination counts",
            Scene::default(),
            Gateway {
                nsg_rules: Some(vec![rule("in", 100, "Allow", "*", "52.9.9.9", "3389")]),
                ..gateway()
            },
            State::Open,
            true,
            any,
        ),
        (
            "the VM's NSG denies the gateway's subnet: not reachable",
            Scene {
                nic_rules: Some(vec![rule("no-gw", 100, "Deny", "10.100.1.0/24", "*", "3389")]),
                ..Default::default()
            },
            gateway(),
            State::Private,
            false,
            none,
        ),
        (
            "to another port on the VM: not a path to 3389",
            Scene::default(),
            Gateway {
                settings: ("Tcp", 8443),
                ..gateway()
            },
            State::Private,
            false,
            none,
        ),
        (
            "a private frontend is no Internet path",
            Scene::default(),
            Gateway {
                listener: ("Tcp", 3389, false),
                ..gateway()
            },
            State::Private,
            false,
            none,
        ),
        (
            "HTTP to the VM's 3389 carries no RDP: no path",
            Scene::default(),
            Gateway {
                listener: ("Http", 3389, true),
                settings: ("Http", 3389),
                ..gateway()
            },
            State::Private,
            false,
            none,
        ),
        (
            "a pool of addresses: the VM's address in a peered VNet",
            Scene::default(),
            Gateway {
                pool: json!({"backendAddresses": [{"ipAddress": "10.0.1.4"}]}),
                ..gateway()
            },
            State::Open,
            true,
            any,
        ),
        (
            "a pool of addresses, the VNets not peered: the address is not the VM's",
            Scene {
                peered: false,
                ..Default::default()
            },
            Gateway {
                pool: json!({"backendAddresses": [{"ipAddress": "10.0.1.4"}]}),
                ..gateway()
            },
            State::Private,
            false,
            none,
        ),
    ];
    for (case, scene, g, state, reachable, sources) in cases {
        let r = eval_json(&with_gateway(scene, g));
        let v = vm1(&r);
        let e = port(v, 3389);
        assert_eq!(e.state, state, "{case}: state ({:?})", e.paths);
        assert_eq!(e.reachable, reachable, "{case}: reachable");
        let got: Vec<&str> = e
            .allowed_public_sources
            .iter()
            .map(String::as_str)
            .collect();
        assert_eq!(got, sources, "{case}: sources");
        let status = if state == State::Open {
            Status::Unhealthy
        } else {
            Status::Healthy
        };
        assert_eq!(v.recommendations.management_ports_closed, status, "{case}");
        assert!(!port(v, 22).reachable, "{case}: SSH has no listener");
    }
}

#[test]
fn an_application_gateway_path_names_its_rule_and_why_it_is_closed() {
    let r = eval_json(&with_gateway(Scene::default(), gateway()));
    let e = port(vm1(&r), 3389);
    let p = e
        .paths
        .iter()
        .find(|p| p.kind == PathKind::ApplicationGateway)
        .expect("the gateway's path");
    assert_eq!(&*p.via, ag_id("routingRules/rdp"));
    assert_eq!(
        p.reason(),
        "reachable from 0.0.0.0/0 through application gateway ag-edge rule rdp, 52.9.9.9:3389 → 10.0.1.4:3389"
    );
    assert_eq!(&*e.reason, &*p.reason(), "the path explains the open port");
    let json = serde_json::to_value(&r).expect("serialises");
    assert_eq!(
        json["vms"][0]["exposures"]
            .as_array()
            .and_then(|a| a.iter().find(|e| e["port"] == 3389))
            .map(|e| e["paths"][0]["kind"].clone()),
        Some(json!("applicationGateway"))
    );

    let closed = |scene: Scene, g: Gateway| {
        let r = eval_json(&with_gateway(scene, g));
        let e = port(vm1(&r), 3389);
        let p = e
            .paths
            .iter()
            .find(|p| p.kind == PathKind::ApplicationGateway)
            .expect("the gateway's path");
        assert!(!p.reachable);
        p.reason()
    };
    assert_eq!(
        closed(
            Scene::default(),
            Gateway {
                nsg_rules: Some(vec![]),
                ..gateway()
            }
        ),
        "not reachable through application gateway ag-edge rule rdp, 52.9.9.9:3389 → 10.0.1.4:3389: the NSG of the gateway's subnet admits no public source to the listener"
    );
    assert_eq!(
        closed(
            Scene {
                nic_rules: Some(vec![rule("no-gw", 100, "Deny", "10.100.1.0/24", "*", "3389")]),
                ..Default::default()
            },
            gateway()
        ),
        "not reachable through application gateway ag-edge rule rdp, 52.9.9.9:3389 → 10.0.1.4:3389: the NSGs do not admit the application gateway's subnet"
    );
}

#[test]
fn a_nic_names_its_application_gateway_pool() {
    let mut inv = with_gateway(
        Scene::default(),
        Gateway {
            pool: json!({}),
            ..gateway()
        },
    );
    // the pool lists nobody; the NIC's side names it
    let r = eval_json(&inv);
    assert!(!port(vm1(&r), 3389).reachable, "no member, no path");
    inv["networkInterfaces"][0]["properties"]["ipConfigurations"][0]["properties"]
        ["applicationGatewayBackendAddressPools"] =
        json!([{"id": ag_id("backendAddressPools/pool")}]);
    let r = eval_json(&inv);
    let e = port(vm1(&r), 3389);
    assert!(e.reachable);
    assert_eq!(e.state, State::Open);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn application_gateway_bad_values_and_unknowns() {
    let bad = with_gateway(
        Scene::default(),
        Gateway {
            listener: ("Tcp", 70000, true),
            ..gateway()
        },
    );
    let inv = Inventory::from_json(bad.to_string().as_bytes()).expect("parses");
    let err = evaluate(&inv, &EvalConfig::default()).expect_err("a port out of range");
    assert_eq!(
        err.path,
        "applicationGateways[0].properties.frontendPorts[0].properties.port"
    );
    assert!(err.message.contains("70000"), "{}", err.message);

    // the gateway's subnet is not in the inventory: every source, with a warning
    let mut inv = with_gateway(
        Scene::default(),
        Gateway {
            nsg_rules: Some(vec![]),
            ..gateway()
        },
    );
    inv["virtualNetworks"][1]["properties"]["subnets"]
        .as_array_mut()
        .expect("subnets")
        .pop();
    let r = eval_json(&inv);
    let e = port(vm1(&r), 3389);
    assert_eq!(e.state, State::Open, "never safer for a partial inventory");
    assert!(
        r.warnings.iter().any(
            |w| w.contains("application gateway ag-edge") && w.contains("not in the inventory")
        ),
        "{:?}",
        r.warnings
    );

    // a host name in the pool cannot be resolved here: said, not guessed
    let r = eval_json(&with_gateway(
        Scene::default(),
        Gateway {
            pool: json!({"backendAddresses": [{"fqdn": "vm1.contoso.internal"}]}),
            ..gateway()
        },
    ));
    assert!(!port(vm1(&r), 3389).reachable);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("vm1.contoso.internal")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn fixes_for_a_vm_behind_an_application_gateway() {
    use portcullis_shared::api::{RemediationKind, RemediationParams, RemediationRequest};
    let inv = Inventory::from_json(
        with_gateway(Scene::default(), gateway())
            .to_string()
            .as_bytes(),
    )
    .expect("parses");
    let cfg = EvalConfig::default();
    let req = |kind| RemediationRequest {
        kind,
        vm_ids: vec![inv.virtual_machines[0].id.clone()],
        ports: vec![3389],
        params: RemediationParams::default(),
    };
    // no rule of the VM's NSG lets the Internet in: the preview says what closes the path
    let p = portcullis_shared::remediation::plan(&inv, &cfg, &req(RemediationKind::DenyPorts))
        .expect("plans");
    assert!(
        p.plan.warnings.iter().any(|w| w.contains(
            "port 3389 is open through application gateway ag-edge rule rdp at 52.9.9.9:3389"
        ) && w.contains("remove the routing rule")),
        "{:?}",
        p.plan.warnings
    );
    // JIT's Deny from every source comes first: the gateway's subnet no longer reaches 3389
    let p = portcullis_shared::remediation::plan(&inv, &cfg, &req(RemediationKind::EnableJit))
        .expect("plans");
    assert!(
        !p.plan
            .warnings
            .iter()
            .any(|w| w.contains("application gateway")),
        "{:?}",
        p.plan.warnings
    );
    let after = evaluate(&p.predicted, &cfg).expect("evaluates");
    let e = port(vm1(&after), 3389);
    assert!(!e.reachable, "{:?}", e.paths);
    assert_eq!(p.plan.vms[0].after, Status::Healthy);
}
