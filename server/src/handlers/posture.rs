//! The posture: control, recommendations, counts, and the filtered VM table (JSON and CSV).
use crate::auth::Session;
use crate::clock::rfc3339;
use crate::error::AppError;
use crate::state::AppState;
use axum::{
    extract::{Query, State},
    http::header,
    response::IntoResponse,
    Json,
};
use portcullis_shared::api::{Posture, VmFilter, VmPage};
use std::sync::atomic::Ordering;

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
    let table = &cur.table;
    // every match counts towards the total; only the page's rows are built
    let skip = ((page - 1) * per_page) as usize;
    let (items, total) = cur.vm_page(&f, skip, per_page as usize);
    let mut counts = table.counts.clone();
    counts.active_jit_requests = state.store.active_jit_requests().await?;
    Ok(Json(Posture {
        refreshed_at: Some(rfc3339(cur.at_ms)),
        data_source: state.config.data_source.as_str().into(),
        refreshing: state.refreshing.load(Ordering::SeqCst),
        control: cur.report.control.clone(),
        recommendations: cur.report.recommendations.clone(),
        counts,
        subscriptions: table.subscriptions.clone(),
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
    for v in cur.vms_filtered(&f) {
        let r = crate::vm_table::row(v);
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
