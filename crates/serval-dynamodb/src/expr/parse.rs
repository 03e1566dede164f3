//! The recursive-descent parser: source text to raw trees that still hold
//! placeholders as token indexes. Every recursive step goes through
//! [`Parser::enter`], which bounds the depth, and the operator count is
//! bounded as DynamoDB bounds it, so no input can exhaust the stack.
//! Resolution and DynamoDB's semantic checks happen afterwards, in
//! `condition.rs`, `update.rs` and `project.rs`.

use super::ast::CmpOp;
use super::lexer::{tokenize, Tok, Token};

/// Most bytes an expression may have.
pub const MAX_LEN: usize = 4096;
/// Most operators and functions an expression may hold.
pub const MAX_OPERATORS: u32 = 300;
/// Deepest nesting of parentheses and function calls the parser follows
/// (DynamoDB's own bound is indirect: 300 operators allow 149 nested
/// `a<b or (...)` levels, which it accepts; this keeps the stack small on
/// any thread, even in a debug build).
pub const MAX_DEPTH: u32 = 160;
/// Most operands on the right of `IN`.
pub const MAX_IN: usize = 100;
/// Most steps in a document path.
pub const MAX_PATH_DEPTH: usize = 32;

/// An expression's text and tokens.
pub struct Source<'a> {
    /// The text.
    pub text: &'a str,
    /// Its tokens.
    pub toks: Vec<Token>,
}

impl<'a> Source<'a> {
    /// The text of token `i`.
    pub fn text(&self, i: usize) -> &'a str {
        match self.toks.get(i) {
            Some(t) => self
                .text
                .get(t.start as usize..t.end as usize)
                .unwrap_or(""),
            None => "",
        }
    }
}

/// One step of a path before placeholders are resolved.
#[derive(Debug)]
pub enum RawElem {
    /// A bare name (token index).
    Ident(usize),
    /// A `#name` placeholder (token index).
    Name(usize),
    /// A list index.
    Index(u32),
}

/// A path before resolution.
#[derive(Debug)]
pub struct RawPath(pub Vec<RawElem>);

/// An operand before resolution.
#[derive(Debug)]
pub enum RawOperand {
    /// A document path.
    Path(RawPath),
    /// A `:value` placeholder (token index).
    Value(usize),
    /// A function call.
    Func(RawFunc),
}

/// A function call before resolution.
#[derive(Debug)]
pub struct RawFunc {
    /// Token index of the name.
    pub name: usize,
    /// Arguments.
    pub args: Vec<RawOperand>,
}

/// A condition before resolution.
#[derive(Debug)]
pub enum RawCond {
    /// Comparison.
    Cmp(CmpOp, RawOperand, RawOperand),
    /// `a BETWEEN b AND c`.
    Between(Box<[RawOperand; 3]>),
    /// `a IN (...)`.
    In(RawOperand, Vec<RawOperand>),
    /// A function used as a condition.
    Func(RawFunc),
    /// Conjunction.
    And(Vec<RawCond>),
    /// Disjunction.
    Or(Vec<RawCond>),
    /// Negation.
    Not(Box<RawCond>),
}

/// The value side of a `SET` action before resolution.
#[derive(Debug)]
pub enum RawSetValue {
    /// A plain operand.
    Operand(RawOperand),
    /// `a + b` (true) or `a - b` (false).
    Arith(bool, Box<RawSetValue>, Box<RawSetValue>),
}

/// An update clause keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// `SET`
    Set,
    /// `REMOVE`
    Remove,
    /// `ADD`
    Add,
    /// `DELETE`
    Delete,
}

impl Section {
    /// The keyword in upper case.
    pub fn name(self) -> &'static str {
        match self {
            Section::Set => "SET",
            Section::Remove => "REMOVE",
            Section::Add => "ADD",
            Section::Delete => "DELETE",
        }
    }
}

/// One update action before resolution.
#[derive(Debug)]
pub enum RawAction {
    /// `SET path = value`.
    Set(RawPath, RawSetValue),
    /// `REMOVE path`.
    Remove(RawPath),
    /// `ADD path :v` (token index of the value).
    Add(RawPath, usize),
    /// `DELETE path :v`.
    Delete(RawPath, usize),
}

/// A parsed update expression.
#[derive(Debug)]
pub struct RawUpdate {
    /// Actions in source order.
    pub actions: Vec<RawAction>,
    /// A clause used twice (DynamoDB reports it after some other checks).
    pub section_error: Option<String>,
}

