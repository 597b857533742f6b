//! The rule walk: one cached key's candidate rules as bitsets over address atoms (the
//! elementary intervals its source sets are unions of), walked port by port and source-port
//! piece by piece, and the rules that decided.
use super::*;

/// The walk of one cached key, as the model runs it.
impl Model<'_> {
    /// Calls `f` with each part of the sources a rule names, for traffic of `family` to an ip
    /// configuration in `vnet`.
    pub(super) fn source_parts<'s>(
        &'s self,
        r: &'s CompiledRule,
        vnet: u32,
        family: Family,
        mut f: impl FnMut(Part<'s>),
    ) {
        let s = &r.src;
        if s.any {
            return f(Part::All);
        }
        let set = of(&s.set, family);
        if !set.is_empty() {
            f(Part::Set(set));
        }
        if s.internet || (!s.other_tags().is_empty() && r.access.permits()) {
            f(Part::Public);
        }
        if s.virtual_network && vnet != NONE {
            f(Part::Vnet);
        }
        if s.azure_load_balancer {
            f(Part::LoadBalancer);
        }
        for &a in s.asgs() {
            if let Some(m) = self.asg_members.get(a as usize) {
                f(Part::Set(of(m, family)));
            }
        }
    }

    /// Evaluates every management port for one cached key. The walk runs on the address family
    /// of the ip configuration only, over "atoms": the elementary address intervals that every
    /// source set involved (and the public Internet) is a union of, so that each set is a small
    /// bitset and every set operation of the walk is a few word operations.
    pub(super) fn eval_key(&self, key: &EvalKey) -> PathEval {
        self.with_scratch(|scratch| {
            self.walk_key(key, scratch, |walk, scratch| {
                let mut evals: Vec<Arc<PortEval>> = Vec::with_capacity(self.ports.len());
                for port in &self.ports {
                    let e = self.eval_port(key, walk, scratch, *port);
                    // ports with the same verdict share it, and with it the sources, deciding
                    // rules and reasons made for it (a VM's closed ports usually agree)
                    let same = evals.iter().find(|o| o.same_verdict(&e)).cloned();
                    evals.push(same.unwrap_or_else(|| Arc::new(e)));
                }
                evals.into()
            })
        })
    }

    /// Runs `f` with this thread's buffers, reused from key to key (most keys need a few
    /// hundred bytes).
    pub(super) fn with_scratch<R>(&self, f: impl FnOnce(&mut Scratch) -> R) -> R {
        thread_local! {
            static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
        }
        SCRATCH.with(|s| match s.try_borrow_mut() {
            Ok(mut scratch) => f(&mut scratch),
            Err(_) => f(&mut Scratch::default()),
        })
    }

    /// Builds the walk of one cached key (its candidate rules, as bitsets over address atoms)
    /// and hands it to `f`, which evaluates the ports.
    pub(super) fn walk_key<R>(
        &self,
        key: &EvalKey,
        scratch: &mut Scratch,
        f: impl FnOnce(&Walk<'_>, &mut Scratch) -> R,
    ) -> R {
        let family = key.family;
        let public_all = of(self.public_set(key.vnet), family);

        // the rules that can matter: matching the ip configuration as destination and at least
        // one management port; in evaluation order, level by level
        let mut levels: SmallVec<[(Level, u32, usize); 3]> = SmallVec::new();
        let mut cands: SmallVec<[(u32, &CompiledRule); 32]> = SmallVec::new();
        if key.admin != NONE {
            let set = &self.admins[key.admin as usize];
            for &(i, bit) in set.plan.relevant.iter() {
                if bit == NONE || key.admin_mask.bit(bit as usize) {
                    cands.push((i, &set.rules[i as usize]));
                }
            }
            levels.push((Level::NetworkManager, key.admin, cands.len()));
        }
        for (level, nsg, mask) in [
            (Level::Subnet, key.subnet_nsg, &key.subnet_mask),
            (Level::NetworkInterface, key.nic_nsg, &key.nic_mask),
        ] {
            if nsg == NONE {
                continue;
            }
            let rules = &self.nsgs[nsg as usize];
            for &(i, bit) in self.plans[nsg as usize].relevant.iter() {
                if bit == NONE || mask.bit(bit as usize) {
                    cands.push((i, rules.rule(i as usize)));
                }
            }
            levels.push((level, nsg, cands.len()));
        }

        // atoms: cut at every bound of every source set; the sets several rules name (the
        // public Internet, the VNet, the load balancer) are cut and turned into bits once
        let max = family_max(family);
        let vnet_space =
            (key.vnet != NONE).then(|| of(&self.vnets[key.vnet as usize].space, family));
        let load_balancer = of(&self.load_balancer, family);
        let mut bounds = std::mem::take(&mut scratch.bounds);
        bounds.clear();
        bounds.push(0);
        add_bounds(&mut bounds, public_all, max);
        let (mut vnet_used, mut lb_used) = (false, false);
        for (_, r) in &cands {
            self.source_parts(r, key.vnet, family, |part| match part {
                Part::Set(set) => add_bounds(&mut bounds, set, max),
                Part::Vnet => vnet_used = true,
                Part::LoadBalancer => lb_used = true,
                Part::All | Part::Public => {}
            });
        }
        if let (true, Some(space)) = (vnet_used, vnet_space) {
            add_bounds(&mut bounds, space, max);
        }
        if lb_used {
            add_bounds(&mut bounds, load_balancer, max);
        }
        let atoms = Atoms::new(&mut bounds, max);
        let w = atoms.words;
        // public, VNet, load balancer, then the rules' sources
        let mut bits = std::mem::take(&mut scratch.rule_bits);
        bits.clear();
        bits.resize(w * (3 + cands.len()), 0);
        let (shared, rule_bits) = bits.split_at_mut(3 * w);
        atoms.set_bits(public_all, &mut shared[..w]);
        if let (true, Some(space)) = (vnet_used, vnet_space) {
            atoms.set_bits(space, &mut shared[w..2 * w]);
        }
        if lb_used {
            atoms.set_bits(load_balancer, &mut shared[2 * w..]);
        }
        for (k, (_, r)) in cands.iter().enumerate() {
            let out = &mut rule_bits[k * w..(k + 1) * w];
            self.source_parts(r, key.vnet, family, |part| {
                let from = match part {
                    Part::Set(set) => return atoms.set_bits(set, out),
                    Part::All => &atoms.full[..],
                    Part::Public => &shared[..w],
                    Part::Vnet => &shared[w..2 * w],
                    Part::LoadBalancer => &shared[2 * w..],
                };
                for (o, f) in out.iter_mut().zip(from) {
                    *o |= f;
                }
            });
        }
        let public_bits = &shared[..w];
        let walk = Walk {
            levels: &levels,
            cands: &cands,
            atoms: &atoms,
            rule_bits,
            public_bits,
        };
        let r = f(&walk, scratch);
        drop(atoms);
        scratch.bounds = bounds;
        scratch.rule_bits = bits;
        r
    }

    /// The heart: one ip configuration (as cached key), one port.
    pub(super) fn eval_port(
        &self,
        key: &EvalKey,
        walk: &Walk<'_>,
        scratch: &mut Scratch,
        port: PortSpec,
    ) -> PortEval {
        let no_nsg = walk.levels.iter().all(|l| l.0 == Level::NetworkManager);
        let mut found = Deciders::default();
        let bits = walk_port(walk, scratch, port, Some(&mut found));
        self.port_verdict(key.family, walk, bits, found, no_nsg)
    }

    /// The state [`Model::eval_port`] gives the port, from the bits alone: which sources the
    /// rules let through, and how many addresses of the public Internet among them.
    pub(super) fn port_state_only(
        &self,
        family: Family,
        walk: &Walk<'_>,
        scratch: &mut Scratch,
        port: PortSpec,
    ) -> State {
        let bits = walk_port(walk, scratch, port, None);
        let public = bits.piece_public;
        for ((p, t), b) in public
            .iter_mut()
            .zip(bits.total.iter())
            .zip(walk.public_bits)
        {
            *p = t & b;
        }
        let any = |bits: &[u64]| bits.iter().any(|&b| b != 0);
        self.state_from(
            family,
            walk.atoms.count(public),
            any(public),
            any(bits.total),
        )
    }

    /// A port's state from the number of public addresses allowed, whether any is, and
    /// whether any source at all is.
    pub(super) fn state_from(
        &self,
        family: Family,
        public: u128,
        any_public: bool,
        any: bool,
    ) -> State {
        let threshold = match family {
            Family::V4 => self.v4_threshold,
            Family::V6 => self.v6_threshold,
        };
        if public >= threshold {
            State::Open
        } else if any_public {
            State::Restricted
        } else if any {
            State::Private
        } else {
            State::Closed
        }
    }

    /// The verdict from the sources every piece allowed, and the rules that decided.
    pub(super) fn port_verdict(
        &self,
        family: Family,
        walk: &Walk<'_>,
        bits: PortBits<'_>,
        found: Deciders,
        no_nsg: bool,
    ) -> PortEval {
        let atoms = walk.atoms;
        let PortBits {
            total,
            piece_public,
            ..
        } = bits;
        piece_public.copy_from_slice(total);
        // the public Internet is a union of atoms: its intersection is exact
        for (t, b) in piece_public.iter_mut().zip(walk.public_bits) {
            *t &= b;
        }
        let public = atoms.to_set(piece_public);
        let total = atoms.to_set(total);
        let state = self.state_from(
            family,
            public.count(),
            !public.is_empty(),
            !total.is_empty(),
        );
        let deciding = found.deciding(state);
        let shown = lift(family, cidr_cover(family, &total, &public));
        let allowed = lift(family, total);
        PortEval {
            shown,
            allowed,
            state,
            deciding,
            no_nsg,
            sources: OnceLock::new(),
            rules: OnceLock::new(),
            reasons: Default::default(),
        }
    }
}

