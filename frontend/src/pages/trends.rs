use crate::api;
use crate::components::{
    empty_state::EmptyState,
    error_panel::ErrorPanel,
    loading::Loading,
    trend_chart::{Series, TrendChart, PALETTE},
};
use crate::format::{date_time, parse_rfc3339};
use crate::query::{parse_pairs, parse_range, range_str};
use crate::state::expect_events;
use leptos::prelude::*;
use leptos_router::{
    hooks::{use_location, use_navigate},
    NavigateOptions,
};
use portcullis_shared::api::{History, HistoryPoint, HistoryQuery, HistoryRange};
use std::collections::HashSet;

const RANGES: [(HistoryRange, &str); 5] = [
    (HistoryRange::Days7, "7 days"),
    (HistoryRange::Days30, "30 days"),
    (HistoryRange::Days90, "90 days"),
    (HistoryRange::Year, "1 year"),
    (HistoryRange::All, "All"),
];

/// `/trends?range=30d`: the score and the healthy / unhealthy counts over time.
#[component]
pub fn TrendsPage() -> impl IntoView {
    let location = use_location();
    let navigate = use_navigate();
    let events = expect_events();
    let range = Memo::new(move |_| {
        parse_pairs(&location.search.get())
            .into_iter()
            .find(|(k, _)| k == "range")
            .and_then(|(_, v)| parse_range(&v))
            .unwrap_or(HistoryRange::Days30)
    });
    let history = LocalResource::new(move || {
        events.version.track();
        api::get_history(HistoryQuery {
            range: Some(range.get()),
            granularity: None,
        })
    });
    let hidden = RwSignal::new(HashSet::<String>::new());
    let retry = Callback::new(move |_| history.refetch());
    view! {
        <header class="page-header">
            <div>
                <h1>"Trends"</h1>
                <p class="muted">"Is the Secure management ports score going up?"</p>
            </div>
            <div class="segmented" role="group" aria-label="Range" data-testid="range-picker">
                {RANGES.into_iter().map(|(r, label)| {
                    let navigate = navigate.clone();
                    view! {
                        <button class="segmented-button" aria-pressed=move || (range.get() == r).to_string()
                            on:click=move |_| navigate(&format!("/trends?range={}", range_str(r)), NavigateOptions { replace: true, scroll: false, ..Default::default() })
                            data-testid=format!("range-{}", range_str(r))>{label}</button>
                    }
                }).collect_view()}
            </div>
        </header>
        <Transition fallback=|| view! { <Loading what="the history" /> }>
            <ErrorBoundary fallback=move |errors| view! { <ErrorPanel what="the history" errors retry /> }>
                {move || Suspend::new(async move { history.await.map(|h| view! { <TrendsBody history=h hidden /> }) })}
            </ErrorBoundary>
        </Transition>
    }
}

fn points(points: &[HistoryPoint], value: impl Fn(&HistoryPoint) -> f64) -> Vec<(f64, f64)> {
    points
        .iter()
        .filter_map(|p| Some((parse_rfc3339(&p.at)?, value(p))))
        .collect()
}

#[component]
fn TrendsBody(history: History, hidden: RwSignal<HashSet<String>>) -> impl IntoView {
    if history.points.is_empty() {
        return view! { <div class="card"><EmptyState title="No snapshots in this range yet." hint="Pick a longer range, or refresh the data." /></div> }.into_any();
    }
    let markers: Vec<f64> = history
        .markers
        .iter()
        .filter_map(|m| parse_rfc3339(&m.at))
        .collect();
    let subscriptions = history.subscriptions.clone();
    let control_points = history.points.clone();
    let score_chart = {
        let subscriptions = subscriptions.clone();
        let markers = markers.clone();
        move || {
            let hidden = hidden.get();
            let mut series = vec![Series {
                name: "All subscriptions".into(),
                color: PALETTE[0],
                dashed: false,
                points: points(&control_points, |p| p.current_score),
            }];
            for (i, s) in subscriptions.iter().enumerate() {
                if !hidden.contains(&s.subscription_id) {
                    series.push(Series {
                        name: s.display_name.clone(),
                        color: PALETTE[(i + 2) % PALETTE.len()],
                        dashed: true,
                        points: points(&s.points, |p| p.current_score),
                    });
                }
            }
            view! { <TrendChart title="Secure score (of 8 points)" series markers=markers.clone() y_max=8.0 y_label="Points" testid="score-chart" /> }
        }
    };
    let max_count = history
        .points
        .iter()
        .map(|p| p.healthy.max(p.unhealthy))
        .max()
        .unwrap_or(1) as f64;
    let counts_chart = view! {
        <TrendChart title="Healthy and unhealthy VMs" markers=markers.clone() y_max=max_count.max(1.0) y_label="VMs" integer_y=true testid="counts-chart"
            series=vec![
                Series { name: "✓ Healthy".into(), color: PALETTE[2], dashed: false, points: points(&history.points, |p| p.healthy as f64) },
                Series { name: "✕ Unhealthy".into(), color: PALETTE[1], dashed: true, points: points(&history.points, |p| p.unhealthy as f64) },
                Series { name: "⊕ Reachable from the Internet".into(), color: PALETTE[3], dashed: true, points: points(&history.points, |p| p.reachable_from_internet as f64) },
            ] />
    };
    view! {
        <section class="card">
            {(!subscriptions.is_empty()).then(|| view! {
                <fieldset class="series-toggles">
                    <legend>"Per-subscription lines"</legend>
                    {subscriptions.iter().map(|s| {
                        let id = s.subscription_id.clone();
                        let id2 = id.clone();
                        view! {
                            <label class="check">
                                <input type="checkbox" prop:checked=move || !hidden.with(|h| h.contains(&id))
                                    on:change=move |ev| { let c = event_target_checked(&ev); let id = id2.clone(); hidden.update(|h| { if c { h.remove(&id); } else { h.insert(id); } }) } />
                                {format!(" {}", s.display_name)}
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
            })}
            {score_chart}
        </section>
        <section class="card">{counts_chart}</section>
        <section class="card">
            <h2>"Changes in this range"</h2>
            {if history.markers.is_empty() {
                view! { <p class="muted">"No remediation or JIT change in this range."</p> }.into_any()
            } else {
                view! {
                    <ul class="marker-list" data-testid="markers">
                        {history.markers.into_iter().rev().map(|m| view! {
                            <li><span class="marker-when">{date_time(&m.at)}</span>" "<span class="tag">{m.kind}</span>" "{m.summary}{m.actor.map(|a| format!(" — {a}"))}</li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }.into_any()
}
