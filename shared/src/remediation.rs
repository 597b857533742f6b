//! Remediation planning: from an inventory and a [`RemediationRequest`], the exact NSG rule
//! edits, NIC attachments and JIT policy PUTs, and the engine's verdict on the inventory with
//! them applied. Pure (the browser computes identical previews), deterministic.
//!
//! Rules to edit are never guessed: the engine names them (the deciding Allow rules of each
//! exposure the request fixes); after each round of edits the inventory is evaluated again and
//! the next rules that let the Internet in are edited, until none remains (a few rounds).
//!
//! [`plan`] runs the phases in order, each in a module of its own beside this file: checking
//! the request (here), the rule edits and `enforceRule`'s deny (`edits.rs`), `attachNsg`
//! (`attach.rs`), the NSG writes and their diffs (`writes.rs`), `enableJit` (`jit.rs`), and
//! `narrowDnat` on a path of its own (`dnat.rs`); `rules.rs` holds the small rule edits they
//! share.
use crate::api::{
    NicChange, PortPrediction, RemediationKind, RemediationPlan, RemediationRequest, VmPrediction,
};
use crate::arm::{id_key, VirtualMachine};
use crate::duration::iso8601_minutes;
use crate::inventory::{InputError, Inventory};
use crate::net::Cidr;
use crate::{evaluate, EvalConfig};

mod attach;
mod dnat;
mod edits;
mod jit;
mod rules;
mod writes;

/// A plan and the inventory it predicts (JIT deny rules simulated as Defender adds them).
#[derive(Debug, Clone)]
pub struct Planned {
    pub plan: RemediationPlan,
    pub predicted: Inventory,
}

/// Why `s` cannot be a source that restricts access, or `Ok`: an IPv4/IPv6 address or CIDR
/// that is not the whole Internet. The one check of the planner, the JIT endpoints, the settings
/// and the dashboard's forms (which show the message as it is).
pub fn check_source(s: &str) -> Result<(), String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("enter an address or CIDR".to_owned());
    }
    let whole = || format!("{s} is the whole Internet: it would not restrict anything");
    if ["*", "internet", "any"]
        .iter()
        .any(|w| s.eq_ignore_ascii_case(w))
    {
        return Err(whole());
    }
    if crate::eval::compile::is_any_or_one(s) {
        return Err(format!(
            "{s} reads as any address to the CIS benchmark and to scanners, and Portcullis reads it so: name the addresses to allow"
        ));
    }
    if let Some((_, prefix)) = s.split_once('/') {
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("/{prefix} is not a prefix length"));
        }
    }
    match Cidr::parse(s) {
        None => Err(format!("{s} is not an IPv4/IPv6 address or CIDR")),
        Some(c) if c.len == 0 => Err(whole()),
        Some(_) => Ok(()),
    }
}

/// Why these sources, taken together, would not close a port, or `Ok`: their public addresses
/// cover at least the open threshold (by default a /8 of IPv4 or a /32 of IPv6, as the
/// evaluation counts "open"), so a port they are allowed to reach still reads open. Sources are
/// assumed to have passed [`check_source`].
pub fn check_sources_breadth(sources: &[String], cfg: &EvalConfig) -> Result<(), String> {
    let mut set = crate::net::AddrSet::empty();
    for s in sources {
        if let Some(c) = Cidr::parse(s.trim()) {
            set = set.union(&crate::net::AddrSet::from_cidr(&c));
        }
    }
    let public = set.difference(&crate::net::addr::non_public());
    let v4 = 1u128 << (32 - u32::from(cfg.open_threshold_ipv4_prefix.min(32)));
    let v6 = 1u128
        .checked_shl(128 - u32::from(cfg.open_threshold_ipv6_prefix.min(128)))
        .unwrap_or(u128::MAX);
    if public.v4.count() >= v4 || public.v6.count() >= v6 {
        return Err(format!(
            "together they cover a /{} of public IPv4 (or a /{} of IPv6) or more, so the port would still read open; name narrower sources",
            cfg.open_threshold_ipv4_prefix, cfg.open_threshold_ipv6_prefix
        ));
    }
    Ok(())
}

