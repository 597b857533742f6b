//! The evaluation report: the `portcullis evaluate` JSON contract (keys fixed; more may be added).
use super::{Access, Protocol};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub const CONTROL_NAME: &str = "Secure management ports";
pub const CONTROL_MAX_SCORE: u32 = 8;

/// Exposure state of a management port, worst first in [`State::rank`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum State {
    Closed,
    Private,
    Restricted,
    Open,
}

impl State {
    pub fn rank(self) -> u8 {
        match self {
            State::Closed => 0,
            State::Private => 1,
            State::Restricted => 2,
            State::Open => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Private => "private",
            State::Restricted => "restricted",
            State::Open => "open",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    Healthy,
    Unhealthy,
    NotApplicable,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Healthy => "healthy",
            Status::Unhealthy => "unhealthy",
            Status::NotApplicable => "notApplicable",
        }
    }
}

/// Where a rule that decides traffic to an ip configuration lives, in evaluation order:
/// Azure Virtual Network Manager security admin rules first, then the subnet NSG, then the
/// NIC NSG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Level {
    NetworkManager,
    Subnet,
    NetworkInterface,
}

impl Level {
    /// As serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::NetworkManager => "networkManager",
            Level::Subnet => "subnet",
            Level::NetworkInterface => "networkInterface",
        }
    }
}

/// A rule that produced a verdict.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecidingRule {
    pub nsg: Arc<str>,
    pub rule: Arc<str>,
    pub priority: u32,
    pub access: Access,
    pub level: Level,
    #[serde(default)]
    pub default: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Exposure {
    pub port: u16,
    pub protocol: Protocol,
    pub state: State,
    pub reachable: bool,
    /// Allowed public sources: the minimal CIDRs of the allowed sources that contain public
    /// addresses (IPv4 first), so `*` reads `0.0.0.0/0`.
    pub allowed_public_sources: Arc<[String]>,
    /// The rules that produced the verdict (shared between VMs with the same verdict).
    pub deciding_rules: Arc<[DecidingRule]>,
    /// A JIT policy (Succeeded) of this VM lists this port.
    pub jit_protected: bool,
    /// One sentence explaining the verdict.
    pub reason: Arc<str>,
    /// Every way in from the Internet to this port (docs/ARCHITECTURE.md, "Paths from the Internet").
    #[serde(default)]
    pub paths: Vec<InternetPath>,
    /// The safe ways in (Azure Bastion), never counted as exposure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_access: Option<Arc<[ManagedAccess]>>,
}

/// How a path reaches the port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PathKind {
    /// The ip configuration's own public IP.
    PublicIp,
    /// A public load balancer's inbound NAT rule (v1, or v2 over a backend pool).
    LoadBalancerNat,
    /// A public load balancer's load-balancing rule on a pool holding the ip configuration.
    LoadBalancerRule,
    /// An Azure Firewall DNAT rule translating to the ip configuration's private address.
    FirewallDnat,
    /// An application gateway's TCP/TLS listener whose routing rule's backend pool holds the
    /// ip configuration (the gateway proxies: the VM's NSGs see the gateway's subnet).
    ApplicationGateway,
}

impl PathKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PathKind::PublicIp => "publicIp",
            PathKind::LoadBalancerNat => "loadBalancerNat",
            PathKind::LoadBalancerRule => "loadBalancerRule",
            PathKind::FirewallDnat => "firewallDnat",
            PathKind::ApplicationGateway => "applicationGateway",
        }
    }

    /// Short form for tables: `public IP`, `LB nat`, `LB rule`, `firewall DNAT`, `app gateway`.
    pub fn short(self) -> &'static str {
        match self {
            PathKind::PublicIp => "public IP",
            PathKind::LoadBalancerNat => "LB nat",
            PathKind::LoadBalancerRule => "LB rule",
            PathKind::FirewallDnat => "firewall DNAT",
            PathKind::ApplicationGateway => "app gateway",
        }
    }

    pub const ALL: [PathKind; 5] = [
        PathKind::PublicIp,
        PathKind::LoadBalancerNat,
        PathKind::LoadBalancerRule,
        PathKind::FirewallDnat,
        PathKind::ApplicationGateway,
    ];
}

/// An address and port (or port range), written `ip:port`, `ip:lo-hi`, `[v6]:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `?` when the inventory does not hold the address.
    pub ip: Arc<str>,
    pub ports: (u16, u16),
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.ip.contains(':') {
            write!(f, "[{}]", self.ip)?;
        } else {
            f.write_str(&self.ip)?;
        }
        if self.ports.0 == self.ports.1 {
            write!(f, ":{}", self.ports.0)
        } else {
            write!(f, ":{}-{}", self.ports.0, self.ports.1)
        }
    }
}

