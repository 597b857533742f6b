//! `/remediate`: the remediation wizard. This file holds the wizard's state ([`WizardState`],
//! given to the steps as a context) and the step switch; each step is a component of its own
//! in `remediate/`.
mod apply;
mod choose_fix;
mod choose_vms;
mod parameters;
mod review;

use crate::api::{self, ApiError};
use crate::components::empty_state::EmptyState;
use crate::format::{iso_duration, validate_source};
use crate::query::{self, filter_from_pairs, parse_pairs};
use crate::state::{expect_auth, expect_events, EventsContext};
use apply::ApplyStep;
use choose_fix::ChooseFixStep;
use choose_vms::ChooseVmsStep;
use leptos::prelude::*;
use leptos_router::hooks::use_location;
use parameters::ParametersStep;
use portcullis_shared::api::{
    ApplyResult, Posture, RemediationKind, RemediationParams, RemediationPlan, RemediationRequest,
    VmFilter,
};
use portcullis_shared::eval::Status;
use review::ReviewStep;
use std::collections::{BTreeSet, HashSet};

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

/// The wizard's state, shared by its steps: [`provide_wizard_context`] in the wizard,
/// [`expect_wizard`] in a step.
#[derive(Clone, Copy)]
pub struct WizardState {
    pub step: RwSignal<Step>,
    /// The VMs to fix (ids).
    pub selected: RwSignal<HashSet<String>>,
    pub kind: RwSignal<RemediationKind>,
    /// Empty: every port that needs it.
    pub ports: RwSignal<BTreeSet<u16>>,
    pub jit_minutes: RwSignal<u32>,
    pub sources_text: RwSignal<String>,
    pub allow_ports_text: RwSignal<String>,
    /// Step 4's preview.
    pub plan: RwSignal<Option<Result<RemediationPlan, String>>>,
    /// Step 5's outcome.
    pub result: RwSignal<Option<Result<ApplyResult, String>>>,
    /// A preview or an apply is running.
    pub busy: RwSignal<bool>,
    /// Step 1's list.
    pub candidates: LocalResource<Result<Posture, ApiError>>,
    /// The fix an alert's "Enforce rule" link named (`fix=`).
    pub prefill_kind: Option<RemediationKind>,
    pub events: EventsContext,
}

impl WizardState {
    /// The state for the wizard opened at `/remediate?{search}`. Step 1's list is the filter in
    /// the URL (default: unhealthy VMs), with `vm=` ids preselected; "Enforce rule" from an
    /// alert prefills the fix, ports and sources with `fix=`, `port=` and `source=`.
    fn new(search: &str, events: EventsContext) -> Self {
        let pairs = parse_pairs(search);
        let preselect: HashSet<String> = pairs
            .iter()
            .filter(|(k, _)| k == "vm")
            .map(|(_, v)| v.clone())
            .collect();
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

        let prefilled = prefill_kind.is_some() && !preselect.is_empty();
        let state = WizardState {
            step: RwSignal::new(if prefilled {
                Step::Parameters
            } else {
                Step::ChooseVms
            }),
            selected: RwSignal::new(preselect.clone()),
            kind: RwSignal::new(prefill_kind.unwrap_or(RemediationKind::EnableJit)),
            ports: RwSignal::new(prefill_ports),
            jit_minutes: RwSignal::new(180u32),
            sources_text: RwSignal::new(prefill_sources.join(", ")),
            allow_ports_text: RwSignal::new(String::from("443")),
            plan: RwSignal::new(None),
            result: RwSignal::new(None),
            busy: RwSignal::new(false),
            candidates: LocalResource::new(move || api::get_posture(filter.clone())),
            prefill_kind,
            events,
        };
        if from_filter {
            state.preselect_unhealthy();
        }
        state
    }

