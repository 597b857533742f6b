//! Shared UI state, provided once by `App` and read with the `expect_*` helpers: who is signed in,
//! the colour theme, and the server's live events (refresh progress, new snapshots, writes).
use crate::api;
use leptos::prelude::*;
use portcullis_shared::api::{ApplyStep, Me, Role, ServerEvent};
use wasm_bindgen::{closure::Closure, JsCast};

// ---------------------------------------------------------------------------------------------
// auth
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
pub struct AuthContext {
    /// The signed-in user; `None` when signed out.
    pub me: RwSignal<Option<Me>>,
    /// `GET /api/me` has answered (until then pages show a loading state, not the sign-in).
    pub checked: RwSignal<bool>,
}

impl AuthContext {
    pub fn set(&self, me: Option<Me>) {
        api::set_csrf_token(me.as_ref().map(|me| me.csrf_token.clone()));
        self.me.set(me);
        self.checked.set(true);
    }

    /// At least `role` (the server enforces it too; this only hides what would be refused).
    pub fn has_role(&self, role: Role) -> bool {
        self.me
            .with(|me| me.as_ref().is_some_and(|me| me.role >= role))
    }

    pub fn can_fix(&self) -> bool {
        self.has_role(Role::Operator)
    }
}

/// Provides the auth context and asks the server who is signed in.
pub fn provide_auth_context() -> AuthContext {
    let auth = AuthContext {
        me: RwSignal::new(None),
        checked: RwSignal::new(false),
    };
    provide_context(auth);
    leptos::task::spawn_local(async move {
        auth.set(api::get_me().await.ok().flatten());
    });
    auth
}

pub fn expect_auth() -> AuthContext {
    expect_context::<AuthContext>()
}

// ---------------------------------------------------------------------------------------------
// theme
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Theme {
    /// Follows `prefers-color-scheme`.
    System,
    Light,
    Dark,
}

impl Theme {
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    pub fn next(self) -> Self {
        match self {
            Theme::System => Theme::Light,
            Theme::Light => Theme::Dark,
            Theme::Dark => Theme::System,
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "light" => Theme::Light,
            "dark" => Theme::Dark,
            _ => Theme::System,
        }
    }
}

#[derive(Clone, Copy)]
pub struct ThemeContext {
    pub theme: RwSignal<Theme>,
}

const THEME_KEY: &str = "portcullis.theme";

/// Provides the theme (from localStorage) and keeps `<html data-theme>` in step with it.
pub fn provide_theme_context() -> ThemeContext {
    let storage = window().local_storage().ok().flatten();
    let initial = storage
        .as_ref()
        .and_then(|storage| storage.get_item(THEME_KEY).ok().flatten())
        .map(|s| Theme::parse(&s))
        .unwrap_or(Theme::System);
    let context = ThemeContext {
        theme: RwSignal::new(initial),
    };
    Effect::new(move |_| {
        let theme = context.theme.get();
        if let Some(html) = document().document_element() {
            let _ = html.set_attribute("data-theme", theme.as_str());
        }
        if let Some(storage) = window().local_storage().ok().flatten() {
            let _ = storage.set_item(THEME_KEY, theme.as_str());
        }
    });
    provide_context(context);
    context
}

pub fn expect_theme() -> ThemeContext {
    expect_context::<ThemeContext>()
}

// ---------------------------------------------------------------------------------------------
// live events (SSE /api/events)
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
pub struct EventsContext {
    /// Bumped on every new snapshot or applied write: resources that read it refetch.
    pub version: RwSignal<u64>,
    /// A refresh is running: (done, total) of its ARM reads, when the server said.
    pub progress: RwSignal<Option<(usize, usize)>>,
    pub refreshing: RwSignal<bool>,
    /// The last refresh failed: why.
    pub failure: RwSignal<Option<String>>,
    /// The event stream is connected.
    pub connected: RwSignal<bool>,
    /// The writes of the remediation being applied, as the server reports them (the wizard
    /// clears it before it applies).
    pub apply_steps: RwSignal<Vec<ApplyStep>>,
}

impl EventsContext {
    pub fn apply(&self, event: ServerEvent) {
        match event {
            ServerEvent::RefreshProgress { done, total, .. } => {
                self.refreshing.set(true);
                self.progress.set(Some((done, total)));
            }
            ServerEvent::SnapshotFinished { .. } => {
                self.refreshing.set(false);
                self.progress.set(None);
                self.failure.set(None);
                self.version.update(|v| *v += 1);
            }
            ServerEvent::SnapshotFailed { message, .. } => {
                self.refreshing.set(false);
                self.progress.set(None);
                self.failure.set(Some(message));
            }
            ServerEvent::WriteApplied { .. } => self.version.update(|v| *v += 1),
            ServerEvent::ApplyProgress { step, .. } => self.apply_steps.update(|steps| match steps
                .iter_mut()
                .find(|s| s.target.eq_ignore_ascii_case(&step.target))
            {
                Some(s) => *s = step,
                None => steps.push(step),
            }),
        }
    }
}

pub fn provide_events_context() -> EventsContext {
    let context = EventsContext {
        version: RwSignal::new(0),
        progress: RwSignal::new(None),
        refreshing: RwSignal::new(false),
        failure: RwSignal::new(None),
        connected: RwSignal::new(false),
        apply_steps: RwSignal::new(Vec::new()),
    };
    provide_context(context);
    context
}

pub fn expect_events() -> EventsContext {
    expect_context::<EventsContext>()
}

/// Opens `GET /api/events` (once signed in). The browser reconnects by itself after errors.
pub fn connect_events(context: EventsContext) -> Option<web_sys::EventSource> {
    let source = web_sys::EventSource::new(api::url::EVENTS).ok()?;
    let on_event =
        Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            if let Some(data) = event.data().as_string() {
                if let Ok(event) = serde_json::from_str::<ServerEvent>(&data) {
                    context.apply(event);
                }
            }
        });
    for name in [
        "refreshProgress",
        "snapshotFinished",
        "snapshotFailed",
        "writeApplied",
        "applyProgress",
        "message",
    ] {
        let _ = source.add_event_listener_with_callback(name, on_event.as_ref().unchecked_ref());
    }
    on_event.forget();
    let on_open = Closure::<dyn Fn()>::new(move || context.connected.set(true));
    source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    on_open.forget();
    let on_error = Closure::<dyn Fn()>::new(move || context.connected.set(false));
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();
    Some(source)
}