impl Endpoint {
    /// What `Display` writes, appended to `out` without the formatting machinery (the JSON
    /// report writes two endpoints and a sentence per path).
    pub fn write_to(&self, out: &mut String) {
        let mut digits = itoa::Buffer::new();
        if self.ip.contains(':') {
            out.push('[');
            out.push_str(&self.ip);
            out.push(']');
        } else {
            out.push_str(&self.ip);
        }
        out.push(':');
        out.push_str(digits.format(self.ports.0));
        if self.ports.0 != self.ports.1 {
            out.push('-');
            out.push_str(digits.format(self.ports.1));
        }
    }

    /// Parses what [`Display`](std::fmt::Display) writes.
    pub fn parse(s: &str) -> Option<Self> {
        let (ip, ports) = s.rsplit_once(':')?;
        let ip = ip.trim_start_matches('[').trim_end_matches(']');
        let (lo, hi) = match ports.split_once('-') {
            Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
            None => {
                let p = ports.parse().ok()?;
                (p, p)
            }
        };
        Some(Endpoint {
            ip: Arc::from(ip),
            ports: (lo, hi),
        })
    }
}

/// Why a path is (not) reachable; with the path's parts it makes the reason sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathWhy {
    Reachable,
    /// The NSGs admit no public source to the port.
    NoPublicSource,
    /// A Standard public IP without an NSG on the path: closed by default.
    StandardIpClosed,
    /// A Standard load balancer without an NSG on the path: closed by default.
    StandardLbClosed,
    /// The NSGs do not admit the firewall's own addresses (what they see after DNAT), or the
    /// application gateway's subnet.
    FirewallNotAdmitted,
    /// The DNAT rule's sources hold no public address (or an earlier rule takes them); for an
    /// application gateway, its subnet's NSG admits none to the listener.
    DnatNoPublicSource,
    /// Read from JSON: the reason is the text.
    Text,
}

/// One path from the Internet to a management port. Serialised as
/// `{kind, via, frontend, target, allowedPublicSources, state, reachable, reason}`; the
/// sentences are written when serialised, so a fleet's paths cost no text until then.
#[derive(Debug, Clone, PartialEq)]
pub struct InternetPath {
    pub kind: PathKind,
    /// The id of the public IP, load balancer rule, or firewall / rule collection group.
    pub via: Arc<str>,
    /// The public frontend (`ip:first-last` for a NAT v2 port range).
    pub frontend: Endpoint,
    /// Where the path delivers, as the VM's NSGs see it: private address and port.
    pub target: Endpoint,
    /// The public sources that can use the path (merged CIDRs).
    pub allowed_public_sources: Arc<[String]>,
    pub state: State,
    pub reachable: bool,
    /// Names the path (`load balancer lb-web NAT rule rdp`, `firewall fw DNAT rule r`); `None`
    /// for the public IP path.
    pub label: Option<Arc<str>>,
    pub why: PathWhy,
    /// The reason as read from JSON (`why` is then [`PathWhy::Text`]).
    pub text: Option<Arc<str>>,
}

impl InternetPath {
    /// One sentence naming the path, e.g. `reachable from 0.0.0.0/0 through firewall fw-hub
    /// DNAT rule rdp-in, 52.1.1.1:3389 → 10.0.1.4:3389`.
    pub fn reason(&self) -> String {
        let mut out = String::new();
        self.write_reason(&mut out);
        out
    }

