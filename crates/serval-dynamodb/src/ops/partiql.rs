//! PartiQL for DynamoDB: ExecuteStatement, BatchExecuteStatement and
//! ExecuteTransaction with SELECT, INSERT, UPDATE and DELETE. A statement is
//! parsed here and rewritten into the equivalent item, query or scan request
//! (its WHERE clause into a condition expression with generated names and
//! values), which then runs through the same code as every other request.

use crate::error::{self, Result};
use crate::number::Num;
use crate::request::{arr_of, str_of, Body};
use crate::value::{item_to_json, Item, Value};
use crate::DynamoDb;
use base64::Engine;
use serde_json::{json, Map, Value as Json};
use serval_core::{AwsError, RequestContext};
use std::collections::BTreeMap;

const MAX_DEPTH: usize = 64;

fn malformed(detail: impl AsRef<str>) -> AwsError {
    error::validation(format!(
        "Statement wasn't well formed, can't be processed: {}",
        detail.as_ref()
    ))
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Str(String),
    Num(String),
    Param,
    Sym(&'static str),
}

const SYMS: &[&str] = &[
    "<<", ">>", "<>", "!=", "<=", ">=", "=", "<", ">", "(", ")", "[", "]", "{", "}", ",", ".", ":",
    "*", "+", "-", ";",
];

fn lex(src: &str) -> Result<Vec<Tok>> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '\'' || c == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(malformed("unterminated quoted text")),
                    Some(&q) if q == c => {
                        if chars.get(i + 1) == Some(&c) {
                            s.push(c);
                            i += 2;
                        } else {
                            i += 1;
                            break;
                        }
                    }
                    Some(&ch) => {
                        s.push(ch);
                        i += 1;
                    }
                }
            }
            out.push(if c == '\'' {
                Tok::Str(s)
            } else {
                Tok::Quoted(s)
            });
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || chars[i] == '.'
                    || chars[i] == 'e'
                    || chars[i] == 'E'
                    || ((chars[i] == '-' || chars[i] == '+') && matches!(chars[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            out.push(Tok::Num(chars[start..i].iter().collect()));
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Tok::Word(chars[start..i].iter().collect()));
            continue;
        }
        if c == '?' {
            out.push(Tok::Param);
            i += 1;
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
        match SYMS.iter().find(|s| rest.starts_with(**s)) {
            Some(s) => {
                out.push(Tok::Sym(s));
                i += s.len();
            }
            None => return Err(malformed(format!("Unexpected character: {c}"))),
        }
    }
    Ok(out)
}

#[derive(Debug, Clone)]
enum Seg {
    Name(String),
    Index(usize),
}

