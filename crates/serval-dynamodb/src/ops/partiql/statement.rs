//! The PartiQL parser's statements: SELECT, INSERT, UPDATE (either form),
//! DELETE and EXISTS, and what may follow the table in each.

use super::ast::{Assign, Cond, Operand, OrderTerm, Seg, Stmt};
use super::lex::{lex, Tok};
use super::malformed;
use super::parse::{is_keyword, is_operator_word, leftover, Parser, Place};
use crate::error::{self, Result};
use crate::value::Value;
use serval_core::AwsError;
use std::collections::BTreeMap;

impl Parser<'_> {
    /// `FROM "table"` of a SELECT or EXISTS: a table, or a table and an index.
    fn source(&mut self) -> Result<(String, Option<String>)> {
        let table = match self.peek().cloned() {
            Some(Tok::Quoted(w)) => w,
            Some(Tok::Word(w)) if !is_keyword(&w) && !is_operator_word(&w) => w,
            _ => return Err(self.no_term()),
        };
        self.pos += 1;
        empty_component(&table)?;
        let index = if self.eat_sym(".") {
            let ix = self.name()?;
            empty_component(&ix)?;
            if self.is_sym(".") {
                return Err(error::validation(
                    "A path may contain at most 2 components in the FROM clause",
                ));
            }
            Some(ix)
        } else {
            None
        };
        self.no_alias()?;
        Ok((table, index))
    }

    /// A name after the table (`FROM "T" t`, `FROM "T" AS t`) is an alias.
    fn no_alias(&self) -> Result<()> {
        match self.peek() {
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("AS") => Err(aliasing()),
            Some(Tok::Word(w)) if !is_keyword(w) && !is_operator_word(w) => Err(aliasing()),
            Some(Tok::Quoted(_)) => Err(aliasing()),
            _ => Ok(()),
        }
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
        if !self.eat_sym("*") {
            return Err(error::validation(
                "Expected '*' after ( MODIFIED | ALL ) ( NEW | OLD ) in RETURNING clause",
            ));
        }
        Ok(Some(match (all, old) {
            (true, true) => "ALL_OLD",
            (true, false) => "ALL_NEW",
            (false, true) => "UPDATED_OLD",
            (false, false) => "UPDATED_NEW",
        }))
    }

    fn where_clause(&mut self) -> Result<Option<Cond>> {
        if !self.eat_word("WHERE") {
            return Ok(None);
        }
        self.place = Place::Where;
        let c = self.cond()?;
        Ok(Some(c))
    }

    fn order_by(&mut self) -> Result<Vec<OrderTerm>> {
        let mut terms = Vec::new();
        if !self.is_word("ORDER")
            || !matches!(self.peek_at(1), Some(Tok::Word(w)) if w.eq_ignore_ascii_case("BY"))
        {
            return Ok(terms);
        }
        self.pos += 2;
        loop {
            let attr = match self.peek().cloned() {
                Some(Tok::Quoted(w)) => w,
                Some(Tok::Word(w)) if !is_keyword(&w) && !is_operator_word(&w) => w,
                _ => return Err(self.no_term()),
            };
            self.pos += 1;
            if matches!(self.peek(), Some(Tok::Sym("." | "[" | "("))) {
                // DynamoDB orders by attribute names only (the type is the
                // PartiQL node it found instead)
                return Err(error::validation(
                    "Argument to ORDER BY must be of type VariableReference. Type: Path",
                ));
            }
            let desc = if self.eat_word("DESC") {
                true
            } else {
                self.eat_word("ASC");
                false
            };
            terms.push(OrderTerm { attr, desc });
            if !self.eat_sym(",") {
                return Ok(terms);
            }
        }
    }

    fn select(&mut self) -> Result<Stmt> {
        let proj = if self.eat_sym("*") {
            if self.is_sym(",") {
                return Err(error::validation(
                    "Other attributes should not be present in the projection when '*' is used.",
                ));
            }
            None
        } else {
            let mut list = vec![self.projection_path()?];
            while self.eat_sym(",") {
                if self.is_sym("*") {
                    return Err(error::validation(
                        "Other attributes should not be present in the projection when '*' is used.",
                    ));
                }
                list.push(self.projection_path()?);
            }
            Some(list)
        };
        self.expect_word("FROM")?;
        let (table, index) = self.source()?;
        let cond = self.where_clause()?;
        let order = self.order_by()?;
        Ok(Stmt::Select {
            table,
            index,
            proj,
            cond,
            order,
        })
    }

    /// A projected path; a function there is not a path.
    fn projection_path(&mut self) -> Result<Vec<Seg>> {
        if let (Some(Tok::Word(_)), Some(Tok::Sym("("))) = (self.peek(), self.peek_at(1)) {
            return Err(error::validation(format!(
                "Unexpected path component at {}",
                self.at(self.pos)
            )));
        }
        self.path()
    }

    /// `SET a = b, ...` and `REMOVE a, ...` clauses, in any number and order.
    fn update_clauses(&mut self) -> Result<(Vec<Assign>, Vec<Vec<Seg>>)> {
        self.place = Place::Set;
        let mut sets = Vec::new();
        let mut removes = Vec::new();
        loop {
            if self.eat_word("SET") {
                loop {
                    let p = self.path()?;
                    self.expect_sym("=")?;
                    let fpos = self.pos;
                    let value = self.operand()?;
                    self.check_set_function(&p, &value, fpos)?;
                    sets.push((p, value));
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
            return Err(self.no_term());
        }
        Ok((sets, removes))
    }

    /// `SET a = set_add(a, <<...>>)`: DynamoDB's rules for set_add and
    /// set_delete, with the positions it names. `fpos` is the function's token.
    fn check_set_function(&self, target: &[Seg], value: &Operand, fpos: usize) -> Result<()> {
        let Operand::Func(name, args) = value else {
            return Ok(());
        };
        let upper = match name.as_str() {
            "set_add" => "ADD",
            "set_delete" => "DELETE",
            _ => return Ok(()),
        };
        let at = self.at(fpos);
        if args.len() != 2 {
            return Err(error::validation(format!(
                "SET_{upper} must have exactly two arguments at {at}"
            )));
        }
        if !matches!(&args[0], Operand::Path(p) if p.as_slice() == target) {
            return Err(error::validation(format!(
                "The first argument to SET_{upper} must equal the assignment value at {at}"
            )));
        }
        if !matches!(
            &args[1],
            Operand::Lit(Value::Ss(_) | Value::Ns(_) | Value::Bs(_))
        ) {
            // the position named is the first argument's
            let first = fpos + 2;
            let mut end = first;
            while end < self.toks.len() && !matches!(self.toks[end].tok, Tok::Sym(",")) {
                end += 1;
            }
            return Err(error::validation(format!(
                "The second argument to SET_{upper} must be a value with type SET at {}",
                self.span(first, end)
            )));
        }
        Ok(())
    }

    fn insert(&mut self) -> Result<Stmt> {
        self.expect_word("INTO")?;
        let table = self.simple_name()?;
        if !self.eat_word("VALUE") {
            return Err(match self.peek() {
                Some(_) => leftover(),
                None => malformed("Expected VALUE"),
            });
        }
        if !self.eat_sym("{") {
            return Err(error::validation(
                "Unsupported format in item expression. Please use struct format {...} to express item values for insert statement.",
            ));
        }
        // each attribute's value is a whole value (`root`), parameters allowed
        let mut item = BTreeMap::new();
        if !self.eat_sym("}") {
            loop {
                let k = match self.next() {
                    Some(Tok::Str(s)) => s,
                    _ => return Err(malformed("Expected a quoted attribute name")),
                };
                self.expect_sym(":")?;
                let v = self.literal("root", 0)?;
                item.insert(k, v);
                if self.eat_sym("}") {
                    break;
                }
                self.expect_sym(",")?;
            }
        }
        if self.is_word("RETURNING") {
            return Err(error::validation("RETURNING is not supported in INSERT"));
        }
        Ok(Stmt::Insert { table, item })
    }

    /// What DynamoDB says of a statement that is not one of its own. A bare
    /// type test (`x IS INT4`) parses as PartiQL, and is refused as such.
    fn not_a_statement(&mut self) -> AwsError {
        if matches!(self.peek(), None | Some(Tok::Sym(";"))) {
            return malformed("Unexpected term");
        }
        let start = self.pos;
        if self.operand().is_ok() && self.eat_word("IS") {
            self.eat_word("NOT");
            return match self.type_name() {
                Ok(_) => error::validation("Unsupported operation: IsType"),
                Err(e) => e,
            };
        }
        self.pos = start;
        malformed("Unsupported statement")
    }

    fn statement(&mut self) -> Result<Stmt> {
        let stmt = if self.eat_word("SELECT") {
            self.select()?
        } else if self.eat_word("INSERT") {
            self.insert()?
        } else if self.eat_word("UPDATE") {
            let table = self.simple_name()?;
            self.no_alias()?;
            let (sets, removes) = self.update_clauses()?;
            let cond = self.where_clause()?;
            let returning = self.returning()?;
            Stmt::Update {
                table,
                sets,
                removes,
                cond,
                returning,
            }
        } else if self.eat_word("FROM") {
            // the FROM-first UPDATE: FROM "T" WHERE ... SET ... | REMOVE ...
            let table = self.simple_name()?;
            self.no_alias()?;
            let cond = self.where_clause()?;
            let (sets, removes) = self.update_clauses()?;
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
            let table = self.simple_name()?;
            self.no_alias()?;
            let cond = self.where_clause()?;
            let returning = self.returning()?;
            if let Some(rv) = returning.filter(|r| *r != "ALL_OLD") {
                return Err(error::validation(format!(
                    "Invalid returning clause: RETURNING {} *. Only RETURNING ALL OLD * is allowed in DELETE statements.",
                    match rv {
                        "ALL_NEW" => "ALL NEW",
                        "UPDATED_OLD" => "MODIFIED OLD",
                        _ => "MODIFIED NEW",
                    }
                )));
            }
            Stmt::Delete {
                table,
                cond,
                returning,
            }
        } else if self.is_word("EXISTS") && self.peek_at(1) == Some(&Tok::Sym("(")) {
            self.pos += 2;
            self.expect_word("SELECT")?;
            let Stmt::Select {
                table, index, cond, ..
            } = self.select()?
            else {
                return Err(malformed("Unexpected term"));
            };
            self.expect_sym(")")?;
            Stmt::Exists { table, index, cond }
        } else {
            return Err(self.not_a_statement());
        };
        self.eat_sym(";");
        if self.pos < self.toks.len() {
            return Err(leftover());
        }
        if self.next_param != self.params.len() {
            return Err(error::validation(
                "Number of parameters in request and statement don't match.",
            ));
        }
        Ok(stmt)
    }
}

fn aliasing() -> AwsError {
    error::validation("Aliasing is not supported")
}

pub(super) fn empty_component(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(error::validation(
            "Path component cannot be an empty string",
        ));
    }
    Ok(())
}

