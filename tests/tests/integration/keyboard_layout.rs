//! Keyboard use and window sizes: the main navigation works with Tab and Enter alone, with a
//! visible focus ring; the overview and the VM table fit a phone-sized, a laptop and a wide
//! window without the page scrolling sideways, and from the laptop up the VM table itself fits
//! without scrolling sideways. Screenshots of every size go to target/screenshots/.
use fantoccini::key::Key;
use portcullis_tests::{Browser, TestApp, DEMO_PASSWORD};

/// The focused element: its `data-testid` and whether a focus indicator is drawn (an outline
/// or a box shadow, as `:focus-visible` gives it).
async fn focused(browser: &Browser) -> (String, bool, String) {
    let v = browser
        .eval(
            "const e = document.activeElement;
             const s = getComputedStyle(e);
             const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';
             return [e.dataset.testid || e.tagName, ring, s.outlineStyle + ' ' + s.outlineWidth + ' / ' + s.boxShadow];",
        )
        .await;
    (
        v[0].as_str().unwrap_or_default().to_owned(),
        v[1].as_bool().unwrap_or(false),
        v[2].as_str().unwrap_or_default().to_owned(),
    )
}

/// Presses `key` on whatever has focus.
async fn press(browser: &Browser, key: Key) {
    let active = browser
        .client
        .active_element()
        .await
        .expect("an element has focus");
    active
        .send_keys(&key)
        .await
        .unwrap_or_else(|error| panic!("press {key:?}: {error}"));
}

/// Tabs forward (at most 40 times) until the element with `data-testid={testid}` has focus;
/// every nav link passed on the way must show its focus.
async fn tab_to(browser: &Browser, testid: &str) {
    for _ in 0..40 {
        press(browser, Key::Tab).await;
        let (current, ring, style) = focused(browser).await;
        if current.starts_with("nav-") {
            assert!(
                ring,
                "{current} has focus but no visible focus ring ({style})"
            );
        }
        if current == testid {
            return;
        }
    }
    panic!("Tab never reached data-testid={testid}");
}

#[tokio::test]
async fn the_main_navigation_works_with_tab_and_enter() {
    let app = TestApp::start();
    let browser = Browser::start().await;
    browser
        .sign_in(&app.base_url, "operator", DEMO_PASSWORD)
        .await;
    browser.wait_for_testid("gauge-text").await;
    // Start from the top of the document, as after a page load.
    browser
        .eval("document.activeElement?.blur(); window.scrollTo(0, 0); return true")
        .await;

    tab_to(&browser, "nav-vms").await;
    browser.screenshot("keyboard-focus-nav-vms").await;
    press(&browser, Key::Enter).await;
    browser.wait_for_testid("vm-table").await;
    let url = browser.client.current_url().await.unwrap();
    assert_eq!(url.path(), "/vms");
    let current = browser
        .eval("return document.querySelector('[data-testid=nav-vms]').getAttribute('aria-current')")
        .await;
    assert_eq!(current, "page", "the nav marks the current page");

    // Focus stays in the nav after the in-app navigation: one more Tab reaches Trends.
    tab_to(&browser, "nav-trends").await;
    press(&browser, Key::Enter).await;
    browser.wait_for_testid("score-chart").await;
    assert_eq!(
        browser.client.current_url().await.unwrap().path(),
        "/trends"
    );

    // And back to the overview, by the first nav link (Shift+Tab would do too; the loop
    // wraps through the page and the browser chrome is not reachable headless).
    browser
        .eval("document.querySelector('[data-testid=nav-jit]').focus(); return true")
        .await;
    let (current, ring, style) = focused(&browser).await;
    assert_eq!(current, "nav-jit");
    assert!(
        ring,
        "focus set by script on a link is visible too ({style})"
    );
    press(&browser, Key::Enter).await;
    browser.wait_for_testid("jit-policies").await;
    browser.close().await;
}

