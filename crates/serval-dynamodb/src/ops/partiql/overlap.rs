//! DynamoDB reads a WHERE clause whose ORs involve the key as one key read
//! per branch, and refuses branches that would read the same items twice:
//! "Overlapping conditions with range keys are not supported in where
//! clause". An OR that names no key attribute is a filter, not branches; a
//! branch with no partition key equality makes the read a scan; and a branch
//! that negates a sort key condition (NOT, `<>`) turns the check off, as
//! DynamoDB answers (the dynamodb-conformance suite's whereOverlap and
//! partiqlGrammar files, floci's captures).

use super::ast::{Cond, Operand, Seg};
use crate::error::{self, Result};
use crate::model::KeySchema;
use crate::number::Num;
use crate::value::Value;
use std::cmp::Ordering;

/// Most branches looked at; a larger WHERE clause is not checked.
const MAX_BRANCHES: usize = 256;

/// A key value in DynamoDB's key order.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
enum KeyVal {
    Bytes(Vec<u8>),
    Num(Num),
}

impl KeyVal {
    fn of(v: &Value) -> Option<KeyVal> {
        match v {
            Value::S(s) => Some(KeyVal::Bytes(s.as_bytes().to_vec())),
            Value::B(b) => Some(KeyVal::Bytes(b.clone())),
            Value::N(n) => Some(KeyVal::Num(n.clone())),
            _ => None,
        }
    }
}

/// One end of a range: the value and whether it is included.
type Bound = Option<(KeyVal, bool)>;

/// A range of sort key values; `None` bounds are open.
#[derive(Clone)]
struct Range {
    lo: Bound,
    hi: Bound,
}

impl Range {
    const ALL: Range = Range { lo: None, hi: None };

    fn point(v: KeyVal) -> Range {
        Range {
            lo: Some((v.clone(), true)),
            hi: Some((v, true)),
        }
    }

    /// The tighter of two lower (or, with `upper`, upper) bounds.
    fn tighter(a: Bound, b: Bound, upper: bool) -> Bound {
        match (a, b) {
            (None, x) | (x, None) => x,
            (Some((x, xi)), Some((y, yi))) => Some(match x.cmp(&y) {
                Ordering::Equal => (x, xi && yi),
                Ordering::Less if upper => (x, xi),
                Ordering::Less => (y, yi),
                Ordering::Greater if upper => (y, yi),
                Ordering::Greater => (x, xi),
            }),
        }
    }

    fn intersect(&self, other: &Range) -> Range {
        Range {
            lo: Self::tighter(self.lo.clone(), other.lo.clone(), false),
            hi: Self::tighter(self.hi.clone(), other.hi.clone(), true),
        }
    }

    fn is_empty(&self) -> bool {
        match (&self.lo, &self.hi) {
            (Some((l, li)), Some((h, hi))) => match l.cmp(h) {
                Ordering::Greater => true,
                Ordering::Equal => !(*li && *hi),
                Ordering::Less => false,
            },
            _ => false,
        }
    }
}

/// `begins_with(sk, p)`: from `p` up to the first value past every `p...`.
fn prefix_range(p: &Value) -> Option<Range> {
    let bytes = match p {
        Value::S(s) => s.as_bytes().to_vec(),
        Value::B(b) => b.clone(),
        _ => return None,
    };
    let mut next = bytes.clone();
    while next.last() == Some(&0xff) {
        next.pop();
    }
    let hi = match next.last_mut() {
        Some(last) => {
            *last += 1;
            Some((KeyVal::Bytes(next), false))
        }
        None => None,
    };
    Some(Range {
        lo: Some((KeyVal::Bytes(bytes), true)),
        hi,
    })
}

fn is_attr(o: &Operand, name: &str) -> bool {
    matches!(o, Operand::Path(p) if matches!(p.as_slice(), [Seg::Name(n)] if n == name))
}

