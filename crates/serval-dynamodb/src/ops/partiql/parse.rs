//! The PartiQL parser's expressions: operands, conditions and literal
//! values, refused with DynamoDB's words. Parameters (`?`) are bound as they
//! are met. Statements are in `statement.rs`.

use super::ast::{Cond, IsKind, Operand, Seg};
use super::lex::{Tok, Token};
use super::malformed;
use super::statement::empty_component;
use crate::error::{self, Result};
use crate::number::Num;
use crate::value::Value;
use serval_core::AwsError;
use std::collections::BTreeMap;

/// How deep the grammar may nest (parentheses, NOT, operands).
const MAX_DEPTH: usize = 64;
/// How deep a literal value may nest: a scalar sits under at most 31 lists or maps.
const MAX_VALUE_DEPTH: usize = 32;

/// PartiQL's keywords (SQL-92's and its own, as partiql-lang-kotlin's lexer
/// has them), less the infix operators and the literals: never an attribute
/// name unless quoted.
const KEYWORDS: &[&str] = &[
    "absolute",
    "action",
    "add",
    "all",
    "allocate",
    "alter",
    "any",
    "are",
    "as",
    "asc",
    "assertion",
    "at",
    "authorization",
    "avg",
    "begin",
    "bit",
    "bit_length",
    "by",
    "cascade",
    "cascaded",
    "case",
    "cast",
    "catalog",
    "char",
    "character",
    "character_length",
    "char_length",
    "check",
    "close",
    "coalesce",
    "collate",
    "collation",
    "column",
    "commit",
    "connect",
    "connection",
    "constraint",
    "constraints",
    "continue",
    "convert",
    "corresponding",
    "count",
    "create",
    "cross",
    "current",
    "current_date",
    "current_time",
    "current_timestamp",
    "current_user",
    "cursor",
    "date",
    "deallocate",
    "dec",
    "decimal",
    "declare",
    "default",
    "deferrable",
    "deferred",
    "delete",
    "desc",
    "describe",
    "descriptor",
    "diagnostics",
    "disconnect",
    "distinct",
    "domain",
    "double",
    "drop",
    "else",
    "end",
    "end-exec",
    "escape",
    "except",
    "exception",
    "exec",
    "execute",
    "exists",
    "external",
    "extract",
    "date_add",
    "date_diff",
    "fetch",
    "first",
    "float",
    "for",
    "foreign",
    "found",
    "from",
    "full",
    "get",
    "global",
    "go",
    "goto",
    "grant",
    "group",
    "having",
    "identity",
    "immediate",
    "indicator",
    "initially",
    "inner",
    "input",
    "insensitive",
    "insert",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "isolation",
    "join",
    "key",
    "language",
    "last",
    "left",
    "level",
    "local",
    "lower",
    "match",
    "max",
    "min",
    "module",
    "names",
    "national",
    "natural",
    "nchar",
    "next",
    "no",
    "nullif",
    "numeric",
    "octet_length",
    "of",
    "on",
    "only",
    "open",
    "option",
    "order",
    "outer",
    "output",
    "overlaps",
    "pad",
    "partial",
    "position",
    "precision",
    "prepare",
    "preserve",
    "primary",
    "prior",
    "privileges",
    "procedure",
    "public",
    "read",
    "real",
    "references",
    "relative",
    "restrict",
    "revoke",
    "right",
    "rollback",
    "rows",
    "schema",
    "scroll",
    "section",
    "select",
    "session",
    "session_user",
    "set",
    "size",
    "smallint",
    "some",
    "space",
    "sql",
    "sqlcode",
    "sqlerror",
    "sqlstate",
    "substring",
    "sum",
    "system_user",
    "table",
    "temporary",
    "then",
    "time",
    "timestamp",
    "to",
    "transaction",
    "translate",
    "translation",
    "trim",
    "union",
    "unique",
    "unknown",
    "update",
    "upper",
    "usage",
    "user",
    "using",
    "value",
    "values",
    "varchar",
    "varying",
    "view",
    "when",
    "whenever",
    "where",
    "with",
    "work",
    "write",
    "zone",
    "can_cast",
    "can_lossless_cast",
    "pivot",
    "unpivot",
    "limit",
    "offset",
    "tuple",
    "remove",
    "index",
    "let",
    "integer2",
    "int2",
    "integer4",
    "int4",
    "integer8",
    "int8",
    "bigint",
    "conflict",
    "do",
    "nothing",
    "returning",
    "modified",
    "new",
    "old",
    "bool",
    "boolean",
    "string",
    "symbol",
    "clob",
    "blob",
    "struct",
    "list",
    "sexp",
    "bag",
];

