//! POST Object: browser form uploads (`POST /<bucket>`, multipart/form-data).
//! The form is read as it arrives: the fields before `file` (at most 20 KB,
//! as S3) are collected and checked against the policy, then the file part
//! streams into a blob like a PutObject body; fields after it are ignored.

use super::{objects, xml, Call};
use crate::blobs::BlobWriter;
use crate::error::{self, Result};
use crate::post_policy;
use crate::xml::Writer;
use bytes::{Buf, Bytes, BytesMut};
use serval_core::AwsError;
use serval_wire::{RequestBody, Response};
use std::collections::BTreeMap;

/// Bytes of form fields S3 accepts before the file.
const MAX_PRE_DATA: usize = 20 * 1024;
/// Characters escaped in the key of the `Location` URL (`/` is kept).
const PATH_ENCODE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// Largest part header block.
const MAX_PART_HEADERS: usize = 8 * 1024;

fn malformed() -> AwsError {
    AwsError::new(
        "MalformedPOSTRequest",
        400,
        "The body of your POST request is not well-formed multipart/form-data.",
    )
}

fn missing_field(name: &str) -> AwsError {
    error::invalid_argument(
        &format!("Bucket POST must contain a field named '{name}'.  If it is specified, please check the order of the fields."),
        name,
        "",
    )
}

/// The part headers that matter.
#[derive(Debug, Default, PartialEq)]
struct PartHead {
    name: String,
    filename: Option<String>,
}

/// Parses `form-data; name="a"; filename="b"` (quotes optional, `\"` escapes).
fn disposition(v: &str) -> PartHead {
    let mut head = PartHead::default();
    let mut rest = v;
    while let Some(i) = rest.find(';') {
        rest = rest[i + 1..].trim_start();
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim().to_ascii_lowercase();
        let after = &rest[eq + 1..];
        let (value, remaining) = if let Some(q) = after.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = q.char_indices();
            let mut end = q.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            out.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => out.push(c),
                }
            }
            (out, &q[end.min(q.len())..])
        } else {
            let end = after.find(';').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        match key.as_str() {
            "name" => head.name = value,
            "filename" => head.filename = Some(value),
            _ => {}
        }
        rest = remaining;
    }
    head
}

/// The boundary of a `multipart/form-data` content type.
fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
            .filter(|b| !b.is_empty() && b.len() <= 200)
    })
}

/// Reads a multipart body part by part without holding it whole.
struct FormReader {
    body: RequestBody,
    buf: BytesMut,
    /// `\r\n--<boundary>`.
    delim: Vec<u8>,
    finder: memchr::memmem::Finder<'static>,
    in_part: bool,
    eof: bool,
}

impl FormReader {
    fn new(body: RequestBody, boundary: &str) -> Self {
        let delim = format!("\r\n--{boundary}").into_bytes();
        FormReader {
            body,
            // A leading CRLF lets the first boundary match like the others.
            buf: BytesMut::from(&b"\r\n"[..]),
            finder: memchr::memmem::Finder::new(&delim).into_owned(),
            delim,
            in_part: true,
            eof: false,
        }
    }

    /// Pulls more of the body; false at its end.
    async fn fill(&mut self) -> Result<bool> {
        if self.eof {
            return Ok(false);
        }
        match self.body.next_chunk().await? {
            Some(c) => {
                self.buf.extend_from_slice(&c);
                Ok(true)
            }
            None => {
                self.eof = true;
                Ok(false)
            }
        }
    }

    /// The next piece of the current part's value; `None` at its end.
    async fn chunk(&mut self) -> Result<Option<Bytes>> {
        loop {
            if !self.in_part {
                return Ok(None);
            }
            if let Some(pos) = self.finder.find(&self.buf) {
                let data = self.buf.split_to(pos).freeze();
                self.buf.advance(self.delim.len());
                self.in_part = false;
                if data.is_empty() {
                    return Ok(None);
                }
                return Ok(Some(data));
            }
            // Everything but a possible partial delimiter at the end is value.
            let keep = self.delim.len() - 1;
            if self.buf.len() > keep + 16 * 1024 {
                let n = self.buf.len() - keep;
                return Ok(Some(self.buf.split_to(n).freeze()));
            }
            if !self.fill().await? {
                return Err(malformed());
            }
        }
    }

