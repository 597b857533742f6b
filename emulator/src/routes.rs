//! ARM paths of the emulator, matched case-insensitively as ARM does, and their handlers.
use super::defender::CONTROL_ID;
use super::http::{json_response, page, page_window, ArmRequest, Fail};
use super::jit::{delete_status, JIT_TYPE};
use super::network::{put_status, Conditions, NSG_TYPE};
use super::resources::Filter;
use super::world::{Kind, World};
use axum::{
    http::{Method, StatusCode},
    response::{IntoResponse, Response},
};
use portcullis_shared::arm::id_key;
use serde_json::{json, Value};

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
    let all = w.alerts_in_order(sub, rg);
    let total = all.len();
    let page = all
        .into_iter()
        .skip(skip)
        .take(take)
        .map(crate::alerts::StoredAlert::value)
        .collect();
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

/// What a route answers: the response, and whether the world changed.
type Answer = Result<(Response, bool), Fail>;
type Handler = fn(&mut World, &ArmRequest) -> Answer;

/// Which methods a route takes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum On {
    Get,
    Put,
    Post,
    Delete,
    Head,
    Patch,
    /// Any method (the 405 answers after a resource's routes).
    Any,
}

/// One ARM path. `pattern` is matched segment by segment, case-insensitively: a literal, `*`
/// (any one segment), `a|b` (either), or a final `**` (any number of segments, none included).
/// `guard` sees the lower-cased segments.
struct Route {
    on: On,
    pattern: &'static str,
    guard: Option<fn(&[&str]) -> bool>,
    handler: Handler,
}

const fn at(on: On, pattern: &'static str, handler: Handler) -> Route {
    Route {
        on,
        pattern,
        guard: None,
        handler,
    }
}

const fn at_if(
    on: On,
    pattern: &'static str,
    guard: fn(&[&str]) -> bool,
    handler: Handler,
) -> Route {
    Route {
        on,
        pattern,
        guard: Some(guard),
        handler,
    }
}

