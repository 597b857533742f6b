//! Port ranges as NSG rules write them: `*`, `N`, `N-M` (0–65535).
use super::intervals::IntervalSet;

pub const PORT_MAX: u128 = 65_535;

/// All ports.
pub fn all_ports() -> IntervalSet {
    IntervalSet::range(0, PORT_MAX)
}

/// Parses one port expression: `*`, `N` or `N-M`. Comma-separated lists (`"22,3389"`, as some
/// tools and templates write them) are accepted and unioned. Returns `None` for anything else,
/// including out-of-range numbers and reversed ranges.
pub fn parse_port_range(s: &str) -> Option<IntervalSet> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut ranges = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        if part == "*" {
            ranges.push((0, PORT_MAX));
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
        ranges.push((lo, hi));
    }
    Some(IntervalSet::from_ranges(ranges))
}

fn parse_port(s: &str) -> Option<u128> {
    let s = s.trim();
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: u128 = s.parse().ok()?;
    (v <= PORT_MAX).then_some(v)
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
