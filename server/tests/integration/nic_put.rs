//! `PUT …/networkInterfaces/{name}` on the emulator, as ARM: If-Match, references checked,
//! nothing changed on refusal.

use super::support::*;
use serde_json::{json, Value};

const API: &str = "api-version=2024-07-01";

async fn get(url: &str, id: &str) -> Value {
    http()
        .get(format!("{url}{id}?{API}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn nic_put_honours_if_match_and_references() {
    let emu = emulator(config()).await;
    let url = emu.url();
    let inv = emu.inventory().await;
    let nic = inv
        .network_interfaces
        .iter()
        .find(|n| n.id.contains("/edge-gw-01"))
        .expect("edge NIC")
        .clone();
    let nsg = inv.network_security_groups[0].id.clone();
    let before = get(&url, &nic.id).await;
    assert!(
        before["properties"]["networkSecurityGroup"].is_null(),
        "the edge gateway has no NSG"
    );

    // a reference to a missing NSG is refused, and nothing changes
    let mut body = before.clone();
    body["properties"]["networkSecurityGroup"] = json!({"id": format!("{nsg}-missing")});
    let r = http()
        .put(format!("{url}{}?{API}", nic.id))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "InvalidResourceReference");
    assert_eq!(get(&url, &nic.id).await, before);

    // attach with the current etag (none yet: unconditional), then a stale If-Match loses
    body["properties"]["networkSecurityGroup"] = json!({"id": nsg});
    let r = http()
        .put(format!("{url}{}?{API}", nic.id))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers().contains_key("azure-asyncoperation"));
    let after = get(&url, &nic.id).await;
    assert_eq!(
        after["properties"]["networkSecurityGroup"]["id"],
        json!(nsg)
    );
    let etag = after["etag"]
        .as_str()
        .expect("an etag after the write")
        .to_string();
    let r = http()
        .put(format!("{url}{}?{API}", nic.id))
        .header("If-Match", "W/\"stale\"")
        .json(&before)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 412);
    assert_eq!(get(&url, &nic.id).await["etag"], json!(etag));
    // creating NICs is not emulated
    let r = http()
        .put(format!("{url}{}-new?{API}", nic.id))
        .json(&before)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    emu.shutdown().await;
}
