//! The set-based NSG evaluator (Azure's semantics; see docs/ARCHITECTURE.md, "The evaluation").
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
use super::compile::{compile_admin_rules, compile_nsg_as, AsgInterner, CompiledNsg, CompiledRule};
pub(crate) use super::keys::{fx_map, Ci, FxMap, FxSet, NONE};
pub(crate) use super::paths::IpConf;
use super::paths::{Frontend, Ingress, Joins, Pip};
use super::report::*;
use super::{Access, Protocol};
use crate::arm::id_scope;
use crate::arm::view::{self, JitNetworkAccessPolicy, NetworkInterface, Release, VirtualMachine};
use crate::config::{EvalConfig, PortSpec};
use crate::inventory::{InputError, Inventory};
use crate::net::addr::{azure_load_balancer, cidr_cover, format_ip, non_public, parse_ip};
use crate::net::{AddrSet, Cidr, Family, IntervalSet};
use smallvec::SmallVec;
use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// A network profile entry naming a NIC that is not in the inventory.
const MISSING: u32 = u32::MAX;
/// A network profile entry without an id.
const NO_ID: u32 = u32::MAX - 1;

/// Evaluates an inventory. Errors only on malformed input (with the JSON path).
pub fn evaluate(inv: &Inventory, cfg: &EvalConfig) -> Result<Report, InputError> {
    let model = Model::build(inv, cfg)?;
    let report = model.report();
    model.dispose();
    Ok(report)
}

#[derive(Debug, Clone)]
struct VnetInfo {
    space: AddrSet,
    /// The public Internet as seen from this VNet: everything non-special outside its space.
    public: AddrSet,
    /// Its effective security admin rules (index in `Model::admins`), or `NONE`.
    admin: u32,
}

/// One VNet's effective security admin rules, evaluated before the NSGs.
#[derive(Debug)]
pub struct AdminRules {
    /// The rules (inbound, by priority), each with its rule collection's id.
    pub rules: Vec<CompiledRule>,
    pub homes: Vec<Arc<str>>,
    plan: NsgPlan,
}

/// The verdict for one ip configuration (as cached key) and one port.
#[derive(Debug)]
pub struct PortEval {
    /// Every source address allowed through.
    pub allowed: AddrSet,
    /// The minimal CIDRs of `allowed` that contain public addresses: what users read as the
    /// allowed public sources (`*` shows as `0.0.0.0/0`, not as the Internet's 30-odd CIDRs).
    pub shown: AddrSet,
    pub state: State,
    pub deciding: Vec<RuleRef>,
    pub no_nsg: bool,
    /// Presentation, built once and shared by every VM with this verdict.
    sources: OnceLock<Arc<[String]>>,
    rules: OnceLock<Arc<[DecidingRule]>>,
    /// Reason sentence, for each [`Via`].
    reasons: [OnceLock<Arc<str>>; 4],
}

impl PortEval {
    /// Whether `other` says the same as this one: its report parts are then the same too.
    fn same_verdict(&self, other: &PortEval) -> bool {
        self.state == other.state
            && self.no_nsg == other.no_nsg
            && self.deciding == other.deciding
            && self.shown == other.shown
            && self.allowed == other.allowed
    }
}

/// Values shared by every report (one allocation each per inventory).
struct Shared {
    unknown: Arc<str>,
    no_sources: Arc<[String]>,
}

/// How the reason sentence ends: which way in the verdict applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// No path from the Internet.
    None = 0,
    /// Reachable through the ip configuration's public IP.
    PublicIp = 1,
    /// A Standard public IP without an NSG on the path: closed by default.
    StandardClosed = 2,
    /// Reachable through a load balancer or firewall (see the exposure's paths).
    Paths = 3,
}

/// A rule of a compiled NSG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleRef {
    pub level: Level,
    pub nsg: u32,
    pub rule: u32,
}

/// Which rules of an NSG match an ip configuration as destination (bit i = rule i).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Mask {
    /// NSGs of up to 128 rules (custom + default): no allocation.
    Small([u64; 2]),
    Large(Vec<u64>),
}

impl Mask {
    fn new(rules: usize) -> Self {
        if rules <= 128 {
            Mask::Small([0; 2])
        } else {
            Mask::Large(vec![0; rules.div_ceil(64)])
        }
    }
    fn words(&mut self) -> &mut [u64] {
        match self {
            Mask::Small(w) => w,
            Mask::Large(w) => w,
        }
    }
    fn bit(&self, i: usize) -> bool {
        let w = match self {
            Mask::Small(w) => &w[..],
            Mask::Large(w) => &w[..],
        };
        w[i / 64] & (1 << (i % 64)) != 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct EvalKey {
    admin: u32,
    admin_mask: Mask,
    subnet_nsg: u32,
    subnet_mask: Mask,
    nic_nsg: u32,
    nic_mask: Mask,
    vnet: u32,
    family: Family,
}

/// The inbound rules of an NSG that can decide a management port (a port and protocol of the
/// configuration match), in evaluation order: `(rule index, bit)`. `bit` is the rule's bit in
/// the destination mask when whether it applies depends on the ip configuration, or `NONE` when
/// it always applies (destination `*`, `VirtualNetwork`, or an unexpanded tag in an Allow).
/// Other rules never change a verdict, so they stay out of the cache key: ip configurations
/// that differ only by rules for other ports share one evaluation.
#[derive(Debug)]
struct NsgPlan {
    relevant: Box<[(u32, u32)]>,
    /// The number of rules with a bit.
    conditional: u32,
    /// A hash of the NSG's rules but their names, to find alike NSGs (see `classes`); made
    /// where the NSG is compiled, while its rules are at hand.
    content: u64,
}

impl NsgPlan {
    fn new(nsg: &CompiledNsg, ports: &[PortSpec]) -> Self {
        NsgPlan {
            content: super::classes::content_hash(nsg),
            ..Self::of(nsg.inbound(), ports)
        }
    }

    fn of<'r>(rules: impl Iterator<Item = &'r CompiledRule>, ports: &[PortSpec]) -> Self {
        let mut conditional = 0;
        let relevant = rules
            .enumerate()
            .filter(|(_, r)| {
                ports
                    .iter()
                    .any(|p| r.protocol.matches(p.protocol) && r.dst_ports.contains(p.port))
            })
            .map(|(i, r)| {
                let d = &r.dst;
                let always = d.any
                    || d.virtual_network
                    || (!d.other_tags().is_empty() && r.access.permits());
                let bit = if always {
                    NONE
                } else {
                    conditional += 1;
                    conditional - 1
                };
                (i as u32, bit)
            })
            .collect();
        NsgPlan {
            relevant,
            conditional,
            content: 0,
        }
    }
}

/// The evaluation of every management port for one ip configuration.
type PathEval = Arc<[Arc<PortEval>]>;

/// The state of every management port, in the order of the configured ports.
type PortStates = SmallVec<[State; 4]>;

fn states_of(evals: &PathEval) -> PortStates {
    evals.iter().map(|e| e.state).collect()
}

#[derive(Default)]
struct Cache {
    index: FxMap<EvalKey, u32>,
    evals: Vec<PathEval>,
}

/// Everything the evaluator needs, indexed; built once per inventory.
pub struct Model<'a> {
    inv: view::Inventory<'a>,
    ports: Vec<PortSpec>,
    v4_threshold: u128,
    v6_threshold: u128,
    pub nsgs: Vec<CompiledNsg>,
    /// Per NSG, the inbound rules that can decide a management port.
    plans: Vec<NsgPlan>,
    /// Effective security admin rules, per VNet that has some.
    pub admins: Vec<AdminRules>,
    /// Paths beyond the NICs' own public IPs, and managed access.
    ingress: Ingress,
    /// Per NIC: it has an NSG, or names one the inventory lacks.
    nic_guard: Vec<bool>,
    /// Values reports share.
    shared: Shared,
    vnets: Vec<VnetInfo>,
    /// Public Internet when the VNet is unknown.
    public_no_vnet: AddrSet,
    /// The `AzureLoadBalancer` tag's addresses.
    load_balancer: AddrSet,
    asg_members: Vec<AddrSet>,
    nics: FxMap<Ci<'a>, u32>,
    nic_nsg: Vec<u32>,
    /// The ip configurations of NIC `i`: `ipconfs[nic_confs[i]..nic_confs[i + 1]]`.
    ipconfs: Vec<IpConf<'a>>,
    nic_confs: Vec<u32>,
    /// Per ip configuration: another one shares its NSGs, VNet and family, so that its
    /// evaluation may be reused and is worth keeping in the cache (one NSG per NIC would
    /// otherwise fill the cache with verdicts read once).
    conf_shared: Vec<bool>,
    /// Each NSG's class: the first NSG with the same rules but for their names, whose
    /// evaluations it shares (see `classes`).
    nsg_class: Vec<u32>,
    /// The network profile of VM `i` resolved: `vm_nics[vm_nic_at[i]..vm_nic_at[i + 1]]` holds,
    /// for each entry, the NIC's index, [`MISSING`] or [`NO_ID`].
    vm_nics: Vec<u32>,
    vm_nic_at: Vec<u32>,
    /// Each VM's id as a key (hashed once, at build).
    vm_keys: Vec<Ci<'a>>,
    nics_by_vm: FxMap<Ci<'a>, SmallVec<[u32; 2]>>,
    jit_by_vm: FxMap<Ci<'a>, Vec<(u32, u32)>>,
    /// Shared between evaluation threads (see the `parallel` feature).
    cache: Mutex<Cache>,
    /// Warnings found while building the model.
    warnings: Mutex<Vec<String>>,
}

impl<'a> Model<'a> {
    /// Builds the model of an owned inventory (through its borrowed [`view`]).
    pub fn build(inv: &'a Inventory, cfg: &EvalConfig) -> Result<Self, InputError> {
        Self::from_view(inv.view(), cfg)
    }

    /// Builds the model of an inventory as the engine reads it (e.g. parsed from one buffer
    /// with [`view::Inventory::from_slice`]).
    pub fn from_view(inv: view::Inventory<'a>, cfg: &EvalConfig) -> Result<Self, InputError> {
        Self::from_view_releasing(inv, cfg, &|_| {})
    }

    /// [`Model::from_view`], telling `release` which bytes of the parsed buffer (by address)
    /// the build reads no more as it goes: the NSGs of each chunk once compiled, everything
    /// every 4,096 NICs and VMs resolved on a thread, once the NICs are resolved and once the
    /// VMs are (a range may run past the buffer, and bytes released may still be read: it is
    /// a hint). A caller that mapped the file lets those pages go, so that the file's pages
    /// and the model are not all resident at once.
    pub fn from_view_releasing(
        mut inv: view::Inventory<'a>,
        cfg: &EvalConfig,
        release: Release<'_>,
    ) -> Result<Self, InputError> {
        cfg.validate()?;
        let mut warnings = Vec::new();
        let mut asgs = intern_asgs(&inv);
        let ports = cfg.ports();
        let ((nsgs, plans), resolved) =
            compile_and_resolve(&mut inv, &asgs, &ports, release, &mut warnings)?;
        let Resolved {
            networks:
                Networks {
                    subnets,
                    vnet_index,
                    mut vnets,
                    public_no_vnet,
                },
            pips,
            nics:
                Nics {
                    nics,
                    nic_nsg,
                    nic_guard,
                    ipconfs,
                    nic_confs,
                    ids_unique: _,
                },
            asg_members,
            profiles:
                VmProfiles {
                    vm_nics,
                    vm_nic_at,
                    vm_keys,
                    nics_by_vm,
                },
            jit_by_vm,
        } = resolved;
        let nsg_class = super::classes::nsg_classes(&nsgs, |i| plans[i].content);
        let conf_shared = conf_shared(&ipconfs, &nic_nsg, &nic_confs, &nsg_class);
        let admins = admin_rules(
            &inv,
            &mut asgs,
            &ports,
            &vnet_index,
            &mut vnets,
            &mut warnings,
        )?;
        let ingress = if Ingress::needed(&inv) {
            let subnets2: FxMap<Ci<'a>, (u32, u32)> = subnets
                .iter()
                .map(|(k, &(n, v, _))| (k.clone(), (n, v)))
                .collect();
            Ingress::build(
                &Joins {
                    inv: &inv,
                    confs: &ipconfs,
                    nic_confs: &nic_confs,
                    pips: &pips,
                    subnets: &subnets2,
                    vnet_index: &vnet_index,
                },
                &mut warnings,
            )?
        } else {
            Ingress::default()
        };
        let mut ipconfs = ipconfs;
        for (&k, fronts) in &ingress.by_conf {
            if fronts.iter().any(|f| {
                matches!(
                    f.kind,
                    PathKind::LoadBalancerNat | PathKind::LoadBalancerRule
                )
            }) {
                ipconfs[k as usize].lb_facing = true;
            }
        }

        // what the evaluation reads no more (compiled and resolved above): freed before it starts
        let inv = view::Inventory {
            virtual_machines: inv.virtual_machines,
            jit_network_access_policies: inv.jit_network_access_policies,
            bastion_hosts: inv.bastion_hosts,
            ..Default::default()
        };
        Ok(Self {
            inv,
            ports,
            admins,
            ingress,
            nic_guard,
            shared: Shared {
                unknown: Arc::from("?"),
                no_sources: Arc::from([]),
            },
            v4_threshold: cfg.v4_open_threshold(),
            v6_threshold: cfg.v6_open_threshold(),
            nsgs,
            plans,
            vnets,
            public_no_vnet,
            load_balancer: azure_load_balancer(),
            asg_members,
            nics,
            nic_nsg,
            ipconfs,
            nic_confs,
            conf_shared,
            nsg_class,
            vm_nics,
            vm_nic_at,
            vm_keys,
            nics_by_vm,
            jit_by_vm,
            cache: Mutex::new(Cache::default()),
            warnings: Mutex::new(warnings),
        })
    }

    /// Frees the model; the compiled NSGs (most of its allocations) on a second thread with the
    /// `parallel` feature.
    pub fn dispose(mut self) {
        let nsgs = std::mem::take(&mut self.nsgs);
        par_drop(nsgs, self);
    }

    /// How many VMs the inventory lists.
    pub fn vm_count(&self) -> usize {
        self.vm_keys.len()
    }

    /// Adds a warning to those the report ends with (e.g. the CLI's, about the input file).
    pub fn add_warning(&self, warning: String) {
        lock(&self.warnings).push(warning);
    }

    /// Evaluates every VM and builds the report. With the `parallel` feature (native builds)
    /// the VMs are shared out between the machine's cores; the report is the same either way.
    pub fn report(&self) -> Report {
        let (todo, mut warnings) = self.vm_order();
        let mut vms: Vec<VmReport> = Vec::new();
        for (chunk, chunk_warnings) in self.evaluate_all(&todo) {
            if vms.is_empty() {
                // the first chunk's reports stay where they are
                vms = chunk;
                vms.reserve_exact(todo.len() - vms.len());
            } else {
                vms.extend(chunk);
            }
            warnings.extend(chunk_warnings);
        }
        dedup_warnings(&mut warnings);
        Report::from_vms(vms, warnings)
    }

    /// The VMs the report lists, in order (by their index in the inventory: VMs without an id
    /// and repeated ids are left out), and the warnings so far (the model's, then those
    /// about the VMs left out).
    pub fn vm_order(&self) -> (Vec<u32>, Vec<String>) {
        let inv = &self.inv;
        let mut warnings = std::mem::take(&mut *lock(&self.warnings));
        let mut todo: Vec<u32> = Vec::with_capacity(inv.virtual_machines.len());
        let mut seen: FxSet<Ci<'a>> =
            FxSet::with_capacity_and_hasher(inv.virtual_machines.len(), Default::default());
        for (i, vm) in inv.virtual_machines.iter().enumerate() {
            if crate::eval::trim(vm.id).is_empty() {
                warnings.push(format!("virtualMachines[{i}]: no id; skipped"));
            } else if !seen.insert(self.vm_keys[i].clone()) {
                warnings.push(format!(
                    "virtualMachines[{i}]: duplicate id {:?}; evaluated once",
                    vm.id
                ));
            } else {
                todo.push(i as u32);
            }
        }
        (todo, warnings)
    }

    /// Evaluates the VMs at these indices (from [`Model::vm_order`]), in order, in parallel
    /// with the `parallel` feature; returns their reports and the warnings they raised.
    pub fn evaluate_vms(&self, vms: &[u32]) -> (Vec<VmReport>, Vec<String>) {
        let mut reports = Vec::with_capacity(vms.len());
        let mut warnings = Vec::new();
        for (r, w) in self.evaluate_all(vms) {
            reports.extend(r);
            warnings.extend(w);
        }
        (reports, warnings)
    }

