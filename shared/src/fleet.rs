//! The fleet generator: ARM-shaped inventories for tests, the benchmarks' synthetic fleets and
//! the demo tenant.
//!
//! Every resource gets a real ARM id (`/subscriptions/{sub}/resourceGroups/{rg}/providers/...`)
//! and the same JSON shape ARM returns, so what is built here parses exactly like ARM payloads.
use crate::arm::*;
use crate::inventory::Inventory;

/// A security rule in the shorthand tests use: `Rule::allow("RDP", 300).port("3389").from("*")`.
#[derive(Debug, Clone)]
pub struct Rule(pub SecurityRule);

impl Rule {
    fn new(name: &str, priority: i64, access: &str) -> Self {
        Rule(SecurityRule {
            name: Some(name.to_string()),
            properties: SecurityRuleProperties {
                protocol: Some("Tcp".into()),
                source_port_range: Some("*".into()),
                destination_port_range: Some("*".into()),
                source_address_prefix: Some("*".into()),
                destination_address_prefix: Some("*".into()),
                access: Some(access.into()),
                priority: Some(priority),
                direction: Some("Inbound".into()),
                ..Default::default()
            },
            ..Default::default()
        })
    }
    pub fn allow(name: &str, priority: i64) -> Self {
        Self::new(name, priority, "Allow")
    }
    pub fn deny(name: &str, priority: i64) -> Self {
        Self::new(name, priority, "Deny")
    }
    pub fn protocol(mut self, p: &str) -> Self {
        self.0.properties.protocol = Some(p.into());
        self
    }
    pub fn outbound(mut self) -> Self {
        self.0.properties.direction = Some("Outbound".into());
        self
    }
    /// Destination port (singular field).
    pub fn port(mut self, p: &str) -> Self {
        self.0.properties.destination_port_range = Some(p.into());
        self.0.properties.destination_port_ranges.clear();
        self
    }
    /// Destination ports (plural field).
    pub fn ports(mut self, ps: &[&str]) -> Self {
        self.0.properties.destination_port_range = None;
        self.0.properties.destination_port_ranges = ps.iter().map(|s| s.to_string()).collect();
        self
    }
    pub fn src_port(mut self, p: &str) -> Self {
        self.0.properties.source_port_range = Some(p.into());
        self.0.properties.source_port_ranges.clear();
        self
    }
    pub fn src_ports(mut self, ps: &[&str]) -> Self {
        self.0.properties.source_port_range = None;
        self.0.properties.source_port_ranges = ps.iter().map(|s| s.to_string()).collect();
        self
    }
    /// Source (singular field).
    pub fn from(mut self, s: &str) -> Self {
        self.0.properties.source_address_prefix = Some(s.into());
        self.0.properties.source_address_prefixes.clear();
        self
    }
    /// Sources (plural field).
    pub fn from_list(mut self, ss: &[&str]) -> Self {
        self.0.properties.source_address_prefix = None;
        self.0.properties.source_address_prefixes = ss.iter().map(|s| s.to_string()).collect();
        self
    }
    pub fn from_asg(mut self, asg_id: &str) -> Self {
        self.0.properties.source_address_prefix = None;
        self.0.properties.source_address_prefixes.clear();
        self.0.properties.source_application_security_groups = vec![SubResource::new(asg_id)];
        self
    }
    pub fn to(mut self, d: &str) -> Self {
        self.0.properties.destination_address_prefix = Some(d.into());
        self.0.properties.destination_address_prefixes.clear();
        self
    }
    pub fn to_list(mut self, ds: &[&str]) -> Self {
        self.0.properties.destination_address_prefix = None;
        self.0.properties.destination_address_prefixes = ds.iter().map(|s| s.to_string()).collect();
        self
    }
    pub fn to_asg(mut self, asg_id: &str) -> Self {
        self.0.properties.destination_address_prefix = None;
        self.0.properties.destination_address_prefixes.clear();
        self.0.properties.destination_application_security_groups = vec![SubResource::new(asg_id)];
        self
    }
    pub fn description(mut self, d: &str) -> Self {
        self.0.properties.description = Some(d.into());
        self
    }
}

/// Options for one VM's single NIC.
#[derive(Debug, Clone, Default)]
pub struct VmSpec<'a> {
    pub name: &'a str,
    pub resource_group: &'a str,
    pub os: &'a str,
    pub subnet_id: &'a str,
    pub private_ip: &'a str,
    pub public_ip: Option<&'a str>,
    pub nic_nsg_id: Option<&'a str>,
    pub asg_ids: &'a [&'a str],
}

/// Accumulates resources of one subscription (call [`InventoryBuilder::subscription`] to switch).
#[derive(Debug, Clone)]
pub struct InventoryBuilder {
    pub inv: Inventory,
    sub: String,
    pub location: String,
}

