//! Inventory snapshots: every subscription's VMs, NICs, public IPs, VNets, NSGs, ASGs and JIT
//! policies pulled through the ARM client into a [`portcullis_shared::Inventory`], a few list
//! calls at a time, with progress reports.
//!
//! CLI: `portcullis snapshot --out inventory.json [--arm-url URL]`; without Azure credentials
//! and without `--arm-url` it snapshots the embedded emulator's demo tenant.
use crate::arm::{api, ArmClient, ArmClientConfig, ArmError, Cloud, Credential};
use clap::{Args, ValueEnum};
use futures::stream::{self, StreamExt};
use portcullis_emulator::{spawn_emulator, EmulatorConfig};
use portcullis_shared::arm::{graph, id_key, Page, Resource};
use portcullis_shared::Inventory;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::hash::Hasher;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// One step done: `subscription X: 3/7 resource types`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub subscription_id: String,
    pub subscription_name: String,
    pub resource_type: &'static str,
    pub done: usize,
    pub total: usize,
}

impl std::fmt::Display for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "subscription {} ({}): {}/{} resource types ({} done)",
            self.subscription_name, self.subscription_id, self.done, self.total, self.resource_type
        )
    }
}

/// The resource types of a snapshot, with their list paths (relative to the subscription).
pub use portcullis_shared::arm::versions::SNAPSHOT_LISTS as RESOURCE_TYPES;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: String,
    pub name: String,
}

pub async fn list_subscriptions(client: &ArmClient) -> Result<Vec<Subscription>, ArmError> {
    let subs: Vec<Value> = client
        .list(&format!(
            "/subscriptions?api-version={}",
            api::SUBSCRIPTIONS
        ))
        .await?;
    Ok(subs
        .iter()
        .filter_map(|s| {
            let id = s["subscriptionId"].as_str()?.to_string();
            let name = s["displayName"].as_str().unwrap_or(&id).to_string();
            Some(Subscription { id, name })
        })
        .collect())
}

/// Everything of every subscription, at most `concurrency` list calls at a time. Lists are
/// sorted by id, so two snapshots of the same state are equal.
pub async fn take_snapshot(
    client: &ArmClient,
    concurrency: usize,
    progress: &(dyn Fn(&Progress) + Send + Sync),
) -> Result<Inventory, ArmError> {
    take_snapshot_from(client, concurrency, progress, Source::Auto).await
}

/// Where a snapshot's resources come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Source {
    /// Resource Graph past [`graph_threshold`] subscriptions, list calls below.
    #[default]
    Auto,
    /// Azure Resource Graph: the VNets per row, then every other type packed, one row per
    /// subscription and type, in batches of subscriptions sized to Resource Graph's largest
    /// answer (JIT policies, rule collection groups and effective admin rules still by their own
    /// calls). Falls back to `graph-rows` where Resource Graph refuses the packed summary.
    Graph,
    /// Azure Resource Graph, one resource per row and per type, paged.
    GraphRows,
    /// Per-subscription list calls.
    Lists,
}

