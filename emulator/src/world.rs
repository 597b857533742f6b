//! The emulator's state: subscriptions and their resources (an [`Inventory`]), the emulator
//! clock, pending long-running operations. Serialisable: `--state FILE` saves it after every
//! write (temp file + rename) and loads it on start.
use super::http::Fail;
use super::util::{format_time, Rng};
use portcullis_shared::arm::id_scope_ref;
use portcullis_shared::arm::{id_key, NetworkSecurityGroup, VirtualMachine};
use portcullis_shared::Inventory;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionInfo {
    pub subscription_id: String,
    pub display_name: String,
}

/// An `Azure-AsyncOperation` in progress: done after `polls_left` polls or two seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    pub id: String,
    pub subscription_id: String,
    pub location: String,
    pub status: String,
    pub polls_left: u32,
    pub start_time: String,
    pub started_unix: i64,
    pub end_time: Option<String>,
    /// The NSG (or NSG id of the rule) whose provisioningState flips to Succeeded at the end.
    pub resource_id: String,
    /// DELETE operations: the final Location poll answers 204 instead of 200.
    pub is_delete: bool,
}

/// The ARM resource types the emulator lists and gets (all but JIT, which has its own paths).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    VirtualMachines,
    NetworkInterfaces,
    PublicIpAddresses,
    VirtualNetworks,
    NetworkSecurityGroups,
    ApplicationSecurityGroups,
    LoadBalancers,
    AzureFirewalls,
    BastionHosts,
    IpGroups,
    ApplicationGateways,
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::VirtualMachines,
        Kind::NetworkInterfaces,
        Kind::PublicIpAddresses,
        Kind::VirtualNetworks,
        Kind::NetworkSecurityGroups,
        Kind::ApplicationSecurityGroups,
        Kind::LoadBalancers,
        Kind::AzureFirewalls,
        Kind::BastionHosts,
        Kind::IpGroups,
        Kind::ApplicationGateways,
    ];

    /// `Microsoft.Compute/virtualMachines`, ... (ARM's spelling).
    pub fn provider_type(self) -> &'static str {
        match self {
            Kind::VirtualMachines => "Microsoft.Compute/virtualMachines",
            Kind::NetworkInterfaces => "Microsoft.Network/networkInterfaces",
            Kind::PublicIpAddresses => "Microsoft.Network/publicIPAddresses",
            Kind::VirtualNetworks => "Microsoft.Network/virtualNetworks",
            Kind::NetworkSecurityGroups => "Microsoft.Network/networkSecurityGroups",
            Kind::ApplicationSecurityGroups => "Microsoft.Network/applicationSecurityGroups",
            Kind::LoadBalancers => "Microsoft.Network/loadBalancers",
            Kind::AzureFirewalls => "Microsoft.Network/azureFirewalls",
            Kind::BastionHosts => "Microsoft.Network/bastionHosts",
            Kind::IpGroups => "Microsoft.Network/ipGroups",
            Kind::ApplicationGateways => "Microsoft.Network/applicationGateways",
        }
    }

    /// Matches `namespace/type` case-insensitively.
    pub fn parse(namespace: &str, ty: &str) -> Option<Kind> {
        let want = format!("{namespace}/{ty}");
        Kind::ALL
            .into_iter()
            .find(|k| k.provider_type().eq_ignore_ascii_case(&want))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct World {
    pub tenant_id: String,
    pub subscriptions: Vec<SubscriptionInfo>,
    pub inventory: Inventory,
    /// Emulator time = wall clock + this (moved by `POST /admin/clock`).
    pub clock_offset_seconds: i64,
    pub rng: Rng,
    pub operations: BTreeMap<String, Operation>,
    /// Polls of an `Azure-AsyncOperation` before it reports Succeeded.
    pub lro_polls: u32,
    /// Seed of the simulated attack traffic (see `alerts.rs`).
    #[serde(default)]
    pub alert_seed: u64,
    /// Defender alerts raised so far, by `vm id|port|kind`: kept once raised.
    #[serde(default)]
    pub alerts: BTreeMap<String, crate::alerts::StoredAlert>,
    /// Defender re-assesses resources on its own schedule, not on every change: seconds between
    /// two assessments of a subscription (0: every read sees the state as it is now).
    #[serde(default)]
    pub assessment_interval_seconds: i64,
    /// The last assessment of each subscription (lower-case id): when (Unix seconds, emulator
    /// clock) and its `Microsoft.Security/assessments` items. Not saved in the state file (it
    /// is large): a restarted emulator assesses everything again at start.
    #[serde(skip)]
    pub assessed: BTreeMap<String, (i64, Vec<super::assessment::Assessed>)>,
    /// Resource Graph quota per user: (window start, Unix ms on the emulator clock; queries in it).
    #[serde(skip)]
    pub graph_quota: BTreeMap<String, (i64, u32)>,
    /// The largest Resource Graph answer, in bytes (`None`: Resource Graph's own,
    /// [`portcullis_shared::arm::graph::PAYLOAD_LIMIT`]); lowered by tests through
    /// `POST /admin/graph-payload-limit`.
    #[serde(skip)]
    pub graph_payload_limit: Option<usize>,
    /// The control's score per subscription (lower-case id) as of the last change: a secure
    /// score read of a 100k-VM subscription evaluates every VM. Cleared by [`World::changed`].
    /// The resource groups that hold a resource (`sub/rg`, lower case), built on first use.
    /// Cleared by [`World::changed`].
    #[serde(skip)]
    pub resource_groups: Derived<Option<std::collections::HashSet<String>>>,
    #[serde(skip)]
    pub controls: Derived<BTreeMap<String, portcullis_shared::eval::report::ControlScore>>,
}

/// Something computed from the world and kept until the world changes: not saved, not
/// compared, empty in a copy.
#[derive(Default)]
pub struct Derived<T>(pub std::sync::Mutex<T>);

impl<T: Default> Clone for Derived<T> {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl<T> PartialEq for Derived<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T> std::fmt::Debug for Derived<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Derived { .. }")
    }
}

