//! Just-in-time VM access as Defender for Cloud does it to the NSGs:
//!
//! - enabling a policy (PUT) makes a Deny rule per port for the VM's private IP exist in its NSG
//!   (the NIC's if it has one, else the subnet's), named `SecurityCenter-JITRule_<n>_<32 hex>`,
//!   at the bottom of the custom range (4096, 4095, ...). Older permissive rules stay above it.
//! - `initiate` adds an Allow rule `SecurityCenter-JITRule-<n>-<32 hex>` for the requested
//!   source at the first free priority from 100, and records the request (status Initiated).
//! - at `endTimeUtc` the Allow rule goes and the request's port becomes Revoked / Expired.
//! - deleting a policy removes its rules.
//!
//! JIT rules are recognised by name prefix, description (which names policy and VM) and port,
//! so nothing else needs to be remembered and it all survives a restart with `--state`.
use super::http::Fail;
use super::util::{format_time, parse_duration, parse_time};
use super::world::World;
use axum::http::StatusCode;
use portcullis_shared::arm::id_scope;
use portcullis_shared::arm::{
    id_key, JitNetworkAccessPolicy, JitPolicyVm, JitPortRule, JitRequest, JitRequestPort,
    SecurityRule, SecurityRuleProperties,
};
use portcullis_shared::net::Cidr;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

pub const JIT_TYPE: &str = "Microsoft.Security/locations/jitNetworkAccessPolicies";
const RULE_PREFIX: &str = "SecurityCenter-JITRule";

fn deny_description(policy: &str, vm: &str) -> String {
    format!("ASC JIT Network Access rule for policy '{policy}' of VM '{vm}'.")
}

fn allow_description(policy: &str, vm: &str) -> String {
    format!("ASC JIT Network Access rule created by an initiation request for policy '{policy}' of VM '{vm}'.")
}

