//! Bucket operations: Create/Head/Delete/ListBuckets, location, versioning,
//! tagging, ACL (answered with the owner's full control).

use super::{xml, Call};
use crate::error::{self, Result};
use crate::model::{self, BucketMeta};
use crate::xml::{parse, Writer};
use serval_store::Op;
use serval_wire::Response;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The owner element S3 writes (id = account).
pub fn owner(w: &mut Writer, account: &str) {
    w.open("Owner")
        .elem("ID", account)
        .elem("DisplayName", "serval")
        .close("Owner");
}

/// ListBuckets.
pub fn list_buckets(call: &Call<'_>) -> Result<Response> {
    let mut w = Writer::new("ListAllMyBucketsResult");
    owner(&mut w, &call.ctx.account_id);
    w.open("Buckets");
    for b in call.s3.all_buckets() {
        if b.account != call.ctx.account_id {
            continue;
        }
        w.open("Bucket")
            .elem("Name", &b.name)
            .elem("CreationDate", &serval_core::time::iso8601(b.created))
            .elem("BucketRegion", &b.region)
            .close("Bucket");
    }
    w.close("Buckets");
    Ok(xml(200, w.finish("ListAllMyBucketsResult")))
}

/// CreateBucket.
pub async fn create(call: &Call<'_>, body: Vec<u8>) -> Result<Response> {
    let name = call.bucket_name();
    if !model::valid_bucket_name(name) {
        return Err(error::invalid_bucket_name(name));
    }
    let mut region = call.ctx.region.clone();
    if !body.iter().all(u8::is_ascii_whitespace) {
        let doc = parse(&body).ok_or_else(error::malformed_xml)?;
        if let Some(loc) = doc.text_of("LocationConstraint") {
            if !loc.is_empty() {
                region = loc.to_string();
            }
        }
    }
    let pending = {
        let mut map = call.s3.buckets_mut();
        if let Some(b) = map.get(name) {
            if b.account == call.ctx.account_id {
                // us-east-1 answers 200 to a re-create by its owner (legacy behaviour).
                if b.region == "us-east-1" && region == "us-east-1" {
                    return Ok(Response::empty(200).with_header("Location", &format!("/{name}")));
                }
                return Err(error::already_owned(name));
            }
            return Err(error::already_exists(name));
        }
        let b = BucketMeta {
            v: 1,
            name: name.to_string(),
            uid: serval_core::ids::random_hex(8),
            account: call.ctx.account_id.clone(),
            region,
            created: call.s3.now(),
            versioning: None,
            tags: BTreeMap::new(),
            configs: BTreeMap::new(),
        };
        let value = serde_json::to_vec(&b).map_err(error::internal)?;
        map.insert(name.to_string(), Arc::new(b));
        call.s3.store.submit(vec![Op::Put {
            ks: model::KS_BUCKET,
            key: name.as_bytes().to_vec(),
            value,
        }])?
    };
    pending.wait().await?;
    Ok(Response::empty(200).with_header("Location", &format!("/{name}")))
}

/// HeadBucket.
pub fn head(call: &Call<'_>) -> Result<Response> {
    let b = call.s3.need_bucket(call.bucket_name())?;
    Ok(Response::empty(200)
        .with_header("x-amz-bucket-region", &b.region)
        .with_header("x-amz-access-point-alias", "false"))
}

