//! Remediation planning: from an inventory and a [`RemediationRequest`], the exact NSG rule
//! edits, NIC attachments and JIT policy PUTs, and the engine's verdict on the inventory with
//! them applied. Pure (the browser computes identical previews), deterministic.
//!
//! Rules to edit are never guessed: the engine names them (the deciding Allow rules of each
//! exposure the request fixes); after each round of edits the inventory is evaluated again and
//! the next rules that let the Internet in are edited, until none remains (a few rounds).
use crate::api::{
    JitPolicyChange, NicChange, NsgChange, PortPrediction, RemediationKind, RemediationPlan,
    RemediationRequest, RuleChangeKind, RuleDiff, VmPrediction,
};
use crate::arm::{
    id_key, JitNetworkAccessPolicy, JitPolicyProperties, JitPolicyVm, JitPortRule,
    NetworkSecurityGroup, NsgProperties, SecurityRule, SecurityRuleProperties, SubResource,
};
use crate::eval::engine::id_scope;
use crate::eval::{Access, Model, State};
use crate::inventory::{InputError, Inventory};
use crate::net::Cidr;
use crate::{evaluate, EvalConfig};
use std::collections::BTreeMap;

mod dnat;

/// A plan and the inventory it predicts (JIT deny rules simulated as Defender adds them).
#[derive(Debug, Clone)]
pub struct Planned {
    pub plan: RemediationPlan,
    pub predicted: Inventory,
}

/// `PT3H`, `PT90M`, `P1D`, `PT1H30M` → minutes.
pub fn parse_iso_minutes(s: &str) -> Option<u32> {
    let s = s.trim().to_ascii_uppercase();
    let rest = s.strip_prefix('P')?;
    let (days, time) = match rest.split_once('T') {
        Some((d, t)) => (d, t),
        None => (rest, ""),
    };
    let mut minutes: u64 = 0;
    if !days.is_empty() {
        minutes += days.strip_suffix('D')?.parse::<u64>().ok()? * 1440;
    }
    let mut num = String::new();
    for c in time.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().ok()?;
        num.clear();
        minutes += match c {
            'H' => n * 60,
            'M' => n,
            'S' => n / 60,
            _ => return None,
        };
    }
    if !num.is_empty() || (days.is_empty() && time.is_empty()) {
        return None;
    }
    u32::try_from(minutes).ok()
}

/// Why `s` cannot be a source that restricts access, or `Ok`: an IPv4/IPv6 address or CIDR
/// that is not the whole Internet. The one check of the planner, the JIT endpoints, the settings
/// and the dashboard's forms (which show the message as it is).
pub fn check_source(s: &str) -> Result<(), String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("enter an address or CIDR".to_owned());
    }
    let whole = || format!("{s} is the whole Internet: it would not restrict anything");
    if ["*", "internet", "any"]
        .iter()
        .any(|w| s.eq_ignore_ascii_case(w))
    {
        return Err(whole());
    }
    if let Some((_, prefix)) = s.split_once('/') {
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("/{prefix} is not a prefix length"));
        }
    }
    match Cidr::parse(s) {
        None => Err(format!("{s} is not an IPv4/IPv6 address or CIDR")),
        Some(c) if c.len == 0 => Err(whole()),
        Some(_) => Ok(()),
    }
}

/// Sources that the dashboard's forms and the planner must judge alike: both call
/// [`check_source`], and the tests of each feed it these.
pub mod source_examples {
    pub const GOOD_SOURCES: &[&str] = &[
        "203.0.113.0/24",
        "198.51.100.7",
        "2001:db8::/48",
        " 10.0.0.0/8 ",
        "1.2.3.4/32",
    ];
    pub const BAD_SOURCES: &[&str] = &[
        "",
        "*",
        "Internet",
        "any",
        "0.0.0.0/0",
        "::/0",
        "10.0.0.0/33",
        "10.0.0.0/+8",
        "10.0.0.0/",
        "300.1.1.1",
        "VirtualNetwork",
        "1.2.3.4-1.2.3.9",
    ];
}

/// [`check_source`] holds.
pub fn valid_source(s: &str) -> bool {
    check_source(s).is_ok()
}

fn port_ranges(p: &SecurityRuleProperties) -> Vec<(u16, u16)> {
    let mut out = Vec::new();
    let one = |s: &str| -> Option<(u16, u16)> {
        let s = s.trim();
        if s == "*" {
            return Some((0, 65535));
        }
        match s.split_once('-') {
            Some((a, b)) => Some((a.trim().parse().ok()?, b.trim().parse().ok()?)),
            None => s.parse().ok().map(|v| (v, v)),
        }
    };
    for s in p
        .destination_port_range
        .iter()
        .chain(p.destination_port_ranges.iter())
    {
        if let Some(r) = one(s) {
            out.push(r);
        }
    }
    out
}

