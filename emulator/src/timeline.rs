//! The demo tenant's scripted history: what changed on which day of the last 90, and how to turn
//! the inventory after each change into the one before it. The server's demo backfill replays it
//! backwards through the engine (`server/src/backfill.rs`).
use portcullis_shared::arm::id_key;
use portcullis_shared::eval::{Access, Model, State};
use portcullis_shared::{EvalConfig, Inventory};

/// One scripted change of the demo tenant: on `days_ago`, `what` happened; `undo` turns the
/// inventory after it into the inventory before it.
pub struct Event {
    pub days_ago: i64,
    pub what: &'static str,
    pub undo: Undo,
}

pub enum Undo {
    /// The VMs (with their NICs and public IPs) did not exist yet.
    Created(&'static [&'static str]),
    /// The rules that let the Internet reach this port of these VMs did not exist yet.
    Opened(&'static [&'static str], u16),
    /// JIT did not cover these VMs yet (policy entries and JIT deny rules absent).
    JitEnabled(&'static [&'static str]),
}

pub const TIMELINE: &[Event] = &[
    Event {
        days_ago: 3,
        what: "JIT enabled on dev-jit-01 and dev-jit-02",
        undo: Undo::JitEnabled(&["dev-jit-01", "dev-jit-02"]),
    },
    Event {
        days_ago: 9,
        what: "winrm-test-01: WinRM over HTTPS (5986) opened to any source",
        undo: Undo::Opened(&["winrm-test-01"], 5986),
    },
    Event {
        days_ago: 16,
        what: "edge-gw-01 and edge-gw-02 deployed without an NSG",
        undo: Undo::Created(&["edge-gw-01", "edge-gw-02"]),
    },
    Event {
        days_ago: 27,
        what: "legacy-jump-01: Allow-RDP-Legacy left above the JIT deny",
        undo: Undo::Opened(&["legacy-jump-01"], 3389),
    },
    Event {
        days_ago: 38,
        what: "dev-linux-09..16 deployed from the SSH-open template",
        undo: Undo::Created(&[
            "dev-linux-09",
            "dev-linux-10",
            "dev-linux-11",
            "dev-linux-12",
            "dev-linux-13",
            "dev-linux-14",
            "dev-linux-15",
            "dev-linux-16",
        ]),
    },
    Event {
        days_ago: 52,
        what: "sql-lab-01: RDP opened to any source",
        undo: Undo::Opened(&["sql-lab-01"], 3389),
    },
    Event {
        days_ago: 64,
        what: "JIT enabled on jump-prod-01..03",
        undo: Undo::JitEnabled(&["jump-prod-01", "jump-prod-02", "jump-prod-03"]),
    },
    Event {
        days_ago: 77,
        what: "mgmt-win-01..03: WinRM allowed from the Internet",
        undo: Undo::Opened(&["mgmt-win-01", "mgmt-win-02", "mgmt-win-03"], 5985),
    },
    Event {
        days_ago: 88,
        what: "dev-linux-01..08 deployed from the SSH-open template",
        undo: Undo::Created(&[
            "dev-linux-01",
            "dev-linux-02",
            "dev-linux-03",
            "dev-linux-04",
            "dev-linux-05",
            "dev-linux-06",
            "dev-linux-07",
            "dev-linux-08",
        ]),
    },
];

pub const BACKFILL_DAYS: i64 = 90;

fn vm_ids(inv: &Inventory, names: &[&str]) -> Vec<String> {
    inv.virtual_machines
        .iter()
        .filter(|v| {
            v.name
                .as_deref()
                .is_some_and(|n| names.iter().any(|x| x.eq_ignore_ascii_case(n)))
        })
        .map(|v| v.id.clone())
        .collect()
}

