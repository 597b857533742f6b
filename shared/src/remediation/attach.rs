//! Phase 2, `attachNsg`: a new NSG with safe rules on every internet-facing NIC of the selected
//! VMs that has no NSG on the NIC or its subnet.
use super::rules::rule;
use super::{Checked, Draft};
use crate::api::NicChange;
use crate::arm::id_scope;
use crate::arm::{id_key, NetworkInterface, NetworkSecurityGroup, NsgProperties, SubResource};
use crate::eval::Model;
use crate::inventory::InputError;
use crate::EvalConfig;

/// Attaches a new NSG to each unprotected internet-facing NIC (its NIC change recorded).
pub(super) fn attach_nsgs(
    draft: &mut Draft,
    cfg: &EvalConfig,
    ask: &Checked<'_>,
) -> Result<(), InputError> {
    let unprotected: Vec<String> = {
        let model = Model::build(&draft.work, cfg)?;
        ask.vms
            .iter()
            .flat_map(|vm| model.evaluate_vm(vm).ip_configurations)
            .filter(|c| c.has_public_ip && c.subnet_nsg.is_none() && c.nic_nsg.is_none())
            .map(|c| id_key(c.id.split("/ipConfigurations/").next().unwrap_or(&c.id)))
            .collect()
    };
    let mut new_nsgs = Vec::new();
    for nic in draft
        .work
        .network_interfaces
        .iter_mut()
        .filter(|n| unprotected.contains(&id_key(&n.id)))
    {
        if nic.properties.network_security_group.is_some() {
            continue;
        }
        let (nsg, change) = nsg_for(nic, ask);
        nic.props_mut().network_security_group = Some(SubResource::new(nsg.id.clone()));
        new_nsgs.push(nsg);
        draft.nic_changes.push(change);
    }
    draft.work.network_security_groups.extend(new_nsgs);
    Ok(())
}

/// The NSG `<nic>-nsg` in the NIC's resource group, and the NIC's change to it.
fn nsg_for(nic: &NetworkInterface, ask: &Checked<'_>) -> (NetworkSecurityGroup, NicChange) {
    let nic_name = nic
        .name
        .clone()
        .unwrap_or_else(|| nic.id.rsplit('/').next().unwrap_or("nic").to_string());
    let (sub, rg) = id_scope(&nic.id);
    let nsg_name = format!("{nic_name}-nsg");
    let nsg_id = format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/networkSecurityGroups/{nsg_name}");
    let nsg = NetworkSecurityGroup {
        id: nsg_id.clone(),
        name: Some(nsg_name),
        location: nic.location.clone(),
        kind: Some("Microsoft.Network/networkSecurityGroups".into()),
        properties: std::sync::Arc::new(NsgProperties {
            security_rules: safe_rules(ask),
            ..Default::default()
        }),
        ..Default::default()
    };
    let change = NicChange {
        nic_id: nic.id.clone(),
        nic_name,
        etag: nic.etag.clone(),
        nsg_before: None,
        nsg_after: nsg_id,
    };
    (nsg, change)
}

/// The new NSG's rules: the other ports kept open from the Internet, and management from the
/// request's sources when it names any.
fn safe_rules(ask: &Checked<'_>) -> Vec<crate::arm::SecurityRule> {
    let params = &ask.req.params;
    let mut rules = Vec::new();
    for (i, p) in params.allow_ports.iter().enumerate() {
        rules.push(rule(
            &format!("Allow-{p}-Internet"),
            100 + i as i64,
            "Allow",
            "Tcp",
            &[p.to_string()],
            &["Internet".to_string()],
        ));
    }
    if !params.sources.is_empty() {
        rules.push(rule(
            "Allow-Management-Restricted",
            200,
            "Allow",
            "Tcp",
            &ask.ports.iter().map(u16::to_string).collect::<Vec<_>>(),
            &params.sources,
        ));
    }
    rules
}