fn not_empty(s3: &crate::S3, uid: &str) -> Result<bool> {
    let prefix = format!("{uid}/").into_bytes();
    for ks in [model::KS_OBJ, model::KS_VER, model::KS_MPU] {
        if !s3.store.scan(ks, &prefix, None, 1)?.is_empty() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// DeleteBucket (only when empty, as S3).
pub async fn delete(call: &Call<'_>) -> Result<Response> {
    let name = call.bucket_name();
    let b = call.s3.need_bucket(name)?;
    if not_empty(call.s3, &b.uid)? {
        return Err(error::not_empty(name));
    }
    let pending = {
        let mut map = call.s3.buckets_mut();
        map.remove(name);
        call.s3.store.submit(vec![Op::Delete {
            ks: model::KS_BUCKET,
            key: name.as_bytes().to_vec(),
        }])?
    };
    pending.wait().await?;
    Ok(Response::empty(204))
}

/// GetBucketLocation (us-east-1 is the empty constraint).
pub fn location(call: &Call<'_>) -> Result<Response> {
    let b = call.s3.need_bucket(call.bucket_name())?;
    let mut w = Writer::new("LocationConstraint");
    if b.region != "us-east-1" {
        w.raw(&crate::xml::escape(&b.region));
    }
    Ok(xml(200, w.finish("LocationConstraint")))
}

/// GetBucketVersioning.
pub fn get_versioning(call: &Call<'_>) -> Result<Response> {
    let b = call.s3.need_bucket(call.bucket_name())?;
    let mut w = Writer::new("VersioningConfiguration");
    if let Some(v) = &b.versioning {
        w.elem("Status", v);
    }
    Ok(xml(200, w.finish("VersioningConfiguration")))
}

/// PutBucketVersioning. The first time versioning is enabled, the current
/// objects become the `null` versions of their keys.
pub async fn put_versioning(call: &Call<'_>, body: Vec<u8>) -> Result<Response> {
    let name = call.bucket_name();
    let b = call.s3.need_bucket(name)?;
    let doc = parse(&body).ok_or_else(error::malformed_xml)?;
    let status = doc.text_of("Status").unwrap_or("").to_string();
    if status != "Enabled" && status != "Suspended" {
        return Err(error::malformed_xml());
    }
    if b.versioning.is_none() {
        let prefix = format!("{}/", b.uid).into_bytes();
        let mut ops = Vec::new();
        for (_, v) in call.s3.store.scan_all(model::KS_OBJ, &prefix)? {
            if let Some((m, _)) = model::decode_obj(&v) {
                ops.push(Op::Put {
                    ks: model::KS_VER,
                    key: model::ver_key(&b.uid, &m.key, &m.vkey),
                    value: v,
                });
            }
        }
        if !ops.is_empty() {
            call.s3.store.write(ops).await?;
        }
    }
    call.s3
        .update_bucket(name, |b| b.versioning = Some(status))
        .await?;
    Ok(Response::empty(200))
}

/// Parses a `<Tagging><TagSet><Tag>` document (S3's limits: 50 tags, keys 128, values 256).
pub fn parse_tagging(body: &[u8], max: usize) -> Result<BTreeMap<String, String>> {
    let doc = parse(body).ok_or_else(error::malformed_xml)?;
    let set = doc.child("TagSet").ok_or_else(error::malformed_xml)?;
    let mut tags = BTreeMap::new();
    for t in set.all("Tag") {
        let k = t
            .text_of("Key")
            .ok_or_else(error::malformed_xml)?
            .to_string();
        let v = t.text_of("Value").unwrap_or("").to_string();
        if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 {
            return Err(error::invalid_argument(
                "The TagKey you have provided is invalid",
                "TagKey",
                &k,
            ));
        }
        if tags.insert(k, v).is_some() {
            return Err(error::invalid_argument(
                "Cannot provide multiple Tags with the same key",
                "",
                "",
            ));
        }
    }
    if tags.len() > max {
        return Err(error::invalid_argument(
            &format!("Object tags cannot be greater than {max}"),
            "",
            "",
        ));
    }
    Ok(tags)
}

/// A `<Tagging>` document.
pub fn tagging_xml(tags: &BTreeMap<String, String>) -> String {
    let mut w = Writer::new("Tagging");
    w.open("TagSet");
    for (k, v) in tags {
        w.open("Tag").elem("Key", k).elem("Value", v).close("Tag");
    }
    w.close("TagSet");
    w.finish("Tagging")
}

/// PutBucketTagging.
pub async fn put_tagging(call: &Call<'_>, body: Vec<u8>) -> Result<Response> {
    let tags = parse_tagging(&body, 50)?;
    call.s3
        .update_bucket(call.bucket_name(), |b| b.tags = tags)
        .await?;
    Ok(Response::empty(204))
}

/// GetBucketTagging.
pub fn get_tagging(call: &Call<'_>) -> Result<Response> {
    let b = call.s3.need_bucket(call.bucket_name())?;
    if b.tags.is_empty() {
        return Err(error::no_such_config(
            "NoSuchTagSet",
            "The TagSet does not exist",
            &b.name,
        ));
    }
    Ok(xml(200, tagging_xml(&b.tags)))
}

/// DeleteBucketTagging.
pub async fn delete_tagging(call: &Call<'_>) -> Result<Response> {
    call.s3
        .update_bucket(call.bucket_name(), |b| b.tags.clear())
        .await?;
    Ok(Response::empty(204))
}

/// GetBucketAcl / GetObjectAcl: the owner has full control.
pub fn acl(call: &Call<'_>) -> Result<Response> {
    call.s3.need_bucket(call.bucket_name())?;
    let mut w = Writer::new("AccessControlPolicy");
    owner(&mut w, &call.ctx.account_id);
    w.open("AccessControlList")
        .raw("<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\">")
        .elem("ID", &call.ctx.account_id)
        .elem("DisplayName", "serval")
        .raw("</Grantee>")
        .elem("Permission", "FULL_CONTROL")
        .raw("</Grant>")
        .close("AccessControlList");
    Ok(xml(200, w.finish("AccessControlPolicy")))
}
