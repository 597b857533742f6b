use crate::components::{
    rule_diff::RuleDiffView, score_gauge::ScoreGauge, status_badge::StatusBadge,
};
use crate::format::{gauge_text, score_delta, state_label};
use leptos::prelude::*;
use portcullis_shared::api::RemediationPlan;

/// A remediation plan as the wizard's review step shows it: predicted score and statuses, the
/// browser's own check of the prediction, and the rule diff of every NSG.
#[component]
pub fn PlanReview(plan: RemediationPlan) -> impl IntoView {
    let server_plan = plan.clone();
    let browser = LocalResource::new(move || {
        let request = server_plan.request.clone();
        async move { crate::whatif::plan_in_browser(&request).await }
    });
    let plan_for_check = plan.clone();
    let check = move || {
        let server_plan = plan_for_check.clone();
        browser.get().map(|result| match result {
            Ok(mine) => {
                let differences = crate::whatif::disagreements(&server_plan, &mine);
                if differences.is_empty() {
                    view! {
                        <p class="ok-text" data-testid="whatif-agree">
                            {format!("✓ The browser's own engine predicts the same: {} → {} points, same statuses and rule changes.",
                                crate::format::score_number(mine.before.current_score), crate::format::score_number(mine.after.current_score))}
                        </p>
                    }.into_any()
                } else {
                    view! {
                        <div class="warning-text" data-testid="whatif-disagree">
                            <p>"⚠ The browser's engine disagrees with the server's preview (the data may have changed since the last snapshot):"</p>
                            <ul>{differences.into_iter().map(|d| view! { <li>{d}</li> }).collect_view()}</ul>
                        </div>
                    }.into_any()
                }
            }
            Err(e) => view! { <p class="muted" data-testid="whatif-error">{format!("The browser could not compute its own preview: {e}")}</p> }.into_any(),
        })
    };
    let before = plan.before.clone();
    let after = plan.after.clone();
    view! {
        <div class="plan-review" data-testid="plan-review">
            {plan.noop.then(|| view! { <p class="ok-text" data-testid="plan-noop">"✓ Nothing to change: every selected VM already satisfies this fix."</p> })}
            <div class="score-compare">
                <div><h3>"Now"</h3><ScoreGauge score=before.clone() /></div>
                <div class="score-compare-arrow" aria-hidden="true">"→"</div>
                <div><h3>"Predicted"</h3><ScoreGauge score=after.clone() /></div>
                <p class="score-compare-delta" data-testid="score-delta">
                    {format!("{} → {} ({} points)", gauge_text(&before), gauge_text(&after), score_delta(before.current_score, after.current_score))}
                </p>
            </div>
            <div class="whatif" data-testid="whatif">
                {move || check().unwrap_or_else(|| view! { <p class="muted">"Checking the preview with the browser's own engine…"</p> }.into_any())}
            </div>
            <h3>"Changes per NSG"</h3>
            {if plan.nsg_changes.is_empty() {
                view! { <p class="muted">"No NSG rule changes."</p> }.into_any()
            } else {
                plan.nsg_changes.into_iter().map(|change| view! { <RuleDiffView change /> }).collect_view().into_any()
            }}
            {(!plan.nic_changes.is_empty()).then(|| view! {
                <h3>"NSG attachments"</h3>
                <ul>{plan.nic_changes.into_iter().map(|c| view! { <li>{format!("NIC {}: {} → {}", c.nic_name, c.nsg_before.as_deref().map(crate::format::arm_name).unwrap_or("no NSG"), crate::format::arm_name(&c.nsg_after))}</li> }).collect_view()}</ul>
            })}
            {(!plan.firewall_changes.is_empty()).then(|| view! {
                <h3>"Firewall DNAT rules"</h3>
                <ul data-testid="firewall-changes">{plan.firewall_changes.into_iter().flat_map(|c| c.diff.into_iter().map(move |d| {
                    let class = match d.change {
                        portcullis_shared::api::RuleChangeKind::Removed => "diff-removed",
                        portcullis_shared::api::RuleChangeKind::Added => "diff-added",
                        portcullis_shared::api::RuleChangeKind::Changed => "diff-changed",
                    };
                    view! { <li class=class data-testid="firewall-change">{d.summary}<span class="muted small">{format!(" ({}, If-Match {})", c.name, c.etag.clone().unwrap_or_default())}</span></li> }
                })).collect_view()}</ul>
            })}
            {(!plan.jit_policies.is_empty()).then(|| view! {
                <h3>"JIT policies"</h3>
                <ul data-testid="jit-policy-changes">{plan.jit_policies.into_iter().map(|c| view! {
                    <li>{format!("{} {}", if c.before.is_some() { "Update" } else { "Create" }, crate::format::arm_name(&c.policy_id))}</li>
                }).collect_view()}</ul>
            })}
            <h3>"Predicted per VM"</h3>
            <div class="table-scroll">
                <table class="simple-table" data-testid="predictions">
                    <thead><tr><th scope="col">"VM"</th><th scope="col">"Before"</th><th scope="col">"After"</th><th scope="col">"Ports"</th></tr></thead>
                    <tbody>
                        {plan.vms.into_iter().map(|vm| view! {
                            <tr>
                                <td>{vm.name.clone()}</td>
                                <td><StatusBadge status=vm.before /></td>
                                <td><StatusBadge status=vm.after /></td>
                                <td>{vm.ports.iter().filter(|p| p.before != p.after || p.reachable_before != p.reachable_after).map(|p| {
                                    let reach = match (p.reachable_before, p.reachable_after) {
                                        (true, false) => ", no longer reachable from the Internet",
                                        (false, true) => ", reachable from the Internet",
                                        _ => "",
                                    };
                                    format!("{} {} → {}{reach}", p.port, state_label(p.before).0.to_lowercase(), state_label(p.after).0.to_lowercase())
                                }).collect::<Vec<_>>().join("; ")}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            {(!plan.warnings.is_empty()).then(|| view! {
                <ul class="warnings">{plan.warnings.into_iter().map(|w| view! { <li class="warning-text">{format!("⚠ {w}")}</li> }).collect_view()}</ul>
            })}
        </div>
    }
}
