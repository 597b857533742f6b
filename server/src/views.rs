//! Wire views of ARM resources, in one place (handlers call these; `shared::api` has the types):
//! NICs, NSGs with their rules in evaluation order, JIT policies and their ports.
use portcullis_shared::api::{JitPolicyView, JitPortView, NicView, NsgView, RuleView};
use portcullis_shared::arm::{
    id_key, JitNetworkAccessPolicy, JitPolicyVm, JitPortRule, SecurityRule,
};
use portcullis_shared::duration::iso8601_minutes;
use portcullis_shared::eval::path_rules::PathNsg;
use portcullis_shared::eval::{Access, VmReport};
use portcullis_shared::Inventory;

/// A JIT policy's default for a port without `maxRequestAccessDuration`.
const DEFAULT_MAX_DURATION: &str = "PT3H";

/// A singular field and its plural twin, unioned (empty strings dropped), as ARM spells lists.
fn list(single: &Option<String>, many: &[String]) -> Vec<String> {
    single
        .iter()
        .chain(many.iter())
        .filter(|s| !s.is_empty())
        .cloned()
        .collect()
}

/// The last segment of an ARM id (a name, when the resource itself is missing).
fn last_segment(id: &str) -> String {
    id.rsplit('/').next().unwrap_or_default().to_string()
}

/// One rule as the VM page shows it; `deciding` lists the ports whose verdict it decided.
pub fn rule_view(r: &SecurityRule, default: bool, deciding: Vec<u16>) -> RuleView {
    let p = &r.properties;
    let mut sources = list(&p.source_address_prefix, &p.source_address_prefixes);
    sources.extend(
        p.source_application_security_groups
            .iter()
            .filter_map(|a| a.id.clone()),
    );
    let mut destinations = list(
        &p.destination_address_prefix,
        &p.destination_address_prefixes,
    );
    destinations.extend(
        p.destination_application_security_groups
            .iter()
            .filter_map(|a| a.id.clone()),
    );
    let name = r.name.clone().unwrap_or_default();
    RuleView {
        jit: name.starts_with("SecurityCenter-JITRule"),
        name,
        priority: p.priority.unwrap_or_default().max(0) as u32,
        access: if p
            .access
            .as_deref()
            .is_some_and(|a| a.eq_ignore_ascii_case("deny"))
        {
            Access::Deny
        } else {
            Access::Allow
        },
        protocol: p.protocol.clone().unwrap_or_else(|| "*".into()),
        sources,
        source_ports: list(&p.source_port_range, &p.source_port_ranges),
        destinations,
        destination_ports: list(&p.destination_port_range, &p.destination_port_ranges),
        description: p.description.clone(),
        default,
        deciding_for_ports: deciding,
    }
}

/// An NSG on the VM's path, its rules marked with the ports they decided for this VM.
pub fn nsg_view(p: &PathNsg<'_>, report: &VmReport) -> NsgView {
    let key = id_key(&p.id);
    let deciding = |name: &str| -> Vec<u16> {
        report
            .exposures
            .iter()
            .filter(|e| {
                e.deciding_rules
                    .iter()
                    .any(|d| id_key(&d.nsg) == key && &*d.rule == name && d.level == p.level)
            })
            .map(|e| e.port)
            .collect()
    };
    NsgView {
        id: p.id.clone(),
        name: p
            .nsg
            .and_then(|n| n.name.clone())
            .unwrap_or_else(|| last_segment(&p.id)),
        level: p.level,
        etag: p.nsg.and_then(|n| n.etag.clone()),
        found: p.nsg.is_some(),
        rules: p
            .rules
            .iter()
            .map(|(r, default)| {
                rule_view(r, *default, deciding(r.name.as_deref().unwrap_or_default()))
            })
            .collect(),
    }
}

/// The VM's NICs, each with its NSG and the evaluated ip configurations.
pub fn nic_views(inv: &Inventory, report: &VmReport) -> Vec<NicView> {
    let vm = inv
        .virtual_machines
        .iter()
        .find(|v| id_key(&v.id) == id_key(&report.id));
    let nic_ids = vm
        .map(|v| v.properties.network_profile.network_interfaces.as_slice())
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r.id.clone());
    nic_ids
        .map(|nid| {
            let key = id_key(&nid);
            let nic = inv.network_interfaces.iter().find(|n| id_key(&n.id) == key);
            NicView {
                name: nic
                    .and_then(|n| n.name.clone())
                    .unwrap_or_else(|| last_segment(&nid)),
                nsg: nic.and_then(|n| n.properties.network_security_group.as_ref()?.id.clone()),
                ip_configurations: report
                    .ip_configurations
                    .iter()
                    .filter(|c| id_key(&c.id).starts_with(&key))
                    .cloned()
                    .collect(),
                id: nid,
            }
        })
        .collect()
}

/// A port of a JIT policy: its longest request and the sources it allows (each once).
pub fn jit_port_view(port: &JitPortRule) -> JitPortView {
    let d = port
        .max_request_access_duration
        .clone()
        .unwrap_or_else(|| DEFAULT_MAX_DURATION.into());
    let mut sources = list(
        &port.allowed_source_address_prefix,
        &port.allowed_source_address_prefixes,
    );
    sources.dedup();
    JitPortView {
        number: port.number.clamp(0, 65535) as u16,
        protocol: port.protocol.clone().unwrap_or_else(|| "*".into()),
        max_minutes: iso8601_minutes(&d).unwrap_or(180),
        max_request_access_duration: d,
        allowed_source_address_prefixes: sources,
    }
}

/// The JIT policy as it covers one VM (`entry`).
pub fn jit_policy_view(p: &JitNetworkAccessPolicy, entry: &JitPolicyVm) -> JitPolicyView {
    JitPolicyView {
        id: p.id.clone(),
        name: p.name.clone().unwrap_or_default(),
        provisioning_state: p.properties.provisioning_state.clone(),
        ports: entry.ports.iter().map(jit_port_view).collect(),
    }
}
