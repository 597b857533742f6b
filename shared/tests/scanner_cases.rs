//! Cases from other scanners' own test suites (KICS's ARM queries for RDP and SSH, Checkov's
//! `NSGRulePortAccessRestricted` checks, Trivy's and Prowler's Azure network checks), each put
//! into an NSG on a VM's NIC as ARM returns it, with Portcullis's verdict beside the scanner's.
//!
//! The rules keep the scanners' own spellings (`TCP`, `tcp`, `allow`, `inbound`, `internet`).
//! Where a scanner's model lacks a field that ARM always returns, the case fills it with the
//! value that changes nothing (`sourcePortRange` and `destinationAddressPrefix` `*`, a
//! priority). Scanners match single rules; Portcullis walks them all by priority with the
//! default rules, so where a scanner says "not flagged" the port is `private` (the default
//! `AllowVnetInBound` still admits the VNet), `closed`, or `restricted` (public sources fewer
//! than a /8: a scanner that only looks for "any" does not flag them, nor does Defender).
//! The divergences are deliberate and named in the cases: management ports are TCP, so a UDP
//! rule does not open 3389/Tcp (Checkov and Trivy flag it).
use portcullis_shared::eval::report::State;
use portcullis_shared::{evaluate, EvalConfig, Inventory, Report};
use serde_json::{json, Value};

const SUB: &str = "/subscriptions/sub1/resourceGroups/rg1/providers";

/// One VM at 10.0.1.4 in VNet 10.0.0.0/16, a Standard public IP, and these rules in its NIC's NSG.
fn scene(rules: Value) -> Value {
    let nic = format!("{SUB}/Microsoft.Network/networkInterfaces/vm1-nic");
    let nsg = format!("{SUB}/Microsoft.Network/networkSecurityGroups/nic-nsg");
    let pip = format!("{SUB}/Microsoft.Network/publicIPAddresses/vm1-pip");
    let vnet = format!("{SUB}/Microsoft.Network/virtualNetworks/vnet1");
    json!({
        "virtualMachines": [{"id": format!("{SUB}/Microsoft.Compute/virtualMachines/vm1"), "name": "vm1",
            "properties": {"networkProfile": {"networkInterfaces": [{"id": nic}]}}}],
        "networkInterfaces": [{"id": nic, "name": "vm1-nic", "properties": {
            "networkSecurityGroup": {"id": nsg},
            "ipConfigurations": [{"id": format!("{nic}/ipConfigurations/ipconfig1"), "name": "ipconfig1",
                "properties": {"privateIPAddress": "10.0.1.4", "subnet": {"id": format!("{vnet}/subnets/default")},
                    "publicIPAddress": {"id": pip}}}]}}],
        "publicIPAddresses": [{"id": pip, "name": "vm1-pip", "sku": {"name": "Standard"},
            "properties": {"ipAddress": "20.50.1.2"}}],
        "virtualNetworks": [{"id": vnet, "name": "vnet1", "properties": {
            "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
            "subnets": [{"id": format!("{vnet}/subnets/default"), "name": "default",
                "properties": {"addressPrefix": "10.0.1.0/24"}}]}}],
        "networkSecurityGroups": [{"id": nsg, "name": "nic-nsg", "properties": {"securityRules": rules}}],
    })
}

/// A rule from its ARM properties; `*` for the source port and destination when not given.
fn rule(name: &str, mut props: Value) -> Value {
    for (k, v) in [("sourcePortRange", "*"), ("destinationAddressPrefix", "*")] {
        if props.get(k).is_none() {
            props[k] = json!(v);
        }
    }
    json!({"name": name, "properties": props})
}

fn eval(inv: &Value) -> Report {
    let inv = Inventory::from_json(inv.to_string().as_bytes()).expect("inventory parses");
    evaluate(&inv, &EvalConfig::default()).expect("inventory evaluates")
}