/// Whether the page scrolls sideways: `scrollWidth` beyond the viewport, and what sticks out.
async fn horizontal_overflow(browser: &Browser) -> (u64, u64, String) {
    let v = browser
        .eval(
            "const w = window.innerWidth;
             const wide = [...document.querySelectorAll('body *')]
               .filter(e => e.getBoundingClientRect().right > w + 1 && getComputedStyle(e).position !== 'fixed')
               .filter(e => !e.parentElement?.closest('.vm-table-wrap, .table-scroll'))
               .slice(0, 5)
               .map(e => e.tagName.toLowerCase() + '.' + [...e.classList].join('.') + ' ' + Math.round(e.getBoundingClientRect().right));
             const deep = [...document.querySelectorAll('body *')]
               .filter(e => e.scrollWidth > w + 1 && getComputedStyle(e).overflowX === 'visible')
               .slice(-3)
               .map(e => e.tagName.toLowerCase() + '.' + [...e.classList].join('.') + ' scrollWidth ' + e.scrollWidth);
             return [document.documentElement.scrollWidth, w, wide.concat(deep).join(', ')];",
        )
        .await;
    (
        v[0].as_u64().unwrap_or(u64::MAX),
        v[1].as_u64().unwrap_or(0),
        v[2].as_str().unwrap_or_default().to_owned(),
    )
}

/// The VM table's full width and the width of the box that scrolls it sideways when it must.
async fn vm_table_width(browser: &Browser) -> (u64, u64) {
    let v = browser
        .eval(
            "const wrap = document.querySelector('.vm-table-wrap');
             return [wrap.querySelector('table').scrollWidth, wrap.clientWidth];",
        )
        .await;
    (
        v[0].as_u64().unwrap_or(u64::MAX),
        v[1].as_u64().unwrap_or(0),
    )
}

#[tokio::test]
async fn overview_and_vm_table_fit_a_phone_and_a_wide_screen() {
    let app = TestApp::start();
    let browser = Browser::start().await;
    browser
        .sign_in(&app.base_url, "operator", DEMO_PASSWORD)
        .await;
    for (width, height) in [(390, 844), (1280, 900), (1920, 1080)] {
        browser.set_window_size(width, height).await;
        let inner = browser.eval("return window.innerWidth").await;
        assert!(
            inner.as_u64().is_some_and(|w| w <= u64::from(width)),
            "viewport {inner} for a {width}px window"
        );

        browser.goto(&app.url("/")).await;
        browser
            .wait_for_text("gauge-text", |t| t.ends_with("of 8 points"))
            .await;
        browser.wait_for_testid("sparkline").await;
        let (scroll, inner, wide) = horizontal_overflow(&browser).await;
        // the picture first, so that a failure can be looked at
        browser
            .screenshot(&format!("layout-overview-{width}x{height}"))
            .await;
        assert!(
            scroll <= inner,
            "overview at {width}x{height}: the page is {scroll}px wide in a {inner}px viewport ({wide})"
        );
        if width >= 1280 {
            let (table, wrap) = vm_table_width(&browser).await;
            assert!(
                table <= wrap,
                "overview at {width}x{height}: the worst exposures table is {table}px wide in its {wrap}px card: it scrolls sideways"
            );
        }

        browser.goto(&app.url("/vms")).await;
        browser.wait_for_testid("vm-table").await;
        let (scroll, inner, wide) = horizontal_overflow(&browser).await;
        // the picture first, so that a failure can be looked at
        browser
            .screenshot(&format!("layout-vms-{width}x{height}"))
            .await;
        assert!(
            scroll <= inner,
            "VM table at {width}x{height}: the page is {scroll}px wide in a {inner}px viewport ({wide})"
        );
        if width >= 1280 {
            let (table, wrap) = vm_table_width(&browser).await;
            assert!(
                table <= wrap,
                "VM table at {width}x{height}: the table is {table}px wide in its {wrap}px box: it scrolls sideways"
            );
        }
        browser
            .eval("document.querySelector('[data-testid=vm-table]').scrollIntoView(); return true")
            .await;
        browser
            .screenshot(&format!("layout-vms-table-{width}x{height}"))
            .await;
    }
    browser.close().await;
}
