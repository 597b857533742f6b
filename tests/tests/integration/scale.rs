//! The dashboard with 10,000 more VMs: the real server started with `--demo-extra-vms 10000`
//! (a synthetic fleet in a third subscription of the emulator's demo tenant), headless Chromium
//! as a viewer. Asserts what the table shows; measures (prints, never asserts) how long the
//! overview and the VM table take to render and a search takes to filter. The numbers go to
//! BENCHMARKS.md ("Dashboard").
use portcullis_tests::{Browser, TestApp, DEMO_PASSWORD};
use serde_json::Value;
use std::time::Duration;

/// Synthetic VMs added to the demo tenant's ~60.
const EXTRA_VMS: usize = 10_000;

/// `10058` → `10,058`, as the table writes counts.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Runs `condition` (a JavaScript expression) every 2 ms in the page until it is true, then
/// returns `performance.now()` at that moment: milliseconds since the document's navigation
/// started. Panics after 60 s.
async fn when_true(browser: &Browser, condition: &str) -> f64 {
    let script = format!(
        "const done = arguments[arguments.length - 1];
         const deadline = performance.now() + 60000;
         (function poll() {{
           let ok = false;
           try {{ ok = !!({condition}); }} catch (e) {{}}
           if (ok) done(performance.now());
           else if (performance.now() > deadline) done(null);
           else setTimeout(poll, 2);
         }})();"
    );
    let value = browser
        .client
        .execute_async(&script, vec![])
        .await
        .unwrap_or_else(|error| panic!("waiting for {condition}: {error}"));
    value
        .as_f64()
        .unwrap_or_else(|| panic!("never true within 60 s: {condition}"))
}

/// The names of the VM rows on screen, in order.
async fn row_names(browser: &Browser) -> Vec<String> {
    let names = browser
        .eval(
            "return [...document.querySelectorAll('[data-testid=vm-row]')].map(r => r.dataset.vm)",
        )
        .await;
    serde_json::from_value(names).expect("row names are strings")
}

