//! Just-in-time access as Defender does it, end to end over HTTP: enabling a policy adds deny
//! rules, an access request adds an allow rule above them, expiry (on the emulator clock)
//! removes it, deleting the policy removes the rest; the shared engine's verdicts follow.

use super::support::*;
use portcullis::snapshot::take_snapshot;
use portcullis_emulator::Tenant;
use portcullis_shared::arm::{JitNetworkAccessPolicy, NetworkSecurityGroup, SecurityRule};
use portcullis_shared::eval::report::Status;
use portcullis_shared::fleet::{InventoryBuilder, Rule, VmSpec};
use portcullis_shared::{evaluate, EvalConfig};
use serde_json::{json, Value};

const SUB: &str = "33333333-3333-3333-3333-333333333333";
const JIT: &str = "/subscriptions/33333333-3333-3333-3333-333333333333/resourceGroups/rg/providers/Microsoft.Security/locations/westeurope/jitNetworkAccessPolicies/default";
const NSG: &str = "/subscriptions/33333333-3333-3333-3333-333333333333/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/vm1-nsg";
const VM: &str = "/subscriptions/33333333-3333-3333-3333-333333333333/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1";

/// One VM with a public IP whose NIC NSG allows only HTTPS.
fn tenant(state_file: Option<std::path::PathBuf>) -> EmulatorConfig {
    let mut b = InventoryBuilder::new(SUB);
    let nsg = b.nsg(
        "rg",
        "vm1-nsg",
        vec![Rule::allow("HTTPS", 300).port("443").from("Internet")],
    );
    let subnets = b.vnet(
        "rg",
        "vnet",
        &["10.0.0.0/16"],
        &[("default", "10.0.1.0/24", None)],
    );
    b.vm(&VmSpec {
        name: "vm1",
        resource_group: "rg",
        os: "Linux",
        subnet_id: &subnets[0],
        private_ip: "10.0.1.4",
        public_ip: Some("20.1.2.3"),
        nic_nsg_id: Some(&nsg),
        asg_ids: &[],
    });
    EmulatorConfig {
        tenant: Tenant::Custom {
            subscriptions: vec![portcullis_emulator::world::SubscriptionInfo {
                subscription_id: SUB.into(),
                display_name: "JIT test".into(),
            }],
            inventory: Box::new(b.build()),
        },
        state_file,
        ..config()
    }
}

async fn verdict(url: &str) -> (Status, Value) {
    let inv = take_snapshot(&client(url), 2, &|_| {}).await.unwrap();
    let report = evaluate(&inv, &EvalConfig::default()).unwrap();
    let vm = &report.vms[0];
    let ssh = vm.exposures.iter().find(|e| e.port == 22).unwrap();
    (
        vm.recommendations.management_ports_jit_protected,
        json!({"state": ssh.state.as_str(), "sources": ssh.allowed_public_sources.to_vec()}),
    )
}

fn jit_rules(nsg: &NetworkSecurityGroup) -> Vec<&SecurityRule> {
    nsg.properties
        .security_rules
        .iter()
        .filter(|r| {
            r.name
                .as_deref()
                .unwrap_or_default()
                .starts_with("SecurityCenter-JITRule")
        })
        .collect()
}

