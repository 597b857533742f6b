//! Azure Resource Graph: `POST /providers/Microsoft.ResourceGraph/resources`, answered from the
//! emulator's state with Resource Graph's shapes (`resultFormat: objectArray`, `$skipToken`
//! paging, at most 1,000 rows a page), its per-user quota (15 queries per 5 s window,
//! `x-ms-user-quota-remaining` / `x-ms-user-quota-resets-after`, 429 past it) and its largest
//! answer (16 MiB: past it, 400 `ResponsePayloadTooLarge`, whatever the query).
//!
//! Only the query forms Portcullis sends are parsed, exactly (`portcullis_shared::arm::graph`):
//! - `Resources | where type =~ '<type>' | order by id asc`: one resource per row, paged;
//! - `Resources | where type in~ ('<type>', ...) | summarize n = count() by subscriptionId, type`;
//! - `Resources | where type in~ (...) | summarize n = count(), rows = make_list(pack('id', id,
//!   ...)) by subscriptionId, type`: a subscription's resources of a type in one row.
//!
//! A `summarize` answers its first page only: past `$top` rows the answer says
//! `resultTruncated: "true"` and has no `$skipToken`. Anything else is refused with Resource
//! Graph's `BadRequest` / `InvalidQuery`. A management group scope holds every subscription of
//! the tenant.
use super::http::{add_headers, json_response, ArmRequest, Fail};
use super::world::{Kind, World};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_shared::arm::{graph, id_scope_ref};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};

/// Queries per user per window, and the window.
pub const QUOTA: u32 = 15;
pub const WINDOW_MS: i64 = 5_000;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryRequest {
    #[serde(default)]
    subscriptions: Vec<String>,
    #[serde(default)]
    management_groups: Vec<String>,
    query: String,
    #[serde(default)]
    options: Options,
}

#[derive(Debug, Default, Deserialize)]
struct Options {
    #[serde(rename = "$top")]
    top: Option<usize>,
    #[serde(rename = "$skip")]
    skip: Option<usize>,
    #[serde(rename = "$skipToken")]
    skip_token: Option<String>,
    #[serde(rename = "resultFormat")]
    result_format: Option<String>,
}

fn invalid_query(message: &str) -> Fail {
    Fail::bad_request(
        "BadRequest",
        format!("Please provide below info when asking for support: timestamp, correlationId. Details: InvalidQuery: {message}"),
    )
}

/// A query of one of the forms Portcullis sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// One resource per row, paged.
    Rows(Kind),
    /// Resources per subscription and type.
    Count(Vec<Kind>),
    /// Resources per subscription and type, packed in one row each.
    Packed(Vec<Kind>),
}

/// Collapses runs of whitespace into one space.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One of [`Query`]'s forms (whitespace and the case of `Resources` and the filter are free,
/// nothing else is), or Resource Graph's `InvalidQuery`.
pub fn parse_query(q: &str) -> Result<Query, Fail> {
    let parts: Vec<String> = q.split('|').map(squash).collect();
    let bad = || {
        invalid_query(&format!("Query '{q}' is not supported by this endpoint: only \"Resources | where type =~ '<type>' | order by id asc\" and the count and packed summaries of portcullis_shared::arm::graph"))
    };
    let [from, filter, last] = parts.as_slice() else {
        return Err(bad());
    };
    if !from.eq_ignore_ascii_case("resources") {
        return Err(bad());
    }
    let kind = |ty: &str| -> Result<Kind, Fail> {
        let (ns, t) = ty.split_once('/').ok_or_else(bad)?;
        Kind::parse(ns, t).ok_or_else(bad)
    };
    let lower = filter.to_ascii_lowercase();
    if last.eq_ignore_ascii_case("order by id asc") {
        let ty = lower
            .strip_prefix("where type =~ '")
            .and_then(|t| t.strip_suffix('\''))
            .ok_or_else(bad)?;
        return Ok(Query::Rows(kind(ty)?));
    }
    let list = lower
        .strip_prefix("where type in~ (")
        .and_then(|t| t.strip_suffix(')'))
        .ok_or_else(bad)?;
    let mut kinds = Vec::new();
    for item in list.split(',') {
        let ty = item
            .trim()
            .strip_prefix('\'')
            .and_then(|t| t.strip_suffix('\''))
            .ok_or_else(bad)?;
        let k = kind(ty)?;
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    }
    if *last == squash(graph::COUNT_SUMMARIZE) {
        Ok(Query::Count(kinds))
    } else if *last == squash(graph::PACK_SUMMARIZE) {
        Ok(Query::Packed(kinds))
    } else {
        Err(bad())
    }
}

