//! Multipart uploads: Create, UploadPart, UploadPartCopy, Complete, Abort,
//! ListParts, ListMultipartUploads. Parts are blobs; completing an upload
//! makes them the segments of the object without copying a byte.

use super::{xml, Call};
use crate::checksum::{self, Algorithm};
use crate::error::{self, Result};
use crate::model::{self, BucketMeta, ObjectMeta, PartMeta, Segment, UploadMeta};
use crate::ops::objects;
use crate::xml::{parse, Writer};
use serval_store::Op;
use serval_wire::{RequestBody, Response};
use tokio::io::AsyncReadExt;

/// The smallest part but the last (5 MiB).
pub const MIN_PART: u64 = 5 * 1024 * 1024;

fn load_upload(call: &Call<'_>, b: &BucketMeta) -> Result<UploadMeta> {
    let id = call.param("uploadId").unwrap_or_default();
    call.s3
        .store
        .get(model::KS_MPU, &model::mpu_key(&b.uid, call.key_name(), id))?
        .and_then(|v| serde_json::from_slice(&v).ok())
        .ok_or_else(|| error::no_such_upload(id))
}

fn parts_of(call: &Call<'_>, upload_id: &str) -> Result<Vec<PartMeta>> {
    upload_parts(call.s3, upload_id)
}

fn upload_parts(s3: &crate::S3, upload_id: &str) -> Result<Vec<PartMeta>> {
    let prefix = format!("{upload_id}/").into_bytes();
    Ok(s3
        .store
        .scan_all(model::KS_PART, &prefix)?
        .into_iter()
        .filter_map(|(_, v)| serde_json::from_slice(&v).ok())
        .collect())
}

/// CreateMultipartUpload.
pub async fn create(call: &Call<'_>) -> Result<Response> {
    let b = call.s3.need_bucket(call.bucket_name())?;
    let (headers, metadata) = objects::headers_of(&call.req)?;
    let algo = call
        .header("x-amz-checksum-algorithm")
        .and_then(Algorithm::parse)
        .map(|a| a.name().to_string());
    let upload = UploadMeta {
        v: 1,
        upload_id: serval_core::ids::random_hex(24),
        key: call.key_name().to_string(),
        initiated: call.s3.now(),
        headers,
        metadata,
        tags: objects::tags_header(&call.req),
        checksum_algorithm: algo.clone(),
        storage_class: call.header("x-amz-storage-class").map(str::to_string),
    };
    call.s3
        .store
        .write(vec![Op::Put {
            ks: model::KS_MPU,
            key: model::mpu_key(&b.uid, &upload.key, &upload.upload_id),
            value: serde_json::to_vec(&upload).map_err(error::internal)?,
        }])
        .await?;
    let mut w = Writer::new("InitiateMultipartUploadResult");
    w.elem("Bucket", &b.name)
        .elem("Key", &upload.key)
        .elem("UploadId", &upload.upload_id);
    let mut r = xml(200, w.finish("InitiateMultipartUploadResult"));
    if let Some(a) = algo {
        r.set_header("x-amz-checksum-algorithm", &a);
    }
    Ok(r)
}

fn part_number(call: &Call<'_>) -> Result<u32> {
    let raw = call.param("partNumber").unwrap_or_default();
    raw.parse::<u32>()
        .ok()
        .filter(|n| (1..=10_000).contains(n))
        .ok_or_else(|| {
            error::invalid_argument(
                "Part number must be an integer between 1 and 10000, inclusive",
                "partNumber",
                raw,
            )
        })
}

async fn save_part(call: &Call<'_>, upload: &UploadMeta, part: PartMeta) -> Result<()> {
    let key = model::part_key(&upload.upload_id, part.number);
    let old = {
        let _g = call.s3.lock_key(&upload.upload_id, "");
        let old: Option<PartMeta> = call
            .s3
            .store
            .get(model::KS_PART, &key)?
            .and_then(|v| serde_json::from_slice(&v).ok());
        let p = call.s3.store.submit(vec![Op::Put {
            ks: model::KS_PART,
            key,
            value: serde_json::to_vec(&part).map_err(error::internal)?,
        }])?;
        (p, old)
    };
    old.0.wait().await?;
    if let Some(o) = old.1 {
        call.s3.blobs.remove(vec![o.blob]).await;
    }
    Ok(())
}