/// Whether the condition names one of the attributes (at the top of a path).
pub(super) fn mentions(c: &Cond, names: &[&str]) -> bool {
    fn op(o: &Operand, names: &[&str]) -> bool {
        match o {
            Operand::Path(p) => {
                matches!(p.first(), Some(Seg::Name(n)) if names.contains(&n.as_str()))
            }
            Operand::Lit(_) => false,
            Operand::Func(_, args) => args.iter().any(|a| op(a, names)),
            Operand::Arith(a, _, b) => op(a, names) || op(b, names),
        }
    }
    match c {
        Cond::And(v) | Cond::Or(v) => v.iter().any(|c| mentions(c, names)),
        Cond::Not(c) => mentions(c, names),
        Cond::Cmp(a, _, b) => op(a, names) || op(b, names),
        Cond::Between(a, b, d) => op(a, names) || op(b, names) || op(d, names),
        Cond::In(a, list) => op(a, names) || list.iter().any(|o| op(o, names)),
        Cond::Func(_, args) => args.iter().any(|a| op(a, names)),
        Cond::Is(o, _, _) => op(o, names),
    }
}

/// The WHERE clause as an OR of ANDs, expanding only ORs that name a key.
fn branches<'a>(c: &'a Cond, keys: &[&str]) -> Option<Vec<Vec<&'a Cond>>> {
    match c {
        Cond::And(v) => {
            let mut out: Vec<Vec<&Cond>> = vec![Vec::new()];
            for part in v {
                let sub = branches(part, keys)?;
                let mut next = Vec::new();
                for a in &out {
                    for b in &sub {
                        next.push(a.iter().chain(b).copied().collect());
                    }
                }
                if next.len() > MAX_BRANCHES {
                    return None;
                }
                out = next;
            }
            Some(out)
        }
        Cond::Or(v) if mentions(c, keys) => {
            let mut out = Vec::new();
            for part in v {
                out.extend(branches(part, keys)?);
                if out.len() > MAX_BRANCHES {
                    return None;
                }
            }
            Some(out)
        }
        other => Some(vec![vec![other]]),
    }
}

/// What one branch reads: partition key values and a sort key range each.
enum Reads {
    /// No partition key equality: a scan, which no branch can overlap.
    Scan,
    /// A negated sort key condition: DynamoDB does not check.
    Unchecked,
    /// Nothing (contradictory conditions).
    Nothing,
    Keys(Vec<(KeyVal, Range)>),
}

fn reads(branch: &[&Cond], hash: &str, range: Option<&str>) -> Reads {
    let mut hashes: Option<Vec<KeyVal>> = None;
    let mut sk = vec![Range::ALL];
    for c in branch {
        if let Some(r) = range {
            let negated = match c {
                Cond::Not(inner) => mentions(inner, &[r]),
                Cond::Cmp(a, "<>", b) => is_attr(a, r) || is_attr(b, r),
                _ => false,
            };
            if negated {
                return Reads::Unchecked;
            }
        }
        // partition key: `pk = v` or `pk IN [...]`
        let vals: Option<Vec<KeyVal>> = match c {
            Cond::Cmp(a, "=", Operand::Lit(v)) | Cond::Cmp(Operand::Lit(v), "=", a)
                if is_attr(a, hash) =>
            {
                KeyVal::of(v).map(|k| vec![k])
            }
            Cond::In(a, list) if is_attr(a, hash) => list
                .iter()
                .map(|o| match o {
                    Operand::Lit(v) => KeyVal::of(v),
                    _ => None,
                })
                .collect(),
            _ => None,
        };
        if let Some(vals) = vals {
            hashes = Some(match hashes {
                None => vals,
                Some(have) => have.into_iter().filter(|h| vals.contains(h)).collect(),
            });
            continue;
        }
        let Some(r) = range else { continue };
        // sort key: a range, or points with IN
        let ranges: Option<Vec<Range>> = match c {
            Cond::Cmp(a, op, Operand::Lit(v)) if is_attr(a, r) => KeyVal::of(v).map(|k| {
                vec![match *op {
                    "=" => Range::point(k),
                    "<" => Range {
                        lo: None,
                        hi: Some((k, false)),
                    },
                    "<=" => Range {
                        lo: None,
                        hi: Some((k, true)),
                    },
                    ">" => Range {
                        lo: Some((k, false)),
                        hi: None,
                    },
                    _ => Range {
                        lo: Some((k, true)),
                        hi: None,
                    },
                }]
            }),
            Cond::Between(a, Operand::Lit(lo), Operand::Lit(hi)) if is_attr(a, r) => {
                match (KeyVal::of(lo), KeyVal::of(hi)) {
                    (Some(l), Some(h)) => Some(vec![Range {
                        lo: Some((l, true)),
                        hi: Some((h, true)),
                    }]),
                    _ => None,
                }
            }
            Cond::In(a, list) if is_attr(a, r) => list
                .iter()
                .map(|o| match o {
                    Operand::Lit(v) => KeyVal::of(v).map(Range::point),
                    _ => None,
                })
                .collect(),
            Cond::Func(f, args)
                if f == "begins_with" && args.len() == 2 && is_attr(&args[0], r) =>
            {
                match &args[1] {
                    Operand::Lit(p) => prefix_range(p).map(|x| vec![x]),
                    _ => None,
                }
            }
            _ => None,
        };
        if let Some(ranges) = ranges {
            sk = sk
                .iter()
                .flat_map(|have| ranges.iter().map(move |x| have.intersect(x)))
                .filter(|x| !x.is_empty())
                .collect();
        }
    }
    let Some(hashes) = hashes else {
        return Reads::Scan;
    };
    let out: Vec<(KeyVal, Range)> = hashes
        .into_iter()
        .flat_map(|h| sk.iter().map(move |r| (h.clone(), r.clone())))
        .collect();
    if out.is_empty() {
        Reads::Nothing
    } else {
        Reads::Keys(out)
    }
}