/// Infix keywords: where a term should start they are an operator.
const OPERATOR_WORDS: &[&str] = &["AND", "OR", "IS", "IN", "BETWEEN", "LIKE", "NOT"];

/// Functions a WHERE clause knows: conditions, and `size` as an operand.
const CONDITION_FUNCTIONS: &[&str] = &[
    "attribute_exists",
    "attribute_not_exists",
    "attribute_type",
    "begins_with",
    "contains",
];

pub(super) fn is_keyword(w: &str) -> bool {
    let lower = w.to_ascii_lowercase();
    KEYWORDS.contains(&lower.as_str())
}

pub(super) fn is_operator_word(w: &str) -> bool {
    OPERATOR_WORDS.iter().any(|k| k.eq_ignore_ascii_case(w))
}

/// "Statement wasn't well formed, can't be processed: Unexpected token after expression".
pub(super) fn leftover() -> AwsError {
    malformed("Unexpected token after expression")
}

/// Where an expression is being read: it decides which functions exist.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Place {
    Where,
    Set,
}

/// A statement being read: its tokens, the next one, the parameters bound so far.
pub(super) struct Parser<'a> {
    pub(super) toks: Vec<Token>,
    pub(super) pos: usize,
    pub(super) params: &'a [Value],
    pub(super) next_param: usize,
    pub(super) depth: usize,
    pub(super) place: Place,
}

