//! ListObjects, ListObjectsV2 and ListObjectVersions: prefix, delimiter
//! (common prefixes skip the whole group in one seek), pagination,
//! `encoding-type=url`, `start-after`.

use super::{xml, Call};
use crate::error::{self, Result};
use crate::model::{self, ObjectMeta};
use crate::xml::Writer;
use serval_wire::Response;

/// One listing entry.
#[derive(Debug)]
pub enum Entry {
    /// An object (or version).
    Object(Box<ObjectMeta>),
    /// A common prefix.
    Prefix(String),
}

/// Walks keys of `ks` under `<uid>/<prefix>` strictly after `after`,
/// grouping by `delimiter`, up to `max` entries. Returns the entries and
/// whether more remain. `versions` keeps every version of a key.
pub fn walk(
    s3: &crate::S3,
    ks: &'static str,
    uid: &str,
    prefix: &str,
    delimiter: Option<&str>,
    after: Option<Vec<u8>>,
    max: usize,
) -> Result<(Vec<Entry>, bool)> {
    let base = model::obj_key(uid, prefix);
    let mut out = Vec::new();
    let mut cursor = after;
    loop {
        let page = s3.store.scan(ks, &base, cursor.as_deref(), 256)?;
        let done = page.len() < 256;
        let mut jumped = false;
        for (k, v) in page {
            cursor = Some(k);
            let Some((meta, _)) = model::decode_obj(&v) else {
                continue;
            };
            let rest = meta.key.get(prefix.len()..).unwrap_or("");
            if let Some(d) = delimiter.filter(|d| !d.is_empty()) {
                if let Some(p) = rest.find(d) {
                    if out.len() >= max {
                        return Ok((out, true));
                    }
                    let cp = meta.key[..prefix.len() + p + d.len()].to_string();
                    // Skip every key of this group: seek past `<uid>/<cp>\xff`.
                    let mut skip = model::obj_key(uid, &cp);
                    skip.push(0xff);
                    out.push(Entry::Prefix(cp));
                    cursor = Some(skip);
                    jumped = true;
                    break;
                }
            }
            if out.len() >= max {
                return Ok((out, true));
            }
            out.push(Entry::Object(Box::new(meta)));
        }
        if done && !jumped {
            return Ok((out, false));
        }
    }
}

/// S3's URL encoding of keys (`encoding-type=url`, event records): `/` kept, space as `+`.
pub fn url_encode(s: &str) -> String {
    enc(s, true)
}

fn enc(s: &str, url: bool) -> String {
    if url {
        const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'_')
            .remove(b'.')
            .remove(b'~')
            .remove(b'/');
        percent_encoding::utf8_percent_encode(s, SET)
            .to_string()
            .replace("%20", "+")
    } else {
        s.to_string()
    }
}

fn max_keys(call: &Call<'_>) -> Result<usize> {
    match call.param("max-keys") {
        None => Ok(1000),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(|n| (n as usize).min(1000))
            .ok_or_else(|| {
                error::invalid_argument(
                    "Provided max-keys not an integer or within integer range",
                    "max-keys",
                    v,
                )
            }),
    }
}

fn object_xml(w: &mut Writer, m: &ObjectMeta, url: bool, owner: Option<&str>) {
    w.elem("Key", &enc(&m.key, url))
        .elem("LastModified", &serval_core::time::iso8601(m.modified))
        .elem("ETag", &m.etag);
    if let Some((a, _)) = &m.checksum {
        w.elem("ChecksumAlgorithm", a);
    }
    w.elem("Size", &m.size.to_string());
    if let Some(o) = owner {
        crate::ops::buckets::owner(w, o);
    }
    w.elem(
        "StorageClass",
        m.storage_class.as_deref().unwrap_or("STANDARD"),
    );
}

