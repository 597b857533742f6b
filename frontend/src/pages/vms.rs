use crate::api;
use crate::components::{
    empty_state::EmptyState, error_panel::ErrorPanel, loading::Loading, vm_table::VmTable,
};
use crate::format::{count, recommendation_short};
use crate::query::{self, filter_from_query, filter_to_query};
use crate::state::{expect_auth, expect_events};
use leptos::prelude::*;
use leptos_router::{
    components::A,
    hooks::{use_location, use_navigate},
    NavigateOptions,
};
use portcullis_shared::api::{SortOrder, SubscriptionSummary, VmFilter, VmSort};
use portcullis_shared::eval::report::RecommendationKey;

const PER_PAGE: u32 = 50;

/// `/vms`: every VM, filtered, sorted and paged by the server; the view lives in the URL.
#[component]
pub fn VmsPage() -> impl IntoView {
    let auth = expect_auth();
    let events = expect_events();
    let location = use_location();
    let navigate = use_navigate();
    let filter = Memo::new(move |_| filter_from_query(&location.search.get()));
    let set_filter = {
        let navigate = navigate.clone();
        Callback::new(move |f: VmFilter| {
            navigate(
                &format!("/vms{}", filter_to_query(&f)),
                NavigateOptions {
                    replace: true,
                    scroll: false,
                    ..Default::default()
                },
            );
        })
    };
    let posture = LocalResource::new(move || {
        events.version.track();
        let mut f = filter.get();
        f.per_page.get_or_insert(PER_PAGE);
        api::get_posture(f)
    });
    let subscriptions = RwSignal::new(Vec::<SubscriptionSummary>::new());
    Effect::new(move |_| {
        if let Some(Ok(p)) = posture.get() {
            if subscriptions.with_untracked(|s| s.len() != p.subscriptions.len()) {
                subscriptions.set(p.subscriptions.clone());
            }
        }
    });
    let on_sort = Callback::new(move |column: VmSort| {
        let mut f = filter.get_untracked();
        // the table shows name, ascending, when the URL names no sort: clicking that column
        // then reverses it, as for any column already sorted ascending
        let current = f.sort.unwrap_or(VmSort::Name);
        f.order = if current == column && f.order != Some(SortOrder::Desc) {
            Some(SortOrder::Desc)
        } else {
            Some(SortOrder::Asc)
        };
        f.sort = Some(column);
        f.page = None;
        set_filter.run(f);
    });
    let retry = Callback::new(move |_| posture.refetch());
    view! {
        <header class="page-header">
            <div>
                <h1>"Virtual machines"</h1>
                <p class="muted">"Filter, sort and share: the view is kept in the address bar."</p>
            </div>
            <div class="page-actions">
                <a class="button" href=move || api::url::vms_csv(&filter.get()) download="vms.csv" data-testid="csv-export">"⤓ Export CSV"</a>
                {move || auth.can_fix().then(|| view! {
                    <A href=move || format!("/remediate{}", filter_to_query(&VmFilter { page: None, per_page: None, ..filter.get() }))
                        attr:class="button button-primary" attr:data-testid="fix-these">"⚙ Fix these VMs"</A>
                })}
            </div>
        </header>
        <FilterBar filter set_filter subscriptions />
        <Transition fallback=|| view! { <Loading what="the VMs" /> }>
            <ErrorBoundary fallback=move |errors| view! { <ErrorPanel what="the VMs" errors retry /> }>
                {move || Suspend::new(async move {
                    posture.await.map(|posture| {
                        let f = filter.get_untracked();
                        let page = posture.vms.page.max(1);
                        let per_page = posture.vms.per_page.max(1);
                        let total = posture.vms.total;
                        let pages = total.div_ceil(per_page as usize).max(1) as u32;
                        let first = ((page - 1) * per_page) as usize + 1;
                        let last = (first + posture.vms.items.len()).saturating_sub(1);
                        view! {
                            <div class="table-meta">
                                <span data-testid="vm-count">{if total == 0 { "No VMs match".to_owned() } else { format!("{}–{} of {} VMs", count(first), count(last), count(total)) }}</span>
                            </div>
                            {if posture.vms.items.is_empty() {
                                view! { <EmptyState title="No VM matches these filters." hint="Clear a filter or the search to see more." /> }.into_any()
                            } else {
                                view! { <VmTable rows=posture.vms.items sort=f.sort.unwrap_or(VmSort::Name) order=f.order.unwrap_or(SortOrder::Asc) on_sort /> }.into_any()
                            }}
                            <Pager page pages filter set_filter />
                        }
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

/// The filters and the debounced text search; each change goes back to the first page.
#[component]
fn FilterBar(
    filter: Memo<VmFilter>,
    set_filter: Callback<VmFilter>,
    subscriptions: RwSignal<Vec<SubscriptionSummary>>,
) -> impl IntoView {
    let update = move |change: &dyn Fn(&mut VmFilter)| {
        // also called from the search's debounce timer, which may fire after the page is gone
        let Some(mut f) = filter.try_get_untracked() else {
            return;
        };
        change(&mut f);
        f.page = None;
        set_filter.try_run(f);
    };
    // Text search: debounced, so typing does not send a request per key.
    let search = RwSignal::new(filter.get_untracked().q.unwrap_or_default());
    let pending = StoredValue::new(None::<TimeoutHandle>);
    let on_search = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        search.set(value.clone());
        if let Some(handle) = pending.get_value() {
            handle.clear();
        }
        let handle = set_timeout_with_handle(
            move || update(&|f| f.q = Some(value.clone()).filter(|q| !q.trim().is_empty())),
            std::time::Duration::from_millis(200),
        )
        .ok();
        pending.set_value(handle);
    };
    view! {
        <div class="filter-bar card" role="search" data-testid="filter-bar">
            <label class="field field-grow">
                <span>"Search"</span>
                <input type="search" placeholder="Name, resource group, IP…" prop:value=move || search.get()
                    on:input=on_search data-testid="filter-q" />
            </label>
            <label class="field">
                <span>"Status"</span>
                <select data-testid="filter-status" on:change=move |ev| { let v = event_target_value(&ev); update(&|f| f.status = query::parse_status(&v)) }
                    prop:value=move || filter.get().status.map(|s| s.as_str()).unwrap_or("")>
                    <option value="">"Any"</option>
                    <option value="unhealthy">"✕ Unhealthy"</option>
                    <option value="healthy">"✓ Healthy"</option>
                    <option value="notApplicable">"– Not applicable"</option>
                </select>
            </label>
            <label class="field">
                <span>"Recommendation"</span>
                <select data-testid="filter-recommendation" on:change=move |ev| { let v = event_target_value(&ev); update(&|f| {
                        f.recommendation = query::parse_recommendation(&v);
                        if f.recommendation.is_none() { f.recommendation_status = None; }
                    }) }
                    prop:value=move || filter.get().recommendation.map(|r| r.as_str()).unwrap_or("")>
                    <option value="">"Any"</option>
                    {RecommendationKey::ALL.into_iter().map(|k| view! { <option value=k.as_str()>{recommendation_short(k)}</option> }).collect_view()}
                </select>
            </label>
            <label class="field">
                <span>"… is"</span>
                <select data-testid="filter-recommendation-status" disabled=move || filter.get().recommendation.is_none()
                    on:change=move |ev| { let v = event_target_value(&ev); update(&|f| f.recommendation_status = query::parse_status(&v)) }
                    prop:value=move || filter.get().recommendation_status.map(|s| s.as_str()).unwrap_or("unhealthy")>
                    <option value="unhealthy">"✕ Unhealthy"</option>
                    <option value="healthy">"✓ Healthy"</option>
                    <option value="notApplicable">"– Not applicable"</option>
                </select>
            </label>
            <label class="field">
                <span>"Subscription"</span>
                <select data-testid="filter-subscription" on:change=move |ev| { let v = event_target_value(&ev); update(&|f| f.subscription = Some(v.clone()).filter(|s| !s.is_empty())) }
                    prop:value=move || filter.get().subscription.unwrap_or_default()>
                    <option value="">"All"</option>
                    {move || subscriptions.get().into_iter().map(|s| view! { <option value=s.subscription_id.clone()>{s.display_name.clone()}</option> }).collect_view()}
                </select>
            </label>
            <label class="field">
                <span>"Way in"</span>
                <select data-testid="filter-path" on:change=move |ev| { let v = event_target_value(&ev); update(&|f| f.path = portcullis_shared::eval::report::PathKind::ALL.into_iter().find(|k| k.as_str() == v)) }
                    prop:value=move || filter.get().path.map(|k| k.as_str()).unwrap_or_default()>
                    <option value="">"Any"</option>
                    {portcullis_shared::eval::report::PathKind::ALL.into_iter().map(|k| view! { <option value=k.as_str()>{crate::format::path_kind_label(k)}</option> }).collect_view()}
                </select>
            </label>
            <label class="field field-check">
                <input type="checkbox" data-testid="filter-reachable" prop:checked=move || filter.get().reachable == Some(true)
                    on:change=move |ev| { let c = event_target_checked(&ev); update(&|f| f.reachable = c.then_some(true)) } />
                <span>"⊕ Reachable from the Internet"</span>
            </label>
            <button class="button button-quiet" on:click=move |_| { search.set(String::new()); set_filter.run(VmFilter::default()) } data-testid="filter-clear">"Clear"</button>
        </div>
    }
}

/// Previous and next page, and where the table is.
#[component]
fn Pager(
    page: u32,
    pages: u32,
    filter: Memo<VmFilter>,
    set_filter: Callback<VmFilter>,
) -> impl IntoView {
    let go = move |p: u32| {
        let mut f = filter.get_untracked();
        f.page = (p > 1).then_some(p);
        set_filter.run(f);
    };
    view! {
        <nav class="pager" aria-label="Pages">
            <button class="button" disabled={page <= 1} on:click=move |_| go(page - 1) data-testid="page-prev">"← Previous"</button>
            <span data-testid="page-info">{format!("Page {} of {}", count(page as usize), count(pages as usize))}</span>
            <button class="button" disabled={page >= pages} on:click=move |_| go(page + 1) data-testid="page-next">"Next →"</button>
        </nav>
    }
}