    /// Evaluates consecutive chunks of `vms` in parallel (with the `parallel` feature), each
    /// chunk's VMs in order, and applies `f(offset of the chunk in vms, reports, warnings)`;
    /// returns the results in order.
    pub fn map_vm_chunks<R: Send>(
        &self,
        vms: &[u32],
        f: impl Fn(usize, Vec<VmReport>, Vec<String>) -> R + Sync,
    ) -> Vec<R> {
        par_chunks(vms, |start, chunk| {
            let (reports, warnings) = self.evaluate_chunk(chunk);
            f(start, reports, warnings)
        })
    }

    /// Evaluates VMs in order (in parallel with the `parallel` feature); returns chunks of
    /// reports with their warnings, in order.
    fn evaluate_all(&self, vms: &[u32]) -> Vec<(Vec<VmReport>, Vec<String>)> {
        par_chunks(vms, |_, chunk| self.evaluate_chunk(chunk))
    }

    /// Evaluates the VMs at these indices (from [`Model::vm_order`]) in order, on this
    /// thread; their warnings are dropped (the caller has them from an earlier pass).
    pub fn evaluate_in_order(&self, vms: &[u32]) -> Vec<VmReport> {
        self.evaluate_chunk(vms).0
    }

    fn evaluate_chunk(&self, vms: &[u32]) -> (Vec<VmReport>, Vec<String>) {
        let mut warnings = Vec::new();
        let reports = vms
            .iter()
            .map(|&i| {
                let vm = &self.inv.virtual_machines[i as usize];
                self.evaluate_vm_full(vm, Some(i as usize), false, &mut warnings)
                    .0
            })
            .collect();
        (reports, warnings)
    }

    /// Evaluates one VM.
    pub fn evaluate_vm(&self, vm: &crate::arm::VirtualMachine) -> VmReport {
        let mut w = Vec::new();
        let report = self.evaluate_vm_full(&vm.view(), None, false, &mut w).0;
        lock(&self.warnings).extend(w);
        report
    }

    /// Every source address (public or not) allowed to reach each management port of the VM,
    /// over all its ip configurations, in the order of [`EvalConfig::ports`].
    pub fn allowed_sources(&self, vm: &crate::arm::VirtualMachine) -> Vec<AddrSet> {
        self.evaluate_vm_full(&vm.view(), None, true, &mut Vec::new())
            .1
    }

