//! The clients an application gateway's listener admits: the NSG of the gateway's subnet,
//! judged for the public Internet at the listener's port (not a management port, so not with
//! the rule walk's per-port plans). The gateway proxies, so the VM's own NSGs then judge only
//! the gateway's subnet (see `explain::frontend_path`).
use super::*;
use crate::eval::paths::Gate;

impl Model<'_> {
    /// Fills in the public sources of every path through an application gateway, once the NSGs
    /// are compiled.
    pub(super) fn open_gates(&mut self) {
        let sources: Vec<(usize, AddrSet)> = self
            .ingress
            .dnats
            .iter()
            .enumerate()
            .filter_map(|(i, d)| Some((i, self.gate_sources(d.gate.as_ref()?))))
            .collect();
        for (i, s) in sources {
            self.ingress.dnats[i].sources = s;
        }
    }

    /// The sources (the engine keeps the public ones) that the NSG of the gateway's subnet lets
    /// reach the listener, in the frontend's address family: its
    /// inbound rules in evaluation order (the defaults last), for TCP to the listener's port and
    /// a destination of the gateway (its subnet, or its public frontend). Uncertainty reads
    /// open: an Allow for some source ports only counts for all of them, a Deny for some source
    /// ports only does not count. No NSG (or one the inventory lacks): every source.
    fn gate_sources(&self, g: &Gate) -> AddrSet {
        let families = match g.family {
            Some(f) => vec![f],
            None => vec![Family::V4, Family::V6],
        };
        let Some(nsg) = (g.nsg != NONE).then(|| &self.nsgs[g.nsg as usize]) else {
            return families
                .into_iter()
                .fold(AddrSet::empty(), |acc, f| acc.union(&AddrSet::all_of(f)));
        };
        let public = self.public_set(g.vnet);
        let mut out = AddrSet::empty();
        for family in families {
            let dest = of(&g.dest, family);
            let conf = IpConf {
                id: Cow::Borrowed(""),
                family,
                addrs: (!dest.is_empty()).then(|| dest.clone()),
                private_ip: None,
                asgs: Vec::new(),
                subnet_nsg: g.nsg,
                vnet: g.vnet,
                has_public: false,
                public_ip: None,
                public_ip_id: None,
                pip_basic: false,
                subnet_guard: true,
                lb_facing: false,
            };
            let full = IntervalSet::range(0, family_max(family));
            let mut left = full.clone();
            let mut allowed = IntervalSet::empty();
            for r in nsg.inbound() {
                if !r.protocol.matches(Protocol::Tcp)
                    || !r.dst_ports.contains(g.port)
                    || !dest_matches(r, &conf, public)
                {
                    continue;
                }
                let every_port = r.src_ports.contains_range(0, u16::MAX);
                let allow = r.access.permits();
                if !allow && !every_port {
                    continue;
                }
                let mut src = IntervalSet::empty();
                self.source_parts(r, g.vnet, family, |part| {
                    let set = match part {
                        Part::All => &full,
                        Part::Set(s) => s,
                        Part::Public => of(public, family),
                        Part::Vnet => match g.vnet {
                            NONE => return,
                            v => of(&self.vnets[v as usize].space, family),
                        },
                        Part::LoadBalancer => of(&self.load_balancer, family),
                    };
                    src = src.union(set);
                });
                if allow {
                    allowed = allowed.union(&left.intersection(&src));
                }
                if every_port {
                    left = left.difference(&src);
                }
                if left.is_empty() {
                    break;
                }
            }
            out = out.union(&lift(family, allowed));
        }
        out
    }
}
