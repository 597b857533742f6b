//! Microsoft.Resources as ARM serves it: tenants, resource groups, the generic resource list
//! (with the `$filter` forms listed below) and the resource providers, whose resource types and
//! api-versions come from the one version table (`portcullis_shared::arm::versions`); and
//! Microsoft.Management's management groups: the tenant root group, and under it
//! [`ESTATE_MANAGEMENT_GROUP`] holding every subscription (Resource Graph's `managementGroups`
//! scope reads the same).
use super::demo::ESTATE_MANAGEMENT_GROUP;
use super::http::Fail;
use super::world::{Kind, World};
use portcullis_shared::arm::versions::PROVIDER_TYPES;
use portcullis_shared::arm::Resource;
use portcullis_shared::arm::{id_key, id_scope_ref};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// One `$filter` clause of the generic resource list.
#[derive(Debug, Clone, PartialEq)]
enum Clause {
    ResourceType(String),
    Location(String),
    Name(String),
    TagName(String),
    TagValue(String),
}

/// A parsed `$filter`: clauses joined by `and` (ARM's forms `resourceType eq 'T'`,
/// `location eq 'L'`, `name eq 'N'`, `tagName eq 'K'` [`and tagValue eq 'V'`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter(Vec<Clause>);

impl Filter {
    /// Parses `$filter`; anything else is refused with ARM's `InvalidFilterInQueryString`, since
    /// a filter silently ignored would answer with everything and read as a result.
    pub fn parse(text: Option<&str>) -> Result<Filter, Fail> {
        let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(Filter::default());
        };
        let bad = |why: &str| {
            Fail::bad_request(
                "InvalidFilterInQueryString",
                format!("The $filter '{text}' is invalid: {why}. The emulator filters by resourceType, location, name, tagName and tagValue with 'eq', joined by 'and'."),
            )
        };
        let mut clauses = Vec::new();
        for part in split_and(text) {
            let part = part.trim();
            let (field, rest) = part
                .split_once(char::is_whitespace)
                .ok_or_else(|| bad(&format!("'{part}' is not 'field eq value'")))?;
            let rest = rest.trim_start();
            let value = rest
                .get(..2)
                .filter(|op| op.eq_ignore_ascii_case("eq"))
                .map(|_| rest[2..].trim())
                .ok_or_else(|| bad(&format!("'{part}': only 'eq' is supported")))?;
            let value = value
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .ok_or_else(|| bad(&format!("'{part}': the value must be quoted")))?
                .replace("''", "'");
            clauses.push(match field.to_ascii_lowercase().as_str() {
                "resourcetype" => Clause::ResourceType(value),
                "location" => Clause::Location(value),
                "name" => Clause::Name(value),
                "tagname" => Clause::TagName(value),
                "tagvalue" => Clause::TagValue(value),
                _ => return Err(bad(&format!("unknown field '{field}'"))),
            });
        }
        let has_tag_name = clauses.iter().any(|c| matches!(c, Clause::TagName(_)));
        if clauses.iter().any(|c| matches!(c, Clause::TagValue(_))) && !has_tag_name {
            return Err(bad("tagValue needs tagName"));
        }
        Ok(Filter(clauses))
    }

    /// Whether a resource, in the generic list's shape, passes.
    fn keeps(&self, r: &Value) -> bool {
        let text =
            |k: &str, want: &str| r[k].as_str().is_some_and(|x| x.eq_ignore_ascii_case(want));
        let tags = r["tags"].as_object();
        let tag_name = self.0.iter().find_map(|c| match c {
            Clause::TagName(n) => Some(n),
            _ => None,
        });
        self.0.iter().all(|c| match c {
            Clause::ResourceType(t) => text("type", t),
            Clause::Location(l) => text("location", l),
            Clause::Name(n) => text("name", n),
            Clause::TagName(n) => tags.is_some_and(|t| t.keys().any(|k| k.eq_ignore_ascii_case(n))),
            Clause::TagValue(v) => tags.is_some_and(|t| {
                t.iter().any(|(k, x)| {
                    tag_name.is_some_and(|n| k.eq_ignore_ascii_case(n)) && x.as_str() == Some(v)
                })
            }),
        })
    }
}

