use leptos::prelude::*;

/// Nothing to show: a short sentence and an optional hint.
#[component]
pub fn EmptyState(
    #[prop(into)] title: String,
    #[prop(optional, into)] hint: Option<String>,
) -> impl IntoView {
    view! {
        <div class="empty-state" data-testid="empty-state">
            <p class="empty-state-title">{title}</p>
            {hint.map(|hint| view! { <p class="muted">{hint}</p> })}
        </div>
    }
}
