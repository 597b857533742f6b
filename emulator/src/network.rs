//! NSG writes as Microsoft.Network does them: validation with ARM's error codes, ETags with
//! `If-Match` / `If-None-Match`, and `Azure-AsyncOperation` long-running operations.
use super::http::Fail;
use super::util::format_time;
use super::world::{Operation, World};
use axum::http::StatusCode;
use portcullis_shared::arm::{
    default_security_rules, id_key, NetworkInterface, NetworkSecurityGroup, SecurityRule,
    SubResource,
};
use portcullis_shared::eval::compile::{compile_rule, AsgInterner};
use std::collections::HashMap;

pub const NSG_TYPE: &str = "Microsoft.Network/networkSecurityGroups";
pub const RULE_TYPE: &str = "Microsoft.Network/networkSecurityGroups/securityRules";

/// `If-Match` / `If-None-Match` of a write.
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
}

/// Where the rule named `name` (ARM names are case-insensitive) stands in `rules`.
fn rule_position(rules: &[SecurityRule], name: &str) -> Option<usize> {
    rules.iter().position(|r| {
        r.name
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    })
}

impl Conditions {
    /// 412 unless the conditions hold for a resource whose current ETag is `current`
    /// (`None`: it does not exist).
    pub fn check(&self, current: Option<&str>, what: &str) -> Result<(), Fail> {
        let norm = |s: &str| {
            s.trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .to_ascii_lowercase()
        };
        if let Some(inm) = self.if_none_match.as_deref() {
            if inm.trim() == "*" && current.is_some() {
                return Err(Fail::precondition_failed(what));
            }
        }
        if let Some(im) = self.if_match.as_deref() {
            let ok = match current {
                None => false,
                Some(_) if im.trim() == "*" => true,
                Some(etag) => im.split(',').any(|t| norm(t) == norm(etag)),
            };
            if !ok {
                return Err(Fail::precondition_failed(what));
            }
        }
        Ok(())
    }
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Fail> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(Fail::invalid_content)?;
    if !value.is_object() {
        return Err(Fail::invalid_content("the body is not a JSON object"));
    }
    serde_json::from_value(value).map_err(Fail::invalid_content)
}

/// ARM's rule name grammar: up to 80 characters, word characters, `.`, `-`, `_`; starts with a
/// word character, ends with a word character or `_`.
fn valid_name(name: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    !name.is_empty()
        && name.len() <= 80
        && name.chars().all(|c| word(c) || c == '.' || c == '-')
        && name.starts_with(word)
        && name.ends_with(word)
}

