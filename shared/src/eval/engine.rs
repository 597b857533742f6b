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
//!
//! This file holds the [`Model`], its caches and the verdicts (statuses, the control's counts);
//! `engine/build.rs` builds the model from the inventory's view, `engine/walk.rs` walks the
//! rules of one cached key over address atoms, and `engine/explain.rs` makes a VM's full report
//! (per port: sources, deciding rules, reasons, paths, JIT) from the cached evaluations.
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

mod build;
mod explain;
mod gate;
mod walk;
use build::*;
use walk::*;

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
    /// Reachable through a load balancer, firewall or application gateway (see the exposure's paths).
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
        public_ip_destinations(
            (&nsgs, &plans),
            &ipconfs,
            (&nic_nsg, &nic_confs),
            (&vnets, &public_no_vnet),
            &mut warnings,
        );
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
        let mut model = Self {
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
        };
        model.open_gates();
        Ok(model)
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
