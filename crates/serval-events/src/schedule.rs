//! Schedule expressions: `rate(5 minutes)`, AWS's six-field
//! `cron(min hour day-of-month month day-of-week year)` (with `?`, `L`, `W`
//! and `#`) and Scheduler's one-time `at(yyyy-mm-ddThh:mm:ss)`, and when
//! each fires next. Cron and `at` are read in a time zone (IANA names, from
//! jiff's bundled copy of the tz database, the system's when it has one);
//! a local time skipped by a daylight-saving change fires at the same
//! offset after the change, a repeated one fires once, at its first
//! occurrence.
//!
//! Own cron code rather than a cron crate: AWS numbers days of the week
//! 1-7 from Sunday, has a year field and requires `?` in exactly one of
//! the day fields, so every general parser needs translating anyway, and
//! this keeps the build light.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// A parsed schedule expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Every `period_ms`, counted from an anchor (the rule's creation).
    Rate {
        /// Milliseconds between firings.
        period_ms: u64,
    },
    /// A cron expression.
    Cron(Box<Cron>),
    /// One time, as a local date and time.
    At(DateTime),
}

/// AWS cron fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Cron {
    minutes: u64,
    hours: u32,
    months: u16,
    dom: Option<Vec<Dom>>,
    dow: Option<Vec<Dow>>,
    years: Vec<bool>,
}

#[derive(Debug, Clone, PartialEq)]
enum Dom {
    Days(u32),
    Last,
    Nearest(u8),
    LastWeekday,
}

#[derive(Debug, Clone, PartialEq)]
enum Dow {
    /// Bit n: day n (1 = Sunday).
    Days(u8),
    /// The last given weekday of the month (`6L`).
    Last(u8),
    /// The n-th given weekday of the month (`6#3`).
    Nth(u8, u8),
}

const FIRST_YEAR: i32 = 1970;
const LAST_YEAR: i32 = 2199;

/// Parses a schedule expression (`rate`, `cron` and, when `allow_at`, `at`).
pub fn parse(expr: &str, allow_at: bool) -> Result<Expr, String> {
    let expr = expr.trim();
    let inner = |name: &str| {
        expr.strip_prefix(name)
            .and_then(|r| r.strip_prefix('('))
            .and_then(|r| r.strip_suffix(')'))
    };
    if let Some(body) = inner("rate") {
        return parse_rate(body);
    }
    if let Some(body) = inner("cron") {
        return parse_cron(body).map(|c| Expr::Cron(Box::new(c)));
    }
    if let (true, Some(body)) = (allow_at, inner("at")) {
        let dt: DateTime = body
            .trim()
            .parse()
            .map_err(|_| format!("Invalid at expression: {body}"))?;
        if body.trim().len() != 19 {
            return Err(format!("Invalid at expression: {body}"));
        }
        return Ok(Expr::At(dt));
    }
    Err(format!("Invalid schedule expression: {expr}"))
}

fn parse_rate(body: &str) -> Result<Expr, String> {
    let mut parts = body.split_whitespace();
    let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err("Invalid rate expression".into());
    };
    let n: u64 = n.parse().map_err(|_| "Invalid rate value".to_string())?;
    if n == 0 {
        return Err("Invalid rate value".into());
    }
    let unit_ms = match (unit, n == 1) {
        ("minute", true) | ("minutes", false) => 60_000,
        ("hour", true) | ("hours", false) => 3_600_000,
        ("day", true) | ("days", false) => 86_400_000,
        _ => return Err("Invalid rate unit".into()),
    };
    Ok(Expr::Rate {
        period_ms: n.saturating_mul(unit_ms),
    })
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

fn number(s: &str, names: &[&str], lo: u32, hi: u32) -> Result<u32, String> {
    let upper = s.to_ascii_uppercase();
    let v = match names.iter().position(|n| *n == upper) {
        Some(i) => i as u32 + lo,
        None => s.parse().map_err(|_| format!("Invalid value {s}"))?,
    };
    if v < lo || v > hi {
        return Err(format!("Value {v} out of range {lo}-{hi}"));
    }
    Ok(v)
}