#[derive(Debug, Clone)]
enum Operand {
    Path(Vec<Seg>),
    Lit(Value),
    Func(String, Vec<Operand>),
    Arith(Box<Operand>, &'static str, Box<Operand>),
}

#[derive(Debug, Clone)]
enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Cmp(Operand, &'static str, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    Func(String, Vec<Operand>),
    Missing(Operand, bool),
}

enum Stmt {
    Select {
        table: String,
        index: Option<String>,
        proj: Option<Vec<Vec<Seg>>>,
        cond: Option<Cond>,
    },
    Insert {
        table: String,
        item: Item,
    },
    Update {
        table: String,
        sets: Vec<(Vec<Seg>, Operand)>,
        removes: Vec<Vec<Seg>>,
        cond: Cond,
        returning: Option<&'static str>,
    },
    Delete {
        table: String,
        cond: Cond,
        returning: Option<&'static str>,
    },
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    params: &'a [Value],
    next_param: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if self.is_word(w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_word(&mut self, w: &str) -> Result<()> {
        if self.eat_word(w) {
            Ok(())
        } else {
            Err(malformed(format!("Expected {w}")))
        }
    }

    fn eat_sym(&mut self, s: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Sym(x)) if *x == s) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_sym(&mut self, s: &str) -> Result<()> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            Err(malformed(format!("Expected {s}")))
        }
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(malformed("Statement is nested too deeply"));
        }
        Ok(())
    }

    fn ident(&mut self) -> Result<String> {
        match self.next() {
            Some(Tok::Word(w)) | Some(Tok::Quoted(w)) => Ok(w),
            _ => Err(malformed("Expected an identifier")),
        }
    }

    fn path(&mut self) -> Result<Vec<Seg>> {
        let mut segs = vec![Seg::Name(self.ident()?)];
        loop {
            if self.eat_sym(".") {
                segs.push(Seg::Name(self.ident()?));
            } else if self.eat_sym("[") {
                match self.next() {
                    Some(Tok::Num(n)) => segs.push(Seg::Index(
                        n.parse().map_err(|_| malformed("Invalid list index"))?,
                    )),
                    _ => return Err(malformed("Expected a list index")),
                }
                self.expect_sym("]")?;
            } else {
                return Ok(segs);
            }
        }
    }

    fn param(&mut self) -> Result<Value> {
        let v = self.params.get(self.next_param).cloned().ok_or_else(|| {
            error::validation("Number of parameters in request and statement don't match.")
        })?;
        self.next_param += 1;
        Ok(v)
    }

    fn literal(&mut self) -> Result<Value> {
        self.enter()?;
        let v = match self.next() {
            Some(Tok::Str(s)) => Value::S(s),
            Some(Tok::Num(n)) => Value::N(Num::parse(&n).map_err(|e| error::validation(e.0))?),
            Some(Tok::Sym("-")) => match self.next() {
                Some(Tok::Num(n)) => {
                    Value::N(Num::parse(&format!("-{n}")).map_err(|e| error::validation(e.0))?)
                }
                _ => return Err(malformed("Expected a number")),
            },
            Some(Tok::Param) => self.param()?,
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("true") => Value::Bool(true),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("false") => Value::Bool(false),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("null") => Value::Null,
            Some(Tok::Sym("[")) => {
                let mut items = Vec::new();
                if !self.eat_sym("]") {
                    loop {
                        items.push(self.literal()?);
                        if self.eat_sym("]") {
                            break;
                        }
                        self.expect_sym(",")?;
                    }
                }
                Value::L(items)
            }
            Some(Tok::Sym("{")) => {
                let mut m = BTreeMap::new();
                if !self.eat_sym("}") {
                    loop {
                        let k = match self.next() {
                            Some(Tok::Str(s)) => s,
                            _ => return Err(malformed("Expected a quoted attribute name")),
                        };
                        self.expect_sym(":")?;
                        m.insert(k, self.literal()?);
                        if self.eat_sym("}") {
                            break;
                        }
                        self.expect_sym(",")?;
                    }
                }
                Value::M(m)
            }
            Some(Tok::Sym("<<")) => {
                let mut items = Vec::new();
                loop {
                    items.push(self.literal()?);
                    if self.eat_sym(">>") {
                        break;
                    }
                    self.expect_sym(",")?;
                }
                set_of(items)?
            }
            _ => return Err(malformed("Expected a value")),
        };
        self.depth -= 1;
        Ok(v)
    }

    fn starts_literal(&self) -> bool {
        match self.peek() {
            Some(Tok::Str(_) | Tok::Num(_) | Tok::Param) => true,
            Some(Tok::Sym(s)) => matches!(*s, "[" | "{" | "<<" | "-"),
            Some(Tok::Word(w)) => ["true", "false", "null"]
                .iter()
                .any(|k| w.eq_ignore_ascii_case(k)),
            _ => false,
        }
    }

    fn operand(&mut self) -> Result<Operand> {
        self.enter()?;
        let left = self.term()?;
        let out = if self.eat_sym("+") {
            Operand::Arith(Box::new(left), "+", Box::new(self.term()?))
        } else if matches!(self.peek(), Some(Tok::Sym("-"))) {
            self.pos += 1;
            Operand::Arith(Box::new(left), "-", Box::new(self.term()?))
        } else {
            left
        };
        self.depth -= 1;
        Ok(out)
    }

    fn term(&mut self) -> Result<Operand> {
        if self.starts_literal() {
            return Ok(Operand::Lit(self.literal()?));
        }
        if let (Some(Tok::Word(w)), Some(Tok::Sym("("))) = (
            self.toks.get(self.pos).cloned(),
            self.toks.get(self.pos + 1),
        ) {
            self.pos += 2;
            let mut args = Vec::new();
            if !self.eat_sym(")") {
                loop {
                    args.push(self.operand()?);
                    if self.eat_sym(")") {
                        break;
                    }
                    self.expect_sym(",")?;
                }
            }
            return Ok(Operand::Func(w.to_ascii_lowercase(), args));
        }
        Ok(Operand::Path(self.path()?))
    }

    fn cond(&mut self) -> Result<Cond> {
        self.enter()?;
        let mut parts = vec![self.and()?];
        while self.eat_word("OR") {
            parts.push(self.and()?);
        }
        self.depth -= 1;
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Cond::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Cond> {
        let mut parts = vec![self.not()?];
        while self.eat_word("AND") {
            parts.push(self.not()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Cond::And(parts)
        })
    }

    fn not(&mut self) -> Result<Cond> {
        if self.eat_word("NOT") {
            self.enter()?;
            let c = Cond::Not(Box::new(self.not()?));
            self.depth -= 1;
            return Ok(c);
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Result<Cond> {
        if self.eat_sym("(") {
            let c = self.cond()?;
            self.expect_sym(")")?;
            return Ok(c);
        }
        let left = self.operand()?;
        if let Operand::Func(name, args) = &left {
            if matches!(
                name.as_str(),
                "begins_with"
                    | "contains"
                    | "attribute_type"
                    | "exists"
                    | "attribute_exists"
                    | "attribute_not_exists"
            ) && !matches!(self.peek(), Some(Tok::Sym(_)))
            {
                return Ok(Cond::Func(name.clone(), args.clone()));
            }
        }
        if self.eat_word("IS") {
            let negated = self.eat_word("NOT");
            if self.eat_word("MISSING") {
                return Ok(Cond::Missing(left, negated));
            }
            return Err(malformed("Expected MISSING"));
        }
        if self.eat_word("BETWEEN") {
            let lo = self.operand()?;
            self.expect_word("AND")?;
            let hi = self.operand()?;
            return Ok(Cond::Between(left, lo, hi));
        }
        if self.eat_word("IN") {
            let close = if self.eat_sym("[") {
                "]"
            } else {
                self.expect_sym("(")?;
                ")"
            };
            let mut list = Vec::new();
            loop {
                list.push(self.operand()?);
                if self.eat_sym(close) {
                    break;
                }
                self.expect_sym(",")?;
            }
            return Ok(Cond::In(left, list));
        }
        let op = match self.next() {
            Some(Tok::Sym(s)) if matches!(s, "=" | "<>" | "!=" | "<" | "<=" | ">" | ">=") => {
                if s == "!=" {
                    "<>"
                } else {
                    s
                }
            }
            _ => return Err(malformed("Expected a comparison")),
        };
        let right = self.operand()?;
        Ok(Cond::Cmp(left, op, right))
    }

    fn table(&mut self) -> Result<(String, Option<String>)> {
        let table = self.ident()?;
        let index = if self.eat_sym(".") {
            Some(self.ident()?)
        } else {
            None
        };
        Ok((table, index))
    }

    fn returning(&mut self) -> Result<Option<&'static str>> {
        if !self.eat_word("RETURNING") {
            return Ok(None);
        }
        let all = if self.eat_word("ALL") {
            true
        } else {
            self.expect_word("MODIFIED")?;
            false
        };
        let old = if self.eat_word("OLD") {
            true
        } else {
            self.expect_word("NEW")?;
            false
        };
        self.expect_sym("*")?;
        Ok(Some(match (all, old) {
            (true, true) => "ALL_OLD",
            (true, false) => "ALL_NEW",
            (false, true) => "UPDATED_OLD",
            (false, false) => "UPDATED_NEW",
        }))
    }

    fn statement(&mut self) -> Result<Stmt> {
        let stmt = if self.eat_word("SELECT") {
            let proj = if self.eat_sym("*") {
                None
            } else {
                let mut list = vec![self.path()?];
                while self.eat_sym(",") {
                    list.push(self.path()?);
                }
                Some(list)
            };
            self.expect_word("FROM")?;
            let (table, index) = self.table()?;
            let cond = if self.eat_word("WHERE") {
                Some(self.cond()?)
            } else {
                None
            };
            Stmt::Select {
                table,
                index,
                proj,
                cond,
            }
        } else if self.eat_word("INSERT") {
            self.expect_word("INTO")?;
            let table = self.ident()?;
            self.expect_word("VALUE")?;
            let item = match self.literal()? {
                Value::M(m) => m,
                _ => return Err(malformed("INSERT expects a map of attributes")),
            };
            Stmt::Insert { table, item }
        } else if self.eat_word("UPDATE") {
            let table = self.ident()?;
            let mut sets = Vec::new();
            let mut removes = Vec::new();
            loop {
                if self.eat_word("SET") {
                    loop {
                        let p = self.path()?;
                        self.expect_sym("=")?;
                        sets.push((p, self.operand()?));
                        if !self.eat_sym(",") {
                            break;
                        }
                    }
                } else if self.eat_word("REMOVE") {
                    loop {
                        removes.push(self.path()?);
                        if !self.eat_sym(",") {
                            break;
                        }
                    }
                } else {
                    break;
                }
            }
            if sets.is_empty() && removes.is_empty() {
                return Err(malformed("UPDATE needs SET or REMOVE"));
            }
            self.expect_word("WHERE")?;
            let cond = self.cond()?;
            let returning = self.returning()?;
            Stmt::Update {
                table,
                sets,
                removes,
                cond,
                returning,
            }
        } else if self.eat_word("DELETE") {
            self.expect_word("FROM")?;
            let table = self.ident()?;
            self.expect_word("WHERE")?;
            let cond = self.cond()?;
            let returning = self.returning()?;
            Stmt::Delete {
                table,
                cond,
                returning,
            }
        } else {
            return Err(malformed("Unsupported statement"));
        };
        self.eat_sym(";");
        if self.pos < self.toks.len() {
            return Err(malformed("Unexpected text after the statement"));
        }
        if self.next_param != self.params.len() {
            return Err(error::validation(
                "Number of parameters in request and statement don't match.",
            ));
        }
        Ok(stmt)
    }
}

fn set_of(items: Vec<Value>) -> Result<Value> {
    let mut ss = Vec::new();
    let mut ns = Vec::new();
    let mut bs = Vec::new();
    for v in items {
        match v {
            Value::S(s) => ss.push(s),
            Value::N(n) => ns.push(n),
            Value::B(b) => bs.push(b),
            _ => return Err(malformed("Sets hold strings, numbers or binaries")),
        }
    }
    match (ss.is_empty(), ns.is_empty(), bs.is_empty()) {
        (false, true, true) => Ok(Value::Ss(ss)),
        (true, false, true) => Ok(Value::Ns(ns)),
        (true, true, false) => Ok(Value::Bs(bs)),
        _ => Err(malformed("A set holds values of one type")),
    }
}

/// Names and values of a rewritten expression.
#[derive(Default)]
struct Names {
    names: Map<String, Json>,
    values: Map<String, Json>,
}

impl Names {
    fn name(&mut self, n: &str) -> String {
        if let Some((k, _)) = self.names.iter().find(|(_, v)| v.as_str() == Some(n)) {
            return k.clone();
        }
        let k = format!("#p{}", self.names.len());
        self.names.insert(k.clone(), json!(n));
        k
    }

    fn value(&mut self, v: &Value) -> String {
        let k = format!(":p{}", self.values.len());
        self.values.insert(k.clone(), v.to_json());
        k
    }

    fn path(&mut self, segs: &[Seg]) -> String {
        let mut out = String::new();
        for s in segs {
            match s {
                Seg::Name(n) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(&self.name(n));
                }
                Seg::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }

    fn operand(&mut self, o: &Operand) -> String {
        match o {
            Operand::Path(p) => self.path(p),
            Operand::Lit(v) => self.value(v),
            Operand::Func(f, args) => {
                let args: Vec<String> = args.iter().map(|a| self.operand(a)).collect();
                format!("{f}({})", args.join(", "))
            }
            Operand::Arith(a, op, b) => {
                format!("{} {op} {}", self.operand(a), self.operand(b))
            }
        }
    }

    fn cond(&mut self, c: &Cond) -> String {
        match c {
            Cond::And(v) => v
                .iter()
                .map(|c| format!("({})", self.cond(c)))
                .collect::<Vec<_>>()
                .join(" AND "),
            Cond::Or(v) => v
                .iter()
                .map(|c| format!("({})", self.cond(c)))
                .collect::<Vec<_>>()
                .join(" OR "),
            Cond::Not(c) => format!("NOT ({})", self.cond(c)),
            Cond::Cmp(a, op, b) => format!("{} {op} {}", self.operand(a), self.operand(b)),
            Cond::Between(a, lo, hi) => format!(
                "{} BETWEEN {} AND {}",
                self.operand(a),
                self.operand(lo),
                self.operand(hi)
            ),
            Cond::In(a, list) => {
                let a = self.operand(a);
                let list: Vec<String> = list.iter().map(|o| self.operand(o)).collect();
                format!("{a} IN ({})", list.join(", "))
            }
            Cond::Func(f, args) => {
                let f = if f == "exists" { "attribute_exists" } else { f };
                let args: Vec<String> = args.iter().map(|a| self.operand(a)).collect();
                format!("{f}({})", args.join(", "))
            }
            Cond::Missing(o, negated) => {
                let p = self.operand(o);
                if *negated {
                    format!("attribute_exists({p})")
                } else {
                    format!("attribute_not_exists({p})")
                }
            }
        }
    }

    fn into_body(self, body: &mut Body) {
        if !self.names.is_empty() {
            body.insert("ExpressionAttributeNames".into(), Json::Object(self.names));
        }
        if !self.values.is_empty() {
            body.insert(
                "ExpressionAttributeValues".into(),
                Json::Object(self.values),
            );
        }
    }
}

fn conjuncts(c: &Cond) -> Vec<&Cond> {
    match c {
        Cond::And(v) => v.iter().flat_map(conjuncts).collect(),
        other => vec![other],
    }
}

/// `attr = literal` (either way round) on a top-level attribute.
fn equality(c: &Cond) -> Option<(&str, &Value)> {
    match c {
        Cond::Cmp(Operand::Path(p), "=", Operand::Lit(v))
        | Cond::Cmp(Operand::Lit(v), "=", Operand::Path(p)) => match p.as_slice() {
            [Seg::Name(n)] => Some((n.as_str(), v)),
            _ => None,
        },
        _ => None,
    }
}

/// Whether the condition is a key condition on `attr` (a comparison with a
/// literal, BETWEEN or begins_with).
fn is_range_condition(c: &Cond, attr: &str) -> bool {
    let on_attr = |o: &Operand| matches!(o, Operand::Path(p) if matches!(p.as_slice(), [Seg::Name(n)] if n == attr));
    match c {
        Cond::Cmp(a, op, Operand::Lit(_)) => on_attr(a) && *op != "<>",
        Cond::Between(a, Operand::Lit(_), Operand::Lit(_)) => on_attr(a),
        Cond::Func(f, args) if f == "begins_with" => {
            args.len() == 2 && on_attr(&args[0]) && matches!(args[1], Operand::Lit(_))
        }
        _ => false,
    }
}

fn parse(statement: &str, params: &[Value]) -> Result<Stmt> {
    let toks = lex(statement)?;
    let mut p = Parser {
        toks,
        pos: 0,
        params,
        next_param: 0,
        depth: 0,
    };
    p.statement()
}

fn params_of(v: Option<&Json>) -> Result<Vec<Value>> {
    match v.and_then(Json::as_array) {
        None => Ok(Vec::new()),
        Some(list) => list
            .iter()
            .map(|p| Value::from_json(p).map_err(|e| e.into_aws()))
            .collect(),
    }
}

/// The primary key of an UPDATE/DELETE (or single-item SELECT) and the
/// conditions left over.
fn key_and_rest<'a>(
    db: &DynamoDb,
    ctx: &RequestContext,
    table: &str,
    cond: &'a Cond,
) -> Result<(Item, Vec<&'a Cond>)> {
    let t = db.table(ctx, table)?;
    let keys = t.read().meta.keys.clone();
    let mut key = Item::new();
    let mut rest = Vec::new();
    for c in conjuncts(cond) {
        match equality(c) {
            Some((n, v)) if keys.has(n) && !key.contains_key(n) => {
                key.insert(n.to_string(), v.clone());
            }
            _ => rest.push(c),
        }
    }
    if key.len() != 1 + usize::from(keys.range.is_some()) {
        return Err(error::validation(
            "Where clause does not contain a mandatory equality on all key attributes",
        ));
    }
    Ok((key, rest))
}

/// A request rewritten from a statement: which operation and its body.
struct Plan {
    op: &'static str,
    body: Body,
    insert: bool,
}

fn plan(db: &DynamoDb, ctx: &RequestContext, stmt: &Stmt, req: &Body) -> Result<Plan> {
    let mut body = Body::new();
    let mut names = Names::default();
    for f in [
        "ReturnConsumedCapacity",
        "ReturnValuesOnConditionCheckFailure",
    ] {
        if let Some(v) = req.get(f) {
            body.insert(f.into(), v.clone());
        }
    }
    let plan = match stmt {
        Stmt::Select {
            table,
            index,
            proj,
            cond,
        } => {
            body.insert("TableName".into(), json!(table));
            if let Some(ix) = index {
                body.insert("IndexName".into(), json!(ix));
            }
            if let Some(list) = proj {
                let p: Vec<String> = list.iter().map(|segs| names.path(segs)).collect();
                body.insert("ProjectionExpression".into(), json!(p.join(", ")));
            }
            for f in ["ConsistentRead", "Limit"] {
                if let Some(v) = req.get(f) {
                    body.insert(f.into(), v.clone());
                }
            }
            if let Some(tok) = str_of(req, "NextToken") {
                let key = base64::engine::general_purpose::STANDARD
                    .decode(tok)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Json>(&b).ok())
                    .ok_or_else(|| error::validation("Invalid NextToken"))?;
                body.insert("ExclusiveStartKey".into(), key);
            }
            let t = db.table(ctx, table)?;
            let keys = {
                let st = t.read();
                match index {
                    Some(ix) => st.meta.index(ix).map(|i| i.keys.clone()).ok_or_else(|| {
                        error::validation(format!(
                            "The table does not have the specified index: {ix}"
                        ))
                    })?,
                    None => st.meta.keys.clone(),
                }
            };
            let mut op = "Scan";
            if let Some(cond) = cond {
                let parts = conjuncts(cond);
                let hash_eq = parts
                    .iter()
                    .position(|c| equality(c).is_some_and(|(n, _)| n == keys.hash.name));
                match hash_eq {
                    Some(h) => {
                        op = "Query";
                        let mut key_parts = vec![names.cond(parts[h])];
                        let range_at = keys.range.as_ref().and_then(|r| {
                            parts
                                .iter()
                                .enumerate()
                                .position(|(i, c)| i != h && is_range_condition(c, &r.name))
                        });
                        if let Some(r) = range_at {
                            key_parts.push(names.cond(parts[r]));
                        }
                        body.insert(
                            "KeyConditionExpression".into(),
                            json!(key_parts.join(" AND ")),
                        );
                        let rest: Vec<String> = parts
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| *i != h && Some(*i) != range_at)
                            .map(|(_, c)| format!("({})", names.cond(c)))
                            .collect();
                        if !rest.is_empty() {
                            body.insert("FilterExpression".into(), json!(rest.join(" AND ")));
                        }
                    }
                    None => {
                        body.insert("FilterExpression".into(), json!(names.cond(cond)));
                    }
                }
            }
            Plan {
                op,
                body,
                insert: false,
            }
        }
        Stmt::Insert { table, item } => {
            let t = db.table(ctx, table)?;
            let hash = t.read().meta.keys.hash.name.clone();
            body.insert("TableName".into(), json!(table));
            body.insert("Item".into(), item_to_json(item));
            let h = names.name(&hash);
            body.insert(
                "ConditionExpression".into(),
                json!(format!("attribute_not_exists({h})")),
            );
            Plan {
                op: "PutItem",
                body,
                insert: true,
            }
        }
        Stmt::Update {
            table,
            sets,
            removes,
            cond,
            returning,
        } => {
            let (key, rest) = key_and_rest(db, ctx, table, cond)?;
            body.insert("TableName".into(), json!(table));
            body.insert("Key".into(), item_to_json(&key));
            let mut set_parts = Vec::new();
            let mut add_parts = Vec::new();
            let mut del_parts = Vec::new();
            for (path, value) in sets {
                let p = names.path(path);
                match value {
                    Operand::Func(f, args) if f == "set_add" && args.len() == 2 => {
                        add_parts.push(format!("{p} {}", names.operand(&args[1])));
                    }
                    Operand::Func(f, args) if f == "set_delete" && args.len() == 2 => {
                        del_parts.push(format!("{p} {}", names.operand(&args[1])));
                    }
                    v => set_parts.push(format!("{p} = {}", names.operand(v))),
                }
            }
            let mut update = String::new();
            for (kw, parts) in [
                ("SET", &set_parts),
                ("ADD", &add_parts),
                ("DELETE", &del_parts),
            ] {
                if !parts.is_empty() {
                    update.push_str(&format!("{kw} {} ", parts.join(", ")));
                }
            }
            if !removes.is_empty() {
                let r: Vec<String> = removes.iter().map(|p| names.path(p)).collect();
                update.push_str(&format!("REMOVE {}", r.join(", ")));
            }
            body.insert("UpdateExpression".into(), json!(update.trim()));
            let mut c = vec![format!(
                "attribute_exists({})",
                names.name(key.keys().next().map(String::as_str).unwrap_or_default())
            )];
            c.extend(rest.iter().map(|r| format!("({})", names.cond(r))));
            body.insert("ConditionExpression".into(), json!(c.join(" AND ")));
            if let Some(rv) = returning {
                body.insert("ReturnValues".into(), json!(rv));
            }
            Plan {
                op: "UpdateItem",
                body,
                insert: false,
            }
        }
        Stmt::Delete {
            table,
            cond,
            returning,
        } => {
            let (key, rest) = key_and_rest(db, ctx, table, cond)?;
            body.insert("TableName".into(), json!(table));
            body.insert("Key".into(), item_to_json(&key));
            let mut c = vec![format!(
                "attribute_exists({})",
                names.name(key.keys().next().map(String::as_str).unwrap_or_default())
            )];
            c.extend(rest.iter().map(|r| format!("({})", names.cond(r))));
            body.insert("ConditionExpression".into(), json!(c.join(" AND ")));
            if let Some(rv) = returning {
                body.insert("ReturnValues".into(), json!(rv));
            }
            Plan {
                op: "DeleteItem",
                body,
                insert: false,
            }
        }
    };
    let mut plan = plan;
    names.into_body(&mut plan.body);
    Ok(plan)
}

