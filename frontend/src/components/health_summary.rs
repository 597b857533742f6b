use leptos::prelude::*;
use portcullis_shared::api::Health;

/// What `GET /api/health` said: status, version and data source.
#[component]
pub fn HealthSummary(health: Health) -> impl IntoView {
    let live = health.data_source == "azure";
    let source_note = if live {
        "Live Azure Resource Manager, with the configured service principal."
    } else {
        "The embedded ARM emulator with its demo tenant. Set an Azure credential to go live."
    };
    let status_class = if health.status == "ok" {
        "health-status health-status-ok"
    } else {
        "health-status health-status-bad"
    };
    view! {
        <dl class="health-summary">
            <div>
                <dt>"Status"</dt>
                <dd><span class=status_class data-testid="health-status">{health.status}</span></dd>
            </div>
            <div>
                <dt>"Version"</dt>
                <dd><code data-testid="health-version">{health.version}</code></dd>
            </div>
            <div class="health-summary-source">
                <dt>"Data source"</dt>
                <dd>
                    <span class="source-badge" class:source-badge-live=live data-testid="health-source">
                        {health.data_source}
                    </span>
                    <p class="health-summary-note">{source_note}</p>
                </dd>
            </div>
        </dl>
    }
}
