//! ARM paths of the emulator, matched case-insensitively as ARM does, and their handlers.
use super::defender::CONTROL_ID;
use super::http::{json_response, page, page_window, Fail};
use super::jit::{delete_status, JIT_TYPE};
use super::network::{put_status, Conditions, NSG_TYPE};
use super::world::{Kind, World};
use axum::{
    body::Bytes,
    http::{HeaderMap, Method, StatusCode},
    response::{IntoResponse, Response},
};
use portcullis_shared::arm::id_key;
use serde_json::{json, Value};

/// An ARM request, parsed once.
#[derive(Debug)]
pub struct ArmRequest {
    pub method: Method,
    /// Path segments, percent-decoded, original case.
    pub segs: Vec<String>,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub api_version: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// `http://host:port`, for absolute `nextLink` and operation URLs.
    pub base: String,
    pub principal: String,
    pub peer: Option<String>,
    pub page_size: usize,
    pub retry_after_ms: u64,
}

impl ArmRequest {
    fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn conditions(&self) -> Conditions {
        let h = |n: &str| {
            self.headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        Conditions {
            if_match: h("if-match"),
            if_none_match: h("if-none-match"),
        }
    }

    fn skip_token(&self) -> Result<usize, Box<Response>> {
        match self.query("$skipToken") {
            None => Ok(0),
            Some(t) => t.parse::<usize>().map_err(|_| {
                Fail::bad_request(
                    "InvalidSkipToken",
                    format!("The skip token '{t}' is not valid."),
                )
                .into_response()
                .into()
            }),
        }
    }

    fn list(&self, items: &[Value]) -> Response {
        let skip = match self.skip_token() {
            Ok(n) => n,
            Err(response) => return *response,
        };
        let body = page(
            items,
            skip,
            self.page_size,
            &self.base,
            &self.path,
            &self.query,
        );
        json_response(StatusCode::OK, &body, &[])
    }

    /// [`ArmRequest::list`] for large lists: `fetch(skip, take)` returns only the page (and
    /// the total), so a page costs its own size, not the whole list's.
    fn list_paged(&self, fetch: impl FnOnce(usize, usize) -> (Vec<Value>, usize)) -> Response {
        let skip = match self.skip_token() {
            Ok(n) => n,
            Err(response) => return *response,
        };
        let take = self.page_size.max(1);
        let (items, total) = fetch(skip, take);
        let body = page_window(items, skip, total, &self.base, &self.path, &self.query);
        json_response(StatusCode::OK, &body, &[])
    }

    fn retry_headers(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "Retry-After",
                self.retry_after_ms.div_ceil(1000).max(1).to_string(),
            ),
            ("retry-after-ms", self.retry_after_ms.to_string()),
        ]
    }

    fn operation_urls(&self, sub: &str, location: &str, op: &str) -> (String, String) {
        let base = format!(
            "{}/subscriptions/{sub}/providers/Microsoft.Network/locations/{location}",
            self.base
        );
        let v = &self.api_version;
        (
            format!("{base}/operations/{op}?api-version={v}"),
            format!("{base}/operationResults/{op}?api-version={v}"),
        )
    }
}

/// One page of [`World::list_alerts`] (same scope and order), cloning only that page: a
/// large tenant has thousands of alerts.
fn alerts_page(
    w: &World,
    sub: &str,
    rg: Option<&str>,
    skip: usize,
    take: usize,
) -> (Vec<Value>, usize) {
    let mut refs: Vec<&Value> = w
        .alerts
        .values()
        .filter(|a| {
            let (s, g) =
                portcullis_shared::eval::engine::id_scope(a["id"].as_str().unwrap_or_default());
            s.eq_ignore_ascii_case(sub) && rg.is_none_or(|rg| g.eq_ignore_ascii_case(rg))
        })
        .collect();
    refs.sort_by(|a, b| {
        b["properties"]["timeGeneratedUtc"]
            .as_str()
            .cmp(&a["properties"]["timeGeneratedUtc"].as_str())
            .then(a["name"].as_str().cmp(&b["name"].as_str()))
    });
    let total = refs.len();
    let page = refs.into_iter().skip(skip).take(take).cloned().collect();
    (page, total)
}

