use crate::api;
use crate::components::{
    countdown::Countdown, empty_state::EmptyState, error_panel::ErrorPanel, loading::Loading,
    vm_table::vm_href,
};
use crate::format::{arm_name, date_time};
use crate::state::expect_events;
use leptos::prelude::*;
use leptos_router::components::A;
use portcullis_shared::api::{JitRequestRecord, JitRequestStatus};

/// `/jit`: JIT policies and the VMs they cover; active and past access requests.
#[component]
pub fn JitPage() -> impl IntoView {
    let events = expect_events();
    let requests = LocalResource::new(move || {
        events.version.track();
        api::get_jit_requests(true)
    });
    let policies = LocalResource::new(move || {
        events.version.track();
        api::get_jit_policies()
    });
    view! {
        <header class="page-header">
            <div>
                <h1>"Just-in-time access"</h1>
                <p class="muted">"Management ports closed until someone asks, for a limited time, from one address."</p>
            </div>
        </header>
        <section class="card">
            <h2>"Access requests"</h2>
            <Transition fallback=|| view! { <Loading what="the requests" /> }>
                <ErrorBoundary fallback=move |errors| view! { <ErrorPanel what="the JIT requests" errors retry=Callback::new(move |_| requests.refetch()) /> }>
                    {move || Suspend::new(async move { requests.await.map(|list| request_tables(list.requests)) })}
                </ErrorBoundary>
            </Transition>
        </section>
        <section class="card">
            <h2>"Policies"</h2>
            <Transition fallback=|| view! { <Loading what="the policies" /> }>
                <ErrorBoundary fallback=move |errors| view! { <ErrorPanel what="the policies" errors retry=Callback::new(move |_| policies.refetch()) /> }>
                    {move || Suspend::new(async move {
                        policies.await.map(|list| {
                            if list.policies.is_empty() {
                                view! { <EmptyState title="No JIT policy yet." hint="Enable JIT from the remediation wizard." /> }.into_any()
                            } else {
                                view! {
                                    <div class="table-scroll">
                                        <table class="simple-table" data-testid="jit-policies">
                                            <thead><tr><th scope="col">"Policy"</th><th scope="col">"State"</th><th scope="col">"VM"</th><th scope="col">"Ports (maximum duration, allowed sources)"</th></tr></thead>
                                            <tbody>
                                                {list.policies.into_iter().flat_map(|policy| {
                                                    let label = policy_label(&policy.id);
                                                    let state = policy.provisioning_state.clone().unwrap_or_else(|| "unknown".into());
                                                    let id = policy.id.clone();
                                                    let rows = policy.vms.len().max(1);
                                                    let vms: Vec<_> = if policy.vms.is_empty() { vec![None] } else { policy.vms.into_iter().map(Some).collect() };
                                                    vms.into_iter().enumerate().map(move |(i, vm)| {
                                                        let head = (i == 0).then(|| view! {
                                                            <td rowspan=rows title=id.clone()>{label.clone()}</td>
                                                            <td rowspan=rows>{state.clone()}</td>
                                                        });
                                                        match vm {
                                                            None => view! { <tr>{head}<td colspan="2" class="muted">"No VM"</td></tr> }.into_any(),
                                                            Some(vm) => {
                                                                let name = vm.vm_name.clone();
                                                                let ports = vm.ports.iter().map(|p| format!("{} ({}, {})", p.number, crate::format::minutes(p.max_minutes),
                                                                        if p.allowed_source_address_prefixes.is_empty() { "*".to_owned() } else { p.allowed_source_address_prefixes.join(", ") })).collect::<Vec<_>>().join(" · ");
                                                                let cell = if vm.found {
                                                                    view! { <A href=vm_href(&vm.vm_id) attr:class="chip-link">{vm.vm_name.clone()}</A> }.into_any()
                                                                } else {
                                                                    view! { <span class="muted" title=vm.vm_id.clone()>{format!("{} (not in the inventory)", vm.vm_name)}</span> }.into_any()
                                                                };
                                                                view! {
                                                                <tr data-testid="jit-policy-vm" data-vm=name>
                                                                    {head}
                                                                    <td>{cell}</td>
                                                                    <td>{ports}</td>
                                                                </tr>
                                                            }.into_any()
                                                            }
                                                        }
                                                    }).collect::<Vec<_>>()
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    </div>
                                }.into_any()
                            }
                        })
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

fn request_tables(requests: Vec<JitRequestRecord>) -> impl IntoView {
    let (active, past): (Vec<_>, Vec<_>) = requests
        .into_iter()
        .partition(|r| r.status == JitRequestStatus::Active);
    let row = |r: JitRequestRecord, live: bool| {
        view! {
            <tr>
                <td><A href=vm_href(&r.vm_id)>{r.vm_name.clone()}</A></td>
                <td>{r.ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")}</td>
                <td class="mono">{r.source_address.clone()}</td>
                <td>{r.requested_by.clone()}</td>
                <td>{r.justification.clone()}</td>
                <td>{date_time(&r.requested_at)}</td>
                <td>{if live {
                    view! { <Countdown expires_at=r.expires_at.clone() /> }.into_any()
                } else {
                    let status = match r.status { JitRequestStatus::Active => "◷ Active", JitRequestStatus::Expired => "✓ Expired", JitRequestStatus::Failed => "✕ Failed" };
                    view! { <span>{status}{r.message.clone().map(|m| format!(" — {m}"))}</span> }.into_any()
                }}</td>
            </tr>
        }
    };
    let head = || {
        view! {
            <thead><tr><th scope="col">"VM"</th><th scope="col">"Ports"</th><th scope="col">"Source"</th><th scope="col">"By"</th><th scope="col">"Justification"</th><th scope="col">"Requested"</th><th scope="col">"Expiry"</th></tr></thead>
        }
    };
    view! {
        <h3>"Active"</h3>
        {if active.is_empty() {
            view! { <p class="muted" data-testid="jit-no-active">"No active request."</p> }.into_any()
        } else {
            view! { <div class="table-scroll"><table class="simple-table" data-testid="jit-active">{head()}<tbody>{active.into_iter().map(|r| row(r, true)).collect_view()}</tbody></table></div> }.into_any()
        }}
        <h3>"Past"</h3>
        {if past.is_empty() {
            view! { <p class="muted">"No past request."</p> }.into_any()
        } else {
            view! { <div class="table-scroll"><table class="simple-table" data-testid="jit-past">{head()}<tbody>{past.into_iter().map(|r| row(r, false)).collect_view()}</tbody></table></div> }.into_any()
        }}
    }
}

/// `default (rg-sql-lab)`: the policy's name and resource group (names repeat per group).
pub fn policy_label(id: &str) -> String {
    let parts: Vec<&str> = id.split('/').collect();
    let group = parts
        .iter()
        .position(|p| p.eq_ignore_ascii_case("resourceGroups"))
        .and_then(|i| parts.get(i + 1));
    match group {
        Some(group) => format!("{} ({group})", arm_name(id)),
        None => arm_name(id).to_owned(),
    }
}
