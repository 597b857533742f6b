//! The streamed report is byte for byte the report serde_json writes for the whole `Report`,
//! and the borrowed parse gives the engine the same inventory as the owned one.
mod briefs;

use portcullis_shared::eval::report::DecidingRule;
use portcullis_shared::eval::stream::{write_report, Layout, Style};
use portcullis_shared::eval::Model;
use portcullis_shared::fleet::{
    add_load_balancers, per_vm_nsg_fleet, portal_fleet, rich_fleet, synthetic_fleet,
    InventoryBuilder, Rule, VmSpec,
};
use portcullis_shared::{evaluate, EvalConfig, Inventory};

fn streamed(json: &[u8], style: Style) -> Vec<u8> {
    let mut owned = None;
    let view = Inventory::parse_view(json, &mut owned).expect("parses");
    let model = Model::from_view(view, &EvalConfig::default()).expect("builds");
    let mut out = Vec::new();
    write_report(&model, &mut out, style).expect("writes");
    out
}

fn streamed_with_table(json: &[u8], style: Style) -> Vec<u8> {
    let mut owned = None;
    let view = Inventory::parse_view(json, &mut owned).expect("parses");
    let model = Model::from_view(view, &EvalConfig::default()).expect("builds");
    let mut out = Vec::new();
    let layout = Layout {
        style,
        rules_table: true,
    };
    write_report(&model, &mut out, layout).expect("writes");
    out
}

/// The report with a rules table is the report once each `decidingRuleRefs` is replaced by
/// the rules it names; the table holds each rule once, numbered in order of first use.
fn check_rules_table(json: &[u8], report: &serde_json::Value) {
    let pretty = streamed_with_table(json, Style::Pretty);
    let compact = streamed_with_table(json, Style::Compact);
    let mut got: serde_json::Value = serde_json::from_slice(&compact).expect("valid JSON");
    assert_eq!(
        got,
        serde_json::from_slice::<serde_json::Value>(&pretty).expect("valid JSON"),
        "pretty and compact differ"
    );
    let text = String::from_utf8(compact).unwrap();
    assert!(
        !text.contains("\"decidingRules\""),
        "rules are not repeated"
    );
    assert!(text.find("\"warnings\"").unwrap() < text.rfind("\"rules\"").unwrap());
    let rules = got
        .as_object_mut()
        .unwrap()
        .remove("rules")
        .expect("a rules table");
    let rules = rules.as_array().unwrap();
    let unique: std::collections::HashSet<String> = rules.iter().map(|r| r.to_string()).collect();
    assert_eq!(unique.len(), rules.len(), "a rule is listed twice");
    let mut next = 0;
    for vm in got["vms"].as_array_mut().unwrap() {
        for e in vm["exposures"].as_array_mut().unwrap() {
            let e = e.as_object_mut().unwrap();
            let refs = e.remove("decidingRuleRefs").expect("decidingRuleRefs");
            let named: Vec<serde_json::Value> = refs
                .as_array()
                .unwrap()
                .iter()
                .map(|i| {
                    let i = i.as_u64().unwrap() as usize;
                    assert!(i <= next, "index {i} used before {next}");
                    next = next.max(i + 1);
                    rules[i].clone()
                })
                .collect();
            e.insert("decidingRules".into(), named.into());
        }
    }
    assert_eq!(next, rules.len(), "every rule of the table is used");
    assert!(&got == report, "the report with its rules put back differs");
}

fn check(inv: &Inventory) {
    let json = serde_json::to_vec(inv).unwrap();
    let report = evaluate(inv, &EvalConfig::default()).unwrap();
    let pretty = serde_json::to_vec_pretty(&report).unwrap();
    let got = streamed(&json, Style::Pretty);
    assert!(
        got == pretty,
        "pretty stream differs from the whole report ({} vs {} bytes)",
        got.len(),
        pretty.len()
    );
    assert_eq!(
        String::from_utf8(streamed(&json, Style::Compact)).unwrap(),
        serde_json::to_string(&report).unwrap()
    );
    check_rules_table(&json, &serde_json::to_value(&report).unwrap());
    briefs::briefs_agree(inv, &report);
}

