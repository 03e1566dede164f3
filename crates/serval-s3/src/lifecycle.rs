//! Lifecycle configurations: parsing and validating
//! `PutBucketLifecycleConfiguration` as S3 does, matching rules to objects,
//! and S3's date rule (an action is due at the first midnight UTC after the
//! object's age reaches the rule's days). The sweeper that applies them is
//! `ops::lifecycle`.

use crate::error::{self, Result};
use crate::model::ObjectMeta;
use crate::xml::{parse, Element};
use serval_core::AwsError;

const DAY_MS: u64 = 86_400_000;

/// Which objects a rule applies to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Key prefix.
    pub prefix: String,
    /// Tags the object must all carry.
    pub tags: Vec<(String, String)>,
    /// Size must be greater than this.
    pub size_gt: Option<u64>,
    /// Size must be less than this.
    pub size_lt: Option<u64>,
}

impl Filter {
    /// Whether an object (key, tags, size) is in scope.
    pub fn matches(&self, meta: &ObjectMeta) -> bool {
        meta.key.starts_with(&self.prefix)
            && self
                .tags
                .iter()
                .all(|(k, v)| meta.tags.get(k).is_some_and(|t| t == v))
            && self.size_gt.is_none_or(|n| meta.size > n)
            && self.size_lt.is_none_or(|n| meta.size < n)
    }
}

/// One rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rule {
    /// Rule id (`rule-id` in `x-amz-expiration`).
    pub id: String,
    /// Status Enabled.
    pub enabled: bool,
    /// Scope.
    pub filter: Filter,
    /// Expiration: Days.
    pub days: Option<u64>,
    /// Expiration: Date, epoch ms (midnight UTC).
    pub date: Option<u64>,
    /// Expiration: ExpiredObjectDeleteMarker.
    pub expired_marker: bool,
    /// NoncurrentVersionExpiration: NoncurrentDays.
    pub noncurrent_days: Option<u64>,
    /// NoncurrentVersionExpiration: NewerNoncurrentVersions (kept regardless of age).
    pub newer_noncurrent: Option<u64>,
    /// AbortIncompleteMultipartUpload: DaysAfterInitiation.
    pub abort_days: Option<u64>,
}

/// The first midnight UTC strictly after `from + days` (S3 rounds up).
pub fn due(from_ms: u64, days: u64) -> u64 {
    let t = from_ms.saturating_add(days.saturating_mul(DAY_MS));
    (t / DAY_MS + 1) * DAY_MS
}

impl Rule {
    /// When this rule expires the current version `meta`, if it applies.
    pub fn expires_at(&self, meta: &ObjectMeta) -> Option<u64> {
        if !self.enabled || meta.delete_marker || !self.filter.matches(meta) {
            return None;
        }
        match (self.days, self.date) {
            (Some(d), _) => Some(due(meta.modified, d)),
            (None, Some(date)) => Some(date),
            _ => None,
        }
    }
}

fn invalid(message: &str, name: &str, value: &str) -> AwsError {
    error::invalid_argument(message, name, value)
}

fn positive(el: &Element, name: &str, action: &str) -> Result<Option<u64>> {
    let Some(text) = el.text_of(name) else {
        return Ok(None);
    };
    match text.parse::<i64>() {
        Ok(n) if n > 0 => Ok(Some(n as u64)),
        Ok(_) => Err(invalid(
            &format!("'{name}' for {action} action must be a positive integer"),
            name,
            text,
        )),
        Err(_) => Err(error::malformed_xml()),
    }
}

fn size(el: &Element, name: &str) -> Result<Option<u64>> {
    el.text_of(name)
        .map(|t| t.parse::<u64>().map_err(|_| error::malformed_xml()))
        .transpose()
}

fn tag(el: &Element) -> Result<(String, String)> {
    let k = el.text_of("Key").ok_or_else(error::malformed_xml)?;
    Ok((k.to_string(), el.text_of("Value").unwrap_or("").to_string()))
}

