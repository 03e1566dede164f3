//! DynamoDB numbers: up to 38 significant decimal digits, magnitudes from
//! 1E-130 to 9.99...E+125, kept in DynamoDB's canonical text (plain decimal,
//! no exponent, no leading or trailing zeros, no `+`, no `-0`). Comparison
//! and arithmetic work on that text directly: exact, and no big-number crate.

use std::cmp::Ordering;
use std::fmt;

/// Most significant digits a number may carry.
pub const MAX_DIGITS: usize = 38;
const MAX_EXP: i64 = 125;
const MIN_EXP: i64 = -130;

/// Why a string is not a DynamoDB number (the message is DynamoDB's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumError(pub String);

impl fmt::Display for NumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn overflow() -> NumError {
    NumError(
        "Number overflow. Attempting to store a number with magnitude larger than supported range"
            .into(),
    )
}

fn underflow() -> NumError {
    NumError(
        "Number underflow. Attempting to store a number with magnitude smaller than supported range"
            .into(),
    )
}

fn too_precise() -> NumError {
    NumError("Attempting to store more than 38 significant digits in a Number".into())
}

/// A sum that needs more than 38 digits is reported as an overflow, as
/// DynamoDB reports it.
fn arithmetic_check(r: &Parts) -> Result<(), NumError> {
    r.check()
        .map_err(|e| if e == too_precise() { overflow() } else { e })
}

/// A number in canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Num(String);

/// A number taken apart: `neg`, significant `digits` (no leading or trailing
/// zeros; empty for zero) and `exp`, the power of ten of the first digit.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Parts {
    neg: bool,
    digits: Vec<u8>,
    exp: i64,
}

impl Parts {
    fn zero() -> Self {
        Parts {
            neg: false,
            digits: Vec::new(),
            exp: 0,
        }
    }

    /// From a digit string with the decimal point after `int_len` digits.
    fn from_digits(neg: bool, raw: &[u8], int_len: i64) -> Self {
        let first = raw.iter().position(|&d| d != b'0');
        let Some(first) = first else {
            return Parts::zero();
        };
        let last = raw.iter().rposition(|&d| d != b'0').unwrap_or(first);
        Parts {
            neg,
            digits: raw[first..=last].to_vec(),
            exp: int_len - 1 - first as i64,
        }
    }

    fn check(&self) -> Result<(), NumError> {
        if self.digits.is_empty() {
            return Ok(());
        }
        if self.exp > MAX_EXP {
            return Err(overflow());
        }
        if self.exp < MIN_EXP {
            return Err(underflow());
        }
        if self.digits.len() > MAX_DIGITS {
            return Err(too_precise());
        }
        Ok(())
    }

    fn render(&self) -> String {
        if self.digits.is_empty() {
            return "0".into();
        }
        let mut out = String::with_capacity(self.digits.len() + 4);
        if self.neg {
            out.push('-');
        }
        let n = self.digits.len() as i64;
        if self.exp < 0 {
            out.push_str("0.");
            for _ in 0..(-self.exp - 1) {
                out.push('0');
            }
            out.extend(self.digits.iter().map(|&d| d as char));
        } else if self.exp + 1 >= n {
            out.extend(self.digits.iter().map(|&d| d as char));
            for _ in 0..(self.exp + 1 - n) {
                out.push('0');
            }
        } else {
            let split = (self.exp + 1) as usize;
            out.extend(self.digits[..split].iter().map(|&d| d as char));
            out.push('.');
            out.extend(self.digits[split..].iter().map(|&d| d as char));
        }
        out
    }
}

/// A number's text taken apart as written: sign, every digit (the decimal
/// point removed), how many of them precede the point, and the exponent.
struct Scanned {
    neg: bool,
    raw: Vec<u8>,
    int_len: i64,
    exp: i64,
}

impl Scanned {
    fn parts(&self) -> Parts {
        Parts::from_digits(self.neg, &self.raw, self.int_len.saturating_add(self.exp))
    }
}

/// Reads any number syntax DynamoDB accepts (`+1.50e3`, `.5`, `007`).
fn scan(s: &str) -> Option<Scanned> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut neg = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        neg = b[i] == b'-';
        i += 1;
    }
    let mut raw = Vec::with_capacity(b.len());
    let mut int_len: i64 = 0;
    let mut seen_point = false;
    let mut any_digit = false;
    while i < b.len() {
        match b[i] {
            d @ b'0'..=b'9' => {
                raw.push(d);
                any_digit = true;
                if !seen_point {
                    int_len += 1;
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => break,
        }
        i += 1;
    }
    if !any_digit {
        return None;
    }
    let mut exp: i64 = 0;
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        let mut eneg = false;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            eneg = b[i] == b'-';
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            exp = exp
                .saturating_mul(10)
                .saturating_add(i64::from(b[i] - b'0'));
            i += 1;
        }
        if start == i {
            return None;
        }
        if eneg {
            exp = -exp;
        }
    }
    if i != b.len() {
        return None;
    }
    Some(Scanned {
        neg,
        raw,
        int_len,
        exp,
    })
}

