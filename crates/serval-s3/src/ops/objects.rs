//! Object operations: Put, Get/Head (ranges, conditions, response-*
//! overrides), Delete(s), Copy, tagging; and the commit every write shares.

use super::{xml, Call};
use crate::blobs::{self, Received};
use crate::error::{self, Result};
use crate::model::{self, BucketMeta, ObjectMeta, Segment};
use crate::xml::{parse, Writer};
use bytes::Bytes;
use serval_store::Op;
use serval_wire::{Request, RequestBody, Response};
use std::collections::BTreeMap;

/// System headers kept with an object and returned on GET.
const KEPT_HEADERS: [&str; 7] = [
    "content-type",
    "content-encoding",
    "content-disposition",
    "content-language",
    "cache-control",
    "expires",
    "x-amz-website-redirect-location",
];

/// The system headers and user metadata of a write request.
pub fn headers_of(req: &Request) -> Result<(BTreeMap<String, String>, BTreeMap<String, String>)> {
    let mut headers = BTreeMap::new();
    for h in KEPT_HEADERS {
        if let Some(v) = req.header(h) {
            let v = if h == "content-encoding" {
                v.split(',')
                    .map(str::trim)
                    .filter(|p| *p != "aws-chunked" && !p.is_empty())
                    .collect::<Vec<_>>()
                    .join(",")
            } else {
                v.to_string()
            };
            if !v.is_empty() {
                headers.insert(h.to_string(), v);
            }
        }
    }
    let mut meta = BTreeMap::new();
    let mut size = 0;
    for (name, value) in &req.headers {
        if let Some(k) = name.as_str().strip_prefix("x-amz-meta-") {
            let v = value.to_str().unwrap_or_default().to_string();
            size += k.len() + v.len();
            meta.insert(k.to_string(), v);
        }
    }
    if size > 2048 {
        return Err(error::invalid_request(
            "Your metadata headers exceed the maximum allowed metadata size",
        )
        .with_header("x-serval-limit", "2048"));
    }
    Ok((headers, meta))
}

