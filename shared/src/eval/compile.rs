//! NSG rules, validated and compiled into sets the engine can evaluate.
//!
//! Every malformed value is an [`InputError`] naming its JSON path; nothing is skipped silently.
use super::{Access, Direction, Protocol};
use crate::arm::view::{NetworkSecurityGroup, SecurityRule, SubResource};
use crate::arm::{default_security_rules, id_key};
use crate::inventory::InputError;
use crate::net::ports::PortSet;
use crate::net::{AddrSet, Cidr};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock};

/// One side (source or destination) of a rule: the union of everything it names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddrSpec {
    /// `*` (or `Any`): every address.
    pub any: bool,
    pub internet: bool,
    pub virtual_network: bool,
    pub azure_load_balancer: bool,
    /// Explicit addresses and CIDRs.
    pub set: AddrSet,
    /// Unexpanded service tags and application security groups: rare, so boxed (and absent
    /// when there are none).
    pub extra: Option<Box<AddrExtra>>,
}

/// The rarely used parts of an [`AddrSpec`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddrExtra {
    /// Service tags Portcullis does not expand (e.g. `Storage`, `AzureCloud`), as written, and
    /// prefixes as uncertain as they are ([`is_any_or_one`]).
    pub other_tags: Box<[String]>,
    /// Application security groups (interned indices, see [`AsgInterner`]).
    pub asgs: Box<[u32]>,
}

impl AddrSpec {
    /// Service tags Portcullis does not expand (e.g. `Storage`, `AzureCloud`), as written.
    pub fn other_tags(&self) -> &[String] {
        self.extra.as_deref().map_or(&[], |e| &e.other_tags)
    }

    /// Application security groups (interned indices, see [`AsgInterner`]).
    pub fn asgs(&self) -> &[u32] {
        self.extra.as_deref().map_or(&[], |e| &e.asgs)
    }
}

/// A compiled security rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledRule {
    pub name: Arc<str>,
    pub priority: u32,
    /// Index in the payload's `securityRules` (None for default rules).
    pub index: Option<u32>,
    pub access: Access,
    pub direction: Direction,
    pub protocol: Protocol,
    pub is_default: bool,
    pub src_ports: PortSet,
    pub dst_ports: PortSet,
    pub src: AddrSpec,
    pub dst: AddrSpec,
}

/// A compiled NSG: its custom inbound rules in evaluation order (by priority); the default rules,
/// compiled once and shared by every NSG, follow them (see [`CompiledNsg::inbound`]).
///
/// ARM keeps custom priorities within 100-4096, below every default rule. A payload whose
/// custom rules reach the defaults' priorities (65000 and up: hand-made, or an export that lists
/// the defaults among `securityRules`) gets copies of the defaults merged into `custom` in
/// priority order instead (`defaults_inline`), custom rules first among equal priorities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledNsg {
    pub id: Arc<str>,
    pub name: Arc<str>,
    pub custom: Vec<CompiledRule>,
    /// `custom` holds the default rules too, in priority order.
    pub defaults_inline: bool,
}

impl CompiledNsg {
    /// The default rules that follow `custom` (none when they are merged into it).
    fn tail(&self) -> &'static [CompiledRule] {
        if self.defaults_inline {
            &[]
        } else {
            default_inbound()
        }
    }

    /// Every inbound rule in evaluation order: custom rules by priority, then the defaults.
    pub fn inbound(&self) -> impl Iterator<Item = &CompiledRule> + Clone {
        self.custom.iter().chain(self.tail().iter())
    }

    /// The number of inbound rules, defaults included.
    pub fn inbound_len(&self) -> usize {
        self.custom.len() + self.tail().len()
    }

    /// Inbound rule `i` in evaluation order (defaults after the custom rules).
    pub fn rule(&self, i: usize) -> &CompiledRule {
        match self.custom.get(i) {
            Some(r) => r,
            None => &self.tail()[i - self.custom.len()],
        }
    }
}

/// Interns application-security-group ids (case-insensitive) to small integers.
#[derive(Debug, Default, Clone)]
pub struct AsgInterner {
    pub by_key: HashMap<String, u32>,
    pub ids: Vec<String>,
    /// Rule names, shared by the rules that use the same one (most fleets reuse a few names).
    names: HashSet<Arc<str>>,
}

