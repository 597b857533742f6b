//! Explaining a VM's verdict: the full report of each management port (state, sources,
//! deciding rules, a reason in words, every path from the Internet with its own verdict, JIT),
//! made from the cached evaluations of [`Model`]. The verdict alone (statuses, the control's
//! counts) is `engine.rs`'s.
use super::*;

impl<'a> Model<'a> {
    /// `index`: the VM's index in the inventory, when it is the inventory's own (its network
    /// profile is then resolved already).
    pub(super) fn evaluate_vm_full(
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

    /// The exposure of one management port (without its managed access) and, when
    /// `want_allowed`, every source allowed to it.
    pub(super) fn exposure(
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
    pub(super) fn port_paths(
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
    pub(super) fn managed_access(
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
    pub(super) fn public_frontend(&self, c: &IpConf<'_>, port: PortSpec) -> Endpoint {
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
    pub(super) fn jit_for(&self, vm_key: &Ci<'_>) -> Vec<(bool, Vec<(i64, Protocol)>)> {
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
        Via::Paths => " through a load balancer, firewall or application gateway (see paths)",
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
