//! The VM table of a snapshot, computed once per snapshot rather than per request: each VM's
//! row, its search keys, every sort order, the posture's counts and per-subscription summaries.
//! `GET /api/posture`, `GET /api/vms.csv` and the VM table only filter and page it.
use crate::snapshot::Subscription;
use crate::summary::{reachable, reachable_kinds};
use portcullis_shared::api::{
    PathCounts, PostureCounts, SortOrder, SubscriptionSummary, VmFilter, VmRow, VmSort,
};
use portcullis_shared::eval::report::ControlScore;
use portcullis_shared::eval::{State as PortState, Status, VmReport};
use portcullis_shared::Report;

/// Every sort the table offers.
const SORTS: [VmSort; 10] = VmSort::ALL;

#[derive(Debug)]
pub struct VmTable {
    /// One row per VM, in the report's order.
    pub rows: Vec<VmRow>,
    /// Lower-cased name, resource group and id of each row (the search).
    lower: Vec<[String; 3]>,
    /// For each of [`SORTS`], the rows' positions in ascending order.
    orders: Vec<Vec<u32>>,
    /// The posture's counts (`active_jit_requests` is filled per request).
    pub counts: PostureCounts,
    pub subscriptions: Vec<SubscriptionSummary>,
    /// How many rows have each status (a status filter's total without a pass over the rows).
    by_status: Vec<(Status, usize)>,
}

impl VmTable {
    pub fn new(report: &Report, subscriptions: &[Subscription]) -> Self {
        let rows: Vec<VmRow> = report.vms.iter().map(row).collect();
        let lower = rows
            .iter()
            .map(|r| {
                [
                    r.name.to_lowercase(),
                    r.resource_group.to_lowercase(),
                    r.id.to_lowercase(),
                ]
            })
            .collect();
        let orders = SORTS.iter().map(|s| order(&rows, *s)).collect();
        let mut by_status: Vec<(Status, usize)> = Vec::new();
        for r in &rows {
            match by_status.iter_mut().find(|(s, _)| *s == r.status) {
                Some((_, n)) => *n += 1,
                None => by_status.push((r.status, 1)),
            }
        }
        Self {
            by_status,
            counts: counts(&report.vms, &rows, report),
            subscriptions: summaries(&report.vms, subscriptions),
            rows,
            lower,
            orders,
        }
    }

    /// The rows matching `f`, in its sort and order (all pages).
    /// The `take` rows from `skip` on that `f` selects, in its order, and how many it selects
    /// in all. Without a predicate (only sort and page) that is a slice of a sort order, not
    /// a pass over every row.
    pub fn page(&self, f: &VmFilter, skip: usize, take: usize) -> (Vec<&VmRow>, usize) {
        // without a predicate, or with a status only, the total is known: the page is then
        // read from the start of the sort order, not from a pass over every row
        let no_other = f.subscription.is_none()
            && f.resource_group.is_none()
            && f.recommendation.is_none()
            && f.reachable.is_none()
            && f.path.is_none()
            && f.q.as_deref().is_none_or(|q| q.trim().is_empty());
        let known = match (no_other, f.status) {
            (true, None) => Some(self.rows.len()),
            (true, Some(status)) => Some(
                self.by_status
                    .iter()
                    .find(|(s, _)| *s == status)
                    .map_or(0, |(_, n)| *n),
            ),
            (false, _) => None,
        };
        if let Some(total) = known {
            let items = self.filtered(f).skip(skip).take(take).collect();
            return (items, total);
        }
        let (mut total, mut items) = (0, Vec::with_capacity(take));
        for r in self.filtered(f) {
            if total >= skip && items.len() < take {
                items.push(r);
            }
            total += 1;
        }
        (items, total)
    }

