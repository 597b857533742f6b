//! Step 3: the ports and the fix's own parameters, checked as they are typed.
use super::{expect_wizard, fix_explanation, Step};
use crate::format::{minutes, port_name};
use leptos::prelude::*;
use portcullis_shared::api::RemediationKind;
use std::collections::HashSet;

const MANAGEMENT_PORTS: [u16; 4] = [22, 3389, 5985, 5986];

/// The ports (none checked: every management port that needs it), then per fix: JIT's maximum
/// duration, the sources (and attachNsg's other ports), or nothing; the errors block the review.
#[component]
pub fn ParametersStep() -> impl IntoView {
    let wizard = expect_wizard();
    let (kind, selected, ports, jit_minutes, step) = (
        wizard.kind,
        wizard.selected,
        wizard.ports,
        wizard.jit_minutes,
        wizard.step,
    );
    let (sources_text, allow_ports_text) = (wizard.sources_text, wizard.allow_ports_text);
    view! {
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
                        aria-invalid=move || (!wizard.source_errors().is_empty()).to_string()></textarea>
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
            {move || wizard.param_errors().into_iter().map(|e| view! { <li class="field-error">{e}</li> }).collect_view()}
        </ul>
        <div class="wizard-actions">
            <button class="button" on:click=move |_| step.set(Step::ChooseFix)>"← Back"</button>
            <button class="button button-primary" disabled=move || !wizard.param_errors().is_empty()
                on:click=move |_| { step.set(Step::Review); wizard.load_preview(); } data-testid="wizard-next">"Next: review →"</button>
        </div>
    }
}
