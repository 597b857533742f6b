//! Property test: the set-based evaluator agrees with a naive per-address reference evaluator.
//!
//! The reference is written independently of the engine: it parses the rule strings itself,
//! sorts by priority and, for one concrete source address and one concrete source port, returns
//! the access of the first matching rule, exactly as Azure describes NSG processing. The engine's
//! allowed set must contain a probe address iff some source port lets it through both NSGs.
use portcullis_shared::build::{InventoryBuilder, Rule, VmSpec};
use portcullis_shared::net::Family;
use portcullis_shared::{EvalConfig, Inventory};
use proptest::prelude::*;

const VM_IP: u32 = 0x0A00_0104; // 10.0.1.4
const VNET: (u32, u32) = (0x0A00_0000, 16); // 10.0.0.0/16

fn ip(s: &str) -> u32 {
    u32::from(s.parse::<std::net::Ipv4Addr>().unwrap())
}

/// (network, prefix length) of an IPv4 CIDR or address.
fn cidr(s: &str) -> Option<(u32, u32)> {
    let (a, l) = s.split_once('/').unwrap_or((s, "32"));
    let a: std::net::Ipv4Addr = a.parse().ok()?;
    let l: u32 = l.parse().ok()?;
    let mask = if l == 0 { 0 } else { u32::MAX << (32 - l) };
    Some((u32::from(a) & mask, l))
}

fn in_cidr(a: u32, (net, len): (u32, u32)) -> bool {
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    a & mask == net
}

fn is_internet(a: u32) -> bool {
    const SPECIAL: &[&str] = &[
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "168.63.129.16/32",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/4",
        "240.0.0.0/4",
    ];
    !SPECIAL.iter().any(|s| in_cidr(a, cidr(s).unwrap())) && !in_cidr(a, VNET)
}

fn addr_matches(expr: &str, a: u32) -> bool {
    expr.split(',').any(|t| match t.trim() {
        "*" => true,
        "Internet" => is_internet(a),
        "VirtualNetwork" => in_cidr(a, VNET),
        "AzureLoadBalancer" => a == ip("168.63.129.16"),
        other => cidr(other).is_some_and(|c| in_cidr(a, c)),
    })
}

fn port_matches(expr: &str, p: u32) -> bool {
    expr.split(',').any(|t| {
        let t = t.trim();
        if t == "*" {
            return true;
        }
        match t.split_once('-') {
            Some((lo, hi)) => {
                (lo.parse::<u32>().unwrap()..=hi.parse::<u32>().unwrap()).contains(&p)
            }
            None => t.parse::<u32>().unwrap() == p,
        }
    })
}

/// One rule reduced to the strings the reference reads.
#[derive(Debug, Clone)]
struct R {
    allow: bool,
    priority: i64,
    protocol: &'static str,
    dst_ports: Vec<&'static str>,
    src_ports: Vec<&'static str>,
    src: Vec<&'static str>,
    dst: &'static str,
}

fn defaults() -> Vec<R> {
    let d = |allow, priority, src| R {
        allow,
        priority,
        protocol: "*",
        dst_ports: vec!["*"],
        src_ports: vec!["*"],
        src: vec![src],
        dst: "*",
    };
    vec![
        d(true, 65000, "VirtualNetwork"),
        d(true, 65001, "AzureLoadBalancer"),
        d(false, 65500, "*"),
    ]
}

/// First-match decision for one address and one source port (None = no NSG at this level).
fn reference_allows(rules: Option<&[R]>, a: u32, sport: u32) -> bool {
    let Some(rules) = rules else { return true };
    let mut all: Vec<R> = rules.to_vec();
    all.extend(defaults());
    all.sort_by_key(|r| r.priority);
    for r in &all {
        let proto = r.protocol.eq_ignore_ascii_case("tcp") || r.protocol == "*";
        let dport = r.dst_ports.iter().any(|p| port_matches(p, 3389));
        let sp = r.src_ports.iter().any(|p| port_matches(p, sport));
        let dst = addr_matches(r.dst, VM_IP);
        let src = r.src.iter().any(|s| addr_matches(s, a));
        if proto && dport && sp && dst && src {
            return r.allow;
        }
    }
    unreachable!("DenyAllInBound matches everything")
}

fn to_rule(r: &R, i: usize) -> Rule {
    let base = if r.allow {
        Rule::allow(&format!("r{i}"), r.priority)
    } else {
        Rule::deny(&format!("r{i}"), r.priority)
    };
    let base = base.protocol(r.protocol).to(r.dst);
    let base = if r.dst_ports.len() == 1 {
        base.port(r.dst_ports[0])
    } else {
        base.ports(&r.dst_ports)
    };
    let base = if r.src_ports.len() == 1 {
        base.src_port(r.src_ports[0])
    } else {
        base.src_ports(&r.src_ports)
    };
    if r.src.len() == 1 {
        base.from(r.src[0])
    } else {
        base.from_list(&r.src)
    }
}

const SRC: &[&str] = &[
    "*",
    "Internet",
    "VirtualNetwork",
    "AzureLoadBalancer",
    "0.0.0.0/0",
    "20.0.0.0/8",
    "20.1.0.0/16",
    "20.1.2.3",
    "10.0.0.0/8",
    "10.0.1.0/24",
    "203.0.113.0/24",
    "128.0.0.0/1",
    "0.0.0.0/1",
    "168.63.129.16",
    "172.0.0.0/8",
];
const DST: &[&str] = &[
    "*",
    "10.0.1.4",
    "10.0.1.5",
    "10.0.1.0/24",
    "10.0.0.0/16",
    "VirtualNetwork",
    "Internet",
    "20.50.1.2",
];
const DPORTS: &[&str] = &[
    "3389",
    "*",
    "22",
    "3000-4000",
    "3390-4000",
    "0-3389",
    "3389-3389",
];
const SPORTS: &[&str] = &[
    "*",
    "1000-2000",
    "3389",
    "0-1023",
    "1024-65535",
    "1500-3000",
];
const PROTOS: &[&str] = &["Tcp", "*", "Udp", "tcp", "Icmp"];

