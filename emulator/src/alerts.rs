//! Attacks on exposed management ports, as Defender for Cloud reports them.
//!
//! For every VM whose management port is open and reachable from the Internet, the emulator
//! derives inbound traffic deterministically from its seed, the VM and the port: connection
//! attempts and failed sign-ins (with the user names tried) from attacker addresses, some of
//! which the shipped threat-intelligence list (`threat_intel.tsv`, documentation and
//! benchmarking addresses only) marks as recommended for blocking, alongside successful
//! sessions from the owners' usual sources (the demo office range). Only sources the NSGs
//! actually let through are used. It raises two alerts per exposure, shaped like
//! `Microsoft.Security/alerts` (api-version 2022-01-01):
//! "Traffic detected from IP addresses recommended for blocking" and "Suspicious
//! authentication activity". Alerts are kept in the emulator's state once raised (closing the
//! port does not erase history) and support the status actions resolve, dismiss, activate and
//! inProgress.
use super::http::Fail;
use super::util::{format_time, Rng};
use super::world::World;
use axum::http::StatusCode;
use portcullis_shared::arm::id_key;
use portcullis_shared::arm::id_scope;
use portcullis_shared::eval::report::State;
use portcullis_shared::net::addr::parse_ip;
use portcullis_shared::net::AddrSet;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

const THREAT_INTEL: &str = include_str!("threat_intel.tsv");

/// The owners' usual sources: the demo tenant's office range.
const LEGITIMATE: &[(&str, &str)] = &[("203.0.113.10", "it-admin"), ("203.0.113.24", "dba")];

const RDP_USERS: &[&str] = &[
    "administrator",
    "admin",
    "sa",
    "user",
    "test",
    "guest",
    "backup",
    "sqladmin",
    "scanner",
];
const SSH_USERS: &[&str] = &[
    "root",
    "admin",
    "ubuntu",
    "azureuser",
    "oracle",
    "pi",
    "git",
    "test",
    "postgres",
];

/// One line of the threat-intelligence list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intel {
    pub address: String,
    pub recommended_for_blocking: bool,
    pub feed: String,
}

/// The shipped threat-intelligence list.
pub fn threat_intel() -> Vec<Intel> {
    THREAT_INTEL
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some(Intel {
                address: f.next()?.to_string(),
                recommended_for_blocking: f.next()? == "yes",
                feed: f.next().unwrap_or_default().to_string(),
            })
        })
        .collect()
}

/// Inbound traffic from one source to one port of a VM.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub address: String,
    pub recommended_for_blocking: bool,
    pub attempts: u32,
    pub failed_sign_ins: u32,
    pub user_names: Vec<&'static str>,
    pub first_seen: OffsetDateTime,
    pub last_seen: OffsetDateTime,
}

/// Deterministic traffic to `port` of a VM whose allowed public sources are `allowed`: the
/// attackers, then the legitimate sessions.
pub fn traffic(
    seed: u64,
    vm_id: &str,
    port: u16,
    allowed: &AddrSet,
    now: OffsetDateTime,
) -> (Vec<Source>, Vec<Source>) {
    let mut rng = Rng::new(seed ^ fnv(&id_key(vm_id)) ^ u64::from(port).rotate_left(40));
    let reaches = |a: &str| parse_ip(a).is_some_and(|(f, v)| allowed.contains(f, v));
    let users = if port == 22 { SSH_USERS } else { RDP_USERS };
    let wanted = match port {
        3389 => 30,
        22 => 20,
        _ => 12,
    } + (rng.next_u64() % 3) as usize
        - 1;
    // a deterministic shuffle of the list
    let mut pool = threat_intel();
    for i in (1..pool.len()).rev() {
        pool.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
    }
    let mut attackers = Vec::new();
    for intel in pool
        .into_iter()
        .filter(|i| reaches(&i.address))
        .take(wanted)
    {
        let attempts = 20 + (rng.next_u64() % 480) as u32;
        let failed = attempts - (rng.next_u64() % 3) as u32;
        let mut names: Vec<&'static str> = Vec::new();
        for _ in 0..1 + rng.next_u64() % 4 {
            let n = users[(rng.next_u64() % users.len() as u64) as usize];
            if !names.contains(&n) {
                names.push(n);
            }
        }
        let first = now - Duration::minutes(60 + (rng.next_u64() % (71 * 60)) as i64);
        let last = first + Duration::minutes((rng.next_u64() % 600) as i64);
        attackers.push(Source {
            address: intel.address,
            recommended_for_blocking: intel.recommended_for_blocking,
            attempts,
            failed_sign_ins: failed,
            user_names: names,
            first_seen: first,
            last_seen: last.min(now),
        });
    }
    let legitimate = LEGITIMATE
        .iter()
        .filter(|(a, _)| reaches(a))
        .map(|(a, user)| {
            let first = now - Duration::hours(72);
            Source {
                address: a.to_string(),
                recommended_for_blocking: false,
                attempts: 3 + (rng.next_u64() % 12) as u32,
                failed_sign_ins: 0,
                user_names: vec![*user],
                first_seen: first,
                last_seen: now - Duration::minutes((rng.next_u64() % 300) as i64),
            }
        })
        .collect();
    (attackers, legitimate)
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The two alert kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    RecommendedForBlocking,
    SuspiciousAuthentication,
}