fn ok(body: &impl serde::Serialize) -> Response {
    json_response(StatusCode::OK, body, &[])
}

fn found(v: Option<Value>, provider_type: &str, name: &str, rg: &str) -> Response {
    match v {
        Some(v) => ok(&v),
        None => Fail::resource_not_found(provider_type, name, rg).into_response(),
    }
}

/// Handles one ARM request. Returns the response and whether the world changed (to persist).
pub fn dispatch(w: &mut World, r: &ArmRequest) -> (Response, bool) {
    match route(w, r) {
        Ok(x) => x,
        Err(f) => (f.into_response(), false),
    }
}

fn route(w: &mut World, r: &ArmRequest) -> Result<(Response, bool), Fail> {
    let lower: Vec<String> = r.segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let s = |i: usize| r.segs[i].as_str();
    let read = |resp: Response| Ok((resp, false));
    let m = &r.method;
    let get = m == Method::GET;
    match l.as_slice() {
        // subscriptions
        ["subscriptions"] if get => read(
            r.list(
                &w.subscriptions
                    .iter()
                    .map(|x| subscription_json(w, x))
                    .collect::<Vec<_>>(),
            ),
        ),
        ["subscriptions", _] if get => {
            let info = w.subscription(s(1))?.clone();
            read(ok(&subscription_json(w, &info)))
        }
        // Microsoft.Network long-running operations
        ["subscriptions", _, "providers", "microsoft.network", "locations", _, "operations", _]
            if get =>
        {
            let op = w.poll_operation(s(7)).ok_or_else(|| {
                Fail::new(
                    StatusCode::NOT_FOUND,
                    "OperationNotFound",
                    format!("Operation {} was not found.", s(7)),
                )
            })?;
            let mut body = json!({
                "id": format!("/subscriptions/{}/providers/Microsoft.Network/locations/{}/operations/{}", s(1), s(5), op.id),
                "name": op.id, "status": op.status, "startTime": op.start_time,
            });
            if let Some(end) = &op.end_time {
                body["endTime"] = json!(end);
                body["percentComplete"] = json!(100);
            }
            let headers = if op.status == "InProgress" {
                r.retry_headers()
            } else {
                Vec::new()
            };
            Ok((json_response(StatusCode::OK, &body, &headers), true))
        }
        ["subscriptions", _, "providers", "microsoft.network", "locations", _, "operationresults", _]
            if get =>
        {
            let op = w.poll_operation(s(7)).ok_or_else(|| {
                Fail::new(
                    StatusCode::NOT_FOUND,
                    "OperationNotFound",
                    format!("Operation {} was not found.", s(7)),
                )
            })?;
            let resp = if op.status == "InProgress" {
                let (_, location) = r.operation_urls(s(1), s(5), &op.id);
                let mut h = r.retry_headers();
                h.push(("Location", location));
                json_response(StatusCode::ACCEPTED, &json!(null), &h)
            } else if op.is_delete {
                StatusCode::NO_CONTENT.into_response()
            } else {
                ok(&w
                    .get(Kind::NetworkSecurityGroups, &op.resource_id)
                    .unwrap_or(Value::Null))
            };
            Ok((resp, true))
        }
        // NSG rules
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.network", "networksecuritygroups", _, kind @ ("securityrules" | "defaultsecurityrules")]
            if get =>
        {
            w.check_scope(s(1), None)?;
            let nsg = w
                .nsg(&nsg_id(r))
                .ok_or_else(|| Fail::resource_not_found(NSG_TYPE, s(7), s(3)))?;
            let nsg = &w.with_associations(nsg);
            let rules = if *kind == "securityrules" {
                &nsg.properties.security_rules
            } else {
                &nsg.properties.default_security_rules
            };
            let items: Vec<Value> = rules
                .iter()
                .filter_map(|x| serde_json::to_value(x).ok())
                .collect();
            read(r.list(&items))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.network", "networksecuritygroups", _, kind @ ("securityrules" | "defaultsecurityrules"), _] =>
        {
            let cond = r.conditions();
            match (m.clone(), *kind) {
                (Method::GET, _) => {
                    w.check_scope(s(1), None)?;
                    let nsg = w
                        .nsg(&nsg_id(r))
                        .ok_or_else(|| Fail::resource_not_found(NSG_TYPE, s(7), s(3)))?;
                    let nsg = &w.with_associations(nsg);
                    let rules = if *kind == "securityrules" {
                        &nsg.properties.security_rules
                    } else {
                        &nsg.properties.default_security_rules
                    };
                    let rule = rules.iter().find(|x| {
                        x.name
                            .as_deref()
                            .is_some_and(|n| n.eq_ignore_ascii_case(s(9)))
                    });
                    read(found(
                        rule.and_then(|x| serde_json::to_value(x).ok()),
                        &format!("{NSG_TYPE}/{}/{}", s(7), s(8)),
                        s(9),
                        s(3),
                    ))
                }
                (Method::PUT, "securityrules") => {
                    let (created, rule) = w.put_rule(s(1), s(3), s(7), s(9), &r.body, &cond)?;
                    let loc = w
                        .nsg(&nsg_id(r))
                        .and_then(|n| n.location.clone())
                        .unwrap_or_default();
                    let op = w.start_operation(s(1), &loc, &nsg_id(r), false);
                    let (async_url, _) = r.operation_urls(s(1), &loc, &op);
                    let mut h = r.retry_headers();
                    h.push(("Azure-AsyncOperation", async_url));
                    Ok((json_response(put_status(created), &rule, &h), true))
                }
                (Method::DELETE, "securityrules") => {
                    let existed = w.delete_rule(s(1), s(3), s(7), s(9), &cond)?;
                    Ok((delete_accepted(w, r, existed), existed))
                }
                _ => Err(method_not_allowed(m)),
            }
        }
        // subnets
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.network", "virtualnetworks", _, "subnets"]
            if get =>
        {
            w.check_scope(s(1), Some(s(3)))?;
            let vnet = w
                .get(Kind::VirtualNetworks, &r.path_prefix(8))
                .ok_or_else(|| {
                    Fail::resource_not_found("Microsoft.Network/virtualNetworks", s(7), s(3))
                })?;
            read(
                r.list(
                    vnet["properties"]["subnets"]
                        .as_array()
                        .map(Vec::as_slice)
                        .unwrap_or_default(),
                ),
            )
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.network", "virtualnetworks", _, "subnets", _]
            if get =>
        {
            w.check_scope(s(1), Some(s(3)))?;
            let vnet = w
                .get(Kind::VirtualNetworks, &r.path_prefix(8))
                .ok_or_else(|| {
                    Fail::resource_not_found("Microsoft.Network/virtualNetworks", s(7), s(3))
                })?;
            let subnet = vnet["properties"]["subnets"]
                .as_array()
                .and_then(|a| {
                    a.iter().find(|x| {
                        x["name"]
                            .as_str()
                            .is_some_and(|n| n.eq_ignore_ascii_case(s(9)))
                    })
                })
                .cloned();
            read(found(
                subnet,
                &format!("Microsoft.Network/virtualNetworks/{}/subnets", s(7)),
                s(9),
                s(3),
            ))
        }
        // NIC writes (the NSG association)
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.network", "networkinterfaces", _]
            if m == Method::PUT =>
        {
            let nic = w.put_nic(s(1), s(3), s(7), &r.body, &r.conditions())?;
            let location = nic.location.clone().unwrap_or_default();
            let op = w.start_operation(s(1), &location, &nic.id, false);
            let (async_url, _) = r.operation_urls(s(1), &location, &op);
            let mut h = r.retry_headers();
            h.push(("Azure-AsyncOperation", async_url));
            Ok((json_response(put_status(false), &nic, &h), true))
        }
        // NSG writes
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.network", "networksecuritygroups", _]
            if m == Method::PUT =>
        {
            let (created, nsg) = w.put_nsg(s(1), s(3), s(7), &r.body, &r.conditions())?;
            let op = w.start_operation(
                s(1),
                nsg.location.as_deref().unwrap_or_default(),
                &nsg.id,
                false,
            );
            let (async_url, _) =
                r.operation_urls(s(1), nsg.location.as_deref().unwrap_or_default(), &op);
            let mut h = r.retry_headers();
            h.push(("Azure-AsyncOperation", async_url));
            Ok((json_response(put_status(created), &nsg, &h), true))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.network", "networksecuritygroups", _]
            if m == Method::DELETE =>
        {
            let existed = w.delete_nsg(s(1), s(3), s(7), &r.conditions())?;
            Ok((delete_accepted(w, r, existed), existed))
        }
        // Azure Resource Graph (the fixed queries Portcullis sends)
        ["providers", "microsoft.resourcegraph", "resources"] if m == Method::POST => {
            Ok((super::graph::query(w, r)?, false))
        }
        // Firewall Policy rule collection groups
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.network", "firewallpolicies", _, "rulecollectiongroups"]
            if get =>
        {
            w.check_scope(s(1), Some(s(3)))?;
            read(r.list(&w.rule_collection_groups(&r.path_prefix(8))))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.network", "firewallpolicies", _, "rulecollectiongroups", _]
            if m == Method::PUT =>
        {
            w.check_scope(s(1), Some(s(3)))?;
            let g = w.put_rule_collection_group(&r.path_prefix(10), &r.body, &r.conditions())?;
            let loc = w
                .inventory
                .azure_firewalls
                .first()
                .and_then(|f| f.location.clone())
                .unwrap_or_else(|| "westeurope".into());
            let op = w.start_operation(s(1), &loc, &r.path_prefix(10), false);
            let (async_url, _) = r.operation_urls(s(1), &loc, &op);
            let mut h = r.retry_headers();
            h.push(("Azure-AsyncOperation", async_url));
            Ok((json_response(put_status(false), &g, &h), true))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.network", "azurefirewalls", _]
            if m == Method::PUT =>
        {
            w.check_scope(s(1), Some(s(3)))?;
            let f = w.put_firewall(&r.path_prefix(8), &r.body, &r.conditions())?;
            let loc = f["location"].as_str().unwrap_or("westeurope").to_string();
            let op = w.start_operation(s(1), &loc, &r.path_prefix(8), false);
            let (async_url, _) = r.operation_urls(s(1), &loc, &op);
            let mut h = r.retry_headers();
            h.push(("Azure-AsyncOperation", async_url));
            Ok((json_response(put_status(false), &f, &h), true))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.network", "firewallpolicies", _, "rulecollectiongroups", _]
            if get =>
        {
            w.check_scope(s(1), Some(s(3)))?;
            let id = id_key(&r.path_prefix(10));
            let v = w
                .rule_collection_groups(&r.path_prefix(8))
                .into_iter()
                .find(|g| g["id"].as_str().map(id_key).as_deref() == Some(id.as_str()));
            read(found(
                v,
                &format!(
                    "Microsoft.Network/firewallPolicies/{}/ruleCollectionGroups",
                    s(7)
                ),
                s(9),
                s(3),
            ))
        }
        // Virtual Network Manager: a VNet's effective security admin rules
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.network", "virtualnetworks", _, "listnetworkmanagereffectivesecurityadminrules"]
            if m == Method::POST =>
        {
            w.check_scope(s(1), Some(s(3)))?;
            let vnet = r.path_prefix(8);
            if w.get(Kind::VirtualNetworks, &vnet).is_none() {
                return Err(Fail::resource_not_found(
                    "Microsoft.Network/virtualNetworks",
                    s(7),
                    s(3),
                ));
            }
            read(ok(&w.effective_admin_rules(&vnet)))
        }
        // VMs and network resources: list by subscription, by resource group, get
        ["subscriptions", _, "providers", ns, ty] if get && Kind::parse(ns, ty).is_some() => {
            w.check_scope(s(1), None)?;
            let kind = Kind::parse(ns, ty).unwrap_or(Kind::VirtualMachines);
            read(r.list_paged(|skip, take| w.list_range(kind, s(1), None, skip, take)))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", ns, ty]
            if get && Kind::parse(ns, ty).is_some() =>
        {
            w.check_scope(s(1), Some(s(3)))?;
            let kind = Kind::parse(ns, ty).unwrap_or(Kind::VirtualMachines);
            read(r.list_paged(|skip, take| w.list_range(kind, s(1), Some(s(3)), skip, take)))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", ns, ty, _]
            if get && Kind::parse(ns, ty).is_some() =>
        {
            w.check_scope(s(1), None)?;
            let kind = Kind::parse(ns, ty).unwrap_or(Kind::VirtualMachines);
            let v = w.get(kind, &r.path_prefix(8));
            read(found(v, kind.provider_type(), s(7), s(3)))
        }
        // JIT policies
        ["subscriptions", _, "providers", "microsoft.security", "jitnetworkaccesspolicies"]
            if get =>
        {
            w.check_scope(s(1), None)?;
            read(r.list(&w.list_jit(s(1), None, None)))
        }
        ["subscriptions", _, "providers", "microsoft.security", "locations", _, "jitnetworkaccesspolicies"]
            if get =>
        {
            w.check_scope(s(1), None)?;
            read(r.list(&w.list_jit(s(1), None, Some(s(5)))))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.security", "jitnetworkaccesspolicies"]
            if get =>
        {
            w.check_scope(s(1), Some(s(3)))?;
            read(r.list(&w.list_jit(s(1), Some(s(3)), None)))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.security", "locations", _, "jitnetworkaccesspolicies"]
            if get =>
        {
            w.check_scope(s(1), Some(s(3)))?;
            read(r.list(&w.list_jit(s(1), Some(s(3)), Some(s(7)))))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.security", "locations", _, "jitnetworkaccesspolicies", _] => {
            match m.clone() {
                Method::GET => {
                    w.check_scope(s(1), None)?;
                    let v = w.jit_index(&r.path_prefix(10)).and_then(|i| {
                        serde_json::to_value(&w.inventory.jit_network_access_policies[i]).ok()
                    });
                    read(found(v, JIT_TYPE, s(9), s(3)))
                }
                Method::PUT => {
                    let policy = w.put_jit(s(1), s(3), s(7), s(9), &r.body)?;
                    Ok((ok(&policy), true))
                }
                Method::DELETE => {
                    let existed = w.delete_jit(s(1), s(3), s(7), s(9))?;
                    Ok((delete_status(existed).into_response(), existed))
                }
                _ => Err(method_not_allowed(m)),
            }
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.security", "locations", _, "jitnetworkaccesspolicies", _, "initiate"]
            if m == Method::POST =>
        {
            let req = w.initiate_jit(
                s(1),
                s(3),
                s(7),
                s(9),
                &r.body,
                &r.principal,
                r.peer.as_deref(),
            )?;
            Ok((json_response(StatusCode::ACCEPTED, &req, &[]), true))
        }
        // secure score
        ["subscriptions", _, "providers", "microsoft.security", "securescores"] if get => {
            w.check_scope(s(1), None)?;
            read(r.list(&w.secure_scores(s(1))))
        }
        ["subscriptions", _, "providers", "microsoft.security", "securescores", _] if get => {
            w.check_scope(s(1), None)?;
            let v = w.secure_scores(s(1)).into_iter().find(|x| {
                x["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(s(5)))
            });
            read(found(v, "Microsoft.Security/secureScores", s(5), s(1)))
        }
        ["subscriptions", _, "providers", "microsoft.security", "securescores", name, "securescorecontrols"]
            if get && *name == "ascscore" =>
        {
            w.check_scope(s(1), None)?;
            read(r.list(&w.secure_score_controls(s(1), expand_definition(r))))
        }
        ["subscriptions", _, "providers", "microsoft.security", "securescorecontrols"] if get => {
            w.check_scope(s(1), None)?;
            read(r.list(&w.secure_score_controls(s(1), expand_definition(r))))
        }
        ["subscriptions", _, "providers", "microsoft.security", "securescorecontrols", id]
            if get && id.eq_ignore_ascii_case(CONTROL_ID) =>
        {
            w.check_scope(s(1), None)?;
            read(ok(&w.secure_score_controls(s(1), expand_definition(r))[0]))
        }
        // assessments: of a subscription, or of one VM (an extension resource)
        ["subscriptions", _, "providers", "microsoft.security", "assessments"] if get => {
            w.check_scope(s(1), None)?;
            let (items, changed) = w.assessments(s(1), None);
            Ok((r.list(&items), changed))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.compute", "virtualmachines", _, "providers", "microsoft.security", "assessments", rest @ ..]
            if get && rest.len() <= 1 =>
        {
            w.check_scope(s(1), None)?;
            let vm_id = r.path_prefix(8);
            if w.vm(&vm_id).is_none() {
                return Err(Fail::resource_not_found(
                    "Microsoft.Compute/virtualMachines",
                    s(7),
                    s(3),
                ));
            }
            let (items, changed) = w.assessments(s(1), Some(&vm_id));
            match rest {
                [] => Ok((r.list(&items), changed)),
                _ => {
                    let v = items.into_iter().find(|x| {
                        x["name"]
                            .as_str()
                            .is_some_and(|n| n.eq_ignore_ascii_case(s(11)))
                    });
                    Ok((
                        found(v, "Microsoft.Security/assessments", s(11), s(3)),
                        changed,
                    ))
                }
            }
        }
        // Defender alerts (raised on read for exposures that have none yet) and their actions
        ["subscriptions", _, "providers", "microsoft.security", "alerts"]
        | ["subscriptions", _, "providers", "microsoft.security", "locations", _, "alerts"]
        | ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.security", "alerts"]
        | ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.security", "locations", _, "alerts"]
            if get =>
        {
            let rg = (l[2] == "resourcegroups").then(|| s(3));
            w.check_scope(s(1), rg)?;
            // raised when a listing starts, not again for each of its later pages (that would
            // evaluate the subscription once per page)
            let changed = r.query("$skipToken").is_none() && w.raise_alerts(s(1));
            Ok((
                r.list_paged(|skip, take| alerts_page(w, s(1), rg, skip, take)),
                changed,
            ))
        }
        ["subscriptions", _, "providers", "microsoft.security", "locations", _, "alerts", _]
        | ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.security", "locations", _, "alerts", _]
            if get =>
        {
            w.check_scope(s(1), None)?;
            let changed = w.raise_alerts(s(1));
            let name = s(r.segs.len() - 1);
            let v = w.list_alerts(s(1), None).into_iter().find(|a| {
                a["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            });
            let rg = if l[2] == "resourcegroups" { s(3) } else { "" };
            Ok((
                found(v, "Microsoft.Security/locations/alerts", name, rg),
                changed,
            ))
        }
        ["subscriptions", _, "providers", "microsoft.security", "locations", _, "alerts", _, _]
        | ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.security", "locations", _, "alerts", _, _]
            if m == Method::POST =>
        {
            w.check_scope(s(1), None)?;
            let n = r.segs.len();
            w.set_alert_status(s(1), s(n - 2), s(n - 1))?;
            Ok((StatusCode::NO_CONTENT.into_response(), true))
        }
        ["subscriptions", _, "providers", "microsoft.security", "locations"] if get => {
            w.check_scope(s(1), None)?;
            read(r.list(&w.security_locations(s(1))))
        }
        ["subscriptions", _, "providers", "microsoft.security", "locations", _] if get => {
            w.check_scope(s(1), None)?;
            let v = w.security_locations(s(1)).into_iter().find(|x| {
                x["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(s(5)))
            });
            read(found(v, "Microsoft.Security/locations", s(5), s(1)))
        }
        ["subscriptions", sub, ..] => {
            w.subscription(sub)?;
            Err(no_route(r))
        }
        _ => Err(no_route(r)),
    }
}

impl ArmRequest {
    /// `/seg0/.../seg{n-1}` in the request's own spelling.
    fn path_prefix(&self, n: usize) -> String {
        let mut out = String::new();
        for s in self.segs.iter().take(n) {
            out.push('/');
            out.push_str(s);
        }
        out
    }
}

fn nsg_id(r: &ArmRequest) -> String {
    r.path_prefix(8)
}

fn expand_definition(r: &ArmRequest) -> bool {
    r.query("$expand")
        .is_some_and(|e| e.eq_ignore_ascii_case("definition"))
}

fn subscription_json(w: &World, s: &super::world::SubscriptionInfo) -> Value {
    json!({
        "id": format!("/subscriptions/{}", s.subscription_id),
        "subscriptionId": s.subscription_id,
        "tenantId": w.tenant_id,
        "displayName": s.display_name,
        "state": "Enabled",
        "subscriptionPolicies": { "locationPlacementId": "Public_2014-09-01", "quotaId": "EnterpriseAgreement_2014-09-01", "spendingLimit": "Off" },
        "authorizationSource": "RoleBased"
    })
}

/// DELETE of a Microsoft.Network resource: 202 + `Location` (+ `Azure-AsyncOperation`), or 204.
fn delete_accepted(w: &mut World, r: &ArmRequest, existed: bool) -> Response {
    if !existed {
        return StatusCode::NO_CONTENT.into_response();
    }
    let sub = r.segs[1].clone();
    let loc = w
        .subscription(&sub)
        .ok()
        .and(
            w.inventory
                .network_security_groups
                .first()
                .and_then(|n| n.location.clone()),
        )
        .unwrap_or_else(|| "westeurope".into());
    let op = w.start_operation(&sub, &loc, &nsg_id(r), true);
    let (async_url, location) = r.operation_urls(&sub, &loc, &op);
    let mut h = r.retry_headers();
    h.push(("Azure-AsyncOperation", async_url));
    h.push(("Location", location));
    let mut resp = StatusCode::ACCEPTED.into_response();
    super::http::add_headers(resp.headers_mut(), &h);
    resp
}

fn method_not_allowed(m: &Method) -> Fail {
    Fail::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        format!("The requested method '{m}' is not allowed on this resource."),
    )
}

fn no_route(r: &ArmRequest) -> Fail {
    Fail::bad_request(
        "InvalidResourceType",
        format!(
            "The resource type could not be found for '{}' (the emulator does not serve this path).",
            r.path
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::demo::{demo_world_with_extra_vms, SCALE_TEST};

    #[test]
    fn pages_are_slices_of_the_whole_list() {
        let mut w = demo_world_with_extra_vms(42, 300);
        for kind in [
            Kind::VirtualMachines,
            Kind::NetworkInterfaces,
            Kind::PublicIpAddresses,
            Kind::NetworkSecurityGroups,
        ] {
            let all = w.list(kind, SCALE_TEST, None);
            assert!(all.len() > 1, "{kind:?}");
            let (page, total) = w.list_range(kind, SCALE_TEST, None, 1, 20);
            assert_eq!(total, all.len(), "{kind:?}");
            assert_eq!(page[..], all[1..all.len().min(21)], "{kind:?}");
        }
        // NSG back-references, computed for a page at once
        let nsgs = w.list(Kind::NetworkSecurityGroups, SCALE_TEST, None);
        assert!(nsgs.iter().any(|n| {
            n["properties"]["networkInterfaces"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
        }));
        assert!(nsgs.iter().any(|n| {
            n["properties"]["subnets"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
        }));
        w.raise_alerts(SCALE_TEST);
        let all = w.list_alerts(SCALE_TEST, None);
        assert!(all.len() > 15, "{} alerts", all.len());
        let (page, total) = alerts_page(&w, SCALE_TEST, None, 5, 10);
        assert_eq!(total, all.len());
        assert_eq!(page[..], all[5..15]);
    }
}
