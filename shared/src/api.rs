//! Wire types of the server's JSON API (no business logic here).
//!
//! Every type is `camelCase` on the wire. The server and the Leptos front end both use them, so
//! changes are additive only: new optional fields (`#[serde(default)]`), new types, new enum
//! variants where readers tolerate them. Report types (`VmReport`, `ControlScore`, ...) come
//! from the engine ([`crate::eval::report`]) and ARM resources from [`crate::arm`], unchanged.
use crate::arm::{JitNetworkAccessPolicy, SecurityRule};
use crate::eval::report::{
    ControlScore, IpConfigSummary, Level, RecommendationKey, RecommendationSummary,
    VmRecommendations, VmReport,
};
use crate::eval::{Access, State, Status};
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------------------------

/// Every error response: `{"error": {"code", "message", "field"?}}` (ARM's shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    pub error: ApiErrorBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiErrorBody {
    /// `BadRequest`, `Unauthorized`, `Forbidden`, `NotFound`, `Conflict`, `PayloadTooLarge`,
    /// `CsrfMismatch`, `TooManyRequests`, `UpstreamError`, `InternalError`, ...
    pub code: String,
    pub message: String,
    /// The offending request field (`vmIds[2]`, `params.sources[0]`, `durationMinutes`), for
    /// validation errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// health
// ---------------------------------------------------------------------------------------------

/// `GET /api/health`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    pub status: String,
    pub version: String,
    /// `"emulator"` (embedded ARM emulator, demo tenant) or `"azure"`.
    pub data_source: String,
    /// How people may sign in.
    #[serde(default)]
    pub sign_in: SignInMethods,
}

/// The sign-in page's choices.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInMethods {
    /// User name and password.
    pub local_accounts: bool,
    /// Entra ID: the button's text (`None`: not configured). The button goes to `/auth/login`.
    #[serde(default)]
    pub microsoft: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// sign-in, sessions, users
// ---------------------------------------------------------------------------------------------

/// What a user may do. Each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    /// Reads posture, VM details, history.
    Viewer,
    /// Also previews and applies remediations, requests JIT access, refreshes.
    Operator,
    /// Also reads the audit log and manages users.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// `POST /api/login` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// `POST /api/login` and `GET /api/me`: who is signed in. The session itself is an HttpOnly
/// cookie; every write must send `csrfToken` back in the `X-CSRF-Token` header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    pub username: String,
    pub role: Role,
    pub csrf_token: String,
    /// RFC 3339.
    pub expires_at: String,
    /// `"emulator"` or `"azure"`.
    pub data_source: String,
    /// `"entra"` (Entra ID) or `"local"` (a local account).
    #[serde(default)]
    pub signed_in_with: String,
}

/// `GET /api/users` (admin): one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    pub username: String,
    pub role: Role,
    /// `config` (from the config file / demo accounts) or `api` (created by an admin).
    pub source: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_login_at: Option<String>,
}

/// `POST /api/users` (admin): create an account or change its role / password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpsertUserRequest {
    pub username: String,
    pub role: Role,
    /// Required for a new account; when absent the password is left as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// posture: GET /api/posture, GET /api/vms.csv
// ---------------------------------------------------------------------------------------------

/// Query string of `GET /api/posture` and `GET /api/vms.csv` (every field optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VmFilter {
    pub subscription: Option<String>,
    pub resource_group: Option<String>,
    /// VM control status.
    pub status: Option<Status>,
    /// With `recommendationStatus` (default `unhealthy`): VMs whose recommendation has it.
    pub recommendation: Option<RecommendationKey>,
    pub recommendation_status: Option<Status>,
    /// Only VMs with an open or restricted management port reachable from the Internet.
    pub reachable: Option<bool>,
    /// Only VMs with a management port reachable through a path of this kind.
    pub path: Option<crate::eval::report::PathKind>,
    /// Case-insensitive substring of name, resource group, id, public IPs.
    pub q: Option<String>,
    pub sort: Option<VmSort>,
    pub order: Option<SortOrder>,
    /// 1-based (default 1).
    pub page: Option<u32>,
    /// Default 50, at most 500.
    pub per_page: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum VmSort {
    Name,
    Status,
    Subscription,
    ResourceGroup,
    /// Worst exposure state first when descending.
    Exposure,
    Os,
    /// By the first public IP (numerically); VMs without one first.
    PublicIps,
    /// By the recommendation's status (unhealthy last, first when descending), then name.
    NsgProtected,
    PortsClosed,
    JitProtected,
}

