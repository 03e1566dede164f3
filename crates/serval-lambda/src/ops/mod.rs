//! Handlers, one file per group of operations.

pub mod aliases;
pub mod concurrency;
pub mod event_invoke;
pub mod functions;
pub mod permissions;
pub mod tags;
pub mod urls;
pub mod validate;
pub mod versions;

use serde_json::Value;
use serval_wire::Response;

/// A JSON response.
pub(crate) fn ok(status: u16, v: &Value) -> crate::error::Result<Response> {
    Ok(Response::json(status, v))
}

/// Pages through a sorted list with an opaque marker (the index to start at).
pub(crate) fn paginate<T>(
    items: Vec<T>,
    page: &crate::api::Page,
    default: usize,
) -> crate::error::Result<(Vec<T>, Option<String>)> {
    let start = match page.marker.as_deref() {
        None | Some("") => 0,
        Some(m) => m.parse::<usize>().map_err(|_| {
            crate::error::LambdaError::InvalidParameter(format!("Invalid Marker: {m}"))
        })?,
    };
    let size = page.max_items.unwrap_or(default);
    let total = items.len();
    let end = start.saturating_add(size);
    let out: Vec<T> = items.into_iter().skip(start).take(size).collect();
    let next = (end < total).then(|| end.to_string());
    Ok((out, next))
}

/// A paged list response: `{field: [...], "NextMarker": ...}`.
pub(crate) fn page_response(
    field: &str,
    all: Vec<Value>,
    page: &crate::api::Page,
) -> crate::error::Result<Response> {
    let (items, next) = paginate(all, page, 50)?;
    let mut out = serde_json::Map::new();
    out.insert(field.to_string(), Value::Array(items));
    if let Some(n) = next {
        out.insert("NextMarker".into(), Value::String(n));
    }
    ok(200, &Value::Object(out))
}
