//! Condition and filter expressions: resolving placeholders, DynamoDB's
//! semantic checks in DynamoDB's order of precedence, and evaluation on an
//! item.
//!
//! DynamoDB reports, in this order: redundant parentheses, an unknown
//! function, a function used where it does not belong, a reserved word used
//! as a name, and then the first condition (leaf) that has a problem, whose
//! problems rank: undefined placeholder, wrong operand count, identical
//! operands, wrong operand type.

use super::ast::{CmpOp, Cond, Operand, Path, PathElem};
use super::attrs::Attrs;
use super::parse::{RawCond, RawElem, RawFunc, RawOperand, RawPath, Source};
use super::reserved::is_reserved;
use crate::number::Num;
use crate::value::{Item, Value};
use base64::Engine;
use std::borrow::Cow;
use std::cmp::Ordering;

/// The type names `attribute_type` accepts.
pub const TYPE_NAMES: [&str; 10] = ["S", "N", "B", "BOOL", "NULL", "L", "M", "SS", "NS", "BS"];

/// A placeholder or path resolved, or not (the error is recorded).
#[derive(Debug)]
pub(crate) enum Res {
    Path(Option<Path>),
    Value(Option<Value>),
    Func(ResFunc),
}

#[derive(Debug)]
pub(crate) struct ResFunc {
    pub name: String,
    pub args: Vec<Res>,
    /// The type the call yields, when known (`size` gives `N`).
    pub ty: Option<&'static str>,
}

impl Res {
    /// The type DynamoDB can tell from the expression alone.
    fn ty(&self) -> Option<&'static str> {
        match self {
            Res::Value(Some(v)) => Some(v.type_name()),
            Res::Func(f) => f.ty,
            _ => None,
        }
    }

    fn as_path(&self) -> Option<&Path> {
        match self {
            Res::Path(Some(p)) => Some(p),
            _ => None,
        }
    }
}

#[derive(Default)]
struct LeafErrors {
    attr: Option<String>,
    operand: Option<String>,
    distinct: Option<String>,
    function: Option<String>,
}

impl LeafErrors {
    fn first(&mut self) -> Option<String> {
        self.attr
            .take()
            .or(self.operand.take())
            .or(self.distinct.take())
            .or(self.function.take())
    }
}

fn set(slot: &mut Option<String>, msg: impl FnOnce() -> String) {
    if slot.is_none() {
        *slot = Some(msg());
    }
}

/// Resolves names and values and records DynamoDB's errors in the order
/// DynamoDB ranks them.
pub(crate) struct Resolver<'s, 'a> {
    src: &'s Source<'a>,
    attrs: &'s Attrs,
    unknown_function: Option<String>,
    misused_function: Option<String>,
    reserved: Option<String>,
    condition: Option<String>,
    leaf: LeafErrors,
}

impl<'s, 'a> Resolver<'s, 'a> {
    pub(crate) fn new(src: &'s Source<'a>, attrs: &'s Attrs) -> Self {
        Resolver {
            src,
            attrs,
            unknown_function: None,
            misused_function: None,
            reserved: None,
            condition: None,
            leaf: LeafErrors::default(),
        }
    }

