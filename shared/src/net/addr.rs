//! Exact sets of IPv4 and IPv6 addresses, CIDR parsing and formatting, and the public Internet.
use super::intervals::IntervalSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const V4_MAX: u128 = u32::MAX as u128;

/// Address family of an ip configuration or prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    V4,
    V6,
}

/// A set of IPv4 and IPv6 addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AddrSet {
    pub v4: IntervalSet,
    pub v6: IntervalSet,
}

/// A parsed address or CIDR prefix (host bits cleared).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub family: Family,
    pub network: u128,
    pub len: u8,
}

impl Cidr {
    pub fn first(&self) -> u128 {
        self.network
    }

    pub fn last(&self) -> u128 {
        let width = family_width(self.family);
        let host_bits = width - u32::from(self.len);
        if host_bits == 0 {
            self.network
        } else if host_bits == 128 {
            u128::MAX
        } else {
            self.network | ((1u128 << host_bits) - 1)
        }
    }

    /// Parses `10.0.0.0/8`, `10.1.2.3`, `2001:db8::/32`, `::1`. Host bits are cleared
    /// (Azure accepts `10.0.0.5/8` and means `10.0.0.0/8`).
    pub fn parse(s: &str) -> Option<Cidr> {
        let s = s.trim();
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => {
                if l.is_empty() || !l.bytes().all(|b| b.is_ascii_digit()) || l.len() > 3 {
                    return None;
                }
                (a, Some(l.parse::<u32>().ok()?))
            }
            None => (s, None),
        };
        let (family, value) = parse_addr(addr)?;
        let width = family_width(family);
        let len = len.unwrap_or(width);
        if len > width {
            return None;
        }
        let host_bits = width - len;
        let network = if host_bits == 0 {
            value
        } else if host_bits >= 128 {
            0
        } else {
            value & !((1u128 << host_bits) - 1)
        };
        Some(Cidr {
            family,
            network,
            len: len as u8,
        })
    }
}

fn family_width(f: Family) -> u32 {
    match f {
        Family::V4 => 32,
        Family::V6 => 128,
    }
}

/// Parses a single address (no prefix length; `10.0.0.4/24` style NIC values are accepted and
/// the prefix ignored, as ARM shows in some NIC payloads).
pub fn parse_ip(s: &str) -> Option<(Family, u128)> {
    let s = s.trim();
    let addr = s.split_once('/').map(|(a, _)| a).unwrap_or(s);
    parse_addr(addr)
}

/// An address as `IpAddr` parses it; dotted quads are read directly.
fn parse_addr(addr: &str) -> Option<(Family, u128)> {
    if let Some(v4) = parse_dotted_quad(addr) {
        return Some((Family::V4, u128::from(v4)));
    }
    match addr.parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => Some((Family::V4, u128::from(u32::from(v4)))),
        IpAddr::V6(v6) => Some((Family::V6, u128::from(v6))),
    }
}

/// A dotted quad in the form `Ipv4Addr` accepts (four decimal octets up to 255, no leading
/// zeros), or `None` for anything else (which then goes to the general parser).
fn parse_dotted_quad(s: &str) -> Option<u32> {
    let b = s.as_bytes();
    if !(7..=15).contains(&b.len()) {
        return None;
    }
    let mut ip = 0u32;
    let mut i = 0;
    for octet in 0..4 {
        if octet > 0 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut v = 0u32;
        while i < b.len() && i - start < 3 && b[i].is_ascii_digit() {
            v = v * 10 + u32::from(b[i] - b'0');
            i += 1;
        }
        let digits = i - start;
        if digits == 0 || v > 255 || (digits > 1 && b[start] == b'0') {
            return None;
        }
        ip = ip << 8 | v;
    }
    (i == b.len()).then_some(ip)
}

impl AddrSet {
    pub fn empty() -> Self {
        Self::default()
    }

    /// Every IPv4 and IPv6 address (`*`).
    pub fn all() -> Self {
        Self {
            v4: IntervalSet::range(0, V4_MAX),
            v6: IntervalSet::range(0, u128::MAX),
        }
    }

    /// Every address of one family.
    pub fn all_of(family: Family) -> Self {
        match family {
            Family::V4 => Self {
                v4: IntervalSet::range(0, V4_MAX),
                v6: IntervalSet::empty(),
            },
            Family::V6 => Self {
                v4: IntervalSet::empty(),
                v6: IntervalSet::range(0, u128::MAX),
            },
        }
    }

    pub fn from_cidr(c: &Cidr) -> Self {
        let r = IntervalSet::range(c.first(), c.last());
        match c.family {
            Family::V4 => Self {
                v4: r,
                v6: IntervalSet::empty(),
            },
            Family::V6 => Self {
                v4: IntervalSet::empty(),
                v6: r,
            },
        }
    }

