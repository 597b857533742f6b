//! The what-if preview computed in the browser: the inventory read through the server's
//! read-only ARM proxy (`/arm/...`), then the very planner the server runs
//! (`portcullis_shared::remediation::plan`), so the review step can show that both agree.
//!
//! The planner runs in a Web Worker built from `src/bin/whatif-worker.rs` ([`plan_json`]), so
//! the engine is not part of the dashboard's WASM and the page stays responsive.
use crate::api::{get_json, get_posture, ApiError};
use crate::format::score_number;
use portcullis_shared::api::{RemediationPlan, RemediationRequest, VmFilter};
use portcullis_shared::arm::id_key;
use serde::Deserialize;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};

/// The worker's loader script (trunk: `data-type="worker"`, `data-loader-shim`).
pub const WORKER_URL: &str = "/whatif-worker_loader.js";

/// The list calls of a snapshot: the server's own table.
use portcullis_shared::arm::versions::{SNAPSHOT_LISTS as RESOURCE_TYPES, SUBSCRIPTIONS};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    #[serde(default)]
    value: Vec<Value>,
    #[serde(default)]
    next_link: Option<String>,
}

/// Every page of an ARM list, through the proxy.
async fn list_all(first: String) -> Result<Vec<Value>, ApiError> {
    let mut items = Vec::new();
    let mut next = Some(first);
    while let Some(url) = next.take() {
        let page: Page = get_json(&url).await?;
        items.extend(page.value);
        next = page.next_link;
    }
    Ok(items)
}

/// `t` as a URL query value.
fn encode_component(t: &str) -> String {
    js_sys::encode_uri_component(t).into()
}

