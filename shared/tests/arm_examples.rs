//! Every relevant payload copied verbatim from Azure's API specs (shared/arm-examples) parses with
//! the shared ARM types, and its NSG rules compile without error.
use portcullis_shared::arm::*;
use portcullis_shared::eval::compile::{compile_nsg, AsgInterner};
use serde::de::DeserializeOwned;
use serde_json::Value;

fn example(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/arm-examples/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn body<T: DeserializeOwned>(name: &str, status: &str) -> T {
    let v = example(name)["responses"][status]["body"].clone();
    assert!(!v.is_null(), "{name} has a {status} body");
    serde_json::from_value(v).unwrap_or_else(|e| panic!("{name} {status}: {e}"))
}

fn param<T: DeserializeOwned>(name: &str, key: &str) -> T {
    serde_json::from_value(example(name)["parameters"][key].clone())
        .unwrap_or_else(|e| panic!("{name} {key}: {e}"))
}

fn compiles(nsg: &NetworkSecurityGroup) {
    let mut w = Vec::new();
    compile_nsg(&nsg.view(), "nsg", &mut AsgInterner::default(), &mut w).expect("rules compile");
}

#[test]
fn compute_examples_parse() {
    let vm: VirtualMachine = body("VirtualMachine_Get.json", "200");
    assert!(vm.id.ends_with("/virtualMachines/myVM"), "{}", vm.id);
    assert_eq!(vm.properties.network_profile.network_interfaces.len(), 1);
    let page: Page<VirtualMachine> = body("VirtualMachine_ListAll_MinimumSet_Gen.json", "200");
    assert!(!page.value.is_empty());
    let page: Page<VirtualMachine> =
        body("VirtualMachine_ListBySubscription_ByLocation.json", "200");
    assert_eq!(page.value[0].os_type(), Some("Windows"));
    assert_eq!(page.value[0].tags.get("RG").map(String::as_str), Some("rg"));
}

#[test]
fn network_examples_parse() {
    let nic: NetworkInterface = body("NetworkInterfaceGet.json", "200");
    let c = &nic.properties.ip_configurations;
    assert_eq!(c.len(), 2);
    assert_eq!(
        c[0].properties.private_ip_address.as_deref(),
        Some("172.20.2.4")
    );
    assert!(c[0].properties.public_ip_address.is_some());
    assert_eq!(
        c[1].properties.private_ip_address.as_deref(),
        Some("172.20.2.16/28")
    );
    assert!(nic.properties.network_security_group.is_some());

    let nsg: NetworkSecurityGroup = body("NetworkSecurityGroupGet.json", "200");
    assert_eq!(nsg.properties.security_rules.len(), 1);
    assert!(
        nsg.properties.default_security_rules.is_empty(),
        "fixed by ARM: not kept"
    );
    compiles(&nsg);
    let page: Page<NetworkSecurityGroup> = body("NetworkSecurityGroupList.json", "200");
    page.value.iter().for_each(compiles);
    for status in ["200", "201"] {
        let nsg: NetworkSecurityGroup = body("NetworkSecurityGroupCreateWithRule.json", status);
        compiles(&nsg);
    }
    let req: NetworkSecurityGroup = param("NetworkSecurityGroupCreateWithRule.json", "parameters");
    assert_eq!(req.properties.security_rules.len(), 1);
    let rule: SecurityRule = body("NetworkSecurityGroupRuleCreate.json", "201");
    assert_eq!(rule.properties.priority, Some(100));
    let req: SecurityRule = param(
        "NetworkSecurityGroupRuleCreate.json",
        "securityRuleParameters",
    );
    assert_eq!(req.properties.direction.as_deref(), Some("Outbound"));

    let pip: PublicIpAddress = body("PublicIpAddressGet.json", "200");
    assert!(
        pip.properties.ip_address.is_none(),
        "dynamic, not allocated in this example"
    );
    assert!(pip.properties.ip_configuration.is_some());
    let vnet: VirtualNetwork = body("VirtualNetworkGet.json", "200");
    assert!(!vnet
        .properties
        .address_space
        .unwrap()
        .address_prefixes
        .is_empty());
    let subnet: Subnet = body("SubnetGet.json", "200");
    assert!(subnet.properties.address_prefix.is_some());
}

#[test]
fn jit_examples_parse() {
    let page: Page<JitNetworkAccessPolicy> = body(
        "GetJitNetworkAccessPoliciesSubscription_example.json",
        "200",
    );
    let p = &page.value[0];
    assert_eq!(p.properties.virtual_machines[0].ports.len(), 2);
    assert_eq!(
        p.properties.virtual_machines[0].ports[0]
            .max_request_access_duration
            .as_deref(),
        Some("PT3H")
    );
    assert_eq!(
        p.properties.requests[0].virtual_machines[0].ports[0]
            .status
            .as_deref(),
        Some("Initiated")
    );
    let _: Page<JitNetworkAccessPolicy> = body(
        "GetJitNetworkAccessPoliciesResourceGroupLocation_example.json",
        "200",
    );
    let p: JitNetworkAccessPolicy = body("GetJitNetworkAccessPolicy_example.json", "200");
    assert_eq!(p.kind.as_deref(), Some("Basic"));
    let p: JitNetworkAccessPolicy = body("CreateJitNetworkAccessPolicy_example.json", "200");
    assert_eq!(
        p.properties.provisioning_state.as_deref(),
        Some("Succeeded")
    );
    let req: JitRequest = param("InitiateJitNetworkAccessPolicy_example.json", "body");
    assert_eq!(req.virtual_machines[0].ports[0].number, 3389);
    let resp: JitRequest = body("InitiateJitNetworkAccessPolicy_example.json", "202");
    assert_eq!(
        resp.virtual_machines[0].ports[0].status.as_deref(),
        Some("Initiating")
    );
}

#[test]
fn types_round_trip_through_json() {
    let nsg: NetworkSecurityGroup = body("NetworkSecurityGroupGet.json", "200");
    let again: NetworkSecurityGroup =
        serde_json::from_value(serde_json::to_value(&nsg).unwrap()).unwrap();
    assert_eq!(nsg, again);
    // the default rules ARM shows are exactly the ones the engine regenerates
    let raw = example("NetworkSecurityGroupGet.json")["responses"]["200"]["body"]["properties"]
        ["defaultSecurityRules"]
        .clone();
    let shown: Vec<SecurityRule> = serde_json::from_value(raw).unwrap();
    let mut ours = default_security_rules(&nsg.id);
    for r in &mut ours {
        r.etag = None;
    }
    assert_eq!(shown, ours);
}

#[test]
fn nulls_and_plural_fields_are_tolerated() {
    let nsg: NetworkSecurityGroup = serde_json::from_value(serde_json::json!({
        "id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/networkSecurityGroups/n",
        "properties": {
            "securityRules": [{
                "name": "r1",
                "properties": {
                    "protocol": "Tcp", "access": "Allow", "priority": 100, "direction": "Inbound",
                    "sourcePortRange": "*", "sourcePortRanges": [],
                    "destinationPortRange": null, "destinationPortRanges": ["22", "3389"],
                    "sourceAddressPrefix": "*", "sourceAddressPrefixes": [],
                    "destinationAddressPrefix": "*", "destinationAddressPrefixes": null,
                    "sourceApplicationSecurityGroups": null, "someFutureField": {"x": 1}
                }
            }],
            "defaultSecurityRules": null,
            "unknownThing": 42
        }
    }))
    .unwrap();
    compiles(&nsg);
}

/// Azure's published payloads for the paths beyond a NIC's public IP (a load balancer, a
/// firewall with classic DNAT, a firewall policy's NAT rule collection group, a Bastion host and
/// the effective security admin rules of a VNet), put verbatim into one inventory around a VM
/// in the examples' own VNet `vnetlb`, peered with `vnet2` where their firewall and Bastion
/// live. Only what joins them to the VM is changed, each time saying so.
mod published_paths {
    use super::example;
    use portcullis_shared::eval::report::{Exposure, PathKind, State, VmReport};
    use portcullis_shared::{evaluate, EvalConfig, Inventory, Report};
    use serde_json::{json, Value};

    const NET: &str = "/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Network";

    fn body(name: &str) -> Value {
        example(name)["responses"]["200"]["body"].clone()
    }

    /// The scene: the VM at 10.0.1.10 in `vnetlb/subnetlb`, its NIC joined to the example load
    /// balancer's inbound NAT rule (3389 → 3389, floating IP) from the NIC side.
    fn scene(nic_rules: Option<Value>) -> Value {
        let lb = body("LoadBalancerGet.json");
        let nat_rule = lb["properties"]["inboundNatRules"][0]["id"].clone();
        let nic_id = format!("{NET}/networkInterfaces/vm1-nic");
        let mut nic = json!({"id": nic_id, "name": "vm1-nic", "properties": {"ipConfigurations": [{
            "id": format!("{nic_id}/ipConfigurations/ipconfig1"), "name": "ipconfig1",
            "properties": {"privateIPAddress": "10.0.1.10",
                "subnet": {"id": format!("{NET}/virtualNetworks/vnetlb/subnets/subnetlb")},
                "loadBalancerInboundNatRules": [{"id": nat_rule}]}}]}});
        let mut nsgs = vec![];
        if let Some(rules) = nic_rules {
            nic["properties"]["networkSecurityGroup"] =
                json!({"id": format!("{NET}/networkSecurityGroups/nic-nsg")});
            nsgs.push(
                json!({"id": format!("{NET}/networkSecurityGroups/nic-nsg"), "name": "nic-nsg",
                "properties": {"securityRules": rules}}),
            );
        }
        let peer = |to: &str| {
            json!([{"name": "p", "properties": {"peeringState": "Connected",
                "remoteVirtualNetwork": {"id": format!("{NET}/virtualNetworks/{to}")}}}])
        };
        let subnet = |vnet: &str, name: &str, prefix: &str| {
            json!({"id": format!("{NET}/virtualNetworks/{vnet}/subnets/{name}"), "name": name,
                "properties": {"addressPrefix": prefix}})
        };
        json!({
            "virtualMachines": [{"id": "/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1",
                "name": "vm1", "properties": {"networkProfile": {"networkInterfaces": [{"id": nic_id}]}}}],
            "networkInterfaces": [nic],
            "networkSecurityGroups": nsgs,
            "virtualNetworks": [
                {"id": format!("{NET}/virtualNetworks/vnetlb"), "name": "vnetlb", "properties": {
                    "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
                    "subnets": [subnet("vnetlb", "subnetlb", "10.0.1.0/24")],
                    "virtualNetworkPeerings": peer("vnet2")}},
                {"id": format!("{NET}/virtualNetworks/vnet2"), "name": "vnet2", "properties": {
                    "addressSpace": {"addressPrefixes": ["10.1.0.0/16"]},
                    "subnets": [subnet("vnet2", "AzureFirewallSubnet", "10.1.0.0/26"),
                        subnet("vnet2", "BastionHostSubnet", "10.1.1.0/26")],
                    "virtualNetworkPeerings": peer("vnetlb")}}],
            // the firewall example's public IP is `pipName`, its DNAT rules' destination 1.2.3.4
            "publicIPAddresses": [
                {"id": format!("{NET}/publicIPAddresses/pipName"), "name": "pipName",
                    "sku": {"name": "Standard"}, "properties": {"ipAddress": "1.2.3.4"}},
                {"id": format!("{NET}/publicIPAddresses/lb-pip"), "name": "lb-pip",
                    "sku": {"name": "Basic"}, "properties": {"ipAddress": "20.1.2.3"}}],
            "loadBalancers": [lb],
            "azureFirewalls": [body("AzureFirewallGet.json")],
        })
    }

    fn eval(inv: &Value) -> Report {
        let inv = Inventory::from_json(inv.to_string().as_bytes()).expect("inventory parses");
        evaluate(&inv, &EvalConfig::default()).expect("inventory evaluates")
    }

    fn vm(r: &Report) -> &VmReport {
        &r.vms[0]
    }

    fn port(r: &Report, p: u16) -> &Exposure {
        vm(r).exposures.iter().find(|e| e.port == p).expect("port")
    }

    fn allow_from_anywhere(port: &str) -> Value {
        json!([{"name": "mgmt", "properties": {"priority": 100, "access": "Allow", "direction": "Inbound",
            "protocol": "Tcp", "sourceAddressPrefix": "*", "sourcePortRange": "*",
            "destinationAddressPrefix": "*", "destinationPortRange": port}}])
    }

    #[test]
    fn as_published_the_load_balancer_is_internal_and_the_dnat_rules_reach_no_vm() {
        // The load balancer's only frontend is private (10.0.1.4): no Internet path. The firewall
        // translates to 1.2.3.5:8443 and to an FQDN: no path to the VM, and the FQDN is named.
        let r = eval(&scene(Some(allow_from_anywhere("3389"))));
        let e = port(&r, 3389);
        assert!(e.paths.is_empty(), "{:?}", e.paths);
        assert!(!e.reachable);
        // the NSG alone still leaves the port open to direct Internet sources (no public IP)
        assert_eq!(e.state, State::Open);
        assert!(
            r.warnings
                .iter()
                .any(|w| w.contains("DNAT-HTTP-traffic-With-FQDN")
                    && w.contains("internalhttpserver")),
            "{:?}",
            r.warnings
        );
    }

    #[test]
    fn the_published_nat_rule_behind_a_public_frontend_is_a_path() {
        // Changed: the frontend is the Basic public IP lb-pip instead of a private address.
        let mut inv = scene(None);
        inv["loadBalancers"][0]["properties"]["frontendIPConfigurations"][0]["properties"] =
            json!({"publicIPAddress": {"id": format!("{NET}/publicIPAddresses/lb-pip")}});
        let r = eval(&inv);
        let e = port(&r, 3389);
        assert_eq!(e.paths.len(), 1, "{:?}", e.paths);
        let p = &e.paths[0];
        assert_eq!(p.kind, PathKind::LoadBalancerNat);
        assert_eq!(p.frontend.to_string(), "20.1.2.3:3389");
        assert!(
            p.via
                .ends_with("/loadBalancers/lb/inboundNatRules/in-nat-rule"),
            "{}",
            p.via
        );
        // a Basic frontend with no NSG anywhere: reachable from everywhere
        assert!(p.reachable && e.reachable);
        assert_eq!(e.state, State::Open);
        // the other management ports have no frontend
        assert!(!port(&r, 22).reachable);

        // with the default rules only, the Internet is stopped (floating IP: the NSG sees the
        // frontend address, which AllowVnetInBound does not cover either)
        inv["networkInterfaces"][0]["properties"]["networkSecurityGroup"] =
            json!({"id": format!("{NET}/networkSecurityGroups/nic-nsg")});
        inv["networkSecurityGroups"] = json!([{"id": format!("{NET}/networkSecurityGroups/nic-nsg"),
            "name": "nic-nsg", "properties": {"securityRules": []}}]);
        let r = eval(&inv);
        let e = port(&r, 3389);
        assert_eq!(e.state, State::Private);
        assert!(!e.reachable && !e.paths[0].reachable, "{:?}", e.paths);
    }

    #[test]
    fn the_published_dnat_rule_aimed_at_the_vm_is_a_path() {
        // Changed: the first classic DNAT rule translates 1.2.3.4:50000 to the VM's 3389.
        let mut inv = scene(None);
        let rule = &mut inv["azureFirewalls"][0]["properties"]["natRuleCollections"][0]
            ["properties"]["rules"][0];
        rule["destinationPorts"] = json!(["50000"]);
        rule["translatedAddress"] = json!("10.0.1.10");
        rule["translatedPort"] = json!("3389");
        let r = eval(&inv);
        let e = port(&r, 3389);
        let p = e
            .paths
            .iter()
            .find(|p| p.kind == PathKind::FirewallDnat)
            .expect("a DNAT path");
        assert_eq!(p.frontend.to_string(), "1.2.3.4:50000");
        assert!(p.reachable);
        assert_eq!(e.state, State::Open);
        assert_eq!(
            p.allowed_public_sources.to_vec(),
            vec!["0.0.0.0/0".to_string()]
        );
        // a NIC NSG that denies the firewall's subnet closes it
        inv["networkInterfaces"][0]["properties"]["networkSecurityGroup"] =
            json!({"id": format!("{NET}/networkSecurityGroups/nic-nsg")});
        inv["networkSecurityGroups"] = json!([{"id": format!("{NET}/networkSecurityGroups/nic-nsg"),
            "name": "nic-nsg", "properties": {"securityRules": [{"name": "no-fw", "properties": {
                "priority": 100, "access": "Deny", "direction": "Inbound", "protocol": "*",
                "sourceAddressPrefix": "10.1.0.0/26", "sourcePortRange": "*",
                "destinationAddressPrefix": "*", "destinationPortRange": "*"}}]}}]);
        let r = eval(&inv);
        assert!(!port(&r, 3389).reachable, "{:?}", port(&r, 3389).paths);
    }

    #[test]
    fn the_published_policy_nat_rule_to_an_fqdn_is_named_not_guessed() {
        // Changed: the firewall uses the policy whose rule collection group is published.
        let mut inv = scene(Some(json!([])));
        let fw = &mut inv["azureFirewalls"][0]["properties"];
        fw["natRuleCollections"] = json!([]);
        fw["firewallPolicy"] = json!({"id": format!("{NET}/firewallPolicies/firewallPolicy")});
        let mut group = body("FirewallPolicyNatRuleCollectionGroupGet.json");
        inv["firewallPolicyRuleCollectionGroups"] = json!([group.clone()]);
        // as published, NatRule1's destination (152.23.32.23) is not this firewall's address:
        // the rule translates nothing that reaches it, and nothing is said
        let r = eval(&inv);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        assert!(port(&r, 3389).paths.is_empty());
        // Changed: its destination is the firewall's public IP; its target is an FQDN
        group["properties"]["ruleCollections"][0]["rules"][0]["destinationAddresses"] =
            json!(["1.2.3.4"]);
        inv["firewallPolicyRuleCollectionGroups"] = json!([group]);
        let r = eval(&inv);
        assert!(
            r.warnings
                .iter()
                .any(|w| w.contains("NatRule1") && w.contains("internalhttpserver")),
            "{:?}",
            r.warnings
        );
        assert!(
            !r.warnings
                .iter()
                .any(|w| w.contains("firewallPolicy") && w.contains("not in")),
            "{:?}",
            r.warnings
        );
    }

    #[test]
    fn the_published_bastion_in_a_peered_vnet_is_managed_access() {
        let mut inv = scene(Some(json!([])));
        inv["bastionHosts"] = json!([body("BastionHostGet.json")]);
        let r = eval(&inv);
        let e = port(&r, 3389);
        let m = e.managed_access.as_ref().expect("Bastion is listed");
        assert_eq!(m.len(), 1);
        assert!(!e.reachable);
        assert_eq!(e.state, State::Private);
    }

    #[test]
    fn the_published_admin_rule_denies_ssh_before_the_nsg() {
        // The published effective rule (kind Default, Deny Tcp 22 from *, priority 1) applied
        // to vnetlb; the NIC NSG allows 22 from anywhere.
        let mut inv = scene(Some(allow_from_anywhere("22")));
        let list = body("NetworkManagerEffectiveSecurityAdminRulesList.json");
        inv["networkManagerEffectiveSecurityAdminRules"] = json!([{
            "virtualNetwork": {"id": format!("{NET}/virtualNetworks/vnetlb")},
            "value": list["value"]}]);
        let r = eval(&inv);
        let e = port(&r, 22);
        assert_eq!(e.state, State::Closed, "{}", e.reason);
        assert!(
            e.deciding_rules
                .iter()
                .any(|d| &*d.rule == "SampleAdminRule"),
            "{:?}",
            e.deciding_rules
        );
        // without it, the NSG leaves 22 open
        inv["networkManagerEffectiveSecurityAdminRules"] = json!([]);
        assert_eq!(port(&eval(&inv), 22).state, State::Open);
    }
}