impl AsgInterner {
    pub fn intern(&mut self, id: &str) -> u32 {
        let key = id_key(id);
        if let Some(&i) = self.by_key.get(&key) {
            return i;
        }
        let i = self.ids.len() as u32;
        self.ids.push(id.to_string());
        self.by_key.insert(key, i);
        i
    }

    /// A rule name, shared with the rules compiled before under the same name.
    fn name(&mut self, name: &str) -> Arc<str> {
        if let Some(n) = self.names.get(name) {
            return n.clone();
        }
        let n: Arc<str> = Arc::from(name);
        self.names.insert(n.clone());
        n
    }
}

fn blank(s: &Option<&str>) -> bool {
    s.as_deref()
        .map(crate::eval::trim)
        .is_none_or(str::is_empty)
}

/// Compiles one NSG. `path` is its JSON path, e.g. `networkSecurityGroups[3]`.
pub fn compile_nsg(
    nsg: &NetworkSecurityGroup,
    path: &str,
    asgs: &mut AsgInterner,
    warnings: &mut Vec<String>,
) -> Result<CompiledNsg, InputError> {
    compile_nsg_as(nsg, Arc::from(nsg.id), path, asgs, warnings)
}

/// [`compile_nsg`], its id (`nsg.id`) already copied.
pub(crate) fn compile_nsg_as(
    nsg: &NetworkSecurityGroup,
    id: Arc<str>,
    path: &str,
    asgs: &mut AsgInterner,
    warnings: &mut Vec<String>,
) -> Result<CompiledNsg, InputError> {
    let rules = &nsg.properties.security_rules;
    let mut inbound = Vec::with_capacity(rules.len());
    // rules sharing a (direction, priority) are reported; when priorities only grow (as ARM
    // lists them) none can, and no map is needed
    let mut seen_priority: Option<HashMap<(Direction, u32), Arc<str>>> = None;
    let mut last_priority: Option<u32> = None;
    let mut sorted = true;
    for (j, rule) in rules.iter().enumerate() {
        let rpath = || format!("{path}.properties.securityRules[{j}]");
        let mut c = compile_rule_with(rule, &rpath, asgs, warnings)?;
        c.index = Some(j as u32);
        if !(100..=4096).contains(&c.priority) {
            warnings.push(format!(
                "{}.properties.priority: {} is outside ARM's 100-4096 for custom rules; evaluated in priority order anyway",
                rpath(),
                c.priority
            ));
        }
        if seen_priority.is_none() && last_priority.is_some_and(|p| p >= c.priority) {
            // the rules so far have distinct, growing priorities: index them
            let mut seen = HashMap::with_capacity(rules.len());
            for r in &rules[..j] {
                let (name, priority, direction) = rule_key(r);
                seen.insert((direction, priority), name);
            }
            seen_priority = Some(seen);
        }
        if let Some(seen) = &mut seen_priority {
            if let Some(other) = seen.insert((c.direction, c.priority), c.name.clone()) {
                warnings.push(format!(
                    "{}: rules {other:?} and {:?} share priority {} ({:?}); ARM forbids this, evaluated in payload order",
                    rpath(),
                    c.name,
                    c.priority,
                    c.direction
                ));
            }
        }
        if c.direction == Direction::Inbound {
            sorted &= inbound
                .last()
                .is_none_or(|l: &CompiledRule| l.priority <= c.priority);
            inbound.push(c);
        }
        last_priority = Some(rule_key_priority(rule));
    }
    // stable sort keeps payload order among equal priorities
    if !sorted {
        inbound.sort_by_key(|r| r.priority);
    }
    let defaults_inline = inbound
        .last()
        .is_some_and(|r| r.priority >= default_inbound()[0].priority);
    if defaults_inline {
        // after the custom rules, so that a stable sort keeps them first among equals
        inbound.extend(default_inbound().iter().cloned());
        inbound.sort_by_key(|r| r.priority);
    }
    if inbound.len() < inbound.capacity() {
        inbound.shrink_to_fit();
    }
    let name = match &nsg.name {
        Some(n) => Arc::from(*n),
        None => Arc::from(nsg.id.rsplit('/').next().unwrap_or_default()),
    };
    Ok(CompiledNsg {
        id,
        name,
        custom: inbound,
        defaults_inline,
    })
}

