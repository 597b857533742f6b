use crate::api;
use crate::format::{minutes, validate_source};
use leptos::prelude::*;
use portcullis_shared::api::{CreateJitRequest, JitPolicyView, JitRequestRecord};
use std::collections::HashSet;

/// "Request access": ports of the VM's JIT policy, a duration within the policy's maximum, the
/// source (empty: the server uses the requester's address) and a justification.
#[component]
pub fn JitRequestForm(
    vm_id: String,
    policy: JitPolicyView,
    on_created: Callback<JitRequestRecord>,
) -> impl IntoView {
    let ports_all: Vec<u16> = policy.ports.iter().map(|p| p.number).collect();
    let max_minutes = policy
        .ports
        .iter()
        .map(|p| p.max_minutes)
        .min()
        .unwrap_or(180)
        .max(5);
    let ports = RwSignal::new(ports_all.iter().copied().collect::<HashSet<u16>>());
    let duration = RwSignal::new(max_minutes.min(60));
    let source = RwSignal::new(String::new());
    let justification = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let source_error = move || {
        let s = source.get();
        if s.trim().is_empty() {
            None
        } else {
            validate_source(&s).err()
        }
    };
    let choices: Vec<u32> = [15, 30, 60, 120, 180, 360, 720, 1440]
        .into_iter()
        .filter(|m| *m <= max_minutes)
        .chain(std::iter::once(max_minutes))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if ports.with_untracked(HashSet::is_empty) {
            error.set(Some("Choose at least one port.".into()));
            return;
        }
        if justification.get_untracked().trim().len() < 3 {
            error.set(Some("Say why you need access (a few words).".into()));
            return;
        }
        if source_error().is_some() {
            return;
        }
        error.set(None);
        busy.set(true);
        let mut chosen: Vec<u16> = ports.get_untracked().into_iter().collect();
        chosen.sort_unstable();
        let request = CreateJitRequest {
            vm_id: vm_id.clone(),
            ports: chosen,
            duration_minutes: duration.get_untracked(),
            source_address: Some(source.get_untracked().trim().to_owned())
                .filter(|s| !s.is_empty()),
            justification: justification.get_untracked().trim().to_owned(),
        };
        leptos::task::spawn_local(async move {
            let outcome = api::create_jit_request(request).await;
            // The write's own server event may have rebuilt the VM page (and disposed this form
            // and its callback) while the request was in flight: then there is nothing to update.
            if busy.try_set(false).is_some() {
                return;
            }
            match outcome {
                Ok(record) => {
                    justification.set(String::new());
                    on_created.run(record);
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    view! {
        <form class="form jit-request-form" on:submit=submit data-testid="jit-request-form">
            <fieldset class="field">
                <legend>"Ports"</legend>
                {ports_all.into_iter().map(|p| view! {
                    <label class="check">
                        <input type="checkbox" prop:checked=move || ports.with(|s| s.contains(&p))
                            on:change=move |ev| { let c = event_target_checked(&ev); ports.update(|s| { if c { s.insert(p); } else { s.remove(&p); } }) } />
                        {format!(" {p} {}", crate::format::port_name(p))}
                    </label>
                }).collect_view()}
            </fieldset>
            <label class="field">
                <span>"Duration"</span>
                <select on:change=move |ev| duration.set(event_target_value(&ev).parse().unwrap_or(60)) prop:value=move || duration.get().to_string() data-testid="jit-duration">
                    {choices.into_iter().map(|m| view! { <option value=m.to_string()>{minutes(m)}</option> }).collect_view()}
                </select>
                <small class="muted">{format!("The policy allows at most {}.", minutes(max_minutes))}</small>
            </label>
            <label class="field">
                <span>"Source address"</span>
                <input type="text" placeholder="Your address (default)" bind:value=source data-testid="jit-source"
                    aria-invalid=move || source_error().is_some().to_string() />
                {move || source_error().map(|e| view! { <small class="field-error">{e}</small> })}
            </label>
            <label class="field field-grow">
                <span>"Justification"</span>
                <input type="text" required placeholder="Ticket or reason" bind:value=justification data-testid="jit-justification" />
            </label>
            {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
            <button type="submit" class="button button-primary" disabled=move || busy.get() data-testid="jit-submit">
                {move || if busy.get() { "Requesting…" } else { "Request access" }}
            </button>
        </form>
    }
}
