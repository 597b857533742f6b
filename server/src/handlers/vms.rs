//! One VM: NICs, NSGs with their rules in evaluation order (deciding rules marked), exposures,
//! JIT policy and requests, and Defender's own verdicts beside Portcullis's.
use crate::auth::Session;
use crate::clock::rfc3339;
use crate::error::AppError;
use crate::state::AppState;
use crate::views;
use axum::{
    extract::{Path, State},
    Json,
};
use portcullis_shared::api::{DefenderComparison, DefenderVerdict, VmDetail};
use portcullis_shared::arm::id_key;
use portcullis_shared::eval::path_rules::rules_on_path;
use portcullis_shared::eval::report::{RecommendationKey, VmRecommendations};
use portcullis_shared::eval::Status;
use serde_json::Value;

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
    let nsgs = rules_on_path(&report, inv)
        .iter()
        .map(|p| views::nsg_view(p, &report))
        .collect();
    let jit_policy = inv.jit_network_access_policies.iter().find_map(|p| {
        let entry = p
            .properties
            .virtual_machines
            .iter()
            .find(|v| id_key(&v.id) == id_key(&report.id))?;
        Some(views::jit_policy_view(p, entry))
    });
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
        nics: views::nic_views(inv, &report),
        nsgs,
        jit_policy,
        jit_requests: state.store.jit_requests(None, Some(&report.id)).await?,
        refreshed_at: Some(rfc3339(cur.at_ms)),
        report,
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
