//! Small edits of NSG security rules that every phase of the planner shares: port ranges,
//! sources, free priorities, unique names, a new rule, and a change in words.
use crate::arm::{SecurityRule, SecurityRuleProperties};

/// The rule's destination port ranges (`*` is 0-65535); unparsable entries are left out.
pub(super) fn port_ranges(p: &SecurityRuleProperties) -> Vec<(u16, u16)> {
    let mut out = Vec::new();
    let one = |s: &str| -> Option<(u16, u16)> {
        let s = s.trim();
        if s == "*" {
            return Some((0, 65535));
        }
        match s.split_once('-') {
            Some((a, b)) => Some((a.trim().parse().ok()?, b.trim().parse().ok()?)),
            None => s.parse().ok().map(|v| (v, v)),
        }
    };
    for s in p
        .destination_port_range
        .iter()
        .chain(p.destination_port_ranges.iter())
    {
        if let Some(r) = one(s) {
            out.push(r);
        }
    }
    out
}

/// `ranges` without `ports`.
pub(super) fn subtract(ranges: &[(u16, u16)], ports: &[u16]) -> Vec<(u16, u16)> {
    let mut out = Vec::new();
    for &(lo, hi) in ranges {
        let mut start = lo as u32;
        let mut cuts: Vec<u16> = ports
            .iter()
            .copied()
            .filter(|p| *p >= lo && *p <= hi)
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        for c in cuts {
            if (c as u32) > start {
                out.push((start as u16, c - 1));
            }
            start = c as u32 + 1;
        }
        if start <= hi as u32 {
            out.push((start as u16, hi));
        }
    }
    out
}

pub(super) fn set_ports(p: &mut SecurityRuleProperties, ranges: &[(u16, u16)]) {
    let fmt = |&(a, b): &(u16, u16)| {
        if a == b {
            a.to_string()
        } else if a == 0 && b == 65535 {
            "*".to_string()
        } else {
            format!("{a}-{b}")
        }
    };
    if ranges.len() == 1 {
        p.destination_port_range = Some(fmt(&ranges[0]));
        p.destination_port_ranges = Vec::new();
    } else {
        p.destination_port_range = None;
        p.destination_port_ranges = ranges.iter().map(fmt).collect();
    }
}

pub(super) fn set_sources(p: &mut SecurityRuleProperties, sources: &[String]) {
    if sources.len() == 1 {
        p.source_address_prefix = Some(sources[0].clone());
        p.source_address_prefixes = Vec::new();
    } else {
        p.source_address_prefix = None;
        p.source_address_prefixes = sources.to_vec();
    }
    p.source_application_security_groups = Vec::new();
}

fn inbound(r: &SecurityRule) -> bool {
    r.properties
        .direction
        .as_deref()
        .is_none_or(|d| d.eq_ignore_ascii_case("inbound"))
}

/// The priorities the inbound rules take.
pub(super) fn used_priorities(rules: &[SecurityRule]) -> Vec<i64> {
    rules
        .iter()
        .filter(|r| inbound(r))
        .filter_map(|r| r.properties.priority)
        .collect()
}

/// A free inbound priority next to `prio` with no rule in between (so the new rule sits where
/// the old one did), else the nearest free one.
pub(super) fn adjacent_priority(rules: &[SecurityRule], prio: i64) -> Option<i64> {
    let used = used_priorities(rules);
    let free = |p: i64| (100..=4096).contains(&p) && !used.contains(&p);
    if free(prio - 1) {
        return Some(prio - 1);
    }
    if free(prio + 1) {
        return Some(prio + 1);
    }
    (1..4000)
        .flat_map(|d| [prio - d, prio + d])
        .find(|p| free(*p))
}

/// `base`, or `base-2`, `base-3`, ... when a rule already has that name.
pub(super) fn unique_name(rules: &[SecurityRule], base: &str) -> String {
    let taken = |n: &str| {
        rules
            .iter()
            .any(|r| r.name.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(n)))
    };
    if !taken(base) {
        return base.to_string();
    }
    (2..)
        .map(|i| format!("{base}-{i}"))
        .find(|n| !taken(n))
        .unwrap_or_default()
}

/// A new inbound rule to any destination from any source port.
pub(super) fn rule(
    name: &str,
    prio: i64,
    access: &str,
    proto: &str,
    ports: &[String],
    sources: &[String],
) -> SecurityRule {
    let mut p = SecurityRuleProperties {
        protocol: Some(proto.into()),
        source_port_range: Some("*".into()),
        destination_address_prefix: Some("*".into()),
        access: Some(access.into()),
        priority: Some(prio),
        direction: Some("Inbound".into()),
        ..Default::default()
    };
    if ports.len() == 1 {
        p.destination_port_range = Some(ports[0].clone());
    } else {
        p.destination_port_ranges = ports.to_vec();
    }
    set_sources(&mut p, sources);
    SecurityRule {
        name: Some(name.into()),
        properties: p,
        ..Default::default()
    }
}

/// What changed between two versions of a rule, in words (`ports 22,443 → 443`).
pub(super) fn describe_change(b: &SecurityRule, a: &SecurityRule) -> String {
    let ports = |r: &SecurityRule| {
        r.properties
            .destination_port_range
            .iter()
            .chain(r.properties.destination_port_ranges.iter())
            .cloned()
            .collect::<Vec<_>>()
            .join(",")
    };
    let srcs = |r: &SecurityRule| {
        r.properties
            .source_address_prefix
            .iter()
            .chain(r.properties.source_address_prefixes.iter())
            .cloned()
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut parts = Vec::new();
    if ports(b) != ports(a) {
        parts.push(format!("ports {} → {}", ports(b), ports(a)));
    }
    if srcs(b) != srcs(a) {
        parts.push(format!("sources {} → {}", srcs(b), srcs(a)));
    }
    if parts.is_empty() {
        "changed".into()
    } else {
        parts.join("; ")
    }
}
