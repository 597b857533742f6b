//! Phase 1: the rule edits of `denyPorts`, `restrictSources`, `enforceRule` and `enableJit`
//! (the permissive rules above a JIT deny), round by round until the engine names no rule
//! that lets the Internet in; then `enforceRule`'s explicit Deny from the Internet.
use super::rules::{
    adjacent_priority, port_ranges, rule, set_ports, set_sources, subtract, unique_name,
    used_priorities,
};
use super::{Added, Checked, Draft};
use crate::api::RemediationKind;
use crate::arm::{id_key, NetworkSecurityGroup, SecurityRule};
use crate::eval::report::PathKind;
use crate::eval::{Access, Model, State};
use crate::inventory::InputError;
use crate::EvalConfig;
use std::collections::BTreeMap;

/// enforceRule: per NSG edited, the highest priority number among the rules it keeps (or
/// narrows) for the ports, and the ports.
pub(super) type Enforced = BTreeMap<String, (i64, Vec<u16>)>;

/// (nsg key, rule name) -> the ports to take out of the rule.
type Edits = BTreeMap<(String, String), Vec<u16>>;

/// One rule to edit: where it is, and which of its ports stay and go.
struct RuleEdit<'a> {
    nsg_key: &'a str,
    rule_name: &'a str,
    idx: usize,
    old: SecurityRule,
    /// The rule's ports without the ones cut.
    remaining: Vec<(u16, u16)>,
    /// The ports cut that the rule has, one range per port, ascending.
    cut_here: Vec<(u16, u16)>,
}

/// Edits the rules that let the Internet reach the request's ports (not for `attachNsg`).
pub(super) fn edit_rules(
    draft: &mut Draft,
    cfg: &EvalConfig,
    ask: &Checked<'_>,
) -> Result<Enforced, InputError> {
    let mut enforced = Enforced::new();
    if ask.req.kind == RemediationKind::AttachNsg {
        return Ok(enforced);
    }
    let states: &[State] = match ask.req.kind {
        RemediationKind::EnableJit => &[State::Open],
        _ => &[State::Open, State::Restricted],
    };
    for round in 0..8 {
        let model = Model::build(&draft.work, cfg)?;
        let edits = rules_to_edit(&model, ask, states, round == 0, &mut draft.warnings);
        let mut changed = false;
        for ((nsg_key, rule_name), cut) in edits {
            changed |= edit_rule(draft, ask, &nsg_key, &rule_name, &cut, &mut enforced);
        }
        if !changed {
            break;
        }
    }
    Ok(enforced)
}

