//! Whatever a payload contains, `evaluate` answers with a report or a path-named error: it never
//! panics. Random mutations of a realistic inventory's leaves (strings, numbers, nulls, lists).
use portcullis_shared::fleet::{InventoryBuilder, Rule, VmSpec};
use portcullis_shared::{evaluate, EvalConfig, Inventory};
use proptest::prelude::*;
use serde_json::Value;

fn base() -> Value {
    let mut b = InventoryBuilder::new("s");
    let asg = b.asg("rg", "web");
    let nsg = b.nsg(
        "rg",
        "nsg",
        vec![
            Rule::allow("RDP", 300).port("3389").from("*"),
            Rule::deny("D", 200)
                .ports(&["22", "5985-5986"])
                .from_list(&["10.0.0.0/8", "2001:db8::/32"]),
            Rule::allow("A", 310)
                .port("*")
                .src_port("1000-2000")
                .to_asg(&asg),
        ],
    );
    let s = b.vnet(
        "rg",
        "vnet",
        &["10.0.0.0/16"],
        &[("a", "10.0.1.0/24", Some(&nsg))],
    );
    let vm = b.vm(&VmSpec {
        name: "vm",
        resource_group: "rg",
        os: "Linux",
        subnet_id: &s[0],
        private_ip: "10.0.1.4",
        public_ip: Some("20.1.1.1"),
        nic_nsg_id: Some(&nsg),
        asg_ids: &[&asg],
    });
    b.jit("rg", &vm, &[22], "Succeeded");
    serde_json::to_value(b.build()).unwrap()
}

/// Paths to every leaf (and list) of a JSON value.
fn leaves(v: &Value, path: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                path.push(PathStep::Key(k.clone()));
                leaves(x, path, out);
                path.pop();
            }
        }
        Value::Array(a) => {
            out.push(path.clone());
            for (i, x) in a.iter().enumerate() {
                path.push(PathStep::Index(i));
                leaves(x, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

#[derive(Debug, Clone)]
enum PathStep {
    Key(String),
    Index(usize),
}

/// The JSON pointer (RFC 6901) of a path.
fn pointer(path: &[PathStep]) -> String {
    path.iter()
        .map(|s| match s {
            PathStep::Key(k) => format!("/{}", k.replace('~', "~0").replace('/', "~1")),
            PathStep::Index(i) => format!("/{i}"),
        })
        .collect()
}

const STRINGS: &[&str] = &[
    "",
    "*",
    " ",
    "-1",
    "0",
    "65535",
    "65536",
    "1-0",
    "0-65535",
    "22,3389",
    "abc",
    "Tcp",
    "ALL",
    "icmp",
    "Allow",
    "deny",
    "Outbound",
    "1.2.3.4",
    "1.2.3.4/33",
    "::",
    "::/0",
    "fe80::1%eth0",
    "10.0.0.0/8,Internet",
    "Internet",
    "VirtualNetwork",
    "Storage.WestEurope",
    "/subscriptions/x",
    "/",
    "IPv6",
    "ipv4",
    "Failed",
    "PT3H",
    "\u{1F512}",
];

fn replacement() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(STRINGS).prop_map(|s| Value::String(s.to_string())),
        prop::sample::select(vec![-1i64, 0, 99, 100, 4096, 65535, 65536, i64::MAX])
            .prop_map(Value::from),
        Just(Value::Null),
        Just(Value::Bool(true)),
        Just(serde_json::json!([])),
        Just(serde_json::json!(["*", "1.2.3.4/0"])),
        Just(serde_json::json!({"id": "/subscriptions/s/x"})),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn mutated_inventories_never_panic(picks in prop::collection::vec((any::<prop::sample::Index>(), replacement()), 1..4)) {
        let mut v = base();
        for (idx, new) in picks {
            let mut paths: Vec<Vec<PathStep>> = Vec::new();
            leaves(&v, &mut Vec::new(), &mut paths);
            let chosen: &Vec<PathStep> = idx.get(&paths);
            let ptr = pointer(chosen);
            *v.pointer_mut(&ptr).expect("a leaf of the current value") = new;
        }
        let bytes = serde_json::to_vec(&v).unwrap();
        match Inventory::from_json(&bytes) {
            Err(e) => prop_assert!(!e.to_string().is_empty()),
            Ok(inv) => match evaluate(&inv, &EvalConfig::default()) {
                Ok(r) => prop_assert!(r.vms.len() <= 1),
                Err(e) => prop_assert!(!e.path.is_empty(), "an error names its path: {e}"),
            },
        }
    }
}