/// `a and b and c` (the keyword in any case, outside quoted values).
fn split_and(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted) = (0, false);
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => quoted = !quoted,
            b' ' if !quoted
                && text
                    .get(i..i + 5)
                    .is_some_and(|w| w.eq_ignore_ascii_case(" and ")) =>
            {
                parts.push(&text[start..i]);
                i += 5;
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(&text[start..]);
    parts
}

/// A resource as the generic list shows it.
fn generic<P>(r: &Resource<P>, ty: &str) -> Value {
    let mut o = base(&r.id, r.name.as_deref(), ty, r.location.as_deref());
    if let Some(s) = &r.sku {
        o.insert("sku".into(), json!(s));
    }
    if !r.tags.is_empty() {
        o.insert("tags".into(), json!(r.tags));
    }
    Value::Object(o)
}

/// id, name, type and location.
fn base(id: &str, name: Option<&str>, ty: &str, location: Option<&str>) -> Map<String, Value> {
    let mut o = Map::new();
    o.insert("id".into(), json!(id));
    if let Some(n) = name {
        o.insert("name".into(), json!(n));
    }
    o.insert("type".into(), json!(ty));
    if let Some(l) = location {
        o.insert("location".into(), json!(l));
    }
    o
}

impl World {
    /// Calls `each(resource type, id, location, generic JSON)` for every resource the generic
    /// list holds, kind by kind, in stored order.
    fn for_each_resource(
        &self,
        mut each: impl FnMut(&str, &str, Option<&str>, &dyn Fn() -> Value),
    ) {
        let inv = &self.inventory;
        macro_rules! kind {
            ($list:expr, $kind:expr) => {
                let ty = $kind.provider_type();
                for r in &$list {
                    each(ty, &r.id, r.location.as_deref(), &|| generic(r, ty));
                }
            };
        }
        kind!(inv.virtual_machines, Kind::VirtualMachines);
        kind!(inv.network_interfaces, Kind::NetworkInterfaces);
        kind!(inv.public_ip_addresses, Kind::PublicIpAddresses);
        kind!(inv.virtual_networks, Kind::VirtualNetworks);
        kind!(inv.network_security_groups, Kind::NetworkSecurityGroups);
        let ty = Kind::ApplicationSecurityGroups.provider_type();
        for r in &inv.application_security_groups {
            let (name, location) = (r.name.as_deref(), r.location.as_deref());
            each(ty, &r.id, location, &|| {
                Value::Object(base(&r.id, name, ty, location))
            });
        }
        kind!(inv.load_balancers, Kind::LoadBalancers);
        kind!(inv.azure_firewalls, Kind::AzureFirewalls);
        kind!(inv.bastion_hosts, Kind::BastionHosts);
        kind!(inv.ip_groups, Kind::IpGroups);
        kind!(inv.application_gateways, Kind::ApplicationGateways);
        for (p, ty) in self
            .firewall_policies()
            .into_iter()
            .map(|p| (p, POLICY_TYPE))
            .chain(
                self.network_managers()
                    .into_iter()
                    .map(|m| (m, MANAGER_TYPE)),
            )
        {
            let id = p["id"].as_str().unwrap_or_default().to_string();
            let location = p["location"].as_str().map(str::to_string);
            let name = p["name"].as_str();
            each(ty, &id, location.as_deref(), &|| {
                Value::Object(base(&id, name, ty, location.as_deref()))
            });
        }
    }

    /// The generic resource list of a subscription (or one of its resource groups).
    pub fn generic_resources(&self, sub: &str, rg: Option<&str>, filter: &Filter) -> Vec<Value> {
        let mut out = Vec::new();
        self.for_each_resource(|_, id, _, json| {
            let (s, g) = id_scope_ref(id);
            if s.eq_ignore_ascii_case(sub) && rg.is_none_or(|rg| g.eq_ignore_ascii_case(rg)) {
                let r = json();
                if filter.keeps(&r) {
                    out.push(r);
                }
            }
        });
        out
    }