/// Sources that the dashboard's forms and the planner must judge alike: both call
/// [`check_source`], and the tests of each feed it these.
pub mod source_examples {
    pub const GOOD_SOURCES: &[&str] = &[
        "203.0.113.0/24",
        "198.51.100.7",
        "2001:db8::/48",
        " 10.0.0.0/8 ",
        "1.2.3.4/32",
    ];
    pub const BAD_SOURCES: &[&str] = &[
        "",
        "*",
        "Internet",
        "any",
        "0.0.0.0/0",
        "0.0.0.0",
        "::/0",
        "10.0.0.0/33",
        "10.0.0.0/+8",
        "10.0.0.0/",
        "300.1.1.1",
        "VirtualNetwork",
        "1.2.3.4-1.2.3.9",
    ];
}

/// [`check_source`] holds.
pub fn valid_source(s: &str) -> bool {
    check_source(s).is_ok()
}

fn bad(field: impl Into<String>, msg: impl Into<String>) -> InputError {
    InputError::new(field, msg)
}

/// A request that passed [`check_request`], with what the phases need from it.
struct Checked<'a> {
    req: &'a RemediationRequest,
    /// The selected VMs, in the request's order.
    vms: Vec<VirtualMachine>,
    /// The configured management ports.
    mgmt: Vec<u16>,
    /// The request's ports, or with none, the management ports.
    ports: Vec<u16>,
    /// enableJit: the policy's maximum request duration (default `PT3H`).
    max_duration: String,
}

impl Checked<'_> {
    /// Rules are narrowed to the request's sources, not removed: `restrictSources`, and
    /// `enforceRule` with sources.
    fn narrow(&self) -> bool {
        match self.req.kind {
            RemediationKind::RestrictSources => true,
            RemediationKind::EnforceRule => !self.req.params.sources.is_empty(),
            _ => false,
        }
    }
}

/// A rule the plan adds, and why (the diff's summary).
struct Added {
    nsg_key: String,
    rule: String,
    why: String,
}

/// The inventory the phases edit, and what they have to report.
struct Draft {
    work: Inventory,
    warnings: Vec<String>,
    nic_changes: Vec<NicChange>,
    added: Vec<Added>,
}

/// Azure's limit of source and destination addresses and ranges in one NSG.
pub const MAX_SOURCES: usize = 4000;

/// How many ports `attachNsg` keeps open from the Internet (`params.allowPorts`): their rules
/// take priorities 100-149, before the restricted management rule at 200.
pub const MAX_ALLOW_PORTS: usize = 50;