pub(super) fn parse(statement: &str, params: &[Value]) -> Result<Stmt> {
    let toks = lex(statement)?;
    let mut p = Parser {
        toks,
        pos: 0,
        params,
        next_param: 0,
        depth: 0,
        place: Place::Where,
    };
    p.statement()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> bool {
        parse(s, &[]).is_ok()
    }

    fn msg(s: &str) -> String {
        match parse(s, &[]) {
            Ok(_) => "ok".into(),
            Err(e) => e.message,
        }
    }

    #[test]
    fn parses_the_statements() {
        assert!(ok("SELECT * FROM \"t\" WHERE pk = 'a' AND sk > 3"));
        assert!(ok(
            "select a, b.c[1] from t.ix where begins_with(a, 'x') or a in ['p', 'q']"
        ));
        assert!(ok(
            "INSERT INTO t VALUE {'pk': 'a', 'n': -1.5, 's': <<'x','y'>>, 'l': [1, {'m': true}]}"
        ));
        assert!(ok("UPDATE t SET a = a + 1, b = list_append(b, [1]) REMOVE c WHERE pk = 'a' RETURNING ALL NEW *"));
        assert!(ok("DELETE FROM t WHERE pk = 'a' AND x IS NOT MISSING"));
        assert!(ok(
            "FROM t WHERE pk = 'a' SET c = 1 REMOVE d RETURNING ALL NEW *"
        ));
        assert!(ok("SELECT * FROM t WHERE pk = 'a' ORDER BY sk DESC, pk"));
        assert!(ok("EXISTS(SELECT * FROM t WHERE pk = 'a' AND x IS NULL)"));
        assert!(ok(
            "SELECT * FROM t WHERE pk = 'a' AND attribute_exists(x) = true AND n = - - 1"
        ));
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
    fn refuses_with_dynamodbs_words() {
        let nwf = "Statement wasn't well formed, can't be processed: ";
        assert_eq!(
            msg("SELECT * FROM t WHERE pk = 1 foo"),
            format!("{nwf}Unexpected token after expression")
        );
        assert_eq!(
            msg("SELECT * FROM t WHERE pk = 1)"),
            format!("{nwf}Unexpected token after expression")
        );
        assert_eq!(
            msg("INSERT INTO t x VALUE {'pk': 1}"),
            format!("{nwf}Unexpected token after expression")
        );
        assert_eq!(
            msg("SELECT * FROM t ORDER BY pk WHERE pk = 1"),
            format!("{nwf}Unexpected token after expression")
        );
        assert_eq!(
            msg("DELETE FROM t WHERE pk = 1 ORDER BY pk"),
            format!("{nwf}Unexpected token after expression")
        );
        for s in [
            "SELECT * FROM t x WHERE pk = 1",
            "SELECT * FROM t AS x",
            "UPDATE t x SET a = 1 WHERE pk = 1",
            "DELETE FROM t x WHERE pk = 1",
        ] {
            assert_eq!(msg(s), "Aliasing is not supported", "{s}");
        }
        for s in [
            "SELECT * FROM t WHERE",
            "SELECT * FROM t WHERE;",
            "SELECT * FROM t WHERE NOT",
            "SELECT * FROM t WHERE (",
            "SELECT * FROM",
        ] {
            assert_eq!(msg(s), format!("{nwf}Unexpected term"), "{s}");
        }
        assert_eq!(
            msg("SELECT * FROM t WHERE pk = 1 AND"),
            format!("{nwf}Missing right-hand side expression of infix operator")
        );
        assert_eq!(
            msg("SELECT * FROM t WHERE ORDER BY pk"),
            format!("{nwf}Unexpected keyword")
        );
        assert_eq!(
            msg("SELECT * FROM t WHERE IS NULL"),
            format!("{nwf}Unexpected operator")
        );
        assert_eq!(
            msg("SELECT * FROM t WHERE pk = LIKE"),
            format!("{nwf}Unexpected operator")
        );
        assert_eq!(
            msg("SELECT * FROM t WHERE x IS FOO"),
            format!("{nwf}Expected type name")
        );
        for s in ["DELETE FROM", "DELETE FROM;", "DELETE FROM WHERE pk = 'a'"] {
            assert_eq!(
                msg(s),
                format!("{nwf}Expected identifier for simple path"),
                "{s}"
            );
        }
        assert_eq!(msg("SELECT * FROM t WHERE pk = 1e126"), "Number overflow. Attempting to store a number with magnitude larger than supported range under root");
        assert_eq!(msg("INSERT INTO t VALUE {'pk': 1, 'l': [1, 1e126]}"), "Number overflow. Attempting to store a number with magnitude larger than supported range under root[1]");
        assert_eq!(msg("INSERT INTO t VALUE {'pk': 1, 'm': {'x': 1e-131}}"), "Number underflow. Attempting to store a number with magnitude smaller than supported range under root.x");
        let s = "SELECT * FROM t WHERE pk = 'a' AND EXISTS(ss)";
        assert_eq!(
            msg(s),
            format!(
                "Unrecognized function: exists at 1:{}:6",
                s.find("EXISTS").unwrap_or(0) + 1
            )
        );
        let s = "UPDATE t SET t = set_add(ss, <<'x'>>) WHERE pk = 'a'";
        assert_eq!(
            msg(s),
            format!(
                "The first argument to SET_ADD must equal the assignment value at 1:{}:7",
                s.find("set_add").unwrap_or(0) + 1
            )
        );
        let s = "UPDATE t SET ss = set_delete(ss, 'x') WHERE pk = 'a'";
        assert_eq!(
            msg(s),
            format!(
                "The second argument to SET_DELETE must be a value with type SET at 1:{}:2",
                s.find("(ss").unwrap_or(0) + 2
            )
        );
        assert_eq!(
            msg("UPDATE t SET ss = set_add(ss) WHERE pk = 'a'"),
            "SET_ADD must have exactly two arguments at 1:19:7"
        );
        assert_eq!(msg("UPDATE t SET ss = set_add(ss, <<'x', 'x'>>) WHERE pk = 'a'"), "One or more parameter values were invalid: Input collection [x, x] contains duplicates.");
        assert_eq!(msg("UPDATE t SET n = set_add(n, <<2, 2.0>>) WHERE pk = 'a'"), "One or more parameter values were invalid: Input collection [2, 2.0] contains duplicates! under root");
        assert_eq!(
            msg("UPDATE t SET ss = set_add(ss, <<>>) WHERE pk = 'a'"),
            "Empty bags are not supported"
        );
        assert_eq!(
            msg("SELECT l[-1] FROM t WHERE pk = 'a'"),
            "List index is not within the allowable range; index: [-1] at 1:11:1"
        );
        assert_eq!(
            msg("SELECT l[2147483648] FROM t WHERE pk = 'a'"),
            "List index is not within the allowable range; index: [2147483648] at 1:10:10"
        );
        assert_eq!(msg("DELETE FROM t WHERE pk = 'a' RETURNING MODIFIED OLD *"), "Invalid returning clause: RETURNING MODIFIED OLD *. Only RETURNING ALL OLD * is allowed in DELETE statements.");
        let deep = format!(
            "UPDATE t SET d = {}1{} WHERE pk = 'a'",
            "{'a':".repeat(32),
            "}".repeat(32)
        );
        assert_eq!(
            msg(&deep),
            format!(
                "Nesting Levels have exceeded supported limits under root{}",
                ".a".repeat(32)
            )
        );
        let s = "UPDATE t SET x = [?] WHERE pk = 'a'";
        assert!(
            matches!(parse(s, &[Value::S("v".into())]), Err(e) if e.message == "Unsupported data type: Parameter under key root[0] at 1:19:1")
        );
        assert_eq!(
            msg("SELECT * FROM \"t\".\"i\".\"x\""),
            "A path may contain at most 2 components in the FROM clause"
        );
        assert_eq!(
            msg("SELECT * FROM t WHERE pk = 'a' AND attribute_exists(m.inner)"),
            format!("{nwf}Invalid path dot component")
        );
        assert_eq!(msg("x IS INT4"), "Unsupported operation: IsType");
        assert_eq!(
            msg("x IS DOUBLE PRECISION"),
            "Unsupported operation: IsType"
        );
        assert_eq!(msg("x IS FOO"), format!("{nwf}Expected type name"));
        assert_eq!(
            msg("SELECT * FROM t WHERE pk = 'a' AND attribute_exists()"),
            "Incorrect number of operands for operator or function; operator or function: attribute_exists, number of operands: 0"
        );
        assert_eq!(
            msg("SELECT * FROM \"\""),
            "Path component cannot be an empty string"
        );
    }

    #[test]
    fn token_soup_never_panics() {
        const BITS: &[&str] = &[
            "SELECT",
            "*",
            "FROM",
            "\"t\"",
            ".",
            "\"i\"",
            "WHERE",
            "pk",
            "=",
            "'a'",
            "AND",
            "OR",
            "NOT",
            "(",
            ")",
            "[",
            "]",
            "{",
            "}",
            "<<",
            ">>",
            ",",
            ":",
            "?",
            "1",
            "-",
            "+",
            ".5e3",
            "1e99999999999",
            "IS",
            "NULL",
            "MISSING",
            "INT4",
            "IN",
            "BETWEEN",
            "ORDER",
            "BY",
            "DESC",
            "UPDATE",
            "SET",
            "REMOVE",
            "DELETE",
            "INSERT",
            "INTO",
            "VALUE",
            "RETURNING",
            "ALL",
            "OLD",
            "NEW",
            "MODIFIED",
            "EXISTS",
            "set_add",
            "size",
            "attribute_exists",
            "begins_with",
            "m",
            "l",
            "sk",
            "--",
            "/*",
            "*/",
            ";",
            "AS",
            "x",
            "true",
            "''",
            "\"\"",
        ];
        let params = [Value::S("p".into()), Value::Ss(vec!["s".into()])];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            let mut text = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            for _ in 0..(seed % 24) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                text.push_str(BITS[(seed % BITS.len() as u64) as usize]);
                text.push(if seed & 0x100 == 0 { ' ' } else { '\n' });
            }
            let n = (seed >> 20) as usize % 3;
            let _ = parse(&text, &params[..n]);
        }
    }
}
