use crate::format::{countdown, now_seconds, parse_rfc3339};
use leptos::prelude::*;
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

/// Time left until `expires_at` (RFC 3339), ticking every second.
#[component]
pub fn Countdown(#[prop(into)] expires_at: String) -> impl IntoView {
    let expiry = parse_rfc3339(&expires_at);
    let now = RwSignal::new(now_seconds());
    // The timer stops when the view is cleaned up, and also by itself once `now` is gone: a
    // view rebuilt by a Suspend (a resource refetched after a server event) can drop its
    // signals before its cleanups run, and a tick then must not touch them.
    let timer: Rc<Cell<Option<IntervalHandle>>> = Rc::default();
    let own = timer.clone();
    let tick = move || {
        if now.try_set(now_seconds()).is_some() {
            if let Some(handle) = own.take() {
                handle.clear();
            }
        }
    };
    if let Ok(handle) = set_interval_with_handle(tick, Duration::from_secs(1)) {
        timer.set(Some(handle));
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