fn parse_filter(f: &Element) -> Result<Filter> {
    let mut filter = Filter::default();
    let kinds = f.children.len();
    if let Some(and) = f.child("And") {
        if kinds != 1 {
            return Err(error::malformed_xml());
        }
        filter.prefix = and.text_of("Prefix").unwrap_or("").to_string();
        for t in and.all("Tag") {
            filter.tags.push(tag(t)?);
        }
        filter.size_gt = size(and, "ObjectSizeGreaterThan")?;
        filter.size_lt = size(and, "ObjectSizeLessThan")?;
    } else {
        if kinds > 1 {
            return Err(error::malformed_xml());
        }
        filter.prefix = f.text_of("Prefix").unwrap_or("").to_string();
        if let Some(t) = f.child("Tag") {
            filter.tags.push(tag(t)?);
        }
        filter.size_gt = size(f, "ObjectSizeGreaterThan")?;
        filter.size_lt = size(f, "ObjectSizeLessThan")?;
    }
    if let (Some(gt), Some(lt)) = (filter.size_gt, filter.size_lt) {
        if gt >= lt {
            return Err(invalid(
                "ObjectSizeLessThan must be greater than ObjectSizeGreaterThan",
                "ObjectSizeLessThan",
                &lt.to_string(),
            ));
        }
    }
    Ok(filter)
}

/// Parses a `LifecycleConfiguration` with S3's validation.
pub fn parse_config(doc: &[u8]) -> Result<Vec<Rule>> {
    let root = parse(doc).ok_or_else(error::malformed_xml)?;
    if root.name != "LifecycleConfiguration" {
        return Err(error::malformed_xml());
    }
    let rules: Vec<&Element> = root.all("Rule").collect();
    if rules.is_empty() || rules.len() > 1000 {
        return Err(error::malformed_xml());
    }
    let mut out: Vec<Rule> = Vec::with_capacity(rules.len());
    for r in rules {
        let id = match r.text_of("ID") {
            Some(id) if !id.is_empty() => id.to_string(),
            _ => serval_core::ids::random_hex(24),
        };
        if id.len() > 255 {
            return Err(invalid(
                "ID length should not exceed allowed limit of 255",
                "ID",
                &id,
            ));
        }
        if out.iter().any(|o| o.id == id) {
            return Err(invalid(
                "Rule ID must be unique. Found same ID for more than one rule",
                "ID",
                &id,
            ));
        }
        let enabled = match r.text_of("Status") {
            Some("Enabled") => true,
            Some("Disabled") => false,
            _ => return Err(error::malformed_xml()),
        };
        let filter = match (r.child("Filter"), r.child("Prefix")) {
            (Some(_), Some(_)) | (None, None) => return Err(error::malformed_xml()),
            (Some(f), None) => parse_filter(f)?,
            (None, Some(p)) => Filter {
                prefix: p.text.trim().to_string(),
                ..Default::default()
            },
        };
        let mut rule = Rule {
            id,
            enabled,
            filter,
            ..Default::default()
        };
        if let Some(e) = r.child("Expiration") {
            rule.days = positive(e, "Days", "Expiration")?;
            if let Some(d) = e.text_of("Date") {
                let ms = crate::post_policy::parse_iso8601(d)
                    .or_else(|| {
                        crate::post_policy::parse_iso8601(&format!(
                            "{}Z",
                            d.trim_end_matches("+00:00")
                        ))
                    })
                    .ok_or_else(|| invalid("Invalid date", "Date", d))?;
                if ms % DAY_MS != 0 {
                    return Err(invalid("'Date' must be at midnight GMT", "Date", d));
                }
                rule.date = Some(ms);
            }
            rule.expired_marker = match e.text_of("ExpiredObjectDeleteMarker") {
                None | Some("false") => false,
                Some("true") => true,
                Some(_) => return Err(error::malformed_xml()),
            };
            let set = [
                rule.days.is_some(),
                rule.date.is_some(),
                e.child("ExpiredObjectDeleteMarker").is_some(),
            ];
            if set.iter().filter(|s| **s).count() != 1 {
                return Err(error::malformed_xml());
            }
            if rule.expired_marker && !rule.filter.tags.is_empty() {
                return Err(error::invalid_request(
                    "ExpiredObjectDeleteMarker cannot be specified with tags.",
                ));
            }
        }
        if let Some(n) = r.child("NoncurrentVersionExpiration") {
            rule.noncurrent_days = positive(n, "NoncurrentDays", "NoncurrentVersionExpiration")?;
            if rule.noncurrent_days.is_none() {
                return Err(error::malformed_xml());
            }
            if let Some(v) = n.text_of("NewerNoncurrentVersions") {
                match v.parse::<u64>() {
                    Ok(k) if (1..=100).contains(&k) => rule.newer_noncurrent = Some(k),
                    _ => {
                        return Err(invalid(
                            "NewerNoncurrentVersions must be between 1 and 100",
                            "NewerNoncurrentVersions",
                            v,
                        ))
                    }
                }
            }
        }
        if let Some(a) = r.child("AbortIncompleteMultipartUpload") {
            rule.abort_days = positive(a, "DaysAfterInitiation", "AbortIncompleteMultipartUpload")?;
            if rule.abort_days.is_none() {
                return Err(error::malformed_xml());
            }
            if !rule.filter.tags.is_empty()
                || rule.filter.size_gt.is_some()
                || rule.filter.size_lt.is_some()
            {
                return Err(error::invalid_request(
                    "AbortIncompleteMultipartUpload cannot be specified with Tags.",
                ));
            }
        }
        let transitions =
            r.child("Transition").is_some() || r.child("NoncurrentVersionTransition").is_some();
        if r.child("Expiration").is_none()
            && rule.noncurrent_days.is_none()
            && rule.abort_days.is_none()
            && !transitions
        {
            return Err(error::invalid_request(
                "At least one action needs to be specified in a rule",
            ));
        }
        out.push(rule);
    }
    Ok(out)
}

