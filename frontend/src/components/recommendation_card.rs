use crate::format::recommendation_short;
use leptos::prelude::*;
use leptos_router::components::A;
use portcullis_shared::eval::report::RecommendationSummary;

/// One recommendation: its healthy / unhealthy / not applicable counts, each linking to the VM
/// table filtered to it.
#[component]
pub fn RecommendationCard(summary: RecommendationSummary) -> impl IntoView {
    let key = summary.key.as_str();
    let link =
        move |status: &str| format!("/vms?recommendation={key}&recommendationStatus={status}");
    let unhealthy = summary.unhealthy;
    view! {
        <article class="recommendation-card" class:recommendation-card-bad={unhealthy > 0} data-testid=format!("rec-{key}")>
            <header>
                <span class="recommendation-card-severity" title="Severity">{summary.severity.clone()}</span>
                <h3 title=summary.display_name.clone()>{recommendation_short(summary.key)}</h3>
            </header>
            <dl class="recommendation-card-counts">
                <A href=link("unhealthy") attr:class="count count-unhealthy" attr:data-testid=format!("rec-{key}-unhealthy")>
                    <dt><span aria-hidden="true">"✕\u{a0}"</span>"Unhealthy"</dt>
                    <dd>{summary.unhealthy}</dd>
                </A>
                <A href=link("healthy") attr:class="count count-healthy">
                    <dt><span aria-hidden="true">"✓\u{a0}"</span>"Healthy"</dt>
                    <dd>{summary.healthy}</dd>
                </A>
                <A href=link("notApplicable") attr:class="count count-na">
                    <dt><span aria-hidden="true">"–\u{a0}"</span>"Not applicable"</dt>
                    <dd>{summary.not_applicable}</dd>
                </A>
            </dl>
        </article>
    }
}