    /// The resource groups of a subscription: every group that holds a resource (the emulator
    /// keeps no empty ones), by name, located where its first resource is.
    pub fn resource_groups(&self, sub: &str) -> Vec<Value> {
        let mut groups: BTreeMap<String, (String, String)> = BTreeMap::new();
        self.for_each_resource(|_, id, location, _| {
            let (s, g) = id_scope_ref(id);
            if s.eq_ignore_ascii_case(sub) && !g.is_empty() {
                groups
                    .entry(g.to_ascii_lowercase())
                    .or_insert_with(|| (g.to_string(), location.unwrap_or("westeurope").into()));
            }
        });
        groups
            .into_values()
            .map(|(name, location)| resource_group_json(sub, &name, &location))
            .collect()
    }

    /// The locations the world's resources are in, as ARM's display names.
    fn display_locations(&self) -> Vec<String> {
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        self.for_each_resource(|_, _, location, _| {
            if let Some(l) = location {
                seen.entry(l.to_ascii_lowercase())
                    .or_insert_with(|| display_location(l));
            }
        });
        seen.into_values().collect()
    }

    /// The resource providers the emulator serves, as `GET .../providers` lists them.
    pub fn providers(&self, sub: &str) -> Vec<Value> {
        let locations = self.display_locations();
        PROVIDER_TYPES
            .iter()
            .map(|(ns, types)| {
                let types: Vec<Value> = types
                    .iter()
                    .map(|(ty, family)| {
                        let mut versions: Vec<&str> = family.supported().to_vec();
                        versions.sort_unstable_by(|a, b| b.cmp(a));
                        // regional resource types list the regions; the others are global
                        let regional = matches!(*ns, "Microsoft.Compute" | "Microsoft.Network")
                            && !ty.starts_with("locations/");
                        let located: &[String] = if regional { &locations } else { &[] };
                        json!({
                            "resourceType": ty,
                            "locations": located,
                            "apiVersions": versions,
                            "capabilities": if regional { "SupportsTags, SupportsLocation" } else { "None" },
                        })
                    })
                    .collect();
                json!({
                    "id": format!("/subscriptions/{sub}/providers/{ns}"),
                    "namespace": ns,
                    "registrationState": "Registered",
                    "registrationPolicy": "RegistrationRequired",
                    "resourceTypes": types,
                })
            })
            .collect()
    }

    /// One provider by namespace (case-insensitive), or ARM's 404 for a namespace it lacks.
    pub fn provider(&self, sub: &str, namespace: &str) -> Result<Value, Fail> {
        self.providers(sub)
            .into_iter()
            .find(|p| {
                p["namespace"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(namespace))
            })
            .ok_or_else(|| {
                Fail::new(
                    axum::http::StatusCode::NOT_FOUND,
                    "InvalidResourceNamespace",
                    format!("The resource namespace '{namespace}' is invalid."),
                )
            })
    }

    /// The tenant the world belongs to, as `GET /tenants` lists it.
    pub fn tenant_json(&self) -> Value {
        json!({
            "id": format!("/tenants/{}", self.tenant_id),
            "tenantId": self.tenant_id,
            "tenantCategory": "Home",
            "country": "Netherlands",
            "countryCode": "NL",
            "displayName": "Contoso",
            "domains": ["contoso.onmicrosoft.com"],
            "defaultDomain": "contoso.onmicrosoft.com",
            "tenantType": "AAD",
        })
    }
}

const MG_TYPE: &str = "Microsoft.Management/managementGroups";

fn mg_id(name: &str) -> String {
    format!("/providers/{MG_TYPE}/{name}")
}