/// (name, priority, direction) of a rule that compiled already.
fn rule_key(r: &SecurityRule) -> (Arc<str>, u32, Direction) {
    let direction = match r.properties.direction.map(str::trim) {
        Some(d) if d.eq_ignore_ascii_case("inbound") => Direction::Inbound,
        _ => Direction::Outbound,
    };
    (
        Arc::from(r.name.unwrap_or_default()),
        rule_key_priority(r),
        direction,
    )
}

/// The priority of a rule that compiled already.
fn rule_key_priority(r: &SecurityRule) -> u32 {
    r.properties.priority.unwrap_or_default() as u32
}

/// The inbound default rules (the tail of every NSG's inbound rules), compiled once.
pub fn default_inbound() -> &'static [CompiledRule] {
    &DEFAULT_INBOUND
}

static DEFAULT_INBOUND: LazyLock<Vec<CompiledRule>> = LazyLock::new(|| {
    let mut asgs = AsgInterner::default();
    default_security_rules("")
        .iter()
        .map(|d| {
            compile_rule(d, "defaultSecurityRules", &mut asgs, &mut Vec::new())
                .expect("default rules are well formed")
        })
        .filter(|c| c.direction == Direction::Inbound)
        .map(|c| CompiledRule {
            is_default: true,
            ..c
        })
        .collect()
});

/// Compiles one rule; `rpath` is its JSON path.
pub fn compile_rule(
    rule: &crate::arm::SecurityRule,
    rpath: &str,
    asgs: &mut AsgInterner,
    warnings: &mut Vec<String>,
) -> Result<CompiledRule, InputError> {
    compile_rule_with(&rule.view(), &|| rpath.to_string(), asgs, warnings)
}

/// As [`compile_rule`], with the path built only when an error or warning needs it.
fn compile_rule_with(
    rule: &SecurityRule,
    rpath: &dyn Fn() -> String,
    asgs: &mut AsgInterner,
    warnings: &mut Vec<String>,
) -> Result<CompiledRule, InputError> {
    let p = &rule.properties;
    let ppath = || format!("{}.properties", rpath());
    let name = rule.name.unwrap_or_default();
    if crate::eval::trim(name).is_empty() {
        return Err(InputError::new(
            format!("{}.name", rpath()),
            "missing rule name",
        ));
    }
    let priority = match p.priority {
        Some(v) if (0..=65535).contains(&v) => v as u32,
        Some(v) => {
            return Err(InputError::new(
                format!("{}.priority", ppath()),
                format!("{v} is not a priority (0-65535; ARM allows 100-4096 for custom rules)"),
            ))
        }
        None => {
            return Err(InputError::new(
                format!("{}.priority", ppath()),
                "missing priority",
            ))
        }
    };
    let access = access_field(p.access, &ppath, false)?;
    let direction = direction_field(p.direction, &ppath)?;
    let protocol = match p.protocol {
        Some(s) => Protocol::parse(s).ok_or_else(|| {
            InputError::value(
                format!("{}.protocol", ppath()),
                s,
                "is not a protocol (*, Tcp, Udp, Icmp, Esp, Ah)",
            )
        })?,
        None => {
            return Err(InputError::new(
                format!("{}.protocol", ppath()),
                "missing protocol",
            ))
        }
    };
    let src_ports = port_field(
        &p.source_port_range,
        &p.source_port_ranges,
        &ppath,
        "sourcePortRange",
        "sourcePortRanges",
        true,
    )?;
    let dst_ports = port_field(
        &p.destination_port_range,
        &p.destination_port_ranges,
        &ppath,
        "destinationPortRange",
        "destinationPortRanges",
        false,
    )?;
    let src = addr_field(
        &p.source_address_prefix,
        &p.source_address_prefixes,
        &p.source_application_security_groups,
        &ppath,
        [
            "sourceAddressPrefix",
            "sourceAddressPrefixes",
            "sourceApplicationSecurityGroups",
        ],
        asgs,
    )?;
    let dst = addr_field(
        &p.destination_address_prefix,
        &p.destination_address_prefixes,
        &p.destination_application_security_groups,
        &ppath,
        [
            "destinationAddressPrefix",
            "destinationAddressPrefixes",
            "destinationApplicationSecurityGroups",
        ],
        asgs,
    )?;
    if direction == Direction::Inbound {
        for t in src.other_tags() {
            warnings.push(match access {
                Access::Allow | Access::AlwaysAllow => format!("{}: source {}; treated as the whole Internet (may overstate exposure)", rpath(), uncertain(t)),
                Access::Deny => format!("{}: source {}; this Deny is treated as denying nothing (may overstate exposure)", rpath(), uncertain(t)),
            });
        }
        for t in dst.other_tags() {
            warnings.push(format!(
                "{}: destination {}; treated as {} the VM",
                rpath(),
                uncertain(t),
                match access {
                    Access::Allow | Access::AlwaysAllow => "matching",
                    Access::Deny => "not matching",
                }
            ));
        }
    }
    Ok(CompiledRule {
        name: asgs.name(name),
        priority,
        access,
        direction,
        protocol,
        src_ports,
        dst_ports,
        src,
        dst,
        is_default: false,
        index: None,
    })
}

