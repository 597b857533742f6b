//! Building the [`Model`](super::Model) from the inventory's view: NSGs compiled (on two
//! threads with the `parallel` feature), ids resolved case-insensitively, VNets, NICs and their
//! ip configurations, VM profiles, JIT policies and network-manager admin rules.
use super::*;

/// Every application security group id, interned up front so that NSGs and NICs can be
/// compiled in parallel, each thread with an identical copy of the interner.
pub(super) fn intern_asgs(inv: &view::Inventory<'_>) -> AsgInterner {
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

/// The NSGs compiled while the networks, NICs and VMs are resolved (which read everything
/// else, and the NSGs' ids only); warnings and the first error come in the order of one pass.
/// The NSGs' ids are copied once, for the index and the compiled NSGs, so that the compile's
/// chunks of the buffer are released as they are done.
pub(super) fn compile_and_resolve<'a>(
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
pub(super) struct NsgsIn<'i> {
    pub(super) ids: &'i [Arc<str>],
    pub(super) release: Release<'i>,
}

/// The compiled NSGs and their plans.
pub(super) type CompiledNsgs = (Vec<CompiledNsg>, Vec<NsgPlan>);

/// [`compile_nsgs`], while `beside` runs: with the `parallel` feature, `beside` runs on a
/// second thread, which then helps compile; the NSGs are taken in consecutive chunks by
/// whichever thread is free. Warnings and the first error come in NSG order, as one pass
/// gives them. Each thread has its own copy of the interner: the application security groups
/// that only rules name (ids past the model's) have no members, whichever id a thread gives
/// them.
pub(super) fn compile_nsgs_beside<R: Send>(
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
pub(super) fn compile_nsg_chunk(
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
pub(super) struct Resolved<'a> {
    pub(super) networks: Networks<'a>,
    pub(super) pips: FxMap<Ci<'a>, Pip>,
    pub(super) nics: Nics<'a>,
    pub(super) asg_members: Vec<AddrSet>,
    pub(super) profiles: VmProfiles<'a>,
    pub(super) jit_by_vm: FxMap<Ci<'a>, Vec<(u32, u32)>>,
}

/// Resolves all but the NSGs (which it does not read), in the order of one pass.
pub(super) fn resolve_all<'a>(
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
pub(super) const RELEASE_ITEMS: usize = 4096;

/// NSG id -> index, resolving references (a missing NSG is a warning and counts as none).
pub(super) struct NsgIndex<'a>(pub(super) FxMap<Ci<'a>, u32>);

impl<'a> NsgIndex<'a> {
    /// The NSGs' ids, in the inventory's order.
    pub(super) fn new(ids: impl ExactSizeIterator<Item = &'a str>) -> Self {
        let mut by_key: FxMap<Ci<'a>, u32> = fx_map(ids.len());
        for (i, id) in ids.enumerate() {
            by_key.insert(Ci::new(id), i as u32);
        }
        NsgIndex(by_key)
    }

    pub(super) fn resolve(
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
pub(super) struct Networks<'a> {
    /// Subnet id -> (subnet NSG, VNet, guarded by an NSG).
    pub(super) subnets: FxMap<Ci<'a>, (u32, u32, bool)>,
    pub(super) vnet_index: FxMap<Ci<'a>, u32>,
    pub(super) vnets: Vec<VnetInfo>,
    /// Public Internet when the VNet is unknown.
    pub(super) public_no_vnet: AddrSet,
}

/// Every VNet's address space and subnets, and the VirtualNetwork tag of each (its space and
/// its Connected peers').
pub(super) fn networks<'a>(
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
pub(super) struct Nics<'a> {
    pub(super) nics: FxMap<Ci<'a>, u32>,
    pub(super) nic_nsg: Vec<u32>,
    pub(super) nic_guard: Vec<bool>,
    pub(super) ipconfs: Vec<IpConf<'a>>,
    pub(super) nic_confs: Vec<u32>,
    /// No two NICs share an id.
    pub(super) ids_unique: bool,
}

