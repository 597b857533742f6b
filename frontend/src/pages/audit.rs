use crate::api;
use crate::components::{empty_state::EmptyState, error_panel::ErrorPanel, loading::Loading};
use crate::format::date_time;
use crate::state::expect_auth;
use leptos::prelude::*;
use portcullis_shared::api::{AuditEntry, AuditQuery, Role};

/// `/audit` (admins): who changed what, newest first, with its hash chain.
#[component]
pub fn AuditPage() -> impl IntoView {
    let auth = expect_auth();
    view! {
        <header class="page-header">
            <div>
                <h1>"Audit log"</h1>
                <p class="muted">"Every sign-in and every write: who, what, before, after, result."</p>
            </div>
        </header>
        {move || if auth.has_role(Role::Admin) {
            view! { <AuditList /> }.into_any()
        } else {
            view! { <div class="card" data-testid="not-allowed"><EmptyState title="Only administrators can read the audit log." /></div> }.into_any()
        }}
    }
}

#[component]
fn AuditList() -> impl IntoView {
    let actor = RwSignal::new(String::new());
    let action = RwSignal::new(String::new());
    let before_seq = RwSignal::new(None::<i64>);
    let page = LocalResource::new(move || {
        api::get_audit(AuditQuery {
            actor: Some(actor.get()).filter(|s| !s.trim().is_empty()),
            action: Some(action.get()).filter(|s| !s.is_empty()),
            before_seq: before_seq.get(),
            limit: Some(50),
        })
    });
    view! {
        <div class="filter-bar card">
            <label class="field"><span>"Actor"</span><input type="search" on:change=move |ev| { before_seq.set(None); actor.set(event_target_value(&ev)) } /></label>
            <label class="field"><span>"Action"</span>
                <select on:change=move |ev| { before_seq.set(None); action.set(event_target_value(&ev)) }>
                    <option value="">"Any"</option>
                    {["login", "logout", "remediation.apply", "jit.request", "user.upsert", "refresh"].into_iter().map(|a| view! { <option value=a>{a}</option> }).collect_view()}
                </select>
            </label>
            {move || before_seq.get().is_some().then(|| view! { <button class="button" on:click=move |_| before_seq.set(None)>"↑ Newest"</button> })}
        </div>
        <section class="card">
            <Transition fallback=|| view! { <Loading what="the audit log" /> }>
                <ErrorBoundary fallback=move |errors| view! { <ErrorPanel what="the audit log" errors retry=Callback::new(move |_| page.refetch()) /> }>
                    {move || Suspend::new(async move {
                        page.await.map(|p| if p.entries.is_empty() {
                            view! { <EmptyState title="No entry." /> }.into_any()
                        } else {
                            let next = p.next_before_seq;
                            view! {
                                <div class="table-scroll">
                                    <table class="simple-table audit-table" data-testid="audit-table">
                                        <thead><tr><th scope="col">"#"</th><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"Action"</th><th scope="col">"Target"</th><th scope="col">"Result"</th><th scope="col">"Details"</th></tr></thead>
                                        <tbody>{p.entries.into_iter().map(audit_row).collect_view()}</tbody>
                                    </table>
                                </div>
                                {next.map(|seq| view! { <button class="button" on:click=move |_| before_seq.set(Some(seq))>"Older →"</button> })}
                            }.into_any()
                        })
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

fn audit_row(entry: AuditEntry) -> impl IntoView {
    let ok = matches!(
        entry.outcome.as_str(),
        "ok" | "success" | "applied" | "noop"
    );
    let details = serde_json::to_string_pretty(&serde_json::json!({
        "before": entry.before, "after": entry.after, "detail": entry.detail, "hash": entry.hash, "prevHash": entry.prev_hash,
    })).unwrap_or_default();
    view! {
        <tr>
            <td class="num">{entry.seq}</td>
            <td>{date_time(&entry.at)}</td>
            <td>{entry.actor}</td>
            <td><code>{entry.action}</code></td>
            <td class="mono audit-target" title=entry.target.clone()>{crate::format::arm_name(&entry.target).to_owned()}</td>
            <td>{if ok { "✓ " } else { "✕ " }}{entry.outcome}</td>
            <td><details><summary>"Show"</summary><pre class="audit-json">{details}</pre></details></td>
        </tr>
    }
}