    /// The VM's exposures and recommendations: all of its report that is not copied from the
    /// inventory. `index` as in [`Model::evaluate_vm_full`].
    fn vm_verdict<'m>(
        &'m self,
        vm: &VirtualMachine<'_>,
        index: Option<usize>,
        want_allowed: bool,
        warnings: &mut Vec<String>,
    ) -> VmVerdict<'m, 'a> {
        let vm_key = match index {
            Some(i) => self.vm_keys[i].clone(),
            None => Ci::new(vm.id),
        };
        let name = vm_name(vm);
        let (nic_idx, missing_nics) = self.vm_nic_list(vm, index, &vm_key, name, warnings);
        let has_nic = !nic_idx.is_empty() || missing_nics > 0;
        let confs = self.vm_confs(&nic_idx, missing_nics > 0);
        let jit = self.jit_for(&vm_key);
        let managed = self.managed_access(&confs.evals);
        let mut exposures = Vec::with_capacity(self.ports.len());
        let mut allowed_all = Vec::with_capacity(if want_allowed { self.ports.len() } else { 0 });
        for (pi, port) in self.ports.iter().enumerate() {
            let (exposure, allowed) = self.exposure(&confs, pi, *port, &jit, want_allowed);
            if want_allowed {
                allowed_all.push(allowed);
            }
            exposures.push(Exposure {
                managed_access: managed.clone(),
                ..exposure
            });
        }
        let any_open = exposures.iter().any(|e| e.state == State::Open);
        let recommendations = vm_recommendations(
            confs.evals.iter().map(|(c, n, _)| (*c, *n)),
            has_nic,
            any_open,
            &jit,
        );
        VmVerdict {
            confs,
            exposures,
            allowed_all,
            recommendations,
        }
    }

    /// Evaluates the VMs at these indices (from [`Model::vm_order`]) as [`Model::map_vm_chunks`]
    /// does, but keeps only each VM's recommendations (its status follows from them): the
    /// report's strings are not built.
    pub fn map_vm_recommendations<R: Send>(
        &self,
        vms: &[u32],
        f: impl Fn(Vec<VmRecommendations>, Vec<String>) -> R + Sync,
    ) -> Vec<R> {
        par_chunks(vms, |_, chunk| {
            let mut warnings = Vec::new();
            let recs = chunk
                .iter()
                .map(|&i| {
                    let vm = &self.inv.virtual_machines[i as usize];
                    self.vm_recommendations_only(vm, i as usize, &mut warnings)
                })
                .collect();
            f(recs, warnings)
        })
    }

    /// Evaluates the VMs at these indices (from [`Model::vm_order`]) in consecutive chunks (in
    /// parallel with the `parallel` feature) into what a one-line summary of each shows
    /// ([`VmBrief`]), folded into one accumulator per chunk: `init()`, then `f(&mut acc, brief)`
    /// for each VM of the chunk, in order. Returns each chunk's accumulator and warnings, in
    /// order. The report's strings (reasons, deciding rules, sources) are not built.
    pub fn fold_vm_briefs<R: Send>(
        &self,
        vms: &[u32],
        init: impl Fn() -> R + Sync,
        f: impl Fn(&mut R, VmBrief<'_>) + Sync,
    ) -> Vec<(R, Vec<String>)> {
        par_chunks(vms, |_, chunk| {
            let mut warnings = Vec::new();
            let mut acc = init();
            for &i in chunk {
                let vm = &self.inv.virtual_machines[i as usize];
                f(&mut acc, self.vm_brief(vm, i as usize, &mut warnings));
            }
            (acc, warnings)
        })
    }

    /// What [`Model::evaluate_vm_full`] reports of a VM's name, resource group,
    /// recommendations, public addresses and open or restricted ports, and nothing else.
    fn vm_brief<'m>(
        &'m self,
        vm: &VirtualMachine<'m>,
        index: usize,
        warnings: &mut Vec<String>,
    ) -> VmBrief<'m> {
        let vm_key = self.vm_keys[index].clone();
        let name = vm_name(vm);
        let (nic_idx, missing_nics) = self.vm_nic_list(vm, Some(index), &vm_key, name, warnings);
        let has_nic = !nic_idx.is_empty() || missing_nics > 0;
        let jit = self.jit_for(&vm_key);
        if self.ingress.by_conf.is_empty() {
            // no load balancer or firewall path: the states tell the public IP paths
            let confs = self.vm_conf_states(&nic_idx, missing_nics > 0);
            let mut exposed = Vec::new();
            let mut any_open = false;
            for (pi, port) in self.ports.iter().enumerate() {
                let state = confs.port_state(pi);
                if !matches!(state, State::Open | State::Restricted) {
                    continue;
                }
                any_open |= state == State::Open;
                let reachable_via = confs
                    .confs
                    .iter()
                    .filter(|s| s.conf.has_public && s.public_path_reachable(pi))
                    .map(|s| (PathKind::PublicIp, self.public_frontend(s.conf, *port)))
                    .collect();
                exposed.push(ExposedPort {
                    port: port.port,
                    protocol: port.protocol,
                    state,
                    reachable_via,
                });
            }
            return VmBrief {
                name,
                resource_group: crate::arm::id_scope_ref(vm.id).1,
                recommendations: vm_recommendations(
                    confs.confs.iter().map(|s| (s.conf, s.nic_nsg)),
                    has_nic,
                    any_open,
                    &jit,
                ),
                public_ips: brief_public_ips(confs.confs.iter().map(|s| s.conf)),
                exposed,
            };
        }
        let confs = self.vm_confs(&nic_idx, missing_nics > 0);
        let mut exposed = Vec::new();
        let mut any_open = false;
        for (pi, port) in self.ports.iter().enumerate() {
            let state = self.port_state(&confs, pi, *port);
            if !matches!(state, State::Open | State::Restricted) {
                continue;
            }
            any_open |= state == State::Open;
            let (paths, _, _) = self.port_paths(&confs, pi, *port);
            let reachable_via = paths
                .into_iter()
                .filter(|p| p.reachable)
                .map(|p| (p.kind, p.frontend))
                .collect();
            exposed.push(ExposedPort {
                port: port.port,
                protocol: port.protocol,
                state,
                reachable_via,
            });
        }
        VmBrief {
            name,
            resource_group: crate::arm::id_scope_ref(vm.id).1,
            recommendations: vm_recommendations(
                confs.evals.iter().map(|(c, n, _)| (*c, *n)),
                has_nic,
                any_open,
                &jit,
            ),
            public_ips: brief_public_ips(confs.evals.iter().map(|(c, _, _)| *c)),
            exposed,
        }
    }

    /// A VM's recommendations as [`Model::vm_verdict`] decides them, without building its
    /// exposures: only each port's state is needed (whether any is open), not its sources,
    /// deciding rules, reason or paths.
    fn vm_recommendations_only(
        &self,
        vm: &VirtualMachine<'_>,
        index: usize,
        warnings: &mut Vec<String>,
    ) -> VmRecommendations {
        let vm_key = self.vm_keys[index].clone();
        let name = vm_name(vm);
        let (nic_idx, missing_nics) = self.vm_nic_list(vm, Some(index), &vm_key, name, warnings);
        let has_nic = !nic_idx.is_empty() || missing_nics > 0;
        let jit = self.jit_for(&vm_key);
        if self.ingress.by_conf.is_empty() {
            // no load balancer or firewall path: whether some port of some ip configuration is
            // open decides, so the first open port found ends the evaluation
            let confs = self.vm_conf_list(&nic_idx);
            let any_open = confs
                .clone()
                .zip(self.vm_conf_shared(&nic_idx))
                .any(|((c, nic_nsg), keep)| self.conf_any_open(c, nic_nsg, keep))
                || (missing_nics > 0
                    && self
                        .eval_path(&unseen_nic(), NONE, true)
                        .iter()
                        .any(|e| e.state == State::Open));
            return vm_recommendations(confs, has_nic, any_open, &jit);
        }
        let confs = self.vm_confs(&nic_idx, missing_nics > 0);
        let any_open = (0..self.ports.len())
            .any(|pi| self.port_state(&confs, pi, self.ports[pi]) == State::Open);
        let evals = confs.evals.iter().map(|(c, n, _)| (*c, *n));
        vm_recommendations(evals, has_nic, any_open, &jit)
    }

    /// The state [`Model::exposure`] gives port `pi`: the worst of the ip configurations'
    /// verdicts, unless a path that rewrites the source or destination admits worse (only
    /// load balancer and firewall frontends do, so only then are the paths built).
    fn port_state(&self, confs: &VmConfs<'_, 'a>, pi: usize, port: PortSpec) -> State {
        let state = confs
            .evals
            .iter()
            .map(|(_, _, e)| e[pi].state)
            .chain(confs.unknown.as_ref().map(|u| u[pi].state))
            .max_by_key(|s| s.rank())
            .unwrap_or(State::Closed);
        if self.ingress.by_conf.is_empty() {
            return state;
        }
        let (paths, beyond, _) = self.port_paths(confs, pi, port);
        match beyond {
            Some(extra) if !extra.is_empty() => paths
                .iter()
                .filter(|p| p.state.rank() > state.rank())
                .max_by_key(|p| p.state.rank())
                .map_or(state, |p| p.state),
            _ => state,
        }
    }

    /// `index`: the VM's index in the inventory, when it is the inventory's own (its network
    /// profile is then resolved already).
    fn evaluate_vm_full(
        &self,
        vm: &VirtualMachine<'_>,
        index: Option<usize>,
        want_allowed: bool,
        warnings: &mut Vec<String>,
    ) -> (VmReport, Vec<AddrSet>) {
        let VmVerdict {
            confs,
            exposures,
            allowed_all,
            recommendations,
        } = self.vm_verdict(vm, index, want_allowed, warnings);
        let vm_key = match index {
            Some(i) => self.vm_keys[i].clone(),
            None => Ci::new(vm.id),
        };
        let name = vm_name(vm);
        let jit_policy = self
            .jit_by_vm
            .get(&vm_key)
            .and_then(|v| v.first())
            .map(|&(pi, _)| {
                self.inv.jit_network_access_policies[pi as usize]
                    .id
                    .to_string()
            });
        let (subscription_id, resource_group) = id_scope(vm.id);
        let report = VmReport {
            status: recommendations.control_status(),
            id: vm.id.to_string(),
            name: name.to_string(),
            subscription_id,
            resource_group,
            location: vm.location.map(str::to_string),
            os_type: vm.os_type().map(str::to_string),
            recommendations,
            public_ips: public_ips(&confs.evals),
            exposures,
            ip_configurations: self.ip_config_summaries(&confs.evals),
            jit_policy,
        };
        (report, allowed_all)
    }

    /// The VM's NICs: from its network profile (resolved at build for the inventory's own VMs),
    /// plus NICs that point back at it; and how many of the profile's NICs are missing.
    fn vm_nic_list(
        &self,
        vm: &VirtualMachine<'_>,
        index: Option<usize>,
        vm_key: &Ci<'a>,
        name: &str,
        warnings: &mut Vec<String>,
    ) -> (SmallVec<[u32; 4]>, usize) {
        let mut nic_idx: SmallVec<[u32; 4]> = SmallVec::new();
        let mut missing_nics = 0usize;
        let resolved = index
            .map(|i| &self.vm_nics[self.vm_nic_at[i] as usize..self.vm_nic_at[i + 1] as usize]);
        for (k, r) in vm
            .properties
            .network_profile
            .network_interfaces
            .iter()
            .enumerate()
        {
            let Some(id) = r.id else { continue };
            let found = match resolved {
                Some(res) => Some(res[k]).filter(|&n| n != MISSING),
                None => self.nics.get(&Ci::new(id)).copied(),
            };
            match found {
                Some(n) => {
                    if !nic_idx.contains(&n) {
                        nic_idx.push(n)
                    }
                }
                None => {
                    missing_nics += 1;
                    warnings.push(format!(
                        "VM {name}: network interface {id} is not in the inventory; treated as unprotected (no NSG)"
                    ));
                }
            }
        }
        if let Some(extra) = self.nics_by_vm.get(vm_key) {
            for &n in extra {
                if !nic_idx.contains(&n) {
                    nic_idx.push(n);
                }
            }
        }
        (nic_idx, missing_nics)
    }

    /// Every ip configuration of the NICs, with its evaluation of every port; with `unknown`,
    /// the evaluation of a NIC we cannot see (no NSG, no public IP known).
    fn vm_confs<'m>(&'m self, nic_idx: &[u32], unknown: bool) -> VmConfs<'m, 'a> {
        let mut evals: SmallVec<[(&'m IpConf<'a>, u32, PathEval); 2]> = SmallVec::new();
        let mut at: SmallVec<[(u32, bool); 2]> = SmallVec::new();
        for &n in nic_idx {
            let nic_nsg = self.nic_nsg[n as usize];
            let (from, to) = (self.nic_confs[n as usize], self.nic_confs[n as usize + 1]);
            for (k, c) in self.ipconfs[from as usize..to as usize].iter().enumerate() {
                let keep = self.conf_shared[from as usize + k];
                evals.push((c, nic_nsg, self.eval_path(c, nic_nsg, keep)));
                at.push((
                    from + k as u32,
                    c.subnet_guard || self.nic_guard[n as usize],
                ));
            }
        }
        let unknown = unknown.then(|| self.eval_path(&unseen_nic(), NONE, true));
        VmConfs { evals, at, unknown }
    }

    /// [`Model::vm_confs`] when only the ports' states are wanted: the evaluations not worth
    /// caching stop at the states ([`Model::conf_states`]).
    /// The ip configurations of these NICs, each with its NIC's NSG, in order.
    fn vm_conf_list<'m>(
        &'m self,
        nic_idx: &'m [u32],
    ) -> impl Iterator<Item = (&'m IpConf<'a>, u32)> + Clone + 'm {
        nic_idx.iter().flat_map(move |&n| {
            let (from, to) = (self.nic_confs[n as usize], self.nic_confs[n as usize + 1]);
            let nic_nsg = self.nic_nsg[n as usize];
            self.ipconfs[from as usize..to as usize]
                .iter()
                .map(move |c| (c, nic_nsg))
        })
    }

    /// Whether each ip configuration of these NICs, in [`Model::vm_conf_list`]'s order, is
    /// worth caching (see `conf_shared`).
    fn vm_conf_shared<'m>(&'m self, nic_idx: &'m [u32]) -> impl Iterator<Item = bool> + 'm {
        nic_idx.iter().flat_map(move |&n| {
            let (from, to) = (self.nic_confs[n as usize], self.nic_confs[n as usize + 1]);
            self.conf_shared[from as usize..to as usize].iter().copied()
        })
    }

    fn vm_conf_states<'m>(&'m self, nic_idx: &[u32], unknown: bool) -> ConfStates<'m, 'a> {
        let mut confs: SmallVec<[ConfState<'m, 'a>; 2]> = SmallVec::new();
        for &n in nic_idx {
            let nic_nsg = self.nic_nsg[n as usize];
            let (from, to) = (self.nic_confs[n as usize], self.nic_confs[n as usize + 1]);
            for (k, c) in self.ipconfs[from as usize..to as usize].iter().enumerate() {
                let keep = self.conf_shared[from as usize + k];
                confs.push(ConfState {
                    conf: c,
                    nic_nsg,
                    states: self.conf_states(c, nic_nsg, keep),
                    guarded: c.subnet_guard || self.nic_guard[n as usize],
                });
            }
        }
        let unknown = unknown.then(|| states_of(&self.eval_path(&unseen_nic(), NONE, true)));
        ConfStates { confs, unknown }
    }

    /// The exposure of one management port (without its managed access) and, when
    /// `want_allowed`, every source allowed to it.
    fn exposure(
        &self,
        confs: &VmConfs<'_, 'a>,
        pi: usize,
        port: PortSpec,
        jit: &[(bool, Vec<(i64, Protocol)>)],
        want_allowed: bool,
    ) -> (Exposure, AddrSet) {
        let mut candidates: SmallVec<[(&Arc<PortEval>, bool); 4]> = SmallVec::new();
        candidates.extend(confs.evals.iter().map(|(c, _, e)| (&e[pi], c.has_public)));
        if let Some(u) = &confs.unknown {
            candidates.push((&u[pi], false));
        }
        let (paths, beyond, sku_closed) = self.port_paths(confs, pi, port);
        let reachable = paths.iter().any(|p| p.reachable);
        let via = if paths
            .iter()
            .any(|p| p.reachable && p.kind == PathKind::PublicIp)
        {
            Via::PublicIp
        } else if reachable {
            Via::Paths
        } else if sku_closed {
            Via::StandardClosed
        } else {
            Via::None
        };
        let jit_protected = jit.iter().any(|(policy_ok, ports)| {
            *policy_ok
                && ports
                    .iter()
                    .any(|(n, proto)| *n == i64::from(port.port) && proto.matches(port.protocol))
        });
        let (state, sources, rules, reason, allowed) = if let [(e, _)] = candidates.as_slice() {
            // one ip configuration: its shared presentation
            let allowed = if want_allowed {
                e.allowed.clone()
            } else {
                AddrSet::empty()
            };
            (
                e.state,
                self.sources_of(e),
                self.rules_of(e),
                self.reason_of(e, via),
                allowed,
            )
        } else {
            self.combine(&candidates, via)
        };
        // a path that rewrites the source (DNAT) or the destination (floating IP) may admit
        // public sources the NSG verdict does not show: the worst of them counts
        let (state, sources, reason) = match beyond {
            Some(extra) if !extra.is_empty() => {
                let mut shown = extra;
                for (e, _) in &candidates {
                    shown = shown.union(&e.shown);
                }
                let worst = paths
                    .iter()
                    .filter(|p| p.state.rank() > state.rank())
                    .max_by_key(|p| p.state.rank());
                match worst {
                    Some(p) => (
                        p.state,
                        shown.to_cidr_strings().into(),
                        Arc::from(p.reason()),
                    ),
                    None => (state, shown.to_cidr_strings().into(), reason),
                }
            }
            _ => (state, sources, reason),
        };
        let exposure = Exposure {
            port: port.port,
            protocol: port.protocol,
            state,
            reachable,
            allowed_public_sources: sources,
            deciding_rules: rules,
            jit_protected,
            reason,
            paths,
            managed_access: None,
        };
        (exposure, allowed)
    }

    /// Every path from the Internet to port `pi`; the public sources that paths rewriting the
    /// source or destination admit beyond the NSG verdict; and whether a Standard public IP
    /// without an NSG closes a port the NSGs would open.
    fn port_paths(
        &self,
        confs: &VmConfs<'_, 'a>,
        pi: usize,
        port: PortSpec,
    ) -> (Vec<InternetPath>, Option<AddrSet>, bool) {
        let mut paths: Vec<InternetPath> = Vec::new();
        let mut beyond: Option<AddrSet> = None;
        let mut sku_closed = false;
        for ((c, nic_nsg, evals), &(ci, guarded)) in confs.evals.iter().zip(&confs.at) {
            let e = &evals[pi];
            if c.has_public {
                sku_closed |=
                    !guarded && !c.pip_basic && e.state.rank() >= State::Restricted.rank();
                paths.push(self.public_ip_path(c, e, guarded, port));
            }
            if self.ingress.by_conf.is_empty() {
                continue;
            }
            for f in self.ingress.by_conf.get(&ci).into_iter().flatten() {
                if let Some((path, extra)) =
                    self.frontend_path(c, *nic_nsg, e, f, guarded, pi, port)
                {
                    if let Some(x) = extra {
                        beyond = Some(match beyond {
                            Some(b) => b.union(&x),
                            None => x,
                        });
                    }
                    paths.push(path);
                }
            }
        }
        // a port has one path or two: a vector grown by `push` holds room for four, and a
        // report keeps every exposure's paths (at 100k VMs the slack was ~90 MB per report)
        paths.shrink_to_fit();
        (paths, beyond, sku_closed)
    }

    /// The network path of each ip configuration, for explanations.
    fn ip_config_summaries(&self, evals: &[(&IpConf<'a>, u32, PathEval)]) -> Vec<IpConfigSummary> {
        let nsg_id = |k: u32| (k != NONE).then(|| self.nsgs[k as usize].id.clone());
        evals
            .iter()
            .map(|(c, nic_nsg, _)| IpConfigSummary {
                id: Arc::from(&*c.id),
                private_ip: c.private_ip.clone(),
                public_ip: c.public_ip.clone(),
                has_public_ip: c.has_public,
                subnet_nsg: nsg_id(c.subnet_nsg),
                nic_nsg: nsg_id(*nic_nsg),
            })
            .collect()
    }

    /// Several ip configurations: the worst state, the union of sources, the deciding rules of
    /// the paths in the worst state.
    #[allow(clippy::type_complexity)]
    fn combine(
        &self,
        candidates: &[(&Arc<PortEval>, bool)],
        via: Via,
    ) -> (State, Arc<[String]>, Arc<[DecidingRule]>, Arc<str>, AddrSet) {
        let mut worst = State::Closed;
        let mut shown = AddrSet::empty();
        let mut allowed = AddrSet::empty();
        for (e, _) in candidates {
            if e.state.rank() > worst.rank() {
                worst = e.state;
            }
            shown = shown.union(&e.shown);
            allowed = allowed.union(&e.allowed);
        }
        let mut deciding: Vec<RuleRef> = Vec::new();
        let mut no_nsg = false;
        for (e, _) in candidates.iter().filter(|(e, _)| e.state == worst) {
            no_nsg |= e.no_nsg;
            for r in &e.deciding {
                if !deciding.contains(r) {
                    deciding.push(*r);
                }
            }
        }
        deciding.sort();
        let rules: Arc<[DecidingRule]> = deciding.iter().map(|r| self.deciding_rule(r)).collect();
        let sources: Arc<[String]> = shown.to_cidr_strings().into();
        let reason = reason(worst, no_nsg, &sources, &rules, via).into();
        (worst, sources, rules, reason, allowed)
    }

    /// The Bastions serving the VNets of the VM's ip configurations.
    fn managed_access(
        &self,
        confs: &[(&IpConf<'_>, u32, PathEval)],
    ) -> Option<Arc<[ManagedAccess]>> {
        if self.inv.bastion_hosts.is_empty() {
            return None;
        }
        let mut out: Option<Arc<[ManagedAccess]>> = None;
        for (c, _, _) in confs {
            let Some(list) = self.ingress.managed.get(c.vnet as usize) else {
                continue;
            };
            if list.is_empty() {
                continue;
            }
            out = Some(match out {
                None => list.clone(),
                Some(prev) if Arc::ptr_eq(&prev, list) => prev,
                Some(prev) => {
                    let mut v: Vec<ManagedAccess> = prev.to_vec();
                    for m in list.iter() {
                        if !v.contains(m) {
                            v.push(m.clone());
                        }
                    }
                    v.into()
                }
            });
        }
        out
    }

    /// The path through the ip configuration's own public IP.
    fn public_ip_path(
        &self,
        c: &IpConf<'_>,
        e: &PortEval,
        guarded: bool,
        port: PortSpec,
    ) -> InternetPath {
        let open = e.state.rank() >= State::Restricted.rank();
        let why = public_path_why(c, e.state, guarded);
        let reachable = why == PathWhy::Reachable;
        InternetPath {
            kind: PathKind::PublicIp,
            via: c
                .public_ip_id
                .clone()
                .unwrap_or_else(|| self.shared.unknown.clone()),
            frontend: self.public_frontend(c, port),
            target: self.target(c, port),
            // the verdict's own (shared) list, empty when no public source passes the NSGs
            allowed_public_sources: if reachable || !open {
                self.sources_of(e)
            } else {
                self.shared.no_sources.clone()
            },
            state: if reachable { e.state } else { State::Closed },
            reachable,
            label: None,
            why,
            text: None,
        }
    }

    /// The public IP path's frontend: the ip configuration's public address and the port.
    fn public_frontend(&self, c: &IpConf<'_>, port: PortSpec) -> Endpoint {
        Endpoint {
            ip: c
                .public_ip
                .clone()
                .unwrap_or_else(|| self.shared.unknown.clone()),
            ports: (port.port, port.port),
        }
    }

    fn target(&self, c: &IpConf<'_>, port: PortSpec) -> Endpoint {
        Endpoint {
            ip: c
                .private_ip
                .clone()
                .unwrap_or_else(|| self.shared.unknown.clone()),
            ports: (port.port, port.port),
        }
    }

    /// A load balancer or firewall frontend's path to port `pi` of the ip configuration, with
    /// the public sources it admits beyond the NSG verdict `e` (DNAT, floating IP); `None` when
    /// the frontend does not forward to this port.
    #[allow(clippy::too_many_arguments)]
    fn frontend_path(
        &self,
        c: &IpConf<'_>,
        nic_nsg: u32,
        e: &Arc<PortEval>,
        f: &Frontend,
        guarded: bool,
        pi: usize,
        port: PortSpec,
    ) -> Option<(InternetPath, Option<AddrSet>)> {
        if f.backend_port.is_some_and(|b| b != port.port) || !f.protocol.matches(port.protocol) {
            return None;
        }
        let ports = match f.backend_port {
            Some(_) => f.ports,
            None => (port.port, port.port),
        };
        let public_all = self.public_set(c.vnet);
        // (state, the path's public sources as a set when they are not the verdict's own, why)
        let mut own: Option<&Arc<PortEval>> = None;
        let floating;
        let (state, shown, why): (State, AddrSet, PathWhy) = if f.dnat != NONE {
            let d = &self.ingress.dnats[f.dnat as usize];
            let admitted = d.seen_from.as_ref().is_none_or(|s| e.allowed.intersects(s));
            let public = d.sources.intersection(public_all);
            if !admitted {
                (
                    State::Closed,
                    AddrSet::empty(),
                    PathWhy::FirewallNotAdmitted,
                )
            } else if public.is_empty() {
                (State::Closed, AddrSet::empty(), PathWhy::DnatNoPublicSource)
            } else {
                let shown = AddrSet {
                    v4: cidr_cover(Family::V4, &d.sources.v4, &public.v4),
                    v6: cidr_cover(Family::V6, &d.sources.v6, &public.v6),
                };
                let open = public.v4.count() >= self.v4_threshold
                    || public.v6.count() >= self.v6_threshold;
                let state = if open { State::Open } else { State::Restricted };
                (state, shown, PathWhy::Reachable)
            }
        } else {
            let e = match f.floating {
                Some((family, ip)) => {
                    let conf = IpConf {
                        id: Cow::Borrowed(""),
                        family,
                        addrs: Some(IntervalSet::range(ip, ip)),
                        private_ip: None,
                        asgs: Vec::new(),
                        subnet_nsg: c.subnet_nsg,
                        vnet: c.vnet,
                        has_public: false,
                        public_ip: None,
                        public_ip_id: None,
                        pip_basic: false,
                        subnet_guard: false,
                        lb_facing: false,
                    };
                    floating = self.eval_path(&conf, nic_nsg, true);
                    &floating[pi]
                }
                None => e,
            };
            if e.state.rank() < State::Restricted.rank() {
                (State::Closed, AddrSet::empty(), PathWhy::NoPublicSource)
            } else if !guarded && !f.open_without_nsg {
                (State::Closed, AddrSet::empty(), PathWhy::StandardLbClosed)
            } else if f.floating.is_some() {
                (e.state, e.shown.clone(), PathWhy::Reachable)
            } else {
                // the client address is kept: the verdict's own sources
                own = Some(e);
                (e.state, AddrSet::empty(), PathWhy::Reachable)
            }
        };
        let reachable = why == PathWhy::Reachable;
        let sources: Arc<[String]> = match own {
            Some(e) => self.sources_of(e),
            None if shown.is_empty() => self.shared.no_sources.clone(),
            None => shown.to_cidr_strings().into(),
        };
        let extra = (f.dnat != NONE || f.floating.is_some()).then(|| shown.clone());
        Some((
            InternetPath {
                kind: f.kind,
                via: f.via.clone(),
                frontend: Endpoint {
                    ip: f.ip.clone(),
                    ports,
                },
                target: self.target(c, port),
                allowed_public_sources: sources,
                state,
                reachable,
                label: Some(f.label.clone()),
                why,
                text: None,
            },
            extra,
        ))
    }

    fn sources_of(&self, e: &PortEval) -> Arc<[String]> {
        e.sources
            .get_or_init(|| e.shown.to_cidr_strings().into())
            .clone()
    }

    fn rules_of(&self, e: &PortEval) -> Arc<[DecidingRule]> {
        e.rules
            .get_or_init(|| e.deciding.iter().map(|r| self.deciding_rule(r)).collect())
            .clone()
    }

    fn reason_of(&self, e: &PortEval, via: Via) -> Arc<str> {
        e.reasons[via as usize]
            .get_or_init(|| {
                reason(
                    e.state,
                    e.no_nsg,
                    &self.sources_of(e),
                    &self.rules_of(e),
                    via,
                )
                .into()
            })
            .clone()
    }

    /// (policy Succeeded?, [(port, protocol)]) for each JIT policy entry of the VM.
    fn jit_for(&self, vm_key: &Ci<'_>) -> Vec<(bool, Vec<(i64, Protocol)>)> {
        let Some(entries) = self.jit_by_vm.get(vm_key) else {
            return Vec::new();
        };
        entries
            .iter()
            .map(|&(pi, vi)| {
                let pol: &JitNetworkAccessPolicy =
                    &self.inv.jit_network_access_policies[pi as usize];
                let ok = pol
                    .properties
                    .provisioning_state
                    .is_none_or(|s| s.eq_ignore_ascii_case("succeeded"));
                let ports = pol.properties.virtual_machines[vi as usize]
                    .ports
                    .iter()
                    .map(|p| {
                        let proto = p
                            .protocol
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
        if r.level == Level::NetworkManager {
            let set = &self.admins[r.nsg as usize];
            let rule = &set.rules[r.rule as usize];
            return DecidingRule {
                nsg: set.homes[r.rule as usize].clone(),
                rule: rule.name.clone(),
                priority: rule.priority,
                access: rule.access,
                level: r.level,
                default: false,
            };
        }
        let nsg = &self.nsgs[r.nsg as usize];
        let rule = nsg.rule(r.rule as usize);
        DecidingRule {
            nsg: nsg.id.clone(),
            rule: rule.name.clone(),
            priority: rule.priority,
            access: rule.access,
            level: r.level,
            default: rule.is_default,
        }
    }

    /// Evaluates all management ports for one ip configuration, through the cache (kept there
    /// when `keep`: other ip configurations may share it).
    fn eval_path(&self, conf: &IpConf<'_>, nic_nsg: u32, keep: bool) -> PathEval {
        let key = self.eval_key_of(conf, nic_nsg);
        own_rules(self.eval_of_key(&key, keep), &key, conf.subnet_nsg, nic_nsg)
    }

    /// The evaluation of a key, from the cache or made (and kept there with `keep`). Its
    /// deciding rules are those of the key's NSGs, the first of their classes.
    fn eval_of_key(&self, key: &EvalKey, keep: bool) -> PathEval {
        if let Some(evals) = self.cached(key) {
            return evals;
        }
        let evals = self.eval_key(key);
        if keep {
            let mut cache = lock(&self.cache);
            let i = cache.evals.len() as u32;
            cache.index.insert(key.clone(), i);
            cache.evals.push(evals.clone());
        }
        evals
    }

    /// The state [`Model::eval_path`] gives each management port of the ip configuration. An
    /// evaluation that is not worth caching (`!keep`) stops at the states: no source set,
    /// deciding rule or report string is built.
    fn conf_states(&self, conf: &IpConf<'_>, nic_nsg: u32, keep: bool) -> PortStates {
        let key = self.eval_key_of(conf, nic_nsg);
        if keep {
            // states name no rule: the class's evaluation as it is
            return states_of(&self.eval_of_key(&key, true));
        }
        match self.cached(&key) {
            Some(evals) => states_of(&evals),
            None => self.with_scratch(|scratch| {
                self.walk_key(&key, scratch, |walk, scratch| {
                    self.ports
                        .iter()
                        .map(|port| self.port_state_only(key.family, walk, scratch, *port))
                        .collect()
                })
            }),
        }
    }

    /// Whether some management port of an ip configuration is open, as [`Model::conf_states`]
    /// would tell, stopping at the first open port.
    fn conf_any_open(&self, conf: &IpConf<'_>, nic_nsg: u32, keep: bool) -> bool {
        let open = |evals: &PathEval| evals.iter().any(|e| e.state == State::Open);
        let key = self.eval_key_of(conf, nic_nsg);
        if keep {
            return open(&self.eval_of_key(&key, true));
        }
        match self.cached(&key) {
            Some(evals) => open(&evals),
            None => self.with_scratch(|scratch| {
                self.walk_key(&key, scratch, |walk, scratch| {
                    self.ports.iter().any(|port| {
                        self.port_state_only(key.family, walk, scratch, *port) == State::Open
                    })
                })
            }),
        }
    }

    /// What the evaluation of an ip configuration depends on (the cache's key).
    fn eval_key_of(&self, conf: &IpConf<'_>, nic_nsg: u32) -> EvalKey {
        let (subnet_nsg, vnet) = (conf.subnet_nsg, conf.vnet);
        let admin = if vnet == NONE {
            NONE
        } else {
            self.vnets[vnet as usize].admin
        };
        let admin_mask = if admin == NONE {
            Mask::Small([0; 2])
        } else {
            let set = &self.admins[admin as usize];
            mask_of(&set.plan, |i| &set.rules[i], conf, self.public_set(vnet))
        };
        // the first NSGs of their classes: alike NSGs share the evaluation
        let subnet_nsg = class_of(&self.nsg_class, subnet_nsg);
        let nic_nsg = class_of(&self.nsg_class, nic_nsg);
        EvalKey {
            admin,
            admin_mask,
            subnet_nsg,
            subnet_mask: self.dest_mask(subnet_nsg, conf),
            nic_nsg,
            nic_mask: self.dest_mask(nic_nsg, conf),
            vnet,
            family: conf.family,
        }
    }

    fn cached(&self, key: &EvalKey) -> Option<PathEval> {
        let cache = lock(&self.cache);
        cache
            .index
            .get(key)
            .map(|&i| cache.evals[i as usize].clone())
    }

    /// Which of the NSG's relevant rules whose destination is conditional (see [`NsgPlan`])
    /// match the ip configuration as destination.
    fn dest_mask(&self, nsg: u32, conf: &IpConf<'_>) -> Mask {
        if nsg == NONE {
            return Mask::Small([0; 2]);
        }
        let nsg_rules = &self.nsgs[nsg as usize];
        mask_of(
            &self.plans[nsg as usize],
            |i| nsg_rules.rule(i),
            conf,
            self.public_set(conf.vnet),
        )
    }

    fn public_set(&self, vnet: u32) -> &AddrSet {
        if vnet == NONE {
            &self.public_no_vnet
        } else {
            &self.vnets[vnet as usize].public
        }
    }

    /// Calls `f` with each part of the sources a rule names, for traffic of `family` to an ip
    /// configuration in `vnet`.
    fn source_parts<'s>(
        &'s self,
        r: &'s CompiledRule,
        vnet: u32,
        family: Family,
        mut f: impl FnMut(Part<'s>),
    ) {
        let s = &r.src;
        if s.any {
            return f(Part::All);
        }
        let set = of(&s.set, family);
        if !set.is_empty() {
            f(Part::Set(set));
        }
        if s.internet || (!s.other_tags().is_empty() && r.access.permits()) {
            f(Part::Public);
        }
        if s.virtual_network && vnet != NONE {
            f(Part::Vnet);
        }
        if s.azure_load_balancer {
            f(Part::LoadBalancer);
        }
        for &a in s.asgs() {
            if let Some(m) = self.asg_members.get(a as usize) {
                f(Part::Set(of(m, family)));
            }
        }
    }

    /// Evaluates every management port for one cached key. The walk runs on the address family
    /// of the ip configuration only, over "atoms": the elementary address intervals that every
    /// source set involved (and the public Internet) is a union of, so that each set is a small
    /// bitset and every set operation of the walk is a few word operations.
    fn eval_key(&self, key: &EvalKey) -> PathEval {
        self.with_scratch(|scratch| {
            self.walk_key(key, scratch, |walk, scratch| {
                let mut evals: Vec<Arc<PortEval>> = Vec::with_capacity(self.ports.len());
                for port in &self.ports {
                    let e = self.eval_port(key, walk, scratch, *port);
                    // ports with the same verdict share it, and with it the sources, deciding
                    // rules and reasons made for it (a VM's closed ports usually agree)
                    let same = evals.iter().find(|o| o.same_verdict(&e)).cloned();
                    evals.push(same.unwrap_or_else(|| Arc::new(e)));
                }
                evals.into()
            })
        })
    }

    /// Runs `f` with this thread's buffers, reused from key to key (most keys need a few
    /// hundred bytes).
    fn with_scratch<R>(&self, f: impl FnOnce(&mut Scratch) -> R) -> R {
        thread_local! {
            static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
        }
        SCRATCH.with(|s| match s.try_borrow_mut() {
            Ok(mut scratch) => f(&mut scratch),
            Err(_) => f(&mut Scratch::default()),
        })
    }

    /// Builds the walk of one cached key (its candidate rules, as bitsets over address atoms)
    /// and hands it to `f`, which evaluates the ports.
    fn walk_key<R>(
        &self,
        key: &EvalKey,
        scratch: &mut Scratch,
        f: impl FnOnce(&Walk<'_>, &mut Scratch) -> R,
    ) -> R {
        let family = key.family;
        let public_all = of(self.public_set(key.vnet), family);

        // the rules that can matter: matching the ip configuration as destination and at least
        // one management port; in evaluation order, level by level
        let mut levels: SmallVec<[(Level, u32, usize); 3]> = SmallVec::new();
        let mut cands: SmallVec<[(u32, &CompiledRule); 32]> = SmallVec::new();
        if key.admin != NONE {
            let set = &self.admins[key.admin as usize];
            for &(i, bit) in set.plan.relevant.iter() {
                if bit == NONE || key.admin_mask.bit(bit as usize) {
                    cands.push((i, &set.rules[i as usize]));
                }
            }
            levels.push((Level::NetworkManager, key.admin, cands.len()));
        }
        for (level, nsg, mask) in [
            (Level::Subnet, key.subnet_nsg, &key.subnet_mask),
            (Level::NetworkInterface, key.nic_nsg, &key.nic_mask),
        ] {
            if nsg == NONE {
                continue;
            }
            let rules = &self.nsgs[nsg as usize];
            for &(i, bit) in self.plans[nsg as usize].relevant.iter() {
                if bit == NONE || mask.bit(bit as usize) {
                    cands.push((i, rules.rule(i as usize)));
                }
            }
            levels.push((level, nsg, cands.len()));
        }

        // atoms: cut at every bound of every source set; the sets several rules name (the
        // public Internet, the VNet, the load balancer) are cut and turned into bits once
        let max = family_max(family);
        let vnet_space =
            (key.vnet != NONE).then(|| of(&self.vnets[key.vnet as usize].space, family));
        let load_balancer = of(&self.load_balancer, family);
        let mut bounds = std::mem::take(&mut scratch.bounds);
        bounds.clear();
        bounds.push(0);
        add_bounds(&mut bounds, public_all, max);
        let (mut vnet_used, mut lb_used) = (false, false);
        for (_, r) in &cands {
            self.source_parts(r, key.vnet, family, |part| match part {
                Part::Set(set) => add_bounds(&mut bounds, set, max),
                Part::Vnet => vnet_used = true,
                Part::LoadBalancer => lb_used = true,
                Part::All | Part::Public => {}
            });
        }
        if let (true, Some(space)) = (vnet_used, vnet_space) {
            add_bounds(&mut bounds, space, max);
        }
        if lb_used {
            add_bounds(&mut bounds, load_balancer, max);
        }
        let atoms = Atoms::new(&mut bounds, max);
        let w = atoms.words;
        // public, VNet, load balancer, then the rules' sources
        let mut bits = std::mem::take(&mut scratch.rule_bits);
        bits.clear();
        bits.resize(w * (3 + cands.len()), 0);
        let (shared, rule_bits) = bits.split_at_mut(3 * w);
        atoms.set_bits(public_all, &mut shared[..w]);
        if let (true, Some(space)) = (vnet_used, vnet_space) {
            atoms.set_bits(space, &mut shared[w..2 * w]);
        }
        if lb_used {
            atoms.set_bits(load_balancer, &mut shared[2 * w..]);
        }
        for (k, (_, r)) in cands.iter().enumerate() {
            let out = &mut rule_bits[k * w..(k + 1) * w];
            self.source_parts(r, key.vnet, family, |part| {
                let from = match part {
                    Part::Set(set) => return atoms.set_bits(set, out),
                    Part::All => &atoms.full[..],
                    Part::Public => &shared[..w],
                    Part::Vnet => &shared[w..2 * w],
                    Part::LoadBalancer => &shared[2 * w..],
                };
                for (o, f) in out.iter_mut().zip(from) {
                    *o |= f;
                }
            });
        }
        let public_bits = &shared[..w];
        let walk = Walk {
            levels: &levels,
            cands: &cands,
            atoms: &atoms,
            rule_bits,
            public_bits,
        };
        let r = f(&walk, scratch);
        drop(atoms);
        scratch.bounds = bounds;
        scratch.rule_bits = bits;
        r
    }

    /// The heart: one ip configuration (as cached key), one port.
    fn eval_port(
        &self,
        key: &EvalKey,
        walk: &Walk<'_>,
        scratch: &mut Scratch,
        port: PortSpec,
    ) -> PortEval {
        let no_nsg = walk.levels.iter().all(|l| l.0 == Level::NetworkManager);
        let mut found = Deciders::default();
        let bits = walk_port(walk, scratch, port, Some(&mut found));
        self.port_verdict(key.family, walk, bits, found, no_nsg)
    }

    /// The state [`Model::eval_port`] gives the port, from the bits alone: which sources the
    /// rules let through, and how many addresses of the public Internet among them.
    fn port_state_only(
        &self,
        family: Family,
        walk: &Walk<'_>,
        scratch: &mut Scratch,
        port: PortSpec,
    ) -> State {
        let bits = walk_port(walk, scratch, port, None);
        let public = bits.piece_public;
        for ((p, t), b) in public
            .iter_mut()
            .zip(bits.total.iter())
            .zip(walk.public_bits)
        {
            *p = t & b;
        }
        let any = |bits: &[u64]| bits.iter().any(|&b| b != 0);
        self.state_from(
            family,
            walk.atoms.count(public),
            any(public),
            any(bits.total),
        )
    }

    /// A port's state from the number of public addresses allowed, whether any is, and
    /// whether any source at all is.
    fn state_from(&self, family: Family, public: u128, any_public: bool, any: bool) -> State {
        let threshold = match family {
            Family::V4 => self.v4_threshold,
            Family::V6 => self.v6_threshold,
        };
        if public >= threshold {
            State::Open
        } else if any_public {
            State::Restricted
        } else if any {
            State::Private
        } else {
            State::Closed
        }
    }

    /// The verdict from the sources every piece allowed, and the rules that decided.
    fn port_verdict(
        &self,
        family: Family,
        walk: &Walk<'_>,
        bits: PortBits<'_>,
        found: Deciders,
        no_nsg: bool,
    ) -> PortEval {
        let atoms = walk.atoms;
        let PortBits {
            total,
            piece_public,
            ..
        } = bits;
        piece_public.copy_from_slice(total);
        // the public Internet is a union of atoms: its intersection is exact
        for (t, b) in piece_public.iter_mut().zip(walk.public_bits) {
            *t &= b;
        }
        let public = atoms.to_set(piece_public);
        let total = atoms.to_set(total);
        let state = self.state_from(
            family,
            public.count(),
            !public.is_empty(),
            !total.is_empty(),
        );
        let deciding = found.deciding(state);
        let shown = lift(family, cidr_cover(family, &total, &public));
        let allowed = lift(family, total);
        PortEval {
            shown,
            allowed,
            state,
            deciding,
            no_nsg,
            sources: OnceLock::new(),
            rules: OnceLock::new(),
            reasons: Default::default(),
        }
    }
}

/// Every application security group id, interned up front so that NSGs and NICs can be
/// compiled in parallel, each thread with an identical copy of the interner.
fn intern_asgs(inv: &view::Inventory<'_>) -> AsgInterner {
    let mut asgs = AsgInterner::default();
    for a in &inv.application_security_groups {
        asgs.intern(a.id);
    }
    let asg_refs = inv
        .network_security_groups
        .iter()
        .flat_map(|n| &n.properties.security_rules)
        .flat_map(|r| {
            let p = &r.properties;
            p.source_application_security_groups
                .iter()
                .chain(&p.destination_application_security_groups)
        })
        .chain(
            inv.network_interfaces
                .iter()
                .flat_map(|n| &n.properties.ip_configurations)
                .flat_map(|c| &c.properties.application_security_groups),
        );
    for r in asg_refs {
        if let Some(id) = r.id.filter(|id| !crate::eval::trim(id).is_empty()) {
            asgs.intern(id);
        }
    }

    asgs
}

/// Compiles every NSG, in order, each NSG's parsed rules freed as soon as it is compiled
/// ([`compile_nsgs_beside`] with nothing beside).
#[cfg(test)]
fn compile_nsgs(
    nsgs_in: &mut [view::NetworkSecurityGroup<'_>],
    asgs: &AsgInterner,
    ports: &[PortSpec],
    warnings: &mut Vec<String>,
) -> Result<(Vec<CompiledNsg>, Vec<NsgPlan>), InputError> {
    let ids: Vec<Arc<str>> = nsgs_in.iter().map(|n| Arc::from(n.id)).collect();
    let with = NsgsIn {
        ids: &ids,
        release: &|_| {},
    };
    compile_nsgs_beside(nsgs_in, &with, asgs, ports, warnings, || ()).0
}

/// The NSGs compiled while the networks, NICs and VMs are resolved (which read everything
/// else, and the NSGs' ids only); warnings and the first error come in the order of one pass.
/// The NSGs' ids are copied once, for the index and the compiled NSGs, so that the compile's
/// chunks of the buffer are released as they are done.
fn compile_and_resolve<'a>(
    inv: &mut view::Inventory<'a>,
    asgs: &AsgInterner,
    ports: &[PortSpec],
    release: Release<'_>,
    warnings: &mut Vec<String>,
) -> Result<(CompiledNsgs, Resolved<'a>), InputError> {
    let nsg_ids: Vec<Arc<str>> = inv
        .network_security_groups
        .iter()
        .map(|n| Arc::from(n.id))
        .collect();
    let mut nsg_list = std::mem::take(&mut inv.network_security_groups);
    let inv: &view::Inventory<'a> = inv;
    let nsgs_in = NsgsIn {
        ids: &nsg_ids,
        release,
    };
    let (compiled, resolved) =
        compile_nsgs_beside(&mut nsg_list, &nsgs_in, asgs, ports, warnings, || {
            let nsg_index = NsgIndex::new(nsg_ids.iter().map(|id| &**id));
            let mut warnings = Vec::new();
            let r =
                resolve_all(inv, asgs, &nsg_index, release, &mut warnings).map(|r| (r, warnings));
            release(0..usize::MAX);
            r
        });
    let compiled = compiled?;
    let (resolved, resolve_warnings) = resolved?;
    warnings.extend(resolve_warnings);
    Ok((compiled, resolved))
}

/// What the NSGs' compile is given beside the NSGs: their ids (copied), and where to say
/// which bytes it is done with.
struct NsgsIn<'i> {
    ids: &'i [Arc<str>],
    release: Release<'i>,
}

/// The compiled NSGs and their plans.
type CompiledNsgs = (Vec<CompiledNsg>, Vec<NsgPlan>);

/// [`compile_nsgs`], while `beside` runs: with the `parallel` feature, `beside` runs on a
/// second thread, which then helps compile; the NSGs are taken in consecutive chunks by
/// whichever thread is free. Warnings and the first error come in NSG order, as one pass
/// gives them. Each thread has its own copy of the interner: the application security groups
/// that only rules name (ids past the model's) have no members, whichever id a thread gives
/// them.
fn compile_nsgs_beside<R: Send>(
    nsgs_in: &mut [view::NetworkSecurityGroup<'_>],
    with: &NsgsIn<'_>,
    asgs: &AsgInterner,
    ports: &[PortSpec],
    warnings: &mut Vec<String>,
    beside: impl FnOnce() -> R + Send,
) -> (Result<CompiledNsgs, InputError>, R) {
    type Part = Result<(CompiledNsgs, Vec<String>), InputError>;
    let n = nsgs_in.len();
    let mut parts: Vec<(usize, Part)> = Vec::new();
    #[cfg(all(feature = "parallel", not(target_arch = "wasm32")))]
    let r = {
        let size = (n / 32).max(256);
        let queue = Mutex::new(nsgs_in.chunks_mut(size).enumerate());
        let work = || {
            let mut asgs = asgs.clone();
            let mut done: Vec<(usize, Part)> = Vec::new();
            loop {
                let next = lock(&queue).next();
                let Some((k, chunk)) = next else { break };
                let mut w = Vec::new();
                let part = compile_nsg_chunk(k * size, chunk, with, &mut asgs, ports, &mut w);
                let failed = part.is_err();
                done.push((k, part.map(|p| (p, w))));
                if failed {
                    // the chunks before this one were taken first: they are (being) done
                    break;
                }
            }
            done
        };
        std::thread::scope(|scope| {
            let second = scope.spawn(|| {
                let r = beside();
                (r, work())
            });
            parts = work();
            let (r, theirs) = second.join().expect("model thread");
            parts.extend(theirs);
            r
        })
    };
    #[cfg(not(all(feature = "parallel", not(target_arch = "wasm32"))))]
    let r = {
        let mut w = Vec::new();
        let part = compile_nsg_chunk(0, nsgs_in, with, &mut asgs.clone(), ports, &mut w);
        parts.push((0, part.map(|p| (p, w))));
        beside()
    };
    parts.sort_unstable_by_key(|(k, _)| *k);
    let mut nsgs = Vec::with_capacity(n);
    let mut plans = Vec::with_capacity(n);
    for (_, part) in parts {
        match part {
            Ok(((c, p), w)) => {
                nsgs.extend(c);
                plans.extend(p);
                warnings.extend(w);
            }
            Err(e) => return (Err(e), r),
        }
    }
    (Ok((nsgs, plans)), r)
}

/// [`compile_nsgs`] of the NSGs from index `first` on.
fn compile_nsg_chunk(
    first: usize,
    nsgs_in: &mut [view::NetworkSecurityGroup<'_>],
    with: &NsgsIn<'_>,
    asgs: &mut AsgInterner,
    ports: &[PortSpec],
    warnings: &mut Vec<String>,
) -> Result<(Vec<CompiledNsg>, Vec<NsgPlan>), InputError> {
    let mut nsgs = Vec::with_capacity(nsgs_in.len());
    let mut plans = Vec::with_capacity(nsgs_in.len());
    let mut span: Option<std::ops::Range<usize>> = None;
    for (k, nsg) in nsgs_in.iter_mut().enumerate() {
        let i = first + k;
        if crate::eval::trim(nsg.id).is_empty() {
            return Err(InputError::new(
                format!("networkSecurityGroups[{i}].id"),
                "missing resource id",
            ));
        }
        let path = || format!("networkSecurityGroups[{i}]");
        let compiled = compile_nsg_as(nsg, with.ids[i].clone(), &path(), asgs, warnings)?;
        let s = nsg.span();
        span = Some(match span {
            Some(t) => t.start.min(s.start)..t.end.max(s.end),
            None => s,
        });
        nsg.properties.security_rules = Vec::new();
        plans.push(NsgPlan::new(&compiled, ports));
        nsgs.push(compiled);
    }
    if let Some(span) = span {
        (with.release)(span);
    }
    Ok((nsgs, plans))
}

/// What the model resolves besides the NSGs: networks, public IPs, NICs and their ip
/// configurations, VM profiles and JIT policies.
struct Resolved<'a> {
    networks: Networks<'a>,
    pips: FxMap<Ci<'a>, Pip>,
    nics: Nics<'a>,
    asg_members: Vec<AddrSet>,
    profiles: VmProfiles<'a>,
    jit_by_vm: FxMap<Ci<'a>, Vec<(u32, u32)>>,
}

/// Resolves all but the NSGs (which it does not read), in the order of one pass.
fn resolve_all<'a>(
    inv: &view::Inventory<'a>,
    asgs: &AsgInterner,
    nsg_index: &NsgIndex<'_>,
    release: Release<'_>,
    warnings: &mut Vec<String>,
) -> Result<Resolved<'a>, InputError> {
    let networks = networks(inv, nsg_index, warnings)?;
    // public IPs: id -> address and SKU
    let pips: FxMap<Ci<'a>, Pip> = inv
        .public_ip_addresses
        .iter()
        .map(|p| (Ci::new(p.id), Pip::of(p)))
        .collect();
    let nics = resolve_nics(
        inv,
        asgs,
        nsg_index,
        &networks.subnets,
        &pips,
        release,
        warnings,
    )?;
    // the public IPs and the NICs' payloads are read no more (the VMs' profiles look NICs up
    // by id: those pages are read again)
    release(0..usize::MAX);
    let asg_members = asg_members(&nics.ipconfs, asgs.ids.len());
    let profiles = vm_profiles(inv, &nics.nics, nics.ids_unique, release);
    let jit_by_vm = jit_index(inv)?;
    Ok(Resolved {
        networks,
        pips,
        nics,
        asg_members,
        profiles,
        jit_by_vm,
    })
}

/// NICs (or VMs) resolved on a thread between two calls of the model's `release`: the pages of
/// those resolved are read no more (those looked up again come back one at a time).
const RELEASE_ITEMS: usize = 4096;

/// NSG id -> index, resolving references (a missing NSG is a warning and counts as none).
struct NsgIndex<'a>(FxMap<Ci<'a>, u32>);

impl<'a> NsgIndex<'a> {
    /// The NSGs' ids, in the inventory's order.
    fn new(ids: impl ExactSizeIterator<Item = &'a str>) -> Self {
        let mut by_key: FxMap<Ci<'a>, u32> = fx_map(ids.len());
        for (i, id) in ids.enumerate() {
            by_key.insert(Ci::new(id), i as u32);
        }
        NsgIndex(by_key)
    }

    fn resolve(
        &self,
        id: Option<&str>,
        whose: &dyn Fn() -> String,
        warnings: &mut Vec<String>,
    ) -> u32 {
        let Some(id) = id.filter(|s| !crate::eval::trim(s).is_empty()) else {
            return NONE;
        };
        match self.0.get(&Ci::new(id)) {
            Some(&k) => k,
            None => {
                warnings.push(format!(
                    "{}: NSG {id} is not in the inventory; counted as no NSG",
                    whose()
                ));
                NONE
            }
        }
    }
}

/// VNets and subnets, resolved.
struct Networks<'a> {
    /// Subnet id -> (subnet NSG, VNet, guarded by an NSG).
    subnets: FxMap<Ci<'a>, (u32, u32, bool)>,
    vnet_index: FxMap<Ci<'a>, u32>,
    vnets: Vec<VnetInfo>,
    /// Public Internet when the VNet is unknown.
    public_no_vnet: AddrSet,
}

/// Every VNet's address space and subnets, and the VirtualNetwork tag of each (its space and
/// its Connected peers').
fn networks<'a>(
    inv: &view::Inventory<'a>,
    nsg_index: &NsgIndex<'_>,
    warnings: &mut Vec<String>,
) -> Result<Networks<'a>, InputError> {
    let np = non_public();
    let mut spaces: Vec<AddrSet> = Vec::with_capacity(inv.virtual_networks.len());
    let mut subnets: FxMap<Ci<'a>, (u32, u32, bool)> = fx_map(0);
    let mut vnet_index: FxMap<Ci<'a>, u32> = fx_map(inv.virtual_networks.len());
    for (i, vnet) in inv.virtual_networks.iter().enumerate() {
        let path = || format!("virtualNetworks[{i}]");
        let mut space = AddrSet::empty();
        if let Some(a) = &vnet.properties.address_space {
            for (k, p) in a.address_prefixes.iter().enumerate() {
                space = space.union(&parse_cidr(p, || {
                    format!("{}.properties.addressSpace.addressPrefixes[{k}]", path())
                })?);
            }
        }
        let vidx = spaces.len() as u32;
        vnet_index.insert(Ci::new(vnet.id), vidx);
        for (j, s) in vnet.properties.subnets.iter().enumerate() {
            let spath = || format!("{}.properties.subnets[{j}].properties", path());
            if let Some(p) = s
                .properties
                .address_prefix
                .filter(|p| !crate::eval::trim(p).is_empty())
            {
                space = space.union(&parse_cidr(p, || format!("{}.addressPrefix", spath()))?);
            }
            for (k, p) in s.properties.address_prefixes.iter().enumerate() {
                space = space.union(&parse_cidr(p, || {
                    format!("{}.addressPrefixes[{k}]", spath())
                })?);
            }
            let id: Cow<'a, str> = match (&s.id, &s.name) {
                (Some(id), _) if !crate::eval::trim(id).is_empty() => Cow::Borrowed(*id),
                (_, Some(name)) => Cow::Owned(format!("{}/subnets/{name}", vnet.id)),
                _ => continue,
            };
            let nsg_id = s
                .properties
                .network_security_group
                .as_ref()
                .and_then(|r| r.id);
            let guard = nsg_id.is_some_and(|i| !crate::eval::trim(i).is_empty());
            let nsg = nsg_index.resolve(nsg_id, &|| format!("subnet {id}"), warnings);
            subnets.insert(Ci::owned(id), (nsg, vidx, guard));
        }
        spaces.push(space);
    }
    // the VirtualNetwork tag covers directly peered VNets too (Connected peerings)
    let mut vnet_tag = spaces.clone();
    for (i, vnet) in inv.virtual_networks.iter().enumerate() {
        for (k, peer) in vnet.properties.virtual_network_peerings.iter().enumerate() {
            let pp = &peer.properties;
            let connected = pp
                .peering_state
                .is_none_or(|s| s.trim().eq_ignore_ascii_case("connected"));
            if !connected {
                continue;
            }
            let remote = pp
                .remote_virtual_network
                .as_ref()
                .and_then(|r| r.id)
                .and_then(|id| vnet_index.get(&Ci::new(id)).copied());
            let mut add = match remote {
                Some(r) => spaces[r as usize].clone(),
                None => AddrSet::empty(),
            };
            if let Some(a) = &pp.remote_address_space {
                for (m, prefix) in a.address_prefixes.iter().enumerate() {
                    add = add.union(&parse_cidr(prefix, || {
                        format!("virtualNetworks[{i}].properties.virtualNetworkPeerings[{k}].properties.remoteAddressSpace.addressPrefixes[{m}]")
                    })?);
                }
            }
            vnet_tag[i] = vnet_tag[i].union(&add);
            if let Some(r) = remote {
                vnet_tag[r as usize] = vnet_tag[r as usize].union(&spaces[i]);
            }
        }
    }
    let vnets: Vec<VnetInfo> = vnet_tag
        .into_iter()
        .map(|space| VnetInfo {
            public: AddrSet::all().difference(&np).difference(&space),
            space,
            admin: NONE,
        })
        .collect();
    let public_no_vnet = AddrSet::all().difference(&np);

    Ok(Networks {
        subnets,
        vnet_index,
        vnets,
        public_no_vnet,
    })
}

/// NICs and their ip configurations, resolved.
struct Nics<'a> {
    nics: FxMap<Ci<'a>, u32>,
    nic_nsg: Vec<u32>,
    nic_guard: Vec<bool>,
    ipconfs: Vec<IpConf<'a>>,
    nic_confs: Vec<u32>,
    /// No two NICs share an id.
    ids_unique: bool,
}

