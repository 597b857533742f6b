use crate::api;
use crate::components::{
    empty_state::EmptyState, error_panel::ErrorPanel, loading::Loading, rule_diff::RuleDiffView,
    score_gauge::ScoreGauge, status_badge::StatusBadge, vm_table::VmTable,
};
use crate::format::{
    gauge_text, iso_duration, minutes, port_name, score_delta, state_label, validate_source,
};
use crate::query::{self, filter_from_pairs, parse_pairs};
use crate::state::{expect_auth, expect_events};
use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_location};
use portcullis_shared::api::{
    ApplyOutcome, ApplyResult, RemediationKind, RemediationParams, RemediationPlan,
    RemediationRequest, StepOutcome, VmFilter,
};
use portcullis_shared::eval::Status;
use std::collections::{BTreeSet, HashSet};

const MANAGEMENT_PORTS: [u16; 4] = [22, 3389, 5985, 5986];

/// The five steps of the wizard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    ChooseVms = 1,
    ChooseFix = 2,
    Parameters = 3,
    Review = 4,
    Apply = 5,
}

impl Step {
    const ALL: [Step; 5] = [
        Step::ChooseVms,
        Step::ChooseFix,
        Step::Parameters,
        Step::Review,
        Step::Apply,
    ];

    fn title(self) -> &'static str {
        match self {
            Step::ChooseVms => "Choose VMs",
            Step::ChooseFix => "Choose the fix",
            Step::Parameters => "Parameters",
            Step::Review => "Review",
            Step::Apply => "Apply",
        }
    }
}

/// What each fix does, and when another design is better.
pub fn fix_explanation(kind: RemediationKind) -> (&'static str, &'static str, &'static str) {
    match kind {
        RemediationKind::EnableJit => (
            "Enable just-in-time access",
            "A JIT policy denies the management ports to everyone; operators request access for their own address, for a limited time, and the allow rule is removed at expiry. Older permissive rules above the JIT deny are removed or narrowed in the same change, or the port would stay open.",
            "Best when people need occasional direct access. Every session needs a request (and Defender for Servers plan 2 in real Azure).",
        ),
        RemediationKind::RestrictSources => (
            "Restrict sources",
            "The rules that let the Internet reach the ports are narrowed to the addresses you give (an office range, a VPN egress).",
            "Simple and permanent, but anyone behind those addresses can reach the ports at any time. Prefer JIT or a bastion when the addresses are broad or shared.",
        ),
        RemediationKind::DenyPorts => (
            "Deny the ports",
            "The management ports are removed from the permissive rules (multi-port rules are split), so nothing from the Internet reaches them.",
            "Safest, but also blocks your own direct access. Reach the VMs through Azure Bastion (no public management ports at all) or a VPN, or publish a port through Azure Firewall DNAT with its own source rules when a few partners need it.",
        ),
        RemediationKind::EnforceRule => (
            "Enforce rule",
            "The answer to an attack: the rules that let the Internet reach the ports are narrowed to the legitimate sources seen in the traffic (and your trusted ranges), and an explicit Deny from the Internet is added below them.",
            "Stops the attackers at once and keeps the owners' access, but only from the addresses listed: a new office or home address will be refused. JIT access or Azure Bastion remove the public port altogether.",
        ),
        RemediationKind::NarrowDnat => (
            "Narrow or remove the firewall DNAT rule",
            "An Azure Firewall DNAT rule forwards a public port to the VM. The firewall rewrites the client's address to its own, so no NSG change can close that path: the DNAT rule itself is narrowed to the addresses you give, or removed when you give none (If-Match on the firewall or its policy's rule collection group).",
            "Closes the way in at the firewall for every VM behind that rule. Azure Bastion, where the VNet has one, needs no public port at all.",
        ),
        RemediationKind::AttachNsg => (
            "Attach an NSG",
            "Internet-facing NICs without any NSG get a new NSG that admits only the ports you keep open (e.g. 443) and, optionally, management from your addresses.",
            "Fixes 'protected by NSG' for VMs with none. A subnet NSG shared by the workload may be the better long-term home for the rules.",
        ),
    }
}

/// `/remediate`: choose VMs → fix → parameters → review (preview) → apply. Nothing is written
/// before the last step.
#[component]
pub fn RemediatePage() -> impl IntoView {
    let auth = expect_auth();
    view! {
        <header class="page-header">
            <div>
                <h1>"Remediation wizard"</h1>
                <p class="muted">"Every change is previewed, rule by rule, before anything is written."</p>
            </div>
        </header>
        {move || if auth.can_fix() {
            view! { <Wizard /> }.into_any()
        } else {
            view! {
                <div class="card" data-testid="not-allowed">
                    <EmptyState title="Your role can read the posture but not change it." hint="Ask an operator to apply fixes." />
                </div>
            }.into_any()
        }}
    }
}