    /// The text of token `i`.
    pub(crate) fn text(&self, i: usize) -> &'a str {
        self.src.text(i)
    }

    /// Takes the recorded undefined-placeholder error, if any.
    pub(crate) fn take_attr_error(&mut self) -> Option<String> {
        self.leaf.attr.take()
    }

    /// Puts back an undefined-placeholder error.
    pub(crate) fn put_attr_error(&mut self, e: String) {
        self.leaf.attr = Some(e);
    }

    /// Records an unknown function (the first one is reported).
    pub(crate) fn unknown_function(&mut self, name: &str) {
        set(&mut self.unknown_function, || {
            format!("Invalid function name; function: {name}")
        });
    }

    /// For update expressions: the reserved-word, unknown-function and
    /// undefined-name errors, which rank differently there.
    pub(crate) fn update_errors(&mut self) -> (Option<String>, Option<String>, Option<String>) {
        (
            self.reserved.take(),
            self.unknown_function.take(),
            self.leaf.attr.take(),
        )
    }

    /// Resolves a path, checking reserved words and names.
    pub(crate) fn path(&mut self, raw: &RawPath) -> Option<Path> {
        let mut out = Vec::with_capacity(raw.0.len());
        let mut ok = true;
        for e in &raw.0 {
            match e {
                RawElem::Ident(i) => {
                    let name = self.src.text(*i);
                    if is_reserved(name) {
                        set(&mut self.reserved, || {
                            format!(
                                "Attribute name is a reserved keyword; reserved keyword: {name}"
                            )
                        });
                    }
                    out.push(PathElem::Key(name.to_string()));
                }
                RawElem::Name(i) => {
                    let key = self.src.text(*i);
                    match self.attrs.name(key) {
                        Some(n) => out.push(PathElem::Key(n.to_string())),
                        None => {
                            ok = false;
                            set(&mut self.leaf.attr, || {
                                format!("An expression attribute name used in the document path is not defined; attribute name: {key}")
                            });
                        }
                    }
                }
                RawElem::Index(n) => out.push(PathElem::Index(*n)),
            }
        }
        ok.then_some(Path(out))
    }

    /// Resolves a `:value`.
    pub(crate) fn value(&mut self, tok: usize) -> Option<Value> {
        let key = self.src.text(tok);
        match self.attrs.value(key) {
            Some(v) => Some(v.clone()),
            None => {
                set(&mut self.leaf.attr, || {
                    format!("An expression attribute value used in expression is not defined; attribute value: {key}")
                });
                None
            }
        }
    }

    fn operand(&mut self, raw: &RawOperand) -> Res {
        match raw {
            RawOperand::Path(p) => Res::Path(self.path(p)),
            RawOperand::Value(v) => Res::Value(self.value(*v)),
            RawOperand::Func(f) => Res::Func(self.function(f)),
        }
    }

    fn misused(&mut self, args: &[&Res]) {
        for a in args {
            if let Res::Func(f) = a {
                if f.name != "size" {
                    set(&mut self.misused_function, || {
                        format!("The function is not allowed to be used this way in an expression; function: {}", f.name)
                    });
                    return;
                }
            }
        }
    }

    fn distinct(&mut self, op: &str, a: &Res, b: &Res) {
        if let (Some(x), Some(y)) = (a.as_path(), b.as_path()) {
            if x == y {
                set(&mut self.leaf.distinct, || {
                    format!("The first operand must be distinct from the remaining operands for this operator or function; operator: {op}, first operand: {x}")
                });
            }
        }
    }

    fn function(&mut self, raw: &RawFunc) -> ResFunc {
        let name = self.src.text(raw.name).to_string();
        let args: Vec<Res> = raw.args.iter().map(|a| self.operand(a)).collect();
        let refs: Vec<&Res> = args.iter().collect();
        self.misused(&refs);
        let ty = self.check_function(&name, &args);
        ResFunc { name, args, ty }
    }

    fn check_function(&mut self, name: &str, args: &[Res]) -> Option<&'static str> {
        if self.unknown_function.is_some() {
            return None;
        }
        let arity = match name {
            "attribute_exists" | "attribute_not_exists" | "size" => 1,
            "attribute_type" | "begins_with" | "contains" => 2,
            "if_not_exists" | "list_append" => {
                self.unknown_function = Some(format!(
                    "The function is not allowed in a condition expression; function: {name}"
                ));
                return None;
            }
            _ => {
                self.unknown_function = Some(format!("Invalid function name; function: {name}"));
                return None;
            }
        };
        if self.leaf.operand.is_some() {
            return None;
        }
        if args.len() != arity {
            self.leaf.operand = Some(format!("Incorrect number of operands for operator or function; operator or function: {name}, number of operands: {}", args.len()));
            return None;
        }
        if arity == 2 {
            self.distinct(name, &args[0], &args[1]);
        }
        if self.leaf.function.is_some() {
            return None;
        }
        let bad_type = |t: &str| {
            format!("Incorrect operand type for operator or function; operator or function: {name}, operand type: {t}")
        };
        match name {
            "attribute_exists" | "attribute_not_exists" => {
                if !matches!(args[0], Res::Path(_)) {
                    self.leaf.function = Some(format!("Operator or function requires a document path; operator or function: {name}"));
                }
                None
            }
            "begins_with" => {
                for a in args {
                    if let Some(t) = a.ty() {
                        if t != "S" && t != "B" {
                            self.leaf.function = Some(bad_type(t));
                            return None;
                        }
                    }
                }
                Some("BOOL")
            }
            "attribute_type" => {
                let t = args[1].ty();
                if t != Some("S") {
                    self.leaf.function =
                        Some(bad_type(t.unwrap_or("{NS,SS,L,BS,N,M,B,BOOL,NULL,S}")));
                    return None;
                }
                if let Res::Value(Some(Value::S(s))) = &args[1] {
                    if !TYPE_NAMES.contains(&s.as_str()) {
                        self.leaf.function = Some(format!("Invalid attribute type name found; type: {s}, valid types: {{B,NULL,SS,BOOL,L,BS,N,NS,S,M}}"));
                        return None;
                    }
                }
                Some("BOOL")
            }
            "size" => {
                if let Some(t) = args[0].ty() {
                    if matches!(t, "N" | "BOOL" | "NULL") {
                        self.leaf.function = Some(bad_type(t));
                        return None;
                    }
                }
                Some("N")
            }
            _ => Some("BOOL"),
        }
    }

    /// Ordering (`<`, `BETWEEN`, ...) needs constants of a scalar type.
    fn orderable(&mut self, name: &str, operands: &[&Res]) {
        if self.leaf.function.is_some() {
            return;
        }
        for r in operands {
            if let Res::Value(Some(v)) = r {
                let t = v.type_name();
                if !matches!(t, "S" | "N" | "B") {
                    self.leaf.function = Some(format!("Incorrect operand type for operator or function; operator or function: {name}, operand type: {t}"));
                    return;
                }
            }
        }
    }

    fn between_bounds(&mut self, lo: &Res, hi: &Res) {
        if self.leaf.function.is_some() {
            return;
        }
        let (Res::Value(Some(x)), Res::Value(Some(y))) = (lo, hi) else {
            return;
        };
        let bounds = format!(
            "lower bound operand: AttributeValue: {{{}:{}}}, upper bound operand: AttributeValue: {{{}:{}}}",
            x.type_name(),
            short(x),
            y.type_name(),
            short(y)
        );
        if x.type_name() != y.type_name() {
            self.leaf.function = Some(format!(
                "The BETWEEN operator requires same data type for lower and upper bounds; {bounds}"
            ));
        } else if x.compare(y) == Some(Ordering::Greater) {
            self.leaf.function = Some(format!("The BETWEEN operator requires upper bound to be greater than or equal to lower bound; {bounds}"));
        }
    }

    /// Closes a leaf condition: its first problem becomes the condition
    /// error if none was found before.
    fn end_leaf(&mut self) {
        let first = self.leaf.first();
        self.leaf = LeafErrors::default();
        if self.condition.is_none() {
            self.condition = first;
        }
    }

    /// The error DynamoDB reports for everything resolved so far, if any.
    pub(crate) fn error(&mut self, redundant_parens: bool) -> Option<String> {
        self.end_leaf();
        if redundant_parens {
            return Some("The expression has redundant parentheses;".into());
        }
        self.unknown_function
            .take()
            .or(self.misused_function.take())
            .or(self.reserved.take())
            .or(self.condition.take())
    }

    /// Resolves a whole condition tree (errors are recorded, and the tree
    /// is only meaningful when [`Resolver::error`] finds none).
    pub(crate) fn cond(&mut self, raw: &RawCond) -> Option<Cond> {
        match raw {
            RawCond::And(items) | RawCond::Or(items) => {
                let mut out = Vec::with_capacity(items.len());
                for c in items {
                    if let Some(c) = self.cond(c) {
                        out.push(c);
                    }
                }
                Some(if matches!(raw, RawCond::And(_)) {
                    Cond::And(out)
                } else {
                    Cond::Or(out)
                })
            }
            RawCond::Not(c) => Some(Cond::Not(Box::new(self.cond(c)?))),
            RawCond::Cmp(op, a, b) => {
                let (a, b) = (self.operand(a), self.operand(b));
                self.misused(&[&a, &b]);
                self.distinct(op.symbol(), &a, &b);
                if !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                    self.orderable(op.symbol(), &[&a, &b]);
                }
                self.end_leaf();
                Some(Cond::Cmp(*op, to_operand(a)?, to_operand(b)?))
            }
            RawCond::Between(abc) => {
                let [a, lo, hi] = &**abc;
                let (a, lo, hi) = (self.operand(a), self.operand(lo), self.operand(hi));
                self.misused(&[&a, &lo, &hi]);
                self.orderable("BETWEEN", &[&a, &lo, &hi]);
                self.between_bounds(&lo, &hi);
                self.end_leaf();
                Some(Cond::Between(
                    to_operand(a)?,
                    to_operand(lo)?,
                    to_operand(hi)?,
                ))
            }
            RawCond::In(a, list) => {
                let a = self.operand(a);
                let list: Vec<Res> = list.iter().map(|x| self.operand(x)).collect();
                let mut refs: Vec<&Res> = vec![&a];
                refs.extend(list.iter());
                self.misused(&refs);
                self.end_leaf();
                let list: Option<Vec<Operand>> = list.into_iter().map(to_operand).collect();
                Some(Cond::In(to_operand(a)?, list?))
            }
            RawCond::Func(f) => {
                let f = self.function(f);
                if f.name == "size" {
                    set(&mut self.misused_function, || {
                        "The function is not allowed to be used this way in an expression; function: size".into()
                    });
                }
                self.end_leaf();
                func_cond(f)
            }
        }
    }
}