/// Parses every NIC's ip configurations and resolves their NSGs, subnets and public IPs (in
/// parallel with the `parallel` feature).
fn resolve_nics<'a>(
    inv: &view::Inventory<'a>,
    asgs: &AsgInterner,
    nsg_index: &NsgIndex<'_>,
    subnets: &FxMap<Ci<'a>, (u32, u32, bool)>,
    pips: &FxMap<Ci<'a>, Pip>,
    release: Release<'_>,
    warnings: &mut Vec<String>,
) -> Result<Nics<'a>, InputError> {
    let n = inv.network_interfaces.len();
    let mut nics: FxMap<Ci<'a>, u32> = fx_map(n);
    let mut nic_nsg = Vec::with_capacity(n);
    let mut ipconfs = Vec::with_capacity(n);
    let mut nic_confs = Vec::with_capacity(n + 1);
    nic_confs.push(0u32);
    let chunks = par_chunks(&inv.network_interfaces, |start, chunk| {
        let mut asgs = asgs.clone();
        let mut warnings = Vec::new();
        let mut nsgs = Vec::with_capacity(chunk.len());
        let mut guards = Vec::with_capacity(chunk.len());
        let mut confs = Vec::with_capacity(chunk.len());
        let mut ends = Vec::with_capacity(chunk.len());
        let mut keys = Vec::with_capacity(chunk.len());
        for (k, nic) in chunk.iter().enumerate() {
            let i = start + k;
            if k % RELEASE_ITEMS == RELEASE_ITEMS - 1 {
                release(0..usize::MAX);
            }
            if crate::eval::trim(nic.id).is_empty() {
                return Err(InputError::new(
                    format!("networkInterfaces[{i}].id"),
                    "missing resource id",
                ));
            }
            let nsg_id = nic
                .properties
                .network_security_group
                .as_ref()
                .and_then(|r| r.id);
            guards.push(nsg_id.is_some_and(|i| !crate::eval::trim(i).is_empty()));
            let nsg = nsg_index.resolve(
                nsg_id,
                &|| format!("network interface {}", nic.id),
                &mut warnings,
            );
            parse_ipconfs(nic, i, &mut asgs, subnets, pips, &mut warnings, &mut confs)?;
            nsgs.push(nsg);
            ends.push(confs.len() as u32);
            keys.push(Ci::new(nic.id));
        }
        Ok((nsgs, guards, confs, ends, keys, warnings))
    });
    let mut nic_keys = Vec::with_capacity(n);
    let mut nic_guard = Vec::with_capacity(n);
    for chunk in chunks {
        let (nsgs, guards, confs, ends, keys, w) = chunk?;
        warnings.extend(w);
        nic_guard.extend(guards);
        nic_keys.extend(keys);
        let base = ipconfs.len() as u32;
        nic_nsg.extend(nsgs);
        nic_confs.extend(ends.into_iter().map(|e| base + e));
        ipconfs.extend(confs);
    }
    let mut nic_ids_unique = true;
    for (i, key) in nic_keys.into_iter().enumerate() {
        nic_ids_unique &= nics.insert(key, i as u32).is_none();
    }
    Ok(Nics {
        nics,
        nic_nsg,
        nic_guard,
        ipconfs,
        nic_confs,
        ids_unique: nic_ids_unique,
    })
}