    pub fn from_cidrs<'a>(cidrs: impl IntoIterator<Item = &'a Cidr>) -> Self {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for c in cidrs {
            match c.family {
                Family::V4 => v4.push((c.first(), c.last())),
                Family::V6 => v6.push((c.first(), c.last())),
            }
        }
        Self {
            v4: IntervalSet::from_ranges(v4),
            v6: IntervalSet::from_ranges(v6),
        }
    }

    /// Parses a list of prefixes; `None` if any fails.
    pub fn parse_list<'a>(items: impl IntoIterator<Item = &'a str>) -> Option<Self> {
        let cidrs: Option<Vec<Cidr>> = items.into_iter().map(Cidr::parse).collect();
        Some(Self::from_cidrs(cidrs?.iter()))
    }

    pub fn single(family: Family, ip: u128) -> Self {
        let r = IntervalSet::range(ip, ip);
        match family {
            Family::V4 => Self {
                v4: r,
                v6: IntervalSet::empty(),
            },
            Family::V6 => Self {
                v4: IntervalSet::empty(),
                v6: r,
            },
        }
    }

    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    pub fn contains(&self, family: Family, ip: u128) -> bool {
        match family {
            Family::V4 => self.v4.contains(ip),
            Family::V6 => self.v6.contains(ip),
        }
    }

    pub fn union(&self, o: &Self) -> Self {
        Self {
            v4: self.v4.union(&o.v4),
            v6: self.v6.union(&o.v6),
        }
    }

    pub fn intersection(&self, o: &Self) -> Self {
        Self {
            v4: self.v4.intersection(&o.v4),
            v6: self.v6.intersection(&o.v6),
        }
    }

    pub fn difference(&self, o: &Self) -> Self {
        Self {
            v4: self.v4.difference(&o.v4),
            v6: self.v6.difference(&o.v6),
        }
    }

    pub fn intersects(&self, o: &Self) -> bool {
        self.v4.intersects(&o.v4) || self.v6.intersects(&o.v6)
    }

    pub fn is_subset(&self, o: &Self) -> bool {
        self.v4.is_subset(&o.v4) && self.v6.is_subset(&o.v6)
    }

    /// Restricts the set to one family.
    pub fn only(&self, family: Family) -> Self {
        match family {
            Family::V4 => Self {
                v4: self.v4.clone(),
                v6: IntervalSet::empty(),
            },
            Family::V6 => Self {
                v4: IntervalSet::empty(),
                v6: self.v6.clone(),
            },
        }
    }

    /// The set as minimal CIDRs, IPv4 first, each family in ascending order.
    pub fn to_cidrs(&self) -> Vec<Cidr> {
        let mut out = Vec::new();
        for &(lo, hi) in self.v4.ranges() {
            range_to_cidrs(Family::V4, lo, hi, &mut out);
        }
        for &(lo, hi) in self.v6.ranges() {
            range_to_cidrs(Family::V6, lo, hi, &mut out);
        }
        out
    }

    pub fn to_cidr_strings(&self) -> Vec<String> {
        self.to_cidrs().iter().map(Cidr::text).collect()
    }
}

impl Cidr {
    /// As `to_string()`, IPv4 without going through the formatter.
    pub fn text(&self) -> String {
        match self.family {
            Family::V4 => {
                let mut s = String::with_capacity(18);
                push_v4(&mut s, self.network as u32);
                s.push('/');
                push_decimal(&mut s, u32::from(self.len));
                s
            }
            Family::V6 => self.to_string(),
        }
    }
}

/// Appends `a.b.c.d`.
pub fn push_v4(s: &mut String, ip: u32) {
    for (k, octet) in ip.to_be_bytes().into_iter().enumerate() {
        if k > 0 {
            s.push('.');
        }
        push_decimal(s, u32::from(octet));
    }
}

/// Appends `n` in decimal.
pub fn push_decimal(s: &mut String, n: u32) {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    s.push_str(std::str::from_utf8(&buf[i..]).expect("ASCII digits"));
}

