//! One of Defender for Cloud's assessments, as the emulator keeps it between two assessments
//! of a subscription (`World::assessed`); `defender.rs` makes and lists them.
use portcullis_shared::eval::report::{RecommendationKey, Status};
use serde_json::{json, Value};

/// Defender's assessments of one VM (one per recommendation) as Defender keeps them between
/// two assessments of a subscription: compact, since a 100k-VM tenant holds 100k of them for
/// hours; rendered as ARM JSON items when listed.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessed {
    pub vm_id: Box<str>,
    /// In the order of [`RecommendationKey::ALL`].
    pub statuses: [Status; 3],
    /// Why the VM is unhealthy (the first open port's reason); empty when it is not.
    pub description: Box<str>,
}

impl Assessed {
    /// The ARM items, one per recommendation.
    pub fn to_json(&self) -> impl Iterator<Item = Value> + '_ {
        RecommendationKey::ALL
            .into_iter()
            .zip(self.statuses)
            .map(|(key, status)| self.item(key, status))
    }

    fn item(&self, key: RecommendationKey, status: Status) -> Value {
        let status = match status {
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
                "resourceDetails": { "source": "Azure", "id": &*self.vm_id },
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
