//! The Azure Resource Graph queries Portcullis sends: built here for the ARM client, and parsed
//! (exactly these forms, nothing else) by the emulator.
//!
//! Two ways to read a whole estate:
//! - **rows**: one resource per row, per type, `$skipToken` paging, 1,000 rows a page;
//! - **packed**: one row per subscription and type, holding that subscription's resources of
//!   that type as a list (`summarize ... make_list(pack(...)) by subscriptionId, type`). A
//!   `summarize` answers its first page only (at most 1,000 rows), and an answer may not exceed
//!   [`PAYLOAD_LIMIT`] bytes (`ResponsePayloadTooLarge`), so the client sizes its subscription
//!   batches from a count query first ([`count_query`]).

/// The largest answer Resource Graph gives: past it, a 400 whose detail is
/// `ResponsePayloadTooLarge` ("Response payload size is N, and has exceeded the limit of
/// 16777216. Please consider querying less data at a time and make paginated call if needed.").
pub const PAYLOAD_LIMIT: usize = 16_777_216;

/// The most rows an answer holds (`$top` at most 1,000; a `summarize` has no further page).
pub const MAX_ROWS: usize = 1000;

/// The aggregation of [`count_query`].
pub const COUNT_SUMMARIZE: &str = "summarize n = count() by subscriptionId, type";

/// The aggregation of [`packed_query`]: the resource envelope a snapshot reads (Resource Graph
/// carries no `etag`), every resource of a subscription and type in one list, and their count to
/// check the list against.
pub const PACK_SUMMARIZE: &str = "summarize n = count(), rows = make_list(pack('id', id, 'name', name, 'type', type, 'location', location, 'tags', tags, 'sku', sku, 'properties', properties)) by subscriptionId, type";

/// The keys of each packed resource, in order.
pub const PACK_KEYS: [&str; 7] = [
    "id",
    "name",
    "type",
    "location",
    "tags",
    "sku",
    "properties",
];

/// `Resources | where type =~ 'microsoft.network/networksecuritygroups' | order by id asc`:
/// one resource type, one resource per row, in id order (pages are stable).
pub fn rows_query(provider_type: &str) -> String {
    format!(
        "Resources | where type =~ '{}' | order by id asc",
        provider_type.to_ascii_lowercase()
    )
}

/// `where type in~ ('a', 'b')`, lower case.
fn types_filter(provider_types: &[&str]) -> String {
    let list: Vec<String> = provider_types
        .iter()
        .map(|t| format!("'{}'", t.to_ascii_lowercase()))
        .collect();
    format!("where type in~ ({})", list.join(", "))
}

/// How many resources of each type each subscription holds: one row per subscription and type,
/// `{"subscriptionId", "type", "n"}`.
pub fn count_query(provider_types: &[&str]) -> String {
    format!(
        "Resources | {} | {COUNT_SUMMARIZE}",
        types_filter(provider_types)
    )
}

/// Every resource of the types, one row per subscription and type:
/// `{"subscriptionId", "type", "n", "rows": [{"id", "name", ...}]}`.
pub fn packed_query(provider_types: &[&str]) -> String {
    format!(
        "Resources | {} | {PACK_SUMMARIZE}",
        types_filter(provider_types)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_sent() {
        assert_eq!(
            rows_query("Microsoft.Network/networkSecurityGroups"),
            "Resources | where type =~ 'microsoft.network/networksecuritygroups' | order by id asc"
        );
        assert_eq!(
            count_query(&["Microsoft.Compute/virtualMachines", "microsoft.network/loadbalancers"]),
            "Resources | where type in~ ('microsoft.compute/virtualmachines', 'microsoft.network/loadbalancers') | summarize n = count() by subscriptionId, type"
        );
        assert!(packed_query(&["a/b"]).starts_with("Resources | where type in~ ('a/b') | summarize n = count(), rows = make_list(pack('id', id, "));
    }
}
