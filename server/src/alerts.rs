//! Defender for Cloud alerts about attacks on management ports: read from ARM
//! (`Microsoft.Security/alerts`, every subscription), turned into [`Alert`]s with the attacking
//! and legitimate sources from their evidence, and the "Enforce rule" remediation that answers
//! them. Alerts whose port is no longer open to the Internet are resolved after each snapshot.
use crate::arm::api;
use crate::audit::NewEntry;
use crate::state::{AppState, Current};
use portcullis_shared::api::{
    Alert, AttackSource, LegitimateSource, RemediationKind, RemediationParams, RemediationRequest,
};
use portcullis_shared::arm::id_scope;
use portcullis_shared::eval::State as PortState;
use portcullis_shared::eval::{Exposure, VmReport};
use serde_json::{json, Value};

/// Every alert of every subscription, newest first, and the subscriptions that failed.
pub async fn fetch(state: &AppState, cur: &Current) -> (Vec<Alert>, Vec<String>) {
    let mut alerts = Vec::new();
    let mut errors = Vec::new();
    for sub in &cur.subscriptions {
        let path = format!(
            "/subscriptions/{}/providers/Microsoft.Security/alerts?api-version={}",
            sub.id,
            api::ALERTS
        );
        // parsed page by page: a large subscription's alerts are never all held as JSON
        let mut mine = Vec::new();
        let listed = state
            .arm
            .list_each(&path, |page: Vec<Value>| {
                mine.extend(
                    page.iter()
                        .filter_map(|v| parse(v, cur, &state.config.trusted_ranges)),
                );
                Ok(())
            })
            .await;
        match listed {
            Ok(_) => alerts.append(&mut mine),
            Err(e) => errors.push(format!("{}: {e}", sub.name)),
        }
    }
    alerts.sort_by(|a, b| {
        b.time_generated
            .cmp(&a.time_generated)
            .then_with(|| a.name.cmp(&b.name))
    });
    (alerts, errors)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn number(v: &Value) -> u64 {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        .unwrap_or_default()
}

fn names(v: &Value) -> Vec<String> {
    text(v)
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The rows of the evidence table whose title mentions `word`, as (column → cell) lookups.
fn table<'a>(props: &'a Value, word: &str) -> Option<(Vec<String>, &'a Vec<Value>)> {
    props["supportingEvidence"]["lists"]
        .as_array()?
        .iter()
        .find(|l| {
            l["title"]
                .as_str()
                .is_some_and(|t| t.to_ascii_lowercase().contains(word))
        })
        .and_then(|l| {
            let cols = l["columns"]
                .as_array()?
                .iter()
                .map(|c| text(c).to_ascii_lowercase())
                .collect();
            Some((cols, l["rows"].as_array()?))
        })
}

fn cell<'a>(cols: &[String], row: &'a Value, starts: &str) -> &'a Value {
    cols.iter()
        .position(|c| c.starts_with(starts))
        .and_then(|i| row.get(i))
        .unwrap_or(&Value::Null)
}