/// Each application security group's members' addresses.
fn asg_members(ipconfs: &[IpConf<'_>], asgs: usize) -> Vec<AddrSet> {
    let mut asg_members: Vec<AddrSet> = Vec::new();
    {
        for c in ipconfs {
            if let Some(addrs) = &c.addrs {
                for &a in &c.asgs {
                    if asg_members.len() <= a as usize {
                        asg_members.resize(a as usize + 1, AddrSet::empty());
                    }
                    let set = match c.family {
                        Family::V4 => AddrSet {
                            v4: addrs.clone(),
                            v6: IntervalSet::empty(),
                        },
                        Family::V6 => AddrSet {
                            v4: IntervalSet::empty(),
                            v6: addrs.clone(),
                        },
                    };
                    asg_members[a as usize] = asg_members[a as usize].union(&set);
                }
            }
        }
    }
    asg_members.resize(asgs.max(asg_members.len()), AddrSet::empty());

    asg_members
}

/// Each VM's network profile resolved, and NICs that point at a VM whose network profile
/// does not list them (the reverse join; usually none, so the index stays small).
struct VmProfiles<'a> {
    vm_nics: Vec<u32>,
    vm_nic_at: Vec<u32>,
    vm_keys: Vec<Ci<'a>>,
    nics_by_vm: FxMap<Ci<'a>, SmallVec<[u32; 2]>>,
}