/// Validates custom rules as ARM does (required fields, enums, priority 100-4096 unique per
/// direction, prefixes and ports parseable by the shared engine).
pub fn validate_rules(rules: &[SecurityRule]) -> Result<(), Fail> {
    let mut seen_names: HashMap<String, ()> = HashMap::new();
    let mut seen_priority: HashMap<(String, i64), String> = HashMap::new();
    let mut asgs = AsgInterner::default();
    for rule in rules {
        let name = rule.name.clone().unwrap_or_default();
        if !valid_name(&name) {
            return Err(Fail::bad_request(
                "InvalidResourceName",
                format!(
                    "Resource name {name} is invalid. The name can be up to 80 characters long. It must begin with a word character, \
                     and it must end with a word character or with '_'. The name may contain word characters or '.', '-', '_'."
                ),
            ));
        }
        if seen_names.insert(name.to_ascii_lowercase(), ()).is_some() {
            return Err(Fail::bad_request(
                "InvalidRequestFormat",
                format!(
                    "Cannot parse the request: security rule name '{name}' is used more than once."
                ),
            ));
        }
        let p = &rule.properties;
        for (field, v) in [
            ("protocol", p.protocol.is_some()),
            ("access", p.access.is_some()),
            ("priority", p.priority.is_some()),
            ("direction", p.direction.is_some()),
        ] {
            if !v {
                return Err(Fail::bad_request(
                    "SecurityRuleParameterMissing",
                    format!("Security rule {name} is missing the required property '{field}'."),
                ));
            }
        }
        let protocol = p.protocol.as_deref().unwrap_or_default();
        if !["Tcp", "Udp", "Icmp", "Esp", "Ah", "*"]
            .iter()
            .any(|x| x.eq_ignore_ascii_case(protocol))
        {
            return Err(Fail::bad_request(
                "SecurityRuleInvalidProtocol",
                format!("Security rule {name} has invalid Protocol. Value provided: {protocol}. Allowed values: Tcp, Udp, Icmp, Esp, Ah, *."),
            ));
        }
        let access = p.access.as_deref().unwrap_or_default();
        if !["Allow", "Deny"]
            .iter()
            .any(|x| x.eq_ignore_ascii_case(access))
        {
            return Err(Fail::bad_request(
                "SecurityRuleInvalidAccess",
                format!("Security rule {name} has invalid Access. Value provided: {access}. Allowed values: Allow, Deny."),
            ));
        }
        let direction = p.direction.as_deref().unwrap_or_default();
        if !["Inbound", "Outbound"]
            .iter()
            .any(|x| x.eq_ignore_ascii_case(direction))
        {
            return Err(Fail::bad_request(
                "SecurityRuleInvalidDirection",
                format!("Security rule {name} has invalid Direction. Value provided: {direction}. Allowed values: Inbound, Outbound."),
            ));
        }
        let priority = p.priority.unwrap_or_default();
        if !(100..=4096).contains(&priority) {
            return Err(Fail::bad_request(
                "SecurityRuleInvalidPriority",
                format!("Security rule {name} has invalid Priority. Value provided: {priority} Allowed range 100-4096."),
            ));
        }
        if let Some(other) =
            seen_priority.insert((direction.to_ascii_lowercase(), priority), name.clone())
        {
            // ARM's own code and wording (as Azure answers a duplicate priority)
            return Err(Fail::bad_request(
                "SecurityRuleConflict",
                format!(
                    "Security rule {other} conflicts with rule {name}. Rules cannot have the same Priority and Direction. To learn more, see aka.ms/nsgrules."
                ),
            ));
        }
        if p.description
            .as_deref()
            .is_some_and(|d| d.chars().count() > 140)
        {
            return Err(Fail::bad_request(
                "SecurityRuleDescriptionTooLong",
                format!("Security rule {name} has a description longer than 140 characters."),
            ));
        }
        let mut warnings = Vec::new();
        if let Err(e) = compile_rule(rule, "rule", &mut asgs, &mut warnings) {
            let code = if e.path.contains("PortRange") {
                "SecurityRuleInvalidPortRange"
            } else if e.path.contains("Address") || e.path.contains("ApplicationSecurityGroups") {
                "SecurityRuleInvalidAddressPrefix"
            } else {
                "InvalidRequestFormat"
            };
            let field = e.path.rsplit('.').next().unwrap_or_default().to_string();
            return Err(Fail::bad_request(
                code,
                format!("Security rule {name} has invalid {field}: {}.", e.message),
            ));
        }
    }
    Ok(())
}

impl World {
    /// `PUT …/networkInterfaces/{name}`: updates an existing NIC (its NSG association, ip
    /// configurations, …) with `If-Match`, as ARM does; the NSG it names must exist. Creating
    /// NICs is not emulated (404).
    pub fn put_nic(
        &mut self,
        sub: &str,
        rg: &str,
        name: &str,
        body: &[u8],
        cond: &Conditions,
    ) -> Result<NetworkInterface, Fail> {
        self.check_scope(sub, Some(rg))?;
        let id = format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/networkInterfaces/{name}");
        let pos = self
            .inventory
            .network_interfaces
            .iter()
            .position(|n| id_key(&n.id) == id_key(&id));
        cond.check(
            pos.and_then(|i| self.inventory.network_interfaces[i].etag.as_deref()),
            &format!("network interface '{name}'"),
        )?;
        let Some(i) = pos else {
            return Err(Fail::resource_not_found(
                "Microsoft.Network/networkInterfaces",
                name,
                rg,
            ));
        };
        let mut nic: NetworkInterface = parse_body(body)?;
        if let Some(nsg) = nic
            .properties
            .network_security_group
            .as_ref()
            .and_then(|r| r.id.as_deref())
        {
            if self.nsg(nsg).is_none() {
                return Err(Fail::bad_request(
                    "InvalidResourceReference",
                    format!("Resource {nsg} referenced by resource {id} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region."),
                ));
            }
        }
        let current = &self.inventory.network_interfaces[i];
        nic.id = current.id.clone();
        nic.name = current.name.clone();
        nic.location = current.location.clone();
        nic.kind = current.kind.clone();
        if nic.properties.virtual_machine.is_none() {
            nic.props_mut().virtual_machine = current.properties.virtual_machine.clone();
        }
        if nic.properties.ip_configurations.is_empty() {
            nic.props_mut().ip_configurations = current.properties.ip_configurations.clone();
        }
        nic.props_mut().provisioning_state = Some("Succeeded".into());
        nic.etag = Some(self.new_etag());
        self.inventory.network_interfaces[i] = nic.clone();
        Ok(nic)
    }