/// The request's fields judged (errors name the field), its VMs found.
fn check_request<'a>(
    inv: &Inventory,
    cfg: &EvalConfig,
    req: &'a RemediationRequest,
) -> Result<Checked<'a>, InputError> {
    if req.vm_ids.is_empty() {
        return Err(bad("vmIds", "select at least one VM"));
    }
    let mut vms = Vec::new();
    for (i, id) in req.vm_ids.iter().enumerate() {
        let vm = inv
            .virtual_machines
            .iter()
            .find(|v| id_key(&v.id) == id_key(id))
            .ok_or_else(|| bad(format!("vmIds[{i}]"), format!("{id:?} is not a known VM")))?;
        vms.push(vm.clone());
    }
    for (i, p) in req.ports.iter().enumerate() {
        if *p == 0 {
            return Err(bad(format!("ports[{i}]"), "0 is not a port (1-65535)"));
        }
    }
    for (i, s) in req.params.sources.iter().enumerate() {
        if let Err(why) = check_source(s) {
            return Err(bad(format!("params.sources[{i}]"), format!("{s:?}: {why}")));
        }
    }
    if req.kind == RemediationKind::RestrictSources && req.params.sources.is_empty() {
        return Err(bad(
            "params.sources",
            "restrictSources needs at least one source CIDR",
        ));
    }
    if req.params.sources.len() > MAX_SOURCES {
        return Err(bad(
            "params.sources",
            format!(
                "{} sources: an NSG holds at most {MAX_SOURCES} addresses and ranges",
                req.params.sources.len()
            ),
        ));
    }
    if let Err(why) = check_sources_breadth(&req.params.sources, cfg) {
        return Err(bad("params.sources", why));
    }
    let mgmt_ports: Vec<u16> = cfg.ports().iter().map(|p| p.port).collect();
    if req.params.allow_ports.len() > MAX_ALLOW_PORTS {
        return Err(bad(
            "params.allowPorts",
            format!(
                "{} ports: at most {MAX_ALLOW_PORTS} can be kept open",
                req.params.allow_ports.len()
            ),
        ));
    }
    for (i, p) in req.params.allow_ports.iter().enumerate() {
        let field = format!("params.allowPorts[{i}]");
        if *p == 0 {
            return Err(bad(field, "0 is not a port (1-65535)"));
        }
        if mgmt_ports.contains(p) {
            return Err(bad(
                field,
                format!("{p} is a management port: it would be opened to the whole Internet; name sources (params.sources) or enable JIT instead"),
            ));
        }
        if req.params.allow_ports[..i].contains(p) {
            return Err(bad(field, format!("{p} is listed twice")));
        }
    }
    let max_duration = req
        .params
        .max_request_access_duration
        .clone()
        .unwrap_or_else(|| "PT3H".into());
    if req.kind == RemediationKind::EnableJit {
        match iso8601_minutes(&max_duration) {
            Some(m) if (5..=1440).contains(&m) => {}
            _ => {
                return Err(bad(
                    "params.maxRequestAccessDuration",
                    format!("{max_duration:?} is not an ISO 8601 duration from PT5M to P1D"),
                ))
            }
        }
    }
    let mgmt: Vec<u16> = cfg.ports().iter().map(|p| p.port).collect();
    let ports: Vec<u16> = if req.ports.is_empty() {
        mgmt.clone()
    } else {
        req.ports.clone()
    };
    Ok(Checked {
        req,
        vms,
        mgmt,
        ports,
        max_duration,
    })
}

/// Plans a remediation. Errors name the offending request field.
pub fn plan(
    inv: &Inventory,
    cfg: &EvalConfig,
    req: &RemediationRequest,
) -> Result<Planned, InputError> {
    let ask = check_request(inv, cfg, req)?;
    let before = evaluate(inv, cfg)?;
    if req.kind == RemediationKind::NarrowDnat {
        return dnat::plan(inv, cfg, req, &ask.vms, &ask.ports, before);
    }
    let mut draft = Draft {
        work: inv.clone(),
        warnings: Vec::new(),
        nic_changes: Vec::new(),
        added: Vec::new(),
    };
    // 1. rule edits (deny / restrict / the permissive rules above a JIT deny), then
    // enforceRule's Deny from the Internet below the rules kept
    let enforced = edits::edit_rules(&mut draft, cfg, &ask)?;
    edits::deny_below_kept(&mut draft, enforced);
    // 2. attach an NSG with safe rules to internet-facing NICs without one
    if req.kind == RemediationKind::AttachNsg {
        attach::attach_nsgs(&mut draft, cfg, &ask)?;
    }
    let Draft {
        work,
        mut warnings,
        nic_changes,
        added,
    } = draft;
    // the NSG writes
    let nsg_changes = writes::nsg_changes(inv, &work, &added);
    // 3. JIT policies (and the deny rules Defender will add, simulated for the prediction)
    let mut predicted = work.clone();
    let jit_changes = if req.kind == RemediationKind::EnableJit {
        jit::enable_jit(&mut predicted, inv, &work, cfg, &ask, &mut warnings)?
    } else {
        Vec::new()
    };

    let after = evaluate(&predicted, cfg)?;
    let predictions = predictions(&before, &after, &ask.vms);
    let noop = nsg_changes.is_empty() && jit_changes.is_empty() && nic_changes.is_empty();
    Ok(Planned {
        plan: RemediationPlan {
            request: req.clone(),
            nsg_changes,
            nic_changes,
            jit_policies: jit_changes,
            firewall_changes: Vec::new(),
            before: before.control,
            after: after.control,
            vms: predictions,
            noop,
            warnings,
        },
        predicted,
    })
}