fn in_minutes(url_now: &str, minutes: i64) -> String {
    let now = time::OffsetDateTime::parse(url_now, &time::format_description::well_known::Rfc3339)
        .unwrap();
    (now + time::Duration::minutes(minutes))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[tokio::test]
async fn enable_initiate_expire_delete() {
    let emu = emulator(tenant(None)).await;
    let url = emu.url();
    let client = client(&url);
    let v = "?api-version=2020-01-01";
    let nv = "?api-version=2024-07-01";
    assert_eq!(
        verdict(&url).await.0,
        Status::NotApplicable,
        "no JIT policy yet"
    );

    // enable: a deny rule for the VM's private IP at the bottom of the custom range
    let body = json!({"kind": "Basic", "properties": {"virtualMachines": [{"id": VM, "ports": [
        {"number": 22, "protocol": "*", "allowedSourceAddressPrefix": "*", "maxRequestAccessDuration": "PT5M"},
        {"number": 3389, "protocol": "TCP", "allowedSourceAddressPrefixes": ["203.0.113.0/24"], "maxRequestAccessDuration": "PT3H"}]}]}});
    let policy: JitNetworkAccessPolicy =
        client.put(&format!("{JIT}{v}"), &body, None).await.unwrap();
    assert_eq!(
        policy.properties.provisioning_state.as_deref(),
        Some("Succeeded")
    );
    let nsg: NetworkSecurityGroup = client.get(&format!("{NSG}{nv}")).await.unwrap();
    let denies = jit_rules(&nsg);
    assert_eq!(denies.len(), 2);
    for (r, (port, prio)) in denies.iter().zip([("22", 4096), ("3389", 4095)]) {
        let name = r.name.as_deref().unwrap();
        let tail: Vec<&str> = name
            .trim_start_matches("SecurityCenter-JITRule_")
            .split('_')
            .collect();
        assert!(
            tail.len() == 2 && tail[0].parse::<i32>().is_ok() && tail[1].len() == 32,
            "{name}"
        );
        let p = &r.properties;
        assert_eq!(
            (
                p.access.as_deref(),
                p.priority,
                p.destination_port_range.as_deref()
            ),
            (Some("Deny"), Some(prio), Some(port))
        );
        assert_eq!(
            (
                p.source_address_prefix.as_deref(),
                p.destination_address_prefix.as_deref()
            ),
            (Some("*"), Some("10.0.1.4"))
        );
        assert_eq!(
            p.description.as_deref(),
            Some("ASC JIT Network Access rule for policy 'default' of VM 'vm1'.")
        );
    }
    assert_eq!(
        verdict(&url).await,
        (Status::Healthy, json!({"state": "closed", "sources": []}))
    );

    // refused: too long for PT5M, a source the policy does not allow
    let now = admin(&url, "clock", json!({"advanceSeconds": 0})).await["now"]
        .as_str()
        .unwrap()
        .to_string();
    let initiate = |port: u16, minutes: i64, source: &str| json!({"virtualMachines": [{"id": VM, "ports": [{"number": port, "endTimeUtc": in_minutes(&now, minutes), "allowedSourceAddressPrefix": source}]}], "justification": "test"});
    let e = client
        .post(
            &format!("{JIT}/initiate{v}"),
            &initiate(22, 60, "203.0.113.5"),
        )
        .await
        .unwrap_err();
    assert_eq!(
        (e.status(), e.code()),
        (Some(400), Some("JitRequestDurationExceedsPolicy"))
    );
    let e = client
        .post(
            &format!("{JIT}/initiate{v}"),
            &initiate(3389, 30, "198.51.100.7"),
        )
        .await
        .unwrap_err();
    assert_eq!(
        (e.status(), e.code()),
        (Some(400), Some("JitRequestSourceNotAllowed"))
    );
    let e = client
        .post(
            &format!("{JIT}/initiate{v}"),
            &initiate(5985, 5, "203.0.113.5"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400), "a port outside the policy");

    // initiate: 202 with the request; an allow rule ahead of the deny
    let (status, request) = client
        .post(
            &format!("{JIT}/initiate{v}"),
            &initiate(22, 5, "203.0.113.5"),
        )
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 202);
    assert_eq!(
        request["virtualMachines"][0]["ports"][0]["status"],
        "Initiating"
    );
    assert_eq!(request["justification"], "test");
    let nsg: NetworkSecurityGroup = client.get(&format!("{NSG}{nv}")).await.unwrap();
    let allow: Vec<&SecurityRule> = jit_rules(&nsg)
        .into_iter()
        .filter(|r| r.properties.access.as_deref() == Some("Allow"))
        .collect();
    assert_eq!(allow.len(), 1);
    assert!(allow[0]
        .name
        .as_deref()
        .unwrap()
        .starts_with("SecurityCenter-JITRule-"));
    assert_eq!(
        (
            allow[0].properties.priority,
            allow[0].properties.source_address_prefix.as_deref()
        ),
        (Some(100), Some("203.0.113.5"))
    );
    let policy: JitNetworkAccessPolicy = client.get(&format!("{JIT}{v}")).await.unwrap();
    let port = &policy.properties.requests[0].virtual_machines[0].ports[0];
    assert_eq!(
        (port.status.as_deref(), port.status_reason.as_deref()),
        (Some("Initiated"), Some("UserRequested"))
    );
    assert_eq!(
        verdict(&url).await,
        (
            Status::Healthy,
            json!({"state": "restricted", "sources": ["203.0.113.5/32"]})
        )
    );

    // expiry on the emulator clock: the allow rule goes, the request is Revoked/Expired
    let clock = admin(&url, "clock", json!({"advanceSeconds": 301})).await;
    assert_eq!(clock["expired"], 1);
    let nsg: NetworkSecurityGroup = client.get(&format!("{NSG}{nv}")).await.unwrap();
    assert!(jit_rules(&nsg)
        .iter()
        .all(|r| r.properties.access.as_deref() == Some("Deny")));
    assert_eq!(jit_rules(&nsg).len(), 2);
    let policy: JitNetworkAccessPolicy = client.get(&format!("{JIT}{v}")).await.unwrap();
    let port = &policy.properties.requests[0].virtual_machines[0].ports[0];
    assert_eq!(
        (port.status.as_deref(), port.status_reason.as_deref()),
        (Some("Revoked"), Some("Expired"))
    );
    assert_eq!(
        verdict(&url).await,
        (Status::Healthy, json!({"state": "closed", "sources": []}))
    );

    // delete: the JIT rules go with the policy
    assert!(client.delete(&format!("{JIT}{v}"), None).await.unwrap());
    let nsg: NetworkSecurityGroup = client.get(&format!("{NSG}{nv}")).await.unwrap();
    assert!(jit_rules(&nsg).is_empty());
    assert_eq!(nsg.properties.security_rules.len(), 1);
    assert_eq!(verdict(&url).await.0, Status::NotApplicable);
}