impl AlertKind {
    pub fn alert_type(self) -> &'static str {
        match self {
            AlertKind::RecommendedForBlocking => "Network_TrafficFromUnrecommendedIP",
            AlertKind::SuspiciousAuthentication => "VM_SuspiciousAuthenticationActivity",
        }
    }
    fn display_name(self) -> &'static str {
        match self {
            AlertKind::RecommendedForBlocking => {
                "Traffic detected from IP addresses recommended for blocking"
            }
            AlertKind::SuspiciousAuthentication => "Suspicious authentication activity",
        }
    }
    fn tag(self) -> u64 {
        match self {
            AlertKind::RecommendedForBlocking => 1,
            AlertKind::SuspiciousAuthentication => 2,
        }
    }
}

/// A raised alert as the emulator keeps it: its ARM body as compact JSON text, beside the fields
/// listings filter and sort on. A 100k-VM tenant raises thousands of alerts of about 9 KB each;
/// held as `serde_json::Value` trees they took several times their text. In the state file an
/// alert is its body, as before.
#[derive(Debug, Clone)]
pub struct StoredAlert {
    /// The subscription and resource group of its `id`.
    subscription: String,
    resource_group: String,
    name: String,
    time_generated: String,
    body: Box<RawValue>,
}

/// What [`StoredAlert`] reads of a body.
#[derive(Deserialize)]
struct Head {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    properties: HeadProperties,
}

#[derive(Deserialize, Default)]
struct HeadProperties {
    #[serde(default, rename = "timeGeneratedUtc")]
    time_generated: String,
}

impl StoredAlert {
    /// Keeps `alert` (an alert's ARM body).
    pub fn new(alert: &Value) -> Self {
        let text = serde_json::to_string(alert).expect("a JSON value serialises");
        let body = RawValue::from_string(text).expect("serde_json wrote valid JSON");
        Self::from_body(body).expect("a JSON object has a head")
    }

    fn from_body(body: Box<RawValue>) -> Result<Self, serde_json::Error> {
        let head: Head = serde_json::from_str(body.get())?;
        let (subscription, resource_group) = id_scope(&head.id);
        Ok(Self {
            subscription: subscription.to_string(),
            resource_group: resource_group.to_string(),
            name: head.name,
            time_generated: head.properties.time_generated,
            body,
        })
    }

    /// The alert's ARM body.
    pub fn value(&self) -> Value {
        serde_json::from_str(self.body.get()).expect("kept as valid JSON")
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether it belongs to the subscription (and, if given, the resource group); any case.
    pub fn in_scope(&self, sub: &str, rg: Option<&str>) -> bool {
        self.subscription.eq_ignore_ascii_case(sub)
            && rg.is_none_or(|rg| self.resource_group.eq_ignore_ascii_case(rg))
    }

    /// Listing order: newest first, then by name.
    pub fn listing_order(a: &Self, b: &Self) -> std::cmp::Ordering {
        b.time_generated
            .cmp(&a.time_generated)
            .then_with(|| a.name.cmp(&b.name))
    }
}

/// Two kept alerts are equal when their bodies are the same text (both are written compact).
impl PartialEq for StoredAlert {
    fn eq(&self, other: &Self) -> bool {
        self.body.get() == other.body.get()
    }
}

impl Serialize for StoredAlert {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.body.serialize(s)
    }
}

impl<'de> Deserialize<'de> for StoredAlert {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let body = Box::<RawValue>::deserialize(d)?;
        Self::from_body(body).map_err(serde::de::Error::custom)
    }
}

