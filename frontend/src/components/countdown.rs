use crate::format::{countdown, now_seconds, parse_rfc3339};
use leptos::prelude::*;
use std::time::Duration;

/// Time left until `expires_at` (RFC 3339), ticking every second.
#[component]
pub fn Countdown(#[prop(into)] expires_at: String) -> impl IntoView {
    let expiry = parse_rfc3339(&expires_at);
    let now = RwSignal::new(now_seconds());
    if let Ok(handle) =
        set_interval_with_handle(move || now.set(now_seconds()), Duration::from_secs(1))
    {
        on_cleanup(move || handle.clear());
    }
    let title = expires_at.clone();
    let left = move || expiry.map(|expiry| (expiry - now.get()).ceil() as i64);
    view! {
        <span
            class="countdown"
            class:countdown-expired=move || left().is_some_and(|s| s <= 0)
            data-testid="countdown"
            title=title
        >
            <span aria-hidden="true">"◷ "</span>
            {move || match left() {
                Some(s) if s > 0 => format!("{} left", countdown(s)),
                Some(_) => "expired".to_owned(),
                None => format!("until {expires_at}"),
            }}
        </span>
    }
}
