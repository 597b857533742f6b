//! `narrowDnat`: the Azure Firewall DNAT rules that forward to the selected VMs' management
//! ports, narrowed to `params.sources` (or removed when there is none). A DNAT path rewrites the
//! client's address to the firewall's own, so no NSG change can close it; the rule itself must
//! change. One conditional write (If-Match) per firewall or rule collection group.
use super::{predictions, Planned};
use crate::api::{FirewallChange, RemediationPlan, RemediationRequest, RuleChangeKind, RuleDiff};
use crate::arm::{id_key, NatRule, VirtualMachine};
use crate::inventory::{InputError, Inventory};
use crate::net::addr::parse_ip;
use crate::{evaluate, EvalConfig, Report};

/// The private addresses of the VMs' ip configurations (by their NICs).
fn private_addresses(inv: &Inventory, vms: &[VirtualMachine]) -> Vec<u128> {
    let mut out = Vec::new();
    for vm in vms {
        let listed: Vec<String> = vm
            .properties
            .network_profile
            .network_interfaces
            .iter()
            .filter_map(|r| r.id.as_deref().map(id_key))
            .collect();
        for nic in &inv.network_interfaces {
            let back = nic
                .properties
                .virtual_machine
                .as_ref()
                .and_then(|r| r.id.as_deref())
                .is_some_and(|v| id_key(v) == id_key(&vm.id));
            if !back && !listed.contains(&id_key(&nic.id)) {
                continue;
            }
            for c in &nic.properties.ip_configurations {
                if let Some((_, ip)) = c
                    .properties
                    .private_ip_address
                    .as_deref()
                    .and_then(parse_ip)
                {
                    out.push(ip);
                }
            }
        }
    }
    out
}

/// Does the DNAT rule forward (TCP) to one of `addrs` on one of `ports`?
fn forwards_to(r: &NatRule, addrs: &[u128], ports: &[u16]) -> bool {
    let to = r
        .translated_address
        .as_deref()
        .and_then(|a| parse_ip(a.trim()))
        .is_some_and(|(_, ip)| addrs.contains(&ip));
    let port = r
        .translated_port
        .as_deref()
        .and_then(|p| p.trim().parse::<u16>().ok())
        .is_some_and(|p| ports.contains(&p));
    let tcp = r.ip_protocols.is_empty() && r.protocols.is_empty()
        || r.ip_protocols
            .iter()
            .map(String::as_str)
            .chain(r.protocols.iter().filter_map(|v| v.as_str()))
            .any(|p| p.eq_ignore_ascii_case("tcp") || p.eq_ignore_ascii_case("any"));
    to && port && tcp
}

/// Narrows (or removes) the matching rules of one list; returns what changed.
fn edit(
    rules: &mut Vec<NatRule>,
    addrs: &[u128],
    ports: &[u16],
    sources: &[String],
    home: &str,
) -> Vec<RuleDiff> {
    let mut diff = Vec::new();
    rules.retain_mut(|r| {
        if !forwards_to(r, addrs, ports) {
            return true;
        }
        let name = r.name.clone().unwrap_or_default();
        let to = format!(
            "{}:{}",
            r.translated_address.as_deref().unwrap_or("?"),
            r.translated_port.as_deref().unwrap_or("?")
        );
        // the addresses, then the IP groups by name
        let was = r
            .source_addresses
            .iter()
            .cloned()
            .chain(
                r.source_ip_groups
                    .iter()
                    .map(|g| format!("IP group {}", last(g))),
            )
            .collect::<Vec<_>>()
            .join(", ");
        if sources.is_empty() {
            diff.push(RuleDiff {
                change: RuleChangeKind::Removed,
                rule: name.clone(),
                summary: format!("DNAT rule {name} of {home} ({was} → {to}) removed: the port is no longer forwarded from the Internet"),
            });
            false
        } else {
            r.source_addresses = sources.to_vec();
            r.source_ip_groups.clear();
            diff.push(RuleDiff {
                change: RuleChangeKind::Changed,
                rule: name.clone(),
                summary: format!("DNAT rule {name} of {home} (→ {to}): sources {was} narrowed to {}", sources.join(", ")),
            });
            true
        }
    });
    diff
}