    fn nsg_id(sub: &str, rg: &str, name: &str) -> String {
        format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/{NSG_TYPE}/{name}")
    }

    /// Gives an NSG a new ETag and stamps it on every custom rule (ARM does the same).
    pub fn touch_nsg(&mut self, idx: usize, provisioning: &str) {
        let etag = self.new_etag();
        let nsg = &mut self.inventory.network_security_groups[idx];
        nsg.etag = Some(etag.clone());
        nsg.props_mut().provisioning_state = Some(provisioning.to_string());
        let nsg_id = nsg.id.clone();
        for r in &mut nsg.props_mut().security_rules {
            let name = r.name.clone().unwrap_or_default();
            r.id = Some(format!("{nsg_id}/securityRules/{name}"));
            r.kind = Some(RULE_TYPE.to_string());
            r.etag = Some(etag.clone());
            if r.properties.provisioning_state.is_none() || provisioning == "Succeeded" {
                r.properties.provisioning_state = Some(provisioning.to_string());
            }
        }
        nsg.props_mut().default_security_rules = Vec::new();
    }

    /// PUT networkSecurityGroups/{name}: returns (created, the NSG as stored).
    pub fn put_nsg(
        &mut self,
        sub: &str,
        rg: &str,
        name: &str,
        body: &[u8],
        cond: &Conditions,
    ) -> Result<(bool, NetworkSecurityGroup), Fail> {
        self.check_scope(sub, Some(rg))?;
        let id = Self::nsg_id(sub, rg, name);
        let existing = self.nsg_index(&id);
        cond.check(
            existing.and_then(|i| self.inventory.network_security_groups[i].etag.as_deref()),
            &format!("network security group '{name}'"),
        )?;
        let mut nsg: NetworkSecurityGroup = parse_body(body)?;
        validate_rules(&nsg.properties.security_rules)?;
        let location = match (&nsg.location, existing) {
            (Some(l), Some(i)) => {
                let cur = self.inventory.network_security_groups[i]
                    .location
                    .clone()
                    .unwrap_or_default();
                if !l.eq_ignore_ascii_case(&cur) {
                    return Err(Fail::bad_request(
                        "InvalidResourceLocation",
                        format!("The resource '{name}' already exists in location '{cur}' in resource group '{rg}'. A resource with the same name cannot be created in location '{l}'. Please select a new resource name."),
                    ));
                }
                cur
            }
            (Some(l), None) => l.clone(),
            (None, Some(i)) => self.inventory.network_security_groups[i]
                .location
                .clone()
                .unwrap_or_default(),
            (None, None) => {
                return Err(Fail::bad_request(
                    "LocationRequired",
                    "The location property is required for this definition.",
                ));
            }
        };
        nsg.id = existing
            .map(|i| self.inventory.network_security_groups[i].id.clone())
            .unwrap_or(id);
        nsg.name = Some(name.to_string());
        nsg.location = Some(location);
        nsg.kind = Some(NSG_TYPE.to_string());
        // read-only associations are ARM's, never the caller's
        nsg.props_mut().network_interfaces = Vec::new();
        nsg.props_mut().subnets = Vec::new();
        for r in &mut nsg.props_mut().security_rules {
            r.properties.provisioning_state = Some("Updating".into());
        }
        let idx = match existing {
            Some(i) => {
                self.inventory.network_security_groups[i] = nsg;
                i
            }
            None => {
                self.inventory.network_security_groups.push(nsg);
                self.inventory.network_security_groups.len() - 1
            }
        };
        self.touch_nsg(idx, "Updating");
        Ok((
            existing.is_none(),
            self.with_associations(&self.inventory.network_security_groups[idx]),
        ))
    }

