use leptos::prelude::*;

/// The error state of a section: what failed, why, and a retry button.
#[component]
pub fn ErrorPanel(
    /// What was being loaded ("the posture").
    #[prop(into)]
    what: String,
    errors: ArcRwSignal<Errors>,
    /// Loads again.
    retry: Callback<()>,
) -> impl IntoView {
    view! {
        <div class="error-panel" role="alert" data-testid="error-panel">
            <p class="error-panel-title">
                <span aria-hidden="true">"⚠ "</span>
                <strong>{format!("Could not load {what}.")}</strong>
            </p>
            <ul>
                {move || {
                    errors
                        .get()
                        .into_iter()
                        .map(|(_, error)| view! { <li>{error.to_string()}</li> })
                        .collect_view()
                }}
            </ul>
            <button class="button" on:click=move |_| retry.run(()) data-testid="retry">
                "Retry"
            </button>
        </div>
    }
}