/// Expands `*`, `n`, `a-b`, with an optional `/step`, into the values it covers.
fn expand(item: &str, names: &[&str], lo: u32, hi: u32) -> Result<Vec<u32>, String> {
    let (range, step) = match item.split_once('/') {
        Some((r, s)) => {
            let s: u32 = s.parse().map_err(|_| format!("Invalid step {s}"))?;
            if s == 0 {
                return Err("Step must be positive".into());
            }
            (r, Some(s))
        }
        None => (item, None),
    };
    let (a, b) = if range == "*" {
        (lo, hi)
    } else if let Some((a, b)) = range.split_once('-') {
        (number(a, names, lo, hi)?, number(b, names, lo, hi)?)
    } else {
        let a = number(range, names, lo, hi)?;
        (a, if step.is_some() { hi } else { a })
    };
    if a > b {
        return Err(format!("Invalid range {range}"));
    }
    Ok((a..=b).step_by(step.unwrap_or(1) as usize).collect())
}

fn mask(field: &str, names: &[&str], lo: u32, hi: u32) -> Result<u64, String> {
    let mut m = 0u64;
    for item in field.split(',') {
        for v in expand(item, names, lo, hi)? {
            m |= 1 << v;
        }
    }
    Ok(m)
}

fn parse_cron(body: &str) -> Result<Cron, String> {
    let f: Vec<&str> = body.split_whitespace().collect();
    let [min, hour, dom, month, dow, year] = f[..] else {
        return Err("A cron expression has six fields".into());
    };
    if (dom == "?") == (dow == "?") {
        return Err("Exactly one of day-of-month and day-of-week must be ?".into());
    }
    let dom = if dom == "?" {
        None
    } else {
        let mut items = Vec::new();
        for item in dom.split(',') {
            items.push(match item {
                "L" => Dom::Last,
                "LW" => Dom::LastWeekday,
                w if w.ends_with('W') => Dom::Nearest(number(&w[..w.len() - 1], &[], 1, 31)? as u8),
                other => Dom::Days(mask(other, &[], 1, 31)? as u32),
            });
        }
        Some(items)
    };
    let dow = if dow == "?" {
        None
    } else {
        let mut items = Vec::new();
        for item in dow.split(',') {
            items.push(if item == "L" {
                Dow::Days(1 << 7)
            } else if let Some(d) = item.strip_suffix('L') {
                Dow::Last(number(d, &DAYS, 1, 7)? as u8)
            } else if let Some((d, n)) = item.split_once('#') {
                let n = number(n, &[], 1, 5)? as u8;
                Dow::Nth(number(d, &DAYS, 1, 7)? as u8, n)
            } else {
                Dow::Days(mask(item, &DAYS, 1, 7)? as u8)
            });
        }
        Some(items)
    };
    let mut years = vec![false; (LAST_YEAR - FIRST_YEAR + 1) as usize];
    for item in year.split(',') {
        for y in expand(item, &[], FIRST_YEAR as u32, LAST_YEAR as u32)? {
            years[(y as i32 - FIRST_YEAR) as usize] = true;
        }
    }
    Ok(Cron {
        minutes: mask(min, &[], 0, 59)?,
        hours: mask(hour, &[], 0, 23)? as u32,
        months: mask(month, &MONTHS, 1, 12)? as u16,
        dom,
        dow,
        years,
    })
}

impl Cron {
    fn year_ok(&self, y: i16) -> bool {
        let i = y as i32 - FIRST_YEAR;
        i >= 0 && (i as usize) < self.years.len() && self.years[i as usize]
    }

    fn day_ok(&self, d: Date) -> bool {
        let day = d.day() as u8;
        let last = d.days_in_month() as u8;
        if let Some(items) = &self.dom {
            return items.iter().any(|i| match i {
                Dom::Days(m) => m & (1 << day) != 0,
                Dom::Last => day == last,
                Dom::Nearest(n) => nearest_weekday(d, (*n).min(last)) == day,
                Dom::LastWeekday => nearest_weekday(d, last) == day,
            });
        }
        let wd = d.weekday().to_sunday_one_offset() as u8;
        self.dow.iter().flatten().any(|i| match i {
            // `L` alone is the last day of the week: Saturday.
            Dow::Days(m) => m & (1 << wd) != 0 || (m & (1 << 7) != 0 && wd == 7),
            Dow::Last(w) => *w == wd && day + 7 > last,
            Dow::Nth(w, n) => *w == wd && (day - 1) / 7 + 1 == *n,
        })
    }

