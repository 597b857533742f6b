use crate::api::ApiError;
use crate::components::{
    empty_state::EmptyState, error_panel::ErrorPanel, loading::Loading,
    recommendation_card::RecommendationCard, refresh_button::RefreshButton,
    score_gauge::ScoreGauge, sparkline::Sparkline, vm_table::VmTable,
};
use crate::{api, format::count, state::expect_events};
use leptos::prelude::*;
use leptos_router::components::A;
use portcullis_shared::api::{
    History, HistoryQuery, HistoryRange, Posture, SortOrder, VmFilter, VmSort,
};

/// `/`: the control's score, its three recommendations, what is reachable from the Internet,
/// the trend, and the worst exposures.
#[component]
pub fn Overview() -> impl IntoView {
    let events = expect_events();
    let posture = LocalResource::new(move || {
        events.version.track();
        api::get_posture(VmFilter {
            sort: Some(VmSort::Exposure),
            order: Some(SortOrder::Desc),
            per_page: Some(8),
            ..Default::default()
        })
    });
    let history = LocalResource::new(move || {
        events.version.track();
        api::get_history(HistoryQuery {
            range: Some(HistoryRange::Days30),
            granularity: None,
        })
    });
    let retry = Callback::new(move |_| posture.refetch());
    view! {
        <header class="page-header">
            <div>
                <h1>"Secure management ports"</h1>
                <p class="muted">"SSH 22, RDP 3389 and WinRM 5985/5986 of your Azure VMs, from their NSG rules."</p>
            </div>
        </header>
        <Transition fallback=|| view! { <Loading what="the posture" /> }>
            <ErrorBoundary fallback=move |errors| view! { <ErrorPanel what="the posture" errors retry /> }>
                {move || Suspend::new(async move { posture.await.map(move |p| overview_body(p, history)) })}
            </ErrorBoundary>
        </Transition>
    }
}

