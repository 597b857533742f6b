use crate::state::{expect_theme, Theme};
use leptos::prelude::*;

/// Cycles the colour theme: system → light → dark.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    let theme = expect_theme().theme;
    let label = move || match theme.get() {
        Theme::System => "◐ System theme",
        Theme::Light => "☀ Light theme",
        Theme::Dark => "☾ Dark theme",
    };
    view! {
        <button
            class="button button-quiet theme-toggle"
            on:click=move |_| theme.update(|t| *t = t.next())
            title="Change the colour theme"
            data-testid="theme-toggle"
        >
            {label}
        </button>
    }
}