/// Per VM selected or changed by a plan: its status and ports before and after.
fn predictions(
    before: &crate::Report,
    after: &crate::Report,
    vms: &[VirtualMachine],
) -> Vec<VmPrediction> {
    let mut predictions = Vec::new();
    for a in &after.vms {
        let Some(b) = before.vms.iter().find(|b| id_key(&b.id) == id_key(&a.id)) else {
            continue;
        };
        let selected = vms.iter().any(|v| id_key(&v.id) == id_key(&a.id));
        let port_preds: Vec<PortPrediction> = b
            .exposures
            .iter()
            .filter_map(|be| {
                let ae = a
                    .exposures
                    .iter()
                    .find(|x| x.port == be.port && x.protocol == be.protocol)?;
                Some(PortPrediction {
                    port: be.port,
                    before: be.state,
                    after: ae.state,
                    reachable_before: be.reachable,
                    reachable_after: ae.reachable,
                })
            })
            .collect();
        let moved = b.status != a.status || port_preds.iter().any(|p| p.before != p.after);
        if selected || moved {
            predictions.push(VmPrediction {
                id: a.id.clone(),
                name: a.name.clone(),
                before: b.status,
                after: a.status,
                before_recommendations: b.recommendations,
                after_recommendations: a.recommendations,
                ports: port_preds,
            });
        }
    }
    predictions
}

#[cfg(test)]
mod tests {

    use super::source_examples::{BAD_SOURCES, GOOD_SOURCES};

    #[test]
    fn the_planner_and_the_forms_judge_sources_alike() {
        for s in GOOD_SOURCES {
            assert!(check_source(s).is_ok(), "{s:?}: {:?}", check_source(s));
        }
        for s in BAD_SOURCES {
            assert!(check_source(s).is_err(), "{s:?} should be refused");
        }
        // the planner refuses exactly what the form refuses
        let inv = crate::fleet::synthetic_fleet(10, 1);
        let vm = inv.virtual_machines[0].id.clone();
        for (s, good) in GOOD_SOURCES
            .iter()
            .map(|s| (s, true))
            .chain(BAD_SOURCES.iter().map(|s| (s, false)))
        {
            let r = RemediationRequest {
                kind: RemediationKind::RestrictSources,
                vm_ids: vec![vm.clone()],
                ports: vec![],
                params: crate::api::RemediationParams {
                    sources: vec![s.to_string()],
                    ..Default::default()
                },
            };
            let planned = plan(&inv, &EvalConfig::default(), &r);
            assert_eq!(planned.is_ok(), good, "{s:?}: {:?}", planned.err());
        }
    }
    use super::*;
    use crate::api::{RemediationParams, RuleChangeKind};
    use crate::eval::State;
    use crate::eval::Status;
    use crate::fleet::{InventoryBuilder, Rule, VmSpec};

    fn fleet() -> (Inventory, String, String) {
        let mut b = InventoryBuilder::new("s1");
        let subnets = b.vnet(
            "rg",
            "vnet",
            &["10.0.0.0/16"],
            &[("default", "10.0.0.0/24", None)],
        );
        let nsg = b.nsg(
            "rg",
            "nsg1",
            vec![
                Rule::allow("Web-And-SSH", 300)
                    .ports(&["22", "443"])
                    .from("*"),
                Rule::allow("RDP-Old", 1000).port("3389").from("*"),
            ],
        );
        let pip = b.public_ip("rg", "pip1", "20.1.2.3");
        let vm = b.vm(&VmSpec {
            name: "vm1",
            resource_group: "rg",
            os: "Linux",
            subnet_id: &subnets[0],
            private_ip: "10.0.0.4",
            public_ip: Some(&pip),
            nic_nsg_id: Some(&nsg),
            asg_ids: &[],
        });
        (b.build(), vm, nsg)
    }