/// Every path the emulator serves, in the order they are tried (the first match answers).
static ROUTES: &[Route] = &[
    // subscriptions
    at(On::Get, "subscriptions", list_subscriptions),
    at(On::Get, "subscriptions/*", get_subscription),
    at(On::Get, "tenants", list_tenants),
    // Microsoft.Resources: resource groups, the generic resource list, resource providers
    at(On::Get, "subscriptions/*/resourcegroups", list_resource_groups),
    at(On::Get, "subscriptions/*/resourcegroups/*", get_resource_group),
    at(On::Head, "subscriptions/*/resourcegroups/*", resource_group_exists),
    at(On::Get, "subscriptions/*/resources", list_generic_resources),
    at(On::Get, "subscriptions/*/resourcegroups/*/resources", list_generic_resources),
    at(On::Get, "subscriptions/*/providers", list_providers),
    at(On::Get, "subscriptions/*/providers/*", get_provider),
    // Microsoft.Management: management groups
    at(On::Get, "providers/microsoft.management/managementgroups", list_management_groups),
    at(On::Get, "providers/microsoft.management/managementgroups/*", get_management_group),
    at(On::Get, "providers/microsoft.management/managementgroups/*/subscriptions", list_management_group_subscriptions),
    at(On::Get, "providers/microsoft.management/managementgroups/*/descendants", list_management_group_descendants),
    // Microsoft.Network long-running operations
    at(On::Get, "subscriptions/*/providers/microsoft.network/locations/*/operations/*", get_operation),
    at(On::Get, "subscriptions/*/providers/microsoft.network/locations/*/operationresults/*", get_operation_result),
    // NSG rules
    at(On::Get, "subscriptions/*/resourcegroups/*/providers/microsoft.network/networksecuritygroups/*/securityrules|defaultsecurityrules", list_rules),
    at(On::Get, "subscriptions/*/resourcegroups/*/providers/microsoft.network/networksecuritygroups/*/securityrules|defaultsecurityrules/*", get_rule),
    at(On::Put, "subscriptions/*/resourcegroups/*/providers/microsoft.network/networksecuritygroups/*/securityrules/*", put_rule),
    at(On::Delete, "subscriptions/*/resourcegroups/*/providers/microsoft.network/networksecuritygroups/*/securityrules/*", delete_rule),
    at(On::Any, "subscriptions/*/resourcegroups/*/providers/microsoft.network/networksecuritygroups/*/securityrules|defaultsecurityrules/*", not_allowed),
    // a VNet's children: subnets and peerings
    at(On::Get, "subscriptions/*/resourcegroups/*/providers/microsoft.network/virtualnetworks/*/subnets|virtualnetworkpeerings", list_vnet_children),
    at(On::Get, "subscriptions/*/resourcegroups/*/providers/microsoft.network/virtualnetworks/*/subnets|virtualnetworkpeerings/*", get_vnet_child),
    // a load balancer's children: frontends, pools, load-balancing and inbound NAT rules
    at(On::Get, "subscriptions/*/resourcegroups/*/providers/microsoft.network/loadbalancers/*/frontendipconfigurations|backendaddresspools|loadbalancingrules|inboundnatrules", list_lb_children),
    at(On::Get, "subscriptions/*/resourcegroups/*/providers/microsoft.network/loadbalancers/*/frontendipconfigurations|backendaddresspools|loadbalancingrules|inboundnatrules/*", get_lb_child),
    // a VM's instance view
    at(On::Get, "subscriptions/*/resourcegroups/*/providers/microsoft.compute/virtualmachines/*/instanceview", get_instance_view),
    // a NIC's effective NSGs (answered at once: ARM may answer 200 or 202)
    at(On::Post, "subscriptions/*/resourcegroups/*/providers/microsoft.network/networkinterfaces/*/effectivenetworksecuritygroups", effective_nsgs),
    // NIC writes (the NSG association), NSG writes
    at(On::Put, "subscriptions/*/resourcegroups/*/providers/microsoft.network/networkinterfaces/*", put_nic),
    at(On::Put, "subscriptions/*/resourcegroups/*/providers/microsoft.network/networksecuritygroups/*", put_nsg),
    at(On::Delete, "subscriptions/*/resourcegroups/*/providers/microsoft.network/networksecuritygroups/*", delete_nsg),
    // Azure Resource Graph (the fixed queries Portcullis sends)
    at(On::Post, "providers/microsoft.resourcegraph/resources", graph_query),
    // Firewall Policy rule collection groups, firewall policies, firewalls
    at(On::Get, "subscriptions/*/providers/microsoft.network/firewallpolicies", list_firewall_policies),
    at(On::Get, "subscriptions/*/resourcegroups/*/providers/microsoft.network/firewallpolicies", list_firewall_policies),
    at(On::Get, "subscriptions/*/resourcegroups/*/providers/microsoft.network/firewallpolicies/*", get_firewall_policy),
    at(On::Get, "subscriptions/*/resourcegroups/*/providers/microsoft.network/firewallpolicies/*/rulecollectiongroups", list_rule_collection_groups),
    at(On::Put, "subscriptions/*/resourcegroups/*/providers/microsoft.network/firewallpolicies/*/rulecollectiongroups/*", put_rule_collection_group),
    at(On::Put, "subscriptions/*/resourcegroups/*/providers/microsoft.network/azurefirewalls/*", put_firewall),
    at(On::Get, "subscriptions/*/resourcegroups/*/providers/microsoft.network/firewallpolicies/*/rulecollectiongroups/*", get_rule_collection_group),
    // Virtual Network Manager: the managers, and a VNet's effective security admin rules
    at(On::Get, "subscriptions/*/providers/microsoft.network/networkmanagers", list_network_managers),
    at(On::Get, "subscriptions/*/resourcegroups/*/providers/microsoft.network/networkmanagers", list_network_managers),
    at(On::Get, "subscriptions/*/resourcegroups/*/providers/microsoft.network/networkmanagers/*", get_network_manager),
    at(On::Post, "subscriptions/*/resourcegroups/*/providers/microsoft.network/virtualnetworks/*/listnetworkmanagereffectivesecurityadminrules", effective_admin_rules),
    // VMs and network resources: list by subscription, by resource group, get
    at_if(On::Get, "subscriptions/*/providers/*/*", kind_at_3, list_resources),
    at_if(On::Get, "subscriptions/*/resourcegroups/*/providers/*/*", kind_at_5, list_resources_in_group),
    at_if(On::Get, "subscriptions/*/resourcegroups/*/providers/*/*/*", kind_at_5, get_resource),
    at_if(On::Patch, "subscriptions/*/resourcegroups/*/providers/*/*/*", kind_at_5, patch_resource_tags),
    // JIT policies
    at(On::Get, "subscriptions/*/providers/microsoft.security/jitnetworkaccesspolicies", list_jit),
    at(On::Get, "subscriptions/*/providers/microsoft.security/locations/*/jitnetworkaccesspolicies", list_jit_in_location),
    at(On::Get, "subscriptions/*/resourcegroups/*/providers/microsoft.security/jitnetworkaccesspolicies", list_jit_in_group),
    at(On::Get, "subscriptions/*/resourcegroups/*/providers/microsoft.security/locations/*/jitnetworkaccesspolicies", list_jit_in_group_location),
    at(On::Get, "subscriptions/*/resourcegroups/*/providers/microsoft.security/locations/*/jitnetworkaccesspolicies/*", get_jit),
    at(On::Put, "subscriptions/*/resourcegroups/*/providers/microsoft.security/locations/*/jitnetworkaccesspolicies/*", put_jit),
    at(On::Delete, "subscriptions/*/resourcegroups/*/providers/microsoft.security/locations/*/jitnetworkaccesspolicies/*", delete_jit),
    at(On::Any, "subscriptions/*/resourcegroups/*/providers/microsoft.security/locations/*/jitnetworkaccesspolicies/*", not_allowed),
    at(On::Post, "subscriptions/*/resourcegroups/*/providers/microsoft.security/locations/*/jitnetworkaccesspolicies/*/initiate", initiate_jit),
    // secure score
    at(On::Get, "subscriptions/*/providers/microsoft.security/securescores", list_secure_scores),
    at(On::Get, "subscriptions/*/providers/microsoft.security/securescores/*", get_secure_score),
    at(On::Get, "subscriptions/*/providers/microsoft.security/securescores/ascscore/securescorecontrols", list_secure_score_controls),
    at(On::Get, "subscriptions/*/providers/microsoft.security/securescorecontrols", list_secure_score_controls),
    at_if(On::Get, "subscriptions/*/providers/microsoft.security/securescorecontrols/*", |l| l[5].eq_ignore_ascii_case(CONTROL_ID), get_secure_score_control),
    // assessments: of a subscription, or of one VM (an extension resource)
    at(On::Get, "subscriptions/*/providers/microsoft.security/assessments", list_assessments),
    at_if(On::Get, "subscriptions/*/resourcegroups/*/providers/microsoft.compute/virtualmachines/*/providers/microsoft.security/assessments/**", |l| l.len() <= 12, vm_assessments),
    // Defender alerts (raised on read for exposures that have none yet) and their actions
    at(On::Get, "subscriptions/*/providers/microsoft.security/alerts", list_alerts),
    at(On::Get, "subscriptions/*/providers/microsoft.security/locations/*/alerts", list_alerts),
    at(On::Get, "subscriptions/*/resourcegroups/*/providers/microsoft.security/alerts", list_alerts),
    at(On::Get, "subscriptions/*/resourcegroups/*/providers/microsoft.security/locations/*/alerts", list_alerts),
    at(On::Get, "subscriptions/*/providers/microsoft.security/locations/*/alerts/*", get_alert),
    at(On::Get, "subscriptions/*/resourcegroups/*/providers/microsoft.security/locations/*/alerts/*", get_alert),
    at(On::Post, "subscriptions/*/providers/microsoft.security/locations/*/alerts/*/*", set_alert_status),
    at(On::Post, "subscriptions/*/resourcegroups/*/providers/microsoft.security/locations/*/alerts/*/*", set_alert_status),
    // Defender's definitions: assessment metadata and secure score control definitions
    at(On::Get, "providers/microsoft.security/assessmentmetadata", list_assessment_metadata),
    at(On::Get, "subscriptions/*/providers/microsoft.security/assessmentmetadata", list_assessment_metadata),
    at(On::Get, "providers/microsoft.security/assessmentmetadata/*", get_assessment_metadata),
    at(On::Get, "subscriptions/*/providers/microsoft.security/assessmentmetadata/*", get_assessment_metadata),
    at(On::Get, "providers/microsoft.security/securescorecontroldefinitions", list_control_definitions),
    at(On::Get, "subscriptions/*/providers/microsoft.security/securescorecontroldefinitions", list_control_definitions),
    at(On::Get, "subscriptions/*/providers/microsoft.security/locations", list_security_locations),
    at(On::Get, "subscriptions/*/providers/microsoft.security/locations/*", get_security_location),
    // anything else in a subscription: 404 for an unknown subscription, else no such route
    at(On::Any, "subscriptions/*/**", unknown_in_subscription),
];

