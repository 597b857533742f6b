//! Attacks end to end: the emulator's Defender alerts on the SQL lab VM (RDP, about 30
//! attacking addresses) in the Alerts page and the VM's alert panel; an operator enforces the
//! recommended rule through the wizard; the port is no longer open to the Internet, the
//! legitimate sources still reach it, the alerts are resolved and the score rises.
use portcullis_tests::{Browser, TestApp, DEMO_PASSWORD};

/// `5.33 of 8 points` → 5.33
fn points(gauge_text: &str) -> f64 {
    gauge_text
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a gauge text: {gauge_text:?}"))
}

/// `⚑ 50 open security alerts (25 high)` → 50
fn open_alerts(text: &str) -> u64 {
    text.split_whitespace()
        .find_map(|w| w.replace(',', "").parse().ok())
        .unwrap_or_else(|| panic!("no count in {text:?}"))
}

/// The brute-force alert card of sql-lab-01 on the Alerts page, as JSON facts read in the page.
const SQL_LAB_CARD: &str = r#"
const card = [...document.querySelectorAll('[data-testid=alert-card][data-alert-type=VM_SuspiciousAuthenticationActivity]')]
  .find(c => (c.querySelector('[data-testid=alert-vm]') || {}).textContent === 'sql-lab-01');
if (!card) return null;
return {
  status: card.dataset.status,
  severity: card.querySelector('[data-testid=alert-severity]').textContent,
  attackers: card.querySelectorAll('[data-testid=alert-attackers] tbody tr').length,
  count: card.querySelector('[data-testid=alert-attacker-count]').textContent,
  flagged: card.querySelectorAll('[data-testid=flagged]').length,
  recommended: card.querySelector('[data-testid=alert-recommended]').textContent,
  text: card.textContent,
};"#;

async fn sql_lab_card(browser: &Browser) -> serde_json::Value {
    let deadline = std::time::Instant::now() + portcullis_tests::READY_TIMEOUT;
    loop {
        let v = browser.eval(SQL_LAB_CARD).await;
        if !v.is_null() || std::time::Instant::now() > deadline {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_operator_enforces_the_rule_on_the_attacked_sql_lab_vm() {
    let app = TestApp::start();
    let browser = Browser::start().await;
    browser
        .sign_in(&app.base_url, "operator", DEMO_PASSWORD)
        .await;
    let before = browser
        .wait_for_text("gauge-text", |t| t.ends_with("of 8 points"))
        .await;
    let open_before = open_alerts(
        &browser
            .wait_for_text("open-alerts", |t| t.contains("open security alert"))
            .await,
    );

    // The Alerts page: the brute-force alert on sql-lab-01 with about 30 addresses.
    browser.click_testid("nav-alerts").await;
    browser.wait_for_testid("alert-count").await;
    let card = sql_lab_card(&browser).await;
    assert!(!card.is_null(), "no brute-force alert card for sql-lab-01");
    let attackers = card["attackers"].as_u64().unwrap();
    assert!((28..=32).contains(&attackers), "{card}");
    assert!(card["count"]
        .as_str()
        .unwrap()
        .starts_with(&attackers.to_string()));
    assert_eq!(card["status"], "Active");
    assert!(
        card["severity"].as_str().unwrap().contains("High"),
        "{card}"
    );
    let flagged = card["flagged"].as_u64().unwrap();
    assert!(
        flagged > 0 && flagged < attackers,
        "some, not all, flagged: {card}"
    );
    let text = card["text"].as_str().unwrap();
    assert!(text.contains("User names tried"), "{text}");
    assert!(
        card["recommended"]
            .as_str()
            .unwrap()
            .contains("203.0.113.10, 203.0.113.24"),
        "{card}"
    );
    browser
        .eval("document.querySelector('[data-testid=alert-card] details').open = true; return true")
        .await;
    browser.screenshot("alerts-page").await;

    // The VM's page: its alert panel; "Enforce rule" opens the wizard prefilled.
    browser.open_vm(&app.base_url, "sql-lab-01").await;
    browser.wait_for_testid("vm-alerts").await;
    let state = browser
        .eval("return document.querySelector('[data-testid=exposure-3389] [data-testid=exposure-state]').textContent")
        .await;
    assert!(state.as_str().unwrap().contains("Open"), "{state}");
    browser
        .eval("document.querySelector('[data-testid=vm-alerts]').scrollIntoView(); return true")
        .await;
    browser.screenshot("alerts-vm-panel").await;
    browser.click_testid("enforce-rule").await;
    browser.wait_for_testid("wizard-step-3").await;
    let sources = browser
        .eval("return document.querySelector('[data-testid=param-sources]').value")
        .await;
    assert_eq!(sources, "203.0.113.10, 203.0.113.24");
    assert_eq!(
        browser.text_of_testid("params-selection").await,
        "For 1 selected VM."
    );
    browser.screenshot("alerts-wizard-params").await;
    browser.click_testid("wizard-next").await;
    browser.wait_for_testid("plan-review").await;
    let delta = browser.text_of_testid("score-delta").await;
    assert!(
        delta.contains('+'),
        "the preview predicts a higher score: {delta}"
    );
    let diff = browser
        .eval("return [...document.querySelectorAll('[data-testid=rule-diff]')].map(e => e.textContent).join(' ')")
        .await;
    assert!(
        diff.as_str().unwrap().contains("Deny-3389-From-Internet"),
        "{diff}"
    );
    let whatif = browser
        .wait_for_text("whatif", |t| !t.is_empty() && !t.starts_with("Checking"))
        .await;
    assert!(whatif.contains("predicts the same"), "{whatif}");
    browser.screenshot("alerts-wizard-review").await;
    browser.click_testid("wizard-apply").await;
    let outcome = browser
        .wait_for_text("apply-outcome", |t| !t.is_empty())
        .await;
    assert!(outcome.contains("Applied"), "{outcome}");
    browser.wait_for_testid("applied-posture").await;

    // The port: restricted to the legitimate sources; the alerts resolved; the score higher.
    browser.open_vm(&app.base_url, "sql-lab-01").await;
    browser.wait_for_testid("vm-alerts").await;
    let row = browser
        .eval("return document.querySelector('[data-testid=exposure-3389]').textContent")
        .await;
    let row = row.as_str().unwrap();
    assert!(row.contains("Restricted"), "{row}");
    assert!(
        row.contains("203.0.113.10/32") && row.contains("203.0.113.24/32"),
        "the legitimate sources still reach 3389: {row}"
    );
    let statuses = browser
        .eval("return [...document.querySelectorAll('[data-testid=vm-alerts] [data-testid=alert-card]')].map(c => c.dataset.status)")
        .await;
    let statuses: Vec<&str> = statuses
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(!statuses.is_empty());
    assert!(statuses.iter().all(|s| *s == "Resolved"), "{statuses:?}");
    assert!(browser.has_testid("alert-no-enforce").await);
    browser
        .eval("document.querySelector('[data-testid=vm-alerts]').scrollIntoView(); return true")
        .await;
    browser.screenshot("alerts-vm-resolved").await;

    browser.goto(&app.url("/")).await;
    let after = browser
        .wait_for_text("gauge-text", |t| t.ends_with("of 8 points"))
        .await;
    assert!(points(&after) > points(&before), "{before} → {after}");
    // the overview counts the two resolved alerts out
    let open_after = open_alerts(
        &browser
            .wait_for_text("open-alerts", |t| t.contains("open security alert"))
            .await,
    );
    assert_eq!(open_after + 2, open_before);
    browser.close().await;
}
