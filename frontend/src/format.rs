//! Pure formatting: scores, statuses, durations, dates. No DOM, so `tests/web.rs` checks it
//! directly.
use portcullis_shared::eval::report::{ControlScore, RecommendationKey, State};
use portcullis_shared::eval::Status;

/// `5.33 of 8 points`.
pub fn gauge_text(score: &ControlScore) -> String {
    format!(
        "{} of {} points",
        score_number(score.current_score),
        score.max_score
    )
}

/// A score with at most two decimals and no trailing zeros: `5.33`, `8`, `2.5`.
pub fn score_number(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() || text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// A count with thousands separators: `10,058`.
pub fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `66.63 %` rounded to whole percent: `67%`.
pub fn percent(value: f64) -> String {
    format!("{}%", value.round() as i64)
}

/// A signed change of score: `+1.33`, `−0.5`, `±0`.
pub fn score_delta(before: f64, after: f64) -> String {
    let delta = ((after - before) * 100.0).round() / 100.0;
    if delta > 0.0 {
        format!("+{}", score_number(delta))
    } else if delta < 0.0 {
        format!("−{}", score_number(-delta))
    } else {
        "±0".to_owned()
    }
}

/// Text and icon of a status: never colour alone.
pub fn status_label(status: Status) -> (&'static str, &'static str) {
    match status {
        Status::Healthy => ("Healthy", "✓"),
        Status::Unhealthy => ("Unhealthy", "✕"),
        Status::NotApplicable => ("Not applicable", "–"),
    }
}

pub fn status_class(status: Status) -> &'static str {
    match status {
        Status::Healthy => "healthy",
        Status::Unhealthy => "unhealthy",
        Status::NotApplicable => "not-applicable",
    }
}

pub fn state_label(state: State) -> (&'static str, &'static str) {
    match state {
        State::Open => ("Open", "⚠"),
        State::Restricted => ("Restricted", "◐"),
        State::Private => ("Private", "⊙"),
        State::Closed => ("Closed", "✓"),
    }
}

pub fn port_name(port: u16) -> &'static str {
    match port {
        22 => "SSH",
        3389 => "RDP",
        5985 => "WinRM",
        5986 => "WinRM/TLS",
        _ => "",
    }
}

/// A short name for a recommendation card.
pub fn recommendation_short(key: RecommendationKey) -> &'static str {
    match key {
        RecommendationKey::InternetFacingVmsProtectedByNsg => {
            "Internet-facing VMs protected by NSGs"
        }
        RecommendationKey::ManagementPortsClosed => "Management ports closed",
        RecommendationKey::ManagementPortsJitProtected => "Management ports protected by JIT",
    }
}

/// The last segment of an ARM id (`/subscriptions/…/networkSecurityGroups/web-nsg` → `web-nsg`).
pub fn arm_name(id: &str) -> &str {
    id.rsplit('/').find(|part| !part.is_empty()).unwrap_or(id)
}

/// A countdown: `2h 05m 09s`, `4m 03s`, `12s`, `expired` at or below zero.
pub fn countdown(seconds_left: i64) -> String {
    if seconds_left <= 0 {
        return "expired".to_owned();
    }
    let hours = seconds_left / 3600;
    let minutes = (seconds_left % 3600) / 60;
    let seconds = seconds_left % 60;
    if hours > 0 {
        format!("{hours}h {minutes:02}m {seconds:02}s")
    } else if minutes > 0 {
        format!("{minutes}m {seconds:02}s")
    } else {
        format!("{seconds}s")
    }
}