/// The union of the CIDR blocks of `allowed`'s minimal decomposition (see
/// [`AddrSet::to_cidrs`]) that contain an address of `public`, for one family.
pub fn cidr_cover(family: Family, allowed: &IntervalSet, public: &IntervalSet) -> IntervalSet {
    if public.is_empty() {
        return IntervalSet::empty();
    }
    if public == allowed {
        return allowed.clone();
    }
    let width = family_width(family);
    let p = public.ranges();
    let mut j = 0;
    let mut out: Vec<(u128, u128)> = Vec::new();
    for &(lo, hi) in allowed.ranges() {
        let mut cur = lo;
        loop {
            // the largest aligned block at `cur` that fits in [cur, hi], as range_to_cidrs
            let align = if cur == 0 {
                width
            } else {
                cur.trailing_zeros().min(width)
            };
            let span = hi - cur;
            let fit = if span == u128::MAX {
                128
            } else {
                127 - (span + 1).leading_zeros()
            };
            let bits = align.min(fit).min(width);
            let last = if bits >= 128 {
                u128::MAX
            } else {
                cur + ((1u128 << bits) - 1)
            };
            while j < p.len() && p[j].1 < cur {
                j += 1;
            }
            if j < p.len() && p[j].0 <= last {
                match out.last_mut() {
                    Some(prev) if prev.1.checked_add(1) == Some(cur) => prev.1 = last,
                    _ => out.push((cur, last)),
                }
            }
            if last >= hi {
                break;
            }
            cur = last + 1;
        }
    }
    IntervalSet::from_ranges(out)
}

/// Greedy decomposition of `[lo, hi]` into the fewest aligned prefixes.
fn range_to_cidrs(family: Family, lo: u128, hi: u128, out: &mut Vec<Cidr>) {
    let width = family_width(family);
    let mut cur = lo;
    loop {
        // largest block aligned at `cur`
        let align = if cur == 0 {
            width
        } else {
            cur.trailing_zeros().min(width)
        };
        // largest block that fits in [cur, hi]
        let span = hi - cur; // size - 1
        let fit = if span == u128::MAX {
            128
        } else {
            127 - (span + 1).leading_zeros()
        };
        let bits = align.min(fit).min(width);
        out.push(Cidr {
            family,
            network: cur,
            len: (width - bits) as u8,
        });
        let last = if bits >= 128 {
            u128::MAX
        } else {
            cur + ((1u128 << bits) - 1)
        };
        if last >= hi {
            break;
        }
        cur = last + 1;
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.family {
            Family::V4 => write!(f, "{}/{}", Ipv4Addr::from(self.network as u32), self.len),
            Family::V6 => write!(f, "{}/{}", Ipv6Addr::from(self.network), self.len),
        }
    }
}

pub fn format_ip(family: Family, ip: u128) -> String {
    match family {
        Family::V4 => Ipv4Addr::from(ip as u32).to_string(),
        Family::V6 => Ipv6Addr::from(ip).to_string(),
    }
}

/// Addresses that are never "the public Internet": RFC 1918, CGNAT, loopback, link-local,
/// "this network", Azure's platform address 168.63.129.16, multicast and reserved; IPv6
/// unspecified, loopback, ULA, link-local and multicast.
pub fn non_public() -> AddrSet {
    const V4: &[&str] = &[
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "168.63.129.16/32",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/4",
        "240.0.0.0/4",
    ];
    const V6: &[&str] = &["::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8"];
    AddrSet::parse_list(V4.iter().chain(V6.iter()).copied()).expect("static prefixes parse")
}

