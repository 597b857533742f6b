//! The posture: control, recommendations, counts, and the filtered VM table (JSON and CSV).
use crate::auth::Session;
use crate::clock::{now_ms, rfc3339};
use crate::error::AppError;
use crate::state::{AppState, Current};
use crate::summary::reachable;
use axum::{
    extract::{Query, State},
    http::header,
    response::IntoResponse,
    Json,
};
use portcullis_shared::api::{
    Posture, PostureCounts, SortOrder, SubscriptionSummary, VmFilter, VmPage, VmRow, VmSort,
};
use portcullis_shared::eval::report::ControlScore;
use portcullis_shared::eval::{State as PortState, Status, VmReport};
use std::sync::atomic::Ordering;

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
        paths: crate::summary::reachable_kinds(v),
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

/// The VMs matching `f`, sorted (all pages).
pub fn filtered(cur: &Current, f: &VmFilter) -> Vec<VmRow> {
    let q =
        f.q.as_deref()
            .map(str::to_lowercase)
            .filter(|q| !q.is_empty());
    let mut rows: Vec<VmRow> = cur
        .report
        .vms
        .iter()
        .filter(|v| {
            f.subscription
                .as_deref()
                .is_none_or(|s| v.subscription_id.eq_ignore_ascii_case(s))
        })
        .filter(|v| {
            f.resource_group
                .as_deref()
                .is_none_or(|s| v.resource_group.eq_ignore_ascii_case(s))
        })
        .filter(|v| f.status.is_none_or(|s| v.status == s))
        .filter(|v| {
            f.recommendation.is_none_or(|k| {
                v.recommendations.get(k) == f.recommendation_status.unwrap_or(Status::Unhealthy)
            })
        })
        .filter(|v| f.reachable.is_none_or(|r| reachable(v) == r))
        .filter(|v| {
            f.path
                .is_none_or(|k| crate::summary::reachable_kinds(v).contains(&k))
        })
        .filter(|v| {
            q.as_deref().is_none_or(|q| {
                v.name.to_lowercase().contains(q)
                    || v.resource_group.to_lowercase().contains(q)
                    || v.id.to_lowercase().contains(q)
                    || v.public_ips.iter().any(|ip| ip.contains(q))
            })
        })
        .map(row)
        .collect();
    let status_rank = |s: Status| match s {
        Status::Unhealthy => 2,
        Status::Healthy => 1,
        Status::NotApplicable => 0,
    };
    match f.sort.unwrap_or(VmSort::Name) {
        VmSort::Name => rows.sort_by_key(|r| r.name.to_lowercase()),
        VmSort::Status => rows.sort_by_key(|r| (status_rank(r.status), r.name.to_lowercase())),
        VmSort::Subscription => {
            rows.sort_by_key(|r| (r.subscription_id.clone(), r.name.to_lowercase()))
        }
        VmSort::ResourceGroup => {
            rows.sort_by_key(|r| (r.resource_group.to_lowercase(), r.name.to_lowercase()))
        }
        VmSort::Exposure => {
            rows.sort_by_key(|r| (r.worst_state.rank(), r.reachable, r.name.to_lowercase()))
        }
        VmSort::Os => rows.sort_by_key(|r| {
            (
                r.os_type.as_deref().unwrap_or_default().to_lowercase(),
                r.name.to_lowercase(),
            )
        }),
        VmSort::PublicIps => rows.sort_by_key(|r| {
            (
                r.public_ips
                    .first()
                    .and_then(|ip| ip.parse::<std::net::IpAddr>().ok()),
                r.name.to_lowercase(),
            )
        }),
        VmSort::NsgProtected => rows.sort_by_key(|r| {
            (
                status_rank(r.recommendations.internet_facing_vms_protected_by_nsg),
                r.name.to_lowercase(),
            )
        }),
        VmSort::PortsClosed => rows.sort_by_key(|r| {
            (
                status_rank(r.recommendations.management_ports_closed),
                r.name.to_lowercase(),
            )
        }),
        VmSort::JitProtected => rows.sort_by_key(|r| {
            (
                status_rank(r.recommendations.management_ports_jit_protected),
                r.name.to_lowercase(),
            )
        }),
    }
    if f.order == Some(SortOrder::Desc) {
        rows.reverse();
    }
    rows
}

