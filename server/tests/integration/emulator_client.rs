//! The ARM client against the emulator over real HTTP: paging, errors, ETag races,
//! long-running operations, throttling and every fault mode, snapshots under faults.

use super::support::*;
use portcullis::arm::{api, ArmError};
use portcullis::snapshot::take_snapshot;
use portcullis_emulator::{Faults, Throttle};
use portcullis_shared::arm::{NetworkSecurityGroup, Page, SecurityRule, VirtualMachine};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const NSG_PATH: &str = "/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg-dev/providers/Microsoft.Network/networkSecurityGroups/dev-linux-01-nsg";

fn nsg_url(extra: &str) -> String {
    format!("{NSG_PATH}{extra}?api-version={}", api::NETWORK)
}

#[tokio::test]
async fn lists_follow_next_link_with_page_size_two() {
    let emu = emulator(EmulatorConfig {
        page_size: 2,
        ..config()
    })
    .await;
    let client = client(&emu.url());
    let path = format!(
        "/subscriptions/{PROD}/providers/Microsoft.Compute/virtualMachines?api-version={}",
        api::COMPUTE
    );
    // the first page: two items and an absolute nextLink carrying the query and a $skipToken
    let first: Page<VirtualMachine> = client.get(&path).await.unwrap();
    assert_eq!(first.value.len(), 2);
    let next = first.next_link.expect("more pages");
    assert!(next.starts_with(&emu.url()), "{next}");
    assert!(
        next.contains("api-version=2024-11-01") && next.contains("%24skipToken=2"),
        "{next}"
    );
    // all pages
    let all: Vec<VirtualMachine> = client.list(&path).await.unwrap();
    let expected = emu
        .inventory()
        .await
        .virtual_machines
        .iter()
        .filter(|v| v.id.contains(PROD))
        .count();
    assert_eq!(all.len(), expected);
    assert!(expected > 20, "{expected}");
    let mut ids: Vec<&str> = all.iter().map(|v| v.id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), expected, "no item twice");
}

#[tokio::test]
async fn arm_errors_have_arm_codes_messages_and_request_ids() {
    let emu = emulator(config()).await;
    let url = emu.url();
    let r = http()
        .get(format!(
            "{url}/subscriptions/{PROD}/providers/Microsoft.Compute/virtualMachines"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("x-ms-request-id").is_some());
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": {"code": "MissingApiVersionParameter", "message": "The api-version query parameter (?api-version=) is required for all requests."}})
    );
    let client = client(&url);
    let e = client
        .get::<Value>("/subscriptions/99999999-9999-9999-9999-999999999999?api-version=2022-12-01")
        .await
        .unwrap_err();
    assert_eq!(
        (e.status(), e.code()),
        (Some(404), Some("SubscriptionNotFound"))
    );
    let e = client.get::<Value>(&format!("/subscriptions/{DEV}/resourceGroups/rg-dev/providers/Microsoft.Network/networkSecurityGroups/nope?api-version=2024-07-01")).await.unwrap_err();
    assert_eq!(
        (e.status(), e.code()),
        (Some(404), Some("ResourceNotFound"))
    );
    assert!(
        matches!(
            &e,
            ArmError::Api {
                request_id: Some(_),
                ..
            }
        ),
        "{e:?}"
    );
    let e = client.get::<Value>(&format!("/subscriptions/{DEV}/providers/Microsoft.Compute/virtualMachines?api-version=2099-01-01")).await.unwrap_err();
    assert_eq!(
        (e.status(), e.code()),
        (Some(400), Some("NoRegisteredProviderFound"))
    );
    // resource names and path keywords are case-insensitive
    let nsg: NetworkSecurityGroup = client
        .get(
            &nsg_url("")
                .to_uppercase()
                .replace("API-VERSION", "api-version"),
        )
        .await
        .unwrap();
    assert_eq!(nsg.name.as_deref(), Some("dev-linux-01-nsg"));
    // a body that is not JSON
    let r = http()
        .put(format!("{url}{}", nsg_url("")))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "InvalidRequestContent"
    );
}

#[tokio::test]
async fn nsg_put_is_a_long_running_operation_polled_to_succeeded() {
    let emu = emulator(EmulatorConfig {
        lro_polls: 3,
        ..config()
    })
    .await;
    let url = emu.url();
    let client = client(&url);
    let mut nsg: NetworkSecurityGroup = client.get(&nsg_url("")).await.unwrap();
    nsg.props_mut().security_rules[0]
        .properties
        .source_address_prefix = Some("203.0.113.0/24".into());
    // raw: 200 with provisioningState Updating and an Azure-AsyncOperation to poll
    let r = http()
        .put(format!("{url}{}", nsg_url("")))
        .json(&nsg)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let op = r.headers()["azure-asyncoperation"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        op.starts_with(&url)
            && op.contains("/providers/Microsoft.Network/locations/northeurope/operations/"),
        "{op}"
    );
    let body: NetworkSecurityGroup = r.json().await.unwrap();
    assert_eq!(
        body.properties.provisioning_state.as_deref(),
        Some("Updating")
    );
    let statuses: Vec<String> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            let s: Value = http().get(&op).send().await.unwrap().json().await.unwrap();
            v.push(s["status"].as_str().unwrap().to_string());
        }
        v
    };
    assert_eq!(statuses, ["InProgress", "InProgress", "Succeeded"]);
    // through the client: it polls and returns the final resource
    let created: NetworkSecurityGroup = client
        .put(&format!("/subscriptions/{DEV}/resourceGroups/rg-dev/providers/Microsoft.Network/networkSecurityGroups/new-nsg?api-version=2024-07-01"), &json!({"location": "northeurope", "properties": {"securityRules": []}}), None)
        .await
        .unwrap();
    assert_eq!(
        created.properties.provisioning_state.as_deref(),
        Some("Succeeded")
    );
    let raw: Value = client.get("/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg-dev/providers/Microsoft.Network/networkSecurityGroups/new-nsg?api-version=2024-07-01").await.unwrap();
    assert_eq!(
        raw["properties"]["defaultSecurityRules"]
            .as_array()
            .map(Vec::len),
        Some(6),
        "{raw}"
    );
    assert!(created
        .etag
        .as_deref()
        .is_some_and(|e| e.starts_with("W/\"")));
    // DELETE: 202 + Location, polled to the end
    assert!(client.delete(&format!("/subscriptions/{DEV}/resourceGroups/rg-dev/providers/Microsoft.Network/networkSecurityGroups/new-nsg?api-version=2024-07-01"), None).await.unwrap());
    let e = client.get::<Value>(&format!("/subscriptions/{DEV}/resourceGroups/rg-dev/providers/Microsoft.Network/networkSecurityGroups/new-nsg?api-version=2024-07-01")).await.unwrap_err();
    assert_eq!(e.status(), Some(404));
    // an NSG in use cannot be deleted
    let e = client.delete(&nsg_url(""), None).await.unwrap_err();
    assert_eq!(e.code(), Some("InUseNetworkSecurityGroupCannotBeDeleted"));
}

