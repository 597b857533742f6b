use crate::components::{
    alert_card::AlertCard, countdown::Countdown, empty_state::EmptyState, error_panel::ErrorPanel,
    exposure_table::ExposureTable, jit_request_form::JitRequestForm, loading::Loading,
    nsg_rules::NsgRules, status_badge::StatusBadge,
};
use crate::format::{date_time, recommendation_short};
use crate::state::{expect_auth, expect_events};
use crate::{api, query};
use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_params_map};
use portcullis_shared::api::{AlertList, JitRequestStatus, VmDetail};
use portcullis_shared::eval::report::RecommendationKey;

/// `/vms/{id}`: one VM's verdict, rule by rule, and its JIT access.
#[component]
pub fn VmDetailPage() -> impl IntoView {
    let params = use_params_map();
    let events = expect_events();
    let id = Memo::new(move |_| query::decode(&params.get().get("id").unwrap_or_default()));
    let detail = LocalResource::new(move || {
        events.version.track();
        api::get_vm(id.get())
    });
    let alerts = LocalResource::new(move || {
        events.version.track();
        api::get_alerts(id.get(), String::new(), String::new())
    });
    let retry = Callback::new(move |_| detail.refetch());
    view! {
        <nav class="breadcrumbs" aria-label="Breadcrumbs"><A href="/vms">"Virtual machines"</A>" › "</nav>
        <Transition fallback=|| view! { <Loading what="the VM" /> }>
            <ErrorBoundary fallback=move |errors| view! { <ErrorPanel what="this VM" errors retry /> }>
                {move || Suspend::new(async move { detail.await.map(move |d| detail_body(d, retry, alerts)) })}
            </ErrorBoundary>
        </Transition>
    }
}