fn vm_profiles<'a>(
    inv: &view::Inventory<'a>,
    nics: &FxMap<Ci<'a>, u32>,
    nic_ids_unique: bool,
    release: Release<'_>,
) -> VmProfiles<'a> {
    let n = inv.network_interfaces.len();
    let mut nics_by_vm: FxMap<Ci<'a>, SmallVec<[u32; 2]>> = fx_map(0);
    let mut listed = vec![false; n];
    let mut vm_nics = Vec::with_capacity(inv.virtual_machines.len());
    let mut vm_nic_at = Vec::with_capacity(inv.virtual_machines.len() + 1);
    vm_nic_at.push(0u32);
    let mut vm_keys = Vec::with_capacity(inv.virtual_machines.len());
    let chunks = par_chunks(&inv.virtual_machines, |_, chunk| {
        let mut keys = Vec::with_capacity(chunk.len());
        let mut refs = Vec::with_capacity(chunk.len());
        let mut ends = Vec::with_capacity(chunk.len());
        // NICs are usually listed in the order of their VMs: the NIC after the last one
        // found is tried first (exact when NIC ids are unique, as the map would answer)
        let mut next = NONE;
        for (k, vm) in chunk.iter().enumerate() {
            if k % RELEASE_ITEMS == RELEASE_ITEMS - 1 {
                release(0..usize::MAX);
            }
            keys.push(Ci::new(vm.id));
            for r in &vm.properties.network_profile.network_interfaces {
                let k = match r.id {
                    None => NO_ID,
                    Some(id) => {
                        let key = Ci::new(id);
                        let guess = inv.network_interfaces.get(next as usize);
                        match guess {
                            Some(nic) if nic_ids_unique && Ci::new(nic.id) == key => next,
                            _ => nics.get(&key).copied().unwrap_or(MISSING),
                        }
                    }
                };
                if k < NO_ID {
                    next = k + 1;
                }
                refs.push(k);
            }
            ends.push(refs.len() as u32);
        }
        (keys, refs, ends)
    });
    for (keys, refs, ends) in chunks {
        vm_keys.extend(keys);
        let base = vm_nics.len() as u32;
        vm_nics.extend(refs);
        vm_nic_at.extend(ends.into_iter().map(|e| base + e));
    }
    for &k in &vm_nics {
        if k < NO_ID {
            listed[k as usize] = true;
        }
    }
    for (i, nic) in inv.network_interfaces.iter().enumerate() {
        let back = nic.properties.virtual_machine.and_then(|r| r.id);
        if let (false, Some(vm)) = (listed[i], back) {
            nics_by_vm.entry(Ci::new(vm)).or_default().push(i as u32);
        }
    }

    VmProfiles {
        vm_nics,
        vm_nic_at,
        vm_keys,
        nics_by_vm,
    }
}

/// VM id -> the (policy, entry) of every JIT policy that lists it; checks the port numbers.
fn jit_index<'a>(inv: &view::Inventory<'a>) -> Result<FxMap<Ci<'a>, Vec<(u32, u32)>>, InputError> {
    let mut jit_by_vm: FxMap<Ci<'a>, Vec<(u32, u32)>> = fx_map(0);
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
                .entry(Ci::new(vm.id))
                .or_default()
                .push((i as u32, j as u32));
        }
    }

    Ok(jit_by_vm)
}

/// Azure Virtual Network Manager: the effective security admin rules of each VNet, compiled
/// (two items for one VNet are merged in priority order); sets each VNet's `admin`.
fn admin_rules(
    inv: &view::Inventory<'_>,
    asgs: &mut AsgInterner,
    ports: &[PortSpec],
    vnet_index: &FxMap<Ci<'_>, u32>,
    vnets: &mut [VnetInfo],
    warnings: &mut Vec<String>,
) -> Result<Vec<AdminRules>, InputError> {
    let mut admins = Vec::new();
    for (i, item) in inv
        .network_manager_effective_security_admin_rules
        .iter()
        .enumerate()
    {
        let path = format!("networkManagerEffectiveSecurityAdminRules[{i}]");
        let rules = compile_admin_rules(item, &path, asgs, warnings)?;
        let Some(vid) = item.virtual_network.id.as_deref() else {
            return Err(InputError::new(
                format!("{path}.virtualNetwork.id"),
                "missing virtual network id",
            ));
        };
        let Some(&v) = vnet_index.get(&Ci::new(vid)) else {
            warnings.push(format!(
                "{path}: virtual network {vid} is not in the inventory; its security admin rules are not applied"
            ));
            continue;
        };
        if rules.is_empty() {
            continue;
        }
        let (rules, homes): (Vec<CompiledRule>, Vec<Arc<str>>) = rules.into_iter().unzip();
        let plan = NsgPlan::of(rules.iter(), ports);
        let a = match vnets[v as usize].admin {
            NONE => {
                admins.push(AdminRules { rules, homes, plan });
                admins.len() - 1
            }
            k => {
                // a second item for the same VNet: merged, in priority order
                let set: &mut AdminRules = &mut admins[k as usize];
                let mut all: Vec<(CompiledRule, Arc<str>)> = set
                    .rules
                    .drain(..)
                    .zip(set.homes.drain(..))
                    .chain(rules.into_iter().zip(homes))
                    .collect();
                all.sort_by_key(|(r, _)| r.priority);
                let (r, h): (Vec<_>, Vec<_>) = all.into_iter().unzip();
                set.plan = NsgPlan::of(r.iter(), ports);
                set.rules = r;
                set.homes = h;
                k as usize
            }
        };
        vnets[v as usize].admin = a as u32;
    }

    Ok(admins)
}

/// A VM's ip configurations with their evaluations (see [`Model::vm_confs`]).
/// A VM's name: its `name`, else the last segment of its id.
fn vm_name<'v>(vm: &VirtualMachine<'v>) -> &'v str {
    vm.name
        .unwrap_or_else(|| vm.id.rsplit('/').next().unwrap_or_default())
}

/// What a one-line summary of a VM shows ([`Model::fold_vm_briefs`]): the same values as its
/// [`VmReport`], for these fields only.
#[derive(Debug, Clone, PartialEq)]
pub struct VmBrief<'m> {
    pub name: &'m str,
    pub resource_group: &'m str,
    pub recommendations: VmRecommendations,
    /// Each public address once, in the order of the ip configurations.
    pub public_ips: SmallVec<[&'m str; 2]>,
    /// The open or restricted management ports, in the order of the configured ports.
    pub exposed: Vec<ExposedPort>,
}

impl VmBrief<'_> {
    /// The VM's status in the control.
    pub fn status(&self) -> Status {
        self.recommendations.control_status()
    }
}

/// An open or restricted management port of a [`VmBrief`].
#[derive(Debug, Clone, PartialEq)]
pub struct ExposedPort {
    pub port: u16,
    pub protocol: Protocol,
    pub state: State,
    /// The reachable paths from the Internet: their kind and public frontend.
    pub reachable_via: Vec<(PathKind, Endpoint)>,
}

/// One ip configuration of a VM and its ports' states ([`Model::vm_conf_states`]).
struct ConfState<'m, 'a> {
    conf: &'m IpConf<'a>,
    nic_nsg: u32,
    states: PortStates,
    /// An NSG (seen or not) guards it.
    guarded: bool,
}

impl ConfState<'_, '_> {
    /// Whether its public IP path to port `pi` is reachable ([`Model::public_ip_path`]).
    fn public_path_reachable(&self, pi: usize) -> bool {
        public_path_why(self.conf, self.states[pi], self.guarded) == PathWhy::Reachable
    }
}

/// A VM's ip configurations and ports' states ([`Model::vm_conf_states`]).
struct ConfStates<'m, 'a> {
    confs: SmallVec<[ConfState<'m, 'a>; 2]>,
    /// A NIC we cannot see.
    unknown: Option<PortStates>,
}

impl ConfStates<'_, '_> {
    /// The worst of the ip configurations' states of port `pi` ([`Model::port_state`] when no
    /// load balancer or firewall path leads to the VM).
    fn port_state(&self, pi: usize) -> State {
        self.confs
            .iter()
            .map(|s| s.states[pi])
            .chain(self.unknown.as_ref().map(|u| u[pi]))
            .max_by_key(|s| s.rank())
            .unwrap_or(State::Closed)
    }
}

/// Why the public IP path of an ip configuration whose NSGs give the port `state` is (or is
/// not) reachable: no public source passes the NSGs, or a Standard public IP with no NSG
/// closes it.
fn public_path_why(c: &IpConf<'_>, state: State, guarded: bool) -> PathWhy {
    if state.rank() < State::Restricted.rank() {
        PathWhy::NoPublicSource
    } else if !guarded && !c.pip_basic {
        PathWhy::StandardIpClosed
    } else {
        PathWhy::Reachable
    }
}

/// The ip configuration of a NIC that is not in the inventory: no NSG, no public IP known.
fn unseen_nic() -> IpConf<'static> {
    IpConf {
        id: Cow::Borrowed(""),
        family: Family::V4,
        addrs: None,
        private_ip: None,
        asgs: Vec::new(),
        subnet_nsg: NONE,
        vnet: NONE,
        has_public: false,
        public_ip: None,
        public_ip_id: None,
        pip_basic: false,
        subnet_guard: false,
        lb_facing: false,
    }
}