/// UploadPart.
pub async fn upload_part(call: &Call<'_>, body: RequestBody) -> Result<Response> {
    let b = call.s3.need_bucket(call.bucket_name())?;
    let number = part_number(call)?;
    let upload = load_upload(call, &b)?;
    let rec = call.s3.blobs.receive(&call.req, body).await?;
    let blob = match rec.blob.clone() {
        Some(id) => id,
        None => call.s3.blobs.write_new(&rec.inline).await?,
    };
    let part = PartMeta {
        v: 1,
        number,
        size: rec.size,
        etag: format!("\"{}\"", checksum::hex(&rec.md5)),
        modified: call.s3.now(),
        blob,
        checksum: rec.checksum.clone(),
    };
    let etag = part.etag.clone();
    save_part(call, &upload, part).await?;
    let mut r = Response::empty(200).with_header("ETag", &etag);
    if let Some((a, v)) = &rec.checksum {
        r.set_header(&format!("x-amz-checksum-{}", a.to_ascii_lowercase()), v);
    }
    Ok(r)
}

/// UploadPartCopy (with `x-amz-copy-source-range`).
pub async fn upload_part_copy(call: &Call<'_>) -> Result<Response> {
    let b = call.s3.need_bucket(call.bucket_name())?;
    let number = part_number(call)?;
    let upload = load_upload(call, &b)?;
    let (src, inline, _, _) = objects::copy_source_object(call)?;
    let (start, end) = match call.header("x-amz-copy-source-range") {
        None => (0, src.size),
        Some(r) => {
            let range = r
                .strip_prefix("bytes=")
                .and_then(|s| s.split_once('-'))
                .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)));
            match range {
                Some((a, z)) if a <= z && z < src.size => (a, z + 1),
                _ => {
                    return Err(error::invalid_argument(
                        "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
                        "x-amz-copy-source-range",
                        r,
                    ))
                }
            }
        }
    };
    // Copy the range through a hasher into a new blob.
    let mut md5 = <md5::Md5 as md5::Digest>::new();
    let data_blob = if src.segments.is_empty() {
        let s = usize::try_from(start).unwrap_or(0).min(inline.len());
        let e = usize::try_from(end).unwrap_or(0).min(inline.len());
        md5::Digest::update(&mut md5, &inline[s..e]);
        call.s3.blobs.write_new(&inline[s..e]).await?
    } else {
        let mut reader =
            crate::blobs::open_range(&call.s3.blobs, &src.segments, start, end).await?;
        let mut buf = vec![0u8; 256 * 1024];
        let mut data = Vec::new();
        // Ranges are at most 5 GB; write through a temp blob in 8 MB steps.
        let id = serval_core::ids::random_hex(16);
        let path = call.s3.blobs.path(&id);
        let mut f = tokio::fs::File::create(&path)
            .await
            .map_err(error::internal)?;
        loop {
            let n = reader.read(&mut buf).await.map_err(error::internal)?;
            if n == 0 {
                break;
            }
            md5::Digest::update(&mut md5, &buf[..n]);
            data.extend_from_slice(&buf[..n]);
            if data.len() >= 8 * 1024 * 1024 {
                tokio::io::AsyncWriteExt::write_all(&mut f, &data)
                    .await
                    .map_err(error::internal)?;
                data.clear();
            }
        }
        tokio::io::AsyncWriteExt::write_all(&mut f, &data)
            .await
            .map_err(error::internal)?;
        tokio::io::AsyncWriteExt::flush(&mut f)
            .await
            .map_err(error::internal)?;
        id
    };
    let digest: [u8; 16] = md5::Digest::finalize(md5).into();
    let part = PartMeta {
        v: 1,
        number,
        size: end - start,
        etag: format!("\"{}\"", checksum::hex(&digest)),
        modified: call.s3.now(),
        blob: data_blob,
        checksum: None,
    };
    let (etag, modified) = (part.etag.clone(), part.modified);
    save_part(call, &upload, part).await?;
    let mut w = Writer::new("CopyPartResult");
    w.elem("LastModified", &serval_core::time::iso8601(modified))
        .elem("ETag", &etag);
    Ok(xml(200, w.finish("CopyPartResult")))
}