    /// Preselects the whole list's unhealthy VMs when the wizard starts from a filtered list.
    fn preselect_unhealthy(self) {
        let (candidates, selected) = (self.candidates, self.selected);
        Effect::new(move |done: Option<bool>| {
            if done == Some(true) {
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
    }

    /// The sources typed, split at commas, new lines and spaces.
    pub fn sources(self) -> Vec<String> {
        self.sources_text
            .get()
            .split([',', '\n', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    pub fn source_errors(self) -> Vec<String> {
        self.sources()
            .iter()
            .filter_map(|s| validate_source(s).err())
            .collect()
    }

    /// attachNsg: the other ports to keep open from the Internet (never a management port:
    /// that would open it to everyone; the planner refuses it too).
    pub fn allow_ports(self) -> Result<Vec<u16>, String> {
        let ports: Vec<u16> = self
            .allow_ports_text
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
            .collect::<Result<_, _>>()?;
        if let Some(p) = ports.iter().find(|p| [22, 3389, 5985, 5986].contains(*p)) {
            return Err(format!(
                "{p} is a management port: keeping it open to the Internet is what this fix closes; give sources above instead"
            ));
        }
        Ok(ports)
    }

    /// Why step 3's parameters cannot be previewed yet (none: they can).
    pub fn param_errors(self) -> Vec<String> {
        let mut errors = Vec::new();
        match self.kind.get() {
            RemediationKind::RestrictSources => {
                if self.sources().is_empty() {
                    errors.push("Enter at least one address or CIDR.".to_owned());
                }
                errors.extend(self.source_errors());
            }
            RemediationKind::AttachNsg => {
                errors.extend(self.source_errors());
                if let Err(e) = self.allow_ports() {
                    errors.push(e);
                }
            }
            RemediationKind::EnableJit => {
                let m = self.jit_minutes.get();
                if !(5..=1440).contains(&m) {
                    errors.push("The maximum duration must be 5 minutes to 1 day.".to_owned());
                }
            }
            RemediationKind::EnforceRule | RemediationKind::NarrowDnat => {
                errors.extend(self.source_errors())
            }
            RemediationKind::DenyPorts => {}
        }
        errors
    }

    /// The request the server previews and applies.
    pub fn request(self) -> RemediationRequest {
        let kind = self.kind.get_untracked();
        RemediationRequest {
            kind,
            vm_ids: {
                let mut ids: Vec<String> = self.selected.get_untracked().into_iter().collect();
                ids.sort();
                ids
            },
            ports: self.ports.get_untracked().into_iter().collect(),
            params: match kind {
                RemediationKind::EnableJit => RemediationParams {
                    max_request_access_duration: Some(iso_duration(
                        self.jit_minutes.get_untracked(),
                    )),
                    ..Default::default()
                },
                RemediationKind::RestrictSources
                | RemediationKind::EnforceRule
                | RemediationKind::NarrowDnat => RemediationParams {
                    sources: self.sources(),
                    ..Default::default()
                },
                RemediationKind::DenyPorts => RemediationParams::default(),
                RemediationKind::AttachNsg => RemediationParams {
                    sources: self.sources(),
                    allow_ports: self.allow_ports().unwrap_or_default(),
                    ..Default::default()
                },
            },
        }
    }

    /// Asks the server for the preview (step 4).
    pub fn load_preview(self) {
        let (plan, busy) = (self.plan, self.busy);
        plan.set(None);
        busy.set(true);
        let req = self.request();
        leptos::task::spawn_local(async move {
            plan.set(Some(api::preview(req).await.map_err(|e| e.to_string())));
            busy.set(false);
        });
    }

    /// Applies the request (step 5).
    pub fn run_apply(self) {
        let (result, busy, events) = (self.result, self.busy, self.events);
        result.set(None);
        events.apply_steps.set(Vec::new());
        busy.set(true);
        self.step.set(Step::Apply);
        let req = self.request();
        leptos::task::spawn_local(async move {
            let outcome = api::apply(req).await.map_err(|e| e.to_string());
            result.set(Some(outcome));
            busy.set(false);
            events.version.update(|v| *v += 1);
        });
    }
}

/// Gives the steps the wizard's state.
pub fn provide_wizard_context(state: WizardState) {
    provide_context(state);
}

/// The wizard's state, in a step.
pub fn expect_wizard() -> WizardState {
    expect_context::<WizardState>()
}

/// The stepper and the current step.
#[component]
fn Wizard() -> impl IntoView {
    let location = use_location();
    let wizard = WizardState::new(&location.search.get_untracked(), expect_events());
    provide_wizard_context(wizard);
    let step = wizard.step;

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
                Step::ChooseVms => view! { <ChooseVmsStep /> }.into_any(),
                Step::ChooseFix => view! { <ChooseFixStep /> }.into_any(),
                Step::Parameters => view! { <ParametersStep /> }.into_any(),
                Step::Review => view! { <ReviewStep /> }.into_any(),
                Step::Apply => view! { <ApplyStep /> }.into_any(),
            }}
        </div>
    }
}

/// Pairs for `/remediate?…` from the table's filter (used by links).
pub fn wizard_query(filter: &VmFilter) -> String {
    query::filter_to_query(filter)
}
