//! Paths from the Internet in the dashboard: an operator finds the VM exposed only through a
//! firewall DNAT rule, previews narrowing the rule, applies it and sees the port restricted and
//! the score up; a Standard public IP without an NSG reads not reachable while
//! Recommendation 1 stays unhealthy; a deciding rule says whether a subnet NSG, a NIC NSG or
//! a network manager admin rule collection holds it.
use portcullis_tests::{Browser, TestApp, DEMO_PASSWORD};

fn points(gauge_text: &str) -> f64 {
    gauge_text
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(f64::NAN)
}

#[tokio::test]
async fn an_operator_narrows_the_dnat_rule_to_dnat_rdp_01() {
    let app = TestApp::start();
    let browser = Browser::start().await;
    browser
        .sign_in(&app.base_url, "operator", DEMO_PASSWORD)
        .await;
    browser.goto(&app.url("/")).await;
    let before = browser
        .wait_for_text("gauge-text", |t| t.ends_with("of 8 points"))
        .await;

    // an app VM's SSH through the application gateway's TCP proxy, from what the gateway
    // subnet's NSG admits
    browser.open_vm(&app.base_url, "ha-app-01").await;
    browser.wait_for_testid("exposure-table").await;
    let gateway = browser
        .eval("return [...document.querySelectorAll('[data-testid=path-applicationGateway]')].map(e => e.textContent)")
        .await;
    let gateway = gateway.to_string();
    assert!(
        gateway.contains("20.61.60.20:2200")
            && gateway.contains("10.50.1.21:22")
            && gateway.contains("198.51.100.0/24")
            && gateway.contains("application gateway agw-edge rule ssh-proxy"),
        "{gateway}"
    );
    browser.screenshot("paths-vm-app-gateway").await;
    // its fixes: JIT first, whose Deny from every source also stops the gateway (no NSG rule
    // edit does: the VM's NSG sees the gateway's subnet)
    browser.click_testid("fix-vm").await;
    browser
        .wait_for_text("selected-count", |t| t == "1 selected")
        .await;
    browser.click_testid("wizard-next").await;
    let first = browser
        .eval("return document.querySelector('.fix-option').getAttribute('data-testid')")
        .await;
    assert_eq!(
        first.as_str(),
        Some("fix-enableJit"),
        "reached through an application gateway: JIT first"
    );

    // the VM page: RDP open, one line from the Internet through the firewall
    browser.open_vm(&app.base_url, "dnat-rdp-01").await;
    browser.wait_for_testid("exposure-table").await;
    let rdp = browser.text_of_testid("exposure-3389").await;
    assert!(rdp.contains("Open") || rdp.contains("open"), "{rdp}");
    // two lines through the firewall: RDP from everywhere, and SSH from the partners' IP
    // group through the rule the hub's policy inherits from the organisation's base policy
    let paths = browser
        .eval("return [...document.querySelectorAll('[data-testid=path-firewallDnat]')].map(e => e.textContent)")
        .await;
    let paths: Vec<&str> = paths
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let rdp_path = paths.iter().find(|p| p.contains("20.61.60.4:3389"));
    assert!(
        rdp_path.is_some_and(|p| p.contains("10.50.2.10:3389") && p.contains("reachable")),
        "{paths:?}"
    );
    let ssh_path = paths.iter().find(|p| p.contains("20.61.60.4:22"));
    assert!(
        ssh_path.is_some_and(|p| p.contains("198.51.100.0/24")
            && p.contains("(from base policy fwpol-org) (sources: IP group ipg-partners)")),
        "{paths:?}"
    );
    assert!(
        browser.has_testid("managed-access").await,
        "Bastion in the VNet is listed"
    );
    browser.screenshot("paths-vm-dnat-before").await;

    // the wizard: narrow the DNAT rule to the office range
    browser.click_testid("fix-vm").await;
    browser
        .wait_for_text("selected-count", |t| t == "1 selected")
        .await;
    browser.click_testid("wizard-next").await;
    let first = browser
        .eval("return document.querySelector('.fix-option').getAttribute('data-testid') + ' ' + document.querySelector('.fix-option').textContent")
        .await;
    assert!(
        first
            .as_str()
            .unwrap_or_default()
            .starts_with("fix-narrowDnat"),
        "reached through the firewall, where no NSG fix helps: the DNAT fix first: {first}"
    );
    let second = browser
        .eval("return document.querySelectorAll('.fix-option')[1].getAttribute('data-testid') + ' ' + document.querySelectorAll('.fix-option')[1].textContent")
        .await;
    assert!(
        second
            .as_str()
            .unwrap_or_default()
            .starts_with("fix-denyPorts Remove Internet access, use Bastion bas-edge"),
        "with a Bastion in the VNet, removing Internet access next: {second}"
    );
    browser.click_testid("fix-narrowDnat").await;
    browser.screenshot("paths-wizard-fix").await;
    browser.click_testid("wizard-next").await;
    browser.wait_for_testid("wizard-step-3").await;
    browser.fill_testid("param-sources", "203.0.113.0/24").await;
    browser.click_testid("wizard-next").await;
    browser.wait_for_testid("plan-review").await;
    let change = browser.text_of_testid("firewall-change").await;
    assert!(
        change.contains("rdp-in")
            && change.contains("203.0.113.0/24")
            && change.contains("If-Match"),
        "{change}"
    );
    let delta = browser.text_of_testid("score-delta").await;
    assert!(
        delta.contains('+'),
        "the preview predicts a higher score: {delta}"
    );
    let whatif = browser
        .wait_for_text("whatif", |t| !t.is_empty() && !t.starts_with("Checking"))
        .await;
    assert!(whatif.contains("predicts the same"), "{whatif}");
    browser.screenshot("paths-wizard-review").await;

    browser.click_testid("wizard-apply").await;
    let outcome = browser
        .wait_for_text("apply-outcome", |t| !t.is_empty())
        .await;
    assert!(outcome.contains("Applied"), "{outcome}");
    browser.wait_for_testid("applied-posture").await;

    // the port reads restricted now, and the score is up
    browser.open_vm(&app.base_url, "dnat-rdp-01").await;
    let rdp = browser
        .wait_for_text("exposure-3389", |t| {
            t.contains("Restricted") || t.contains("restricted")
        })
        .await;
    assert!(rdp.contains("203.0.113.0/24"), "{rdp}");
    browser.screenshot("paths-vm-dnat-after").await;
    browser.goto(&app.url("/")).await;
    let after = browser
        .wait_for_text("gauge-text", |t| t.ends_with("of 8 points"))
        .await;
    assert!(
        points(&after) > points(&before),
        "score before {before}, after {after}"
    );
    browser.assert_no_console_errors("after the DNAT fix").await;
    browser.close().await;
}