impl World {
    /// The management groups: (name, display name, parent name).
    fn management_groups(&self) -> [(String, &'static str, Option<String>); 2] {
        let root = self.tenant_id.clone();
        [
            (root.clone(), "Tenant Root Group", None),
            (ESTATE_MANAGEMENT_GROUP.to_string(), "Contoso", Some(root)),
        ]
    }

    /// `GET /providers/Microsoft.Management/managementGroups`.
    pub fn list_management_groups(&self) -> Vec<Value> {
        self.management_groups()
            .iter()
            .map(|(name, display, _)| {
                json!({"id": mg_id(name), "type": MG_TYPE, "name": name,
                    "properties": {"tenantId": self.tenant_id, "displayName": display}})
            })
            .collect()
    }

    /// Whether `name` is one of the world's management groups (case-insensitive).
    pub fn has_management_group(&self, name: &str) -> bool {
        self.management_groups()
            .iter()
            .any(|(n, _, _)| n.eq_ignore_ascii_case(name))
    }

    /// `GET .../managementGroups/{name}` (`expand`: list its children). A group that does not
    /// exist is ARM's 403 `AuthorizationFailed` ("... or the scope is invalid"), not a 404.
    pub fn management_group(&self, name: &str, expand: bool) -> Result<Value, Fail> {
        let groups = self.management_groups();
        let (name, display, parent) = groups
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                Fail::new(
                    axum::http::StatusCode::FORBIDDEN,
                    "AuthorizationFailed",
                    format!("The client does not have authorization to perform action 'Microsoft.Management/managementGroups/read' over scope '{}' or the scope is invalid. If access was recently granted, please refresh your credentials.", mg_id(name)),
                )
            })?;
        let mut details = json!({"version": 1, "updatedTime": "2026-01-05T09:00:00.0000000Z",
            "updatedBy": "00000000-0000-0000-0000-000000000000"});
        if let Some(p) = parent {
            let pd = groups.iter().find(|(n, _, _)| n == p).map_or("", |g| g.1);
            details["parent"] = json!({"id": mg_id(p), "name": p, "displayName": pd});
        }
        let mut v = json!({"id": mg_id(name), "type": MG_TYPE, "name": name,
            "properties": {"tenantId": self.tenant_id, "displayName": display, "details": details}});
        if expand {
            let children: Vec<Value> = self.mg_children(name);
            v["properties"]["children"] = json!(children);
        }
        Ok(v)
    }

    /// The direct children of a group: groups, or (the estate group) every subscription.
    fn mg_children(&self, name: &str) -> Vec<Value> {
        let groups = self.management_groups();
        let mut out: Vec<Value> = groups
            .iter()
            .filter(|(_, _, p)| p.as_deref().is_some_and(|p| p.eq_ignore_ascii_case(name)))
            .map(|(n, d, _)| json!({"type": MG_TYPE, "id": mg_id(n), "name": n, "displayName": d}))
            .collect();
        if name.eq_ignore_ascii_case(ESTATE_MANAGEMENT_GROUP) {
            out.extend(self.subscriptions.iter().map(|s| {
                json!({"type": "/subscriptions", "id": format!("/subscriptions/{}", s.subscription_id),
                    "name": s.subscription_id, "displayName": s.display_name})
            }));
        }
        out
    }

    /// `GET .../managementGroups/{name}/descendants`: every group and subscription beneath it,
    /// each with its parent (Management Groups' `DescendantInfo`).
    pub fn management_group_descendants(&self, name: &str) -> Result<Vec<Value>, Fail> {
        let group = self.management_group(name, false)?;
        let mut out = Vec::new();
        let mut parents = vec![group["name"].as_str().unwrap_or_default().to_string()];
        while let Some(parent) = parents.pop() {
            for child in self.mg_children(&parent) {
                let ty = child["type"].as_str().unwrap_or_default().to_string();
                let child_name = child["name"].as_str().unwrap_or_default().to_string();
                out.push(json!({
                    "id": child["id"], "type": ty, "name": child_name,
                    "properties": {"displayName": child["displayName"],
                        "parent": {"id": mg_id(&parent)}},
                }));
                if ty == MG_TYPE {
                    parents.push(child_name);
                }
            }
        }
        Ok(out)
    }

    /// `GET .../managementGroups/{name}/subscriptions`: the subscriptions directly under it.
    pub fn management_group_subscriptions(&self, name: &str) -> Result<Vec<Value>, Fail> {
        let group = self.management_group(name, false)?;
        let name = group["name"].as_str().unwrap_or_default().to_string();
        if !name.eq_ignore_ascii_case(ESTATE_MANAGEMENT_GROUP) {
            return Ok(Vec::new());
        }
        Ok(self
            .subscriptions
            .iter()
            .map(|s| {
                json!({
                    "id": format!("{}/subscriptions/{}", mg_id(&name), s.subscription_id),
                    "type": "Microsoft.Management/managementGroups/subscriptions",
                    "name": s.subscription_id,
                    "properties": {"tenant": self.tenant_id, "displayName": s.display_name,
                        "parent": {"id": mg_id(&name)}, "state": "Active"},
                })
            })
            .collect())
    }
}

