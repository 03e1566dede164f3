//! Queue names, ARNs and URLs: the rules AWS applies to names, the URL shapes
//! Serval hands out, and every URL shape it accepts back.

use crate::error::{invalid, Result};

/// How queue URLs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UrlStyle {
    /// `http://sqs.<region>.localhost:<port>/<account>/<name>` (the default).
    #[default]
    Host,
    /// `http://localhost:<port>/<account>/<name>`.
    Path,
}

impl std::str::FromStr for UrlStyle {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "host" | "domain" => Ok(UrlStyle::Host),
            "path" => Ok(UrlStyle::Path),
            other => Err(format!("queue URL style must be host or path, not {other}")),
        }
    }
}

/// A queue URL in the configured style.
pub fn queue_url(style: UrlStyle, port: u16, region: &str, account: &str, name: &str) -> String {
    match style {
        UrlStyle::Host => format!("http://sqs.{region}.localhost:{port}/{account}/{name}"),
        UrlStyle::Path => format!("http://localhost:{port}/{account}/{name}"),
    }
}

/// `arn:aws:sqs:<region>:<account>:<name>`.
pub fn queue_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:sqs:{region}:{account}:{name}")
}

/// `(region, account, name)` of a queue ARN.
pub fn parse_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some("sqs"), Some(region), Some(account), Some(name)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    if region.is_empty() || account.is_empty() || name.is_empty() {
        return None;
    }
    Some((region, account, name))
}

/// Where a `QueueUrl` points: `(region if the URL names one, account if
/// it names one, name)`. Accepted: Serval's host and path forms, AWS's
/// `https://sqs.<region>.amazonaws.com/<account>/<name>` (and the legacy
/// `<region>.queue.amazonaws.com`), a bare path `/<account>/<name>`, and a
/// bare queue name.
pub fn parse_queue_url(url: &str) -> Option<(Option<String>, Option<String>, String)> {
    let url = url.trim();
    if url.is_empty() {
        return None;
    }
    let (host, path) = match url.split_once("://") {
        Some((_, rest)) => match rest.split_once('/') {
            Some((h, p)) => (Some(h), p),
            None => return None,
        },
        None => (None, url),
    };
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (account, name) = match segs.as_slice() {
        [name] if host.is_none() => (None, *name),
        [account, name] => (Some(account.to_string()), *name),
        _ => return None,
    };
    let region = host.and_then(|h| {
        let h = h.split(':').next().unwrap_or(h).to_ascii_lowercase();
        let labels: Vec<&str> = h.split('.').collect();
        match labels.as_slice() {
            ["sqs", region, ..] if labels.len() >= 3 => Some(region.to_string()),
            [region, "queue", "amazonaws", ..] => Some(region.to_string()),
            _ => None,
        }
    });
    let region = region.filter(|r| {
        !r.is_empty()
            && r.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    Some((region, account, name.to_string()))
}

/// AWS's message for a bad queue name.
const NAME_RULE: &str =
    "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length";
/// AWS's message for a bad FIFO queue name.
pub const FIFO_NAME_RULE: &str = "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.";

/// Checks a queue name for a queue that is (`fifo`) or is not FIFO.
pub fn check_name(name: &str, fifo: bool) -> Result<()> {
    let ok_chars = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if fifo {
        let base = name.strip_suffix(".fifo");
        match base {
            Some(b) if !b.is_empty() && name.len() <= 80 && ok_chars(b) => Ok(()),
            _ => Err(invalid(FIFO_NAME_RULE)),
        }
    } else if !name.is_empty() && name.len() <= 80 && ok_chars(name) {
        Ok(())
    } else {
        Err(invalid(NAME_RULE))
    }
}

/// Batch entry ids: up to 80 alphanumerics, hyphens and underscores.
pub fn valid_batch_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 80
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("a-b_C9", false).is_ok());
        assert!(check_name(&"x".repeat(80), false).is_ok());
        assert!(check_name(&"x".repeat(81), false).is_err());
        assert!(check_name("", false).is_err());
        assert!(check_name("a.b", false).is_err());
        assert!(check_name("q.fifo", false).is_err());
        assert!(check_name("q.fifo", true).is_ok());
        assert!(check_name(".fifo", true).is_err());
        assert!(check_name("q", true).is_err());
        assert!(check_name(&format!("{}.fifo", "x".repeat(75)), true).is_ok());
        assert!(check_name(&format!("{}.fifo", "x".repeat(76)), true).is_err());
        assert!(valid_batch_id("a_1-B"));
        assert!(!valid_batch_id("a.b"));
        assert!(!valid_batch_id(""));
    }

    #[test]
    fn urls_and_arns() {
        let u = queue_url(UrlStyle::Host, 4566, "eu-west-1", "123456789012", "q");
        assert_eq!(u, "http://sqs.eu-west-1.localhost:4566/123456789012/q");
        assert_eq!(
            parse_queue_url(&u),
            Some((
                Some("eu-west-1".into()),
                Some("123456789012".into()),
                "q".into()
            ))
        );
        assert_eq!(
            parse_queue_url("http://localhost:4566/000000000000/q.fifo"),
            Some((None, Some("000000000000".into()), "q.fifo".into()))
        );
        assert_eq!(
            parse_queue_url("https://sqs.us-west-2.amazonaws.com/111122223333/q"),
            Some((
                Some("us-west-2".into()),
                Some("111122223333".into()),
                "q".into()
            ))
        );
        assert_eq!(parse_queue_url("q"), Some((None, None, "q".into())));
        assert_eq!(parse_queue_url("http://host/a/b/c"), None);
        assert_eq!(
            parse_arn("arn:aws:sqs:us-east-1:000000000000:q"),
            Some(("us-east-1", "000000000000", "q"))
        );
        assert_eq!(parse_arn("arn:aws:sns:us-east-1:000000000000:q"), None);
    }
}
