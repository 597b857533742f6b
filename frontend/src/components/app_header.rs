use leptos::prelude::*;

/// The bar at the top of every page.
#[component]
pub fn AppHeader() -> impl IntoView {
    view! {
        <header class="app-header">
            <a class="app-header-brand" href="/" data-testid="app-title">
                <img class="app-header-logo" src="/favicon.svg" alt="" width="28" height="28" />
                <span>"Portcullis"</span>
            </a>
            <span class="app-header-tagline">"Secure management ports for Azure VMs"</span>
        </header>
    }
}