/// A value as DynamoDB shows it inside `{T:v}` in messages.
fn short(v: &Value) -> String {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    match v {
        Value::S(s) => s.clone(),
        Value::N(n) => n.to_string(),
        Value::B(b) => b64(b),
        Value::Bool(b) => b.to_string(),
        Value::Null => "true".into(),
        Value::Ss(s) => s.join(","),
        Value::Ns(s) => s.iter().map(Num::as_str).collect::<Vec<_>>().join(","),
        Value::Bs(s) => s.iter().map(|b| b64(b)).collect::<Vec<_>>().join(","),
        Value::L(_) | Value::M(_) => "[object Object]".into(),
    }
}

fn to_operand(r: Res) -> Option<Operand> {
    match r {
        Res::Path(p) => Some(Operand::Path(p?)),
        Res::Value(v) => Some(Operand::Value(v?)),
        Res::Func(f) if f.name == "size" => {
            let arg = f.args.into_iter().next()?;
            Some(Operand::Size(Box::new(to_operand(arg)?)))
        }
        Res::Func(_) => None,
    }
}

fn func_cond(f: ResFunc) -> Option<Cond> {
    let mut args = f.args.into_iter();
    let first = args.next()?;
    let second = args.next();
    Some(match f.name.as_str() {
        "attribute_exists" => Cond::Exists(first.as_path()?.clone()),
        "attribute_not_exists" => Cond::NotExists(first.as_path()?.clone()),
        "attribute_type" => {
            let Some(Res::Value(Some(Value::S(t)))) = second else {
                return None;
            };
            let t = TYPE_NAMES.iter().find(|n| **n == t)?;
            Cond::Type(to_operand(first)?, t)
        }
        "begins_with" => Cond::BeginsWith(to_operand(first)?, to_operand(second?)?),
        "contains" => Cond::Contains(to_operand(first)?, to_operand(second?)?),
        _ => return None,
    })
}