    /// The NSG with its read-only `networkInterfaces` / `subnets` back-references filled in.
    pub fn with_associations(&self, nsg: &NetworkSecurityGroup) -> NetworkSecurityGroup {
        self.with_associations_all(&[nsg])
            .pop()
            .unwrap_or_else(|| nsg.clone())
    }

    /// [`World::with_associations`] for many NSGs (a list page), in one pass over the NICs and
    /// subnets: listing stays linear however many NSGs and NICs the tenant has.
    pub fn with_associations_all(
        &self,
        nsgs: &[&NetworkSecurityGroup],
    ) -> Vec<NetworkSecurityGroup> {
        let mut refs: HashMap<String, (Vec<SubResource>, Vec<SubResource>)> = nsgs
            .iter()
            .map(|n| (id_key(&n.id), Default::default()))
            .collect();
        let nsg_of = |r: Option<&SubResource>| r.and_then(|r| r.id.as_deref()).map(id_key);
        for n in &self.inventory.network_interfaces {
            if let Some(entry) = nsg_of(n.properties.network_security_group.as_ref())
                .and_then(|key| refs.get_mut(&key))
            {
                entry.0.push(SubResource::new(n.id.clone()));
            }
        }
        for s in self
            .inventory
            .virtual_networks
            .iter()
            .flat_map(|v| v.properties.subnets.iter())
        {
            if let (Some(entry), Some(id)) = (
                nsg_of(s.properties.network_security_group.as_ref())
                    .and_then(|key| refs.get_mut(&key)),
                s.id.clone(),
            ) {
                entry.1.push(SubResource::new(id));
            }
        }
        nsgs.iter()
            .map(|nsg| {
                let mut out = (*nsg).clone();
                // the six default rules are not kept in the state (the shared types drop them
                // on input): regenerate them on output, as ARM always lists them
                out.props_mut().default_security_rules = default_security_rules(&nsg.id)
                    .into_iter()
                    .map(|mut d| {
                        d.etag = nsg.etag.clone();
                        d.kind = Some(
                            "Microsoft.Network/networkSecurityGroups/defaultSecurityRules".into(),
                        );
                        d
                    })
                    .collect();
                let (nics, subnets) = refs.get(&id_key(&nsg.id)).cloned().unwrap_or_default();
                out.props_mut().network_interfaces = nics;
                out.props_mut().subnets = subnets;
                out
            })
            .collect()
    }

    /// DELETE networkSecurityGroups/{name}: `Ok(false)` when it did not exist.
    pub fn delete_nsg(
        &mut self,
        sub: &str,
        rg: &str,
        name: &str,
        cond: &Conditions,
    ) -> Result<bool, Fail> {
        self.check_scope(sub, None)?;
        let id = Self::nsg_id(sub, rg, name);
        let Some(idx) = self.nsg_index(&id) else {
            cond.check(None, &format!("network security group '{name}'"))?;
            return Ok(false);
        };
        let nsg = &self.inventory.network_security_groups[idx];
        cond.check(
            nsg.etag.as_deref(),
            &format!("network security group '{name}'"),
        )?;
        let assoc = self.with_associations(nsg);
        if let Some(user) = assoc
            .properties
            .network_interfaces
            .first()
            .or(assoc.properties.subnets.first())
        {
            return Err(Fail::bad_request(
                "InUseNetworkSecurityGroupCannotBeDeleted",
                format!(
                    "Network security group {} cannot be deleted because it is in use by {}.",
                    nsg.id,
                    user.id.clone().unwrap_or_default()
                ),
            ));
        }
        self.inventory.network_security_groups.remove(idx);
        Ok(true)
    }

    fn nsg_for_rule(&self, sub: &str, rg: &str, nsg: &str) -> Result<usize, Fail> {
        self.check_scope(sub, None)?;
        self.nsg_index(&Self::nsg_id(sub, rg, nsg))
            .ok_or_else(|| Fail::resource_not_found(NSG_TYPE, nsg, rg))
    }