    /// Skips to the end of the current part, then reads the next part's
    /// headers; `None` after the closing boundary.
    async fn next_part(&mut self) -> Result<Option<PartHead>> {
        let mut skipped = 0usize;
        while let Some(c) = self.chunk().await? {
            skipped += c.len();
            if skipped > MAX_PRE_DATA && !self.eof {
                // A preamble or trailing field this large is not a form S3 takes.
                return Err(malformed());
            }
        }
        while self.buf.len() < 2 {
            if !self.fill().await? {
                return Err(malformed());
            }
        }
        if self.buf.starts_with(b"--") {
            return Ok(None);
        }
        // Transport padding after a boundary, then CRLF.
        let end = loop {
            if let Some(i) = memchr::memmem::find(&self.buf, b"\r\n\r\n") {
                break i;
            }
            if self.buf.len() > MAX_PART_HEADERS || !self.fill().await? {
                return Err(malformed());
            }
        };
        let block = self.buf.split_to(end + 4);
        let text = std::str::from_utf8(&block).map_err(|_| malformed())?;
        let mut head = None;
        for line in text.split("\r\n").skip(1) {
            if let Some((k, v)) = line.split_once(':') {
                if k.trim().eq_ignore_ascii_case("content-disposition") {
                    head = Some(disposition(v));
                }
            }
        }
        self.in_part = true;
        head.filter(|h| !h.name.is_empty())
            .map(Some)
            .ok_or_else(malformed)
    }
}

/// System headers a form can set on the object (lower-case field names).
const FORM_HEADERS: [&str; 6] = [
    "content-type",
    "cache-control",
    "content-disposition",
    "content-encoding",
    "expires",
    "x-amz-website-redirect-location",
];

/// POST Object.
pub async fn post_object(call: &Call<'_>, body: RequestBody) -> Result<Response> {
    let b = call.s3.need_bucket(call.bucket_name())?;
    let boundary = call
        .header("content-type")
        .and_then(boundary)
        .ok_or_else(malformed)?;
    let mut form = FormReader::new(body, &boundary);
    // Fields before the file, names lower-cased (S3's are case-insensitive).
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut pre = 0usize;
    let mut file = None;
    while let Some(head) = form.next_part().await? {
        let name = head.name.to_ascii_lowercase();
        if name == "file" {
            file = Some(head);
            break;
        }
        let mut value = Vec::new();
        pre += name.len();
        while let Some(c) = form.chunk().await? {
            pre += c.len();
            if pre > MAX_PRE_DATA {
                return Err(AwsError::new(
                    "MaxPostPreDataLengthExceeded",
                    400,
                    "Your POST request fields preceeding the upload file was too large.",
                )
                .with_field("MaxPostPreDataLength", MAX_PRE_DATA.to_string().into()));
            }
            value.extend_from_slice(&c);
        }
        let value = String::from_utf8(value).map_err(|_| malformed())?;
        if !fields.iter().any(|(k, _)| *k == name) {
            fields.push((name, value));
        }
    }
    let get = |n: &str| fields.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    let raw_key = get("key").ok_or_else(|| missing_field("key"))?.to_string();
    let Some(file) = file else {
        return Err(error::invalid_argument(
            "POST requires exactly one file upload per request.",
            "file",
            "0",
        ));
    };
    let policy = check_auth(call, &fields, &b.name)?;
    let filename = file.filename.clone().unwrap_or_default();
    // Browsers may send a full client path; S3 substitutes its last part.
    let basename = filename.rsplit(['/', '\\']).next().unwrap_or_default();
    let key = raw_key.replace("${filename}", basename);
    if key.is_empty() {
        return Err(error::invalid_argument(
            "User key must have a length greater than 0.",
            "key",
            "",
        ));
    }
    if key.len() > 1024 {
        return Err(AwsError::new(
            "KeyTooLongError",
            400,
            "Your key is too long",
        ));
    }
    let mut headers = BTreeMap::new();
    let mut metadata = BTreeMap::new();
    for (k, v) in &fields {
        if FORM_HEADERS.contains(&k.as_str()) && !v.is_empty() {
            headers.insert(k.clone(), v.clone());
        } else if let Some(m) = k.strip_prefix("x-amz-meta-") {
            metadata.insert(m.to_string(), v.clone());
        }
    }
    let tags = match get("tagging") {
        Some(doc) => crate::ops::buckets::parse_tagging(doc.as_bytes(), 10)?,
        None => BTreeMap::new(),
    };
    let limit = policy.as_ref().and_then(post_policy::max_size);
    let mut writer = BlobWriter::new(&call.s3.blobs);
    let streamed: Result<()> = async {
        while let Some(c) = form.chunk().await? {
            writer.write(&c).await?;
            if let Some(max) = limit.filter(|m| writer.size() > *m) {
                return Err(error::entity_too_large(writer.size(), max));
            }
        }
        if let Some(p) = &policy {
            post_policy::check_size(p, writer.size())?;
        }
        Ok(())
    }
    .await;
    if let Err(e) = streamed {
        writer.discard().await;
        return Err(e);
    }
    let rec = writer.finish().await?;
    let mut meta = objects::new_meta(&key, &rec, headers, metadata, call.s3.now());
    meta.tags = tags;
    meta.storage_class = get("x-amz-storage-class").map(str::to_string);
    let meta = objects::commit(
        call.s3,
        &b,
        meta,
        &rec.inline,
        "ObjectCreated:Post",
        None,
        &call.ctx,
        Vec::new(),
    )
    .await?;
    let host = call.req.host().unwrap_or_else(|| "localhost:4566".into());
    let enc_key = percent_encoding::utf8_percent_encode(&key, PATH_ENCODE);
    let location = format!("http://{host}/{}/{enc_key}", b.name);
    let redirect = get("success_action_redirect")
        .or_else(|| get("redirect"))
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"));
    let mut r = if let Some(url) = redirect {
        let q: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("bucket", &b.name)
            .append_pair("key", &key)
            .append_pair("etag", &meta.etag)
            .finish();
        let sep = if url.contains('?') { '&' } else { '?' };
        Response::empty(303).with_header("Location", &format!("{url}{sep}{q}"))
    } else {
        match get("success_action_status") {
            Some("200") => Response::empty(200),
            Some("201") => {
                let mut w = Writer::new("PostResponse");
                w.elem("Location", &location)
                    .elem("Bucket", &b.name)
                    .elem("Key", &key)
                    .elem("ETag", &meta.etag);
                xml(201, w.finish("PostResponse"))
            }
            _ => Response::empty(204),
        }
        .with_header("Location", &location)
    };
    r.set_header("ETag", &meta.etag);
    if b.versioning.is_some() {
        r.set_header("x-amz-version-id", &meta.version_id);
    }
    Ok(r)
}

