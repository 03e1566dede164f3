//! The PartiQL parser: tokens into a statement.

use super::lex::{lex, Tok};
use super::malformed;
use crate::error::{self, Result};
use crate::number::Num;
use crate::value::{Item, Value};
use std::collections::BTreeMap;

const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone)]
pub(super) enum Seg {
    Name(String),
    Index(usize),
}

#[derive(Debug, Clone)]
pub(super) enum Operand {
    Path(Vec<Seg>),
    Lit(Value),
    Func(String, Vec<Operand>),
    Arith(Box<Operand>, &'static str, Box<Operand>),
}

#[derive(Debug, Clone)]
pub(super) enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Cmp(Operand, &'static str, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    Func(String, Vec<Operand>),
    Missing(Operand, bool),
}

pub(super) enum Stmt {
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

pub(super) struct Parser<'a> {
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

pub(super) fn parse(statement: &str, params: &[Value]) -> Result<Stmt> {
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
}