/// A parsed condition with what the parser noticed on the way.
#[derive(Debug)]
pub struct RawCondition {
    /// The tree.
    pub cond: RawCond,
    /// Whether `((x))` appeared somewhere.
    pub redundant_parens: bool,
}

const COND_KEYWORDS: &[&str] = &["AND", "OR", "NOT", "BETWEEN", "IN"];
const UPDATE_KEYWORDS: &[&str] = &["SET", "REMOVE", "ADD", "DELETE"];

/// Checks the length limit and emptiness common to every expression.
pub fn check_text(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("The expression can not be empty;".into());
    }
    if text.len() > MAX_LEN {
        return Err(format!(
            "Expression size has exceeded the maximum allowed size; expression size: {}",
            text.len()
        ));
    }
    Ok(())
}

/// A parse in progress.
pub struct Parser<'s, 'a> {
    src: &'s Source<'a>,
    pos: usize,
    depth: u32,
    ops: u32,
    keywords: &'static [&'static str],
    last_group: (usize, usize),
    redundant: bool,
    arith_seen: bool,
}

/// A condition-position parse result: either already a condition or an
/// operand that may still become one side of a comparison.
enum Node {
    Cond(RawCond),
    Operand(RawOperand),
}

impl<'s, 'a> Parser<'s, 'a> {
    fn new(src: &'s Source<'a>, keywords: &'static [&'static str]) -> Self {
        Parser {
            src,
            pos: 0,
            depth: 0,
            ops: 0,
            keywords,
            last_group: (usize::MAX, usize::MAX),
            redundant: false,
            arith_seen: false,
        }
    }

    fn peek(&self) -> Option<Tok> {
        self.src.toks.get(self.pos).map(|t| t.tok)
    }

    fn peek_at(&self, i: usize) -> Option<Tok> {
        self.src.toks.get(i).map(|t| t.tok)
    }

    fn is_kw_at(&self, i: usize, word: &str) -> bool {
        self.peek_at(i) == Some(Tok::Ident) && self.src.text(i).eq_ignore_ascii_case(word)
    }

    fn is_kw(&self, word: &str) -> bool {
        self.is_kw_at(self.pos, word)
    }

    fn is_any_kw(&self, i: usize) -> bool {
        self.keywords.iter().any(|k| self.is_kw_at(i, k))
    }

    /// DynamoDB's syntax error message for token `at` (or end of input).
    fn syntax_error(&self, at: usize) -> String {
        let toks = &self.src.toks;
        let text = self.src.text;
        let slice = |a: usize, b: usize| -> &str {
            let s = toks.get(a).map_or(0, |t| t.start as usize);
            let e = toks.get(b).map_or(text.len(), |t| t.end as usize);
            text.get(s..e).unwrap_or("")
        };
        if at >= toks.len() {
            let near = match toks.len() {
                0 => "",
                n => slice(n - 1, n - 1),
            };
            // DynamoDB quotes the end of input like any other token.
            return format!("Syntax error; token: \"<EOF>\", near: \"{near}\"");
        }
        let from = at.saturating_sub(1);
        let to = if at + 1 < toks.len() { at + 1 } else { at };
        format!(
            "Syntax error; token: \"{}\", near: \"{}\"",
            self.src.text(at),
            slice(from, to)
        )
    }

    fn err<T>(&self) -> Result<T, String> {
        Err(self.syntax_error(self.pos))
    }

    fn expect(&mut self, tok: Tok) -> Result<usize, String> {
        if self.peek() == Some(tok) {
            self.pos += 1;
            Ok(self.pos - 1)
        } else {
            self.err()
        }
    }

    /// One more nesting level, refused past [`MAX_DEPTH`].
    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let before = |n: usize| self.pos.checked_sub(n).and_then(|i| self.peek_at(i));
            if before(1) == Some(Tok::LParen) && before(2) == Some(Tok::LParen) {
                return Err("The expression has redundant parentheses;".into());
            }
            return self.err();
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Counts one operator or function, refused past [`MAX_OPERATORS`].
    fn count_op(&mut self) -> Result<(), String> {
        self.ops += 1;
        if self.ops > MAX_OPERATORS {
            return Err(format!(
                "The expression contains too many operators; operator count: {}",
                self.ops
            ));
        }
        Ok(())
    }

    /// Notes the group just closed and whether it only wrapped another.
    fn close_group(&mut self, open: usize, close: usize) {
        if open + 1 < close && self.last_group == (open + 1, close - 1) {
            self.redundant = true;
        }
        self.last_group = (open, close);
    }

    fn at_end(&self) -> bool {
        self.pos >= self.src.toks.len()
    }

    // ---- paths and operands -------------------------------------------

    fn path_name(&mut self) -> Result<RawElem, String> {
        match self.peek() {
            Some(Tok::Ident) if !self.is_any_kw(self.pos) => {
                self.pos += 1;
                Ok(RawElem::Ident(self.pos - 1))
            }
            Some(Tok::Name) => {
                self.pos += 1;
                Ok(RawElem::Name(self.pos - 1))
            }
            _ => self.err(),
        }
    }

    /// Continues a path with `.name` and `[n]` steps (iteratively).
    fn path_tail(&mut self, path: &mut RawPath) -> Result<(), String> {
        loop {
            match self.peek() {
                Some(Tok::Dot) => {
                    self.pos += 1;
                    let e = self.path_name()?;
                    path.0.push(e);
                }
                Some(Tok::LBracket) => {
                    self.pos += 1;
                    let n = self.expect(Tok::Number)?;
                    let digits = self.src.text(n);
                    let index = digits
                        .bytes()
                        .try_fold(0u32, |acc, d| {
                            acc.checked_mul(10)?.checked_add(u32::from(d - b'0'))
                        })
                        .filter(|i| *i <= i32::MAX as u32)
                        .ok_or_else(|| {
                            format!(
                                "List index is not within the allowable range; index: [{digits}]"
                            )
                        })?;
                    self.expect(Tok::RBracket)?;
                    path.0.push(RawElem::Index(index));
                }
                _ => return Ok(()),
            }
            if path.0.len() > MAX_PATH_DEPTH {
                return Err(format!(
                    "The document path has too many nesting levels; nesting levels: {}",
                    path.0.len()
                ));
            }
        }
    }

    fn path(&mut self) -> Result<RawPath, String> {
        let first = self.path_name()?;
        let mut p = RawPath(vec![first]);
        self.path_tail(&mut p)?;
        Ok(p)
    }

    fn function(&mut self) -> Result<RawFunc, String> {
        let name = self.pos;
        self.pos += 2; // name and '('
        self.count_op()?;
        self.enter()?;
        let mut args = vec![self.operand()?];
        while self.peek() == Some(Tok::Comma) {
            self.pos += 1;
            args.push(self.operand()?);
        }
        self.expect(Tok::RParen)?;
        // a call's own parentheses never make a group redundant
        self.last_group = (usize::MAX, usize::MAX);
        self.leave();
        Ok(RawFunc { name, args })
    }

    /// An operand: `(operand)`, a function call, a `:value` or a path.
    fn operand(&mut self) -> Result<RawOperand, String> {
        match self.peek() {
            Some(Tok::LParen) => {
                let open = self.pos;
                self.pos += 1;
                self.enter()?;
                let mut inner = self.operand()?;
                let close = self.expect(Tok::RParen)?;
                self.close_group(open, close);
                self.leave();
                if let RawOperand::Path(p) = &mut inner {
                    self.path_tail(p)?;
                }
                Ok(inner)
            }
            Some(Tok::Ident)
                if self.peek_at(self.pos + 1) == Some(Tok::LParen) && !self.is_any_kw(self.pos) =>
            {
                Ok(RawOperand::Func(self.function()?))
            }
            Some(Tok::Value) => {
                self.pos += 1;
                Ok(RawOperand::Value(self.pos - 1))
            }
            _ => Ok(RawOperand::Path(self.path()?)),
        }
    }

    // ---- conditions ---------------------------------------------------

    fn want_cond(&self, node: Node, err_at: usize) -> Result<RawCond, String> {
        match node {
            Node::Cond(c) => Ok(c),
            Node::Operand(RawOperand::Func(f)) => Ok(RawCond::Func(f)),
            Node::Operand(_) => Err(self.syntax_error(err_at)),
        }
    }

    /// A whole condition: NOT binds tighter than AND, AND than OR. Chains
    /// are collected in loops; only parentheses recurse (through
    /// [`Parser::comparison`]), two frames per level.
    fn expr(&mut self) -> Result<Node, String> {
        let mut ors: Vec<RawCond> = Vec::new();
        let mut ands: Vec<RawCond> = Vec::new();
        loop {
            let mut nots = 0;
            while self.is_kw("NOT") {
                self.pos += 1;
                self.count_op()?;
                nots += 1;
            }
            let mut node = self.comparison()?;
            if nots > 0 {
                let mut c = self.want_cond(node, self.pos)?;
                for _ in 0..nots {
                    c = RawCond::Not(Box::new(c));
                }
                node = Node::Cond(c);
            }
            if self.is_kw("AND") {
                ands.push(self.want_cond(node, self.pos)?);
                self.pos += 1;
                self.count_op()?;
                continue;
            }
            let conj = if ands.is_empty() {
                node
            } else {
                ands.push(self.want_cond(node, self.pos)?);
                Node::Cond(RawCond::And(std::mem::take(&mut ands)))
            };
            if self.is_kw("OR") {
                ors.push(self.want_cond(conj, self.pos)?);
                self.pos += 1;
                self.count_op()?;
                continue;
            }
            if ors.is_empty() {
                return Ok(conj);
            }
            ors.push(self.want_cond(conj, self.pos)?);
            return Ok(Node::Cond(RawCond::Or(ors)));
        }
    }

    /// A parenthesized condition or operand, or a comparison.
    fn comparison(&mut self) -> Result<Node, String> {
        let lhs = if self.peek() == Some(Tok::LParen) {
            let open = self.pos;
            self.pos += 1;
            self.enter()?;
            let mut inner = self.expr()?;
            let close = self.expect(Tok::RParen)?;
            self.close_group(open, close);
            self.leave();
            if let Node::Operand(RawOperand::Path(p)) = &mut inner {
                self.path_tail(p)?;
            }
            inner
        } else {
            Node::Operand(self.operand()?)
        };
        let op = match self.peek() {
            Some(Tok::Eq) => Some(CmpOp::Eq),
            Some(Tok::Ne) => Some(CmpOp::Ne),
            Some(Tok::Lt) => Some(CmpOp::Lt),
            Some(Tok::Le) => Some(CmpOp::Le),
            Some(Tok::Gt) => Some(CmpOp::Gt),
            Some(Tok::Ge) => Some(CmpOp::Ge),
            _ => None,
        };
        let between = self.is_kw("BETWEEN");
        let is_in = self.is_kw("IN");
        if op.is_none() && !between && !is_in {
            return Ok(lhs);
        }
        let Node::Operand(lhs) = lhs else {
            return self.err();
        };
        self.pos += 1;
        self.count_op()?;
        if let Some(op) = op {
            let rhs = self.operand()?;
            return Ok(Node::Cond(RawCond::Cmp(op, lhs, rhs)));
        }
        if between {
            let lo = self.operand()?;
            if !self.is_kw("AND") {
                return self.err();
            }
            self.pos += 1;
            let hi = self.operand()?;
            return Ok(Node::Cond(RawCond::Between(Box::new([lhs, lo, hi]))));
        }
        self.expect(Tok::LParen)?;
        let mut list = vec![self.operand()?];
        while self.peek() == Some(Tok::Comma) {
            self.pos += 1;
            list.push(self.operand()?);
            if list.len() > MAX_IN {
                return Err(format!(
                    "The IN operator is provided with too many operands; number of operands: {}",
                    list.len()
                ));
            }
        }
        self.expect(Tok::RParen)?;
        self.last_group = (usize::MAX, usize::MAX);
        Ok(Node::Cond(RawCond::In(lhs, list)))
    }

    // ---- updates ------------------------------------------------------

    fn set_value(&mut self) -> Result<RawSetValue, String> {
        let lhs = self.set_term()?;
        let plus = match self.peek() {
            Some(Tok::Plus) => true,
            Some(Tok::Minus) => false,
            _ => return Ok(lhs),
        };
        if self.arith_seen {
            return self.err();
        }
        self.arith_seen = true;
        self.pos += 1;
        self.count_op()?;
        let rhs = self.set_term()?;
        Ok(RawSetValue::Arith(plus, Box::new(lhs), Box::new(rhs)))
    }

    fn set_term(&mut self) -> Result<RawSetValue, String> {
        if self.peek() != Some(Tok::LParen) {
            return Ok(RawSetValue::Operand(self.operand()?));
        }
        self.pos += 1;
        self.enter()?;
        let mut inner = self.set_value()?;
        self.expect(Tok::RParen)?;
        self.leave();
        if let RawSetValue::Operand(RawOperand::Path(p)) = &mut inner {
            self.path_tail(p)?;
        }
        Ok(inner)
    }

    fn update_action(&mut self, section: Section) -> Result<RawAction, String> {
        let path = self.path()?;
        Ok(match section {
            Section::Set => {
                self.expect(Tok::Eq)?;
                self.arith_seen = false;
                RawAction::Set(path, self.set_value()?)
            }
            Section::Remove => RawAction::Remove(path),
            Section::Add => RawAction::Add(path, self.expect(Tok::Value)?),
            Section::Delete => RawAction::Delete(path, self.expect(Tok::Value)?),
        })
    }
}

