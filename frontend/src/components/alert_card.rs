use crate::components::vm_table::vm_href;
use crate::format::{date_time, port_name};
use crate::query;
use crate::state::expect_auth;
use leptos::prelude::*;
use leptos_router::components::A;
use portcullis_shared::api::{Alert, RemediationRequest};

/// Severity as icon + text (never colour alone).
pub fn severity_label(severity: &str) -> (&'static str, &'static str, &'static str) {
    match severity.to_ascii_lowercase().as_str() {
        "high" => ("High", "▲", "high"),
        "medium" => ("Medium", "◆", "medium"),
        "low" => ("Low", "▽", "low"),
        _ => ("Informational", "ℹ", "info"),
    }
}

/// Active or in progress.
pub fn is_open(status: &str) -> bool {
    status.eq_ignore_ascii_case("active") || status.eq_ignore_ascii_case("inprogress")
}

/// Alert status as icon + text.
pub fn alert_status_label(status: &str) -> (&'static str, &'static str) {
    match status.to_ascii_lowercase().as_str() {
        "active" => ("Active", "●"),
        "inprogress" => ("In progress", "◷"),
        "resolved" => ("Resolved", "✓"),
        "dismissed" => ("Dismissed", "✕"),
        _ => ("Unknown", "?"),
    }
}

/// The wizard, prefilled with an "Enforce rule" request: `/remediate?vm=..&fix=enforceRule&
/// port=..&source=..` (the wizard starts at its parameters step).
pub fn enforce_href(req: &RemediationRequest) -> String {
    let mut pairs: Vec<(String, String)> = req
        .vm_ids
        .iter()
        .map(|v| ("vm".to_owned(), v.clone()))
        .collect();
    pairs.push(("fix".to_owned(), req.kind.as_str().to_owned()));
    pairs.extend(req.ports.iter().map(|p| ("port".to_owned(), p.to_string())));
    pairs.extend(
        req.params
            .sources
            .iter()
            .map(|s| ("source".to_owned(), s.clone())),
    );
    format!("/remediate?{}", query::encode_pairs(&pairs))
}

