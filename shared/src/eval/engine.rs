//! The set-based NSG evaluator (Azure's semantics; see DESIGN.md "The evaluation").
//!
//! For each ip configuration and management port it walks the inbound rules of the subnet NSG
//! and of the NIC NSG in priority order, carrying the still-undecided source set: an Allow adds
//! (undecided ∩ rule sources) to the allowed set, any matching rule removes its sources from the
//! undecided set. Both levels must allow. Source ports are the client's choice: the port space is
//! cut into the pieces the rules distinguish, each piece is evaluated, and the results unioned.
//!
//! Results are cached by everything they depend on (the NSGs, which of their rules match the
//! ip configuration as destination, the VNet, the address family), so fleets that share NSGs
//! cost little more than one evaluation per NSG.
use super::compile::{compile_nsg, AsgInterner, CompiledNsg, CompiledRule};
use super::report::*;
use super::{Access, Protocol};
use crate::arm::{id_key, JitNetworkAccessPolicy, NetworkInterface, VirtualMachine};
use crate::config::{EvalConfig, PortSpec};
use crate::inventory::{InputError, Inventory};
use crate::net::addr::{azure_load_balancer, format_ip, non_public, parse_ip};
use crate::net::{AddrSet, Cidr, Family, IntervalSet};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

const NONE: u32 = u32::MAX;

/// Evaluates an inventory. Errors only on malformed input (with the JSON path).
pub fn evaluate(inv: &Inventory, cfg: &EvalConfig) -> Result<Report, InputError> {
    let mut model = Model::build(inv, cfg)?;
    Ok(model.report())
}

/// A parsed ip configuration.
#[derive(Debug, Clone)]
struct IpConf {
    id: String,
    nic: u32,
    family: Family,
    /// Destination addresses (one address, or a prefix for prefix ip configurations);
    /// `None` when the payload has no private address.
    addrs: Option<IntervalSet>,
    private_ip: Option<String>,
    asgs: Vec<u32>,
    subnet_key: Option<String>,
    public_ip_ref: Option<String>,
}

#[derive(Debug, Clone)]
struct SubnetInfo {
    nsg_key: Option<String>,
    vnet: u32,
}

#[derive(Debug, Clone)]
struct VnetInfo {
    space: AddrSet,
    /// The public Internet as seen from this VNet: everything non-special outside its space.
    public: AddrSet,
}

/// The verdict for one ip configuration and one port.
#[derive(Debug, Clone)]
pub struct PortEval {
    pub allowed: AddrSet,
    /// The exact public part of `allowed` (what the open/restricted threshold counts).
    pub public: AddrSet,
    /// The minimal CIDRs of `allowed` that contain public addresses: what users read as the
    /// allowed public sources (`*` shows as `0.0.0.0/0`, not as the Internet's 30-odd CIDRs).
    pub shown: AddrSet,
    pub state: State,
    pub deciding: Vec<RuleRef>,
    pub no_nsg: bool,
}

/// A rule of a compiled NSG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleRef {
    pub level: Level,
    pub nsg: u32,
    pub rule: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct EvalKey {
    subnet_nsg: u32,
    subnet_mask: Vec<u64>,
    nic_nsg: u32,
    nic_mask: Vec<u64>,
    vnet: u32,
    family: Family,
}

/// Everything the evaluator needs, indexed; built once per inventory.
pub struct Model<'a> {
    inv: &'a Inventory,
    ports: Vec<PortSpec>,
    v4_threshold: u128,
    v6_threshold: u128,
    pub nsgs: Vec<CompiledNsg>,
    nsg_by_key: HashMap<String, u32>,
    subnets: HashMap<String, SubnetInfo>,
    vnets: Vec<VnetInfo>,
    /// Public Internet when the VNet is unknown (index `vnets.len()` is not stored).
    public_no_vnet: AddrSet,
    asg_members: Vec<AddrSet>,
    pips: HashMap<String, u32>,
    nics: HashMap<String, u32>,
    ipconfs_by_nic: Vec<Vec<IpConf>>,
    nics_by_vm: HashMap<String, Vec<u32>>,
    jit_by_vm: HashMap<String, Vec<(u32, u32)>>,
    cache_index: HashMap<EvalKey, u32>,
    cache: Vec<Vec<Arc<PortEval>>>,
    warnings: Vec<String>,
    warned: HashSet<String>,
}

