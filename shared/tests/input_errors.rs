//! Malformed input is refused with the JSON path and the bad value; nothing is skipped silently.
use portcullis_shared::fleet::{InventoryBuilder, Rule, VmSpec};
use portcullis_shared::{evaluate, EvalConfig, Inventory};
use serde_json::{json, Value};

fn base() -> Value {
    let mut b = InventoryBuilder::new("s");
    let nsg = b.nsg(
        "rg",
        "nsg",
        vec![
            Rule::allow("Web", 200).port("443"),
            Rule::allow("RDP", 300).port("3389"),
        ],
    );
    let s = b.vnet(
        "rg",
        "vnet",
        &["10.0.0.0/16"],
        &[("a", "10.0.1.0/24", None)],
    );
    b.vm(&VmSpec {
        name: "vm",
        resource_group: "rg",
        os: "Linux",
        subnet_id: &s[0],
        private_ip: "10.0.1.4",
        public_ip: Some("20.1.1.1"),
        nic_nsg_id: Some(&nsg),
        asg_ids: &[],
    });
    serde_json::to_value(b.build()).unwrap()
}

fn error_of(v: &Value) -> String {
    let bytes = serde_json::to_vec(v).unwrap();
    match Inventory::from_json(&bytes) {
        Err(e) => e.to_string(),
        Ok(inv) => evaluate(&inv, &EvalConfig::default())
            .expect_err("must be refused")
            .to_string(),
    }
}

fn rule_path(field: &str) -> String {
    format!("networkSecurityGroups[0].properties.securityRules[1].properties.{field}")
}

#[test]
fn bad_rule_fields_name_path_and_value() {
    let cases: Vec<(&str, Value, String)> = vec![
        (
            "destinationPortRange",
            json!("70000"),
            format!(
                "{}: \"70000\" is not a port or range",
                rule_path("destinationPortRange")
            ),
        ),
        (
            "destinationPortRange",
            json!("4000-3000"),
            format!(
                "{}: \"4000-3000\" is not a port or range",
                rule_path("destinationPortRange")
            ),
        ),
        (
            "sourcePortRange",
            json!("abc"),
            format!(
                "{}: \"abc\" is not a port or range",
                rule_path("sourcePortRange")
            ),
        ),
        (
            "sourceAddressPrefix",
            json!("10.0.0.0/33"),
            format!(
                "{}: \"10.0.0.0/33\" is not a valid IP address or CIDR prefix",
                rule_path("sourceAddressPrefix")
            ),
        ),
        (
            "sourceAddressPrefix",
            json!("300.1.2.3"),
            format!(
                "{}: \"300.1.2.3\" is not a valid IP address or CIDR prefix",
                rule_path("sourceAddressPrefix")
            ),
        ),
        (
            "protocol",
            json!("Tcpx"),
            format!(
                "{}: \"Tcpx\" is not a protocol (*, Tcp, Udp, Icmp, Esp, Ah)",
                rule_path("protocol")
            ),
        ),
        (
            "access",
            json!("Permit"),
            format!("{}: \"Permit\" is not Allow or Deny", rule_path("access")),
        ),
        (
            "destinationPortRange",
            Value::Null,
            format!(
                "{}: missing: neither destinationPortRange nor destinationPortRanges is set",
                rule_path("destinationPortRange")
            ),
        ),
    ];
    for (field, value, expected) in cases {
        let mut v = base();
        v["networkSecurityGroups"][0]["properties"]["securityRules"][1]["properties"][field] =
            value;
        assert_eq!(error_of(&v), expected, "{field}");
    }
}

#[test]
fn plural_entries_are_named_by_index() {
    let mut v = base();
    let p = &mut v["networkSecurityGroups"][0]["properties"]["securityRules"][0]["properties"];
    p["destinationPortRange"] = Value::Null;
    p["destinationPortRanges"] = json!(["22", "99999"]);
    assert_eq!(
        error_of(&v),
        "networkSecurityGroups[0].properties.securityRules[0].properties.destinationPortRanges[1]: \"99999\" is not a port or range"
    );
}

#[test]
fn wrong_types_name_the_path() {
    let mut v = base();
    v["networkSecurityGroups"][0]["properties"]["securityRules"][1]["properties"]["priority"] =
        json!("high");
    let e = error_of(&v);
    assert!(
        e.starts_with(&format!(
            "{}: invalid type: string \"high\"",
            rule_path("priority")
        )),
        "{e}"
    );
    let mut v = base();
    v["virtualMachines"] = json!({"not": "a list"});
    assert!(
        error_of(&v).starts_with("virtualMachines: invalid type: map"),
        "{}",
        error_of(&v)
    );
    let e = Inventory::from_json(b"{\"virtualMachines\": [")
        .unwrap_err()
        .to_string();
    assert!(e.contains("EOF"), "{e}");
}