#[test]
fn streamed_report_equals_the_whole_report_on_every_shape() {
    check(&synthetic_fleet(2_500, 7));
    check(&per_vm_nsg_fleet(1_200, 7));
    check(&rich_fleet(1_100, 7));
    check(&portal_fleet(1_000, 7));
    let mut lb = synthetic_fleet(600, 3);
    add_load_balancers(&mut lb);
    check(&lb);
}

/// The `rules` table is written as serde_json writes the list of its rules at its depth, also
/// when it holds more rules than are rendered together (8,192, one NSG per VM here).
#[test]
fn the_rules_table_is_written_as_serde_json_writes_it() {
    let json = serde_json::to_vec(&per_vm_nsg_fleet(2_500, 11)).unwrap();
    for (style, key, end) in [
        (Style::Pretty, "\n  \"rules\": ", "\n}"),
        (Style::Compact, ",\"rules\":", "}"),
    ] {
        let out = String::from_utf8(streamed_with_table(&json, style)).unwrap();
        let table = &out[out.rfind(key).expect("a rules table") + key.len()..];
        let table = table.strip_suffix(end).expect("the report's end");
        let rules: Vec<DecidingRule> = serde_json::from_str(table).expect("a list of rules");
        assert!(rules.len() > 8_192, "{} rules", rules.len());
        let expected = match style {
            Style::Pretty => serde_json::to_string_pretty(&rules)
                .unwrap()
                .lines()
                .collect::<Vec<_>>()
                .join("\n  "),
            Style::Compact => serde_json::to_string(&rules).unwrap(),
        };
        assert!(table == expected, "{style:?} table differs");
    }
}

/// A writer that fails once `left` bytes are written (a full disk, a closed pipe).
struct FailsAfter {
    left: usize,
    written: usize,
}

impl std::io::Write for FailsAfter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.written + buf.len() > self.left {
            return Err(std::io::Error::other("disk full"));
        }
        self.written += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The write fails in the middle of the VMs (while units are still being evaluated ahead of
/// it): the error comes back, nothing waits forever, and no more is written after it.
#[test]
fn a_failed_write_stops_the_report() {
    let json = serde_json::to_vec(&synthetic_fleet(6_000, 5)).unwrap();
    let mut owned = None;
    let view = Inventory::parse_view(&json, &mut owned).expect("parses");
    let model = Model::from_view(view, &EvalConfig::default()).expect("builds");
    for left in [100, 2 << 20, 9 << 20] {
        let mut w = FailsAfter { left, written: 0 };
        let err = write_report(&model, &mut w, Style::Pretty).expect_err("the write fails");
        assert_eq!(err.to_string(), "disk full");
        assert!(
            w.written <= left,
            "{} bytes written past the failure",
            w.written
        );
    }
}

#[test]
fn streamed_report_of_empty_and_odd_inventories() {
    check(&Inventory::default());
    // one VM, a duplicate and one without an id: warnings, and VMs left out of the list
    let mut b = InventoryBuilder::new("sub");
    let nsg = b.nsg(
        "rg",
        "nsg",
        vec![Rule::allow("RDP", 300).port("3389").from("*")],
    );
    let subnets = b.vnet(
        "rg",
        "vnet",
        &["10.0.0.0/16"],
        &[("s", "10.0.0.0/24", None)],
    );
    b.vm(&VmSpec {
        name: "vm1",
        resource_group: "rg",
        os: "Windows",
        subnet_id: &subnets[0],
        private_ip: "10.0.0.4",
        public_ip: Some("20.1.2.3"),
        nic_nsg_id: Some(&nsg),
        asg_ids: &[],
    });
    let mut inv = b.build();
    let dup = inv.virtual_machines[0].clone();
    inv.virtual_machines.push(dup);
    let mut blank = inv.virtual_machines[0].clone();
    blank.id = String::new();
    inv.virtual_machines.push(blank);
    check(&inv);
}

#[test]
fn escaped_strings_fall_back_to_the_owned_parse() {
    let inv = synthetic_fleet(50, 1);
    let json = serde_json::to_string(&inv).unwrap();
    // `\/` is a valid escape of `/`: the ids cannot be borrowed, the owned parse takes over
    let escaped = json.replace(
        "/virtualMachines/vm-000001",
        "\\/virtualMachines\\/vm-000001",
    );
    assert_ne!(escaped, json);
    assert_eq!(
        streamed(escaped.as_bytes(), Style::Compact),
        streamed(json.as_bytes(), Style::Compact)
    );
}

#[test]
fn the_view_skips_what_the_engine_never_reads() {
    // tags, defaultSecurityRules, subnets' ipConfigurations, VM profiles: read past, not kept
    let json = br#"{"virtualMachines":[{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/a",
        "tags":{"k":"v"},"properties":{"hardwareProfile":{"vmSize":"x"},"osProfile":{"linuxConfiguration":{"ssh":{}}},
        "networkProfile":{"networkInterfaces":[]},"diagnosticsProfile":{"bootDiagnostics":{"enabled":true}}},
        "resources":[{"id":"ext"}]}],
        "virtualNetworks":[{"id":"v","properties":{"subnets":[{"id":"v/subnets/s","properties":{"addressPrefix":"10.0.0.0/24","ipConfigurations":[{"id":"x"}]}}]}}]}"#;
    let view = portcullis_shared::arm::view::Inventory::from_slice(json).expect("borrowed parse");
    assert_eq!(view.virtual_machines[0].os_type(), Some("Linux"));
    assert_eq!(
        view.virtual_networks[0].properties.subnets[0]
            .properties
            .address_prefix,
        Some("10.0.0.0/24")
    );
}

