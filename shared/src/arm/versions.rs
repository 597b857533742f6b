//! The ARM api-versions Portcullis speaks, per resource provider: the one table that the
//! server's ARM client (its default version), the read-only proxy and the embedded emulator
//! (what it accepts) and the browser's what-if worker all read. How to add a version:
//! docs/api-versions.md.
//!
//! The accepted lists are the versions Azure publishes in its REST API specifications for the
//! resource types served (stable and the commonly used previews), up to the newest that
//! Microsoft's current SDKs send by default (azure-mgmt-network 33: 2026-03-01,
//! azure-mgmt-compute 39: 2026-04-01). The payload fields Portcullis reads have the same shape
//! in every one of them.

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
    ResourceGraph,
    /// Microsoft.Resources: resource groups, the generic resource list, resource providers.
    Resources,
    /// Microsoft.Management: management groups.
    ManagementGroups,
}

/// The versions the ARM client sends (the first of each accepted list).
pub const SUBSCRIPTIONS: &str = "2022-12-01";
pub const COMPUTE: &str = "2024-11-01";
pub const NETWORK: &str = "2024-07-01";
pub const JIT: &str = "2020-01-01";
pub const SECURE_SCORES: &str = "2020-01-01";
pub const ASSESSMENTS: &str = "2021-06-01";
pub const ALERTS: &str = "2022-01-01";
pub const SECURITY_LOCATIONS: &str = "2015-06-01-preview";
pub const RESOURCE_GRAPH: &str = "2024-04-01";
/// Not sent by the ARM client; azure-mgmt-resource 26's default.
pub const RESOURCES: &str = "2025-04-01";
/// Not sent by the ARM client; azure-mgmt-managementgroups 2's default.
pub const MANAGEMENT_GROUPS: &str = "2023-04-01";

/// Microsoft.Resources resource groups, resources and providers (stable).
const RESOURCE_VERSIONS: &[&str] = &[
    RESOURCES,
    "2025-03-01",
    "2024-11-01",
    "2024-07-01",
    "2024-03-01",
    "2023-07-01",
    "2022-09-01",
    "2021-04-01",
    "2021-01-01",
    "2020-10-01",
    "2020-08-01",
    "2020-06-01",
    "2019-10-01",
    "2019-08-01",
    "2019-07-01",
    "2019-05-10",
    "2019-05-01",
    "2019-03-01",
    "2018-05-01",
    "2018-02-01",
    "2017-05-10",
    "2016-09-01",
    "2016-02-01",
];

/// The resource providers the emulator serves, with their resource types and the family whose
/// versions each accepts: what `GET /subscriptions/{id}/providers[/{namespace}]` answers.
pub const PROVIDER_TYPES: &[(&str, &[(&str, ApiFamily)])] = &[
    (
        "Microsoft.Compute",
        &[("virtualMachines", ApiFamily::Compute)],
    ),
    (
        "Microsoft.Network",
        &[
            ("networkInterfaces", ApiFamily::Network),
            ("publicIPAddresses", ApiFamily::Network),
            ("virtualNetworks", ApiFamily::Network),
            ("virtualNetworks/subnets", ApiFamily::Network),
            ("virtualNetworks/virtualNetworkPeerings", ApiFamily::Network),
            ("networkSecurityGroups", ApiFamily::Network),
            ("networkSecurityGroups/securityRules", ApiFamily::Network),
            ("applicationSecurityGroups", ApiFamily::Network),
            ("loadBalancers", ApiFamily::Network),
            ("azureFirewalls", ApiFamily::Network),
            ("firewallPolicies", ApiFamily::Network),
            ("firewallPolicies/ruleCollectionGroups", ApiFamily::Network),
            ("bastionHosts", ApiFamily::Network),
            ("ipGroups", ApiFamily::Network),
            ("applicationGateways", ApiFamily::Network),
            ("networkManagers", ApiFamily::Network),
            ("locations/operations", ApiFamily::Network),
            ("locations/operationResults", ApiFamily::Network),
        ],
    ),
    (
        "Microsoft.Security",
        &[
            ("locations", ApiFamily::SecurityLocations),
            ("locations/jitNetworkAccessPolicies", ApiFamily::JitPolicies),
            ("secureScores", ApiFamily::SecureScores),
            ("secureScoreControls", ApiFamily::SecureScores),
            ("assessments", ApiFamily::Assessments),
            ("alerts", ApiFamily::Alerts),
            ("locations/alerts", ApiFamily::Alerts),
        ],
    ),
    (
        "Microsoft.ResourceGraph",
        &[("resources", ApiFamily::ResourceGraph)],
    ),
];

