//! Attacks on open management ports, as the emulator's Defender alerts show them: the demo
//! tenant's SQL lab VM is under attack on RDP from about 30 addresses; the traffic respects the
//! NSGs; the alerts are deterministic, kept once raised, and support the status actions.

use super::support::*;
use serde_json::Value;

const API: &str = "api-version=2022-01-01";

async fn alerts(url: &str, sub: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next = Some(format!(
        "{url}/subscriptions/{sub}/providers/Microsoft.Security/alerts?{API}"
    ));
    while let Some(u) = next {
        let page: Value = http().get(&u).send().await.unwrap().json().await.unwrap();
        out.extend(page["value"].as_array().unwrap().iter().cloned());
        next = page["nextLink"].as_str().map(str::to_string);
    }
    out
}

async fn all_alerts(url: &str) -> Vec<Value> {
    let mut v = alerts(url, PROD).await;
    v.extend(alerts(url, DEV).await);
    v
}

fn of<'a>(alerts: &'a [Value], vm: &str, kind: &str) -> Option<&'a Value> {
    alerts.iter().find(|a| {
        a["properties"]["compromisedEntity"] == vm && a["properties"]["alertType"] == kind
    })
}

fn attackers(alert: &Value) -> Vec<Value> {
    alert["properties"]["supportingEvidence"]["lists"][0]["rows"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn sql_lab_vm_is_under_rdp_attack_from_about_30_addresses() {
    let emu = emulator(config()).await;
    let all = all_alerts(&emu.url()).await;
    let brute = of(&all, "sql-lab-01", "VM_SuspiciousAuthenticationActivity")
        .expect("brute-force alert on the SQL lab VM");
    let p = &brute["properties"];
    assert_eq!(p["extendedProperties"]["port"], "3389");
    assert_eq!(p["severity"], "High");
    assert_eq!(p["status"], "Active");
    let rows = attackers(brute);
    assert!(
        (28..=32).contains(&rows.len()),
        "about 30 attackers, got {}",
        rows.len()
    );
    // every attacker row: address, attempts, failed sign-ins, first/last seen, flag, user names
    for r in &rows {
        assert!(r[1].as_u64().unwrap() >= 20 && r[2].as_u64().unwrap() <= r[1].as_u64().unwrap());
        assert!(
            r[3].as_str().unwrap() <= r[4].as_str().unwrap(),
            "first seen before last seen"
        );
        assert!(!r[6].as_str().unwrap().is_empty(), "user names tried");
        let a = r[0].as_str().unwrap();
        assert!(
            !a.starts_with("203.0.113."),
            "the office range is never an attacker: {a}"
        );
    }
    let flagged = rows.iter().filter(|r| r[5] == true).count();
    assert!(
        flagged > 0 && flagged < rows.len(),
        "some, not all, recommended for blocking: {flagged}"
    );
    // entities: the VM, each address, each account
    let ents = p["entities"].as_array().unwrap();
    assert_eq!(
        ents.iter().filter(|e| e["type"] == "ip").count(),
        rows.len()
    );
    assert!(ents
        .iter()
        .any(|e| e["type"] == "host" && e["hostName"] == "sql-lab-01"));
    let accounts: Vec<&str> = ents
        .iter()
        .filter(|e| e["type"] == "account")
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(
        !accounts.is_empty(),
        "the user names tried are account entities"
    );
    for r in &rows {
        for u in r[6].as_str().unwrap().split(", ") {
            assert!(accounts.contains(&u), "{u} is an account entity");
        }
    }
    // legitimate sessions from the office are shown apart
    let legit = p["supportingEvidence"]["lists"][1]["rows"]
        .as_array()
        .unwrap();
    assert!(
        legit
            .iter()
            .all(|r| r[0].as_str().unwrap().starts_with("203.0.113."))
            && !legit.is_empty()
    );
    // the "recommended for blocking" alert lists exactly the flagged ones
    let block =
        of(&all, "sql-lab-01", "Network_TrafficFromUnrecommendedIP").expect("traffic alert");
    assert_eq!(attackers(block).len(), flagged);
    assert!(attackers(block).iter().all(|r| r[5] == true));
    emu.shutdown().await;
}

#[tokio::test]
async fn only_exposed_ports_are_attacked_and_traffic_respects_the_nsgs() {
    let emu = emulator(config()).await;
    let url = emu.url();
    let all = all_alerts(&url).await;
    assert!(!all.is_empty());
    // every alerted (VM, port) is open and reachable according to the shared engine
    let inv = portcullis::snapshot::take_snapshot(&client(&url), 2, &|_| {})
        .await
        .unwrap();
    let report =
        portcullis_shared::evaluate(&inv, &portcullis_shared::EvalConfig::default()).unwrap();
    for a in &all {
        let p = &a["properties"];
        let vm = report
            .vms
            .iter()
            .find(|v| v.name == p["compromisedEntity"].as_str().unwrap())
            .unwrap();
        let port: u16 = p["extendedProperties"]["port"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let e = vm.exposures.iter().find(|e| e.port == port).unwrap();
        assert!(
            e.reachable && e.state == portcullis_shared::eval::State::Open,
            "{} {port}: {:?}",
            vm.name,
            e.state
        );
    }
    // office-restricted and JIT-protected VMs raise nothing
    for quiet in ["web-prod-01", "jump-prod-02", "dev-jit-01"] {
        assert!(
            all.iter()
                .all(|a| a["properties"]["compromisedEntity"] != quiet),
            "{quiet} must not be attacked"
        );
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn alerts_are_deterministic_and_status_actions_work() {
    let a = emulator(config()).await;
    let b = emulator(config()).await;
    let names = |v: &[Value]| {
        let mut n: Vec<(String, usize)> = v
            .iter()
            .map(|x| (x["name"].as_str().unwrap().to_string(), attackers(x).len()))
            .collect();
        n.sort();
        n
    };
    let first = all_alerts(&a.url()).await;
    assert_eq!(
        names(&first),
        names(&all_alerts(&b.url()).await),
        "same seed, same alerts"
    );
    let brute = of(&first, "sql-lab-01", "VM_SuspiciousAuthenticationActivity").unwrap();
    let id = brute["id"].as_str().unwrap();
    // GET by id
    let got: Value = http()
        .get(format!("{}{id}?{API}", a.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["name"], brute["name"]);
    // resolve, then dismiss, then activate again
    for (action, status) in [
        ("resolve", "Resolved"),
        ("dismiss", "Dismissed"),
        ("activate", "Active"),
    ] {
        let r = http()
            .post(format!("{}{id}/{action}?{API}", a.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 204, "{action}");
        let again = all_alerts(&a.url()).await;
        assert_eq!(
            of(&again, "sql-lab-01", "VM_SuspiciousAuthenticationActivity").unwrap()["properties"]
                ["status"],
            status
        );
    }
    let r = http()
        .post(format!("{}{id}/explode?{API}", a.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let missing = id.rsplit_once('/').unwrap().0.to_string() + "/no-such-alert/resolve";
    let r = http()
        .post(format!("{}{missing}?{API}", a.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    a.shutdown().await;
    b.shutdown().await;
}