/// ListObjects (v1) and ListObjectsV2.
pub fn list_objects(call: &Call<'_>) -> Result<Response> {
    let b = call.s3.need_bucket(call.bucket_name())?;
    let v2 = call.param("list-type") == Some("2");
    let prefix = call.param("prefix").unwrap_or("");
    let delimiter = call.param("delimiter").filter(|d| !d.is_empty());
    let url = match call.param("encoding-type") {
        None => false,
        Some("url") => true,
        Some(o) => {
            return Err(error::invalid_argument(
                "Invalid Encoding Method specified in Request",
                "encoding-type",
                o,
            ))
        }
    };
    let max = max_keys(call)?;
    let token = call.param("continuation-token");
    let start = if v2 {
        match token {
            Some(t) => Some(
                crate::checksum::unb64(t)
                    .and_then(|k| String::from_utf8(k).ok())
                    .ok_or_else(|| {
                        error::invalid_argument(
                            "The continuation token provided is incorrect",
                            "continuation-token",
                            t,
                        )
                    })?,
            ),
            None => call.param("start-after").map(str::to_string),
        }
    } else {
        call.param("marker").map(str::to_string)
    };
    let after = start.as_deref().map(|s| {
        let mut k = model::obj_key(&b.uid, s);
        // A marker that is a common prefix skips its whole group.
        if delimiter.is_some_and(|d| s.ends_with(d)) {
            k.push(0xff);
        }
        k
    });
    let (entries, truncated) = if max == 0 {
        (Vec::new(), false)
    } else {
        walk(
            call.s3,
            model::KS_OBJ,
            &b.uid,
            prefix,
            delimiter,
            after,
            max,
        )?
    };
    let root = "ListBucketResult";
    let mut w = Writer::new(root);
    w.elem("IsTruncated", if truncated { "true" } else { "false" });
    let last = entries.last().map(|e| match e {
        Entry::Object(m) => m.key.clone(),
        Entry::Prefix(p) => p.clone(),
    });
    if v2 {
        if let Some(t) = token {
            w.elem("ContinuationToken", t);
        }
        if let Some(sa) = call.param("start-after") {
            w.elem("StartAfter", &enc(sa, url));
        }
        if truncated {
            if let Some(l) = &last {
                w.elem("NextContinuationToken", &crate::checksum::b64(l.as_bytes()));
            }
        }
    } else {
        w.elem("Marker", &enc(call.param("marker").unwrap_or(""), url));
        if truncated && delimiter.is_some() {
            if let Some(l) = &last {
                w.elem("NextMarker", &enc(l, url));
            }
        }
    }
    w.elem("Name", &b.name).elem("Prefix", &enc(prefix, url));
    if let Some(d) = delimiter {
        w.elem("Delimiter", &enc(d, url));
    }
    w.elem("MaxKeys", &max.to_string());
    if url {
        w.elem("EncodingType", "url");
    }
    if v2 {
        w.elem("KeyCount", &entries.len().to_string());
    }
    let owner = (!v2 || call.param("fetch-owner") == Some("true")).then_some(b.account.as_str());
    for e in &entries {
        if let Entry::Object(m) = e {
            w.open("Contents");
            object_xml(&mut w, m, url, owner);
            w.close("Contents");
        }
    }
    for e in &entries {
        if let Entry::Prefix(p) = e {
            w.open("CommonPrefixes")
                .elem("Prefix", &enc(p, url))
                .close("CommonPrefixes");
        }
    }
    Ok(xml(200, w.finish(root)))
}

/// ListObjectVersions.
pub fn list_versions(call: &Call<'_>) -> Result<Response> {
    let b = call.s3.need_bucket(call.bucket_name())?;
    let prefix = call.param("prefix").unwrap_or("");
    let delimiter = call.param("delimiter").filter(|d| !d.is_empty());
    let url = call.param("encoding-type") == Some("url");
    let max = max_keys(call)?;
    let ks = if b.versioning.is_some() {
        model::KS_VER
    } else {
        model::KS_OBJ
    };
    let after = call.param("key-marker").map(|k| {
        let mut key = model::obj_key(&b.uid, k);
        match call.param("version-id-marker").filter(|v| !v.is_empty()) {
            Some(v) if b.versioning.is_some() => {
                // Resume after that version of the key.
                if let Ok(vs) = crate::ops::objects::versions(call.s3, &b, k) {
                    if let Some((m, _)) = vs.iter().find(|(m, _)| m.version_id == v) {
                        key = model::ver_key(&b.uid, k, &m.vkey);
                    }
                }
            }
            _ => key.push(0xff),
        }
        key
    });
    let (entries, truncated) = walk(call.s3, ks, &b.uid, prefix, delimiter, after, max.max(1))?;
    let mut w = Writer::new("ListVersionsResult");
    w.elem("IsTruncated", if truncated { "true" } else { "false" })
        .elem("KeyMarker", call.param("key-marker").unwrap_or(""))
        .elem(
            "VersionIdMarker",
            call.param("version-id-marker").unwrap_or(""),
        );
    if truncated {
        match entries.last() {
            Some(Entry::Object(m)) => {
                w.elem("NextKeyMarker", &enc(&m.key, url))
                    .elem("NextVersionIdMarker", &m.version_id);
            }
            Some(Entry::Prefix(p)) => {
                w.elem("NextKeyMarker", &enc(p, url));
            }
            None => {}
        }
    }
    w.elem("Name", &b.name).elem("Prefix", &enc(prefix, url));
    if let Some(d) = delimiter {
        w.elem("Delimiter", d);
    }
    w.elem("MaxKeys", &max.to_string());
    let mut prev_key: Option<String> = None;
    for e in &entries {
        if let Entry::Object(m) = e {
            let latest = prev_key.as_deref() != Some(m.key.as_str());
            prev_key = Some(m.key.clone());
            let el = if m.delete_marker {
                "DeleteMarker"
            } else {
                "Version"
            };
            w.open(el)
                .elem("Key", &enc(&m.key, url))
                .elem("VersionId", &m.version_id)
                .elem("IsLatest", if latest { "true" } else { "false" })
                .elem("LastModified", &serval_core::time::iso8601(m.modified));
            if m.delete_marker {
                crate::ops::buckets::owner(&mut w, &b.account);
            } else {
                w.elem("ETag", &m.etag).elem("Size", &m.size.to_string());
                crate::ops::buckets::owner(&mut w, &b.account);
                w.elem("StorageClass", "STANDARD");
            }
            w.close(el);
        }
    }
    for e in &entries {
        if let Entry::Prefix(p) = e {
            w.open("CommonPrefixes")
                .elem("Prefix", &enc(p, url))
                .close("CommonPrefixes");
        }
    }
    Ok(xml(200, w.finish("ListVersionsResult")))
}