/// Each resource of `ids` by id, through the proxy; one that cannot be read (403, 404) is left
/// out, as the server's snapshot leaves it out (the evaluation then warns).
async fn get_each(ids: &[String]) -> Result<Vec<Value>, ApiError> {
    let mut out = Vec::new();
    for id in ids {
        let url = format!(
            "/arm{}?api-version={}",
            id.trim_end_matches('/'),
            portcullis_shared::arm::versions::NETWORK
        );
        match get_json::<Value>(&url).await {
            Ok(v) => out.push(v),
            Err(e) if matches!(e.status(), Some(403 | 404)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The inventory of every subscription the server can read, as ARM JSON (`Inventory`'s shape).
pub async fn load_inventory() -> Result<Value, ApiError> {
    let subscriptions = list_all(format!("/arm/subscriptions?api-version={SUBSCRIPTIONS}")).await?;
    let mut all = serde_json::Map::new();
    for (name, _, _) in RESOURCE_TYPES {
        all.insert(name.to_owned(), Value::Array(Vec::new()));
    }
    for subscription in &subscriptions {
        let Some(id) = subscription["subscriptionId"].as_str() else {
            continue;
        };
        for (name, path, version) in RESOURCE_TYPES {
            let items = list_all(format!(
                "/arm/subscriptions/{id}/{path}?api-version={version}"
            ))
            .await?;
            if let Some(Value::Array(list)) = all.get_mut(name) {
                list.extend(items);
            }
        }
    }
    // the firewalls' policies and their base policies (read by id, as the server's snapshot
    // does), the rule collection groups of each (their DNAT rules), and the IP groups those
    // rules name
    let mut policies: Vec<String> = all
        .get("azureFirewalls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| f["properties"]["firewallPolicy"]["id"].as_str())
        .map(str::to_owned)
        .collect();
    policies.sort_by_key(|p| id_key(p));
    policies.dedup_by_key(|p| id_key(p));
    let read = get_each(&policies).await?;
    let mut found = Vec::new();
    let mut level = read;
    while !level.is_empty() {
        let mut next = Vec::new();
        for policy in level {
            if let Some(base) = policy["properties"]["basePolicy"]["id"].as_str() {
                let known = policies.iter().any(|p| id_key(p) == id_key(base));
                if !known {
                    policies.push(base.to_owned());
                    next.push(base.to_owned());
                }
            }
            found.push(policy);
        }
        level = get_each(&next).await?;
    }
    let mut groups = Vec::new();
    for policy in &policies {
        // a base policy that could not be read has no groups to list either
        let readable = found
            .iter()
            .any(|f| f["id"].as_str().map(id_key) == Some(id_key(policy)));
        let used = all
            .get("azureFirewalls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|f| {
                f["properties"]["firewallPolicy"]["id"].as_str().map(id_key) == Some(id_key(policy))
            });
        if readable || used {
            groups.extend(
                list_all(format!(
                    "/arm{policy}/ruleCollectionGroups?api-version={}",
                    portcullis_shared::arm::versions::NETWORK
                ))
                .await?,
            );
        }
    }
    fn typed<T: serde::de::DeserializeOwned>(key: &str, v: &[Value]) -> Result<Vec<T>, ApiError> {
        serde_json::from_value(Value::Array(v.to_vec()))
            .map_err(|e| ApiError::Decode(format!("{key}: {e}")))
    }
    let firewalls: Vec<portcullis_shared::arm::AzureFirewall> = typed(
        "azureFirewalls",
        all.get("azureFirewalls")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice),
    )?;
    let typed_groups: Vec<portcullis_shared::arm::FirewallPolicyRuleCollectionGroup> =
        typed("firewallPolicyRuleCollectionGroups", &groups)?;
    let ip_groups = get_each(&portcullis_shared::arm::dnat_ip_groups(
        &firewalls,
        &typed_groups,
    ))
    .await?;
    all.insert(
        "firewallPolicyRuleCollectionGroups".to_owned(),
        Value::Array(groups),
    );
    all.insert("firewallPolicies".to_owned(), Value::Array(found));
    all.insert("ipGroups".to_owned(), Value::Array(ip_groups));
    // each VNet's effective security admin rules (Virtual Network Manager), which the proxy
    // reads with ARM's POST
    let vnets: Vec<String> = all
        .get("virtualNetworks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v["id"].as_str().map(str::to_owned))
        .collect();
    let mut admin = Vec::new();
    for vnet in vnets {
        let first = format!(
            "/arm{vnet}/listNetworkManagerEffectiveSecurityAdminRules?api-version={}",
            portcullis_shared::arm::versions::NETWORK
        );
        let mut rules = Vec::new();
        let mut url = Some(first.clone());
        while let Some(u) = url.take() {
            let page = match get_json::<Value>(&u).await {
                Ok(page) => page,
                Err(e) if e.status() == Some(404) => break,
                Err(e) => return Err(e),
            };
            rules.extend(page["value"].as_array().cloned().unwrap_or_default());
            url = page["skipToken"]
                .as_str()
                .filter(|t| !t.is_empty())
                .map(|t| format!("{first}&%24skipToken={}", encode_component(t)));
        }
        if !rules.is_empty() {
            admin.push(json!({"virtualNetwork": {"id": vnet}, "value": rules}));
        }
    }
    all.insert(
        "networkManagerEffectiveSecurityAdminRules".to_owned(),
        Value::Array(admin),
    );
    Ok(Value::Object(all))
}

/// The worker's side: `{"inventory", "request"}` → `{"ok": plan}` or `{"err": message}`.
pub fn plan_json(input: &str) -> String {
    #[derive(Deserialize)]
    struct Input {
        inventory: portcullis_shared::Inventory,
        request: RemediationRequest,
    }
    let result = serde_json::from_str::<Input>(input)
        .map_err(|e| e.to_string())
        .and_then(|input| {
            portcullis_shared::remediation::plan(
                &input.inventory,
                &portcullis_shared::EvalConfig::default(),
                &input.request,
            )
            .map(|planned| planned.plan)
            .map_err(|e| e.to_string())
        });
    match result {
        Ok(plan) => json!({ "ok": plan }).to_string(),
        Err(message) => json!({ "err": message }).to_string(),
    }
}

thread_local! {
    /// The inventory the last preview read (as JSON) and the server's snapshot time then.
    static LAST_READ: RefCell<Option<(String, Rc<str>)>> = const { RefCell::new(None) };
}

/// The inventory, read through the proxy once per server snapshot: further previews against
/// the same snapshot (the server's preview plans on it too) reuse it instead of reading the
/// whole tenant again; a new snapshot (after an apply, a refresh) reads it anew.
async fn inventory_for_preview() -> Result<Rc<str>, ApiError> {
    let filter = VmFilter {
        per_page: Some(1),
        ..VmFilter::default()
    };
    let at = get_posture(filter).await?.refreshed_at.unwrap_or_default();
    let cached = LAST_READ.with(|r| {
        r.borrow()
            .as_ref()
            .filter(|(key, _)| !at.is_empty() && *key == at)
            .map(|(_, json)| json.clone())
    });
    if let Some(json) = cached {
        return Ok(json);
    }
    let json: Rc<str> = load_inventory().await?.to_string().into();
    LAST_READ.with(|r| *r.borrow_mut() = Some((at, json.clone())));
    Ok(json)
}

/// Plans `request` in the browser (inventory through the proxy, planner in the worker).
pub async fn plan_in_browser(request: &RemediationRequest) -> Result<RemediationPlan, String> {
    let inventory = inventory_for_preview().await.map_err(|e| e.to_string())?;
    let request = serde_json::to_string(request).map_err(|e| e.to_string())?;
    let message = format!(r#"{{"inventory":{inventory},"request":{request}}}"#);
    let worker = web_sys::Worker::new(WORKER_URL)
        .map_err(|e| format!("cannot start the what-if worker: {e:?}"))?;
    let reply = js_sys::Promise::new(&mut |resolve, reject| {
        // First "ready" (the worker's WASM has started), then the answer.
        let sender = worker.clone();
        let message = message.clone();
        let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
            move |event: web_sys::MessageEvent| {
                if event.data().as_string().as_deref() == Some("ready") {
                    let _ = sender.post_message(&JsValue::from_str(&message));
                } else {
                    let _ = resolve.call1(&JsValue::NULL, &event.data());
                }
            },
        );
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
        let on_error = Closure::once_into_js(move |event: web_sys::Event| {
            // an ErrorEvent: its message says what failed (a panic's text, a load error)
            let detail = js_sys::Reflect::get(&event, &JsValue::from_str("message"))
                .ok()
                .and_then(|m| m.as_string())
                .filter(|m| !m.is_empty());
            let text = match detail {
                Some(m) => format!("the what-if worker failed: {m}"),
                None => "the what-if worker failed".to_owned(),
            };
            let _ = reject.call1(&JsValue::NULL, &JsValue::from_str(&text));
        });
        worker.set_onerror(Some(on_error.unchecked_ref()));
    });
    let answer = wasm_bindgen_futures::JsFuture::from(reply).await;
    worker.terminate();
    let text = answer
        .map_err(|e| e.as_string().unwrap_or_else(|| format!("{e:?}")))?
        .as_string()
        .unwrap_or_default();
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    enum Answer {
        Ok(Box<RemediationPlan>),
        Err(String),
    }
    match serde_json::from_str::<Answer>(&text).map_err(|e| e.to_string())? {
        Answer::Ok(plan) => Ok(*plan),
        Answer::Err(message) => Err(message),
    }
}

/// Where the server's plan and the browser's differ (empty: they agree) on what the review
/// shows: the score before and after, each VM's predicted status, and the rule changes.
pub fn disagreements(server: &RemediationPlan, browser: &RemediationPlan) -> Vec<String> {
    let mut out = Vec::new();
    for (what, s, b) in [
        (
            "score now",
            server.before.current_score,
            browser.before.current_score,
        ),
        (
            "predicted score",
            server.after.current_score,
            browser.after.current_score,
        ),
    ] {
        if (s - b).abs() > 0.005 {
            out.push(format!(
                "{what}: server {}, browser {}",
                score_number(s),
                score_number(b)
            ));
        }
    }
    for vm in &server.vms {
        match browser
            .vms
            .iter()
            .find(|b| b.id.eq_ignore_ascii_case(&vm.id))
        {
            Some(b) if b.after != vm.after => out.push(format!(
                "{}: server predicts {}, browser {}",
                vm.name,
                vm.after.as_str(),
                b.after.as_str()
            )),
            Some(_) => {}
            None => out.push(format!("{}: missing from the browser's plan", vm.name)),
        }
    }
    let rules = |plan: &RemediationPlan| {
        let mut rules: Vec<(String, String)> = plan
            .nsg_changes
            .iter()
            .flat_map(|c| {
                c.diff.iter().map(move |d| {
                    (
                        c.nsg_name.to_lowercase(),
                        format!("{:?} {}", d.change, d.rule),
                    )
                })
            })
            // the firewall DNAT rules too, by the firewall or rule collection group changed
            .chain(plan.firewall_changes.iter().flat_map(|c| {
                c.diff.iter().map(move |d| {
                    (
                        c.target_id.to_lowercase(),
                        format!("{:?} {}", d.change, d.rule),
                    )
                })
            }))
            .collect();
        rules.sort();
        rules
    };
    if rules(server) != rules(browser) {
        out.push("the rule changes differ".to_owned());
    }
    out
}
