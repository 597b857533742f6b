//! Paths from the Internet beyond the NIC's own public IP (docs/ARCHITECTURE.md, "Paths from the Internet"):
//! public load balancers (inbound NAT rules v1 and v2, load-balancing rules incl. HA ports and
//! floating IP), Azure Firewall DNAT rules (classic and Firewall Policy), application gateways'
//! TCP/TLS listeners (`paths/app_gateway.rs`), and Azure Bastion as managed access.
//!
//! [`Ingress::build`] resolves, once per inventory, every public frontend that forwards to an
//! ip configuration; the engine then judges each one with the NSG verdicts it already has
//! (load balancers keep the client address; a firewall rewrites it to its own).
use super::keys::{fx_map, Ci, FxMap, NONE};
use super::report::{ManagedAccess, PathKind};
use super::Protocol;
use crate::arm::view::{Inventory, PublicIpAddress};
use crate::arm::*;
use crate::inventory::InputError;
use crate::net::addr::{non_public, parse_ip};
use crate::net::ports::PortSet;
use crate::net::{AddrSet, Cidr, Family, IntervalSet};
use smallvec::SmallVec;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

mod app_gateway;

/// A parsed ip configuration, its joins resolved to indices at build time.
#[derive(Debug, Clone)]
pub(crate) struct IpConf<'a> {
    pub id: Cow<'a, str>,
    pub family: Family,
    /// Destination addresses (one address, or a prefix for prefix ip configurations);
    /// `None` when the payload has no private address.
    pub addrs: Option<IntervalSet>,
    pub private_ip: Option<Arc<str>>,
    pub asgs: Vec<u32>,
    pub subnet_nsg: u32,
    pub vnet: u32,
    pub has_public: bool,
    /// A public load balancer frontend forwards to it (set once the paths are resolved): with
    /// a public IP, what makes it Internet-facing for Recommendation 1.
    pub lb_facing: bool,
    pub public_ip: Option<Arc<str>>,
    /// The public IP's resource id.
    pub public_ip_id: Option<Arc<str>>,
    /// The public IP is Basic (open without an NSG), or not in the inventory (taken as such).
    pub pip_basic: bool,
    /// The subnet has an NSG, or may have one the inventory does not show (its NSG or the
    /// subnet itself missing): Standard frontends then count as guarded.
    pub subnet_guard: bool,
}

/// A public frontend that forwards to one ip configuration.
#[derive(Debug, Clone)]
pub(crate) struct Frontend {
    pub kind: PathKind,
    /// The LB rule / NAT rule id, or the firewall / rule collection group id.
    pub via: Arc<str>,
    /// Names the path in sentences: `load balancer lb-web NAT rule rdp`.
    pub label: Arc<str>,
    /// The frontend's public address (`?` when the inventory does not hold it).
    pub ip: Arc<str>,
    /// Frontend ports; with `backend_port: None` the frontend port equals the VM's port.
    pub ports: (u16, u16),
    /// The port on the VM; `None` for every port (HA ports, or a load balancer we cannot see).
    pub backend_port: Option<u16>,
    pub protocol: Protocol,
    /// Reachable without an NSG on the path: a Basic SKU, or a frontend we cannot see (a
    /// partial inventory never makes a VM look safer). Standard is closed by default.
    pub open_without_nsg: bool,
    /// Floating IP: the NSGs see the frontend address as the destination.
    pub floating: Option<(Family, u128)>,
    /// A firewall DNAT rule: index into [`Ingress::dnats`]; `NONE` otherwise.
    pub dnat: u32,
}

/// One DNAT rule that translates to some ip configuration, or one application gateway
/// routing rule (a proxy: the same judgement, sources rewritten).
#[derive(Debug, Clone)]
pub(crate) struct Dnat {
    /// The rule's sources, less those that an earlier DNAT rule for the same frontend takes;
    /// for a gateway, what its subnet's NSG admits (filled in once the NSGs are compiled).
    pub sources: AddrSet,
    /// The firewall's own addresses (the gateway's subnet), the source the VM's NSGs see;
    /// `None` when unknown (then the NSGs are taken to let it in).
    pub seen_from: Option<AddrSet>,
    /// An application gateway's listener: what judges its clients.
    pub gate: Option<Gate>,
}

/// The NSG of an application gateway's subnet, which judges the clients of one listener.
#[derive(Debug, Clone)]
pub(crate) struct Gate {
    /// The subnet's NSG; `NONE` for none (or one the inventory lacks): every source.
    pub nsg: u32,
    pub vnet: u32,
    /// The gateway's addresses as the NSG's destinations: its subnet and the public frontend.
    pub dest: AddrSet,
    /// The listener's port.
    pub port: u16,
    /// The frontend's address family (`None` when its address is unknown).
    pub family: Option<Family>,
}

/// Every path beyond the NIC's public IP, per ip configuration, and the managed access per VNet.
#[derive(Debug, Default)]
pub(crate) struct Ingress {
    /// Ip configuration index (in the model) -> its frontends.
    pub by_conf: FxMap<u32, Vec<Frontend>>,
    pub dnats: Vec<Dnat>,
    /// VNet index -> the Bastions serving it (empty when none).
    pub managed: Vec<Arc<[ManagedAccess]>>,
    /// VNet index -> the VNets it is peered with (Connected).
    pub peers: Vec<SmallVec<[u32; 2]>>,
}

/// A public IP as the engine needs it.
#[derive(Debug, Clone)]
pub(crate) struct Pip {
    pub address: Option<Arc<str>>,
    /// `Basic` SKU: open to inbound traffic without an NSG.
    pub basic: bool,
}

impl Pip {
    pub fn of(p: &PublicIpAddress) -> Self {
        Pip {
            address: p
                .properties
                .ip_address
                .filter(|s| !crate::eval::trim(s).is_empty())
                .map(Arc::from),
            basic: p.sku.as_ref().is_some_and(|s| s.is("Basic")),
        }
    }
}

fn last_segment(id: &str) -> &str {
    id.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
}

/// The parent resource of a child id: `/…/loadBalancers/lb1/backendAddressPools/p` with
/// `kind = "loadBalancers"` gives `/…/loadBalancers/lb1`.
fn parent_of<'i>(id: &'i str, kind: &str) -> Option<&'i str> {
    let lower = id.to_ascii_lowercase();
    let needle = format!("/{}/", kind.to_ascii_lowercase());
    let at = lower.find(&needle)?;
    let rest = &id[at + needle.len()..];
    let end = rest.find('/').map_or(id.len(), |k| at + needle.len() + k);
    Some(&id[..end])
}