/// Microsoft.Resources subscriptions (stable).
const SUBSCRIPTION_VERSIONS: &[&str] = &[
    SUBSCRIPTIONS,
    "2021-01-01",
    "2020-01-01",
    "2019-11-01",
    "2019-06-01",
    "2018-06-01",
    "2016-06-01",
    "2015-11-01",
];

/// Microsoft.Compute (ComputeRP: virtual machines), stable.
const COMPUTE_VERSIONS: &[&str] = &[
    COMPUTE,
    "2026-04-01",
    "2026-03-01",
    "2025-11-01",
    "2025-04-01",
    "2024-07-01",
    "2024-03-01",
    "2023-09-01",
    "2023-07-01",
    "2023-03-01",
    "2022-11-01",
    "2022-08-01",
    "2022-03-01",
    "2021-11-01",
    "2021-07-01",
    "2021-04-01",
    "2021-03-01",
    "2020-12-01",
    "2020-06-01",
];

/// Microsoft.Network, stable, and the previews of Virtual Network Manager.
const NETWORK_VERSIONS: &[&str] = &[
    NETWORK,
    "2026-03-01",
    "2026-01-01",
    "2025-09-01",
    "2025-07-01",
    "2025-05-01",
    "2025-03-01",
    "2025-01-01",
    "2024-10-01",
    "2024-05-01",
    "2024-03-01",
    "2024-01-01",
    "2023-11-01",
    "2023-09-01",
    "2023-06-01",
    "2023-05-01",
    "2023-04-01",
    "2023-02-01",
    "2022-11-01",
    "2022-09-01",
    "2022-07-01",
    "2022-05-01",
    "2022-01-01",
    "2021-08-01",
    "2021-05-01",
    "2021-03-01",
    "2021-02-01",
    "2020-11-01",
    "2020-08-01",
    "2020-07-01",
    "2020-06-01",
    "2020-05-01",
    "2020-04-01",
    "2020-03-01",
    "2022-06-01-preview",
    "2022-04-01-preview",
    "2022-02-01-preview",
    "2021-05-01-preview",
    "2021-02-01-preview",
];

/// The list calls of a snapshot, per subscription: (inventory key, path below
/// `/subscriptions/{id}/`, api-version). Firewall policies' rule collection groups and each
/// VNet's effective security admin rules are read per resource after these.
pub const SNAPSHOT_LISTS: [(&str, &str, &str); 11] = [
    (
        "virtualMachines",
        "providers/Microsoft.Compute/virtualMachines",
        COMPUTE,
    ),
    (
        "networkInterfaces",
        "providers/Microsoft.Network/networkInterfaces",
        NETWORK,
    ),
    (
        "publicIPAddresses",
        "providers/Microsoft.Network/publicIPAddresses",
        NETWORK,
    ),
    (
        "virtualNetworks",
        "providers/Microsoft.Network/virtualNetworks",
        NETWORK,
    ),
    (
        "networkSecurityGroups",
        "providers/Microsoft.Network/networkSecurityGroups",
        NETWORK,
    ),
    (
        "applicationSecurityGroups",
        "providers/Microsoft.Network/applicationSecurityGroups",
        NETWORK,
    ),
    (
        "jitNetworkAccessPolicies",
        "providers/Microsoft.Security/jitNetworkAccessPolicies",
        JIT,
    ),
    (
        "loadBalancers",
        "providers/Microsoft.Network/loadBalancers",
        NETWORK,
    ),
    (
        "azureFirewalls",
        "providers/Microsoft.Network/azureFirewalls",
        NETWORK,
    ),
    (
        "bastionHosts",
        "providers/Microsoft.Network/bastionHosts",
        NETWORK,
    ),
    (
        "applicationGateways",
        "providers/Microsoft.Network/applicationGateways",
        NETWORK,
    ),
];

