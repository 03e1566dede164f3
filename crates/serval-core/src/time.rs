//! Timestamp formatting in the shapes AWS APIs use.

/// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn parts(millis: u64) -> (i64, u32, u32, u64, u64, u64, u64) {
    let secs = millis / 1000;
    let (y, mo, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    (
        y,
        mo,
        d,
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        millis % 1000,
    )
}

/// Lambda's `LastModified` shape: `2024-01-31T12:34:56.789+0000`.
pub fn lambda_timestamp(millis: u64) -> String {
    let (y, mo, d, h, mi, s, ms) = parts(millis);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}+0000")
}

/// ISO 8601 UTC with milliseconds: `2024-01-31T12:34:56.789Z`.
pub fn iso8601(millis: u64) -> String {
    let (y, mo, d, h, mi, s, ms) = parts(millis);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
}

/// Common Log Format time, as API Gateway's `requestTime`: `12/Mar/2020:19:03:58 +0000`.
pub fn clf(millis: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, mo, d, h, mi, s, _) = parts(millis);
    let m = MONTHS[(mo as usize).saturating_sub(1) % 12];
    format!("{d:02}/{m}/{y:04}:{h:02}:{mi:02}:{s:02} +0000")
}

/// The calendar year and month (1-12) of an instant.
pub fn year_month(millis: u64) -> (i64, u32) {
    let (y, mo, ..) = parts(millis);
    (y, mo)
}

/// `YYYY/MM/DD`, as used in Lambda log stream names.
pub fn date_slashes(millis: u64) -> String {
    let (y, mo, d, ..) = parts(millis);
    format!("{y:04}/{mo:02}/{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(lambda_timestamp(0), "1970-01-01T00:00:00.000+0000");
        // 2024-02-29T23:59:59.123Z
        assert_eq!(iso8601(1_709_251_199_123), "2024-02-29T23:59:59.123Z");
        assert_eq!(date_slashes(1_709_251_199_123), "2024/02/29");
    }
}
