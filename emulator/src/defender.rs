//! Defender for Cloud read APIs computed from the emulator's state with the shared engine:
//! `secureScores`, `secureScoreControls`, `assessments` (the three recommendations of
//! "Secure management ports"), alerts (empty for now) and Security locations.
use super::assessment::Assessed;
use super::world::World;
use portcullis_shared::arm::id_scope;
use portcullis_shared::eval::report::{
    round2, ControlScore, RecommendationKey, Report, Status, VmReport, CONTROL_MAX_SCORE,
    CONTROL_NAME,
};
use portcullis_shared::eval::Model;
use portcullis_shared::EvalConfig;
use serde_json::{json, Value};

/// The emulator's id for the "Secure management ports" control definition. Defender's real
/// GUID is not published in any source we have (see docs/demo-tenant.md).
pub const CONTROL_ID: &str = "a3c5b1f0-7e2d-4a47-9d0b-5ec0b1c6e801";

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

impl World {
    /// The shared engine's results for one subscription's VMs, each turned by `f` into what
    /// the caller keeps (`None`: nothing), without copying the subscription's resources or
    /// holding every VM's report at once (a 100k-VM subscription's whole report is GBs).
    /// Empty on malformed state.
    pub fn each_vm_report<R: Send>(
        &self,
        sub: &str,
        f: impl Fn(VmReport) -> Option<R> + Sync,
    ) -> Vec<R> {
        let view = self
            .inventory
            .view_where(|id| id_scope(id).0.eq_ignore_ascii_case(sub));
        let Ok(model) = Model::from_view(view, &EvalConfig::default()) else {
            return Vec::new();
        };
        let (order, _) = model.vm_order();
        model
            .map_vm_chunks(&order, |_, reports, _| {
                reports.into_iter().filter_map(&f).collect::<Vec<R>>()
            })
            .into_iter()
            .flatten()
            .collect()
    }

    /// The control's score and counts for one subscription (kept until the world changes).
    pub fn control(&self, sub: &str) -> ControlScore {
        let key = sub.to_ascii_lowercase();
        if let Some(c) = self.controls.lock().get(&key) {
            return c.clone();
        }
        let statuses = self.each_vm_report(sub, |vm| Some((vm.status, vm.recommendations)));
        let control = Report::summary(statuses.iter().copied()).0;
        self.controls.lock().insert(key, control.clone());
        control
    }

    fn score_json(c: &ControlScore) -> (Value, u64) {
        let max = if c.applicable {
            f64::from(CONTROL_MAX_SCORE)
        } else {
            0.0
        };
        let current = round2(c.current_score);
        let percentage = if max > 0.0 {
            round4(current / max)
        } else {
            0.0
        };
        (
            json!({ "max": max, "current": current, "percentage": percentage }),
            (c.healthy + c.unhealthy) as u64,
        )
    }

    pub fn secure_scores(&self, sub: &str) -> Vec<Value> {
        let (score, weight) = Self::score_json(&self.control(sub));
        vec![json!({
            "id": format!("/subscriptions/{sub}/providers/Microsoft.Security/secureScores/ascScore"),
            "name": "ascScore",
            "type": "Microsoft.Security/secureScores",
            "properties": { "displayName": "ASC score", "score": score, "weight": weight }
        })]
    }

    pub fn secure_score_controls(&self, sub: &str, expand_definition: bool) -> Vec<Value> {
        let c = &self.control(sub);
        let (score, weight) = Self::score_json(c);
        let mut item = json!({
            "id": format!("/subscriptions/{sub}/providers/Microsoft.Security/secureScores/ascScore/secureScoreControls/{CONTROL_ID}"),
            "name": CONTROL_ID,
            "type": "Microsoft.Security/secureScores/secureScoreControls",
            "properties": {
                "displayName": CONTROL_NAME,
                "healthyResourceCount": c.healthy,
                "unhealthyResourceCount": c.unhealthy,
                "notApplicableResourceCount": c.not_applicable,
                "score": score,
                "weight": weight
            }
        });
        if expand_definition {
            item["properties"]["definition"] = control_definition();
        }
        vec![item]
    }

    /// Assessments of a subscription, or of one resource (`resource` = its id), as Defender
    /// last assessed them: a subscription is re-assessed when its last assessment is
    /// `assessment_interval_seconds` old (emulator clock), so a change shows in Defender's
    /// assessments only after that, as in Azure. Returns the items and whether the saved state
    /// changed (never: assessments are not saved).
    pub fn assessments(&mut self, sub: &str, resource: Option<&str>) -> (Vec<Value>, bool) {
        let key = sub.to_ascii_lowercase();
        let now = self.now().unix_timestamp();
        let interval = self.assessment_interval_seconds;
        let fresh = match self.assessed.get(&key) {
            Some((at, _)) => interval > 0 && now - at < interval,
            None => false,
        };
        let computed;
        let items: &[Assessed] = if fresh {
            &self.assessed[&key].1
        } else {
            computed = self.assess(sub);
            if interval > 0 {
                self.assessed.insert(key.clone(), (now, computed.clone()));
            }
            &computed
        };
        let want = resource.map(portcullis_shared::arm::id_key);
        let items = items
            .iter()
            .filter(|a| {
                want.as_deref()
                    .is_none_or(|w| portcullis_shared::arm::id_key(&a.vm_id) == w)
            })
            .flat_map(Assessed::to_json)
            .collect();
        (items, false)
    }