/// The stored rules of a bucket (none when unset or unreadable).
pub fn rules_of(b: &crate::model::BucketMeta) -> Vec<Rule> {
    b.configs
        .get("lifecycle")
        .and_then(|d| parse_config(d.as_bytes()).ok())
        .unwrap_or_default()
}

/// The earliest expiration of the current version `meta` and the rule
/// that sets it (for `x-amz-expiration`).
pub fn expiration<'a>(rules: &'a [Rule], meta: &ObjectMeta) -> Option<(u64, &'a str)> {
    rules
        .iter()
        .filter_map(|r| r.expires_at(meta).map(|t| (t, r.id.as_str())))
        .min_by_key(|(t, _)| *t)
}

/// The `x-amz-expiration` header value.
pub fn header(at: u64, rule_id: &str) -> String {
    let date =
        httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_millis(at));
    format!("expiry-date=\"{date}\", rule-id=\"{rule_id}\"")
}

/// Whether noncurrent version `i` (0 = newest noncurrent) of an object,
/// noncurrent since `since`, is due under `rule` at `now`.
pub fn noncurrent_due(rule: &Rule, meta: &ObjectMeta, i: usize, since: u64, now: u64) -> bool {
    let Some(days) = rule.noncurrent_days else {
        return false;
    };
    if !rule.enabled || !(meta.delete_marker || rule.filter.matches(meta)) {
        return false;
    }
    if meta.delete_marker && !meta.key.starts_with(&rule.filter.prefix) {
        return false;
    }
    if rule.newer_noncurrent.is_some_and(|n| (i as u64) < n) {
        return false;
    }
    now >= due(since, days)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> u64 {
        crate::post_policy::parse_iso8601(s).expect("date")
    }

    fn obj(key: &str, size: u64, tags: &[(&str, &str)]) -> ObjectMeta {
        ObjectMeta {
            key: key.into(),
            size,
            modified: ms("2014-01-15T10:30:00Z"),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn rounds_to_the_next_midnight_utc() {
        // AWS's own example: created 1/15 10:30 UTC, 3 days -> 1/19 00:00 UTC.
        assert_eq!(
            due(ms("2014-01-15T10:30:00Z"), 3),
            ms("2014-01-19T00:00:00Z")
        );
        assert_eq!(
            due(ms("2014-01-15T23:59:59Z"), 1),
            ms("2014-01-17T00:00:00Z")
        );
        assert_eq!(
            due(ms("2014-01-15T00:00:00Z"), 1),
            ms("2014-01-17T00:00:00Z")
        );
    }

    #[test]
    fn parses_filters_and_matches() {
        let doc = br#"<LifecycleConfiguration>
          <Rule><ID>logs</ID><Status>Enabled</Status><Filter><Prefix>logs/</Prefix></Filter><Expiration><Days>3</Days></Expiration></Rule>
          <Rule><ID>tagged</ID><Status>Enabled</Status><Filter><And><Prefix>t/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>100</ObjectSizeLessThan></And></Filter><Expiration><Date>2030-01-01T00:00:00Z</Date></Expiration></Rule>
          <Rule><ID>off</ID><Status>Disabled</Status><Prefix></Prefix><Expiration><Days>1</Days></Expiration></Rule>
          <Rule><ID>nc</ID><Status>Enabled</Status><Filter/><NoncurrentVersionExpiration><NoncurrentDays>2</NoncurrentDays><NewerNoncurrentVersions>1</NewerNoncurrentVersions></NoncurrentVersionExpiration><AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>
        </LifecycleConfiguration>"#;
        let rules = parse_config(doc).expect("valid");
        assert_eq!(rules.len(), 4);
        assert_eq!(rules[3].abort_days, Some(7));
        let log = obj("logs/a", 5, &[]);
        assert_eq!(
            expiration(&rules, &log),
            Some((ms("2014-01-19T00:00:00Z"), "logs"))
        );
        assert_eq!(
            expiration(&rules, &obj("other", 5, &[])),
            None,
            "disabled rule"
        );
        let t = obj("t/a", 50, &[("k", "v")]);
        assert_eq!(
            expiration(&rules, &t),
            Some((ms("2030-01-01T00:00:00Z"), "tagged"))
        );
        assert_eq!(expiration(&rules, &obj("t/a", 50, &[("k", "w")])), None);
        assert_eq!(expiration(&rules, &obj("t/a", 10, &[("k", "v")])), None);
        assert_eq!(expiration(&rules, &obj("t/a", 100, &[("k", "v")])), None);
        // Noncurrent: the newest noncurrent version is kept by NewerNoncurrentVersions=1.
        let since = ms("2014-01-15T10:30:00Z");
        let late = ms("2014-01-18T00:00:00Z");
        assert!(!noncurrent_due(&rules[3], &log, 0, since, late));
        assert!(noncurrent_due(&rules[3], &log, 1, since, late));
        assert!(!noncurrent_due(&rules[3], &log, 1, since, late - 1));
        assert!(header(ms("2012-12-23T00:00:00Z"), "r")
            .starts_with("expiry-date=\"Sun, 23 Dec 2012 00:00:00 GMT\", rule-id=\"r\""));
    }

    #[test]
    fn validation_as_s3() {
        let one = |rule: &str| {
            parse_config(
                format!("<LifecycleConfiguration>{rule}</LifecycleConfiguration>").as_bytes(),
            )
            .map(|_| ())
            .map_err(|e| (e.code, e.message))
        };
        let code = |rule: &str| one(rule).unwrap_err().0;
        assert_eq!(code(""), "MalformedXML");
        assert_eq!(code("<Rule><ID>a</ID><Status>On</Status><Filter/><Expiration><Days>1</Days></Expiration></Rule>"), "MalformedXML");
        assert_eq!(code("<Rule><ID>a</ID><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>"), "MalformedXML");
        assert_eq!(code("<Rule><ID>a</ID><Status>Enabled</Status><Filter/><Expiration><Days>1</Days><Date>2030-01-01T00:00:00Z</Date></Expiration></Rule>"), "MalformedXML");
        assert_eq!(
            one("<Rule><ID>a</ID><Status>Enabled</Status><Filter/><Expiration><Days>0</Days></Expiration></Rule>").unwrap_err(),
            ("InvalidArgument".into(), "'Days' for Expiration action must be a positive integer".into())
        );
        assert_eq!(
            one("<Rule><ID>a</ID><Status>Enabled</Status><Filter/><Expiration><Date>2030-01-01T10:00:00Z</Date></Expiration></Rule>").unwrap_err().1,
            "'Date' must be at midnight GMT"
        );
        assert_eq!(
            one("<Rule><ID>a</ID><Status>Enabled</Status><Filter/></Rule>").unwrap_err(),
            (
                "InvalidRequest".into(),
                "At least one action needs to be specified in a rule".into()
            )
        );
        let r = "<Rule><ID>a</ID><Status>Enabled</Status><Filter/><Expiration><Days>1</Days></Expiration></Rule>";
        assert_eq!(
            one(&format!("{r}{r}")).unwrap_err().1,
            "Rule ID must be unique. Found same ID for more than one rule"
        );
        assert_eq!(code(&r.repeat(1001)), "MalformedXML");
        assert_eq!(code("<Rule><ID>a</ID><Status>Enabled</Status><Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Expiration><Days>1</Days></Expiration></Rule>"), "MalformedXML");
        assert_eq!(code("<Rule><ID>a</ID><Status>Enabled</Status><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>"), "InvalidRequest");
        one(r).expect("valid");
    }
}