impl InventoryBuilder {
    pub fn new(subscription: &str) -> Self {
        Self {
            inv: Inventory::default(),
            sub: subscription.to_string(),
            location: "westeurope".into(),
        }
    }

    /// Continues building on an existing inventory.
    pub fn from_inventory(subscription: &str, inv: Inventory) -> Self {
        Self {
            inv,
            ..Self::new(subscription)
        }
    }

    pub fn subscription(&mut self, sub: &str) -> &mut Self {
        self.sub = sub.to_string();
        self
    }

    pub fn id(&self, rg: &str, provider_type: &str, name: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{rg}/providers/{provider_type}/{name}",
            self.sub
        )
    }

    /// Adds an NSG with custom rules (ids and the six default rules filled in as ARM does).
    pub fn nsg(&mut self, rg: &str, name: &str, rules: Vec<Rule>) -> String {
        let id = self.id(rg, "Microsoft.Network/networkSecurityGroups", name);
        let security_rules = rules
            .into_iter()
            .map(|Rule(mut r)| {
                let rname = r.name.clone().unwrap_or_default();
                r.id = Some(format!("{id}/securityRules/{rname}"));
                r.kind = Some("Microsoft.Network/networkSecurityGroups/securityRules".into());
                r.properties.provisioning_state = Some("Succeeded".into());
                r
            })
            .collect();
        self.inv.network_security_groups.push(NetworkSecurityGroup {
            id: id.clone(),
            name: Some(name.into()),
            location: Some(self.location.clone()),
            etag: Some("W/\"00000000-0000-0000-0000-000000000001\"".into()),
            kind: Some("Microsoft.Network/networkSecurityGroups".into()),
            tags: Default::default(),
            properties: std::sync::Arc::new(NsgProperties {
                security_rules,
                default_security_rules: default_security_rules(&id),
                provisioning_state: Some("Succeeded".into()),
                ..Default::default()
            }),
            ..Default::default()
        });
        id
    }

    /// Adds a VNet with subnets `(name, prefix, nsg id)`; returns the subnet ids in order.
    pub fn vnet(
        &mut self,
        rg: &str,
        name: &str,
        space: &[&str],
        subnets: &[(&str, &str, Option<&str>)],
    ) -> Vec<String> {
        let id = self.id(rg, "Microsoft.Network/virtualNetworks", name);
        let subs: Vec<Subnet> = subnets
            .iter()
            .map(|(sname, prefix, nsg)| Subnet {
                id: Some(format!("{id}/subnets/{sname}")),
                name: Some(sname.to_string()),
                properties: SubnetProperties {
                    address_prefix: Some(prefix.to_string()),
                    network_security_group: nsg.map(SubResource::new),
                    ..Default::default()
                },
            })
            .collect();
        let ids = subs
            .iter()
            .map(|s| s.id.clone().unwrap_or_default())
            .collect();
        self.inv.virtual_networks.push(VirtualNetwork {
            id,
            name: Some(name.into()),
            location: Some(self.location.clone()),
            kind: Some("Microsoft.Network/virtualNetworks".into()),
            properties: VnetProperties {
                address_space: Some(AddressSpace {
                    address_prefixes: space.iter().map(|s| s.to_string()).collect(),
                }),
                subnets: subs,
                virtual_network_peerings: Vec::new(),
            },
            ..Default::default()
        });
        ids
    }

    pub fn asg(&mut self, rg: &str, name: &str) -> String {
        let id = self.id(rg, "Microsoft.Network/applicationSecurityGroups", name);
        self.inv
            .application_security_groups
            .push(ApplicationSecurityGroup {
                id: id.clone(),
                name: Some(name.into()),
                location: Some(self.location.clone()),
                kind: Some("Microsoft.Network/applicationSecurityGroups".into()),
            });
        id
    }

    pub fn public_ip(&mut self, rg: &str, name: &str, address: &str) -> String {
        let id = self.id(rg, "Microsoft.Network/publicIPAddresses", name);
        let v6 = address.contains(':');
        self.inv.public_ip_addresses.push(PublicIpAddress {
            id: id.clone(),
            name: Some(name.into()),
            location: Some(self.location.clone()),
            kind: Some("Microsoft.Network/publicIPAddresses".into()),
            sku: Some(Sku {
                name: Some("Standard".into()),
                tier: Some("Regional".into()),
            }),
            properties: std::sync::Arc::new(PublicIpProperties {
                ip_address: Some(address.into()),
                public_ip_address_version: Some(if v6 { "IPv6" } else { "IPv4" }.into()),
                public_ip_allocation_method: Some("Static".into()),
                ip_configuration: None,
            }),
            ..Default::default()
        });
        id
    }

    /// Adds a VM with one NIC and one ip configuration (and its public IP, if any).
    pub fn vm(&mut self, s: &VmSpec<'_>) -> String {
        let vm_id = self.id(
            s.resource_group,
            "Microsoft.Compute/virtualMachines",
            s.name,
        );
        let nic_name = format!("{}-nic", s.name);
        let nic_id = self.id(
            s.resource_group,
            "Microsoft.Network/networkInterfaces",
            &nic_name,
        );
        let pip_id = s
            .public_ip
            .map(|addr| self.public_ip(s.resource_group, &format!("{}-ip", s.name), addr));
        let ipc_id = format!("{nic_id}/ipConfigurations/ipconfig1");
        if let Some(p) = &pip_id {
            if let Some(last) = self.inv.public_ip_addresses.iter_mut().find(|x| &x.id == p) {
                last.props_mut().ip_configuration = Some(SubResource::new(ipc_id.clone()));
            }
        }
        self.nic(
            &nic_id,
            &nic_name,
            &vm_id,
            vec![self.ipconfig(
                &ipc_id,
                s.private_ip,
                s.subnet_id,
                pip_id.as_deref(),
                s.asg_ids,
            )],
            s.nic_nsg_id,
        );
        let os_disk = OsDisk {
            os_type: Some(s.os.to_string()),
            name: Some(format!("{}-osdisk", s.name)),
        };
        self.inv.virtual_machines.push(VirtualMachine {
            id: vm_id.clone(),
            name: Some(s.name.into()),
            location: Some(self.location.clone()),
            kind: Some("Microsoft.Compute/virtualMachines".into()),
            tags: Default::default(),
            properties: std::sync::Arc::new(VmProperties {
                hardware_profile: Some(HardwareProfile {
                    vm_size: Some("Standard_B2s".into()),
                }),
                storage_profile: Some(StorageProfile {
                    os_disk: Some(os_disk),
                    image_reference: None,
                }),
                network_profile: NetworkProfile {
                    network_interfaces: vec![SubResource::new(nic_id)],
                },
                provisioning_state: Some("Succeeded".into()),
                ..Default::default()
            }),
            ..Default::default()
        });
        vm_id
    }

    pub fn ipconfig(
        &self,
        id: &str,
        private_ip: &str,
        subnet_id: &str,
        public_ip_id: Option<&str>,
        asgs: &[&str],
    ) -> IpConfiguration {
        let v6 = private_ip.contains(':');
        IpConfiguration {
            id: Some(id.to_string()),
            name: id.rsplit('/').next().map(str::to_string),
            properties: IpConfigurationProperties {
                private_ip_address: Some(private_ip.into()),
                private_ip_address_version: Some(if v6 { "IPv6" } else { "IPv4" }.into()),
                private_ip_allocation_method: Some("Dynamic".into()),
                public_ip_address: public_ip_id.map(SubResource::new),
                subnet: Some(SubResource::new(subnet_id)),
                application_security_groups: asgs.iter().map(|a| SubResource::new(*a)).collect(),
                primary: Some(true),
                ..Default::default()
            },
        }
    }

    pub fn nic(
        &mut self,
        id: &str,
        name: &str,
        vm_id: &str,
        ipconfigs: Vec<IpConfiguration>,
        nsg_id: Option<&str>,
    ) {
        self.inv.network_interfaces.push(NetworkInterface {
            id: id.to_string(),
            name: Some(name.to_string()),
            location: Some(self.location.clone()),
            etag: None,
            kind: Some("Microsoft.Network/networkInterfaces".into()),
            properties: std::sync::Arc::new(NicProperties {
                network_security_group: nsg_id.map(SubResource::new),
                virtual_machine: Some(SubResource::new(vm_id)),
                ip_configurations: ipconfigs,
                primary: Some(true),
                provisioning_state: Some("Succeeded".into()),
            }),
            ..Default::default()
        });
    }

    /// Adds (or extends) the `default` JIT policy of a resource group with the VM's ports.
    pub fn jit(&mut self, rg: &str, vm_id: &str, ports: &[u16], state: &str) -> String {
        let id = format!(
            "/subscriptions/{}/resourceGroups/{rg}/providers/Microsoft.Security/locations/{}/jitNetworkAccessPolicies/default",
            self.sub, self.location
        );
        let vm = JitPolicyVm {
            id: vm_id.to_string(),
            ports: ports
                .iter()
                .map(|&p| JitPortRule {
                    number: i64::from(p),
                    protocol: Some("*".into()),
                    allowed_source_address_prefix: Some("*".into()),
                    allowed_source_address_prefixes: Vec::new(),
                    max_request_access_duration: Some("PT3H".into()),
                })
                .collect(),
            public_ip_address: None,
        };
        if let Some(p) = self
            .inv
            .jit_network_access_policies
            .iter_mut()
            .find(|p| p.id == id)
        {
            p.properties.virtual_machines.push(vm);
            p.properties.provisioning_state = Some(state.into());
        } else {
            self.inv
                .jit_network_access_policies
                .push(JitNetworkAccessPolicy {
                    id: id.clone(),
                    name: Some("default".into()),
                    kind_type: Some("Microsoft.Security/locations/jitNetworkAccessPolicies".into()),
                    kind: Some("Basic".into()),
                    location: Some(self.location.clone()),
                    properties: JitPolicyProperties {
                        virtual_machines: vec![vm],
                        requests: Vec::new(),
                        provisioning_state: Some(state.into()),
                    },
                });
        }
        id
    }

    pub fn build(self) -> Inventory {
        self.inv
    }
}

