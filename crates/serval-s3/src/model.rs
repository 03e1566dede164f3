//! Records S3 keeps in the store (all `v: 1`), their keys, and the encoding
//! of an object record (JSON, then the body of small objects kept inline).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Buckets by name (the namespace is global, as S3's).
pub const KS_BUCKET: &str = "s3_bucket";
/// Current object per key: `<bucket uid>/<key>`.
pub const KS_OBJ: &str = "s3_obj";
/// Every version of versioned buckets: `<bucket uid>/<key>\0<version sort id>`.
pub const KS_VER: &str = "s3_ver";
/// Multipart uploads in progress: `<bucket uid>/<key>\0<upload id>`.
pub const KS_MPU: &str = "s3_mpu";
/// Uploaded parts: `<upload id>/<5-digit part number>`.
pub const KS_PART: &str = "s3_part";
/// Notifications not yet delivered: `<20-digit sequence>`.
pub const KS_OUTBOX: &str = "s3_outbox";

/// A bucket and its configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BucketMeta {
    /// Record version (1).
    pub v: u32,
    /// Name.
    pub name: String,
    /// Incarnation id: prefixes every object key of this bucket.
    pub uid: String,
    /// Owning account.
    pub account: String,
    /// Region (LocationConstraint).
    pub region: String,
    /// Creation time, ms.
    pub created: u64,
    /// `Enabled` or `Suspended`; `None` when never versioned.
    #[serde(default)]
    pub versioning: Option<String>,
    /// Bucket tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Stored configuration documents by sub-resource (`cors`, `website`,
    /// `lifecycle`, `notification`, `policy`, `encryption`), as sent.
    #[serde(default)]
    pub configs: BTreeMap<String, String>,
}

/// One segment of an object's body: a blob file and its length.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Segment {
    /// Blob id (file name under `s3/blobs`).
    pub blob: String,
    /// Bytes.
    pub size: u64,
}

/// An object (or a version of one, or a delete marker).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct ObjectMeta {
    /// Record version (1).
    pub v: u32,
    /// Key.
    pub key: String,
    /// Version id as clients see it (`null` when unversioned).
    pub version_id: String,
    /// Sort id of the version (newest first).
    pub vkey: String,
    /// Size in bytes.
    pub size: u64,
    /// ETag with its quotes.
    pub etag: String,
    /// Last-Modified, ms.
    pub modified: u64,
    /// System metadata headers (content-type, content-encoding, cache-control, ...), lower-case.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// User metadata (`x-amz-meta-*` without the prefix).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Object tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Checksum algorithm and base64 value.
    #[serde(default)]
    pub checksum: Option<(String, String)>,
    /// Body segments in order; empty when the body is inline (or empty).
    #[serde(default)]
    pub segments: Vec<Segment>,
    /// Whether this is a delete marker.
    #[serde(default)]
    pub delete_marker: bool,
    /// Number of parts of a multipart object.
    #[serde(default)]
    pub parts: Option<u32>,
    /// Storage class.
    #[serde(default)]
    pub storage_class: Option<String>,
}

/// A multipart upload in progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UploadMeta {
    /// Record version (1).
    pub v: u32,
    /// Upload id.
    pub upload_id: String,
    /// Key.
    pub key: String,
    /// Initiated, ms.
    pub initiated: u64,
    /// Headers and metadata the object will get.
    pub headers: BTreeMap<String, String>,
    /// User metadata.
    pub metadata: BTreeMap<String, String>,
    /// Tags (from `x-amz-tagging`).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Checksum algorithm asked for at creation.
    #[serde(default)]
    pub checksum_algorithm: Option<String>,
    /// Storage class.
    #[serde(default)]
    pub storage_class: Option<String>,
}

/// An uploaded part.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartMeta {
    /// Record version (1).
    pub v: u32,
    /// Part number.
    pub number: u32,
    /// Size.
    pub size: u64,
    /// ETag with quotes.
    pub etag: String,
    /// Last modified, ms.
    pub modified: u64,
    /// Blob holding it.
    pub blob: String,
    /// Checksum algorithm and base64 value.
    #[serde(default)]
    pub checksum: Option<(String, String)>,
}

/// Store key of a current object.
pub fn obj_key(uid: &str, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(uid.len() + 1 + key.len());
    k.extend_from_slice(uid.as_bytes());
    k.push(b'/');
    k.extend_from_slice(key.as_bytes());
    k
}

/// Store key of a version.
pub fn ver_key(uid: &str, key: &str, vkey: &str) -> Vec<u8> {
    let mut k = obj_key(uid, key);
    k.push(0);
    k.extend_from_slice(vkey.as_bytes());
    k
}

/// Store key of an upload.
pub fn mpu_key(uid: &str, key: &str, upload_id: &str) -> Vec<u8> {
    ver_key(uid, key, upload_id)
}

/// Store key of a part.
pub fn part_key(upload_id: &str, number: u32) -> Vec<u8> {
    format!("{upload_id}/{number:05}").into_bytes()
}

/// Encodes an object record: 4-byte JSON length, JSON, inline body.
pub fn encode_obj(meta: &ObjectMeta, inline: &[u8]) -> Vec<u8> {
    let json = serde_json::to_vec(meta).unwrap_or_default();
    let mut out = Vec::with_capacity(4 + json.len() + inline.len());
    out.extend_from_slice(&(json.len() as u32).to_be_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(inline);
    out
}

/// Decodes an object record into its metadata and inline body.
pub fn decode_obj(value: &[u8]) -> Option<(ObjectMeta, bytes::Bytes)> {
    let len = u32::from_be_bytes(value.get(..4)?.try_into().ok()?) as usize;
    let json = value.get(4..4 + len)?;
    let meta = serde_json::from_slice(json).ok()?;
    Some((meta, bytes::Bytes::copy_from_slice(&value[4 + len..])))
}

/// A version sort id from a sequence number: later versions sort first.
pub fn vkey_of(seq: u64) -> String {
    format!("{:016x}", u64::MAX - seq)
}

/// Bucket name rules of S3 (general purpose buckets).
pub fn valid_bucket_name(name: &str) -> bool {
    let b = name.as_bytes();
    if !(3..=63).contains(&b.len()) {
        return false;
    }
    let ok_chars = b
        .iter()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'.' || *c == b'-');
    let edge = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let is_ip = name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok());
    ok_chars
        && edge(b[0])
        && edge(b[b.len() - 1])
        && !name.contains("..")
        && !name.contains(".-")
        && !name.contains("-.")
        && !is_ip
        && !name.starts_with("xn--")
        && !name.ends_with("-s3alias")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names() {
        for ok in ["abc", "my-bucket.1", "a1b"] {
            assert!(valid_bucket_name(ok), "{ok}");
        }
        for bad in [
            "ab",
            "ABC",
            "-abc",
            "abc-",
            "a..b",
            "192.168.1.1",
            "a_b",
            "xn--abc",
            &"a".repeat(64),
        ] {
            assert!(!valid_bucket_name(bad), "{bad}");
        }
    }

    #[test]
    fn record_roundtrip_and_version_order() {
        let m = ObjectMeta {
            key: "k".into(),
            size: 3,
            ..Default::default()
        };
        let (d, body) = decode_obj(&encode_obj(&m, b"abc")).expect("decodes");
        assert_eq!(d.key, "k");
        assert_eq!(&body[..], b"abc");
        assert!(vkey_of(2) < vkey_of(1));
        assert!(ver_key("u", "a", "x") < obj_key("u", "a!"));
    }
}