/// The `AzureLoadBalancer` service tag as NSGs see it: the platform's virtual IP.
pub fn azure_load_balancer() -> AddrSet {
    AddrSet::parse_list(["168.63.129.16/32"]).expect("static prefix parses")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidrs(s: &AddrSet) -> Vec<String> {
        s.to_cidr_strings()
    }

    #[test]
    fn parses_addresses_and_prefixes() {
        let c = Cidr::parse("10.1.2.3/8").unwrap();
        assert_eq!(c.to_string(), "10.0.0.0/8");
        assert_eq!(Cidr::parse(" 1.2.3.4 ").unwrap().to_string(), "1.2.3.4/32");
        assert_eq!(
            Cidr::parse("2001:DB8::1/32").unwrap().to_string(),
            "2001:db8::/32"
        );
        assert_eq!(
            Cidr::parse("0.0.0.0/0").unwrap().last(),
            u128::from(u32::MAX)
        );
        assert_eq!(Cidr::parse("::/0").unwrap().last(), u128::MAX);
        for bad in [
            "10.0.0.0/33",
            "10.0.0/8",
            "300.1.1.1",
            "1.2.3.4/",
            "1.2.3.4/-1",
            "abc",
            "",
            "::/129",
            "1.2.3.4/8/8",
        ] {
            assert!(Cidr::parse(bad).is_none(), "{bad} should not parse");
        }
    }

    #[test]
    fn merges_back_to_minimal_cidrs() {
        let s = AddrSet::parse_list(["10.0.0.0/25", "10.0.0.128/25", "10.0.1.0/24"]).unwrap();
        assert_eq!(cidrs(&s), vec!["10.0.0.0/23"]);
        let s = AddrSet::parse_list(["10.0.0.1", "10.0.0.2"]).unwrap();
        assert_eq!(cidrs(&s), vec!["10.0.0.1/32", "10.0.0.2/32"]);
        let s = AddrSet::parse_list(["0.0.0.0/1", "128.0.0.0/1"]).unwrap();
        assert_eq!(cidrs(&s), vec!["0.0.0.0/0"]);
        assert_eq!(cidrs(&AddrSet::all()), vec!["0.0.0.0/0", "::/0"]);
        // a hole in the middle
        let s =
            AddrSet::all_of(Family::V4).difference(&AddrSet::parse_list(["10.0.0.0/8"]).unwrap());
        assert_eq!(
            cidrs(&s),
            vec![
                "0.0.0.0/5",
                "8.0.0.0/7",
                "11.0.0.0/8",
                "12.0.0.0/6",
                "16.0.0.0/4",
                "32.0.0.0/3",
                "64.0.0.0/2",
                "128.0.0.0/1"
            ]
        );
    }

    #[test]
    fn cidr_roundtrip_is_exact_for_odd_ranges() {
        let mut v4 = IntervalSet::range(3, 1000);
        v4 = v4.union(&IntervalSet::range(70_000, 70_001));
        let s = AddrSet {
            v4,
            v6: IntervalSet::range(5, 77),
        };
        let back = AddrSet::from_cidrs(s.to_cidrs().iter());
        assert_eq!(back, s);
    }

    #[test]
    fn dotted_quads_parse_as_std_does() {
        for s in [
            "1.2.3.4",
            "0.0.0.0",
            "255.255.255.255",
            "10.20.30.40",
            "01.2.3.4",
            "256.1.1.1",
            "1.2.3",
            "1.2.3.4.5",
            " 1.2.3.4",
            "1.2.3.04",
            "0.00.0.0",
            "1..2.3",
            "1.2.3.4 ",
            "1234.1.1.1",
            "1.2.3.-4",
            "::1",
            "",
        ] {
            let std = s.parse::<Ipv4Addr>().ok().map(u32::from);
            if let Some(v) = parse_dotted_quad(s) {
                assert_eq!(Some(v), std, "{s:?}");
            }
            assert_eq!(
                parse_addr(s),
                s.parse::<IpAddr>().ok().map(|ip| match ip {
                    IpAddr::V4(v4) => (Family::V4, u128::from(u32::from(v4))),
                    IpAddr::V6(v6) => (Family::V6, u128::from(v6)),
                }),
                "{s:?}"
            );
        }
    }

    #[test]
    fn cidr_text_is_display() {
        for c in [
            "0.0.0.0/0",
            "10.1.2.3/32",
            "203.0.113.0/24",
            "255.255.255.255/1",
            "::/0",
        ] {
            let c = Cidr::parse(c).unwrap();
            assert_eq!(c.text(), c.to_string());
        }
    }

    #[test]
    fn cidr_cover_keeps_the_blocks_that_meet_public() {
        // the naive definition, on pseudo-random sets
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        };
        for _ in 0..300 {
            let set = |next: &mut dyn FnMut(u64) -> u64| {
                let mut r = Vec::new();
                for _ in 0..next(6) {
                    let lo = u128::from(next(1 << 12)) << 20;
                    r.push((lo, lo + u128::from(next(1 << 24))));
                }
                IntervalSet::from_ranges(r)
            };
            let allowed = set(&mut next);
            let public = allowed.intersection(&set(&mut next));
            let a = AddrSet {
                v4: allowed.clone(),
                v6: IntervalSet::empty(),
            };
            let p = AddrSet {
                v4: public.clone(),
                v6: IntervalSet::empty(),
            };
            let naive: Vec<Cidr> = a
                .to_cidrs()
                .into_iter()
                .filter(|c| AddrSet::from_cidr(c).intersects(&p))
                .collect();
            assert_eq!(
                cidr_cover(Family::V4, &allowed, &public),
                AddrSet::from_cidrs(naive.iter()).v4
            );
        }
        let all = IntervalSet::range(0, u128::MAX);
        let one = IntervalSet::range(5, 5);
        assert_eq!(cidr_cover(Family::V6, &all, &one), all);
    }

    #[test]
    fn public_internet_excludes_private_ranges() {
        let np = non_public();
        for ip in [
            "10.1.2.3",
            "172.20.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "127.0.0.1",
            "169.254.1.1",
            "168.63.129.16",
            "224.0.0.1",
            "255.255.255.255",
            "fd00::1",
            "fe80::1",
            "::1",
        ] {
            let (f, v) = parse_ip(ip).unwrap();
            assert!(np.contains(f, v), "{ip} is not public");
        }
        for ip in [
            "8.8.8.8",
            "20.50.1.2",
            "172.32.0.1",
            "203.0.113.7",
            "2001:db8::1",
            "168.63.129.17",
        ] {
            let (f, v) = parse_ip(ip).unwrap();
            assert!(!np.contains(f, v), "{ip} is public");
        }
    }
}
