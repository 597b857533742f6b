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