/// Walks one port's source-port pieces: leaves in `total` every source some piece allowed
/// (and returns the bits), and adds to `found`, when given, the rules that decided.
pub(super) fn walk_port<'s>(
    walk: &Walk<'_>,
    scratch: &'s mut Scratch,
    port: PortSpec,
    mut found: Option<&mut Deciders>,
) -> PortBits<'s> {
    let w = walk.atoms.words;
    active_rules(walk, port, &mut scratch.active);
    let cuts = source_port_cuts(walk, &scratch.active);
    scratch.bits.clear();
    scratch.bits.resize(7 * w, 0);
    let mut bits = PortBits::split(&mut scratch.bits, w);
    for piece in cuts.windows(2) {
        // both fit in u16: the cuts lie in 0..=65536 and the pieces end before 65536
        let (lo, hi) = (piece[0] as u16, (piece[1] - 1) as u16);
        let mut contrib = Contributions {
            rules: &mut scratch.contributions,
            bits: &mut scratch.contributed,
            record: found.is_some(),
        };
        walk_piece(walk, &scratch.active, (lo, hi), &mut bits, &mut contrib);
        if let Some(found) = found.as_deref_mut() {
            found.classify(walk, &contrib, &mut bits);
        }
        for (t, a) in bits.total.iter_mut().zip(bits.piece_allowed.iter()) {
            *t |= a;
        }
    }
    bits
}