/// Parses a condition (ConditionExpression, FilterExpression,
/// KeyConditionExpression).
pub fn parse_condition(src: &Source<'_>) -> Result<RawCondition, String> {
    let mut p = Parser::new(src, COND_KEYWORDS);
    let node = p.expr()?;
    if !p.at_end() {
        return p.err();
    }
    let cond = p.want_cond(node, p.pos)?;
    Ok(RawCondition {
        cond,
        redundant_parens: p.redundant,
    })
}

/// Parses an update expression.
pub fn parse_update(src: &Source<'_>) -> Result<RawUpdate, String> {
    let mut p = Parser::new(src, UPDATE_KEYWORDS);
    let mut seen: [bool; 4] = [false; 4];
    let mut out = RawUpdate {
        actions: Vec::new(),
        section_error: None,
    };
    if p.at_end() {
        return p.err();
    }
    while !p.at_end() {
        let section = [Section::Set, Section::Remove, Section::Add, Section::Delete]
            .into_iter()
            .find(|s| p.is_kw(s.name()));
        let Some(section) = section else {
            return p.err();
        };
        p.pos += 1;
        let slot = section as usize;
        if seen[slot] && out.section_error.is_none() {
            out.section_error = Some(format!(
                "The \"{}\" section can only be used once in an update expression;",
                section.name()
            ));
        }
        seen[slot] = true;
        out.actions.push(p.update_action(section)?);
        while p.peek() == Some(Tok::Comma) {
            p.pos += 1;
            out.actions.push(p.update_action(section)?);
        }
    }
    Ok(out)
}