    /// [`InternetPath::reason`], appended to `out` (no allocation of its own: the JSON report
    /// writes a sentence per path, hundreds of thousands of them).
    pub fn write_reason(&self, out: &mut String) {
        if let Some(t) = &self.text {
            out.push_str(t);
            return;
        }
        let (fe, to) = (&self.frontend, &self.target);
        let public_ip = self.kind == PathKind::PublicIp;
        let through = |out: &mut String| {
            if public_ip {
                out.push_str("public IP ");
            } else {
                out.push_str(self.label.as_deref().unwrap_or("?"));
                out.push_str(", ");
            }
            fe.write_to(out);
            out.push_str(" → ");
            to.write_to(out);
        };
        let not = |out: &mut String, why: &str| {
            out.push_str("not reachable through ");
            if public_ip {
                out.push_str("public IP ");
                fe.write_to(out);
            } else {
                through(out);
            }
            out.push_str(": ");
            out.push_str(why);
        };
        match self.why {
            PathWhy::Reachable | PathWhy::Text => {
                out.push_str("reachable from ");
                let srcs = &self.allowed_public_sources;
                if srcs.is_empty() {
                    out.push('?');
                }
                for (k, s) in srcs.iter().take(3).enumerate() {
                    if k > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(s);
                }
                let more = srcs.len().saturating_sub(3);
                if more > 0 {
                    out.push_str(" and ");
                    out.push_str(itoa::Buffer::new().format(more));
                    out.push_str(" more");
                }
                out.push_str(" through ");
                through(out);
            }
            PathWhy::NoPublicSource => not(out, "the NSGs admit no public source"),
            PathWhy::StandardIpClosed => {
                out.push_str("not reachable: Standard public IP ");
                out.push_str(&fe.ip);
                out.push_str(" admits no inbound traffic without an NSG on the subnet or the network interface");
            }
            PathWhy::StandardLbClosed => not(
                out,
                "a Standard load balancer admits no inbound traffic without an NSG on the path",
            ),
            PathWhy::FirewallNotAdmitted if self.kind == PathKind::ApplicationGateway => not(
                out,
                "the NSGs do not admit the application gateway's subnet",
            ),
            PathWhy::FirewallNotAdmitted => {
                not(out, "the NSGs do not admit the firewall's own addresses")
            }
            PathWhy::DnatNoPublicSource if self.kind == PathKind::ApplicationGateway => not(
                out,
                "the NSG of the gateway's subnet admits no public source to the listener",
            ),
            PathWhy::DnatNoPublicSource => not(out, "the DNAT rule admits no public source"),
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PathWire<'p> {
    kind: PathKind,
    via: Arc<str>,
    frontend: std::borrow::Cow<'p, str>,
    target: std::borrow::Cow<'p, str>,
    allowed_public_sources: Arc<[String]>,
    state: State,
    reachable: bool,
    reason: std::borrow::Cow<'p, str>,
}

impl Serialize for InternetPath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        PathWire {
            kind: self.kind,
            via: self.via.clone(),
            frontend: self.frontend.to_string().into(),
            target: self.target.to_string().into(),
            allowed_public_sources: self.allowed_public_sources.clone(),
            state: self.state,
            reachable: self.reachable,
            reason: self.reason().into(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for InternetPath {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = PathWire::deserialize(d)?;
        let endpoint = |s: &str| {
            Endpoint::parse(s).ok_or_else(|| {
                serde::de::Error::custom(format!("{s:?} is not an endpoint (ip:port)"))
            })
        };
        Ok(InternetPath {
            kind: w.kind,
            via: w.via,
            frontend: endpoint(&w.frontend)?,
            target: endpoint(&w.target)?,
            allowed_public_sources: w.allowed_public_sources,
            state: w.state,
            reachable: w.reachable,
            label: None,
            why: PathWhy::Text,
            text: Some(Arc::from(&*w.reason)),
        })
    }
}

/// A managed way in: an Azure Bastion serving the VM's VNet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedAccess {
    /// `bastion`.
    pub kind: Arc<str>,
    /// The Bastion host's id.
    pub via: Arc<str>,
    pub name: Arc<str>,
    /// `Developer`, `Basic`, `Standard`, `Premium` (as the payload says; empty when absent).
    pub sku: Arc<str>,
    /// The VNet the Bastion sits in (the VM's own, or a peered one).
    pub virtual_network: Arc<str>,
}

/// The three recommendations of one VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmRecommendations {
    pub internet_facing_vms_protected_by_nsg: Status,
    pub management_ports_closed: Status,
    pub management_ports_jit_protected: Status,
}

impl VmRecommendations {
    pub fn get(&self, key: RecommendationKey) -> Status {
        match key {
            RecommendationKey::InternetFacingVmsProtectedByNsg => {
                self.internet_facing_vms_protected_by_nsg
            }
            RecommendationKey::ManagementPortsClosed => self.management_ports_closed,
            RecommendationKey::ManagementPortsJitProtected => self.management_ports_jit_protected,
        }
    }