fn port_value(v: Option<i64>, path: impl Fn() -> String, min: i64) -> Result<u16, InputError> {
    match v {
        Some(n) if (min..=65535).contains(&n) => Ok(n as u16),
        Some(n) => Err(InputError::new(
            path(),
            format!("{n} is not a port ({min}-65535)"),
        )),
        None => Err(InputError::new(path(), "missing port")),
    }
}

fn lb_protocol(s: Option<&str>, path: impl Fn() -> String) -> Result<Protocol, InputError> {
    match s.map(str::trim) {
        Some(p) if p.eq_ignore_ascii_case("all") => Ok(Protocol::Any),
        Some(p) if p.eq_ignore_ascii_case("tcp") => Ok(Protocol::Tcp),
        Some(p) if p.eq_ignore_ascii_case("udp") => Ok(Protocol::Udp),
        Some(p) => Err(InputError::value(
            path(),
            p,
            "is not a protocol (Tcp, Udp, All)",
        )),
        None => Err(InputError::new(path(), "missing protocol (Tcp, Udp, All)")),
    }
}

/// A firewall address: `*`, an address, a CIDR, or a range `a-b`.
fn fw_address(s: &str) -> Option<AddrSet> {
    let s = s.trim();
    if s == "*" {
        return Some(AddrSet::all());
    }
    if let Some((a, b)) = s.split_once('-') {
        let (fa, lo) = parse_ip(a.trim())?;
        let (fb, hi) = parse_ip(b.trim())?;
        if fa != fb || lo > hi {
            return None;
        }
        let set = IntervalSet::range(lo, hi);
        return Some(match fa {
            Family::V4 => AddrSet {
                v4: set,
                v6: IntervalSet::empty(),
            },
            Family::V6 => AddrSet {
                v4: IntervalSet::empty(),
                v6: set,
            },
        });
    }
    Cidr::parse(s).map(|c| AddrSet::from_cidr(&c))
}

/// What a load balancer frontend resolves to.
struct FrontendInfo {
    public: bool,
    ip: Arc<str>,
    addr: Option<(Family, u128)>,
}

/// The inputs of [`Ingress::build`] that the engine resolved already.
pub(crate) struct Joins<'m, 'a> {
    pub inv: &'m Inventory<'a>,
    pub confs: &'m [IpConf<'a>],
    /// NIC `i`'s ip configurations: `confs[nic_confs[i]..nic_confs[i + 1]]`.
    pub nic_confs: &'m [u32],
    pub pips: &'m FxMap<Ci<'a>, Pip>,
    /// Subnet id -> (subnet NSG, VNet index).
    pub subnets: &'m FxMap<Ci<'a>, (u32, u32)>,
    /// VNet id -> index.
    pub vnet_index: &'m FxMap<Ci<'a>, u32>,
}

/// Ip configurations by id and by (VNet, address), for the references from a load balancer's
/// side, and the members of pools and NAT rules (pool / NAT rule key -> ip configurations,
/// from both sides).
#[derive(Default)]
struct LbJoins<'c> {
    conf_by_id: FxMap<Ci<'c>, u32>,
    conf_by_addr: FxMap<(u32, u128), u32>,
    pool_members: FxMap<String, Vec<u32>>,
    nat_members: FxMap<String, Vec<u32>>,
}

/// One load balancer being resolved: its SKU and frontends.
struct Lb<'l> {
    li: usize,
    lb: &'l LoadBalancer,
    name: &'l str,
    /// Basic SKU (open without an NSG).
    basic: bool,
    /// Frontend key -> what it resolves to.
    frontends: FxMap<String, FrontendInfo>,
}

impl<'l> Lb<'l> {
    fn new(
        j: &Joins<'_, '_>,
        li: usize,
        lb: &'l LoadBalancer,
        warnings: &mut Vec<String>,
    ) -> Result<Self, InputError> {
        let lpath = |rest: &str| format!("loadBalancers[{li}].properties.{rest}");
        let name = lb.name.as_deref().unwrap_or(last_segment(&lb.id));
        // a load balancer's SKU is its frontends' public IPs' (they must match): without a
        // `sku`, a Basic frontend IP makes it Basic
        let basic = match lb.sku.as_ref().and_then(|s| s.name.as_deref()) {
            Some(_) => lb.sku.as_ref().is_some_and(|s| s.is("Basic")),
            None => lb.properties.frontend_ip_configurations.iter().any(|f| {
                f.properties
                    .public_ip_address
                    .as_ref()
                    .and_then(|r| r.id.as_deref())
                    .and_then(|id| j.pips.get(&Ci::new(id)))
                    .is_some_and(|p| p.basic)
            }),
        };
        let p = &lb.properties;
        // frontends
        let mut frontends: FxMap<String, FrontendInfo> = fx_map(p.frontend_ip_configurations.len());
        for (fi, f) in p.frontend_ip_configurations.iter().enumerate() {
            let id = match (&f.id, &f.name) {
                (Some(id), _) => id.clone(),
                (None, Some(n)) => format!("{}/frontendIPConfigurations/{n}", lb.id),
                _ => continue,
            };
            let fp = &f.properties;
            let pip = fp.public_ip_address.as_ref().and_then(|r| r.id.as_deref());
            let public = pip.is_some() || fp.public_ip_prefix.is_some();
            let (ip, addr): (Arc<str>, _) = match pip {
                Some(pid) => match j.pips.get(&Ci::new(pid)).map(|p| p.address.clone()) {
                    Some(Some(a)) => {
                        let parsed = parse_ip(&a);
                        (a, parsed)
                    }
                    Some(None) => (Arc::from("?"), None),
                    None => {
                        warnings.push(format!(
                            "load balancer {name}: public IP {pid} of frontend {} is not in the inventory; its address is unknown, its paths are still evaluated",
                            last_segment(&id)
                        ));
                        (Arc::from("?"), None)
                    }
                },
                None => match fp.private_ip_address.as_deref() {
                    Some(a) if !public => {
                        let parsed = parse_ip(a).ok_or_else(|| {
                            InputError::value(
                                lpath(&format!(
                                    "frontendIPConfigurations[{fi}].properties.privateIPAddress"
                                )),
                                a,
                                "is not an IP address",
                            )
                        })?;
                        (Arc::from(a), Some(parsed))
                    }
                    _ => (Arc::from("?"), None),
                },
            };
            frontends.insert(id_key(&id), FrontendInfo { public, ip, addr });
        }
        Ok(Lb {
            li,
            lb,
            name,
            basic,
            frontends,
        })
    }

    fn path(&self, rest: &str) -> String {
        format!("loadBalancers[{}].properties.{rest}", self.li)
    }

    fn frontend(
        &self,
        r: &Option<SubResource>,
        path: String,
    ) -> Result<Option<&FrontendInfo>, InputError> {
        let Some(id) = r.as_ref().and_then(|r| r.id.as_deref()) else {
            return Err(InputError::new(path, "missing frontendIPConfiguration"));
        };
        Ok(self.frontends.get(&id_key(id)))
    }
}