    /// The NSG's index and the rule's position in it (`None`: no such rule yet), after the
    /// request's If-Match / If-None-Match conditions are checked against the rule's ETag.
    fn locate_rule(
        &self,
        sub: &str,
        rg: &str,
        nsg: &str,
        rule_name: &str,
        cond: &Conditions,
    ) -> Result<(usize, Option<usize>), Fail> {
        let idx = self.nsg_for_rule(sub, rg, nsg)?;
        let rules = &self.inventory.network_security_groups[idx]
            .properties
            .security_rules;
        let pos = rule_position(rules, rule_name);
        cond.check(
            pos.and_then(|p| rules[p].etag.as_deref()),
            &format!("security rule '{rule_name}'"),
        )?;
        Ok((idx, pos))
    }

    /// PUT .../securityRules/{rule}: returns (created, the rule as stored).
    pub fn put_rule(
        &mut self,
        sub: &str,
        rg: &str,
        nsg: &str,
        rule_name: &str,
        body: &[u8],
        cond: &Conditions,
    ) -> Result<(bool, SecurityRule), Fail> {
        let (idx, pos) = self.locate_rule(sub, rg, nsg, rule_name, cond)?;
        let rules = &self.inventory.network_security_groups[idx]
            .props_mut()
            .security_rules;
        let mut rule: SecurityRule = parse_body(body)?;
        rule.name = Some(
            pos.and_then(|p| rules[p].name.clone())
                .unwrap_or_else(|| rule_name.to_string()),
        );
        rule.properties.provisioning_state = Some("Updating".into());
        let mut all = rules.clone();
        match pos {
            Some(p) => all[p] = rule,
            None => all.push(rule),
        }
        validate_rules(&all)?;
        self.inventory.network_security_groups[idx]
            .props_mut()
            .security_rules = all;
        self.touch_nsg(idx, "Updating");
        let rules = &self.inventory.network_security_groups[idx]
            .props_mut()
            .security_rules;
        let stored = rule_position(rules, rule_name)
            .map(|p| rules[p].clone())
            .unwrap_or_default();
        Ok((pos.is_none(), stored))
    }

    /// DELETE .../securityRules/{rule}: `Ok(false)` when it did not exist.
    pub fn delete_rule(
        &mut self,
        sub: &str,
        rg: &str,
        nsg: &str,
        rule_name: &str,
        cond: &Conditions,
    ) -> Result<bool, Fail> {
        let (idx, pos) = self.locate_rule(sub, rg, nsg, rule_name, cond)?;
        let Some(p) = pos else { return Ok(false) };
        self.inventory.network_security_groups[idx]
            .props_mut()
            .security_rules
            .remove(p);
        self.touch_nsg(idx, "Succeeded");
        Ok(true)
    }

    /// Starts a long-running operation on `resource_id`; returns its id.
    pub fn start_operation(
        &mut self,
        sub: &str,
        location: &str,
        resource_id: &str,
        is_delete: bool,
    ) -> String {
        let id = self.rng.guid();
        let now = self.now();
        self.operations.insert(
            id.clone(),
            Operation {
                id: id.clone(),
                subscription_id: sub.to_string(),
                location: location.to_string(),
                status: "InProgress".into(),
                polls_left: self.lro_polls,
                start_time: format_time(now),
                started_unix: now.unix_timestamp(),
                end_time: None,
                resource_id: resource_id.to_string(),
                is_delete,
            },
        );
        id
    }

    /// One poll of an operation: counts down, then completes it.
    pub fn poll_operation(&mut self, id: &str) -> Option<Operation> {
        let op = self.operations.get_mut(id)?;
        if op.status == "InProgress" {
            op.polls_left = op.polls_left.saturating_sub(1);
            if op.polls_left == 0 {
                let id = op.id.clone();
                self.complete_operation(&id);
            }
        }
        self.operations.get(id).cloned()
    }

    fn complete_operation(&mut self, id: &str) {
        let end = self.now_str();
        let Some(op) = self.operations.get_mut(id) else {
            return;
        };
        op.status = "Succeeded".into();
        op.end_time = Some(end);
        let rid = op.resource_id.clone();
        if let Some(idx) = self.nsg_index(&rid) {
            let nsg = &mut self.inventory.network_security_groups[idx];
            nsg.props_mut().provisioning_state = Some("Succeeded".into());
            for r in &mut nsg.props_mut().security_rules {
                r.properties.provisioning_state = Some("Succeeded".into());
            }
        }
    }