impl<'a> Model<'a> {
    pub fn build(inv: &'a Inventory, cfg: &EvalConfig) -> Result<Self, InputError> {
        cfg.validate()?;
        let mut warnings = Vec::new();
        let mut asgs = AsgInterner::default();
        for a in &inv.application_security_groups {
            asgs.intern(&a.id);
        }

        // NSGs
        let mut nsgs = Vec::with_capacity(inv.network_security_groups.len());
        let mut nsg_by_key = HashMap::with_capacity(inv.network_security_groups.len());
        for (i, nsg) in inv.network_security_groups.iter().enumerate() {
            let path = format!("networkSecurityGroups[{i}]");
            if nsg.id.trim().is_empty() {
                return Err(InputError::new(format!("{path}.id"), "missing resource id"));
            }
            let c = compile_nsg(nsg, &path, &mut asgs, &mut warnings)?;
            nsg_by_key.insert(id_key(&nsg.id), nsgs.len() as u32);
            nsgs.push(c);
        }

        // VNets and subnets
        let np = non_public();
        let mut vnets = Vec::with_capacity(inv.virtual_networks.len());
        let mut subnets = HashMap::new();
        for (i, vnet) in inv.virtual_networks.iter().enumerate() {
            let path = format!("virtualNetworks[{i}]");
            let mut space = AddrSet::empty();
            if let Some(a) = &vnet.properties.address_space {
                for (k, p) in a.address_prefixes.iter().enumerate() {
                    space = space.union(&parse_cidr(
                        p,
                        &format!("{path}.properties.addressSpace.addressPrefixes[{k}]"),
                    )?);
                }
            }
            let vidx = vnets.len() as u32;
            for (j, s) in vnet.properties.subnets.iter().enumerate() {
                let spath = format!("{path}.properties.subnets[{j}].properties");
                if let Some(p) = s.properties.address_prefix.as_deref().filter(|p| !p.trim().is_empty()) {
                    space = space.union(&parse_cidr(p, &format!("{spath}.addressPrefix"))?);
                }
                for (k, p) in s.properties.address_prefixes.iter().enumerate() {
                    space = space.union(&parse_cidr(p, &format!("{spath}.addressPrefixes[{k}]"))?);
                }
                let id = match (&s.id, &s.name) {
                    (Some(id), _) if !id.trim().is_empty() => id.clone(),
                    (_, Some(name)) => format!("{}/subnets/{name}", vnet.id),
                    _ => continue,
                };
                subnets.insert(
                    id_key(&id),
                    SubnetInfo {
                        nsg_key: s
                            .properties
                            .network_security_group
                            .as_ref()
                            .and_then(|r| r.id.as_deref())
                            .map(id_key),
                        vnet: vidx,
                    },
                );
            }
            let public = AddrSet::all().difference(&np).difference(&space);
            vnets.push(VnetInfo { space, public });
        }
        let public_no_vnet = AddrSet::all().difference(&np);

        // Public IPs
        let pips = inv
            .public_ip_addresses
            .iter()
            .enumerate()
            .map(|(i, p)| (id_key(&p.id), i as u32))
            .collect();

        // NICs and their ip configurations
        let mut nics = HashMap::with_capacity(inv.network_interfaces.len());
        let mut ipconfs_by_nic = Vec::with_capacity(inv.network_interfaces.len());
        let mut nics_by_vm: HashMap<String, Vec<u32>> = HashMap::new();
        let mut asg_members: Vec<AddrSet> = Vec::new();
        for (i, nic) in inv.network_interfaces.iter().enumerate() {
            let path = format!("networkInterfaces[{i}]");
            if nic.id.trim().is_empty() {
                return Err(InputError::new(format!("{path}.id"), "missing resource id"));
            }
            nics.insert(id_key(&nic.id), i as u32);
            if let Some(vm) = nic.properties.virtual_machine.as_ref().and_then(|r| r.id.as_deref()) {
                nics_by_vm.entry(id_key(vm)).or_default().push(i as u32);
            }
            let confs = parse_ipconfs(nic, i as u32, &path, &mut asgs)?;
            for c in &confs {
                if let Some(addrs) = &c.addrs {
                    for &a in &c.asgs {
                        if asg_members.len() <= a as usize {
                            asg_members.resize(a as usize + 1, AddrSet::empty());
                        }
                        let set = match c.family {
                            Family::V4 => AddrSet { v4: addrs.clone(), v6: IntervalSet::empty() },
                            Family::V6 => AddrSet { v4: IntervalSet::empty(), v6: addrs.clone() },
                        };
                        asg_members[a as usize] = asg_members[a as usize].union(&set);
                    }
                }
            }
            ipconfs_by_nic.push(confs);
        }
        asg_members.resize(asgs.ids.len().max(asg_members.len()), AddrSet::empty());

        // JIT policies
        let mut jit_by_vm: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        for (i, pol) in inv.jit_network_access_policies.iter().enumerate() {
            for (j, vm) in pol.properties.virtual_machines.iter().enumerate() {
                for (k, port) in vm.ports.iter().enumerate() {
                    if !(0..=65535).contains(&port.number) {
                        return Err(InputError::new(
                            format!("jitNetworkAccessPolicies[{i}].properties.virtualMachines[{j}].ports[{k}].number"),
                            format!("{} is not a port", port.number),
                        ));
                    }
                }
                jit_by_vm
                    .entry(id_key(&vm.id))
                    .or_default()
                    .push((i as u32, j as u32));
            }
        }

        Ok(Self {
            inv,
            ports: cfg.ports(),
            v4_threshold: cfg.v4_open_threshold(),
            v6_threshold: cfg.v6_open_threshold(),
            nsgs,
            nsg_by_key,
            subnets,
            vnets,
            public_no_vnet,
            asg_members,
            pips,
            nics,
            ipconfs_by_nic,
            nics_by_vm,
            jit_by_vm,
            cache_index: HashMap::new(),
            cache: Vec::new(),
            warnings,
            warned: HashSet::new(),
        })
    }