    /// The first matching local minute strictly after `after` (local time).
    fn next_local(&self, after: DateTime) -> Option<DateTime> {
        let start = after
            .date()
            .at(after.hour(), after.minute(), 0, 0)
            .checked_add(jiff::Span::new().minutes(1))
            .ok()?;
        let mut date = start.date();
        for _ in 0..(400 * 366) {
            if date.year() as i32 > LAST_YEAR {
                return None;
            }
            if !self.year_ok(date.year()) {
                date = Date::new(date.year().checked_add(1)?, 1, 1).ok()?;
                continue;
            }
            if self.months & (1 << date.month()) == 0 {
                date = date.last_of_month().tomorrow().ok()?;
                continue;
            }
            if self.day_ok(date) {
                let first_day = date == start.date();
                for h in 0..24u8 {
                    if self.hours & (1 << h) == 0 || (first_day && (h as i8) < start.hour()) {
                        continue;
                    }
                    for m in 0..60u8 {
                        if self.minutes & (1 << m) == 0 {
                            continue;
                        }
                        if first_day && h as i8 == start.hour() && (m as i8) < start.minute() {
                            continue;
                        }
                        return Some(date.at(h as i8, m as i8, 0, 0));
                    }
                }
            }
            date = date.tomorrow().ok()?;
        }
        None
    }
}

/// The weekday (Monday-Friday) nearest to day `n` of `d`'s month, within the month.
fn nearest_weekday(d: Date, n: u8) -> u8 {
    let Ok(target) = Date::new(d.year(), d.month(), n as i8) else {
        return 0;
    };
    let last = d.days_in_month() as u8;
    match target.weekday().to_sunday_one_offset() {
        7 if n == 1 => 3,        // Saturday the 1st: Monday the 3rd
        7 => n - 1,              // Saturday: Friday before
        1 if n == last => n - 2, // Sunday the last: Friday before
        1 => n + 1,              // Sunday: Monday after
        _ => n,
    }
}

/// A time zone (re-exported so callers need not depend on jiff).
pub type Zone = TimeZone;

/// Looks up an IANA time zone (`None` for UTC).
pub fn zone(name: Option<&str>) -> Result<TimeZone, String> {
    match name {
        None | Some("") | Some("UTC") | Some("Etc/UTC") => Ok(TimeZone::UTC),
        Some(n) => TimeZone::get(n).map_err(|_| format!("Invalid time zone: {n}")),
    }
}

fn instant(tz: &TimeZone, dt: DateTime) -> Option<i64> {
    tz.to_ambiguous_timestamp(dt)
        .compatible()
        .ok()
        .map(|t| t.as_millisecond())
}

impl Expr {
    /// The first firing strictly after `after_ms` (epoch milliseconds).
    /// A rate counts whole periods from `anchor_ms`.
    pub fn next_after(&self, after_ms: i64, anchor_ms: i64, tz: &TimeZone) -> Option<i64> {
        match self {
            Expr::Rate { period_ms } => {
                let p = *period_ms as i64;
                if after_ms < anchor_ms {
                    return Some(anchor_ms);
                }
                let k = (after_ms - anchor_ms) / p + 1;
                Some(anchor_ms + k * p)
            }
            Expr::At(dt) => instant(tz, *dt).filter(|t| *t > after_ms),
            Expr::Cron(c) => {
                let mut cursor = Timestamp::from_millisecond(after_ms)
                    .ok()?
                    .to_zoned(tz.clone())
                    .datetime();
                for _ in 0..4 {
                    let local = c.next_local(cursor)?;
                    match instant(tz, local) {
                        Some(t) if t > after_ms => return Some(t),
                        _ => cursor = local,
                    }
                }
                None
            }
        }
    }