    /// Completes operations nobody polls (two seconds after they started) and forgets
    /// finished ones after an hour. Returns whether anything changed.
    pub fn settle_operations(&mut self) -> bool {
        let now = self.now().unix_timestamp();
        let due: Vec<String> = self
            .operations
            .values()
            .filter(|o| o.status == "InProgress" && now - o.started_unix >= 2)
            .map(|o| o.id.clone())
            .collect();
        for id in &due {
            self.complete_operation(id);
        }
        let before = self.operations.len();
        self.operations
            .retain(|_, o| o.status == "InProgress" || now - o.started_unix < 3600);
        !due.is_empty() || before != self.operations.len()
    }
}

/// 200 for an update, 201 for a create.
pub fn put_status(created: bool) -> StatusCode {
    if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

/// Firewall writes: a Firewall Policy rule collection group or a (classic) Azure Firewall,
/// replaced whole under If-Match, with a new ETag. Only existing resources (no creation).
impl World {
    pub fn put_rule_collection_group(
        &mut self,
        id: &str,
        body: &[u8],
        cond: &Conditions,
    ) -> Result<serde_json::Value, Fail> {
        let i = position_or_404(
            self.inventory
                .firewall_policy_rule_collection_groups
                .iter()
                .map(|g| g.id.as_str()),
            id,
            "Microsoft.Network/firewallPolicies/ruleCollectionGroups",
        )?;
        let current = self.inventory.firewall_policy_rule_collection_groups[i]
            .etag
            .clone();
        cond.check(current.as_deref(), "ruleCollectionGroup")?;
        let mut g: portcullis_shared::arm::FirewallPolicyRuleCollectionGroup =
            serde_json::from_slice(body).map_err(Fail::invalid_content)?;
        validate_dnat_rules(&g)?;
        let old = &self.inventory.firewall_policy_rule_collection_groups[i];
        g.id = old.id.clone();
        g.name = old.name.clone();
        g.kind = old.kind.clone();
        g.etag = Some(self.new_etag());
        g.properties.provisioning_state = Some("Succeeded".into());
        self.inventory.firewall_policy_rule_collection_groups[i] = g.clone();
        Ok(serde_json::to_value(g).unwrap_or_default())
    }

    pub fn put_firewall(
        &mut self,
        id: &str,
        body: &[u8],
        cond: &Conditions,
    ) -> Result<serde_json::Value, Fail> {
        let i = position_or_404(
            self.inventory.azure_firewalls.iter().map(|f| f.id.as_str()),
            id,
            "Microsoft.Network/azureFirewalls",
        )?;
        cond.check(
            self.inventory.azure_firewalls[i].etag.as_deref(),
            "azureFirewall",
        )?;
        let mut f: portcullis_shared::arm::AzureFirewall =
            serde_json::from_slice(body).map_err(Fail::invalid_content)?;
        let old = &self.inventory.azure_firewalls[i];
        f.id = old.id.clone();
        f.name = old.name.clone();
        f.kind = old.kind.clone();
        if f.location.is_none() {
            f.location = old.location.clone();
        }
        f.etag = Some(self.new_etag());
        f.properties.provisioning_state = Some("Succeeded".into());
        self.inventory.azure_firewalls[i] = f.clone();
        Ok(serde_json::to_value(f).unwrap_or_default())
    }
}

/// The position of the resource `id` among `ids` (any case), or ARM's 404 for `provider_type`.
fn position_or_404<'a>(
    ids: impl Iterator<Item = &'a str>,
    id: &str,
    provider_type: &str,
) -> Result<usize, Fail> {
    let key = portcullis_shared::arm::id_key(id);
    let mut ids = ids;
    ids.position(|x| portcullis_shared::arm::id_key(x) == key)
        .ok_or_else(|| {
            Fail::resource_not_found(
                provider_type,
                id.rsplit('/').next().unwrap_or_default(),
                &portcullis_shared::arm::id_scope(id).1,
            )
        })
}