/// Tags from an `x-amz-tagging` header (`k=v&k2=v2`).
pub fn tags_header(req: &Request) -> BTreeMap<String, String> {
    req.header("x-amz-tagging")
        .map(|t| {
            form_urlencoded::parse(t.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn check_key(key: &str) -> Result<()> {
    if key.len() > 1024 {
        return Err(serval_core::AwsError::new(
            "KeyTooLongError",
            400,
            "Your key is too long",
        ));
    }
    Ok(())
}

/// Reads the current record of a key.
pub fn current(s3: &crate::S3, b: &BucketMeta, key: &str) -> Result<Option<(ObjectMeta, Bytes)>> {
    Ok(s3
        .store
        .get(model::KS_OBJ, &model::obj_key(&b.uid, key))?
        .and_then(|v| model::decode_obj(&v)))
}

/// Every version of a key, newest first.
pub fn versions(s3: &crate::S3, b: &BucketMeta, key: &str) -> Result<Vec<(ObjectMeta, Bytes)>> {
    let mut prefix = model::obj_key(&b.uid, key);
    prefix.push(0);
    Ok(s3
        .store
        .scan_all(model::KS_VER, &prefix)?
        .into_iter()
        .filter_map(|(_, v)| model::decode_obj(&v))
        .collect())
}

/// The record a request names: the current one, or `versionId`'s.
pub fn lookup(
    s3: &crate::S3,
    b: &BucketMeta,
    key: &str,
    version: Option<&str>,
) -> Result<(ObjectMeta, Bytes)> {
    match version {
        None => current(s3, b, key)?.ok_or_else(|| error::no_such_key(key)),
        Some(v) => {
            if b.versioning.is_none() {
                if v == "null" {
                    return current(s3, b, key)?.ok_or_else(|| error::no_such_key(key));
                }
                return Err(error::invalid_argument(
                    "Invalid version id specified",
                    "versionId",
                    v,
                ));
            }
            versions(s3, b, key)?
                .into_iter()
                .find(|(m, _)| m.version_id == v)
                .ok_or_else(|| error::no_such_version(key, v))
        }
    }
}

/// What a precondition on the existing object is checked against.
pub type Precondition<'a> = &'a (dyn Fn(Option<&ObjectMeta>) -> Result<()> + Sync);

/// Commits a new object (current record, version record, notification)
/// in one store batch and removes what it replaced. Returns the version id.
#[allow(clippy::too_many_arguments)]
pub async fn commit(
    s3: &crate::S3,
    b: &BucketMeta,
    mut meta: ObjectMeta,
    inline: &[u8],
    event: &str,
    pre: Option<Precondition<'_>>,
    ctx: &serval_core::RequestContext,
    extra: Vec<Op>,
) -> Result<ObjectMeta> {
    let seq = s3.next_seq();
    meta.v = 1;
    meta.vkey = model::vkey_of(seq);
    meta.version_id = match b.versioning.as_deref() {
        Some("Enabled") => meta.vkey.clone(),
        _ => "null".to_string(),
    };
    let value = model::encode_obj(&meta, inline);
    let mut garbage = Vec::new();
    let (pending, queued) = {
        let _g = s3.lock_key(&b.uid, &meta.key);
        let old = current(s3, b, &meta.key)?;
        if let Some(p) = pre {
            if let Err(e) = p(old.as_ref().map(|(m, _)| m)) {
                drop(_g);
                s3.blobs
                    .remove(meta.segments.iter().map(|s| s.blob.clone()).collect())
                    .await;
                return Err(e);
            }
        }
        let mut ops = vec![Op::Put {
            ks: model::KS_OBJ,
            key: model::obj_key(&b.uid, &meta.key),
            value: value.clone(),
        }];
        match b.versioning.as_deref() {
            None => {
                if let Some((o, _)) = old {
                    garbage.extend(o.segments.into_iter().map(|s| s.blob));
                }
            }
            Some(status) => {
                if status == "Suspended" {
                    for (o, _) in versions(s3, b, &meta.key)? {
                        if o.version_id == "null" {
                            ops.push(Op::Delete {
                                ks: model::KS_VER,
                                key: model::ver_key(&b.uid, &o.key, &o.vkey),
                            });
                            garbage.extend(o.segments.into_iter().map(|s| s.blob));
                        }
                    }
                }
                ops.push(Op::Put {
                    ks: model::KS_VER,
                    key: model::ver_key(&b.uid, &meta.key, &meta.vkey),
                    value,
                });
            }
        }
        ops.extend(extra);
        let events = crate::notify::outbox_ops(s3, b, event, &meta, seq, ctx);
        let queued = !events.is_empty();
        ops.extend(events);
        (s3.store.submit(ops)?, queued)
    };
    pending.wait().await?;
    // The outbox is only worth a look when this write queued an event.
    if queued {
        s3.outbox_wake.notify_one();
    }
    s3.blobs.remove(garbage).await;
    Ok(meta)
}

/// Builds the record of a received body.
pub fn new_meta(
    key: &str,
    rec: &Received,
    headers: BTreeMap<String, String>,
    metadata: BTreeMap<String, String>,
    now: u64,
) -> ObjectMeta {
    ObjectMeta {
        v: 1,
        key: key.to_string(),
        size: rec.size,
        etag: format!("\"{}\"", crate::checksum::hex(&rec.md5)),
        modified: now,
        headers,
        metadata,
        checksum: rec.checksum.clone(),
        segments: rec
            .blob
            .iter()
            .map(|b| Segment {
                blob: b.clone(),
                size: rec.size,
            })
            .collect(),
        ..Default::default()
    }
}

/// Conditional-write check (`If-None-Match: *`, `If-Match`) of PutObject.
fn write_condition(req: &Request) -> Option<impl Fn(Option<&ObjectMeta>) -> Result<()> + Sync> {
    let none_match = req.header("if-none-match").map(str::to_string);
    let if_match = req.header("if-match").map(str::to_string);
    if none_match.is_none() && if_match.is_none() {
        return None;
    }
    Some(move |old: Option<&ObjectMeta>| {
        if none_match.as_deref() == Some("*") && old.is_some() {
            return Err(error::precondition_failed("If-None-Match"));
        }
        if let Some(m) = &if_match {
            match old {
                None => return Err(error::no_such_key("")),
                Some(o) if !etag_matches(m, &o.etag) => {
                    return Err(error::precondition_failed("If-Match"))
                }
                _ => {}
            }
        }
        Ok(())
    })
}

/// PutObject.
pub async fn put(call: &Call<'_>, body: RequestBody) -> Result<Response> {
    let b = call.s3.need_bucket(call.bucket_name())?;
    let key = call.key_name().to_string();
    check_key(&key)?;
    let (headers, metadata) = headers_of(&call.req)?;
    let tags = tags_header(&call.req);
    let rec = call.s3.blobs.receive(&call.req, body).await?;
    let mut meta = new_meta(&key, &rec, headers, metadata, call.s3.now());
    meta.tags = tags;
    meta.storage_class = call.header("x-amz-storage-class").map(str::to_string);
    let cond = write_condition(&call.req);
    let pre: Option<Precondition<'_>> = cond.as_ref().map(|c| c as Precondition<'_>);
    let meta = commit(
        call.s3,
        &b,
        meta,
        &rec.inline,
        "ObjectCreated:Put",
        pre,
        &call.ctx,
        Vec::new(),
    )
    .await?;
    let mut r = Response::empty(200).with_header("ETag", &meta.etag);
    if b.versioning.is_some() {
        r.set_header("x-amz-version-id", &meta.version_id);
    }
    if let Some((a, v)) = &meta.checksum {
        r.set_header(&format!("x-amz-checksum-{}", a.to_ascii_lowercase()), v);
    }
    Ok(r)
}

/// Whether an `If-Match`-style list names this ETag.
pub fn etag_matches(list: &str, etag: &str) -> bool {
    let bare = etag.trim_matches('"');
    list.split(',').any(|e| {
        let e = e.trim();
        e == "*" || e.trim_start_matches("W/").trim_matches('"') == bare
    })
}

fn http_date(ms: u64) -> String {
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms))
}

fn parse_date(s: &str) -> Option<u64> {
    httpdate::parse_http_date(s)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() * 1000)
}

