//! A NIC's effective network security groups (`POST .../networkInterfaces/{nic}/
//! effectiveNetworkSecurityGroups`): the NSG of its subnet and its own, each with every rule as
//! Azure's effective view writes it: `securityRules/NAME` and `defaultSecurityRules/NAME`,
//! protocol `All` for `*`, ports as ranges (`22-22`, `0-65535`), `*` as `0.0.0.0/0`, an address
//! as a /32, service tags kept with their expansion (`expandedSourceAddressPrefix`), and
//! application security groups as their members' addresses.
use super::http::Fail;
use super::world::World;
use portcullis_shared::arm::{default_security_rules, id_key, SecurityRule, VirtualNetwork};
use portcullis_shared::net::addr::{azure_load_balancer, non_public, AddrSet, Cidr, Family};
use serde_json::{json, Map, Value};

/// The answer for the NIC `nic_id`, or ARM's 404.
pub fn effective_nsgs(w: &World, nic_id: &str) -> Result<Value, Fail> {
    let key = id_key(nic_id);
    let inv = &w.inventory;
    let nic = inv
        .network_interfaces
        .iter()
        .find(|n| id_key(&n.id) == key)
        .ok_or_else(|| {
            let name = nic_id.rsplit('/').next().unwrap_or_default();
            let rg = portcullis_shared::arm::id_scope_ref(nic_id).1;
            Fail::resource_not_found("Microsoft.Network/networkInterfaces", name, rg)
        })?;
    let subnet_id = nic
        .properties
        .ip_configurations
        .iter()
        .find_map(|c| c.properties.subnet.as_ref().and_then(|s| s.id.clone()));
    let (vnet, subnet_nsg) = match &subnet_id {
        Some(sid) => subnet_of(w, sid),
        None => (None, None),
    };
    let ctx = Context {
        w,
        vnet_space: vnet
            .map(|v| vnet_space(w, v))
            .unwrap_or_else(AddrSet::empty),
    };
    let mut value = Vec::new();
    if let (Some(nsg), Some(sid)) = (subnet_nsg, &subnet_id) {
        value.extend(ctx.entry(&nsg, json!({ "subnet": { "id": sid } })));
    }
    if let Some(nsg) = nic
        .properties
        .network_security_group
        .as_ref()
        .and_then(|n| n.id.clone())
    {
        value.extend(ctx.entry(&nsg, json!({ "networkInterface": { "id": nic.id } })));
    }
    Ok(json!({ "value": value }))
}

/// The VNet holding subnet `sid`, and the subnet's NSG id.
fn subnet_of<'w>(w: &'w World, sid: &str) -> (Option<&'w VirtualNetwork>, Option<String>) {
    let key = id_key(sid);
    for v in &w.inventory.virtual_networks {
        if let Some(s) = v
            .properties
            .subnets
            .iter()
            .find(|s| s.id.as_deref().map(id_key) == Some(key.clone()))
        {
            let nsg = s
                .properties
                .network_security_group
                .as_ref()
                .and_then(|n| n.id.clone());
            return (Some(v), nsg);
        }
    }
    (None, None)
}

/// What `VirtualNetwork` covers: the VNet's space, its peers' and the host's 168.63.129.16.
fn vnet_space(w: &World, v: &VirtualNetwork) -> AddrSet {
    let mut set = azure_load_balancer();
    let mut add = |prefixes: &[String]| {
        for p in prefixes {
            if let Some(c) = Cidr::parse(p) {
                set = set.union(&AddrSet::from_cidr(&c));
            }
        }
    };
    if let Some(s) = &v.properties.address_space {
        add(&s.address_prefixes);
    }
    for peer in &v.properties.virtual_network_peerings {
        let remote = peer
            .properties
            .remote_virtual_network
            .as_ref()
            .and_then(|r| r.id.as_deref())
            .map(id_key);
        let remote_space = remote.and_then(|k| {
            w.inventory
                .virtual_networks
                .iter()
                .find(|x| id_key(&x.id) == k)
                .and_then(|x| x.properties.address_space.clone())
        });
        if let Some(s) = remote_space.or_else(|| peer.properties.remote_address_space.clone()) {
            add(&s.address_prefixes);
        }
    }
    set
}

struct Context<'w> {
    w: &'w World,
    vnet_space: AddrSet,
}

