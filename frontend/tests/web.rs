//! Runs in headless Chromium: `cd frontend && cargo test --target wasm32-unknown-unknown`
//! (wasm-bindgen-test-runner + chromedriver, see .cargo/config.toml and webdriver.json).
use leptos::{mount::mount_to, prelude::*};
use portcullis_frontend::{
    api::{self, ApiError},
    components::health_summary::HealthSummary,
    App,
};
use portcullis_shared::api::Health;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A fresh `<div>` in the page for one test to mount into, so that tests never see each other.
fn fresh_root() -> web_sys::HtmlElement {
    let root = document().create_element("div").unwrap();
    document().body().unwrap().append_child(&root).unwrap();
    root.unchecked_into()
}

fn text_of_testid(root: &web_sys::HtmlElement, testid: &str) -> Option<String> {
    root.query_selector(&format!(r#"[data-testid="{testid}"]"#))
        .unwrap()
        .and_then(|element| element.text_content())
}

#[wasm_bindgen_test]
fn health_summary_shows_version_and_data_source() {
    let health = Health {
        status: "ok".into(),
        version: "9.8.7".into(),
        data_source: "emulator".into(),
    };
    let root = fresh_root();
    let _view = mount_to(root.clone(), move || view! { <HealthSummary health /> });
    assert_eq!(
        text_of_testid(&root, "health-version").as_deref(),
        Some("9.8.7")
    );
    assert_eq!(
        text_of_testid(&root, "health-source").as_deref(),
        Some("emulator")
    );
    assert_eq!(
        text_of_testid(&root, "health-status").as_deref(),
        Some("ok")
    );
}

#[wasm_bindgen_test]
async fn app_renders_the_header_and_the_home_page() {
    let root = fresh_root();
    let _view = mount_to(root.clone(), App);
    assert_eq!(
        text_of_testid(&root, "app-title").as_deref(),
        Some("Portcullis")
    );
    // The router renders the matched route on a later turn of the executor.
    for _ in 0..100 {
        if text_of_testid(&root, "health-loading").is_some()
            || text_of_testid(&root, "health-error").is_some()
        {
            return;
        }
        leptos::task::tick().await;
    }
    panic!(
        "the home page shows neither the server card's loading nor its error state: {}",
        root.inner_html()
    );
}

/// The test runner's own web server has no `/api/health`: the typed fetch reports the status.
#[wasm_bindgen_test]
async fn get_json_reports_http_errors() {
    let error = api::get_json::<Health>(api::url::HEALTH).await.unwrap_err();
    assert!(
        matches!(error, ApiError::Status { status: 404, .. }),
        "{error:?}"
    );
}
