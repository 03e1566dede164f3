//! Where the bucket and key of a request are: in the host name
//! (`<bucket>.s3.localhost`, `<bucket>.s3.<region>.localhost`,
//! `<bucket>.s3-website.localhost`, `<bucket>.localhost` when signed for S3)
//! or in the path (`/<bucket>/<key>`).

use serval_wire::Request;

/// The target of a request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Target {
    /// Bucket, when named.
    pub bucket: Option<String>,
    /// Key, when named (may be empty only when absent).
    pub key: Option<String>,
    /// Addressed as a static website.
    pub website: bool,
}

/// The bucket a host name names, and whether it is a website endpoint.
pub fn host_bucket(host: &str, signed_for_s3: bool) -> Option<(String, bool)> {
    let host = host.trim_end_matches('.');
    for marker in [".s3-website.", ".s3-website-"] {
        if let Some(p) = host.find(marker) {
            return Some((host[..p].to_string(), true));
        }
    }
    if let Some(p) = host.find(".s3.") {
        return Some((host[..p].to_string(), false));
    }
    if host.starts_with("s3.") || host.starts_with("s3-website") || host == "localhost" {
        return None;
    }
    if signed_for_s3 {
        if let Some(b) = host.strip_suffix(".localhost") {
            if !b.is_empty() {
                return Some((b.to_string(), false));
            }
        }
    }
    None
}

/// Whether a host name is one of S3's (so S3 claims the request).
pub fn is_s3_host(host: &str) -> bool {
    host.contains(".s3.")
        || host.contains(".s3-website")
        || host.starts_with("s3.")
        || host.starts_with("s3-website")
}

/// Reads the target from the host and path.
pub fn target(req: &Request, signed_for_s3: bool) -> Target {
    let raw = req.path.strip_prefix('/').unwrap_or(&req.path);
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    if let Some((bucket, website)) = req.host().and_then(|h| host_bucket(&h, signed_for_s3)) {
        let key = (!raw.is_empty()).then(|| decode(raw));
        return Target {
            bucket: Some(bucket),
            key,
            website,
        };
    }
    if raw.is_empty() {
        return Target::default();
    }
    let (b, k) = match raw.split_once('/') {
        Some((b, k)) => (b, Some(k)),
        None => (raw, None),
    };
    Target {
        bucket: Some(decode(b)),
        key: k.filter(|k| !k.is_empty()).map(decode),
        website: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(
            host_bucket("b.s3.localhost", false),
            Some(("b".into(), false))
        );
        assert_eq!(
            host_bucket("my.b.s3.us-west-2.localhost", false),
            Some(("my.b".into(), false))
        );
        assert_eq!(
            host_bucket("b.s3-website.localhost", false),
            Some(("b".into(), true))
        );
        assert_eq!(host_bucket("s3.localhost", true), None);
        assert_eq!(host_bucket("localhost", true), None);
        assert_eq!(host_bucket("b.localhost", true), Some(("b".into(), false)));
        assert_eq!(host_bucket("b.localhost", false), None);
        assert_eq!(host_bucket("127.0.0.1", true), None);
    }
}