/// A borrowed, filtered view (`view_where`, how the emulator evaluates one subscription of a
/// large tenant without copying it) evaluates exactly as a filtered copy (`filtered`), even when
/// the filter cuts references between resources.
#[test]
fn a_filtered_view_evaluates_as_a_filtered_copy() {
    let inv = portcullis_shared::fleet::synthetic_fleet(600, 11);
    let cfg = portcullis_shared::EvalConfig::default();
    for keep in [
        (|_: &str| true) as fn(&str) -> bool,
        |id: &str| !id.len().is_multiple_of(3),
        |id: &str| !id.to_ascii_lowercase().contains("/networksecuritygroups/"),
    ] {
        let copied = portcullis_shared::evaluate(&inv.filtered(keep), &cfg).unwrap();
        let model = portcullis_shared::eval::Model::from_view(inv.view_where(keep), &cfg).unwrap();
        let viewed = model.report();
        assert_eq!(copied.vms.len(), viewed.vms.len());
        assert_eq!(copied, viewed);
    }
}

#[test]
fn names_that_need_escaping_are_written_as_serde_json_writes_them() {
    // a quote, a backslash, a tab and non-ASCII text in VM, resource group and rule names
    let mut b = InventoryBuilder::new("sub");
    let nsg = b.nsg(
        "rg \"ops\"",
        "nsg\\edge",
        vec![
            Rule::allow("RDP \"from anywhere\"", 300)
                .port("3389")
                .from("*"),
            Rule::allow("SSH\tbüro", 310).port("22").from("Internet"),
        ],
    );
    let subnets = b.vnet(
        "rg \"ops\"",
        "vnet",
        &["10.0.0.0/16"],
        &[("s", "10.0.0.0/24", None)],
    );
    for (name, ip) in [("vm \"one\"", "10.0.0.4"), ("vm\\two\tété", "10.0.0.5")] {
        b.vm(&VmSpec {
            name,
            resource_group: "rg \"ops\"",
            os: "Windows",
            subnet_id: &subnets[0],
            private_ip: ip,
            public_ip: Some("20.1.2.3"),
            nic_nsg_id: Some(&nsg),
            asg_ids: &[],
        });
    }
    let inv = b.build();
    let report = evaluate(&inv, &EvalConfig::default()).unwrap();
    assert!(report.vms.iter().any(|v| v.name.contains('"')));
    check(&inv);
}