/// A rule's `direction` (`path()` is its `properties` path).
fn direction_field(v: Option<&str>, path: &dyn Fn() -> String) -> Result<Direction, InputError> {
    match v.map(str::trim) {
        Some(d) if d.eq_ignore_ascii_case("inbound") => Ok(Direction::Inbound),
        Some(d) if d.eq_ignore_ascii_case("outbound") => Ok(Direction::Outbound),
        Some(d) => Err(InputError::value(
            format!("{}.direction", path()),
            d,
            "is not Inbound or Outbound",
        )),
        None => Err(InputError::new(
            format!("{}.direction", path()),
            "missing direction (Inbound or Outbound)",
        )),
    }
}

/// A rule's `access`; `AlwaysAllow` only where security admin rules allow it (`admin`).
fn access_field(
    v: Option<&str>,
    path: &dyn Fn() -> String,
    admin: bool,
) -> Result<Access, InputError> {
    let expected = if admin {
        "Allow, Deny or AlwaysAllow"
    } else {
        "Allow or Deny"
    };
    match v.map(str::trim) {
        Some(a) if a.eq_ignore_ascii_case("allow") => Ok(Access::Allow),
        Some(a) if a.eq_ignore_ascii_case("deny") => Ok(Access::Deny),
        Some(a) if admin && a.eq_ignore_ascii_case("alwaysallow") => Ok(Access::AlwaysAllow),
        Some(a) => Err(InputError::value(
            format!("{}.access", path()),
            a,
            &format!("is not {expected}"),
        )),
        None => Err(InputError::new(
            format!("{}.access", path()),
            format!("missing access ({expected})"),
        )),
    }
}

fn port_field(
    single: &Option<&str>,
    plural: &[&str],
    ppath: &dyn Fn() -> String,
    single_name: &str,
    plural_name: &str,
    default_any: bool,
) -> Result<PortSet, InputError> {
    let mut set = PortSet::default();
    let mut any_given = false;
    if !blank(single) || (plural.is_empty() && single.is_some()) {
        let s = single.as_deref().unwrap_or_default();
        set.add(s).ok_or_else(|| {
            InputError::value(
                format!("{}.{single_name}", ppath()),
                s,
                "is not a port or range",
            )
        })?;
        any_given = true;
    }
    for (k, s) in plural.iter().enumerate() {
        set.add(s).ok_or_else(|| {
            InputError::value(
                format!("{}.{plural_name}[{k}]", ppath()),
                s,
                "is not a port or range",
            )
        })?;
        any_given = true;
    }
    if !any_given {
        if default_any {
            return Ok(PortSet::all());
        }
        return Err(InputError::new(
            format!("{}.{single_name}", ppath()),
            format!("missing: neither {single_name} nor {plural_name} is set"),
        ));
    }
    Ok(set)
}