    fn req(kind: RemediationKind, vm: &str) -> RemediationRequest {
        RemediationRequest {
            kind,
            vm_ids: vec![vm.to_string()],
            ports: vec![],
            params: RemediationParams::default(),
        }
    }

    #[test]
    fn deny_splits_multi_port_rules_and_keeps_other_ports() {
        let (inv, vm, _) = fleet();
        let p = plan(
            &inv,
            &EvalConfig::default(),
            &req(RemediationKind::DenyPorts, &vm),
        )
        .unwrap();
        assert_eq!(p.plan.before.unhealthy, 1);
        assert_eq!(p.plan.after.healthy, 1, "{:?}", p.plan.vms);
        let after = &p.plan.nsg_changes[0].after;
        let web = after
            .iter()
            .find(|r| r.name.as_deref() == Some("Web-And-SSH"))
            .unwrap();
        assert_eq!(
            web.properties.destination_port_range.as_deref(),
            Some("443")
        );
        assert!(after.iter().all(|r| r.name.as_deref() != Some("RDP-Old")));
        // idempotent: planning on the predicted inventory changes nothing
        let again = plan(
            &p.predicted,
            &EvalConfig::default(),
            &req(RemediationKind::DenyPorts, &vm),
        )
        .unwrap();
        assert!(again.plan.noop, "{:?}", again.plan.nsg_changes);
    }

    #[test]
    fn restrict_narrows_sources_and_enable_jit_removes_rules_above_the_deny() {
        let (inv, vm, _) = fleet();
        let mut r = req(RemediationKind::RestrictSources, &vm);
        r.params.sources = vec!["203.0.113.0/24".into()];
        let p = plan(&inv, &EvalConfig::default(), &r).unwrap();
        let after = &p.plan.nsg_changes[0].after;
        assert!(after
            .iter()
            .any(|x| x.name.as_deref() == Some("Web-And-SSH-restricted")));
        let ports: Vec<_> = p.plan.vms[0]
            .ports
            .iter()
            .map(|x| (x.port, x.after))
            .collect();
        assert!(
            ports.contains(&(22, State::Restricted)) && ports.contains(&(3389, State::Restricted)),
            "{ports:?}"
        );

        let p = plan(
            &inv,
            &EvalConfig::default(),
            &req(RemediationKind::EnableJit, &vm),
        )
        .unwrap();
        assert_eq!(p.plan.jit_policies.len(), 1);
        assert_eq!(p.plan.vms[0].after, Status::Healthy);
        assert_eq!(
            p.plan.vms[0]
                .after_recommendations
                .management_ports_jit_protected,
            Status::Healthy
        );
    }

    fn source_set(inv: &Inventory, vm: &str, port: u16) -> (State, Vec<String>) {
        let r = evaluate(inv, &EvalConfig::default()).unwrap();
        let v = r.vms.iter().find(|v| v.id == vm).unwrap();
        let e = v.exposures.iter().find(|e| e.port == port).unwrap();
        (e.state, e.allowed_public_sources.to_vec())
    }