/// ARM refuses DNAT rules without a translated port or with a malformed source.
fn validate_dnat_rules(
    g: &portcullis_shared::arm::FirewallPolicyRuleCollectionGroup,
) -> Result<(), Fail> {
    for c in &g.properties.rule_collections {
        for r in &c.rules {
            if !r
                .rule_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("NatRule"))
            {
                continue;
            }
            let name = r.name.as_deref().unwrap_or("?");
            if r.source_addresses.is_empty() && r.source_ip_groups.is_empty() {
                return Err(Fail::bad_request(
                    "FirewallPolicyRuleSourceAddressesOrSourceIpGroupsRequired",
                    format!("Rule '{name}' must have sourceAddresses or sourceIpGroups."),
                ));
            }
            for s in &r.source_addresses {
                let ok = s.trim() == "*"
                    || portcullis_shared::net::Cidr::parse(s).is_some()
                    || s.split_once('-').is_some_and(|(a, b)| {
                        portcullis_shared::net::addr::parse_ip(a.trim()).is_some()
                            && portcullis_shared::net::addr::parse_ip(b.trim()).is_some()
                    });
                if !ok {
                    return Err(Fail::bad_request(
                        "FirewallPolicyRuleInvalidSourceAddress",
                        format!("Rule '{name}' has an invalid source address '{s}'."),
                    ));
                }
            }
            if r.translated_port
                .as_deref()
                .is_none_or(|p| p.trim().parse::<u16>().is_err())
            {
                return Err(Fail::bad_request(
                    "FirewallPolicyNatRuleInvalidTranslatedPort",
                    format!("Rule '{name}' has an invalid translatedPort."),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_shared::fleet::Rule;

    fn codes(rules: Vec<Rule>) -> Result<(), String> {
        let rules: Vec<SecurityRule> = rules.into_iter().map(|r| r.0).collect();
        validate_rules(&rules).map_err(|f| f.code)
    }

    #[test]
    fn arm_rule_validation() {
        assert_eq!(
            codes(vec![
                Rule::allow("ok", 100).port("22"),
                Rule::deny("ok2", 4096)
            ]),
            Ok(())
        );
        assert_eq!(
            codes(vec![Rule::allow("p", 99)]),
            Err("SecurityRuleInvalidPriority".into())
        );
        assert_eq!(
            codes(vec![Rule::allow("p", 4097)]),
            Err("SecurityRuleInvalidPriority".into())
        );
        assert_eq!(
            codes(vec![Rule::allow("a", 300), Rule::deny("b", 300)]),
            Err("SecurityRuleConflict".into())
        );
        // same priority in the other direction is fine
        assert_eq!(
            codes(vec![Rule::allow("a", 300), Rule::deny("b", 300).outbound()]),
            Ok(())
        );
        assert_eq!(
            codes(vec![Rule::allow("a", 300).port("70000")]),
            Err("SecurityRuleInvalidPortRange".into())
        );
        assert_eq!(
            codes(vec![Rule::allow("a", 300).from("10.0.0.0/33")]),
            Err("SecurityRuleInvalidAddressPrefix".into())
        );
        assert_eq!(
            codes(vec![Rule::allow("a", 300).protocol("Gre")]),
            Err("SecurityRuleInvalidProtocol".into())
        );
        assert_eq!(
            codes(vec![Rule::allow("-bad", 300)]),
            Err("InvalidResourceName".into())
        );
        let mut r = Rule::allow("a", 300);
        r.0.properties.direction = None;
        assert_eq!(codes(vec![r]), Err("SecurityRuleParameterMissing".into()));
    }

    #[test]
    fn conditions() {
        let c = |m: Option<&str>, n: Option<&str>| Conditions {
            if_match: m.map(str::to_string),
            if_none_match: n.map(str::to_string),
        };
        let etag = "W/\"abc\"";
        assert!(c(None, None).check(Some(etag), "x").is_ok());
        assert!(c(Some("W/\"abc\""), None).check(Some(etag), "x").is_ok());
        assert!(c(Some("\"abc\""), None).check(Some(etag), "x").is_ok());
        assert_eq!(
            c(Some("W/\"old\""), None)
                .check(Some(etag), "x")
                .unwrap_err()
                .status,
            StatusCode::PRECONDITION_FAILED
        );
        assert!(c(Some("*"), None).check(None, "x").is_err());
        assert!(c(None, Some("*")).check(Some(etag), "x").is_err());
        assert!(c(None, Some("*")).check(None, "x").is_ok());
    }
}
