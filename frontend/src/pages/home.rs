use crate::{api, components::health_summary::HealthSummary};
use leptos::prelude::*;

/// `/`: what Portcullis is, and the server it talks to.
#[component]
pub fn Home() -> impl IntoView {
    let health = LocalResource::new(api::get_health);
    view! {
        <section class="intro">
            <h1>"Secure management ports"</h1>
            <p>
                "SSH (22), RDP (3389) and WinRM (5985/5986) on Azure VMs, evaluated exactly from "
                "their network security group rules: every verdict explained rule by rule, "
                "every fix previewed before it is applied."
            </p>
        </section>
        <section class="card" aria-labelledby="server-card-title">
            <h2 id="server-card-title">"Server"</h2>
            <Transition fallback=|| {
                view! { <p class="muted" data-testid="health-loading">"Contacting the server…"</p> }
            }>
                <ErrorBoundary fallback=|errors| {
                    view! {
                        <div class="error-box" role="alert" data-testid="health-error">
                            <strong>"The server did not answer as expected."</strong>
                            <ul>
                                {move || {
                                    errors
                                        .get()
                                        .into_iter()
                                        .map(|(_, error)| view! { <li>{error.to_string()}</li> })
                                        .collect_view()
                                }}
                            </ul>
                        </div>
                    }
                }>
                    {move || Suspend::new(async move {
                        health.await.map(|health| view! { <HealthSummary health /> })
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}