#[tokio::test]
async fn a_standard_public_ip_without_an_nsg_reads_not_reachable() {
    let app = TestApp::start();
    let browser = Browser::start().await;
    browser
        .sign_in(&app.base_url, "viewer", DEMO_PASSWORD)
        .await;
    browser.open_vm(&app.base_url, "std-ip-01").await;
    browser.wait_for_testid("exposure-table").await;
    let ssh = browser.text_of_testid("exposure-22").await;
    assert!(
        ssh.contains("Open") || ssh.contains("open"),
        "the NSG verdict: {ssh}"
    );
    assert!(ssh.contains("No"), "not reachable: {ssh}");
    let path = browser.text_of_testid("path-publicIp").await;
    assert!(
        path.contains("blocked") && path.contains("Standard public IP"),
        "{path}"
    );
    let rec = browser
        .text_of_testid("rec-row-internetFacingVmsProtectedByNsg")
        .await;
    assert!(rec.to_lowercase().contains("unhealthy"), "{rec}");
    browser.screenshot("paths-vm-standard-ip").await;
    browser.assert_no_console_errors("the Standard IP VM").await;
    browser.close().await;
}

#[tokio::test]
async fn deciding_rules_name_where_they_come_from() {
    let app = TestApp::start();
    let browser = Browser::start().await;
    browser
        .sign_in(&app.base_url, "viewer", DEMO_PASSWORD)
        .await;
    browser.open_vm(&app.base_url, "nat-rdp-01").await;
    browser.wait_for_testid("exposure-table").await;
    // WinRM is stopped by a network manager security admin rule, not by an NSG
    let winrm = browser.text_of_testid("exposure-5985").await;
    assert!(
        winrm.contains("(10, ✕ Deny, admin rule collection deny-mgmt)"),
        "{winrm}"
    );
    assert!(!winrm.contains("NSG deny-mgmt"), "{winrm}");
    // SSH is decided by the subnet's NSG
    let ssh = browser.text_of_testid("exposure-22").await;
    assert!(
        ssh.contains("(310, ✓ Allow, subnet NSG nsg-ingress-apps)"),
        "{ssh}"
    );
    browser.close().await;
}