impl World {
    /// Raises the alerts of every reachable, open management port that has none yet.
    /// Returns whether any alert was added (the state changed).
    pub fn raise_alerts(&mut self, sub: &str) -> bool {
        // only the VMs with an open port reachable from the Internet are kept
        let reachable = self.each_vm_report(sub, |vm| {
            vm.exposures
                .iter()
                .any(|e| e.reachable && e.state == State::Open)
                .then_some(vm)
        });
        let now = self.now();
        let mut added = false;
        // VM locations by id, looked up once per alert
        let locations: std::collections::HashMap<String, String> = self
            .inventory
            .virtual_machines
            .iter()
            .filter_map(|v| Some((id_key(&v.id), v.location.clone()?)))
            .collect();
        for vm in &reachable {
            for e in vm
                .exposures
                .iter()
                .filter(|e| e.reachable && e.state == State::Open)
            {
                let allowed =
                    AddrSet::parse_list(e.allowed_public_sources.iter().map(String::as_str))
                        .unwrap_or_default();
                let (attackers, legitimate) =
                    traffic(self.alert_seed, &vm.id, e.port, &allowed, now);
                if attackers.is_empty() {
                    continue;
                }
                for kind in [
                    AlertKind::RecommendedForBlocking,
                    AlertKind::SuspiciousAuthentication,
                ] {
                    let sources: Vec<&Source> = match kind {
                        AlertKind::RecommendedForBlocking => attackers
                            .iter()
                            .filter(|a| a.recommended_for_blocking)
                            .collect(),
                        AlertKind::SuspiciousAuthentication => attackers.iter().collect(),
                    };
                    if sources.is_empty() {
                        continue;
                    }
                    let key = format!("{}|{}|{}", id_key(&vm.id), e.port, kind.tag());
                    if self.alerts.contains_key(&key) {
                        continue;
                    }
                    let location = locations
                        .get(&id_key(&vm.id))
                        .cloned()
                        .unwrap_or_else(|| "westeurope".into());
                    let alert = alert_json(
                        self.alert_seed,
                        kind,
                        vm,
                        e.port,
                        &location,
                        &sources,
                        &legitimate,
                        now,
                    );
                    self.alerts.insert(key, StoredAlert::new(&alert));
                    added = true;
                }
            }
        }
        added
    }

    /// Alerts of a subscription (optionally one resource group), newest first.
    pub fn list_alerts(&self, sub: &str, rg: Option<&str>) -> Vec<Value> {
        self.alerts_in_order(sub, rg)
            .into_iter()
            .map(StoredAlert::value)
            .collect()
    }

    /// The kept alerts of a subscription (optionally one resource group), newest first.
    pub fn alerts_in_order(&self, sub: &str, rg: Option<&str>) -> Vec<&StoredAlert> {
        let mut v: Vec<&StoredAlert> = self
            .alerts
            .values()
            .filter(|a| a.in_scope(sub, rg))
            .collect();
        v.sort_by(|a, b| StoredAlert::listing_order(a, b));
        v
    }

    /// `resolve`, `dismiss`, `activate` or `inProgress` on an alert of the subscription.
    pub fn set_alert_status(&mut self, sub: &str, name: &str, action: &str) -> Result<(), Fail> {
        let status = match action.to_ascii_lowercase().as_str() {
            "resolve" => "Resolved",
            "dismiss" => "Dismissed",
            "activate" => "Active",
            "inprogress" => "InProgress",
            _ => {
                return Err(Fail::new(
                    StatusCode::NOT_FOUND,
                    "InvalidResourceType",
                    format!("The action '{action}' is not supported on alerts."),
                ))
            }
        };
        let now = format_time(self.now());
        let stored = self
            .alerts
            .values_mut()
            .find(|a| a.name.eq_ignore_ascii_case(name) && a.in_scope(sub, None))
            .ok_or_else(|| {
                Fail::new(
                    StatusCode::NOT_FOUND,
                    "ResourceNotFound",
                    format!("The alert '{name}' was not found."),
                )
            })?;
        let mut alert = stored.value();
        alert["properties"]["status"] = json!(status);
        alert["properties"]["processingEndTimeUtc"] = json!(now);
        *stored = StoredAlert::new(&alert);
        Ok(())
    }
}