/// Resolves and checks a parsed condition.
pub(crate) fn resolve(
    src: &Source<'_>,
    raw: &super::parse::RawCondition,
    attrs: &Attrs,
) -> Result<Cond, String> {
    let mut r = Resolver::new(src, attrs);
    let cond = r.cond(&raw.cond);
    if let Some(e) = r.error(raw.redundant_parens) {
        return Err(e);
    }
    // every path to None above records an error, so this is not reached
    cond.ok_or_else(|| "Invalid expression".to_string())
}

// ---- evaluation ---------------------------------------------------------

/// Size as `size()` reports it, for the types that have one.
fn size_of(v: &Value) -> Option<usize> {
    Some(match v {
        Value::S(s) => s.len(),
        Value::B(b) => b.len(),
        Value::Ss(s) => s.len(),
        Value::Ns(s) => s.len(),
        Value::Bs(s) => s.len(),
        Value::L(l) => l.len(),
        Value::M(m) => m.len(),
        Value::N(_) | Value::Bool(_) | Value::Null => return None,
    })
}

impl Operand {
    /// The operand's value for `item` (absent attributes give `None`).
    pub fn eval<'a>(&'a self, item: &'a Item) -> Option<Cow<'a, Value>> {
        match self {
            Operand::Path(p) => p.get(item).map(Cow::Borrowed),
            Operand::Value(v) => Some(Cow::Borrowed(v)),
            Operand::Size(inner) => {
                let v = inner.eval(item)?;
                let n = size_of(&v)?;
                Some(Cow::Owned(Value::N(Num::from_i64(n as i64))))
            }
        }
    }
}