/// GET/HEAD conditions (RFC 7232 order): `Err` is 412, `Ok(true)` is 304.
pub fn read_conditions(
    get: impl Fn(&str) -> Option<String>,
    names: [&str; 4],
    meta: &ObjectMeta,
) -> Result<bool> {
    let modified_s = meta.modified / 1000 * 1000;
    let if_match = get(names[0]);
    let if_none = get(names[1]);
    if let Some(m) = &if_match {
        if !etag_matches(m, &meta.etag) {
            return Err(error::precondition_failed(names[0]));
        }
    } else if let Some(d) = get(names[3]).and_then(|d| parse_date(&d)) {
        if modified_s > d {
            return Err(error::precondition_failed(names[3]));
        }
    }
    if let Some(m) = &if_none {
        if etag_matches(m, &meta.etag) {
            return Ok(true);
        }
    } else if let Some(d) = get(names[2]).and_then(|d| parse_date(&d)) {
        if modified_s <= d {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Parses `bytes=a-b`, `bytes=a-`, `bytes=-n` against a size: `Ok(None)`
/// when absent or not a single byte range (S3 then sends everything).
pub fn parse_range(h: Option<&str>, size: u64) -> Result<Option<(u64, u64)>> {
    let Some(spec) = h.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    let range = if a.is_empty() {
        let Ok(n) = b.parse::<u64>() else {
            return Ok(None);
        };
        if n == 0 {
            return Err(error::invalid_range(size));
        }
        (size.saturating_sub(n), size)
    } else {
        let Ok(start) = a.parse::<u64>() else {
            return Ok(None);
        };
        let end = if b.is_empty() {
            size
        } else {
            let Ok(e) = b.parse::<u64>() else {
                return Ok(None);
            };
            if e < start {
                return Ok(None);
            }
            (e + 1).min(size)
        };
        if start >= size {
            return Err(error::invalid_range(size));
        }
        (start, end)
    };
    Ok(Some(range))
}

/// The headers every GET/HEAD of an object carries.
pub fn object_headers(r: &mut Response, meta: &ObjectMeta, versioned: bool) {
    r.set_header("ETag", &meta.etag);
    r.set_header("Last-Modified", &http_date(meta.modified));
    r.set_header("Accept-Ranges", "bytes");
    r.set_header(
        "Content-Type",
        meta.headers
            .get("content-type")
            .map_or("binary/octet-stream", String::as_str),
    );
    for (k, v) in &meta.headers {
        if k != "content-type" {
            r.set_header(k, v);
        }
    }
    for (k, v) in &meta.metadata {
        r.set_header(&format!("x-amz-meta-{k}"), v);
    }
    if versioned {
        r.set_header("x-amz-version-id", &meta.version_id);
    }
    if !meta.tags.is_empty() {
        r.set_header("x-amz-tagging-count", &meta.tags.len().to_string());
    }
    if let Some(n) = meta.parts {
        r.set_header("x-amz-mp-parts-count", &n.to_string());
    }
    if let Some(sc) = meta.storage_class.as_deref().filter(|s| *s != "STANDARD") {
        r.set_header("x-amz-storage-class", sc);
    }
}

/// GetObject and HeadObject.
pub async fn get(call: &Call<'_>, head: bool) -> Result<Response> {
    let b = call.s3.need_bucket(call.bucket_name())?;
    let key = call.key_name();
    let (meta, inline) = lookup(call.s3, &b, key, call.param("versionId"))?;
    if meta.delete_marker {
        let e = if call.param("versionId").is_some() {
            error::method_not_allowed(call.req.method.as_str())
        } else {
            error::no_such_key(key)
        };
        return Err(e
            .with_header("x-amz-delete-marker", "true")
            .with_header("x-amz-version-id", &meta.version_id));
    }
    let not_modified = read_conditions(
        |h| call.header(h).map(str::to_string),
        [
            "if-match",
            "if-none-match",
            "if-modified-since",
            "if-unmodified-since",
        ],
        &meta,
    )?;
    if not_modified {
        let mut r = Response::empty(304);
        r.set_header("ETag", &meta.etag);
        r.set_header("Last-Modified", &http_date(meta.modified));
        return Ok(r);
    }
    let range = parse_range(call.header("range"), meta.size)?;
    let (start, end) = range.unwrap_or((0, meta.size));
    let mut r = Response::empty(if range.is_some() { 206 } else { 200 });
    object_headers(&mut r, &meta, b.versioning.is_some());
    if b.configs.contains_key("lifecycle") {
        let rules = crate::lifecycle::rules_of(&b);
        let is_current = call.param("versionId").is_none()
            || current(call.s3, &b, key)?.is_some_and(|(c, _)| c.vkey == meta.vkey);
        if let Some((at, id)) = crate::lifecycle::expiration(&rules, &meta).filter(|_| is_current) {
            r.set_header("x-amz-expiration", &crate::lifecycle::header(at, id));
        }
    }
    if range.is_some() {
        r.set_header(
            "Content-Range",
            &format!("bytes {start}-{}/{}", end.saturating_sub(1), meta.size),
        );
    }
    if call
        .header("x-amz-checksum-mode")
        .is_some_and(|m| m.eq_ignore_ascii_case("ENABLED"))
        && range.is_none()
    {
        if let Some((a, v)) = &meta.checksum {
            r.set_header(&format!("x-amz-checksum-{}", a.to_ascii_lowercase()), v);
        }
    }
    for (p, h) in [
        ("response-content-type", "Content-Type"),
        ("response-content-language", "Content-Language"),
        ("response-expires", "Expires"),
        ("response-cache-control", "Cache-Control"),
        ("response-content-disposition", "Content-Disposition"),
        ("response-content-encoding", "Content-Encoding"),
    ] {
        if let Some(v) = call.param(p) {
            r.set_header(h, v);
        }
    }
    let len = end - start;
    if head {
        r.set_header("Content-Length", &len.to_string());
        return Ok(r);
    }
    if meta.segments.is_empty() {
        let s = usize::try_from(start).unwrap_or(0).min(inline.len());
        let e = usize::try_from(end).unwrap_or(0).min(inline.len());
        r.body = inline.slice(s..e);
        return Ok(r);
    }
    let reader = blobs::open_range(&call.s3.blobs, &meta.segments, start, end).await?;
    r.stream = Some(serval_wire::request::StreamBody::new(reader, len));
    Ok(r)
}

/// Why an object goes: a request, or a lifecycle rule. A rule only acts
/// if the current version it judged (by sort id) is still current.
#[derive(Debug, Clone, Copy)]
pub enum Cause<'a> {
    /// DeleteObject(s): `ObjectRemoved:*` events.
    Request,
    /// Lifecycle expiration: `LifecycleExpiration:*` events.
    Lifecycle {
        /// The current version's sort id the rule was evaluated against.
        current: Option<&'a str>,
    },
}

/// Removes a key or one version of it. Returns (version id, delete marker).
pub async fn remove(
    call: &Call<'_>,
    b: &BucketMeta,
    key: &str,
    version: Option<&str>,
) -> Result<(Option<String>, bool)> {
    remove_for(call.s3, &call.ctx, b, key, version, Cause::Request).await
}

/// [`remove`] for a given cause.
pub async fn remove_for(
    s3: &crate::S3,
    ctx: &serval_core::RequestContext,
    b: &BucketMeta,
    key: &str,
    version: Option<&str>,
    cause: Cause<'_>,
) -> Result<(Option<String>, bool)> {
    let lifecycle = matches!(cause, Cause::Lifecycle { .. });
    let (ev_delete, ev_marker) = if lifecycle {
        (
            "LifecycleExpiration:Delete",
            "LifecycleExpiration:DeleteMarkerCreated",
        )
    } else {
        ("ObjectRemoved:Delete", "ObjectRemoved:DeleteMarkerCreated")
    };
    let mut garbage = Vec::new();
    let (pending, out, queued) = {
        let _g = s3.lock_key(&b.uid, key);
        if let Cause::Lifecycle {
            current: Some(judged),
        } = cause
        {
            if current(s3, b, key)?.is_none_or(|(c, _)| c.vkey != judged) {
                return Ok((None, false));
            }
        }
        let seq = s3.next_seq();
        let mut ops = Vec::new();
        let out;
        let event;
        let mut meta = ObjectMeta {
            key: key.to_string(),
            ..Default::default()
        };
        match (b.versioning.as_deref(), version) {
            (None, _) => {
                if let Some((o, _)) = current(s3, b, key)? {
                    garbage.extend(o.segments.into_iter().map(|s| s.blob));
                    ops.push(Op::Delete {
                        ks: model::KS_OBJ,
                        key: model::obj_key(&b.uid, key),
                    });
                }
                out = (None, false);
                event = ev_delete;
            }
            (Some(_), Some(v)) => {
                let all = versions(s3, b, key)?;
                let Some(pos) = all.iter().position(|(m, _)| m.version_id == v) else {
                    return Ok((Some(v.to_string()), false));
                };
                let (gone, _) = &all[pos];
                ops.push(Op::Delete {
                    ks: model::KS_VER,
                    key: model::ver_key(&b.uid, key, &gone.vkey),
                });
                garbage.extend(gone.segments.iter().map(|s| s.blob.clone()));
                if pos == 0 {
                    // The newest version goes: the next one (if an object) becomes current.
                    match all.get(1) {
                        Some((next, body)) if !next.delete_marker => ops.push(Op::Put {
                            ks: model::KS_OBJ,
                            key: model::obj_key(&b.uid, key),
                            value: model::encode_obj(next, body),
                        }),
                        _ => ops.push(Op::Delete {
                            ks: model::KS_OBJ,
                            key: model::obj_key(&b.uid, key),
                        }),
                    }
                }
                meta.version_id = v.to_string();
                out = (Some(v.to_string()), gone.delete_marker);
                event = ev_delete;
            }
            (Some(status), None) => {
                let vkey = model::vkey_of(seq);
                let vid = if status == "Enabled" {
                    vkey.clone()
                } else {
                    "null".to_string()
                };
                if status == "Suspended" {
                    for (o, _) in versions(s3, b, key)? {
                        if o.version_id == "null" {
                            ops.push(Op::Delete {
                                ks: model::KS_VER,
                                key: model::ver_key(&b.uid, key, &o.vkey),
                            });
                            garbage.extend(o.segments.into_iter().map(|s| s.blob));
                        }
                    }
                }
                let marker = ObjectMeta {
                    v: 1,
                    key: key.to_string(),
                    version_id: vid.clone(),
                    vkey: vkey.clone(),
                    modified: s3.now(),
                    delete_marker: true,
                    ..Default::default()
                };
                ops.push(Op::Put {
                    ks: model::KS_VER,
                    key: model::ver_key(&b.uid, key, &vkey),
                    value: model::encode_obj(&marker, &[]),
                });
                ops.push(Op::Delete {
                    ks: model::KS_OBJ,
                    key: model::obj_key(&b.uid, key),
                });
                meta.version_id = vid.clone();
                out = (Some(vid), true);
                event = ev_marker;
            }
        }
        let events = crate::notify::outbox_ops(s3, b, event, &meta, seq, ctx);
        let queued = !events.is_empty();
        ops.extend(events);
        (s3.store.submit(ops)?, out, queued)
    };
    pending.wait().await?;
    if queued {
        s3.outbox_wake.notify_one();
    }
    s3.blobs.remove(garbage).await;
    Ok(out)
}

/// DeleteObject.
pub async fn delete(call: &Call<'_>) -> Result<Response> {
    let b = call.s3.need_bucket(call.bucket_name())?;
    let (vid, marker) = remove(call, &b, call.key_name(), call.param("versionId")).await?;
    let mut r = Response::empty(204);
    if let Some(v) = vid {
        r.set_header("x-amz-version-id", &v);
    }
    if marker {
        r.set_header("x-amz-delete-marker", "true");
    }
    Ok(r)
}

/// DeleteObjects (up to 1000 keys).
pub async fn delete_objects(call: &Call<'_>, body: Vec<u8>) -> Result<Response> {
    let b = call.s3.need_bucket(call.bucket_name())?;
    let doc = parse(&body).ok_or_else(error::malformed_xml)?;
    let quiet = doc.text_of("Quiet") == Some("true");
    let objects: Vec<_> = doc.all("Object").collect();
    if objects.is_empty() || objects.len() > 1000 {
        return Err(error::malformed_xml());
    }
    let mut w = Writer::new("DeleteResult");
    for o in objects {
        let key = o
            .child("Key")
            .map(|k| k.text.clone())
            .ok_or_else(error::malformed_xml)?;
        let version = o.text_of("VersionId");
        match remove(call, &b, &key, version).await {
            Ok((vid, marker)) => {
                if quiet {
                    continue;
                }
                w.open("Deleted").elem("Key", &key);
                if let Some(v) = version {
                    w.elem("VersionId", v);
                }
                if marker {
                    w.elem("DeleteMarker", "true");
                    if let Some(v) = &vid {
                        w.elem("DeleteMarkerVersionId", v);
                    }
                }
                w.close("Deleted");
            }
            Err(e) => {
                w.open("Error")
                    .elem("Key", &key)
                    .elem("Code", &e.code)
                    .elem("Message", &e.message)
                    .close("Error");
            }
        }
    }
    Ok(xml(200, w.finish("DeleteResult")))
}

/// Parses `x-amz-copy-source` (`/bucket/key?versionId=v`, URL-encoded).
pub fn copy_source(v: &str) -> Result<(String, String, Option<String>)> {
    let (path, q) = match v.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (v, None),
    };
    let path = percent_encoding::percent_decode_str(path.trim_start_matches('/'))
        .decode_utf8_lossy()
        .into_owned();
    let version = q.and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "versionId")
            .map(|(_, v)| v.into_owned())
    });
    match path.split_once('/') {
        Some((b, k)) if !b.is_empty() && !k.is_empty() => {
            Ok((b.to_string(), k.to_string(), version))
        }
        _ => Err(error::invalid_argument(
            "Invalid copy source object key",
            "x-amz-copy-source",
            v,
        )),
    }
}