/// Guards: the segments after `providers` name a resource type the emulator lists and gets.
fn kind_at_3(l: &[&str]) -> bool {
    Kind::parse(l[3], l[4]).is_some()
}

fn kind_at_5(l: &[&str]) -> bool {
    Kind::parse(l[5], l[6]).is_some()
}

impl On {
    fn takes(self, m: &Method) -> bool {
        match self {
            On::Get => m == Method::GET,
            On::Put => m == Method::PUT,
            On::Post => m == Method::POST,
            On::Delete => m == Method::DELETE,
            On::Head => m == Method::HEAD,
            On::Patch => m == Method::PATCH,
            On::Any => true,
        }
    }
}

/// Whether the lower-cased segments `l` fit `pattern`.
fn matches(pattern: &str, l: &[&str]) -> bool {
    let mut i = 0;
    for p in pattern.split('/') {
        if p == "**" {
            return true;
        }
        let Some(seg) = l.get(i) else {
            return false;
        };
        if p != "*" && !p.split('|').any(|alt| alt == *seg) {
            return false;
        }
        i += 1;
    }
    i == l.len()
}

fn route(w: &mut World, r: &ArmRequest) -> Answer {
    let lower: Vec<String> = r.segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let hit = ROUTES
        .iter()
        .find(|x| x.on.takes(&r.method) && matches(x.pattern, &l) && x.guard.is_none_or(|g| g(&l)));
    match hit {
        Some(x) => (x.handler)(w, r),
        None => Err(no_route(r)),
    }
}

fn read(resp: Response) -> Answer {
    Ok((resp, false))
}

/// A PUT's answer for a Microsoft.Network resource: the body, with `Azure-AsyncOperation`.
fn put_accepted(
    w: &mut World,
    r: &ArmRequest,
    status: StatusCode,
    body: &impl serde::Serialize,
    location: &str,
    resource_id: &str,
) -> Answer {
    let op = w.start_operation(r.seg(1), location, resource_id, false);
    let (async_url, _) = r.operation_urls(r.seg(1), location, &op);
    let mut h = r.retry_headers();
    h.push(("Azure-AsyncOperation", async_url));
    Ok((json_response(status, body, &h), true))
}

