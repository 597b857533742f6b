//! The VM table of a snapshot, computed once per snapshot rather than per request: every sort
//! order, the posture's counts and per-subscription summaries. `GET /api/posture`,
//! `GET /api/vms.csv` and the VM table only filter and page it.
//!
//! A row is not kept per VM: it is read from the report's [`VmReport`] when a page is served
//! (a page is at most 500 rows), so a snapshot holds each VM's text once. At 100k VMs the
//! rows, their lower-cased search keys and an index by lower-cased id held about 140 MB per
//! snapshot, twice over while a refresh builds the next one.
use crate::snapshot::Subscription;
use crate::summary::{reachable, reachable_kinds};
use portcullis_shared::api::{
    PathCounts, PostureCounts, SortOrder, SubscriptionSummary, VmFilter, VmRow, VmSort,
};
use portcullis_shared::eval::report::ControlScore;
use portcullis_shared::eval::{State as PortState, Status, VmReport};
use portcullis_shared::Report;
use std::cmp::Ordering;

/// Every sort the table offers.
const SORTS: [VmSort; 10] = VmSort::ALL;

#[derive(Debug)]
pub struct VmTable {
    /// For each of [`SORTS`], the report's VM positions in ascending order.
    orders: Vec<Vec<u32>>,
    /// The report's VM positions in the order of their ids' keys ([`portcullis_shared::arm::id_key`]):
    /// a VM found by id with a binary search.
    by_id: Vec<u32>,
    /// The posture's counts (`active_jit_requests` is filled per request).
    pub counts: PostureCounts,
    pub subscriptions: Vec<SubscriptionSummary>,
    /// How many rows have each status (a status filter's total without a pass over the rows).
    by_status: Vec<(Status, usize)>,
}

impl VmTable {
    pub fn new(report: &Report, subscriptions: &[Subscription]) -> Self {
        let vms = &report.vms;
        let orders = SORTS.iter().map(|s| order(vms, *s)).collect();
        let mut by_id: Vec<u32> = (0..vms.len() as u32).collect();
        by_id.sort_by(|&a, &b| cmp_id_keys(&vms[a as usize].id, &vms[b as usize].id));
        let mut by_status: Vec<(Status, usize)> = Vec::new();
        for v in vms {
            match by_status.iter_mut().find(|(s, _)| *s == v.status) {
                Some((_, n)) => *n += 1,
                None => by_status.push((v.status, 1)),
            }
        }
        Self {
            by_status,
            counts: counts(vms, report),
            subscriptions: summaries(vms, subscriptions),
            orders,
            by_id,
        }
    }

    /// The position in `vms` (the report this table was built from) of the VM with this ARM id,
    /// in any case and with or without a trailing `/`.
    pub fn position(&self, vms: &[VmReport], id: &str) -> Option<usize> {
        let at = self
            .by_id
            .partition_point(|&i| cmp_id_keys(&vms[i as usize].id, id) == Ordering::Less);
        let i = *self.by_id.get(at)? as usize;
        (cmp_id_keys(&vms[i].id, id) == Ordering::Equal).then_some(i)
    }

    /// The `take` rows from `skip` on that `f` selects, in its order, and how many it selects
    /// in all. Without a predicate (only sort and page) that is a slice of a sort order, not
    /// a pass over every row.
    pub fn page(
        &self,
        vms: &[VmReport],
        f: &VmFilter,
        skip: usize,
        take: usize,
    ) -> (Vec<VmRow>, usize) {
        // without a predicate, or with a status only, the total is known: the page is then
        // read from the start of the sort order, not from a pass over every row
        let no_other = f.subscription.is_none()
            && f.resource_group.is_none()
            && f.recommendation.is_none()
            && f.reachable.is_none()
            && f.path.is_none()
            && f.q.as_deref().is_none_or(|q| q.trim().is_empty());
        let known = match (no_other, f.status) {
            (true, None) => Some(vms.len()),
            (true, Some(status)) => Some(
                self.by_status
                    .iter()
                    .find(|(s, _)| *s == status)
                    .map_or(0, |(_, n)| *n),
            ),
            (false, _) => None,
        };
        if let Some(total) = known {
            let items = self
                .filtered(vms, f)
                .skip(skip)
                .take(take)
                .map(row)
                .collect();
            return (items, total);
        }
        let (mut total, mut items) = (0, Vec::with_capacity(take.min(vms.len())));
        for v in self.filtered(vms, f) {
            if total >= skip && items.len() < take {
                items.push(row(v));
            }
            total += 1;
        }
        (items, total)
    }