#[test]
fn scanners_cases_by_portcullis() {
    use State::*;
    // (case, port, flagged by the scanner, rules, Portcullis's state)
    let cases: Vec<(&str, u16, bool, Value, State)> = vec![
        (
            "KICS rdp positive1: an Allow and a Deny sharing priority 301",
            3389,
            true,
            json!([
                rule(
                    "security rule",
                    json!({"protocol": "Tcp", "destinationPortRange": "3389",
                    "sourceAddressPrefix": "*", "access": "Allow", "priority": 301, "direction": "Inbound"})
                ),
                rule(
                    "security rule2",
                    json!({"protocol": "Tcp", "destinationPortRange": "22",
                    "sourceAddressPrefix": "*", "access": "Deny", "priority": 301, "direction": "Inbound"})
                ),
            ]),
            Open,
        ),
        (
            "KICS rdp positive2: a port range ending at 3389",
            3389,
            true,
            json!([rule(
                "r",
                json!({"protocol": "Tcp", "destinationPortRanges": ["3333-3389"],
                "sourceAddressPrefix": "*", "access": "Allow", "priority": 100, "direction": "Inbound"})
            )]),
            Open,
        ),
        (
            "KICS rdp negative1: a Deny",
            3389,
            false,
            json!([rule(
                "r",
                json!({"protocol": "Tcp", "destinationPortRange": "3389",
                "sourceAddressPrefix": "*", "access": "Deny", "priority": 301, "direction": "Inbound"})
            )]),
            Closed,
        ),
        (
            "KICS rdp negative5: a range that misses 3389",
            3389,
            false,
            json!([rule(
                "r",
                json!({"protocol": "Tcp", "destinationPortRanges": ["4030-5100"],
                "sourceAddressPrefix": "*", "access": "Allow", "priority": 100, "direction": "Inbound"})
            )]),
            Private,
        ),
        (
            "KICS ssh positive7: protocol TCP in capitals",
            22,
            true,
            json!([rule(
                "r",
                json!({"protocol": "TCP", "destinationPortRanges": ["22-23"],
                "sourceAddressPrefix": "*", "access": "Allow", "priority": 100, "direction": "Inbound"})
            )]),
            Open,
        ),
        (
            "Checkov f_source_slash_zero: source 0/0 (read at its worst, with a warning)",
            3389,
            true,
            json!([rule(
                "r",
                json!({"protocol": "Tcp", "destinationPortRange": "3389",
                "sourceAddressPrefix": "0/0", "access": "Allow", "priority": 100, "direction": "Inbound"})
            )]),
            Open,
        ),
        (
            "Checkov ranges_prefixes_lower_case: allow, inbound, tcp, internet",
            3389,
            true,
            json!([rule(
                "r",
                json!({"protocol": "tcp", "destinationPortRanges": ["3389", "443"],
                "sourceAddressPrefixes": ["internet", "10.0.0.0/16"], "access": "allow",
                "priority": 100, "direction": "inbound"})
            )]),
            Open,
        ),
        (
            "Checkov rdp_restricted_prefixes: one public address and a private range",
            3389,
            false,
            json!([rule(
                "r",
                json!({"protocol": "Tcp", "destinationPortRange": "3389",
                "sourceAddressPrefixes": ["123.123.123.123/32", "10.0.0.0/16"], "access": "Allow",
                "priority": 100, "direction": "Inbound"})
            )]),
            Restricted,
        ),
        (
            "Checkov all: every port from Internet",
            5986,
            true,
            json!([rule(
                "r",
                json!({"protocol": "Tcp", "destinationPortRange": "*",
                "sourceAddressPrefix": "Internet", "access": "Allow", "priority": 100, "direction": "Inbound"})
            )]),
            Open,
        ),
        (
            "Checkov f_ranges_udp_lower_case: udp (Checkov flags it; 3389/Tcp stays private)",
            3389,
            true,
            json!([rule(
                "r",
                json!({"protocol": "udp", "destinationPortRanges": ["3389", "443"],
                "sourceAddressPrefixes": ["0.0.0.0/0", "10.0.0.0/16"], "access": "allow",
                "priority": 100, "direction": "inbound"})
            )]),
            Private,
        ),
        (
            "Checkov ARM: protocol * from *",
            3389,
            true,
            json!([rule(
                "r",
                json!({"protocol": "*", "destinationPortRange": "3389",
                "sourceAddressPrefix": "*", "access": "Allow", "priority": 1000, "direction": "Inbound"})
            )]),
            Open,
        ),
        (
            "Checkov ARM: Allow * to every port at 100 before a Deny of all at 4096",
            22,
            true,
            json!([
                rule(
                    "allowAllFromAll",
                    json!({"protocol": "tcp", "destinationPortRange": "*",
                    "sourceAddressPrefix": "*", "access": "Allow", "priority": 100, "direction": "Inbound"})
                ),
                rule(
                    "denyAll",
                    json!({"protocol": "*", "destinationPortRange": "*",
                    "sourceAddressPrefix": "*", "access": "Deny", "priority": 4096, "direction": "Inbound"})
                ),
            ]),
            Open,
        ),
        (
            "Trivy: 3310-3390 from *",
            3389,
            true,
            json!([rule(
                "r",
                json!({"protocol": "Tcp", "destinationPortRange": "3310-3390",
                "sourceAddressPrefix": "*", "access": "Allow", "priority": 100, "direction": "Inbound"})
            )]),
            Open,
        ),
        (
            "Trivy: 3310-3390 from one address, 237.84.2.178: multicast (224.0.0.0/4), not on the Internet",
            3389,
            false,
            json!([rule(
                "r",
                json!({"protocol": "Tcp", "destinationPortRange": "3310-3390",
                "sourceAddressPrefix": "237.84.2.178", "access": "Allow", "priority": 100, "direction": "Inbound"})
            )]),
            Private,
        ),
        (
            "Trivy: 3310-3390 from one public address",
            3389,
            false,
            json!([rule("r", json!({"protocol": "Tcp", "destinationPortRange": "3310-3390",
                "sourceAddressPrefix": "4.53.160.75", "access": "Allow", "priority": 100, "direction": "Inbound"}))]),
            Restricted,
        ),
        (
            "Trivy: Icmp to 3310-3390",
            3389,
            false,
            json!([rule(
                "r",
                json!({"protocol": "Icmp", "destinationPortRange": "3310-3390",
                "sourceAddressPrefix": "*", "access": "Allow", "priority": 100, "direction": "Inbound"})
            )]),
            Private,
        ),
        (
            "Prowler: Internet to 33-6000",
            3389,
            true,
            json!([rule(
                "r",
                json!({"protocol": "TCP", "destinationPortRange": "33-6000",
                "sourceAddressPrefix": "Internet", "access": "Allow", "priority": 100, "direction": "Inbound"})
            )]),
            Open,
        ),
        (
            "Prowler: Internet to 20-25",
            22,
            true,
            json!([rule(
                "r",
                json!({"protocol": "TCP", "destinationPortRange": "20-25",
                "sourceAddressPrefix": "Internet", "access": "Allow", "priority": 100, "direction": "Inbound"})
            )]),
            Open,
        ),
        (
            "Prowler: Internet to 23 only",
            22,
            false,
            json!([rule(
                "r",
                json!({"protocol": "TCP", "destinationPortRange": "23",
                "sourceAddressPrefix": "Internet", "access": "Allow", "priority": 100, "direction": "Inbound"})
            )]),
            Private,
        ),
    ];
    let mut failures = Vec::new();
    let n = cases.len();
    for (case, port, flagged, rules, want) in cases {
        let r = eval(&scene(rules));
        let vm = &r.vms[0];
        let e = vm
            .exposures
            .iter()
            .find(|e| e.port == port)
            .expect("every management port is listed");
        if e.state != want {
            failures.push(format!(
                "{case}: {:?}, expected {want:?} ({})",
                e.state, e.reason
            ));
        }
        // where Azure's semantics and the scanner's agree, so does the recommendation
        let closed_rec = vm.recommendations.management_ports_closed;
        let unhealthy = closed_rec == portcullis_shared::eval::report::Status::Unhealthy;
        if !case.contains("udp") && unhealthy != flagged {
            failures.push(format!(
                "{case}: managementPortsClosed {closed_rec:?}, the scanner flagged: {flagged}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The two notes the cases above bring: rules that share a priority (Azure refuses them), and
/// a source that scanners read as any address.
#[test]
fn scanners_cases_warn_where_the_input_is_not_azures() {
    let r = eval(&scene(json!([
        rule(
            "security rule",
            json!({"protocol": "Tcp", "destinationPortRange": "3389",
            "sourceAddressPrefix": "*", "access": "Allow", "priority": 301, "direction": "Inbound"})
        ),
        rule(
            "security rule2",
            json!({"protocol": "Tcp", "destinationPortRange": "22",
            "sourceAddressPrefix": "*", "access": "Deny", "priority": 301, "direction": "Inbound"})
        ),
        rule(
            "slash",
            json!({"protocol": "Tcp", "destinationPortRange": "5985",
            "sourceAddressPrefix": "0/0", "access": "Allow", "priority": 400, "direction": "Inbound"})
        ),
    ])));
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("security rule2") && w.contains("priority")),
        "{:?}",
        r.warnings
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("\"0/0\"") && w.contains("securityRules[2]")),
        "{:?}",
        r.warnings
    );
}