/// The candidate rules (indices in `walk.cands`) whose protocol and ports match `port`.
pub(super) fn active_rules(walk: &Walk<'_>, port: PortSpec, active: &mut Vec<u32>) {
    active.clear();
    active.extend(
        walk.cands
            .iter()
            .enumerate()
            .filter(|(_, (_, r))| {
                r.protocol.matches(port.protocol) && r.dst_ports.contains(port.port)
            })
            .map(|(k, _)| k as u32),
    );
}

/// The bounds of the source-port pieces the active rules distinguish (0 and 65536 included).
pub(super) fn source_port_cuts(walk: &Walk<'_>, active: &[u32]) -> SmallVec<[u32; 8]> {
    let mut cuts: SmallVec<[u32; 8]> = SmallVec::new();
    cuts.push(0);
    cuts.push(65_536);
    for &k in active {
        for &(lo, hi) in walk.cands[k as usize].1.src_ports.ranges() {
            cuts.push(u32::from(lo));
            cuts.push(u32::from(hi) + 1);
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

/// The bitsets of one port's walk (each `atoms.words` words).
pub(super) struct PortBits<'b> {
    /// Sources allowed in some piece.
    pub(super) total: &'b mut [u64],
    /// Security admin rules: sources AlwaysAllow admits, and those handed over to the NSGs.
    pub(super) always: &'b mut [u64],
    pub(super) pass: &'b mut [u64],
    /// Sources allowed through every level, for the current piece.
    pub(super) piece_allowed: &'b mut [u64],
    pub(super) undecided: &'b mut [u64],
    /// Sources allowed by the current level.
    pub(super) allowed: &'b mut [u64],
    pub(super) piece_public: &'b mut [u64],
}

impl<'b> PortBits<'b> {
    pub(super) fn split(bits: &'b mut [u64], w: usize) -> Self {
        let (total, rest) = bits.split_at_mut(w);
        let (always, rest) = rest.split_at_mut(w);
        let (pass, rest) = rest.split_at_mut(w);
        let (piece_allowed, rest) = rest.split_at_mut(w);
        let (undecided, rest) = rest.split_at_mut(w);
        let (allowed, piece_public) = rest.split_at_mut(w);
        PortBits {
            total,
            always,
            pass,
            piece_allowed,
            undecided,
            allowed,
            piece_public,
        }
    }
}

/// (rule, access) of each rule that decided some sources in a piece, and those sources' bits.
pub(super) struct Contributions<'c> {
    pub(super) rules: &'c mut Vec<(RuleRef, Access)>,
    pub(super) bits: &'c mut Vec<u64>,
    /// Whether to record them (not when only the port's state is wanted).
    pub(super) record: bool,
}

/// Walks every level's active rules for one source-port piece `(lo, hi)`: leaves in
/// `bits.piece_allowed` the sources that get through, and records which rules decided what.
pub(super) fn walk_piece(
    walk: &Walk<'_>,
    active: &[u32],
    (lo, hi): (u16, u16),
    b: &mut PortBits<'_>,
    contrib: &mut Contributions<'_>,
) {
    let atoms = walk.atoms;
    b.piece_allowed.copy_from_slice(&atoms.full);
    contrib.rules.clear();
    contrib.bits.clear();
    let mut next = 0;
    let mut admin_seen = false;
    for &(level, nsg, end) in walk.levels {
        let admin = level == Level::NetworkManager;
        if admin {
            b.always.fill(0);
            b.pass.fill(0);
            admin_seen = true;
        }
        b.undecided.copy_from_slice(&atoms.full);
        b.allowed.fill(0);
        let first = next;
        while next < active.len() && (active[next] as usize) < end {
            next += 1;
        }
        walk_level(
            walk,
            &active[first..next],
            (level, nsg),
            (lo, hi),
            b,
            contrib,
        );
        if admin {
            // what no admin rule matched goes to the NSGs too
            for (p, u) in b.pass.iter_mut().zip(b.undecided.iter()) {
                *p |= u;
            }
            continue;
        }
        for (a, x) in b.piece_allowed.iter_mut().zip(b.allowed.iter()) {
            *a &= x;
        }
    }
    if admin_seen {
        for ((a, p), al) in b
            .piece_allowed
            .iter_mut()
            .zip(b.pass.iter())
            .zip(b.always.iter())
        {
            *a = (*a & p) | al;
        }
    }
}

/// The rules of one level (admin rules or one NSG), in order, for one source-port piece.
pub(super) fn walk_level(
    walk: &Walk<'_>,
    rules: &[u32],
    (level, nsg): (Level, u32),
    (lo, hi): (u16, u16),
    b: &mut PortBits<'_>,
    contrib: &mut Contributions<'_>,
) {
    let w = walk.atoms.words;
    let admin = level == Level::NetworkManager;
    for &k in rules {
        let k = k as usize;
        let (i, r) = walk.cands[k];
        if !r.src_ports.contains_range(lo, hi) {
            continue;
        }
        let src = &walk.rule_bits[k * w..(k + 1) * w];
        if !intersects(src, b.undecided) {
            continue;
        }
        let mut left = false;
        // an admin Allow only hands its sources over to the NSGs: it decides nothing
        let hands_over = admin && r.access == Access::Allow;
        let record = contrib.record && !hands_over;
        for (j, (s, u)) in src.iter().zip(b.undecided.iter_mut()).enumerate() {
            let d = s & *u;
            *u &= !d;
            left |= *u != 0;
            match (admin, r.access) {
                (false, Access::Allow) => b.allowed[j] |= d,
                (true, Access::AlwaysAllow) => b.always[j] |= d,
                (true, Access::Allow) => b.pass[j] |= d,
                _ => {}
            }
            if record {
                contrib.bits.push(d);
            }
        }
        if record {
            contrib.rules.push((
                RuleRef {
                    level,
                    nsg,
                    rule: i,
                },
                r.access,
            ));
        }
        if !left {
            break;
        }
    }
}

/// The rules that decided public or any sources, by access, over every piece.
#[derive(Default)]
pub(super) struct Deciders {
    pub(super) allow_public: SmallVec<[RuleRef; 4]>,
    pub(super) allow_any: SmallVec<[RuleRef; 4]>,
    pub(super) deny_public: SmallVec<[RuleRef; 4]>,
    pub(super) deny_any: SmallVec<[RuleRef; 4]>,
}

pub(super) fn push_once(v: &mut SmallVec<[RuleRef; 4]>, r: RuleRef) {
    if !v.contains(&r) {
        v.push(r)
    }
}

impl Deciders {
    /// Adds the rules that decided sources in the piece just walked.
    pub(super) fn classify(
        &mut self,
        walk: &Walk<'_>,
        contrib: &Contributions<'_>,
        b: &mut PortBits<'_>,
    ) {
        let w = walk.atoms.words;
        for ((pp, a), x) in b
            .piece_public
            .iter_mut()
            .zip(b.piece_allowed.iter())
            .zip(walk.public_bits)
        {
            *pp = a & x;
        }
        for (n, &(rr, access)) in contrib.rules.iter().enumerate() {
            let s = &contrib.bits[n * w..(n + 1) * w];
            match access {
                Access::Allow | Access::AlwaysAllow => {
                    if intersects(s, b.piece_public) {
                        push_once(&mut self.allow_public, rr);
                    }
                    if intersects(s, b.piece_allowed) {
                        push_once(&mut self.allow_any, rr);
                    }
                }
                Access::Deny => {
                    if intersects(s, walk.public_bits) {
                        push_once(&mut self.deny_public, rr);
                    }
                    push_once(&mut self.deny_any, rr);
                }
            }
        }
    }

    /// The rules shown as deciding a port in `state`, sorted.
    pub(super) fn deciding(self, state: State) -> Vec<RuleRef> {
        let mut deciding: SmallVec<[RuleRef; 4]> = match state {
            State::Open | State::Restricted => self.allow_public,
            State::Private => {
                let mut d = self.deny_public;
                for r in self.allow_any {
                    push_once(&mut d, r);
                }
                d
            }
            State::Closed => {
                if self.deny_public.is_empty() {
                    self.deny_any
                } else {
                    self.deny_public
                }
            }
        };
        deciding.sort();
        deciding.into_vec()
    }
}

/// Which of the plan's rules whose destination is conditional match the ip configuration.
pub(super) fn mask_of<'r>(
    plan: &NsgPlan,
    rule: impl Fn(usize) -> &'r CompiledRule,
    conf: &IpConf<'_>,
    public: &AddrSet,
) -> Mask {
    let mut mask = Mask::new(plan.conditional as usize);
    let words = mask.words();
    for &(i, bit) in plan.relevant.iter() {
        if bit != NONE && dest_matches(rule(i as usize), conf, public) {
            words[bit as usize / 64] |= 1 << (bit % 64);
        }
    }
    mask
}