fn duplicate() -> AwsError {
    error::err(
        "DuplicateItemException",
        "Duplicate primary key exists in table",
    )
}

async fn run(db: &DynamoDb, ctx: &RequestContext, plan: Plan) -> Result<Json> {
    use crate::ops::{items, read};
    let done = match plan.op {
        "Query" => read::query(db, ctx, &plan.body),
        "Scan" => read::scan(db, ctx, &plan.body),
        "PutItem" => items::put_item(db, ctx, &plan.body).await,
        "UpdateItem" => items::update_item(db, ctx, &plan.body).await,
        _ => items::delete_item(db, ctx, &plan.body).await,
    };
    let raw = match done {
        Ok(r) => r,
        Err(e) if plan.insert && e.code.ends_with("ConditionalCheckFailedException") => {
            return Err(duplicate())
        }
        Err(e) => return Err(e),
    };
    let resp: Json = serde_json::from_slice(&raw).unwrap_or_default();
    let mut out = Map::new();
    match plan.op {
        "Query" | "Scan" => {
            out.insert("Items".into(), resp["Items"].clone());
            if let Some(k) = resp.get("LastEvaluatedKey") {
                out.insert(
                    "NextToken".into(),
                    json!(base64::engine::general_purpose::STANDARD.encode(k.to_string())),
                );
                out.insert("LastEvaluatedKey".into(), k.clone());
            }
        }
        _ => {
            let items = match resp.get("Attributes") {
                Some(a) => vec![a.clone()],
                None => Vec::new(),
            };
            out.insert("Items".into(), Json::Array(items));
        }
    }
    if let Some(c) = resp.get("ConsumedCapacity") {
        out.insert("ConsumedCapacity".into(), c.clone());
    }
    Ok(Json::Object(out))
}