fn not_numeric(s: &str) -> NumError {
    NumError(format!(
        "The parameter cannot be converted to a numeric value: {s}"
    ))
}

impl Num {
    /// Parses and validates a number as DynamoDB does.
    pub fn parse(s: &str) -> Result<Num, NumError> {
        let parts = scan(s).ok_or_else(|| not_numeric(s))?.parts();
        parts.check()?;
        Ok(Num(parts.render()))
    }

    /// Parses a number as DynamoDB's older checker does (BatchWriteItem,
    /// transactions, Scan, PartiQL parameters): the text is read as Java's
    /// `BigDecimal` reads it, so an exponent or a scale that does not fit a
    /// 32-bit integer cannot be converted at all, and the magnitude check
    /// works on precision minus scale in 32-bit arithmetic, which wraps
    /// (`1e2147483647` comes out as an underflow). An empty string gets the
    /// message with nothing after it.
    pub fn parse_java(s: &str) -> Result<Num, NumError> {
        if s.is_empty() {
            return Err(NumError(
                "The parameter cannot be converted to a numeric value".into(),
            ));
        }
        let scanned = scan(s).ok_or_else(|| not_numeric(s))?;
        let frac_len = scanned.raw.len() as i64 - scanned.int_len;
        let exp = i32::try_from(scanned.exp).map_err(|_| not_numeric(s))?;
        let scale = i32::try_from(frac_len - i64::from(exp)).map_err(|_| not_numeric(s))?;
        let parts = scanned.parts();
        if !parts.digits.is_empty() {
            // BigDecimal's precision: the digits of the unscaled value.
            let first = scanned.raw.iter().position(|&d| d != b'0').unwrap_or(0);
            let precision = (scanned.raw.len() - first) as i32;
            let magnitude = precision.wrapping_sub(scale);
            if magnitude > MAX_EXP as i32 + 1 {
                return Err(overflow());
            }
            if magnitude < MIN_EXP as i32 + 1 {
                return Err(underflow());
            }
        }
        parts.check()?;
        Ok(Num(parts.render()))
    }

    /// A number known to be canonical (from the store or from [`Num::as_str`]).
    pub fn from_canonical(s: String) -> Num {
        Num(s)
    }

    /// From an integer.
    pub fn from_i64(v: i64) -> Num {
        Num(v.to_string())
    }

    /// The canonical text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn parts(&self) -> Parts {
        let s = self.0.as_bytes();
        let (neg, body) = match s.first() {
            Some(b'-') => (true, &s[1..]),
            _ => (false, s),
        };
        let int_len = body.iter().position(|&c| c == b'.').unwrap_or(body.len());
        let raw: Vec<u8> = body.iter().copied().filter(|&c| c != b'.').collect();
        Parts::from_digits(neg, &raw, int_len as i64)
    }

    /// Whether the number is negative.
    pub fn is_negative(&self) -> bool {
        self.0.starts_with('-')
    }

    /// Storage size in bytes as DynamoDB counts it (computed on the
    /// canonical text, without allocating).
    pub fn size(&self) -> usize {
        let s = self.0.as_bytes();
        let neg = s.first() == Some(&b'-');
        let body = if neg { &s[1..] } else { s };
        let point = body.iter().position(|&c| c == b'.').unwrap_or(body.len());
        let Some(first) = body.iter().position(|&c| c != b'0' && c != b'.') else {
            return 1;
        };
        let last = body
            .iter()
            .rposition(|&c| c != b'0' && c != b'.')
            .unwrap_or(first);
        // significant digits from the first to the last, the point not counted
        let span = last + 1 - first;
        let n = if first < point && last > point {
            span - 1
        } else {
            span
        };
        // power of ten of the first significant digit
        let exp: i64 = if first < point {
            (point - first) as i64 - 1
        } else {
            -((first - point) as i64)
        };
        let pad = usize::from(n.is_multiple_of(2) && exp % 2 == 0);
        1 + n.div_ceil(2) + pad + usize::from(neg)
    }

    /// `self + other`, as DynamoDB's `SET a = a + :v` and `ADD` compute it.
    pub fn add(&self, other: &Num) -> Result<Num, NumError> {
        let r = add_parts(&self.parts(), &other.parts());
        arithmetic_check(&r)?;
        Ok(Num(r.render()))
    }

    /// `self - other`.
    pub fn sub(&self, other: &Num) -> Result<Num, NumError> {
        let mut o = other.parts();
        if !o.digits.is_empty() {
            o.neg = !o.neg;
        }
        let r = add_parts(&self.parts(), &o);
        arithmetic_check(&r)?;
        Ok(Num(r.render()))
    }

    /// The value as an integer, when it is one that fits.
    pub fn as_i64(&self) -> Option<i64> {
        self.0.parse().ok()
    }

    /// The value as a float (for TTL timestamps and similar).
    pub fn as_f64(&self) -> f64 {
        self.0.parse().unwrap_or(0.0)
    }
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Digits of `p` aligned so the last one has weight 10^`low`.
fn aligned(p: &Parts, low: i64, high: i64) -> Vec<u8> {
    // index 0 is weight 10^high
    let width = (high - low + 1) as usize;
    let mut out = vec![0u8; width];
    for (i, d) in p.digits.iter().enumerate() {
        let weight = p.exp - i as i64;
        let idx = (high - weight) as usize;
        out[idx] = d - b'0';
    }
    out
}