/// The page's body, rebuilt whenever the posture is refetched. `history` lives with the page:
/// a body awaiting a resource of its own would wake up after that resource was disposed.
fn overview_body(
    posture: Posture,
    history: LocalResource<Result<History, ApiError>>,
) -> impl IntoView {
    let counts = posture.counts.clone();
    let worst: Vec<_> = posture
        .vms
        .items
        .iter()
        .filter(|vm| vm.worst_state.rank() >= 2)
        .cloned()
        .collect();
    view! {
        <div class="overview" data-testid="overview">
            <RefreshButton refreshed_at=posture.refreshed_at.clone() refreshing=posture.refreshing />
            <div class="overview-top">
                <section class="card overview-score" aria-labelledby="score-title">
                    <h2 id="score-title">"Secure score"</h2>
                    <ScoreGauge score=posture.control.clone() />
                    <p class="muted overview-score-note">
                        {format!("{} healthy, {} unhealthy, {} not applicable of {} VMs",
                            count(counts.healthy), count(counts.unhealthy), count(counts.not_applicable), count(counts.vms))}
                    </p>
                </section>
                <section class="card overview-reach" aria-labelledby="reach-title">
                    <h2 id="reach-title">"Reachable from the Internet"</h2>
                    <A href="/vms?reachable=true&sort=exposure&order=desc" attr:class="big-number-link" attr:data-testid="reachable-count">
                        <span class="big-number" class:big-number-bad={counts.reachable_from_internet > 0}>
                            {count(counts.reachable_from_internet)}
                        </span>
                        <span class="big-number-label">
                            <span aria-hidden="true">{if counts.reachable_from_internet > 0 { "⊕ " } else { "✓ " }}</span>
                            {if counts.reachable_from_internet == 1 { "VM with a management port reachable" } else { "VMs with management ports reachable" }}
                        </span>
                    </A>
                    <ul class="fact-list" data-testid="reachable-by-path">
                        {portcullis_shared::eval::report::PathKind::ALL.into_iter().filter(|k| counts.reachable_by_path.get(*k) > 0).map(|k| {
                            let n = counts.reachable_by_path.get(k);
                            view! { <li><A href=format!("/vms?path={}&sort=exposure&order=desc", k.as_str()) attr:data-testid=format!("reachable-{}", k.as_str())>{format!("{} through {}", count(n), crate::format::path_kind_phrase(k))}</A></li> }
                        }).collect_view()}
                    </ul>
                    <ul class="fact-list">
                        <li>{format!("{} with a port open to the Internet", count(counts.with_open_ports))}</li>
                        <li>{format!("{} covered by a JIT policy", count(counts.jit_protected))}</li>
                        <li>{format!("{} JIT access requests active", count(counts.active_jit_requests))}</li>
                        <OpenAlertsFact />
                    </ul>
                </section>
                <section class="card overview-trend" aria-labelledby="trend-title">
                    <h2 id="trend-title">"Last 30 days"</h2>
                    <Transition fallback=|| view! { <Loading what="the trend" /> }>
                        <ErrorBoundary fallback=move |errors| view! { <ErrorPanel what="the trend" errors retry=Callback::new(move |_| history.refetch()) /> }>
                            {move || Suspend::new(async move {
                                history.await.map(|history| {
                                    let values: Vec<f64> = history.points.iter().map(|p| p.current_score).collect();
                                    if values.is_empty() {
                                        view! { <EmptyState title="No history yet" hint="Snapshots appear here as the data is read." /> }.into_any()
                                    } else {
                                        view! { <Sparkline values max=8.0 label="Score over 30 days" /> <A href="/trends">"See trends →"</A> }.into_any()
                                    }
                                })
                            })}
                        </ErrorBoundary>
                    </Transition>
                </section>
            </div>
            <section class="overview-recommendations" aria-labelledby="recs-title">
                <h2 id="recs-title">"Recommendations"</h2>
                <div class="card-grid">
                    {posture.recommendations.into_iter().map(|summary| view! { <RecommendationCard summary /> }).collect_view()}
                </div>
            </section>
            <section class="card" aria-labelledby="worst-title">
                <div class="section-header">
                    <h2 id="worst-title">"Worst exposures"</h2>
                    <A href="/vms?sort=exposure&order=desc">"All VMs →"</A>
                </div>
                {if worst.is_empty() {
                    view! { <EmptyState title="No management port is open or restricted to public sources." hint="Nothing to fix here." /> }.into_any()
                } else {
                    view! { <VmTable rows=worst /> }.into_any()
                }}
            </section>
            {(!posture.warnings.is_empty()).then(|| view! {
                <details class="card warnings">
                    <summary>{format!("⚠ {} warnings from the evaluation", posture.warnings.len())}</summary>
                    <ul>{posture.warnings.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}</ul>
                </details>
            })}
        </div>
    }
}

/// "N open security alerts (M high)", linking to the Alerts page; read after the posture so the
/// score is never held up by it.
#[component]
fn OpenAlertsFact() -> impl IntoView {
    let events = expect_events();
    let alerts = LocalResource::new(move || {
        events.version.track();
        api::get_alerts(String::new(), String::new(), "open".to_owned())
    });
    // A Suspense of its own: read inside the overview's Transition, the alerts (thousands in a
    // large tenant, seconds to read) would hold back the whole overview, score included.
    let fact = move || match alerts.get() {
        Some(Ok(list)) => {
            let high = list
                .alerts
                .iter()
                .filter(|a| a.severity.eq_ignore_ascii_case("high"))
                .count();
            let text = match list.open {
                0 => "✓ No open security alert".to_owned(),
                1 => format!("⚑ 1 open security alert ({high} high)"),
                n => format!("⚑ {} open security alerts ({} high)", count(n), count(high)),
            };
            view! { <li><A href="/alerts" attr:data-testid="open-alerts">{text}</A></li> }
                .into_any()
        }
        Some(Err(e)) => {
            view! { <li class="warning-text">{format!("⚠ Alerts unavailable: {e}")}</li> }
                .into_any()
        }
        None => reading_alerts().into_any(),
    };
    view! { <Suspense fallback=reading_alerts>{fact}</Suspense> }
}

fn reading_alerts() -> impl IntoView {
    view! { <li class="muted">"Reading alerts…"</li> }
}