fn addr_field(
    single: &Option<&str>,
    plural: &[&str],
    asg_refs: &[SubResource],
    ppath: &dyn Fn() -> String,
    names: [&str; 3],
    asgs: &mut AsgInterner,
) -> Result<AddrSpec, InputError> {
    let mut spec = AddrSpec::default();
    let mut asg_ids = Vec::new();
    let mut tags = Vec::new();
    let mut any_given = false;
    if !blank(single) || (plural.is_empty() && asg_refs.is_empty() && single.is_some()) {
        let s = single.as_deref().unwrap_or_default();
        add_prefixes(&mut spec, &mut tags, s, || {
            format!("{}.{}", ppath(), names[0])
        })?;
        any_given = true;
    }
    for (k, s) in plural.iter().enumerate() {
        add_prefixes(&mut spec, &mut tags, s, || {
            format!("{}.{}[{k}]", ppath(), names[1])
        })?;
        any_given = true;
    }
    for (k, r) in asg_refs.iter().enumerate() {
        match r.id {
            Some(id) if !crate::eval::trim(id).is_empty() => {
                asg_ids.push(asgs.intern(id));
                any_given = true;
            }
            _ => {
                return Err(InputError::new(
                    format!("{}.{}[{k}].id", ppath(), names[2]),
                    "missing application security group id",
                ))
            }
        }
    }
    if !asg_ids.is_empty() || !tags.is_empty() {
        spec.extra = Some(Box::new(AddrExtra {
            other_tags: tags.into_boxed_slice(),
            asgs: asg_ids.into_boxed_slice(),
        }));
    }
    if !any_given {
        return Err(InputError::new(
            format!("{}.{}", ppath(), names[0]),
            format!("missing: none of {} is set", names.join(", ")),
        ));
    }
    Ok(spec)
}

/// `0.0.0.0` with no prefix length, a bare `/0`, or an abbreviated zero address over `/0`
/// (`0/0`, `0.0/0`, `0.0.0/0`): "any address" to the CIS benchmark and to common scanners
/// (which flag any source ending in `/0`), while Azure matches the one address 0.0.0.0 (and
/// refuses the others). Such a prefix is kept with the service tags Portcullis does not expand,
/// and read at its worst like them: an Allow names the whole Internet, a Deny denies nothing,
/// with a warning.
pub fn is_any_or_one(tok: &str) -> bool {
    tok == "0.0.0.0" || names_no_address(tok)
}

/// `/0`, `0/0`, `0.0/0`, `0.0.0/0`: a length of 0 over no address or an abbreviated one.
fn names_no_address(tok: &str) -> bool {
    matches!(tok, "/0" | "0/0" | "0.0/0" | "0.0.0/0")
}

/// What is uncertain about `t`, an entry of [`AddrExtra::other_tags`], for a warning.
fn uncertain(t: &str) -> String {
    if names_no_address(t) {
        format!("{t:?} names no address (Azure refuses it) and may mean any address, as the CIS benchmark reads it")
    } else if is_any_or_one(t) {
        format!("{t:?} may mean any address (as the CIS benchmark reads it) or the one address 0.0.0.0 (as Azure matches it)")
    } else {
        format!("service tag {t:?} is not expanded")
    }
}

/// Adds one address expression (comma-separated lists tolerated) to `spec`.
fn add_prefixes(
    spec: &mut AddrSpec,
    tags: &mut Vec<String>,
    s: &str,
    path: impl Fn() -> String,
) -> Result<(), InputError> {
    if crate::eval::trim(s).is_empty() {
        return Err(InputError::value(
            path(),
            s,
            "is not an address prefix, CIDR or service tag",
        ));
    }
    for tok in s.split(',').map(str::trim) {
        let is = |t: &str| tok.eq_ignore_ascii_case(t);
        if is("*") || is("any") {
            spec.any = true;
        } else if is("internet") {
            spec.internet = true;
        } else if is("virtualnetwork") {
            spec.virtual_network = true;
        } else if is("azureloadbalancer") {
            spec.azure_load_balancer = true;
        } else if is_any_or_one(tok) {
            // uncertain, like a service tag Portcullis does not expand: taken at its worst
            tags.push(tok.to_string());
        } else {
            let looks_numeric = tok.starts_with(|c: char| c.is_ascii_digit()) || tok.contains(':');
            if looks_numeric {
                let c = Cidr::parse(tok).ok_or_else(|| {
                    InputError::value(path(), tok, "is not a valid IP address or CIDR prefix")
                })?;
                let one = AddrSet::from_cidr(&c);
                spec.set = if spec.set.is_empty() {
                    one
                } else {
                    spec.set.union(&one)
                };
            } else if !tok.is_empty()
                && tok.starts_with(|c: char| c.is_ascii_alphabetic())
                && tok
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            {
                tags.push(tok.to_string());
            } else {
                return Err(InputError::value(
                    path(),
                    tok,
                    "is not an address prefix, CIDR or service tag",
                ));
            }
        }
    }
    Ok(())
}