/// Subscriptions past which `auto` reads through Resource Graph (`PORTCULLIS_GRAPH_THRESHOLD`,
/// default 20).
pub fn graph_threshold() -> usize {
    std::env::var("PORTCULLIS_GRAPH_THRESHOLD")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

/// Subscriptions per Resource Graph query.
const GRAPH_BATCH: usize = 100;

/// Every resource type but JIT policies (which Resource Graph does not carry) through Resource
/// Graph: `packed`, the VNets per row and the rest in packed summaries ([`packed_reads`]);
/// otherwise per type, one resource per row, in subscription batches. JIT policies by list calls,
/// `concurrency` at a time. Each type's rows are typed into the inventory as soon as they arrive.
/// Resource Graph's quota (15 queries per 5 s) leaves the connection idle most of the time, so
/// the JIT lists and the effective admin rules of the VNets (queried first) are read meanwhile;
/// those rules are returned beside the inventory.
async fn graph_lists(
    client: &ArmClient,
    subs: &[Subscription],
    management_group: Option<&str>,
    concurrency: usize,
    progress: &(dyn Fn(&Progress) + Send + Sync),
    reuse: Option<&Reuse<'_>>,
    packed: bool,
) -> Result<(Inventory, Vec<Value>), ArmError> {
    const JIT: &str = "jitNetworkAccessPolicies";
    let ids: Vec<String> = subs.iter().map(|s| s.id.clone()).collect();
    let done = AtomicUsize::new(0);
    let type_done = |name: &'static str| {
        progress(&Progress {
            subscription_id: "*".into(),
            subscription_name: format!("{} subscriptions through Resource Graph", subs.len()),
            resource_type: name,
            done: done.fetch_add(1, Ordering::SeqCst) + 1,
            total: RESOURCE_TYPES.len(),
        });
    };
    // the VNets first, so that their admin rules are read while the other types page in
    let mut order: Vec<&(&'static str, &'static str, &'static str)> =
        RESOURCE_TYPES.iter().filter(|t| t.0 != JIT).collect();
    order.sort_by_key(|t| t.0 != "virtualNetworks");
    let (vnets_tx, vnets_rx) = tokio::sync::oneshot::channel::<Vec<String>>();
    let graph = async {
        let mut inv = Inventory::default();
        let mut vnets_tx = Some(vnets_tx);
        // packed: the VNets alone (their admin rules are read meanwhile), then every other type
        // in one summary per batch of subscriptions
        let (row_types, packed_types): (Vec<_>, Vec<_>) = order
            .into_iter()
            .partition(|t| !packed || t.0 == "virtualNetworks");
        for &(name, path, _) in row_types {
            graph_rows(client, name, path, management_group, &ids, &mut inv, reuse).await?;
            if name == "virtualNetworks" {
                if let Some(tx) = vnets_tx.take() {
                    let _ = tx.send(inv.virtual_networks.iter().map(|v| v.id.clone()).collect());
                }
            }
            type_done(name);
        }
        if !packed_types.is_empty() {
            // a management group's subscriptions, of those the credential sees
            let in_scope = match management_group {
                None => Some(ids.clone()),
                Some(mg) => group_subscriptions(client, mg).await.map(|under| {
                    ids.iter()
                        .filter(|s| under.contains(&s.to_ascii_lowercase()))
                        .cloned()
                        .collect()
                }),
            };
            let unread = match &in_scope {
                Some(subs) => {
                    Some(packed_reads(client, subs, &packed_types, &mut inv, reuse).await?)
                        .filter(|u| !u.is_empty())
                }
                None => None,
            };
            for &(name, path, _) in &packed_types {
                match (&in_scope, &unread) {
                    // read packed
                    (Some(_), None) => {}
                    // Resource Graph refused the packed form: these subscriptions per row
                    (_, Some(unread)) => {
                        graph_rows(client, name, path, None, unread, &mut inv, reuse).await?
                    }
                    // the group's subscriptions are unknown: per row at the group
                    (None, None) => {
                        graph_rows(client, name, path, management_group, &ids, &mut inv, reuse)
                            .await?
                    }
                }
                type_done(name);
            }
        }
        Ok::<_, ArmError>(inv)
    };
    let jit = async {
        let (_, path, version) = RESOURCE_TYPES
            .iter()
            .find(|t| t.0 == JIT)
            .expect("JIT policies are a snapshot list");
        let lists: Vec<Vec<Value>> = stream::iter(subs)
            .map(|s| async move {
                let path = format!("/subscriptions/{}/{path}?api-version={version}", s.id);
                client.list::<Value>(&path).await
            })
            .buffer_unordered(concurrency.max(1))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        type_done(JIT);
        Ok::<_, ArmError>(lists.into_iter().flatten().collect::<Vec<Value>>())
    };
    let admin = async {
        match vnets_rx.await {
            Ok(vnets) => admin_rules(client, &vnets, concurrency).await,
            // the queries failed before the VNets were read: their error is the answer
            Err(_) => Ok(Vec::new()),
        }
    };
    let (mut inv, jit, admin) = tokio::try_join!(graph, jit, admin)?;
    append(&mut inv, JIT, jit, None)?;
    Ok((inv, admin))
}

/// One resource type's rows through Resource Graph, one resource per row and 1,000 a page: at
/// the management group when given, else over `subs` in batches.
async fn graph_rows(
    client: &ArmClient,
    name: &'static str,
    path: &str,
    management_group: Option<&str>,
    subs: &[String],
    inv: &mut Inventory,
    reuse: Option<&Reuse<'_>>,
) -> Result<(), ArmError> {
    let query = graph::rows_query(path.trim_start_matches("providers/"));
    let mut on_page = |rows: Vec<Value>| append(inv, name, rows, reuse);
    match management_group {
        Some(mg) => {
            client
                .graph_query_pages(&[], Some(mg), &query, &mut on_page)
                .await
        }
        None => {
            for batch in subs.chunks(GRAPH_BATCH) {
                client
                    .graph_query_pages(batch, None, &query, &mut on_page)
                    .await?;
            }
            Ok(())
        }
    }
}

/// The subscriptions beneath a management group (lower case), from its descendants; `None`
/// when they cannot be read (the snapshot then queries Resource Graph at the group, per row).
async fn group_subscriptions(client: &ArmClient, mg: &str) -> Option<HashSet<String>> {
    let path = format!(
        "/providers/Microsoft.Management/managementGroups/{mg}/descendants?api-version={}",
        api::MANAGEMENT_GROUPS
    );
    match client.list::<Value>(&path).await {
        Ok(items) => Some(
            items
                .iter()
                .filter(|d| d["type"].as_str() == Some("/subscriptions"))
                .filter_map(|d| d["name"].as_str().map(str::to_ascii_lowercase))
                .collect(),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the subscriptions of management group {mg}: Resource Graph is read per row at the group");
            None
        }
    }
}

/// Packed answers aim at three quarters of Resource Graph's largest ([`graph::PAYLOAD_LIMIT`]):
/// the batches are sized from the last answer's bytes per resource (with a tenth more), and
/// subscriptions differ; a batch that answers too much is split.
const PACKED_TARGET: usize = graph::PAYLOAD_LIMIT / 4 * 3;

/// Bytes a resource is taken to need in a packed answer until an answer has measured them.
const PACKED_FIRST_GUESS: usize = 4096;

/// Resource Graph said no to the query itself (not to its size, not a throttle): a tenant
/// whose Resource Graph does not take the packed form.
fn refused(e: &ArmError) -> bool {
    matches!(e, ArmError::Api { status: 400, .. }) && !e.is_payload_too_large()
}

/// Every resource of `types` in `subs` through packed Resource Graph summaries
/// ([`graph::packed_query`]): first how many resources each subscription holds
/// ([`graph::count_query`], 100 subscriptions a query), then batches of whole subscriptions
/// sized to answer about [`PACKED_TARGET`] bytes and at most 1,000 rows (a summary has one page).
/// An answer over Resource Graph's limit (`ResponsePayloadTooLarge`) splits its batch in two; a
/// single subscription over it is read per row. Each row is checked (its subscription in the
/// batch, its type asked for, its list as long as its count) and typed into `inv` at once.
/// Returns the subscriptions left unread because Resource Graph refused the packed form
/// (the caller reads them per row).
async fn packed_reads(
    client: &ArmClient,
    subs: &[String],
    types: &[&(&'static str, &'static str, &'static str)],
    inv: &mut Inventory,
    reuse: Option<&Reuse<'_>>,
) -> Result<Vec<String>, ArmError> {
    let provider: Vec<String> = types
        .iter()
        .map(|t| t.1.trim_start_matches("providers/").to_ascii_lowercase())
        .collect();
    let provider_refs: Vec<&str> = provider.iter().map(String::as_str).collect();
    let name_of = |ty: &str| {
        provider
            .iter()
            .position(|p| p.eq_ignore_ascii_case(ty))
            .map(|i| types[i].0)
    };
    // a count answers one row per subscription and type, on one page
    let per_count = (graph::MAX_ROWS / types.len().max(1)).clamp(1, GRAPH_BATCH);
    // resources and summary rows per subscription
    let count_query = graph::count_query(&provider_refs);
    let mut counts: HashMap<String, (usize, usize)> = HashMap::new();
    for chunk in subs.chunks(per_count) {
        let rows = match client.graph_summary(chunk, &count_query).await {
            Ok((rows, _)) => rows,
            Err(e) if refused(&e) => {
                tracing::warn!(error = %e, "Resource Graph refused the count summary: reading per row");
                return Ok(subs.to_vec());
            }
            Err(e) => return Err(e),
        };
        for (i, row) in rows.iter().enumerate() {
            let bad = |field: &str| {
                ArmError::Decode(format!(
                    "Resource Graph query {count_query:?}, page 1: data[{i}].{field} is missing or malformed"
                ))
            };
            let sub = row["subscriptionId"]
                .as_str()
                .ok_or_else(|| bad("subscriptionId"))?;
            let n = row["n"].as_u64().ok_or_else(|| bad("n"))? as usize;
            let c = counts.entry(sub.to_ascii_lowercase()).or_default();
            c.0 += n;
            c.1 += 1;
        }
    }
    let packed_query = graph::packed_query(&provider_refs);
    // (id, resources, rows) of the subscriptions that hold any
    let mut rest = subs
        .iter()
        .filter_map(|s| {
            let &(n, rows) = counts.get(&s.to_ascii_lowercase())?;
            (n > 0).then(|| (s.clone(), n, rows))
        })
        .peekable();
    let mut split: std::collections::VecDeque<Vec<(String, usize, usize)>> = Default::default();
    let mut per_resource = PACKED_FIRST_GUESS;
    loop {
        let batch = match split.pop_front() {
            Some(b) => b,
            None => {
                let mut b: Vec<(String, usize, usize)> = Vec::new();
                let (mut n, mut rows) = (0, 0);
                while let Some(next) = rest.peek() {
                    let fits = (n + next.1) * per_resource <= PACKED_TARGET
                        && rows + next.2 <= graph::MAX_ROWS
                        && b.len() < GRAPH_BATCH;
                    if !b.is_empty() && !fits {
                        break;
                    }
                    n += next.1;
                    rows += next.2;
                    b.extend(rest.next());
                }
                if b.is_empty() {
                    return Ok(Vec::new());
                }
                b
            }
        };
        let ids: Vec<String> = batch.iter().map(|b| b.0.clone()).collect();
        let resources: usize = batch.iter().map(|b| b.1).sum();
        match client.graph_summary(&ids, &packed_query).await {
            Ok((rows, size)) => {
                per_resource = (size / resources.max(1)).max(64) * 11 / 10;
                for (i, row) in rows.into_iter().enumerate() {
                    let (name, items) = packed_row(row, i, &ids, &name_of, &packed_query)?;
                    append(inv, name, items, reuse)?;
                }
            }
            Err(e) if e.is_payload_too_large() && batch.len() > 1 => {
                tracing::debug!(
                    subscriptions = batch.len(),
                    "packed answer too large: splitting the batch"
                );
                per_resource *= 2;
                let mut a = batch;
                let b = a.split_off(a.len() / 2);
                split.push_front(b);
                split.push_front(a);
            }
            Err(e) if e.is_payload_too_large() => {
                tracing::debug!(subscription = %ids[0], "one subscription over Resource Graph's answer limit: per row");
                for &&(name, path, _) in types {
                    graph_rows(client, name, path, None, &ids, inv, reuse).await?;
                }
            }
            Err(e) if refused(&e) => {
                tracing::warn!(error = %e, "Resource Graph refused the packed summary: reading per row");
                let mut unread = ids;
                unread.extend(split.into_iter().flatten().map(|b| b.0));
                unread.extend(rest.map(|b| b.0));
                return Ok(unread);
            }
            Err(e) => return Err(e),
        }
    }
}

/// Row `i` of a packed answer to `query` over the subscriptions `ids`, checked: its
/// subscription is one asked for, its type one asked for (`name_of` gives its snapshot list),
/// and its list of resources as long as its count (a list cut short would drop resources
/// silently). Returns the list's name and the resources.
fn packed_row(
    mut row: Value,
    i: usize,
    ids: &[String],
    name_of: &dyn Fn(&str) -> Option<&'static str>,
    query: &str,
) -> Result<(&'static str, Vec<Value>), ArmError> {
    let bad = |field: &str| {
        ArmError::Decode(format!(
            "Resource Graph query {query:?} ({} subscriptions from {}), page 1: data[{i}].{field}",
            ids.len(),
            ids.first().map_or("", String::as_str)
        ))
    };
    let sub = row["subscriptionId"].as_str().unwrap_or_default();
    if !ids.iter().any(|s| s.eq_ignore_ascii_case(sub)) {
        return Err(bad("subscriptionId is missing or not one asked for"));
    }
    let name = row["type"]
        .as_str()
        .and_then(name_of)
        .ok_or_else(|| bad("type is missing or not one asked for"))?;
    let n = row["n"]
        .as_u64()
        .ok_or_else(|| bad("n is missing or malformed"))?;
    let Value::Array(items) = row["rows"].take() else {
        return Err(bad("rows is missing or malformed"));
    };
    if items.len() as u64 != n {
        return Err(bad(&format!(
            "rows holds {} resources for a count of {n} (the list was cut short)",
            items.len()
        )));
    }
    Ok((name, items))
}

/// Appends `items`, ARM JSON of the resource type `name` (one of [`RESOURCE_TYPES`]), to its
/// list in `inv`, typing them one by one: each JSON value is dropped as soon as it is read, so a
/// large snapshot never holds all of its rows as JSON at once.
/// Resources unchanged since `reuse`'s snapshot share its properties.
fn append(
    inv: &mut Inventory,
    name: &str,
    items: Vec<Value>,
    reuse: Option<&Reuse<'_>>,
) -> Result<(), ArmError> {
    append_at(inv, name, items, 0, reuse)
}

/// [`append`], the first item being the `first`-th of its list (for error messages).
fn append_at(
    inv: &mut Inventory,
    name: &str,
    items: Vec<Value>,
    first: usize,
    reuse: Option<&Reuse<'_>>,
) -> Result<(), ArmError> {
    fn typed_into<T: DeserializeOwned>(
        list: &mut Vec<T>,
        items: Vec<Value>,
        what: &str,
        first: usize,
    ) -> Result<(), ArmError> {
        typed_sharing(list, items, what, first, |_| {})
    }
    fn typed_sharing<T: DeserializeOwned>(
        list: &mut Vec<T>,
        items: Vec<Value>,
        what: &str,
        first: usize,
        share: impl Fn(&mut T),
    ) -> Result<(), ArmError> {
        list.reserve(items.len());
        for (i, v) in items.into_iter().enumerate() {
            let i = first + i;
            let id = v["id"].as_str().unwrap_or_default().to_string();
            let mut r = serde_json::from_value(v)
                .map_err(|e| ArmError::Decode(format!("{what}[{i}] {id:?}: {e}")))?;
            share(&mut r);
            list.push(r);
        }
        Ok(())
    }
    macro_rules! sharing {
        ($list:ident, $index:ident) => {
            typed_sharing(&mut inv.$list, items, name, first, |r| {
                if let Some(reuse) = reuse {
                    Reuse::share(&reuse.$index, &reuse.prev.$list, r);
                }
            })
        };
    }
    match name {
        "virtualMachines" => sharing!(virtual_machines, vms),
        "networkInterfaces" => sharing!(network_interfaces, nics),
        "publicIPAddresses" => sharing!(public_ip_addresses, pips),
        "virtualNetworks" => typed_into(&mut inv.virtual_networks, items, name, first),
        "networkSecurityGroups" => sharing!(network_security_groups, nsgs),
        "applicationSecurityGroups" => {
            typed_into(&mut inv.application_security_groups, items, name, first)
        }
        "jitNetworkAccessPolicies" => {
            typed_into(&mut inv.jit_network_access_policies, items, name, first)
        }
        "loadBalancers" => typed_into(&mut inv.load_balancers, items, name, first),
        "azureFirewalls" => typed_into(&mut inv.azure_firewalls, items, name, first),
        "bastionHosts" => typed_into(&mut inv.bastion_hosts, items, name, first),
        "applicationGateways" => typed_into(&mut inv.application_gateways, items, name, first),
        other => Err(ArmError::Decode(format!(
            "{other}: not a resource type of the snapshot"
        ))),
    }
}

/// Moves every resource of `part` to the end of its list in `inv`.
fn merge(inv: &mut Inventory, mut part: Inventory) {
    macro_rules! lists {
        ($($list:ident),*) => { $( inv.$list.append(&mut part.$list); )* };
    }
    lists!(
        virtual_machines,
        network_interfaces,
        public_ip_addresses,
        virtual_networks,
        network_security_groups,
        application_security_groups,
        jit_network_access_policies,
        load_balancers,
        azure_firewalls,
        bastion_hosts,
        application_gateways
    );
}

/// What a snapshot reads: some subscriptions, or a management group (then every subscription
/// the credential sees, with Resource Graph queried at the group); empty: every subscription.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub subscriptions: Vec<String>,
    pub management_group: Option<String>,
}

impl Scope {
    /// `--scope SUB,SUB` or `--scope managementGroups/NAME`.
    pub fn parse(items: &[String]) -> Result<Scope, String> {
        let mut scope = Scope::default();
        for (i, item) in items
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .enumerate()
        {
            let lower = item.to_ascii_lowercase();
            if let Some(name) = lower
                .strip_prefix("managementgroups/")
                .or_else(|| lower.strip_prefix("/providers/microsoft.management/managementgroups/"))
            {
                if name.is_empty() || scope.management_group.is_some() {
                    return Err(format!(
                        "scope[{i}]: {item:?}: one management group, by name"
                    ));
                }
                scope.management_group = Some(item[item.len() - name.len()..].to_string());
            } else {
                let id = item.trim_start_matches("/subscriptions/");
                let guid = id.len() == 36
                    && id.chars().enumerate().all(|(k, c)| {
                        if [8, 13, 18, 23].contains(&k) {
                            c == '-'
                        } else {
                            c.is_ascii_hexdigit()
                        }
                    });
                if !guid {
                    return Err(format!(
                        "scope[{i}]: {item:?} is not a subscription id or managementGroups/NAME"
                    ));
                }
                scope.subscriptions.push(id.to_ascii_lowercase());
            }
        }
        if scope.management_group.is_some() && !scope.subscriptions.is_empty() {
            return Err("scope: subscriptions or a management group, not both".into());
        }
        Ok(scope)
    }
}

/// [`take_snapshot`] from a chosen source, over every subscription.
pub async fn take_snapshot_from(
    client: &ArmClient,
    concurrency: usize,
    progress: &(dyn Fn(&Progress) + Send + Sync),
    source: Source,
) -> Result<Inventory, ArmError> {
    take_snapshot_scoped(client, concurrency, progress, source, &Scope::default()).await
}

/// [`take_snapshot`] from a chosen source, within a scope.
pub async fn take_snapshot_scoped(
    client: &ArmClient,
    concurrency: usize,
    progress: &(dyn Fn(&Progress) + Send + Sync),
    source: Source,
    scope: &Scope,
) -> Result<Inventory, ArmError> {
    take_snapshot_sharing(client, concurrency, progress, source, scope, None).await
}

/// [`take_snapshot_scoped`], sharing with `previous` (the last snapshot, kept beside the new
/// one) the properties of every VM, NIC, public IP and NSG that has not changed since: read and
/// typed page by page, each one found equal is dropped at once for the previous one's. A
/// refresh of an unchanged 100k-VM tenant then holds those properties once, not twice.
pub async fn take_snapshot_sharing(
    client: &ArmClient,
    concurrency: usize,
    progress: &(dyn Fn(&Progress) + Send + Sync),
    source: Source,
    scope: &Scope,
    previous: Option<&Inventory>,
) -> Result<Inventory, ArmError> {
    let mut subs = list_subscriptions(client).await?;
    if !scope.subscriptions.is_empty() {
        subs.retain(|s| scope.subscriptions.contains(&s.id.to_ascii_lowercase()));
    }
    let graph = match source {
        Source::Graph | Source::GraphRows => true,
        Source::Lists => false,
        Source::Auto => scope.management_group.is_some() || subs.len() > graph_threshold(),
    };
    let reuse = previous.map(Reuse::new);
    let reuse = reuse.as_ref();
    let (inv, admin) = if graph {
        let mg = scope.management_group.as_deref();
        let (inv, admin) = graph_lists(
            client,
            &subs,
            mg,
            concurrency,
            progress,
            reuse,
            source != Source::GraphRows,
        )
        .await?;
        (inv, Some(admin))
    } else {
        (
            list_calls(client, &subs, concurrency, progress, reuse).await?,
            None,
        )
    };
    assemble(client, concurrency, inv, admin).await
}

/// The previous snapshot's VMs, NICs, public IPs and NSGs by a hash of their ids' keys
/// ([`id_key`]), for [`Resource::share_properties`]. A hash collision costs a missed share only:
/// properties are shared when they are equal, whoever they belong to.
struct Reuse<'a> {
    prev: &'a Inventory,
    vms: HashMap<u64, u32>,
    nics: HashMap<u64, u32>,
    pips: HashMap<u64, u32>,
    nsgs: HashMap<u64, u32>,
}

impl<'a> Reuse<'a> {
    fn new(prev: &'a Inventory) -> Self {
        fn index<P>(list: &[Resource<P>]) -> HashMap<u64, u32> {
            list.iter()
                .enumerate()
                .map(|(i, r)| (key_hash(&r.id), i as u32))
                .collect()
        }
        Self {
            prev,
            vms: index(&prev.virtual_machines),
            nics: index(&prev.network_interfaces),
            pips: index(&prev.public_ip_addresses),
            nsgs: index(&prev.network_security_groups),
        }
    }

    fn share<P: PartialEq>(
        index: &HashMap<u64, u32>,
        prev: &[Resource<Arc<P>>],
        r: &mut Resource<Arc<P>>,
    ) {
        if let Some(old) = index
            .get(&key_hash(&r.id))
            .and_then(|&i| prev.get(i as usize))
        {
            r.share_properties(old);
        }
    }
}

/// A hash of an id's key ([`id_key`]: trimmed, without a trailing `/`, ASCII lower-cased),
/// without building the key.
fn key_hash(id: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for b in id.trim().trim_end_matches('/').bytes() {
        h.write_u8(b.to_ascii_lowercase());
    }
    h.finish()
}

/// Every resource type of every subscription by list calls, `concurrency` at a time.
async fn list_calls(
    client: &ArmClient,
    subs: &[Subscription],
    concurrency: usize,
    progress: &(dyn Fn(&Progress) + Send + Sync),
    reuse: Option<&Reuse<'_>>,
) -> Result<Inventory, ArmError> {
    let done: Mutex<HashMap<String, usize>> = Mutex::new(HashMap::new());
    let jobs = subs
        .iter()
        .flat_map(|s| RESOURCE_TYPES.iter().map(move |t| (s, *t)));
    let mut inv = Inventory::default();
    let mut stream = stream::iter(jobs)
        .map(|(sub, (name, path, version))| {
            let done = &done;
            async move {
                // typed page by page: a 100k-VM subscription is never held as JSON values
                let mut part = Inventory::default();
                let mut seen = 0;
                client
                    .list_each(
                        &format!("/subscriptions/{}/{path}?api-version={version}", sub.id),
                        |items: Vec<Value>| {
                            let n = items.len();
                            append_at(&mut part, name, items, seen, reuse)?;
                            seen += n;
                            Ok(())
                        },
                    )
                    .await?;
                let n = {
                    let mut d = done.lock().unwrap_or_else(|e| e.into_inner());
                    let n = d.entry(sub.id.clone()).or_default();
                    *n += 1;
                    *n
                };
                progress(&Progress {
                    subscription_id: sub.id.clone(),
                    subscription_name: sub.name.clone(),
                    resource_type: name,
                    done: n,
                    total: RESOURCE_TYPES.len(),
                });
                Ok::<_, ArmError>(part)
            }
        })
        .buffer_unordered(concurrency.max(1));
    while let Some(part) = stream.next().await {
        merge(&mut inv, part?);
    }
    Ok(inv)
}

/// The inventory from the rows per type, with the firewall policies' rule collection groups and
/// each VNet's effective security admin rules (`admin`, or read now when `None`).
async fn assemble(
    client: &ArmClient,
    concurrency: usize,
    mut inv: Inventory,
    admin: Option<Vec<Value>>,
) -> Result<Inventory, ArmError> {
    fn typed<T: DeserializeOwned>(items: Vec<Value>, what: &str) -> Result<Vec<T>, ArmError> {
        let mut items = items;
        items.sort_by_key(|v| v["id"].as_str().map(id_key).unwrap_or_default());
        let page: Page<T> = serde_json::from_value(serde_json::json!({ "value": items }))
            .map_err(|e| ArmError::Decode(format!("{what}: {e}")))?;
        Ok(page.value)
    }
    // the same order whatever the source and the order of the answers: by id
    macro_rules! by_id {
        ($($list:ident),*) => { $( inv.$list.sort_by_cached_key(|r| id_key(&r.id)); )* };
    }
    by_id!(
        virtual_machines,
        network_interfaces,
        public_ip_addresses,
        virtual_networks,
        network_security_groups,
        application_security_groups,
        jit_network_access_policies,
        load_balancers,
        azure_firewalls,
        bastion_hosts,
        application_gateways
    );
    // the firewall policies the firewalls use and their base policies, and the rule collection
    // groups of each (a base policy's DNAT rules come before its child's)
    let mut policies: Vec<String> = inv
        .azure_firewalls
        .iter()
        .filter_map(|f| f.properties.firewall_policy.as_ref()?.id.clone())
        .collect();
    policies.sort_by_key(|p| id_key(p));
    policies.dedup_by_key(|p| id_key(p));
    let (found, bases) = firewall_policies(client, &policies, concurrency).await?;
    // every policy a firewall uses (an error listing its groups is the snapshot's, as ever),
    // and the base policies that could be read
    policies.extend(bases);
    let groups: Vec<Vec<Value>> = stream::iter(policies.iter())
        .map(|p| async move {
            client
                .list::<Value>(&format!(
                    "{}/ruleCollectionGroups?api-version={}",
                    p.trim_end_matches('/'),
                    api::NETWORK
                ))
                .await
        })
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    inv.firewall_policy_rule_collection_groups = typed(
        groups.into_iter().flatten().collect(),
        "firewallPolicyRuleCollectionGroups",
    )?;
    inv.firewall_policies = typed(found, "firewallPolicies")?;
    let ids = portcullis_shared::arm::dnat_ip_groups(
        &inv.azure_firewalls,
        &inv.firewall_policy_rule_collection_groups,
    );
    let groups = get_each(client, &ids, concurrency).await?;
    inv.ip_groups = typed(groups, "ipGroups")?;
    // Virtual Network Manager: the effective security admin rules of every VNet
    let admin = match admin {
        Some(admin) => admin,
        None => {
            let vnets: Vec<String> = inv.virtual_networks.iter().map(|v| v.id.clone()).collect();
            admin_rules(client, &vnets, concurrency).await?
        }
    };
    inv.network_manager_effective_security_admin_rules =
        typed(admin, "networkManagerEffectiveSecurityAdminRules")?;
    inv.network_manager_effective_security_admin_rules
        .sort_by_key(|a| a.virtual_network.id.as_deref().map(id_key));
    // the lists grew by appending pages (capacity doubling): the snapshot is kept until the
    // next one, and during a refresh beside it
    inv.shrink_to_fit();
    Ok(inv)
}

/// The effective security admin rules of each VNet that has some, `concurrency` VNets at a time.
/// Each resource of `ids` by id, `concurrency` at a time, in no set order; one that cannot be
/// read (gone, or not readable with this credential: 404, 403) is left out, for the evaluation
/// to warn about.
async fn get_each(
    client: &ArmClient,
    ids: &[String],
    concurrency: usize,
) -> Result<Vec<Value>, ArmError> {
    let read: Vec<Option<Value>> = stream::iter(ids)
        .map(|id| async move {
            let path = format!("{}?api-version={}", id.trim_end_matches('/'), api::NETWORK);
            match client.get::<Value>(&path).await {
                Ok(v) => Ok(Some(v)),
                Err(ArmError::Api {
                    status: 403 | 404, ..
                }) => Ok(None),
                Err(e) => Err(e),
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    Ok(read.into_iter().flatten().collect())
}

/// The firewall policies `used` (by firewalls) and their base policies, read by id level by level
/// (`basePolicy` may name a policy in a subscription outside the snapshot's scope), with the ids
/// of the base policies read. A policy that cannot be read is left out: the evaluation then
/// warns that the chain of base policies stops there.
async fn firewall_policies(
    client: &ArmClient,
    used: &[String],
    concurrency: usize,
) -> Result<(Vec<Value>, Vec<String>), ArmError> {
    let mut seen: HashSet<String> = used.iter().map(|p| id_key(p)).collect();
    let (mut found, mut bases) = (Vec::new(), Vec::new());
    let mut level: Vec<String> = used.to_vec();
    while !level.is_empty() {
        let mut next = Vec::new();
        for policy in get_each(client, &level, concurrency).await? {
            let id = policy["id"].as_str().unwrap_or_default().to_string();
            if !used.iter().any(|u| id_key(u) == id_key(&id)) {
                bases.push(id);
            }
            if let Some(base) = policy["properties"]["basePolicy"]["id"].as_str() {
                if seen.insert(id_key(base)) {
                    next.push(base.to_string());
                }
            }
            found.push(policy);
        }
        level = next;
    }
    Ok((found, bases))
}

async fn admin_rules(
    client: &ArmClient,
    vnets: &[String],
    concurrency: usize,
) -> Result<Vec<Value>, ArmError> {
    let admin: Vec<Option<Value>> = stream::iter(vnets)
        .map(|v| effective_admin_rules(client, v))
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    Ok(admin.into_iter().flatten().collect())
}

/// `POST {vnet}/listNetworkManagerEffectiveSecurityAdminRules`, following `skipToken`, as an
/// inventory item; `None` when the VNet has no rules (no network manager manages it: ARM then
/// answers an empty list, and a subscription without the feature may answer 404).
async fn effective_admin_rules(client: &ArmClient, vnet: &str) -> Result<Option<Value>, ArmError> {
    let path = format!(
        "{}/listNetworkManagerEffectiveSecurityAdminRules?api-version={}",
        vnet.trim_end_matches('/'),
        api::NETWORK
    );
    let mut rules: Vec<Value> = Vec::new();
    let mut body = serde_json::json!({});
    for _ in 0..1000 {
        let value = match client.post(&path, &body).await {
            Ok((_, v)) => v,
            Err(e) if matches!(e.status(), Some(404)) => return Ok(None),
            Err(e) => return Err(e),
        };
        if let Some(items) = value["value"].as_array() {
            rules.extend(items.iter().cloned());
        }
        match value["skipToken"].as_str().filter(|t| !t.is_empty()) {
            Some(t) => body = serde_json::json!({ "skipToken": t }),
            None => break,
        }
    }
    Ok((!rules.is_empty())
        .then(|| serde_json::json!({"virtualNetwork": {"id": vnet}, "value": rules})))
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// Output file (`-`: stdout).
    #[arg(long)]
    pub out: String,
    /// ARM base URL (default: the cloud's ARM with a credential, else the embedded emulator).
    #[arg(long, env = "PORTCULLIS_ARM_URL")]
    pub arm_url: Option<String>,
    /// auto, client-secret, managed-identity[=CLIENT_ID], workload-identity, developer-tools
    /// or none (as `serve --credential`).
    #[arg(long, env = "PORTCULLIS_CREDENTIAL", default_value = "auto")]
    pub credential: Credential,
    /// public, usgov or china.
    #[arg(long, env = "PORTCULLIS_CLOUD", value_enum, default_value = "public")]
    pub cloud: Cloud,
    /// List calls in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Where the resources come from: Resource Graph past PORTCULLIS_GRAPH_THRESHOLD
    /// subscriptions (auto), always (graph), or per-subscription list calls (lists).
    #[arg(long, value_enum, default_value = "auto")]
    pub source: Source,
    /// Subscription ids (comma separated) or `managementGroups/NAME` [default: every
    /// subscription the credential sees].
    #[arg(long, env = "PORTCULLIS_SCOPE", value_delimiter = ',')]
    pub scope: Vec<String>,
}

pub fn run(args: SnapshotArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("portcullis snapshot: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run_inner(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portcullis snapshot: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run_inner(args: &SnapshotArgs) -> anyhow::Result<()> {
    let credential = args.credential.resolve(|n| std::env::var(n).ok());
    let live = credential != Credential::None;
    let mut emulator = None;
    let base = match (&args.arm_url, live) {
        (Some(url), _) => url.clone(),
        (None, true) => args.cloud.arm_url().to_string(),
        (None, false) => {
            let (addr, handle) = spawn_emulator(EmulatorConfig::default()).await?;
            eprintln!("no Azure credential and no --arm-url: snapshotting the embedded emulator's demo tenant (http://{addr})");
            emulator = Some(handle);
            format!("http://{addr}")
        }
    };
    eprintln!(
        "ARM {base} (cloud {}), credential {credential}",
        args.cloud.as_str()
    );
    let client = ArmClient::new(
        ArmClientConfig::new(&base)?,
        credential.token_source(args.cloud)?,
    )?;
    let started = Instant::now();
    let scope = Scope::parse(&args.scope).map_err(anyhow::Error::msg)?;
    let inv = take_snapshot_scoped(
        &client,
        args.concurrency,
        &|p| eprintln!("{p}"),
        args.source,
        &scope,
    )
    .await?;
    let elapsed = started.elapsed();
    // written as it is serialised, not built whole in memory first
    use std::io::Write;
    let write = |out: &mut dyn std::io::Write| -> std::io::Result<()> {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, out);
        serde_json::to_writer_pretty(&mut out, &inv)?;
        if args.out == "-" {
            out.write_all(b"\n")?;
        }
        out.flush()
    };
    if args.out == "-" {
        write(&mut std::io::stdout().lock())?;
    } else {
        std::fs::File::create(&args.out)
            .and_then(|mut f| write(&mut f))
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", args.out))?;
    }
    let graph_queries = client
        .operations()
        .get("Microsoft.ResourceGraph/resources/read")
        .copied()
        .unwrap_or(0);
    eprintln!(
        "{} VMs, {} resources in {:.1?}: {} requests ({graph_queries} Resource Graph queries), {} retries, {} answered 429 -> {}",
        inv.virtual_machines.len(),
        inv.resource_count(),
        elapsed,
        client.requests(),
        client.retries(),
        client.throttled(),
        args.out
    );
    if let Some(h) = emulator {
        h.shutdown().await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn name_of(ty: &str) -> Option<&'static str> {
        ty.eq_ignore_ascii_case("microsoft.compute/virtualmachines")
            .then_some("virtualMachines")
    }

    #[test]
    fn a_packed_row_is_checked_before_it_is_read() {
        let ids = vec!["S1".to_string(), "s2".to_string()];
        let row = |sub: &str, ty: &str, n: u64, rows: usize| {
            json!({"subscriptionId": sub, "type": ty, "n": n,
                "rows": (0..rows).map(|k| json!({"id": format!("/subscriptions/{sub}/x/{k}")})).collect::<Vec<_>>()})
        };
        let vm = "microsoft.compute/virtualmachines";
        let (name, items) = packed_row(row("s1", vm, 3, 3), 0, &ids, &name_of, "Q").unwrap();
        assert_eq!((name, items.len()), ("virtualMachines", 3));
        for (case, bad, field) in [
            (
                "a list cut short",
                row("s1", vm, 4, 3),
                "data[2].rows holds 3 resources for a count of 4",
            ),
            (
                "a subscription not asked for",
                row("s3", vm, 1, 1),
                "data[2].subscriptionId",
            ),
            (
                "a type not asked for",
                row("s1", "microsoft.network/virtualnetworks", 1, 1),
                "data[2].type",
            ),
            (
                "no count",
                json!({"subscriptionId": "s2", "type": vm, "rows": []}),
                "data[2].n",
            ),
            (
                "no rows",
                json!({"subscriptionId": "s2", "type": vm, "n": 0}),
                "data[2].rows",
            ),
        ] {
            let err = packed_row(bad, 2, &ids, &name_of, "Resources | where type in~ ('x')")
                .expect_err(case)
                .to_string();
            assert!(
                err.contains(field)
                    && err.contains("Resources | where type in~ ('x')")
                    && err.contains("page 1"),
                "{case}: {err}"
            );
        }
    }
}