/// ExecuteStatement.
pub async fn execute_statement(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Json> {
    let statement = str_of(body, "Statement").ok_or_else(|| {
        error::validation(
            "1 validation error detected: Value null at 'statement' failed to satisfy constraint: Member must not be null",
        )
    })?;
    let params = params_of(body.get("Parameters"))?;
    let stmt = parse(statement, &params)?;
    let plan = plan(db, ctx, &stmt, body)?;
    run(db, ctx, plan).await
}

fn batch_error(e: &AwsError) -> Json {
    let code = e.code.rsplit('#').next().unwrap_or(&e.code);
    let code = match code {
        "ConditionalCheckFailedException" => "ConditionalCheckFailed",
        "DuplicateItemException" => "DuplicateItem",
        "ResourceNotFoundException" => "ResourceNotFound",
        "ValidationException" => "ValidationError",
        _ => "InternalServerError",
    };
    json!({ "Code": code, "Message": e.message })
}

/// BatchExecuteStatement: up to 25 single-item statements, each answered on its own.
pub async fn batch_execute(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Json> {
    let list = arr_of(body, "Statements").cloned().unwrap_or_default();
    if list.is_empty() || list.len() > 25 {
        return Err(error::validation(format!(
            "1 validation error detected: Value at 'statements' failed to satisfy constraint: Member must have length {} 25",
            if list.is_empty() { "greater than or equal to 1, and less than or equal to" } else { "less than or equal to" }
        )));
    }
    let mut responses = Vec::new();
    for s in &list {
        let req = s.as_object().cloned().unwrap_or_default();
        let statement = str_of(&req, "Statement").unwrap_or_default();
        let outcome = async {
            let params = params_of(req.get("Parameters"))?;
            let stmt = parse(statement, &params)?;
            let table = match &stmt {
                Stmt::Select { table, cond, .. } => {
                    let cond = cond.as_ref().ok_or_else(|| {
                        error::validation("Batch SELECT statements must name the full primary key")
                    })?;
                    key_and_rest(db, ctx, table, cond)?;
                    table.clone()
                }
                Stmt::Insert { table, .. }
                | Stmt::Update { table, .. }
                | Stmt::Delete { table, .. } => table.clone(),
            };
            let plan = plan(db, ctx, &stmt, &req)?;
            let out = run(db, ctx, plan).await?;
            Ok::<_, AwsError>((table, out))
        }
        .await;
        responses.push(match outcome {
            Ok((table, out)) => {
                let mut r = json!({ "TableName": table });
                if let Some(item) = out["Items"].as_array().and_then(|a| a.first()) {
                    r["Item"] = item.clone();
                }
                r
            }
            Err(e) => json!({ "Error": batch_error(&e) }),
        });
    }
    Ok(json!({ "Responses": responses }))
}

/// ExecuteTransaction: all reads (TransactGetItems) or all writes (TransactWriteItems).
pub async fn execute_transaction(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Json> {
    let list = arr_of(body, "TransactStatements")
        .cloned()
        .unwrap_or_default();
    if list.is_empty() || list.len() > 100 {
        return Err(error::validation(
            "1 validation error detected: Value at 'transactStatements' failed to satisfy constraint: Member must have length less than or equal to 100",
        ));
    }
    let mut gets = Vec::new();
    let mut writes = Vec::new();
    for s in &list {
        let req = s.as_object().cloned().unwrap_or_default();
        let params = params_of(req.get("Parameters"))?;
        let stmt = parse(str_of(&req, "Statement").unwrap_or_default(), &params)?;
        if let Stmt::Select {
            table, cond, proj, ..
        } = &stmt
        {
            let cond = cond.as_ref().ok_or_else(|| {
                error::validation("Transaction SELECT statements must name the full primary key")
            })?;
            let (key, _) = key_and_rest(db, ctx, table, cond)?;
            let mut get = json!({ "TableName": table, "Key": item_to_json(&key) });
            if let Some(list) = proj {
                let mut names = Names::default();
                let p: Vec<String> = list.iter().map(|segs| names.path(segs)).collect();
                get["ProjectionExpression"] = json!(p.join(", "));
                get["ExpressionAttributeNames"] = Json::Object(names.names);
            }
            gets.push(json!({ "Get": get }));
            continue;
        }
        let plan = plan(db, ctx, &stmt, &req)?;
        let kind = match plan.op {
            "PutItem" => "Put",
            "UpdateItem" => "Update",
            _ => "Delete",
        };
        let mut spec = plan.body;
        spec.remove("ReturnValues");
        spec.remove("ReturnConsumedCapacity");
        writes.push(json!({ kind: spec }));
    }
    if !gets.is_empty() && !writes.is_empty() {
        return Err(error::validation(
            "Transactions must contain only reads or only writes",
        ));
    }
    let mut tx = Body::new();
    if let Some(v) = body.get("ReturnConsumedCapacity") {
        tx.insert("ReturnConsumedCapacity".into(), v.clone());
    }
    if !gets.is_empty() {
        tx.insert("TransactItems".into(), Json::Array(gets));
        return crate::ops::txn::transact_get(db, ctx, &tx);
    }
    if let Some(v) = body.get("ClientRequestToken") {
        tx.insert("ClientRequestToken".into(), v.clone());
    }
    tx.insert("TransactItems".into(), Json::Array(writes));
    crate::ops::txn::transact_write(db, ctx, &tx).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> bool {
        parse(s, &[]).is_ok()
    }

    #[test]
    fn parses_the_four_statements() {
        assert!(ok("SELECT * FROM \"t\" WHERE pk = 'a' AND sk > 3"));
        assert!(ok(
            "select a, b.c[1] from t.ix where begins_with(a, 'x') or a in ['p', 'q']"
        ));
        assert!(ok(
            "INSERT INTO t VALUE {'pk': 'a', 'n': -1.5, 's': <<'x','y'>>, 'l': [1, {'m': true}]}"
        ));
        assert!(ok("UPDATE t SET a = a + 1, b = list_append(b, [1]) REMOVE c WHERE pk = 'a' RETURNING ALL NEW *"));
        assert!(ok("DELETE FROM t WHERE pk = 'a' AND x IS NOT MISSING"));
        assert!(!ok("SELECT FROM t"));
        assert!(!ok("DROP TABLE t"));
        assert!(!ok("SELECT * FROM t WHERE pk = ?"));
        let deep = format!(
            "SELECT * FROM t WHERE {}a = 1{}",
            "(".repeat(5000),
            ")".repeat(5000)
        );
        assert!(!ok(&deep));
    }

    #[test]
    fn rewrites_conditions() {
        let stmt = parse(
            "SELECT * FROM t WHERE a = 'x' AND (b < 3 OR c IS MISSING)",
            &[],
        );
        let Ok(Stmt::Select { cond: Some(c), .. }) = stmt else {
            panic!("parse failed");
        };
        let mut n = Names::default();
        assert_eq!(
            n.cond(&c),
            "(#p0 = :p0) AND ((#p1 < :p1) OR (attribute_not_exists(#p2)))"
        );
    }
}