/// Compiles one VNet's effective security admin rules (Azure Virtual Network Manager): the
/// inbound ones, in evaluation order (ascending priority, payload order among equals). `path` is
/// the item's JSON path, e.g. `networkManagerEffectiveSecurityAdminRules[0]`. Empty `sources`,
/// `destinations` or port lists mean "any", as AVNM reads them.
pub fn compile_admin_rules(
    item: &crate::arm::EffectiveSecurityAdminRules,
    path: &str,
    asgs: &mut AsgInterner,
    warnings: &mut Vec<String>,
) -> Result<Vec<(CompiledRule, Arc<str>)>, InputError> {
    let mut out = Vec::new();
    for (j, rule) in item.value.iter().enumerate() {
        let rpath = || format!("{path}.value[{j}]");
        let ppath = || format!("{}.properties", rpath());
        let p = &rule.properties;
        let direction = direction_field(p.direction.as_deref(), &ppath)?;
        let access = access_field(p.access.as_deref(), &ppath, true)?;
        let priority = match p.priority {
            Some(v) if (1..=4096).contains(&v) => v as u32,
            Some(v) => {
                return Err(InputError::new(
                    format!("{}.priority", ppath()),
                    format!("{v} is not a security admin rule priority (1-4096)"),
                ))
            }
            None => {
                return Err(InputError::new(
                    format!("{}.priority", ppath()),
                    "missing priority",
                ))
            }
        };
        let protocol = match p.protocol.as_deref() {
            Some(s) => Protocol::parse(s).ok_or_else(|| {
                InputError::value(
                    format!("{}.protocol", ppath()),
                    s,
                    "is not a protocol (Tcp, Udp, Icmp, Esp, Ah, Any)",
                )
            })?,
            None => Protocol::Any,
        };
        let ports = |list: &[String], name: &str| -> Result<PortSet, InputError> {
            if list.is_empty() {
                return Ok(PortSet::all());
            }
            let mut set = PortSet::default();
            for (k, s) in list.iter().enumerate() {
                set.add(s).ok_or_else(|| {
                    InputError::value(
                        format!("{}.{name}[{k}]", ppath()),
                        s,
                        "is not a port or range",
                    )
                })?;
            }
            Ok(set)
        };
        let src_ports = ports(&p.source_port_ranges, "sourcePortRanges")?;
        let dst_ports = ports(&p.destination_port_ranges, "destinationPortRanges")?;
        let addrs = |list: &[crate::arm::AdminRuleAddress], name: &str| {
            let mut spec = AddrSpec::default();
            let mut tags = Vec::new();
            if list.is_empty() {
                spec.any = true;
            }
            for (k, a) in list.iter().enumerate() {
                let s = a.address_prefix.as_deref().unwrap_or_default();
                add_prefixes(&mut spec, &mut tags, s, || {
                    format!("{}.{name}[{k}].addressPrefix", ppath())
                })?;
            }
            if !tags.is_empty() {
                spec.extra = Some(Box::new(AddrExtra {
                    other_tags: tags.into_boxed_slice(),
                    asgs: Box::new([]),
                }));
            }
            Ok::<_, InputError>(spec)
        };
        let src = addrs(&p.sources, "sources")?;
        let dst = addrs(&p.destinations, "destinations")?;
        if direction != Direction::Inbound {
            continue;
        }
        for t in src.other_tags() {
            warnings.push(format!(
                "{}: source {}; treated as {} (may overstate exposure)",
                rpath(),
                uncertain(t),
                if access == Access::Deny {
                    "denying nothing"
                } else {
                    "the whole Internet"
                }
            ));
        }
        let id = rule.id.as_deref().unwrap_or_default();
        let name = id
            .rsplit('/')
            .next()
            .filter(|n| !n.is_empty())
            .unwrap_or("admin rule");
        // the rule's home: its rule collection (the id without `/rules/{name}`)
        let home = match id.rfind("/rules/") {
            Some(k) => &id[..k],
            None => id,
        };
        out.push((
            CompiledRule {
                name: asgs.name(name),
                priority,
                index: Some(j as u32),
                access,
                direction,
                protocol,
                is_default: false,
                src_ports,
                dst_ports,
                src,
                dst,
            },
            Arc::from(home),
        ));
    }
    out.sort_by_key(|(r, _)| r.priority);
    Ok(out)
}