pub fn query(w: &mut World, r: &ArmRequest) -> Result<Response, Fail> {
    // the per-user quota, on the emulator's clock
    let now = w.now().unix_timestamp_nanos() as i64 / 1_000_000;
    let user = r.principal.clone();
    let (start, used) = w.graph_quota.entry(user).or_insert((now, 0));
    if now - *start >= WINDOW_MS {
        (*start, *used) = (now, 0);
    }
    let resets_ms = (*start + WINDOW_MS - now).max(0);
    let resets = format!("00:00:{:02}", (resets_ms + 999) / 1000);
    if *used >= QUOTA {
        let fail = Fail::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RateLimiting",
            format!("Please provide below info when asking for support: timestamp, correlationId. Details: Client application has been throttled and should not attempt to repeat the request until an amount of time has elapsed. Quota resets after {resets}."),
        );
        return Ok(json_response(
            StatusCode::TOO_MANY_REQUESTS,
            &fail.body(),
            &[
                ("x-ms-user-quota-remaining", "0".into()),
                ("x-ms-user-quota-resets-after", resets.clone()),
                ("Retry-After", ((resets_ms + 999) / 1000).max(1).to_string()),
            ],
        ));
    }
    *used += 1;
    let remaining = QUOTA - *used;
    let req: QueryRequest = serde_json::from_slice(&r.body).map_err(|e| {
        Fail::bad_request(
            "InvalidRequestContent",
            format!("The request content was invalid and could not be deserialized: {e}"),
        )
    })?;
    if let Some(f) = req.options.result_format.as_deref() {
        if !f.eq_ignore_ascii_case("objectArray") && !f.eq_ignore_ascii_case("table") {
            return Err(invalid_query(&format!("resultFormat '{f}' is not valid")));
        }
    }
    let query = parse_query(&req.query)?;
    // the subscriptions in scope that the caller can read (lower case); each of the world's
    // management groups (the root and the estate's) holds every subscription of the tenant
    if let Some(bad) = req
        .management_groups
        .iter()
        .find(|g| !w.has_management_group(g))
    {
        return Err(Fail::bad_request(
            "BadRequest",
            format!("Please provide below info when asking for support: timestamp, correlationId. Details: ManagementGroupsContainInvalidIds: The provided management groups must be valid. Given: '{bad}'."),
        ));
    }
    let subs: HashSet<String> = if !req.management_groups.is_empty() {
        w.subscriptions
            .iter()
            .map(|s| s.subscription_id.to_ascii_lowercase())
            .collect()
    } else if req.subscriptions.is_empty() {
        return Err(Fail::bad_request("BadRequest", "Please provide below info when asking for support: timestamp, correlationId. Details: No subscriptions or management groups were given (scope is required)."));
    } else {
        req.subscriptions
            .iter()
            .filter(|s| w.subscription(s).is_ok()) // Resource Graph skips what it cannot read
            .map(|s| s.to_ascii_lowercase())
            .collect()
    };
    let skip = match req.options.skip_token.as_deref() {
        Some(t) => Some(
            t.parse::<usize>()
                .map_err(|_| invalid_query(&format!("$skipToken '{t}' is not valid")))?,
        ),
        None => req.options.skip,
    };
    let top = req.options.top.unwrap_or(100).clamp(1, graph::MAX_ROWS);
    let in_scope = |id: &str| {
        let sub = sub_of(id);
        if sub.bytes().any(|b| b.is_ascii_uppercase()) {
            subs.contains(&sub.to_ascii_lowercase())
        } else {
            subs.contains(sub)
        }
    };
    let body = match query {
        Query::Rows(kind) => {
            let skip = skip.unwrap_or(0);
            let (mut page, total) = w.select(kind, &in_scope, true, skip, top);
            let row_type = kind.provider_type().to_ascii_lowercase();
            for v in &mut page {
                let (s, g) = id_scope_ref(v["id"].as_str().unwrap_or_default());
                let (s, g) = (s.to_string(), g.to_ascii_lowercase());
                if let Some(o) = v.as_object_mut() {
                    o.insert("subscriptionId".into(), json!(s));
                    o.insert("resourceGroup".into(), json!(g));
                    o.insert("tenantId".into(), json!(w.tenant_id));
                    o.insert("type".into(), json!(row_type));
                }
            }
            let mut body = json!({
                "totalRecords": total,
                "count": page.len(),
                "data": page,
                "facets": [],
                "resultTruncated": "false",
            });
            if skip + top < total {
                body["$skipToken"] = json!((skip + top).to_string());
            }
            body
        }
        Query::Count(_) | Query::Packed(_) if skip.is_some() => {
            return Err(invalid_query(
                "a summarize query has its first page only: $skip and $skipToken cannot be used",
            ));
        }
        Query::Count(kinds) => summarize(w, &kinds, &in_scope, false, top),
        Query::Packed(kinds) => summarize(w, &kinds, &in_scope, true, top),
    };
    let headers = [
        ("x-ms-user-quota-remaining", remaining.to_string()),
        ("x-ms-user-quota-resets-after", resets),
    ];
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let limit = w.graph_payload_limit.unwrap_or(graph::PAYLOAD_LIMIT);
    if bytes.len() > limit {
        let body = json!({"error": {
            "code": "BadRequest",
            "message": "Please provide below info when asking for support: timestamp, correlationId.",
            "details": [{
                "code": "ResponsePayloadTooLarge",
                "message": format!("Response payload size is {}, and has exceeded the limit of {limit}. Please consider querying less data at a time and make paginated call if needed.", bytes.len()),
            }],
        }});
        return Ok(json_response(StatusCode::BAD_REQUEST, &body, &headers));
    }
    let mut r = (
        StatusCode::OK,
        [(
            axum::http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )],
        bytes,
    )
        .into_response();
    add_headers(r.headers_mut(), &headers);
    Ok(r)
}