/// Parses a projection expression: paths separated by commas.
pub fn parse_projection(src: &Source<'_>) -> Result<Vec<RawPath>, String> {
    let mut p = Parser::new(src, &[]);
    let mut out = vec![p.path()?];
    while p.peek() == Some(Tok::Comma) {
        p.pos += 1;
        out.push(p.path()?);
    }
    if !p.at_end() {
        return p.err();
    }
    Ok(out)
}

/// Tokenizes `text` after the common checks.
pub fn source(text: &str) -> Result<Source<'_>, String> {
    check_text(text)?;
    Ok(Source {
        text,
        toks: tokenize(text),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond_err(s: &str) -> String {
        match source(s).and_then(|src| parse_condition(&src).map(|_| ())) {
            Ok(()) => "ok".into(),
            Err(e) => e,
        }
    }

    fn upd_err(s: &str) -> String {
        match source(s).and_then(|src| parse_update(&src).map(|_| ())) {
            Ok(()) => "ok".into(),
            Err(e) => e,
        }
    }

    #[test]
    fn syntax_errors_name_the_token_and_its_neighbours() {
        assert_eq!(
            upd_err("SET _123 = :v"),
            "Syntax error; token: \"_\", near: \"SET _123\""
        );
        assert_eq!(
            cond_err("a = "),
            "Syntax error; token: \"<EOF>\", near: \"=\""
        );
        assert_eq!(
            cond_err("things are not gonna be ok"),
            "Syntax error; token: \"are\", near: \"things are not\""
        );
        assert_eq!(
            cond_err("a > 4"),
            "Syntax error; token: \"4\", near: \"> 4\""
        );
    }

    #[test]
    fn rejects_what_dynamodb_rejects_syntactically() {
        for bad in [
            "things are not gonna be ok",
            "a > 4",
            "attribute_exists(Pictures-RearView)",
            "attribute_exists(\"Pictures.RearView\")",
            "attribute_exists(Pictures..RearView)",
            "attribute_exists(Pi#ctures.RearView)",
            "attribute_exists(asdf[a])",
            "a in b, c",
            "a > between",
            "a in b",
            "a in (b,c,)",
            "(a)between(b.(c.d))and(c)",
            "(a)between(b.c.d)and((c)",
            "#$.b > a",
            "a > :things.stuff",
            "b[:a] > a",
            "b[#_] > a",
            "ü > a",
            "(a)between(b.c[4.5].#d)and(:a)",
            "size(a).b > a",
            "(size(a)).b > a",
            "size(a)[0] > a",
            "(size(a))[0] > a",
            "a",
            ":a",
            "(a)",
            "a = b c",
            "NOT a",
            "a AND b = c",
        ] {
            assert!(
                cond_err(bad).starts_with("Syntax error; "),
                "{bad}: {}",
                cond_err(bad)
            );
        }
    }

    #[test]
    fn accepts_the_grammar() {
        for good in [
            "a = b",
            "(a) = (b)",
            "(a = b)",
            "a.b[1].#c <> :v",
            "NOT NOT a < b",
            "not (a < b) and c > d or e >= f",
            "a BETWEEN :x AND :y and b in (:a, :b, c.d)",
            "(a)between(b)and(c)",
            "attribute_exists (b)",
            "size(a) > :v",
            "(a.b).c = :v",
            "whatever((:things), a) > a",
        ] {
            assert_eq!(cond_err(good), "ok", "{good}");
        }
    }

    #[test]
    fn notices_redundant_parentheses() {
        let redundant = |s: &str| {
            source(s)
                .and_then(|src| parse_condition(&src))
                .map(|c| c.redundant_parens)
                .unwrap_or(false)
        };
        for r in [
            "a=a and a > ((views))",
            "(a)between(((b.c)).d)and(c)",
            "a > whatever((:things), ((a)))",
            "a=a AND ((a=a AND a=a)) AND a=a",
            "a=a OR ((a=a OR (a=a OR a=a)))",
            "((a = b))",
        ] {
            assert!(redundant(r), "{r}");
        }
        for r in [
            "((a=a) OR (a=a))",
            "(a) = (b)",
            "((a).b) = c",
            "f((a), (b)) = c",
        ] {
            assert!(!redundant(r), "{r}");
        }
    }

    #[test]
    fn update_grammar() {
        for good in [
            "SET a = :v",
            "  set   b=:val1  ",
            "SET a = a + :v, b = list_append(a, :l) REMOVE c, d[1] ADD e :n DELETE f :s",
            "SET b = if_not_exists(b, :val1)+:val2",
            "SET a = (:v + b)",
            "REMOVE a SET b = a",
        ] {
            assert_eq!(upd_err(good), "ok", "{good}");
        }
        for bad in [
            "",
            "   ",
            "HELLO b = :v",
            "SET :a = :b",
            "SET a = :v1 + :v2 + :v3",
            "SET c = if_not_exists(c, :val1+:val2)",
            "SET a[:x] = :v",
            "SET a[#x] = :v",
            "SET # = :v",
            "SET a = :",
            "ADD a b",
            "SET a = _f(b)",
            "SET a",
        ] {
            let e = upd_err(bad);
            assert!(
                e.starts_with("Syntax error; ") || e.contains("can not be empty"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn limits() {
        let long = format!("a{} = :v", " ".repeat(MAX_LEN));
        assert!(cond_err(&long).contains("Expression size has exceeded"));
        let deep = format!("{}a<b{}", "(".repeat(2000), ")".repeat(2000));
        assert_eq!(cond_err(&deep), "The expression has redundant parentheses;");
        // DynamoDB takes 149 nested levels (299 operators)
        let ors = format!("a<b {}{}", "or (a<b ".repeat(149), ")".repeat(149));
        assert_eq!(cond_err(&ors), "ok");
        let ors = format!("a<b {}", "or a<b ".repeat(149));
        assert_eq!(cond_err(&ors), "ok");
        let ors = format!("a<b {}", "or a<b ".repeat(151));
        assert!(cond_err(&ors).contains("too many operators; operator count: 301"));
        let ors = format!("a<b {}{}", "or (a<b ".repeat(151), ")".repeat(151));
        assert!(cond_err(&ors).contains("too many operators"));
        let ors = format!("a<b {}{}", "or (a<b ".repeat(454), ")".repeat(454));
        assert_ne!(cond_err(&ors), "ok");
        let nots = format!("{}a<b", "not ".repeat(1000));
        assert!(cond_err(&nots).contains("too many operators"));
        let ins = format!("a IN ({})", vec![":v"; 101].join(","));
        assert!(cond_err(&ins).contains("too many operands; number of operands: 101"));
    }
}
