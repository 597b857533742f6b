//! Step 4: the server's preview of the change, rule by rule, before anything is written.
use super::{expect_wizard, Step};
use crate::components::{loading::Loading, plan_review::PlanReview};
use leptos::prelude::*;

/// The preview (loading, its error with a retry, or the plan) and the button that applies it.
#[component]
pub fn ReviewStep() -> impl IntoView {
    let wizard = expect_wizard();
    let (plan, busy, step) = (wizard.plan, wizard.busy, wizard.step);
    view! {
        <h2>"4. Review: what will change"</h2>
        {move || match plan.get() {
            None => view! { <Loading what="the preview" /> }.into_any(),
            Some(Err(e)) => view! {
                <div class="error-panel" role="alert" data-testid="error-panel">
                    <p><strong>"⚠ Could not preview the change. "</strong>{e}</p>
                    <button class="button" on:click=move |_| wizard.load_preview() data-testid="retry">"Retry"</button>
                </div>
            }.into_any(),
            Some(Ok(p)) => view! { <PlanReview plan=p /> }.into_any(),
        }}
        <div class="wizard-actions">
            <button class="button" on:click=move |_| step.set(Step::Parameters)>"← Back"</button>
            <button class="button button-primary" data-testid="wizard-apply"
                disabled=move || busy.get() || !matches!(plan.get(), Some(Ok(ref p)) if !p.noop)
                on:click=move |_| wizard.run_apply()>"Apply these changes"</button>
        </div>
    }
}