/// Refuses a WHERE clause whose branches read the same key range twice.
pub(super) fn check(keys: &KeySchema, cond: Option<&Cond>) -> Result<()> {
    let Some(cond) = cond else { return Ok(()) };
    let hash = keys.hash.name.as_str();
    let range = keys.range.as_ref().map(|r| r.name.as_str());
    let names: Vec<&str> = std::iter::once(hash).chain(range).collect();
    let Some(list) = branches(cond, &names) else {
        return Ok(());
    };
    let mut all: Vec<(KeyVal, Range)> = Vec::new();
    for b in &list {
        match reads(b, hash, range) {
            Reads::Scan | Reads::Unchecked => return Ok(()),
            Reads::Nothing => {}
            Reads::Keys(k) => all.extend(k),
        }
    }
    for (i, (h1, r1)) in all.iter().enumerate() {
        for (h2, r2) in &all[i + 1..] {
            if h1 == h2 && !r1.intersect(r2).is_empty() {
                return Err(error::validation(
                    "Overlapping conditions with range keys are not supported in where clause",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::ast::Stmt;
    use super::super::statement::parse;
    use super::*;
    use crate::model::KeyAttr;

    fn overlaps(where_: &str) -> bool {
        let keys = KeySchema::simple(
            KeyAttr {
                name: "pk".into(),
                ty: "S".into(),
            },
            Some(KeyAttr {
                name: "sk".into(),
                ty: "S".into(),
            }),
        );
        let Ok(Stmt::Select { cond, .. }) = parse(&format!("SELECT * FROM t WHERE {where_}"), &[])
        else {
            panic!("{where_}");
        };
        check(&keys, cond.as_ref()).is_err()
    }

    #[test]
    fn refuses_branches_reading_the_same_keys() {
        for w in [
            "pk IN ['r', 'r']",
            "pk = 'r' OR pk = 'r'",
            "pk = 'r' AND (sk > '0' OR sk < '5')",
            "pk = 'r' AND (sk = '1' OR flag = 'two')",
            "(pk = 'r' AND flag = 'one') OR (pk = 'r' AND flag = 'two')",
            "pk = 'a' AND x = '1' OR pk = 'a' AND sk = '2'",
            "pk = 'a' AND x <> '1' OR pk = 'a' AND sk = '2'",
            "pk = 'a' AND (begins_with(sk, 'ab') OR sk = 'abc')",
        ] {
            assert!(overlaps(w), "{w}");
        }
        for w in [
            "pk = 'r' OR sk = '1'",
            "pk = 'r' AND (sk = '1' OR sk = '2')",
            "pk = 'r' AND sk IN ['1', '2']",
            "pk = 'r' AND (sk < '1' OR sk > '1' OR sk = '1')",
            "pk = 'r' AND (v = 10 OR v = 50)",
            "pk = 'a' AND NOT sk = '1' OR pk = 'a' AND sk = '2'",
            "pk = 'a' AND sk <> '1' OR pk = 'a' AND sk = '2'",
            "pk = 'a' OR pk = 'a' AND NOT sk = '1'",
            "pk = 'a' OR pk = 'b'",
            "pk = 'y' AND (pk = 'z' OR zz = '1')",
            "pk = 'a' AND (begins_with(sk, 'ab') OR sk = 'ac')",
        ] {
            assert!(!overlaps(w), "{w}");
        }
    }
}