    pub fn filtered<'a>(&'a self, f: &VmFilter) -> impl Iterator<Item = &'a VmRow> + 'a {
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
            .map(|&i| i as usize)
            .filter(move |&i| self.matches(i, &f, q.as_deref()))
            .map(|i| &self.rows[i])
    }

    fn matches(&self, i: usize, f: &VmFilter, q: Option<&str>) -> bool {
        let r = &self.rows[i];
        f.subscription
            .as_deref()
            .is_none_or(|s| r.subscription_id.eq_ignore_ascii_case(s))
            && f.resource_group
                .as_deref()
                .is_none_or(|s| r.resource_group.eq_ignore_ascii_case(s))
            && f.status.is_none_or(|s| r.status == s)
            && f.recommendation.is_none_or(|k| {
                r.recommendations.get(k) == f.recommendation_status.unwrap_or(Status::Unhealthy)
            })
            && f.reachable.is_none_or(|x| r.reachable == x)
            && f.path.is_none_or(|k| r.paths.contains(&k))
            && q.is_none_or(|q| {
                self.lower[i].iter().any(|s| s.contains(q))
                    || r.public_ips.iter().any(|ip| ip.contains(q))
            })
    }
}

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
        worst_state: v
            .exposures
            .iter()
            .map(|e| e.state)
            .max_by_key(|s| s.rank())
            .unwrap_or(PortState::Closed),
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

/// Unhealthy last when ascending (first when descending).
fn status_rank(s: Status) -> u8 {
    match s {
        Status::Unhealthy => 2,
        Status::Healthy => 1,
        Status::NotApplicable => 0,
    }
}

/// The rows' positions sorted by `sort`, ascending; ties keep the report's order.
fn order(rows: &[VmRow], sort: VmSort) -> Vec<u32> {
    let mut order: Vec<u32> = (0..rows.len() as u32).collect();
    let name = |r: &VmRow| r.name.to_lowercase();
    macro_rules! by {
        ($key:expr) => {
            order.sort_by_cached_key(|&i| $key(&rows[i as usize]))
        };
    }
    match sort {
        VmSort::Name => by!(name),
        VmSort::Status => by!(|r: &VmRow| (status_rank(r.status), name(r))),
        VmSort::Subscription => by!(|r: &VmRow| (r.subscription_id.clone(), name(r))),
        VmSort::ResourceGroup => by!(|r: &VmRow| (r.resource_group.to_lowercase(), name(r))),
        VmSort::Exposure => by!(|r: &VmRow| (r.worst_state.rank(), r.reachable, name(r))),
        VmSort::Os => by!(|r: &VmRow| (
            r.os_type.as_deref().unwrap_or_default().to_lowercase(),
            name(r)
        )),
        VmSort::PublicIps => by!(|r: &VmRow| (
            r.public_ips
                .first()
                .and_then(|ip| ip.parse::<std::net::IpAddr>().ok()),
            name(r)
        )),
        VmSort::NsgProtected => by!(|r: &VmRow| (
            status_rank(r.recommendations.internet_facing_vms_protected_by_nsg),
            name(r)
        )),
        VmSort::PortsClosed => by!(|r: &VmRow| (
            status_rank(r.recommendations.management_ports_closed),
            name(r)
        )),
        VmSort::JitProtected => by!(|r: &VmRow| (
            status_rank(r.recommendations.management_ports_jit_protected),
            name(r)
        )),
    }
    order
}

fn counts(vms: &[VmReport], rows: &[VmRow], report: &Report) -> PostureCounts {
    let c = &report.control;
    let mut by_path = PathCounts::default();
    for r in rows {
        for k in &r.paths {
            by_path.add(*k);
        }
    }
    PostureCounts {
        vms: vms.len(),
        healthy: c.healthy,
        unhealthy: c.unhealthy,
        not_applicable: c.not_applicable,
        reachable_from_internet: rows.iter().filter(|r| r.reachable).count(),
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
            let all: Vec<&VmRow> = table.filtered(f).collect();
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
                            let (items, total) = table.page(&f, skip, take);
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
            table.page(&unhealthy, 0, 1).1 > 0,
            "the fleet has unhealthy VMs"
        );
    }
}