#[tokio::test]
async fn if_match_loses_the_race_with_412_and_wins_after_a_reread() {
    let emu = emulator(config()).await;
    let client = client(&emu.url());
    let first: NetworkSecurityGroup = client.get(&nsg_url("")).await.unwrap();
    let etag = first.etag.clone().unwrap();
    // writer A wins with the current ETag
    let mut a = first.clone();
    a.props_mut().security_rules[0]
        .properties
        .source_address_prefix = Some("198.51.100.0/24".into());
    let after_a: NetworkSecurityGroup = client.put(&nsg_url(""), &a, Some(&etag)).await.unwrap();
    assert_ne!(
        after_a.etag.as_deref(),
        Some(etag.as_str()),
        "a write changes the ETag"
    );
    // writer B, still holding the old ETag, loses
    let mut b = first.clone();
    b.props_mut().security_rules[0]
        .properties
        .source_address_prefix = Some("*".into());
    let e = client
        .put::<_, Value>(&nsg_url(""), &b, Some(&etag))
        .await
        .unwrap_err();
    assert_eq!(
        (e.status(), e.code()),
        (Some(412), Some("PreconditionFailed"))
    );
    // ... re-reads and re-plans
    let fresh: NetworkSecurityGroup = client.get(&nsg_url("")).await.unwrap();
    assert_eq!(
        fresh.properties.security_rules[0]
            .properties
            .source_address_prefix
            .as_deref(),
        Some("198.51.100.0/24"),
        "A's change survived"
    );
    let rule_etag = fresh.properties.security_rules[0].etag.clone().unwrap();
    let rule: SecurityRule = client
        .put(&nsg_url("/securityRules/SSH"), &json!({"properties": {"protocol": "Tcp", "access": "Allow", "priority": 300, "direction": "Inbound", "sourceAddressPrefix": "203.0.113.0/24", "sourcePortRange": "*", "destinationAddressPrefix": "*", "destinationPortRange": "22"}}), Some(&rule_etag))
        .await
        .unwrap();
    assert_eq!(
        rule.properties.source_address_prefix.as_deref(),
        Some("203.0.113.0/24")
    );
    // If-None-Match: * on something that exists, If-Match: * on something that does not
    let r = http()
        .put(format!("{}{}", emu.url(), nsg_url("")))
        .header("if-none-match", "*")
        .json(&fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 412);
    let r = http()
        .put(format!("{}/subscriptions/{DEV}/resourceGroups/rg-dev/providers/Microsoft.Network/networkSecurityGroups/ghost?api-version=2024-07-01", emu.url()))
        .header("if-match", "*")
        .json(&json!({"location": "northeurope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 412);
}

#[tokio::test]
async fn rules_are_validated_as_arm_does() {
    let emu = emulator(config()).await;
    let client = client(&emu.url());
    let rule = |priority: i64, port: &str, src: &str| json!({"properties": {"protocol": "Tcp", "access": "Deny", "priority": priority, "direction": "Inbound", "sourceAddressPrefix": src, "sourcePortRange": "*", "destinationAddressPrefix": "*", "destinationPortRange": port}});
    let code = |e: ArmError| (e.status(), e.code().map(str::to_string));
    let e = client
        .put::<_, Value>(
            &nsg_url("/securityRules/too-low"),
            &rule(5000, "22", "*"),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(
        code(e),
        (Some(400), Some("SecurityRuleInvalidPriority".into()))
    );
    let e = client
        .put::<_, Value>(&nsg_url("/securityRules/dup"), &rule(300, "22", "*"), None)
        .await
        .unwrap_err();
    assert_eq!(code(e), (Some(400), Some("SecurityRuleConflict".into())));
    let e = client
        .put::<_, Value>(
            &nsg_url("/securityRules/port"),
            &rule(310, "70000", "*"),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(
        code(e),
        (Some(400), Some("SecurityRuleInvalidPortRange".into()))
    );
    let e = client
        .put::<_, Value>(
            &nsg_url("/securityRules/prefix"),
            &rule(310, "22", "10.0.0.300"),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(
        code(e),
        (Some(400), Some("SecurityRuleInvalidAddressPrefix".into()))
    );
    let e = client
        .put::<_, Value>(
            &nsg_url("/securityRules/missing"),
            &json!({"properties": {"protocol": "Tcp", "priority": 320}}),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(
        code(e),
        (Some(400), Some("SecurityRuleParameterMissing".into()))
    );
    let ok: SecurityRule = client
        .put(
            &nsg_url("/securityRules/deny-ssh"),
            &rule(200, "22", "*"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        ok.properties.provisioning_state.as_deref(),
        Some("Succeeded")
    );
    assert!(client
        .delete(&nsg_url("/securityRules/deny-ssh"), None)
        .await
        .unwrap());
    assert!(
        !client
            .delete(&nsg_url("/securityRules/deny-ssh"), None)
            .await
            .unwrap(),
        "204 the second time"
    );
}

#[tokio::test]
async fn throttling_answers_429_with_retry_after_and_the_client_waits() {
    let throttle = Throttle {
        reads_capacity: 3.0,
        reads_per_second: 5.0,
        ..Throttle::default()
    };
    let emu = emulator(EmulatorConfig {
        throttle,
        ..config()
    })
    .await;
    let url = emu.url();
    let path = format!("/subscriptions/{PROD}/providers/Microsoft.Network/networkSecurityGroups?api-version=2024-07-01");
    // a raw burst: the bucket empties and ARM says how long to wait
    let mut saw_429 = None;
    let mut remaining = Vec::new();
    for _ in 0..6 {
        let r = http().get(format!("{url}{path}")).send().await.unwrap();
        if r.status() == 429 {
            saw_429 = Some((
                r.headers()["retry-after"].to_str().unwrap().to_string(),
                r.headers()["retry-after-ms"]
                    .to_str()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap(),
                r.json::<Value>().await.unwrap(),
            ));
            break;
        }
        remaining.push(
            r.headers()["x-ms-ratelimit-remaining-subscription-reads"]
                .to_str()
                .unwrap()
                .parse::<u64>()
                .unwrap(),
        );
    }
    let (retry_after, retry_ms, body) = saw_429.expect("the bucket runs dry");
    assert_eq!(retry_after, "1");
    assert!((1..=200).contains(&retry_ms), "{retry_ms}");
    assert_eq!(body["error"]["code"], "SubscriptionRequestsThrottled");
    assert!(
        !remaining.is_empty() && remaining.iter().all(|r| *r <= 2),
        "{remaining:?}"
    );
    // the client rides it out
    let client = client(&url);
    for _ in 0..5 {
        let _: Vec<Value> = client.list(&path).await.unwrap();
    }
    assert!(client.retries() > 0);
    assert!(stats(&url).await["throttled"].as_u64().unwrap() > 1);
}

/// Runs `n` list calls under `faults` and checks they all return the full list.
async fn survives(faults: Faults) -> (Value, u64, Duration) {
    let emu = emulator(EmulatorConfig {
        page_size: 5,
        ..config()
    })
    .await;
    let url = emu.url();
    let mut cfg = portcullis::arm::ArmClientConfig::fast(&url).unwrap();
    cfg.retry.max_attempts = 12;
    let client =
        portcullis::arm::ArmClient::new(cfg, std::sync::Arc::new(portcullis::arm::NoAuth)).unwrap();
    let path = format!(
        "/subscriptions/{DEV}/providers/Microsoft.Compute/virtualMachines?api-version=2024-11-01"
    );
    let clean: Vec<Value> = client.list(&path).await.unwrap();
    admin(&url, "faults", serde_json::to_value(faults).unwrap()).await;
    let started = Instant::now();
    for _ in 0..5 {
        let got: Vec<Value> = client.list(&path).await.unwrap();
        assert_eq!(got, clean);
    }
    (stats(&url).await, client.retries(), started.elapsed())
}

#[tokio::test]
async fn injected_429s_are_retried() {
    let (s, retries, _) = survives(Faults {
        rate429: 0.3,
        ..Faults::default()
    })
    .await;
    assert!(s["injected429"].as_u64().unwrap() > 0, "{s}");
    assert!(retries >= s["injected429"].as_u64().unwrap());
}

#[tokio::test]
async fn injected_5xx_are_retried() {
    let (s, retries, _) = survives(Faults {
        rate5xx: 0.3,
        ..Faults::default()
    })
    .await;
    assert!(s["injected5xx"].as_u64().unwrap() > 0, "{s}");
    assert!(retries >= s["injected5xx"].as_u64().unwrap());
}

#[tokio::test]
async fn dropped_connections_are_retried() {
    let (s, retries, _) = survives(Faults {
        drop_rate: 0.3,
        ..Faults::default()
    })
    .await;
    assert!(s["dropped"].as_u64().unwrap() > 0, "{s}");
    assert!(retries >= s["dropped"].as_u64().unwrap());
}

#[tokio::test]
async fn latency_is_added_to_every_request() {
    let (s, _, elapsed) = survives(Faults {
        latency_ms: 40,
        ..Faults::default()
    })
    .await;
    // 5 lists of 30 VMs at 5 per page = 30 requests
    assert!(elapsed >= Duration::from_millis(30 * 40), "{elapsed:?} {s}");
}

#[tokio::test]
async fn a_dropped_connection_gets_no_response_at_all() {
    let emu = emulator(EmulatorConfig {
        faults: Faults {
            drop_rate: 1.0,
            ..Faults::default()
        },
        ..config()
    })
    .await;
    let e = http()
        .get(format!(
            "{}/subscriptions?api-version=2022-12-01",
            emu.url()
        ))
        .send()
        .await
        .unwrap_err();
    assert!(
        !e.is_status() && (e.is_request() || e.is_connect() || e.is_body()),
        "{e:?}"
    );
    // admin endpoints are never faulted, so tests can always switch faults off
    admin(&emu.url(), "faults", json!({})).await;
    assert!(http()
        .get(format!(
            "{}/subscriptions?api-version=2022-12-01",
            emu.url()
        ))
        .send()
        .await
        .unwrap()
        .status()
        .is_success());
}

#[tokio::test]
async fn a_snapshot_under_heavy_faults_equals_one_without() {
    let emu = emulator(EmulatorConfig {
        page_size: 7,
        ..config()
    })
    .await;
    let url = emu.url();
    let clean = take_snapshot(&client(&url), 4, &|_| {}).await.unwrap();
    assert_eq!(clean.virtual_machines.len(), 63);
    // about a third of all requests fail; 15 attempts make a lost request (0.35^15) negligible
    admin(
        &url,
        "faults",
        json!({"rate429": 0.2, "rate5xx": 0.15, "dropRate": 0.05, "latencyMs": 2}),
    )
    .await;
    let progress = std::sync::Mutex::new(Vec::new());
    let mut cfg = portcullis::arm::ArmClientConfig::fast(&url).unwrap();
    cfg.retry.max_attempts = 15;
    let faulty_client =
        portcullis::arm::ArmClient::new(cfg, std::sync::Arc::new(portcullis::arm::NoAuth)).unwrap();
    let faulty = take_snapshot(&faulty_client, 4, &|p| {
        progress.lock().unwrap().push(p.to_string())
    })
    .await
    .unwrap();
    assert_eq!(
        serde_json::to_value(&faulty).unwrap(),
        serde_json::to_value(&clean).unwrap()
    );
    let s = stats(&url).await;
    assert!(
        s["injected429"].as_u64().unwrap() > 0
            && s["injected5xx"].as_u64().unwrap() > 0
            && s["dropped"].as_u64().unwrap() > 0,
        "{s}"
    );
    assert!(faulty_client.retries() > 0);
    let progress = progress.into_inner().unwrap();
    let types = portcullis::snapshot::RESOURCE_TYPES.len();
    assert_eq!(types, 11, "the snapshot's lists");
    assert_eq!(
        progress.len(),
        2 * types,
        "each resource type x 2 subscriptions"
    );
    assert!(
        progress
            .iter()
            .any(|p| p.contains("Contoso Dev/Test") && p.contains("11/11 resource types")),
        "{progress:?}"
    );
}

#[tokio::test]
async fn a_snapshot_through_resource_graph_equals_one_through_list_calls() {
    use portcullis::snapshot::{take_snapshot_from, Source};
    use portcullis_shared::{evaluate, EvalConfig};
    let emu = emulator(EmulatorConfig {
        page_size: 7,
        ..config()
    })
    .await;
    let url = emu.url();
    let c = client(&url);
    let lists = take_snapshot_from(&c, 4, &|_| {}, Source::Lists)
        .await
        .unwrap();
    let graph = take_snapshot_from(&c, 4, &|_| {}, Source::Graph)
        .await
        .unwrap();
    let rows = take_snapshot_from(&c, 4, &|_| {}, Source::GraphRows)
        .await
        .unwrap();
    assert_eq!(graph.virtual_machines.len(), 63);
    // the demo's application gateway, through either source
    assert_eq!(lists.application_gateways.len(), 1);
    assert_eq!(graph.application_gateways.len(), 1);
    assert_eq!(graph.resource_count(), lists.resource_count());
    assert_eq!(rows.resource_count(), lists.resource_count());
    let ids = |inv: &portcullis_shared::Inventory| -> Vec<String> {
        let v = serde_json::to_value(inv).unwrap();
        let mut ids: Vec<String> = v
            .as_object()
            .unwrap()
            .values()
            .flat_map(|list| list.as_array().cloned().unwrap_or_default())
            .filter_map(|r| r["id"].as_str().map(str::to_ascii_lowercase))
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&graph), ids(&lists));
    assert_eq!(ids(&rows), ids(&lists));
    // the same verdicts, VM by VM
    let cfg = EvalConfig::default();
    let a = evaluate(&lists, &cfg).unwrap();
    for other in [&graph, &rows] {
        let b = evaluate(other, &cfg).unwrap();
        assert_eq!(a.control, b.control);
        assert_eq!(
            serde_json::to_value(&a.vms).unwrap(),
            serde_json::to_value(&b.vms).unwrap()
        );
    }

    // the quota: 15 queries per 5 s window per user; packed (3 queries: the VNets, a count, one
    // summary) and per row (9 queries) used 12: a third snapshot waits for the reset instead of
    // being throttled, and still equals the others
    let started = Instant::now();
    let again = take_snapshot_from(&c, 4, &|_| {}, Source::GraphRows)
        .await
        .unwrap();
    assert_eq!(ids(&again), ids(&lists));
    assert!(
        c.render_metrics()
            .contains("portcullis_arm_throttled_total 0\n"),
        "no request over quota: {}",
        c.render_metrics()
    );
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "it waited for the reset"
    );

    // Resource Graph's own answers: a query it does not carry, and a used-up quota
    let post = |body: Value| {
        let url = url.clone();
        async move {
            http()
                .post(format!(
                    "{url}/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01"
                ))
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let r = post(
        json!({"subscriptions": ["11111111-1111-1111-1111-111111111111"],
        "query": "Resources | mv-expand rules = properties.securityRules"}),
    )
    .await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "BadRequest");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("InvalidQuery"));
    let q = json!({"subscriptions": ["11111111-1111-1111-1111-111111111111"],
        "query": "Resources | where type =~ 'microsoft.compute/virtualmachines' | order by id asc",
        "options": {"$top": 5, "resultFormat": "objectArray"}});
    let mut statuses = Vec::new();
    let mut first_remaining = None;
    for _ in 0..16 {
        let r = post(q.clone()).await;
        if first_remaining.is_none() {
            first_remaining = r
                .headers()
                .get("x-ms-user-quota-remaining")
                .map(|v| v.to_str().unwrap().to_string());
            let page: Value = r.json().await.unwrap();
            assert_eq!(page["count"], 5);
            assert!(page["$skipToken"].is_string(), "{page}");
            statuses.push(200);
            continue;
        }
        let status = r.status().as_u16();
        if status == 429 {
            assert!(r.headers().get("x-ms-user-quota-resets-after").is_some());
            assert_eq!(r.headers()["x-ms-user-quota-remaining"], "0");
        }
        statuses.push(status);
    }
    assert!(first_remaining.is_some());
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
}

#[tokio::test]
async fn a_snapshot_reads_only_its_scope() {
    use portcullis::snapshot::{take_snapshot_scoped, Scope, Source};
    let emu = emulator(config()).await;
    let c = client(&emu.url());
    let dev = Scope::parse(&["22222222-2222-2222-2222-222222222222".into()]).unwrap();
    let inv = take_snapshot_scoped(&c, 4, &|_| {}, Source::Auto, &dev)
        .await
        .unwrap();
    assert!(!inv.virtual_machines.is_empty());
    assert!(inv
        .virtual_machines
        .iter()
        .all(|v| v.id.contains("/22222222-2222-2222-2222-222222222222/")));
    // a management group goes through Resource Graph (the emulator's group holds the tenant)
    let mg = Scope::parse(&["managementGroups/contoso".into()]).unwrap();
    assert_eq!(mg.management_group.as_deref(), Some("contoso"));
    let all = take_snapshot_scoped(&c, 4, &|_| {}, Source::Auto, &mg)
        .await
        .unwrap();
    assert_eq!(all.virtual_machines.len(), 63);
    // bad scopes name the item
    let err = Scope::parse(&["nope".into()]).unwrap_err();
    assert!(err.starts_with("scope[0]: \"nope\""), "{err}");
    assert!(Scope::parse(&[
        "managementGroups/a".into(),
        "22222222-2222-2222-2222-222222222222".into()
    ])
    .is_err());
}

/// `--demo-estate`: an estate of many subscriptions under the management group `contoso`, read
/// whole through Resource Graph (pages that cross subscriptions) equals it read by list calls.
#[tokio::test]
async fn an_estate_through_resource_graph_equals_it_through_list_calls() {
    use portcullis::snapshot::{take_snapshot_scoped, Scope, Source};
    use portcullis_emulator::demo::{estate_subscription_id, Estate};
    let estate: Estate = "30,1500".parse().unwrap();
    let emu = emulator(EmulatorConfig {
        page_size: 100,
        demo_estate: Some(estate),
        ..config()
    })
    .await;
    let c = client(&emu.url());
    let mg = Scope::parse(&["managementGroups/contoso".into()]).unwrap();
    let graph = take_snapshot_scoped(&c, 4, &|_| {}, Source::Graph, &mg)
        .await
        .unwrap();
    let lists = take_snapshot_scoped(&c, 8, &|_| {}, Source::Lists, &Scope::default())
        .await
        .unwrap();
    // the demo tenant's 63 VMs and the estate's 1,500, 50 in each of its 30 subscriptions
    assert_eq!(graph.virtual_machines.len(), 63 + 1500);
    let last = estate_subscription_id(29);
    assert_eq!(
        graph
            .virtual_machines
            .iter()
            .filter(|v| v.id.contains(&last))
            .count(),
        50
    );
    let ids = |inv: &portcullis_shared::Inventory| -> Vec<String> {
        let v = serde_json::to_value(inv).unwrap();
        let mut ids: Vec<String> = v
            .as_object()
            .unwrap()
            .values()
            .flat_map(|list| list.as_array().cloned().unwrap_or_default())
            .filter_map(|r| r["id"].as_str().map(str::to_ascii_lowercase))
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&graph), ids(&lists));
    // one resource per row, at the group: the same
    let rows = take_snapshot_scoped(&c, 4, &|_| {}, Source::GraphRows, &mg)
        .await
        .unwrap();
    assert_eq!(ids(&rows), ids(&lists));
    assert!(
        c.render_metrics()
            .contains("portcullis_arm_throttled_total 0\n"),
        "{}",
        c.render_metrics()
    );

    // a bad estate names the value
    let err = "30".parse::<Estate>().unwrap_err();
    assert!(
        err.contains("\"30\"") && err.contains("SUBSCRIPTIONS,VMS"),
        "{err}"
    );
    let err = "0,10".parse::<Estate>().unwrap_err();
    assert!(err.contains("not 0"), "{err}");
    let err = "10,many".parse::<Estate>().unwrap_err();
    assert!(err.contains("\"many\""), "{err}");
}

/// Packed Resource Graph reads fit its largest answer. With the limit lowered, a batch of
/// subscriptions whose answer would exceed it is split, and a subscription alone over it is read
/// per row, pages shrinking until they fit; the snapshots still equal the list calls'.
#[tokio::test]
async fn packed_resource_graph_reads_fit_its_largest_answer() {
    use portcullis::snapshot::{take_snapshot_scoped, Scope, Source};
    use portcullis_emulator::demo::estate_subscription_id;
    let emu = emulator(EmulatorConfig {
        page_size: 100,
        demo_estate: Some("6,60".parse().unwrap()),
        ..config()
    })
    .await;
    let url = emu.url();
    let post = |body: Value| {
        let url = url.clone();
        async move {
            let r = http()
                .post(format!(
                    "{url}/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01"
                ))
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let ids = |inv: &portcullis_shared::Inventory| -> Vec<String> {
        let v = serde_json::to_value(inv).unwrap();
        let mut ids: Vec<String> = v
            .as_object()
            .unwrap()
            .values()
            .flat_map(|list| list.as_array().cloned().unwrap_or_default())
            .filter_map(|r| r["id"].as_str().map(str::to_ascii_lowercase))
            .collect();
        ids.sort();
        ids
    };
    let types = [
        "microsoft.compute/virtualmachines",
        "microsoft.network/networkinterfaces",
        "microsoft.network/publicipaddresses",
        "microsoft.network/networksecuritygroups",
        "microsoft.network/applicationsecuritygroups",
        "microsoft.network/loadbalancers",
        "microsoft.network/azurefirewalls",
        "microsoft.network/bastionhosts",
    ];
    let packed = portcullis_shared::arm::graph::packed_query(&types);
    let count = portcullis_shared::arm::graph::count_query(&types[..1]);
    let size_of = |sub: String| {
        let q = json!({"subscriptions": [sub], "query": packed,
            "options": {"resultFormat": "objectArray", "$top": 1000}});
        let post = &post;
        async move {
            let (status, v) = post(q).await;
            assert_eq!(status, 200, "{v}");
            serde_json::to_vec(&v).unwrap().len()
        }
    };
    let (estate0, estate1) = (estate_subscription_id(0), estate_subscription_id(1));
    let one = size_of(estate0.clone()).await;
    let third = size_of(estate_subscription_id(2)).await;
    let two = {
        let (status, v) = post(json!({"subscriptions": [estate0, estate1], "query": packed,
            "options": {"resultFormat": "objectArray", "$top": 1000}}))
        .await;
        assert_eq!(status, 200, "{v}");
        let rows = v["data"].as_array().unwrap();
        // each row's list is as long as its count
        assert!(rows
            .iter()
            .all(|r| r["rows"].as_array().unwrap().len() as u64 == r["n"].as_u64().unwrap()));
        serde_json::to_vec(&v).unwrap().len()
    };
    assert!(two > one + one / 2, "{two} for two, {one} for one");

    // the answer over the limit, as Resource Graph writes it
    admin(&url, "graph-payload-limit", json!({"bytes": one - 1})).await;
    let (status, err) = post(json!({"subscriptions": [estate0], "query": packed})).await;
    assert_eq!(status, 400);
    assert_eq!(err["error"]["code"], "BadRequest");
    assert_eq!(
        err["error"]["details"][0]["code"],
        "ResponsePayloadTooLarge"
    );
    let detail = err["error"]["details"][0]["message"].as_str().unwrap();
    assert!(
        detail.contains(&format!(
            "Response payload size is {one}, and has exceeded the limit of {}",
            one - 1
        )),
        "{detail}"
    );
    // a summary has one page: past $top it says so, with no $skipToken, and refuses one
    let (status, cut) = post(json!({"managementGroups": ["contoso"], "query": count,
        "options": {"$top": 3}}))
    .await;
    assert_eq!(status, 200, "{cut}");
    assert_eq!(cut["count"], 3);
    assert_eq!(cut["resultTruncated"], "true");
    assert!(cut.get("$skipToken").is_none(), "{cut}");
    let (status, err) = post(json!({"managementGroups": ["contoso"], "query": count,
        "options": {"$skipToken": "3"}}))
    .await;
    assert_eq!(status, 400, "{err}");
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("first page only"));

    let c = client(&url);
    let lists = take_snapshot_scoped(&c, 8, &|_| {}, Source::Lists, &Scope::default())
        .await
        .unwrap();
    let mg = Scope::parse(&["managementGroups/contoso".into()]).unwrap();
    // room for three of the estate's subscriptions: the batch the first guess makes of all six
    // answers too much, and is split
    admin(
        &url,
        "graph-payload-limit",
        json!({"bytes": one * 3 + one / 2}),
    )
    .await;
    let before = c.requests();
    let split = take_snapshot_scoped(&c, 4, &|_| {}, Source::Graph, &mg)
        .await
        .unwrap();
    let split_requests = c.requests() - before;
    assert_eq!(ids(&split), ids(&lists));
    admin(&url, "graph-payload-limit", json!({"bytes": null})).await;
    let before = c.requests();
    let whole = take_snapshot_scoped(&c, 4, &|_| {}, Source::Graph, &mg)
        .await
        .unwrap();
    assert_eq!(ids(&whole), ids(&lists));
    assert!(
        split_requests > c.requests() - before,
        "the split cost queries: {split_requests} against {}",
        c.requests() - before
    );
    // under one estate subscription's answer: that subscription is read per row
    admin(&url, "graph-payload-limit", json!({"bytes": third - 1})).await;
    let two_subs = Scope::parse(&[DEV.into(), estate_subscription_id(2)]).unwrap();
    let before = c.requests();
    let per_row = take_snapshot_scoped(&c, 4, &|_| {}, Source::Graph, &two_subs)
        .await
        .unwrap();
    let per_row_requests = c.requests() - before;
    admin(&url, "graph-payload-limit", json!({"bytes": null})).await;
    let before = c.requests();
    let _ = take_snapshot_scoped(&c, 4, &|_| {}, Source::Graph, &two_subs)
        .await
        .unwrap();
    // 8 types per row, and at least one smaller page, against one packed summary
    assert!(
        per_row_requests >= c.requests() - before + 8,
        "{per_row_requests} against {}",
        c.requests() - before
    );
    let listed = take_snapshot_scoped(&c, 4, &|_| {}, Source::Lists, &two_subs)
        .await
        .unwrap();
    assert!(!listed.network_security_groups.is_empty());
    assert_eq!(ids(&per_row), ids(&listed));
    assert!(
        c.render_metrics()
            .contains("portcullis_arm_throttled_total 0\n"),
        "{}",
        c.render_metrics()
    );
}

/// A malformed or truncated Resource Graph answer fails with the query, the page and the field.
#[tokio::test]
async fn a_malformed_resource_graph_page_names_the_query_page_and_field() {
    use axum::{routing::post, Json, Router};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    for (case, second_page, field) in [
        ("no data", json!({"count": 1, "totalRecords": 2}), "data"),
        (
            "count disagrees",
            json!({"count": 5, "totalRecords": 2, "data": [{"id": "/b"}]}),
            "count",
        ),
        (
            "a row without id",
            json!({"count": 1, "totalRecords": 2, "data": [{"name": "b"}]}),
            "data[].id",
        ),
        (
            "truncated: fewer rows than totalRecords",
            json!({"count": 0, "totalRecords": 2, "data": []}),
            "totalRecords",
        ),
    ] {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let second = second_page.clone();
        let app = Router::new().route(
            "/providers/Microsoft.ResourceGraph/resources",
            post(move || {
                let n = c.fetch_add(1, Ordering::SeqCst);
                let second = second.clone();
                async move {
                    Json(if n == 0 {
                        json!({"count": 1, "totalRecords": 2, "data": [{"id": "/a"}], "$skipToken": "1"})
                    } else {
                        second
                    })
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let err = client(&url)
            .graph_query(
                &["s".into()],
                None,
                "Resources | where type =~ 'x/y' | order by id asc",
            )
            .await
            .expect_err(case);
        let msg = err.to_string();
        assert!(
            msg.contains("Resources | where type =~ 'x/y'")
                && msg.contains("page 2")
                && msg.contains(field),
            "{case}: {msg}"
        );
    }
}

/// `POST /admin/reset` after a start from a state file: back to the state as loaded (a copy on
/// disk taken at start), not to the built tenant and not to the latest writes.
#[tokio::test]
async fn reset_goes_back_to_the_state_file_as_it_was_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("emulator.json");
    let nsg = |name: &str| {
        format!("/subscriptions/{DEV}/resourceGroups/rg-dev/providers/Microsoft.Network/networkSecurityGroups/{name}?api-version=2024-07-01")
    };
    let body = json!({"location": "northeurope", "properties": {"securityRules": []}});
    let first = emulator(EmulatorConfig {
        state_file: Some(state.clone()),
        ..config()
    })
    .await;
    client(&first.url())
        .put::<_, Value>(&nsg("kept-nsg"), &body, None)
        .await
        .unwrap();
    first.shutdown().await;

    let second = emulator(EmulatorConfig {
        state_file: Some(state.clone()),
        ..config()
    })
    .await;
    let c = client(&second.url());
    c.put::<_, Value>(&nsg("later-nsg"), &body, None)
        .await
        .unwrap();
    admin(&second.url(), "reset", json!({})).await;
    assert!(
        c.get::<Value>(&nsg("kept-nsg")).await.is_ok(),
        "loaded with the state file"
    );
    let gone = c.get::<Value>(&nsg("later-nsg")).await.unwrap_err();
    assert_eq!(gone.status(), Some(404), "written after the start");
    assert!(dir.path().join("emulator.initial.json").is_file());
}

/// A snapshot taken beside the last one shares with it the properties of every VM, NIC, public
/// IP and NSG that has not changed, through list calls and through Resource Graph alike, and
/// holds its own copy of one that has: the two snapshots still read as they would alone.
#[tokio::test]
async fn a_new_snapshot_shares_what_has_not_changed_with_the_last_one() {
    use portcullis::snapshot::{take_snapshot_scoped, take_snapshot_sharing, Scope, Source};
    use portcullis_shared::Inventory;
    use std::sync::Arc;
    let emu = emulator(EmulatorConfig {
        page_size: 7,
        ..config()
    })
    .await;
    let c = client(&emu.url());
    for (n, source) in [Source::Lists, Source::Graph].into_iter().enumerate() {
        let first = take_snapshot_scoped(&c, 4, &|_| {}, source, &Scope::default())
            .await
            .unwrap();
        // one NSG changes: a rule is added
        let rule = json!({"properties": {"protocol": "Tcp", "access": "Deny", "priority": 4000 + n,
            "direction": "Inbound", "sourceAddressPrefix": "*", "sourcePortRange": "*",
            "destinationAddressPrefix": "*", "destinationPortRange": "3389"}});
        let name = format!("shared-{source:?}");
        let _: Value = c
            .put(&nsg_url(&format!("/securityRules/{name}")), &rule, None)
            .await
            .unwrap();
        let second = take_snapshot_sharing(&c, 4, &|_| {}, source, &Scope::default(), Some(&first))
            .await
            .unwrap();
        let alone = take_snapshot_scoped(&c, 4, &|_| {}, source, &Scope::default())
            .await
            .unwrap();
        let json = |inv: &Inventory| serde_json::to_value(inv).unwrap();
        assert_eq!(
            json(&second),
            json(&alone),
            "{source:?}: shared reads as alone"
        );
        assert_ne!(
            json(&second),
            json(&first),
            "{source:?}: the change is seen"
        );
        macro_rules! shared {
            ($list:ident) => {{
                let (a, b) = (&first.$list, &second.$list);
                assert_eq!(a.len(), b.len());
                assert!(!a.is_empty(), "{}", stringify!($list));
                a.iter()
                    .zip(b)
                    .map(|(x, y)| {
                        assert_eq!(x.id, y.id);
                        (x.id.clone(), Arc::ptr_eq(&x.properties, &y.properties))
                    })
                    .collect::<Vec<_>>()
            }};
        }
        for (id, shared) in shared!(network_security_groups) {
            let changed = id.eq_ignore_ascii_case(NSG_PATH);
            assert_eq!(shared, !changed, "{source:?} {id}");
        }
        for (id, shared) in shared!(virtual_machines)
            .into_iter()
            .chain(shared!(network_interfaces))
            .chain(shared!(public_ip_addresses))
        {
            assert!(shared, "{source:?} {id}");
        }
        // a snapshot taken alone shares nothing
        assert!(!Arc::ptr_eq(
            &alone.virtual_machines[0].properties,
            &second.virtual_machines[0].properties
        ));
    }
}

/// One VM behind firewall `fw`, whose policy `child` inherits from `parent` (in subscription
/// `parent_sub`, with a DNAT rule to the VM's RDP from the IP group `partners`): the emulator's
/// configuration, and the two policies' ids.
fn firewall_policy_tenant(parent_sub: &str) -> (EmulatorConfig, String, String) {
    use portcullis_emulator::Tenant;
    use portcullis_shared::fleet::{InventoryBuilder, VmSpec};
    const SUB: &str = "44444444-4444-4444-4444-444444444444";
    let mut b = InventoryBuilder::new(SUB);
    // the default rules only: the VNet (the firewall's subnet) gets in, the Internet does not
    let nsg = b.nsg("rg", "vm1-nsg", vec![]);
    let subnets = b.vnet(
        "rg",
        "vnet",
        &["10.0.0.0/16"],
        &[
            ("default", "10.0.1.0/24", None),
            ("AzureFirewallSubnet", "10.0.0.0/26", None),
        ],
    );
    b.vm(&VmSpec {
        name: "vm1",
        resource_group: "rg",
        os: "Windows",
        subnet_id: &subnets[0],
        private_ip: "10.0.1.4",
        public_ip: None,
        nic_nsg_id: Some(&nsg),
        asg_ids: &[],
    });
    let fw_pip = b.public_ip("rg", "fw-ip", "20.9.9.9");
    let child = b.id("rg", "Microsoft.Network/firewallPolicies", "child");
    let org =
        format!("/subscriptions/{parent_sub}/resourceGroups/rg-org/providers/Microsoft.Network");
    let parent = format!("{org}/firewallPolicies/parent");
    let fw = b.id("rg", "Microsoft.Network/azureFirewalls", "fw");
    fn from<T: serde::de::DeserializeOwned>(v: Value) -> T {
        serde_json::from_value(v).unwrap()
    }
    b.inv.azure_firewalls.push(from(
        json!({"id": fw, "name": "fw", "location": "westeurope",
        "properties": {"firewallPolicy": {"id": child}, "ipConfigurations": [{"name": "ipc",
            "properties": {"privateIPAddress": "10.0.0.4", "subnet": {"id": subnets[1]},
                "publicIPAddress": {"id": fw_pip}}}]}}),
    ));
    b.inv.firewall_policies.push(from(
        json!({"id": child, "name": "child", "location": "westeurope",
        "properties": {"basePolicy": {"id": parent}}}),
    ));
    b.inv.firewall_policies.push(from(
        json!({"id": parent, "name": "parent", "location": "westeurope",
        "properties": {}}),
    ));
    let partners = format!("{org}/ipGroups/partners");
    b.inv.ip_groups.push(from(
        json!({"id": partners, "name": "partners", "location": "westeurope",
        "properties": {"ipAddresses": ["198.51.100.0/24"]}}),
    ));
    b.inv.firewall_policy_rule_collection_groups.push(from(json!({
        "id": format!("{parent}/ruleCollectionGroups/org-dnat"), "name": "org-dnat",
        "properties": {"priority": 100, "ruleCollections": [{"ruleCollectionType": "FirewallPolicyNatRuleCollection",
            "name": "dnat", "priority": 100, "action": {"type": "DNAT"}, "rules": [{"ruleType": "NatRule",
                "name": "rdp-vm1", "sourceIpGroups": [partners], "destinationAddresses": ["20.9.9.9"],
                "destinationPorts": ["3389"], "ipProtocols": ["TCP"], "translatedAddress": "10.0.1.4",
                "translatedPort": "3389"}]}]}})));
    let cfg = EmulatorConfig {
        tenant: Tenant::Custom {
            subscriptions: vec![portcullis_emulator::world::SubscriptionInfo {
                subscription_id: SUB.into(),
                display_name: "Policies".into(),
            }],
            inventory: Box::new(b.build()),
        },
        ..config()
    };
    (cfg, child, parent)
}

/// Firewall Policy inheritance read from ARM: the snapshot reads the policy a firewall uses,
/// follows its `basePolicy` to the parent and lists the parent's rule collection groups too,
/// and reads the IP group its DNAT rule names; that rule then reaches the VM from the group's
/// addresses only, and the emulator lists the child under the parent's `childPolicies`.
#[tokio::test]
async fn a_snapshot_follows_firewall_policies_to_their_base_policy() {
    use portcullis_shared::eval::report::PathKind;
    use portcullis_shared::{evaluate, EvalConfig};
    let (cfg, child, parent) = firewall_policy_tenant("44444444-4444-4444-4444-444444444444");
    let emu = emulator(cfg).await;
    let c = client(&emu.url());
    let got: Value = c
        .get(&format!("{parent}?api-version={}", api::NETWORK))
        .await
        .unwrap();
    assert_eq!(
        got["properties"]["childPolicies"][0]["id"],
        json!(child),
        "{got}"
    );

    let inv = take_snapshot(&c, 2, &|_| {}).await.unwrap();
    let ids: Vec<&str> = inv
        .firewall_policies
        .iter()
        .map(|p| p.id.as_str())
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(inv
        .firewall_policy_rule_collection_groups
        .iter()
        .any(|g| g.id.ends_with("parent/ruleCollectionGroups/org-dnat")));
    let report = evaluate(&inv, &EvalConfig::default()).unwrap();
    let rdp = report.vms[0]
        .exposures
        .iter()
        .find(|e| e.port == 3389)
        .unwrap();
    assert!(rdp.reachable, "{:?}; {:?}", rdp.paths, report.warnings);
    assert_eq!(inv.ip_groups.len(), 1);
    assert_eq!(rdp.state.as_str(), "restricted");
    assert_eq!(rdp.allowed_public_sources.to_vec(), ["198.51.100.0/24"]);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(rdp.paths[0].kind, PathKind::FirewallDnat);
    assert!(
        rdp.paths[0].via.ends_with("org-dnat"),
        "{}",
        rdp.paths[0].via
    );
}

/// A base policy the credential cannot read (here in a subscription outside the tenant: ARM
/// answers 404) is left out of the snapshot, which still succeeds; the evaluation says that the
/// chain stops there, and the VM reads what the readable policies give.
#[tokio::test]
async fn a_base_policy_that_cannot_be_read_is_left_out_with_a_warning() {
    use portcullis_shared::{evaluate, EvalConfig};
    let (cfg, child, parent) = firewall_policy_tenant("55555555-5555-5555-5555-555555555555");
    let emu = emulator(cfg).await;
    let inv = take_snapshot(&client(&emu.url()), 2, &|_| {})
        .await
        .unwrap();
    let ids: Vec<&str> = inv
        .firewall_policies
        .iter()
        .map(|p| p.id.as_str())
        .collect();
    assert_eq!(ids, [child.as_str()]);
    assert!(inv.firewall_policy_rule_collection_groups.is_empty());
    let report = evaluate(&inv, &EvalConfig::default()).unwrap();
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains(&parent) && w.contains("is not in firewallPolicies")),
        "{:?}",
        report.warnings
    );
    let rdp = report.vms[0]
        .exposures
        .iter()
        .find(|e| e.port == 3389)
        .unwrap();
    assert!(!rdp.reachable);
}