#[tokio::test]
async fn jit_below_an_older_permissive_rule_leaves_the_port_open() {
    let emu = emulator(config()).await;
    let url = emu.url();
    let client = client(&url);
    let nsg: NetworkSecurityGroup = client
        .get(&format!("/subscriptions/{PROD}/resourceGroups/rg-mgmt/providers/Microsoft.Network/networkSecurityGroups/legacy-jump-01-nsg?api-version=2024-07-01"))
        .await
        .unwrap();
    let legacy = nsg
        .properties
        .security_rules
        .iter()
        .find(|r| r.name.as_deref() == Some("Allow-RDP-Legacy"))
        .unwrap();
    let deny = jit_rules(&nsg)[0];
    assert!(
        legacy.properties.priority < deny.properties.priority,
        "Defender leaves the older allow above its deny"
    );
    let inv = take_snapshot(&client, 4, &|_| {}).await.unwrap();
    let report = evaluate(&inv, &EvalConfig::default()).unwrap();
    let vm = report
        .vms
        .iter()
        .find(|v| v.name == "legacy-jump-01")
        .unwrap();
    assert_eq!(
        vm.recommendations.management_ports_jit_protected,
        Status::Unhealthy
    );
    // the demo's active request: jump-prod-01 reachable from one address until it expires
    let jump = report
        .vms
        .iter()
        .find(|v| v.name == "jump-prod-01")
        .unwrap();
    let rdp = jump.exposures.iter().find(|e| e.port == 3389).unwrap();
    assert_eq!(rdp.state.as_str(), "restricted");
    admin(&url, "clock", json!({"advanceSeconds": 2 * 3600 + 1})).await;
    let inv = take_snapshot(&client, 4, &|_| {}).await.unwrap();
    let report = evaluate(&inv, &EvalConfig::default()).unwrap();
    let jump = report
        .vms
        .iter()
        .find(|v| v.name == "jump-prod-01")
        .unwrap();
    assert_eq!(
        jump.exposures
            .iter()
            .find(|e| e.port == 3389)
            .unwrap()
            .state
            .as_str(),
        "closed"
    );
    // reset brings the start state back
    admin(&url, "reset", json!({})).await;
    let inv = take_snapshot(&client, 4, &|_| {}).await.unwrap();
    let report = evaluate(&inv, &EvalConfig::default()).unwrap();
    let jump = report
        .vms
        .iter()
        .find(|v| v.name == "jump-prod-01")
        .unwrap();
    assert_eq!(
        jump.exposures
            .iter()
            .find(|e| e.port == 3389)
            .unwrap()
            .state
            .as_str(),
        "restricted"
    );
}