/// A load balancer's pools: members from its side too (NIC-based or IP-based).
fn lb_pool_members(j: &Joins<'_, '_>, l: &Lb<'_>, m: &mut LbJoins<'_>) {
    let p = &l.lb.properties;
    // pools: members from the LB side too
    for pool in &p.backend_address_pools {
        let Some(pid) = &pool.id else { continue };
        let members = m.pool_members.entry(id_key(pid)).or_default();
        for r in pool
            .properties
            .backend_ip_configurations
            .iter()
            .filter_map(|r| r.id.as_deref())
        {
            if let Some(&k) = m.conf_by_id.get(&Ci::new(r)) {
                members.push(k);
            }
        }
        for a in &pool.properties.load_balancer_backend_addresses {
            let ap = &a.properties;
            if let Some(r) = ap
                .network_interface_ip_configuration
                .as_ref()
                .and_then(|r| r.id.as_deref())
            {
                if let Some(&k) = m.conf_by_id.get(&Ci::new(r)) {
                    members.push(k);
                }
                continue;
            }
            let Some(ip) = ap.ip_address.as_deref() else {
                continue;
            };
            let Some((_, addr)) = parse_ip(ip) else {
                continue;
            };
            let vnet = ap
                .virtual_network
                .as_ref()
                .and_then(|r| r.id.as_deref())
                .and_then(|v| j.vnet_index.get(&Ci::new(v)).copied())
                .or_else(|| {
                    let s = ap.subnet.as_ref()?.id.as_deref()?;
                    j.subnets.get(&Ci::new(s)).map(|&(_, v)| v)
                });
            if let Some(&k) = vnet.and_then(|v| m.conf_by_addr.get(&(v, addr))) {
                members.push(k);
            }
        }
    }
}

impl Ingress {
    /// Nothing to resolve when the inventory has no load balancer, firewall or Bastion and no
    /// ip configuration names a load balancer.
    pub fn needed(inv: &Inventory) -> bool {
        !inv.load_balancers.is_empty()
            || !inv.azure_firewalls.is_empty()
            || !inv.application_gateways.is_empty()
            || !inv.bastion_hosts.is_empty()
            || inv
                .virtual_networks
                .iter()
                .any(|v| !v.properties.virtual_network_peerings.is_empty())
            || inv.network_interfaces.iter().any(|n| {
                n.properties.ip_configurations.iter().any(|c| {
                    !c.properties.load_balancer_backend_address_pools.is_empty()
                        || !c.properties.load_balancer_inbound_nat_rules.is_empty()
                })
            })
    }

    pub fn build(j: &Joins<'_, '_>, warnings: &mut Vec<String>) -> Result<Self, InputError> {
        let inv = j.inv;
        let mut ing = Ingress {
            managed: vec![Arc::from([]); inv.virtual_networks.len()],
            peers: vec![SmallVec::new(); inv.virtual_networks.len()],
            ..Default::default()
        };
        ing.peerings(j);
        ing.bastions(j, warnings);
        ing.load_balancers(j, warnings)?;
        ing.firewalls(j, warnings)?;
        ing.application_gateways(j, warnings)?;
        Ok(ing)
    }

    /// VNet peerings (Connected, either side listing it), both ways.
    fn peerings(&mut self, j: &Joins<'_, '_>) {
        for (a, vnet) in j.inv.virtual_networks.iter().enumerate() {
            for p in &vnet.properties.virtual_network_peerings {
                let connected = p
                    .properties
                    .peering_state
                    .is_none_or(|s| s.trim().eq_ignore_ascii_case("connected"));
                let remote = p
                    .properties
                    .remote_virtual_network
                    .as_ref()
                    .and_then(|r| r.id)
                    .and_then(|id| j.vnet_index.get(&Ci::new(id)).copied());
                if let (true, Some(b)) = (connected, remote) {
                    let a = a as u32;
                    if !self.peers[a as usize].contains(&b) {
                        self.peers[a as usize].push(b);
                    }
                    if !self.peers[b as usize].contains(&a) {
                        self.peers[b as usize].push(a);
                    }
                }
            }
        }
    }

    /// Bastions by the VNets they serve: their own, and peered ones (not the Developer SKU).
    fn bastions(&mut self, j: &Joins<'_, '_>, warnings: &mut Vec<String>) {
        let mut per_vnet: Vec<Vec<ManagedAccess>> = vec![Vec::new(); self.managed.len()];
        for b in j.inv.bastion_hosts.iter() {
            let sku = b
                .sku
                .as_ref()
                .and_then(|s| s.name.as_deref())
                .unwrap_or_default();
            let developer = sku.trim().eq_ignore_ascii_case("developer");
            let vnet_id = match &b.properties.virtual_network {
                Some(SubResource { id: Some(id) }) => Some(id.as_str()),
                _ => b
                    .properties
                    .ip_configurations
                    .iter()
                    .filter_map(|c| c.properties.subnet.as_ref()?.id.as_deref())
                    .find_map(|s| parent_of(s, "virtualNetworks")),
            };
            let Some(vnet_id) = vnet_id else {
                warnings.push(format!(
                    "Bastion {}: no subnet or virtual network; not counted as managed access",
                    b.id
                ));
                continue;
            };
            let Some(&v) = j.vnet_index.get(&Ci::new(vnet_id)) else {
                warnings.push(format!(
                    "Bastion {}: virtual network {vnet_id} is not in the inventory; not counted as managed access",
                    b.id
                ));
                continue;
            };
            let access = ManagedAccess {
                kind: Arc::from("bastion"),
                via: Arc::from(b.id.as_str()),
                name: Arc::from(b.name.as_deref().unwrap_or(last_segment(&b.id))),
                sku: Arc::from(sku),
                virtual_network: Arc::from(vnet_id),
            };
            per_vnet[v as usize].push(access.clone());
            if !developer {
                for &p in &self.peers[v as usize] {
                    per_vnet[p as usize].push(access.clone());
                }
            }
        }
        for (v, list) in per_vnet.into_iter().enumerate() {
            if !list.is_empty() {
                self.managed[v] = list.into();
            }
        }
    }

    fn push(&mut self, conf: u32, f: Frontend) {
        let list = self.by_conf.entry(conf).or_default();
        let same = |g: &Frontend| {
            g.kind == f.kind
                && g.via == f.via
                && g.label == f.label
                && g.ip == f.ip
                && g.ports == f.ports
                && g.backend_port == f.backend_port
        };
        if !list.iter().any(same) {
            list.push(f);
        }
    }