fn validate(f: &VmFilter) -> Result<(u32, u32), AppError> {
    let page = f.page.unwrap_or(1);
    if page == 0 {
        return Err(AppError::bad("page", "pages start at 1"));
    }
    let per_page = f.per_page.unwrap_or(50);
    if !(1..=500).contains(&per_page) {
        return Err(AppError::bad(
            "perPage",
            format!("{per_page} is not within 1-500"),
        ));
    }
    Ok((page, per_page))
}

/// `GET /api/posture`
pub async fn get_posture(
    State(state): State<AppState>,
    _s: Session,
    Query(f): Query<VmFilter>,
) -> Result<Json<Posture>, AppError> {
    let (page, per_page) = validate(&f)?;
    let cur = state.current().ok_or(AppError::NotReady)?;
    let vms = &cur.report.vms;
    let rows = filtered(&cur, &f);
    let total = rows.len();
    let items = rows
        .into_iter()
        .skip(((page - 1) * per_page) as usize)
        .take(per_page as usize)
        .collect();
    let active = state.store.jit_requests(Some(now_ms()), None).await?.len();
    let c = &cur.report.control;
    let counts = PostureCounts {
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
        active_jit_requests: active,
        reachable_by_path: {
            let mut c = portcullis_shared::api::PathCounts::default();
            for v in vms.iter() {
                for k in crate::summary::reachable_kinds(v) {
                    c.add(k);
                }
            }
            c
        },
    };
    let subscriptions = cur
        .subscriptions
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
        .collect();
    Ok(Json(Posture {
        refreshed_at: Some(rfc3339(cur.at_ms)),
        data_source: state.config.data_source.as_str().into(),
        refreshing: state.refreshing.load(Ordering::SeqCst),
        control: cur.report.control.clone(),
        recommendations: cur.report.recommendations.clone(),
        counts,
        subscriptions,
        vms: VmPage {
            items,
            total,
            page,
            per_page,
        },
        warnings: cur.report.warnings.clone(),
    }))
}

fn csv_field(s: &str) -> String {
    // quote everything; neutralise spreadsheet formulas
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// `GET /api/vms.csv`: the same filters and sort, every page.
pub async fn export_vms_csv(
    State(state): State<AppState>,
    _s: Session,
    Query(f): Query<VmFilter>,
) -> Result<impl IntoResponse, AppError> {
    validate(&f)?;
    let cur = state.current().ok_or(AppError::NotReady)?;
    let mut out = String::from("name,subscription,resourceGroup,status,internetFacingVmsProtectedByNsg,managementPortsClosed,managementPortsJitProtected,worstState,reachable,openPorts,restrictedPorts,publicIps,id\n");
    for r in filtered(&cur, &f) {
        let join = |v: &[u16]| v.iter().map(u16::to_string).collect::<Vec<_>>().join(" ");
        let fields = [
            r.name.clone(),
            cur.subscription_name(&r.subscription_id),
            r.resource_group.clone(),
            r.status.as_str().into(),
            r.recommendations
                .internet_facing_vms_protected_by_nsg
                .as_str()
                .into(),
            r.recommendations.management_ports_closed.as_str().into(),
            r.recommendations
                .management_ports_jit_protected
                .as_str()
                .into(),
            r.worst_state.as_str().into(),
            r.reachable.to_string(),
            join(&r.open_ports),
            join(&r.restricted_ports),
            r.public_ips.join(" "),
            r.id.clone(),
        ];
        out.push_str(
            &fields
                .iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"portcullis-vms.csv\"",
            ),
        ],
        out,
    ))
}
