use crate::format::{port_name, state_label};
use leptos::prelude::*;
use portcullis_shared::eval::report::State;

/// A management port and its exposure state: `⚠ 3389 RDP open`.
#[component]
pub fn PortChip(port: u16, state: State) -> impl IntoView {
    let (label, icon) = state_label(state);
    let class = format!("port-chip port-chip-{}", state.as_str());
    let title = format!("{port} ({}) is {}", port_name(port), label.to_lowercase());
    view! {
        <span class=class title=title data-testid="port-chip">
            <span aria-hidden="true">{icon}</span>
            " "
            <strong>{port}</strong>
            <span class="port-chip-state">{label.to_lowercase()}</span>
        </span>
    }
}