    /// The one-time instant of an `at()` expression.
    pub fn at_instant(&self, tz: &TimeZone) -> Option<i64> {
        match self {
            Expr::At(dt) => instant(tz, *dt),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        s.parse::<Timestamp>()
            .map(|t| t.as_millisecond())
            .unwrap_or(-1)
    }

    fn iso(t: i64) -> String {
        Timestamp::from_millisecond(t)
            .map(|t| t.to_string())
            .unwrap_or_default()
    }

    fn next(expr: &str, after: &str) -> String {
        next_tz(expr, after, None)
    }

    fn next_tz(expr: &str, after: &str, tz: Option<&str>) -> String {
        let e = parse(expr, true).unwrap_or_else(|e| panic!("{expr}: {e}"));
        let tz = zone(tz).unwrap_or(TimeZone::UTC);
        e.next_after(ms(after), 0, &tz)
            .map(iso)
            .unwrap_or_else(|| "never".into())
    }

    #[test]
    fn rates() {
        assert_eq!(
            parse("rate(1 minute)", false),
            Ok(Expr::Rate { period_ms: 60_000 })
        );
        assert_eq!(
            parse("rate(5 minutes)", false),
            Ok(Expr::Rate { period_ms: 300_000 })
        );
        assert_eq!(
            parse("rate(2 hours)", false),
            Ok(Expr::Rate {
                period_ms: 7_200_000
            })
        );
        assert_eq!(
            parse("rate(1 day)", false),
            Ok(Expr::Rate {
                period_ms: 86_400_000
            })
        );
        for bad in [
            "rate(1 minutes)",
            "rate(2 minute)",
            "rate(0 minutes)",
            "rate(x minutes)",
            "rate(5)",
            "rate(5 weeks)",
            "rate 5 minutes",
        ] {
            assert!(parse(bad, false).is_err(), "{bad}");
        }
        let r = parse("rate(5 minutes)", false).unwrap_or(Expr::Rate { period_ms: 1 });
        assert_eq!(r.next_after(1_000, 1_000, &TimeZone::UTC), Some(301_000));
        assert_eq!(r.next_after(300_999, 1_000, &TimeZone::UTC), Some(301_000));
        assert_eq!(r.next_after(301_000, 1_000, &TimeZone::UTC), Some(601_000));
        assert_eq!(r.next_after(0, 1_000, &TimeZone::UTC), Some(1_000));
    }

    #[test]
    fn cron_fields_and_steps() {
        assert_eq!(
            next("cron(0/5 * * * ? *)", "2024-03-01T10:02:30Z"),
            "2024-03-01T10:05:00Z"
        );
        assert_eq!(
            next("cron(0/5 * * * ? *)", "2024-03-01T10:05:00Z"),
            "2024-03-01T10:10:00Z"
        );
        assert_eq!(
            next("cron(* * * * ? *)", "2024-03-01T10:05:59.999Z"),
            "2024-03-01T10:06:00Z"
        );
        assert_eq!(
            next("cron(15 10 * * ? *)", "2024-03-01T10:15:00Z"),
            "2024-03-02T10:15:00Z"
        );
        assert_eq!(
            next("cron(0 18 ? * MON-FRI *)", "2024-03-01T19:00:00Z"),
            "2024-03-04T18:00:00Z"
        );
        assert_eq!(
            next("cron(0 8 1 * ? *)", "2024-03-01T09:00:00Z"),
            "2024-04-01T08:00:00Z"
        );
        assert_eq!(
            next("cron(0/15 * * * ? *)", "2024-12-31T23:59:00Z"),
            "2025-01-01T00:00:00Z"
        );
        assert_eq!(
            next("cron(0 0 29 2 ? *)", "2025-01-01T00:00:00Z"),
            "2028-02-29T00:00:00Z"
        );
        assert_eq!(
            next("cron(0 12 ? JAN,JUL 2 2030-2031)", "2024-01-01T00:00:00Z"),
            "2030-01-07T12:00:00Z"
        );
        assert_eq!(
            next("cron(0 12 * * ? 2020)", "2024-01-01T00:00:00Z"),
            "never"
        );
        assert_eq!(
            next("cron(10-12/1 3 * * ? *)", "2024-01-01T03:11:00Z"),
            "2024-01-01T03:12:00Z"
        );
        // 1 = Sunday
        assert_eq!(
            next("cron(0 0 ? * 1 *)", "2024-03-01T00:00:00Z"),
            "2024-03-03T00:00:00Z"
        );
        assert_eq!(
            next("cron(0 0 ? * SUN *)", "2024-03-01T00:00:00Z"),
            "2024-03-03T00:00:00Z"
        );
    }

    #[test]
    fn cron_l_w_and_hash() {
        assert_eq!(
            next("cron(0 0 L * ? *)", "2024-02-10T00:00:00Z"),
            "2024-02-29T00:00:00Z"
        );
        assert_eq!(
            next("cron(0 0 L * ? *)", "2023-02-10T00:00:00Z"),
            "2023-02-28T00:00:00Z"
        );
        // the 3rd Friday of March 2024 is the 15th
        assert_eq!(
            next("cron(0 9 ? * 6#3 *)", "2024-03-01T00:00:00Z"),
            "2024-03-15T09:00:00Z"
        );
        // the last Friday of March 2024 is the 29th
        assert_eq!(
            next("cron(0 9 ? * 6L *)", "2024-03-01T00:00:00Z"),
            "2024-03-29T09:00:00Z"
        );
        // 2024-06-15 is a Saturday: nearest weekday is Friday the 14th
        assert_eq!(
            next("cron(0 0 15W * ? *)", "2024-06-01T00:00:00Z"),
            "2024-06-14T00:00:00Z"
        );
        // 2024-09-01 is a Sunday: 1W is Monday the 2nd
        assert_eq!(
            next("cron(0 0 1W * ? *)", "2024-08-31T00:00:00Z"),
            "2024-09-02T00:00:00Z"
        );
        // 2024-06-01 is a Saturday: 1W is Monday the 3rd
        assert_eq!(
            next("cron(0 0 1W * ? *)", "2024-05-31T00:00:00Z"),
            "2024-06-03T00:00:00Z"
        );
        // last weekday of August 2024 (31st is a Saturday): Friday the 30th
        assert_eq!(
            next("cron(0 0 LW * ? *)", "2024-08-01T00:00:00Z"),
            "2024-08-30T00:00:00Z"
        );
    }

    #[test]
    fn invalid_crons() {
        for bad in [
            "cron(* * * * * *)",
            "cron(0 0 ? * ? *)",
            "cron(0 0 * * ?)",
            "cron(60 0 * * ? *)",
            "cron(0 24 * * ? *)",
            "cron(0 0 32 * ? *)",
            "cron(0 0 ? * 8 *)",
            "cron(0 0 * 13 ? *)",
            "cron(0 0 * * ? 1969)",
            "cron(0/0 * * * ? *)",
            "cron(5-1 * * * ? *)",
            "cron(a * * * ? *)",
            "every(5 minutes)",
        ] {
            assert!(parse(bad, false).is_err(), "{bad}");
        }
        assert!(parse("at(2024-01-01T00:00:00)", false).is_err());
    }

    #[test]
    fn time_zones_and_daylight_saving() {
        // 09:00 in New York is 14:00 UTC in winter, 13:00 in summer
        assert_eq!(
            next_tz(
                "cron(0 9 * * ? *)",
                "2024-01-10T00:00:00Z",
                Some("America/New_York")
            ),
            "2024-01-10T14:00:00Z"
        );
        assert_eq!(
            next_tz(
                "cron(0 9 * * ? *)",
                "2024-07-10T00:00:00Z",
                Some("America/New_York")
            ),
            "2024-07-10T13:00:00Z"
        );
        // 02:30 does not exist on 2024-03-10 in New York: it runs at 03:30 EDT
        assert_eq!(
            next_tz(
                "cron(30 2 * * ? *)",
                "2024-03-10T00:00:00Z",
                Some("America/New_York")
            ),
            "2024-03-10T07:30:00Z"
        );
        // 01:30 happens twice on 2024-11-03: it runs once, at the first
        assert_eq!(
            next_tz(
                "cron(30 1 * * ? *)",
                "2024-11-03T00:00:00Z",
                Some("America/New_York")
            ),
            "2024-11-03T05:30:00Z"
        );
        assert_eq!(
            next_tz(
                "cron(30 1 * * ? *)",
                "2024-11-03T05:30:00Z",
                Some("America/New_York")
            ),
            "2024-11-04T06:30:00Z"
        );
        assert!(zone(Some("Mars/Olympus")).is_err());
        assert!(zone(Some("Europe/Berlin")).is_ok());
    }

    #[test]
    fn at_expressions() {
        let e = parse("at(2030-05-01T12:30:00)", true).unwrap_or(Expr::Rate { period_ms: 1 });
        assert_eq!(
            e.at_instant(&TimeZone::UTC).map(iso).as_deref(),
            Some("2030-05-01T12:30:00Z")
        );
        let tokyo = zone(Some("Asia/Tokyo")).unwrap_or(TimeZone::UTC);
        assert_eq!(
            e.at_instant(&tokyo).map(iso).as_deref(),
            Some("2030-05-01T03:30:00Z")
        );
        assert_eq!(
            e.next_after(ms("2031-01-01T00:00:00Z"), 0, &TimeZone::UTC),
            None
        );
        for bad in [
            "at(2030-05-01)",
            "at(2030-05-01T12:30)",
            "at(2030-13-01T12:30:00)",
            "at(tomorrow)",
        ] {
            assert!(parse(bad, true).is_err(), "{bad}");
        }
    }
}