    fn warn(&mut self, w: String) {
        if self.warned.insert(w.clone()) {
            self.warnings.push(w);
        }
    }

    /// Evaluates every VM and builds the report.
    pub fn report(&mut self) -> Report {
        let inv = self.inv;
        let mut vms = Vec::with_capacity(inv.virtual_machines.len());
        let mut seen = HashSet::with_capacity(inv.virtual_machines.len());
        for (i, vm) in inv.virtual_machines.iter().enumerate() {
            if vm.id.trim().is_empty() {
                self.warn(format!("virtualMachines[{i}]: no id; skipped"));
                continue;
            }
            if !seen.insert(id_key(&vm.id)) {
                self.warn(format!("virtualMachines[{i}]: duplicate id {:?}; evaluated once", vm.id));
                continue;
            }
            vms.push(self.evaluate_vm(vm));
        }
        let warnings = std::mem::take(&mut self.warnings);
        Report::from_vms(vms, warnings)
    }

    /// Evaluates one VM.
    pub fn evaluate_vm(&mut self, vm: &VirtualMachine) -> VmReport {
        self.evaluate_vm_full(vm).0
    }

    /// Every source address (public or not) allowed to reach each management port of the VM,
    /// over all its ip configurations, in the order of [`EvalConfig::ports`].
    pub fn allowed_sources(&mut self, vm: &VirtualMachine) -> Vec<AddrSet> {
        self.evaluate_vm_full(vm).1
    }