/// Parses every NIC's ip configurations and resolves their NSGs, subnets and public IPs (in
/// parallel with the `parallel` feature).
pub(super) fn resolve_nics<'a>(
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
pub(super) fn asg_members(ipconfs: &[IpConf<'_>], asgs: usize) -> Vec<AddrSet> {
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
pub(super) struct VmProfiles<'a> {
    pub(super) vm_nics: Vec<u32>,
    pub(super) vm_nic_at: Vec<u32>,
    pub(super) vm_keys: Vec<Ci<'a>>,
    pub(super) nics_by_vm: FxMap<Ci<'a>, SmallVec<[u32; 2]>>,
}

pub(super) fn vm_profiles<'a>(
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
pub(super) fn jit_index<'a>(
    inv: &view::Inventory<'a>,
) -> Result<FxMap<Ci<'a>, Vec<(u32, u32)>>, InputError> {
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
pub(super) fn admin_rules(
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

pub(super) fn parse_cidr(s: &str, path: impl Fn() -> String) -> Result<AddrSet, InputError> {
    Cidr::parse(s)
        .map(|c| AddrSet::from_cidr(&c))
        .ok_or_else(|| InputError::value(path(), s, "is not a valid CIDR prefix"))
}

/// Parses a NIC's ip configurations and resolves their subnet (NSG, VNet) and public IP.
pub(super) fn parse_ipconfs<'a>(
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
pub(super) fn conf_shared(
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

/// Warns about rules for a management port whose destination names an ip configuration's
/// public IP but not its private address: NSGs see the traffic after NAT, addressed to the
/// private address, so such a rule never applies to it. A Deny written that way looks as if it
/// closed the port and does not. Once per rule, naming the first ip configuration found.
pub(super) fn public_ip_destinations(
    (nsgs, plans): (&[CompiledNsg], &[NsgPlan]),
    ipconfs: &[IpConf<'_>],
    (nic_nsg, nic_confs): (&[u32], &[u32]),
    (vnets, public_no_vnet): (&[VnetInfo], &AddrSet),
    warnings: &mut Vec<String>,
) {
    let public_of = |vnet: u32| match vnets.get(vnet as usize) {
        Some(v) => &v.public,
        None => public_no_vnet,
    };
    let mut warned: FxSet<(u32, u32)> = FxSet::default();
    for (nic, &own_nsg) in nic_nsg.iter().enumerate() {
        let confs = &ipconfs[nic_confs[nic] as usize..nic_confs[nic + 1] as usize];
        for conf in confs {
            let Some((family, ip)) = conf.public_ip.as_deref().and_then(parse_ip) else {
                continue;
            };
            for nsg in [conf.subnet_nsg, own_nsg] {
                if nsg == NONE {
                    continue;
                }
                let compiled = &nsgs[nsg as usize];
                // only rules whose destination depends on the ip configuration
                for &(i, bit) in plans[nsg as usize].relevant.iter() {
                    let r = compiled.rule(i as usize);
                    let Some(index) = r.index else { continue };
                    if bit == NONE
                        || !r.dst.set.contains(family, ip)
                        || dest_matches(r, conf, public_of(conf.vnet))
                        || !warned.insert((nsg, i))
                    {
                        continue;
                    }
                    warnings.push(format!(
                        "networkSecurityGroups[{nsg}].properties.securityRules[{index}]: rule {:?} \
                         ({:?} {}) names {ip_text}, the public IP of {}, as its destination; NSGs \
                         see the traffic after NAT, addressed to the private address{}, so the \
                         rule does not apply to it",
                        &*r.name,
                        r.access,
                        r.priority,
                        conf.id,
                        conf.private_ip
                            .as_deref()
                            .map(|p| format!(" {p}"))
                            .unwrap_or_default(),
                        ip_text = conf.public_ip.as_deref().unwrap_or("?"),
                    ));
                }
            }
        }
    }
}
