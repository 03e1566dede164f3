//! Presigned URLs: SigV4 (`X-Amz-Date` + `X-Amz-Expires`) and SigV2
//! (`Expires`, epoch seconds) expiry is enforced against Serval's clock;
//! signatures themselves are not verified (as everywhere in Serval until
//! IAM is). Browser POST uploads are `ops::post` and `post_policy`.

use crate::error::{self, Result};

/// Parses `20240101T000000Z` into epoch seconds.
pub fn amz_date(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (n(0..4)?, n(4..6)?, n(6..8)?);
    let (h, mi, se) = (n(9..11)?, n(11..13)?, n(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + h * 3600 + mi * 60 + se).ok()
}

/// 403 AccessDenied "Request has expired" when a presigned URL is past its expiry.
pub fn check_expiry(s3: &crate::S3, query: &[(String, String)]) -> Result<()> {
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let now = s3.now() / 1000;
    let now_s = serval_core::time::iso8601(s3.now());
    if let (Some(date), Some(exp)) = (get("X-Amz-Date"), get("X-Amz-Expires")) {
        let signed = amz_date(date).ok_or_else(|| {
            error::access_denied(
                "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
            )
        })?;
        let secs: u64 = exp
            .parse()
            .map_err(|_| error::access_denied("X-Amz-Expires should be a number"))?;
        if secs > 604_800 {
            return Err(error::access_denied(
                "X-Amz-Expires must be less than a week (in seconds) that is 604800",
            ));
        }
        if now > signed + secs {
            return Err(error::expired(
                &serval_core::time::iso8601((signed + secs) * 1000),
                &now_s,
            ));
        }
    } else if let (Some(_), Some(exp)) = (get("AWSAccessKeyId"), get("Expires")) {
        let at: u64 = exp
            .parse()
            .map_err(|_| error::access_denied("Invalid date (should be seconds since epoch)"))?;
        if now > at {
            return Err(error::expired(
                &serval_core::time::iso8601(at * 1000),
                &now_s,
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amz_dates() {
        assert_eq!(amz_date("19700101T000000Z"), Some(0));
        assert_eq!(amz_date("20240229T120000Z"), Some(1_709_208_000));
        assert_eq!(amz_date("2024-02-29"), None);
    }
}