/// Severity, intent, description and remediation steps of an alert of `kind`.
fn wording(
    kind: AlertKind,
    vm_name: &str,
    port: u16,
    attackers: usize,
    failed: u32,
    users: &[&str],
) -> (&'static str, &'static str, String, Vec<String>) {
    let service = match port {
        22 => "SSH",
        3389 => "RDP",
        _ => "WinRM",
    };
    match kind {
        AlertKind::RecommendedForBlocking => (
            "Medium",
            "PreAttack",
            format!(
                "Defender for Cloud detected inbound traffic to {service} port {port} of {} from {} IP addresses that threat intelligence recommends blocking.",
                vm_name,
                attackers
            ),
            vec![
                "Enforce a network rule that allows the port only from your known sources (\"Enforce rule\").".to_string(),
                "Use just-in-time VM access so the port is closed except during approved requests.".to_string(),
            ],
        ),
        AlertKind::SuspiciousAuthentication => (
            "High",
            "CredentialAccess",
            format!(
                "{failed} failed sign-ins to {} over {service} (port {port}) from {} source addresses, trying the user names {}. This looks like a brute-force attack.",
                vm_name,
                attackers,
                users.join(", ")
            ),
            vec![
                "Close the port to the Internet or allow it only from your known sources (\"Enforce rule\").".to_string(),
                "Enforce strong passwords and lock out accounts after repeated failures.".to_string(),
            ],
        ),
    }
}

/// The supporting evidence: the attacking addresses and the legitimate sessions, as tables.
fn evidence(sources: &[&Source], legitimate: &[Source]) -> Value {
    let rows: Vec<Value> = sources
        .iter()
        .map(|s| {
            json!([
                s.address,
                s.attempts,
                s.failed_sign_ins,
                format_time(s.first_seen),
                format_time(s.last_seen),
                s.recommended_for_blocking,
                s.user_names.join(", ")
            ])
        })
        .collect();
    let legit_rows: Vec<Value> = legitimate
        .iter()
        .map(|s| {
            json!([
                s.address,
                s.attempts,
                format_time(s.first_seen),
                format_time(s.last_seen),
                s.user_names.join(", ")
            ])
        })
        .collect();
    json!({
        "type": "nestedList",
        "lists": [
            {
                "type": "tabularEvidences",
                "title": "Inbound traffic from attacking addresses",
                "columns": ["Source address", "Connection attempts", "Failed sign-ins", "First seen", "Last seen", "Recommended for blocking", "User names tried"],
                "rows": rows
            },
            {
                "type": "tabularEvidences",
                "title": "Legitimate sessions from the owners' usual sources",
                "columns": ["Source address", "Sessions", "First seen", "Last seen", "User names"],
                "rows": legit_rows
            }
        ]
    })
}

#[allow(clippy::too_many_arguments)]
fn alert_json(
    seed: u64,
    kind: AlertKind,
    vm: &portcullis_shared::eval::VmReport,
    port: u16,
    location: &str,
    sources: &[&Source],
    legitimate: &[Source],
    now: OffsetDateTime,
) -> Value {
    let mut rng = Rng::new(seed ^ fnv(&id_key(&vm.id)) ^ u64::from(port) ^ kind.tag() << 56);
    let ticks = 2_518_000_000_000_000_000u64 + rng.next_u64() % 1_000_000_000_000_000;
    let name = format!("{ticks}_{}", rng.guid().to_uppercase());
    let id = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Security/locations/{location}/alerts/{name}",
        vm.subscription_id, vm.resource_group
    );
    let first = sources.iter().map(|s| s.first_seen).min().unwrap_or(now);
    let last = sources.iter().map(|s| s.last_seen).max().unwrap_or(now);
    let attempts: u32 = sources.iter().map(|s| s.attempts).sum();
    let failed: u32 = sources.iter().map(|s| s.failed_sign_ins).sum();
    let mut users: Vec<&str> = Vec::new();
    for s in sources {
        for u in &s.user_names {
            if !users.contains(u) {
                users.push(u);
            }
        }
    }
    let (severity, intent, description, steps) =
        wording(kind, &vm.name, port, sources.len(), failed, &users);
    let mut entities = vec![json!({"type": "host", "hostName": vm.name, "azureID": vm.id})];
    for s in sources {
        entities.push(json!({
            "type": "ip",
            "address": s.address,
            "threatIntelligence": [{"providerName": "Portcullis emulator", "threatType": "recommendedForBlocking", "recommendedForBlocking": s.recommended_for_blocking}]
        }));
    }
    for u in &users {
        entities.push(json!({"type": "account", "name": u, "hostEntity": vm.name}));
    }
    let extended = json!({
        "port": port.to_string(),
        "protocol": "Tcp",
        "attackerCount": sources.len().to_string(),
        "connectionAttempts": attempts.to_string(),
        "failedSignIns": failed.to_string(),
        "userNames": users.join(","),
        "legitimateSources": legitimate.iter().map(|s| s.address.as_str()).collect::<Vec<_>>().join(","),
    });
    let evidence = evidence(sources, legitimate);
    json!({
        "id": id,
        "name": name,
        "type": "Microsoft.Security/Locations/alerts",
        "properties": {
            "version": "2022-01-01",
            "alertType": kind.alert_type(),
            "systemAlertId": name,
            "productComponentName": "Servers",
            "alertDisplayName": kind.display_name(),
            "description": description,
            "severity": severity,
            "intent": intent,
            "startTimeUtc": format_time(first),
            "endTimeUtc": format_time(last),
            "resourceIdentifiers": [{"azureResourceId": vm.id, "type": "AzureResource"}],
            "remediationSteps": steps,
            "vendorName": "Microsoft",
            "status": "Active",
            "extendedLinks": [],
            "alertUri": format!("https://portal.azure.com/#blade/Microsoft_Azure_Security/AlertBlade/alertId/{name}/subscriptionId/{}/resourceGroup/{}/referencedFrom/alertDeepLink/location/{location}", vm.subscription_id, vm.resource_group),
            "timeGeneratedUtc": format_time(now),
            "productName": "Microsoft Defender for Cloud",
            "processingEndTimeUtc": format_time(now),
            "entities": entities,
            "isIncident": false,
            "correlationKey": format!("{:016x}", fnv(&format!("{}|{port}", id_key(&vm.id)))),
            "extendedProperties": extended,
            "compromisedEntity": vm.name,
            "techniques": ["T1110"],
            "subTechniques": ["T1110.001"],
            "supportingEvidence": evidence
        }
    })
}

