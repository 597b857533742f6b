//! Azure Resource Graph: `POST /providers/Microsoft.ResourceGraph/resources`, answered from the
//! emulator's state with Resource Graph's shapes (`resultFormat: objectArray`, `$skipToken`
//! paging, at most 1,000 rows a page) and its per-user quota (15 queries per 5 s window,
//! `x-ms-user-quota-remaining` / `x-ms-user-quota-resets-after`, 429 past it).
//!
//! Only the query forms Portcullis sends are parsed, exactly:
//! `Resources | where type =~ '<type>' | order by id asc`; anything else is refused with
//! Resource Graph's `BadRequest` / `InvalidQuery`. A management group scope holds every
//! subscription of the tenant.
use super::http::{json_response, ArmRequest, Fail};
use super::world::{Kind, World};
use axum::http::StatusCode;
use axum::response::Response;
use portcullis_shared::arm::id_scope_ref;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashSet;

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

/// `Resources | where type =~ 'microsoft.network/networksecuritygroups' | order by id asc`
/// → the kind. Whitespace and keyword case are free, nothing else is.
pub fn parse_query(q: &str) -> Result<Kind, Fail> {
    let parts: Vec<String> = q
        .split('|')
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let bad = || {
        invalid_query(&format!("Query '{q}' is not supported by this endpoint: only \"Resources | where type =~ '<type>' | order by id asc\""))
    };
    let [from, filter, order] = parts.as_slice() else {
        return Err(bad());
    };
    if !from.eq_ignore_ascii_case("resources") || !order.eq_ignore_ascii_case("order by id asc") {
        return Err(bad());
    }
    let lower = filter.to_ascii_lowercase();
    let Some(ty) = lower
        .strip_prefix("where type =~ '")
        .and_then(|t| t.strip_suffix('\''))
    else {
        return Err(bad());
    };
    let (ns, t) = ty.split_once('/').ok_or_else(bad)?;
    Kind::parse(ns, t).ok_or_else(bad)
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
    let kind = parse_query(&req.query)?;
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
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| invalid_query(&format!("$skipToken '{t}' is not valid")))?,
        None => req.options.skip.unwrap_or(0),
    };
    let top = req.options.top.unwrap_or(100).clamp(1, 1000);
    let in_scope = |id: &str| subs.contains(&id_scope_ref(id).0.to_ascii_lowercase());
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
    Ok(json_response(
        StatusCode::OK,
        &body,
        &[
            ("x-ms-user-quota-remaining", remaining.to_string()),
            ("x-ms-user-quota-resets-after", resets),
        ],
    ))
}