impl Parser<'_> {
    pub(super) fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    pub(super) fn peek_at(&self, ahead: usize) -> Option<&Tok> {
        self.toks.get(self.pos + ahead).map(|t| &t.tok)
    }

    /// The position of the token at `pos`, for messages.
    pub(super) fn at(&self, pos: usize) -> String {
        self.toks.get(pos).map(Token::at).unwrap_or_default()
    }

    /// The position of the tokens from `from` to `to` (exclusive) on one line.
    pub(super) fn span(&self, from: usize, to: usize) -> String {
        match (
            self.toks.get(from),
            to.checked_sub(1).and_then(|l| self.toks.get(l)),
        ) {
            (Some(a), Some(b)) if a.line == b.line && b.col >= a.col => {
                format!("{}:{}:{}", a.line, a.col, b.col + b.len - a.col)
            }
            _ => self.at(from),
        }
    }

    pub(super) fn next(&mut self) -> Option<Tok> {
        let t = self.peek().cloned();
        self.pos += 1;
        t
    }

    pub(super) fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    pub(super) fn eat_word(&mut self, w: &str) -> bool {
        if self.is_word(w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(super) fn expect_word(&mut self, w: &str) -> Result<()> {
        if self.eat_word(w) {
            Ok(())
        } else {
            Err(malformed(format!("Expected {w}")))
        }
    }

    pub(super) fn is_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Some(Tok::Sym(x)) if *x == s)
    }

    pub(super) fn eat_sym(&mut self, s: &str) -> bool {
        if self.is_sym(s) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(super) fn expect_sym(&mut self, s: &str) -> Result<()> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            Err(malformed(format!("Expected {s}")))
        }
    }

    pub(super) fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(malformed("Statement is nested too deeply"));
        }
        Ok(())
    }

    /// Why no term can start at the current token.
    pub(super) fn no_term(&self) -> AwsError {
        match self.peek() {
            Some(Tok::Word(w)) if is_operator_word(w) => malformed("Unexpected operator"),
            Some(Tok::Word(w)) if is_keyword(w) => malformed("Unexpected keyword"),
            Some(Tok::Sym(s))
                if matches!(*s, "=" | "<>" | "!=" | "<" | "<=" | ">" | ">=" | "*") =>
            {
                malformed("Unexpected operator")
            }
            _ => malformed("Unexpected term"),
        }
    }

    /// After an infix operator: nothing there is its own error.
    pub(super) fn rhs_present(&self) -> Result<()> {
        match self.peek() {
            None | Some(Tok::Sym(";" | ")")) => Err(malformed(
                "Missing right-hand side expression of infix operator",
            )),
            _ => Ok(()),
        }
    }

    /// An attribute name in a path: a word that is not a keyword, or quoted.
    pub(super) fn name(&mut self) -> Result<String> {
        match self.peek().cloned() {
            Some(Tok::Quoted(w)) => {
                self.pos += 1;
                Ok(w)
            }
            Some(Tok::Word(w)) if !is_keyword(&w) && !is_operator_word(&w) => {
                self.pos += 1;
                Ok(w)
            }
            _ => Err(self.no_term()),
        }
    }

    /// A table name, as DML reads it (`Expected identifier for simple path`).
    pub(super) fn simple_name(&mut self) -> Result<String> {
        match self.peek().cloned() {
            Some(Tok::Quoted(w)) => {
                self.pos += 1;
                empty_component(&w)?;
                Ok(w)
            }
            Some(Tok::Word(w)) if !is_keyword(&w) && !is_operator_word(&w) => {
                self.pos += 1;
                Ok(w)
            }
            _ => Err(malformed("Expected identifier for simple path")),
        }
    }

    pub(super) fn path(&mut self) -> Result<Vec<Seg>> {
        let mut segs = vec![Seg::Name(self.name()?)];
        loop {
            if self.eat_sym(".") {
                if matches!(self.peek(), Some(Tok::Word(w)) if is_keyword(w) || is_operator_word(w))
                {
                    return Err(malformed("Invalid path dot component"));
                }
                segs.push(Seg::Name(self.name()?));
            } else if self.eat_sym("[") {
                let neg = self.eat_sym("-");
                let at = self.at(self.pos);
                match self.next() {
                    Some(Tok::Num(n)) => {
                        let bad = || {
                            error::validation(format!(
                                "List index is not within the allowable range; index: [{}{n}] at {at}",
                                if neg { "-" } else { "" }
                            ))
                        };
                        if !n.bytes().all(|b| b.is_ascii_digit()) {
                            return Err(malformed("Invalid list index"));
                        }
                        let v: u64 = n.parse().map_err(|_| bad())?;
                        if (neg && v != 0) || v > i32::MAX as u64 {
                            return Err(bad());
                        }
                        segs.push(Seg::Index(v as usize));
                    }
                    _ => return Err(malformed("Expected a list index")),
                }
                self.expect_sym("]")?;
            } else {
                return Ok(segs);
            }
        }
    }

    pub(super) fn param(&mut self) -> Result<Value> {
        let v = self.params.get(self.next_param).cloned().ok_or_else(|| {
            error::validation("Number of parameters in request and statement don't match.")
        })?;
        self.next_param += 1;
        Ok(v)
    }

    /// A number literal after any signs (`- - 1` is 1, `-.5` is -0.5).
    /// DynamoDB's number rules apply, naming where the number sits.
    pub(super) fn signed_number(&mut self, path: &str) -> Result<Value> {
        let mut neg = false;
        loop {
            if self.eat_sym("-") {
                neg = !neg;
            } else if !self.eat_sym("+") {
                break;
            }
        }
        match self.next() {
            Some(Tok::Num(n)) => {
                let text = if neg { format!("-{n}") } else { n };
                Num::parse(&text)
                    .map(Value::N)
                    .map_err(|e| error::validation(format!("{} under {path}", e.0)))
            }
            _ => Err(malformed("Expected a number")),
        }
    }

    /// A literal value at `path` (`root` for a whole value, `root.a[1]`
    /// inside one), `depth` lists or maps down. Parameters stand for whole
    /// values only, not for members of a literal list, map or set.
    pub(super) fn literal(&mut self, path: &str, depth: usize) -> Result<Value> {
        if depth >= MAX_VALUE_DEPTH {
            return Err(error::validation(format!(
                "Nesting Levels have exceeded supported limits under {path}"
            )));
        }
        self.enter()?;
        let start = self.pos;
        let v = match self.peek().cloned() {
            Some(Tok::Str(s)) => {
                self.pos += 1;
                Value::S(s)
            }
            Some(Tok::Num(_) | Tok::Sym("-" | "+")) => self.signed_number(path)?,
            Some(Tok::Param) if depth == 0 => {
                self.pos += 1;
                self.param()?
            }
            Some(Tok::Param) => {
                return Err(error::validation(format!(
                    "Unsupported data type: Parameter under key {path} at {}",
                    self.at(start)
                )))
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("true") => {
                self.pos += 1;
                Value::Bool(true)
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("false") => {
                self.pos += 1;
                Value::Bool(false)
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("null") => {
                self.pos += 1;
                Value::Null
            }
            Some(Tok::Word(w)) if self.peek_at(1) == Some(&Tok::Sym("(")) => {
                return Err(error::validation(format!(
                    "Unsupported data type: {w} under key {path} at {}",
                    self.at(start)
                )))
            }
            Some(Tok::Sym("[")) => {
                self.pos += 1;
                let mut items = Vec::new();
                if !self.eat_sym("]") {
                    loop {
                        let p = format!("{path}[{}]", items.len());
                        items.push(self.literal(&p, depth + 1)?);
                        if self.eat_sym("]") {
                            break;
                        }
                        self.expect_sym(",")?;
                    }
                }
                Value::L(items)
            }
            Some(Tok::Sym("{")) => {
                self.pos += 1;
                Value::M(self.map_body(path, depth)?)
            }
            Some(Tok::Sym("<<")) => {
                self.pos += 1;
                let mut items = Vec::new();
                let mut texts = Vec::new();
                if !self.eat_sym(">>") {
                    loop {
                        let t = self.pos;
                        items.push(self.literal(path, depth + 1)?);
                        texts.push(self.source_text(t, self.pos));
                        if self.eat_sym(">>") {
                            break;
                        }
                        self.expect_sym(",")?;
                    }
                }
                bag(items, &texts, path)?
            }
            _ => return Err(self.no_term()),
        };
        self.depth -= 1;
        Ok(v)
    }

    /// The members of a `{...}` literal, after its `{`.
    pub(super) fn map_body(&mut self, path: &str, depth: usize) -> Result<BTreeMap<String, Value>> {
        let mut m = BTreeMap::new();
        if !self.eat_sym("}") {
            loop {
                let k = match self.next() {
                    Some(Tok::Str(s)) => s,
                    _ => return Err(malformed("Expected a quoted attribute name")),
                };
                self.expect_sym(":")?;
                let v = self.literal(&format!("{path}.{k}"), depth + 1)?;
                m.insert(k, v);
                if self.eat_sym("}") {
                    break;
                }
                self.expect_sym(",")?;
            }
        }
        Ok(m)
    }

    /// The text of tokens `from..to` as DynamoDB echoes a set member.
    pub(super) fn source_text(&self, from: usize, to: usize) -> String {
        self.toks[from..to.min(self.toks.len())]
            .iter()
            .map(|t| match &t.tok {
                Tok::Str(s) | Tok::Num(s) | Tok::Word(s) | Tok::Quoted(s) => s.clone(),
                Tok::Sym(s) => s.to_string(),
                Tok::Param => "?".into(),
            })
            .collect()
    }

    pub(super) fn starts_literal(&self) -> bool {
        match self.peek() {
            Some(Tok::Str(_) | Tok::Num(_) | Tok::Param) => true,
            Some(Tok::Sym(s)) => matches!(*s, "[" | "{" | "<<" | "-" | "+"),
            Some(Tok::Word(w)) => ["true", "false", "null"]
                .iter()
                .any(|k| w.eq_ignore_ascii_case(k)),
            _ => false,
        }
    }

    pub(super) fn operand(&mut self) -> Result<Operand> {
        self.enter()?;
        let left = self.term()?;
        let op = match self.peek() {
            Some(Tok::Sym("+")) => Some("+"),
            Some(Tok::Sym("-")) => Some("-"),
            _ => None,
        };
        let out = if let Some(op) = op {
            self.pos += 1;
            self.rhs_present()?;
            Operand::Arith(Box::new(left), op, Box::new(self.term()?))
        } else {
            left
        };
        self.depth -= 1;
        Ok(out)
    }

    pub(super) fn term(&mut self) -> Result<Operand> {
        if self.starts_literal() {
            return Ok(Operand::Lit(self.literal("root", 0)?));
        }
        if let (Some(Tok::Word(w)), Some(Tok::Sym("("))) = (self.peek().cloned(), self.peek_at(1)) {
            let fpos = self.pos;
            let lower = w.to_ascii_lowercase();
            if self.place == Place::Where
                && lower != "size"
                && !CONDITION_FUNCTIONS.contains(&lower.as_str())
            {
                return Err(error::validation(format!(
                    "Unrecognized function: {lower} at {}",
                    self.at(fpos)
                )));
            }
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
            let want = match lower.as_str() {
                "attribute_exists" | "attribute_not_exists" | "size" => 1,
                "attribute_type" | "begins_with" | "contains" => 2,
                _ => args.len(),
            };
            if self.place == Place::Where && args.len() != want {
                return Err(error::validation(format!(
                    "Incorrect number of operands for operator or function; operator or function: {lower}, number of operands: {}",
                    args.len()
                )));
            }
            return Ok(Operand::Func(lower, args));
        }
        Ok(Operand::Path(self.path()?))
    }

    pub(super) fn cond(&mut self) -> Result<Cond> {
        self.enter()?;
        let mut parts = vec![self.and()?];
        while self.eat_word("OR") {
            self.rhs_present()?;
            parts.push(self.and()?);
        }
        self.depth -= 1;
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Cond::Or(parts)
        })
    }

    pub(super) fn and(&mut self) -> Result<Cond> {
        let mut parts = vec![self.not()?];
        while self.eat_word("AND") {
            self.rhs_present()?;
            parts.push(self.not()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Cond::And(parts)
        })
    }

    pub(super) fn not(&mut self) -> Result<Cond> {
        if self.eat_word("NOT") {
            self.enter()?;
            let c = Cond::Not(Box::new(self.not()?));
            self.depth -= 1;
            return Ok(c);
        }
        self.predicate()
    }

    /// `x IS [NOT] <type>`, after IS.
    pub(super) fn is_type(&mut self, left: Operand) -> Result<Cond> {
        let negated = self.eat_word("NOT");
        match self.type_name()? {
            Ok(kind) => Ok(Cond::Is(left, kind, negated)),
            Err(name) => Err(unsupported_is(&name)),
        }
    }

    /// The type after `IS [NOT]`: one DynamoDB can test, or the name of a
    /// PartiQL type it cannot.
    pub(super) fn type_name(&mut self) -> Result<std::result::Result<IsKind, String>> {
        let word = match self.next() {
            Some(Tok::Word(w)) => w.to_ascii_uppercase(),
            _ => return Err(malformed("Expected type name")),
        };
        Ok(Ok(match word.as_str() {
            "MISSING" => IsKind::Missing,
            "NULL" => IsKind::Type("NULL"),
            "BOOL" | "BOOLEAN" => IsKind::Type("BOOL"),
            "STRING" => IsKind::Type("S"),
            "NUMERIC" => IsKind::Type("N"),
            "BLOB" => IsKind::Type("B"),
            "STRUCT" | "TUPLE" => IsKind::Type("M"),
            "LIST" => IsKind::Type("L"),
            "DOUBLE" if self.eat_word("PRECISION") => return Ok(Err("DOUBLE PRECISION".into())),
            "CHARACTER" if self.eat_word("VARYING") => return Ok(Err("CHARACTER VARYING".into())),
            "INT" | "INTEGER" | "INT2" | "INTEGER2" | "INT4" | "INTEGER4" | "INT8" | "INTEGER8"
            | "SMALLINT" | "BIGINT" | "FLOAT" | "REAL" | "DOUBLE" | "DECIMAL" | "DEC"
            | "TIMESTAMP" | "CHAR" | "CHARACTER" | "VARCHAR" | "SYMBOL" | "CLOB" | "SEXP"
            | "BAG" | "ANY" | "DATE" | "TIME" => return Ok(Err(word)),
            _ => return Err(malformed("Expected type name")),
        }))
    }

    pub(super) fn predicate(&mut self) -> Result<Cond> {
        if self.eat_sym("(") {
            let c = self.cond()?;
            self.expect_sym(")")?;
            return self.compared_with_bool(c);
        }
        let left = self.operand()?;
        if let Operand::Func(name, args) = &left {
            if CONDITION_FUNCTIONS.contains(&name.as_str()) {
                return self.compared_with_bool(Cond::Func(name.clone(), args.clone()));
            }
        }
        if self.eat_word("IS") {
            return self.is_type(left);
        }
        let negated_between = self.is_word("NOT")
            && matches!(self.peek_at(1), Some(Tok::Word(w)) if w.eq_ignore_ascii_case("BETWEEN") || w.eq_ignore_ascii_case("IN"));
        if negated_between {
            self.pos += 1;
            let c = self.predicate_tail(left)?;
            return Ok(Cond::Not(Box::new(c)));
        }
        self.predicate_tail(left)
    }

    pub(super) fn predicate_tail(&mut self, left: Operand) -> Result<Cond> {
        if self.eat_word("BETWEEN") {
            self.rhs_present()?;
            let lo = self.operand()?;
            self.expect_word("AND")?;
            self.rhs_present()?;
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
        let op = match self.peek() {
            Some(Tok::Sym(s)) if matches!(*s, "=" | "<>" | "!=" | "<" | "<=" | ">" | ">=") => {
                let s = *s;
                self.pos += 1;
                if s == "!=" {
                    "<>"
                } else {
                    s
                }
            }
            _ => return Err(malformed("Expected a comparison")),
        };
        self.rhs_present()?;
        // `true = attribute_exists(x)`: a condition compared with a boolean
        if let Operand::Lit(Value::Bool(b)) = left {
            if let Some(Tok::Word(w)) = self.peek().cloned() {
                let lower = w.to_ascii_lowercase();
                if CONDITION_FUNCTIONS.contains(&lower.as_str())
                    && self.peek_at(1) == Some(&Tok::Sym("("))
                {
                    if let Operand::Func(name, args) = self.operand()? {
                        return Ok(bool_compare(Cond::Func(name, args), op, b));
                    }
                }
            }
        }
        let right = self.operand()?;
        Ok(Cond::Cmp(left, op, right))
    }

    /// `cond = true`, `cond <> false` and the like: the condition or its negation.
    pub(super) fn compared_with_bool(&mut self, c: Cond) -> Result<Cond> {
        let op = match self.peek() {
            Some(Tok::Sym("=")) => "=",
            Some(Tok::Sym("<>" | "!=")) => "<>",
            _ => return Ok(c),
        };
        let is_bool = |t: Option<&Tok>| matches!(t, Some(Tok::Word(w)) if w.eq_ignore_ascii_case("true") || w.eq_ignore_ascii_case("false"));
        if !is_bool(self.peek_at(1)) {
            return Ok(c);
        }
        self.pos += 1;
        let b = self.is_word("true");
        self.pos += 1;
        Ok(bool_compare(c, op, b))
    }
}

/// `IS` with a PartiQL type DynamoDB has no test for. (The type is named as
/// written; DynamoDB's spelling of it is not known.)
fn unsupported_is(name: &str) -> AwsError {
    error::validation(format!(
        "Unsupported data type for IS operator: {name}. Supported data types are [MISSING, NULL, BOOLEAN, BLOB, STRING, NUMERIC, STRUCT, TUPLE, LIST]"
    ))
}

/// `c = true` is `c`, `c = false` is `NOT c`, and `<>` the other way round.
fn bool_compare(c: Cond, op: &str, b: bool) -> Cond {
    if (op == "=") == b {
        c
    } else {
        Cond::Not(Box::new(c))
    }
}

/// A `<<...>>` literal: a string or number set, no duplicates, not empty.
fn bag(items: Vec<Value>, texts: &[String], path: &str) -> Result<Value> {
    if items.is_empty() {
        return Err(error::validation("Empty bags are not supported"));
    }
    let mixed = || {
        error::validation(
            "Unsupported data type in Bag. DynamoDB only supports either numbers or strings in bags",
        )
    };
    let duplicates = |suffix: &str| {
        error::validation(format!(
            "One or more parameter values were invalid: Input collection [{}] contains duplicates{suffix}",
            texts.join(", ")
        ))
    };
    match &items[0] {
        Value::S(_) => {
            let mut ss: Vec<String> = Vec::new();
            for v in items {
                let Value::S(s) = v else {
                    return Err(mixed());
                };
                if ss.contains(&s) {
                    return Err(duplicates("."));
                }
                ss.push(s);
            }
            Ok(Value::Ss(ss))
        }
        Value::N(_) => {
            let mut ns: Vec<Num> = Vec::new();
            for v in items {
                let Value::N(n) = v else {
                    return Err(mixed());
                };
                if ns.contains(&n) {
                    return Err(duplicates(&format!("! under {path}")));
                }
                ns.push(n);
            }
            Ok(Value::Ns(ns))
        }
        _ => Err(mixed()),
    }
}