/// One security alert: what happened, the attacking addresses (flagged ones marked), the user
/// names tried, the legitimate sources, and the rule Portcullis recommends ("Enforce rule" for
/// operators while the port is open).
#[component]
pub fn AlertCard(
    alert: Alert,
    #[prop(optional)] expanded: bool,
    #[prop(optional)] show_vm: bool,
) -> impl IntoView {
    let auth = expect_auth();
    let (sev, sev_icon, sev_class) = severity_label(&alert.severity);
    let (status, status_icon) = alert_status_label(&alert.status);
    let flagged = alert
        .attackers
        .iter()
        .filter(|a| a.recommended_for_blocking)
        .count();
    let mut attackers = alert.attackers.clone();
    attackers.sort_by(|a, b| {
        b.recommended_for_blocking
            .cmp(&a.recommended_for_blocking)
            .then(b.attempts.cmp(&a.attempts))
    });
    let enforce = alert.enforce.clone();
    let port_text = alert
        .port
        .map(|p| format!("port {p} {}", port_name(p)))
        .unwrap_or_default();
    let port_state = alert.port_state.clone();
    let vm_link = (show_vm && !alert.vm_id.is_empty()).then(|| {
        view! { <A href=vm_href(&alert.vm_id) attr:data-testid="alert-vm">{alert.vm_name.clone()}</A> }
    });
    view! {
        <article class=format!("card alert-card alert-{sev_class}") data-testid="alert-card" data-alert-type=alert.alert_type.clone() data-status=alert.status.clone()>
            <header class="alert-header">
                <span class=format!("severity severity-{sev_class}") data-testid="alert-severity"><span aria-hidden="true">{sev_icon}" "</span>{sev}</span>
                <h3 class="alert-title">{alert.display_name.clone()}</h3>
                <span class=format!("alert-status alert-status-{}", alert.status.to_ascii_lowercase()) data-testid="alert-status"><span aria-hidden="true">{status_icon}" "</span>{status}</span>
            </header>
            <p class="muted small">
                {vm_link}{show_vm.then_some(" · ")}{port_text}{" · "}{date_time(&alert.time_generated)}
                {port_state.map(|s| view! { " · port now " <strong data-testid="alert-port-state">{s}</strong> })}
            </p>
            <p>{alert.description.clone()}</p>
            <ul class="alert-stats">
                <li data-testid="alert-attacker-count"><strong>{alert.attackers.len()}</strong>" attacking addresses"</li>
                <li><strong>{flagged}</strong>" recommended for blocking"</li>
                <li><strong>{alert.connection_attempts}</strong>" connection attempts"</li>
                <li><strong>{alert.failed_sign_ins}</strong>" failed sign-ins"</li>
            </ul>
            {(!alert.user_names.is_empty()).then(|| view! {
                <p>"User names tried: " {alert.user_names.iter().map(|u| view! { <code class="chip-code">{u.clone()}</code>" " }).collect_view()}</p>
            })}
            {(!alert.recommended_rules.is_empty()).then(|| view! {
                <div class="alert-recommendation">
                    <h4>"Recommended rule"</h4>
                    <ul class="plain-list" data-testid="alert-recommended">
                        {alert.recommended_rules.iter().map(|r| view! { <li>{r.clone()}</li> }).collect_view()}
                    </ul>
                    {move || match (&enforce, auth.can_fix()) {
                        (Some(req), true) => view! {
                            <A href=enforce_href(req) attr:class="button button-primary" attr:data-testid="enforce-rule">"⊘ Enforce rule"</A>
                        }.into_any(),
                        (Some(_), false) => view! { <p class="muted small">"An operator can enforce this rule."</p> }.into_any(),
                        (None, _) => view! { <p class="muted small" data-testid="alert-no-enforce">"The port is no longer open to the Internet: nothing to enforce."</p> }.into_any(),
                    }}
                </div>
            })}
            <details open=expanded>
                <summary>{format!("Attacking addresses ({})", attackers.len())}</summary>
                <div class="table-scroll">
                    <table class="simple-table" data-testid="alert-attackers">
                        <thead><tr>
                            <th scope="col">"Address"</th><th scope="col">"Threat intelligence"</th><th scope="col">"Attempts"</th>
                            <th scope="col">"Failed sign-ins"</th><th scope="col">"First seen"</th><th scope="col">"Last seen"</th><th scope="col">"User names"</th>
                        </tr></thead>
                        <tbody>
                            {attackers.into_iter().map(|a| view! {
                                <tr class:attacker-flagged=a.recommended_for_blocking>
                                    <td class="mono">{a.address.clone()}</td>
                                    <td>{if a.recommended_for_blocking { view! { <span class="flag" data-testid="flagged"><span aria-hidden="true">"⚑ "</span>"Block recommended"</span> }.into_any() } else { view! { <span class="muted">"—"</span> }.into_any() }}</td>
                                    <td>{a.attempts}</td>
                                    <td>{a.failed_sign_ins}</td>
                                    <td>{date_time(&a.first_seen)}</td>
                                    <td>{date_time(&a.last_seen)}</td>
                                    <td>{a.user_names.join(", ")}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </details>
            {(!alert.legitimate_sources.is_empty()).then(|| view! {
                <details open=expanded>
                    <summary>{format!("Legitimate sources ({})", alert.legitimate_sources.len())}</summary>
                    <table class="simple-table" data-testid="alert-legitimate">
                        <thead><tr><th scope="col">"Address"</th><th scope="col">"Sessions"</th><th scope="col">"Last seen"</th><th scope="col">"User names"</th></tr></thead>
                        <tbody>
                            {alert.legitimate_sources.iter().map(|l| view! {
                                <tr><td class="mono">{l.address.clone()}</td><td>{l.sessions}</td><td>{date_time(&l.last_seen)}</td><td>{l.user_names.join(", ")}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </details>
            })}
        </article>
    }
}
