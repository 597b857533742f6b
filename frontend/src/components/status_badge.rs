use crate::format::{status_class, status_label};
use leptos::prelude::*;
use portcullis_shared::eval::Status;

/// A status as icon + text (never colour alone). `compact` shows the icon with the text as a
/// tooltip and for screen readers.
#[component]
pub fn StatusBadge(status: Status, #[prop(optional)] compact: bool) -> impl IntoView {
    let (label, icon) = status_label(status);
    let class = format!("status-badge status-badge-{}", status_class(status));
    view! {
        <span class=class title=label data-status=status.as_str()>
            <span class="status-badge-icon" aria-hidden="true">{icon}</span>
            {if compact {
                view! { <span class="visually-hidden">{label}</span> }.into_any()
            } else {
                view! { <span class="status-badge-text">{label}</span> }.into_any()
            }}
        </span>
    }
}