    fn load_balancers(
        &mut self,
        j: &Joins<'_, '_>,
        warnings: &mut Vec<String>,
    ) -> Result<(), InputError> {
        let inv = j.inv;
        // ip configuration ids and (VNet, address) -> index, for the LB-side references
        let mut m = LbJoins::default();
        let conf_by_id = &mut m.conf_by_id;
        let conf_by_addr = &mut m.conf_by_addr;
        if !inv.load_balancers.is_empty() {
            for (k, c) in j.confs.iter().enumerate() {
                conf_by_id.insert(Ci::owned(c.id.clone()), k as u32);
                if let (Some(a), true) = (&c.addrs, c.vnet != NONE) {
                    conf_by_addr.insert((c.vnet, a.ranges()[0].0), k as u32);
                }
            }
        }
        self.nic_side_members(j, &mut m, warnings);
        for (li, lb) in inv.load_balancers.iter().enumerate() {
            let l = Lb::new(j, li, lb, warnings)?;
            lb_pool_members(j, &l, &mut m);
            self.lb_nat_rules(&l, &m)?;
            self.lb_rules(&l, &m)?;
        }
        Ok(())
    }

    /// Pool and NAT rule members as the NICs list them; a load balancer the inventory lacks
    /// is a public path to every port.
    fn nic_side_members(
        &mut self,
        j: &Joins<'_, '_>,
        m: &mut LbJoins<'_>,
        warnings: &mut Vec<String>,
    ) {
        let inv = j.inv;
        // pool / NAT rule key -> the ip configurations in it (from both sides)
        let mut known: FxMap<String, ()> = fx_map(0);
        for lb in inv.load_balancers.iter() {
            known.insert(id_key(&lb.id), ());
        }
        for (n, nic) in inv.network_interfaces.iter().enumerate() {
            let first = j.nic_confs[n];
            for (c, conf) in nic.properties.ip_configurations.iter().enumerate() {
                let k = first + c as u32;
                let p = &conf.properties;
                for (refs, members, what) in [
                    (
                        &p.load_balancer_backend_address_pools,
                        &mut m.pool_members,
                        "backend pool",
                    ),
                    (
                        &p.load_balancer_inbound_nat_rules,
                        &mut m.nat_members,
                        "inbound NAT rule",
                    ),
                ] {
                    for r in refs.iter().filter_map(|r| r.id) {
                        let lb = parent_of(r, "loadBalancers");
                        if lb.is_none_or(|lb| !known.contains_key(&id_key(lb))) {
                            warnings.push(format!(
                                "ip configuration {}: load balancer {what} {r} is not in the inventory; counted as a public path to every port",
                                j.confs[k as usize].id
                            ));
                            let kind = if what == "backend pool" {
                                PathKind::LoadBalancerRule
                            } else {
                                PathKind::LoadBalancerNat
                            };
                            self.push(
                                k,
                                Frontend {
                                    kind,
                                    via: Arc::from(r),
                                    label: Arc::from(format!(
                                        "load balancer {} (not in the inventory)",
                                        lb.map(last_segment).unwrap_or(r)
                                    )),
                                    ip: Arc::from("?"),
                                    ports: (0, u16::MAX),
                                    backend_port: None,
                                    protocol: Protocol::Any,
                                    open_without_nsg: true,
                                    floating: None,
                                    dnat: NONE,
                                },
                            );
                            continue;
                        }
                        members.entry(id_key(r)).or_default().push(k);
                    }
                }
            }
        }
    }

    /// A load balancer's inbound NAT rules (v1: one frontend port to one ip configuration,
    /// referenced from either side; v2: a frontend port range over a pool).
    fn lb_nat_rules(&mut self, l: &Lb<'_>, m: &LbJoins<'_>) -> Result<(), InputError> {
        let lb = l.lb;
        let p = &lb.properties;
        // inbound NAT rules
        for (ri, r) in p.inbound_nat_rules.iter().enumerate() {
            let rp = |f: &str| l.path(&format!("inboundNatRules[{ri}].properties.{f}"));
            let rid = match (&r.id, &r.name) {
                (Some(id), _) => id.clone(),
                (None, Some(n)) => format!("{}/inboundNatRules/{n}", lb.id),
                _ => continue,
            };
            let q = &r.properties;
            let protocol = lb_protocol(q.protocol.as_deref(), || rp("protocol"))?;
            let backend = port_value(q.backend_port, || rp("backendPort"), 0)?;
            let fe = l.frontend(&q.frontend_ip_configuration, rp("frontendIPConfiguration"))?;
            let (ports, members) = if let Some(pool) = q
                .backend_address_pool
                .as_ref()
                .and_then(|b| b.id.as_deref())
            {
                let start = port_value(
                    q.frontend_port_range_start,
                    || rp("frontendPortRangeStart"),
                    1,
                )?;
                let end = port_value(q.frontend_port_range_end, || rp("frontendPortRangeEnd"), 1)?;
                if start > end {
                    return Err(InputError::new(
                        rp("frontendPortRangeEnd"),
                        format!("{end} is below frontendPortRangeStart {start}"),
                    ));
                }
                (
                    (start, end),
                    m.pool_members
                        .get(&id_key(pool))
                        .cloned()
                        .unwrap_or_default(),
                )
            } else {
                let port = port_value(q.frontend_port, || rp("frontendPort"), 1)?;
                let mut v = m
                    .nat_members
                    .get(&id_key(&rid))
                    .cloned()
                    .unwrap_or_default();
                if let Some(b) = q
                    .backend_ip_configuration
                    .as_ref()
                    .and_then(|b| b.id.as_deref())
                {
                    if let Some(&k) = m.conf_by_id.get(&Ci::new(b)) {
                        v.push(k);
                    }
                }
                ((port, port), v)
            };
            let Some(fe) = fe.filter(|f| f.public) else {
                continue;
            };
            let name = r.name.as_deref().unwrap_or(last_segment(&rid));
            let label: Arc<str> = Arc::from(format!("load balancer {} NAT rule {name}", l.name));
            let floating = if q.enable_floating_ip == Some(true) {
                fe.addr
            } else {
                None
            };
            for k in members {
                self.push(
                    k,
                    Frontend {
                        kind: PathKind::LoadBalancerNat,
                        via: Arc::from(rid.as_str()),
                        label: label.clone(),
                        ip: fe.ip.clone(),
                        ports,
                        backend_port: Some(backend),
                        protocol,
                        open_without_nsg: l.basic,
                        floating,
                        dnat: NONE,
                    },
                );
            }
        }
        Ok(())
    }