fn not_allowed(_: &mut World, r: &ArmRequest) -> Answer {
    Err(method_not_allowed(&r.method))
}

fn unknown_in_subscription(w: &mut World, r: &ArmRequest) -> Answer {
    w.subscription(r.seg(1))?;
    Err(no_route(r))
}

// --- subscriptions ----------------------------------------------------------------------------

fn list_subscriptions(w: &mut World, r: &ArmRequest) -> Answer {
    let items: Vec<Value> = w
        .subscriptions
        .iter()
        .map(|x| subscription_json(w, x))
        .collect();
    read(r.list(&items))
}

fn get_subscription(w: &mut World, r: &ArmRequest) -> Answer {
    let info = w.subscription(r.seg(1))?.clone();
    read(ok(&subscription_json(w, &info)))
}

fn list_tenants(w: &mut World, r: &ArmRequest) -> Answer {
    read(r.list(&[w.tenant_json()]))
}

// --- Microsoft.Resources ----------------------------------------------------------------------

fn list_resource_groups(w: &mut World, r: &ArmRequest) -> Answer {
    w.subscription(r.seg(1))?;
    read(r.list(&w.resource_groups(r.seg(1))))
}

/// The resource group `r.seg(3)` of subscription `r.seg(1)`, or ARM's 404.
fn resource_group(w: &World, r: &ArmRequest) -> Result<Value, Fail> {
    w.subscription(r.seg(1))?;
    w.resource_groups(r.seg(1))
        .into_iter()
        .find(|g| {
            g["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(r.seg(3)))
        })
        .ok_or_else(|| Fail::resource_group_not_found(r.seg(3)))
}

fn get_resource_group(w: &mut World, r: &ArmRequest) -> Answer {
    read(ok(&resource_group(w, r)?))
}

/// `HEAD` (the SDKs' `check_existence`): 204 or 404, no body.
fn resource_group_exists(w: &mut World, r: &ArmRequest) -> Answer {
    let status = match resource_group(w, r) {
        Ok(_) => StatusCode::NO_CONTENT,
        Err(f) => f.status,
    };
    read(status.into_response())
}

fn list_generic_resources(w: &mut World, r: &ArmRequest) -> Answer {
    let rg = (r.segs.len() == 5).then(|| r.seg(3));
    w.check_scope(r.seg(1), rg)?;
    let filter = Filter::parse(r.query("$filter"))?;
    read(r.list(&w.generic_resources(r.seg(1), rg, &filter)))
}

fn list_providers(w: &mut World, r: &ArmRequest) -> Answer {
    w.subscription(r.seg(1))?;
    read(r.list(&w.providers(r.seg(1))))
}

fn get_provider(w: &mut World, r: &ArmRequest) -> Answer {
    w.subscription(r.seg(1))?;
    read(ok(&w.provider(r.seg(1), r.seg(3))?))
}

fn list_management_groups(w: &mut World, r: &ArmRequest) -> Answer {
    read(r.list(&w.list_management_groups()))
}

fn get_management_group(w: &mut World, r: &ArmRequest) -> Answer {
    let expand = r.query("$expand").is_some_and(|e| {
        e.split(',')
            .any(|x| x.trim().eq_ignore_ascii_case("children"))
    });
    read(ok(&w.management_group(r.seg(3), expand)?))
}

fn list_management_group_descendants(w: &mut World, r: &ArmRequest) -> Answer {
    read(r.list(&w.management_group_descendants(r.seg(3))?))
}

fn list_management_group_subscriptions(w: &mut World, r: &ArmRequest) -> Answer {
    read(r.list(&w.management_group_subscriptions(r.seg(3))?))
}

// --- long-running operations ------------------------------------------------------------------

fn operation_not_found(id: &str) -> Fail {
    Fail::new(
        StatusCode::NOT_FOUND,
        "OperationNotFound",
        format!("Operation {id} was not found."),
    )
}

fn get_operation(w: &mut World, r: &ArmRequest) -> Answer {
    let s = |i| r.seg(i);
    let op = w
        .poll_operation(s(7))
        .ok_or_else(|| operation_not_found(s(7)))?;
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

fn get_operation_result(w: &mut World, r: &ArmRequest) -> Answer {
    let s = |i| r.seg(i);
    let op = w
        .poll_operation(s(7))
        .ok_or_else(|| operation_not_found(s(7)))?;
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

// --- NSGs and their rules ---------------------------------------------------------------------

/// The NSG's custom rules (`securityRules`) or default rules, as the path's segment 8 names.
fn nsg_rules(w: &World, r: &ArmRequest) -> Result<Vec<Value>, Fail> {
    w.check_scope(r.seg(1), None)?;
    let nsg = w
        .nsg(&nsg_id(r))
        .ok_or_else(|| Fail::resource_not_found(NSG_TYPE, r.seg(7), r.seg(3)))?;
    let nsg = &w.with_associations(nsg);
    let rules = if r.seg(8).eq_ignore_ascii_case("securityrules") {
        &nsg.properties.security_rules
    } else {
        &nsg.properties.default_security_rules
    };
    Ok(rules
        .iter()
        .filter_map(|x| serde_json::to_value(x).ok())
        .collect())
}

fn list_rules(w: &mut World, r: &ArmRequest) -> Answer {
    read(r.list(&nsg_rules(w, r)?))
}

fn get_rule(w: &mut World, r: &ArmRequest) -> Answer {
    let rule = named(nsg_rules(w, r)?, r.seg(9));
    read(found(
        rule,
        &format!("{NSG_TYPE}/{}/{}", r.seg(7), r.seg(8)),
        r.seg(9),
        r.seg(3),
    ))
}

fn put_rule(w: &mut World, r: &ArmRequest) -> Answer {
    let s = |i| r.seg(i);
    let (created, rule) = w.put_rule(s(1), s(3), s(7), s(9), &r.body, &r.conditions())?;
    let loc = w
        .nsg(&nsg_id(r))
        .and_then(|n| n.location.clone())
        .unwrap_or_default();
    put_accepted(w, r, put_status(created), &rule, &loc, &nsg_id(r))
}

fn delete_rule(w: &mut World, r: &ArmRequest) -> Answer {
    let s = |i| r.seg(i);
    let existed = w.delete_rule(s(1), s(3), s(7), s(9), &r.conditions())?;
    Ok((delete_accepted(w, r, existed), existed))
}

fn put_nsg(w: &mut World, r: &ArmRequest) -> Answer {
    let s = |i| r.seg(i);
    let (created, nsg) = w.put_nsg(s(1), s(3), s(7), &r.body, &r.conditions())?;
    let loc = nsg.location.clone().unwrap_or_default();
    put_accepted(w, r, put_status(created), &nsg, &loc, &nsg.id)
}

fn delete_nsg(w: &mut World, r: &ArmRequest) -> Answer {
    let s = |i| r.seg(i);
    let existed = w.delete_nsg(s(1), s(3), s(7), &r.conditions())?;
    Ok((delete_accepted(w, r, existed), existed))
}

fn put_nic(w: &mut World, r: &ArmRequest) -> Answer {
    let s = |i| r.seg(i);
    let nic = w.put_nic(s(1), s(3), s(7), &r.body, &r.conditions())?;
    let loc = nic.location.clone().unwrap_or_default();
    put_accepted(w, r, put_status(false), &nic, &loc, &nic.id)
}

// --- subnets ----------------------------------------------------------------------------------

/// The children of the resource at segments 0-7 (of `kind`) that segment 8 names: a list in
/// its `properties` (`subnets`, `inboundNatRules`, ...), matched case-insensitively.
fn children(w: &World, r: &ArmRequest, kind: Kind) -> Result<Vec<Value>, Fail> {
    w.check_scope(r.seg(1), Some(r.seg(3)))?;
    let parent = w
        .get(kind, &r.path_prefix(8))
        .ok_or_else(|| Fail::resource_not_found(kind.provider_type(), r.seg(7), r.seg(3)))?;
    let props = parent["properties"].as_object();
    let list = props.and_then(|p| {
        p.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(r.seg(8)))
            .and_then(|(_, v)| v.as_array().cloned())
    });
    Ok(list.unwrap_or_default())
}

/// The children of a VNet named by segment 8 (`subnets`, `virtualNetworkPeerings`).
fn vnet_children(w: &World, r: &ArmRequest) -> Result<Vec<Value>, Fail> {
    children(w, r, Kind::VirtualNetworks)
}

/// The children of a load balancer named by segment 8 (`inboundNatRules`, ...).
fn lb_children(w: &World, r: &ArmRequest) -> Result<Vec<Value>, Fail> {
    children(w, r, Kind::LoadBalancers)
}

fn list_lb_children(w: &mut World, r: &ArmRequest) -> Answer {
    read(r.list(&lb_children(w, r)?))
}

fn get_lb_child(w: &mut World, r: &ArmRequest) -> Answer {
    let child = named(lb_children(w, r)?, r.seg(9));
    read(found(
        child,
        &format!("Microsoft.Network/loadBalancers/{}/{}", r.seg(7), r.seg(8)),
        r.seg(9),
        r.seg(3),
    ))
}

/// A VM's instance view: provisioned and running (the emulator's VMs never stop).
fn get_instance_view(w: &mut World, r: &ArmRequest) -> Answer {
    w.check_scope(r.seg(1), None)?;
    let vm = w
        .get(Kind::VirtualMachines, &r.path_prefix(8))
        .ok_or_else(|| {
            Fail::resource_not_found("Microsoft.Compute/virtualMachines", r.seg(7), r.seg(3))
        })?;
    read(ok(&instance_view(&vm)))
}

/// What `instanceView` holds for a running VM (also under `properties` with
/// `$expand=instanceView`).
pub(crate) fn instance_view(vm: &Value) -> Value {
    let name = vm["name"].as_str().unwrap_or_default();
    let os = vm["properties"]["storageProfile"]["osDisk"]["osType"]
        .as_str()
        .unwrap_or("Linux");
    json!({
        "computerName": name,
        "osName": if os.eq_ignore_ascii_case("windows") { "Windows Server 2022 Datacenter" } else { "ubuntu" },
        "statuses": [
            {"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded"},
            {"code": "PowerState/running", "level": "Info", "displayStatus": "VM running"}
        ]
    })
}

fn effective_nsgs(w: &mut World, r: &ArmRequest) -> Answer {
    w.check_scope(r.seg(1), Some(r.seg(3)))?;
    read(ok(&super::effective::effective_nsgs(w, &r.path_prefix(8))?))
}

fn list_vnet_children(w: &mut World, r: &ArmRequest) -> Answer {
    read(r.list(&vnet_children(w, r)?))
}

fn get_vnet_child(w: &mut World, r: &ArmRequest) -> Answer {
    let child = named(vnet_children(w, r)?, r.seg(9));
    read(found(
        child,
        &format!(
            "Microsoft.Network/virtualNetworks/{}/{}",
            r.seg(7),
            r.seg(8)
        ),
        r.seg(9),
        r.seg(3),
    ))
}

// --- Resource Graph, firewalls, Virtual Network Manager ----------------------------------------

fn graph_query(w: &mut World, r: &ArmRequest) -> Answer {
    Ok((super::graph::query(w, r)?, false))
}

/// The firewall policies of a subscription (segment 1) or resource group (segment 3).
/// The resources of `all` in the request's subscription (and resource group, when it names
/// one), after checking that scope exists.
fn in_scope(
    w: &World,
    r: &ArmRequest,
    all: impl FnOnce(&World) -> Vec<Value>,
) -> Result<Vec<Value>, Fail> {
    let rg = in_resource_group(r).then(|| r.seg(3));
    w.check_scope(r.seg(1), rg)?;
    Ok(all(w)
        .into_iter()
        .filter(|p| {
            let (s, g) = portcullis_shared::arm::id_scope_ref(p["id"].as_str().unwrap_or_default());
            s.eq_ignore_ascii_case(r.seg(1)) && rg.is_none_or(|rg| g.eq_ignore_ascii_case(rg))
        })
        .collect())
}

fn firewall_policies_in(w: &World, r: &ArmRequest) -> Result<Vec<Value>, Fail> {
    in_scope(w, r, World::firewall_policies)
}

fn list_firewall_policies(w: &mut World, r: &ArmRequest) -> Answer {
    read(r.list(&firewall_policies_in(w, r)?))
}

fn get_firewall_policy(w: &mut World, r: &ArmRequest) -> Answer {
    let p = named(firewall_policies_in(w, r)?, r.seg(7));
    read(found(
        p,
        "Microsoft.Network/firewallPolicies",
        r.seg(7),
        r.seg(3),
    ))
}

fn network_managers_in(w: &World, r: &ArmRequest) -> Result<Vec<Value>, Fail> {
    in_scope(w, r, World::network_managers)
}

fn list_network_managers(w: &mut World, r: &ArmRequest) -> Answer {
    read(r.list(&network_managers_in(w, r)?))
}

fn get_network_manager(w: &mut World, r: &ArmRequest) -> Answer {
    let m = named(network_managers_in(w, r)?, r.seg(7));
    read(found(
        m,
        "Microsoft.Network/networkManagers",
        r.seg(7),
        r.seg(3),
    ))
}

fn list_rule_collection_groups(w: &mut World, r: &ArmRequest) -> Answer {
    w.check_scope(r.seg(1), Some(r.seg(3)))?;
    read(r.list(&w.rule_collection_groups(&r.path_prefix(8))))
}

fn get_rule_collection_group(w: &mut World, r: &ArmRequest) -> Answer {
    w.check_scope(r.seg(1), Some(r.seg(3)))?;
    let id = id_key(&r.path_prefix(10));
    let v = w
        .rule_collection_groups(&r.path_prefix(8))
        .into_iter()
        .find(|g| g["id"].as_str().map(id_key).as_deref() == Some(id.as_str()));
    read(found(
        v,
        &format!(
            "Microsoft.Network/firewallPolicies/{}/ruleCollectionGroups",
            r.seg(7)
        ),
        r.seg(9),
        r.seg(3),
    ))
}

fn put_rule_collection_group(w: &mut World, r: &ArmRequest) -> Answer {
    w.check_scope(r.seg(1), Some(r.seg(3)))?;
    let g = w.put_rule_collection_group(&r.path_prefix(10), &r.body, &r.conditions())?;
    let loc = w
        .inventory
        .azure_firewalls
        .first()
        .and_then(|f| f.location.clone())
        .unwrap_or_else(|| "westeurope".into());
    put_accepted(w, r, put_status(false), &g, &loc, &r.path_prefix(10))
}

fn put_firewall(w: &mut World, r: &ArmRequest) -> Answer {
    w.check_scope(r.seg(1), Some(r.seg(3)))?;
    let f = w.put_firewall(&r.path_prefix(8), &r.body, &r.conditions())?;
    let loc = f["location"].as_str().unwrap_or("westeurope").to_string();
    put_accepted(w, r, put_status(false), &f, &loc, &r.path_prefix(8))
}

fn effective_admin_rules(w: &mut World, r: &ArmRequest) -> Answer {
    w.check_scope(r.seg(1), Some(r.seg(3)))?;
    let vnet = r.path_prefix(8);
    if w.get(Kind::VirtualNetworks, &vnet).is_none() {
        return Err(Fail::resource_not_found(
            "Microsoft.Network/virtualNetworks",
            r.seg(7),
            r.seg(3),
        ));
    }
    read(ok(&w.effective_admin_rules(&vnet)))
}

// --- VMs and network resources ----------------------------------------------------------------

fn list_resources(w: &mut World, r: &ArmRequest) -> Answer {
    w.check_scope(r.seg(1), None)?;
    let kind = r.kind(3);
    read(r.list_paged(|skip, take| w.list_range(kind, r.seg(1), None, skip, take)))
}

fn list_resources_in_group(w: &mut World, r: &ArmRequest) -> Answer {
    w.check_scope(r.seg(1), Some(r.seg(3)))?;
    let kind = r.kind(5);
    read(r.list_paged(|skip, take| w.list_range(kind, r.seg(1), Some(r.seg(3)), skip, take)))
}

fn get_resource(w: &mut World, r: &ArmRequest) -> Answer {
    w.check_scope(r.seg(1), None)?;
    let kind = r.kind(5);
    let mut v = w.get(kind, &r.path_prefix(8));
    let expand = r
        .query("$expand")
        .is_some_and(|e| e.eq_ignore_ascii_case("instanceView"));
    if let (Some(vm), Kind::VirtualMachines, true) = (&mut v, kind, expand) {
        vm["properties"]["instanceView"] = instance_view(vm);
    }
    read(found(v, kind.provider_type(), r.seg(7), r.seg(3)))
}

/// PATCH `{"tags": ...}` of a VM or network resource: 200 with the resource.
fn patch_resource_tags(w: &mut World, r: &ArmRequest) -> Answer {
    w.check_scope(r.seg(1), Some(r.seg(3)))?;
    let kind = r.kind(5);
    let v = w.patch_tags(kind, &r.path_prefix(8), &r.body, &r.conditions())?;
    let changed = v.is_some();
    Ok((found(v, kind.provider_type(), r.seg(7), r.seg(3)), changed))
}

// --- JIT policies -----------------------------------------------------------------------------

fn list_jit(w: &mut World, r: &ArmRequest) -> Answer {
    w.check_scope(r.seg(1), None)?;
    read(r.list(&w.list_jit(r.seg(1), None, None)))
}

fn list_jit_in_location(w: &mut World, r: &ArmRequest) -> Answer {
    w.check_scope(r.seg(1), None)?;
    read(r.list(&w.list_jit(r.seg(1), None, Some(r.seg(5)))))
}

fn list_jit_in_group(w: &mut World, r: &ArmRequest) -> Answer {
    w.check_scope(r.seg(1), Some(r.seg(3)))?;
    read(r.list(&w.list_jit(r.seg(1), Some(r.seg(3)), None)))
}

fn list_jit_in_group_location(w: &mut World, r: &ArmRequest) -> Answer {
    w.check_scope(r.seg(1), Some(r.seg(3)))?;
    read(r.list(&w.list_jit(r.seg(1), Some(r.seg(3)), Some(r.seg(7)))))
}

fn get_jit(w: &mut World, r: &ArmRequest) -> Answer {
    w.check_scope(r.seg(1), None)?;
    let v = w
        .jit_index(&r.path_prefix(10))
        .and_then(|i| serde_json::to_value(&w.inventory.jit_network_access_policies[i]).ok());
    read(found(v, JIT_TYPE, r.seg(9), r.seg(3)))
}

fn put_jit(w: &mut World, r: &ArmRequest) -> Answer {
    let s = |i| r.seg(i);
    let policy = w.put_jit(s(1), s(3), s(7), s(9), &r.body)?;
    Ok((ok(&policy), true))
}

fn delete_jit(w: &mut World, r: &ArmRequest) -> Answer {
    let s = |i| r.seg(i);
    let existed = w.delete_jit(s(1), s(3), s(7), s(9))?;
    Ok((delete_status(existed).into_response(), existed))
}

fn initiate_jit(w: &mut World, r: &ArmRequest) -> Answer {
    let s = |i| r.seg(i);
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

// --- secure score and assessments -------------------------------------------------------------

fn list_secure_scores(w: &mut World, r: &ArmRequest) -> Answer {
    w.check_scope(r.seg(1), None)?;
    read(r.list(&w.secure_scores(r.seg(1))))
}

fn get_secure_score(w: &mut World, r: &ArmRequest) -> Answer {
    w.check_scope(r.seg(1), None)?;
    let v = named(w.secure_scores(r.seg(1)), r.seg(5));
    read(found(
        v,
        "Microsoft.Security/secureScores",
        r.seg(5),
        r.seg(1),
    ))
}

fn list_secure_score_controls(w: &mut World, r: &ArmRequest) -> Answer {
    w.check_scope(r.seg(1), None)?;
    read(r.list(&w.secure_score_controls(r.seg(1), expand_definition(r))))
}

fn get_secure_score_control(w: &mut World, r: &ArmRequest) -> Answer {
    w.check_scope(r.seg(1), None)?;
    read(ok(
        &w.secure_score_controls(r.seg(1), expand_definition(r))[0]
    ))
}

fn list_assessments(w: &mut World, r: &ArmRequest) -> Answer {
    w.check_scope(r.seg(1), None)?;
    let (items, changed) = w.assessments(r.seg(1), None);
    Ok((r.list(&items), changed))
}

fn vm_assessments(w: &mut World, r: &ArmRequest) -> Answer {
    w.check_scope(r.seg(1), None)?;
    let vm_id = r.path_prefix(8);
    if w.vm(&vm_id).is_none() {
        return Err(Fail::resource_not_found(
            "Microsoft.Compute/virtualMachines",
            r.seg(7),
            r.seg(3),
        ));
    }
    let (items, changed) = w.assessments(r.seg(1), Some(&vm_id));
    if r.segs.len() == 11 {
        return Ok((r.list(&items), changed));
    }
    let v = named(items, r.seg(11));
    Ok((
        found(v, "Microsoft.Security/assessments", r.seg(11), r.seg(3)),
        changed,
    ))
}

fn list_assessment_metadata(_: &mut World, r: &ArmRequest) -> Answer {
    read(r.list(&super::defender::assessment_metadata()))
}

fn get_assessment_metadata(_: &mut World, r: &ArmRequest) -> Answer {
    let key = r.segs.last().map(String::as_str).unwrap_or_default();
    let v = named(super::defender::assessment_metadata(), key);
    read(found(v, "Microsoft.Security/assessmentMetadata", key, ""))
}

fn list_control_definitions(_: &mut World, r: &ArmRequest) -> Answer {
    read(r.list(&[super::defender::control_definition()]))
}

// --- Defender alerts and security locations ---------------------------------------------------

fn in_resource_group(r: &ArmRequest) -> bool {
    r.seg(2).eq_ignore_ascii_case("resourcegroups")
}

fn list_alerts(w: &mut World, r: &ArmRequest) -> Answer {
    let rg = in_resource_group(r).then(|| r.seg(3));
    w.check_scope(r.seg(1), rg)?;
    // raised when a listing starts, not again for each of its later pages (that would
    // evaluate the subscription once per page)
    let changed = r.query("$skipToken").is_none() && w.raise_alerts(r.seg(1));
    Ok((
        r.list_paged(|skip, take| alerts_page(w, r.seg(1), rg, skip, take)),
        changed,
    ))
}

fn get_alert(w: &mut World, r: &ArmRequest) -> Answer {
    w.check_scope(r.seg(1), None)?;
    let changed = w.raise_alerts(r.seg(1));
    let name = r.seg(r.segs.len() - 1);
    let v = named(w.list_alerts(r.seg(1), None), name);
    let rg = if in_resource_group(r) { r.seg(3) } else { "" };
    Ok((
        found(v, "Microsoft.Security/locations/alerts", name, rg),
        changed,
    ))
}

fn set_alert_status(w: &mut World, r: &ArmRequest) -> Answer {
    w.check_scope(r.seg(1), None)?;
    let n = r.segs.len();
    w.set_alert_status(r.seg(1), r.seg(n - 2), r.seg(n - 1))?;
    Ok((StatusCode::NO_CONTENT.into_response(), true))
}

fn list_security_locations(w: &mut World, r: &ArmRequest) -> Answer {
    w.check_scope(r.seg(1), None)?;
    read(r.list(&w.security_locations(r.seg(1))))
}

fn get_security_location(w: &mut World, r: &ArmRequest) -> Answer {
    w.check_scope(r.seg(1), None)?;
    let v = named(w.security_locations(r.seg(1)), r.seg(5));
    read(found(v, "Microsoft.Security/locations", r.seg(5), r.seg(1)))
}

/// The item of `items` whose `name` is `name` (any case).
fn named(items: Vec<Value>, name: &str) -> Option<Value> {
    items.into_iter().find(|x| {
        x["name"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    })
}

impl ArmRequest {
    /// Segment `i` of the path, in the request's own spelling.
    fn seg(&self, i: usize) -> &str {
        &self.segs[i]
    }

    /// The resource kind that segments `i` and `i + 1` name (the route's guard checked it).
    fn kind(&self, i: usize) -> Kind {
        Kind::parse(
            &self.segs[i].to_ascii_lowercase(),
            &self.segs[i + 1].to_ascii_lowercase(),
        )
        .unwrap_or(Kind::VirtualMachines)
    }

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
    use crate::demo::{demo_world_with_extra_vms, SCALE_TEST};

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