/// The source object of a copy, with the copy-source conditions checked.
pub fn copy_source_object(call: &Call<'_>) -> Result<(ObjectMeta, Bytes, String, String)> {
    let (sb, sk, sv) = copy_source(call.header("x-amz-copy-source").unwrap_or_default())?;
    let src_bucket = call.s3.need_bucket(&sb)?;
    let (meta, inline) = lookup(call.s3, &src_bucket, &sk, sv.as_deref())?;
    if meta.delete_marker {
        return Err(error::no_such_key(&sk));
    }
    let not_modified = read_conditions(
        |h| call.header(h).map(str::to_string),
        [
            "x-amz-copy-source-if-match",
            "x-amz-copy-source-if-none-match",
            "x-amz-copy-source-if-modified-since",
            "x-amz-copy-source-if-unmodified-since",
        ],
        &meta,
    )?;
    if not_modified {
        // For copies, a failed none-match / modified-since is a 412 too.
        let which = if call.header("x-amz-copy-source-if-none-match").is_some() {
            "x-amz-copy-source-If-None-Match"
        } else {
            "x-amz-copy-source-If-Modified-Since"
        };
        return Err(error::precondition_failed(which));
    }
    Ok((meta, inline, sb, sk))
}

/// Duplicates the blobs of an object (hard links) for a copy.
pub async fn duplicate_segments(s3: &crate::S3, segs: &[Segment]) -> Result<Vec<Segment>> {
    let mut out = Vec::with_capacity(segs.len());
    for s in segs {
        match s3.blobs.duplicate(&s.blob).await {
            Ok(id) => out.push(Segment {
                blob: id,
                size: s.size,
            }),
            Err(e) => {
                s3.blobs
                    .remove(out.into_iter().map(|s| s.blob).collect())
                    .await;
                return Err(e);
            }
        }
    }
    Ok(out)
}