impl Context<'_> {
    /// One NSG's entry; none when the NSG is not in the world.
    fn entry(&self, nsg_id: &str, association: Value) -> Option<Value> {
        let nsg = self.w.nsg(nsg_id)?;
        let mut custom: Vec<&SecurityRule> = nsg.properties.security_rules.iter().collect();
        custom.sort_by_key(|r| (direction_rank(r), r.properties.priority.unwrap_or_default()));
        let defaults = default_security_rules(&nsg.id);
        let rules: Vec<Value> = custom
            .into_iter()
            .map(|r| self.rule(r, "securityRules"))
            .chain(
                defaults
                    .iter()
                    .map(|r| self.rule(r, "defaultSecurityRules")),
            )
            .collect();
        Some(json!({
            "networkSecurityGroup": { "id": nsg.id },
            "association": association,
            "effectiveSecurityRules": rules,
        }))
    }

    fn rule(&self, r: &SecurityRule, kind: &str) -> Value {
        let p = &r.properties;
        let mut o = Map::new();
        o.insert(
            "name".into(),
            json!(format!("{kind}/{}", r.name.as_deref().unwrap_or_default())),
        );
        let protocol = match p.protocol.as_deref().map(str::trim) {
            None | Some("*") => "All".to_string(),
            Some(x) => x.to_string(),
        };
        o.insert("protocol".into(), json!(protocol));
        ports(
            &mut o,
            "sourcePortRange",
            &p.source_port_range,
            &p.source_port_ranges,
        );
        ports(
            &mut o,
            "destinationPortRange",
            &p.destination_port_range,
            &p.destination_port_ranges,
        );
        self.addresses(
            &mut o,
            "source",
            &p.source_address_prefix,
            &p.source_address_prefixes,
            &p.source_application_security_groups,
        );
        self.addresses(
            &mut o,
            "destination",
            &p.destination_address_prefix,
            &p.destination_address_prefixes,
            &p.destination_application_security_groups,
        );
        o.insert("access".into(), json!(p.access));
        o.insert("priority".into(), json!(p.priority));
        o.insert("direction".into(), json!(p.direction));
        Value::Object(o)
    }

    /// `sourceAddressPrefix` (or `...Prefixes`), and the expansion of a service tag.
    fn addresses(
        &self,
        o: &mut Map<String, Value>,
        side: &str,
        one: &Option<String>,
        many: &[String],
        asgs: &[portcullis_shared::arm::SubResource],
    ) {
        let mut prefixes: Vec<String> = one
            .iter()
            .chain(many)
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        for a in asgs {
            if let Some(id) = a.id.as_deref() {
                prefixes.extend(self.asg_members(id));
            }
        }
        let mut expanded: Vec<String> = Vec::new();
        let written: Vec<String> = prefixes
            .iter()
            .map(|p| match p.as_str() {
                "*" => "0.0.0.0/0".to_string(),
                tag if Cidr::parse(tag).is_none() => {
                    if let Some(set) = self.expand(tag) {
                        expanded.extend(set.to_cidr_strings());
                    }
                    tag.to_string()
                }
                addr if !addr.contains('/') => {
                    let bits = if addr.contains(':') { 128 } else { 32 };
                    format!("{addr}/{bits}")
                }
                cidr => cidr.to_string(),
            })
            .collect();
        let cap = |s: &str| format!("{side}{s}");
        match written.as_slice() {
            [one] => {
                o.insert(cap("AddressPrefix"), json!(one));
            }
            _ => {
                o.insert(cap("AddressPrefixes"), json!(written));
            }
        }
        if !expanded.is_empty() {
            let key = format!(
                "expanded{}{}AddressPrefix",
                &side[..1].to_uppercase(),
                &side[1..]
            );
            o.insert(key, json!(expanded));
        }
    }

    /// The addresses of the ip configurations in an application security group, as /32s.
    fn asg_members(&self, asg_id: &str) -> Vec<String> {
        let key = id_key(asg_id);
        self.w
            .inventory
            .network_interfaces
            .iter()
            .flat_map(|n| &n.properties.ip_configurations)
            .filter(|c| {
                c.properties
                    .application_security_groups
                    .iter()
                    .any(|a| a.id.as_deref().map(id_key) == Some(key.clone()))
            })
            .filter_map(|c| c.properties.private_ip_address.as_deref())
            .map(|a| format!("{a}/32"))
            .collect()
    }

    /// The service tags the emulator knows: `Internet`, `VirtualNetwork`, `AzureLoadBalancer`.
    fn expand(&self, tag: &str) -> Option<AddrSet> {
        match tag.to_ascii_lowercase().as_str() {
            // IPv4, as Azure's effective view writes it
            "internet" => Some(
                AddrSet::all_of(Family::V4)
                    .difference(&non_public())
                    .difference(&self.vnet_space),
            ),
            "virtualnetwork" => Some(self.vnet_space.clone()),
            "azureloadbalancer" => Some(azure_load_balancer()),
            _ => None,
        }
    }
}

/// Inbound rules first, as the effective view lists them.
fn direction_rank(r: &SecurityRule) -> u8 {
    match r.properties.direction.as_deref() {
        Some(d) if d.eq_ignore_ascii_case("inbound") => 0,
        _ => 1,
    }
}

/// `sourcePortRange: "22-22"`, or `sourcePortRanges` when the rule lists several.
fn ports(o: &mut Map<String, Value>, field: &str, one: &Option<String>, many: &[String]) {
    let all: Vec<String> = one
        .iter()
        .chain(many)
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(|p| match p {
            "*" => "0-65535".to_string(),
            p if p.contains('-') => p.to_string(),
            p => format!("{p}-{p}"),
        })
        .collect();
    match all.as_slice() {
        [one] => {
            o.insert(field.into(), json!(one));
        }
        [] => {
            o.insert(field.into(), json!("0-65535"));
        }
        _ => {
            o.insert(format!("{field}s"), json!(all));
        }
    }
}