    /// Unhealthy if any is; healthy if none is unhealthy and one is healthy; else not applicable.
    pub fn control_status(&self) -> Status {
        let all = [
            self.internet_facing_vms_protected_by_nsg,
            self.management_ports_closed,
            self.management_ports_jit_protected,
        ];
        if all.contains(&Status::Unhealthy) {
            Status::Unhealthy
        } else if all.contains(&Status::Healthy) {
            Status::Healthy
        } else {
            Status::NotApplicable
        }
    }
}

/// The network path of one ip configuration (for explanations).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpConfigSummary {
    pub id: Arc<str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_ip: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_ip: Option<Arc<str>>,
    pub has_public_ip: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet_nsg: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nic_nsg: Option<Arc<str>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmReport {
    pub id: String,
    pub name: String,
    pub subscription_id: String,
    pub resource_group: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_type: Option<String>,
    pub status: Status,
    pub recommendations: VmRecommendations,
    pub public_ips: Vec<String>,
    pub exposures: Vec<Exposure>,
    pub ip_configurations: Vec<IpConfigSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jit_policy: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RecommendationKey {
    InternetFacingVmsProtectedByNsg,
    ManagementPortsClosed,
    ManagementPortsJitProtected,
}

impl RecommendationKey {
    pub const ALL: [RecommendationKey; 3] = [
        RecommendationKey::InternetFacingVmsProtectedByNsg,
        RecommendationKey::ManagementPortsClosed,
        RecommendationKey::ManagementPortsJitProtected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InternetFacingVmsProtectedByNsg => "internetFacingVmsProtectedByNsg",
            Self::ManagementPortsClosed => "managementPortsClosed",
            Self::ManagementPortsJitProtected => "managementPortsJitProtected",
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            Self::InternetFacingVmsProtectedByNsg => {
                "Internet-facing virtual machines should be protected with network security groups"
            }
            Self::ManagementPortsClosed => "Management ports should be closed on your virtual machines",
            Self::ManagementPortsJitProtected => {
                "Management ports of virtual machines should be protected with just-in-time network access control"
            }
        }
    }

    /// Defender for Cloud assessment key (assessment metadata name).
    pub fn assessment_key(self) -> &'static str {
        match self {
            Self::InternetFacingVmsProtectedByNsg => "483f12ed-ae23-447e-a2de-a67a10db4353",
            Self::ManagementPortsClosed => "bc303248-3d14-44c2-96a0-55f5c326b5fe",
            Self::ManagementPortsJitProtected => "805651bc-6ecd-4c73-9b55-97a19d0582d0",
        }
    }