#[cfg(test)]
mod tests {
    use crate::demo::{demo_world_with_extra_vms, SCALE_TEST};
    use crate::world::World;

    /// Alerts are kept as text: a saved and loaded world lists the same bodies, in the same
    /// order, and a status change is kept through the round trip.
    #[test]
    fn alerts_survive_the_state_file_and_keep_their_status() {
        let mut w = demo_world_with_extra_vms(7, 200);
        assert!(w.raise_alerts(SCALE_TEST));
        let before = w.list_alerts(SCALE_TEST, None);
        assert!(before.len() > 4, "{} alerts", before.len());
        // newest first, then by name
        for pair in before.windows(2) {
            let t = |v: &serde_json::Value| v["properties"]["timeGeneratedUtc"].to_string();
            assert!(t(&pair[0]) >= t(&pair[1]));
        }
        let name = before[3]["name"].as_str().unwrap().to_ascii_lowercase();
        w.set_alert_status(SCALE_TEST, &name, "Dismiss").unwrap();
        assert!(w.set_alert_status(SCALE_TEST, &name, "explode").is_err());

        let dir = std::env::temp_dir().join(format!("alerts-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("state.json");
        w.save(&file).unwrap();
        let loaded = World::load(&file).unwrap().expect("saved");
        std::fs::remove_dir_all(&dir).unwrap();

        let after = loaded.list_alerts(SCALE_TEST, None);
        assert_eq!(after.len(), before.len());
        assert_eq!(after[3]["properties"]["status"], "Dismissed");
        for (i, (a, b)) in before.iter().zip(&after).enumerate() {
            if i != 3 {
                assert_eq!(a, b, "alert {i}");
            }
        }
        // the raw text of the state file is each alert's body, not a string holding it
        assert_eq!(
            serde_json::to_value(&loaded.alerts)
                .unwrap()
                .as_object()
                .unwrap()
                .len(),
            after.len()
        );
        let a = loaded.alerts.values().next().unwrap();
        assert!(serde_json::to_value(a).unwrap().is_object());
        // a resource group's listing holds only that group's alerts
        let rg = after[0]["id"].as_str().unwrap().split('/').nth(4).unwrap();
        let in_rg = loaded.list_alerts(SCALE_TEST, Some(&rg.to_ascii_uppercase()));
        assert!(!in_rg.is_empty());
        assert!(in_rg.len() <= after.len());
        assert!(in_rg.iter().all(|v| v["id"]
            .as_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains(&format!("/resourcegroups/{}/", rg.to_ascii_lowercase()))));
        assert!(loaded
            .list_alerts("00000000-0000-0000-0000-000000000000", None)
            .is_empty());
    }
}