fn detail_body(
    detail: VmDetail,
    reload: Callback<()>,
    alerts: LocalResource<Result<AlertList, crate::api::ApiError>>,
) -> impl IntoView {
    let auth = expect_auth();
    let report = detail.report.clone();
    let vm_id = report.id.clone();
    let fix_href = format!("/remediate?vm={}", query::encode(&vm_id));
    let active: Vec<_> = detail
        .jit_requests
        .iter()
        .filter(|r| r.status == JitRequestStatus::Active)
        .cloned()
        .collect();
    let past: Vec<_> = detail
        .jit_requests
        .iter()
        .filter(|r| r.status != JitRequestStatus::Active)
        .cloned()
        .collect();
    view! {
        <header class="page-header">
            <div>
                <h1 data-testid="vm-name">{report.name.clone()}" "<StatusBadge status=report.status /></h1>
                <p class="muted">
                    {format!("{} · {} · {}{}",
                        detail.subscription_name, report.resource_group,
                        report.os_type.clone().unwrap_or_else(|| "OS unknown".into()),
                        report.location.clone().map(|l| format!(" · {l}")).unwrap_or_default())}
                </p>
                <p class="muted">"Public IPs: " <span class="mono">{if report.public_ips.is_empty() { "none".to_owned() } else { report.public_ips.join(", ") }}</span></p>
            </div>
            <div class="page-actions">
                {move || (auth.can_fix() && report.status == portcullis_shared::eval::Status::Unhealthy).then(|| view! {
                    <A href=fix_href.clone() attr:class="button button-primary" attr:data-testid="fix-vm">"⚙ Fix this VM"</A>
                })}
            </div>
        </header>
        <section class="card" data-testid="recommendations">
            <h2>"Recommendations"</h2>
            <table class="simple-table recommendation-table">
                <thead><tr><th scope="col">"Recommendation"</th><th scope="col">"Portcullis"</th><th scope="col">"Defender for Cloud"</th></tr></thead>
                <tbody>
                    {RecommendationKey::ALL.into_iter().map(|k| {
                        let verdict = detail.defender.recommendations.iter().find(|v| v.key == k).cloned();
                        view! {
                            <tr data-testid=format!("rec-row-{}", k.as_str())>
                                <th scope="row">{recommendation_short(k)}</th>
                                <td><StatusBadge status=detail.report.recommendations.get(k) /></td>
                                <td data-testid="defender-verdict">{match verdict {
                                    Some(v) => match v.defender {
                                        Some(d) => view! {
                                            <StatusBadge status=d />
                                            {(!v.agrees).then(|| view! { <span class="disagree" data-testid="disagrees" title=v.description.clone().unwrap_or_default()>" ≠ differs"</span> })}
                                        }.into_any(),
                                        None => view! { <span class="muted">"not assessed"</span> }.into_any(),
                                    },
                                    None => view! { <span class="muted">"—"</span> }.into_any(),
                                }}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            {detail.defender.error.clone().map(|e| view! { <p class="warning-text small">{format!("⚠ Defender's assessments could not be read: {e}")}</p> })}
            {(detail.defender.disagreements > 0).then(|| view! {
                <p class="warning-text small" data-testid="defender-note">"≠ Defender for Cloud assesses this VM differently. Portcullis reads the NSG rules as they are now; Defender re-assesses on its own schedule (hours), so it often lags behind a recent change."</p>
            })}
        </section>
        <section class="card">
            <h2>"Management ports"</h2>
            <ExposureTable exposures=detail.report.exposures.clone() />
        </section>
        <AlertPanel alerts />
        <section class="card">
            <h2>"Effective inbound rules"</h2>
            <p class="muted">"Subnet NSG first, then NIC NSG; within each, rules in the order Azure evaluates them (lowest priority number first). Traffic must pass both. ★ marks the rules that decided a port's verdict."</p>
            {if detail.nsgs.is_empty() {
                view! { <EmptyState title="No NSG on this VM's path: all inbound traffic is allowed." /> }.into_any()
            } else {
                detail.nsgs.into_iter().map(|nsg| view! { <NsgRules nsg /> }).collect_view().into_any()
            }}
        </section>
        <section class="card" data-testid="jit-section">
            <h2>"Just-in-time access"</h2>
            {match detail.jit_policy.clone() {
                None => view! { <EmptyState title="No JIT policy covers this VM." hint="Enable JIT in the remediation wizard to close its management ports until someone asks." /> }.into_any(),
                Some(policy) => {
                    let form_policy = policy.clone();
                    let vm_id = vm_id.clone();
                    view! {
                        <p>{format!("Policy {} ({})", policy.name, policy.provisioning_state.clone().unwrap_or_else(|| "state unknown".into()))}</p>
                        <table class="simple-table">
                            <thead><tr><th scope="col">"Port"</th><th scope="col">"Max duration"</th><th scope="col">"Allowed sources"</th></tr></thead>
                            <tbody>
                                {policy.ports.into_iter().map(|p| view! {
                                    <tr><td>{format!("{} {}", p.number, p.protocol)}</td><td>{crate::format::minutes(p.max_minutes)}</td><td class="mono">{p.allowed_source_address_prefixes.join(", ")}</td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        {move || auth.can_fix().then(|| view! {
                            <h3>"Request access"</h3>
                            <JitRequestForm vm_id=vm_id.clone() policy=form_policy.clone() on_created=Callback::new(move |_| reload.run(())) />
                        })}
                    }.into_any()
                }
            }}
            <h3>"Active requests"</h3>
            {if active.is_empty() {
                view! { <p class="muted" data-testid="no-active-requests">"No active request."</p> }.into_any()
            } else {
                view! {
                    <ul class="request-list" data-testid="active-requests">
                        {active.into_iter().map(|r| view! {
                            <li>
                                <strong>{r.ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")}</strong>
                                {format!(" from {} for {} — {}", r.source_address, r.requested_by, r.justification)}
                                " " <Countdown expires_at=r.expires_at.clone() />
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            {(!past.is_empty()).then(|| view! {
                <details>
                    <summary>{format!("{} past requests", past.len())}</summary>
                    <ul class="request-list">
                        {past.into_iter().map(|r| view! {
                            <li>{format!("{} · ports {} from {} by {} · {:?}", date_time(&r.requested_at),
                                r.ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", "), r.source_address, r.requested_by, r.status)}</li>
                        }).collect_view()}
                    </ul>
                </details>
            })}
        </section>
    }
}

/// The VM's security alerts (open ones first); nothing when it has none. The resource lives
/// with the page, not with this panel: the panel is rebuilt whenever the VM's detail is
/// refetched (after every write), and a panel awaiting a resource it owned would wake up after
/// that resource was disposed.
#[component]
fn AlertPanel(alerts: LocalResource<Result<AlertList, crate::api::ApiError>>) -> impl IntoView {
    move || {
        match alerts.get() {
        None => view! { <Loading what="the alerts" /> }.into_any(),
        Some(Err(e)) => view! {
            <div class="error-panel" role="alert" data-testid="error-panel">
                <p><strong>"⚠ Could not load this VM's alerts. "</strong>{e.to_string()}</p>
                <button class="button" on:click=move |_| alerts.refetch() data-testid="retry">"Retry"</button>
            </div>
        }.into_any(),
        Some(Ok(list)) => {
            let mut all = list.alerts;
            if all.is_empty() {
                return view! { <span data-testid="no-alerts"></span> }.into_any();
            }
            all.sort_by_key(|a| !crate::components::alert_card::is_open(&a.status));
            let open = all.iter().filter(|a| crate::components::alert_card::is_open(&a.status)).count();
            view! {
                <section class="alert-panel" data-testid="vm-alerts" aria-label="Security alerts">
                    <h2>{format!("Security alerts ({open} open)")}</h2>
                    {all.into_iter().enumerate().map(|(i, a)| { let first = i == 0; view! { <AlertCard alert=a expanded=first /> } }).collect_view()}
                </section>
            }.into_any()
        }
    }
    }
}
