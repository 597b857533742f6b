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
    rules.extend(
        default_security_rules(nsg_id)
            .into_iter()
            .filter(is_inbound)
            .map(|r| (Cow::Owned(r), true)),
    );
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