impl ApiFamily {
    /// The api-version the client uses.
    pub fn default_version(self) -> &'static str {
        self.supported()[0]
    }

    /// Accepted api-versions, the client's first.
    pub fn supported(self) -> &'static [&'static str] {
        match self {
            Self::Subscriptions => SUBSCRIPTION_VERSIONS,
            Self::Compute => COMPUTE_VERSIONS,
            Self::Network => NETWORK_VERSIONS,
            Self::JitPolicies => &[JIT, "2015-06-01-preview"],
            Self::SecureScores => &[SECURE_SCORES],
            Self::Assessments => &[
                ASSESSMENTS,
                "2025-05-04",
                "2020-01-01",
                "2019-01-01-preview",
            ],
            Self::Alerts => &[
                ALERTS,
                "2021-01-01",
                "2020-01-01",
                "2019-01-01",
                "2015-06-01-preview",
            ],
            Self::SecurityLocations => &[SECURITY_LOCATIONS],
            Self::ResourceGraph => &[
                RESOURCE_GRAPH,
                "2022-10-01",
                "2021-03-01",
                "2019-04-01",
                "2021-06-01-preview",
                "2020-04-01-preview",
            ],
            Self::Resources => RESOURCE_VERSIONS,
            Self::ManagementGroups => &[
                MANAGEMENT_GROUPS,
                "2021-04-01",
                "2020-10-01",
                "2020-05-01",
                "2020-02-01",
                "2019-11-01",
                "2024-02-01-preview",
                "2018-03-01-preview",
            ],
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
            return match segments {
                ["tenants"] | ["subscriptions"] | ["subscriptions", _] => Some(Self::Subscriptions),
                ["subscriptions", _, "resourcegroups" | "resources", ..] => Some(Self::Resources),
                _ => None,
            };
        };
        // `/subscriptions/{id}/providers[/{namespace}]`: the providers themselves
        if i + 2 >= segments.len() {
            return (i == 2 && segments[0] == "subscriptions").then_some(Self::Resources);
        }
        let ns = segments.get(i + 1)?;
        let rest = &segments[(i + 2).min(segments.len())..];
        match *ns {
            "microsoft.compute" => Some(Self::Compute),
            "microsoft.network" => Some(Self::Network),
            "microsoft.resourcegraph" => Some(Self::ResourceGraph),
            "microsoft.management" => Some(Self::ManagementGroups),
            "microsoft.security" => {
                if rest.contains(&"jitnetworkaccesspolicies") {
                    Some(Self::JitPolicies)
                } else if rest.contains(&"securescores")
                    || rest.contains(&"securescorecontrols")
                    || rest.contains(&"securescorecontroldefinitions")
                {
                    Some(Self::SecureScores)
                } else if rest.contains(&"assessments") || rest.contains(&"assessmentmetadata") {
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
        assert_eq!(c("/tenants"), Some(ApiFamily::Subscriptions));
        for p in [
            "/subscriptions/s/resourcegroups",
            "/subscriptions/s/resourceGroups/g",
            "/subscriptions/s/resources",
            "/subscriptions/s/resourceGroups/g/resources",
            "/subscriptions/s/providers",
            "/subscriptions/s/providers/Microsoft.Network",
        ] {
            assert_eq!(c(p), Some(ApiFamily::Resources), "{p}");
        }
        assert_eq!(c("/subscriptions/s/other"), None);
        assert_eq!(
            c("/providers/Microsoft.Management/managementGroups/contoso/subscriptions"),
            Some(ApiFamily::ManagementGroups)
        );
        // every provider type the emulator lists names a family
        for (ns, types) in PROVIDER_TYPES {
            assert!(!types.is_empty(), "{ns}");
        }
        assert_eq!(ApiFamily::Network.default_version(), NETWORK);
        assert!(ApiFamily::Network.accepts("2025-01-01"));
        assert!(!ApiFamily::Network.accepts("2099-01-01"));
        // what Microsoft's current SDKs send by default
        assert!(ApiFamily::Network.accepts("2026-03-01"));
        assert!(ApiFamily::Compute.accepts("2026-04-01"));
        for f in [
            ApiFamily::Subscriptions,
            ApiFamily::Compute,
            ApiFamily::Network,
            ApiFamily::JitPolicies,
            ApiFamily::SecureScores,
            ApiFamily::Assessments,
            ApiFamily::Alerts,
            ApiFamily::SecurityLocations,
            ApiFamily::ResourceGraph,
            ApiFamily::Resources,
            ApiFamily::ManagementGroups,
        ] {
            let mut v = f.supported().to_vec();
            v.sort_unstable();
            v.dedup();
            assert_eq!(v.len(), f.supported().len(), "{f:?}: each version once");
        }
    }
}