/// CopyObject.
pub async fn copy(call: &Call<'_>) -> Result<Response> {
    let b = call.s3.need_bucket(call.bucket_name())?;
    let key = call.key_name().to_string();
    check_key(&key)?;
    let (src, inline, sb, sk) = copy_source_object(call)?;
    let replace = call.header("x-amz-metadata-directive") == Some("REPLACE");
    let same = sb == b.name && sk == key;
    if same
        && !replace
        && call.header("x-amz-storage-class").is_none()
        && call.header("x-amz-website-redirect-location").is_none()
    {
        return Err(error::invalid_request("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."));
    }
    let mut meta = src.clone();
    if replace {
        let (headers, metadata) = headers_of(&call.req)?;
        meta.headers = headers;
        meta.metadata = metadata;
    }
    if call.header("x-amz-tagging-directive") == Some("REPLACE") {
        meta.tags = tags_header(&call.req);
    }
    if let Some(sc) = call.header("x-amz-storage-class") {
        meta.storage_class = Some(sc.to_string());
    }
    meta.key = key;
    meta.modified = call.s3.now();
    meta.segments = duplicate_segments(call.s3, &src.segments).await?;
    let meta = commit(
        call.s3,
        &b,
        meta,
        &inline,
        "ObjectCreated:Copy",
        None,
        &call.ctx,
        Vec::new(),
    )
    .await?;
    let mut w = Writer::new("CopyObjectResult");
    w.elem("LastModified", &serval_core::time::iso8601(meta.modified))
        .elem("ETag", &meta.etag);
    if let Some((a, v)) = &meta.checksum {
        w.elem(&format!("Checksum{a}"), v);
    }
    let mut r = xml(200, w.finish("CopyObjectResult"));
    if b.versioning.is_some() {
        r.set_header("x-amz-version-id", &meta.version_id);
    }
    if let Some(v) = call.param("versionId") {
        r.set_header("x-amz-copy-source-version-id", v);
    }
    Ok(r)
}

