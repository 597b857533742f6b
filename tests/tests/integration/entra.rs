//! Sign-in with Microsoft end to end: the sign-in page's button, the emulator's demo
//! directory (its account picker, and `login_hint`), back into the dashboard with the person's
//! role; a person without an app role sees which roles they need; signing out of Microsoft
//! goes through the directory's sign-out and back to the sign-in page.
use fantoccini::Locator;
use portcullis_tests::{Browser, TestApp};

#[tokio::test]
async fn an_operator_signs_in_with_microsoft_and_a_person_without_a_role_is_told_what_to_ask_for() {
    let app = TestApp::start();
    let browser = Browser::start().await;
    browser.goto(&app.url("/login")).await;
    let button = browser.text_of_testid("sign-in-microsoft").await;
    assert_eq!(button, "Sign in with Microsoft (demo directory)");
    assert!(
        browser.has_testid("login-form").await,
        "local accounts stay in demo mode"
    );
    browser.screenshot("entra-sign-in-page").await;

    // the button leaves the app for the directory's account picker
    browser.click_testid("sign-in-microsoft").await;
    let megan = browser
        .wait_for_css(r#"a[data-upn="megan@contoso.onmicrosoft.com"]"#)
        .await;
    browser.screenshot("entra-account-picker").await;
    megan.click().await.expect("pick Megan");
    let user = browser
        .wait_for_text("current-user", |t| {
            t.contains("megan@contoso.onmicrosoft.com")
        })
        .await;
    assert!(user.contains("operator"), "{user}");
    assert_eq!(browser.text_of_testid("current-role").await, "operator");
    browser
        .wait_for_text("gauge-text", |t| t.ends_with("of 8 points"))
        .await;
    assert!(
        browser.has_testid("nav-remediate").await,
        "an operator may fix"
    );
    browser.screenshot("entra-signed-in-operator").await;
    // the header's two sign-out buttons on a phone
    browser.set_window_size(390, 844).await;
    browser.screenshot("entra-signed-in-operator-390").await;
    let overflow = browser
        .eval("return document.documentElement.scrollWidth > window.innerWidth")
        .await;
    assert_eq!(overflow, false, "no sideways scrolling at 390 px");
    browser.set_window_size(1280, 800).await;
    browser
        .assert_no_console_errors("signed in with Microsoft")
        .await;

    // sign out of Microsoft too: through the directory's sign-out, back to the sign-in page
    browser.click_testid("sign-out-microsoft").await;
    // two navigations (to the directory's sign-out, back to /login): wait for the last one
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut url = String::new();
    while std::time::Instant::now() < deadline {
        if let Ok(u) = browser.client.current_url().await {
            url = u.to_string();
            if u.path() == "/login" {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(url.ends_with("/login"), "back on the sign-in page: {url}");
    browser.wait_for_testid("sign-in-microsoft").await;
    let me = browser
        .eval("return fetch('/api/me?optional=true').then(r => r.status)")
        .await;
    assert_eq!(me, 204, "signed out");

    // Lee has no Portcullis app role
    browser
        .goto(&app.url("/auth/login?login_hint=lee@contoso.onmicrosoft.com"))
        .await;
    let page = browser.text_of_testid("no-role").await;
    for role in [
        "Portcullis.Viewer",
        "Portcullis.Operator",
        "Portcullis.Admin",
    ] {
        assert!(page.contains(role), "{page}");
    }
    // (the page answers 403, which the console reports: no console check here)
    browser.screenshot_only("entra-no-role").await;
    let errors = browser.console_errors().await;
    assert!(
        errors.iter().all(|e| e.contains("403")),
        "only the refusal itself: {errors:?}"
    );
    browser
        .client
        .find(Locator::LinkText("Back to sign-in"))
        .await
        .expect("a way back")
        .click()
        .await
        .unwrap();
    browser.wait_for_testid("sign-in-microsoft").await;
    browser.close().await;
}