    pub fn severity(self) -> &'static str {
        match self {
            Self::ManagementPortsClosed => "Medium",
            _ => "High",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecommendationSummary {
    pub key: RecommendationKey,
    pub display_name: String,
    pub assessment_key: String,
    pub severity: String,
    pub healthy: usize,
    pub unhealthy: usize,
    pub not_applicable: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlScore {
    pub name: String,
    pub max_score: u32,
    /// `max × healthy / (healthy + unhealthy)`, two decimals; 0 when not applicable.
    pub current_score: f64,
    /// `100 × current / max`, two decimals.
    pub percentage: f64,
    pub healthy: usize,
    pub unhealthy: usize,
    pub not_applicable: usize,
    /// False when no VM is healthy or unhealthy: the control is then left out of any overall score.
    pub applicable: bool,
}

impl ControlScore {
    pub fn from_counts(healthy: usize, unhealthy: usize, not_applicable: usize) -> Self {
        let applicable = healthy + unhealthy > 0;
        let ratio = if applicable {
            healthy as f64 / (healthy + unhealthy) as f64
        } else {
            0.0
        };
        Self {
            name: CONTROL_NAME.to_string(),
            max_score: CONTROL_MAX_SCORE,
            current_score: round2(f64::from(CONTROL_MAX_SCORE) * ratio),
            percentage: round2(100.0 * ratio),
            healthy,
            unhealthy,
            not_applicable,
            applicable,
        }
    }
}

/// Rounds half away from zero to two decimals (`2.665 → 2.67` as a person would).
pub fn round2(x: f64) -> f64 {
    // the tiny epsilon counters binary representation (8/3*100 = 266.666.. is unaffected)
    ((x * 100.0) + if x >= 0.0 { 1e-9 } else { -1e-9 }).round() / 100.0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub control: ControlScore,
    pub recommendations: Vec<RecommendationSummary>,
    pub vms: Vec<VmReport>,
    pub warnings: Vec<String>,
}

impl Report {
    /// Builds the summary parts from per-VM results.
    pub fn from_vms(vms: Vec<VmReport>, warnings: Vec<String>) -> Self {
        let (control, recommendations) =
            Self::summary(vms.iter().map(|v| (v.status, v.recommendations)));
        Self {
            control,
            recommendations,
            vms,
            warnings,
        }
    }

    /// The control's score and the recommendations' counts, from every VM's status and
    /// recommendations.
    pub fn summary(
        vms: impl Iterator<Item = (Status, VmRecommendations)> + Clone,
    ) -> (ControlScore, Vec<RecommendationSummary>) {
        let count = |f: &dyn Fn(&(Status, VmRecommendations)) -> Status| {
            let mut c = [0usize; 3];
            for v in vms.clone() {
                match f(&v) {
                    Status::Healthy => c[0] += 1,
                    Status::Unhealthy => c[1] += 1,
                    Status::NotApplicable => c[2] += 1,
                }
            }
            c
        };
        let [h, u, n] = count(&|v| v.0);
        let recommendations = RecommendationKey::ALL
            .iter()
            .map(|&k| {
                let [h, u, n] = count(&|v| v.1.get(k));
                RecommendationSummary {
                    key: k,
                    display_name: k.display_name().to_string(),
                    assessment_key: k.assessment_key().to_string(),
                    severity: k.severity().to_string(),
                    healthy: h,
                    unhealthy: u,
                    not_applicable: n,
                }
            })
            .collect();
        (ControlScore::from_counts(h, u, n), recommendations)
    }

    pub fn any_unhealthy(&self) -> bool {
        self.vms.iter().any(|v| v.status == Status::Unhealthy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(ip: &str, ports: (u16, u16)) -> Endpoint {
        Endpoint {
            ip: Arc::from(ip),
            ports,
        }
    }

    #[test]
    fn an_endpoint_is_written_as_it_is_displayed() {
        for e in [
            endpoint("52.1.1.1", (3389, 3389)),
            endpoint("2001:db8::4", (22, 22)),
            endpoint("20.0.0.9", (50000, 50099)),
            endpoint("?", (0, 65535)),
        ] {
            let mut out = String::from("x");
            e.write_to(&mut out);
            assert_eq!(out, format!("x{e}"));
        }
    }

    #[test]
    fn path_reasons_name_the_sources_the_route_and_why() {
        let path = |kind, why, sources: &[&str]| InternetPath {
            kind,
            via: Arc::from("/x"),
            frontend: endpoint("52.1.1.1", (50001, 50001)),
            target: endpoint("fd00::4", (3389, 3389)),
            allowed_public_sources: sources.iter().map(|s| s.to_string()).collect(),
            state: State::Open,
            reachable: true,
            label: (kind != PathKind::PublicIp).then(|| Arc::from("load balancer lb NAT rule r")),
            why,
            text: None,
        };
        let lb = PathKind::LoadBalancerNat;
        let cases = [
            (
                path(lb, PathWhy::Reachable, &["1.0.0.0/8", "2.0.0.0/8", "3.0.0.0/8", "4.0.0.0/8", "5.0.0.0/8"]),
                "reachable from 1.0.0.0/8, 2.0.0.0/8, 3.0.0.0/8 and 2 more through load balancer lb NAT rule r, 52.1.1.1:50001 → [fd00::4]:3389",
            ),
            (
                path(PathKind::PublicIp, PathWhy::Reachable, &[]),
                "reachable from ? through public IP 52.1.1.1:50001 → [fd00::4]:3389",
            ),
            (
                path(PathKind::PublicIp, PathWhy::NoPublicSource, &[]),
                "not reachable through public IP 52.1.1.1:50001: the NSGs admit no public source",
            ),
            (
                path(lb, PathWhy::StandardLbClosed, &[]),
                "not reachable through load balancer lb NAT rule r, 52.1.1.1:50001 → [fd00::4]:3389: a Standard load balancer admits no inbound traffic without an NSG on the path",
            ),
            (
                path(PathKind::PublicIp, PathWhy::StandardIpClosed, &[]),
                "not reachable: Standard public IP 52.1.1.1 admits no inbound traffic without an NSG on the subnet or the network interface",
            ),
        ];
        for (p, want) in cases {
            assert_eq!(p.reason(), want);
            let mut out = String::from("kept ");
            p.write_reason(&mut out);
            assert_eq!(out, format!("kept {want}"));
        }
    }

    #[test]
    fn score_math_matches_the_contract() {
        let c = ControlScore::from_counts(1, 2, 0);
        assert_eq!(c.current_score, 2.67);
        assert_eq!(c.percentage, 33.33);
        let c = ControlScore::from_counts(2, 1, 5);
        assert_eq!(c.current_score, 5.33);
        assert_eq!(c.percentage, 66.67);
        let c = ControlScore::from_counts(0, 0, 4);
        assert!(!c.applicable);
        assert_eq!(c.current_score, 0.0);
        let c = ControlScore::from_counts(7, 0, 0);
        assert_eq!((c.current_score, c.percentage), (8.0, 100.0));
        let c = ControlScore::from_counts(1, 7, 0);
        assert_eq!((c.current_score, c.percentage), (1.0, 12.5));
    }
}
