use crate::components::{port_chip::PortChip, status_badge::StatusBadge};
use crate::format::arm_name;
use crate::query;
use leptos::prelude::*;
use leptos_router::components::A;
use portcullis_shared::api::{SortOrder, VmRow, VmSort};
use portcullis_shared::eval::report::State;
use std::collections::HashSet;

/// The link to a VM's detail page: its ARM id, URL-encoded as one segment.
pub fn vm_href(id: &str) -> String {
    format!("/vms/{}", query::encode(id))
}

/// One page of VMs. Sorting is reported through `on_sort` (the page keeps it in the URL);
/// with `selected`, rows get checkboxes.
#[component]
pub fn VmTable(
    rows: Vec<VmRow>,
    #[prop(optional)] sort: Option<VmSort>,
    #[prop(optional)] order: Option<SortOrder>,
    #[prop(optional)] on_sort: Option<Callback<VmSort>>,
    #[prop(optional)] selected: Option<RwSignal<HashSet<String>>>,
) -> impl IntoView {
    // `class` names a column that narrow windows may hide (see style/main.css).
    let header = move |label: &'static str,
                       column: Option<VmSort>,
                       title: &'static str,
                       class: &'static str| {
        let title = (!title.is_empty()).then_some(title);
        let class = (!class.is_empty()).then_some(class);
        let active = column.is_some() && column == sort;
        let aria_sort = match (active, order) {
            (true, Some(SortOrder::Desc)) => "descending",
            (true, _) => "ascending",
            _ => "none",
        };
        let arrow = match (active, order) {
            (true, Some(SortOrder::Desc)) => " ▼",
            (true, _) => " ▲",
            _ => "",
        };
        match (column, on_sort) {
            (Some(column), Some(on_sort)) => view! {
                <th scope="col" aria-sort=aria_sort title=title class=class>
                    <button class="vm-table-sort" on:click=move |_| on_sort.run(column) data-testid=format!("sort-{}", query::sort_str(column))>
                        {label}{arrow}
                    </button>
                </th>
            }
            .into_any(),
            _ => view! { <th scope="col" title=title class=class>{label}</th> }.into_any(),
        }
    };
    let all_ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
    view! {
        <div class="vm-table-wrap">
            <table class="vm-table" data-testid="vm-table">
                <thead>
                    <tr>
                        {selected.map(|selected| {
                            let ids = all_ids.clone();
                            let all_checked = {
                                let ids = ids.clone();
                                move || !ids.is_empty() && selected.with(|s| ids.iter().all(|id| s.contains(id)))
                            };
                            view! {
                                <th scope="col" class="vm-table-check">
                                    <input type="checkbox" aria-label="Select all on this page" prop:checked=all_checked
                                        on:change=move |ev| {
                                            let checked = event_target_checked(&ev);
                                            selected.update(|s| for id in &ids { if checked { s.insert(id.clone()); } else { s.remove(id); } });
                                        } />
                                </th>
                            }
                        })}
                        {header("Name", Some(VmSort::Name), "", "")}
                        {header("Status", Some(VmSort::Status), "", "")}
                        {header("Subscription", Some(VmSort::Subscription), "", "")}
                        {header("Resource group", Some(VmSort::ResourceGroup), "", "")}
                        {header("OS", Some(VmSort::Os), "", "vm-table-os")}
                        {header("Public IPs", Some(VmSort::PublicIps), "", "")}
                        {header("NSG", Some(VmSort::NsgProtected), "Internet-facing VMs protected by NSGs", "")}
                        {header("Closed", Some(VmSort::PortsClosed), "Management ports closed", "")}
                        {header("JIT", Some(VmSort::JitProtected), "Management ports protected by JIT", "")}
                        {header("Exposed ports", Some(VmSort::Exposure), "", "")}
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|row| vm_row(row, selected)).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

fn vm_row(row: VmRow, selected: Option<RwSignal<HashSet<String>>>) -> impl IntoView {
    let href = vm_href(&row.id);
    let id = row.id.clone();
    let mut chips: Vec<(u16, State)> = row.open_ports.iter().map(|p| (*p, State::Open)).collect();
    chips.extend(row.restricted_ports.iter().map(|p| (*p, State::Restricted)));
    let name = row.name.clone();
    view! {
        <tr data-testid="vm-row" data-vm=name>
            {selected.map(|selected| {
                let id_checked = id.clone();
                let id_change = id.clone();
                view! {
                    <td class="vm-table-check">
                        <input type="checkbox" aria-label=format!("Select {}", row.name)
                            prop:checked=move || selected.with(|s| s.contains(&id_checked))
                            on:change=move |ev| {
                                let checked = event_target_checked(&ev);
                                selected.update(|s| { if checked { s.insert(id_change.clone()); } else { s.remove(&id_change); } });
                            } />
                    </td>
                }
            })}
            <td class="vm-table-name"><A href=href>{row.name.clone()}</A></td>
            <td><StatusBadge status=row.status /></td>
            <td class="vm-table-muted" title=row.subscription_id.clone()>{short_subscription(&row.subscription_id)}</td>
            <td>{row.resource_group.clone()}</td>
            <td class="vm-table-os">{row.os_type.clone().unwrap_or_else(|| "—".into())}</td>
            <td class="vm-table-ips">
                {if row.public_ips.is_empty() { "—".to_owned() } else { row.public_ips.join(", ") }}
            </td>
            <td><StatusBadge status=row.recommendations.internet_facing_vms_protected_by_nsg compact=true /></td>
            <td><StatusBadge status=row.recommendations.management_ports_closed compact=true /></td>
            <td>
                <StatusBadge status=row.recommendations.management_ports_jit_protected compact=true />
                {row.jit_policy.as_deref().map(|p| view! { <span class="vm-table-jit" title=p.to_owned()>" JIT"</span> })}
            </td>
            <td class="vm-table-chips">
                {if chips.is_empty() {
                    view! { <span class="muted">"none"</span> }.into_any()
                } else {
                    chips.into_iter().map(|(port, state)| view! { <PortChip port state /> }).collect_view().into_any()
                }}
                {row.reachable.then(|| {
                    let via = row.paths.iter().map(|k| crate::format::path_kind_label(*k)).collect::<Vec<_>>().join(", ");
                    let title = format!("Reachable from the Internet through: {via}");
                    view! { <span class="reachable-flag" title=title data-testid="reachable-flag">{format!("⊕ Internet ({via})")}</span> }
                })}
            </td>
        </tr>
    }
}

/// The first block of a subscription GUID (`1b2c3d4e…`), full id as the tooltip.
fn short_subscription(id: &str) -> String {
    let name = arm_name(id);
    match name.split_once('-') {
        Some((head, _)) if name.len() > 20 => format!("{head}…"),
        _ => name.to_owned(),
    }
}
