//! The Portcullis dashboard: the app shell and its routes.
pub mod api;
pub mod components;
pub mod pages;

use components::app_header::AppHeader;
use leptos::prelude::*;
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};
use pages::{home::Home, not_found::NotFound};

#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <AppHeader />
            <main class="app-main">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=Home />
                </Routes>
            </main>
        </Router>
    }
}
