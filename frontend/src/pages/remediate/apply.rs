//! Step 5: the writes as the server reports them, then the outcome and the posture after it.
use super::expect_wizard;
use crate::api;
use crate::components::score_gauge::ScoreGauge;
use crate::state::EventsContext;
use leptos::prelude::*;
use leptos_router::components::A;
use portcullis_shared::api::{ApplyOutcome, ApplyResult, RemediationPlan, StepOutcome, VmFilter};

/// One line per write (pending while the request runs), then outcomes and the new score.
#[component]
pub fn ApplyStep() -> impl IntoView {
    let wizard = expect_wizard();
    let (plan, result, busy, events) = (wizard.plan, wizard.result, wizard.busy, wizard.events);
    let posture = LocalResource::new(move || {
        let done = result.with(|r| matches!(r, Some(Ok(_))));
        async move {
            if done {
                api::get_posture(VmFilter {
                    per_page: Some(1),
                    ..Default::default()
                })
                .await
                .map(Some)
            } else {
                Ok(None)
            }
        }
    });
    view! {
        <h2>"5. Apply"</h2>
        <div data-testid="apply-progress">
            {move || busy.get().then(|| view! {
                <ul class="apply-steps" data-testid="apply-live" aria-live="polite">
                    {plan.with(write_targets).into_iter().map(|(id, label)| live_step(events, &id, label)).collect_view()}
                </ul>
            })}
            {move || result.get().map(|r| match r {
                Err(e) => view! {
                    <div class="error-panel" role="alert"><p><strong>"⚠ The change was not applied. "</strong>{e}</p>
                    <p class="muted">"Nothing was left half-done: the server rolls back earlier steps when one fails."</p></div>
                }.into_any(),
                Ok(r) => outcome(r),
            })}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match posture.await {
                        Ok(Some(p)) => view! {
                            <section class="applied-posture" data-testid="applied-posture">
                                <h3>"Posture now"</h3>
                                <ScoreGauge score=p.control />
                                <p><A href="/">"Back to the overview"</A>" · "<A href="/vms">"Virtual machines"</A></p>
                            </section>
                        }.into_any(),
                        Ok(None) => ().into_any(),
                        Err(e) => view! { <p class="warning-text">{format!("⚠ Could not read the posture after the change: {e}")}</p> }.into_any(),
                    }
                })}
            </Transition>
        </div>
    }
}

/// (resource id, label) of every planned write, in the order they are applied.
fn write_targets(plan: &Option<Result<RemediationPlan, String>>) -> Vec<(String, String)> {
    match plan {
        Some(Ok(p)) => p
            .nsg_changes
            .iter()
            .map(|c| (c.nsg_id.clone(), format!("NSG {}", c.nsg_name)))
            .chain(
                p.nic_changes
                    .iter()
                    .map(|c| (c.nic_id.clone(), format!("NIC {}", c.nic_name))),
            )
            .chain(p.jit_policies.iter().map(|c| {
                (
                    c.policy_id.clone(),
                    format!("JIT policy {}", crate::format::arm_name(&c.policy_id)),
                )
            }))
            .chain(
                p.firewall_changes
                    .iter()
                    .map(|c| (c.target_id.clone(), format!("Firewall rules {}", c.name))),
            )
            .collect(),
        _ => Vec::new(),
    }
}

/// A write while the apply runs: writing, or what the server reported for it.
fn live_step(events: EventsContext, id: &str, label: String) -> AnyView {
    let done = events.apply_steps.with(|steps| {
        steps
            .iter()
            .find(|s| s.target.eq_ignore_ascii_case(id))
            .map(|s| s.outcome)
    });
    match done {
        None => view! { <li><span class="loading-spinner" aria-hidden="true"></span>" "{label}": writing…"</li> }.into_any(),
        Some(outcome) => {
            let (icon, word) = match outcome {
                StepOutcome::Applied => ("✓", "written"),
                StepOutcome::Unchanged => ("=", "unchanged"),
                StepOutcome::Failed => ("✕", "failed"),
                StepOutcome::RolledBack => ("↺", "rolled back"),
                StepOutcome::RollbackFailed => ("⚠", "rollback failed"),
                StepOutcome::Skipped => ("–", "skipped"),
            };
            view! { <li data-testid="apply-live-step"><span aria-hidden="true">{icon}</span>" "{label}": "{word}</li> }.into_any()
        }
    }
}

/// The apply's outcome, every step's, the re-plans and the audit entry.
fn outcome(r: ApplyResult) -> AnyView {
    let (text, class) = match r.outcome {
        ApplyOutcome::Applied => ("✓ Applied", "ok-text"),
        ApplyOutcome::Noop => ("✓ Nothing needed", "ok-text"),
        ApplyOutcome::RolledBack => (
            "⚠ A step failed; earlier steps were rolled back",
            "warning-text",
        ),
        ApplyOutcome::Failed => ("✕ A step failed and a rollback failed too", "warning-text"),
    };
    view! {
        <p class=class data-testid="apply-outcome">{text}</p>
        <ul class="apply-steps" data-testid="apply-steps">
            {r.steps.into_iter().map(|s| {
                let (icon, word) = match s.outcome {
                    StepOutcome::Applied => ("✓", "applied"),
                    StepOutcome::Unchanged => ("=", "unchanged"),
                    StepOutcome::Failed => ("✕", "failed"),
                    StepOutcome::RolledBack => ("↶", "rolled back"),
                    StepOutcome::RollbackFailed => ("✕", "rollback failed"),
                    StepOutcome::Skipped => ("–", "skipped"),
                };
                view! { <li>{format!("{icon} {} {}: {word}", s.target_kind, crate::format::arm_name(&s.target))}{s.message.map(|m| format!(" — {m}"))}</li> }
            }).collect_view()}
        </ul>
        {(r.replans > 0).then(|| view! { <p class="muted">{format!("Re-planned {} time(s) after a concurrent change.", r.replans)}</p> })}
        <p class="muted">{format!("Audit entry #{}", r.audit_seq)}</p>
    }.into_any()
}
