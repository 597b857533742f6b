//! Port ranges as NSG rules write them: `*`, `N`, `N-M` (0–65535).
use super::intervals::IntervalSet;
use smallvec::SmallVec;

pub const PORT_MAX: u128 = 65_535;

/// All ports.
pub fn all_ports() -> IntervalSet {
    IntervalSet::range(0, PORT_MAX)
}

/// Parses one port expression: `*`, `N` or `N-M`. Comma-separated lists (`"22,3389"`, as some
/// tools and templates write them) are accepted and unioned. Returns `None` for anything else,
/// including out-of-range numbers and reversed ranges.
pub fn parse_port_range(s: &str) -> Option<IntervalSet> {
    let set = PortSet::parse(s)?;
    Some(IntervalSet::from_ranges(
        set.ranges()
            .iter()
            .map(|&(lo, hi)| (u128::from(lo), u128::from(hi)))
            .collect(),
    ))
}

fn parse_port(s: &str) -> Option<u16> {
    let s = crate::eval::trim(s);
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: u32 = s.parse().ok()?;
    u16::try_from(v).ok()
}

/// A set of ports (0–65535) as sorted, disjoint, non-adjacent closed intervals: what a rule's
/// port fields compile to. One or two ranges are stored inline.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PortSet {
    ranges: SmallVec<[(u16, u16); 2]>,
}

impl PortSet {
    /// Every port.
    pub fn all() -> Self {
        Self {
            ranges: smallvec::smallvec![(0, u16::MAX)],
        }
    }

    /// Parses one port expression as [`parse_port_range`] does.
    pub fn parse(s: &str) -> Option<Self> {
        let mut set = Self::default();
        set.add(s)?;
        Some(set)
    }

    /// Adds one port expression (see [`parse_port_range`]); `None` if it does not parse.
    pub fn add(&mut self, s: &str) -> Option<()> {
        let s = crate::eval::trim(s);
        if s.is_empty() {
            return None;
        }
        for part in s.split(',') {
            let part = crate::eval::trim(part);
            if part == "*" {
                self.insert(0, u16::MAX);
                continue;
            }
            let (lo, hi) = match part.split_once('-') {
                Some((a, b)) => (parse_port(a)?, parse_port(b)?),
                None => {
                    let p = parse_port(part)?;
                    (p, p)
                }
            };
            if lo > hi {
                return None;
            }
            self.insert(lo, hi);
        }
        Some(())
    }

    /// Adds `[lo, hi]`, keeping the ranges sorted, disjoint and non-adjacent.
    fn insert(&mut self, lo: u16, hi: u16) {
        let (mut lo, mut hi) = (lo, hi);
        // the ranges that overlap or touch [lo, hi] are merged into it
        let first = self
            .ranges
            .partition_point(|&(_, h)| u32::from(h) + 1 < u32::from(lo));
        let mut last = first;
        while last < self.ranges.len() && u32::from(self.ranges[last].0) <= u32::from(hi) + 1 {
            lo = lo.min(self.ranges[last].0);
            hi = hi.max(self.ranges[last].1);
            last += 1;
        }
        self.ranges.drain(first..last);
        self.ranges.insert(first, (lo, hi));
    }

    pub fn ranges(&self) -> &[(u16, u16)] {
        &self.ranges
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn contains(&self, port: u16) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= port && port <= hi)
    }

    /// True when every port of `[lo, hi]` is in the set.
    pub fn contains_range(&self, lo: u16, hi: u16) -> bool {
        self.ranges.iter().any(|&(l, h)| l <= lo && hi <= h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_port_expressions() {
        assert_eq!(parse_port_range("*").unwrap().ranges(), &[(0, 65535)]);
        assert_eq!(parse_port_range("22").unwrap().ranges(), &[(22, 22)]);
        assert_eq!(
            parse_port_range(" 3000 - 4000 ").unwrap().ranges(),
            &[(3000, 4000)]
        );
        assert_eq!(
            parse_port_range("22,3389").unwrap().ranges(),
            &[(22, 22), (3389, 3389)]
        );
        assert_eq!(parse_port_range("0-65535").unwrap().ranges(), &[(0, 65535)]);
        let list = PortSet::parse("3389, 20-30,22,25-40,41").unwrap();
        assert_eq!(list.ranges(), &[(20, 41), (3389, 3389)]);
        assert!(list.contains_range(22, 41) && !list.contains_range(19, 22));
        assert_eq!(PortSet::parse("*,22").unwrap(), PortSet::all());
        for bad in [
            "70000",
            "4000-3000",
            "",
            "-1",
            "a",
            "22-",
            "1-2-3",
            "65536",
            "22,,23",
            "+22",
        ] {
            assert!(parse_port_range(bad).is_none(), "{bad:?} must not parse");
        }
    }
}