const POLICY_TYPE: &str = "Microsoft.Network/firewallPolicies";

/// A firewall policy being gathered: id, rule collection groups, firewalls, child policies, and
/// the policy as the inventory gives it (if it does).
#[derive(Default)]
struct PolicyParts {
    id: String,
    groups: Vec<Value>,
    firewalls: Vec<Value>,
    children: Vec<Value>,
    location: Option<String>,
    given: Option<Value>,
}

impl World {
    /// The firewall policies: those the inventory lists (`firewallPolicies`, for their
    /// `basePolicy`), and one for each other policy that a rule collection group, a firewall or
    /// a `basePolicy` names (a policy's other settings are Azure's defaults), each with its
    /// groups, the firewalls that use it and its child policies, in order of id.
    pub fn firewall_policies(&self) -> Vec<Value> {
        let inv = &self.inventory;
        // lower-case id -> the policy's parts
        let mut policies: BTreeMap<String, PolicyParts> = BTreeMap::new();
        fn entry<'p>(
            policies: &'p mut BTreeMap<String, PolicyParts>,
            id: &str,
        ) -> &'p mut PolicyParts {
            let e = policies.entry(id_key(id)).or_default();
            if e.id.is_empty() {
                e.id = id.trim().trim_end_matches('/').to_string();
            }
            e
        }
        for p in &inv.firewall_policies {
            let e = entry(&mut policies, &p.id);
            e.given = serde_json::to_value(p).ok();
            e.location = e.location.take().or_else(|| p.location.clone());
            if let Some(base) = p
                .properties
                .base_policy
                .as_ref()
                .and_then(|b| b.id.as_deref())
            {
                entry(&mut policies, base)
                    .children
                    .push(json!({ "id": p.id }));
            }
        }
        for g in &inv.firewall_policy_rule_collection_groups {
            let lower = g.id.to_ascii_lowercase();
            if let Some(at) = lower.find("/rulecollectiongroups/") {
                entry(&mut policies, &g.id[..at])
                    .groups
                    .push(json!({ "id": g.id }));
            }
        }
        for f in &inv.azure_firewalls {
            if let Some(pid) = f
                .properties
                .firewall_policy
                .as_ref()
                .and_then(|p| p.id.clone())
            {
                let e = entry(&mut policies, &pid);
                e.firewalls.push(json!({ "id": f.id }));
                e.location = e.location.take().or_else(|| f.location.clone());
            }
        }
        policies.into_values().map(PolicyParts::resource).collect()
    }
}

impl PolicyParts {
    /// The policy as ARM returns it: what the inventory gave, with the groups, firewalls and
    /// child policies as they are now, and Azure's defaults for the rest.
    fn resource(self) -> Value {
        let name = self.id.rsplit('/').next().unwrap_or_default().to_string();
        let mut v = self.given.unwrap_or_else(|| json!({}));
        let location = self.location.unwrap_or_else(|| "westeurope".into());
        for (k, default) in [
            ("id", json!(self.id)),
            ("name", json!(name)),
            ("type", json!(POLICY_TYPE)),
            ("location", json!(location)),
        ] {
            if v.get(k).is_none_or(Value::is_null) {
                v[k] = default;
            }
        }
        if !v["properties"].is_object() {
            v["properties"] = json!({});
        }
        let p = &mut v["properties"];
        for (k, default) in [
            ("provisioningState", json!("Succeeded")),
            ("sku", json!({ "tier": "Standard" })),
            ("threatIntelMode", json!("Alert")),
        ] {
            if p.get(k).is_none_or(Value::is_null) {
                p[k] = default;
            }
        }
        p["ruleCollectionGroups"] = json!(self.groups);
        p["firewalls"] = json!(self.firewalls);
        p["childPolicies"] = json!(self.children);
        v
    }
}

