//! Phase 3, `enableJit`: each selected VM's ports in a JIT policy (the one that already covers
//! the VM, else `default` in its resource group), and the deny rules Defender will add,
//! simulated for the prediction.
use super::rules::{rule, used_priorities};
use super::Checked;
use crate::api::JitPolicyChange;
use crate::arm::{
    id_key, JitNetworkAccessPolicy, JitPolicyProperties, JitPolicyVm, JitPortRule, VirtualMachine,
};
use crate::eval::{Model, State, VmReport};
use crate::inventory::{InputError, Inventory};
use crate::EvalConfig;

/// Puts the VMs' ports in JIT policies in `predicted`, with Defender's deny rules. `work` is
/// the inventory the VMs are judged on (the rule edits made); `inv`, the one before the plan.
pub(super) fn enable_jit(
    predicted: &mut Inventory,
    inv: &Inventory,
    work: &Inventory,
    cfg: &EvalConfig,
    ask: &Checked<'_>,
    warnings: &mut Vec<String>,
) -> Result<Vec<JitPolicyChange>, InputError> {
    let mut jit_changes: Vec<JitPolicyChange> = Vec::new();
    let model = Model::build(work, cfg)?;
    for vm in &ask.vms {
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
        let wanted = wanted_ports(&r, ask);
        let (policy_id, idx) = policy_for(predicted, vm, &r);
        let before_policy = inv
            .jit_network_access_policies
            .iter()
            .find(|p| id_key(&p.id) == id_key(&policy_id))
            .cloned();
        let pol = &mut predicted.jit_network_access_policies[idx];
        let new_ports = add_ports(pol, vm, &wanted, &ask.max_duration);
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
        predict_denies(
            predicted,
            &target_nsg,
            private_ip.as_deref(),
            &new_ports,
            &r,
        );
    }
    Ok(jit_changes)
}

/// The request's ports; with none, the VM's ports that are not closed, or with none of those
/// every management port.
fn wanted_ports(r: &VmReport, ask: &Checked<'_>) -> Vec<u16> {
    if !ask.req.ports.is_empty() {
        return ask.ports.clone();
    }
    let live: Vec<u16> = r
        .exposures
        .iter()
        .filter(|e| e.state != State::Closed)
        .map(|e| e.port)
        .collect();
    if live.is_empty() {
        ask.mgmt.clone()
    } else {
        live
    }
}

/// The id and index in `predicted` of the policy that already covers the VM, else of `default`
/// in its resource group (added when missing).
fn policy_for(predicted: &mut Inventory, vm: &VirtualMachine, r: &VmReport) -> (String, usize) {
    let policies = &mut predicted.jit_network_access_policies;
    let existing = policies.iter().position(|p| {
        p.properties
            .virtual_machines
            .iter()
            .any(|v| id_key(&v.id) == id_key(&vm.id))
    });
    let policy_id = match existing {
        Some(i) => policies[i].id.clone(),
        None => {
            let loc = vm.location.clone().unwrap_or_else(|| "westeurope".into());
            format!("/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Security/locations/{loc}/jitNetworkAccessPolicies/default", r.subscription_id, r.resource_group)
        }
    };
    let idx = match policies
        .iter()
        .position(|p| id_key(&p.id) == id_key(&policy_id))
    {
        Some(i) => i,
        None => {
            policies.push(JitNetworkAccessPolicy {
                id: policy_id.clone(),
                name: Some("default".into()),
                kind_type: Some("Microsoft.Security/locations/jitNetworkAccessPolicies".into()),
                kind: Some("Basic".into()),
                location: vm.location.clone(),
                properties: JitPolicyProperties {
                    provisioning_state: Some("Succeeded".into()),
                    ..Default::default()
                },
            });
            policies.len() - 1
        }
    };
    (policy_id, idx)
}

/// Adds the VM (when missing) and the wanted ports it lacks to the policy; the ports added.
fn add_ports(
    pol: &mut JitNetworkAccessPolicy,
    vm: &VirtualMachine,
    wanted: &[u16],
    max_duration: &str,
) -> Vec<u16> {
    let vms = &mut pol.properties.virtual_machines;
    let entry = match vms.iter().position(|v| id_key(&v.id) == id_key(&vm.id)) {
        Some(i) => i,
        None => {
            vms.push(JitPolicyVm {
                id: vm.id.clone(),
                ..Default::default()
            });
            vms.len() - 1
        }
    };
    let mut new_ports = Vec::new();
    for p in wanted {
        let e = &mut vms[entry];
        if e.ports.iter().any(|x| x.number == i64::from(*p)) {
            continue;
        }
        e.ports.push(JitPortRule {
            number: i64::from(*p),
            protocol: Some("*".into()),
            allowed_source_address_prefix: Some("*".into()),
            max_request_access_duration: Some(max_duration.to_owned()),
            ..Default::default()
        });
        new_ports.push(*p);
    }
    new_ports
}

/// Defender's deny rules: one per port, at the bottom of the custom range of the VM's NSG.
fn predict_denies(
    predicted: &mut Inventory,
    target_nsg: &str,
    private_ip: Option<&str>,
    new_ports: &[u16],
    r: &VmReport,
) {
    let Some(nsg) = predicted
        .network_security_groups
        .iter_mut()
        .find(|n| id_key(&n.id) == id_key(target_nsg))
    else {
        return;
    };
    for p in new_ports {
        let used = used_priorities(&nsg.properties.security_rules);
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
        deny.properties.destination_address_prefix =
            private_ip.map(str::to_string).or(Some("*".into()));
        deny.properties.description = Some(format!(
            "ASC JIT Network Access rule for policy 'default' of VM '{}'.",
            r.name
        ));
        nsg.props_mut().security_rules.push(deny);
    }
}
