//! The ARM examples (verbatim copies in shared/tests/fixtures/arm-examples, the one home of the
//! examples both crates test with) parse with the shared types, and
//! the emulator's answers parse with the same types and carry the examples' keys.

use super::support::*;
use portcullis_shared::arm::*;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::Path;

fn example(rel: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/tests/fixtures/arm-examples")
        .join(rel);
    serde_json::from_slice(
        &std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

fn body(rel: &str, status: &str) -> Value {
    example(rel)["responses"][status]["body"].clone()
}

fn parse<T: DeserializeOwned>(v: &Value, what: &str) -> T {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{what}: {e}"))
}

#[test]
fn every_example_parses_with_the_shared_types() {
    let vm: VirtualMachine = parse(&body("VirtualMachine_Get.json", "200"), "vm");
    assert!(!vm.properties.network_profile.network_interfaces.is_empty());
    let vms: Page<VirtualMachine> = parse(
        &body("VirtualMachine_ListAll_MinimumSet_Gen.json", "200"),
        "vm list",
    );
    assert!(!vms.value.is_empty());
    let vms: Page<VirtualMachine> = parse(
        &body("VirtualMachine_ListBySubscription_ByLocation.json", "200"),
        "vm list by location",
    );
    assert!(vms.value.iter().all(|v| !v.id.is_empty()));
    let nic: NetworkInterface = parse(&body("NetworkInterfaceGet.json", "200"), "nic");
    assert_eq!(nic.properties.ip_configurations.len(), 2);
    let _: PublicIpAddress = parse(&body("PublicIpAddressGet.json", "200"), "pip");
    let vnet: VirtualNetwork = parse(&body("VirtualNetworkGet.json", "200"), "vnet");
    assert!(vnet.properties.address_space.is_some());
    let _: Subnet = parse(&body("SubnetGet.json", "200"), "subnet");
    let nsg: NetworkSecurityGroup = parse(&body("NetworkSecurityGroupGet.json", "200"), "nsg");
    assert_eq!(nsg.properties.security_rules.len(), 1);
    let _: Page<NetworkSecurityGroup> =
        parse(&body("NetworkSecurityGroupList.json", "200"), "nsg list");
    for status in ["200", "201"] {
        let _: NetworkSecurityGroup = parse(
            &body("NetworkSecurityGroupCreateWithRule.json", status),
            "nsg put",
        );
        let _: SecurityRule = parse(
            &body("NetworkSecurityGroupRuleCreate.json", status),
            "rule put",
        );
    }
    let p: JitNetworkAccessPolicy = parse(
        &body("GetJitNetworkAccessPolicy_example.json", "200"),
        "jit",
    );
    assert!(!p.properties.virtual_machines.is_empty());
    let _: Page<JitNetworkAccessPolicy> = parse(
        &body(
            "GetJitNetworkAccessPoliciesSubscription_example.json",
            "200",
        ),
        "jit list",
    );
    let _: JitNetworkAccessPolicy = parse(
        &example("CreateJitNetworkAccessPolicy_example.json")["parameters"]["body"],
        "jit put body",
    );
    let r: JitRequest = parse(
        &body("InitiateJitNetworkAccessPolicy_example.json", "202"),
        "initiate",
    );
    assert_eq!(
        r.virtual_machines[0].ports[0].status.as_deref(),
        Some("Initiating")
    );
    let _: JitRequest = parse(
        &example("InitiateJitNetworkAccessPolicy_example.json")["parameters"]["body"],
        "initiate body",
    );
}

/// Every key path of `example` (objects only; arrays by their first item) exists in `actual`.
fn missing_keys(example: &Value, actual: &Value, at: &str, out: &mut Vec<String>) {
    match (example, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, v) in e {
                match a.get(k) {
                    Some(av) => missing_keys(v, av, &format!("{at}.{k}"), out),
                    None => out.push(format!("{at}.{k}")),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if let (Some(e0), Some(a0)) = (e.first(), a.first()) {
                missing_keys(e0, a0, &format!("{at}[0]"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn emulator_answers_parse_with_the_same_types_and_have_the_examples_keys() {
    let emu = emulator(config()).await;
    let client = client(&emu.url());
    let sub = format!("/subscriptions/{PROD}");
    let get = |p: String| {
        let client = client.clone();
        async move { client.get::<Value>(&p).await.unwrap() }
    };
    let nsg = get(format!("{sub}/resourceGroups/rg-sql-lab/providers/Microsoft.Network/networkSecurityGroups/sql-lab-01-nsg?api-version=2024-07-01")).await;
    let _: NetworkSecurityGroup = parse(&nsg, "emulator nsg");
    let mut missing = Vec::new();
    missing_keys(
        &body("NetworkSecurityGroupGet.json", "200")["properties"]["defaultSecurityRules"],
        &nsg["properties"]["defaultSecurityRules"],
        "defaultSecurityRules",
        &mut missing,
    );
    let vm = get(format!("{sub}/resourceGroups/rg-sql-lab/providers/Microsoft.Compute/virtualMachines/sql-lab-01?api-version=2024-11-01")).await;
    let _: VirtualMachine = parse(&vm, "emulator vm");
    let nic = get(format!("{sub}/resourceGroups/rg-sql-lab/providers/Microsoft.Network/networkInterfaces/sql-lab-01-nic?api-version=2024-07-01")).await;
    let _: NetworkInterface = parse(&nic, "emulator nic");
    let jit = get(format!("{sub}/resourceGroups/rg-mgmt/providers/Microsoft.Security/locations/westeurope/jitNetworkAccessPolicies/default?api-version=2020-01-01")).await;
    let _: JitNetworkAccessPolicy = parse(&jit, "emulator jit");
    missing_keys(
        &body("GetJitNetworkAccessPolicy_example.json", "200"),
        &jit,
        "jit",
        &mut missing,
    );
    // Defender reads: same keys as the examples
    for (rel, path) in [
        (
            "ListSecureScores_example.json",
            "providers/Microsoft.Security/secureScores?api-version=2020-01-01",
        ),
        (
            "ListSecureScoreControls_example.json",
            "providers/Microsoft.Security/secureScoreControls?api-version=2020-01-01",
        ),
        (
            "ListAssessments_example.json",
            "providers/Microsoft.Security/assessments?api-version=2021-06-01",
        ),
    ] {
        let actual = get(format!("{sub}/{path}")).await;
        let mut example_item = body(rel, "200")["value"][0].clone();
        // optional parts the emulator leaves out when they do not apply
        if let Some(p) = example_item["properties"].as_object_mut() {
            p.remove("additionalData");
        }
        missing_keys(&example_item, &actual["value"][0], rel, &mut missing);
    }
    assert!(missing.is_empty(), "keys the emulator lacks: {missing:?}");
    // the secure score matches the shared engine's control score on the same resources
    let inv = portcullis::snapshot::take_snapshot(&client, 4, &|_| {})
        .await
        .unwrap();
    let prod = portcullis_shared::Inventory {
        virtual_machines: inv
            .virtual_machines
            .into_iter()
            .filter(|v| v.id.contains(PROD))
            .collect(),
        ..inv
    };
    let report =
        portcullis_shared::evaluate(&prod, &portcullis_shared::EvalConfig::default()).unwrap();
    let score = get(format!(
        "{sub}/providers/Microsoft.Security/secureScores/ascScore?api-version=2020-01-01"
    ))
    .await;
    assert_eq!(score["properties"]["score"]["max"], 8.0);
    assert_eq!(
        score["properties"]["score"]["current"].as_f64(),
        Some(report.control.current_score)
    );
    let alerts = get(format!(
        "{sub}/providers/Microsoft.Security/alerts?api-version=2022-01-01"
    ))
    .await;
    // the demo tenant's exposed VMs are under attack: alerts with every key of ARM's example
    let alerts = alerts["value"].as_array().expect("a list of alerts");
    assert!(!alerts.is_empty(), "exposed demo VMs raise alerts");
    let example = example("GetAlertsSubscription_example.json");
    let shape = &example["responses"]["200"]["body"]["value"][0];
    for a in alerts {
        for key in shape.as_object().unwrap().keys() {
            assert!(a.get(key).is_some(), "alert lacks {key}");
        }
        for key in shape["properties"].as_object().unwrap().keys() {
            assert!(
                a["properties"].get(key).is_some(),
                "alert properties lack {key}"
            );
        }
        assert_eq!(a["type"], "Microsoft.Security/Locations/alerts");
    }
}
