use crate::format::port_name;
use leptos::prelude::*;
use portcullis_shared::api::{NsgView, RuleView};
use portcullis_shared::eval::report::Level;
use portcullis_shared::eval::Access;

/// An NSG's inbound rules in the order Azure evaluates them, deciding rules highlighted.
#[component]
pub fn NsgRules(nsg: NsgView) -> impl IntoView {
    let level = match nsg.level {
        Level::NetworkManager => "Security admin rules (Virtual Network Manager)",
        Level::Subnet => "Subnet NSG",
        Level::NetworkInterface => "NIC NSG",
    };
    let found = nsg.found;
    view! {
        <section class="nsg-rules" data-testid="nsg-rules">
            <header class="nsg-rules-header">
                <span class="nsg-rules-level">{level}</span>
                <h3>{nsg.name.clone()}</h3>
                {(!found).then(|| view! {
                    <span class="warning-text">"⚠ referenced but missing from the inventory: counted as no NSG"</span>
                })}
            </header>
            <div class="table-scroll">
                <table class="rules-table">
                    <thead>
                        <tr>
                            <th scope="col">"Priority"</th>
                            <th scope="col">"Name"</th>
                            <th scope="col">"Access"</th>
                            <th scope="col">"Protocol"</th>
                            <th scope="col">"Source"</th>
                            <th scope="col">"Destination"</th>
                            <th scope="col">"Ports"</th>
                            <th scope="col">"Decides"</th>
                        </tr>
                    </thead>
                    <tbody>{nsg.rules.into_iter().map(rule_row).collect_view()}</tbody>
                </table>
            </div>
        </section>
    }
}

fn rule_row(rule: RuleView) -> impl IntoView {
    let deciding = !rule.deciding_for_ports.is_empty();
    let access = match rule.access {
        Access::Allow => ("✓ Allow", "rule-allow"),
        Access::AlwaysAllow => ("✓ Always allow", "rule-allow"),
        Access::Deny => ("✕ Deny", "rule-deny"),
    };
    let decides = rule
        .deciding_for_ports
        .iter()
        .map(|p| format!("{p} {}", port_name(*p)).trim().to_owned())
        .collect::<Vec<_>>()
        .join(", ");
    view! {
        <tr class:rule-deciding=deciding class:rule-default=rule.default data-testid=if deciding { "rule-deciding" } else { "rule" }>
            <td class="num">{rule.priority}</td>
            <td>
                {rule.name.clone()}
                {rule.default.then(|| view! { <span class="tag">"default"</span> })}
                {rule.jit.then(|| view! { <span class="tag tag-jit">"JIT"</span> })}
            </td>
            <td class=access.1>{access.0}</td>
            <td>{rule.protocol.clone()}</td>
            <td class="mono">{rule.sources.join(", ")}</td>
            <td class="mono">{rule.destinations.join(", ")}</td>
            <td class="mono">{rule.destination_ports.join(", ")}</td>
            <td>{if deciding { format!("★ {decides}") } else { String::new() }}</td>
        </tr>
    }
}