/// CompleteMultipartUpload.
pub async fn complete(call: &Call<'_>, body: Vec<u8>) -> Result<Response> {
    let b = call.s3.need_bucket(call.bucket_name())?;
    let upload = load_upload(call, &b)?;
    let doc = parse(&body).ok_or_else(error::malformed_xml)?;
    let asked: Vec<(u32, String)> = doc
        .all("Part")
        .map(|p| {
            let n = p
                .text_of("PartNumber")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            (n, p.text_of("ETag").unwrap_or("").to_string())
        })
        .collect();
    if asked.is_empty() {
        return Err(error::malformed_xml());
    }
    if asked.windows(2).any(|w| w[0].0 >= w[1].0) {
        return Err(error::invalid_part_order());
    }
    let stored = parts_of(call, &upload.upload_id)?;
    let mut chosen = Vec::new();
    for (n, etag) in &asked {
        let p = stored
            .iter()
            .find(|p| {
                p.number == *n && objects::etag_matches(etag, &p.etag) && !etag.trim().is_empty()
            })
            .ok_or_else(|| error::invalid_part(*n, etag))?;
        chosen.push(p.clone());
    }
    for p in &chosen[..chosen.len() - 1] {
        if p.size < MIN_PART {
            return Err(error::entity_too_small(p.size)
                .with_field("PartNumber", p.number.to_string().into())
                .with_field("ETag", p.etag.clone().into()));
        }
    }
    let md5s: Vec<[u8; 16]> = chosen
        .iter()
        .map(|p| {
            let hex = p.etag.trim_matches('"');
            let mut out = [0u8; 16];
            for (i, o) in out.iter_mut().enumerate() {
                *o = u8::from_str_radix(hex.get(2 * i..2 * i + 2).unwrap_or("00"), 16).unwrap_or(0);
            }
            out
        })
        .collect();
    let checksum = upload
        .checksum_algorithm
        .as_deref()
        .and_then(Algorithm::parse)
        .and_then(|a| {
            let mut h = a.hasher();
            for p in &chosen {
                let (pa, v) = p.checksum.as_ref()?;
                if pa != a.name() {
                    return None;
                }
                h.update(&checksum::unb64(v)?);
            }
            Some((
                a.name().to_string(),
                format!("{}-{}", checksum::b64(&h.finish()), chosen.len()),
            ))
        });
    let meta = ObjectMeta {
        v: 1,
        key: upload.key.clone(),
        size: chosen.iter().map(|p| p.size).sum(),
        etag: checksum::multipart_etag(&md5s),
        modified: call.s3.now(),
        headers: upload.headers.clone(),
        metadata: upload.metadata.clone(),
        tags: upload.tags.clone(),
        checksum,
        segments: chosen
            .iter()
            .map(|p| Segment {
                blob: p.blob.clone(),
                size: p.size,
            })
            .collect(),
        parts: Some(chosen.len() as u32),
        storage_class: upload.storage_class.clone(),
        ..Default::default()
    };
    let mut extra = vec![Op::Delete {
        ks: model::KS_MPU,
        key: model::mpu_key(&b.uid, &upload.key, &upload.upload_id),
    }];
    extra.push(Op::DeletePrefix {
        ks: model::KS_PART,
        prefix: format!("{}/", upload.upload_id).into_bytes(),
    });
    let unused: Vec<String> = stored
        .iter()
        .filter(|p| !chosen.iter().any(|c| c.number == p.number))
        .map(|p| p.blob.clone())
        .collect();
    let meta = objects::commit(
        call.s3,
        &b,
        meta,
        &[],
        "ObjectCreated:CompleteMultipartUpload",
        None,
        &call.ctx,
        extra,
    )
    .await?;
    call.s3.blobs.remove(unused).await;
    let mut w = Writer::new("CompleteMultipartUploadResult");
    w.elem("Location", &format!("/{}/{}", b.name, meta.key))
        .elem("Bucket", &b.name)
        .elem("Key", &meta.key)
        .elem("ETag", &meta.etag);
    if let Some((a, v)) = &meta.checksum {
        w.elem(&format!("Checksum{a}"), v);
    }
    let mut r = xml(200, w.finish("CompleteMultipartUploadResult"));
    if b.versioning.is_some() {
        r.set_header("x-amz-version-id", &meta.version_id);
    }
    Ok(r)
}

/// AbortMultipartUpload.
pub async fn abort(call: &Call<'_>) -> Result<Response> {
    let b = call.s3.need_bucket(call.bucket_name())?;
    let upload = load_upload(call, &b)?;
    abort_upload(call.s3, &b, &upload).await?;
    Ok(Response::empty(204))
}

/// Removes an upload, its parts and their blobs (AbortMultipartUpload, lifecycle).
pub async fn abort_upload(s3: &crate::S3, b: &BucketMeta, upload: &UploadMeta) -> Result<()> {
    let parts = upload_parts(s3, &upload.upload_id)?;
    s3.store
        .write(vec![
            Op::Delete {
                ks: model::KS_MPU,
                key: model::mpu_key(&b.uid, &upload.key, &upload.upload_id),
            },
            Op::DeletePrefix {
                ks: model::KS_PART,
                prefix: format!("{}/", upload.upload_id).into_bytes(),
            },
        ])
        .await?;
    s3.blobs
        .remove(parts.into_iter().map(|p| p.blob).collect())
        .await;
    Ok(())
}