/// Rewrites the current (or named) version's record in place (tagging).
async fn rewrite(call: &Call<'_>, f: impl FnOnce(&mut ObjectMeta)) -> Result<ObjectMeta> {
    let b = call.s3.need_bucket(call.bucket_name())?;
    let key = call.key_name();
    let pending;
    let meta = {
        let _g = call.s3.lock_key(&b.uid, key);
        let (mut meta, inline) = lookup(call.s3, &b, key, call.param("versionId"))?;
        if meta.delete_marker {
            return Err(error::method_not_allowed(call.req.method.as_str()));
        }
        f(&mut meta);
        let value = model::encode_obj(&meta, &inline);
        let mut ops = Vec::new();
        let cur = current(call.s3, &b, key)?;
        if cur.as_ref().is_some_and(|(c, _)| c.vkey == meta.vkey) {
            ops.push(Op::Put {
                ks: model::KS_OBJ,
                key: model::obj_key(&b.uid, key),
                value: value.clone(),
            });
        }
        if b.versioning.is_some() {
            ops.push(Op::Put {
                ks: model::KS_VER,
                key: model::ver_key(&b.uid, key, &meta.vkey),
                value,
            });
        }
        pending = call.s3.store.submit(ops)?;
        meta
    };
    pending.wait().await?;
    Ok(meta)
}

/// PutObjectTagging.
pub async fn put_tagging(call: &Call<'_>, body: Vec<u8>) -> Result<Response> {
    let tags = crate::ops::buckets::parse_tagging(&body, 10)?;
    let meta = rewrite(call, |m| m.tags = tags).await?;
    Ok(Response::empty(200).with_header("x-amz-version-id", &meta.version_id))
}

/// GetObjectTagging.
pub fn get_tagging(call: &Call<'_>) -> Result<Response> {
    let b = call.s3.need_bucket(call.bucket_name())?;
    let (meta, _) = lookup(call.s3, &b, call.key_name(), call.param("versionId"))?;
    let mut r = xml(200, crate::ops::buckets::tagging_xml(&meta.tags));
    r.set_header("x-amz-version-id", &meta.version_id);
    Ok(r)
}

/// DeleteObjectTagging.
pub async fn delete_tagging(call: &Call<'_>) -> Result<Response> {
    let meta = rewrite(call, |m| m.tags.clear()).await?;
    Ok(Response::empty(204).with_header("x-amz-version-id", &meta.version_id))
}
