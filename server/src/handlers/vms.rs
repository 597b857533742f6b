//! One VM: NICs, NSGs with their rules in evaluation order (deciding rules marked), exposures,
//! JIT policy and requests.
use crate::auth::Session;
use crate::clock::rfc3339;
use crate::error::AppError;
use crate::state::AppState;
use axum::{
    extract::{Path, State},
    Json,
};
use portcullis_shared::api::{
    DefenderComparison, DefenderVerdict, JitPolicyView, JitPortView, NicView, NsgView, RuleView,
    VmDetail,
};
use portcullis_shared::arm::{default_security_rules, id_key, SecurityRule};
use portcullis_shared::eval::report::{Level, RecommendationKey, VmRecommendations};
use portcullis_shared::eval::Access;
use portcullis_shared::eval::Status;
use portcullis_shared::remediation::parse_iso_minutes;
use serde_json::Value;

fn list(single: &Option<String>, many: &[String]) -> Vec<String> {
    single
        .iter()
        .chain(many.iter())
        .filter(|s| !s.is_empty())
        .cloned()
        .collect()
}

fn view(r: &SecurityRule, default: bool, deciding: Vec<u16>) -> RuleView {
    let p = &r.properties;
    let mut sources = list(&p.source_address_prefix, &p.source_address_prefixes);
    sources.extend(
        p.source_application_security_groups
            .iter()
            .filter_map(|a| a.id.clone()),
    );
    let mut destinations = list(
        &p.destination_address_prefix,
        &p.destination_address_prefixes,
    );
    destinations.extend(
        p.destination_application_security_groups
            .iter()
            .filter_map(|a| a.id.clone()),
    );
    let name = r.name.clone().unwrap_or_default();
    RuleView {
        jit: name.starts_with("SecurityCenter-JITRule"),
        name,
        priority: p.priority.unwrap_or_default().max(0) as u32,
        access: if p
            .access
            .as_deref()
            .is_some_and(|a| a.eq_ignore_ascii_case("deny"))
        {
            Access::Deny
        } else {
            Access::Allow
        },
        protocol: p.protocol.clone().unwrap_or_else(|| "*".into()),
        sources,
        source_ports: list(&p.source_port_range, &p.source_port_ranges),
        destinations,
        destination_ports: list(&p.destination_port_range, &p.destination_port_ranges),
        description: p.description.clone(),
        default,
        deciding_for_ports: deciding,
    }
}

/// `GET /api/vms/{*id}`: the VM's ARM id (leading slash optional) or its name.
pub async fn get_vm(
    State(state): State<AppState>,
    _s: Session,
    Path(id): Path<String>,
) -> Result<Json<VmDetail>, AppError> {
    let cur = state.current().ok_or(AppError::NotReady)?;
    let wanted = if id.starts_with('/') {
        id.clone()
    } else {
        format!("/{id}")
    };
    let report = cur
        .report
        .vms
        .iter()
        .find(|v| id_key(&v.id) == id_key(&wanted) || v.name.eq_ignore_ascii_case(&id))
        .ok_or_else(|| AppError::NotFound(format!("no VM {id}")))?
        .clone();
    let inv = &cur.inventory;
    let vm = inv
        .virtual_machines
        .iter()
        .find(|v| id_key(&v.id) == id_key(&report.id));
    let nic_ids: Vec<String> = vm
        .map(|v| {
            v.properties
                .network_profile
                .network_interfaces
                .iter()
                .filter_map(|r| r.id.clone())
                .collect()
        })
        .unwrap_or_default();
    let nics: Vec<NicView> = nic_ids
        .iter()
        .map(|nid| {
            let nic = inv
                .network_interfaces
                .iter()
                .find(|n| id_key(&n.id) == id_key(nid));
            NicView {
                id: nid.clone(),
                name: nic
                    .and_then(|n| n.name.clone())
                    .unwrap_or_else(|| nid.rsplit('/').next().unwrap_or_default().into()),
                nsg: nic.and_then(|n| n.properties.network_security_group.as_ref()?.id.clone()),
                ip_configurations: report
                    .ip_configurations
                    .iter()
                    .filter(|c| id_key(&c.id).starts_with(&id_key(nid)))
                    .cloned()
                    .collect(),
            }
        })
        .collect();
    // NSGs on the path: subnet level first, then NIC level, each once
    let mut path: Vec<(String, Level)> = Vec::new();
    for c in &report.ip_configurations {
        for (nsg, level) in [
            (&c.subnet_nsg, Level::Subnet),
            (&c.nic_nsg, Level::NetworkInterface),
        ] {
            if let Some(n) = nsg {
                if !path
                    .iter()
                    .any(|(x, l)| id_key(x) == id_key(n) && *l == level)
                {
                    path.push((n.to_string(), level));
                }
            }
        }
    }
    path.sort_by_key(|(_, l)| *l);
    let nsgs = path
        .iter()
        .map(|(nid, level)| {
            let nsg = inv
                .network_security_groups
                .iter()
                .find(|n| id_key(&n.id) == id_key(nid));
            let deciding = |name: &str| -> Vec<u16> {
                report
                    .exposures
                    .iter()
                    .filter(|e| {
                        e.deciding_rules.iter().any(|d| {
                            id_key(&d.nsg) == id_key(nid) && &*d.rule == name && d.level == *level
                        })
                    })
                    .map(|e| e.port)
                    .collect()
            };
            let mut custom: Vec<&SecurityRule> = nsg
                .map(|n| {
                    n.properties
                        .security_rules
                        .iter()
                        .filter(|r| {
                            r.properties
                                .direction
                                .as_deref()
                                .is_none_or(|d| d.eq_ignore_ascii_case("inbound"))
                        })
                        .collect()
                })
                .unwrap_or_default();
            custom.sort_by_key(|r| r.properties.priority.unwrap_or(i64::MAX));
            let mut rules: Vec<RuleView> = custom
                .iter()
                .map(|r| view(r, false, deciding(r.name.as_deref().unwrap_or_default())))
                .collect();
            rules.extend(
                default_security_rules(nid)
                    .iter()
                    .filter(|r| r.properties.direction.as_deref() == Some("Inbound"))
                    .map(|r| view(r, true, deciding(r.name.as_deref().unwrap_or_default()))),
            );
            NsgView {
                id: nid.clone(),
                name: nsg
                    .and_then(|n| n.name.clone())
                    .unwrap_or_else(|| nid.rsplit('/').next().unwrap_or_default().into()),
                level: *level,
                etag: nsg.and_then(|n| n.etag.clone()),
                found: nsg.is_some(),
                rules,
            }
        })
        .collect();
    let jit_policy = inv.jit_network_access_policies.iter().find_map(|p| {
        let entry = p
            .properties
            .virtual_machines
            .iter()
            .find(|v| id_key(&v.id) == id_key(&report.id))?;
        Some(JitPolicyView {
            id: p.id.clone(),
            name: p.name.clone().unwrap_or_default(),
            provisioning_state: p.properties.provisioning_state.clone(),
            ports: entry
                .ports
                .iter()
                .map(|port| {
                    let d = port
                        .max_request_access_duration
                        .clone()
                        .unwrap_or_else(|| "PT3H".into());
                    JitPortView {
                        number: port.number.clamp(0, 65535) as u16,
                        protocol: port.protocol.clone().unwrap_or_else(|| "*".into()),
                        max_minutes: parse_iso_minutes(&d).unwrap_or(180),
                        max_request_access_duration: d,
                        allowed_source_address_prefixes: list(
                            &port.allowed_source_address_prefix,
                            &port.allowed_source_address_prefixes,
                        ),
                    }
                })
                .collect(),
        })
    });
    let jit_requests = state.store.jit_requests(None, Some(&report.id)).await?;
    let defender = match state
        .arm
        .list::<Value>(&format!(
            "{}/providers/Microsoft.Security/assessments?api-version={}",
            report.id,
            crate::arm::api::ASSESSMENTS
        ))
        .await
    {
        Ok(list) => compare_with_defender(&report.recommendations, &list),
        Err(e) => DefenderComparison {
            error: Some(e.to_string()),
            ..compare_with_defender(&report.recommendations, &[])
        },
    };
    Ok(Json(VmDetail {
        defender,
        subscription_name: cur.subscription_name(&report.subscription_id),
        report,
        nics,
        nsgs,
        jit_policy,
        jit_requests,
        refreshed_at: Some(rfc3339(cur.at_ms)),
    }))
}