fn cmp_mag(a: &[u8], b: &[u8]) -> Ordering {
    a.cmp(b)
}

fn add_parts(a: &Parts, b: &Parts) -> Parts {
    if a.digits.is_empty() {
        return b.clone();
    }
    if b.digits.is_empty() {
        return a.clone();
    }
    let low = (a.exp - a.digits.len() as i64 + 1).min(b.exp - b.digits.len() as i64 + 1);
    let high = a.exp.max(b.exp) + 1;
    let x = aligned(a, low, high);
    let y = aligned(b, low, high);
    let (neg, digits) = if a.neg == b.neg {
        let mut out = vec![0u8; x.len()];
        let mut carry = 0;
        for i in (0..x.len()).rev() {
            let s = x[i] + y[i] + carry;
            out[i] = s % 10;
            carry = s / 10;
        }
        (a.neg, out)
    } else {
        let (big, small, neg) = match cmp_mag(&x, &y) {
            Ordering::Less => (&y, &x, b.neg),
            _ => (&x, &y, a.neg),
        };
        let mut out = vec![0u8; x.len()];
        let mut borrow = 0i8;
        for i in (0..x.len()).rev() {
            let mut d = big[i] as i8 - small[i] as i8 - borrow;
            borrow = 0;
            if d < 0 {
                d += 10;
                borrow = 1;
            }
            out[i] = d as u8;
        }
        (neg, out)
    };
    let raw: Vec<u8> = digits.iter().map(|d| d + b'0').collect();
    Parts::from_digits(neg, &raw, high + 1)
}

impl Ord for Num {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        let (an, bn) = (a.first() == Some(&b'-'), b.first() == Some(&b'-'));
        match (an, bn) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => cmp_abs(a, b),
            (true, true) => cmp_abs(&b[1..], &a[1..]),
        }
    }
}

impl PartialOrd for Num {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Compares two canonical non-negative decimal texts.
fn cmp_abs(a: &[u8], b: &[u8]) -> Ordering {
    let split = |s: &[u8]| -> (usize, usize) {
        let p = s.iter().position(|&c| c == b'.').unwrap_or(s.len());
        (p, s.len())
    };
    let (ai, _) = split(a);
    let (bi, _) = split(b);
    let a_int = &a[..ai];
    let b_int = &b[..bi];
    // "0" has integer length 1 but is smaller than any other integer part
    let a_zero = a_int == b"0";
    let b_zero = b_int == b"0";
    let int_order = match (a_zero, b_zero) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a_int.len().cmp(&b_int.len()).then(a_int.cmp(b_int)),
    };
    if int_order != Ordering::Equal {
        return int_order;
    }
    let a_frac = a.get(ai + 1..).unwrap_or(&[]);
    let b_frac = b.get(bi + 1..).unwrap_or(&[]);
    a_frac.cmp(b_frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        match Num::parse(s) {
            Ok(n) => n.0,
            Err(e) => format!("ERR {e}"),
        }
    }