    fn evaluate_vm_full(&mut self, vm: &VirtualMachine) -> (VmReport, Vec<AddrSet>) {
        let vm_key = id_key(&vm.id);
        let name = vm
            .name
            .clone()
            .unwrap_or_else(|| vm.id.rsplit('/').next().unwrap_or_default().to_string());

        // NICs: from the VM's network profile, plus NICs that point back at the VM
        let mut nic_idx: Vec<u32> = Vec::new();
        let mut missing_nics = 0usize;
        for r in &vm.properties.network_profile.network_interfaces {
            let Some(id) = r.id.as_deref() else { continue };
            match self.nics.get(&id_key(id)) {
                Some(&n) => {
                    if !nic_idx.contains(&n) {
                        nic_idx.push(n)
                    }
                }
                None => {
                    missing_nics += 1;
                    self.warn(format!(
                        "VM {name}: network interface {id} is not in the inventory; treated as unprotected (no NSG)"
                    ));
                }
            }
        }
        if let Some(extra) = self.nics_by_vm.get(&vm_key) {
            for &n in extra {
                if !nic_idx.contains(&n) {
                    nic_idx.push(n);
                }
            }
        }
        let has_nic = !nic_idx.is_empty() || missing_nics > 0;

        // per ip configuration: NSGs, VNet, public IP
        struct Path {
            conf: IpConf,
            subnet_nsg: u32,
            nic_nsg: u32,
            vnet: u32,
            has_public: bool,
            public_ip: Option<String>,
            covered: bool,
            subnet_nsg_id: Option<String>,
            nic_nsg_id: Option<String>,
        }
        let mut paths: Vec<Path> = Vec::new();
        for &n in &nic_idx {
            let nic = &self.inv.network_interfaces[n as usize];
            let nic_name = nic.name.clone().unwrap_or_else(|| nic.id.clone());
            let (nic_nsg, nic_nsg_id) = match nic.properties.network_security_group.as_ref().and_then(|r| r.id.as_deref()) {
                Some(id) => match self.nsg_by_key.get(&id_key(id)) {
                    Some(&k) => (k, Some(id.to_string())),
                    None => {
                        self.warn(format!(
                            "network interface {nic_name}: NSG {id} is not in the inventory; counted as no NSG"
                        ));
                        (NONE, None)
                    }
                },
                None => (NONE, None),
            };
            for conf in self.ipconfs_by_nic[n as usize].clone() {
                let (mut subnet_nsg, mut subnet_nsg_id, mut vnet) = (NONE, None, NONE);
                if let Some(sk) = &conf.subnet_key {
                    match self.subnets.get(sk).cloned() {
                        Some(s) => {
                            vnet = s.vnet;
                            if let Some(nk) = &s.nsg_key {
                                match self.nsg_by_key.get(nk) {
                                    Some(&k) => {
                                        subnet_nsg = k;
                                        subnet_nsg_id = Some(self.nsgs[k as usize].id.to_string());
                                    }
                                    None => self.warn(format!(
                                        "subnet {sk}: NSG {nk} is not in the inventory; counted as no NSG"
                                    )),
                                }
                            }
                        }
                        None => self.warn(format!(
                            "ip configuration {}: subnet {sk} is not in the inventory; counted as no subnet NSG, VirtualNetwork unknown",
                            conf.id
                        )),
                    }
                }
                let mut public_ip = None;
                let has_public = conf.public_ip_ref.is_some();
                if let Some(pk) = &conf.public_ip_ref {
                    match self.pips.get(&id_key(pk)) {
                        Some(&p) => {
                            public_ip = self.inv.public_ip_addresses[p as usize]
                                .properties
                                .ip_address
                                .clone()
                                .filter(|s| !s.trim().is_empty());
                        }
                        None => self.warn(format!(
                            "ip configuration {}: public IP {pk} is not in the inventory; counted as internet-facing",
                            conf.id
                        )),
                    }
                }
                paths.push(Path {
                    covered: subnet_nsg != NONE || nic_nsg != NONE,
                    conf,
                    subnet_nsg,
                    nic_nsg,
                    vnet,
                    has_public,
                    public_ip,
                    subnet_nsg_id,
                    nic_nsg_id: nic_nsg_id.clone(),
                });
            }
        }

        // evaluate every port on every path
        let ports = self.ports.clone();
        let mut per_path: Vec<Vec<Arc<PortEval>>> = Vec::with_capacity(paths.len());
        for p in &paths {
            per_path.push(self.eval_path(&p.conf, p.subnet_nsg, p.nic_nsg, p.vnet));
        }
        // a NIC we cannot see: no NSG, no public IP known
        let unknown = if missing_nics > 0 {
            let conf = IpConf {
                id: String::new(),
                nic: NONE,
                family: Family::V4,
                addrs: None,
                private_ip: None,
                asgs: Vec::new(),
                subnet_key: None,
                public_ip_ref: None,
            };
            Some(self.eval_path(&conf, NONE, NONE, NONE))
        } else {
            None
        };

        let jit = self.jit_for(&vm_key);
        let mut exposures = Vec::with_capacity(ports.len());
        let mut allowed_all = Vec::with_capacity(ports.len());
        let mut any_open = false;
        for (pi, port) in ports.iter().enumerate() {
            let mut worst = State::Closed;
            let mut public = AddrSet::empty();
            let mut reachable = false;
            let mut no_nsg = false;
            let mut candidates: Vec<(State, &Arc<PortEval>)> = Vec::new();
            for (p, evals) in paths.iter().zip(&per_path) {
                let e = &evals[pi];
                candidates.push((e.state, e));
                if matches!(e.state, State::Open | State::Restricted) && p.has_public {
                    reachable = true;
                }
            }
            if let Some(u) = &unknown {
                candidates.push((u[pi].state, &u[pi]));
            }
            let mut allowed = AddrSet::empty();
            for (s, e) in &candidates {
                if s.rank() > worst.rank() {
                    worst = *s;
                }
                public = public.union(&e.shown);
                allowed = allowed.union(&e.allowed);
            }
            allowed_all.push(allowed);
            let mut deciding: Vec<RuleRef> = Vec::new();
            for (s, e) in &candidates {
                if *s == worst {
                    no_nsg |= e.no_nsg;
                    for r in &e.deciding {
                        if !deciding.contains(r) {
                            deciding.push(*r);
                        }
                    }
                }
            }
            deciding.sort();
            if worst == State::Open {
                any_open = true;
            }
            let jit_protected = jit.iter().any(|(policy_ok, ports)| {
                *policy_ok
                    && ports
                        .iter()
                        .any(|(n, proto)| *n == i64::from(port.port) && proto.matches(port.protocol))
            });
            let deciding_rules: Vec<DecidingRule> = deciding.iter().map(|r| self.deciding_rule(r)).collect();
            let allowed_public_sources = public.to_cidr_strings();
            let reason = reason(worst, no_nsg, &allowed_public_sources, &deciding_rules, reachable);
            exposures.push(Exposure {
                port: port.port,
                protocol: port.protocol,
                state: worst,
                reachable,
                allowed_public_sources,
                deciding_rules,
                jit_protected,
                reason,
            });
        }

        // recommendations
        let facing: Vec<&Path> = paths.iter().filter(|p| p.has_public).collect();
        let nsg_rec = if facing.is_empty() {
            Status::NotApplicable
        } else if facing.iter().all(|p| p.covered) {
            Status::Healthy
        } else {
            Status::Unhealthy
        };
        let closed_rec = if !has_nic {
            Status::NotApplicable
        } else if any_open {
            Status::Unhealthy
        } else {
            Status::Healthy
        };
        let jit_covers = jit.iter().any(|(ok, _)| *ok);
        let jit_rec = if any_open {
            Status::Unhealthy
        } else if jit_covers {
            Status::Healthy
        } else {
            Status::NotApplicable
        };
        let recommendations = VmRecommendations {
            internet_facing_vms_protected_by_nsg: nsg_rec,
            management_ports_closed: closed_rec,
            management_ports_jit_protected: jit_rec,
        };

        let mut public_ips: Vec<String> = Vec::new();
        for p in &paths {
            if let Some(ip) = &p.public_ip {
                if !public_ips.contains(ip) {
                    public_ips.push(ip.clone());
                }
            }
        }
        let ip_configurations = paths
            .iter()
            .map(|p| IpConfigSummary {
                id: p.conf.id.clone(),
                network_interface: self.inv.network_interfaces[p.conf.nic as usize].id.clone(),
                private_ip: p.conf.private_ip.clone(),
                public_ip: p.public_ip.clone(),
                has_public_ip: p.has_public,
                subnet_nsg: p.subnet_nsg_id.clone(),
                nic_nsg: p.nic_nsg_id.clone(),
            })
            .collect();
        let jit_policy = self.jit_by_vm.get(&vm_key).and_then(|v| v.first()).map(|&(pi, _)| {
            self.inv.jit_network_access_policies[pi as usize].id.clone()
        });
        let (subscription_id, resource_group) = id_scope(&vm.id);
        let report = VmReport {
            status: recommendations.control_status(),
            id: vm.id.clone(),
            name,
            subscription_id,
            resource_group,
            location: vm.location.clone(),
            os_type: vm.os_type().map(str::to_string),
            recommendations,
            public_ips,
            exposures,
            ip_configurations,
            jit_policy,
        };
        (report, allowed_all)
    }