fn subtract(ranges: &[(u16, u16)], ports: &[u16]) -> Vec<(u16, u16)> {
    let mut out = Vec::new();
    for &(lo, hi) in ranges {
        let mut start = lo as u32;
        let mut cuts: Vec<u16> = ports
            .iter()
            .copied()
            .filter(|p| *p >= lo && *p <= hi)
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        for c in cuts {
            if (c as u32) > start {
                out.push((start as u16, c - 1));
            }
            start = c as u32 + 1;
        }
        if start <= hi as u32 {
            out.push((start as u16, hi));
        }
    }
    out
}

fn set_ports(p: &mut SecurityRuleProperties, ranges: &[(u16, u16)]) {
    let fmt = |&(a, b): &(u16, u16)| {
        if a == b {
            a.to_string()
        } else if a == 0 && b == 65535 {
            "*".to_string()
        } else {
            format!("{a}-{b}")
        }
    };
    if ranges.len() == 1 {
        p.destination_port_range = Some(fmt(&ranges[0]));
        p.destination_port_ranges = Vec::new();
    } else {
        p.destination_port_range = None;
        p.destination_port_ranges = ranges.iter().map(fmt).collect();
    }
}

fn set_sources(p: &mut SecurityRuleProperties, sources: &[String]) {
    if sources.len() == 1 {
        p.source_address_prefix = Some(sources[0].clone());
        p.source_address_prefixes = Vec::new();
    } else {
        p.source_address_prefix = None;
        p.source_address_prefixes = sources.to_vec();
    }
    p.source_application_security_groups = Vec::new();
}

fn inbound(r: &SecurityRule) -> bool {
    r.properties
        .direction
        .as_deref()
        .is_none_or(|d| d.eq_ignore_ascii_case("inbound"))
}

/// A free inbound priority next to `prio` with no rule in between (so the new rule sits where
/// the old one did), else the nearest free one.
fn adjacent_priority(rules: &[SecurityRule], prio: i64) -> Option<i64> {
    let used: Vec<i64> = rules
        .iter()
        .filter(|r| inbound(r))
        .filter_map(|r| r.properties.priority)
        .collect();
    let free = |p: i64| (100..=4096).contains(&p) && !used.contains(&p);
    if free(prio - 1) {
        return Some(prio - 1);
    }
    if free(prio + 1) {
        return Some(prio + 1);
    }
    (1..4000)
        .flat_map(|d| [prio - d, prio + d])
        .find(|p| free(*p))
}

fn unique_name(rules: &[SecurityRule], base: &str) -> String {
    let taken = |n: &str| {
        rules
            .iter()
            .any(|r| r.name.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(n)))
    };
    if !taken(base) {
        return base.to_string();
    }
    (2..)
        .map(|i| format!("{base}-{i}"))
        .find(|n| !taken(n))
        .unwrap_or_default()
}

fn bad(field: impl Into<String>, msg: impl Into<String>) -> InputError {
    InputError::new(field, msg)
}

