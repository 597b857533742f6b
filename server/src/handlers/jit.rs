//! JIT access requests: request (operator) and list.
use crate::arm::api;
use crate::audit::NewEntry;
use crate::auth::{ClientAddr, OperatorSession, Session};
use crate::clock::{now_ms, rfc3339};
use crate::error::{AppError, AppJson};
use crate::state::{AppState, Current};
use crate::views::jit_port_view;
use crate::writes::Applied;
use axum::{
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    Json,
};
use portcullis_shared::api::{
    CreateJitRequest, JitPolicyList, JitPolicySummary, JitPolicyVmView, JitRequestList,
    JitRequestRecord, JitRequestStatus,
};
use portcullis_shared::arm::{id_key, JitNetworkAccessPolicy};
use portcullis_shared::eval::VmReport;
use portcullis_shared::net::{AddrSet, Cidr};
use portcullis_shared::remediation::{check_sources_breadth, valid_source};
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ListQuery {
    /// Every request, not only the active ones.
    pub all: bool,
}

/// `GET /api/jit/requests`
pub async fn list_jit_requests(
    State(state): State<AppState>,
    _s: Session,
    Query(q): Query<ListQuery>,
) -> Result<Json<JitRequestList>, AppError> {
    let requests = state
        .store
        .jit_requests(if q.all { None } else { Some(now_ms()) }, None)
        .await?;
    Ok(Json(JitRequestList { requests }))
}

/// `POST /api/jit/requests`. The request to ARM, its record and its audit entry run on a task
/// of their own, so a request that ends first (the server's timeout, a client gone) cannot
/// leave a grant in Azure without its record.
pub async fn create_jit_request(
    State(state): State<AppState>,
    OperatorSession(s): OperatorSession,
    ClientAddr(peer): ClientAddr,
    headers: HeaderMap,
    AppJson(req): AppJson<CreateJitRequest>,
) -> Result<(StatusCode, Json<JitRequestRecord>), AppError> {
    tokio::spawn(create_and_audit(state, s, peer, headers, req))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("the JIT request stopped: {e}")))?
}

async fn create_and_audit(
    state: AppState,
    s: crate::auth::Session,
    peer: Option<std::net::SocketAddr>,
    headers: HeaderMap,
    req: CreateJitRequest,
) -> Result<(StatusCode, Json<JitRequestRecord>), AppError> {
    let cur = state.current().ok_or(AppError::NotReady)?;
    let checked = check_request(&cur, &req)?;
    let source = match &req.source_address {
        Some(s) if !valid_source(s) => {
            return Err(AppError::bad(
                "sourceAddress",
                format!("{s:?} is not an IP address or CIDR"),
            ))
        }
        Some(s) => s.trim().to_string(),
        // the requester's own address (through the trusted proxies only)
        None => Some(crate::auth::client_address(
            &headers,
            peer,
            &state.config.trusted_proxies,
        ))
        .filter(|v| valid_source(v))
        .unwrap_or_else(|| "127.0.0.1".into()),
    };
    check_source_allowed(&source, &checked, &state.config.eval)?;
    let (vm, policy, ports) = (checked.vm, checked.policy, checked.ports);
    let _w = state.write_lock.lock().await;
    let requested_at = now_ms();
    let expires_at = requested_at + i64::from(req.duration_minutes) * 60_000;
    let body = json!({
        "virtualMachines": [{ "id": vm.id, "ports": ports.iter().map(|p| json!({ "number": p, "endTimeUtc": rfc3339(expires_at), "allowedSourceAddressPrefix": source })).collect::<Vec<_>>() }],
        "justification": checked.justification,
    });
    let result = state
        .arm
        .post(
            &format!("{}/initiate?api-version={}", policy.id, api::JIT),
            &body,
        )
        .await;
    let mut record = JitRequestRecord {
        id: 0,
        vm_id: vm.id.clone(),
        vm_name: vm.name.clone(),
        ports: ports.clone(),
        source_address: source,
        justification: checked.justification.into(),
        requested_by: s.username.clone(),
        requested_at: rfc3339(requested_at),
        expires_at: rfc3339(expires_at),
        status: if result.is_ok() {
            JitRequestStatus::Active
        } else {
            JitRequestStatus::Failed
        },
        message: result.as_ref().err().map(|e| e.to_string()),
    };
    record.id = state.store.insert_jit_request(&record).await?;
    state
        .store
        .audit(NewEntry {
            actor: s.actor(),
            action: "jit.request".into(),
            target: vm.id.clone(),
            outcome: if result.is_ok() { "success" } else { "failure" }.into(),
            before: json!(null),
            after: json!(record),
            detail: json!({ "policy": policy.id }),
        })
        .await?;
    drop(_w);
    result?;
    let summary = format!(
        "JIT access to {} ({}) for {} min",
        vm.name,
        ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        req.duration_minutes
    );
    let actor = s.actor();
    let write = Applied {
        at: requested_at,
        actor: &actor,
        action: "jit.request",
        marker: "jitRequest",
        summary,
    };
    write.announce(&state).await?;
    Ok((StatusCode::CREATED, Json(record)))
}

/// A request that fits its VM's JIT policy.
struct Checked<'a> {
    vm: &'a VmReport,
    policy: &'a JitNetworkAccessPolicy,
    ports: Vec<u16>,
    /// Per port, the sources its policy allows (`None`: any).
    allowed: Vec<(u16, Option<Vec<String>>)>,
    justification: &'a str,
}