fn contains(hay: &Value, needle: &Value) -> bool {
    match (hay, needle) {
        (Value::S(h), Value::S(n)) => h.contains(n.as_str()),
        (Value::B(h), Value::B(n)) => n.is_empty() || h.windows(n.len()).any(|w| w == n.as_slice()),
        (Value::Ss(h), Value::S(n)) => h.contains(n),
        (Value::Ns(h), Value::N(n)) => h.contains(n),
        (Value::Bs(h), Value::B(n)) => h.contains(n),
        (Value::L(h), n) => h.iter().any(|x| x.equals(n)),
        _ => false,
    }
}

fn begins_with(v: &Value, prefix: &Value) -> bool {
    match (v, prefix) {
        (Value::S(s), Value::S(p)) => s.starts_with(p.as_str()),
        (Value::B(s), Value::B(p)) => s.starts_with(p),
        _ => false,
    }
}

fn compare(op: CmpOp, a: Option<&Value>, b: Option<&Value>) -> bool {
    let equal = matches!((a, b), (Some(x), Some(y)) if x.equals(y));
    match op {
        CmpOp::Eq => equal,
        CmpOp::Ne => !equal,
        _ => {
            let (Some(x), Some(y)) = (a, b) else {
                return false;
            };
            match x.compare(y) {
                Some(o) => match op {
                    CmpOp::Lt => o == Ordering::Less,
                    CmpOp::Le => o != Ordering::Greater,
                    CmpOp::Gt => o == Ordering::Greater,
                    _ => o != Ordering::Less,
                },
                None => false,
            }
        }
    }
}

impl Cond {
    /// Whether `item` satisfies the condition (a missing item is an empty
    /// one). Type mismatches and absent attributes make a comparison false
    /// (`<>`: true), never an error.
    pub fn eval(&self, item: &Item) -> bool {
        match self {
            Cond::Cmp(op, a, b) => {
                let (a, b) = (a.eval(item), b.eval(item));
                compare(*op, a.as_deref(), b.as_deref())
            }
            Cond::Between(a, lo, hi) => {
                let (Some(a), Some(lo), Some(hi)) = (a.eval(item), lo.eval(item), hi.eval(item))
                else {
                    return false;
                };
                matches!(a.compare(&lo), Some(Ordering::Greater | Ordering::Equal))
                    && matches!(a.compare(&hi), Some(Ordering::Less | Ordering::Equal))
            }
            Cond::In(a, list) => {
                let Some(a) = a.eval(item) else {
                    return false;
                };
                list.iter()
                    .any(|x| x.eval(item).is_some_and(|x| a.equals(&x)))
            }
            Cond::Exists(p) => p.get(item).is_some(),
            Cond::NotExists(p) => p.get(item).is_none(),
            Cond::Type(a, t) => a.eval(item).is_some_and(|v| v.type_name() == *t),
            Cond::BeginsWith(a, b) => match (a.eval(item), b.eval(item)) {
                (Some(a), Some(b)) => begins_with(&a, &b),
                _ => false,
            },
            Cond::Contains(a, b) => match (a.eval(item), b.eval(item)) {
                (Some(a), Some(b)) => contains(&a, &b),
                _ => false,
            },
            Cond::And(items) => items.iter().all(|c| c.eval(item)),
            Cond::Or(items) => items.iter().any(|c| c.eval(item)),
            Cond::Not(c) => !c.eval(item),
        }
    }

    /// The top-level attributes the condition reads (for "can only contain
    /// non-primary key attributes" checks on filters).
    pub fn path_heads(&self, out: &mut Vec<String>) {
        fn operand(o: &Operand, out: &mut Vec<String>) {
            match o {
                Operand::Path(p) => push(p, out),
                Operand::Size(i) => operand(i, out),
                Operand::Value(_) => {}
            }
        }
        fn push(p: &Path, out: &mut Vec<String>) {
            if !out.iter().any(|h| h == p.head()) {
                out.push(p.head().to_string());
            }
        }
        match self {
            Cond::Cmp(_, a, b) | Cond::BeginsWith(a, b) | Cond::Contains(a, b) => {
                operand(a, out);
                operand(b, out);
            }
            Cond::Between(a, b, c) => {
                operand(a, out);
                operand(b, out);
                operand(c, out);
            }
            Cond::In(a, list) => {
                operand(a, out);
                for x in list {
                    operand(x, out);
                }
            }
            Cond::Exists(p) | Cond::NotExists(p) => push(p, out),
            Cond::Type(a, _) => operand(a, out),
            Cond::And(items) | Cond::Or(items) => {
                for c in items {
                    c.path_heads(out);
                }
            }
            Cond::Not(c) => c.path_heads(out),
        }
    }
}
