//! Application gateways' TCP/TLS proxy (layer 4): a listener on a public frontend, a routing
//! rule to a backend pool, and backend settings with the port on the VM. The gateway ends the
//! client's connection and opens its own, so the VM's NSGs see the gateway's subnet (which the
//! default `AllowVnetInBound` admits), and the NSG of the gateway's subnet is what judges the
//! client: the path is judged as a DNAT path is, with the sources that NSG admits to the
//! listener's port ([`Gate`], filled in by the engine once the NSGs are compiled).
//!
//! The HTTP(S) side (`httpListeners`, `requestRoutingRules`) speaks HTTP to its backends, so it
//! carries no management protocol and is not read. A private frontend is no Internet path.
use super::*;

/// A gateway's children by key (ids as ARM writes them, or made from the name).
fn child_key<P>(gw: &str, collection: &str, c: &Child<P>) -> Option<String> {
    match (&c.id, &c.name) {
        (Some(id), _) => Some(id_key(id)),
        (None, Some(n)) => Some(id_key(&format!("{gw}/{collection}/{n}"))),
        _ => None,
    }
}

/// A gateway's children of one collection: key -> index.
fn keyed<P>(gw: &str, collection: &str, items: &[Child<P>]) -> FxMap<String, usize> {
    items
        .iter()
        .enumerate()
        .filter_map(|(i, c)| Some((child_key(gw, collection, c)?, i)))
        .collect()
}

fn sub_key(r: &Option<SubResource>) -> Option<String> {
    r.as_ref().and_then(|r| r.id.as_deref()).map(id_key)
}

/// `Tcp` or `Tls` (the layer 4 protocols); anything else is no management path.
fn layer4(protocol: Option<&str>) -> bool {
    protocol.is_some_and(|p| {
        let p = p.trim();
        p.eq_ignore_ascii_case("tcp") || p.eq_ignore_ascii_case("tls")
    })
}

/// One gateway being resolved.
struct Gw<'g> {
    gi: usize,
    gw: &'g ApplicationGateway,
    /// Frontend key -> its public address (`?` unknown); private frontends are left out.
    frontends: FxMap<String, Arc<str>>,
    /// Frontend port key -> (index, port value).
    ports: FxMap<String, (usize, Option<i64>)>,
    /// Backend settings key -> index.
    settings: FxMap<String, usize>,
    /// Listener key -> index.
    listeners: FxMap<String, usize>,
    /// Pool key -> its ip configurations.
    pools: FxMap<String, Vec<u32>>,
}