/// A tiny deterministic PRNG (xorshift64*), so generated fleets are the same on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A synthetic fleet in ARM shape for benchmarks: `vms` VMs in subnets of 50 (VNets of 64
/// subnets), about 10 VMs per NSG (a NIC NSG per group of 10 VMs for three groups in four,
/// a subnet NSG on every other subnet), 20 custom inbound rules per NSG (a realistic mix of
/// service, office, deny, range, list, source-port and destination-specific rules, some
/// leaving management ports open), public IPs on 30% of VMs.
pub fn synthetic_fleet(vms: usize, seed: u64) -> Inventory {
    let mut b = InventoryBuilder::new("00000000-0000-0000-0000-00000000b00b");
    synthetic_fleet_into(&mut b, vms, seed);
    b.build()
}

/// Adds the [`synthetic_fleet`] to `b`'s current subscription (the emulator's demo tenant grows
/// by one with `--demo-extra-vms`). VMs are named `vm-000000`, `vm-000001`, ... in resource
/// groups `rg-0`, `rg-1`, ... (one per VNet of 3,200 VMs).
pub fn synthetic_fleet_into(b: &mut InventoryBuilder, vms: usize, seed: u64) {
    let mut rng = Rng::new(seed);
    let per_subnet = 50;
    let subnets_per_vnet = 64;
    let mut subnet_ids: Vec<String> = Vec::new();
    let mut nic_nsg: Option<String> = None;
    for i in 0..vms {
        let s = i / per_subnet;
        let vnet = s / subnets_per_vnet;
        let rg = format!("rg-{}", vnet % 50);
        if i % per_subnet == 0 && s % subnets_per_vnet == 0 {
            let prefixes: Vec<(String, String, Option<String>)> = (0..subnets_per_vnet)
                .map(|k| {
                    let nsg = (k % 2 == 0).then(|| {
                        b.nsg(
                            &rg,
                            &format!("nsg-subnet-{vnet}-{k}"),
                            synthetic_rules(&mut rng, vnet, k),
                        )
                    });
                    (
                        format!("subnet-{k}"),
                        format!("10.{}.{k}.0/24", vnet % 256),
                        nsg,
                    )
                })
                .collect();
            let refs: Vec<(&str, &str, Option<&str>)> = prefixes
                .iter()
                .map(|(n, p, g)| (n.as_str(), p.as_str(), g.as_deref()))
                .collect();
            subnet_ids = b.vnet(
                &rg,
                &format!("vnet-{vnet}"),
                &[&format!("10.{}.0.0/16", vnet % 256)],
                &refs,
            );
        }
        if i % 10 == 0 {
            let group = i / 10;
            nic_nsg = (group % 4 != 3).then(|| {
                b.nsg(
                    &rg,
                    &format!("nsg-nic-{group}"),
                    synthetic_rules(&mut rng, vnet, group),
                )
            });
        }
        let public = rng
            .chance(30)
            .then(|| format!("20.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255));
        b.vm(&VmSpec {
            name: &format!("vm-{i:06}"),
            resource_group: &rg,
            os: if i % 3 == 0 { "Windows" } else { "Linux" },
            subnet_id: &subnet_ids[s % subnets_per_vnet],
            private_ip: &format!(
                "10.{}.{}.{}",
                vnet % 256,
                s % subnets_per_vnet,
                4 + i % per_subnet
            ),
            public_ip: public.as_deref(),
            nic_nsg_id: nic_nsg.as_deref(),
            asg_ids: &[],
        });
    }
}

/// A fleet of another shape than [`synthetic_fleet`], for benchmarks: **one NSG per VM** (a NIC
/// NSG of 8 rules, IPv4 and IPv6 sources mixed, no subnet NSGs, the default rules not listed,
/// as in a trimmed export) and **dual stack**: every NIC
/// has an IPv4 and an IPv6 ip configuration (ULA `fd00:…`), subnets and VNets carry both
/// prefixes, a third of the VMs have a public IPv4 and one in ten a public IPv6 address.
pub fn per_vm_nsg_fleet(vms: usize, seed: u64) -> Inventory {
    let mut rng = Rng::new(seed);
    let mut b = InventoryBuilder::new("00000000-0000-0000-0000-0000000000b6");
    let (per_subnet, subnets_per_vnet) = (100, 32);
    let mut subnet_ids: Vec<String> = Vec::new();
    for i in 0..vms {
        let s = i / per_subnet;
        let vnet = s / subnets_per_vnet;
        let rg = format!("rg-v6-{}", vnet % 40);
        if i % per_subnet == 0 && s % subnets_per_vnet == 0 {
            let subnets: Vec<(String, String)> = (0..subnets_per_vnet)
                .map(|k| (format!("subnet-{k}"), format!("10.{}.{k}.0/24", vnet % 256)))
                .collect();
            let refs: Vec<(&str, &str, Option<&str>)> = subnets
                .iter()
                .map(|(n, p)| (n.as_str(), p.as_str(), None))
                .collect();
            subnet_ids = b.vnet(
                &rg,
                &format!("vnet-{vnet}"),
                &[
                    &format!("10.{}.0.0/16", vnet % 256),
                    &format!("fd00:{vnet:x}::/48"),
                ],
                &refs,
            );
            let v = b
                .inv
                .virtual_networks
                .last_mut()
                .expect("the VNet just added");
            for (k, sub) in v.properties.subnets.iter_mut().enumerate() {
                sub.properties.address_prefixes = vec![
                    sub.properties.address_prefix.take().unwrap_or_default(),
                    format!("fd00:{vnet:x}:{k:x}::/64"),
                ];
            }
        }
        let k = s % subnets_per_vnet;
        let host = 4 + i % per_subnet;
        let v4 = format!("10.{}.{k}.{host}", vnet % 256);
        let v6 = format!("fd00:{vnet:x}:{k:x}::{host:x}");
        let mut rules = Vec::with_capacity(8);
        for j in 0..8i64 {
            let prio = 200 + j * 10;
            let name = format!("r{j:02}");
            rules.push(match rng.below(8) {
                0 => Rule::allow(&name, prio)
                    .port("22")
                    .from(&format!("2001:db8:{:x}::/48", rng.below(4096))),
                1 => Rule::allow(&name, prio)
                    .ports(&["3389", "5985-5986"])
                    .from_list(&["198.51.100.0/24", "2001:db8::/32"]),
                2 => Rule::deny(&name, prio).port("3389").from("Internet"),
                3 => Rule::allow(&name, prio).port("443").from("*"),
                4 => Rule::allow(&name, prio).port("22").from("*").to(&v6),
                5 => Rule::allow(&name, prio).port("3389").from("*").to(&v4),
                6 => Rule::deny(&name, prio).port("*").from("::/0"),
                _ => Rule::allow(&name, prio).port("5986").from("VirtualNetwork"),
            });
        }
        let name = format!("vm6-{i:06}");
        let nsg = b.nsg(&rg, &format!("{name}-nsg"), rules);
        if let Some(n) = b.inv.network_security_groups.last_mut() {
            n.props_mut().default_security_rules.clear();
        }
        let public = rng.chance(33).then(|| {
            format!(
                "20.{}.{}.{}",
                128 + ((i >> 16) & 127),
                (i >> 8) & 255,
                i & 255
            )
        });
        let vm_id = b.vm(&VmSpec {
            name: &name,
            resource_group: &rg,
            os: if i % 2 == 0 { "Windows" } else { "Linux" },
            subnet_id: &subnet_ids[k],
            private_ip: &v4,
            public_ip: public.as_deref(),
            nic_nsg_id: Some(&nsg),
            asg_ids: &[],
        });
        let pip6 = rng.chance(10).then(|| {
            b.public_ip(
                &rg,
                &format!("{name}-ip6"),
                &format!("2603:1000:{:x}::{:x}", i >> 16, i & 0xffff),
            )
        });
        let nic = b
            .inv
            .network_interfaces
            .last()
            .expect("the VM's NIC")
            .id
            .clone();
        let mut conf = b.ipconfig(
            &format!("{nic}/ipConfigurations/ipconfig-v6"),
            &v6,
            &subnet_ids[k],
            pip6.as_deref(),
            &[],
        );
        conf.properties.primary = Some(false);
        let n = b.inv.network_interfaces.last_mut().expect("the VM's NIC");
        n.props_mut().ip_configurations.push(conf);
        debug_assert!(
            n.properties
                .virtual_machine
                .as_ref()
                .and_then(|r| r.id.as_deref())
                == Some(vm_id.as_str())
        );
    }
    b.build()
}

/// A fleet as the Azure portal builds it, in **lean payloads**, for benchmarks: every VM has
/// its own NIC NSG (`<vm>-nsg`) holding the portal's one rule, SSH 22 (Linux, priority 300) or
/// RDP 3389 (Windows, priority 1000) from any source, and one VM in four an HTTPS rule beside
/// it; 250 VMs per VNet in one subnet without an NSG; three VMs in five with a Standard public
/// IP. Nothing the engine does not read is kept: no tags, etags, default rules or disks, about
/// 2 KB of JSON per VM, so the model's own memory weighs more against the file than in the
/// other shapes.
pub fn portal_fleet(vms: usize, seed: u64) -> Inventory {
    let mut rng = Rng::new(seed);
    let mut b = InventoryBuilder::new("5f2e1c3a-0000-4000-8000-00000000abcd");
    let per_vnet = 250;
    let mut subnet = String::new();
    for i in 0..vms {
        let v = i / per_vnet;
        let rg = format!("rg-app-{}", v % 97);
        let prefix = format!("10.{}.{}.0/24", (v >> 8) & 255, v & 255);
        if i % per_vnet == 0 {
            subnet = b
                .vnet(
                    &rg,
                    &format!("vnet-{v}"),
                    &[&prefix],
                    &[("default", &prefix, None)],
                )
                .swap_remove(0);
        }
        let name = format!("web{i:06}");
        let linux = rng.below(3) != 0;
        let mut rules = vec![if linux {
            Rule::allow("SSH", 300).port("22").from("*")
        } else {
            Rule::allow("RDP", 1000).port("3389").from("*")
        }];
        if rng.chance(25) {
            rules.push(Rule::allow("HTTPS", 320).port("443").from("*"));
        }
        let nsg = b.nsg(&rg, &format!("{name}-nsg"), rules);
        let public =
            (i % 5 < 3).then(|| format!("52.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255));
        let private = format!("10.{}.{}.{}", (v >> 8) & 255, v & 255, 4 + i % per_vnet);
        b.vm(&VmSpec {
            name: &name,
            resource_group: &rg,
            os: if linux { "Linux" } else { "Windows" },
            subnet_id: &subnet,
            private_ip: &private,
            public_ip: public.as_deref(),
            nic_nsg_id: Some(&nsg),
            asg_ids: &[],
        });
    }
    let mut inv = b.build();
    lean(&mut inv);
    inv
}

/// Drops from an inventory what the engine never reads and a lean export leaves out.
fn lean(inv: &mut Inventory) {
    for n in &mut inv.network_security_groups {
        n.etag = None;
        n.kind = None;
        let p = n.props_mut();
        p.default_security_rules.clear();
        p.provisioning_state = None;
        for r in &mut p.security_rules {
            r.id = None;
            r.kind = None;
            r.properties.provisioning_state = None;
        }
    }
    for vm in &mut inv.virtual_machines {
        vm.kind = None;
        let p = std::sync::Arc::make_mut(&mut vm.properties);
        p.hardware_profile = None;
        p.provisioning_state = None;
        if let Some(disk) = p.storage_profile.as_mut().and_then(|s| s.os_disk.as_mut()) {
            disk.name = None;
        }
    }
}

/// A fleet with **long resource names and tags** and **large JIT policies**, for benchmarks:
/// resource groups and VMs with names of about 60 characters (ids of about 250), eight tags of
/// 40-character values on every VM and NSG, a NIC NSG per group of 10 VMs and a subnet NSG on
/// every subnet (12 rules each), public IPs on a quarter of the VMs, and one JIT policy per
/// resource group covering all its VMs' four management ports, with a request history. (The
/// benchmark adds, in the JSON, what the ARM types do not keep: full VM payloads and subnets
/// listing their ip configurations.)
pub fn rich_fleet(vms: usize, seed: u64) -> Inventory {
    let mut rng = Rng::new(seed);
    let mut b = InventoryBuilder::new("5f1c0b2e-8d7a-4c3e-9b61-0a2d4e6f8b10");
    let (per_subnet, subnets_per_vnet) = (40, 50);
    let tags = |kind: &str, i: usize| -> std::collections::BTreeMap<String, String> {
        (0..8)
            .map(|t| {
                (
                    format!("{kind}-tag-{t}"),
                    format!("value-{t}-for-{kind}-{i:08}-lorem-ipsum-dolor-sit"),
                )
            })
            .collect()
    };
    let mut subnet_ids: Vec<String> = Vec::new();
    let mut nic_nsg: Option<String> = None;
    for i in 0..vms {
        let s = i / per_subnet;
        let vnet = s / subnets_per_vnet;
        let rg = format!(
            "rg-contoso-production-workloads-westeurope-landing-zone-{:03}",
            vnet % 25
        );
        if i % per_subnet == 0 && s % subnets_per_vnet == 0 {
            let subnets: Vec<(String, String, String)> = (0..subnets_per_vnet)
                .map(|k| {
                    let nsg = b.nsg(
                        &rg,
                        &format!("nsg-contoso-production-subnet-application-tier-{vnet:03}-{k:03}"),
                        rich_rules(&mut rng, 12),
                    );
                    let n = b.inv.network_security_groups.len();
                    b.inv.network_security_groups[n - 1].tags = tags("nsg", n);
                    (
                        format!("snet-contoso-production-application-tier-{k:03}"),
                        format!("10.{}.{k}.0/24", 64 + vnet % 128),
                        nsg,
                    )
                })
                .collect();
            let refs: Vec<(&str, &str, Option<&str>)> = subnets
                .iter()
                .map(|(n, p, g)| (n.as_str(), p.as_str(), Some(g.as_str())))
                .collect();
            subnet_ids = b.vnet(
                &rg,
                &format!("vnet-contoso-production-westeurope-spoke-{vnet:03}"),
                &[&format!("10.{}.0.0/16", 64 + vnet % 128)],
                &refs,
            );
        }
        if i % 10 == 0 {
            nic_nsg = Some(b.nsg(
                &rg,
                &format!(
                    "nsg-contoso-production-nic-application-servers-{:06}",
                    i / 10
                ),
                rich_rules(&mut rng, 12),
            ));
            let n = b.inv.network_security_groups.len();
            b.inv.network_security_groups[n - 1].tags = tags("nsg", n);
        }
        let k = s % subnets_per_vnet;
        let public = rng.chance(25).then(|| {
            format!(
                "51.{}.{}.{}",
                100 + ((i >> 16) & 63),
                (i >> 8) & 255,
                i & 255
            )
        });
        let vm_id = b.vm(&VmSpec {
            name: &format!("vm-contoso-prod-app-server-westeurope-zone1-instance-{i:07}"),
            resource_group: &rg,
            os: if i % 4 == 0 { "Linux" } else { "Windows" },
            subnet_id: &subnet_ids[k],
            private_ip: &format!("10.{}.{k}.{}", 64 + vnet % 128, 4 + i % per_subnet),
            public_ip: public.as_deref(),
            nic_nsg_id: nic_nsg.as_deref(),
            asg_ids: &[],
        });
        b.inv.virtual_machines.last_mut().expect("the VM").tags = tags("vm", i);
        b.jit(&rg, &vm_id, &[22, 3389, 5985, 5986], "Succeeded");
    }
    // a request history on every policy: the engine never reads it
    for p in &mut b.inv.jit_network_access_policies {
        let vms: Vec<String> = p
            .properties
            .virtual_machines
            .iter()
            .map(|v| v.id.clone())
            .collect();
        p.properties.requests = vms
            .iter()
            .take(500)
            .map(|id| JitRequest {
                virtual_machines: vec![JitRequestVm {
                    id: id.clone(),
                    ports: vec![JitRequestPort {
                        number: 3389,
                        end_time_utc: Some("2026-11-30T12:00:00.0000000Z".into()),
                        allowed_source_address_prefix: Some("203.0.113.7".into()),
                        status: Some("Initiated".into()),
                        status_reason: Some("UserRequested".into()),
                        ..Default::default()
                    }],
                }],
                start_time_utc: Some("2026-11-30T09:00:00.0000000Z".into()),
                requestor: Some("operator@contoso.example".into()),
                justification: Some("maintenance window".into()),
            })
            .collect();
    }
    b.build()
}

fn rich_rules(rng: &mut Rng, n: i64) -> Vec<Rule> {
    (0..n)
        .map(|j| {
            let prio = 1000 + j * 10;
            let name = format!("allow-or-deny-contoso-production-traffic-rule-{j:03}");
            let r = match rng.below(6) {
                0 => Rule::allow(&name, prio).port("443").from("Internet"),
                1 => Rule::allow(&name, prio).port("3389").from(&format!("198.51.{}.0/24", rng.below(256))),
                2 => Rule::deny(&name, prio).ports(&["22", "3389", "5985-5986"]).from("Internet"),
                3 => Rule::allow(&name, prio).port("22").from("*"),
                4 => Rule::allow(&name, prio).port("1433").from("VirtualNetwork"),
                _ => Rule::allow(&name, prio).port("5985").from_list(&["192.0.2.0/24", "203.0.113.0/24"]),
            };
            r.description("Managed by the platform team; see the landing zone's network policy for the reason")
        })
        .collect()
}

fn synthetic_rules(rng: &mut Rng, vnet: usize, k: usize) -> Vec<Rule> {
    let mut rules = Vec::with_capacity(20);
    for j in 0..20i64 {
        let prio = 100 + j * 10;
        let name = format!("rule-{j:02}");
        let r = match rng.below(10) {
            0 => Rule::allow(&name, prio).port("443").from("Internet"),
            1 => Rule::allow(&name, prio)
                .ports(&["80", "8080-8090"])
                .from("*"),
            2 => Rule::allow(&name, prio)
                .port("22")
                .from(&format!("203.0.{}.0/24", rng.below(256))),
            3 => Rule::deny(&name, prio).port("3389").from("Internet"),
            4 => Rule::allow(&name, prio).port("1433").from("VirtualNetwork"),
            5 => Rule::allow(&name, prio)
                .port("5985-5986")
                .from_list(&["198.51.100.0/24", "192.0.2.0/24"]),
            6 => Rule::allow(&name, prio).port("3389").from("*").to(&format!(
                "10.{}.{}.{}",
                vnet % 256,
                k % 64,
                4 + rng.below(50)
            )),
            7 => Rule::deny(&name, prio)
                .port("*")
                .from(&format!("{}.0.0.0/8", 30 + rng.below(60))),
            8 => Rule::allow(&name, prio)
                .port("10000-20000")
                .src_port("1024-65535")
                .protocol("Udp"),
            _ => {
                if rng.chance(30) {
                    Rule::allow(&name, prio).port("3389").from("*")
                } else {
                    Rule::allow(&name, prio).port("22").from("10.0.0.0/8")
                }
            }
        };
        rules.push(r);
    }
    rules
}

/// Puts every third VM of `inv` behind a public Standard load balancer (one per 50 VMs, its
/// frontend on a new public IP): the VM's ip configuration joins the LB's backend pool (a
/// load-balancing rule 443 -> 443 and one 2222 -> 22) and gets an inbound NAT rule
/// `50000 + k -> 3389`, both referenced from the NIC side as ARM lists them. For benchmarks.
pub fn add_load_balancers(inv: &mut Inventory) {
    let mut lb_index: Option<usize> = None;
    let mut members = 0usize;
    let nics = inv.network_interfaces.len();
    for n in 0..nics {
        if n % 3 != 0 {
            continue;
        }
        if lb_index.is_none() || members == 50 {
            let k = inv.load_balancers.len();
            let nic_id = &inv.network_interfaces[n].id;
            let prefix = nic_id
                .split("/providers/")
                .next()
                .unwrap_or_default()
                .to_string();
            let lb_id = format!("{prefix}/providers/Microsoft.Network/loadBalancers/lb-{k}");
            let pip_id =
                format!("{prefix}/providers/Microsoft.Network/publicIPAddresses/lb-{k}-ip");
            inv.public_ip_addresses.push(PublicIpAddress {
                id: pip_id.clone(),
                name: Some(format!("lb-{k}-ip")),
                sku: Some(Sku {
                    name: Some("Standard".into()),
                    tier: Some("Regional".into()),
                }),
                properties: std::sync::Arc::new(PublicIpProperties {
                    ip_address: Some(format!("52.{}.{}.1", (k >> 8) & 255, k & 255)),
                    ..Default::default()
                }),
                ..Default::default()
            });
            let fe = format!("{lb_id}/frontendIPConfigurations/fe");
            let pool = format!("{lb_id}/backendAddressPools/pool");
            let rule = |name: &str, front: i64, back: i64| LbRule {
                id: Some(format!("{lb_id}/loadBalancingRules/{name}")),
                name: Some(name.into()),
                properties: LbRuleProperties {
                    frontend_ip_configuration: Some(SubResource::new(fe.clone())),
                    backend_address_pool: Some(SubResource::new(pool.clone())),
                    protocol: Some("Tcp".into()),
                    frontend_port: Some(front),
                    backend_port: Some(back),
                    ..Default::default()
                },
            };
            inv.load_balancers.push(LoadBalancer {
                id: lb_id.clone(),
                name: Some(format!("lb-{k}")),
                kind: Some("Microsoft.Network/loadBalancers".into()),
                sku: Some(Sku {
                    name: Some("Standard".into()),
                    tier: Some("Regional".into()),
                }),
                properties: LoadBalancerProperties {
                    frontend_ip_configurations: vec![LbFrontend {
                        id: Some(fe.clone()),
                        name: Some("fe".into()),
                        properties: LbFrontendProperties {
                            public_ip_address: Some(SubResource::new(pip_id)),
                            ..Default::default()
                        },
                    }],
                    backend_address_pools: vec![LbBackendPool {
                        id: Some(pool.clone()),
                        name: Some("pool".into()),
                        properties: Default::default(),
                    }],
                    load_balancing_rules: vec![rule("https", 443, 443), rule("ssh-alt", 2222, 22)],
                    ..Default::default()
                },
                ..Default::default()
            });
            lb_index = Some(k);
            members = 0;
        }
        let lb = &mut inv.load_balancers[lb_index.expect("an LB")];
        let lb_id = lb.id.clone();
        let nat_id = format!("{lb_id}/inboundNatRules/rdp-{members}");
        lb.properties.inbound_nat_rules.push(LbNatRule {
            id: Some(nat_id.clone()),
            name: Some(format!("rdp-{members}")),
            properties: LbNatRuleProperties {
                frontend_ip_configuration: Some(SubResource::new(format!(
                    "{lb_id}/frontendIPConfigurations/fe"
                ))),
                protocol: Some("Tcp".into()),
                frontend_port: Some(50_000 + members as i64),
                backend_port: Some(3389),
                ..Default::default()
            },
        });
        if let Some(c) = inv.network_interfaces[n]
            .props_mut()
            .ip_configurations
            .first_mut()
        {
            c.properties.load_balancer_backend_address_pools = vec![SubResource::new(format!(
                "{lb_id}/backendAddressPools/pool"
            ))];
            c.properties.load_balancer_inbound_nat_rules = vec![SubResource::new(nat_id)];
        }
        members += 1;
    }
}