impl VmSort {
    /// Every sort, in the order the table's columns show them.
    pub const ALL: [VmSort; 10] = [
        VmSort::Name,
        VmSort::Status,
        VmSort::Subscription,
        VmSort::ResourceGroup,
        VmSort::Exposure,
        VmSort::Os,
        VmSort::PublicIps,
        VmSort::NsgProtected,
        VmSort::PortsClosed,
        VmSort::JitProtected,
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SortOrder {
    Asc,
    Desc,
}

/// `GET /api/posture`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Posture {
    /// When the inventory behind this was read (RFC 3339); `None` before the first snapshot.
    pub refreshed_at: Option<String>,
    pub data_source: String,
    /// A refresh is running now.
    #[serde(default)]
    pub refreshing: bool,
    pub control: ControlScore,
    pub recommendations: Vec<RecommendationSummary>,
    pub counts: PostureCounts,
    pub subscriptions: Vec<SubscriptionSummary>,
    /// The filtered, sorted page of VMs.
    pub vms: VmPage,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostureCounts {
    pub vms: usize,
    pub healthy: usize,
    pub unhealthy: usize,
    pub not_applicable: usize,
    /// VMs with an open or restricted management port behind a public IP.
    pub reachable_from_internet: usize,
    /// VMs with at least one management port `open`.
    pub with_open_ports: usize,
    /// VMs covered by a JIT policy.
    pub jit_protected: usize,
    /// JIT access requests active now.
    pub active_jit_requests: usize,
    /// VMs with a management port reachable through each kind of path.
    #[serde(default)]
    pub reachable_by_path: PathCounts,
}

/// Per kind of path from the Internet: how many VMs it reaches (open or restricted port).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PathCounts {
    pub public_ip: usize,
    pub load_balancer_nat: usize,
    pub load_balancer_rule: usize,
    pub firewall_dnat: usize,
    pub application_gateway: usize,
}

impl PathCounts {
    pub fn get(&self, kind: crate::eval::report::PathKind) -> usize {
        use crate::eval::report::PathKind::*;
        match kind {
            PublicIp => self.public_ip,
            LoadBalancerNat => self.load_balancer_nat,
            LoadBalancerRule => self.load_balancer_rule,
            FirewallDnat => self.firewall_dnat,
            ApplicationGateway => self.application_gateway,
        }
    }