    /// The VMs `f` selects, in its sort and order (all pages).
    pub fn filtered<'a>(
        &'a self,
        vms: &'a [VmReport],
        f: &VmFilter,
    ) -> impl Iterator<Item = &'a VmReport> + 'a {
        let q =
            f.q.as_deref()
                .map(str::to_lowercase)
                .filter(|q| !q.is_empty());
        let f = f.clone();
        let sort = f.sort.unwrap_or(VmSort::Name);
        let order = &self.orders[SORTS.iter().position(|s| *s == sort).unwrap_or(0)];
        let desc = f.order == Some(SortOrder::Desc);
        let (asc, rev) = if desc {
            (None, Some(order.iter().rev()))
        } else {
            (Some(order.iter()), None)
        };
        asc.into_iter()
            .flatten()
            .chain(rev.into_iter().flatten())
            .map(move |&i| &vms[i as usize])
            .filter(move |v| matches(v, &f, q.as_deref()))
    }
}

fn matches(v: &VmReport, f: &VmFilter, q: Option<&str>) -> bool {
    f.subscription
        .as_deref()
        .is_none_or(|s| v.subscription_id.eq_ignore_ascii_case(s))
        && f.resource_group
            .as_deref()
            .is_none_or(|s| v.resource_group.eq_ignore_ascii_case(s))
        && f.status.is_none_or(|s| v.status == s)
        && f.recommendation.is_none_or(|k| {
            v.recommendations.get(k) == f.recommendation_status.unwrap_or(Status::Unhealthy)
        })
        && f.reachable.is_none_or(|x| reachable(v) == x)
        && f.path.is_none_or(|k| reachable_kinds(v).contains(&k))
        && q.is_none_or(|q| {
            [&v.name, &v.resource_group, &v.id]
                .iter()
                .any(|s| contains_lowercase(s, q))
                || v.public_ips.iter().any(|ip| ip.contains(q))
        })
}

/// Whether `hay`, lower-cased, contains `q` (already lower-cased), without lower-casing a copy
/// of `hay` when it is ASCII (ARM names and ids nearly always are).
fn contains_lowercase(hay: &str, q: &str) -> bool {
    if !hay.is_ascii() {
        return hay.to_lowercase().contains(q);
    }
    let (hay, q) = (hay.as_bytes(), q.as_bytes());
    q.is_empty()
        || hay
            .windows(q.len())
            .any(|w| w.iter().zip(q).all(|(a, b)| a.to_ascii_lowercase() == *b))
}

/// Two ARM ids compared by their keys ([`portcullis_shared::arm::id_key`]: trimmed, without a
/// trailing `/`, ASCII lower-cased), without building the keys.
fn cmp_id_keys(a: &str, b: &str) -> Ordering {
    fn bytes(s: &str) -> impl Iterator<Item = u8> + '_ {
        s.trim()
            .trim_end_matches('/')
            .bytes()
            .map(|b| b.to_ascii_lowercase())
    }
    bytes(a).cmp(bytes(b))
}