/// A part of the sources a rule names (see [`Model::source_parts`]).
pub(super) enum Part<'s> {
    /// Every address of the family (`*`).
    All,
    Set(&'s IntervalSet),
    /// The public Internet as seen from the ip configuration's VNet.
    Public,
    /// The VNet's address space.
    Vnet,
    LoadBalancer,
}

/// The rules of one cached key that can matter, as bitsets over address atoms.
pub(super) struct Walk<'w> {
    /// (level, NSG or admin rule set, end of its rules in `cands`), in evaluation order.
    pub(super) levels: &'w [(Level, u32, usize)],
    /// (index in the NSG's inbound rules, rule).
    pub(super) cands: &'w [(u32, &'w CompiledRule)],
    pub(super) atoms: &'w Atoms<'w>,
    /// The sources of `cands[k]`: `atoms.words` words from `k * atoms.words`.
    pub(super) rule_bits: &'w [u64],
    pub(super) public_bits: &'w [u64],
}

/// Buffers reused between the ports of one key.
#[derive(Default)]
pub(super) struct Scratch {
    pub(super) bounds: Vec<u128>,
    pub(super) rule_bits: Vec<u64>,
    pub(super) active: Vec<u32>,
    pub(super) bits: Vec<u64>,
    pub(super) contributions: Vec<(RuleRef, Access)>,
    pub(super) contributed: Vec<u64>,
}

