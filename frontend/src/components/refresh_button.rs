use crate::format::{ago, date_time, now_seconds};
use crate::state::{expect_auth, expect_events};
use leptos::prelude::*;

/// When the data was last read, and (for operators) a button that reads it again, with the
/// progress the server streams over `/api/events`.
#[component]
pub fn RefreshButton(refreshed_at: Option<String>, refreshing: bool) -> impl IntoView {
    let auth = expect_auth();
    let events = expect_events();
    if refreshing {
        events.refreshing.set(true);
    }
    let error = RwSignal::new(None::<String>);
    let start = move |_| {
        events.refreshing.set(true);
        events.progress.set(None);
        error.set(None);
        leptos::task::spawn_local(async move {
            if let Err(e) = crate::api::refresh().await {
                events.refreshing.set(false);
                error.set(Some(e.to_string()));
            } else if !events.connected.get_untracked() {
                // No event stream: poll by refetching after a moment.
                leptos::task::spawn_local(async move {
                    gloo_timers_sleep(1500).await;
                    events.refreshing.set(false);
                    events.version.update(|v| *v += 1);
                });
            }
        });
    };
    let when = refreshed_at.clone();
    view! {
        <div class="refresh" data-testid="refresh">
            <span class="refresh-when" title=refreshed_at.as_deref().map(date_time).unwrap_or_default() data-testid="refreshed-at">
                {match when {
                    Some(at) => format!("Data read {}", ago(&at, now_seconds())),
                    None => "No data read yet".to_owned(),
                }}
            </span>
            {move || auth.can_fix().then(|| view! {
                <button class="button" on:click=start disabled=move || events.refreshing.get() data-testid="refresh-button">
                    {move || if events.refreshing.get() { "↻ Refreshing…" } else { "↻ Refresh" }}
                </button>
            })}
            {move || events.refreshing.get().then(|| {
                let progress = events.progress.get();
                let (value, max, text) = match progress {
                    Some((done, total)) if total > 0 => (done as f64, total as f64, format!("{done} of {total} reads")),
                    _ => (0.0, 1.0, "starting…".to_owned()),
                };
                view! {
                    <span class="refresh-progress" role="status" data-testid="refresh-progress">
                        <progress max=max value=value></progress>
                        " " {text}
                    </span>
                }
            })}
            {move || events.failure.get().map(|m| view! { <span class="warning-text" role="alert">{format!("⚠ Last refresh failed: {m}")}</span> })}
            {move || error.get().map(|m| view! { <span class="warning-text" role="alert">{format!("⚠ {m}")}</span> })}
        </div>
    }
}

/// Sleeps `ms` milliseconds on the browser's timer.
pub async fn gloo_timers_sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