/// A VM's row in the table, read from its evaluation.
pub fn row(v: &VmReport) -> VmRow {
    let ports = |s: PortState| {
        v.exposures
            .iter()
            .filter(|e| e.state == s)
            .map(|e| e.port)
            .collect::<Vec<_>>()
    };
    VmRow {
        id: v.id.clone(),
        name: v.name.clone(),
        subscription_id: v.subscription_id.clone(),
        resource_group: v.resource_group.clone(),
        location: v.location.clone(),
        os_type: v.os_type.clone(),
        status: v.status,
        recommendations: v.recommendations,
        public_ips: v.public_ips.clone(),
        worst_state: worst_state(v),
        reachable: reachable(v),
        paths: reachable_kinds(v),
        bastion: v
            .exposures
            .iter()
            .find_map(|e| e.managed_access.as_ref()?.first())
            .map(|m| m.name.to_string()),
        open_ports: ports(PortState::Open),
        restricted_ports: ports(PortState::Restricted),
        jit_policy: v.jit_policy.clone(),
    }
}

fn worst_state(v: &VmReport) -> PortState {
    v.exposures
        .iter()
        .map(|e| e.state)
        .max_by_key(|s| s.rank())
        .unwrap_or(PortState::Closed)
}

/// Unhealthy last when ascending (first when descending).
fn status_rank(s: Status) -> u8 {
    match s {
        Status::Unhealthy => 2,
        Status::Healthy => 1,
        Status::NotApplicable => 0,
    }
}

/// The rows' positions sorted by `sort`, ascending; ties keep the report's order.
fn order(rows: &[VmReport], sort: VmSort) -> Vec<u32> {
    let mut order: Vec<u32> = (0..rows.len() as u32).collect();
    let name = |r: &VmReport| r.name.to_lowercase();
    macro_rules! by {
        ($key:expr) => {
            order.sort_by_cached_key(|&i| $key(&rows[i as usize]))
        };
    }
    match sort {
        VmSort::Name => by!(name),
        VmSort::Status => by!(|r: &VmReport| (status_rank(r.status), name(r))),
        VmSort::Subscription => by!(|r: &VmReport| (r.subscription_id.clone(), name(r))),
        VmSort::ResourceGroup => by!(|r: &VmReport| (r.resource_group.to_lowercase(), name(r))),
        VmSort::Exposure => by!(|r: &VmReport| (worst_state(r).rank(), reachable(r), name(r))),
        VmSort::Os => by!(|r: &VmReport| (
            r.os_type.as_deref().unwrap_or_default().to_lowercase(),
            name(r)
        )),
        VmSort::PublicIps => by!(|r: &VmReport| (
            r.public_ips
                .first()
                .and_then(|ip| ip.parse::<std::net::IpAddr>().ok()),
            name(r)
        )),
        VmSort::NsgProtected => by!(|r: &VmReport| (
            status_rank(r.recommendations.internet_facing_vms_protected_by_nsg),
            name(r)
        )),
        VmSort::PortsClosed => by!(|r: &VmReport| (
            status_rank(r.recommendations.management_ports_closed),
            name(r)
        )),
        VmSort::JitProtected => by!(|r: &VmReport| (
            status_rank(r.recommendations.management_ports_jit_protected),
            name(r)
        )),
    }
    order
}

fn counts(vms: &[VmReport], report: &Report) -> PostureCounts {
    let c = &report.control;
    let mut by_path = PathCounts::default();
    for v in vms {
        for k in reachable_kinds(v) {
            by_path.add(k);
        }
    }
    PostureCounts {
        vms: vms.len(),
        healthy: c.healthy,
        unhealthy: c.unhealthy,
        not_applicable: c.not_applicable,
        reachable_from_internet: vms.iter().filter(|v| reachable(v)).count(),
        with_open_ports: vms
            .iter()
            .filter(|v| v.exposures.iter().any(|e| e.state == PortState::Open))
            .count(),
        jit_protected: vms.iter().filter(|v| v.jit_policy.is_some()).count(),
        active_jit_requests: 0,
        reachable_by_path: by_path,
    }
}