    #[test]
    fn normalises_as_dynamodb() {
        for (input, want) in [
            ("1", "1"),
            ("007", "7"),
            ("001.23", "1.23"),
            ("+3", "3"),
            ("+0", "0"),
            ("1.10", "1.1"),
            ("100.000", "100"),
            ("0.0", "0"),
            ("1e3", "1000"),
            ("1E+3", "1000"),
            ("-3e2", "-300"),
            ("1.23e4", "12300"),
            ("1e-3", "0.001"),
            ("123e-2", "1.23"),
            ("1.0e-1", "0.1"),
            ("-0", "0"),
            ("-0.0", "0"),
            ("0e5", "0"),
            ("0.0e300", "0"),
            (".5", "0.5"),
            ("-.5", "-0.5"),
            ("5.", "5"),
            ("9.9e10", "99000000000"),
        ] {
            assert_eq!(canon(input), want, "{input}");
        }
        assert_eq!(canon("1e125").len(), 126);
        assert!(canon("1e126").contains("overflow"));
        assert!(canon("11e125").contains("overflow"));
        assert!(canon("1e-131").contains("underflow"));
        assert!(canon("1.0e100000000").contains("overflow"));
        assert_eq!(canon("1e-130").len(), 132);
        assert!(canon(&"1".repeat(39)).contains("38 significant"));
        assert_eq!(canon(&format!("{}000", "1".repeat(38))).len(), 41);
        for bad in [
            "", "abc", "1e", "--1", "1.2.3", " 1", "0x10", "NaN", "Infinity", ".",
        ] {
            assert!(canon(bad).contains("cannot be converted"), "{bad:?}");
        }
    }

    #[test]
    fn parses_as_java_bigdecimal_in_the_older_checker() {
        let java = |s: &str| match Num::parse_java(s) {
            Ok(n) => n.0,
            Err(e) => e.0,
        };
        assert_eq!(java("1.50e2"), "150");
        assert_eq!(java("-0.0"), "0");
        assert_eq!(
            java(""),
            "The parameter cannot be converted to a numeric value"
        );
        assert!(java("abc").ends_with("numeric value: abc"));
        assert!(java("1e126").starts_with("Number overflow"));
        assert!(java("1e-131").starts_with("Number underflow"));
        assert_eq!(java("1e-130").len(), 132);
        assert_eq!(
            java("9.9999999999999999999999999999999999999E+125").len(),
            126
        );
        // precision minus scale wraps past i32::MAX
        assert!(java("1e2147483647").starts_with("Number underflow"));
        // an exponent or a scale outside an i32 cannot be converted
        for s in [
            "1e2147483648",
            "1e-2147483648",
            "1e99999999999",
            "-1e99999999999",
        ] {
            assert!(java(s).ends_with(&format!("numeric value: {s}")), "{s}");
        }
        assert!(java(&"1".repeat(39)).contains("38 significant"));
    }

    #[test]
    fn orders_numerically() {
        let mut v: Vec<Num> = [
            "10", "-1", "0.5", "9", "-10.5", "0", "100", "0.05", "-0.001",
        ]
        .iter()
        .map(|s| Num::parse(s).unwrap_or_else(|_| Num::from_i64(0)))
        .collect();
        v.sort();
        let got: Vec<&str> = v.iter().map(|n| n.as_str()).collect();
        assert_eq!(
            got,
            ["-10.5", "-1", "-0.001", "0", "0.05", "0.5", "9", "10", "100"]
        );
    }

    #[test]
    fn adds_and_subtracts_exactly() {
        let n = |s: &str| Num::parse(s).unwrap_or_else(|_| Num::from_i64(-999));
        assert_eq!(n("1").add(&n("2")).map(|x| x.0), Ok("3".into()));
        assert_eq!(n("0.1").add(&n("0.2")).map(|x| x.0), Ok("0.3".into()));
        assert_eq!(n("5").sub(&n("7.5")).map(|x| x.0), Ok("-2.5".into()));
        assert_eq!(n("-5").add(&n("5")).map(|x| x.0), Ok("0".into()));
        assert_eq!(n("999").add(&n("1")).map(|x| x.0), Ok("1000".into()));
        assert_eq!(n("1e20").sub(&n("1")).map(|x| x.0), Ok("9".repeat(20)));
        assert!(n("9.9e125").add(&n("9.9e125")).is_err());
        assert!(n("1e30").add(&n("1e-30")).is_err());
    }

    #[test]
    fn sizes_as_dynamodb() {
        let n = |s: &str| Num::parse(s).unwrap_or_else(|_| Num::from_i64(0)).size();
        assert_eq!(n("0"), 1);
        assert_eq!(n("1"), 2);
        assert_eq!(n("12"), 2);
        assert_eq!(n("-1"), 3);
        assert_eq!(n("123"), 3);
        // the same figures as taking the number apart
        for t in [
            "0.05",
            "-12.5",
            "100",
            "1234.5678",
            "0.000123",
            "-0.1",
            "99999999999999999999",
            "10.01",
        ] {
            let num = Num::parse(t).unwrap_or_else(|_| Num::from_i64(0));
            let p = num.parts();
            let digits = p.digits.len();
            let pad = usize::from(digits.is_multiple_of(2) && p.exp % 2 == 0);
            let want = 1 + digits.div_ceil(2) + pad + usize::from(p.neg);
            assert_eq!(num.size(), want, "{t}");
        }
    }
}