/// Plans a remediation. Errors name the offending request field.
pub fn plan(
    inv: &Inventory,
    cfg: &EvalConfig,
    req: &RemediationRequest,
) -> Result<Planned, InputError> {
    if req.vm_ids.is_empty() {
        return Err(bad("vmIds", "select at least one VM"));
    }
    let mut vms = Vec::new();
    for (i, id) in req.vm_ids.iter().enumerate() {
        let vm = inv
            .virtual_machines
            .iter()
            .find(|v| id_key(&v.id) == id_key(id))
            .ok_or_else(|| bad(format!("vmIds[{i}]"), format!("{id:?} is not a known VM")))?;
        vms.push(vm.clone());
    }
    for (i, p) in req.ports.iter().enumerate() {
        if *p == 0 {
            return Err(bad(format!("ports[{i}]"), "0 is not a port (1-65535)"));
        }
    }
    for (i, s) in req.params.sources.iter().enumerate() {
        if let Err(why) = check_source(s) {
            return Err(bad(format!("params.sources[{i}]"), format!("{s:?}: {why}")));
        }
    }
    if req.kind == RemediationKind::RestrictSources && req.params.sources.is_empty() {
        return Err(bad(
            "params.sources",
            "restrictSources needs at least one source CIDR",
        ));
    }
    let max_duration = req
        .params
        .max_request_access_duration
        .clone()
        .unwrap_or_else(|| "PT3H".into());
    if req.kind == RemediationKind::EnableJit {
        match parse_iso_minutes(&max_duration) {
            Some(m) if (5..=1440).contains(&m) => {}
            _ => {
                return Err(bad(
                    "params.maxRequestAccessDuration",
                    format!("{max_duration:?} is not an ISO 8601 duration from PT5M to P1D"),
                ))
            }
        }
    }
    let mgmt: Vec<u16> = cfg.ports().iter().map(|p| p.port).collect();
    let ports: Vec<u16> = if req.ports.is_empty() {
        mgmt.clone()
    } else {
        req.ports.clone()
    };
    let before = evaluate(inv, cfg)?;
    if req.kind == RemediationKind::NarrowDnat {
        return dnat::plan(inv, cfg, req, &vms, &ports, before);
    }
    let mut work = inv.clone();
    let mut warnings = Vec::new();
    let mut nic_changes = Vec::new();
    let mut added_names: Vec<(String, String, String)> = Vec::new(); // (nsg key, rule, why)
                                                                     // enforceRule: per NSG edited, the highest priority number among the rules it keeps (or
                                                                     // narrows) for the ports, and the ports
    let mut enforced: BTreeMap<String, (i64, Vec<u16>)> = BTreeMap::new();
    let narrow = match req.kind {
        RemediationKind::RestrictSources => true,
        RemediationKind::EnforceRule => !req.params.sources.is_empty(),
        _ => false,
    };

    // 1. rule edits (deny / restrict / the permissive rules above a JIT deny)
    if req.kind != RemediationKind::AttachNsg {
        let states: &[State] = match req.kind {
            RemediationKind::EnableJit => &[State::Open],
            _ => &[State::Open, State::Restricted],
        };
        for _round in 0..8 {
            let model = Model::build(&work, cfg)?;
            // (nsg key, rule name) -> ports to take out of it
            let mut edits: BTreeMap<(String, String), Vec<u16>> = BTreeMap::new();
            for vm in &vms {
                let r = model.evaluate_vm(vm);
                for e in r.exposures.iter().filter(|e| ports.contains(&e.port)) {
                    if !states.contains(&e.state) {
                        continue;
                    }
                    let allows: Vec<_> = e
                        .deciding_rules
                        .iter()
                        .filter(|d| d.access == Access::Allow && !d.default)
                        .collect();
                    if allows.is_empty() && _round == 0 {
                        warnings.push(format!(
                            "{}: port {} is {} with no NSG rule to change (no NSG on its path: attach one first)",
                            r.name, e.port, e.state.as_str()
                        ));
                    }
                    for d in allows {
                        let v = edits
                            .entry((id_key(&d.nsg), d.rule.to_string()))
                            .or_default();
                        if !v.contains(&e.port) {
                            v.push(e.port);
                        }
                    }
                }
            }
            let mut changed = false;
            for ((nsg_key, rule_name), cut) in edits {
                let Some(nsg) = work
                    .network_security_groups
                    .iter_mut()
                    .find(|n| id_key(&n.id) == nsg_key)
                else {
                    continue;
                };
                let rules = &mut nsg.properties.security_rules;
                let Some(idx) = rules
                    .iter()
                    .position(|r| r.name.as_deref() == Some(rule_name.as_str()))
                else {
                    continue;
                };
                let old = rules[idx].clone();
                let have = port_ranges(&old.properties);
                let remaining = subtract(&have, &cut);
                let cut_here: Vec<(u16, u16)> = {
                    let mut c: Vec<u16> = cut
                        .iter()
                        .copied()
                        .filter(|p| have.iter().any(|(a, b)| p >= a && p <= b))
                        .collect();
                    c.sort_unstable();
                    c.into_iter().map(|p| (p, p)).collect()
                };
                let mut kept = old.properties.priority.unwrap_or(100);
                match narrow {
                    true => {
                        let src = &req.params.sources;
                        let already = old
                            .properties
                            .source_address_prefix
                            .as_ref()
                            .map(|s| vec![s.clone()])
                            .unwrap_or_default()
                            == *src
                            || old.properties.source_address_prefixes == *src;
                        if already {
                            continue;
                        }
                        if remaining.is_empty() {
                            set_sources(&mut rules[idx].properties, src);
                        } else {
                            set_ports(&mut rules[idx].properties, &remaining);
                            let prio = old.properties.priority.unwrap_or(4096);
                            let Some(p) = adjacent_priority(rules, prio) else {
                                warnings.push(format!(
                                    "{}: no free priority left",
                                    nsg.name.clone().unwrap_or_default()
                                ));
                                continue;
                            };
                            kept = kept.max(p);
                            let name = unique_name(rules, &format!("{rule_name}-restricted"));
                            let mut new = old.clone();
                            new.name = Some(name.clone());
                            new.id = None;
                            new.etag = None;
                            new.properties.priority = Some(p);
                            new.properties.provisioning_state = None;
                            set_ports(&mut new.properties, &cut_here);
                            set_sources(&mut new.properties, src);
                            rules.push(new);
                            added_names.push((
                                nsg_key.clone(),
                                name,
                                format!(
                                    "split from {rule_name}: the management ports, from {} only",
                                    src.join(", ")
                                ),
                            ));
                        }
                    }
                    false => {
                        if remaining.is_empty() {
                            rules.remove(idx);
                        } else {
                            set_ports(&mut rules[idx].properties, &remaining);
                        }
                    }
                }
                if req.kind == RemediationKind::EnforceRule {
                    let e = enforced
                        .entry(nsg_key.clone())
                        .or_insert((i64::MIN, Vec::new()));
                    e.0 = e.0.max(kept);
                    for (p, _) in &cut_here {
                        if !e.1.contains(p) {
                            e.1.push(*p);
                        }
                    }
                }
                changed = true;
            }
            if !changed {
                break;
            }
        }
    }

    // enforceRule: an explicit Deny from the Internet right below the rules kept, so no later
    // rule can open the ports to the Internet again
    for (nsg_key, (after_prio, mut cut)) in enforced {
        let Some(nsg) = work
            .network_security_groups
            .iter_mut()
            .find(|n| id_key(&n.id) == nsg_key)
        else {
            continue;
        };
        cut.sort_unstable();
        let rules = &mut nsg.properties.security_rules;
        let used: Vec<i64> = rules
            .iter()
            .filter(|r| inbound(r))
            .filter_map(|r| r.properties.priority)
            .collect();
        // after every rule kept (or narrowed) for the ports
        let Some(prio) = (after_prio.max(99) + 1..=4096).find(|p| !used.contains(p)) else {
            warnings.push(format!(
                "{}: no free priority left for the Deny from the Internet",
                nsg.name.clone().unwrap_or_default()
            ));
            continue;
        };
        let label = cut.iter().map(u16::to_string).collect::<Vec<_>>().join("-");
        let name = unique_name(rules, &format!("Deny-{label}-From-Internet"));
        let mut deny = rule(
            &name,
            prio,
            "Deny",
            "*",
            &cut.iter().map(u16::to_string).collect::<Vec<_>>(),
            &["Internet".to_string()],
        );
        deny.properties.description = Some(
            "Enforce rule (Portcullis): the management ports only from the sources allowed above"
                .into(),
        );
        rules.push(deny);
        added_names.push((
            nsg_key.clone(),
            name,
            format!(
                "denies {} from the Internet below the rules that allow the legitimate sources",
                cut.iter()
                    .map(|p| format!("port {p}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }

    // 2. attach an NSG with safe rules to internet-facing NICs without one
    if req.kind == RemediationKind::AttachNsg {
        let unprotected: Vec<String> = {
            let model = Model::build(&work, cfg)?;
            vms.iter()
                .flat_map(|vm| model.evaluate_vm(vm).ip_configurations)
                .filter(|c| c.has_public_ip && c.subnet_nsg.is_none() && c.nic_nsg.is_none())
                .map(|c| id_key(c.id.split("/ipConfigurations/").next().unwrap_or(&c.id)))
                .collect()
        };
        let mut new_nsgs = Vec::new();
        {
            for nic in work
                .network_interfaces
                .iter_mut()
                .filter(|n| unprotected.contains(&id_key(&n.id)))
            {
                if nic.properties.network_security_group.is_some() {
                    continue;
                }
                let nic_name = nic
                    .name
                    .clone()
                    .unwrap_or_else(|| nic.id.rsplit('/').next().unwrap_or("nic").to_string());
                let (sub, rg) = id_scope(&nic.id);
                let nsg_name = format!("{nic_name}-nsg");
                let nsg_id = format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/networkSecurityGroups/{nsg_name}");
                let mut rules = Vec::new();
                for (i, p) in req.params.allow_ports.iter().enumerate() {
                    rules.push(rule(
                        &format!("Allow-{p}-Internet"),
                        100 + 10 * i as i64,
                        "Allow",
                        "Tcp",
                        &[p.to_string()],
                        &["Internet".to_string()],
                    ));
                }
                if !req.params.sources.is_empty() {
                    rules.push(rule(
                        "Allow-Management-Restricted",
                        200,
                        "Allow",
                        "Tcp",
                        &ports.iter().map(u16::to_string).collect::<Vec<_>>(),
                        &req.params.sources,
                    ));
                }
                new_nsgs.push(NetworkSecurityGroup {
                    id: nsg_id.clone(),
                    name: Some(nsg_name),
                    location: nic.location.clone(),
                    kind: Some("Microsoft.Network/networkSecurityGroups".into()),
                    properties: NsgProperties {
                        security_rules: rules,
                        ..Default::default()
                    },
                    ..Default::default()
                });
                nic_changes.push(NicChange {
                    nic_id: nic.id.clone(),
                    nic_name,
                    etag: nic.etag.clone(),
                    nsg_before: None,
                    nsg_after: nsg_id.clone(),
                });
                nic.properties.network_security_group = Some(SubResource::new(nsg_id));
            }
        }
        work.network_security_groups.extend(new_nsgs);
    }

    // the NSG writes
    let mut nsg_changes = Vec::new();
    for after in &work.network_security_groups {
        let key = id_key(&after.id);
        let orig = inv
            .network_security_groups
            .iter()
            .find(|n| id_key(&n.id) == key);
        let before_rules = orig
            .map(|n| n.properties.security_rules.clone())
            .unwrap_or_default();
        if orig.is_some() && before_rules == after.properties.security_rules {
            continue;
        }
        let mut diff = Vec::new();
        for b in &before_rules {
            match after
                .properties
                .security_rules
                .iter()
                .find(|a| a.name == b.name)
            {
                None => diff.push(RuleDiff {
                    change: RuleChangeKind::Removed,
                    rule: b.name.clone().unwrap_or_default(),
                    summary: "removed: it let the Internet reach management ports".into(),
                }),
                Some(a) if a != b => diff.push(RuleDiff {
                    change: RuleChangeKind::Changed,
                    rule: b.name.clone().unwrap_or_default(),
                    summary: describe_change(b, a),
                }),
                _ => {}
            }
        }
        for a in &after.properties.security_rules {
            if !before_rules.iter().any(|b| b.name == a.name) {
                let name = a.name.clone().unwrap_or_default();
                let why = added_names
                    .iter()
                    .find(|(n, r, _)| *n == key && *r == name)
                    .map(|x| x.2.clone())
                    .unwrap_or_else(|| "added".into());
                diff.push(RuleDiff {
                    change: RuleChangeKind::Added,
                    rule: name,
                    summary: why,
                });
            }
        }
        nsg_changes.push(NsgChange {
            nsg_id: after.id.clone(),
            nsg_name: after.name.clone().unwrap_or_default(),
            etag: orig.and_then(|n| n.etag.clone()),
            before: before_rules,
            after: after.properties.security_rules.clone(),
            diff,
            create: orig.is_none(),
        });
    }

    // 3. JIT policies (and the deny rules Defender will add, simulated for the prediction)
    let mut predicted = work.clone();
    let mut jit_changes: Vec<JitPolicyChange> = Vec::new();
    if req.kind == RemediationKind::EnableJit {
        let model = Model::build(&work, cfg)?;
        for vm in &vms {
            let r = model.evaluate_vm(vm);
            let Some(target_nsg) = r
                .ip_configurations
                .iter()
                .find_map(|c| c.nic_nsg.clone().or(c.subnet_nsg.clone()))
            else {
                warnings.push(format!(
                    "{}: JIT needs an NSG on the NIC or subnet (attach one first)",
                    r.name
                ));
                continue;
            };
            let private_ip = r
                .ip_configurations
                .iter()
                .find_map(|c| c.private_ip.clone());
            let wanted: Vec<u16> = if req.ports.is_empty() {
                let live: Vec<u16> = r
                    .exposures
                    .iter()
                    .filter(|e| e.state != State::Closed)
                    .map(|e| e.port)
                    .collect();
                if live.is_empty() {
                    mgmt.clone()
                } else {
                    live
                }
            } else {
                ports.clone()
            };
            // the policy that already covers the VM, else `default` in its resource group
            let existing = predicted.jit_network_access_policies.iter().position(|p| {
                p.properties
                    .virtual_machines
                    .iter()
                    .any(|v| id_key(&v.id) == id_key(&vm.id))
            });
            let policy_id = match existing {
                Some(i) => predicted.jit_network_access_policies[i].id.clone(),
                None => {
                    let loc = vm.location.clone().unwrap_or_else(|| "westeurope".into());
                    format!("/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Security/locations/{loc}/jitNetworkAccessPolicies/default", r.subscription_id, r.resource_group)
                }
            };
            let idx = match predicted
                .jit_network_access_policies
                .iter()
                .position(|p| id_key(&p.id) == id_key(&policy_id))
            {
                Some(i) => i,
                None => {
                    predicted
                        .jit_network_access_policies
                        .push(JitNetworkAccessPolicy {
                            id: policy_id.clone(),
                            name: Some("default".into()),
                            kind_type: Some(
                                "Microsoft.Security/locations/jitNetworkAccessPolicies".into(),
                            ),
                            kind: Some("Basic".into()),
                            location: vm.location.clone(),
                            properties: JitPolicyProperties {
                                provisioning_state: Some("Succeeded".into()),
                                ..Default::default()
                            },
                        });
                    predicted.jit_network_access_policies.len() - 1
                }
            };
            let before_policy = inv
                .jit_network_access_policies
                .iter()
                .find(|p| id_key(&p.id) == id_key(&policy_id))
                .cloned();
            let pol = &mut predicted.jit_network_access_policies[idx];
            let entry = match pol
                .properties
                .virtual_machines
                .iter()
                .position(|v| id_key(&v.id) == id_key(&vm.id))
            {
                Some(i) => i,
                None => {
                    pol.properties.virtual_machines.push(JitPolicyVm {
                        id: vm.id.clone(),
                        ..Default::default()
                    });
                    pol.properties.virtual_machines.len() - 1
                }
            };
            let mut new_ports = Vec::new();
            for p in &wanted {
                let e = &mut pol.properties.virtual_machines[entry];
                if e.ports.iter().any(|x| x.number == i64::from(*p)) {
                    continue;
                }
                e.ports.push(JitPortRule {
                    number: i64::from(*p),
                    protocol: Some("*".into()),
                    allowed_source_address_prefix: Some("*".into()),
                    max_request_access_duration: Some(max_duration.clone()),
                    ..Default::default()
                });
                new_ports.push(*p);
            }
            if new_ports.is_empty() {
                continue;
            }
            pol.properties.provisioning_state = Some("Succeeded".into());
            let after_policy = pol.clone();
            match jit_changes
                .iter_mut()
                .find(|c| id_key(&c.policy_id) == id_key(&policy_id))
            {
                Some(c) => c.after = after_policy,
                None => jit_changes.push(JitPolicyChange {
                    policy_id: policy_id.clone(),
                    before: before_policy,
                    after: after_policy,
                }),
            }
            // Defender's deny rules: one per port, at the bottom of the custom range
            if let Some(nsg) = predicted
                .network_security_groups
                .iter_mut()
                .find(|n| id_key(&n.id) == id_key(&target_nsg))
            {
                for p in new_ports {
                    let used: Vec<i64> = nsg
                        .properties
                        .security_rules
                        .iter()
                        .filter(|r| inbound(r))
                        .filter_map(|r| r.properties.priority)
                        .collect();
                    let Some(prio) = (100..=4096).rev().find(|x| !used.contains(x)) else {
                        break;
                    };
                    let mut deny = rule(
                        &format!("SecurityCenter-JITRule_predicted_{p}"),
                        prio,
                        "Deny",
                        "*",
                        &[p.to_string()],
                        &["*".to_string()],
                    );
                    deny.properties.destination_address_prefix = private_ip
                        .as_deref()
                        .map(str::to_string)
                        .or(Some("*".into()));
                    deny.properties.description = Some(format!(
                        "ASC JIT Network Access rule for policy 'default' of VM '{}'.",
                        r.name
                    ));
                    nsg.properties.security_rules.push(deny);
                }
            }
        }
    }

    let after = evaluate(&predicted, cfg)?;
    let predictions = predictions(&before, &after, &vms);
    let noop = nsg_changes.is_empty() && jit_changes.is_empty() && nic_changes.is_empty();
    Ok(Planned {
        plan: RemediationPlan {
            request: req.clone(),
            nsg_changes,
            nic_changes,
            jit_policies: jit_changes,
            firewall_changes: Vec::new(),
            before: before.control,
            after: after.control,
            vms: predictions,
            noop,
            warnings,
        },
        predicted,
    })
}

/// Per VM selected or changed by a plan: its status and ports before and after.
fn predictions(
    before: &crate::Report,
    after: &crate::Report,
    vms: &[crate::arm::VirtualMachine],
) -> Vec<VmPrediction> {
    let mut predictions = Vec::new();
    for a in &after.vms {
        let Some(b) = before.vms.iter().find(|b| id_key(&b.id) == id_key(&a.id)) else {
            continue;
        };
        let selected = vms.iter().any(|v| id_key(&v.id) == id_key(&a.id));
        let port_preds: Vec<PortPrediction> = b
            .exposures
            .iter()
            .filter_map(|be| {
                let ae = a
                    .exposures
                    .iter()
                    .find(|x| x.port == be.port && x.protocol == be.protocol)?;
                Some(PortPrediction {
                    port: be.port,
                    before: be.state,
                    after: ae.state,
                    reachable_before: be.reachable,
                    reachable_after: ae.reachable,
                })
            })
            .collect();
        let moved = b.status != a.status || port_preds.iter().any(|p| p.before != p.after);
        if selected || moved {
            predictions.push(VmPrediction {
                id: a.id.clone(),
                name: a.name.clone(),
                before: b.status,
                after: a.status,
                before_recommendations: b.recommendations,
                after_recommendations: a.recommendations,
                ports: port_preds,
            });
        }
    }
    predictions
}

fn rule(
    name: &str,
    prio: i64,
    access: &str,
    proto: &str,
    ports: &[String],
    sources: &[String],
) -> SecurityRule {
    let mut p = SecurityRuleProperties {
        protocol: Some(proto.into()),
        source_port_range: Some("*".into()),
        destination_address_prefix: Some("*".into()),
        access: Some(access.into()),
        priority: Some(prio),
        direction: Some("Inbound".into()),
        ..Default::default()
    };
    if ports.len() == 1 {
        p.destination_port_range = Some(ports[0].clone());
    } else {
        p.destination_port_ranges = ports.to_vec();
    }
    set_sources(&mut p, sources);
    SecurityRule {
        name: Some(name.into()),
        properties: p,
        ..Default::default()
    }
}

fn describe_change(b: &SecurityRule, a: &SecurityRule) -> String {
    let ports = |r: &SecurityRule| {
        r.properties
            .destination_port_range
            .iter()
            .chain(r.properties.destination_port_ranges.iter())
            .cloned()
            .collect::<Vec<_>>()
            .join(",")
    };
    let srcs = |r: &SecurityRule| {
        r.properties
            .source_address_prefix
            .iter()
            .chain(r.properties.source_address_prefixes.iter())
            .cloned()
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut parts = Vec::new();
    if ports(b) != ports(a) {
        parts.push(format!("ports {} → {}", ports(b), ports(a)));
    }
    if srcs(b) != srcs(a) {
        parts.push(format!("sources {} → {}", srcs(b), srcs(a)));
    }
    if parts.is_empty() {
        "changed".into()
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {

    use super::source_examples::{BAD_SOURCES, GOOD_SOURCES};

    #[test]
    fn the_planner_and_the_forms_judge_sources_alike() {
        for s in GOOD_SOURCES {
            assert!(check_source(s).is_ok(), "{s:?}: {:?}", check_source(s));
        }
        for s in BAD_SOURCES {
            assert!(check_source(s).is_err(), "{s:?} should be refused");
        }
        // the planner refuses exactly what the form refuses
        let inv = crate::build::synthetic_fleet(10, 1);
        let vm = inv.virtual_machines[0].id.clone();
        for (s, good) in GOOD_SOURCES
            .iter()
            .map(|s| (s, true))
            .chain(BAD_SOURCES.iter().map(|s| (s, false)))
        {
            let r = RemediationRequest {
                kind: RemediationKind::RestrictSources,
                vm_ids: vec![vm.clone()],
                ports: vec![],
                params: crate::api::RemediationParams {
                    sources: vec![s.to_string()],
                    ..Default::default()
                },
            };
            let planned = plan(&inv, &EvalConfig::default(), &r);
            assert_eq!(planned.is_ok(), good, "{s:?}: {:?}", planned.err());
        }
    }
    use super::*;
    use crate::api::RemediationParams;
    use crate::build::{InventoryBuilder, Rule, VmSpec};
    use crate::eval::Status;

    fn fleet() -> (Inventory, String, String) {
        let mut b = InventoryBuilder::new("s1");
        let subnets = b.vnet(
            "rg",
            "vnet",
            &["10.0.0.0/16"],
            &[("default", "10.0.0.0/24", None)],
        );
        let nsg = b.nsg(
            "rg",
            "nsg1",
            vec![
                Rule::allow("Web-And-SSH", 300)
                    .ports(&["22", "443"])
                    .from("*"),
                Rule::allow("RDP-Old", 1000).port("3389").from("*"),
            ],
        );
        let pip = b.public_ip("rg", "pip1", "20.1.2.3");
        let vm = b.vm(&VmSpec {
            name: "vm1",
            resource_group: "rg",
            os: "Linux",
            subnet_id: &subnets[0],
            private_ip: "10.0.0.4",
            public_ip: Some(&pip),
            nic_nsg_id: Some(&nsg),
            asg_ids: &[],
        });
        (b.build(), vm, nsg)
    }

    fn req(kind: RemediationKind, vm: &str) -> RemediationRequest {
        RemediationRequest {
            kind,
            vm_ids: vec![vm.to_string()],
            ports: vec![],
            params: RemediationParams::default(),
        }
    }

    #[test]
    fn deny_splits_multi_port_rules_and_keeps_other_ports() {
        let (inv, vm, _) = fleet();
        let p = plan(
            &inv,
            &EvalConfig::default(),
            &req(RemediationKind::DenyPorts, &vm),
        )
        .unwrap();
        assert_eq!(p.plan.before.unhealthy, 1);
        assert_eq!(p.plan.after.healthy, 1, "{:?}", p.plan.vms);
        let after = &p.plan.nsg_changes[0].after;
        let web = after
            .iter()
            .find(|r| r.name.as_deref() == Some("Web-And-SSH"))
            .unwrap();
        assert_eq!(
            web.properties.destination_port_range.as_deref(),
            Some("443")
        );
        assert!(after.iter().all(|r| r.name.as_deref() != Some("RDP-Old")));
        // idempotent: planning on the predicted inventory changes nothing
        let again = plan(
            &p.predicted,
            &EvalConfig::default(),
            &req(RemediationKind::DenyPorts, &vm),
        )
        .unwrap();
        assert!(again.plan.noop, "{:?}", again.plan.nsg_changes);
    }

    #[test]
    fn restrict_narrows_sources_and_enable_jit_removes_rules_above_the_deny() {
        let (inv, vm, _) = fleet();
        let mut r = req(RemediationKind::RestrictSources, &vm);
        r.params.sources = vec!["203.0.113.0/24".into()];
        let p = plan(&inv, &EvalConfig::default(), &r).unwrap();
        let after = &p.plan.nsg_changes[0].after;
        assert!(after
            .iter()
            .any(|x| x.name.as_deref() == Some("Web-And-SSH-restricted")));
        let ports: Vec<_> = p.plan.vms[0]
            .ports
            .iter()
            .map(|x| (x.port, x.after))
            .collect();
        assert!(
            ports.contains(&(22, State::Restricted)) && ports.contains(&(3389, State::Restricted)),
            "{ports:?}"
        );

        let p = plan(
            &inv,
            &EvalConfig::default(),
            &req(RemediationKind::EnableJit, &vm),
        )
        .unwrap();
        assert_eq!(p.plan.jit_policies.len(), 1);
        assert_eq!(p.plan.vms[0].after, Status::Healthy);
        assert_eq!(
            p.plan.vms[0]
                .after_recommendations
                .management_ports_jit_protected,
            Status::Healthy
        );
    }

    fn source_set(inv: &Inventory, vm: &str, port: u16) -> (State, Vec<String>) {
        let r = evaluate(inv, &EvalConfig::default()).unwrap();
        let v = r.vms.iter().find(|v| v.id == vm).unwrap();
        let e = v.exposures.iter().find(|e| e.port == port).unwrap();
        (e.state, e.allowed_public_sources.to_vec())
    }

    #[test]
    fn enforce_rule_keeps_the_legitimate_sources_and_denies_the_internet() {
        let (inv, vm, _) = fleet();
        let mut r = req(RemediationKind::EnforceRule, &vm);
        r.ports = vec![3389];
        r.params.sources = vec!["203.0.113.10".into(), "203.0.113.24/32".into()];
        let p = plan(&inv, &EvalConfig::default(), &r).unwrap();
        let after = &p.plan.nsg_changes[0].after;
        let rdp = after
            .iter()
            .find(|x| x.name.as_deref() == Some("RDP-Old"))
            .unwrap();
        assert_eq!(rdp.properties.source_address_prefixes.len(), 2);
        let deny = after
            .iter()
            .find(|x| x.name.as_deref() == Some("Deny-3389-From-Internet"))
            .expect("an explicit deny from the Internet");
        assert_eq!(deny.properties.access.as_deref(), Some("Deny"));
        assert_eq!(
            deny.properties.source_address_prefix.as_deref(),
            Some("Internet")
        );
        assert!(deny.properties.priority.unwrap() > 1000, "below RDP-Old");
        // the legitimate sources still reach 3389, nobody else does; 22 is left as it was
        let (state, sources) = source_set(&p.predicted, &vm, 3389);
        assert_eq!(state, State::Restricted);
        assert_eq!(sources, vec!["203.0.113.10/32", "203.0.113.24/32"]);
        assert_eq!(source_set(&p.predicted, &vm, 22).0, State::Open);
        let diff: Vec<_> = p.plan.nsg_changes[0]
            .diff
            .iter()
            .map(|d| (d.change, d.rule.as_str()))
            .collect();
        assert!(
            diff.contains(&(RuleChangeKind::Changed, "RDP-Old")),
            "{diff:?}"
        );
        assert!(diff.contains(&(RuleChangeKind::Added, "Deny-3389-From-Internet")));
        // idempotent
        let again = plan(&p.predicted, &EvalConfig::default(), &r).unwrap();
        assert!(again.plan.noop, "{:?}", again.plan.nsg_changes);
    }

    #[test]
    fn enforce_rule_splits_multi_port_rules_and_denies_without_sources() {
        let (inv, vm, _) = fleet();
        let mut r = req(RemediationKind::EnforceRule, &vm);
        r.ports = vec![22];
        r.params.sources = vec!["198.51.100.7".into()];
        let p = plan(&inv, &EvalConfig::default(), &r).unwrap();
        let after = &p.plan.nsg_changes[0].after;
        let split = after
            .iter()
            .find(|x| x.name.as_deref() == Some("Web-And-SSH-restricted"))
            .unwrap();
        let deny = after
            .iter()
            .find(|x| x.name.as_deref() == Some("Deny-22-From-Internet"))
            .unwrap();
        assert!(deny.properties.priority > split.properties.priority);
        assert_eq!(source_set(&p.predicted, &vm, 22).1, vec!["198.51.100.7/32"]);
        // 443 still open to everyone
        let web = after
            .iter()
            .find(|x| x.name.as_deref() == Some("Web-And-SSH"))
            .unwrap();
        assert_eq!(
            web.properties.destination_port_range.as_deref(),
            Some("443")
        );

        // no legitimate source: the port is denied outright
        r.params.sources.clear();
        let p = plan(&inv, &EvalConfig::default(), &r).unwrap();
        assert_eq!(source_set(&p.predicted, &vm, 22).0, State::Private);
        assert!(p.plan.nsg_changes[0]
            .after
            .iter()
            .any(|x| x.name.as_deref() == Some("Deny-22-From-Internet")));
    }

    #[test]
    fn bad_inputs_name_their_field() {
        let (inv, vm, _) = fleet();
        let mut r = req(RemediationKind::RestrictSources, &vm);
        r.params.sources = vec!["10.0.0.0/33".into()];
        assert_eq!(
            plan(&inv, &EvalConfig::default(), &r).unwrap_err().path,
            "params.sources[0]"
        );
        let r = req(RemediationKind::DenyPorts, "/subscriptions/x/nope");
        assert_eq!(
            plan(&inv, &EvalConfig::default(), &r).unwrap_err().path,
            "vmIds[0]"
        );
        let mut r = req(RemediationKind::EnableJit, &vm);
        r.params.max_request_access_duration = Some("PT2M".into());
        assert_eq!(
            plan(&inv, &EvalConfig::default(), &r).unwrap_err().path,
            "params.maxRequestAccessDuration"
        );
        assert_eq!(parse_iso_minutes("PT3H"), Some(180));
        assert_eq!(parse_iso_minutes("P1D"), Some(1440));
        assert_eq!(parse_iso_minutes("PT1H30M"), Some(90));
        assert_eq!(parse_iso_minutes("3h"), None);
    }
}