fn vm_name(id: &str) -> String {
    id.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Where JIT writes for a VM: its NSG (NIC first, else subnet) and its primary private IP.
struct Target {
    nsg_id: String,
    private_ip: String,
}

fn nsg_protocol(jit: Option<&str>) -> String {
    match jit.map(str::to_ascii_uppercase).as_deref() {
        Some("TCP") => "Tcp".into(),
        Some("UDP") => "Udp".into(),
        _ => "*".into(),
    }
}

/// Is every requested source inside one of the policy's allowed prefixes?
fn source_allowed(allowed: &[String], requested: &[String]) -> bool {
    if allowed.iter().any(|a| {
        a.trim() == "*" || a.eq_ignore_ascii_case("any") || a.eq_ignore_ascii_case("internet")
    }) {
        return true;
    }
    requested.iter().all(|r| {
        let Some(rc) = Cidr::parse(r) else {
            return false;
        };
        allowed.iter().any(|a| {
            Cidr::parse(a).is_some_and(|ac| {
                ac.family == rc.family && ac.first() <= rc.first() && rc.last() <= ac.last()
            })
        })
    })
}

impl World {
    fn jit_target(&self, vm_id: &str) -> Result<Target, Fail> {
        let vm = self.vm(vm_id).ok_or_else(|| {
            Fail::bad_request(
                "VirtualMachineNotFound",
                format!("Virtual machine '{vm_id}' was not found."),
            )
        })?;
        let nic_id = vm
            .properties
            .network_profile
            .network_interfaces
            .first()
            .and_then(|n| n.id.clone())
            .unwrap_or_default();
        let nic = self
            .inventory
            .network_interfaces
            .iter()
            .find(|n| id_key(&n.id) == id_key(&nic_id))
            .ok_or_else(|| {
                Fail::bad_request(
                    "VirtualMachineNotSupported",
                    format!("Virtual machine '{vm_id}' has no network interface."),
                )
            })?;
        let ipc = nic
            .properties
            .ip_configurations
            .iter()
            .find(|c| c.properties.primary == Some(true))
            .or(nic.properties.ip_configurations.first())
            .ok_or_else(|| {
                Fail::bad_request(
                    "VirtualMachineNotSupported",
                    format!("Virtual machine '{vm_id}' has no ip configuration."),
                )
            })?;
        let private_ip = ipc
            .properties
            .private_ip_address
            .clone()
            .unwrap_or_default();
        let subnet_nsg = ipc
            .properties
            .subnet
            .as_ref()
            .and_then(|s| s.id.as_deref())
            .and_then(|sid| {
                self.inventory
                    .virtual_networks
                    .iter()
                    .flat_map(|v| v.properties.subnets.iter())
                    .find(|s| s.id.as_deref().map(id_key) == Some(id_key(sid)))
                    .and_then(|s| s.properties.network_security_group.as_ref())
                    .and_then(|r| r.id.clone())
            });
        let nsg_id = nic
            .properties
            .network_security_group
            .as_ref()
            .and_then(|r| r.id.clone())
            .or(subnet_nsg)
            .filter(|id| self.nsg_index(id).is_some())
            .ok_or_else(|| {
                Fail::bad_request(
                    "VirtualMachineNotSupported",
                    format!("Just-in-time access needs a network security group on the network interface or subnet of virtual machine '{vm_id}'."),
                )
            })?;
        Ok(Target { nsg_id, private_ip })
    }

    /// A free inbound custom priority: from 4096 down (`bottom`) or from 100 up.
    fn free_priority(&self, nsg_idx: usize, bottom: bool) -> Result<i64, Fail> {
        let used: Vec<i64> = self.inventory.network_security_groups[nsg_idx]
            .properties
            .security_rules
            .iter()
            .filter(|r| {
                r.properties
                    .direction
                    .as_deref()
                    .is_none_or(|d| d.eq_ignore_ascii_case("inbound"))
            })
            .filter_map(|r| r.properties.priority)
            .collect();
        let mut range: Box<dyn Iterator<Item = i64>> = if bottom {
            Box::new((100..=4096).rev())
        } else {
            Box::new(100..=4096)
        };
        range.find(|p| !used.contains(p)).ok_or_else(|| {
            Fail::bad_request(
                "SecurityRulesLimitReached",
                "No free priority is left in the network security group.",
            )
        })
    }

    fn jit_rule_name(&mut self, allow: bool) -> String {
        let n = self.rng.next_u64() as i32;
        let hex = self.rng.hex32();
        if allow {
            format!("{RULE_PREFIX}-{n}-{hex}")
        } else {
            format!("{RULE_PREFIX}_{n}_{hex}")
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn add_jit_rule(
        &mut self,
        t: &Target,
        allow: bool,
        port: i64,
        protocol: Option<&str>,
        sources: &[String],
        description: String,
    ) -> Result<(), Fail> {
        let idx = self
            .nsg_index(&t.nsg_id)
            .ok_or_else(|| Fail::bad_request("NetworkSecurityGroupNotFound", t.nsg_id.clone()))?;
        let priority = self.free_priority(idx, !allow)?;
        let name = self.jit_rule_name(allow);
        let (single, plural) = match sources {
            [one] => (Some(one.clone()), Vec::new()),
            many => (None, many.to_vec()),
        };
        let rule = SecurityRule {
            name: Some(name),
            properties: SecurityRuleProperties {
                description: Some(description),
                protocol: Some(nsg_protocol(protocol)),
                source_port_range: Some("*".into()),
                destination_port_range: Some(port.to_string()),
                source_address_prefix: single,
                source_address_prefixes: plural,
                destination_address_prefix: Some(t.private_ip.clone()),
                access: Some(if allow { "Allow" } else { "Deny" }.into()),
                priority: Some(priority),
                direction: Some("Inbound".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        self.inventory.network_security_groups[idx]
            .props_mut()
            .security_rules
            .push(rule);
        self.touch_nsg(idx, "Succeeded");
        Ok(())
    }

    /// Removes the JIT rules with this description (and port, if given) from every NSG.
    fn remove_jit_rules(&mut self, description: &str, port: Option<i64>) -> usize {
        let mut removed = 0;
        for idx in 0..self.inventory.network_security_groups.len() {
            let rules = &mut self.inventory.network_security_groups[idx]
                .props_mut()
                .security_rules;
            let before = rules.len();
            rules.retain(|r| {
                let is = r
                    .name
                    .as_deref()
                    .is_some_and(|n| n.starts_with(RULE_PREFIX))
                    && r.properties.description.as_deref() == Some(description)
                    && port.is_none_or(|p| {
                        r.properties.destination_port_range.as_deref()
                            == Some(p.to_string().as_str())
                    });
                !is
            });
            let n = before - rules.len();
            if n > 0 {
                removed += n;
                self.touch_nsg(idx, "Succeeded");
            }
        }
        removed
    }

    fn has_jit_rule(&self, description: &str, port: i64) -> bool {
        self.inventory.network_security_groups.iter().any(|n| {
            n.properties.security_rules.iter().any(|r| {
                r.name
                    .as_deref()
                    .is_some_and(|x| x.starts_with(RULE_PREFIX))
                    && r.properties.description.as_deref() == Some(description)
                    && r.properties.destination_port_range.as_deref()
                        == Some(port.to_string().as_str())
            })
        })
    }

    fn jit_id(sub: &str, rg: &str, loc: &str, name: &str) -> String {
        format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Security/locations/{loc}/jitNetworkAccessPolicies/{name}")
    }

    pub fn jit_index(&self, id: &str) -> Option<usize> {
        let key = id_key(id);
        self.inventory
            .jit_network_access_policies
            .iter()
            .position(|p| id_key(&p.id) == key)
    }

    /// Policies of a subscription, optionally of one resource group and/or location.
    pub fn list_jit(&self, sub: &str, rg: Option<&str>, loc: Option<&str>) -> Vec<Value> {
        self.inventory
            .jit_network_access_policies
            .iter()
            .filter(|p| {
                let (s, g) = id_scope(&p.id);
                s.eq_ignore_ascii_case(sub)
                    && rg.is_none_or(|rg| g.eq_ignore_ascii_case(rg))
                    && loc.is_none_or(|l| {
                        p.location
                            .as_deref()
                            .is_some_and(|pl| pl.eq_ignore_ascii_case(l))
                    })
            })
            .filter_map(|p| serde_json::to_value(p).ok())
            .collect()
    }

    fn validate_policy_vm(
        &self,
        vm: &JitPolicyVm,
        sub: &str,
        rg: &str,
        loc: &str,
        i: usize,
    ) -> Result<(), Fail> {
        let found = self.vm(&vm.id).ok_or_else(|| {
            Fail::bad_request(
                "VirtualMachineNotFound",
                format!(
                    "virtualMachines[{i}]: virtual machine '{}' was not found.",
                    vm.id
                ),
            )
        })?;
        let (s, g) = id_scope(&found.id);
        if !s.eq_ignore_ascii_case(sub) || !g.eq_ignore_ascii_case(rg) {
            return Err(Fail::bad_request(
                "InvalidJitPolicy",
                format!(
                    "virtualMachines[{i}]: '{}' is not in resource group '{rg}'.",
                    vm.id
                ),
            ));
        }
        if !found
            .location
            .as_deref()
            .unwrap_or(loc)
            .eq_ignore_ascii_case(loc)
        {
            return Err(Fail::bad_request(
                "InvalidJitPolicy",
                format!(
                    "virtualMachines[{i}]: '{}' is not in location '{loc}'.",
                    vm.id
                ),
            ));
        }
        if vm.ports.is_empty() {
            return Err(Fail::bad_request(
                "InvalidJitPolicy",
                format!("virtualMachines[{i}].ports: at least one port is required."),
            ));
        }
        for (k, p) in vm.ports.iter().enumerate() {
            let at = format!("virtualMachines[{i}].ports[{k}]");
            if !(0..=65535).contains(&p.number) {
                return Err(Fail::bad_request(
                    "InvalidJitPolicy",
                    format!("{at}.number: {} is not a port.", p.number),
                ));
            }
            let proto = p.protocol.as_deref().unwrap_or_default();
            if !["TCP", "UDP", "*"]
                .iter()
                .any(|x| x.eq_ignore_ascii_case(proto))
            {
                return Err(Fail::bad_request(
                    "InvalidJitPolicy",
                    format!("{at}.protocol: '{proto}' is not TCP, UDP or *."),
                ));
            }
            if p.allowed_source_address_prefix.is_some()
                != p.allowed_source_address_prefixes.is_empty()
            {
                return Err(Fail::bad_request(
                    "InvalidJitPolicy",
                    format!("{at}: exactly one of allowedSourceAddressPrefix and allowedSourceAddressPrefixes is required."),
                ));
            }
            let dur = p.max_request_access_duration.as_deref().unwrap_or_default();
            match parse_duration(dur) {
                Some(d) if d >= Duration::minutes(5) && d <= Duration::days(1) => {}
                _ => {
                    return Err(Fail::bad_request(
                        "InvalidJitPolicy",
                        format!("{at}.maxRequestAccessDuration: '{dur}' is not an ISO 8601 duration between PT5M and P1D."),
                    ))
                }
            }
        }
        self.jit_target(&vm.id).map(|_| ())
    }

    /// PUT a JIT policy: validates it, then makes the NSGs match (deny rules for added ports,
    /// JIT rules of removed ports gone). Requests already recorded are kept.
    pub fn put_jit(
        &mut self,
        sub: &str,
        rg: &str,
        loc: &str,
        name: &str,
        body: &[u8],
    ) -> Result<JitNetworkAccessPolicy, Fail> {
        self.check_scope(sub, Some(rg))?;
        let value: Value = serde_json::from_slice(body).map_err(Fail::invalid_content)?;
        let mut policy: JitNetworkAccessPolicy =
            serde_json::from_value(value).map_err(Fail::invalid_content)?;
        for (i, vm) in policy.properties.virtual_machines.iter().enumerate() {
            self.validate_policy_vm(vm, sub, rg, loc, i)?;
        }
        let id = Self::jit_id(sub, rg, loc, name);
        let existing = self.jit_index(&id);
        let old_vms = existing
            .map(|i| {
                self.inventory.jit_network_access_policies[i]
                    .properties
                    .virtual_machines
                    .clone()
            })
            .unwrap_or_default();
        let wanted = |vm_id: &str, port: i64, vms: &[JitPolicyVm]| {
            vms.iter()
                .any(|v| id_key(&v.id) == id_key(vm_id) && v.ports.iter().any(|p| p.number == port))
        };
        // ports no longer in the policy: their rules go
        for vm in &old_vms {
            for p in &vm.ports {
                if !wanted(&vm.id, p.number, &policy.properties.virtual_machines) {
                    let vname = vm_name(&vm.id);
                    self.remove_jit_rules(&deny_description(name, &vname), Some(p.number));
                    self.remove_jit_rules(&allow_description(name, &vname), Some(p.number));
                }
            }
        }
        // ports in the policy: a deny rule must exist
        for vm in policy.properties.virtual_machines.clone() {
            let vname = vm_name(&vm.id);
            let target = self.jit_target(&vm.id)?;
            for p in &vm.ports {
                let desc = deny_description(name, &vname);
                if !self.has_jit_rule(&desc, p.number) {
                    self.add_jit_rule(
                        &target,
                        false,
                        p.number,
                        p.protocol.as_deref(),
                        &["*".to_string()],
                        desc,
                    )?;
                }
            }
        }
        policy.id = existing
            .map(|i| self.inventory.jit_network_access_policies[i].id.clone())
            .unwrap_or(id);
        policy.name = Some(name.to_string());
        policy.kind_type = Some(JIT_TYPE.to_string());
        policy.kind = policy.kind.or(Some("Basic".into()));
        policy.location = Some(loc.to_string());
        policy.properties.requests = existing
            .map(|i| {
                self.inventory.jit_network_access_policies[i]
                    .properties
                    .requests
                    .clone()
            })
            .unwrap_or_default();
        policy.properties.provisioning_state = Some("Succeeded".into());
        match existing {
            Some(i) => self.inventory.jit_network_access_policies[i] = policy.clone(),
            None => self
                .inventory
                .jit_network_access_policies
                .push(policy.clone()),
        }
        Ok(policy)
    }

    /// DELETE a JIT policy and its rules: `Ok(false)` when it did not exist.
    pub fn delete_jit(&mut self, sub: &str, rg: &str, loc: &str, name: &str) -> Result<bool, Fail> {
        self.check_scope(sub, None)?;
        let Some(i) = self.jit_index(&Self::jit_id(sub, rg, loc, name)) else {
            return Ok(false);
        };
        let policy = self.inventory.jit_network_access_policies.remove(i);
        for vm in &policy.properties.virtual_machines {
            let vname = vm_name(&vm.id);
            self.remove_jit_rules(&deny_description(name, &vname), None);
            self.remove_jit_rules(&allow_description(name, &vname), None);
        }
        Ok(true)
    }

    /// POST .../initiate: validates the request against the policy, opens the ports for the
    /// requested sources, records the request. `peer` is the caller's address (the default source).
    #[allow(clippy::too_many_arguments)]
    pub fn initiate_jit(
        &mut self,
        sub: &str,
        rg: &str,
        loc: &str,
        name: &str,
        body: &[u8],
        requestor: &str,
        peer: Option<&str>,
    ) -> Result<JitRequest, Fail> {
        self.check_scope(sub, None)?;
        let idx = self
            .jit_index(&Self::jit_id(sub, rg, loc, name))
            .ok_or_else(|| {
                Fail::resource_not_found(
                    "Microsoft.Security/locations/jitNetworkAccessPolicies",
                    name,
                    rg,
                )
            })?;
        let value: Value = serde_json::from_slice(body).map_err(Fail::invalid_content)?;
        let mut request: JitRequest =
            serde_json::from_value(value).map_err(Fail::invalid_content)?;
        if request.virtual_machines.is_empty() {
            return Err(Fail::bad_request(
                "InvalidJitRequest",
                "virtualMachines: at least one virtual machine is required.",
            ));
        }
        let now = self.now();
        let policy = self.inventory.jit_network_access_policies[idx].clone();
        // validate everything before changing anything
        let mut grants = Vec::new();
        for (i, rvm) in request.virtual_machines.iter_mut().enumerate() {
            let pvm = policy
                .properties
                .virtual_machines
                .iter()
                .find(|v| id_key(&v.id) == id_key(&rvm.id))
                .ok_or_else(|| {
                    Fail::bad_request(
                        "InvalidJitRequest",
                        format!(
                            "virtualMachines[{i}]: '{}' is not in policy '{name}'.",
                            rvm.id
                        ),
                    )
                })?;
            if rvm.ports.is_empty() {
                return Err(Fail::bad_request(
                    "InvalidJitRequest",
                    format!("virtualMachines[{i}].ports: at least one port is required."),
                ));
            }
            for (k, rp) in rvm.ports.iter_mut().enumerate() {
                let at = format!("virtualMachines[{i}].ports[{k}]");
                let pp = pvm
                    .ports
                    .iter()
                    .find(|p| p.number == rp.number)
                    .ok_or_else(|| {
                        Fail::bad_request(
                            "InvalidJitRequest",
                            format!(
                                "{at}: port {} is not in policy '{name}' for this virtual machine.",
                                rp.number
                            ),
                        )
                    })?;
                let sources = grant_port(&at, pp, rp, now, name, peer)?;
                grants.push((rvm.id.clone(), rp.number, pp.protocol.clone(), sources));
            }
        }
        // older active grants of the same ports are superseded
        for (vm_id, port, _, _) in &grants {
            self.revoke_active(idx, vm_id, *port, "NewerRequestInitiated");
        }
        for (vm_id, port, protocol, sources) in &grants {
            let target = self.jit_target(vm_id)?;
            self.add_jit_rule(
                &target,
                true,
                *port,
                protocol.as_deref(),
                sources,
                allow_description(name, &vm_name(vm_id)),
            )?;
        }
        request.start_time_utc = Some(format_time(now));
        request.requestor = Some(requestor.to_string());
        self.inventory.jit_network_access_policies[idx]
            .properties
            .requests
            .push(request.clone());
        for vm in &mut request.virtual_machines {
            for p in &mut vm.ports {
                p.status = Some("Initiating".into());
            }
        }
        Ok(request)
    }

    /// Marks active request ports of (vm, port) Revoked with `reason` and removes their allow rule.
    fn revoke_active(&mut self, policy_idx: usize, vm_id: &str, port: i64, reason: &str) -> bool {
        let policy = &mut self.inventory.jit_network_access_policies[policy_idx];
        let pname = policy.name.clone().unwrap_or_else(|| "default".into());
        let mut any = false;
        for req in &mut policy.properties.requests {
            for vm in req
                .virtual_machines
                .iter_mut()
                .filter(|v| id_key(&v.id) == id_key(vm_id))
            {
                for p in vm.ports.iter_mut().filter(|p| p.number == port) {
                    if is_active(p) {
                        p.status = Some("Revoked".into());
                        p.status_reason = Some(reason.into());
                        any = true;
                    }
                }
            }
        }
        if any {
            self.remove_jit_rules(&allow_description(&pname, &vm_name(vm_id)), Some(port));
        }
        any
    }

    /// Expires every active request port whose end time has passed; returns how many.
    pub fn expire_jit(&mut self) -> usize {
        let now = self.now();
        let mut due = Vec::new();
        for (i, pol) in self
            .inventory
            .jit_network_access_policies
            .iter()
            .enumerate()
        {
            for req in &pol.properties.requests {
                for vm in &req.virtual_machines {
                    for p in &vm.ports {
                        let ended = p
                            .end_time_utc
                            .as_deref()
                            .and_then(parse_time)
                            .is_none_or(|end| end <= now);
                        if is_active(p) && ended {
                            due.push((i, vm.id.clone(), p.number));
                        }
                    }
                }
            }
        }
        let mut n = 0;
        for (i, vm, port) in due {
            if self.revoke_active(i, &vm, port, "Expired") {
                n += 1;
            }
        }
        n
    }
}

fn is_active(p: &JitRequestPort) -> bool {
    matches!(p.status.as_deref(), Some("Initiated") | Some("Initiating"))
}

/// 200 when deleted, 204 when there was nothing to delete (ARM's DELETE convention).
pub fn delete_status(existed: bool) -> StatusCode {
    if existed {
        StatusCode::OK
    } else {
        StatusCode::NO_CONTENT
    }
}

/// Checks one requested port against the policy's port `pp` (end time in the future and within
/// the policy's maximum duration, sources the policy allows) and fills in what ARM fills in.
/// Returns the sources the grant allows.
fn grant_port(
    at: &str,
    pp: &JitPortRule,
    rp: &mut JitRequestPort,
    now: OffsetDateTime,
    name: &str,
    peer: Option<&str>,
) -> Result<Vec<String>, Fail> {
    let max_txt = pp
        .max_request_access_duration
        .clone()
        .unwrap_or_else(|| "PT3H".into());
    let max = parse_duration(&max_txt).unwrap_or(Duration::hours(3));
    let end_txt = rp.end_time_utc.clone().ok_or_else(|| {
        Fail::bad_request("InvalidJitRequest", format!("{at}.endTimeUtc is required."))
    })?;
    let end = parse_time(&end_txt).ok_or_else(|| {
        Fail::bad_request(
            "InvalidJitRequest",
            format!("{at}.endTimeUtc: '{end_txt}' is not a date-time."),
        )
    })?;
    if end <= now {
        return Err(Fail::bad_request(
            "InvalidJitRequest",
            format!("{at}.endTimeUtc: {end_txt} is in the past."),
        ));
    }
    // a minute of grace for clock skew between the caller and the service
    if end - now > max + Duration::minutes(1) {
        return Err(Fail::bad_request(
            "JitRequestDurationExceedsPolicy",
            format!("{at}: the requested access until {end_txt} exceeds the maximum request access duration {max_txt} of policy '{name}'."),
        ));
    }
    let mut sources: Vec<String> = rp.allowed_source_address_prefixes.clone();
    if let Some(s) = &rp.allowed_source_address_prefix {
        sources.insert(0, s.clone());
    }
    if sources.is_empty() {
        sources.push(peer.unwrap_or("*").to_string());
    }
    let allowed: Vec<String> = pp
        .allowed_source_address_prefix
        .iter()
        .cloned()
        .chain(pp.allowed_source_address_prefixes.iter().cloned())
        .collect();
    if !source_allowed(&allowed, &sources) {
        return Err(Fail::bad_request(
            "JitRequestSourceNotAllowed",
            format!(
                "{at}: source {} is not allowed by policy '{name}' (allowed: {}).",
                sources.join(", "),
                allowed.join(", ")
            ),
        ));
    }
    rp.end_time_utc = Some(format_time(end));
    if sources.len() == 1 {
        rp.allowed_source_address_prefix = Some(sources[0].clone());
        rp.allowed_source_address_prefixes = Vec::new();
    } else {
        rp.allowed_source_address_prefix = None;
        rp.allowed_source_address_prefixes = sources.clone();
    }
    rp.status = Some("Initiated".into());
    rp.status_reason = Some("UserRequested".into());
    Ok(sources)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(source_allowed(&s(&["*"]), &s(&["1.2.3.4"])));
        assert!(source_allowed(
            &s(&["203.0.113.0/24"]),
            &s(&["203.0.113.7"])
        ));
        assert!(source_allowed(
            &s(&["203.0.113.0/24"]),
            &s(&["203.0.113.0/25"])
        ));
        assert!(!source_allowed(
            &s(&["203.0.113.0/24"]),
            &s(&["198.51.100.1"])
        ));
        assert!(!source_allowed(&s(&["203.0.113.0/24"]), &s(&["*"])));
        assert!(!source_allowed(
            &s(&["203.0.113.0/24"]),
            &s(&["203.0.112.0/23"])
        ));
    }
}
