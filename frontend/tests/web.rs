//! Runs in headless Chromium: `cd frontend && cargo test --target wasm32-unknown-unknown`
//! (wasm-bindgen-test-runner + chromedriver, see .cargo/config.toml and webdriver.json).
//!
//! Component tests where logic lives in the browser: the gauge, formatting, the URL query of
//! the VM table, countdowns, rule diffs, the trend chart, and the table with 10,000 rows.
use leptos::{mount::mount_to, prelude::*};
use leptos_router::components::Router;
use portcullis_frontend::{
    api::{self, ApiError},
    components::{
        countdown::Countdown,
        health_summary::HealthSummary,
        rule_diff::RuleDiffView,
        score_gauge::ScoreGauge,
        sparkline::sparkline_points,
        status_badge::StatusBadge,
        trend_chart::{render_chart, Series},
        vm_table::VmTable,
    },
    format, query, App,
};
use portcullis_shared::api::{
    Health, NsgChange, RuleChangeKind, RuleDiff, SortOrder, VmFilter, VmRow, VmSort,
};
use portcullis_shared::eval::report::{ControlScore, RecommendationKey, State, VmRecommendations};
use portcullis_shared::eval::Status;
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

fn count(root: &web_sys::HtmlElement, selector: &str) -> u32 {
    root.query_selector_all(selector).unwrap().length()
}