#[test]
fn bad_addresses_elsewhere() {
    let mut v = base();
    v["networkInterfaces"][0]["properties"]["ipConfigurations"][0]["properties"]
        ["privateIPAddress"] = json!("10.0.1.999");
    assert_eq!(error_of(&v), "networkInterfaces[0].properties.ipConfigurations[0].properties.privateIPAddress: \"10.0.1.999\" is not an IP address");
    let mut v = base();
    v["virtualNetworks"][0]["properties"]["addressSpace"]["addressPrefixes"][0] =
        json!("10.0.0.0/99");
    assert_eq!(error_of(&v), "virtualNetworks[0].properties.addressSpace.addressPrefixes[0]: \"10.0.0.0/99\" is not a valid CIDR prefix");
}

#[test]
fn the_first_bad_resource_is_named_even_when_parsed_in_parallel() {
    let mut inv = portcullis_shared::fleet::synthetic_fleet(3_000, 3);
    for i in [2_500, 10, 1_700] {
        inv.network_interfaces[i].props_mut().ip_configurations[0]
            .properties
            .private_ip_address = Some("10.0.0.300".into());
    }
    let e = evaluate(&inv, &EvalConfig::default()).unwrap_err();
    assert_eq!(
        e.path,
        "networkInterfaces[10].properties.ipConfigurations[0].properties.privateIPAddress"
    );
}

#[test]
fn an_inventory_must_be_an_object() {
    // serde alone would read `[]` as an empty inventory (a struct from a sequence)
    for (text, what) in [
        (" [ ]", "an array"),
        ("[[], []]", "an array"),
        ("\"x\"", "a string"),
        ("42", "a number"),
        ("true", "a boolean"),
        ("null", "null"),
    ] {
        let e = Inventory::from_json(text.as_bytes()).expect_err(text);
        assert!(
            e.to_string()
                .starts_with(&format!("the inventory is {what}, not an object")),
            "{text}: {e}"
        );
        let mut owned = None;
        let e = Inventory::parse_view(text.as_bytes(), &mut owned).expect_err(text);
        assert!(e.to_string().contains(what), "{text}: {e}");
    }
    assert!(Inventory::from_json(b" {}").is_ok());
}

#[test]
fn text_after_the_inventory_is_an_error_not_ignored() {
    let vm = r#"{"virtualMachines": [{"id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/virtualMachines/v", "name": "v"}]}"#;
    for text in [
        format!("{vm} x"),
        format!("{vm}\n{vm}\n"),
        format!("{vm},"),
        "{} {}".to_string(),
    ] {
        let e = Inventory::from_json(text.as_bytes()).expect_err(&text);
        assert!(
            e.to_string().starts_with(
                "text after the inventory's closing brace (trailing characters at line"
            ),
            "{text}: {e}"
        );
        let mut owned = None;
        let e = Inventory::parse_view(text.as_bytes(), &mut owned).expect_err(&text);
        assert!(e.to_string().contains("closing brace"), "{text}: {e}");
        let e = Inventory::from_reader(text.as_bytes()).expect_err(&text);
        assert!(e.to_string().contains("closing brace"), "{text}: {e}");
    }
    // whitespace after it is not text
    assert!(Inventory::from_json(format!("{vm} \n\r\n").as_bytes()).is_ok());
}

#[test]
fn an_empty_inventory_is_refused_as_such() {
    for (text, what) in [
        (&b""[..], "the inventory is empty (0 bytes)"),
        (
            &b" \n\t\r\n"[..],
            "the inventory is only whitespace (5 bytes)",
        ),
        (&b"\xEF\xBB\xBF"[..], "the inventory is empty (3 bytes)"),
    ] {
        let e = Inventory::from_json(text).expect_err("empty");
        assert!(e.to_string().starts_with(what), "{text:?}: {e}");
        let mut owned = None;
        let e = Inventory::parse_view(text, &mut owned).expect_err("empty");
        assert!(e.to_string().starts_with(what), "{text:?}: {e}");
    }
}

#[test]
fn a_utf8_byte_order_mark_is_skipped_and_utf16_is_refused() {
    let text = serde_json::to_vec(&base()).unwrap();
    let plain = evaluate(
        &Inventory::from_json(&text).unwrap(),
        &EvalConfig::default(),
    )
    .unwrap();
    assert_eq!(plain.vms.len(), 1);
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(&text);
    let with_bom = evaluate(&Inventory::from_json(&bom).unwrap(), &EvalConfig::default()).unwrap();
    assert_eq!(
        serde_json::to_value(&with_bom).unwrap(),
        serde_json::to_value(&plain).unwrap()
    );
    let mut owned = None;
    let view = Inventory::parse_view(&bom, &mut owned).unwrap();
    assert_eq!(view.virtual_machines.len(), 1);

    // what Windows PowerShell 5's `>` writes: UTF-16 LE with its mark
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in String::from_utf8(text).unwrap().encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    let e = Inventory::from_json(&utf16).expect_err("UTF-16");
    assert!(
        e.to_string()
            .starts_with("the inventory is UTF-16 or UTF-32 text"),
        "{e}"
    );
    let mut owned = None;
    let e = Inventory::parse_view(&utf16, &mut owned).expect_err("UTF-16");
    assert!(e.to_string().contains("save it as UTF-8"), "{e}");
}
