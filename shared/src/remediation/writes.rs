//! The NSG writes of a plan: every NSG whose rules differ from the inventory's (or that is
//! new), with its rules before and after and a rule-by-rule diff.
use super::rules::describe_change;
use super::Added;
use crate::api::{NsgChange, RuleChangeKind, RuleDiff};
use crate::arm::{id_key, SecurityRule};
use crate::inventory::Inventory;

/// One change per NSG of `work` that differs from `inv`, in `work`'s order.
pub(super) fn nsg_changes(inv: &Inventory, work: &Inventory, added: &[Added]) -> Vec<NsgChange> {
    let mut nsg_changes = Vec::new();
    for after in &work.network_security_groups {
        let key = id_key(&after.id);
        let orig = inv
            .network_security_groups
            .iter()
            .find(|n| id_key(&n.id) == key);
        let before_rules = orig
            .map(|n| n.properties.security_rules.clone())
            .unwrap_or_default();
        if orig.is_some() && before_rules == after.properties.security_rules {
            continue;
        }
        let diff = rule_diff(&before_rules, &after.properties.security_rules, &key, added);
        nsg_changes.push(NsgChange {
            nsg_id: after.id.clone(),
            nsg_name: after.name.clone().unwrap_or_default(),
            etag: orig.and_then(|n| n.etag.clone()),
            before: before_rules,
            after: after.properties.security_rules.clone(),
            diff,
            create: orig.is_none(),
        });
    }
    nsg_changes
}

/// Rules removed and changed (in the old order), then rules added (in the new order, with the
/// reason the planner gave when it added them).
fn rule_diff(
    before: &[SecurityRule],
    after: &[SecurityRule],
    key: &str,
    added: &[Added],
) -> Vec<RuleDiff> {
    let mut diff = Vec::new();
    for b in before {
        match after.iter().find(|a| a.name == b.name) {
            None => diff.push(RuleDiff {
                change: RuleChangeKind::Removed,
                rule: b.name.clone().unwrap_or_default(),
                summary: "removed: it let the Internet reach management ports".into(),
            }),
            Some(a) if a != b => diff.push(RuleDiff {
                change: RuleChangeKind::Changed,
                rule: b.name.clone().unwrap_or_default(),
                summary: describe_change(b, a),
            }),
            _ => {}
        }
    }
    for a in after {
        if !before.iter().any(|b| b.name == a.name) {
            let name = a.name.clone().unwrap_or_default();
            let why = added
                .iter()
                .find(|x| x.nsg_key == key && x.rule == name)
                .map(|x| x.why.clone())
                .unwrap_or_else(|| "added".into());
            diff.push(RuleDiff {
                change: RuleChangeKind::Added,
                rule: name,
                summary: why,
            });
        }
    }
    diff
}