    /// (policy Succeeded?, [(port, protocol)]) for each JIT policy entry of the VM.
    fn jit_for(&self, vm_key: &str) -> Vec<(bool, Vec<(i64, Protocol)>)> {
        let Some(entries) = self.jit_by_vm.get(vm_key) else {
            return Vec::new();
        };
        entries
            .iter()
            .map(|&(pi, vi)| {
                let pol: &JitNetworkAccessPolicy = &self.inv.jit_network_access_policies[pi as usize];
                let ok = pol
                    .properties
                    .provisioning_state
                    .as_deref()
                    .is_none_or(|s| s.eq_ignore_ascii_case("succeeded"));
                let ports = pol.properties.virtual_machines[vi as usize]
                    .ports
                    .iter()
                    .map(|p| {
                        let proto = p
                            .protocol
                            .as_deref()
                            .and_then(Protocol::parse)
                            .unwrap_or(Protocol::Any);
                        (p.number, proto)
                    })
                    .collect();
                (ok, ports)
            })
            .collect()
    }

    fn deciding_rule(&self, r: &RuleRef) -> DecidingRule {
        let nsg = &self.nsgs[r.nsg as usize];
        let rule = &nsg.inbound[r.rule as usize];
        DecidingRule {
            nsg: nsg.id.clone(),
            rule: rule.name.clone(),
            priority: rule.priority,
            access: rule.access,
            level: r.level,
            default: rule.is_default,
        }
    }

