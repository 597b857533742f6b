use crate::state::expect_auth;
use leptos::prelude::*;
use leptos_router::components::A;
use portcullis_shared::api::Role;

/// The left navigation. `A` marks the current page with `aria-current="page"`.
#[component]
pub fn AppNav() -> impl IntoView {
    let auth = expect_auth();
    view! {
        <nav class="app-nav" aria-label="Main">
            <A href="/" exact=true attr:data-testid="nav-overview"><span aria-hidden="true">"◎"</span>" Overview"</A>
            <A href="/vms" attr:data-testid="nav-vms"><span aria-hidden="true">"▤"</span>" Virtual machines"</A>
            <A href="/trends" attr:data-testid="nav-trends"><span aria-hidden="true">"↗"</span>" Trends"</A>
            <A href="/jit" attr:data-testid="nav-jit"><span aria-hidden="true">"◷"</span>" Just-in-time"</A>
            <A href="/alerts" attr:data-testid="nav-alerts"><span aria-hidden="true">"⚑"</span>" Alerts"</A>
            {move || auth.can_fix().then(|| view! {
                <A href="/remediate" attr:data-testid="nav-remediate"><span aria-hidden="true">"⚙"</span>" Remediate"</A>
            })}
            {move || auth.has_role(Role::Admin).then(|| view! {
                <A href="/audit" attr:data-testid="nav-audit"><span aria-hidden="true">"☰"</span>" Audit log"</A>
            })}
        </nav>
    }
}
