//! One of Defender for Cloud's assessments, as the emulator keeps it between two assessments
//! of a subscription (`World::assessed`); `defender.rs` makes and lists them.
use portcullis_shared::eval::report::{RecommendationKey, Status};
use serde_json::{json, Value};

/// One assessment as Defender keeps it between two assessments of a subscription (kept
/// typed: a 100k-VM tenant holds 300k of them), rendered as ARM JSON when listed.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessed {
    pub vm_id: String,
    pub key: RecommendationKey,
    pub status: Status,
    /// Why an unhealthy VM is (the first open port's reason).
    pub description: String,
}

impl Assessed {
    pub fn to_json(&self) -> Value {
        let key = self.key;
        let status = match self.status {
            Status::Healthy => json!({ "code": "Healthy" }),
            Status::Unhealthy => json!({ "code": "Unhealthy", "description": self.description }),
            Status::NotApplicable => json!({
                "code": "NotApplicable",
                "cause": "NotApplicable",
                "description": "This recommendation does not apply to this resource."
            }),
        };
        json!({
            "id": format!("{}/providers/Microsoft.Security/assessments/{}", self.vm_id, key.assessment_key()),
            "name": key.assessment_key(),
            "type": "Microsoft.Security/assessments",
            "properties": {
                "resourceDetails": { "source": "Azure", "id": self.vm_id },
                "displayName": key.display_name(),
                "status": status,
                "metadata": {
                    "displayName": key.display_name(),
                    "severity": key.severity(),
                    "assessmentType": "BuiltIn"
                }
            }
        })
    }
}