/// Each public address once, in the order of the ip configurations.
fn brief_public_ips<'m>(confs: impl Iterator<Item = &'m IpConf<'m>>) -> SmallVec<[&'m str; 2]> {
    let mut public_ips: SmallVec<[&'m str; 2]> = SmallVec::new();
    for c in confs {
        if let Some(ip) = &c.public_ip {
            if !public_ips.contains(&&**ip) {
                public_ips.push(ip);
            }
        }
    }
    public_ips
}

/// What [`Model::vm_verdict`] finds for one VM.
struct VmVerdict<'m, 'a> {
    confs: VmConfs<'m, 'a>,
    exposures: Vec<Exposure>,
    allowed_all: Vec<AddrSet>,
    recommendations: VmRecommendations,
}

struct VmConfs<'m, 'a> {
    /// (ip configuration, its NIC's NSG, its evaluation of every port).
    evals: SmallVec<[(&'m IpConf<'a>, u32, PathEval); 2]>,
    /// Per ip configuration: (its index in the model, an NSG (seen or not) guards it).
    at: SmallVec<[(u32, bool); 2]>,
    /// A NIC we cannot see.
    unknown: Option<PathEval>,
}

/// The three recommendations of a VM.
fn vm_recommendations<'c>(
    confs: impl Iterator<Item = (&'c IpConf<'c>, u32)> + Clone,
    has_nic: bool,
    any_open: bool,
    jit: &[(bool, Vec<(i64, Protocol)>)],
) -> VmRecommendations {
    // Internet-facing: a public IP, or a public load balancer frontend (Standard or Basic)
    let facing = confs.filter(|(c, _)| c.has_public || c.lb_facing);
    let nsg_rec = if facing.clone().next().is_none() {
        Status::NotApplicable
    } else if facing
        .clone()
        .all(|(c, nic_nsg)| c.subnet_nsg != NONE || nic_nsg != NONE)
    {
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
    let jit_rec = if any_open {
        Status::Unhealthy
    } else if jit.iter().any(|(ok, _)| *ok) {
        Status::Healthy
    } else {
        Status::NotApplicable
    };
    VmRecommendations {
        internet_facing_vms_protected_by_nsg: nsg_rec,
        management_ports_closed: closed_rec,
        management_ports_jit_protected: jit_rec,
    }
}

/// The VM's public addresses, each once, in the order of its ip configurations.
fn public_ips(evals: &[(&IpConf<'_>, u32, PathEval)]) -> Vec<String> {
    let mut ips: Vec<String> = Vec::new();
    for (c, _, _) in evals {
        if let Some(ip) = &c.public_ip {
            if !ips.iter().any(|p| p.as_str() == &**ip) {
                ips.push(ip.to_string());
            }
        }
    }
    ips
}

/// Walks one port's source-port pieces: leaves in `total` every source some piece allowed
/// (and returns the bits), and adds to `found`, when given, the rules that decided.
fn walk_port<'s>(
    walk: &Walk<'_>,
    scratch: &'s mut Scratch,
    port: PortSpec,
    mut found: Option<&mut Deciders>,
) -> PortBits<'s> {
    let w = walk.atoms.words;
    active_rules(walk, port, &mut scratch.active);
    let cuts = source_port_cuts(walk, &scratch.active);
    scratch.bits.clear();
    scratch.bits.resize(7 * w, 0);
    let mut bits = PortBits::split(&mut scratch.bits, w);
    for piece in cuts.windows(2) {
        // both fit in u16: the cuts lie in 0..=65536 and the pieces end before 65536
        let (lo, hi) = (piece[0] as u16, (piece[1] - 1) as u16);
        let mut contrib = Contributions {
            rules: &mut scratch.contributions,
            bits: &mut scratch.contributed,
            record: found.is_some(),
        };
        walk_piece(walk, &scratch.active, (lo, hi), &mut bits, &mut contrib);
        if let Some(found) = found.as_deref_mut() {
            found.classify(walk, &contrib, &mut bits);
        }
        for (t, a) in bits.total.iter_mut().zip(bits.piece_allowed.iter()) {
            *t |= a;
        }
    }
    bits
}

/// The candidate rules (indices in `walk.cands`) whose protocol and ports match `port`.
fn active_rules(walk: &Walk<'_>, port: PortSpec, active: &mut Vec<u32>) {
    active.clear();
    active.extend(
        walk.cands
            .iter()
            .enumerate()
            .filter(|(_, (_, r))| {
                r.protocol.matches(port.protocol) && r.dst_ports.contains(port.port)
            })
            .map(|(k, _)| k as u32),
    );
}

/// The bounds of the source-port pieces the active rules distinguish (0 and 65536 included).
fn source_port_cuts(walk: &Walk<'_>, active: &[u32]) -> SmallVec<[u32; 8]> {
    let mut cuts: SmallVec<[u32; 8]> = SmallVec::new();
    cuts.push(0);
    cuts.push(65_536);
    for &k in active {
        for &(lo, hi) in walk.cands[k as usize].1.src_ports.ranges() {
            cuts.push(u32::from(lo));
            cuts.push(u32::from(hi) + 1);
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

/// The bitsets of one port's walk (each `atoms.words` words).
struct PortBits<'b> {
    /// Sources allowed in some piece.
    total: &'b mut [u64],
    /// Security admin rules: sources AlwaysAllow admits, and those handed over to the NSGs.
    always: &'b mut [u64],
    pass: &'b mut [u64],
    /// Sources allowed through every level, for the current piece.
    piece_allowed: &'b mut [u64],
    undecided: &'b mut [u64],
    /// Sources allowed by the current level.
    allowed: &'b mut [u64],
    piece_public: &'b mut [u64],
}

impl<'b> PortBits<'b> {
    fn split(bits: &'b mut [u64], w: usize) -> Self {
        let (total, rest) = bits.split_at_mut(w);
        let (always, rest) = rest.split_at_mut(w);
        let (pass, rest) = rest.split_at_mut(w);
        let (piece_allowed, rest) = rest.split_at_mut(w);
        let (undecided, rest) = rest.split_at_mut(w);
        let (allowed, piece_public) = rest.split_at_mut(w);
        PortBits {
            total,
            always,
            pass,
            piece_allowed,
            undecided,
            allowed,
            piece_public,
        }
    }
}

/// (rule, access) of each rule that decided some sources in a piece, and those sources' bits.
struct Contributions<'c> {
    rules: &'c mut Vec<(RuleRef, Access)>,
    bits: &'c mut Vec<u64>,
    /// Whether to record them (not when only the port's state is wanted).
    record: bool,
}

/// Walks every level's active rules for one source-port piece `(lo, hi)`: leaves in
/// `bits.piece_allowed` the sources that get through, and records which rules decided what.
fn walk_piece(
    walk: &Walk<'_>,
    active: &[u32],
    (lo, hi): (u16, u16),
    b: &mut PortBits<'_>,
    contrib: &mut Contributions<'_>,
) {
    let atoms = walk.atoms;
    b.piece_allowed.copy_from_slice(&atoms.full);
    contrib.rules.clear();
    contrib.bits.clear();
    let mut next = 0;
    let mut admin_seen = false;
    for &(level, nsg, end) in walk.levels {
        let admin = level == Level::NetworkManager;
        if admin {
            b.always.fill(0);
            b.pass.fill(0);
            admin_seen = true;
        }
        b.undecided.copy_from_slice(&atoms.full);
        b.allowed.fill(0);
        let first = next;
        while next < active.len() && (active[next] as usize) < end {
            next += 1;
        }
        walk_level(
            walk,
            &active[first..next],
            (level, nsg),
            (lo, hi),
            b,
            contrib,
        );
        if admin {
            // what no admin rule matched goes to the NSGs too
            for (p, u) in b.pass.iter_mut().zip(b.undecided.iter()) {
                *p |= u;
            }
            continue;
        }
        for (a, x) in b.piece_allowed.iter_mut().zip(b.allowed.iter()) {
            *a &= x;
        }
    }
    if admin_seen {
        for ((a, p), al) in b
            .piece_allowed
            .iter_mut()
            .zip(b.pass.iter())
            .zip(b.always.iter())
        {
            *a = (*a & p) | al;
        }
    }
}

/// The rules of one level (admin rules or one NSG), in order, for one source-port piece.
fn walk_level(
    walk: &Walk<'_>,
    rules: &[u32],
    (level, nsg): (Level, u32),
    (lo, hi): (u16, u16),
    b: &mut PortBits<'_>,
    contrib: &mut Contributions<'_>,
) {
    let w = walk.atoms.words;
    let admin = level == Level::NetworkManager;
    for &k in rules {
        let k = k as usize;
        let (i, r) = walk.cands[k];
        if !r.src_ports.contains_range(lo, hi) {
            continue;
        }
        let src = &walk.rule_bits[k * w..(k + 1) * w];
        if !intersects(src, b.undecided) {
            continue;
        }
        let mut left = false;
        // an admin Allow only hands its sources over to the NSGs: it decides nothing
        let hands_over = admin && r.access == Access::Allow;
        let record = contrib.record && !hands_over;
        for (j, (s, u)) in src.iter().zip(b.undecided.iter_mut()).enumerate() {
            let d = s & *u;
            *u &= !d;
            left |= *u != 0;
            match (admin, r.access) {
                (false, Access::Allow) => b.allowed[j] |= d,
                (true, Access::AlwaysAllow) => b.always[j] |= d,
                (true, Access::Allow) => b.pass[j] |= d,
                _ => {}
            }
            if record {
                contrib.bits.push(d);
            }
        }
        if record {
            contrib.rules.push((
                RuleRef {
                    level,
                    nsg,
                    rule: i,
                },
                r.access,
            ));
        }
        if !left {
            break;
        }
    }
}

/// The rules that decided public or any sources, by access, over every piece.
#[derive(Default)]
struct Deciders {
    allow_public: SmallVec<[RuleRef; 4]>,
    allow_any: SmallVec<[RuleRef; 4]>,
    deny_public: SmallVec<[RuleRef; 4]>,
    deny_any: SmallVec<[RuleRef; 4]>,
}

fn push_once(v: &mut SmallVec<[RuleRef; 4]>, r: RuleRef) {
    if !v.contains(&r) {
        v.push(r)
    }
}

impl Deciders {
    /// Adds the rules that decided sources in the piece just walked.
    fn classify(&mut self, walk: &Walk<'_>, contrib: &Contributions<'_>, b: &mut PortBits<'_>) {
        let w = walk.atoms.words;
        for ((pp, a), x) in b
            .piece_public
            .iter_mut()
            .zip(b.piece_allowed.iter())
            .zip(walk.public_bits)
        {
            *pp = a & x;
        }
        for (n, &(rr, access)) in contrib.rules.iter().enumerate() {
            let s = &contrib.bits[n * w..(n + 1) * w];
            match access {
                Access::Allow | Access::AlwaysAllow => {
                    if intersects(s, b.piece_public) {
                        push_once(&mut self.allow_public, rr);
                    }
                    if intersects(s, b.piece_allowed) {
                        push_once(&mut self.allow_any, rr);
                    }
                }
                Access::Deny => {
                    if intersects(s, walk.public_bits) {
                        push_once(&mut self.deny_public, rr);
                    }
                    push_once(&mut self.deny_any, rr);
                }
            }
        }
    }

    /// The rules shown as deciding a port in `state`, sorted.
    fn deciding(self, state: State) -> Vec<RuleRef> {
        let mut deciding: SmallVec<[RuleRef; 4]> = match state {
            State::Open | State::Restricted => self.allow_public,
            State::Private => {
                let mut d = self.deny_public;
                for r in self.allow_any {
                    push_once(&mut d, r);
                }
                d
            }
            State::Closed => {
                if self.deny_public.is_empty() {
                    self.deny_any
                } else {
                    self.deny_public
                }
            }
        };
        deciding.sort();
        deciding.into_vec()
    }
}

/// Which of the plan's rules whose destination is conditional match the ip configuration.
fn mask_of<'r>(
    plan: &NsgPlan,
    rule: impl Fn(usize) -> &'r CompiledRule,
    conf: &IpConf<'_>,
    public: &AddrSet,
) -> Mask {
    let mut mask = Mask::new(plan.conditional as usize);
    let words = mask.words();
    for &(i, bit) in plan.relevant.iter() {
        if bit != NONE && dest_matches(rule(i as usize), conf, public) {
            words[bit as usize / 64] |= 1 << (bit % 64);
        }
    }
    mask
}

/// A part of the sources a rule names (see [`Model::source_parts`]).
enum Part<'s> {
    /// Every address of the family (`*`).
    All,
    Set(&'s IntervalSet),
    /// The public Internet as seen from the ip configuration's VNet.
    Public,
    /// The VNet's address space.
    Vnet,
    LoadBalancer,
}

/// The rules of one cached key that can matter, as bitsets over address atoms.
struct Walk<'w> {
    /// (level, NSG or admin rule set, end of its rules in `cands`), in evaluation order.
    levels: &'w [(Level, u32, usize)],
    /// (index in the NSG's inbound rules, rule).
    cands: &'w [(u32, &'w CompiledRule)],
    atoms: &'w Atoms<'w>,
    /// The sources of `cands[k]`: `atoms.words` words from `k * atoms.words`.
    rule_bits: &'w [u64],
    public_bits: &'w [u64],
}

/// Buffers reused between the ports of one key.
#[derive(Default)]
struct Scratch {
    bounds: Vec<u128>,
    rule_bits: Vec<u64>,
    active: Vec<u32>,
    bits: Vec<u64>,
    contributions: Vec<(RuleRef, Access)>,
    contributed: Vec<u64>,
}

/// The elementary intervals of one family's address space that a walk's sets are unions of.
struct Atoms<'s> {
    /// First address of each atom, ascending, from 0; each atom ends where the next begins.
    starts: &'s [u128],
    max: u128,
    words: usize,
    /// Every atom.
    full: SmallVec<[u64; 4]>,
}

impl<'s> Atoms<'s> {
    /// The atoms cut at `bounds` (sorted and deduplicated in place).
    fn new(bounds: &'s mut Vec<u128>, max: u128) -> Self {
        bounds.sort_unstable();
        bounds.dedup();
        let starts = &bounds[..];
        let n = starts.len();
        let words = n.div_ceil(64);
        let mut full: SmallVec<[u64; 4]> = smallvec::smallvec![0; words];
        set_range(&mut full, 0, n - 1);
        Atoms {
            starts,
            max,
            words,
            full,
        }
    }

    /// Sets the bits of the atoms `set` covers (its bounds must be among the atoms' bounds).
    fn set_bits(&self, set: &IntervalSet, out: &mut [u64]) {
        for &(lo, hi) in set.ranges() {
            let i = self.starts.partition_point(|&b| b < lo);
            let j = self.starts.partition_point(|&b| b <= hi) - 1;
            set_range(out, i, j);
        }
    }

    /// How many addresses the atoms whose bits are set hold (saturating, as
    /// [`IntervalSet::count`] of [`Atoms::to_set`]).
    fn count(&self, bits: &[u64]) -> u128 {
        let n = self.starts.len();
        let mut count = 0u128;
        let mut i = next_bit(bits, 0, n, true);
        while i < n {
            let j = next_bit(bits, i, n, false);
            let hi = if j < n { self.starts[j] - 1 } else { self.max };
            count = count.saturating_add((hi - self.starts[i]).saturating_add(1));
            i = next_bit(bits, j, n, true);
        }
        count
    }

    /// The addresses of the atoms whose bits are set.
    fn to_set(&self, bits: &[u64]) -> IntervalSet {
        let mut ranges: SmallVec<[(u128, u128); 1]> = SmallVec::new();
        let n = self.starts.len();
        // a word at a time: runs of set bits from one clear bit to the next
        let mut i = next_bit(bits, 0, n, true);
        while i < n {
            let j = next_bit(bits, i, n, false);
            let hi = if j < n { self.starts[j] - 1 } else { self.max };
            ranges.push((self.starts[i], hi));
            i = next_bit(bits, j, n, true);
        }
        IntervalSet::from_normalized(ranges)
    }
}

/// The first bit at or after `from` that is `set` (or clear), or `n` when none is before `n`.
fn next_bit(bits: &[u64], from: usize, n: usize, set: bool) -> usize {
    let flip = if set { 0 } else { !0u64 };
    let mut w = from / 64;
    let Some(&first) = bits.get(w) else {
        return n;
    };
    let mut word = (first ^ flip) & (!0u64 << (from % 64));
    loop {
        if word != 0 {
            return (w * 64 + word.trailing_zeros() as usize).min(n);
        }
        w += 1;
        match bits.get(w) {
            Some(&b) => word = b ^ flip,
            None => return n,
        }
    }
}

/// Adds the bounds of `set`'s intervals (first address, and one past the last) to `bounds`.
fn add_bounds(bounds: &mut Vec<u128>, set: &IntervalSet, max: u128) {
    for &(lo, hi) in set.ranges() {
        bounds.push(lo);
        if hi < max {
            bounds.push(hi + 1);
        }
    }
}

/// Sets bits `i..=j`.
fn set_range(bits: &mut [u64], i: usize, j: usize) {
    for (k, word) in bits.iter_mut().enumerate().take(j / 64 + 1).skip(i / 64) {
        let lo = if k == i / 64 { i % 64 } else { 0 };
        let hi = if k == j / 64 { j % 64 } else { 63 };
        let m = if hi - lo == 63 {
            u64::MAX
        } else {
            ((1u64 << (hi - lo + 1)) - 1) << lo
        };
        *word |= m;
    }
}

fn intersects(a: &[u64], b: &[u64]) -> bool {
    a.iter().zip(b).any(|(x, y)| x & y != 0)
}

/// The last address of a family.
fn family_max(family: Family) -> u128 {
    match family {
        Family::V4 => u128::from(u32::MAX),
        Family::V6 => u128::MAX,
    }
}

/// Keeps the first of equal warnings (the same warning from several VMs is reported once, in
/// first-seen order).
pub fn dedup_warnings(warnings: &mut Vec<String>) {
    let mut once: FxSet<&str> = FxSet::default();
    let keep: Vec<bool> = warnings.iter().map(|w| once.insert(w.as_str())).collect();
    let mut keep = keep.into_iter();
    warnings.retain(|_| keep.next().unwrap_or(false));
}

/// Drops `a` and `b`, on two threads with the `parallel` feature (native builds).
fn par_drop<A: Send, B: Send>(a: A, b: B) {
    #[cfg(all(feature = "parallel", not(target_arch = "wasm32")))]
    {
        if std::thread::available_parallelism().is_ok_and(|n| n.get() > 1) {
            std::thread::scope(|scope| {
                scope.spawn(move || drop(a));
                drop(b);
            });
            return;
        }
    }
    drop((a, b));
}

/// Applies `f(first index, chunk)` to consecutive chunks of `items` and returns the results in
/// order. With the `parallel` feature (native builds) the chunks run on the machine's cores.
fn par_chunks<'t, T: Sync, R: Send>(
    items: &'t [T],
    f: impl Fn(usize, &'t [T]) -> R + Sync,
) -> Vec<R> {
    #[cfg(all(feature = "parallel", not(target_arch = "wasm32")))]
    {
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8);
        if threads > 1 && items.len() >= 1_000 {
            let size = items.len().div_ceil(threads);
            let f = &f;
            return std::thread::scope(|scope| {
                let handles: Vec<_> = items
                    .chunks(size)
                    .enumerate()
                    .map(|(k, chunk)| scope.spawn(move || f(k * size, chunk)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("evaluation thread"))
                    .collect()
            });
        }
    }
    vec![f(0, items)]
}

/// Locks a mutex; a panic elsewhere cannot leave these caches inconsistent, so poison is ignored.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One family's part of an address set.
fn of(set: &AddrSet, family: Family) -> &IntervalSet {
    match family {
        Family::V4 => &set.v4,
        Family::V6 => &set.v6,
    }
}

/// A one-family set as an address set.
fn lift(family: Family, set: IntervalSet) -> AddrSet {
    match family {
        Family::V4 => AddrSet {
            v4: set,
            v6: IntervalSet::empty(),
        },
        Family::V6 => AddrSet {
            v4: IntervalSet::empty(),
            v6: set,
        },
    }
}

