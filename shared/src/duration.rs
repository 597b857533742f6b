//! ISO 8601 durations as ARM writes them (JIT policies' `maxRequestAccessDuration`: `PT3H`,
//! `PT30M`, `P1D`, `PT1H30M`, `PT90S`, `P1W`): the one parser of the planner, the server, the
//! dashboard and the emulator.

/// The duration in seconds; `None` unless it is `P[nW][nD][T[nH][nM][nS]]` with at least one
/// part, units in that order.
pub fn iso8601_seconds(s: &str) -> Option<u64> {
    let s = s.trim().to_ascii_uppercase();
    let rest = s.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((_, "")) => return None,
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut secs: u64 = 0;
    let mut any = false;
    let mut take = |part: &str, units: &[(char, u64)]| -> Option<()> {
        let mut num = String::new();
        let mut next_unit = 0;
        for c in part.chars() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            let pos = units[next_unit..].iter().position(|(u, _)| *u == c)? + next_unit;
            if num.is_empty() {
                return None;
            }
            secs = secs.checked_add(num.parse::<u64>().ok()?.checked_mul(units[pos].1)?)?;
            num.clear();
            next_unit = pos + 1;
            any = true;
        }
        num.is_empty().then_some(())
    };
    take(date, &[('W', 7 * 86_400), ('D', 86_400)])?;
    if let Some(t) = time {
        take(t, &[('H', 3600), ('M', 60), ('S', 1)])?;
    }
    any.then_some(secs)
}

/// The duration in whole minutes (seconds below a minute are dropped).
pub fn iso8601_minutes(s: &str) -> Option<u32> {
    u32::try_from(iso8601_seconds(s)? / 60).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_seconds_and_minutes() {
        assert_eq!(iso8601_seconds("PT3H"), Some(3 * 3600));
        assert_eq!(iso8601_seconds("pt5m"), Some(300));
        assert_eq!(iso8601_seconds("P1D"), Some(86_400));
        assert_eq!(iso8601_seconds("P1W"), Some(7 * 86_400));
        assert_eq!(iso8601_seconds("PT1H30M"), Some(5400));
        assert_eq!(iso8601_seconds("P1DT1S"), Some(86_401));
        assert_eq!(iso8601_minutes("PT90M"), Some(90));
        assert_eq!(iso8601_minutes("PT90S"), Some(1));
        assert_eq!(iso8601_minutes(" PT3H "), Some(180));
        for bad in [
            "", "P", "PT", "3H", "PTH", "PT3", "PT3M2H", "PT-1H", "P1H", "PT1D",
        ] {
            assert_eq!(iso8601_seconds(bad), None, "{bad}");
        }
    }
}
