use crate::format::{arm_name, port_name, state_label};
use leptos::prelude::*;
use portcullis_shared::eval::report::{Exposure, InternetPath, Level, ManagedAccess};
use portcullis_shared::eval::Access;

/// Per management port: state, reachability, allowed public sources and the deciding rules.
#[component]
pub fn ExposureTable(exposures: Vec<Exposure>) -> impl IntoView {
    view! {
        <div class="table-scroll">
            <table class="exposure-table" data-testid="exposure-table">
                <thead>
                    <tr>
                        <th scope="col">"Port"</th>
                        <th scope="col">"State"</th>
                        <th scope="col">"Reachable"</th>
                        <th scope="col">"Allowed public sources"</th>
                        <th scope="col">"Deciding rules"</th>
                        <th scope="col">"JIT"</th>
                    </tr>
                </thead>
                <tbody>
                    {exposures.into_iter().map(|e| {
                        let (label, icon) = state_label(e.state);
                        let state_class = format!("state state-{}", e.state.as_str());
                        view! {
                            <tr data-testid=format!("exposure-{}", e.port)>
                                <th scope="row">{e.port}" "<span class="muted">{port_name(e.port)}</span></th>
                                <td><span class=state_class data-testid="exposure-state"><span aria-hidden="true">{icon}" "</span>{label}</span></td>
                                <td>{if e.reachable { "⊕ Yes" } else { "No" }}</td>
                                <td class="mono">{if e.allowed_public_sources.is_empty() { "none".to_owned() } else { e.allowed_public_sources.join(", ") }}</td>
                                <td>
                                    <ul class="plain-list">
                                        {e.deciding_rules.iter().map(|r| {
                                            let access = match r.access { Access::Allow => "✓ Allow", Access::AlwaysAllow => "✓ Always allow", Access::Deny => "✕ Deny" };
                                            let source = match r.level { Level::NetworkManager => "admin rule collection", Level::Subnet => "subnet NSG", Level::NetworkInterface => "NIC NSG" };
                                            view! { <li><code>{r.rule.to_string()}</code>" "{format!("({}, {access}, {source} {})", r.priority, arm_name(&r.nsg))}</li> }
                                        }).collect_view()}
                                    </ul>
                                    <p class="muted small">{e.reason.to_string()}</p>
                                </td>
                                <td>{if e.jit_protected { "◷ Yes" } else { "—" }}</td>
                            </tr>
                            {(!e.paths.is_empty() || e.managed_access.is_some()).then(|| view! {
                                <tr class="path-row" data-testid=format!("paths-{}", e.port)>
                                    <td colspan="6">
                                        <span class="path-row-title">"Ways in from the Internet"</span>
                                        <PathList paths=e.paths.clone() managed=e.managed_access.as_deref().map(<[ManagedAccess]>::to_vec).unwrap_or_default() />
                                    </td>
                                </tr>
                            })}
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// Each path as a line from the Internet to the port: the frontend, what translates it and
/// whether it gets through; Bastion as managed access.
#[component]
fn PathList(paths: Vec<InternetPath>, managed: Vec<ManagedAccess>) -> impl IntoView {
    let none = paths.is_empty() && managed.is_empty();
    view! {
        <ul class="path-list" data-testid="path-list">
            {paths.into_iter().map(|p| {
                let reason = p.reason();
                let title = reason.clone();
                let class = if p.reachable { "path path-reachable" } else { "path path-blocked" };
                view! {
                    <li class=class data-testid=format!("path-{}", p.kind.as_str()) title=title>
                        <span class="path-hop">"Internet"</span>
                        <span aria-hidden="true">" → "</span>
                        <code class="path-hop">{p.frontend.to_string()}</code>
                        <span class="muted small">" ("{p.kind.short()}")"</span>
                        <span aria-hidden="true">" → "</span>
                        <code class="path-hop">{p.target.to_string()}</code>
                        <span class="path-verdict">{if p.reachable { " ⊕ reachable" } else { " ✕ blocked" }}</span>
                        <p class="muted small">{reason}</p>
                    </li>
                }
            }).collect_view()}
            {managed.into_iter().map(|m| view! {
                <li class="path path-managed" data-testid="managed-access">
                    "Managed access: Azure Bastion "<code>{m.name.to_string()}</code>
                    <span class="muted small">{format!(" ({} SKU, in {})", m.sku, arm_name(&m.virtual_network))}</span>
                </li>
            }).collect_view()}
            {none.then(|| view! { <li class="muted">"none"</li> })}
        </ul>
    }
}
