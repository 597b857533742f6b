use crate::api;
use crate::components::{
    alert_card::AlertCard, empty_state::EmptyState, error_panel::ErrorPanel, loading::Loading,
};
use crate::query::{encode_pairs, parse_pairs};
use crate::state::expect_events;
use leptos::prelude::*;
use leptos_router::{
    hooks::{use_location, use_navigate},
    NavigateOptions,
};

/// `/alerts?status=open|all|resolved|dismissed&severity=high|medium|low`: Defender's alerts
/// about attacks on management ports, newest first; the view lives in the URL.
#[component]
pub fn AlertsPage() -> impl IntoView {
    let events = expect_events();
    let location = use_location();
    let navigate = use_navigate();
    let param = move |key: &str| {
        parse_pairs(&location.search.get())
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    };
    let status = Memo::new(move |_| param("status").unwrap_or_else(|| "open".to_owned()));
    let severity = Memo::new(move |_| param("severity").unwrap_or_default());
    let set = move |key: &'static str, value: String| {
        let mut pairs: Vec<(String, String)> = vec![
            ("status".to_owned(), status.get_untracked()),
            ("severity".to_owned(), severity.get_untracked()),
        ];
        for p in pairs.iter_mut().filter(|p| p.0 == key) {
            p.1 = value.clone();
        }
        pairs.retain(|(_, v)| !v.is_empty());
        navigate(
            &format!("/alerts?{}", encode_pairs(&pairs)),
            NavigateOptions {
                replace: true,
                scroll: false,
                ..Default::default()
            },
        );
    };
    let set_status = set.clone();
    let alerts = LocalResource::new(move || {
        events.version.track();
        let s = status.get();
        api::get_alerts(
            String::new(),
            severity.get(),
            if s == "all" { String::new() } else { s },
        )
    });
    view! {
        <header class="page-header">
            <div>
                <h1>"Security alerts"</h1>
                <p class="muted">"Attacks on management ports that Defender for Cloud detected: who tried, how often, with which user names, and the rule that stops them."</p>
            </div>
        </header>
        <section class="card filter-bar" aria-label="Filters">
            {filter_select("Status", "alert-status-filter", status, set_status, "status", &[
                ("open", "Open (active, in progress)"),
                ("resolved", "Resolved"),
                ("dismissed", "Dismissed"),
                ("all", "All"),
            ])}
            {filter_select("Severity", "alert-severity-filter", severity, set, "severity", &[
                ("", "Any"),
                ("high", "High"),
                ("medium", "Medium"),
                ("low", "Low"),
            ])}
        </section>
        <Transition fallback=|| view! { <Loading what="the alerts" /> }>
            <ErrorBoundary fallback=move |errors| view! { <ErrorPanel what="the alerts" errors retry=Callback::new(move |_| alerts.refetch()) /> }>
                {move || Suspend::new(async move {
                    alerts.await.map(|list| {
                        let errors = list.errors.clone();
                        view! {
                            <p class="muted" data-testid="alert-count">{format!("{} alert(s) shown · {} open in all", list.alerts.len(), list.open)}</p>
                            {(!errors.is_empty()).then(|| view! {
                                <p class="warning-text" role="status">{format!("⚠ Some subscriptions could not be read: {}", errors.join("; "))}</p>
                            })}
                            {if list.alerts.is_empty() {
                                view! { <div class="card"><EmptyState title="No alert matches." hint="Open management ports draw attacks within hours; close them and their alerts resolve." /></div> }.into_any()
                            } else {
                                list.alerts.into_iter().map(|a| view! { <AlertCard alert=a show_vm=true /> }).collect_view().into_any()
                            }}
                        }
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

/// One labelled `<select>` of the filter bar: shows `value`, and on a change calls
/// `set(key, chosen value)`, which rewrites the URL.
fn filter_select(
    label: &'static str,
    test_id: &'static str,
    value: Memo<String>,
    set: impl Fn(&'static str, String) + 'static,
    key: &'static str,
    options: &'static [(&'static str, &'static str)],
) -> impl IntoView {
    view! {
        <label class="field">
            <span>{label}</span>
            <select data-testid=test_id prop:value=move || value.get()
                on:change=move |ev| set(key, event_target_value(&ev))>
                {options.iter().map(|(v, text)| view! { <option value=*v>{*text}</option> }).collect_view()}
            </select>
        </label>
    }
}