/// Turns the inventory after a scripted change into the inventory before it.
pub fn undo(inv: &mut Inventory, u: &Undo, cfg: &EvalConfig) {
    match u {
        Undo::Created(names) => {
            let ids: Vec<String> = vm_ids(inv, names).iter().map(|i| id_key(i)).collect();
            let nic_ids: Vec<String> = inv
                .virtual_machines
                .iter()
                .filter(|v| ids.contains(&id_key(&v.id)))
                .flat_map(|v| v.properties.network_profile.network_interfaces.iter())
                .filter_map(|r| r.id.as_deref().map(id_key))
                .collect();
            let pip_ids: Vec<String> = inv
                .network_interfaces
                .iter()
                .filter(|n| nic_ids.contains(&id_key(&n.id)))
                .flat_map(|n| n.properties.ip_configurations.iter())
                .filter_map(|c| {
                    c.properties
                        .public_ip_address
                        .as_ref()?
                        .id
                        .as_deref()
                        .map(id_key)
                })
                .collect();
            inv.virtual_machines
                .retain(|v| !ids.contains(&id_key(&v.id)));
            inv.network_interfaces
                .retain(|n| !nic_ids.contains(&id_key(&n.id)));
            inv.public_ip_addresses
                .retain(|p| !pip_ids.contains(&id_key(&p.id)));
        }
        Undo::Opened(names, port) => {
            // the engine names the rules that let the Internet in: those did not exist yet
            let ids = vm_ids(inv, names);
            let mut doomed: Vec<(String, String)> = Vec::new();
            if let Ok(model) = Model::build(inv, cfg) {
                for vm in inv.virtual_machines.iter().filter(|v| ids.contains(&v.id)) {
                    let r = model.evaluate_vm(vm);
                    for e in r.exposures.iter().filter(|e| e.port == *port) {
                        if !matches!(e.state, State::Open | State::Restricted) {
                            continue;
                        }
                        for d in e.deciding_rules.iter() {
                            if d.access == Access::Allow && !d.default {
                                doomed.push((id_key(&d.nsg), d.rule.to_string()));
                            }
                        }
                    }
                }
            }
            for nsg in &mut inv.network_security_groups {
                let key = id_key(&nsg.id);
                nsg.props_mut().security_rules.retain(|r| {
                    !doomed
                        .iter()
                        .any(|(n, rule)| *n == key && r.name.as_deref() == Some(rule.as_str()))
                });
            }
        }
        Undo::JitEnabled(names) => {
            let ids: Vec<String> = vm_ids(inv, names).iter().map(|i| id_key(i)).collect();
            let descriptions: Vec<String> = names.iter().map(|n| format!("of VM '{n}'")).collect();
            for p in &mut inv.jit_network_access_policies {
                p.properties
                    .virtual_machines
                    .retain(|v| !ids.contains(&id_key(&v.id)));
            }
            inv.jit_network_access_policies
                .retain(|p| !p.properties.virtual_machines.is_empty());
            for nsg in &mut inv.network_security_groups {
                nsg.props_mut().security_rules.retain(|r| {
                    let jit = r
                        .name
                        .as_deref()
                        .is_some_and(|n| n.starts_with("SecurityCenter-JITRule"));
                    let mine = r
                        .properties
                        .description
                        .as_deref()
                        .is_some_and(|d| descriptions.iter().any(|x| d.contains(x.as_str())));
                    !(jit && mine)
                });
            }
        }
    }
}

/// Whether an ARM id lies in the synthetic fleet's subscription (`--demo-extra-vms`).
pub fn in_extra_fleet(id: &str) -> bool {
    portcullis_shared::arm::id_scope(id)
        .0
        .eq_ignore_ascii_case(crate::demo::SCALE_TEST)
}

/// The inventory without the synthetic fleet: the scripted demo tenant, which the timeline
/// changes.
pub fn scripted_part(inv: &Inventory) -> Inventory {
    inv.filtered(|id| !in_extra_fleet(id))
}

/// Every scripted event's day and summary (docs and tests).
pub fn timeline() -> Vec<(i64, &'static str)> {
    TIMELINE.iter().map(|e| (e.days_ago, e.what)).collect()
}
