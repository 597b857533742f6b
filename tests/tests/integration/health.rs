use portcullis_shared::api::Health;
use portcullis_tests::{Browser, TestApp};

#[tokio::test]
async fn dashboard_shows_the_servers_version_and_data_source() {
    let app = TestApp::start();
    let health: Health = app.get_json("/api/health");
    assert_eq!(health.status, "ok");
    assert_eq!(health.data_source, "emulator");

    let browser = Browser::start().await;
    browser.goto(&app.url("/")).await;
    assert_eq!(
        browser.text_of_testid("health-version").await,
        health.version
    );
    assert_eq!(
        browser.text_of_testid("health-source").await,
        health.data_source
    );
    assert_eq!(browser.text_of_testid("app-title").await, "Portcullis");
    assert!(!browser.has_testid("health-error").await);
    let screenshot = browser.screenshot("health").await;
    assert!(screenshot.is_file());
    browser.close().await;
}

#[tokio::test]
async fn deep_links_load_the_app_and_unknown_pages_say_not_found() {
    let app = TestApp::start();
    let (status, body) = app.get("/no/such/page");
    assert_eq!(status, 200, "deep links are served index.html");
    assert!(body.contains("<title>Portcullis</title>"), "{body}");

    let browser = Browser::start().await;
    browser.goto(&app.url("/no/such/page")).await;
    browser.wait_for_testid("not-found").await;
    assert_eq!(browser.text_of_testid("app-title").await, "Portcullis");
    browser.screenshot("not-found").await;
    browser.close().await;
}