/// ListParts.
pub fn list_parts(call: &Call<'_>) -> Result<Response> {
    let b = call.s3.need_bucket(call.bucket_name())?;
    let upload = load_upload(call, &b)?;
    let max = call
        .param("max-parts")
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(1000)
        .min(1000);
    let marker = call
        .param("part-number-marker")
        .and_then(|m| m.parse::<u32>().ok())
        .unwrap_or(0);
    let parts: Vec<PartMeta> = parts_of(call, &upload.upload_id)?
        .into_iter()
        .filter(|p| p.number > marker)
        .collect();
    let truncated = parts.len() > max;
    let shown = &parts[..parts.len().min(max)];
    let mut w = Writer::new("ListPartsResult");
    w.elem("Bucket", &b.name)
        .elem("Key", &upload.key)
        .elem("UploadId", &upload.upload_id)
        .elem("PartNumberMarker", &marker.to_string());
    if let Some(l) = shown.last() {
        w.elem("NextPartNumberMarker", &l.number.to_string());
    }
    w.elem("MaxParts", &max.to_string())
        .elem("IsTruncated", if truncated { "true" } else { "false" });
    w.open("Initiator")
        .elem("ID", &b.account)
        .elem("DisplayName", "serval")
        .close("Initiator");
    crate::ops::buckets::owner(&mut w, &b.account);
    w.elem(
        "StorageClass",
        upload.storage_class.as_deref().unwrap_or("STANDARD"),
    );
    if let Some(a) = &upload.checksum_algorithm {
        w.elem("ChecksumAlgorithm", a);
    }
    for p in shown {
        w.open("Part")
            .elem("PartNumber", &p.number.to_string())
            .elem("LastModified", &serval_core::time::iso8601(p.modified))
            .elem("ETag", &p.etag)
            .elem("Size", &p.size.to_string());
        if let Some((a, v)) = &p.checksum {
            w.elem(&format!("Checksum{a}"), v);
        }
        w.close("Part");
    }
    Ok(xml(200, w.finish("ListPartsResult")))
}

/// ListMultipartUploads.
pub fn list_uploads(call: &Call<'_>) -> Result<Response> {
    let b = call.s3.need_bucket(call.bucket_name())?;
    let prefix = call.param("prefix").unwrap_or("");
    let max = call
        .param("max-uploads")
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(1000)
        .min(1000);
    let after = call
        .param("key-marker")
        .map(|k| match call.param("upload-id-marker") {
            Some(u) => model::mpu_key(&b.uid, k, u),
            None => {
                let mut key = model::obj_key(&b.uid, k);
                key.push(0xff);
                key
            }
        });
    let rows = call.s3.store.scan(
        model::KS_MPU,
        &model::obj_key(&b.uid, prefix),
        after.as_deref(),
        max + 1,
    )?;
    let uploads: Vec<UploadMeta> = rows
        .into_iter()
        .filter_map(|(_, v)| serde_json::from_slice(&v).ok())
        .collect();
    let truncated = uploads.len() > max;
    let shown = &uploads[..uploads.len().min(max)];
    let mut w = Writer::new("ListMultipartUploadsResult");
    w.elem("Bucket", &b.name)
        .elem("KeyMarker", call.param("key-marker").unwrap_or(""))
        .elem(
            "UploadIdMarker",
            call.param("upload-id-marker").unwrap_or(""),
        );
    if let Some(l) = shown.last() {
        w.elem("NextKeyMarker", &l.key)
            .elem("NextUploadIdMarker", &l.upload_id);
    }
    w.elem("Prefix", prefix)
        .elem("MaxUploads", &max.to_string())
        .elem("IsTruncated", if truncated { "true" } else { "false" });
    for u in shown {
        w.open("Upload")
            .elem("Key", &u.key)
            .elem("UploadId", &u.upload_id);
        w.open("Initiator")
            .elem("ID", &b.account)
            .elem("DisplayName", "serval")
            .close("Initiator");
        crate::ops::buckets::owner(&mut w, &b.account);
        w.elem(
            "StorageClass",
            u.storage_class.as_deref().unwrap_or("STANDARD"),
        )
        .elem("Initiated", &serval_core::time::iso8601(u.initiated));
        w.close("Upload");
    }
    Ok(xml(200, w.finish("ListMultipartUploadsResult")))
}