/// While the model is built it says which bytes it is done with: each chunk of compiled NSGs
/// (within the `networkSecurityGroups` list, covering nearly all of it), and everything once
/// the NICs are resolved and once the VMs are; the report is the owned evaluation's.
#[test]
fn the_model_releases_the_nsgs_it_compiled_and_only_them() {
    let inv = per_vm_nsg_fleet(3_000, 7);
    let part = |key: &str, v: &serde_json::Value| format!("\"{key}\":{v}");
    let v = serde_json::to_value(&inv).unwrap();
    let head = format!(
        "{{{},{},{},{},",
        part("virtualMachines", &v["virtualMachines"]),
        part("networkInterfaces", &v["networkInterfaces"]),
        part("publicIPAddresses", &v["publicIPAddresses"]),
        part("virtualNetworks", &v["virtualNetworks"]),
    );
    let nsgs = part("networkSecurityGroups", &v["networkSecurityGroups"]);
    let json = format!("{head}{nsgs}}}").into_bytes();
    let base = json.as_ptr() as usize;
    let list = base + head.len()..base + head.len() + nsgs.len();

    let mut owned = None;
    let view = Inventory::parse_view(&json, &mut owned).expect("parses");
    let released = std::sync::Mutex::new(Vec::new());
    let record = |r: std::ops::Range<usize>| released.lock().unwrap().push(r);
    let model = Model::from_view_releasing(view, &EvalConfig::default(), &record).expect("builds");
    let mut released = released.into_inner().unwrap();
    let everything = released.iter().filter(|r| **r == (0..usize::MAX)).count();
    assert!(
        everything >= 2,
        "everything once the NICs are resolved, and again once the VMs are: {released:?}"
    );
    released.retain(|r| *r != (0..usize::MAX));
    assert!(!released.is_empty(), "one range per chunk");
    released.sort_by_key(|r| r.start);
    for r in &released {
        assert!(
            list.start <= r.start && r.end <= list.end,
            "{r:?} is outside the NSGs' list {list:?}"
        );
    }
    let covered: usize = released.iter().map(|r| r.end - r.start).sum();
    assert!(
        covered * 100 > (list.end - list.start) * 95,
        "{covered} of {} bytes",
        list.end - list.start
    );
    let mut out = Vec::new();
    write_report(&model, &mut out, Style::Pretty).expect("writes");
    let whole = evaluate(&inv, &EvalConfig::default()).unwrap();
    assert!(out == serde_json::to_vec_pretty(&whole).unwrap());
}

/// A VM's ports with the same verdict (the portal's VMs open one port; the others are private
/// the same way) share its sources, deciding rules and reason, made once, not once per port.
#[test]
fn ports_with_the_same_verdict_share_their_report_parts() {
    let inv = portal_fleet(200, 3);
    let report = evaluate(&inv, &EvalConfig::default()).expect("evaluates");
    let mut shared = 0;
    for vm in &report.vms {
        for (i, a) in vm.exposures.iter().enumerate() {
            for b in &vm.exposures[i + 1..] {
                let same = a.state == b.state
                    && a.reason == b.reason
                    && a.deciding_rules == b.deciding_rules
                    && a.allowed_public_sources == b.allowed_public_sources;
                if same {
                    assert!(
                        std::sync::Arc::ptr_eq(&a.reason, &b.reason),
                        "{}: ports {} and {} agree but their reasons were made twice",
                        vm.name,
                        a.port,
                        b.port
                    );
                    assert!(std::sync::Arc::ptr_eq(&a.deciding_rules, &b.deciding_rules));
                    assert!(std::sync::Arc::ptr_eq(
                        &a.allowed_public_sources,
                        &b.allowed_public_sources
                    ));
                    shared += 1;
                }
            }
        }
    }
    // every VM has at least three ports that agree (three pairs among them)
    assert!(shared >= 3 * report.vms.len(), "{shared} pairs shared");
}