#[component]
fn Wizard() -> impl IntoView {
    let location = use_location();
    let events = expect_events();
    // Step 1's list: the filter in the URL (default: unhealthy VMs), and `vm=` ids preselected.
    let initial = location.search.get_untracked();
    let pairs = parse_pairs(&initial);
    let preselect: HashSet<String> = pairs
        .iter()
        .filter(|(k, _)| k == "vm")
        .map(|(_, v)| v.clone())
        .collect();
    // "Enforce rule" from an alert: `fix=`, `port=` and `source=` prefill the wizard.
    let prefill_kind = pairs.iter().find(|(k, _)| k == "fix").and_then(|(_, v)| {
        serde_json::from_value::<RemediationKind>(serde_json::Value::String(v.clone())).ok()
    });
    let prefill_ports: BTreeSet<u16> = pairs
        .iter()
        .filter(|(k, _)| k == "port")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let prefill_sources: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "source")
        .map(|(_, v)| v.clone())
        .collect();
    let mut filter = filter_from_pairs(
        pairs
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "fix" | "port" | "source"))
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    if filter == VmFilter::default() {
        filter.status = Some(Status::Unhealthy);
    }
    let from_filter = preselect.is_empty();
    filter.per_page = Some(500);
    filter.page = None;
    let list_filter = filter.clone();

    let prefilled = prefill_kind.is_some() && !preselect.is_empty();
    let step = RwSignal::new(if prefilled {
        Step::Parameters
    } else {
        Step::ChooseVms
    });
    let selected = RwSignal::new(preselect.clone());
    let kind = RwSignal::new(prefill_kind.unwrap_or(RemediationKind::EnableJit));
    let ports = RwSignal::new(prefill_ports); // empty = every port that needs it
    let jit_minutes = RwSignal::new(180u32);
    let sources_text = RwSignal::new(prefill_sources.join(", "));
    let allow_ports_text = RwSignal::new(String::from("443"));
    let plan = RwSignal::new(None::<Result<RemediationPlan, String>>);
    let result = RwSignal::new(None::<Result<ApplyResult, String>>);
    let busy = RwSignal::new(false);

    let candidates = LocalResource::new(move || api::get_posture(list_filter.clone()));
    // Preselect the whole list when the wizard starts from a filtered list.
    Effect::new(move |done: Option<bool>| {
        if done == Some(true) || !from_filter {
            return true;
        }
        match candidates.get() {
            Some(Ok(p)) => {
                selected.set(
                    p.vms
                        .items
                        .iter()
                        .filter(|v| v.status == Status::Unhealthy)
                        .map(|v| v.id.clone())
                        .collect(),
                );
                true
            }
            _ => false,
        }
    });

    let sources = move || -> Vec<String> {
        sources_text
            .get()
            .split([',', '\n', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let source_errors = move || -> Vec<String> {
        sources()
            .iter()
            .filter_map(|s| validate_source(s).err())
            .collect()
    };
    let allow_ports = move || -> Result<Vec<u16>, String> {
        allow_ports_text
            .get()
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("{s} is not a port (1–65535)"))
            })
            .collect()
    };
    let param_errors = move || -> Vec<String> {
        let mut errors = Vec::new();
        match kind.get() {
            RemediationKind::RestrictSources => {
                if sources().is_empty() {
                    errors.push("Enter at least one address or CIDR.".to_owned());
                }
                errors.extend(source_errors());
            }
            RemediationKind::AttachNsg => {
                errors.extend(source_errors());
                if let Err(e) = allow_ports() {
                    errors.push(e);
                }
            }
            RemediationKind::EnableJit => {
                let m = jit_minutes.get();
                if !(5..=1440).contains(&m) {
                    errors.push("The maximum duration must be 5 minutes to 1 day.".to_owned());
                }
            }
            RemediationKind::EnforceRule | RemediationKind::NarrowDnat => {
                errors.extend(source_errors())
            }
            RemediationKind::DenyPorts => {}
        }
        errors
    };
    let request = move || RemediationRequest {
        kind: kind.get_untracked(),
        vm_ids: {
            let mut ids: Vec<String> = selected.get_untracked().into_iter().collect();
            ids.sort();
            ids
        },
        ports: ports.get_untracked().into_iter().collect(),
        params: match kind.get_untracked() {
            RemediationKind::EnableJit => RemediationParams {
                max_request_access_duration: Some(iso_duration(jit_minutes.get_untracked())),
                ..Default::default()
            },
            RemediationKind::RestrictSources
            | RemediationKind::EnforceRule
            | RemediationKind::NarrowDnat => RemediationParams {
                sources: sources(),
                ..Default::default()
            },
            RemediationKind::DenyPorts => RemediationParams::default(),
            RemediationKind::AttachNsg => RemediationParams {
                sources: sources(),
                allow_ports: allow_ports().unwrap_or_default(),
                ..Default::default()
            },
        },
    };
    let load_preview = move || {
        plan.set(None);
        busy.set(true);
        let req = request();
        leptos::task::spawn_local(async move {
            plan.set(Some(api::preview(req).await.map_err(|e| e.to_string())));
            busy.set(false);
        });
    };
    let run_apply = move || {
        result.set(None);
        events.apply_steps.set(Vec::new());
        busy.set(true);
        step.set(Step::Apply);
        let req = request();
        leptos::task::spawn_local(async move {
            let outcome = api::apply(req).await.map_err(|e| e.to_string());
            result.set(Some(outcome));
            busy.set(false);
            events.version.update(|v| *v += 1);
        });
    };

    let stepper = move || {
        Step::ALL.into_iter().map(|s| {
            let current = step.get();
            let state = if s == current { "current" } else if s < current { "done" } else { "todo" };
            view! {
                <li class=format!("wizard-step wizard-step-{state}") aria-current=(s == current).then_some("step")>
                    <span class="wizard-step-number" aria-hidden="true">{if s < current { "✓".to_owned() } else { (s as u8).to_string() }}</span>
                    {s.title()}
                </li>
            }
        }).collect_view()
    };

    view! {
        <ol class="wizard-steps" data-testid="wizard-steps">{stepper}</ol>
        <div class="card wizard-body" data-testid=move || format!("wizard-step-{}", step.get() as u8)>
            {move || match step.get() {
                Step::ChooseVms => view! {
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
                }.into_any(),
                Step::ChooseFix => view! {
                    <h2>"2. Choose the fix"</h2>
                    <div class="fix-options" role="radiogroup" aria-label="Fix">
                        {move || {
                        // a Bastion serving a selected VM's VNet: removing Internet access comes first
                        let bastion = candidates.get().and_then(|p| p.ok()).and_then(|p| {
                            let sel = selected.get_untracked();
                            p.vms.items.iter().filter(|r| sel.contains(&r.id)).find_map(|r| r.bastion.clone())
                        });
                        let mut kinds = vec![RemediationKind::EnableJit, RemediationKind::RestrictSources, RemediationKind::DenyPorts, RemediationKind::NarrowDnat, RemediationKind::AttachNsg, RemediationKind::EnforceRule];
                        if bastion.is_some() {
                            kinds.retain(|k| *k != RemediationKind::DenyPorts);
                            kinds.insert(0, RemediationKind::DenyPorts);
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
                }.into_any(),
                Step::Parameters => view! {
                    <h2>{move || format!("3. Parameters: {}", fix_explanation(kind.get()).0)}</h2>
                    <p class="muted" data-testid="params-selection">{move || match selected.with(HashSet::len) {
                        1 => "For 1 selected VM.".to_owned(),
                        n => format!("For {n} selected VMs."),
                    }}</p>
                    <fieldset class="field">
                        <legend>"Ports (none checked: every management port that needs it)"</legend>
                        {MANAGEMENT_PORTS.into_iter().map(|p| view! {
                            <label class="check">
                                <input type="checkbox" prop:checked=move || ports.with(|s| s.contains(&p))
                                    on:change=move |ev| { let c = event_target_checked(&ev); ports.update(|s| { if c { s.insert(p); } else { s.remove(&p); } }) } />
                                {format!(" {p} {}", port_name(p))}
                            </label>
                        }).collect_view()}
                    </fieldset>
                    {move || match kind.get() {
                        RemediationKind::EnableJit => view! {
                            <label class="field">
                                <span>"Maximum request duration"</span>
                                <select on:change=move |ev| jit_minutes.set(event_target_value(&ev).parse().unwrap_or(180)) prop:value=move || jit_minutes.get().to_string() data-testid="jit-max">
                                    {[30u32, 60, 120, 180, 360, 720, 1440].into_iter().map(|m| view! { <option value=m.to_string()>{minutes(m)}</option> }).collect_view()}
                                </select>
                                <small class="muted">"Default 3 h; Azure allows 5 minutes to 1 day."</small>
                            </label>
                        }.into_any(),
                        RemediationKind::RestrictSources | RemediationKind::AttachNsg | RemediationKind::EnforceRule | RemediationKind::NarrowDnat => view! {
                            {move || (kind.get() == RemediationKind::EnforceRule).then(|| view! {
                                <p class="muted">"Prefilled from the alert: the legitimate sources seen in the traffic and the trusted ranges. Every other address on the Internet is denied; leave the list empty to deny the ports to everyone."</p>
                            })}
                            <label class="field">
                                <span>{move || match kind.get() {
                                    RemediationKind::RestrictSources => "Allowed sources (required)",
                                    RemediationKind::EnforceRule => "Keep access from",
                                    RemediationKind::NarrowDnat => "DNAT sources to keep (empty: remove the rule)",
                                    _ => "Management allowed from (optional)",
                                }}</span>
                                <textarea rows="3" placeholder="203.0.113.0/24, 198.51.100.7" bind:value=sources_text data-testid="param-sources"
                                    aria-invalid=move || (!source_errors().is_empty()).to_string()></textarea>
                                <small class="muted">"IPv4/IPv6 addresses or CIDRs, separated by commas or new lines."</small>
                            </label>
                            {move || (kind.get() == RemediationKind::AttachNsg).then(|| view! {
                                <label class="field">
                                    <span>"Other inbound ports to keep open from the Internet"</span>
                                    <input type="text" bind:value=allow_ports_text data-testid="param-allow-ports" />
                                </label>
                            })}
                        }.into_any(),
                        RemediationKind::DenyPorts => view! { <p class="muted">"No other parameter: the ports are denied to the Internet."</p> }.into_any(),
                    }}
                    <ul class="field-errors" data-testid="param-errors">
                        {move || param_errors().into_iter().map(|e| view! { <li class="field-error">{e}</li> }).collect_view()}
                    </ul>
                    <div class="wizard-actions">
                        <button class="button" on:click=move |_| step.set(Step::ChooseFix)>"← Back"</button>
                        <button class="button button-primary" disabled=move || !param_errors().is_empty()
                            on:click=move |_| { step.set(Step::Review); load_preview(); } data-testid="wizard-next">"Next: review →"</button>
                    </div>
                }.into_any(),
                Step::Review => view! {
                    <h2>"4. Review: what will change"</h2>
                    {move || match plan.get() {
                        None => view! { <Loading what="the preview" /> }.into_any(),
                        Some(Err(e)) => view! {
                            <div class="error-panel" role="alert" data-testid="error-panel">
                                <p><strong>"⚠ Could not preview the change. "</strong>{e}</p>
                                <button class="button" on:click=move |_| load_preview() data-testid="retry">"Retry"</button>
                            </div>
                        }.into_any(),
                        Some(Ok(p)) => view! { <PlanReview plan=p /> }.into_any(),
                    }}
                    <div class="wizard-actions">
                        <button class="button" on:click=move |_| step.set(Step::Parameters)>"← Back"</button>
                        <button class="button button-primary" data-testid="wizard-apply"
                            disabled=move || busy.get() || !matches!(plan.get(), Some(Ok(ref p)) if !p.noop)
                            on:click=move |_| run_apply()>"Apply these changes"</button>
                    </div>
                }.into_any(),
                Step::Apply => view! {
                    <h2>"5. Apply"</h2>
                    <ApplyProgress plan=plan result busy />
                }.into_any(),
            }}
        </div>
    }
}

/// Step 4: predicted score and statuses, and the rule diff of every NSG.
#[component]
fn PlanReview(plan: RemediationPlan) -> impl IntoView {
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

/// Step 5: one line per write (pending while the request runs), then outcomes and the new score.
#[component]
fn ApplyProgress(
    plan: RwSignal<Option<Result<RemediationPlan, String>>>,
    result: RwSignal<Option<Result<ApplyResult, String>>>,
    busy: RwSignal<bool>,
) -> impl IntoView {
    let events = expect_events();
    // (resource id, label) of every planned write, in the order they are applied
    let targets = move || -> Vec<(String, String)> {
        plan.with(|p| match p {
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
        })
    };
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
        <div data-testid="apply-progress">
            {move || busy.get().then(|| view! {
                <ul class="apply-steps" data-testid="apply-live" aria-live="polite">
                    {targets().into_iter().map(|(id, label)| {
                        let done = events.apply_steps.with(|steps| steps.iter().find(|s| s.target.eq_ignore_ascii_case(&id)).map(|s| s.outcome));
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
                    }).collect_view()}
                </ul>
            })}
            {move || result.get().map(|r| match r {
                Err(e) => view! {
                    <div class="error-panel" role="alert"><p><strong>"⚠ The change was not applied. "</strong>{e}</p>
                    <p class="muted">"Nothing was left half-done: the server rolls back earlier steps when one fails."</p></div>
                }.into_any(),
                Ok(r) => {
                    let (text, class) = match r.outcome {
                        ApplyOutcome::Applied => ("✓ Applied", "ok-text"),
                        ApplyOutcome::Noop => ("✓ Nothing needed", "ok-text"),
                        ApplyOutcome::RolledBack => ("⚠ A step failed; earlier steps were rolled back", "warning-text"),
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

/// Pairs for `/remediate?…` from the table's filter (used by links).
pub fn wizard_query(filter: &VmFilter) -> String {
    query::filter_to_query(filter)
}