    /// Evaluates all management ports for one ip configuration, through the cache.
    fn eval_path(&mut self, conf: &IpConf, subnet_nsg: u32, nic_nsg: u32, vnet: u32) -> Vec<Arc<PortEval>> {
        let key = EvalKey {
            subnet_nsg,
            subnet_mask: self.dest_mask(subnet_nsg, conf),
            nic_nsg,
            nic_mask: self.dest_mask(nic_nsg, conf),
            vnet,
            family: conf.family,
        };
        if let Some(&i) = self.cache_index.get(&key) {
            return self.cache[i as usize].clone();
        }
        let evals: Vec<Arc<PortEval>> = self
            .ports
            .iter()
            .map(|port| Arc::new(self.eval_port(&key, *port)))
            .collect();
        self.cache_index.insert(key, self.cache.len() as u32);
        self.cache.push(evals.clone());
        evals
    }

    /// Which inbound rules of an NSG match the ip configuration as destination.
    fn dest_mask(&self, nsg: u32, conf: &IpConf) -> Vec<u64> {
        if nsg == NONE {
            return Vec::new();
        }
        let rules = &self.nsgs[nsg as usize].inbound;
        let mut mask = vec![0u64; rules.len().div_ceil(64)];
        for (i, r) in rules.iter().enumerate() {
            if dest_matches(r, conf) {
                mask[i / 64] |= 1 << (i % 64);
            }
        }
        mask
    }

    fn public_set(&self, vnet: u32) -> &AddrSet {
        if vnet == NONE {
            &self.public_no_vnet
        } else {
            &self.vnets[vnet as usize].public
        }
    }

    /// The sources a rule names, for traffic of `family` to an ip configuration in `vnet`.
    fn resolve_sources(&self, r: &CompiledRule, vnet: u32, family: Family) -> AddrSet {
        let s = &r.src;
        if s.any {
            return AddrSet::all_of(family);
        }
        let mut out = s.set.only(family);
        if s.internet || (!s.other_tags.is_empty() && r.access == Access::Allow) {
            out = out.union(&self.public_set(vnet).only(family));
        }
        if s.virtual_network && vnet != NONE {
            out = out.union(&self.vnets[vnet as usize].space.only(family));
        }
        if s.azure_load_balancer {
            out = out.union(&azure_load_balancer().only(family));
        }
        for &a in &s.asgs {
            if let Some(m) = self.asg_members.get(a as usize) {
                out = out.union(&m.only(family));
            }
        }
        out
    }