/// Minutes as a duration: `3 h`, `90 min` → `1 h 30 min`.
pub fn minutes(total: u32) -> String {
    match (total / 60, total % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// Seconds since the Unix epoch of an RFC 3339 timestamp (`2026-11-23T01:02:03.456Z`,
/// `…+01:00`), or `None` when it is not one.
pub fn parse_rfc3339(s: &str) -> Option<f64> {
    let s = s.trim();
    let (date, rest) = s.split_at_checked(10)?;
    let mut date_parts = date.split('-');
    let year: i64 = date_parts.next()?.parse().ok()?;
    let month: u32 = date_parts.next()?.parse().ok()?;
    let day: u32 = date_parts.next()?.parse().ok()?;
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let hour: u32 = rest.get(0..2)?.parse().ok()?;
    let minute: u32 = rest.get(3..5)?.parse().ok()?;
    let second: u32 = rest.get(6..8)?.parse().ok()?;
    let mut tail = &rest[8..];
    let mut fraction = 0.0;
    if let Some(after_dot) = tail.strip_prefix('.') {
        let digits = after_dot.chars().take_while(char::is_ascii_digit).count();
        fraction = format!("0.{}", &after_dot[..digits]).parse().ok()?;
        tail = &after_dot[digits..];
    }
    let offset_seconds: i64 = match tail {
        "Z" | "z" | "" => 0,
        _ => {
            let sign = if tail.starts_with('-') { -1 } else { 1 };
            let hh: i64 = tail.get(1..3)?.parse().ok()?;
            let mm: i64 = tail.get(4..6)?.parse().ok()?;
            sign * (hh * 3600 + mm * 60)
        }
    };
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(
        (days * 86_400 + (hour * 3600 + minute * 60 + second) as i64 - offset_seconds) as f64
            + fraction,
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = if year >= 0 { year } else { year - 399 } / 400;
    let year_of_era = year - era * 400;
    let month = month as i64;
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day as i64 - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// (year, month, day) of days since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month, day)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `23 Nov` (UTC) of epoch seconds, for chart axes.
pub fn short_date(epoch_seconds: f64) -> String {
    let (_, month, day) = civil_from_days((epoch_seconds / 86_400.0).floor() as i64);
    format!("{day} {}", MONTHS[(month - 1) as usize])
}

/// `23 Nov 2026` (UTC).
pub fn date_with_year(epoch_seconds: f64) -> String {
    let (year, month, day) = civil_from_days((epoch_seconds / 86_400.0).floor() as i64);
    format!("{day} {} {year}", MONTHS[(month - 1) as usize])
}

/// `23 Nov 2026, 14:05 UTC` of an RFC 3339 timestamp (the input as is when unparsable).
pub fn date_time(rfc3339: &str) -> String {
    match parse_rfc3339(rfc3339) {
        Some(t) => {
            let seconds_of_day = (t.rem_euclid(86_400.0)) as i64;
            format!(
                "{}, {:02}:{:02} UTC",
                date_with_year(t),
                seconds_of_day / 3600,
                (seconds_of_day % 3600) / 60
            )
        }
        None => rfc3339.to_owned(),
    }
}

/// `3 min ago`, `2 h ago`, `just now`, relative to `now` (epoch seconds).
pub fn ago(rfc3339: &str, now: f64) -> String {
    let Some(t) = parse_rfc3339(rfc3339) else {
        return rfc3339.to_owned();
    };
    let seconds = (now - t).max(0.0) as i64;
    match seconds {
        0..=44 => "just now".to_owned(),
        45..=3599 => format!("{} min ago", (seconds + 30) / 60),
        3600..=86_399 => format!("{} h ago", seconds / 3600),
        _ => format!("{} d ago", seconds / 86_400),
    }
}

/// Now, in epoch seconds (the browser's clock).
pub fn now_seconds() -> f64 {
    js_sys::Date::now() / 1000.0
}

/// An ISO 8601 duration for whole minutes: `PT3H`, `PT90M` → `PT1H30M`.
pub fn iso_duration(minutes: u32) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("PT{m}M"),
        (h, 0) => format!("PT{h}H"),
        (h, m) => format!("PT{h}H{m}M"),
    }
}

/// Whether a source is an IPv4/IPv6 address or CIDR that restricts something: the planner's
/// own check ([`portcullis_shared::remediation::check_source`]), so the form and the server agree.
pub fn validate_source(s: &str) -> Result<(), String> {
    portcullis_shared::remediation::check_source(s)
}

/// A kind of path from the Internet, for people: `Public IP`, `Load balancer NAT`, ...
pub fn path_kind_label(kind: portcullis_shared::eval::report::PathKind) -> &'static str {
    use portcullis_shared::eval::report::PathKind::*;
    match kind {
        PublicIp => "Public IP",
        LoadBalancerNat => "Load balancer NAT",
        LoadBalancerRule => "Load balancer rule",
        FirewallDnat => "Firewall DNAT",
        ApplicationGateway => "Application gateway",
    }
}

/// A kind of path inside a sentence: `through a public IP`, `through load balancer NAT`, ...
pub fn path_kind_phrase(kind: portcullis_shared::eval::report::PathKind) -> &'static str {
    use portcullis_shared::eval::report::PathKind::*;
    match kind {
        PublicIp => "a public IP",
        LoadBalancerNat => "load balancer NAT",
        LoadBalancerRule => "a load balancer rule",
        FirewallDnat => "firewall DNAT",
        ApplicationGateway => "an application gateway",
    }
}