    /// Assesses every subscription now (Defender had assessed the tenant before the emulator
    /// started: later changes show after the next assessment).
    pub fn assess_all(&mut self) {
        let now = self.now().unix_timestamp();
        let subs: Vec<String> = self
            .subscriptions
            .iter()
            .map(|s| s.subscription_id.clone())
            .collect();
        for sub in subs {
            let items = self.assess(&sub);
            self.assessed.insert(sub.to_ascii_lowercase(), (now, items));
        }
    }

    /// Defender's assessment of a subscription's VMs now.
    fn assess(&self, sub: &str) -> Vec<Assessed> {
        self.each_vm_report(sub, |vm| {
            let statuses = RecommendationKey::ALL.map(|key| vm.recommendations.get(key));
            let description = if statuses.contains(&Status::Unhealthy) {
                vm.exposures
                    .iter()
                    .find(|e| e.state.as_str() == "open")
                    .map(|e| e.reason.to_string())
                    .unwrap_or_default()
            } else {
                String::new()
            };
            Some(Assessed {
                vm_id: vm.id.as_str().into(),
                statuses,
                description: description.into(),
            })
        })
    }

    pub fn security_locations(&self, sub: &str) -> Vec<Value> {
        let mut locs: Vec<String> = self
            .inventory
            .virtual_machines
            .iter()
            .filter(|v| id_scope(&v.id).0.eq_ignore_ascii_case(sub))
            .filter_map(|v| v.location.clone())
            .collect();
        locs.sort();
        locs.dedup();
        locs.iter()
            .map(|l| {
                json!({
                    "id": format!("/subscriptions/{sub}/providers/Microsoft.Security/locations/{l}"),
                    "name": l,
                    "type": "Microsoft.Security/locations",
                    "properties": { "homeRegionName": l }
                })
            })
            .collect()
    }
}

/// The "Secure management ports" control's definition, as
/// `secureScoreControlDefinitions` lists it.
pub fn control_definition() -> Value {
    json!({
        "id": format!("/providers/Microsoft.Security/secureScoreControlDefinitions/{CONTROL_ID}"),
        "name": CONTROL_ID,
        "type": "Microsoft.Security/secureScoreControlDefinitions",
        "properties": {
            "displayName": CONTROL_NAME,
            "maxScore": CONTROL_MAX_SCORE,
            "source": { "sourceType": "BuiltIn" },
            "assessmentDefinitions": RecommendationKey::ALL.iter().map(|k| json!({
                "id": format!("/providers/Microsoft.Security/assessmentMetadata/{}", k.assessment_key())
            })).collect::<Vec<_>>()
        }
    })
}

/// The metadata of the control's three assessments (`assessmentMetadata`), with the built-in
/// Azure Policy definitions behind them.
pub fn assessment_metadata() -> Vec<Value> {
    RecommendationKey::ALL
        .iter()
        .map(|k| {
            let (policy, description, remediation) = match k {
                RecommendationKey::InternetFacingVmsProtectedByNsg => (
                    "f6de0be7-9a8a-4b8a-b349-43cf02d22f7c",
                    "Protect your virtual machines from potential threats by restricting access to them with network security groups (NSG).",
                    "Associate a network security group with the subnet or the network interface of each internet-facing virtual machine.",
                ),
                RecommendationKey::ManagementPortsClosed => (
                    "22730e10-96f6-4aac-ad84-9383d35b5917",
                    "Open remote management ports expose your VM to a high level of risk from Internet-based attacks.",
                    "Restrict the sources allowed to the management ports in the network security group, or enable just-in-time access.",
                ),
                RecommendationKey::ManagementPortsJitProtected => (
                    "b0f33259-77d7-4c9e-aac6-3aabcfae693c",
                    "Possible network Just In Time (JIT) access will be monitored by Azure Security Center as recommendations.",
                    "Enable just-in-time network access control for the virtual machine.",
                ),
            };
            json!({
                "id": format!("/providers/Microsoft.Security/assessmentMetadata/{}", k.assessment_key()),
                "name": k.assessment_key(),
                "type": "Microsoft.Security/assessmentMetadata",
                "properties": {
                    "displayName": k.display_name(),
                    "policyDefinitionId": format!("/providers/Microsoft.Authorization/policyDefinitions/{policy}"),
                    "description": description,
                    "remediationDescription": remediation,
                    "categories": ["Networking"],
                    "severity": k.severity(),
                    "userImpact": "Low",
                    "implementationEffort": "Low",
                    "threats": ["DataExfiltration", "DataSpillage", "MaliciousInsider"],
                    "assessmentType": "BuiltIn"
                }
            })
        })
        .collect()
}