    pub fn add(&mut self, kind: crate::eval::report::PathKind) {
        use crate::eval::report::PathKind::*;
        match kind {
            PublicIp => self.public_ip += 1,
            LoadBalancerNat => self.load_balancer_nat += 1,
            LoadBalancerRule => self.load_balancer_rule += 1,
            FirewallDnat => self.firewall_dnat += 1,
            ApplicationGateway => self.application_gateway += 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionSummary {
    pub subscription_id: String,
    pub display_name: String,
    pub control: ControlScore,
    pub reachable_from_internet: usize,
    pub resource_groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmPage {
    pub items: Vec<VmRow>,
    /// VMs matching the filter (all pages).
    pub total: usize,
    pub page: u32,
    pub per_page: u32,
}

/// One VM in the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmRow {
    pub id: String,
    pub name: String,
    pub subscription_id: String,
    pub resource_group: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_type: Option<String>,
    pub status: Status,
    pub recommendations: VmRecommendations,
    pub public_ips: Vec<String>,
    /// Worst exposure state over the management ports.
    pub worst_state: State,
    /// Some management port is open or restricted and reachable from the Internet.
    pub reachable: bool,
    /// The kinds of path that reach an open or restricted management port.
    #[serde(default)]
    pub paths: Vec<crate::eval::report::PathKind>,
    /// An Azure Bastion serving the VM's VNet (its name): the safe way in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bastion: Option<String>,
    /// Management ports whose state is `open`.
    pub open_ports: Vec<u16>,
    /// Management ports whose state is `restricted`.
    pub restricted_ports: Vec<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jit_policy: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// VM detail: GET /api/vms/{id}
// ---------------------------------------------------------------------------------------------

/// `GET /api/vms/{id}` (the VM id URL-encoded, or its ARM path).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmDetail {
    /// The engine's verdict: status, recommendations, exposures with deciding rules.
    pub report: VmReport,
    pub subscription_name: String,
    pub nics: Vec<NicView>,
    /// Every NSG on the VM's path: subnet NSGs first, then NIC NSGs.
    pub nsgs: Vec<NsgView>,
    /// The JIT policy covering this VM (its entry for this VM only in `virtualMachines`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jit_policy: Option<JitPolicyView>,
    /// Access requests for this VM recorded by Portcullis, newest first.
    pub jit_requests: Vec<JitRequestRecord>,
    pub refreshed_at: Option<String>,
    /// Defender for Cloud's own assessments of the three recommendations, beside Portcullis's.
    #[serde(default)]
    pub defender: DefenderComparison,
}

/// Defender for Cloud's verdicts on a VM next to Portcullis's (read live from
/// `Microsoft.Security/assessments` on the VM).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DefenderComparison {
    /// One per recommendation, in [`RecommendationKey::ALL`] order.
    pub recommendations: Vec<DefenderVerdict>,
    /// How many recommendations Defender assesses differently (not counting unassessed ones).
    pub disagreements: usize,
    /// Why Defender's assessments could not be read (e.g. Defender not enabled, no permission).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DefenderVerdict {
    pub key: RecommendationKey,
    pub portcullis: Status,
    /// `None`: Defender has no assessment of it for this VM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defender: Option<Status>,
    /// Defender's own words (its status description or cause).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub agrees: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NicView {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nsg: Option<String>,
    pub ip_configurations: Vec<IpConfigSummary>,
}

/// An NSG with its inbound rules in evaluation order (custom by priority, then defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NsgView {
    pub id: String,
    pub name: String,
    pub level: Level,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// `false` when the NSG is referenced but missing from the inventory.
    pub found: bool,
    pub rules: Vec<RuleView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleView {
    pub name: String,
    pub priority: u32,
    pub access: Access,
    pub protocol: String,
    pub sources: Vec<String>,
    pub source_ports: Vec<String>,
    pub destinations: Vec<String>,
    pub destination_ports: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// One of ARM's default rules.
    pub default: bool,
    /// Created by JIT (`SecurityCenter-JITRule…`).
    pub jit: bool,
    /// Management ports whose verdict this rule decided (empty: not deciding).
    pub deciding_for_ports: Vec<u16>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JitPolicyView {
    pub id: String,
    pub name: String,
    pub provisioning_state: Option<String>,
    pub ports: Vec<JitPortView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JitPortView {
    pub number: u16,
    pub protocol: String,
    /// ISO 8601 (`PT3H`).
    pub max_request_access_duration: String,
    /// Minutes, from `max_request_access_duration`.
    pub max_minutes: u32,
    pub allowed_source_address_prefixes: Vec<String>,
}

/// `GET /api/jit/policies`: every JIT policy, the VMs it covers and their ports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JitPolicyList {
    pub policies: Vec<JitPolicySummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JitPolicySummary {
    pub id: String,
    pub name: String,
    pub subscription_id: String,
    pub resource_group: String,
    pub location: Option<String>,
    pub provisioning_state: Option<String>,
    pub vms: Vec<JitPolicyVmView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JitPolicyVmView {
    pub vm_id: String,
    /// The VM's name, or the last segment of its id when the inventory lacks it.
    pub vm_name: String,
    /// The VM is in the inventory (a policy may name a deleted VM).
    pub found: bool,
    pub ports: Vec<JitPortView>,
}

// ---------------------------------------------------------------------------------------------
// history: GET /api/history
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HistoryRange {
    #[serde(rename = "7d")]
    Days7,
    #[serde(rename = "30d")]
    Days30,
    #[serde(rename = "90d")]
    Days90,
    #[serde(rename = "1y")]
    Year,
    #[serde(rename = "all")]
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Granularity {
    /// Every snapshot.
    Raw,
    Hour,
    Day,
    Week,
}

/// Query string of `GET /api/history`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HistoryQuery {
    /// Default `30d`.
    pub range: Option<HistoryRange>,
    /// Default: `hour` for 7d, `day` otherwise.
    pub granularity: Option<Granularity>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct History {
    pub range: HistoryRange,
    pub granularity: Granularity,
    /// The whole control, one point per bucket (the last snapshot in it).
    pub points: Vec<HistoryPoint>,
    pub subscriptions: Vec<SubscriptionHistory>,
    /// Writes applied in the range (remediations, JIT enablement, access requests).
    pub markers: Vec<HistoryMarker>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryPoint {
    /// RFC 3339.
    pub at: String,
    pub current_score: f64,
    pub percentage: f64,
    pub healthy: usize,
    pub unhealthy: usize,
    pub not_applicable: usize,
    pub reachable_from_internet: usize,
    /// Per recommendation, in [`RecommendationKey::ALL`] order.
    #[serde(default)]
    pub recommendations: Vec<RecommendationCounts>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecommendationCounts {
    pub key: RecommendationKey,
    pub healthy: usize,
    pub unhealthy: usize,
    pub not_applicable: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionHistory {
    pub subscription_id: String,
    pub display_name: String,
    pub points: Vec<HistoryPoint>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryMarker {
    pub at: String,
    /// `remediation`, `jitRequest`, `scripted` (demo backfill events).
    pub kind: String,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// alerts: GET /api/alerts, GET /api/alerts/{id}
// ---------------------------------------------------------------------------------------------

/// A Defender for Cloud security alert about a VM (attacks on its management ports), with the
/// attacking and legitimate sources taken from its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// The ARM id of the alert.
    pub id: String,
    pub name: String,
    /// e.g. `Network_TrafficFromUnrecommendedIP`, `VM_SuspiciousAuthenticationActivity`.
    pub alert_type: String,
    pub display_name: String,
    pub description: String,
    /// `High`, `Medium`, `Low` or `Informational`.
    pub severity: String,
    /// `Active`, `InProgress`, `Resolved` or `Dismissed`.
    pub status: String,
    pub subscription_id: String,
    pub resource_group: String,
    /// The attacked VM (empty when the alert names none).
    pub vm_id: String,
    pub vm_name: String,
    /// The attacked port, when the alert names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The port's state now (`open`, `restricted`, `private`, `closed`), from the last snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_state: Option<String>,
    pub start_time: String,
    pub end_time: String,
    pub time_generated: String,
    pub connection_attempts: u64,
    pub failed_sign_ins: u64,
    pub attackers: Vec<AttackSource>,
    pub legitimate_sources: Vec<LegitimateSource>,
    /// User names tried by the attackers.
    pub user_names: Vec<String>,
    pub remediation_steps: Vec<String>,
    /// The rule Portcullis recommends, in words (one line per rule).
    pub recommended_rules: Vec<String>,
    /// The "Enforce rule" remediation, ready for preview (absent when the alert names no VM
    /// and port, or the port is no longer open).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce: Option<RemediationRequest>,
}

/// An address that attacked the port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttackSource {
    pub address: String,
    pub attempts: u64,
    pub failed_sign_ins: u64,
    pub first_seen: String,
    pub last_seen: String,
    /// Threat intelligence recommends blocking it.
    pub recommended_for_blocking: bool,
    pub user_names: Vec<String>,
}

/// A source with successful sessions: the owners' usual address, kept by "Enforce rule".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LegitimateSource {
    pub address: String,
    pub sessions: u64,
    pub first_seen: String,
    pub last_seen: String,
    pub user_names: Vec<String>,
}

/// `GET /api/alerts`: newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertList {
    pub alerts: Vec<Alert>,
    /// Alerts that are `Active` or `InProgress` (before filtering).
    pub open: usize,
    /// Errors reading some subscription's alerts (the others are still listed).
    #[serde(default)]
    pub errors: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// remediations: POST /api/remediations/preview, POST /api/remediations/apply
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RemediationKind {
    /// JIT policy for the VMs' open management ports (and older permissive rules above the JIT
    /// deny removed or narrowed in the same change).
    EnableJit,
    /// Permissive rules for the ports narrowed to `params.sources`.
    RestrictSources,
    /// Management ports denied in the permissive rules (multi-port rules split).
    DenyPorts,
    /// A new NSG with safe rules attached to an internet-facing NIC that has none.
    AttachNsg,
    /// The answer to an attack ("Enforce rule"): the permissive rules for the ports narrowed to
    /// `params.sources` (the legitimate sources seen in the traffic and the trusted ranges) and
    /// an explicit Deny from the Internet below them; with no source, the ports are denied.
    EnforceRule,
    /// The Azure Firewall DNAT rules that forward to the VMs' management ports narrowed to
    /// `params.sources`, or removed when there is none (If-Match on the firewall or its policy's
    /// rule collection group).
    NarrowDnat,
}

impl RemediationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EnableJit => "enableJit",
            Self::RestrictSources => "restrictSources",
            Self::DenyPorts => "denyPorts",
            Self::AttachNsg => "attachNsg",
            Self::EnforceRule => "enforceRule",
            Self::NarrowDnat => "narrowDnat",
        }
    }
}

/// A remediation to preview or apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemediationRequest {
    pub kind: RemediationKind,
    pub vm_ids: Vec<String>,
    /// Management ports to fix; empty = every management port that needs it.
    #[serde(default)]
    pub ports: Vec<u16>,
    #[serde(default)]
    pub params: RemediationParams,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct RemediationParams {
    /// restrictSources (required), enforceRule (the legitimate sources; empty = deny) and
    /// attachNsg (optional: management access allowed from these): CIDRs or addresses.
    pub sources: Vec<String>,
    /// enableJit: the policy's maximum request duration, ISO 8601, 5 min to 1 day (default PT3H).
    pub max_request_access_duration: Option<String>,
    /// attachNsg: other inbound TCP ports to keep open from the Internet (e.g. 443).
    pub allow_ports: Vec<u16>,
}

/// What a remediation will do (preview), or did (inside [`ApplyResult`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemediationPlan {
    pub request: RemediationRequest,
    /// One conditional write per NSG, in the order they are applied.
    pub nsg_changes: Vec<NsgChange>,
    /// New NSGs attached to NICs (attachNsg).
    pub nic_changes: Vec<NicChange>,
    /// JIT policy PUTs (enableJit).
    pub jit_policies: Vec<JitPolicyChange>,
    /// Firewall DNAT rule changes (narrowDnat): one conditional write per firewall or rule
    /// collection group.
    #[serde(default)]
    pub firewall_changes: Vec<FirewallChange>,
    pub before: ControlScore,
    /// The engine's verdict on the inventory with the plan applied.
    pub after: ControlScore,
    pub vms: Vec<VmPrediction>,
    /// Nothing to change: every VM already satisfies the request.
    pub noop: bool,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NsgChange {
    pub nsg_id: String,
    pub nsg_name: String,
    /// The ETag the plan was made against (the write's `If-Match`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// `securityRules` before and after (custom rules only).
    pub before: Vec<SecurityRule>,
    pub after: Vec<SecurityRule>,
    pub diff: Vec<RuleDiff>,
    /// `true` when this NSG is created by the plan (attachNsg).
    #[serde(default)]
    pub create: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleDiff {
    pub change: RuleChangeKind,
    pub rule: String,
    /// One sentence: what changes and why.
    pub summary: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RuleChangeKind {
    Added,
    Removed,
    Changed,
}

/// One firewall (classic NAT rule collections) or Firewall Policy rule collection group PUT.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FirewallChange {
    /// The firewall's or the rule collection group's id.
    pub target_id: String,
    pub name: String,
    /// The ETag the plan was made against (the write's `If-Match`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The resource before and after (ARM JSON).
    pub before: serde_json::Value,
    pub after: serde_json::Value,
    pub diff: Vec<RuleDiff>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NicChange {
    pub nic_id: String,
    pub nic_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nsg_before: Option<String>,
    pub nsg_after: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JitPolicyChange {
    pub policy_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<JitNetworkAccessPolicy>,
    pub after: JitNetworkAccessPolicy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmPrediction {
    pub id: String,
    pub name: String,
    pub before: Status,
    pub after: Status,
    pub before_recommendations: VmRecommendations,
    pub after_recommendations: VmRecommendations,
    /// Per management port: state before and after.
    pub ports: Vec<PortPrediction>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortPrediction {
    pub port: u16,
    pub before: State,
    pub after: State,
    /// Reachable from the Internet (some path: public IP, load balancer, firewall DNAT).
    #[serde(default)]
    pub reachable_before: bool,
    #[serde(default)]
    pub reachable_after: bool,
}

/// `POST /api/remediations/apply` response (also for partial failures, with status 502/409).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyResult {
    pub outcome: ApplyOutcome,
    /// The plan that was applied (after any re-plan on a lost race).
    pub plan: RemediationPlan,
    pub steps: Vec<ApplyStep>,
    /// Lost races re-read and re-planned.
    pub replans: u32,
    /// Sequence number of the audit entry.
    pub audit_seq: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ApplyOutcome {
    /// Every step written.
    Applied,
    /// Nothing needed (already satisfied).
    Noop,
    /// A step failed; every earlier step was rolled back.
    RolledBack,
    /// A step failed and a rollback failed too: see `steps`.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyStep {
    /// `nsg`, `nic` or `jitPolicy`.
    pub target_kind: String,
    pub target: String,
    pub outcome: StepOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StepOutcome {
    Applied,
    Unchanged,
    Failed,
    RolledBack,
    RollbackFailed,
    /// Not attempted because an earlier step failed.
    Skipped,
}

// ---------------------------------------------------------------------------------------------
// JIT access requests: POST /api/jit/requests, GET /api/jit/requests
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateJitRequest {
    pub vm_id: String,
    /// Ports of the VM's JIT policy; empty = every port of the policy.
    #[serde(default)]
    pub ports: Vec<u16>,
    /// Within the policy's maximum for each port.
    pub duration_minutes: u32,
    /// Address or CIDR allowed; default: the requester's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_address: Option<String>,
    pub justification: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JitRequestRecord {
    pub id: i64,
    pub vm_id: String,
    pub vm_name: String,
    pub ports: Vec<u16>,
    pub source_address: String,
    pub justification: String,
    pub requested_by: String,
    /// RFC 3339.
    pub requested_at: String,
    pub expires_at: String,
    pub status: JitRequestStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum JitRequestStatus {
    Active,
    Expired,
    Failed,
}

/// `GET /api/jit/requests?all=true`: active requests (all requests with `all`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JitRequestList {
    pub requests: Vec<JitRequestRecord>,
}

// ---------------------------------------------------------------------------------------------
// audit: GET /api/audit
// ---------------------------------------------------------------------------------------------

/// Query string of `GET /api/audit`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    /// `login`, `logout`, `remediation.apply`, `jit.request`, `user.upsert`, `refresh`.
    pub action: Option<String>,
    /// Entries with `seq` below this (paging backwards; newest first).
    pub before_seq: Option<i64>,
    /// Default 100, at most 1000.
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
    pub detail: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// `beforeSeq` for the next (older) page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before_seq: Option<i64>,
}

// ---------------------------------------------------------------------------------------------
// refresh and events: POST /api/refresh, GET /api/events (SSE)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshStarted {
    /// `false` when a refresh was already running (it is not started twice).
    pub started: bool,
}

/// One server-sent event; the SSE `event:` name is the `type` tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ServerEvent {
    #[serde(rename_all = "camelCase")]
    RefreshProgress {
        subscription_id: String,
        resource_type: String,
        done: usize,
        total: usize,
    },
    #[serde(rename_all = "camelCase")]
    SnapshotFinished {
        at: String,
        current_score: f64,
        healthy: usize,
        unhealthy: usize,
        duration_ms: u64,
    },
    #[serde(rename_all = "camelCase")]
    SnapshotFailed { at: String, message: String },
    #[serde(rename_all = "camelCase")]
    WriteApplied {
        at: String,
        actor: String,
        action: String,
        summary: String,
    },
    /// One write of a remediation being applied has finished (or was rolled back): the
    /// wizard shows each NSG's outcome as it happens.
    #[serde(rename_all = "camelCase")]
    ApplyProgress {
        actor: String,
        step: ApplyStep,
        /// Writes finished so far, of `total` planned.
        done: usize,
        total: usize,
    },
}

impl ServerEvent {
    pub fn name(&self) -> &'static str {
        match self {
            Self::RefreshProgress { .. } => "refreshProgress",
            Self::SnapshotFinished { .. } => "snapshotFinished",
            Self::SnapshotFailed { .. } => "snapshotFailed",
            Self::WriteApplied { .. } => "writeApplied",
            Self::ApplyProgress { .. } => "applyProgress",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_are_camel_case() {
        let f: VmFilter = serde_json::from_str(
            r#"{"resourceGroup":"rg","recommendation":"managementPortsClosed","recommendationStatus":"unhealthy","sort":"exposure","order":"desc","perPage":10}"#,
        )
        .unwrap();
        assert_eq!(f.resource_group.as_deref(), Some("rg"));
        assert_eq!(
            f.recommendation,
            Some(RecommendationKey::ManagementPortsClosed)
        );
        assert_eq!(f.sort, Some(VmSort::Exposure));
        let r: HistoryRange = serde_json::from_str(r#""90d""#).unwrap();
        assert_eq!(r, HistoryRange::Days90);
        let e = ServerEvent::WriteApplied {
            at: "t".into(),
            actor: "a".into(),
            action: "x".into(),
            summary: "s".into(),
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["type"], e.name());
        let req: RemediationRequest =
            serde_json::from_str(r#"{"kind":"enableJit","vmIds":["/x"]}"#).unwrap();
        assert_eq!(req.kind, RemediationKind::EnableJit);
        assert!(req.ports.is_empty() && req.params.sources.is_empty());
        assert_eq!(serde_json::to_value(Role::Operator).unwrap(), "operator");
        assert!(Role::Admin > Role::Operator && Role::Operator > Role::Viewer);
    }
}
