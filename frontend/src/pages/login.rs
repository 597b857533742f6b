use crate::components::{error_panel::ErrorPanel, health_summary::HealthSummary};
use crate::{api, state::expect_auth};
use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};

/// The sign-in form (at `/login`, and in place of any page while signed out).
#[component]
pub fn LoginPage() -> impl IntoView {
    let auth = expect_auth();
    let navigate = use_navigate();
    let location = use_location();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let health = LocalResource::new(api::get_health);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if username.get_untracked().trim().is_empty() || password.get_untracked().is_empty() {
            error.set(Some("Enter your user name and password.".into()));
            return;
        }
        busy.set(true);
        error.set(None);
        let navigate = navigate.clone();
        let on_login_page = location.pathname.get_untracked() == "/login";
        leptos::task::spawn_local(async move {
            match api::login(
                username.get_untracked().trim().to_owned(),
                password.get_untracked(),
            )
            .await
            {
                Ok(me) => {
                    auth.set(Some(me));
                    if on_login_page {
                        navigate("/", Default::default());
                    }
                }
                Err(e) if e.is_unauthorized() => {
                    error.set(Some("Wrong user name or password.".into()))
                }
                Err(e) => error.set(Some(e.to_string())),
            }
            busy.set(false);
        });
    };
    // the server's sign-in methods: "Sign in with Microsoft" when Entra ID is configured (a
    // full-page navigation to /auth/login, hence rel=external), the form while local accounts
    // are on (shown until the server has answered)
    let methods = move || health.get().and_then(Result::ok).map(|h| h.sign_in);
    let microsoft = move || {
        methods().and_then(|m| m.microsoft).map(|label| {
            view! {
                <a class="button button-primary button-microsoft" href="/auth/login" rel="external"
                    data-testid="sign-in-microsoft">{label}</a>
                {move || methods().is_some_and(|m| m.local_accounts).then(|| view! {
                    <p class="login-or muted">"or with a local account"</p>
                })}
            }
        })
    };
    let local = move || methods().is_none_or(|m| m.local_accounts);
    view! {
        <div class="login">
            <section class="card login-card">
                <h1>"Sign in"</h1>
                <p class="muted">"Secure management ports: SSH, RDP and WinRM on your Azure VMs."</p>
                {microsoft}
                <form on:submit=submit class="form" data-testid="login-form" hidden=move || !local()>
                    <label class="field">
                        <span>"User name"</span>
                        <input type="text" autocomplete="username" required
                            bind:value=username data-testid="login-username" />
                    </label>
                    <label class="field">
                        <span>"Password"</span>
                        <input type="password" autocomplete="current-password" required
                            bind:value=password data-testid="login-password" />
                    </label>
                    {move || error.get().map(|e| view! { <p class="field-error" role="alert" data-testid="login-error">{e}</p> })}
                    <button type="submit" class="button button-primary" disabled=move || busy.get() data-testid="login-submit">
                        {move || if busy.get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </form>
            </section>
            <section class="card login-server" aria-labelledby="server-card-title">
                <h2 id="server-card-title">"Server"</h2>
                <Transition fallback=|| view! { <p class="muted" data-testid="health-loading">"Contacting the server…"</p> }>
                    <ErrorBoundary fallback=move |errors| view! {
                        <div data-testid="health-error">
                            <ErrorPanel what="the server's status" errors retry=Callback::new(move |_| health.refetch()) />
                        </div>
                    }>
                        {move || Suspend::new(async move {
                            health.await.map(|health| {
                                let demo = health.data_source == "emulator";
                                view! {
                                    <HealthSummary health />
                                    {demo.then(|| view! {
                                        <p class="muted login-demo">"Demo tenant: sign in as " <code>"viewer"</code> ", " <code>"operator"</code> " or " <code>"admin"</code> " with the demo password, or with Microsoft as someone in the demo directory."</p>
                                    })}
                                }
                            })
                        })}
                    </ErrorBoundary>
                </Transition>
            </section>
        </div>
    }
}