/// How a change names the rule collection group `id`: a base policy's group says which policies
/// inherit the change.
fn group_home(inv: &Inventory, id: &str, name: Option<&str>) -> String {
    let name = name.unwrap_or("?");
    let id = id.trim();
    let Some(at) = id.to_ascii_lowercase().find("/rulecollectiongroups/") else {
        return format!("rule collection group {name}");
    };
    let policy = &id[..at];
    let children: Vec<&str> = inv
        .firewall_policies
        .iter()
        .filter(|p| {
            p.properties
                .base_policy
                .as_ref()
                .and_then(|b| b.id.as_deref())
                .is_some_and(|b| id_key(b) == id_key(policy))
        })
        .map(|p| p.name.as_deref().unwrap_or_else(|| last(&p.id)))
        .collect();
    if children.is_empty() {
        format!("rule collection group {name}")
    } else {
        format!(
            "rule collection group {name} of base policy {} (inherited by {})",
            last(policy),
            children.join(", ")
        )
    }
}

fn last(id: &str) -> &str {
    id.trim_end_matches('/').rsplit('/').next().unwrap_or(id)
}

pub(super) fn plan(
    inv: &Inventory,
    cfg: &EvalConfig,
    req: &RemediationRequest,
    vms: &[VirtualMachine],
    ports: &[u16],
    before: Report,
) -> Result<Planned, InputError> {
    let addrs = private_addresses(inv, vms);
    let sources = &req.params.sources;
    let mut predicted = inv.clone();
    let mut changes = Vec::new();
    for g in &mut predicted.firewall_policy_rule_collection_groups {
        let before_json = serde_json::to_value(&*g).unwrap_or_default();
        let home = group_home(inv, &g.id, g.name.as_deref());
        let mut diff = Vec::new();
        for c in &mut g.properties.rule_collections {
            let nat = c
                .rule_collection_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("FirewallPolicyNatRuleCollection"));
            if nat {
                diff.extend(edit(&mut c.rules, &addrs, ports, sources, &home));
            }
        }
        if !diff.is_empty() {
            changes.push(FirewallChange {
                target_id: g.id.clone(),
                name: g.name.clone().unwrap_or_default(),
                etag: g.etag.clone(),
                before: before_json,
                after: serde_json::to_value(&*g).unwrap_or_default(),
                diff,
            });
        }
    }
    for f in &mut predicted.azure_firewalls {
        let before_json = serde_json::to_value(&*f).unwrap_or_default();
        let home = format!("firewall {}", f.name.as_deref().unwrap_or("?"));
        let mut diff = Vec::new();
        for c in &mut f.properties.nat_rule_collections {
            diff.extend(edit(&mut c.properties.rules, &addrs, ports, sources, &home));
        }
        if !diff.is_empty() {
            changes.push(FirewallChange {
                target_id: f.id.clone(),
                name: f.name.clone().unwrap_or_default(),
                etag: f.etag.clone(),
                before: before_json,
                after: serde_json::to_value(&*f).unwrap_or_default(),
                diff,
            });
        }
    }
    let mut warnings = Vec::new();
    if changes.is_empty() {
        warnings.push(
            "no Azure Firewall DNAT rule forwards to these VMs' management ports".to_string(),
        );
    }
    let after = evaluate(&predicted, cfg)?;
    let vm_predictions = predictions(&before, &after, vms);
    Ok(Planned {
        plan: RemediationPlan {
            request: req.clone(),
            nsg_changes: Vec::new(),
            nic_changes: Vec::new(),
            jit_policies: Vec::new(),
            noop: changes.is_empty(),
            firewall_changes: changes,
            before: before.control,
            after: after.control,
            vms: vm_predictions,
            warnings,
        },
        predicted,
    })
}