/// The signature fields a signed form must carry, and its policy: SigV4
/// (`x-amz-algorithm`, `x-amz-credential`, `x-amz-date`, `x-amz-signature`)
/// or SigV2 (`AWSAccessKeyId`, `signature`). Signatures are not verified
/// (Serval accepts any secret); the policy's expiry and conditions are.
/// A form with neither policy nor credentials is an anonymous upload.
fn check_auth(
    call: &Call<'_>,
    fields: &[(String, String)],
    bucket: &str,
) -> Result<Option<post_policy::Policy>> {
    let has = |n: &str| fields.iter().any(|(k, _)| k == n);
    let policy = fields.iter().find(|(k, _)| k == "policy").map(|(_, v)| v);
    let v4 = has("x-amz-credential") || has("x-amz-algorithm") || has("x-amz-signature");
    let v2 = has("awsaccesskeyid") || has("signature");
    let Some(policy) = policy else {
        if v4 || v2 {
            return Err(missing_field("policy"));
        }
        return Ok(None);
    };
    let needed: &[(&str, &str)] = if v4 || !v2 {
        &[
            ("x-amz-algorithm", "X-Amz-Algorithm"),
            ("x-amz-credential", "X-Amz-Credential"),
            ("x-amz-date", "X-Amz-Date"),
            ("x-amz-signature", "X-Amz-Signature"),
        ]
    } else {
        &[
            ("awsaccesskeyid", "AWSAccessKeyId"),
            ("signature", "Signature"),
        ]
    };
    for (n, shown) in needed {
        if !has(n) {
            return Err(missing_field(shown));
        }
    }
    if v4 {
        let alg = fields
            .iter()
            .find(|(k, _)| k == "x-amz-algorithm")
            .map_or("", |(_, v)| v.as_str());
        if alg != "AWS4-HMAC-SHA256" {
            return Err(error::invalid_argument(
                "Only AWS4-HMAC-SHA256 is supported",
                "X-Amz-Algorithm",
                alg,
            ));
        }
    }
    let parsed = post_policy::parse(policy)?;
    post_policy::check(&parsed, fields, bucket, call.s3.now())?;
    Ok(Some(parsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_disposition_and_boundary() {
        assert_eq!(
            disposition(r#"form-data; name="file"; filename="a \"b\";c.txt""#),
            PartHead {
                name: "file".into(),
                filename: Some("a \"b\";c.txt".into())
            }
        );
        assert_eq!(disposition("form-data; name=key").name, "key");
        assert_eq!(
            boundary("multipart/form-data; boundary=\"xyz\"").as_deref(),
            Some("xyz")
        );
        assert_eq!(boundary("multipart/form-data"), None);
    }

    async fn read_all(body: &'static [u8], boundary: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let mut r = FormReader::new(RequestBody::from_bytes(Bytes::from_static(body)), boundary);
        let mut out = Vec::new();
        while let Some(h) = r.next_part().await? {
            let mut v = Vec::new();
            while let Some(c) = r.chunk().await? {
                v.extend_from_slice(&c);
            }
            out.push((h.name, v));
        }
        Ok(out)
    }

    #[tokio::test]
    async fn reads_parts() {
        let body = b"preamble\r\n--XX\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk/${filename}\r\n--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\nContent-Type: text/plain\r\n\r\nline1\r\n--X not the end\r\n--XX--\r\n";
        let parts = read_all(body, "XX").await.expect("parses");
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], ("key".into(), b"k/${filename}".to_vec()));
        assert_eq!(parts[1].1, b"line1\r\n--X not the end".to_vec());
        assert!(read_all(
            b"--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end",
            "XX"
        )
        .await
        .is_err());
    }
}