const MANAGER_TYPE: &str = "Microsoft.Network/networkManagers";

impl World {
    /// The Virtual Network Managers: one for each network manager that a VNet's effective
    /// security admin rules come from (the emulator keeps those rules; a manager's own
    /// settings are what they imply: security admin access, scoped to the subscriptions of the
    /// VNets it reaches), in order of id, located where the first such VNet is.
    pub fn network_managers(&self) -> Vec<Value> {
        let inv = &self.inventory;
        // lower-case id -> (id, scope subscriptions, location)
        let mut managers: BTreeMap<String, (String, BTreeSet<String>, Option<String>)> =
            BTreeMap::new();
        for applied in &inv.network_manager_effective_security_admin_rules {
            let vnet = applied.virtual_network.id.as_deref().unwrap_or_default();
            let location = inv
                .virtual_networks
                .iter()
                .find(|v| v.id.eq_ignore_ascii_case(vnet))
                .and_then(|v| v.location.clone());
            for rule in &applied.value {
                let id = rule.id.as_deref().unwrap_or_default();
                let lower = id.to_ascii_lowercase();
                let Some(at) = lower.find("/securityadminconfigurations/") else {
                    continue;
                };
                let e = managers
                    .entry(lower[..at].to_string())
                    .or_insert_with(|| (id[..at].to_string(), BTreeSet::new(), None));
                let (sub, _) = id_scope_ref(vnet);
                if !sub.is_empty() {
                    e.1.insert(format!("/subscriptions/{sub}"));
                }
                e.2 = e.2.take().or_else(|| location.clone());
            }
        }
        managers
            .into_values()
            .map(|(id, subscriptions, location)| {
                let name = id.rsplit('/').next().unwrap_or_default().to_string();
                json!({
                    "id": id,
                    "name": name,
                    "type": MANAGER_TYPE,
                    "location": location.unwrap_or_else(|| "westeurope".into()),
                    "etag": "W/\"00000000-0000-0000-0000-000000000001\"",
                    "properties": {
                        "provisioningState": "Succeeded",
                        "networkManagerScopes": {
                            "managementGroups": [],
                            "subscriptions": subscriptions.into_iter().collect::<Vec<_>>(),
                        },
                        "networkManagerScopeAccesses": ["SecurityAdmin"],
                    }
                })
            })
            .collect()
    }
}

