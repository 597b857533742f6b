use leptos::prelude::*;

/// The loading state of a section: a spinner and what is being loaded.
#[component]
pub fn Loading(#[prop(into)] what: String) -> impl IntoView {
    view! {
        <div class="loading" role="status" aria-live="polite" data-testid="loading">
            <span class="loading-spinner" aria-hidden="true"></span>
            <span>{format!("Loading {what}…")}</span>
        </div>
    }
}