/// Defender's assessments of the VM (ARM `Microsoft.Security/assessments` items) beside
/// Portcullis's verdicts: status codes `Healthy`, `Unhealthy`, `NotApplicable` (any case).
pub fn compare_with_defender(
    ours: &VmRecommendations,
    assessments: &[Value],
) -> DefenderComparison {
    let recommendations: Vec<DefenderVerdict> = RecommendationKey::ALL
        .into_iter()
        .map(|key| {
            let found = assessments.iter().find(|a| {
                a["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(key.assessment_key()))
            });
            let status = &found.map(|a| &a["properties"]["status"]);
            let defender =
                status.and_then(
                    |s| match s["code"].as_str()?.to_ascii_lowercase().as_str() {
                        "healthy" => Some(Status::Healthy),
                        "unhealthy" => Some(Status::Unhealthy),
                        "notapplicable" => Some(Status::NotApplicable),
                        _ => None,
                    },
                );
            let description = status.and_then(|s| {
                s["description"]
                    .as_str()
                    .or(s["cause"].as_str())
                    .filter(|d| !d.is_empty())
                    .map(str::to_string)
            });
            let portcullis = ours.get(key);
            DefenderVerdict {
                key,
                portcullis,
                agrees: defender.is_none_or(|d| d == portcullis),
                defender,
                description,
            }
        })
        .collect();
    DefenderComparison {
        disagreements: recommendations.iter().filter(|r| !r.agrees).count(),
        recommendations,
        error: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn assessment(key: RecommendationKey, code: &str, description: &str) -> Value {
        json!({
            "id": format!("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/providers/Microsoft.Security/assessments/{}", key.assessment_key()),
            "name": key.assessment_key().to_uppercase(),
            "properties": { "status": { "code": code, "description": description } }
        })
    }

    #[test]
    fn defender_verdicts_are_compared_key_by_key() {
        let ours = VmRecommendations {
            internet_facing_vms_protected_by_nsg: Status::Healthy,
            management_ports_closed: Status::Healthy,
            management_ports_jit_protected: Status::NotApplicable,
        };
        let list = vec![
            assessment(
                RecommendationKey::InternetFacingVmsProtectedByNsg,
                "Healthy",
                "",
            ),
            assessment(
                RecommendationKey::ManagementPortsClosed,
                "unhealthy",
                "Port 3389 is open to the Internet",
            ),
        ];
        let c = compare_with_defender(&ours, &list);
        assert_eq!(c.disagreements, 1);
        assert!(c.recommendations[0].agrees);
        let closed = &c.recommendations[1];
        assert_eq!(closed.defender, Some(Status::Unhealthy));
        assert!(!closed.agrees);
        assert_eq!(
            closed.description.as_deref(),
            Some("Port 3389 is open to the Internet")
        );
        // not assessed: no verdict, not a disagreement
        assert_eq!(c.recommendations[2].defender, None);
        assert!(c.recommendations[2].agrees);
        assert_eq!(compare_with_defender(&ours, &[]).disagreements, 0);
    }
}