    /// A load balancer's load-balancing rules (HA ports: protocol All, ports 0).
    fn lb_rules(&mut self, l: &Lb<'_>, m: &LbJoins<'_>) -> Result<(), InputError> {
        let lb = l.lb;
        let p = &lb.properties;
        // load-balancing rules
        for (ri, r) in p.load_balancing_rules.iter().enumerate() {
            let rp = |f: &str| l.path(&format!("loadBalancingRules[{ri}].properties.{f}"));
            let rid = match (&r.id, &r.name) {
                (Some(id), _) => id.clone(),
                (None, Some(n)) => format!("{}/loadBalancingRules/{n}", lb.id),
                _ => continue,
            };
            let q = &r.properties;
            let protocol = lb_protocol(q.protocol.as_deref(), || rp("protocol"))?;
            let front = port_value(q.frontend_port, || rp("frontendPort"), 0)?;
            let back = match q.backend_port {
                None => front,
                v => port_value(v, || rp("backendPort"), 0)?,
            };
            let ha = protocol == Protocol::Any && front == 0 && back == 0;
            if !ha && (front == 0 || back == 0) {
                return Err(InputError::new(
                    rp(if front == 0 {
                        "frontendPort"
                    } else {
                        "backendPort"
                    }),
                    "0 is a port only for HA ports (protocol All, frontend and backend port 0)",
                ));
            }
            let fe = l.frontend(&q.frontend_ip_configuration, rp("frontendIPConfiguration"))?;
            let Some(fe) = fe.filter(|f| f.public) else {
                continue;
            };
            let mut members: Vec<u32> = Vec::new();
            for pool in q
                .backend_address_pool
                .iter()
                .chain(&q.backend_address_pools)
            {
                if let Some(m) = pool
                    .id
                    .as_deref()
                    .and_then(|id| m.pool_members.get(&id_key(id)))
                {
                    members.extend(m);
                }
            }
            let name = r.name.as_deref().unwrap_or(last_segment(&rid));
            let label: Arc<str> = Arc::from(if ha {
                format!("load balancer {} HA-ports rule {name}", l.name)
            } else {
                format!("load balancer {} rule {name}", l.name)
            });
            let floating = if q.enable_floating_ip == Some(true) {
                fe.addr
            } else {
                None
            };
            for k in members {
                self.push(
                    k,
                    Frontend {
                        kind: PathKind::LoadBalancerRule,
                        via: Arc::from(rid.as_str()),
                        label: label.clone(),
                        ip: fe.ip.clone(),
                        ports: if ha { (0, u16::MAX) } else { (front, front) },
                        backend_port: (!ha).then_some(back),
                        protocol,
                        open_without_nsg: l.basic,
                        floating,
                        dnat: NONE,
                    },
                );
            }
        }
        Ok(())
    }

    fn firewalls(
        &mut self,
        j: &Joins<'_, '_>,
        warnings: &mut Vec<String>,
    ) -> Result<(), InputError> {
        let inv = j.inv;
        if inv.azure_firewalls.is_empty() {
            return Ok(());
        }
        // the ip configurations by (family, private address)
        let mut by_addr: FxMap<(u8, u128), SmallVec<[u32; 1]>> = fx_map(0);
        for (k, c) in j.confs.iter().enumerate() {
            if let Some(a) = &c.addrs {
                let fam = u8::from(c.family == Family::V6);
                by_addr
                    .entry((fam, a.ranges()[0].0))
                    .or_default()
                    .push(k as u32);
            }
        }
        let ip_groups = IpGroups::new(inv)?;
        for (fi, fw) in inv.azure_firewalls.iter().enumerate() {
            let fw_name = fw.name.as_deref().unwrap_or(last_segment(&fw.id));
            let own = firewall_addresses(j, fw, fw_name, warnings);
            // earlier rules take their sources first, for the frontends they fully cover
            let mut taken: Vec<(AddrSet, PortSet, bool, AddrSet)> = Vec::new();
            for (path, r, via) in dnat_rules(inv, fi, fw, fw_name, warnings) {
                let rname = r.name.as_deref().unwrap_or("?");
                let DnatMatch {
                    sources,
                    dests,
                    dest_text,
                    ports,
                    tcp,
                } = dnat_match(&path, r, &ip_groups, fw_name, rname, warnings)?;
                // shadowing by earlier rules whose frontends cover this one's
                let mut effective = sources.clone();
                for (d, p, t, s) in &taken {
                    if (*t || !tcp)
                        && dests.is_subset(d)
                        && ports
                            .ranges()
                            .iter()
                            .all(|&(lo, hi)| p.contains_range(lo, hi))
                    {
                        effective = effective.difference(s);
                    }
                }
                taken.push((dests.clone(), ports.clone(), tcp, sources));
                if !tcp {
                    continue;
                }
                // only the firewall's public frontends are reached from the Internet: a rule for
                // its private address (private IP DNAT) or for another host's is no path
                let Some(frontend) = own.frontend(&dests, dest_text.as_ref()) else {
                    continue;
                };
                let translated_port = translated_port(&path, r, &ports)?;
                let label = format!(
                    "firewall {fw_name} DNAT rule {rname}{}{}",
                    inherited_from(fw, &via),
                    ip_groups_named(r, &ip_groups)
                );
                let rule = DnatRule {
                    path: &path,
                    rule: r,
                    via,
                    label: Arc::from(label),
                    effective,
                    frontend,
                    ports,
                    translated_port,
                };
                self.push_dnat(j, &by_addr, &own, rule, fw_name, warnings)?;
            }
        }
        unused_rule_collection_groups(inv, warnings);
        Ok(())
    }

    /// The frontends of one DNAT rule, on the ip configurations it translates to.
    fn push_dnat(
        &mut self,
        j: &Joins<'_, '_>,
        by_addr: &FxMap<(u8, u128), SmallVec<[u32; 1]>>,
        own: &FirewallAddresses,
        d: DnatRule<'_>,
        fw_name: &str,
        warnings: &mut Vec<String>,
    ) -> Result<(), InputError> {
        let (path, r, rname) = (d.path, d.rule, d.rule.name.as_deref().unwrap_or("?"));
        let (seen_from, fw_vnet) = (&own.seen_from, own.vnet);
        let (effective, ip, ports, translated_port, via, label) = (
            d.effective,
            d.frontend,
            d.ports,
            d.translated_port,
            d.via,
            d.label,
        );
        let Some(ta) = r
            .translated_address
            .as_deref()
            .filter(|s| !s.trim().is_empty())
        else {
            if let Some(fqdn) = &r.translated_fqdn {
                warnings.push(format!(
                    "firewall {fw_name} DNAT rule {rname}: translated FQDN {fqdn:?} cannot be resolved here; not evaluated"
                ));
            }
            return Ok(());
        };
        let (fam, addr) = parse_ip(ta.trim()).ok_or_else(|| {
            InputError::value(
                format!("{path}.translatedAddress"),
                ta,
                "is not an IP address",
            )
        })?;
        let Some(targets) = by_addr.get(&(u8::from(fam == Family::V6), addr)) else {
            return Ok(());
        };
        let dnat = self.dnats.len() as u32;
        self.dnats.push(Dnat {
            // a firewall translates within one address family
            sources: effective.only(fam),
            seen_from: seen_from.clone(),
            gate: None,
        });
        let (lo, hi) = ports.ranges().first().copied().unwrap_or((0, 0));
        for &k in targets {
            let cv = j.confs[k as usize].vnet;
            let related = fw_vnet == NONE
                || cv == NONE
                || cv == fw_vnet
                || self
                    .peers
                    .get(fw_vnet as usize)
                    .is_some_and(|p| p.contains(&cv));
            if !related {
                continue;
            }
            self.push(
                k,
                Frontend {
                    kind: PathKind::FirewallDnat,
                    via: via.clone(),
                    label: label.clone(),
                    ip: ip.clone(),
                    ports: (lo, hi),
                    backend_port: Some(translated_port),
                    protocol: Protocol::Tcp,
                    open_without_nsg: true,
                    floating: None,
                    dnat,
                },
            );
        }
        Ok(())
    }
}

