//! Property test: the set-based evaluator agrees with a naive per-address reference evaluator.
//!
//! The reference is written independently of the engine: it parses the rule strings itself,
//! sorts by priority and, for one concrete source address and one concrete source port, returns
//! the access of the first matching rule, exactly as Azure describes NSG processing. The engine's
//! allowed set must contain a probe address iff some source port lets it through both NSGs.
mod briefs;

use portcullis_shared::fleet::{InventoryBuilder, Rule, VmSpec};
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
    reference_allows_to(rules, a, sport, VM_IP)
}

/// [`reference_allows`] for traffic addressed to `dst` (the frontend's address with floating IP).
fn reference_allows_to(rules: Option<&[R]>, a: u32, sport: u32, dst_ip: u32) -> bool {
    let Some(rules) = rules else { return true };
    let mut all: Vec<R> = rules.to_vec();
    all.extend(defaults());
    all.sort_by_key(|r| r.priority);
    for r in &all {
        let proto = r.protocol.eq_ignore_ascii_case("tcp") || r.protocol == "*";
        let dport = r.dst_ports.iter().any(|p| port_matches(p, 3389));
        let sp = r.src_ports.iter().any(|p| port_matches(p, sport));
        let dst = match r.dst {
            "VirtualNetwork" => true,
            d => addr_matches(d, dst_ip),
        };
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
    "20.1.2.3",
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

// ---------------------------------------------------------------------------------------------
// Paths from the Internet: the same reference, per path, per address, per frontend port
// ---------------------------------------------------------------------------------------------

const FRONTEND_IP: u32 = 0x1401_0203; // 20.1.2.3
const FW_SUBNET: (u32, u32) = (0x0A00_C800, 26); // 10.0.200.0/26

/// A load-balancing rule: (HA ports, backend port, floating IP).
type LbRuleSpec = (bool, u16, bool);

/// A random topology around the VM: its own public IP, a load balancer, a firewall DNAT rule
/// and a security admin rule, each optional.
#[derive(Debug, Clone)]
struct Topology {
    /// None, or the public IP's SKU is Basic.
    pip_basic: Option<bool>,
    /// (Basic SKU, NAT frontend port, NAT backend port, load-balancing rule: None, or
    /// (HA ports, backend port, floating IP)).
    lb: Option<(bool, u16, u16, Option<LbRuleSpec>)>,
    /// (DNAT sources, translated port).
    dnat: Option<(&'static str, u16)>,
    /// (access, source, destination port).
    admin: Option<(&'static str, &'static str, &'static str)>,
}

fn topology_strategy() -> impl Strategy<Value = Topology> {
    let lb = prop::option::of((
        any::<bool>(),
        prop::sample::select(&[50001u16, 3389][..]),
        prop::sample::select(&[3389u16, 22][..]),
        prop::option::of((
            any::<bool>(),
            prop::sample::select(&[3389u16, 22][..]),
            any::<bool>(),
        )),
    ));
    let dnat = prop::option::of((
        prop::sample::select(
            &[
                "*",
                "203.0.113.0/24",
                "20.0.0.0/8",
                "10.0.0.0/8",
                "0.0.0.0/1",
            ][..],
        ),
        prop::sample::select(&[3389u16, 22][..]),
    ));
    let admin = prop::option::of((
        prop::sample::select(&["Allow", "Deny", "AlwaysAllow"][..]),
        prop::sample::select(
            &[
                "*",
                "Internet",
                "203.0.113.0/24",
                "20.0.0.0/8",
                "10.0.200.0/26",
            ][..],
        ),
        prop::sample::select(&["3389", "22", "*", "3000-4000"][..]),
    ));
    (prop::option::of(any::<bool>()), lb, dnat, admin).prop_map(|(pip_basic, lb, dnat, admin)| {
        Topology {
            pip_basic,
            lb,
            dnat,
            admin,
        }
    })
}

fn path_inventory(subnet: &Option<Vec<R>>, nic: &Option<Vec<R>>, t: &Topology) -> Inventory {
    use serde_json::json;
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
        &[
            ("s", "10.0.1.0/24", s_nsg.as_deref()),
            ("AzureFirewallSubnet", "10.0.200.0/26", None),
        ],
    );
    b.vm(&VmSpec {
        name: "vm",
        resource_group: "rg",
        os: "Linux",
        subnet_id: &subnets[0],
        private_ip: "10.0.1.4",
        public_ip: t.pip_basic.map(|_| "20.50.1.2"),
        nic_nsg_id: n_nsg.as_deref(),
        asg_ids: &[],
    });
    let mut inv = b.build();
    if let Some(basic) = t.pip_basic {
        inv.public_ip_addresses[0].sku =
            serde_json::from_value(json!({"name": if basic { "Basic" } else { "Standard" }}))
                .unwrap();
    }
    let p = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Network";
    let ipc = format!(
        "{}/ipConfigurations/ipconfig1",
        inv.network_interfaces[0].id
    );
    inv.public_ip_addresses.push(
        serde_json::from_value(json!({"id": format!("{p}/publicIPAddresses/fe"),
        "sku": {"name": "Standard"}, "properties": {"ipAddress": "20.1.2.3"}}))
        .unwrap(),
    );
    if let Some((basic, front, back, rule)) = t.lb {
        let lb = format!("{p}/loadBalancers/lb");
        let fe = json!({"id": format!("{lb}/frontendIPConfigurations/fe")});
        let rules = match rule {
            None => json!([]),
            Some((ha, back, floating)) => {
                json!([{"id": format!("{lb}/loadBalancingRules/r"), "name": "r", "properties": {
                "frontendIPConfiguration": fe, "backendAddressPool": {"id": format!("{lb}/backendAddressPools/pool")},
                "protocol": if ha { "All" } else { "Tcp" }, "frontendPort": if ha { 0 } else { 443 },
                "backendPort": if ha { 0 } else { back }, "enableFloatingIP": floating}}])
            }
        };
        inv.load_balancers.push(serde_json::from_value(json!({"id": lb, "name": "lb",
            "sku": {"name": if basic { "Basic" } else { "Standard" }}, "properties": {
            "frontendIPConfigurations": [{"id": format!("{lb}/frontendIPConfigurations/fe"), "properties": {
                "publicIPAddress": {"id": format!("{p}/publicIPAddresses/fe")}}}],
            "backendAddressPools": [{"id": format!("{lb}/backendAddressPools/pool"), "properties": {
                "backendIPConfigurations": [{"id": ipc}]}}],
            "loadBalancingRules": rules,
            "inboundNatRules": [{"id": format!("{lb}/inboundNatRules/nat"), "name": "nat", "properties": {
                "frontendIPConfiguration": fe, "protocol": "Tcp", "frontendPort": front, "backendPort": back,
                "backendIPConfiguration": {"id": ipc}}}]}})).unwrap());
    }
    if let Some((src, port)) = t.dnat {
        inv.azure_firewalls.push(serde_json::from_value(json!({"id": format!("{p}/azureFirewalls/fw"), "name": "fw",
            "properties": {"ipConfigurations": [{"properties": {"subnet": {"id": subnets[1]},
                "publicIPAddress": {"id": format!("{p}/publicIPAddresses/fe")}}}],
            "natRuleCollections": [{"name": "c", "properties": {"priority": 100, "action": {"type": "Dnat"}, "rules": [
                {"name": "d", "sourceAddresses": [src], "destinationAddresses": ["20.1.2.3"], "destinationPorts": ["4000"],
                 "protocols": ["TCP"], "translatedAddress": "10.0.1.4", "translatedPort": port.to_string()}]}}]}})).unwrap());
    }
    if let Some((access, src, port)) = t.admin {
        let kind = if src.starts_with(|c: char| c.is_ascii_alphabetic()) {
            "ServiceTag"
        } else {
            "IPPrefix"
        };
        inv.network_manager_effective_security_admin_rules.push(serde_json::from_value(json!({
            "virtualNetwork": {"id": format!("{p}/virtualNetworks/vnet")},
            "value": [{"id": "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Network/networkManagers/nm/securityAdminConfigurations/c/ruleCollections/rc/rules/a",
                "properties": {"access": access, "priority": 5, "direction": "Inbound", "protocol": "Tcp",
                    "sources": [{"addressPrefix": src, "addressPrefixType": kind}],
                    "destinations": [{"addressPrefix": "*", "addressPrefixType": "IPPrefix"}],
                    "sourcePortRanges": [], "destinationPortRanges": [port]}}]})).unwrap());
    }
    inv
}

/// The decision for one address, source port and destination: the admin rule first (Deny and
/// AlwaysAllow end it, Allow hands over), then both NSG levels.
fn reference_decides(
    subnet: &Option<Vec<R>>,
    nic: &Option<Vec<R>>,
    t: &Topology,
    a: u32,
    sport: u32,
    dst: u32,
) -> bool {
    if let Some((access, src, port)) = t.admin {
        if port_matches(port, 3389) && addr_matches(src, a) {
            match access {
                "Deny" => return false,
                "AlwaysAllow" => return true,
                _ => {}
            }
        }
    }
    reference_allows_to(subnet.as_deref(), a, sport, dst)
        && reference_allows_to(nic.as_deref(), a, sport, dst)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn paths_agree_with_the_per_address_reference(
        subnet in level_strategy(),
        nic in level_strategy(),
        t in topology_strategy(),
        random in prop::collection::vec(any::<u32>(), 12),
    ) {
        use portcullis_shared::eval::report::PathKind;
        use portcullis_shared::net::AddrSet;
        let inv = path_inventory(&subnet, &nic, &t);
        let cfg: EvalConfig = serde_json::from_value(serde_json::json!({"managementPorts": [3389]})).unwrap();
        let report = portcullis_shared::evaluate(&inv, &cfg).unwrap();
        let e = &report.vms[0].exposures[0];
        let sports = source_ports();
        let mut extra = random.clone();
        extra.extend([FW_SUBNET.0, FW_SUBNET.0 + 4, FW_SUBNET.0 + 63, FRONTEND_IP]);
        let probes = probes(&extra);
        let allowed = |a: u32, dst: u32| sports.iter().any(|&sp| reference_decides(&subnet, &nic, &t, a, sp, dst));
        let guarded = subnet.is_some() || nic.is_some();
        // (kind, open without an NSG, the address the NSGs see as destination), per expected path
        let mut expected: Vec<(PathKind, bool, u32)> = Vec::new();
        if let Some(basic) = t.pip_basic {
            expected.push((PathKind::PublicIp, basic, VM_IP));
        }
        if let Some((basic, _, back, rule)) = t.lb {
            if back == 3389 {
                expected.push((PathKind::LoadBalancerNat, basic, VM_IP));
            }
            if let Some((ha, rback, floating)) = rule {
                if ha || rback == 3389 {
                    expected.push((PathKind::LoadBalancerRule, basic, if floating { FRONTEND_IP } else { VM_IP }));
                }
            }
        }
        let dnat = t.dnat.filter(|&(_, port)| port == 3389);
        let want_paths = expected.len() + usize::from(dnat.is_some());
        prop_assert_eq!(e.paths.len(), want_paths, "paths {:?} for {:?}", e.paths, t);
        let mut any_reachable = false;
        for (kind, open, dst) in expected {
            let path = e.paths.iter().find(|p| p.kind == kind).expect("path listed");
            let gets_in = open || guarded;
            let got = AddrSet::parse_list(path.allowed_public_sources.iter().map(String::as_str)).unwrap();
            let mut reachable = false;
            for &a in probes.iter().filter(|&&a| is_internet(a)) {
                let want = gets_in && allowed(a, dst);
                reachable |= want;
                prop_assert_eq!(got.contains(Family::V4, u128::from(a)), want,
                    "{:?} address {} subnet={:?} nic={:?} t={:?}", kind, std::net::Ipv4Addr::from(a), subnet, nic, t);
            }
            prop_assert_eq!(path.reachable, reachable, "{:?} reachable: {:?} {:?} {:?}", kind, t, subnet, nic);
            any_reachable |= reachable;
        }
        if let Some((src, _)) = dnat {
            let path = e.paths.iter().find(|p| p.kind == PathKind::FirewallDnat).expect("DNAT path listed");
            let firewall_in = probes.iter().filter(|&&a| in_cidr(a, FW_SUBNET)).any(|&f| allowed(f, VM_IP));
            let got = AddrSet::parse_list(path.allowed_public_sources.iter().map(String::as_str)).unwrap();
            let mut reachable = false;
            for &a in probes.iter().filter(|&&a| is_internet(a)) {
                let want = firewall_in && addr_matches(src, a);
                reachable |= want;
                prop_assert_eq!(got.contains(Family::V4, u128::from(a)), want,
                    "DNAT address {} t={:?} subnet={:?} nic={:?}", std::net::Ipv4Addr::from(a), t, subnet, nic);
            }
            prop_assert_eq!(path.reachable, reachable, "DNAT reachable: {:?}", t);
            any_reachable |= reachable;
        }
        prop_assert_eq!(e.reachable, any_reachable);
    }
}

// ---------------------------------------------------------------------------------------------
// What the table and the JSON summary evaluate (only each port's state, when no load balancer
// or firewall path leads to the VM) agrees with the full reports
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Random rules at both levels, a public IP (Basic, Standard or none) and an admin rule,
    /// with and without a load balancer or firewall: each VM's one-line summary and the
    /// streamed report's summary (its first pass keeps only recommendations) are the full
    /// reports'.
    #[test]
    fn state_only_evaluation_agrees_with_full_reports(
        subnet in level_strategy(),
        nic in level_strategy(),
        t in topology_strategy(),
        twins in 1usize..3,
    ) {
        use portcullis_shared::eval::stream::{write_report, Style};
        let mut inv = path_inventory(&subnet, &nic, &t);
        // a second VM on the same NSGs shares the first one's cached evaluation
        if twins == 2 {
            let mut b = InventoryBuilder::new("sub");
            let vnet = inv.virtual_networks[0].id.clone();
            b.vm(&VmSpec {
                name: "twin",
                resource_group: "rg",
                os: "Windows",
                subnet_id: &format!("{vnet}/subnets/s"),
                private_ip: "10.0.1.5",
                public_ip: Some("20.50.1.3"),
                nic_nsg_id: inv.network_interfaces[0].properties.network_security_group.as_ref().and_then(|n| n.id.as_deref()),
                asg_ids: &[],
            });
            let twin = b.build();
            inv.virtual_machines.extend(twin.virtual_machines);
            inv.network_interfaces.extend(twin.network_interfaces);
            inv.public_ip_addresses.extend(twin.public_ip_addresses);
        }
        let cfg = EvalConfig::default();
        let report = portcullis_shared::evaluate(&inv, &cfg).unwrap();
        briefs::briefs_agree(&inv, &report);
        let model = portcullis_shared::eval::Model::build(&inv, &cfg).unwrap();
        let mut out = Vec::new();
        write_report(&model, &mut out, Style::Compact).unwrap();
        let got: serde_json::Value = serde_json::from_slice(&out).unwrap();
        prop_assert_eq!(&got["control"], &serde_json::to_value(&report.control).unwrap());
        prop_assert_eq!(&got["recommendations"], &serde_json::to_value(&report.recommendations).unwrap());
    }
}