/// Does rule `r` apply to traffic addressed to this ip configuration? NSGs see traffic after
/// NAT, so the destination is the private address. Where the answer is uncertain (unknown
/// service tag, unknown address, prefix ip configurations) Allow rules are taken to match and
/// Deny rules not, so uncertainty never hides exposure. `public`: the Internet as seen from the
/// ip configuration's VNet (an `Internet` destination matches only a public address: a load
/// balancer's frontend under floating IP).
fn dest_matches(r: &CompiledRule, conf: &IpConf<'_>, public: &AddrSet) -> bool {
    let d = &r.dst;
    if d.any || d.virtual_network {
        return true;
    }
    let lenient = r.access.permits();
    if d.internet {
        let internet = of(public, conf.family);
        let hit = match &conf.addrs {
            Some(addrs) if lenient => internet.intersects(addrs),
            Some(addrs) => addrs.is_subset(internet),
            None => lenient,
        };
        if hit {
            return true;
        }
    }
    if !d.other_tags().is_empty() && lenient {
        return true;
    }
    if d.asgs().iter().any(|a| conf.asgs.contains(a)) {
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

fn parse_cidr(s: &str, path: impl Fn() -> String) -> Result<AddrSet, InputError> {
    Cidr::parse(s)
        .map(|c| AddrSet::from_cidr(&c))
        .ok_or_else(|| InputError::value(path(), s, "is not a valid CIDR prefix"))
}

/// Parses a NIC's ip configurations and resolves their subnet (NSG, VNet) and public IP.
fn parse_ipconfs<'a>(
    nic: &NetworkInterface<'a>,
    i: usize,
    asgs: &mut AsgInterner,
    subnets: &FxMap<Ci<'a>, (u32, u32, bool)>,
    pips: &FxMap<Ci<'a>, Pip>,
    warnings: &mut Vec<String>,
    out: &mut Vec<IpConf<'a>>,
) -> Result<(), InputError> {
    for (j, c) in nic.properties.ip_configurations.iter().enumerate() {
        let cpath =
            || format!("networkInterfaces[{i}].properties.ipConfigurations[{j}].properties");
        let p = &c.properties;
        let declared = match p.private_ip_address_version.map(str::trim) {
            Some(v) if v.eq_ignore_ascii_case("ipv6") => Some(Family::V6),
            Some(v) if v.eq_ignore_ascii_case("ipv4") => Some(Family::V4),
            Some("") | None => None,
            Some(v) => {
                return Err(InputError::value(
                    format!("{}.privateIPAddressVersion", cpath()),
                    v,
                    "is not IPv4 or IPv6",
                ))
            }
        };
        let (family, addrs) = match p
            .private_ip_address
            .filter(|s| !crate::eval::trim(s).is_empty())
        {
            Some(a) => {
                let bad = || {
                    InputError::value(
                        format!("{}.privateIPAddress", cpath()),
                        a,
                        "is not an IP address",
                    )
                };
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
        let id: Cow<'a, str> = match &c.id {
            Some(id) => Cow::Borrowed(*id),
            None => Cow::Owned(format!(
                "{}/ipConfigurations/{}",
                nic.id,
                c.name.unwrap_or("?")
            )),
        };
        let mut conf_asgs = Vec::new();
        for (k, a) in p.application_security_groups.iter().enumerate() {
            match a.id {
                Some(aid) if !crate::eval::trim(aid).is_empty() => conf_asgs.push(asgs.intern(aid)),
                _ => {
                    return Err(InputError::new(
                        format!("{}.applicationSecurityGroups[{k}].id", cpath()),
                        "missing application security group id",
                    ))
                }
            }
        }
        let (mut subnet_nsg, mut vnet, mut subnet_guard) = (NONE, NONE, false);
        if let Some(sid) = p.subnet.as_ref().and_then(|s| s.id) {
            match subnets.get(&Ci::new(sid)) {
                Some(&(n, v, g)) => (subnet_nsg, vnet, subnet_guard) = (n, v, g),
                None => {
                    subnet_guard = true;
                    warnings.push(format!(
                        "ip configuration {id}: subnet {sid} is not in the inventory; counted as no subnet NSG, VirtualNetwork unknown"
                    ))
                }
            }
        }
        let pip_ref = p
            .public_ip_address
            .as_ref()
            .and_then(|s| s.id)
            .filter(|s| !crate::eval::trim(s).is_empty());
        let (public_ip, pip_basic) = match pip_ref {
            Some(pk) => match pips.get(&Ci::new(pk)) {
                Some(pip) => (pip.address.clone(), pip.basic),
                None => {
                    warnings.push(format!(
                        "ip configuration {id}: public IP {pk} is not in the inventory; counted as internet-facing, open without an NSG"
                    ));
                    (None, true)
                }
            },
            None => (None, false),
        };
        out.push(IpConf {
            private_ip: addrs.as_ref().map(|s| ip_arc(family, s.ranges()[0].0)),
            id,
            family,
            addrs,
            asgs: conf_asgs,
            subnet_nsg,
            vnet,
            has_public: pip_ref.is_some(),
            public_ip,
            public_ip_id: pip_ref.map(Arc::from),
            pip_basic,
            subnet_guard,
            lb_facing: false,
        });
    }
    Ok(())
}

/// Per ip configuration, whether another has NSGs of the same classes, the same VNet and
/// address family (the coarse part of [`EvalKey`]): only those can share an evaluation.
fn conf_shared(
    ipconfs: &[IpConf<'_>],
    nic_nsg: &[u32],
    nic_confs: &[u32],
    nsg_class: &[u32],
) -> Vec<bool> {
    let class = |nsg: u32| class_of(nsg_class, nsg);
    let key = |n: usize, c: &IpConf<'_>| {
        (
            class(c.subnet_nsg),
            class(nic_nsg[n]),
            c.vnet,
            c.family as u8,
        )
    };
    let mut seen: FxMap<(u32, u32, u32, u8), u32> = fx_map(ipconfs.len());
    for n in 0..nic_nsg.len() {
        for c in &ipconfs[nic_confs[n] as usize..nic_confs[n + 1] as usize] {
            *seen.entry(key(n, c)).or_default() += 1;
        }
    }
    let mut shared = vec![false; ipconfs.len()];
    for n in 0..nic_nsg.len() {
        for (k, c) in ipconfs[nic_confs[n] as usize..nic_confs[n + 1] as usize]
            .iter()
            .enumerate()
        {
            shared[nic_confs[n] as usize + k] = seen[&key(n, c)] > 1;
        }
    }
    shared
}

/// `evals`, made for `key` (whose NSGs are the first of their classes), as the ip
/// configuration's own NSGs `subnet_nsg` and `nic_nsg` give it: the same verdicts, naming
/// their own rules (the same positions in alike NSGs). Ports that shared a verdict still do.
fn own_rules(evals: PathEval, key: &EvalKey, subnet_nsg: u32, nic_nsg: u32) -> PathEval {
    if key.subnet_nsg == subnet_nsg && key.nic_nsg == nic_nsg {
        return evals;
    }
    let mut own: Vec<Arc<PortEval>> = Vec::with_capacity(evals.len());
    for (i, e) in evals.iter().enumerate() {
        if let Some(j) = evals[..i].iter().position(|o| Arc::ptr_eq(o, e)) {
            let same = own[j].clone();
            own.push(same);
            continue;
        }
        let deciding = e
            .deciding
            .iter()
            .map(|r| RuleRef {
                nsg: match r.level {
                    Level::Subnet => subnet_nsg,
                    Level::NetworkInterface => nic_nsg,
                    Level::NetworkManager => r.nsg,
                },
                ..*r
            })
            .collect();
        own.push(Arc::new(PortEval {
            allowed: e.allowed.clone(),
            shown: e.shown.clone(),
            state: e.state,
            deciding,
            no_nsg: e.no_nsg,
            // the sources name no rule; the rules and reasons are made for these NSGs
            sources: e.sources.clone(),
            rules: OnceLock::new(),
            reasons: Default::default(),
        }));
    }
    own.into()
}

/// An NSG's class (see `classes`), or [`NONE`] for none.
fn class_of(nsg_class: &[u32], nsg: u32) -> u32 {
    if nsg == NONE {
        NONE
    } else {
        nsg_class[nsg as usize]
    }
}

/// An address as shared text (IPv4 without going through the formatter).
fn ip_arc(family: Family, ip: u128) -> Arc<str> {
    match family {
        Family::V4 => {
            let mut buf = [0u8; 15];
            let mut n = 0;
            for (k, octet) in (ip as u32).to_be_bytes().into_iter().enumerate() {
                if k > 0 {
                    buf[n] = b'.';
                    n += 1;
                }
                if octet >= 100 {
                    buf[n] = b'0' + octet / 100;
                    n += 1;
                }
                if octet >= 10 {
                    buf[n] = b'0' + octet / 10 % 10;
                    n += 1;
                }
                buf[n] = b'0' + octet % 10;
                n += 1;
            }
            Arc::from(std::str::from_utf8(&buf[..n]).expect("ASCII"))
        }
        Family::V6 => Arc::from(format_ip(family, ip)),
    }
}

/// Appends `a, b, c`, or `a, b, c and N more` when there are more than three items.
fn push_list<T>(out: &mut String, items: &[T], mut item: impl FnMut(&mut String, &T)) {
    for (k, x) in items.iter().take(3).enumerate() {
        if k > 0 {
            out.push_str(", ");
        }
        item(out, x);
    }
    if items.len() > 3 {
        let _ = write!(out, " and {} more", items.len() - 3);
    }
}

/// Appends the rules as `name (Allow 300, NIC NSG nsg-name)`, listed as [`push_list`] does.
fn describe<R: std::borrow::Borrow<DecidingRule>>(out: &mut String, rules: &[R]) {
    push_list(out, rules, |out, r| {
        let r = r.borrow();
        let nsg = r.nsg.rsplit('/').next().unwrap_or_default();
        out.push_str(&r.rule);
        out.push_str(" (");
        out.push_str(r.access_str());
        let _ = write!(out, " {}, ", r.priority);
        if r.level == Level::NetworkManager {
            out.push_str("security admin rule collection ");
        } else {
            out.push_str(r.level_str());
            out.push_str(" NSG ");
        }
        out.push_str(nsg);
        out.push(')');
    });
}

impl DecidingRule {
    fn access_str(&self) -> &'static str {
        self.access.as_str()
    }
    fn level_str(&self) -> &'static str {
        match self.level {
            Level::NetworkManager => "network manager",
            Level::Subnet => "subnet",
            Level::NetworkInterface => "NIC",
        }
    }
}

fn reason(
    state: State,
    no_nsg: bool,
    public: &[String],
    rules: &[DecidingRule],
    via: Via,
) -> String {
    let via = match via {
        Via::PublicIp => " through a public IP",
        Via::None => " (no public IP on this path)",
        Via::StandardClosed => {
            " (not reachable: a Standard public IP admits no inbound traffic without an NSG on the path)"
        }
        Via::Paths => " through a load balancer or firewall (see paths)",
    };
    let mut s = String::with_capacity(160);
    match state {
        State::Open | State::Restricted if no_nsg && rules.is_empty() => {
            s.push_str("No NSG on the subnet or the network interface: every source can connect");
            s.push_str(via);
        }
        State::Open | State::Restricted => {
            s.push_str("Public sources ");
            push_list(&mut s, public, |out, p| out.push_str(p));
            s.push_str(" allowed by ");
            describe(&mut s, rules);
            s.push_str(via);
        }
        State::Private => {
            let deny: SmallVec<[&DecidingRule; 8]> =
                rules.iter().filter(|r| r.access == Access::Deny).collect();
            let allow: SmallVec<[&DecidingRule; 8]> =
                rules.iter().filter(|r| r.access != Access::Deny).collect();
            s.push_str("Only private sources can connect");
            if !allow.is_empty() {
                s.push_str(" (allowed by ");
                describe(&mut s, &allow);
                s.push(')');
            }
            if !deny.is_empty() {
                s.push_str("; public sources are stopped by ");
                describe(&mut s, &deny);
            }
        }
        State::Closed if rules.is_empty() => {
            s.push_str("No source can connect: no network interface ip configuration to reach");
        }
        State::Closed => {
            s.push_str("No source can connect: denied by ");
            describe(&mut s, rules);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_format_as_std_does() {
        for ip in [
            0u32,
            1,
            9,
            10,
            99,
            100,
            255,
            256,
            0x0a00_0104,
            0xffff_ffff,
            0x7f00_0001,
        ] {
            let ip = u128::from(ip);
            assert_eq!(&*ip_arc(Family::V4, ip), format_ip(Family::V4, ip));
        }
        assert_eq!(&*ip_arc(Family::V6, 1), "::1");
    }

    /// Atoms' bits back to addresses, a word at a time: the ranges a bit-by-bit walk gives,
    /// for atom counts around word edges and bit patterns with runs across words.
    #[test]
    fn atoms_to_set_joins_runs_across_words() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for n in [1usize, 2, 63, 64, 65, 127, 128, 129, 200] {
            let mut bounds: Vec<u128> = (0..n as u128).map(|k| k * 7).collect();
            let atoms = Atoms::new(&mut bounds, u128::from(u32::MAX));
            for round in 0..60 {
                let mut bits = vec![0u64; n.div_ceil(64)];
                for k in 0..n {
                    // runs: sparse, dense, or all
                    let on = match round % 3 {
                        0 => next() % 5 == 0,
                        1 => next() % 5 != 0,
                        _ => true,
                    };
                    if on {
                        bits[k / 64] |= 1 << (k % 64);
                    }
                }
                let mut want = Vec::new();
                let mut k = 0;
                while k < n {
                    if bits[k / 64] & (1 << (k % 64)) == 0 {
                        k += 1;
                        continue;
                    }
                    let lo = atoms.starts[k];
                    while k < n && bits[k / 64] & (1 << (k % 64)) != 0 {
                        k += 1;
                    }
                    want.push((
                        lo,
                        if k < n {
                            atoms.starts[k] - 1
                        } else {
                            atoms.max
                        },
                    ));
                }
                assert_eq!(atoms.to_set(&bits).ranges(), &want[..], "{n} atoms");
                assert_eq!(atoms.count(&bits), atoms.to_set(&bits).count(), "{n} atoms");
            }
        }
    }

    /// The count of addresses from the bits saturates as [`IntervalSet::count`] does: only
    /// the whole IPv6 space (2^128 addresses) does not fit.
    #[test]
    fn atoms_count_saturates_on_the_whole_ipv6_space() {
        let mut bounds: Vec<u128> = vec![0, 1 << 64, u128::MAX - 3];
        let atoms = Atoms::new(&mut bounds, u128::MAX);
        assert_eq!(atoms.count(&[0b111]), u128::MAX);
        assert_eq!(atoms.count(&[0b111]), atoms.to_set(&[0b111]).count());
        assert_eq!(atoms.count(&[0b110]), u128::MAX - (1 << 64) + 1);
        assert_eq!(atoms.count(&[0b100]), 4);
        assert_eq!(atoms.count(&[0b001]), 1 << 64);
        assert_eq!(atoms.count(&[0]), 0);
    }
}

#[cfg(test)]
mod compile_tests {
    use super::*;

    /// NSGs compiled in chunks on every core are what one pass compiles: the same NSGs and
    /// plans, the warnings in the same order, and the first error in NSG order.
    #[test]
    fn chunks_compile_what_one_pass_compiles() {
        let mut inv = crate::fleet::per_vm_nsg_fleet(5_000, 11);
        // warnings in NSGs of both halves: a priority outside ARM's range, a shared priority
        for i in [3, 2_400, 2_600, 4_990] {
            let rules =
                &mut std::sync::Arc::make_mut(&mut inv.network_security_groups[i].properties)
                    .security_rules;
            rules[0].properties.priority = Some(4_500);
            rules[1].properties.priority = rules[2].properties.priority;
        }
        let ports = EvalConfig::default().ports();
        let compile = |inv: &crate::Inventory, chunked: bool| {
            let mut view = inv.view();
            let asgs = intern_asgs(&view);
            let mut warnings = Vec::new();
            let got = if chunked {
                compile_nsgs(
                    &mut view.network_security_groups,
                    &asgs,
                    &ports,
                    &mut warnings,
                )
            } else {
                let ids: Vec<std::sync::Arc<str>> = view
                    .network_security_groups
                    .iter()
                    .map(|n| std::sync::Arc::from(n.id))
                    .collect();
                let with = NsgsIn {
                    ids: &ids,
                    release: &|_| {},
                };
                compile_nsg_chunk(
                    0,
                    &mut view.network_security_groups,
                    &with,
                    &mut asgs.clone(),
                    &ports,
                    &mut warnings,
                )
            };
            got.map(|(nsgs, plans)| (nsgs, format!("{plans:?}"), warnings))
                .map_err(|e| e.to_string())
        };
        let (nsgs, plans, warnings) = compile(&inv, false).unwrap();
        assert_eq!(warnings.len(), 8, "{warnings:?}");
        assert_eq!(compile(&inv, true).unwrap(), (nsgs, plans, warnings));
        // two bad values: the first in NSG order is the one reported
        std::sync::Arc::make_mut(&mut inv.network_security_groups[4_000].properties)
            .security_rules[0]
            .properties
            .destination_port_range = Some("70000".into());
        std::sync::Arc::make_mut(&mut inv.network_security_groups[1_000].properties)
            .security_rules[1]
            .properties
            .source_address_prefix = Some("10.0.0.0/40".into());
        let one = compile(&inv, false).unwrap_err();
        assert!(one.starts_with("networkSecurityGroups[1000]"), "{one}");
        assert_eq!(compile(&inv, true).unwrap_err(), one);
    }
}

#[cfg(test)]
mod cache_tests {
    use crate::fleet::{per_vm_nsg_fleet, synthetic_fleet};
    use crate::EvalConfig;

    fn cached(inv: &crate::Inventory) -> (usize, crate::eval::report::Report) {
        let model = super::Model::build(inv, &EvalConfig::default()).unwrap();
        let report = model.report();
        let n = super::lock(&model.cache).evals.len();
        (n, report)
    }

    #[test]
    fn verdicts_no_other_ip_configuration_can_share_are_not_kept() {
        // one NSG per NIC: every evaluation is read by one VM only
        let (kept, report) = cached(&per_vm_nsg_fleet(40, 7));
        assert_eq!(report.vms.len(), 40);
        assert_eq!(
            kept, 0,
            "evaluations of unshared NSGs stay out of the cache"
        );
        // about ten VMs per NSG: evaluations are shared, and kept
        let (kept, report) = cached(&synthetic_fleet(200, 7));
        assert!(kept > 0 && kept < report.vms.len(), "kept {kept}");
    }
}

#[cfg(test)]
mod size_tests {
    #[test]
    fn compiled_rules_stay_compact() {
        let size = std::mem::size_of::<super::CompiledRule>();
        println!("CompiledRule: {size} bytes");
        assert!(size <= 304, "CompiledRule grew to {size} bytes");
    }
}
