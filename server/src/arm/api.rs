//! The ARM api-versions Portcullis speaks, per resource provider, and which ones it accepts
//! (the emulator serves them; the read-only proxy forwards only them).

/// What a request path addresses, for the choice of api-version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiFamily {
    Subscriptions,
    Compute,
    Network,
    JitPolicies,
    SecureScores,
    Assessments,
    Alerts,
    SecurityLocations,
}

pub const SUBSCRIPTIONS: &str = "2022-12-01";
pub const COMPUTE: &str = "2024-11-01";
pub const NETWORK: &str = "2024-07-01";
pub const JIT: &str = "2020-01-01";
pub const SECURE_SCORES: &str = "2020-01-01";
pub const ASSESSMENTS: &str = "2021-06-01";
pub const ALERTS: &str = "2022-01-01";
pub const SECURITY_LOCATIONS: &str = "2015-06-01-preview";

impl ApiFamily {
    /// The api-version the client uses.
    pub fn default_version(self) -> &'static str {
        self.supported()[0]
    }

    /// Accepted api-versions, the client's first.
    pub fn supported(self) -> &'static [&'static str] {
        match self {
            Self::Subscriptions => &[SUBSCRIPTIONS, "2021-01-01", "2020-01-01", "2016-06-01"],
            Self::Compute => &[
                COMPUTE,
                "2025-04-01",
                "2024-07-01",
                "2024-03-01",
                "2023-09-01",
                "2023-07-01",
                "2023-03-01",
            ],
            Self::Network => &[
                NETWORK,
                "2025-01-01",
                "2024-05-01",
                "2024-03-01",
                "2024-01-01",
                "2023-11-01",
                "2023-09-01",
            ],
            Self::JitPolicies => &[JIT, "2015-06-01-preview"],
            Self::SecureScores => &[SECURE_SCORES],
            Self::Assessments => &[ASSESSMENTS, "2020-01-01", "2019-01-01-preview"],
            Self::Alerts => &[ALERTS, "2021-01-01"],
            Self::SecurityLocations => &[SECURITY_LOCATIONS],
        }
    }

    pub fn accepts(self, version: &str) -> bool {
        self.supported()
            .iter()
            .any(|v| v.eq_ignore_ascii_case(version))
    }

    /// Classifies a path given as lower-case segments (`["subscriptions", "x", "providers", ...]`)
    /// by its last provider. `None`: not a path Portcullis knows.
    pub fn classify(segments: &[&str]) -> Option<ApiFamily> {
        let Some(i) = segments.iter().rposition(|s| *s == "providers") else {
            return (segments.first() == Some(&"subscriptions") && segments.len() <= 2)
                .then_some(Self::Subscriptions);
        };
        let ns = segments.get(i + 1)?;
        let rest = &segments[(i + 2).min(segments.len())..];
        match *ns {
            "microsoft.compute" => Some(Self::Compute),
            "microsoft.network" => Some(Self::Network),
            "microsoft.security" => {
                if rest.contains(&"jitnetworkaccesspolicies") {
                    Some(Self::JitPolicies)
                } else if rest.contains(&"securescores") || rest.contains(&"securescorecontrols") {
                    Some(Self::SecureScores)
                } else if rest.contains(&"assessments") {
                    Some(Self::Assessments)
                } else if rest.contains(&"alerts") {
                    Some(Self::Alerts)
                } else if rest.first() == Some(&"locations") {
                    Some(Self::SecurityLocations)
                } else {
                    None
                }
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let c = |p: &str| {
            let l = p.to_ascii_lowercase();
            let segs: Vec<&str> = l.trim_matches('/').split('/').collect();
            ApiFamily::classify(&segs)
        };
        assert_eq!(c("/subscriptions"), Some(ApiFamily::Subscriptions));
        assert_eq!(
            c("/subscriptions/s/providers/Microsoft.Compute/virtualMachines"),
            Some(ApiFamily::Compute)
        );
        assert_eq!(
            c("/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/v/providers/Microsoft.Security/assessments"),
            Some(ApiFamily::Assessments)
        );
        assert_eq!(
            c("/subscriptions/s/resourceGroups/g/providers/Microsoft.Security/locations/westeurope/jitNetworkAccessPolicies/default/initiate"),
            Some(ApiFamily::JitPolicies)
        );
        assert_eq!(
            c("/subscriptions/s/providers/Microsoft.KeyVault/vaults"),
            None
        );
        assert_eq!(ApiFamily::Network.default_version(), NETWORK);
        assert!(ApiFamily::Network.accepts("2025-01-01"));
        assert!(!ApiFamily::Network.accepts("2099-01-01"));
    }
}