    /// The heart: one ip configuration (as cached key), one port.
    fn eval_port(&self, key: &EvalKey, port: PortSpec) -> PortEval {
        let family = key.family;
        let universe = AddrSet::all_of(family);
        let public_all = self.public_set(key.vnet).only(family);
        let p = u128::from(port.port);

        // matching rules per level, in evaluation order
        let mut levels: Vec<(Level, u32, Vec<(u32, &CompiledRule, AddrSet)>)> = Vec::new();
        for (level, nsg, mask) in [
            (Level::Subnet, key.subnet_nsg, &key.subnet_mask),
            (Level::NetworkInterface, key.nic_nsg, &key.nic_mask),
        ] {
            if nsg == NONE {
                continue;
            }
            let rules = &self.nsgs[nsg as usize].inbound;
            let mut m = Vec::new();
            for (i, r) in rules.iter().enumerate() {
                if mask[i / 64] & (1 << (i % 64)) == 0 {
                    continue;
                }
                if !r.protocol.matches(port.protocol) || !r.dst_ports.contains(p) {
                    continue;
                }
                let src = self.resolve_sources(r, key.vnet, family);
                m.push((i as u32, r, src));
            }
            levels.push((level, nsg, m));
        }
        let no_nsg = levels.is_empty();

        // source-port pieces the rules distinguish
        let mut cuts: Vec<u128> = vec![0, 65_536];
        for (_, _, rules) in &levels {
            for (_, r, _) in rules {
                for &(lo, hi) in r.src_ports.ranges() {
                    cuts.push(lo);
                    cuts.push(hi + 1);
                }
            }
        }
        cuts.sort_unstable();
        cuts.dedup();

        let mut total = AddrSet::empty();
        let mut allow_public: Vec<RuleRef> = Vec::new();
        let mut allow_any: Vec<RuleRef> = Vec::new();
        let mut deny_public: Vec<RuleRef> = Vec::new();
        let mut deny_any: Vec<RuleRef> = Vec::new();
        let push = |v: &mut Vec<RuleRef>, r: RuleRef| {
            if !v.contains(&r) {
                v.push(r)
            }
        };
        for w in cuts.windows(2) {
            let (lo, hi) = (w[0], w[1] - 1);
            let mut piece_allowed = universe.clone();
            let mut contributions: Vec<(RuleRef, Access, AddrSet)> = Vec::new();
            for (level, nsg, rules) in &levels {
                let mut undecided = universe.clone();
                let mut allowed = AddrSet::empty();
                for (i, r, src) in rules {
                    if !r.src_ports.contains_range(lo, hi) {
                        continue;
                    }
                    let s = src.intersection(&undecided);
                    if s.is_empty() {
                        continue;
                    }
                    undecided = undecided.difference(&s);
                    if r.access == Access::Allow {
                        allowed = allowed.union(&s);
                    }
                    contributions.push((
                        RuleRef {
                            level: *level,
                            nsg: *nsg,
                            rule: *i,
                        },
                        r.access,
                        s,
                    ));
                    if undecided.is_empty() {
                        break;
                    }
                }
                piece_allowed = piece_allowed.intersection(&allowed);
            }
            let piece_public = piece_allowed.intersection(&public_all);
            for (rr, access, s) in &contributions {
                match access {
                    Access::Allow => {
                        if s.intersects(&piece_public) {
                            push(&mut allow_public, *rr);
                        }
                        if s.intersects(&piece_allowed) {
                            push(&mut allow_any, *rr);
                        }
                    }
                    Access::Deny => {
                        if s.intersects(&public_all) {
                            push(&mut deny_public, *rr);
                        }
                        push(&mut deny_any, *rr);
                    }
                }
            }
            total = total.union(&piece_allowed);
        }

        let public = total.intersection(&public_all);
        let state = if public.v4.count() >= self.v4_threshold || public.v6.count() >= self.v6_threshold {
            State::Open
        } else if !public.is_empty() {
            State::Restricted
        } else if !total.is_empty() {
            State::Private
        } else {
            State::Closed
        };
        let deciding = match state {
            State::Open | State::Restricted => allow_public,
            State::Private => {
                let mut d = deny_public;
                for r in allow_any {
                    push(&mut d, r);
                }
                d
            }
            State::Closed => {
                if deny_public.is_empty() {
                    deny_any
                } else {
                    deny_public
                }
            }
        };
        let shown_cidrs: Vec<Cidr> = total
            .to_cidrs()
            .into_iter()
            .filter(|c| AddrSet::from_cidr(c).intersects(&public))
            .collect();
        PortEval {
            shown: AddrSet::from_cidrs(shown_cidrs.iter()),
            allowed: total,
            public,
            state,
            deciding,
            no_nsg,
        }
    }
}

/// Does rule `r` apply to traffic addressed to this ip configuration? NSGs see traffic after
/// NAT, so the destination is the private address. Where the answer is uncertain (unknown
/// service tag, unknown address, prefix ip configurations) Allow rules are taken to match and
/// Deny rules not, so uncertainty never hides exposure.
fn dest_matches(r: &CompiledRule, conf: &IpConf) -> bool {
    let d = &r.dst;
    if d.any || d.virtual_network {
        return true;
    }
    let lenient = r.access == Access::Allow;
    if !d.other_tags.is_empty() && lenient {
        return true;
    }
    if d.asgs.iter().any(|a| conf.asgs.contains(a)) {
        return true;
    }
    let prefixes = match conf.family {
        Family::V4 => &d.set.v4,
        Family::V6 => &d.set.v6,
    };
    if prefixes.is_empty() {
        return false;
    }
    match &conf.addrs {
        Some(addrs) if lenient => prefixes.intersects(addrs),
        Some(addrs) => addrs.is_subset(prefixes),
        None => lenient,
    }
}

fn parse_cidr(s: &str, path: &str) -> Result<AddrSet, InputError> {
    Cidr::parse(s)
        .map(|c| AddrSet::from_cidr(&c))
        .ok_or_else(|| InputError::value(path, s, "is not a valid CIDR prefix"))
}

