//! Table-driven cases for every semantic point of docs/ARCHITECTURE.md, "The evaluation".
//!
//! The standard scene: VNet 10.0.0.0/16, subnet 10.0.1.0/24, one VM `vm1` at 10.0.1.4 with
//! public IP 20.50.1.2; the cases vary the subnet NSG and the NIC NSG.
use portcullis_shared::eval::report::{Exposure, State, Status, VmReport};
use portcullis_shared::fleet::{InventoryBuilder, Rule, VmSpec};
use portcullis_shared::{evaluate, EvalConfig, Inventory, Report};

const RG: &str = "rg1";

struct Scene<'a> {
    subnet: Option<Vec<Rule>>,
    nic: Option<Vec<Rule>>,
    public_ip: Option<&'a str>,
    private_ip: &'a str,
    vnet_space: &'a [&'a str],
    subnet_prefix: &'a str,
}

impl Default for Scene<'_> {
    fn default() -> Self {
        Self {
            subnet: None,
            nic: None,
            public_ip: Some("20.50.1.2"),
            private_ip: "10.0.1.4",
            vnet_space: &["10.0.0.0/16"],
            subnet_prefix: "10.0.1.0/24",
        }
    }
}

fn scene_inventory(s: Scene<'_>) -> Inventory {
    let mut b = InventoryBuilder::new("sub1");
    let subnet_nsg = s.subnet.map(|r| b.nsg(RG, "subnet-nsg", r));
    let nic_nsg = s.nic.map(|r| b.nsg(RG, "nic-nsg", r));
    let subnets = b.vnet(
        RG,
        "vnet1",
        s.vnet_space,
        &[("default", s.subnet_prefix, subnet_nsg.as_deref())],
    );
    b.vm(&VmSpec {
        name: "vm1",
        resource_group: RG,
        os: "Windows",
        subnet_id: &subnets[0],
        private_ip: s.private_ip,
        public_ip: s.public_ip,
        nic_nsg_id: nic_nsg.as_deref(),
        asg_ids: &[],
    });
    b.build()
}

fn eval(inv: &Inventory) -> Report {
    evaluate(inv, &EvalConfig::default()).expect("valid inventory")
}

fn vm1(r: &Report) -> &VmReport {
    r.vms
        .iter()
        .find(|v| v.name == "vm1")
        .expect("vm1 evaluated")
}

fn port(v: &VmReport, p: u16) -> &Exposure {
    v.exposures
        .iter()
        .find(|e| e.port == p)
        .expect("port reported")
}

fn nic(rules: Vec<Rule>) -> Scene<'static> {
    Scene {
        nic: Some(rules),
        ..Default::default()
    }
}

/// (case, scene, port, expected state, expected reachable, expected allowed public sources)
type Case = (
    &'static str,
    Scene<'static>,
    u16,
    State,
    bool,
    Option<&'static [&'static str]>,
);