/// The prefixes of a subnet, for a firewall's own range.
fn subnet_prefixes(j: &Joins<'_, '_>, sid: &str) -> Option<AddrSet> {
    let vnet_id = parent_of(sid, "virtualNetworks")?;
    let v = *j.vnet_index.get(&Ci::new(vnet_id))?;
    let vnet = &j.inv.virtual_networks[v as usize];
    let s = vnet.properties.subnets.iter().find(|s| {
        s.id.is_some_and(|id| id_key(id) == id_key(sid))
            || s.name
                .is_some_and(|n| n.eq_ignore_ascii_case(last_segment(sid)))
    })?;
    let mut set = AddrSet::empty();
    for p in s
        .properties
        .address_prefix
        .iter()
        .chain(&s.properties.address_prefixes)
    {
        set = set.union(&AddrSet::from_cidr(&Cidr::parse(p)?));
    }
    Some(set)
}

/// A firewall's public addresses, the range the VMs' NSGs see its traffic come from (`None`
/// when unknown), and its VNet.
struct FirewallAddresses {
    /// The public addresses known, as written and as a set.
    public_ips: Vec<Arc<str>>,
    public: AddrSet,
    /// Some public address is not known (a public IP the inventory lacks or that has no address
    /// yet, a secured hub that lists none, no ip configurations in the payload): then any public
    /// destination may be the firewall's.
    public_unknown: bool,
    seen_from: Option<AddrSet>,
    vnet: u32,
}

impl FirewallAddresses {
    /// The frontend a DNAT rule for `dests` is reached on from the Internet, or `None` when none
    /// of its destinations is a public address of the firewall's. The address shown is the
    /// rule's own first destination when it is one, else the firewall's first public address.
    fn frontend(&self, dests: &AddrSet, dest_text: Option<&Arc<str>>) -> Option<Arc<str>> {
        let public = dests.difference(&non_public());
        let reached = if self.public_unknown {
            public
        } else {
            public.intersection(&self.public)
        };
        if reached.is_empty() {
            return None;
        }
        let in_reach = |t: &Arc<str>| parse_ip(t).is_some_and(|(f, a)| reached.contains(f, a));
        Some(
            dest_text
                .filter(|t| in_reach(t))
                .or_else(|| self.public_ips.iter().find(|t| in_reach(t)))
                .cloned()
                .unwrap_or_else(|| Arc::from("?")),
        )
    }
}

fn firewall_addresses(
    j: &Joins<'_, '_>,
    fw: &AzureFirewall,
    fw_name: &str,
    warnings: &mut Vec<String>,
) -> FirewallAddresses {
    let p = &fw.properties;
    // public addresses, own range, VNet
    let mut public_ips: Vec<Arc<str>> = Vec::new();
    let mut public_unknown = p.ip_configurations.is_empty() && p.hub_ip_addresses.is_none();
    let mut seen_from: Option<AddrSet> = Some(AddrSet::empty());
    let mut fw_vnet = NONE;
    for c in &p.ip_configurations {
        if let Some(pid) = c
            .properties
            .public_ip_address
            .as_ref()
            .and_then(|r| r.id.as_deref())
        {
            match j.pips.get(&Ci::new(pid)).map(|p| p.address.clone()) {
                Some(Some(a)) => public_ips.push(a),
                Some(None) => public_unknown = true,
                None => {
                    warnings.push(format!(
                        "Azure Firewall {fw_name}: public IP {pid} is not in the inventory; its address is unknown, its DNAT rules are still evaluated"
                    ));
                    public_unknown = true;
                }
            }
        }
        match c.properties.subnet.as_ref().and_then(|s| s.id.as_deref()) {
            Some(sid) => {
                if let Some(&(_, v)) = j.subnets.get(&Ci::new(sid)) {
                    fw_vnet = v;
                }
                match (subnet_prefixes(j, sid), &mut seen_from) {
                    (Some(set), Some(acc)) => *acc = acc.union(&set),
                    _ => seen_from = None,
                }
            }
            None => seen_from = None,
        }
    }
    if let Some(h) = &p.hub_ip_addresses {
        let listed = h.public_ips.iter().flat_map(|p| &p.addresses);
        let before = public_ips.len();
        for a in listed {
            if let Some(a) = a.address.as_deref() {
                public_ips.push(Arc::from(a));
            }
        }
        if public_ips.len() == before {
            public_unknown = true;
        }
        // a secured hub SNATs from addresses of the hub that the inventory does not hold
        seen_from = None;
    }
    if seen_from.as_ref().is_some_and(AddrSet::is_empty) {
        seen_from = None;
    }
    let mut public = AddrSet::empty();
    for a in &public_ips {
        match parse_ip(a.trim()) {
            Some((f, ip)) => public = public.union(&AddrSet::single(f, ip)),
            None => public_unknown = true,
        }
    }
    FirewallAddresses {
        public_ips,
        public,
        public_unknown,
        seen_from,
        vnet: fw_vnet,
    }
}

