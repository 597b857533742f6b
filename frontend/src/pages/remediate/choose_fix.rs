//! Step 2: the fix, each with what it does and its trade-off.
use super::{expect_wizard, fix_explanation, Step};
use leptos::prelude::*;
use portcullis_shared::api::RemediationKind;
use portcullis_shared::eval::report::PathKind;

/// One radio card per fix; with a Bastion serving a selected VM's VNet, removing Internet
/// access comes first; before it JIT when a selected VM is reached through an application
/// gateway, and before that narrowing the DNAT rule when one is reached through a firewall (no
/// NSG rule edit closes either path).
#[component]
pub fn ChooseFixStep() -> impl IntoView {
    let wizard = expect_wizard();
    let (candidates, selected, kind, step) =
        (wizard.candidates, wizard.selected, wizard.kind, wizard.step);
    view! {
        <h2>"2. Choose the fix"</h2>
        <div class="fix-options" role="radiogroup" aria-label="Fix">
            {move || {
            // a Bastion serving a selected VM's VNet: removing Internet access comes first
            let bastion = candidates.get().and_then(|p| p.ok()).and_then(|p| {
                let sel = selected.get_untracked();
                p.vms.items.iter().filter(|r| sel.contains(&r.id)).find_map(|r| r.bastion.clone())
            });
            // a selected VM reached through a firewall DNAT rule: no NSG fix closes that path (the
            // firewall replaces the client's address), so narrowing the rule comes first of all
            let dnat = candidates.get().and_then(|p| p.ok()).is_some_and(|p| {
                let sel = selected.get_untracked();
                p.vms.items.iter().any(|r| sel.contains(&r.id) && r.paths.contains(&PathKind::FirewallDnat))
            });
            // a selected VM reached through an application gateway's TCP proxy: the NSG fixes
            // see the gateway, not the client; JIT's Deny from every source closes that path
            let gateway = candidates.get().and_then(|p| p.ok()).is_some_and(|p| {
                let sel = selected.get_untracked();
                p.vms.items.iter().any(|r| sel.contains(&r.id) && r.paths.contains(&PathKind::ApplicationGateway))
            });
            let mut kinds = vec![RemediationKind::EnableJit, RemediationKind::RestrictSources, RemediationKind::DenyPorts, RemediationKind::NarrowDnat, RemediationKind::AttachNsg, RemediationKind::EnforceRule];
            if bastion.is_some() {
                kinds.retain(|k| *k != RemediationKind::DenyPorts);
                kinds.insert(0, RemediationKind::DenyPorts);
            }
            if gateway {
                kinds.retain(|k| *k != RemediationKind::EnableJit);
                kinds.insert(0, RemediationKind::EnableJit);
            }
            if dnat {
                kinds.retain(|k| *k != RemediationKind::NarrowDnat);
                kinds.insert(0, RemediationKind::NarrowDnat);
            }
            kinds.into_iter().map(|k| {
                let (title, what, tradeoff) = fix_explanation(k);
                let title = match (&bastion, k) {
                    (Some(b), RemediationKind::DenyPorts) => format!("Remove Internet access, use Bastion {b}"),
                    _ => title.to_owned(),
                };
                view! {
                    <label class="fix-option" class:fix-option-selected=move || kind.get() == k data-testid=format!("fix-{}", k.as_str())>
                        <input type="radio" name="fix" prop:checked=move || kind.get() == k on:change=move |_| kind.set(k) />
                        <span class="fix-option-title">{title}</span>
                        <span class="fix-option-what">{what}</span>
                        <span class="fix-option-tradeoff"><strong>"Trade-off: "</strong>{tradeoff}</span>
                    </label>
                }
            }).collect_view()
            }}
        </div>
        <div class="wizard-actions">
            <button class="button" on:click=move |_| step.set(Step::ChooseVms)>"← Back"</button>
            <button class="button button-primary" on:click=move |_| step.set(Step::Parameters) data-testid="wizard-next">"Next: parameters →"</button>
        </div>
    }
}