impl World {
    /// PATCH of a resource's `tags` (the `update_tags` of the SDKs): the body is
    /// `{"tags": {...}}` and replaces the tags whole, as ARM does; any other field is refused
    /// (the emulator updates tags only). A new ETag; the resource as stored, or `None` when
    /// it does not exist.
    pub fn patch_tags(
        &mut self,
        kind: Kind,
        id: &str,
        body: &[u8],
        cond: &super::network::Conditions,
    ) -> Result<Option<Value>, Fail> {
        let v: Value = serde_json::from_slice(body).map_err(Fail::invalid_content)?;
        let obj = v
            .as_object()
            .ok_or_else(|| Fail::invalid_content("the body is not a JSON object"))?;
        if let Some(other) = obj.keys().find(|k| k.as_str() != "tags") {
            return Err(Fail::bad_request(
                "InvalidRequestContent",
                format!(
                    "The request content has '{other}': the emulator's PATCH updates 'tags' only."
                ),
            ));
        }
        let mut tags: BTreeMap<String, String> = BTreeMap::new();
        match obj.get("tags") {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (k, v) in m {
                    let v = v.as_str().ok_or_else(|| {
                        Fail::bad_request(
                            "InvalidTagValue",
                            format!("The value of tag '{k}' is not a string: {v}."),
                        )
                    })?;
                    tags.insert(k.clone(), v.to_string());
                }
            }
            Some(other) => {
                return Err(Fail::bad_request(
                    "InvalidRequestContent",
                    format!("'tags' must be an object of strings, not {other}."),
                ))
            }
        }
        let key = portcullis_shared::arm::id_key(id);
        let etag = self.new_etag();
        let inv = &mut self.inventory;
        macro_rules! patch {
            ($list:expr) => {{
                let Some(r) = $list
                    .iter_mut()
                    .find(|r| portcullis_shared::arm::id_key(&r.id) == key)
                else {
                    return Ok(None);
                };
                cond.check(r.etag.as_deref(), &r.id)?;
                r.tags = tags;
                r.etag = Some(etag);
            }};
        }
        match kind {
            Kind::VirtualMachines => patch!(inv.virtual_machines),
            Kind::NetworkInterfaces => patch!(inv.network_interfaces),
            Kind::PublicIpAddresses => patch!(inv.public_ip_addresses),
            Kind::VirtualNetworks => patch!(inv.virtual_networks),
            Kind::NetworkSecurityGroups => patch!(inv.network_security_groups),
            Kind::LoadBalancers => patch!(inv.load_balancers),
            Kind::AzureFirewalls => patch!(inv.azure_firewalls),
            Kind::BastionHosts => patch!(inv.bastion_hosts),
            Kind::IpGroups => patch!(inv.ip_groups),
            Kind::ApplicationGateways => patch!(inv.application_gateways),
            Kind::ApplicationSecurityGroups => {
                return Err(Fail::bad_request(
                    "InvalidRequestContent",
                    "The emulator keeps no tags on application security groups.",
                ))
            }
        }
        self.changed();
        Ok(self.get(kind, id))
    }
}

/// A resource group as ARM answers it.
pub fn resource_group_json(sub: &str, name: &str, location: &str) -> Value {
    json!({
        "id": format!("/subscriptions/{sub}/resourceGroups/{name}"),
        "name": name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": location,
        "properties": { "provisioningState": "Succeeded" },
    })
}

/// `westeurope` -> `West Europe` (the regions the demo uses; others as they are).
fn display_location(l: &str) -> String {
    match l.to_ascii_lowercase().as_str() {
        "westeurope" => "West Europe".into(),
        "northeurope" => "North Europe".into(),
        "eastus" => "East US".into(),
        "eastus2" => "East US 2".into(),
        "westus" => "West US".into(),
        "westus2" => "West US 2".into(),
        _ => l.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_as_arm_writes_them() {
        let f = Filter::parse(Some(
            "resourceType eq 'Microsoft.Compute/virtualMachines' AND location eq 'westeurope'",
        ))
        .expect("valid");
        assert_eq!(
            f.0,
            [
                Clause::ResourceType("Microsoft.Compute/virtualMachines".into()),
                Clause::Location("westeurope".into())
            ]
        );
        let f =
            Filter::parse(Some("tagName eq 'env' and tagValue eq 'it''s prod'")).expect("valid");
        assert_eq!(
            f.0,
            [
                Clause::TagName("env".into()),
                Clause::TagValue("it's prod".into())
            ]
        );
        assert_eq!(Filter::parse(None).expect("none"), Filter::default());
        assert_eq!(Filter::parse(Some("  ")).expect("blank"), Filter::default());
    }

    #[test]
    fn other_filters_are_refused_not_ignored() {
        for bad in [
            "managedBy eq 'someone'",
            "substringof('web', name)",
            "name ne 'x'",
            "name eq x",
            "tagValue eq 'prod'",
        ] {
            let e = Filter::parse(Some(bad)).expect_err(bad);
            assert_eq!(e.code, "InvalidFilterInQueryString", "{bad}");
            assert!(e.message.contains(bad), "{bad}: {}", e.message);
        }
    }
}