    #[test]
    fn enforce_rule_keeps_the_legitimate_sources_and_denies_the_internet() {
        let (inv, vm, _) = fleet();
        let mut r = req(RemediationKind::EnforceRule, &vm);
        r.ports = vec![3389];
        r.params.sources = vec!["203.0.113.10".into(), "203.0.113.24/32".into()];
        let p = plan(&inv, &EvalConfig::default(), &r).unwrap();
        let after = &p.plan.nsg_changes[0].after;
        let rdp = after
            .iter()
            .find(|x| x.name.as_deref() == Some("RDP-Old"))
            .unwrap();
        assert_eq!(rdp.properties.source_address_prefixes.len(), 2);
        let deny = after
            .iter()
            .find(|x| x.name.as_deref() == Some("Deny-3389-From-Internet"))
            .expect("an explicit deny from the Internet");
        assert_eq!(deny.properties.access.as_deref(), Some("Deny"));
        assert_eq!(
            deny.properties.source_address_prefix.as_deref(),
            Some("Internet")
        );
        assert!(deny.properties.priority.unwrap() > 1000, "below RDP-Old");
        // the legitimate sources still reach 3389, nobody else does; 22 is left as it was
        let (state, sources) = source_set(&p.predicted, &vm, 3389);
        assert_eq!(state, State::Restricted);
        assert_eq!(sources, vec!["203.0.113.10/32", "203.0.113.24/32"]);
        assert_eq!(source_set(&p.predicted, &vm, 22).0, State::Open);
        let diff: Vec<_> = p.plan.nsg_changes[0]
            .diff
            .iter()
            .map(|d| (d.change, d.rule.as_str()))
            .collect();
        assert!(
            diff.contains(&(RuleChangeKind::Changed, "RDP-Old")),
            "{diff:?}"
        );
        assert!(diff.contains(&(RuleChangeKind::Added, "Deny-3389-From-Internet")));
        // idempotent
        let again = plan(&p.predicted, &EvalConfig::default(), &r).unwrap();
        assert!(again.plan.noop, "{:?}", again.plan.nsg_changes);
    }

    #[test]
    fn enforce_rule_splits_multi_port_rules_and_denies_without_sources() {
        let (inv, vm, _) = fleet();
        let mut r = req(RemediationKind::EnforceRule, &vm);
        r.ports = vec![22];
        r.params.sources = vec!["198.51.100.7".into()];
        let p = plan(&inv, &EvalConfig::default(), &r).unwrap();
        let after = &p.plan.nsg_changes[0].after;
        let split = after
            .iter()
            .find(|x| x.name.as_deref() == Some("Web-And-SSH-restricted"))
            .unwrap();
        let deny = after
            .iter()
            .find(|x| x.name.as_deref() == Some("Deny-22-From-Internet"))
            .unwrap();
        assert!(deny.properties.priority > split.properties.priority);
        assert_eq!(source_set(&p.predicted, &vm, 22).1, vec!["198.51.100.7/32"]);
        // 443 still open to everyone
        let web = after
            .iter()
            .find(|x| x.name.as_deref() == Some("Web-And-SSH"))
            .unwrap();
        assert_eq!(
            web.properties.destination_port_range.as_deref(),
            Some("443")
        );

        // no legitimate source: the port is denied outright
        r.params.sources.clear();
        let p = plan(&inv, &EvalConfig::default(), &r).unwrap();
        assert_eq!(source_set(&p.predicted, &vm, 22).0, State::Private);
        assert!(p.plan.nsg_changes[0]
            .after
            .iter()
            .any(|x| x.name.as_deref() == Some("Deny-22-From-Internet")));
    }

    #[test]
    fn bad_inputs_name_their_field() {
        let (inv, vm, _) = fleet();
        let mut r = req(RemediationKind::RestrictSources, &vm);
        r.params.sources = vec!["10.0.0.0/33".into()];
        assert_eq!(
            plan(&inv, &EvalConfig::default(), &r).unwrap_err().path,
            "params.sources[0]"
        );
        let r = req(RemediationKind::DenyPorts, "/subscriptions/x/nope");
        assert_eq!(
            plan(&inv, &EvalConfig::default(), &r).unwrap_err().path,
            "vmIds[0]"
        );
        let mut r = req(RemediationKind::EnableJit, &vm);
        r.params.max_request_access_duration = Some("PT2M".into());
        assert_eq!(
            plan(&inv, &EvalConfig::default(), &r).unwrap_err().path,
            "params.maxRequestAccessDuration"
        );
        assert_eq!(iso8601_minutes("PT3H"), Some(180));
        assert_eq!(iso8601_minutes("P1D"), Some(1440));
        assert_eq!(iso8601_minutes("PT1H30M"), Some(90));
        assert_eq!(iso8601_minutes("3h"), None);
    }
}