#[test]
fn nsg_semantics_table() {
    use State::*;
    let cases: Vec<Case> = vec![
        (
            "no NSG at all: everything passes the NSGs, but a Standard public IP is closed by default",
            Scene::default(),
            3389,
            Open,
            false,
            Some(&["0.0.0.0/0"]),
        ),
        (
            "only default rules: VNet only",
            nic(vec![]),
            3389,
            Private,
            false,
            Some(&[]),
        ),
        (
            "allow * to 3389",
            nic(vec![Rule::allow("RDP", 300).port("3389").from("*")]),
            3389,
            Open,
            true,
            Some(&["0.0.0.0/0"]),
        ),
        (
            "allow 0.0.0.0/0",
            nic(vec![Rule::allow("RDP", 300).port("3389").from("0.0.0.0/0")]),
            3389,
            Open,
            true,
            Some(&["0.0.0.0/0"]),
        ),
        (
            "allow Internet tag",
            nic(vec![Rule::allow("RDP", 300).port("3389").from("Internet")]),
            3389,
            Open,
            true,
            None,
        ),
        (
            "allow 'internet' lower case",
            nic(vec![Rule::allow("RDP", 300).port("3389").from("internet")]),
            3389,
            Open,
            true,
            None,
        ),
        (
            "allow Any",
            nic(vec![Rule::allow("RDP", 300).port("3389").from("Any")]),
            3389,
            Open,
            true,
            Some(&["0.0.0.0/0"]),
        ),
        (
            "office range only",
            nic(vec![Rule::allow("RDP", 300)
                .port("3389")
                .from("203.0.113.0/24")]),
            3389,
            Restricted,
            true,
            Some(&["203.0.113.0/24"]),
        ),
        (
            "single office address",
            nic(vec![Rule::allow("SSH", 300)
                .port("22")
                .from("198.51.100.7")]),
            22,
            Restricted,
            true,
            Some(&["198.51.100.7/32"]),
        ),
        (
            "private source only",
            nic(vec![Rule::allow("RDP", 300)
                .port("3389")
                .from("10.0.0.0/8")]),
            3389,
            Private,
            false,
            Some(&[]),
        ),
        (
            "VirtualNetwork source",
            nic(vec![Rule::allow("RDP", 300)
                .port("3389")
                .from("VirtualNetwork")]),
            3389,
            Private,
            false,
            Some(&[]),
        ),
        (
            "AzureLoadBalancer source",
            nic(vec![Rule::allow("LB", 300)
                .port("3389")
                .from("AzureLoadBalancer")]),
            3389,
            Private,
            false,
            Some(&[]),
        ),
        (
            "deny first, then allow",
            nic(vec![
                Rule::deny("NoRDP", 100).port("3389"),
                Rule::allow("RDP", 200).port("3389"),
            ]),
            3389,
            Closed,
            false,
            Some(&[]),
        ),
        (
            "allow first, then deny",
            nic(vec![
                Rule::allow("RDP", 100).port("3389"),
                Rule::deny("NoRDP", 200).port("3389"),
            ]),
            3389,
            Open,
            true,
            None,
        ),
        (
            "priority, not payload order",
            nic(vec![
                Rule::allow("RDP", 200).port("3389"),
                Rule::deny("NoRDP", 100).port("3389"),
            ]),
            3389,
            Closed,
            false,
            None,
        ),
        (
            "a custom priority past DenyAllInBound (outside ARM's 100-4096) comes after it",
            nic(vec![Rule::allow("Late", 65501).port("3389").from("*")]),
            3389,
            Private,
            false,
            Some(&[]),
        ),
        (
            "a custom Deny between AllowVnetInBound and DenyAllInBound: the VNet is let in first",
            nic(vec![Rule::deny("Mid", 65200).port("3389").from("*")]),
            3389,
            Private,
            false,
            Some(&[]),
        ),
        (
            "a custom Allow at 65499 still comes before DenyAllInBound",
            nic(vec![Rule::allow("Late", 65499).port("3389").from("*")]),
            3389,
            Open,
            true,
            Some(&["0.0.0.0/0"]),
        ),
        (
            "port range covers 3389",
            nic(vec![Rule::allow("Range", 300).port("3000-4000")]),
            3389,
            Open,
            true,
            None,
        ),
        (
            "port range misses 22",
            nic(vec![Rule::allow("Range", 300).port("3000-4000")]),
            22,
            Private,
            false,
            None,
        ),
        (
            "range edge inclusive",
            nic(vec![Rule::allow("Range", 300).port("22-22")]),
            22,
            Open,
            true,
            None,
        ),
        (
            "plural port list",
            nic(vec![Rule::allow("Mgmt", 300).ports(&["22", "3389"])]),
            22,
            Open,
            true,
            None,
        ),
        (
            "plural port list 2",
            nic(vec![Rule::allow("Mgmt", 300).ports(&["80", "5985-5986"])]),
            5986,
            Open,
            true,
            None,
        ),
        (
            "plural list misses",
            nic(vec![Rule::allow("Web", 300).ports(&["80", "443"])]),
            3389,
            Private,
            false,
            None,
        ),
        (
            "comma list in singular",
            nic(vec![Rule::allow("Mgmt", 300).port("22,3389")]),
            3389,
            Open,
            true,
            None,
        ),
        (
            "dst port *",
            nic(vec![Rule::allow("All", 300).port("*")]),
            5985,
            Open,
            true,
            None,
        ),
        (
            "0-65535",
            nic(vec![Rule::allow("All", 300).port("0-65535")]),
            5985,
            Open,
            true,
            None,
        ),
        (
            "prefixes that cover the Internet",
            nic(vec![Rule::allow("Halves", 300)
                .port("3389")
                .from_list(&["0.0.0.0/1", "128.0.0.0/1"])]),
            3389,
            Open,
            true,
            Some(&["0.0.0.0/0"]),
        ),
        (
            "a /8 worth of public space is open",
            nic(vec![Rule::allow("Two9s", 300)
                .port("3389")
                .from_list(&["20.0.0.0/9", "20.128.0.0/9"])]),
            3389,
            Open,
            true,
            Some(&["20.0.0.0/8"]),
        ),
        (
            "a /9 is restricted",
            nic(vec![Rule::allow("A9", 300).port("3389").from("20.0.0.0/9")]),
            3389,
            Restricted,
            true,
            Some(&["20.0.0.0/9"]),
        ),
        (
            "two /9s are counted together: a /8 worth, open",
            nic(vec![{
                let mut r = Rule::allow("Two9", 300).port("3389").from("20.0.0.0/9");
                r.0.properties.source_address_prefixes = vec!["20.128.0.0/9".into()];
                r
            }]),
            3389,
            Open,
            true,
            Some(&["20.0.0.0/8"]),
        ),
        (
            "Azure's platform address 168.63.129.16 is not public",
            nic(vec![Rule::allow("Wire", 300)
                .port("3389")
                .from("168.63.129.16")]),
            3389,
            Private,
            false,
            Some(&[]),
        ),
        (
            "shared address space 100.64.0.0/10 (RFC 6598) is not public",
            nic(vec![Rule::allow("Cgnat", 300)
                .port("3389")
                .from("100.64.0.0/10")]),
            3389,
            Private,
            false,
            Some(&[]),
        ),
        (
            "plural and singular sources unioned",
            nic(vec![{
                let mut r = Rule::allow("Both", 300).port("3389").from("203.0.113.0/24");
                r.0.properties.source_address_prefixes = vec!["198.51.100.0/24".into()];
                r
            }]),
            3389,
            Restricted,
            true,
            Some(&["198.51.100.0/24", "203.0.113.0/24"]),
        ),
        (
            "protocol TCP upper case",
            nic(vec![Rule::allow("RDP", 300).port("3389").protocol("TCP")]),
            3389,
            Open,
            true,
            None,
        ),
        (
            "protocol tcp lower case",
            nic(vec![Rule::allow("RDP", 300).port("3389").protocol("tcp")]),
            3389,
            Open,
            true,
            None,
        ),
        (
            "protocol *",
            nic(vec![Rule::allow("RDP", 300).port("3389").protocol("*")]),
            3389,
            Open,
            true,
            None,
        ),
        (
            "protocol Udp does not open TCP",
            nic(vec![Rule::allow("RDP", 300).port("3389").protocol("Udp")]),
            3389,
            Private,
            false,
            None,
        ),
        (
            "protocol Icmp does not open TCP",
            nic(vec![Rule::allow("Ping", 300).port("*").protocol("Icmp")]),
            22,
            Private,
            false,
            None,
        ),
        (
            "Udp deny does not close TCP",
            nic(vec![
                Rule::deny("NoUdp", 100).port("3389").protocol("UDP"),
                Rule::allow("RDP", 200).port("3389"),
            ]),
            3389,
            Open,
            true,
            None,
        ),
        (
            "access and direction any case",
            nic(vec![{
                let mut r = Rule::allow("RDP", 300).port("3389");
                r.0.properties.access = Some("ALLOW".into());
                r.0.properties.direction = Some("inbound".into());
                r
            }]),
            3389,
            Open,
            true,
            None,
        ),
        (
            "outbound rules do not apply",
            nic(vec![Rule::allow("Out", 300).port("3389").outbound()]),
            3389,
            Private,
            false,
            None,
        ),
        (
            "allow limited to source port 3389 still exposes",
            nic(vec![Rule::allow("RDP", 300).port("3389").src_port("3389")]),
            3389,
            Open,
            true,
            Some(&["0.0.0.0/0"]),
        ),
        (
            "deny limited to some source ports does not close",
            nic(vec![
                Rule::deny("Hi", 100).port("3389").src_port("1024-65535"),
                Rule::allow("RDP", 200).port("3389"),
            ]),
            3389,
            Open,
            true,
            None,
        ),
        (
            "deny on every source port closes",
            nic(vec![
                Rule::deny("Lo", 100)
                    .port("3389")
                    .src_ports(&["0-1023", "1024-65535"]),
                Rule::allow("RDP", 200).port("3389"),
            ]),
            3389,
            Closed,
            false,
            None,
        ),
        (
            "destination: this VM's private address",
            nic(vec![Rule::allow("RDP", 300).port("3389").to("10.0.1.4")]),
            3389,
            Open,
            true,
            None,
        ),
        (
            "destination: this VM's subnet",
            nic(vec![Rule::allow("RDP", 300).port("3389").to("10.0.1.0/24")]),
            3389,
            Open,
            true,
            None,
        ),
        (
            "destination: another host",
            nic(vec![Rule::allow("RDP", 300).port("3389").to("10.0.1.5")]),
            3389,
            Private,
            false,
            None,
        ),
        (
            "destination: the public IP never matches",
            nic(vec![Rule::allow("RDP", 300).port("3389").to("20.50.1.2")]),
            3389,
            Private,
            false,
            None,
        ),
        (
            "destination: VirtualNetwork",
            nic(vec![Rule::allow("RDP", 300)
                .port("3389")
                .to("VirtualNetwork")]),
            3389,
            Open,
            true,
            None,
        ),
        (
            "destination: Internet does not match",
            nic(vec![Rule::allow("RDP", 300).port("3389").to("Internet")]),
            3389,
            Private,
            false,
            None,
        ),
        (
            "deny aimed at another host does not close",
            nic(vec![
                Rule::deny("Other", 100).port("3389").to("10.0.1.5"),
                Rule::allow("RDP", 200).port("3389"),
            ]),
            3389,
            Open,
            true,
            None,
        ),
        (
            "destination list with this host",
            nic(vec![Rule::allow("RDP", 300)
                .port("3389")
                .to_list(&["10.0.9.9", "10.0.1.4/32"])]),
            3389,
            Open,
            true,
            None,
        ),
        (
            "deny from Internet then allow *: only private",
            nic(vec![
                Rule::deny("NoInternet", 100).port("*").from("Internet"),
                Rule::allow("RDP", 200).port("3389"),
            ]),
            3389,
            Private,
            false,
            None,
        ),
        (
            "deny from a part leaves the rest",
            nic(vec![
                Rule::deny("NoHalf", 100).port("3389").from("0.0.0.0/1"),
                Rule::allow("RDP", 200).port("3389"),
            ]),
            3389,
            Open,
            true,
            Some(&["128.0.0.0/1"]),
        ),
        (
            "no public IP: open but not reachable",
            Scene {
                public_ip: None,
                nic: Some(vec![Rule::allow("RDP", 300).port("3389")]),
                ..Default::default()
            },
            3389,
            Open,
            false,
            None,
        ),
        (
            "subnet NSG only, permissive",
            Scene {
                subnet: Some(vec![Rule::allow("RDP", 300).port("3389")]),
                ..Default::default()
            },
            3389,
            Open,
            true,
            None,
        ),
        (
            "subnet NSG only, defaults",
            Scene {
                subnet: Some(vec![]),
                ..Default::default()
            },
            3389,
            Private,
            false,
            None,
        ),
        (
            "subnet allows, NIC defaults deny",
            Scene {
                subnet: Some(vec![Rule::allow("RDP", 300).port("3389")]),
                nic: Some(vec![]),
                ..Default::default()
            },
            3389,
            Private,
            false,
            None,
        ),
        (
            "subnet defaults deny, NIC allows",
            Scene {
                subnet: Some(vec![]),
                nic: Some(vec![Rule::allow("RDP", 300).port("3389")]),
                ..Default::default()
            },
            3389,
            Private,
            false,
            None,
        ),
        (
            "both allow",
            Scene {
                subnet: Some(vec![Rule::allow("RDP", 300).port("3389")]),
                nic: Some(vec![Rule::allow("RDP", 300).port("3389")]),
                ..Default::default()
            },
            3389,
            Open,
            true,
            None,
        ),
        (
            "subnet *, NIC office: intersection",
            Scene {
                subnet: Some(vec![Rule::allow("RDP", 300).port("3389")]),
                nic: Some(vec![Rule::allow("Office", 300)
                    .port("3389")
                    .from("203.0.113.0/24")]),
                ..Default::default()
            },
            3389,
            Restricted,
            true,
            Some(&["203.0.113.0/24"]),
        ),
        (
            "subnet and NIC disjoint sources: closed to public",
            Scene {
                subnet: Some(vec![Rule::allow("A", 300)
                    .port("3389")
                    .from("203.0.113.0/24")]),
                nic: Some(vec![Rule::allow("B", 300)
                    .port("3389")
                    .from("198.51.100.0/24")]),
                ..Default::default()
            },
            3389,
            Private,
            false,
            Some(&[]),
        ),
        (
            "source-port pieces intersect across levels",
            Scene {
                subnet: Some(vec![Rule::allow("A", 300)
                    .port("3389")
                    .src_port("1000-2000")]),
                nic: Some(vec![Rule::allow("B", 300)
                    .port("3389")
                    .src_port("1500-3000")]),
                ..Default::default()
            },
            3389,
            Open,
            true,
            None,
        ),
        (
            "source-port pieces disjoint across levels",
            Scene {
                subnet: Some(vec![Rule::allow("A", 300)
                    .port("3389")
                    .src_port("1000-1499")]),
                nic: Some(vec![Rule::allow("B", 300)
                    .port("3389")
                    .src_port("1500-3000")]),
                ..Default::default()
            },
            3389,
            Private,
            false,
            None,
        ),
        (
            "IPv6: ::/0 opens a v6 ip configuration",
            Scene {
                private_ip: "fd00::4",
                public_ip: Some("2001:db8:1::4"),
                vnet_space: &["10.0.0.0/16", "fd00::/48"],
                subnet_prefix: "fd00::/64",
                nic: Some(vec![Rule::allow("RDP", 300).port("3389").from("::/0")]),
                ..Default::default()
            },
            3389,
            Open,
            true,
            Some(&["::/0"]),
        ),
        (
            "IPv6: 0.0.0.0/0 does not reach a v6 ip configuration",
            Scene {
                private_ip: "fd00::4",
                public_ip: Some("2001:db8:1::4"),
                vnet_space: &["fd00::/48"],
                subnet_prefix: "fd00::/64",
                nic: Some(vec![Rule::allow("RDP", 300).port("3389").from("0.0.0.0/0")]),
                ..Default::default()
            },
            3389,
            Private,
            false,
            Some(&[]),
        ),
        (
            "IPv6: a /48 is restricted",
            Scene {
                private_ip: "fd00::4",
                public_ip: Some("2001:db8:1::4"),
                vnet_space: &["fd00::/48"],
                subnet_prefix: "fd00::/64",
                nic: Some(vec![Rule::allow("RDP", 300)
                    .port("3389")
                    .from("2001:db8:abcd::/48")]),
                ..Default::default()
            },
            3389,
            Restricted,
            true,
            Some(&["2001:db8:abcd::/48"]),
        ),
        (
            "IPv6: a /32 is open",
            Scene {
                private_ip: "fd00::4",
                public_ip: Some("2001:db8:1::4"),
                vnet_space: &["fd00::/48"],
                subnet_prefix: "fd00::/64",
                nic: Some(vec![Rule::allow("RDP", 300)
                    .port("3389")
                    .from("2001:db8::/32")]),
                ..Default::default()
            },
            3389,
            Open,
            true,
            None,
        ),
        (
            "IPv4 ::/0 rule does not reach a v4 ip configuration",
            nic(vec![Rule::allow("V6", 300).port("3389").from("::/0")]),
            3389,
            Private,
            false,
            None,
        ),
        (
            "public VNet space is not the Internet",
            Scene {
                vnet_space: &["20.0.0.0/16"],
                subnet_prefix: "20.0.1.0/24",
                private_ip: "20.0.1.4",
                nic: Some(vec![Rule::allow("Vnet", 300)
                    .port("3389")
                    .from("20.0.0.0/16")]),
                ..Default::default()
            },
            3389,
            Private,
            false,
            None,
        ),
        (
            "unknown service tag treated as Internet for Allow",
            nic(vec![Rule::allow("Cloud", 300)
                .port("3389")
                .from("AzureCloud")]),
            3389,
            Open,
            true,
            None,
        ),
        (
            "unknown service tag Deny denies nothing",
            nic(vec![
                Rule::deny("Cloud", 100).port("3389").from("AzureCloud"),
                Rule::allow("RDP", 200).port("3389"),
            ]),
            3389,
            Open,
            true,
            None,
        ),
        (
            "source 0.0.0.0 on an Allow reads as any address, as CIS does",
            nic(vec![Rule::allow("RDP", 300).port("3389").from("0.0.0.0")]),
            3389,
            Open,
            true,
            None,
        ),
        (
            "source 0.0.0.0 on a Deny denies nothing",
            nic(vec![
                Rule::deny("Zero", 100).port("3389").from("0.0.0.0"),
                Rule::allow("RDP", 200).port("3389"),
            ]),
            3389,
            Open,
            true,
            None,
        ),
        (
            "source /0 on an Allow reads as any address",
            nic(vec![Rule::allow("RDP", 300).port("3389").from("/0")]),
            3389,
            Open,
            true,
            None,
        ),
        (
            "source 0/0 (Checkov's and KICS's 'anything ending in /0') reads as any address",
            nic(vec![Rule::allow("RDP", 300).port("3389").from("0/0")]),
            3389,
            Open,
            true,
            None,
        ),
        (
            "source 0.0/0 on a Deny denies nothing",
            nic(vec![
                Rule::deny("Zero", 100).port("3389").from("0.0/0"),
                Rule::allow("RDP", 200).port("3389"),
            ]),
            3389,
            Open,
            true,
            None,
        ),
        (
            "source 0.0.0.0/32 is the one address, not public",
            nic(vec![Rule::allow("RDP", 300).port("3389").from("0.0.0.0/32")]),
            3389,
            Private,
            false,
            Some(&[]),
        ),
    ];
    let mut failures = Vec::new();
    let n = cases.len();
    for (name, scene, p, state, reachable, sources) in cases {
        let r = eval(&scene_inventory(scene));
        let e = port(vm1(&r), p);
        let mut bad = Vec::new();
        if e.state != state {
            bad.push(format!("state {:?} != {:?}", e.state, state));
        }
        if e.reachable != reachable {
            bad.push(format!("reachable {} != {}", e.reachable, reachable));
        }
        if let Some(s) = sources {
            if e.allowed_public_sources.to_vec()
                != s.iter().map(|x| x.to_string()).collect::<Vec<_>>()
            {
                bad.push(format!("sources {:?} != {:?}", e.allowed_public_sources, s));
            }
        }
        if !bad.is_empty() {
            failures.push(format!("{name}: {} (reason: {})", bad.join("; "), e.reason));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `0.0.0.0`, `/0` and `0/0` are "any" to the CIS benchmark and to scanners, one address (or nothing)
/// to Azure: each is read at its worst and a warning names the rule and says so.
#[test]
fn uncertain_any_sources_warn_and_name_the_rule() {
    let r = eval(&scene_inventory(nic(vec![
        Rule::deny("Zero", 100).port("22").from("0.0.0.0"),
        Rule::allow("Slash", 200).port("3389").from("/0"),
        Rule::allow("Short", 300).port("5985").from("0/0"),
    ])));
    let zero = r
        .warnings
        .iter()
        .find(|w| w.contains("\"0.0.0.0\""))
        .expect("a warning for 0.0.0.0");
    assert!(zero.contains("securityRules[0]"), "{zero}");
    assert!(
        zero.contains("this Deny is treated as denying nothing"),
        "{zero}"
    );
    let slash = r
        .warnings
        .iter()
        .find(|w| w.contains("\"/0\""))
        .expect("a warning for /0");
    assert!(slash.contains("securityRules[1]"), "{slash}");
    assert!(slash.contains("treated as the whole Internet"), "{slash}");
    let short = r
        .warnings
        .iter()
        .find(|w| w.contains("\"0/0\""))
        .expect("a warning for 0/0");
    assert!(short.contains("securityRules[2]"), "{short}");
    assert!(short.contains("Azure refuses it"), "{short}");
    assert_eq!(port(vm1(&r), 5985).state, State::Open);
    assert!(
        !r.warnings.iter().any(|w| w.contains("service tag")),
        "{:?}",
        r.warnings
    );
    assert_eq!(port(vm1(&r), 3389).state, State::Open);
}

#[test]
fn a_rule_naming_the_public_ip_as_destination_warns_and_decides_nothing() {
    // NSGs see the private address: the Deny "closes" nothing, and says so
    let r = eval(&scene_inventory(nic(vec![
        Rule::deny("DenyRdpToPip", 100).port("3389").to("20.50.1.2"),
        Rule::deny("DenySshToPipRange", 110)
            .port("22")
            .to("20.50.1.0/24"),
        Rule::allow("AnyRdp", 200).port("3389").from("*"),
        Rule::deny("DenySshBoth", 120)
            .port("22")
            .to_list(&["20.50.1.2", "10.0.1.4"]),
        Rule::allow("WebToPip", 300).port("443").to("20.50.1.2"),
    ])));
    assert_eq!(port(vm1(&r), 3389).state, State::Open);
    assert_eq!(port(vm1(&r), 22).state, State::Closed);
    let warned: Vec<&String> = r
        .warnings
        .iter()
        .filter(|w| w.contains("as its destination"))
        .collect();
    assert_eq!(warned.len(), 2, "{:?}", r.warnings);
    assert!(
        warned[0].starts_with("networkSecurityGroups[0].properties.securityRules[0]: rule \"DenyRdpToPip\" (Deny 100) names 20.50.1.2, the public IP of "),
        "{}",
        warned[0]
    );
    assert!(
        warned[0].ends_with(
            "addressed to the private address 10.0.1.4, so the rule does not apply to it"
        ),
        "{}",
        warned[0]
    );
    assert!(
        warned[1].contains("securityRules[1]: rule \"DenySshToPipRange\""),
        "{}",
        warned[1]
    );
    // a rule that names the private address too applies; a rule for another port is not read
    let quiet = scene_inventory(nic(vec![Rule::allow("AnyRdp", 200).port("3389").from("*")]));
    assert!(
        !eval(&quiet)
            .warnings
            .iter()
            .any(|w| w.contains("as its destination")),
        "no rule, no warning"
    );
}

#[test]
fn deciding_rules_name_the_rule_and_nsg() {
    let r = eval(&scene_inventory(nic(vec![
        Rule::allow("Web", 200).port("443"),
        Rule::allow("RDP", 300).port("3389").from("*"),
    ])));
    let e = port(vm1(&r), 3389);
    assert_eq!(e.deciding_rules.len(), 1, "{:?}", e.deciding_rules);
    let d = &e.deciding_rules[0];
    assert_eq!((&*d.rule, d.priority), ("RDP", 300));
    assert!(
        d.nsg.ends_with("/networkSecurityGroups/nic-nsg"),
        "{}",
        d.nsg
    );
    assert!(e.reason.contains("RDP"), "{}", e.reason);
    // closed: the deny that stopped the Internet is named
    let r = eval(&scene_inventory(nic(vec![
        Rule::deny("BlockRDP", 100).port("3389")
    ])));
    let e = port(vm1(&r), 3389);
    assert_eq!(e.state, State::Closed);
    assert_eq!(&*e.deciding_rules[0].rule, "BlockRDP");
    // private: the default deny is what stops public sources
    let r = eval(&scene_inventory(nic(vec![])));
    let names: Vec<&str> = port(vm1(&r), 22)
        .deciding_rules
        .iter()
        .map(|d| &*d.rule)
        .collect();
    assert!(names.contains(&"DenyAllInBound"), "{names:?}");
}

#[test]
fn application_security_groups() {
    let mut b = InventoryBuilder::new("sub1");
    let web = b.asg(RG, "asg-web");
    let jump = b.asg(RG, "asg-jump");
    let other = b.asg(RG, "asg-other");
    let nsg = b.nsg(
        RG,
        "nsg",
        vec![
            // RDP to members of asg-web from anywhere
            Rule::allow("RdpToWeb", 200)
                .port("3389")
                .to_asg(&web.to_uppercase()),
            // SSH to asg-other only
            Rule::allow("SshToOther", 210).port("22").to_asg(&other),
            // WinRM from the jump hosts' ASG only
            Rule::allow("WinRmFromJump", 220)
                .port("5985")
                .from_asg(&jump),
        ],
    );
    let subnets = b.vnet(
        RG,
        "vnet",
        &["10.1.0.0/16"],
        &[("s", "10.1.0.0/24", Some(&nsg))],
    );
    b.vm(&VmSpec {
        name: "web1",
        resource_group: RG,
        os: "Linux",
        subnet_id: &subnets[0],
        private_ip: "10.1.0.4",
        public_ip: Some("20.1.1.1"),
        nic_nsg_id: None,
        asg_ids: &[&web],
    });
    b.vm(&VmSpec {
        name: "jump1",
        resource_group: RG,
        os: "Linux",
        subnet_id: &subnets[0],
        private_ip: "10.1.0.5",
        public_ip: None,
        nic_nsg_id: None,
        asg_ids: &[&jump],
    });
    let r = eval(&b.build());
    let web1 = r.vms.iter().find(|v| v.name == "web1").unwrap();
    assert_eq!(
        port(web1, 3389).state,
        State::Open,
        "member of the destination ASG"
    );
    assert_eq!(
        port(web1, 22).state,
        State::Private,
        "not a member of asg-other"
    );
    assert_eq!(
        port(web1, 5985).state,
        State::Private,
        "WinRM only from the jump ASG (private)"
    );
    let jump1 = r.vms.iter().find(|v| v.name == "jump1").unwrap();
    assert_eq!(
        port(jump1, 3389).state,
        State::Private,
        "jump1 is not in asg-web"
    );
}

#[test]
fn joins_are_case_insensitive() {
    let mut inv = scene_inventory(Scene {
        subnet: Some(vec![]),
        nic: Some(vec![Rule::allow("RDP", 300)
            .port("3389")
            .from("203.0.113.0/24")]),
        ..Default::default()
    });
    // shout every reference, whisper every id
    for vm in &mut inv.virtual_machines {
        for n in &mut vm.props_mut().network_profile.network_interfaces {
            n.id = n.id.as_ref().map(|s| s.to_uppercase());
        }
    }
    for nic in &mut inv.network_interfaces {
        nic.id = nic.id.to_lowercase();
        if let Some(n) = &mut nic.props_mut().network_security_group {
            n.id =
                n.id.as_ref()
                    .map(|s| s.replace("resourceGroups", "RESOURCEGROUPS"));
        }
        for c in &mut nic.props_mut().ip_configurations {
            if let Some(s) = &mut c.properties.subnet {
                s.id = s.id.as_ref().map(|x| x.to_uppercase());
            }
            if let Some(p) = &mut c.properties.public_ip_address {
                p.id =
                    p.id.as_ref()
                        .map(|x| x.replace("publicIPAddresses", "publicipaddresses"));
            }
        }
    }
    for n in &mut inv.network_security_groups {
        n.id = n.id.to_lowercase();
    }
    let r = eval(&inv);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let v = vm1(&r);
    assert_eq!(v.public_ips, vec!["20.50.1.2"]);
    // the subnet NSG (defaults) blocks the NIC NSG's office rule: both were found
    assert_eq!(port(v, 3389).state, State::Private);
    assert_eq!(
        v.recommendations.internet_facing_vms_protected_by_nsg,
        Status::Healthy
    );
}

#[test]
fn missing_nsg_counts_as_none_and_warns() {
    let mut inv = scene_inventory(nic(vec![]));
    inv.network_security_groups.clear();
    let r = eval(&inv);
    let v = vm1(&r);
    assert_eq!(
        port(v, 3389).state,
        State::Open,
        "a partial inventory must not look safer"
    );
    assert_eq!(
        v.recommendations.internet_facing_vms_protected_by_nsg,
        Status::Unhealthy
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("not in the inventory")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn missing_nic_is_treated_as_unprotected() {
    let mut inv = scene_inventory(nic(vec![]));
    inv.network_interfaces.clear();
    let r = eval(&inv);
    let v = vm1(&r);
    assert_eq!(v.recommendations.management_ports_closed, Status::Unhealthy);
    assert!(!port(v, 22).reachable);
    assert!(!r.warnings.is_empty());
}

#[test]
fn recommendations_per_design() {
    use Status::*;
    // (case, scene, jit ports + state, expected [nsg, closed, jit], control status)
    type RecCase = (
        &'static str,
        Scene<'static>,
        Option<(&'static [u16], &'static str)>,
        [Status; 3],
        Status,
    );
    let cases: Vec<RecCase> = vec![
        (
            "open RDP, no JIT",
            nic(vec![Rule::allow("RDP", 300).port("3389")]),
            None,
            [Healthy, Unhealthy, Unhealthy],
            Unhealthy,
        ),
        (
            "closed ports, no JIT, public IP",
            nic(vec![]),
            None,
            [Healthy, Healthy, NotApplicable],
            Healthy,
        ),
        (
            "no public IP, closed",
            Scene {
                public_ip: None,
                nic: Some(vec![]),
                ..Default::default()
            },
            None,
            [NotApplicable, Healthy, NotApplicable],
            Healthy,
        ),
        (
            "no NSG, public IP",
            Scene::default(),
            None,
            [Unhealthy, Unhealthy, Unhealthy],
            Unhealthy,
        ),
        (
            "no NSG, no public IP: open but private",
            Scene {
                public_ip: None,
                ..Default::default()
            },
            None,
            [NotApplicable, Unhealthy, Unhealthy],
            Unhealthy,
        ),
        (
            "restricted office range is not open",
            nic(vec![Rule::allow("RDP", 300)
                .port("3389")
                .from("203.0.113.0/24")]),
            None,
            [Healthy, Healthy, NotApplicable],
            Healthy,
        ),
        (
            "JIT enabled, deny rules in place",
            nic(vec![
                Rule::deny("SecurityCenter-JITRule_1_AB", 4096)
                    .port("3389")
                    .to("10.0.1.4"),
                Rule::deny("SecurityCenter-JITRule_2_AB", 4095)
                    .port("22")
                    .to("10.0.1.4"),
            ]),
            Some((&[22, 3389], "Succeeded")),
            [Healthy, Healthy, Healthy],
            Healthy,
        ),
        (
            "JIT covers 22 but 3389 open",
            nic(vec![
                Rule::allow("RDP", 300).port("3389"),
                Rule::deny("SecurityCenter-JITRule_1_AB", 4096)
                    .port("22")
                    .to("10.0.1.4"),
            ]),
            Some((&[22], "Succeeded")),
            [Healthy, Unhealthy, Unhealthy],
            Unhealthy,
        ),
        (
            "JIT deny below older permissive allow (MX-20)",
            nic(vec![
                Rule::allow("OldRDP", 1000).port("3389"),
                Rule::deny("SecurityCenter-JITRule_1_AB", 4096)
                    .port("3389")
                    .to("10.0.1.4"),
            ]),
            Some((&[3389], "Succeeded")),
            [Healthy, Unhealthy, Unhealthy],
            Unhealthy,
        ),
        (
            "JIT access granted to one address (active request)",
            nic(vec![
                Rule::allow("SecurityCenter-JITRule-1-AB", 100)
                    .port("3389")
                    .from("198.51.100.7")
                    .to("10.0.1.4"),
                Rule::deny("SecurityCenter-JITRule_1_AB", 4096)
                    .port("3389")
                    .to("10.0.1.4"),
            ]),
            Some((&[3389], "Succeeded")),
            [Healthy, Healthy, Healthy],
            Healthy,
        ),
        (
            "JIT policy not Succeeded does not count",
            nic(vec![]),
            Some((&[3389], "Failed")),
            [Healthy, Healthy, NotApplicable],
            Healthy,
        ),
    ];
    let mut failures = Vec::new();
    for (name, scene, jit, expected, control) in cases {
        let mut b = InventoryBuilder::from_inventory("sub1", scene_inventory(scene));
        if let Some((ports, state)) = jit {
            let vm_id = b.inv.virtual_machines[0].id.clone();
            b.jit(RG, &vm_id, ports, state);
        }
        let r = eval(&b.build());
        let v = vm1(&r);
        let got = [
            v.recommendations.internet_facing_vms_protected_by_nsg,
            v.recommendations.management_ports_closed,
            v.recommendations.management_ports_jit_protected,
        ];
        if got != expected || v.status != control {
            failures.push(format!(
                "{name}: got {got:?} / {:?}, expected {expected:?} / {control:?}",
                v.status
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn jit_coverage_is_per_port() {
    let mut b = InventoryBuilder::from_inventory(
        "sub1",
        scene_inventory(nic(vec![Rule::allow("RDP", 300).port("3389")])),
    );
    let vm_id = b.inv.virtual_machines[0].id.to_uppercase();
    b.jit(RG, &vm_id, &[22], "Succeeded");
    let r = eval(&b.build());
    let v = vm1(&r);
    assert!(port(v, 22).jit_protected);
    assert!(!port(v, 3389).jit_protected);
    assert!(v.jit_policy.is_some());
}

#[test]
fn control_counts_and_score() {
    // 1 healthy (office-restricted), 2 unhealthy (open), 1 not applicable (no NIC)
    let mut b = InventoryBuilder::new("sub1");
    let open = b.nsg(RG, "open", vec![Rule::allow("RDP", 300).port("3389")]);
    let office = b.nsg(
        RG,
        "office",
        vec![Rule::allow("RDP", 300).port("3389").from("203.0.113.0/24")],
    );
    let s = b.vnet(RG, "vnet", &["10.0.0.0/16"], &[("a", "10.0.1.0/24", None)]);
    for (i, nsg) in [&open, &open, &office].iter().enumerate() {
        b.vm(&VmSpec {
            name: &format!("vm{i}"),
            resource_group: RG,
            os: "Windows",
            subnet_id: &s[0],
            private_ip: &format!("10.0.1.{}", 10 + i),
            public_ip: None,
            nic_nsg_id: Some(nsg),
            asg_ids: &[],
        });
    }
    let mut inv = b.build();
    let mut lonely = inv.virtual_machines[0].clone();
    lonely.id = lonely.id.replace("vm0", "lonely");
    lonely.name = Some("lonely".into());
    lonely
        .props_mut()
        .network_profile
        .network_interfaces
        .clear();
    inv.virtual_machines.push(lonely);
    let r = eval(&inv);
    let c = &r.control;
    assert_eq!((c.healthy, c.unhealthy, c.not_applicable), (1, 2, 1));
    assert_eq!(c.current_score, 2.67);
    assert_eq!(c.percentage, 33.33);
    assert!(c.applicable);
    let closed = r
        .recommendations
        .iter()
        .find(|x| x.key.as_str() == "managementPortsClosed")
        .unwrap();
    assert_eq!(
        (closed.healthy, closed.unhealthy, closed.not_applicable),
        (1, 2, 1)
    );
}

#[test]
fn empty_inventory_is_not_applicable() {
    let r = eval(&Inventory::default());
    assert!(!r.control.applicable);
    assert_eq!(r.control.current_score, 0.0);
    assert!(r.vms.is_empty());
}

#[test]
fn configurable_ports_and_threshold() {
    let inv = scene_inventory(nic(vec![
        Rule::allow("Dns", 300).port("53").protocol("Udp"),
        Rule::allow("A9", 310).port("3389").from("20.0.0.0/9"),
    ]));
    let cfg: EvalConfig = serde_json::from_value(serde_json::json!({
        "managementPorts": [3389, {"port": 53, "protocol": "Udp"}],
        "openThresholdIpv4Prefix": 9
    }))
    .unwrap();
    let r = evaluate(&inv, &cfg).unwrap();
    let v = vm1(&r);
    assert_eq!(v.exposures.len(), 2);
    assert_eq!(
        port(v, 3389).state,
        State::Open,
        "a /9 is open with threshold /9"
    );
    let dns = port(v, 53);
    assert_eq!((dns.state, dns.protocol.as_str()), (State::Open, "Udp"));
}

#[test]
fn multiple_ip_configurations_take_the_worst() {
    let mut b = InventoryBuilder::new("sub1");
    let nsg = b.nsg(
        RG,
        "nsg",
        vec![Rule::allow("RDP2", 300).port("3389").to("10.0.1.5")],
    );
    let s = b.vnet(RG, "vnet", &["10.0.0.0/16"], &[("a", "10.0.1.0/24", None)]);
    let vm_id = b.id(RG, "Microsoft.Compute/virtualMachines", "vm1");
    let nic_id = b.id(RG, "Microsoft.Network/networkInterfaces", "nic1");
    let pip = b.public_ip(RG, "pip1", "20.9.9.9");
    let c1 = b.ipconfig(
        &format!("{nic_id}/ipConfigurations/a"),
        "10.0.1.4",
        &s[0],
        Some(&pip),
        &[],
    );
    let c2 = b.ipconfig(
        &format!("{nic_id}/ipConfigurations/b"),
        "10.0.1.5",
        &s[0],
        None,
        &[],
    );
    b.nic(&nic_id, "nic1", &vm_id, vec![c1, c2], Some(&nsg));
    let mut inv = b.build();
    inv.virtual_machines
        .push(serde_json::from_value(serde_json::json!({"id": vm_id, "name": "vm1"})).unwrap());
    let r = eval(&inv);
    let e = port(vm1(&r), 3389);
    assert_eq!(e.state, State::Open, "the second ip configuration is open");
    assert!(
        !e.reachable,
        "but it has no public IP; the one with a public IP is private"
    );
}

#[test]
fn whole_fleet_report_equals_vm_by_vm_evaluation() {
    // large enough for the `parallel` feature to share the VMs out between threads
    let inv = portcullis_shared::fleet::synthetic_fleet(3_000, 7);
    let cfg = EvalConfig::default();
    let whole = evaluate(&inv, &cfg).unwrap();
    let model = portcullis_shared::eval::Model::build(&inv, &cfg).unwrap();
    let one_by_one: Vec<VmReport> = inv
        .virtual_machines
        .iter()
        .map(|vm| model.evaluate_vm(vm))
        .collect();
    assert_eq!(whole.vms.len(), 3_000);
    assert_eq!(whole.vms, one_by_one);
    assert!(
        whole.control.unhealthy > 0 && whole.control.healthy > 0,
        "{:?}",
        whole.control
    );
}

/// NSGs that hold the same rules under other names (the portal makes one per VM) give the same
/// verdicts, and are evaluated once; each VM's verdict still names its own NSGs and rules, at
/// the NIC and at the subnet. NSGs one source apart do not share.
#[test]
fn alike_nsgs_share_verdicts_but_name_their_own_rules() {
    let mut b = InventoryBuilder::new("sub1");
    let ssh = |rule: &str, from: &str| vec![Rule::allow(rule, 300).port("22").from(from)];
    let nsg_a = b.nsg(RG, "a-nsg", ssh("SSH", "*"));
    let nsg_b = b.nsg(RG, "b-nsg", ssh("ssh-b", "*"));
    let nsg_c = b.nsg(RG, "c-nsg", ssh("SSH", "203.0.113.0/24"));
    let no_rdp = |rule: &str| {
        vec![
            Rule::deny(rule, 200).port("3389").from("Internet"),
            Rule::allow("ssh-in", 300).port("22").from("*"),
        ]
    };
    let sub_1 = b.nsg(RG, "sub1-nsg", no_rdp("no-rdp"));
    let sub_2 = b.nsg(RG, "sub2-nsg", no_rdp("no-rdp-2"));
    // a subnet NSG and a NIC NSG alike to each other and to a-nsg
    let sub_3 = b.nsg(RG, "sub3-nsg", ssh("sub-ssh", "*"));
    let nsg_d = b.nsg(RG, "d-nsg", ssh("ssh-d", "*"));
    let subnets = b.vnet(
        RG,
        "vnet1",
        &["10.0.0.0/16"],
        &[
            ("one", "10.0.1.0/24", Some(&sub_1)),
            ("two", "10.0.2.0/24", Some(&sub_2)),
            ("three", "10.0.3.0/24", Some(&sub_3)),
        ],
    );
    let vms = [
        ("vm-a", 0, "10.0.1.4", "20.50.1.2", &nsg_a),
        ("vm-b", 1, "10.0.2.4", "20.50.1.3", &nsg_b),
        ("vm-c", 1, "10.0.2.5", "20.50.1.4", &nsg_c),
        ("vm-d", 2, "10.0.3.4", "20.50.1.5", &nsg_d),
    ];
    for (name, subnet, private_ip, public_ip, nsg) in vms {
        b.vm(&VmSpec {
            name,
            resource_group: RG,
            os: "Linux",
            subnet_id: &subnets[subnet],
            private_ip,
            public_ip: Some(public_ip),
            nic_nsg_id: Some(nsg),
            asg_ids: &[],
        });
    }
    let r = eval(&b.build());
    let vm = |n: &str| r.vms.iter().find(|v| v.name == n).expect("evaluated");
    let rules = |e: &Exposure| -> Vec<(String, String)> {
        e.deciding_rules
            .iter()
            .map(|d| (d.nsg.to_string(), d.rule.to_string()))
            .collect()
    };

    // SSH open, each by its own subnet NSG's and NIC NSG's rules
    for (n, sub, sub_rule, nsg, rule, nsg_name) in [
        ("vm-a", &sub_1, "ssh-in", &nsg_a, "SSH", "a-nsg"),
        ("vm-b", &sub_2, "ssh-in", &nsg_b, "ssh-b", "b-nsg"),
        ("vm-d", &sub_3, "sub-ssh", &nsg_d, "ssh-d", "d-nsg"),
    ] {
        let e = port(vm(n), 22);
        assert_eq!(e.state, State::Open, "{n}");
        let want = [
            (sub.clone(), sub_rule.to_string()),
            (nsg.clone(), rule.to_string()),
        ];
        assert_eq!(rules(e), want, "{n}");
        assert!(
            e.reason.contains(nsg_name) && e.reason.contains(rule),
            "{n}: {}",
            e.reason
        );
    }
    // RDP from the Internet stopped by each subnet's own Deny (the VNet's sources still pass)
    for (n, sub, rule) in [("vm-a", &sub_1, "no-rdp"), ("vm-b", &sub_2, "no-rdp-2")] {
        let e = port(vm(n), 3389);
        assert_eq!(e.state, State::Private, "{n}");
        assert!(
            rules(e).contains(&(sub.clone(), rule.to_string())),
            "{n}: {:?}",
            rules(e)
        );
    }
    // one source apart: not the same verdict
    assert_eq!(port(vm("vm-c"), 22).state, State::Restricted);
    // no VM's verdict names another VM's NSG, on any port
    for (name, subnet, _, _, nsg) in vms {
        let own = [nsg.clone(), [&sub_1, &sub_2, &sub_3][subnet].clone()];
        for e in &vm(name).exposures {
            for (n, rule) in rules(e) {
                assert!(own.contains(&n), "{name} port {}: {rule} of {n}", e.port);
            }
            for other in [
                "a-nsg", "b-nsg", "c-nsg", "d-nsg", "sub1-nsg", "sub2-nsg", "sub3-nsg",
            ] {
                let mine = own.iter().any(|o| o.ends_with(&format!("/{other}")));
                assert!(
                    mine || !e.reason.contains(other),
                    "{name} port {}: {}",
                    e.port,
                    e.reason
                );
            }
        }
    }
}

/// On an estate of portal-made VMs (an NSG each, of four kinds), the report with alike NSGs
/// sharing their evaluation is the report each NSG gets on its own: giving every NSG a rule of
/// its own for a port no one asks about (so that no two are alike) changes nothing in it.
#[test]
fn sharing_alike_nsgs_changes_no_report() {
    let inv = portcullis_shared::fleet::portal_fleet(3_000, 7);
    let kinds: std::collections::HashSet<String> = inv
        .network_security_groups
        .iter()
        .map(|n| {
            let rules: Vec<String> = n
                .properties
                .security_rules
                .iter()
                .map(|r| format!("{:?}", r.properties))
                .collect();
            rules.join("|")
        })
        .collect();
    assert!(
        kinds.len() * 100 < inv.network_security_groups.len(),
        "{} kinds of NSG among {}: the estate is meant to have few",
        kinds.len(),
        inv.network_security_groups.len()
    );
    let mut apart = inv.clone();
    for (i, n) in apart.network_security_groups.iter_mut().enumerate() {
        let id = n.id.clone();
        let Rule(mut r) = Rule::allow("own-rule", 4000)
            .port(&format!("{}", 9000 + i / 256))
            .from(&format!("192.0.2.{}/32", i % 256));
        r.id = Some(format!("{id}/securityRules/own-rule"));
        std::sync::Arc::make_mut(&mut n.properties)
            .security_rules
            .push(r);
    }
    let shared = eval(&inv);
    let alone = eval(&apart);
    let open = |r: &Report| {
        r.vms
            .iter()
            .filter(|v| v.exposures.iter().any(|e| e.state == State::Open))
            .count()
    };
    assert!(open(&shared) > 0, "{:?}", shared.control);
    assert_eq!(shared.vms.len(), 3_000);
    for (a, b) in shared.vms.iter().zip(&alone.vms) {
        assert_eq!(a, b, "{}", a.name);
    }
    assert_eq!(shared, alone);
}