impl Ingress {
    /// Every public TCP/TLS listener's routing rule, on the ip configurations of its backend
    /// pool.
    pub(super) fn application_gateways(
        &mut self,
        j: &Joins<'_, '_>,
        warnings: &mut Vec<String>,
    ) -> Result<(), InputError> {
        let inv = j.inv;
        if inv.application_gateways.is_empty() {
            return Ok(());
        }
        let members = pool_members_from_nics(j);
        let mut conf_by_id: FxMap<Ci<'_>, u32> = fx_map(j.confs.len());
        let mut by_addr: FxMap<(u8, u128), SmallVec<[u32; 1]>> = fx_map(0);
        for (k, c) in j.confs.iter().enumerate() {
            conf_by_id.insert(Ci::new(&c.id), k as u32);
            if let Some(a) = &c.addrs {
                let fam = u8::from(c.family == Family::V6);
                by_addr
                    .entry((fam, a.ranges()[0].0))
                    .or_default()
                    .push(k as u32);
            }
        }
        for (gi, gw) in inv.application_gateways.iter().enumerate() {
            let name = gw.name.as_deref().unwrap_or(last_segment(&gw.id));
            // the gateway's subnet: its NSG judges the clients, its range is what the VMs see
            let subnet = gw
                .properties
                .gateway_ip_configurations
                .iter()
                .find_map(|c| c.properties.subnet.as_ref()?.id.as_deref());
            let known = subnet.and_then(|s| Some((s, *j.subnets.get(&Ci::new(s))?)));
            let (nsg, vnet, seen_from) = match known {
                Some((sid, (nsg, vnet))) => (nsg, vnet, subnet_prefixes(j, sid)),
                None => {
                    warnings.push(match subnet {
                        Some(s) => format!(
                            "application gateway {name}: its subnet {s} is not in the inventory; every source is taken to reach its TCP/TLS listeners"
                        ),
                        None => format!(
                            "application gateway {name}: no gateway IP configuration names its subnet; every source is taken to reach its TCP/TLS listeners"
                        ),
                    });
                    (NONE, NONE, None)
                }
            };
            let g = Gw::new(
                j,
                gi,
                gw,
                name,
                &members,
                &conf_by_id,
                &by_addr,
                vnet,
                &self.peers,
                warnings,
            );
            for rule in &gw.properties.routing_rules {
                let Some(route) = g.route(rule)? else {
                    continue;
                };
                let (ip, port, backend_port, targets) = route;
                let mut dest = seen_from.clone().unwrap_or_else(AddrSet::empty);
                let frontend = parse_ip(&ip);
                if let Some((f, a)) = frontend {
                    dest = dest.union(&AddrSet::single(f, a));
                }
                let dnat = self.dnats.len() as u32;
                self.dnats.push(Dnat {
                    sources: AddrSet::empty(),
                    seen_from: seen_from.clone(),
                    gate: Some(Gate {
                        nsg,
                        vnet,
                        dest,
                        port,
                        family: frontend.map(|(f, _)| f),
                    }),
                });
                let rname = rule.name.as_deref().unwrap_or("?");
                let via: Arc<str> = Arc::from(match &rule.id {
                    Some(id) => id.clone(),
                    None => format!("{}/routingRules/{rname}", gw.id),
                });
                let label: Arc<str> = Arc::from(format!("application gateway {name} rule {rname}"));
                for &k in targets {
                    self.push(
                        k,
                        Frontend {
                            kind: PathKind::ApplicationGateway,
                            via: via.clone(),
                            label: label.clone(),
                            ip: ip.clone(),
                            ports: (port, port),
                            backend_port: Some(backend_port),
                            protocol: Protocol::Tcp,
                            open_without_nsg: true,
                            floating: None,
                            dnat,
                        },
                    );
                }
            }
        }
        Ok(())
    }
}

/// Pool key -> the ip configurations that name it (`applicationGatewayBackendAddressPools`).
fn pool_members_from_nics(j: &Joins<'_, '_>) -> FxMap<String, Vec<u32>> {
    let mut members: FxMap<String, Vec<u32>> = fx_map(0);
    for (n, nic) in j.inv.network_interfaces.iter().enumerate() {
        let first = j.nic_confs[n];
        for (c, conf) in nic.properties.ip_configurations.iter().enumerate() {
            for r in conf
                .properties
                .application_gateway_backend_address_pools
                .iter()
                .filter_map(|r| r.id)
            {
                members.entry(id_key(r)).or_default().push(first + c as u32);
            }
        }
    }
    members
}