/// The elementary intervals of one family's address space that a walk's sets are unions of.
pub(super) struct Atoms<'s> {
    /// First address of each atom, ascending, from 0; each atom ends where the next begins.
    pub(super) starts: &'s [u128],
    pub(super) max: u128,
    pub(super) words: usize,
    /// Every atom.
    pub(super) full: SmallVec<[u64; 4]>,
}

impl<'s> Atoms<'s> {
    /// The atoms cut at `bounds` (sorted and deduplicated in place).
    pub(super) fn new(bounds: &'s mut Vec<u128>, max: u128) -> Self {
        bounds.sort_unstable();
        bounds.dedup();
        let starts = &bounds[..];
        let n = starts.len();
        let words = n.div_ceil(64);
        let mut full: SmallVec<[u64; 4]> = smallvec::smallvec![0; words];
        set_range(&mut full, 0, n - 1);
        Atoms {
            starts,
            max,
            words,
            full,
        }
    }

    /// Sets the bits of the atoms `set` covers (its bounds must be among the atoms' bounds).
    pub(super) fn set_bits(&self, set: &IntervalSet, out: &mut [u64]) {
        for &(lo, hi) in set.ranges() {
            let i = self.starts.partition_point(|&b| b < lo);
            let j = self.starts.partition_point(|&b| b <= hi) - 1;
            set_range(out, i, j);
        }
    }

