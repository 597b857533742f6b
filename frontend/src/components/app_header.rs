use crate::components::theme_toggle::ThemeToggle;
use crate::state::expect_auth;
use leptos::prelude::*;

/// The bar at the top of every page: brand, theme toggle, who is signed in.
#[component]
pub fn AppHeader() -> impl IntoView {
    let auth = expect_auth();
    let sign_out = move |_| {
        leptos::task::spawn_local(async move {
            let _ = crate::api::logout(false).await;
            auth.set(None);
        });
    };
    // signed in with Entra ID: also end the Microsoft session (the identity provider's
    // end_session_endpoint, a full-page navigation)
    let sign_out_everywhere = move |_| {
        leptos::task::spawn_local(async move {
            match crate::api::logout(true).await {
                // the page is left for the directory's sign-out: no sign-in form in between
                Ok(Some(url)) if window().location().assign(&url).is_ok() => {}
                _ => auth.set(None),
            }
        });
    };
    view! {
        <header class="app-header">
            <a class="app-header-brand" href="/" data-testid="app-title">
                <img class="app-header-logo" src="/favicon.svg" alt="" width="28" height="28" />
                <span>"Portcullis"</span>
            </a>
            <span class="app-header-tagline">"Secure management ports for Azure VMs"</span>
            <span class="app-header-spacer"></span>
            <ThemeToggle />
            {move || auth.me.get().map(|me| view! {
                <span class="app-header-user" data-testid="current-user">
                    {me.username.clone()}
                    <span class="tag" data-testid="current-role">{me.role.as_str()}</span>
                </span>
                <button class="button button-quiet" on:click=sign_out data-testid="sign-out">"Sign out"</button>
                {(me.signed_in_with == "entra").then(|| view! {
                    <button class="button button-quiet" on:click=sign_out_everywhere data-testid="sign-out-microsoft"
                        title="Also sign out of your Microsoft account">"Sign out of Microsoft too"</button>
                })}
            })}
        </header>
    }
}