impl<T: Default> Derived<T> {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn clear(&self) {
        *self.lock() = T::default();
    }
}

impl World {
    /// The world changed (a write, an expiry, a raised alert): what was derived from it goes.
    pub fn changed(&self) {
        self.controls.clear();
        self.resource_groups.clear();
    }
}

impl World {
    pub fn new(
        tenant_id: &str,
        subscriptions: Vec<SubscriptionInfo>,
        inventory: Inventory,
        seed: u64,
    ) -> Self {
        Self {
            tenant_id: tenant_id.to_string(),
            subscriptions,
            inventory,
            clock_offset_seconds: 0,
            rng: Rng::new(seed ^ 0x5EED_0000_0000_0001),
            operations: BTreeMap::new(),
            lro_polls: 1,
            alert_seed: seed,
            alerts: BTreeMap::new(),
            assessment_interval_seconds: 0,
            assessed: BTreeMap::new(),
            graph_quota: BTreeMap::new(),
            graph_payload_limit: None,
            resource_groups: Derived::default(),
            controls: Derived::default(),
        }
    }

    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + time::Duration::seconds(self.clock_offset_seconds)
    }

    pub fn now_str(&self) -> String {
        format_time(self.now())
    }

    /// A fresh weak ETag, `W/"<guid>"`.
    pub fn new_etag(&mut self) -> String {
        format!("W/\"{}\"", self.rng.guid())
    }

    pub fn subscription(&self, sub: &str) -> Result<&SubscriptionInfo, Fail> {
        self.subscriptions
            .iter()
            .find(|s| s.subscription_id.eq_ignore_ascii_case(sub))
            .ok_or_else(|| Fail::subscription_not_found(sub))
    }

    /// Every resource id of the world (for resource-group existence).
    fn all_ids(&self) -> impl Iterator<Item = &str> {
        let inv = &self.inventory;
        inv.virtual_machines
            .iter()
            .map(|r| r.id.as_str())
            .chain(inv.network_interfaces.iter().map(|r| r.id.as_str()))
            .chain(inv.public_ip_addresses.iter().map(|r| r.id.as_str()))
            .chain(inv.virtual_networks.iter().map(|r| r.id.as_str()))
            .chain(inv.network_security_groups.iter().map(|r| r.id.as_str()))
            .chain(
                inv.application_security_groups
                    .iter()
                    .map(|r| r.id.as_str()),
            )
            .chain(inv.load_balancers.iter().map(|r| r.id.as_str()))
            .chain(inv.azure_firewalls.iter().map(|r| r.id.as_str()))
            .chain(inv.bastion_hosts.iter().map(|r| r.id.as_str()))
            .chain(inv.firewall_policies.iter().map(|r| r.id.as_str()))
            .chain(inv.ip_groups.iter().map(|r| r.id.as_str()))
            .chain(inv.application_gateways.iter().map(|r| r.id.as_str()))
            .chain(
                inv.firewall_policy_rule_collection_groups
                    .iter()
                    .map(|r| r.id.as_str()),
            )
            // the rules live under their network manager, whose resource group they make exist
            .chain(
                inv.network_manager_effective_security_admin_rules
                    .iter()
                    .flat_map(|a| a.value.iter().filter_map(|r| r.id.as_deref())),
            )
    }

    /// The rule collection groups of a firewall policy (id prefix, case-insensitive), by name.
    pub fn rule_collection_groups(&self, policy_id: &str) -> Vec<Value> {
        let prefix = format!("{}/rulecollectiongroups/", id_key(policy_id));
        let mut groups: Vec<&portcullis_shared::arm::FirewallPolicyRuleCollectionGroup> = self
            .inventory
            .firewall_policy_rule_collection_groups
            .iter()
            .filter(|g| id_key(&g.id).starts_with(&prefix))
            .collect();
        groups.sort_by_key(|g| id_key(&g.id));
        groups
            .into_iter()
            .filter_map(|g| serde_json::to_value(g).ok())
            .collect()
    }

    /// The `listNetworkManagerEffectiveSecurityAdminRules` answer of a VNet: its rules, or an
    /// empty list when no network manager manages it.
    pub fn effective_admin_rules(&self, vnet_id: &str) -> Value {
        let key = id_key(vnet_id);
        let rules: Vec<Value> = self
            .inventory
            .network_manager_effective_security_admin_rules
            .iter()
            .filter(|a| a.virtual_network.id.as_deref().map(id_key) == Some(key.clone()))
            .flat_map(|a| a.value.iter())
            .filter_map(|r| serde_json::to_value(r).ok())
            .collect();
        serde_json::json!({ "value": rules })
    }

    /// The subscription exists and the resource group holds at least one resource.
    pub fn check_scope(&self, sub: &str, rg: Option<&str>) -> Result<(), Fail> {
        self.subscription(sub)?;
        if let Some(rg) = rg {
            // the resource groups that hold a resource (`sub/rg`, lower case), kept until the
            // world changes: a scan of a 100k-VM tenant per request would cost more than the rest
            let mut groups = self.resource_groups.lock();
            let groups = groups.get_or_insert_with(|| {
                self.all_ids()
                    .map(|id| {
                        let (s, g) = id_scope_ref(id);
                        format!("{s}/{g}").to_ascii_lowercase()
                    })
                    .collect()
            });
            if !groups.contains(&format!("{sub}/{rg}").to_ascii_lowercase()) {
                return Err(Fail::resource_group_not_found(rg));
            }
        }
        Ok(())
    }

    /// Resources of `kind` in a subscription (and resource group), as ARM JSON.
    pub fn list(&self, kind: Kind, sub: &str, rg: Option<&str>) -> Vec<Value> {
        self.list_range(kind, sub, rg, 0, usize::MAX).0
    }

    /// One page of [`World::list`]: the `take` resources from `skip` on, and how many there
    /// are in all. Only the page is serialised, so paging through a large tenant stays linear.
    pub fn list_range(
        &self,
        kind: Kind,
        sub: &str,
        rg: Option<&str>,
        skip: usize,
        take: usize,
    ) -> (Vec<Value>, usize) {
        let in_scope = |id: &str| {
            let (s, g) = id_scope_ref(id);
            s.eq_ignore_ascii_case(sub) && rg.is_none_or(|rg| g.eq_ignore_ascii_case(rg))
        };
        self.select(kind, &in_scope, false, skip, take)
    }

    /// The resources of `kind` whose id `keep` accepts: the `take` of them from `skip` on, in
    /// stored order or (`by_id`) ordered by lower-case id as Resource Graph's `order by id asc`,
    /// and how many there are in all. Only the page is serialised.
    pub fn select(
        &self,
        kind: Kind,
        keep: &dyn Fn(&str) -> bool,
        by_id: bool,
        skip: usize,
        take: usize,
    ) -> (Vec<Value>, usize) {
        let inv = &self.inventory;
        fn pick<'a, T: Serialize>(
            items: &'a [T],
            id: impl Fn(&T) -> &str,
            keep: &dyn Fn(&str) -> bool,
            by_id: bool,
            skip: usize,
            take: usize,
        ) -> (Vec<&'a T>, usize) {
            if by_id {
                let mut all: Vec<(String, &T)> = items
                    .iter()
                    .filter(|r| keep(id(r)))
                    .map(|r| (id_key(id(r)), r))
                    .collect();
                all.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                let total = all.len();
                let page = all.into_iter().skip(skip).take(take).map(|(_, r)| r);
                return (page.collect(), total);
            }
            let mut total = 0;
            let mut page = Vec::new();
            for item in items.iter().filter(|r| keep(id(r))) {
                if total >= skip && page.len() < take {
                    page.push(item);
                }
                total += 1;
            }
            (page, total)
        }
        fn values<T: Serialize>((page, total): (Vec<&T>, usize)) -> (Vec<Value>, usize) {
            let values = page
                .into_iter()
                .filter_map(|r| serde_json::to_value(r).ok())
                .collect();
            (values, total)
        }
        // one kind's page: its items that `keep` accepts, serialised
        macro_rules! page {
            ($list:expr) => {
                values(pick(&$list, |r| &r.id, keep, by_id, skip, take))
            };
        }
        match kind {
            Kind::VirtualMachines => page!(inv.virtual_machines),
            Kind::NetworkInterfaces => page!(inv.network_interfaces),
            Kind::PublicIpAddresses => page!(inv.public_ip_addresses),
            Kind::VirtualNetworks => page!(inv.virtual_networks),
            Kind::NetworkSecurityGroups => {
                let (page, total) = pick(
                    &inv.network_security_groups,
                    |r| &r.id,
                    keep,
                    by_id,
                    skip,
                    take,
                );
                let page = self.with_associations_all(&page);
                values((page.iter().collect(), total))
            }
            Kind::ApplicationSecurityGroups => page!(inv.application_security_groups),
            Kind::LoadBalancers => page!(inv.load_balancers),
            Kind::AzureFirewalls => page!(inv.azure_firewalls),
            Kind::BastionHosts => page!(inv.bastion_hosts),
            Kind::IpGroups => page!(inv.ip_groups),
            Kind::ApplicationGateways => page!(inv.application_gateways),
        }
    }

    /// One resource by id (case-insensitive), as ARM JSON.
    pub fn get(&self, kind: Kind, id: &str) -> Option<Value> {
        let key = id_key(id);
        let inv = &self.inventory;
        fn find<T: Serialize>(items: &[T], id: impl Fn(&T) -> &str, key: &str) -> Option<Value> {
            items
                .iter()
                .find(|r| id_key(id(r)) == key)
                .and_then(|r| serde_json::to_value(r).ok())
        }
        match kind {
            Kind::VirtualMachines => find(&inv.virtual_machines, |r| &r.id, &key),
            Kind::NetworkInterfaces => find(&inv.network_interfaces, |r| &r.id, &key),
            Kind::PublicIpAddresses => find(&inv.public_ip_addresses, |r| &r.id, &key),
            Kind::VirtualNetworks => find(&inv.virtual_networks, |r| &r.id, &key),
            Kind::NetworkSecurityGroups => self
                .nsg(id)
                .map(|n| self.with_associations(n))
                .and_then(|n| serde_json::to_value(n).ok()),
            Kind::ApplicationSecurityGroups => {
                find(&inv.application_security_groups, |r| &r.id, &key)
            }
            Kind::LoadBalancers => find(&inv.load_balancers, |r| &r.id, &key),
            Kind::AzureFirewalls => find(&inv.azure_firewalls, |r| &r.id, &key),
            Kind::BastionHosts => find(&inv.bastion_hosts, |r| &r.id, &key),
            Kind::IpGroups => find(&inv.ip_groups, |r| &r.id, &key),
            Kind::ApplicationGateways => find(&inv.application_gateways, |r| &r.id, &key),
        }
    }

    pub fn vm(&self, id: &str) -> Option<&VirtualMachine> {
        let key = id_key(id);
        self.inventory
            .virtual_machines
            .iter()
            .find(|v| id_key(&v.id) == key)
    }

    pub fn nsg_index(&self, id: &str) -> Option<usize> {
        let key = id_key(id);
        self.inventory
            .network_security_groups
            .iter()
            .position(|n| id_key(&n.id) == key)
    }

    pub fn nsg(&self, id: &str) -> Option<&NetworkSecurityGroup> {
        self.nsg_index(id)
            .map(|i| &self.inventory.network_security_groups[i])
    }

    /// Writes the state atomically: a temporary file beside `path`, then a rename.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        use std::io::Write;
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        // streamed to the file: a 100k-VM world is hundreds of MB of JSON, never held whole
        let mut out = std::io::BufWriter::with_capacity(1 << 16, std::fs::File::create(&tmp)?);
        serde_json::to_writer(&mut out, self).map_err(std::io::Error::other)?;
        out.flush()?;
        drop(out);
        std::fs::rename(&tmp, path)
    }

    /// Loads a saved state; `Ok(None)` when the file does not exist yet.
    pub fn load(path: &Path) -> std::io::Result<Option<World>> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}