fn parse_ipconfs(
    nic: &NetworkInterface,
    nic_idx: u32,
    path: &str,
    asgs: &mut AsgInterner,
) -> Result<Vec<IpConf>, InputError> {
    let mut out = Vec::with_capacity(nic.properties.ip_configurations.len());
    for (j, c) in nic.properties.ip_configurations.iter().enumerate() {
        let cpath = format!("{path}.properties.ipConfigurations[{j}].properties");
        let p = &c.properties;
        let declared = match p.private_ip_address_version.as_deref().map(str::trim) {
            Some(v) if v.eq_ignore_ascii_case("ipv6") => Some(Family::V6),
            Some(v) if v.eq_ignore_ascii_case("ipv4") => Some(Family::V4),
            Some("") | None => None,
            Some(v) => {
                return Err(InputError::value(
                    format!("{cpath}.privateIPAddressVersion"),
                    v,
                    "is not IPv4 or IPv6",
                ))
            }
        };
        let (family, addrs) = match p.private_ip_address.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(a) => {
                let bad = || InputError::value(format!("{cpath}.privateIPAddress"), a, "is not an IP address");
                let (fam, ip) = parse_ip(a).ok_or_else(bad)?;
                // prefix ip configurations ("172.20.2.16/28") own the whole prefix
                let set = if a.contains('/') {
                    let c = Cidr::parse(a).ok_or_else(bad)?;
                    IntervalSet::range(c.first(), c.last())
                } else {
                    IntervalSet::range(ip, ip)
                };
                (fam, Some(set))
            }
            None => (declared.unwrap_or(Family::V4), None),
        };
        let id = c
            .id
            .clone()
            .unwrap_or_else(|| format!("{}/ipConfigurations/{}", nic.id, c.name.as_deref().unwrap_or("?")));
        let mut conf_asgs = Vec::new();
        for (k, a) in p.application_security_groups.iter().enumerate() {
            match a.id.as_deref() {
                Some(id) if !id.trim().is_empty() => conf_asgs.push(asgs.intern(id)),
                _ => {
                    return Err(InputError::new(
                        format!("{cpath}.applicationSecurityGroups[{k}].id"),
                        "missing application security group id",
                    ))
                }
            }
        }
        out.push(IpConf {
            private_ip: addrs.as_ref().map(|s| format_ip(family, s.ranges()[0].0)),
            id,
            nic: nic_idx,
            family,
            addrs,
            asgs: conf_asgs,
            subnet_key: p.subnet.as_ref().and_then(|s| s.id.as_deref()).map(id_key),
            public_ip_ref: p
                .public_ip_address
                .as_ref()
                .and_then(|s| s.id.clone())
                .filter(|s| !s.trim().is_empty()),
        });
    }
    Ok(out)
}

/// `(subscriptionId, resourceGroup)` of an ARM id (empty when absent).
pub fn id_scope(id: &str) -> (String, String) {
    let parts: Vec<&str> = id.split('/').collect();
    let mut sub = String::new();
    let mut rg = String::new();
    for w in parts.windows(2) {
        if w[0].eq_ignore_ascii_case("subscriptions") && sub.is_empty() {
            sub = w[1].to_string();
        }
        if w[0].eq_ignore_ascii_case("resourceGroups") && rg.is_empty() {
            rg = w[1].to_string();
        }
    }
    (sub, rg)
}

fn short_list(items: &[String]) -> String {
    match items.len() {
        0 => String::new(),
        1..=3 => items.join(", "),
        n => format!("{} and {} more", items[..3].join(", "), n - 3),
    }
}

fn describe(rules: &[DecidingRule]) -> String {
    let names: Vec<String> = rules
        .iter()
        .map(|r| {
            let nsg = r.nsg.rsplit('/').next().unwrap_or_default();
            format!("{} ({} {}, {} NSG {nsg})", r.rule, r.access_str(), r.priority, r.level_str())
        })
        .collect();
    short_list(&names)
}

impl DecidingRule {
    fn access_str(&self) -> &'static str {
        match self.access {
            Access::Allow => "Allow",
            Access::Deny => "Deny",
        }
    }
    fn level_str(&self) -> &'static str {
        match self.level {
            Level::Subnet => "subnet",
            Level::NetworkInterface => "NIC",
        }
    }
}

fn reason(state: State, no_nsg: bool, public: &[String], rules: &[DecidingRule], reachable: bool) -> String {
    let via = if reachable {
        " through a public IP"
    } else {
        " (no public IP on this path)"
    };
    match state {
        State::Open | State::Restricted if no_nsg && rules.is_empty() => format!(
            "No NSG on the subnet or the network interface: every source can connect{via}"
        ),
        State::Open | State::Restricted => format!(
            "Public sources {} allowed by {}{via}",
            short_list(public),
            describe(rules)
        ),
        State::Private => {
            let (deny, allow): (Vec<DecidingRule>, Vec<DecidingRule>) =
                rules.iter().cloned().partition(|r| r.access == Access::Deny);
            let mut s = String::from("Only private sources can connect");
            if !allow.is_empty() {
                s.push_str(&format!(" (allowed by {})", describe(&allow)));
            }
            if !deny.is_empty() {
                s.push_str(&format!("; public sources are stopped by {}", describe(&deny)));
            }
            s
        }
        State::Closed => format!("No source can connect: denied by {}", describe(rules)),
    }
}
