//! `portcullis evaluate`: the contract other tools and CI pipelines depend on.
use portcullis_shared::fleet::{InventoryBuilder, Rule, VmSpec};
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
}

fn temp(name: &str, contents: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("portcullis-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, contents).unwrap();
    p
}

/// Two VMs: `open-vm` with RDP open to the Internet, `safe-vm` restricted to an office range.
fn fleet(open: bool) -> serde_json::Value {
    let mut b = InventoryBuilder::new("sub1");
    let rdp = b.nsg(
        "rg",
        "rdp",
        vec![Rule::allow("RDP", 300)
            .port("3389")
            .from(if open { "*" } else { "203.0.113.0/24" })],
    );
    let office = b.nsg(
        "rg",
        "office",
        vec![Rule::allow("SSH", 300).port("22").from("203.0.113.0/24")],
    );
    let s = b.vnet(
        "rg",
        "vnet",
        &["10.0.0.0/16"],
        &[("a", "10.0.1.0/24", None)],
    );
    b.vm(&VmSpec {
        name: "open-vm",
        resource_group: "rg",
        os: "Windows",
        subnet_id: &s[0],
        private_ip: "10.0.1.4",
        public_ip: Some("20.1.1.1"),
        nic_nsg_id: Some(&rdp),
        asg_ids: &[],
    });
    b.vm(&VmSpec {
        name: "safe-vm",
        resource_group: "rg",
        os: "Linux",
        subnet_id: &s[0],
        private_ip: "10.0.1.5",
        public_ip: Some("20.1.1.2"),
        nic_nsg_id: Some(&office),
        asg_ids: &[],
    });
    serde_json::to_value(b.build()).unwrap()
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn json_report_and_exit_codes() {
    let inv = temp("open.json", &serde_json::to_vec(&fleet(true)).unwrap());
    let o = run(&["evaluate", inv.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["control"]["name"], "Secure management ports");
    assert_eq!(r["control"]["maxScore"], 8);
    assert_eq!(r["control"]["currentScore"], 4.0);
    assert_eq!(r["control"]["percentage"], 50.0);
    assert_eq!(r["recommendations"].as_array().unwrap().len(), 3);
    let vm = r["vms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "open-vm")
        .unwrap();
    assert_eq!(vm["status"], "unhealthy");
    assert_eq!(vm["recommendations"]["managementPortsClosed"], "unhealthy");
    let rdp = vm["exposures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["port"] == 3389)
        .unwrap();
    assert_eq!(rdp["state"], "open");
    assert_eq!(rdp["reachable"], true);
    assert_eq!(
        rdp["allowedPublicSources"],
        serde_json::json!(["0.0.0.0/0"])
    );
    assert_eq!(rdp["decidingRules"][0]["rule"], "RDP");
    assert_eq!(rdp["decidingRules"][0]["priority"], 300);
    assert_eq!(rdp["decidingRules"][0]["access"], "Allow");
    assert!(r["warnings"].as_array().unwrap().is_empty());

    let o = run(&["evaluate", inv.to_str().unwrap(), "--fail-on-unhealthy"]);
    assert_eq!(o.status.code(), Some(3));
    let healthy = temp("healthy.json", &serde_json::to_vec(&fleet(false)).unwrap());
    let o = run(&["evaluate", healthy.to_str().unwrap(), "--fail-on-unhealthy"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let mut v = fleet(true);
    v["networkSecurityGroups"][0]["properties"]["securityRules"][0]["properties"]
        ["destinationPortRange"] = "70000".into();
    let p = temp("bad-port.json", &serde_json::to_vec(&v).unwrap());
    let o = run(&["evaluate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty(), "no report on bad input");
    assert_eq!(
        stderr(&o),
        "networkSecurityGroups[0].properties.securityRules[0].properties.destinationPortRange: \"70000\" is not a port or range\n"
    );
    for (name, body) in [
        ("syntax.json", &b"{\"virtualMachines\": [}"[..]),
        (
            "types.json",
            &b"{\"networkSecurityGroups\": [{\"id\": 5}]}"[..],
        ),
        ("notjson.json", &b"hello"[..]),
    ] {
        let p = temp(name, body);
        let o = run(&["evaluate", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{name}");
        assert_eq!(stderr(&o).lines().count(), 1, "{name}: {}", stderr(&o));
    }
    let o = run(&["evaluate", "/nonexistent/inventory.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("/nonexistent/inventory.json: cannot read"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn an_inventory_that_is_not_one_cannot_pass_as_empty() {
    // an array (what `az vm list` prints) or a bare value: exit 2, never "0 VMs, all fine"
    let vms = serde_json::to_vec(&fleet(true)["virtualMachines"]).unwrap();
    for (name, body, what) in [
        ("empty-array.json", &b" []"[..], "an array"),
        ("vm-list.json", &vms[..], "an array"),
        ("string.json", &b"\"inventory\""[..], "a string"),
        ("null.json", &b"null"[..], "null"),
    ] {
        let p = temp(name, body);
        for fail in [false, true] {
            let mut args = vec!["evaluate", p.to_str().unwrap()];
            if fail {
                args.push("--fail-on-unhealthy");
            }
            let o = run(&args);
            assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
            assert!(o.stdout.is_empty(), "{name}: no report");
            assert_eq!(
                stderr(&o).lines().collect::<Vec<_>>(),
                [format!("the inventory is {what}, not an object: it must be {{\"virtualMachines\": [..], \"networkInterfaces\": [..], ...}} (a list of resources, such as `az vm list` prints, goes under its type's key)")],
                "{name}"
            );
        }
    }

    // two inventories in one file (`>>` run twice): an error, not the first one's report
    let one = serde_json::to_vec(&fleet(true)).unwrap();
    let two = [&one[..], b"\n", &one[..]].concat();
    let p = temp("two.json", &two);
    let o = run(&["evaluate", p.to_str().unwrap(), "--format", "table"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(o.stdout.is_empty(), "no report");
    assert!(
        stderr(&o).starts_with(
            "text after the inventory's closing brace (trailing characters at line 2 column 1)"
        ),
        "{}",
        stderr(&o)
    );

    // an empty file (what `az ... > inventory.json` leaves when the command fails)
    let p = temp("empty.json", b"");
    let o = run(&["evaluate", p.to_str().unwrap(), "--fail-on-unhealthy"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(o.stdout.is_empty(), "no report");
    assert!(
        stderr(&o).starts_with("the inventory is empty (0 bytes): it must be one JSON object"),
        "{}",
        stderr(&o)
    );

    // an ARM list response: none of the inventory's keys, so an error naming the ones it has
    let response = format!(
        r#"{{"value": {}, "nextLink": null}}"#,
        fleet(true)["virtualMachines"]
    );
    let p = temp("list-response.json", response.as_bytes());
    let o = run(&["evaluate", p.to_str().unwrap(), "--format", "table"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.starts_with("no virtual machines: the inventory's top-level keys \"value\", \"nextLink\" are not ones Portcullis reads (virtualMachines, networkInterfaces,"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    // beside keys it reads, a misspelt one is a warning in the report, and `{}` is just empty
    let p = temp(
        "misspelt.json",
        br#"{"networkInterfaces": [], "virtualMachine": []}"#,
    );
    let o = run(&["evaluate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    let warnings = report["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].as_str().unwrap().starts_with(
            "no virtual machines: the inventory's top-level key \"virtualMachine\" is not one Portcullis reads"
        ),
        "{warnings:?}"
    );
    let p = temp("empty-object.json", b"{}");
    let o = run(&["evaluate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["warnings"], serde_json::json!([]));
}

#[test]
fn table_format_is_readable_and_plain_when_piped() {
    let inv = temp("table.json", &serde_json::to_vec(&fleet(true)).unwrap());
    let o = run(&["evaluate", inv.to_str().unwrap(), "--format", "table"]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        !out.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
    assert!(
        out.starts_with("Secure management ports: 4.00 of 8 points (50.00%)"),
        "{out}"
    );
    let row = out
        .lines()
        .find(|l| l.starts_with("open-vm"))
        .expect("one row per VM");
    assert!(
        row.contains("unhealthy") && row.contains("3389/Tcp open via public IP "),
        "{row}"
    );
    assert!(out.lines().any(|l| l.starts_with("safe-vm")));
}

/// A VM with no public IP behind a public load balancer's NAT rule 50001 -> 3389.
fn lb_fleet() -> serde_json::Value {
    let p = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network";
    serde_json::json!({
        "virtualMachines": [{"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/nat-vm",
            "name": "nat-vm", "properties": {"networkProfile": {"networkInterfaces": [{"id": format!("{p}/networkInterfaces/nic")}]}}}],
        "networkInterfaces": [{"id": format!("{p}/networkInterfaces/nic"), "properties": {
            "networkSecurityGroup": {"id": format!("{p}/networkSecurityGroups/nsg")},
            "ipConfigurations": [{"id": format!("{p}/networkInterfaces/nic/ipConfigurations/ipc"), "properties": {
                "privateIPAddress": "10.0.1.4", "subnet": {"id": format!("{p}/virtualNetworks/v/subnets/s")},
                "loadBalancerInboundNatRules": [{"id": format!("{p}/loadBalancers/lb/inboundNatRules/rdp")}]}}]}}],
        "virtualNetworks": [{"id": format!("{p}/virtualNetworks/v"), "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
            "subnets": [{"id": format!("{p}/virtualNetworks/v/subnets/s"), "name": "s", "properties": {"addressPrefix": "10.0.1.0/24"}}]}}],
        "networkSecurityGroups": [{"id": format!("{p}/networkSecurityGroups/nsg"), "properties": {"securityRules": [
            {"name": "RDP", "properties": {"priority": 300, "access": "Allow", "direction": "Inbound", "protocol": "Tcp",
                "sourceAddressPrefix": "*", "sourcePortRange": "*", "destinationAddressPrefix": "*", "destinationPortRange": "3389"}}]}}],
        "publicIPAddresses": [{"id": format!("{p}/publicIPAddresses/lb-ip"), "sku": {"name": "Standard"}, "properties": {"ipAddress": "20.1.2.3"}}],
        "loadBalancers": [{"id": format!("{p}/loadBalancers/lb"), "name": "lb", "sku": {"name": "Standard"}, "properties": {
            "frontendIPConfigurations": [{"id": format!("{p}/loadBalancers/lb/frontendIPConfigurations/fe"),
                "properties": {"publicIPAddress": {"id": format!("{p}/publicIPAddresses/lb-ip")}}}],
            "inboundNatRules": [{"id": format!("{p}/loadBalancers/lb/inboundNatRules/rdp"), "name": "rdp", "properties": {
                "frontendIPConfiguration": {"id": format!("{p}/loadBalancers/lb/frontendIPConfigurations/fe")},
                "protocol": "Tcp", "frontendPort": 50001, "backendPort": 3389}}]}}]
    })
}

#[test]
fn load_balancer_paths_in_json_and_table() {
    let inv = temp("lb.json", &serde_json::to_vec(&lb_fleet()).unwrap());
    let o = run(&["evaluate", inv.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rdp = &r["vms"][0]["exposures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["port"] == 3389)
        .cloned()
        .unwrap();
    assert_eq!(rdp["state"], "open");
    assert_eq!(rdp["reachable"], true);
    assert_eq!(r["vms"][0]["publicIps"], serde_json::json!([]));
    let path = &rdp["paths"][0];
    assert_eq!(path["kind"], "loadBalancerNat");
    assert_eq!(path["frontend"], "20.1.2.3:50001");
    assert_eq!(path["target"], "10.0.1.4:3389");
    assert_eq!(
        path["reason"],
        "reachable from 0.0.0.0/0 through load balancer lb NAT rule rdp, 20.1.2.3:50001 → 10.0.1.4:3389"
    );
    let o = run(&["evaluate", inv.to_str().unwrap(), "--format", "table"]);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.contains("3389/Tcp open via LB nat 20.1.2.3:50001"),
        "{out}"
    );

    // a bad frontend port: exit 2 naming the JSON path and value
    let mut v = lb_fleet();
    v["loadBalancers"][0]["properties"]["inboundNatRules"][0]["properties"]["frontendPort"] =
        70000.into();
    let p = temp("lb-bad.json", &serde_json::to_vec(&v).unwrap());
    let o = run(&["evaluate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "loadBalancers[0].properties.inboundNatRules[0].properties.frontendPort: 70000 is not a port (1-65535)\n"
    );
}

#[test]
fn config_file_and_stdin() {
    let cfg = temp("cfg.toml", b"managementPorts = [22, { port = 3389, protocol = \"Tcp\" }]\nopenThresholdIpv4Prefix = 24\n");
    let mut child = bin()
        .args(["evaluate", "-", "--config", cfg.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&serde_json::to_vec(&fleet(false)).unwrap())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let vm = r["vms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "safe-vm")
        .unwrap();
    let ex = vm["exposures"].as_array().unwrap();
    assert_eq!(ex.len(), 2, "only the configured ports");
    // with a /24 threshold the office range counts as open
    assert_eq!(ex[0]["state"], "open");

    let bad = temp("bad.toml", b"openThresholdIpv4Prefix = 40\n");
    let o = run(&["evaluate", "-", "--config", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("openThresholdIpv4Prefix"),
        "{}",
        stderr(&o)
    );
    // a bad management port names its entry and value, in one line
    let bad_port = temp(
        "bad-port.toml",
        b"managementPorts = [22, { port = 53, protocol = \"Udp\" }, 70000]\n",
    );
    let o = run(&["evaluate", "-", "--config", bad_port.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!(
            "{}: managementPorts[2]: 70000 is not a port (1-65535)\n",
            bad_port.display()
        )
    );
    let unknown = temp("unknown.toml", b"managementPortz = [22]\n");
    let o = run(&["evaluate", "-", "--config", unknown.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("managementPortz"), "{}", stderr(&o));
}

/// A settings file saved by Windows PowerShell 5: with a UTF-8 byte order mark it is read (JSON
/// and TOML alike); in UTF-16 it is refused with one line saying to save it as UTF-8.
#[test]
fn a_config_file_with_a_byte_order_mark_is_read_and_utf16_is_refused() {
    let inventory = temp("bom-inv.json", &serde_json::to_vec(&fleet(false)).unwrap());
    let ports = |o: &std::process::Output| -> Vec<u64> {
        let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        r["vms"][0]["exposures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["port"].as_u64().unwrap())
            .collect()
    };
    for (name, body) in [
        ("bom.json", &b"\xEF\xBB\xBF{\"managementPorts\": [22]}"[..]),
        ("bom.toml", &b"\xEF\xBB\xBFmanagementPorts = [22]\n"[..]),
    ] {
        let cfg = temp(name, body);
        let o = run(&[
            "evaluate",
            inventory.to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        assert_eq!(ports(&o), vec![22], "{name}");
    }
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(
            "{\"managementPorts\": [22]}"
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    let cfg = temp("utf16.json", &utf16);
    let o = run(&[
        "evaluate",
        inventory.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("UTF-16") && err.contains("save it as UTF-8"),
        "{err}"
    );
}

/// A bad value deep in a large inventory still names its JSON path and value: a wrong type
/// (found by the parse) and a bad port, address and JIT port (found while building the model).
#[test]
fn a_bad_value_deep_in_a_large_file_names_its_path() {
    let inv = portcullis_shared::fleet::synthetic_fleet(20_000, 5);
    let good = serde_json::to_value(&inv).unwrap();
    let nsgs = inv.network_security_groups.len();
    let (n, r) = (nsgs - 3, 17);
    let cases: [(&str, serde_json::Value, String); 3] = [
        (
            "priority",
            "high".into(),
            format!("networkSecurityGroups[{n}].properties.securityRules[{r}].properties.priority: invalid type: string \"high\", expected i64"),
        ),
        (
            "destinationPortRange",
            "3389-99999".into(),
            format!("networkSecurityGroups[{n}].properties.securityRules[{r}].properties.destinationPortRange: \"3389-99999\" is not a port or range"),
        ),
        (
            "sourceAddressPrefix",
            "10.0.0.0/33".into(),
            format!("networkSecurityGroups[{n}].properties.securityRules[{r}].properties.sourceAddressPrefix: \"10.0.0.0/33\" is not"),
        ),
    ];
    for (field, value, want) in cases {
        let mut v = good.clone();
        v["networkSecurityGroups"][n]["properties"]["securityRules"][r]["properties"][field] =
            value;
        let p = temp(
            &format!("deep-{field}.json"),
            &serde_json::to_vec(&v).unwrap(),
        );
        assert!(
            std::fs::metadata(&p).unwrap().len() > 50_000_000,
            "a large file"
        );
        let o = run(&["evaluate", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{field}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "no report on bad input");
        assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
        assert!(stderr(&o).starts_with(&want), "{field}: {}", stderr(&o));
    }
    let mut v = good;
    let last = inv.network_interfaces.len() - 1;
    v["networkInterfaces"][last]["properties"]["ipConfigurations"][0]["properties"]
        ["privateIPAddress"] = "10.1.300.4".into();
    let p = temp("deep-address.json", &serde_json::to_vec(&v).unwrap());
    let o = run(&["evaluate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!("networkInterfaces[{last}].properties.ipConfigurations[0].properties.privateIPAddress: \"10.1.300.4\" is not an IP address\n")
    );
}

/// The streamed report is the whole report, byte for byte, with the VMs shared out between
/// threads and written in batches; `--compact` has the same keys and values on one line.
#[test]
fn streamed_json_is_the_whole_report_and_compact_agrees() {
    let mut inv = portcullis_shared::fleet::synthetic_fleet(12_000, 9);
    portcullis_shared::fleet::add_load_balancers(&mut inv);
    let whole = portcullis_shared::evaluate(&inv, &Default::default()).unwrap();
    let mut want = serde_json::to_vec_pretty(&whole).unwrap();
    want.push(b'\n');
    let p = temp("stream.json", &serde_json::to_vec(&inv).unwrap());
    let o = run(&["evaluate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        o.stdout == want,
        "streamed report differs from the whole report"
    );
    // this file is past the size parsed on two threads; --timings changes nothing but stderr
    assert!(std::fs::metadata(&p).unwrap().len() > 8 << 20);
    let o = run(&["evaluate", p.to_str().unwrap(), "--timings"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stdout == want, "--timings changed the report");
    let phases: Vec<String> = stderr(&o)
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        phases,
        ["read", "parse", "model", "report", "total"],
        "{}",
        stderr(&o)
    );
    let o = run(&["evaluate", p.to_str().unwrap(), "--compact"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut compact = serde_json::to_vec(&whole).unwrap();
    compact.push(b'\n');
    assert!(o.stdout == compact, "compact report differs");
    assert!(
        o.stdout.len() * 4 < want.len() * 3,
        "compact is under 3/4 of the size"
    );
}

/// `--rules-table` writes each deciding rule once and names it by index; the report is
/// otherwise the same, and smaller. With `--format table` it is refused, exit code 2.
#[test]
fn rules_table_names_each_deciding_rule_once() {
    let inv = portcullis_shared::fleet::synthetic_fleet(3_000, 5);
    let whole =
        serde_json::to_value(portcullis_shared::evaluate(&inv, &Default::default()).unwrap())
            .unwrap();
    let p = temp("rules-table.json", &serde_json::to_vec(&inv).unwrap());
    let plain = run(&["evaluate", p.to_str().unwrap(), "--compact"]);
    let o = run(&[
        "evaluate",
        p.to_str().unwrap(),
        "--compact",
        "--rules-table",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        o.stdout.len() * 10 < plain.stdout.len() * 6,
        "{} bytes with the table, {} without",
        o.stdout.len(),
        plain.stdout.len()
    );
    let mut got: Value = serde_json::from_slice(&o.stdout).unwrap();
    let rules = got.as_object_mut().unwrap().remove("rules").unwrap();
    for vm in got["vms"].as_array_mut().unwrap() {
        for e in vm["exposures"].as_array_mut().unwrap() {
            let refs = e
                .as_object_mut()
                .unwrap()
                .remove("decidingRuleRefs")
                .unwrap();
            let named: Vec<Value> = refs
                .as_array()
                .unwrap()
                .iter()
                .map(|i| rules[i.as_u64().unwrap() as usize].clone())
                .collect();
            e["decidingRules"] = named.into();
        }
    }
    assert!(got == whole, "the report with its rules put back differs");

    let o = run(&[
        "evaluate",
        p.to_str().unwrap(),
        "--format",
        "table",
        "--rules-table",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: --rules-table applies to --format json only (got --format table)\n"
    );
}

/// A large file is mapped, and the pages of the NSGs compiled are let go while the model is
/// built: the report is the whole report all the same, byte for byte, as it is when the same
/// bytes come on standard input (read into memory), in both formats.
#[test]
fn a_mapped_file_and_standard_input_give_the_same_report() {
    let inv = portcullis_shared::fleet::per_vm_nsg_fleet(2_500, 3);
    let bytes = serde_json::to_vec(&inv).unwrap();
    assert!(bytes.len() > 8 << 20, "past the size that is mapped");
    let p = temp("mapped.json", &bytes);
    let whole = portcullis_shared::evaluate(&inv, &Default::default()).unwrap();
    let mut want = serde_json::to_vec_pretty(&whole).unwrap();
    want.push(b'\n');
    for format in ["json", "table"] {
        let mapped = run(&["evaluate", p.to_str().unwrap(), "--format", format]);
        assert_eq!(mapped.status.code(), Some(0), "{}", stderr(&mapped));
        let mut child = bin()
            .args(["evaluate", "-", "--format", format])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let input = bytes.clone();
        let feed = std::thread::spawn(move || stdin.write_all(&input));
        let read = child.wait_with_output().unwrap();
        feed.join().unwrap().unwrap();
        assert_eq!(read.status.code(), Some(0), "{}", stderr(&read));
        assert!(
            mapped.stdout == read.stdout,
            "{format}: the two reports differ"
        );
        if format == "json" {
            assert!(mapped.stdout == want, "not the whole report");
        }
    }
}
