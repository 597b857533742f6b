use leptos::prelude::*;

/// Any path without a route.
#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <section class="card not-found" data-testid="not-found">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address."</p>
            <a href="/">"Back to the overview"</a>
        </section>
    }
}