#[tokio::test]
async fn expiry_survives_a_restart_with_a_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("emulator.json");
    let emu = emulator(tenant(Some(state.clone()))).await;
    let url = emu.url();
    let client = client(&url);
    let v = "?api-version=2020-01-01";
    let body = json!({"kind": "Basic", "properties": {"virtualMachines": [{"id": VM, "ports": [{"number": 22, "protocol": "*", "allowedSourceAddressPrefix": "*", "maxRequestAccessDuration": "PT1H"}]}]}});
    let _: Value = client.put(&format!("{JIT}{v}"), &body, None).await.unwrap();
    let now = admin(&url, "clock", json!({"advanceSeconds": 0})).await["now"]
        .as_str()
        .unwrap()
        .to_string();
    let req = json!({"virtualMachines": [{"id": VM, "ports": [{"number": 22, "endTimeUtc": in_minutes(&now, 10), "allowedSourceAddressPrefix": "203.0.113.9"}]}]});
    client
        .post(&format!("{JIT}/initiate{v}"), &req)
        .await
        .unwrap();
    emu.shutdown().await;
    assert!(state.is_file(), "state saved atomically after each write");

    // a new emulator on the same file: same rules, and the request still expires
    let emu = emulator(tenant(Some(state.clone()))).await;
    let url = emu.url();
    let client = super::support::client(&url);
    assert_eq!(verdict(&url).await.1["state"], "restricted");
    assert_eq!(
        admin(&url, "clock", json!({"advanceSeconds": 601})).await["expired"],
        1
    );
    assert_eq!(verdict(&url).await.1["state"], "closed");
    let policy: JitNetworkAccessPolicy = client.get(&format!("{JIT}{v}")).await.unwrap();
    assert_eq!(
        policy.properties.requests[0].virtual_machines[0].ports[0]
            .status_reason
            .as_deref(),
        Some("Expired")
    );
}

/// Defender's secure score control is computed from the world and kept until the world
/// changes: a rule that opens SSH to the Internet shows in the next read.
#[tokio::test]
async fn the_secure_score_control_follows_a_write() {
    let emu = emulator(tenant(None)).await;
    let c = client(&emu.url());
    let control = |v: Value| v["value"][0]["properties"].clone();
    let path = format!("/subscriptions/{SUB}/providers/Microsoft.Security/secureScores/ascScore/secureScoreControls?api-version=2020-01-01");
    let before = control(c.get::<Value>(&path).await.unwrap());
    assert_eq!(before["unhealthyResourceCount"], 0, "{before}");
    assert_eq!(
        control(c.get::<Value>(&path).await.unwrap()),
        before,
        "read twice"
    );
    let rule = json!({"properties": {"protocol": "Tcp", "access": "Allow", "priority": 200, "direction": "Inbound",
        "sourceAddressPrefix": "Internet", "sourcePortRange": "*", "destinationAddressPrefix": "*", "destinationPortRange": "22"}});
    c.put::<_, Value>(
        &format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/vm1-nsg/securityRules/ssh?api-version=2024-07-01"),
        &rule,
        None,
    )
    .await
    .unwrap();
    let after = control(c.get::<Value>(&path).await.unwrap());
    assert_eq!(after["unhealthyResourceCount"], 1, "{after}");
    assert_eq!(after["healthyResourceCount"], 0, "{after}");
}