impl<'g> Gw<'g> {
    #[allow(clippy::too_many_arguments)]
    fn new(
        j: &Joins<'_, '_>,
        gi: usize,
        gw: &'g ApplicationGateway,
        name: &'g str,
        nic_members: &FxMap<String, Vec<u32>>,
        conf_by_id: &FxMap<Ci<'_>, u32>,
        by_addr: &FxMap<(u8, u128), SmallVec<[u32; 1]>>,
        vnet: u32,
        peers: &[SmallVec<[u32; 2]>],
        warnings: &mut Vec<String>,
    ) -> Self {
        let p = &gw.properties;
        let id = gw.id.as_str();
        let mut frontends = fx_map(p.frontend_ip_configurations.len());
        for f in &p.frontend_ip_configurations {
            let Some(key) = child_key(id, "frontendIPConfigurations", f) else {
                continue;
            };
            let Some(pid) = f
                .properties
                .public_ip_address
                .as_ref()
                .and_then(|r| r.id.as_deref())
            else {
                continue; // a private frontend: no path from the Internet
            };
            let ip = match j.pips.get(&Ci::new(pid)).map(|p| p.address.clone()) {
                Some(Some(a)) => a,
                Some(None) => Arc::from("?"),
                None => {
                    warnings.push(format!(
                        "application gateway {name}: public IP {pid} is not in the inventory; its address is unknown, its listeners are still evaluated"
                    ));
                    Arc::from("?")
                }
            };
            frontends.insert(key, ip);
        }
        let ports = p
            .frontend_ports
            .iter()
            .enumerate()
            .filter_map(|(i, f)| Some((child_key(id, "frontendPorts", f)?, (i, f.properties.port))))
            .collect();
        let settings = keyed(
            id,
            "backendSettingsCollection",
            &p.backend_settings_collection,
        );
        let listeners = keyed(id, "listeners", &p.listeners);
        // pools: from the NICs' side, the pool's back-reference, and its addresses in the
        // gateway's VNet or one peered with it
        let related = |cv: u32| {
            vnet == NONE
                || cv == NONE
                || cv == vnet
                || peers.get(vnet as usize).is_some_and(|p| p.contains(&cv))
        };
        let mut pools: FxMap<String, Vec<u32>> = fx_map(p.backend_address_pools.len());
        for pool in &p.backend_address_pools {
            let Some(key) = child_key(id, "backendAddressPools", pool) else {
                continue;
            };
            let mut list: Vec<u32> = nic_members.get(&key).cloned().unwrap_or_default();
            for r in pool
                .properties
                .backend_ip_configurations
                .iter()
                .filter_map(|r| r.id.as_deref())
            {
                if let Some(&k) = conf_by_id.get(&Ci::new(r)) {
                    list.push(k);
                }
            }
            for a in &pool.properties.backend_addresses {
                match (a.ip_address.as_deref().map(str::trim), &a.fqdn) {
                    (Some(ip), _) if !ip.is_empty() => {
                        let Some((f, addr)) = parse_ip(ip) else {
                            warnings.push(format!(
                                "application gateway {name}: backend address {ip:?} is not an IP address; not evaluated"
                            ));
                            continue;
                        };
                        let fam = u8::from(f == Family::V6);
                        for &k in by_addr.get(&(fam, addr)).into_iter().flatten() {
                            if related(j.confs[k as usize].vnet) {
                                list.push(k);
                            }
                        }
                    }
                    (_, Some(fqdn)) => warnings.push(format!(
                        "application gateway {name}: backend FQDN {fqdn:?} cannot be resolved here; not evaluated"
                    )),
                    _ => {}
                }
            }
            list.sort_unstable();
            list.dedup();
            pools.insert(key, list);
        }
        Gw {
            gi,
            gw,
            frontends,
            ports,
            settings,
            listeners,
            pools,
        }
    }

    fn path(&self, rest: &str) -> String {
        format!("applicationGateways[{}].properties.{rest}", self.gi)
    }

    /// A routing rule's public frontend address, listener port, port on the VM and the ip
    /// configurations it reaches; `None` when it is no layer 4 path from the Internet.
    #[allow(clippy::type_complexity)]
    fn route(
        &self,
        rule: &Child<AgRoutingRuleProperties>,
    ) -> Result<Option<(Arc<str>, u16, u16, &[u32])>, InputError> {
        let p = &self.gw.properties;
        let r = &rule.properties;
        let Some(li) = sub_key(&r.listener).and_then(|k| self.listeners.get(&k).copied()) else {
            return Ok(None); // an HTTP rule's listener, or one the payload lacks
        };
        let listener = &p.listeners[li].properties;
        if !layer4(listener.protocol.as_deref()) {
            return Ok(None);
        }
        let Some(ip) = sub_key(&listener.frontend_ip_configuration)
            .and_then(|k| self.frontends.get(&k).cloned())
        else {
            return Ok(None);
        };
        let Some(&(pi, port)) = sub_key(&listener.frontend_port).and_then(|k| self.ports.get(&k))
        else {
            return Ok(None);
        };
        let port = port_value(
            port,
            || self.path(&format!("frontendPorts[{pi}].properties.port")),
            1,
        )?;
        let Some(si) = sub_key(&r.backend_settings).and_then(|k| self.settings.get(&k).copied())
        else {
            return Ok(None);
        };
        let settings = &p.backend_settings_collection[si].properties;
        if !layer4(settings.protocol.as_deref()) {
            return Ok(None);
        }
        let backend_port = port_value(
            settings.port,
            || self.path(&format!("backendSettingsCollection[{si}].properties.port")),
            1,
        )?;
        let Some(targets) = sub_key(&r.backend_address_pool).and_then(|k| self.pools.get(&k))
        else {
            return Ok(None);
        };
        Ok(Some((ip, port, backend_port, targets.as_slice())))
    }
}