/// The subscription of a resource id, quickly for the usual `/subscriptions/SUB/...`.
fn sub_of(id: &str) -> &str {
    let mut parts = id.strip_prefix('/').unwrap_or(id).splitn(3, '/');
    match (parts.next(), parts.next()) {
        (Some(p), Some(sub)) if p.eq_ignore_ascii_case("subscriptions") => sub,
        _ => id_scope_ref(id).0,
    }
}

/// One row per subscription and type in scope with resources of `kinds`, ordered by
/// subscription then type: `{"subscriptionId", "type", "n"}`, with `packed` the resources as
/// `"rows"` (the keys of [`graph::PACK_KEYS`], `null` where a resource has none). At most `top`
/// rows: a summary has no second page.
fn summarize(
    w: &World,
    kinds: &[Kind],
    in_scope: &dyn Fn(&str) -> bool,
    packed: bool,
    top: usize,
) -> Value {
    let mut groups: BTreeMap<(String, String), (String, usize, Vec<Value>)> = BTreeMap::new();
    for &kind in kinds {
        let ty = kind.provider_type().to_ascii_lowercase();
        let (rows, _) = w.select(kind, in_scope, true, 0, usize::MAX);
        for mut v in rows {
            let sub = sub_of(v["id"].as_str().unwrap_or_default()).to_string();
            let g = groups
                .entry((sub.to_ascii_lowercase(), ty.clone()))
                .or_insert_with(|| (sub, 0, Vec::new()));
            g.1 += 1;
            if packed {
                let mut o = serde_json::Map::new();
                for key in graph::PACK_KEYS {
                    let value = match key {
                        "type" => json!(ty),
                        _ => v.get_mut(key).map(Value::take).unwrap_or(Value::Null),
                    };
                    o.insert(key.to_string(), value);
                }
                g.2.push(Value::Object(o));
            }
        }
    }
    let total = groups.len();
    let data: Vec<Value> = groups
        .into_iter()
        .take(top)
        .map(|((_, ty), (sub, n, rows))| {
            if packed {
                json!({"subscriptionId": sub, "type": ty, "n": n, "rows": rows})
            } else {
                json!({"subscriptionId": sub, "type": ty, "n": n})
            }
        })
        .collect();
    json!({
        "totalRecords": total,
        "count": data.len(),
        "data": data,
        "facets": [],
        "resultTruncated": if total > top { "true" } else { "false" },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_the_forms_portcullis_sends_are_parsed() {
        let nsg = "Microsoft.Network/networkSecurityGroups";
        assert_eq!(
            parse_query(&graph::rows_query(nsg)).unwrap(),
            Query::Rows(Kind::NetworkSecurityGroups)
        );
        let types = [
            "microsoft.compute/virtualmachines",
            "Microsoft.Network/bastionHosts",
        ];
        let both = vec![Kind::VirtualMachines, Kind::BastionHosts];
        assert_eq!(
            parse_query(&graph::count_query(&types)).unwrap(),
            Query::Count(both.clone())
        );
        assert_eq!(
            parse_query(&graph::packed_query(&types)).unwrap(),
            Query::Packed(both)
        );
        // whitespace is free
        let spaced = graph::packed_query(&types).replace(' ', "  \n");
        assert!(matches!(parse_query(&spaced), Ok(Query::Packed(_))));
        for bad in [
            "Resources | where type in~ ('microsoft.compute/virtualmachines') | summarize count() by subscriptionId",
            "Resources | where type in~ ('microsoft.compute/disks') | summarize n = count() by subscriptionId, type",
            "Resources | where type in~ (microsoft.compute/virtualmachines) | summarize n = count() by subscriptionId, type",
            "Resources | where type =~ 'microsoft.compute/virtualmachines' | summarize n = count() by subscriptionId, type",
            &graph::packed_query(&types).replace("'properties', properties", "'plan', plan"),
            "Resources | where type =~ 'microsoft.compute/virtualmachines' | order by name asc",
        ] {
            let err = parse_query(bad).expect_err(bad);
            assert_eq!(err.code, "BadRequest");
            assert!(err.message.contains("InvalidQuery"), "{}", err.message);
        }
    }
}