#[wasm_bindgen_test]
fn health_summary_shows_version_and_data_source() {
    let health = Health {
        status: "ok".into(),
        version: "9.8.7".into(),
        data_source: "emulator".into(),
        sign_in: Default::default(),
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

/// The test runner's server has no API: `/api/me` fails, so the app asks to sign in, and the
/// server card shows its loading or error state.
#[wasm_bindgen_test]
async fn signed_out_app_shows_the_sign_in_form() {
    let root = fresh_root();
    let _view = mount_to(root.clone(), App);
    assert_eq!(
        text_of_testid(&root, "app-title").as_deref(),
        Some("Portcullis")
    );
    for _ in 0..200 {
        if text_of_testid(&root, "login-form").is_some()
            && (text_of_testid(&root, "health-loading").is_some()
                || text_of_testid(&root, "health-error").is_some())
        {
            // Signed out: no fix links in the navigation.
            assert_eq!(count(&root, r#"[data-testid="nav-remediate"]"#), 0);
            return;
        }
        leptos::task::tick().await;
        gloo_sleep(10).await;
    }
    panic!("no sign-in form: {}", root.inner_html());
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

#[wasm_bindgen_test]
fn gauge_shows_points_and_percentage() {
    let score = ControlScore::from_counts(2, 1, 4);
    assert_eq!(format::gauge_text(&score), "5.33 of 8 points");
    let root = fresh_root();
    let _view = mount_to(
        root.clone(),
        move || view! { <ScoreGauge score=score.clone() /> },
    );
    assert_eq!(
        text_of_testid(&root, "gauge-text").as_deref(),
        Some("5.33 of 8 points")
    );
    assert_eq!(
        text_of_testid(&root, "gauge-percent").as_deref(),
        Some("67%")
    );

    let full = ControlScore::from_counts(3, 0, 0);
    assert_eq!(format::gauge_text(&full), "8 of 8 points");
    let none = ControlScore::from_counts(0, 0, 5);
    let root = fresh_root();
    let _view = mount_to(
        root.clone(),
        move || view! { <ScoreGauge score=none.clone() /> },
    );
    assert_eq!(
        text_of_testid(&root, "gauge-text").as_deref(),
        Some("0 of 8 points")
    );
    assert_eq!(
        text_of_testid(&root, "gauge-percent").as_deref(),
        Some("n/a")
    );
}

#[wasm_bindgen_test]
fn numbers_and_deltas_read_well() {
    assert_eq!(format::score_number(2.5), "2.5");
    assert_eq!(format::score_number(2.666), "2.67");
    assert_eq!(format::score_number(0.0), "0");
    assert_eq!(format::score_delta(2.67, 5.33), "+2.66");
    assert_eq!(format::score_delta(5.0, 4.5), "−0.5");
    assert_eq!(format::score_delta(3.0, 3.0), "±0");
    assert_eq!(format::percent(66.67), "67%");
}

#[wasm_bindgen_test]
fn status_is_text_and_icon_not_colour_alone() {
    let root = fresh_root();
    let _view = mount_to(root.clone(), || {
        view! { <StatusBadge status=Status::Unhealthy /> <StatusBadge status=Status::Healthy compact=true /> }
    });
    let text = root.text_content().unwrap();
    assert!(text.contains("✕") && text.contains("Unhealthy"), "{text}");
    assert!(text.contains("✓") && text.contains("Healthy"), "{text}");
}

#[wasm_bindgen_test]
fn vm_filter_round_trips_through_the_url_query() {
    let filter = VmFilter {
        subscription: Some("00000000-0000-0000-0000-000000000001".into()),
        resource_group: Some("rg lab/α".into()),
        status: Some(Status::Unhealthy),
        recommendation: Some(RecommendationKey::ManagementPortsJitProtected),
        recommendation_status: Some(Status::NotApplicable),
        reachable: Some(true),
        path: Some(portcullis_shared::eval::report::PathKind::FirewallDnat),
        q: Some("sql & lab=01 +x%".into()),
        sort: Some(VmSort::Exposure),
        order: Some(SortOrder::Desc),
        page: Some(3),
        per_page: Some(50),
    };
    let url = query::filter_to_query(&filter);
    assert!(
        url.starts_with("?q=sql%20%26%20lab%3D01%20%2Bx%25"),
        "{url}"
    );
    assert!(
        url.contains("recommendation=managementPortsJitProtected"),
        "{url}"
    );
    assert_eq!(query::filter_from_query(&url), filter);
    // Empty filter: empty query; unknown keys and bad values are ignored.
    assert_eq!(query::filter_to_query(&VmFilter::default()), "");
    assert_eq!(
        query::filter_from_query("?status=bogus&page=0&x=1&sort=name"),
        VmFilter {
            sort: Some(VmSort::Name),
            ..Default::default()
        }
    );
    // The API URL carries the same pairs.
    assert_eq!(
        api::url::posture(&VmFilter {
            status: Some(Status::Healthy),
            ..Default::default()
        }),
        "/api/posture?status=healthy"
    );
    assert_eq!(
        api::url::vms_csv(&VmFilter {
            page: Some(2),
            reachable: Some(true),
            ..Default::default()
        }),
        "/api/vms.csv?reachable=true"
    );
    assert_eq!(
        api::url::vm("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm 1"),
        "/api/vms/%2Fsubscriptions%2Fs%2FresourceGroups%2Frg%2Fproviders%2FMicrosoft.Compute%2FvirtualMachines%2Fvm%201"
    );
}

#[wasm_bindgen_test]
fn countdown_formatting() {
    assert_eq!(format::countdown(0), "expired");
    assert_eq!(format::countdown(-5), "expired");
    assert_eq!(format::countdown(9), "9s");
    assert_eq!(format::countdown(243), "4m 03s");
    assert_eq!(format::countdown(2 * 3600 + 5 * 60 + 9), "2h 05m 09s");
    assert_eq!(format::minutes(90), "1 h 30 min");
    assert_eq!(format::iso_duration(180), "PT3H");
    assert_eq!(format::iso_duration(90), "PT1H30M");
}

#[wasm_bindgen_test]
async fn countdown_ticks_down() {
    let expires = js_sys::Date::new_0();
    expires.set_time(js_sys::Date::now() + 125_000.0);
    let expires_at: String = expires.to_iso_string().into();
    let root = fresh_root();
    let _view = mount_to(
        root.clone(),
        move || view! { <Countdown expires_at=expires_at.clone() /> },
    );
    let first = text_of_testid(&root, "countdown").unwrap();
    assert!(first.contains("2m 0") && first.ends_with("left"), "{first}");
    gloo_sleep(1100).await;
    let later = text_of_testid(&root, "countdown").unwrap();
    assert_ne!(first, later, "the countdown did not tick");
}

#[wasm_bindgen_test]
fn timestamps_parse_and_format_in_utc() {
    assert_eq!(format::parse_rfc3339("1970-01-01T00:00:00Z"), Some(0.0));
    assert_eq!(
        format::parse_rfc3339("2026-11-23T01:02:03Z"),
        Some(1_795_395_723.0)
    );
    assert_eq!(
        format::parse_rfc3339("2026-11-23T02:02:03.5+01:00"),
        Some(1_795_395_723.5)
    );
    assert_eq!(format::parse_rfc3339("yesterday"), None);
    assert_eq!(
        format::date_time("2026-11-23T01:02:03Z"),
        "23 Nov 2026, 01:02 UTC"
    );
    assert_eq!(format::short_date(1_795_395_723.0), "23 Nov");
    assert_eq!(
        format::ago("2026-11-23T01:00:00Z", 1_795_395_600.0 + 7200.0),
        "2 h ago"
    );
}

#[wasm_bindgen_test]
fn sources_are_validated_inline() {
    // the planner's own list: the form refuses exactly what the planner refuses
    use portcullis_shared::remediation::source_examples::{BAD_SOURCES, GOOD_SOURCES};
    for s in GOOD_SOURCES {
        assert!(format::validate_source(s).is_ok(), "{s:?}");
    }
    for s in BAD_SOURCES {
        assert!(format::validate_source(s).is_err(), "{s:?}");
    }
    assert!(format::validate_source("203.0.113.0/24").is_ok());
    assert!(format::validate_source("2001:db8::/48").is_ok());
    assert!(format::validate_source("198.51.100.7").is_ok());
    assert!(format::validate_source("0.0.0.0/0").is_err());
    assert!(format::validate_source("10.0.0.0/33").is_err());
    assert!(format::validate_source("office").is_err());
}

#[wasm_bindgen_test]
fn rule_diff_shows_added_removed_and_changed_rules() {
    let change = NsgChange {
        nsg_id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/sql-nsg".into(),
        nsg_name: "sql-nsg".into(),
        etag: None,
        before: vec![],
        after: vec![],
        diff: vec![
            RuleDiff { change: RuleChangeKind::Added, rule: "SecurityCenter-JITRule-1".into(), summary: "denies 3389 from *".into() },
            RuleDiff { change: RuleChangeKind::Removed, rule: "RDP-any".into(), summary: "allowed 3389 from the Internet".into() },
            RuleDiff { change: RuleChangeKind::Changed, rule: "SSH".into(), summary: "22 no longer allowed".into() },
        ],
        create: false,
    };
    let root = fresh_root();
    let _view = mount_to(
        root.clone(),
        move || view! { <RuleDiffView change=change.clone() /> },
    );
    assert_eq!(
        text_of_testid(&root, "rule-diff-summary").as_deref(),
        Some("1 added, 1 removed, 1 changed")
    );
    assert_eq!(count(&root, "li.diff-added"), 1);
    assert_eq!(count(&root, "li.diff-removed"), 1);
    assert_eq!(count(&root, "li.diff-changed"), 1);
    let text = root.text_content().unwrap();
    assert!(
        text.contains("removed: RDP-any"),
        "the change is said in words: {text}"
    );
}

#[wasm_bindgen_test]
fn trend_chart_draws_lines_dates_and_markers() {
    let day = 86_400.0;
    let start = 1_795_000_000.0;
    let series = vec![Series {
        name: "All".into(),
        color: (47, 128, 237),
        dashed: false,
        points: (0..30)
            .map(|i| (start + i as f64 * day, 2.0 + i as f64 * 0.1))
            .collect(),
    }];
    let svg = render_chart(
        &series,
        &[start + 10.0 * day],
        8.0,
        "Points",
        false,
        (800, 300),
    );
    assert!(svg.starts_with("<svg"), "{svg}");
    assert!(
        svg.contains("<polyline") || svg.contains("<path"),
        "a line is drawn"
    );
    assert!(svg.contains("Points"), "the y axis is labelled");
    assert!(
        svg.contains(" Nov") || svg.contains(" Oct"),
        "dates on the x axis: {svg}"
    );
    assert!(svg.contains("currentColor"), "axis text follows the theme");
    assert!(!svg.contains("#000000"));
    assert_eq!(render_chart(&[], &[], 8.0, "Points", false, (800, 300)), "");
    assert_eq!(
        sparkline_points(&[0.0, 8.0], 8.0, 100.0, 50.0),
        "0.0,48.0 100.0,2.0"
    );
}

fn synthetic_rows(n: usize) -> Vec<VmRow> {
    (0..n)
        .map(|i| {
            let bad = i % 3 == 0;
            VmRow {
                id: format!("/subscriptions/sub-{}/resourceGroups/rg-{}/providers/Microsoft.Compute/virtualMachines/vm-{i:05}", i % 4, i % 40),
                name: format!("vm-{i:05}"),
                subscription_id: format!("sub-{}", i % 4),
                resource_group: format!("rg-{}", i % 40),
                location: Some("westeurope".into()),
                os_type: Some(if i % 2 == 0 { "Linux" } else { "Windows" }.into()),
                status: if bad { Status::Unhealthy } else { Status::Healthy },
                recommendations: VmRecommendations {
                    internet_facing_vms_protected_by_nsg: Status::Healthy,
                    management_ports_closed: if bad { Status::Unhealthy } else { Status::Healthy },
                    management_ports_jit_protected: if bad { Status::Unhealthy } else { Status::NotApplicable },
                },
                public_ips: vec![format!("20.{}.{}.{}", i / 65536 % 256, i / 256 % 256, i % 256)],
                worst_state: if bad { State::Open } else { State::Closed },
                reachable: bad,
                paths: if bad { vec![portcullis_shared::eval::report::PathKind::PublicIp] } else { vec![] },
                bastion: None,
                open_ports: if bad { vec![22] } else { vec![] },
                restricted_ports: vec![],
                jit_policy: None,
            }
        })
        .collect()
}

fn now_ms() -> f64 {
    window().performance().unwrap().now()
}

/// The table component with 10,000 rows (the worst case: no paging) and with one page of 50.
/// Prints the times for BENCHMARKS.md; asserts only loose bounds (shared CI machines).
#[wasm_bindgen_test]
fn vm_table_renders_10000_rows() {
    let rows = synthetic_rows(10_000);
    let root = fresh_root();
    let all = rows.clone();
    let t0 = now_ms();
    let view = mount_to(
        root.clone(),
        move || view! { <Router><VmTable rows=all.clone() /></Router> },
    );
    let full_ms = now_ms() - t0;
    assert_eq!(count(&root, r#"[data-testid="vm-row"]"#), 10_000);
    drop(view);

    // Filtering 10,000 rows by text and status, then rendering the first page of 50.
    let t0 = now_ms();
    let matching: Vec<VmRow> = rows
        .iter()
        .filter(|r| r.status == Status::Unhealthy && r.name.contains("vm-0"))
        .take(50)
        .cloned()
        .collect();
    let root = fresh_root();
    let _view = mount_to(
        root.clone(),
        move || view! { <Router><VmTable rows=matching.clone() /></Router> },
    );
    let page_ms = now_ms() - t0;
    assert_eq!(count(&root, r#"[data-testid="vm-row"]"#), 50);
    console_log!("vm table: 10,000 rows rendered in {full_ms:.0} ms; filter 10,000 + render a page of 50 in {page_ms:.1} ms");
    assert!(page_ms < 1000.0, "{page_ms} ms");
}

async fn gloo_sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        window()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

#[wasm_bindgen_test]
fn apply_progress_events_update_each_write_in_place() {
    use portcullis_frontend::state::provide_events_context;
    use portcullis_shared::api::{ApplyStep, ServerEvent, StepOutcome};
    let owner = Owner::new();
    owner.set();
    let events = provide_events_context();
    let step = |target: &str, outcome| ApplyStep {
        target_kind: "nsg".into(),
        target: target.into(),
        outcome,
        message: None,
    };
    let progress = |s: ApplyStep, done| ServerEvent::ApplyProgress {
        actor: "operator".into(),
        step: s,
        done,
        total: 2,
    };
    events.apply(progress(step("/x/nsg-a", StepOutcome::Applied), 1));
    events.apply(progress(step("/x/nsg-b", StepOutcome::Failed), 2));
    // the rollback of the first write replaces its entry (ids compared without case)
    events.apply(progress(step("/X/NSG-A", StepOutcome::RolledBack), 2));
    let steps = events.apply_steps.get_untracked();
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0].outcome, StepOutcome::RolledBack);
    assert_eq!(steps[1].outcome, StepOutcome::Failed);
    // applied writes do not by themselves refetch the pages; the summary event does
    assert_eq!(events.version.get_untracked(), 0);
}

/// The review's check that the browser's engine predicts what the server does compares the
/// firewall DNAT changes too, not only the NSG rule changes.
#[wasm_bindgen_test]
fn disagreements_count_firewall_dnat_changes() {
    use portcullis_frontend::whatif::disagreements;
    use portcullis_shared::api::RemediationPlan;
    let score = serde_json::json!({"name": "Secure management ports", "maxScore": 8,
        "currentScore": 4.0, "percentage": 50.0, "healthy": 1, "unhealthy": 1,
        "notApplicable": 0, "applicable": true});
    let change = |group: &str| {
        serde_json::json!({"targetId": format!("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/firewallPolicies/{group}/ruleCollectionGroups/dnat"),
            "name": "dnat", "before": {}, "after": {},
            "diff": [{"change": "changed", "rule": "rdp-in", "summary": "narrowed"}]})
    };
    let plan = |changes: Vec<serde_json::Value>| -> RemediationPlan {
        serde_json::from_value(serde_json::json!({
            "request": {"kind": "narrowDnat", "vmIds": []},
            "nsgChanges": [], "nicChanges": [], "jitPolicies": [], "firewallChanges": changes,
            "before": score, "after": score, "vms": [], "noop": false, "warnings": []}))
        .unwrap()
    };
    let server = plan(vec![change("hub"), change("org")]);
    assert!(disagreements(&server, &plan(vec![change("org"), change("hub")])).is_empty());
    assert_eq!(
        disagreements(&server, &plan(vec![change("hub")])),
        ["the rule changes differ"]
    );
}
