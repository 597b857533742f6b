//! NSGs that hold the same rules under other names.
//!
//! The Azure portal gives each VM it creates an NSG of its own, with the same rule (SSH or
//! RDP from anywhere), so an estate of portal-made VMs has as many NSGs as VMs and most of
//! them alike. An evaluation reads everything of a rule but its name (and its NSG's id and
//! name), so NSGs alike in all else give the same verdicts, rule for rule: the engine
//! evaluates each ip configuration with the first NSG of its kind (its *class*) and then names
//! the configuration's own NSG and rules in the verdict (`Model::own_rules`).
//!
//! Two NSGs are alike when their compiled rules are equal, field by field, in the same order,
//! except the rules' names ([`same_rule`] lists every field, so a field added to
//! [`CompiledRule`] must be placed on one side or the other).
use super::compile::{AddrSpec, CompiledNsg, CompiledRule};
use super::keys::{fx_map, FxHasher, FxMap};
use smallvec::SmallVec;
use std::hash::{Hash, Hasher};

/// For each NSG, the index of the first NSG alike (itself when it is the first), given each
/// NSG's [`content_hash`].
pub(crate) fn nsg_classes(nsgs: &[CompiledNsg], hash: impl Fn(usize) -> u64) -> Vec<u32> {
    let mut firsts: FxMap<u64, SmallVec<[u32; 1]>> = fx_map(nsgs.len().min(1 << 16));
    let mut class = Vec::with_capacity(nsgs.len());
    for (i, nsg) in nsgs.iter().enumerate() {
        let reps = firsts.entry(hash(i)).or_default();
        let found = reps
            .iter()
            .copied()
            .find(|&r| same_content(&nsgs[r as usize], nsg));
        class.push(found.unwrap_or_else(|| {
            reps.push(i as u32);
            i as u32
        }));
    }
    class
}

/// Whether two NSGs hold the same rules, in the same order, but for their names.
pub(crate) fn same_content(a: &CompiledNsg, b: &CompiledNsg) -> bool {
    a.defaults_inline == b.defaults_inline
        && a.custom.len() == b.custom.len()
        && a.custom.iter().zip(&b.custom).all(|(x, y)| same_rule(x, y))
}

/// Whether two rules are equal in everything an evaluation reads: all but their names.
pub(crate) fn same_rule(a: &CompiledRule, b: &CompiledRule) -> bool {
    let CompiledRule {
        name: _,
        priority,
        index,
        access,
        direction,
        protocol,
        is_default,
        src_ports,
        dst_ports,
        src,
        dst,
    } = a;
    *priority == b.priority
        && *index == b.index
        && *access == b.access
        && *direction == b.direction
        && *protocol == b.protocol
        && *is_default == b.is_default
        && *src_ports == b.src_ports
        && *dst_ports == b.dst_ports
        && *src == b.src
        && *dst == b.dst
}

/// A hash of what [`same_content`] compares.
pub(crate) fn content_hash(nsg: &CompiledNsg) -> u64 {
    let mut h = FxHasher::default();
    nsg.defaults_inline.hash(&mut h);
    nsg.custom.len().hash(&mut h);
    for r in &nsg.custom {
        r.priority.hash(&mut h);
        r.index.hash(&mut h);
        r.access.hash(&mut h);
        r.direction.hash(&mut h);
        r.protocol.hash(&mut h);
        r.is_default.hash(&mut h);
        r.src_ports.hash(&mut h);
        r.dst_ports.hash(&mut h);
        hash_addr(&r.src, &mut h);
        hash_addr(&r.dst, &mut h);
    }
    h.finish()
}

fn hash_addr(a: &AddrSpec, h: &mut FxHasher) {
    a.any.hash(h);
    a.internet.hash(h);
    a.virtual_network.hash(h);
    a.azure_load_balancer.hash(h);
    a.set.hash(h);
    a.other_tags().hash(h);
    a.asgs().hash(h);
}
