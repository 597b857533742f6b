//! Step 1: the VMs to fix, from the list the wizard was opened with.
use super::{expect_wizard, Step};
use crate::components::{
    empty_state::EmptyState, error_panel::ErrorPanel, loading::Loading, vm_table::VmTable,
};
use leptos::prelude::*;
use portcullis_shared::api::RemediationKind;
use std::collections::HashSet;

/// The list with checkboxes (unhealthy VMs preselected) and the count selected.
#[component]
pub fn ChooseVmsStep() -> impl IntoView {
    let wizard = expect_wizard();
    let (candidates, selected, kind, step) =
        (wizard.candidates, wizard.selected, wizard.kind, wizard.step);
    let prefill_kind = wizard.prefill_kind;
    view! {
        <h2>"1. Choose the VMs to fix"</h2>
        <p class="muted">"Unhealthy VMs of the list you came from are selected. Change the selection as you need."</p>
        <Transition fallback=|| view! { <Loading what="the VMs" /> }>
            <ErrorBoundary fallback=move |errors| view! { <ErrorPanel what="the VMs" errors retry=Callback::new(move |_| candidates.refetch()) /> }>
                {move || Suspend::new(async move {
                    candidates.await.map(|p| if p.vms.items.is_empty() {
                        view! { <EmptyState title="No VM in this list." hint="Start from the VM table or the overview's cards." /> }.into_any()
                    } else {
                        view! {
                            {(p.vms.total > p.vms.items.len()).then(|| view! { <p class="warning-text">{format!("Showing the first {} of {} VMs.", p.vms.items.len(), p.vms.total)}</p> })}
                            <VmTable rows=p.vms.items selected />
                        }.into_any()
                    })
                })}
            </ErrorBoundary>
        </Transition>
        <div class="wizard-actions">
            <span data-testid="selected-count">{move || format!("{} selected", selected.with(HashSet::len))}</span>
            <button class="button button-primary" disabled=move || selected.with(HashSet::is_empty)
                on:click=move |_| {
                    // with a Bastion in a selected VM's VNet, removing Internet access is the first choice
                    let sel = selected.get_untracked();
                    let bastion = candidates.get_untracked().and_then(|p| p.ok()).is_some_and(|p| p.vms.items.iter().any(|r| sel.contains(&r.id) && r.bastion.is_some()));
                    if bastion && prefill_kind.is_none() {
                        kind.set(RemediationKind::DenyPorts);
                    }
                    step.set(Step::ChooseFix)
                } data-testid="wizard-next">"Next: choose the fix →"</button>
        </div>
    }
}