/// A firewall's DNAT rules in processing order, with their JSON paths and the resource they
/// live in: classic collections by priority, or the policy's rule collection groups by
/// priority, their NAT collections by priority.
fn dnat_rules<'f>(
    inv: &'f Inventory<'_>,
    fi: usize,
    fw: &'f AzureFirewall,
    fw_name: &str,
    warnings: &mut Vec<String>,
) -> Vec<(String, &'f NatRule, Arc<str>)> {
    let p = &fw.properties;
    // DNAT rules in processing order: classic collections by priority, or the policy's
    // rule collection groups by priority, their NAT collections by priority
    let mut rules: Vec<(String, &NatRule, Arc<str>)> = Vec::new();
    let mut classic: Vec<(i64, usize, &FirewallNatRuleCollection)> = p
        .nat_rule_collections
        .iter()
        .enumerate()
        .map(|(ci, c)| (c.properties.priority.unwrap_or(i64::MAX), ci, c))
        .collect();
    classic.sort_by_key(|&(prio, ci, _)| (prio, ci));
    for (_, ci, c) in classic {
        let is_dnat = c
            .properties
            .action
            .as_ref()
            .and_then(|a| a.kind.as_deref())
            .is_none_or(|t| t.trim().eq_ignore_ascii_case("dnat"));
        if !is_dnat {
            continue;
        }
        for (ri, r) in c.properties.rules.iter().enumerate() {
            rules.push((
                format!("azureFirewalls[{fi}].properties.natRuleCollections[{ci}].properties.rules[{ri}]"),
                r,
                Arc::from(fw.id.as_str()),
            ));
        }
    }
    if let Some(policy) = p.firewall_policy.as_ref().and_then(|r| r.id.as_deref()) {
        // the base policies' groups first, the farthest first, each policy's by priority
        let chain = policy_chain(inv, policy, fw_name, warnings);
        let mut groups: Vec<(usize, i64, usize)> = Vec::new();
        for (depth, pol) in chain.iter().rev().enumerate() {
            let prefix = format!("{}/rulecollectiongroups/", id_key(pol));
            groups.extend(
                inv.firewall_policy_rule_collection_groups
                    .iter()
                    .enumerate()
                    .filter(|(_, g)| id_key(&g.id).starts_with(&prefix))
                    .map(|(gi, g)| (depth, g.properties.priority.unwrap_or(i64::MAX), gi)),
            );
        }
        if groups.is_empty() {
            let policies = if chain.len() > 1 {
                format!("policy {policy} or its base policies")
            } else {
                format!("policy {policy}")
            };
            warnings.push(format!(
                "firewall {fw_name}: no rule collection group of {policies} is in the inventory; its DNAT rules are not evaluated"
            ));
        }
        groups.sort();
        for (_, _, gi) in groups {
            let g = &inv.firewall_policy_rule_collection_groups[gi];
            let mut cols: Vec<(i64, usize, &PolicyRuleCollection)> = g
                .properties
                .rule_collections
                .iter()
                .enumerate()
                .filter(|(_, c)| {
                    c.rule_collection_type
                        .as_deref()
                        .is_some_and(|t| t.eq_ignore_ascii_case("FirewallPolicyNatRuleCollection"))
                })
                .map(|(ci, c)| (c.priority.unwrap_or(i64::MAX), ci, c))
                .collect();
            cols.sort_by_key(|&(prio, ci, _)| (prio, ci));
            for (_, ci, c) in cols {
                for (ri, r) in c.rules.iter().enumerate() {
                    if r.rule_type
                        .as_deref()
                        .is_some_and(|t| !t.eq_ignore_ascii_case("NatRule"))
                    {
                        continue;
                    }
                    rules.push((
                        format!("firewallPolicyRuleCollectionGroups[{gi}].properties.ruleCollections[{ci}].rules[{ri}]"),
                        r,
                        Arc::from(g.id.as_str()),
                    ));
                }
            }
        }
    }
    rules
}

/// ` (sources: IP group G, H)` when the rule names its sources by IP group (named as the
/// inventory names them, else by the reference), else nothing.
fn ip_groups_named(r: &NatRule, ip_groups: &IpGroups) -> String {
    if r.source_ip_groups.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = r
        .source_ip_groups
        .iter()
        .map(|g| match ip_groups.0.get(&id_key(g)) {
            Some((_, name)) => name,
            None => last_segment(g.trim()),
        })
        .collect();
    let plural = if names.len() > 1 { "s" } else { "" };
    format!(" (sources: IP group{plural} {})", names.join(", "))
}

/// ` (from base policy P)` when the rule collection group `via` belongs to a policy other than
/// the one firewall `fw` uses (a base policy's), else nothing.
fn inherited_from(fw: &AzureFirewall, via: &str) -> String {
    let own = fw
        .properties
        .firewall_policy
        .as_ref()
        .and_then(|r| r.id.as_deref());
    let via = via.trim();
    let Some(at) = via.to_ascii_lowercase().find("/rulecollectiongroups/") else {
        return String::new();
    };
    let policy = &via[..at];
    if own.is_some_and(|own| id_key(own) == id_key(policy)) {
        return String::new();
    }
    format!(" (from base policy {})", last_segment(policy))
}

/// Firewall policy `policy` and its base policies by `basePolicy` (as `firewallPolicies` gives
/// them), nearest first: Azure processes a base policy's DNAT rules before its child's. A
/// policy `firewallPolicies` lacks ends the chain: without the list, a policy has no known base
/// (see [`unused_rule_collection_groups`]); a base the list lacks is still in the chain, with
/// a warning that its own base is unknown. A loop ends where it closes, with a warning.
fn policy_chain<'i>(
    inv: &'i Inventory<'_>,
    policy: &'i str,
    fw_name: &str,
    warnings: &mut Vec<String>,
) -> Vec<&'i str> {
    let find = |id: &str| {
        let key = id_key(id);
        inv.firewall_policies.iter().find(|p| id_key(&p.id) == key)
    };
    let mut chain = vec![policy];
    let mut at = find(policy);
    while let Some(p) = at {
        let Some(base) = p
            .properties
            .base_policy
            .as_ref()
            .and_then(|b| b.id.as_deref())
        else {
            break;
        };
        let base = base.trim();
        if base.is_empty() {
            break;
        }
        if chain.iter().any(|c| id_key(c) == id_key(base)) {
            warnings.push(format!(
                "firewall {fw_name}: firewall policy {} names {base} as its base policy, which is already in its chain of base policies; the chain is read up to there",
                p.id
            ));
            break;
        }
        chain.push(base);
        at = find(base);
        if at.is_none() {
            warnings.push(format!(
                "firewall {fw_name}: base policy {base} of firewall policy {} is not in firewallPolicies; the DNAT rules it may inherit from a base policy of its own are not evaluated",
                p.id
            ));
        }
    }
    chain
}