/// An ARM alert as Portcullis shows it. `None` for something that is not an alert.
pub fn parse(v: &Value, cur: &Current, trusted: &[String]) -> Option<Alert> {
    let id = v["id"].as_str()?.to_string();
    let p = &v["properties"];
    let (sub, rg) = id_scope(&id);
    let ext = &p["extendedProperties"];
    let vm_id = p["resourceIdentifiers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["azureResourceId"].as_str())
        .find(|r| {
            r.to_ascii_lowercase()
                .contains("/providers/microsoft.compute/virtualmachines/")
        })
        .unwrap_or_default()
        .to_string();
    let vm = (!vm_id.is_empty()).then(|| cur.vm(&vm_id)).flatten();
    let port: Option<u16> = ext["port"]
        .as_str()
        .or(ext["destinationPort"].as_str())
        .and_then(|s| s.trim().parse().ok())
        .or_else(|| ext["port"].as_u64().and_then(|n| u16::try_from(n).ok()));
    let exposure = vm.and_then(|vm| vm.exposures.iter().find(|e| Some(e.port) == port));

    let attackers = attackers(p);
    let legitimate = legitimate_sources(p);
    let mut user_names = names(&ext["userNames"]);
    for a in &attackers {
        for u in &a.user_names {
            if !user_names.contains(u) {
                user_names.push(u.clone());
            }
        }
    }
    let attempts: u64 = attackers.iter().map(|a| a.attempts).sum();
    let failed: u64 = attackers.iter().map(|a| a.failed_sign_ins).sum();

    let (recommended_rules, enforce) = recommend(vm, port, exposure, &legitimate, trusted);
    Some(Alert {
        name: v["name"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| id.rsplit('/').next().unwrap_or_default().to_string()),
        alert_type: text(&p["alertType"]),
        display_name: text(&p["alertDisplayName"]),
        description: text(&p["description"]),
        severity: text(&p["severity"]),
        status: text(&p["status"]),
        subscription_id: sub.to_string(),
        resource_group: rg.to_string(),
        vm_name: vm
            .map(|v| v.name.clone())
            .or_else(|| p["compromisedEntity"].as_str().map(str::to_string))
            .unwrap_or_default(),
        vm_id: vm.map(|v| v.id.clone()).unwrap_or(vm_id),
        port,
        port_state: exposure.map(|e| e.state.as_str().to_string()),
        start_time: text(&p["startTimeUtc"]),
        end_time: text(&p["endTimeUtc"]),
        time_generated: text(&p["timeGeneratedUtc"]),
        connection_attempts: attempts,
        failed_sign_ins: failed,
        attackers,
        legitimate_sources: legitimate,
        user_names,
        remediation_steps: p["remediationSteps"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect(),
        recommended_rules,
        enforce,
        id,
    })
}

/// The attacking addresses: the alert's evidence table, or without one its IP entities.
fn attackers(p: &Value) -> Vec<AttackSource> {
    let attackers: Vec<AttackSource> = match table(p, "attack") {
        Some((cols, rows)) => rows
            .iter()
            .map(|r| AttackSource {
                address: text(cell(&cols, r, "source")),
                attempts: number(cell(&cols, r, "connection")),
                failed_sign_ins: number(cell(&cols, r, "failed")),
                first_seen: text(cell(&cols, r, "first")),
                last_seen: text(cell(&cols, r, "last")),
                recommended_for_blocking: cell(&cols, r, "recommended").as_bool() == Some(true),
                user_names: names(cell(&cols, r, "user")),
            })
            .filter(|a| !a.address.is_empty())
            .collect(),
        None => Vec::new(),
    };
    if !attackers.is_empty() {
        return attackers;
    }
    // no evidence table: the alert's IP entities
    {
        p["entities"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["type"].as_str() == Some("ip"))
            .filter_map(|e| {
                Some(AttackSource {
                    address: e["address"].as_str()?.to_string(),
                    attempts: 0,
                    failed_sign_ins: 0,
                    first_seen: text(&p["startTimeUtc"]),
                    last_seen: text(&p["endTimeUtc"]),
                    recommended_for_blocking: e["threatIntelligence"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|t| t["recommendedForBlocking"].as_bool() == Some(true)),
                    user_names: Vec::new(),
                })
            })
            .collect()
    }
}

/// The legitimate sources: the evidence table's, and any the extended properties list.
fn legitimate_sources(p: &Value) -> Vec<LegitimateSource> {
    let ext = &p["extendedProperties"];
    let mut legitimate: Vec<LegitimateSource> = match table(p, "legitimate") {
        Some((cols, rows)) => rows
            .iter()
            .map(|r| LegitimateSource {
                address: text(cell(&cols, r, "source")),
                sessions: number(cell(&cols, r, "sessions")),
                first_seen: text(cell(&cols, r, "first")),
                last_seen: text(cell(&cols, r, "last")),
                user_names: names(cell(&cols, r, "user")),
            })
            .filter(|s| !s.address.is_empty())
            .collect(),
        None => Vec::new(),
    };
    for a in names(&ext["legitimateSources"]) {
        if !legitimate.iter().any(|l| l.address == a) {
            legitimate.push(LegitimateSource {
                address: a,
                sessions: 0,
                first_seen: String::new(),
                last_seen: String::new(),
                user_names: Vec::new(),
            });
        }
    }
    legitimate
}

/// The rule Portcullis recommends (the legitimate sources and the trusted ranges, no one else),
/// in words, and as a remediation request while the port is open.
fn recommend(
    vm: Option<&VmReport>,
    port: Option<u16>,
    exposure: Option<&Exposure>,
    legitimate: &[LegitimateSource],
    trusted: &[String],
) -> (Vec<String>, Option<RemediationRequest>) {
    // the rule Portcullis recommends: the legitimate sources and the trusted ranges, no one else
    let mut keep: Vec<String> = legitimate.iter().map(|l| l.address.clone()).collect();
    for t in trusted {
        if !keep.contains(t) {
            keep.push(t.clone());
        }
    }
    let port_open = exposure.is_some_and(|e| e.state == PortState::Open);
    match (vm, port) {
        (Some(vm), Some(port)) => {
            let mut lines = Vec::new();
            if keep.is_empty() {
                lines.push(format!(
                    "Deny port {port} from the Internet (no legitimate source was seen)"
                ));
            } else {
                lines.push(format!("Allow port {port} from {} only", keep.join(", ")));
                lines.push(format!("Deny port {port} from the Internet"));
            }
            let req = port_open.then(|| RemediationRequest {
                kind: RemediationKind::EnforceRule,
                vm_ids: vec![vm.id.clone()],
                ports: vec![port],
                params: RemediationParams {
                    sources: keep.clone(),
                    ..RemediationParams::default()
                },
            });
            (lines, req)
        }
        _ => (Vec::new(), None),
    }
}

/// Whether an alert is still being worked on.
pub fn is_open(a: &Alert) -> bool {
    a.status.eq_ignore_ascii_case("active") || a.status.eq_ignore_ascii_case("inprogress")
}

/// Resolves the open alerts whose port is no longer open to the Internet (closed, private,
/// restricted to a few sources, or no longer reachable). Each one is audited. Returns how many
/// were resolved.
pub async fn resolve_closed(state: &AppState, cur: &Current) -> anyhow::Result<usize> {
    let (alerts, errors) = fetch(state, cur).await;
    if let Some(e) = errors.first() {
        tracing::warn!(error = %e, "reading alerts failed");
    }
    let mut resolved = 0;
    for a in alerts.iter().filter(|a| is_open(a)) {
        let (Some(port), false) = (a.port, a.vm_id.is_empty()) else {
            continue;
        };
        let Some(vm) = cur.vm(&a.vm_id) else {
            continue;
        };
        let Some(e) = vm.exposures.iter().find(|e| e.port == port) else {
            continue;
        };
        if e.state == PortState::Open && e.reachable {
            continue;
        }
        let path = format!("{}/resolve?api-version={}", a.id, api::ALERTS);
        let outcome = match state.arm.post(&path, &json!({})).await {
            Ok(_) => {
                resolved += 1;
                "success"
            }
            Err(err) => {
                tracing::warn!(alert = %a.id, error = %err, "resolving an alert failed");
                "failed"
            }
        };
        state
            .store
            .audit(NewEntry {
                actor: "portcullis".into(),
                action: "alert.resolve".into(),
                target: a.id.clone(),
                outcome: outcome.into(),
                before: json!({ "status": a.status }),
                after: json!({ "status": if outcome == "success" { "Resolved" } else { a.status.as_str() } }),
                detail: json!({
                    "reason": format!("port {port} of {} is now {} ({})", vm.name, e.state.as_str(),
                        if e.reachable { "reachable" } else { "not reachable" }),
                    "alertType": a.alert_type,
                }),
            })
            .await?;
    }
    if resolved > 0 {
        tracing::info!(resolved, "alerts resolved: their ports are no longer open");
    }
    Ok(resolved)
}