fn rule_strategy() -> impl Strategy<Value = R> {
    (
        any::<bool>(),
        prop::sample::select(PROTOS),
        prop::collection::vec(prop::sample::select(DPORTS), 1..3),
        prop::collection::vec(prop::sample::select(SPORTS), 1..3),
        prop::collection::vec(prop::sample::select(SRC), 1..3),
        prop::sample::select(DST),
    )
        .prop_map(|(allow, protocol, dst_ports, src_ports, src, dst)| {
            // multiple service tags cannot share a rule in ARM; keep lists to prefixes only
            let src = if src.len() > 1
                && src
                    .iter()
                    .any(|s| s.chars().next().unwrap().is_alphabetic() || *s == "*")
            {
                vec![src[0]]
            } else {
                src
            };
            R {
                allow,
                priority: 0,
                protocol,
                dst_ports,
                src_ports,
                src,
                dst,
            }
        })
}

fn level_strategy() -> impl Strategy<Value = Option<Vec<R>>> {
    prop::option::weighted(0.85, prop::collection::vec(rule_strategy(), 0..7)).prop_map(|o| {
        o.map(|mut rules| {
            // unique priorities, in a shuffled-looking but deterministic order
            for (i, r) in rules.iter_mut().enumerate() {
                r.priority = 100 + ((i as i64 * 37) % 11) * 10 + i as i64;
            }
            rules
        })
    })
}

fn inventory(subnet: &Option<Vec<R>>, nic: &Option<Vec<R>>) -> Inventory {
    let mut b = InventoryBuilder::new("sub");
    let conv = |rs: &Vec<R>| {
        rs.iter()
            .enumerate()
            .map(|(i, r)| to_rule(r, i))
            .collect::<Vec<_>>()
    };
    let s_nsg = subnet
        .as_ref()
        .map(|rs| b.nsg("rg", "subnet-nsg", conv(rs)));
    let n_nsg = nic.as_ref().map(|rs| b.nsg("rg", "nic-nsg", conv(rs)));
    let subnets = b.vnet(
        "rg",
        "vnet",
        &["10.0.0.0/16"],
        &[("s", "10.0.1.0/24", s_nsg.as_deref())],
    );
    b.vm(&VmSpec {
        name: "vm",
        resource_group: "rg",
        os: "Linux",
        subnet_id: &subnets[0],
        private_ip: "10.0.1.4",
        public_ip: Some("20.50.1.2"),
        nic_nsg_id: n_nsg.as_deref(),
        asg_ids: &[],
    });
    b.build()
}

/// Addresses worth probing: every prefix edge and its neighbours, plus the random ones.
fn probes(extra: &[u32]) -> Vec<u32> {
    let mut out: Vec<u32> = extra.to_vec();
    for s in SRC.iter().chain(DST).chain(
        [
            "100.64.0.0/10",
            "127.0.0.0/8",
            "169.254.0.0/16",
            "192.168.0.0/16",
            "224.0.0.0/4",
            "240.0.0.0/4",
            "172.16.0.0/12",
        ]
        .iter(),
    ) {
        if let Some((net, len)) = cidr(s) {
            let last = net | u32::MAX.checked_shr(len).unwrap_or(0);
            out.extend([
                net,
                net.wrapping_sub(1),
                last,
                last.wrapping_add(1),
                net.wrapping_add(1),
            ]);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Source ports worth probing: every edge of the pool and its neighbours.
fn source_ports() -> Vec<u32> {
    let mut out = vec![0, 65535];
    for s in SPORTS {
        if let Some((lo, hi)) = s.split_once('-') {
            let (lo, hi): (u32, u32) = (lo.parse().unwrap(), hi.parse().unwrap());
            out.extend([lo, hi, lo.saturating_sub(1), (hi + 1).min(65535)]);
        } else if let Ok(p) = s.parse::<u32>() {
            out.extend([p, p.saturating_sub(1), p + 1]);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn set_evaluator_agrees_with_per_address_reference(
        subnet in level_strategy(),
        nic in level_strategy(),
        random in prop::collection::vec(any::<u32>(), 16),
    ) {
        let inv = inventory(&subnet, &nic);
        let cfg: EvalConfig = serde_json::from_value(serde_json::json!({"managementPorts": [3389]})).unwrap();
        let model = portcullis_shared::eval::Model::build(&inv, &cfg).unwrap();
        let allowed = model.allowed_sources(&inv.virtual_machines[0]).remove(0);
        prop_assert!(allowed.v6.is_empty(), "an IPv4 ip configuration sees no IPv6 sources");
        let sports = source_ports();
        for a in probes(&random) {
            let expected = sports.iter().any(|&sp| {
                reference_allows(subnet.as_deref(), a, sp) && reference_allows(nic.as_deref(), a, sp)
            });
            let got = allowed.contains(Family::V4, u128::from(a));
            prop_assert_eq!(got, expected, "address {} subnet={:?} nic={:?}", std::net::Ipv4Addr::from(a), subnet, nic);
        }
    }
}