/// Warnings for the rule collection groups of policies that no firewall of the inventory uses,
/// directly or through `basePolicy`: their DNAT rules reach no frontend here. A base policy
/// missing from `firewallPolicies` looks like that.
fn unused_rule_collection_groups(inv: &Inventory<'_>, warnings: &mut Vec<String>) {
    if inv.firewall_policy_rule_collection_groups.is_empty() {
        return;
    }
    let mut scratch = Vec::new();
    let used: std::collections::HashSet<String> = inv
        .azure_firewalls
        .iter()
        .filter_map(|f| f.properties.firewall_policy.as_ref()?.id.as_deref())
        .flat_map(|p| policy_chain(inv, p, "", &mut scratch))
        .map(id_key)
        .collect();
    let mut unused: Vec<&str> = Vec::new();
    for g in inv.firewall_policy_rule_collection_groups.iter() {
        let id = g.id.trim();
        let key = id.to_ascii_lowercase();
        let Some(at) = key.find("/rulecollectiongroups/") else {
            continue;
        };
        let policy = &id[..at];
        if !used.contains(&key[..at]) && !unused.iter().any(|u| id_key(u) == key[..at]) {
            unused.push(policy);
        }
    }
    for policy in unused {
        warnings.push(format!(
            "firewall policy {policy}: no firewall in the inventory uses it, directly or as a base policy (listed in firewallPolicies); its rule collection groups' DNAT rules are not evaluated"
        ));
    }
}

/// What a DNAT rule matches.
struct DnatMatch {
    sources: AddrSet,
    dests: AddrSet,
    /// The first destination address as written (the frontend shown).
    dest_text: Option<Arc<str>>,
    ports: PortSet,
    /// It matches TCP (the management ports' protocol).
    tcp: bool,
}

/// The inventory's IP groups (`ipGroups`), by id: the addresses each holds, and its name.
struct IpGroups(HashMap<String, (AddrSet, Arc<str>)>);

impl IpGroups {
    fn new(inv: &Inventory<'_>) -> Result<Self, InputError> {
        let mut groups = HashMap::new();
        for (gi, g) in inv.ip_groups.iter().enumerate() {
            let mut set = AddrSet::empty();
            for (k, a) in g.properties.ip_addresses.iter().enumerate() {
                let more = fw_address(a).ok_or_else(|| {
                    InputError::value(
                        format!("ipGroups[{gi}].properties.ipAddresses[{k}]"),
                        a,
                        "is not an address, CIDR, range or *",
                    )
                })?;
                set = set.union(&more);
            }
            let name = g.name.as_deref().unwrap_or_else(|| last_segment(&g.id));
            groups.insert(id_key(&g.id), (set, Arc::from(name)));
        }
        Ok(Self(groups))
    }
}

fn dnat_match(
    path: &str,
    r: &NatRule,
    ip_groups: &IpGroups,
    fw_name: &str,
    rname: &str,
    warnings: &mut Vec<String>,
) -> Result<DnatMatch, InputError> {
    let mut sources = AddrSet::empty();
    for (k, s) in r.source_addresses.iter().enumerate() {
        let set = fw_address(s).ok_or_else(|| {
            InputError::value(
                format!("{path}.sourceAddresses[{k}]"),
                s,
                "is not an address, CIDR, range or *",
            )
        })?;
        sources = sources.union(&set);
    }
    for group in &r.source_ip_groups {
        match ip_groups.0.get(&id_key(group)) {
            Some((set, _)) => sources = sources.union(set),
            None => {
                warnings.push(format!(
                    "firewall {fw_name} DNAT rule {rname}: IP group {group} is not in the inventory (ipGroups); counted as every source"
                ));
                sources = AddrSet::all();
            }
        }
    }
    let mut dests = AddrSet::empty();
    let mut dest_text: Option<Arc<str>> = None;
    for (k, s) in r.destination_addresses.iter().enumerate() {
        let set = fw_address(s).ok_or_else(|| {
            InputError::value(
                format!("{path}.destinationAddresses[{k}]"),
                s,
                "is not an address, CIDR, range or *",
            )
        })?;
        dests = dests.union(&set);
        if dest_text.is_none() && s.trim() != "*" {
            dest_text = Some(Arc::from(s.trim()));
        }
    }
    if r.destination_addresses.is_empty() {
        dests = AddrSet::all();
    }
    let mut ports = PortSet::default();
    for (k, s) in r.destination_ports.iter().enumerate() {
        ports.add(s).ok_or_else(|| {
            InputError::value(
                format!("{path}.destinationPorts[{k}]"),
                s,
                "is not a port or range",
            )
        })?;
    }
    if r.destination_ports.is_empty() {
        return Err(InputError::new(
            format!("{path}.destinationPorts"),
            "missing: a DNAT rule needs a destination port",
        ));
    }
    let ip_protocols: Vec<serde_json::Value> = r
        .ip_protocols
        .iter()
        .map(|p| serde_json::Value::from(p.as_str()))
        .collect();
    let (protocols, pname) = if r.ip_protocols.is_empty() {
        (&r.protocols, "protocols")
    } else {
        (&ip_protocols, "ipProtocols")
    };
    let mut tcp = protocols.is_empty();
    for (k, v) in protocols.iter().enumerate() {
        let Some(s) = v.as_str() else {
            return Err(InputError::new(
                format!("{path}.{pname}[{k}]"),
                format!("{v} is not a protocol (TCP, UDP, Any, ICMP)"),
            ));
        };
        let t = s.trim();
        if t.eq_ignore_ascii_case("tcp") || t.eq_ignore_ascii_case("any") {
            tcp = true;
        } else if !t.eq_ignore_ascii_case("udp") && !t.eq_ignore_ascii_case("icmp") {
            return Err(InputError::value(
                format!("{path}.{pname}[{k}]"),
                s,
                "is not a protocol (TCP, UDP, Any, ICMP)",
            ));
        }
    }
    Ok(DnatMatch {
        sources,
        dests,
        dest_text,
        ports,
        tcp,
    })
}

/// The port a DNAT rule translates to: `translatedPort`, or the single destination port.
fn translated_port(path: &str, r: &NatRule, ports: &PortSet) -> Result<u16, InputError> {
    Ok(match r.translated_port.as_deref() {
        Some(s) => match PortSet::parse(s) {
            Some(ps) if ps.ranges().len() == 1 && ps.ranges()[0].0 == ps.ranges()[0].1 => {
                ps.ranges()[0].0
            }
            _ => {
                return Err(InputError::value(
                    format!("{path}.translatedPort"),
                    s,
                    "is not a port",
                ))
            }
        },
        None => match ports.ranges() {
            [(lo, hi)] if lo == hi => *lo,
            _ => {
                return Err(InputError::new(
                    format!("{path}.translatedPort"),
                    "missing translated port",
                ))
            }
        },
    })
}

/// A DNAT rule resolved, ready to be pushed as frontends.
struct DnatRule<'r> {
    path: &'r str,
    rule: &'r NatRule,
    via: Arc<str>,
    label: Arc<str>,
    effective: AddrSet,
    /// The frontend address shown.
    frontend: Arc<str>,
    ports: PortSet,
    translated_port: u16,
}