/// The sources a policy port rule allows: `None` for any (`*` or nothing named).
fn allowed_sources(rule: &portcullis_shared::arm::JitPortRule) -> Option<Vec<String>> {
    let named: Vec<String> = rule
        .allowed_source_address_prefix
        .iter()
        .chain(&rule.allowed_source_address_prefixes)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let any = named.is_empty()
        || named.iter().any(|s| {
            s == "*" || s.eq_ignore_ascii_case("any") || s.eq_ignore_ascii_case("internet")
        });
    (!any).then_some(named)
}

/// A requested source (already valid) checked against the policy: not so broad that the port
/// would read open, and within what each requested port's rule allows.
fn check_source_allowed(
    source: &str,
    c: &Checked<'_>,
    cfg: &portcullis_shared::EvalConfig,
) -> Result<(), AppError> {
    check_sources_breadth(&[source.to_string()], cfg)
        .map_err(|why| AppError::bad("sourceAddress", format!("{source}: {why}")))?;
    let Some(want) = Cidr::parse(source.trim()).map(|c| AddrSet::from_cidr(&c)) else {
        return Ok(());
    };
    for (port, allowed) in &c.allowed {
        let Some(allowed) = allowed else { continue };
        let set = allowed
            .iter()
            .filter_map(|a| Cidr::parse(a))
            .fold(AddrSet::empty(), |acc, c| {
                acc.union(&AddrSet::from_cidr(&c))
            });
        if !want.is_subset(&set) {
            return Err(AppError::bad(
                "sourceAddress",
                format!(
                    "{source} is not allowed to port {port} by {}'s JIT policy (allowed: {})",
                    c.vm.name,
                    allowed.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Checks a request against the VM's JIT policy: known VM, a policy covering it, ports in it,
/// a duration within the policy's shortest maximum, a justification.
fn check_request<'a>(cur: &'a Current, req: &'a CreateJitRequest) -> Result<Checked<'a>, AppError> {
    let vm = cur
        .vm(&req.vm_id)
        .ok_or_else(|| AppError::bad("vmId", format!("{:?} is not a known VM", req.vm_id)))?;
    let (policy, entry) = cur
        .inventory
        .jit_network_access_policies
        .iter()
        .find_map(|p| {
            Some((
                p,
                p.properties
                    .virtual_machines
                    .iter()
                    .find(|v| id_key(&v.id) == id_key(&vm.id))?,
            ))
        })
        .ok_or_else(|| {
            AppError::bad(
                "vmId",
                format!("{} has no JIT policy: enable JIT first", vm.name),
            )
        })?;
    let ports: Vec<u16> = if req.ports.is_empty() {
        entry
            .ports
            .iter()
            .map(|p| p.number.clamp(0, 65535) as u16)
            .collect()
    } else {
        req.ports.clone()
    };
    let mut max_minutes = u32::MAX;
    let mut allowed = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        if ports[..i].contains(p) {
            return Err(AppError::bad(
                format!("ports[{i}]"),
                format!("port {p} is listed twice"),
            ));
        }
        let rule = entry
            .ports
            .iter()
            .find(|r| r.number == i64::from(*p))
            .ok_or_else(|| {
                AppError::bad(
                    format!("ports[{i}]"),
                    format!("port {p} is not in {}'s JIT policy", vm.name),
                )
            })?;
        max_minutes = max_minutes.min(jit_port_view(rule).max_minutes);
        allowed.push((*p, allowed_sources(rule)));
    }
    if req.duration_minutes == 0 || req.duration_minutes > max_minutes {
        return Err(AppError::bad(
            "durationMinutes",
            format!(
                "{} is not within 1-{max_minutes} minutes (the policy's maximum)",
                req.duration_minutes
            ),
        ));
    }
    let justification = req.justification.trim();
    if justification.is_empty() || justification.len() > 500 {
        return Err(AppError::bad("justification", "say why (1-500 characters)"));
    }
    Ok(Checked {
        vm,
        policy,
        ports,
        allowed,
        justification,
    })
}

/// `GET /api/jit/policies`: every JIT policy of the inventory, by subscription, group and name.
pub async fn list_jit_policies(
    State(state): State<AppState>,
    _s: Session,
) -> Result<Json<JitPolicyList>, AppError> {
    let cur = state.current().ok_or(AppError::NotReady)?;
    let mut policies: Vec<JitPolicySummary> = cur
        .inventory
        .jit_network_access_policies
        .iter()
        .map(|p| {
            let (sub, rg) = portcullis_shared::arm::id_scope(&p.id);
            JitPolicySummary {
                id: p.id.clone(),
                name: p
                    .name
                    .clone()
                    .unwrap_or_else(|| p.id.rsplit('/').next().unwrap_or_default().to_string()),
                subscription_id: sub.to_string(),
                resource_group: rg.to_string(),
                location: p.location.clone(),
                provisioning_state: p.properties.provisioning_state.clone(),
                vms: p
                    .properties
                    .virtual_machines
                    .iter()
                    .map(|v| {
                        let vm = cur
                            .report
                            .vms
                            .iter()
                            .find(|r| id_key(&r.id) == id_key(&v.id));
                        JitPolicyVmView {
                            vm_id: vm.map(|r| r.id.clone()).unwrap_or_else(|| v.id.clone()),
                            vm_name: vm.map(|r| r.name.clone()).unwrap_or_else(|| {
                                v.id.rsplit('/').next().unwrap_or_default().to_string()
                            }),
                            found: vm.is_some(),
                            ports: v.ports.iter().map(jit_port_view).collect(),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    policies.sort_by(|a, b| {
        (
            a.subscription_id.to_lowercase(),
            a.resource_group.to_lowercase(),
            &a.name,
        )
            .cmp(&(
                b.subscription_id.to_lowercase(),
                b.resource_group.to_lowercase(),
                &b.name,
            ))
    });
    Ok(Json(JitPolicyList { policies }))
}