fn summaries(vms: &[VmReport], subscriptions: &[Subscription]) -> Vec<SubscriptionSummary> {
    subscriptions
        .iter()
        .map(|s| {
            let mine: Vec<&VmReport> = vms
                .iter()
                .filter(|v| v.subscription_id.eq_ignore_ascii_case(&s.id))
                .collect();
            let n = |st: Status| mine.iter().filter(|v| v.status == st).count();
            let mut rgs: Vec<String> = mine.iter().map(|v| v.resource_group.clone()).collect();
            rgs.sort();
            rgs.dedup();
            SubscriptionSummary {
                subscription_id: s.id.clone(),
                display_name: s.name.clone(),
                control: ControlScore::from_counts(
                    n(Status::Healthy),
                    n(Status::Unhealthy),
                    n(Status::NotApplicable),
                ),
                reachable_from_internet: mine.iter().filter(|v| reachable(v)).count(),
                resource_groups: rgs,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_shared::{evaluate, EvalConfig};

    /// A page read with a known total (no predicate, or a status only) is the page a full pass
    /// over the rows gives, in every sort and order.
    #[test]
    fn a_page_is_the_same_with_or_without_a_full_pass() {
        let inv = portcullis_shared::fleet::synthetic_fleet(500, 7);
        let report = evaluate(&inv, &EvalConfig::default()).unwrap();
        let table = VmTable::new(&report, &[]);
        let full_pass = |f: &VmFilter, skip: usize, take: usize| {
            let all: Vec<&VmReport> = table.filtered(&report.vms, f).collect();
            let ids: Vec<String> = all
                .iter()
                .skip(skip)
                .take(take)
                .map(|r| r.id.clone())
                .collect();
            (ids, all.len())
        };
        let statuses = [
            None,
            Some(Status::Healthy),
            Some(Status::Unhealthy),
            Some(Status::NotApplicable),
        ];
        for status in statuses {
            for sort in VmSort::ALL {
                for order in [None, Some(SortOrder::Desc)] {
                    for q in [None, Some("vm-0001".to_string())] {
                        let f = VmFilter {
                            status,
                            sort: Some(sort),
                            order,
                            q,
                            ..VmFilter::default()
                        };
                        for (skip, take) in [(0, 50), (100, 50), (480, 50)] {
                            let (items, total) = table.page(&report.vms, &f, skip, take);
                            let ids: Vec<String> = items.iter().map(|r| r.id.clone()).collect();
                            assert_eq!((ids, total), full_pass(&f, skip, take), "{f:?} {skip}");
                        }
                    }
                }
            }
        }
        let unhealthy = VmFilter {
            status: Some(Status::Unhealthy),
            ..VmFilter::default()
        };
        assert!(
            table.page(&report.vms, &unhealthy, 0, 1).1 > 0,
            "the fleet has unhealthy VMs"
        );
    }

    /// A VM is found by its id in any case, with or without a trailing `/`; an unknown id, or a
    /// prefix of a known one, is not found.
    #[test]
    fn a_vm_is_found_by_its_id_in_any_case() {
        let inv = portcullis_shared::fleet::synthetic_fleet(300, 3);
        let report = evaluate(&inv, &EvalConfig::default()).unwrap();
        let table = VmTable::new(&report, &[]);
        for (i, v) in report.vms.iter().enumerate() {
            assert_eq!(table.position(&report.vms, &v.id), Some(i));
            assert_eq!(table.position(&report.vms, &v.id.to_uppercase()), Some(i));
            assert_eq!(
                table.position(&report.vms, &format!(" {}/ ", v.id)),
                Some(i)
            );
        }
        let first = &report.vms[0].id;
        assert_eq!(table.position(&report.vms, &first[..first.len() - 1]), None);
        assert_eq!(table.position(&report.vms, &format!("{first}x")), None);
        assert_eq!(table.position(&report.vms, ""), None);
    }

    /// The search is a case-insensitive substring match, for ASCII and other text alike.
    #[test]
    fn the_search_ignores_case() {
        assert!(contains_lowercase("VM-Web-01", "web-0"));
        assert!(contains_lowercase("vm", ""));
        assert!(!contains_lowercase("VM-Web-01", "web-02"));
        assert!(!contains_lowercase("ab", "abc"));
        assert!(contains_lowercase("rg-ÉQUIPE-Ops", "équipe"));
        assert!(!contains_lowercase("rg-ÉQUIPE-Ops", "equipe"));
    }
}