    /// How many addresses the atoms whose bits are set hold (saturating, as
    /// [`IntervalSet::count`] of [`Atoms::to_set`]).
    pub(super) fn count(&self, bits: &[u64]) -> u128 {
        let n = self.starts.len();
        let mut count = 0u128;
        let mut i = next_bit(bits, 0, n, true);
        while i < n {
            let j = next_bit(bits, i, n, false);
            let hi = if j < n { self.starts[j] - 1 } else { self.max };
            count = count.saturating_add((hi - self.starts[i]).saturating_add(1));
            i = next_bit(bits, j, n, true);
        }
        count
    }

    /// The addresses of the atoms whose bits are set.
    pub(super) fn to_set(&self, bits: &[u64]) -> IntervalSet {
        let mut ranges: SmallVec<[(u128, u128); 1]> = SmallVec::new();
        let n = self.starts.len();
        // a word at a time: runs of set bits from one clear bit to the next
        let mut i = next_bit(bits, 0, n, true);
        while i < n {
            let j = next_bit(bits, i, n, false);
            let hi = if j < n { self.starts[j] - 1 } else { self.max };
            ranges.push((self.starts[i], hi));
            i = next_bit(bits, j, n, true);
        }
        IntervalSet::from_normalized(ranges)
    }
}

/// The first bit at or after `from` that is `set` (or clear), or `n` when none is before `n`.
pub(super) fn next_bit(bits: &[u64], from: usize, n: usize, set: bool) -> usize {
    let flip = if set { 0 } else { !0u64 };
    let mut w = from / 64;
    let Some(&first) = bits.get(w) else {
        return n;
    };
    let mut word = (first ^ flip) & (!0u64 << (from % 64));
    loop {
        if word != 0 {
            return (w * 64 + word.trailing_zeros() as usize).min(n);
        }
        w += 1;
        match bits.get(w) {
            Some(&b) => word = b ^ flip,
            None => return n,
        }
    }
}

/// Adds the bounds of `set`'s intervals (first address, and one past the last) to `bounds`.
pub(super) fn add_bounds(bounds: &mut Vec<u128>, set: &IntervalSet, max: u128) {
    for &(lo, hi) in set.ranges() {
        bounds.push(lo);
        if hi < max {
            bounds.push(hi + 1);
        }
    }
}

/// Sets bits `i..=j`.
pub(super) fn set_range(bits: &mut [u64], i: usize, j: usize) {
    for (k, word) in bits.iter_mut().enumerate().take(j / 64 + 1).skip(i / 64) {
        let lo = if k == i / 64 { i % 64 } else { 0 };
        let hi = if k == j / 64 { j % 64 } else { 63 };
        let m = if hi - lo == 63 {
            u64::MAX
        } else {
            ((1u64 << (hi - lo + 1)) - 1) << lo
        };
        *word |= m;
    }
}

pub(super) fn intersects(a: &[u64], b: &[u64]) -> bool {
    a.iter().zip(b).any(|(x, y)| x & y != 0)
}

/// The last address of a family.
pub(super) fn family_max(family: Family) -> u128 {
    match family {
        Family::V4 => u128::from(u32::MAX),
        Family::V6 => u128::MAX,
    }
}
