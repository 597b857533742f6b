//! The Portcullis dashboard: the app shell and its routes.
pub mod api;
pub mod components;
pub mod format;
pub mod pages;
pub mod query;
pub mod state;
pub mod whatif;

use components::{app_header::AppHeader, app_nav::AppNav, require_auth::RequireAuth};
use leptos::prelude::*;
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};
use pages::{
    alerts::AlertsPage, audit::AuditPage, jit::JitPage, login::LoginPage, not_found::NotFound,
    overview::Overview, remediate::RemediatePage, trends::TrendsPage, vm_detail::VmDetailPage,
    vms::VmsPage,
};

#[component]
pub fn App() -> impl IntoView {
    let auth = state::provide_auth_context();
    state::provide_theme_context();
    let events = state::provide_events_context();
    // The live event stream, once signed in.
    Effect::new(move |source: Option<Option<web_sys::EventSource>>| {
        let signed_in = auth.me.with(Option::is_some);
        match source.flatten() {
            Some(source) if signed_in => Some(source),
            Some(source) => {
                source.close();
                None
            }
            None if signed_in => state::connect_events(events),
            None => None,
        }
    });
    view! {
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <AppHeader />
            <div class="app-body">
                <Show when=move || auth.me.with(Option::is_some)>
                    <AppNav />
                </Show>
                <main class="app-main" id="main" tabindex="-1">
                    <Routes fallback=NotFound>
                        <Route path=path!("/login") view=LoginPage />
                        <Route path=path!("/") view=|| view! { <RequireAuth><Overview /></RequireAuth> } />
                        <Route path=path!("/vms") view=|| view! { <RequireAuth><VmsPage /></RequireAuth> } />
                        <Route path=path!("/vms/:id") view=|| view! { <RequireAuth><VmDetailPage /></RequireAuth> } />
                        <Route path=path!("/remediate") view=|| view! { <RequireAuth><RemediatePage /></RequireAuth> } />
                        <Route path=path!("/trends") view=|| view! { <RequireAuth><TrendsPage /></RequireAuth> } />
                        <Route path=path!("/jit") view=|| view! { <RequireAuth><JitPage /></RequireAuth> } />
                        <Route path=path!("/alerts") view=|| view! { <RequireAuth><AlertsPage /></RequireAuth> } />
                        <Route path=path!("/audit") view=|| view! { <RequireAuth><AuditPage /></RequireAuth> } />
                    </Routes>
                </main>
            </div>
        </Router>
    }
}