#[tokio::test]
async fn ten_thousand_vms_render_filter_and_sort_in_the_browser() {
    let app = TestApp::start_with(
        &["--demo-extra-vms", &EXTRA_VMS.to_string()],
        &[],
        Duration::from_secs(600),
    );
    let browser = Browser::start().await;
    browser
        .sign_in(&app.base_url, "viewer", DEMO_PASSWORD)
        .await;

    // The server's count of every VM, through the API the table reads.
    let posture = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch('/api/posture?perPage=1').then(r => r.json()).then(done, e => done(String(e)));",
            vec![],
        )
        .await
        .expect("GET /api/posture");
    let total = posture["vms"]["total"]
        .as_u64()
        .unwrap_or_else(|| panic!("no vms.total in {posture}"));
    assert!(
        (EXTRA_VMS as u64 + 50..EXTRA_VMS as u64 + 100).contains(&total),
        "10,000 synthetic VMs and the demo tenant's ~60: {total}"
    );
    assert_eq!(posture["counts"]["vms"].as_u64(), Some(total), "{posture}");
    let subscriptions: Vec<Value> =
        serde_json::from_value(posture["subscriptions"].clone()).unwrap_or_default();
    assert!(
        subscriptions
            .iter()
            .any(|s| s["displayName"].as_str() == Some("Contoso Scale Test (synthetic)")),
        "the fleet has a subscription of its own: {subscriptions:?}"
    );

    // Overview: navigation start to the score on screen.
    browser.goto(&app.url("/")).await;
    let overview_ms = when_true(
        &browser,
        "document.querySelector('[data-testid=gauge-text]')?.textContent.endsWith('of 8 points')",
    )
    .await;
    // When the overview's requests finished (Resource Timing), to read the number above by.
    let requests = browser
        .eval(
            "return performance.getEntriesByType('resource')
               .filter(e => e.name.includes('/api/'))
               .map(e => new URL(e.name).pathname + ' ' + Math.round(e.startTime) + '–' + Math.round(e.responseEnd) + ' ms')
               .join(', ')",
        )
        .await;
    eprintln!(
        "scale: overview requests: {}",
        requests.as_str().unwrap_or_default()
    );
    browser.screenshot("scale-overview").await;

    // VM table: navigation start to the first page of rows with the count.
    browser.goto(&app.url("/vms")).await;
    let table_ms = when_true(
        &browser,
        "document.querySelectorAll('[data-testid=vm-row]').length > 0 && document.querySelector('[data-testid=vm-count]')",
    )
    .await;
    let expected_count = format!("1–50 of {} VMs", thousands(total));
    assert_eq!(browser.text_of_testid("vm-count").await, expected_count);
    assert_eq!(row_names(&browser).await.len(), 50, "one page of 50 rows");
    assert_eq!(
        browser.text_of_testid("page-info").await,
        format!("Page 1 of {}", thousands(total.div_ceil(50)))
    );
    browser.screenshot("scale-vms").await;

    // Text search: `vm-00012` is vm-000120 ... vm-000129. Timed from the last keystroke (the
    // page waits 200 ms after typing stops before it asks the server) to the rows on screen.
    browser
        .eval(
            "window.__lastInput = null;
             document.addEventListener('input', () => { window.__lastInput = performance.now(); }, true);
             return true",
        )
        .await;
    browser.fill_testid("filter-q", "vm-00012").await;
    let filtered_at = when_true(
        &browser,
        "document.querySelector('[data-testid=vm-count]')?.textContent === '1–10 of 10 VMs'",
    )
    .await;
    let last_input = browser.eval("return window.__lastInput").await;
    let filter_ms = filtered_at - last_input.as_f64().expect("the search box saw input");
    let expected: Vec<String> = (120..130).map(|i| format!("vm-000{i}")).collect();
    assert_eq!(row_names(&browser).await, expected);
    let url = browser.client.current_url().await.unwrap();
    assert!(
        url.query().unwrap_or_default().contains("q=vm-00012"),
        "{url}"
    );
    browser.screenshot("scale-vms-search").await;

    // Sort: the name column (ascending by default) reverses on a click.
    browser
        .eval("window.__clicked = performance.now(); return true")
        .await;
    browser.click_testid("sort-name").await;
    let sorted_at = when_true(
        &browser,
        "document.querySelector('[data-testid=vm-row]')?.dataset.vm === 'vm-000129'",
    )
    .await;
    let clicked = browser.eval("return window.__clicked").await;
    let sort_ms = sorted_at - clicked.as_f64().unwrap_or(f64::NAN);
    let reversed: Vec<String> = expected.iter().rev().cloned().collect();
    assert_eq!(row_names(&browser).await, reversed);
    let url = browser.client.current_url().await.unwrap();
    assert!(
        url.query().unwrap_or_default().contains("order=desc"),
        "{url}"
    );
    browser.screenshot("scale-vms-sorted").await;

    // Clearing the search brings back every VM (and the whole fleet sorts server-side).
    browser.click_testid("filter-clear").await;
    browser
        .wait_for_text("vm-count", |t| t == expected_count)
        .await;

    eprintln!(
        "scale: {total} VMs, score {} of 8 ({} healthy, {} unhealthy, {} not applicable)",
        posture["control"]["currentScore"],
        posture["control"]["healthy"],
        posture["control"]["unhealthy"],
        posture["control"]["notApplicable"]
    );
    eprintln!(
        "scale ({total} VMs): overview score rendered {overview_ms:.0} ms after navigation start; \
         VM table (first 50 rows) rendered {table_ms:.0} ms after navigation start; \
         search filtered to 10 rows {filter_ms:.0} ms after the last keystroke (200 ms of it the \
         search box's debounce); sort reversed {sort_ms:.0} ms after the click"
    );
    browser.close().await;
}
