//! Query strings: the VM table's filter and sort kept in the page URL (so views can be shared)
//! and sent as is to `GET /api/posture`. Pure functions, tested in `tests/web.rs`.
use portcullis_shared::api::{HistoryRange, SortOrder, VmFilter, VmSort};
use portcullis_shared::eval::report::RecommendationKey;
use portcullis_shared::eval::Status;

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for byte in s.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Decodes `%XX` escapes and `+` (as a space); invalid escapes are kept as they are.
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(value) => {
                        out.push(value);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn encode_pairs(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(key, value)| format!("{}={}", encode(key), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `a=1&b=x%20y` (with or without the leading `?`) into pairs.
pub fn parse_pairs(query: &str) -> Vec<(String, String)> {
    query
        .trim_start_matches('?')
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('=') {
            Some((key, value)) => (decode(key), decode(value)),
            None => (decode(part), String::new()),
        })
        .collect()
}

pub fn status_str(status: Status) -> &'static str {
    status.as_str()
}

pub fn parse_status(s: &str) -> Option<Status> {
    match s {
        "healthy" => Some(Status::Healthy),
        "unhealthy" => Some(Status::Unhealthy),
        "notApplicable" => Some(Status::NotApplicable),
        _ => None,
    }
}

pub fn parse_recommendation(s: &str) -> Option<RecommendationKey> {
    RecommendationKey::ALL
        .into_iter()
        .find(|key| key.as_str() == s)
}

pub fn sort_str(sort: VmSort) -> &'static str {
    match sort {
        VmSort::Name => "name",
        VmSort::Status => "status",
        VmSort::Subscription => "subscription",
        VmSort::ResourceGroup => "resourceGroup",
        VmSort::Exposure => "exposure",
        VmSort::Os => "os",
        VmSort::PublicIps => "publicIps",
        VmSort::NsgProtected => "nsgProtected",
        VmSort::PortsClosed => "portsClosed",
        VmSort::JitProtected => "jitProtected",
    }
}

pub fn parse_sort(s: &str) -> Option<VmSort> {
    VmSort::ALL.into_iter().find(|sort| sort_str(*sort) == s)
}

pub fn range_str(range: HistoryRange) -> &'static str {
    match range {
        HistoryRange::Days7 => "7d",
        HistoryRange::Days30 => "30d",
        HistoryRange::Days90 => "90d",
        HistoryRange::Year => "1y",
        HistoryRange::All => "all",
    }
}

pub fn parse_range(s: &str) -> Option<HistoryRange> {
    [
        HistoryRange::Days7,
        HistoryRange::Days30,
        HistoryRange::Days90,
        HistoryRange::Year,
        HistoryRange::All,
    ]
    .into_iter()
    .find(|range| range_str(*range) == s)
}

/// The filter as query pairs, in a fixed order, leaving out what is unset.
pub fn filter_to_pairs(filter: &VmFilter) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut push = |key: &str, value: String| pairs.push((key.to_owned(), value));
    if let Some(q) = filter.q.as_ref().filter(|q| !q.is_empty()) {
        push("q", q.clone());
    }
    if let Some(subscription) = &filter.subscription {
        push("subscription", subscription.clone());
    }
    if let Some(resource_group) = &filter.resource_group {
        push("resourceGroup", resource_group.clone());
    }
    if let Some(status) = filter.status {
        push("status", status_str(status).to_owned());
    }
    if let Some(recommendation) = filter.recommendation {
        push("recommendation", recommendation.as_str().to_owned());
    }
    if let Some(status) = filter.recommendation_status {
        push("recommendationStatus", status_str(status).to_owned());
    }
    if let Some(path) = filter.path {
        push("path", path.as_str().to_string());
    }
    if let Some(reachable) = filter.reachable {
        push("reachable", reachable.to_string());
    }
    if let Some(sort) = filter.sort {
        push("sort", sort_str(sort).to_owned());
    }
    if let Some(order) = filter.order {
        push(
            "order",
            match order {
                SortOrder::Asc => "asc",
                SortOrder::Desc => "desc",
            }
            .to_owned(),
        );
    }
    if let Some(page) = filter.page {
        push("page", page.to_string());
    }
    if let Some(per_page) = filter.per_page {
        push("perPage", per_page.to_string());
    }
    pairs
}

/// The inverse of [`filter_to_pairs`]; unknown keys and unparsable values are ignored.
pub fn filter_from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> VmFilter {
    let mut filter = VmFilter::default();
    for (key, value) in pairs {
        match key {
            "q" if !value.is_empty() => filter.q = Some(value.to_owned()),
            "subscription" if !value.is_empty() => filter.subscription = Some(value.to_owned()),
            "resourceGroup" if !value.is_empty() => filter.resource_group = Some(value.to_owned()),
            "status" => filter.status = parse_status(value),
            "recommendation" => filter.recommendation = parse_recommendation(value),
            "recommendationStatus" => filter.recommendation_status = parse_status(value),
            "reachable" => filter.reachable = value.parse().ok(),
            "path" => {
                filter.path = portcullis_shared::eval::report::PathKind::ALL
                    .into_iter()
                    .find(|k| k.as_str() == value)
            }
            "sort" => filter.sort = parse_sort(value),
            "order" => {
                filter.order = match value {
                    "asc" => Some(SortOrder::Asc),
                    "desc" => Some(SortOrder::Desc),
                    _ => None,
                }
            }
            "page" => filter.page = value.parse().ok().filter(|page| *page >= 1),
            "perPage" => filter.per_page = value.parse().ok().filter(|n| *n >= 1),
            _ => {}
        }
    }
    filter
}

/// `?q=...&status=...` for the page URL (empty string when nothing is set).
pub fn filter_to_query(filter: &VmFilter) -> String {
    let pairs = filter_to_pairs(filter);
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", encode_pairs(&pairs))
    }
}

pub fn filter_from_query(query: &str) -> VmFilter {
    let pairs = parse_pairs(query);
    filter_from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}
