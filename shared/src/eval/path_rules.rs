//! The rules on a VM's path, as the engine walks them: the NSGs that judge its traffic (subnet
//! level first, then NIC level, each once) and each one's inbound rules in evaluation order
//! (custom rules by priority, payload order among equal priorities, then the default rules).
use crate::arm::{default_security_rules, id_key, NetworkSecurityGroup, SecurityRule};
use crate::eval::report::{Level, VmReport};
use crate::Inventory;
use std::borrow::Cow;

/// One NSG on a VM's path.
#[derive(Debug, Clone)]
pub struct PathNsg<'a> {
    /// The id as the ip configuration references it.
    pub id: String,
    pub level: Level,
    /// `None` when the inventory lacks it (it then counts as no NSG).
    pub nsg: Option<&'a NetworkSecurityGroup>,
    /// Inbound rules in evaluation order; `true` marks a default rule.
    pub rules: Vec<(Cow<'a, SecurityRule>, bool)>,
}

/// Whether a rule is inbound, as the engine reads `direction`.
pub fn is_inbound(r: &SecurityRule) -> bool {
    r.properties
        .direction
        .as_deref()
        .is_some_and(|d| d.trim().eq_ignore_ascii_case("inbound"))
}

/// The inbound rules of an NSG (or of a missing one: the defaults only) in evaluation order.
pub fn inbound_in_order<'a>(
    nsg_id: &str,
    nsg: Option<&'a NetworkSecurityGroup>,
) -> Vec<(Cow<'a, SecurityRule>, bool)> {
    let mut custom: Vec<&SecurityRule> = nsg
        .map(|n| {
            n.properties
                .security_rules
                .iter()
                .filter(|r| is_inbound(r))
                .collect()
        })
        .unwrap_or_default();
    // stable: payload order among equal priorities, as the engine keeps it
    custom.sort_by_key(|r| r.properties.priority.unwrap_or(i64::MAX));
    let mut rules: Vec<(Cow<'a, SecurityRule>, bool)> = custom
        .into_iter()
        .map(|r| (Cow::Borrowed(r), false))
        .collect();
    let defaults = default_security_rules(nsg_id)
        .into_iter()
        .filter(is_inbound);
    let last = rules.last().and_then(|(r, _)| r.properties.priority);
    rules.extend(defaults.map(|r| (Cow::Owned(r), true)));
    // custom priorities reaching the defaults' (outside ARM's 100-4096) are merged with them,
    // custom rules first among equals, as the engine does
    let first_default = rules
        .iter()
        .find(|(_, d)| *d)
        .and_then(|(r, _)| r.properties.priority);
    if last.zip(first_default).is_some_and(|(l, f)| l >= f) {
        rules.sort_by_key(|(r, _)| r.properties.priority.unwrap_or(i64::MAX));
    }
    rules
}

/// The NSGs on the path of every ip configuration of the VM, subnet level first, each with its
/// inbound rules in evaluation order.
pub fn rules_on_path<'a>(report: &VmReport, inv: &'a Inventory) -> Vec<PathNsg<'a>> {
    let mut path: Vec<(String, Level)> = Vec::new();
    for c in &report.ip_configurations {
        for (nsg, level) in [
            (&c.subnet_nsg, Level::Subnet),
            (&c.nic_nsg, Level::NetworkInterface),
        ] {
            if let Some(n) = nsg {
                if !path
                    .iter()
                    .any(|(x, l)| id_key(x) == id_key(n) && *l == level)
                {
                    path.push((n.to_string(), level));
                }
            }
        }
    }
    path.sort_by_key(|(_, l)| *l);
    path.into_iter()
        .map(|(id, level)| {
            let key = id_key(&id);
            let nsg = inv
                .network_security_groups
                .iter()
                .find(|n| id_key(&n.id) == key);
            PathNsg {
                rules: inbound_in_order(&id, nsg),
                id,
                level,
                nsg,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nsg(priorities: &[i64]) -> NetworkSecurityGroup {
        let rules: Vec<serde_json::Value> = priorities
            .iter()
            .map(|p| {
                serde_json::json!({"name": format!("r{p}"), "properties": {"priority": p,
                    "access": "Allow", "direction": "Inbound", "protocol": "*",
                    "sourceAddressPrefix": "*", "sourcePortRange": "*",
                    "destinationAddressPrefix": "*", "destinationPortRange": "*"}})
            })
            .collect();
        serde_json::from_value(serde_json::json!({"id": "/n", "name": "n",
            "properties": {"securityRules": rules}}))
        .expect("an NSG")
    }

    fn order(nsg: &NetworkSecurityGroup) -> Vec<(i64, bool)> {
        inbound_in_order("/n", Some(nsg))
            .iter()
            .map(|(r, d)| (r.properties.priority.unwrap_or_default(), *d))
            .collect()
    }

    #[test]
    fn custom_rules_come_first_then_the_defaults() {
        let n = nsg(&[300, 100]);
        assert_eq!(
            order(&n),
            [
                (100, false),
                (300, false),
                (65000, true),
                (65001, true),
                (65500, true)
            ]
        );
    }

    #[test]
    fn custom_priorities_among_the_defaults_are_merged_in_priority_order() {
        // outside ARM's 100-4096, as the engine evaluates them: custom first among equals
        let n = nsg(&[65501, 100, 65000]);
        assert_eq!(
            order(&n),
            [
                (100, false),
                (65000, false),
                (65000, true),
                (65001, true),
                (65500, true),
                (65501, false)
            ]
        );
    }
}