/// The non-default Allow rules deciding an exposure of the selected VMs on the request's ports
/// in one of `states`, with the ports to cut from each. On the first round, a port with no such
/// rule is a warning (no NSG on its path).
fn rules_to_edit(
    model: &Model<'_>,
    ask: &Checked<'_>,
    states: &[State],
    first_round: bool,
    warnings: &mut Vec<String>,
) -> Edits {
    let mut edits = Edits::new();
    for vm in &ask.vms {
        let r = model.evaluate_vm(vm);
        for e in r.exposures.iter().filter(|e| ask.ports.contains(&e.port)) {
            if !states.contains(&e.state) {
                continue;
            }
            let allows: Vec<_> = e
                .deciding_rules
                .iter()
                .filter(|d| d.access == Access::Allow && !d.default)
                .collect();
            if allows.is_empty() && first_round {
                // a firewall DNAT or application gateway path: the NSGs see the firewall's or
                // the gateway's address, not the client's. JIT's Deny from every source comes
                // ahead of the default rule that admits a gateway's subnet: the preview's
                // predicted state then shows the path closed, with no warning
                let jit = ask.req.kind == RemediationKind::EnableJit;
                let dnat = e.paths.iter().find(|p| {
                    matches!(
                        p.kind,
                        PathKind::FirewallDnat | PathKind::ApplicationGateway
                    ) && !p.allowed_public_sources.is_empty()
                });
                if jit && dnat.is_some_and(|p| p.kind == PathKind::ApplicationGateway) {
                    continue;
                }
                warnings.push(match dnat {
                    Some(p) if p.kind == PathKind::ApplicationGateway => format!(
                        "{}: port {} is {} through {} at {}: no rule of the VM's NSGs for Internet sources can close it, as the gateway replaces the client's address with its own; remove the routing rule, restrict the listener's sources in the NSG of the gateway's subnet, or deny the gateway's subnet to port {} in the VM's NSG",
                        r.name,
                        e.port,
                        e.state.as_str(),
                        p.label.as_deref().unwrap_or("an application gateway"),
                        p.frontend,
                        e.port
                    ),
                    Some(p) => format!(
                        "{}: port {} is {} through {} at {}: no NSG rule can close it, as the firewall replaces the client's address with its own; narrow or remove the DNAT rule instead (narrowDnat)",
                        r.name,
                        e.port,
                        e.state.as_str(),
                        p.label.as_deref().unwrap_or("a firewall DNAT rule"),
                        p.frontend
                    ),
                    None => format!(
                        "{}: port {} is {} with no NSG rule to change (no NSG on its path: attach one first)",
                        r.name, e.port, e.state.as_str()
                    ),
                });
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
    edits
}

/// Takes `cut` out of one rule: removed or narrowed to the request's sources (split when it
/// has other ports too). Whether the rule changed.
fn edit_rule(
    draft: &mut Draft,
    ask: &Checked<'_>,
    nsg_key: &str,
    rule_name: &str,
    cut: &[u16],
    enforced: &mut Enforced,
) -> bool {
    let Draft {
        work,
        warnings,
        added,
        ..
    } = draft;
    let Some(nsg) = work
        .network_security_groups
        .iter_mut()
        .find(|n| id_key(&n.id) == nsg_key)
    else {
        return false;
    };
    let rules = &mut nsg.props_mut().security_rules;
    let Some(idx) = rules
        .iter()
        .position(|r| r.name.as_deref() == Some(rule_name))
    else {
        return false;
    };
    let old = rules[idx].clone();
    let have = port_ranges(&old.properties);
    let remaining = subtract(&have, cut);
    let cut_here: Vec<(u16, u16)> = {
        let mut c: Vec<u16> = cut
            .iter()
            .copied()
            .filter(|p| have.iter().any(|(a, b)| p >= a && p <= b))
            .collect();
        c.sort_unstable();
        c.into_iter().map(|p| (p, p)).collect()
    };
    let edit = RuleEdit {
        nsg_key,
        rule_name,
        idx,
        old,
        remaining,
        cut_here,
    };
    let kept = if ask.narrow() {
        match narrow_rule(nsg, &edit, &ask.req.params.sources, warnings, added) {
            Some(kept) => kept,
            None => return false,
        }
    } else {
        if edit.remaining.is_empty() {
            rules.remove(idx);
        } else {
            set_ports(&mut rules[idx].properties, &edit.remaining);
        }
        edit.old.properties.priority.unwrap_or(100)
    };
    if ask.req.kind == RemediationKind::EnforceRule {
        let e = enforced
            .entry(nsg_key.to_owned())
            .or_insert((i64::MIN, Vec::new()));
        e.0 = e.0.max(kept);
        for (p, _) in &edit.cut_here {
            if !e.1.contains(p) {
                e.1.push(*p);
            }
        }
    }
    true
}

/// Narrows the rule to `src`: in place when the cut ports are all it has, else split into the
/// other ports (the rule, kept) and the cut ones from `src` only (a new rule next to it). The
/// highest priority number among the rules now carrying the ports, or `None` when the rule is
/// left as it is (already narrowed; or no free priority for the split, a warning, with the
/// rule's other ports already set).
fn narrow_rule(
    nsg: &mut NetworkSecurityGroup,
    edit: &RuleEdit<'_>,
    src: &[String],
    warnings: &mut Vec<String>,
    added: &mut Vec<Added>,
) -> Option<i64> {
    let old = &edit.old;
    let kept = old.properties.priority.unwrap_or(100);
    let already = old
        .properties
        .source_address_prefix
        .as_ref()
        .map(|s| vec![s.clone()])
        .unwrap_or_default()
        == *src
        || old.properties.source_address_prefixes == *src;
    if already {
        return None;
    }
    let rules = &mut nsg.props_mut().security_rules;
    if edit.remaining.is_empty() {
        set_sources(&mut rules[edit.idx].properties, src);
        return Some(kept);
    }
    set_ports(&mut rules[edit.idx].properties, &edit.remaining);
    let prio = old.properties.priority.unwrap_or(4096);
    let Some(p) = adjacent_priority(rules, prio) else {
        warnings.push(format!(
            "{}: no free priority left",
            nsg.name.clone().unwrap_or_default()
        ));
        return None;
    };
    let name = unique_name(rules, &format!("{}-restricted", edit.rule_name));
    let mut new = old.clone();
    new.name = Some(name.clone());
    new.id = None;
    new.etag = None;
    new.properties.priority = Some(p);
    new.properties.provisioning_state = None;
    set_ports(&mut new.properties, &edit.cut_here);
    set_sources(&mut new.properties, src);
    rules.push(new);
    added.push(Added {
        nsg_key: edit.nsg_key.to_owned(),
        rule: name,
        why: format!(
            "split from {}: the management ports, from {} only",
            edit.rule_name,
            src.join(", ")
        ),
    });
    Some(kept.max(p))
}

/// enforceRule: an explicit Deny from the Internet right below the rules kept, so no later
/// rule can open the ports to the Internet again.
pub(super) fn deny_below_kept(draft: &mut Draft, enforced: Enforced) {
    for (nsg_key, (after_prio, mut cut)) in enforced {
        let Some(nsg) = draft
            .work
            .network_security_groups
            .iter_mut()
            .find(|n| id_key(&n.id) == nsg_key)
        else {
            continue;
        };
        cut.sort_unstable();
        let rules = &mut nsg.props_mut().security_rules;
        let used = used_priorities(rules);
        // after every rule kept (or narrowed) for the ports
        let Some(prio) = (after_prio.max(99) + 1..=4096).find(|p| !used.contains(p)) else {
            draft.warnings.push(format!(
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
        draft.added.push(Added {
            nsg_key: nsg_key.clone(),
            rule: name,
            why: format!(
                "denies {} from the Internet below the rules that allow the legitimate sources",
                cut.iter()
                    .map(|p| format!("port {p}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
}
