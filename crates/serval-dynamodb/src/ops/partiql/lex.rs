//! The PartiQL lexer: statement text into tokens, each with the place it
//! starts (DynamoDB names `line:column:length` in some of its messages).
//! `--` line comments and `/* */` block comments are whitespace.

use super::malformed;
use crate::error::Result;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Word(String),
    Quoted(String),
    Str(String),
    Num(String),
    Param,
    Sym(&'static str),
}

/// A token and where it is: 1-based line and column, length in characters.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub tok: Tok,
    pub line: usize,
    pub col: usize,
    pub len: usize,
}

impl Token {
    /// `line:column:length`, as DynamoDB writes a position.
    pub fn at(&self) -> String {
        format!("{}:{}:{}", self.line, self.col, self.len)
    }
}

const SYMS: &[&str] = &[
    "<<", ">>", "<>", "!=", "<=", ">=", "=", "<", ">", "(", ")", "[", "]", "{", "}", ",", ".", ":",
    "*", "+", "-", ";",
];

struct Lexer {
    chars: Vec<char>,
    i: usize,
    line: usize,
    line_start: usize,
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.i + ahead).copied()
    }

    /// Moves past one character, counting lines.
    fn bump(&mut self) {
        if self.chars.get(self.i) == Some(&'\n') {
            self.line += 1;
            self.line_start = self.i + 1;
        }
        self.i += 1;
    }

    /// Skips whitespace and comments. An unterminated block comment is a
    /// statement DynamoDB cannot read, and it says nothing more about it.
    fn skip_blank(&mut self) -> Result<()> {
        loop {
            match (self.peek(0), self.peek(1)) {
                (Some(c), _) if c.is_whitespace() => self.bump(),
                (Some('-'), Some('-')) => {
                    while self.peek(0).is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                }
                (Some('/'), Some('*')) => {
                    self.bump();
                    self.bump();
                    loop {
                        match (self.peek(0), self.peek(1)) {
                            (None, _) => return Err(malformed("")),
                            (Some('*'), Some('/')) => {
                                self.bump();
                                self.bump();
                                break;
                            }
                            _ => self.bump(),
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        self.i - start
    }

    /// A number: digits, an optional fraction, an optional exponent. An
    /// exponent, or a scale (fraction digits less the exponent), outside a
    /// 32-bit integer cannot be converted, and DynamoDB gives no detail.
    fn number(&mut self) -> Result<Tok> {
        let start = self.i;
        self.digits();
        let mut frac = 0;
        if self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
            frac = self.digits();
        } else if self.peek(0) == Some('.') && self.i > start {
            // `1.` is the number 1
            self.bump();
        }
        let has_exp = matches!(self.peek(0), Some('e' | 'E'))
            && match self.peek(1) {
                Some(c) if c.is_ascii_digit() => true,
                Some('+' | '-') => self.peek(2).is_some_and(|c| c.is_ascii_digit()),
                _ => false,
            };
        if has_exp {
            self.bump();
            let exp_start = self.i;
            if matches!(self.peek(0), Some('+' | '-')) {
                self.bump();
            }
            self.digits();
            let text: String = self.chars[exp_start..self.i].iter().collect();
            let exp: i64 = text.parse().map_err(|_| malformed(""))?;
            let scale = frac as i64 - exp;
            if i32::try_from(exp).is_err() || i32::try_from(scale).is_err() {
                return Err(malformed(""));
            }
        }
        Ok(Tok::Num(self.chars[start..self.i].iter().collect()))
    }

    fn quoted(&mut self, q: char) -> Result<Tok> {
        let mut s = String::new();
        self.bump();
        loop {
            match self.peek(0) {
                None => return Err(malformed("unterminated quoted text")),
                Some(c) if c == q => {
                    if self.peek(1) == Some(q) {
                        s.push(q);
                        self.bump();
                        self.bump();
                    } else {
                        self.bump();
                        break;
                    }
                }
                Some(c) => {
                    s.push(c);
                    self.bump();
                }
            }
        }
        Ok(if q == '\'' {
            Tok::Str(s)
        } else {
            Tok::Quoted(s)
        })
    }

    fn token(&mut self) -> Result<Tok> {
        let c = self.chars[self.i];
        if c == '\'' || c == '"' {
            return self.quoted(c);
        }
        if c.is_ascii_digit() || (c == '.' && self.peek(1).is_some_and(|d| d.is_ascii_digit())) {
            return self.number();
        }
        if c.is_alphabetic() || c == '_' {
            let start = self.i;
            while self
                .peek(0)
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
            {
                self.bump();
            }
            return Ok(Tok::Word(self.chars[start..self.i].iter().collect()));
        }
        if c == '?' {
            self.bump();
            return Ok(Tok::Param);
        }
        let rest: String = self.chars[self.i..self.chars.len().min(self.i + 2)]
            .iter()
            .collect();
        match SYMS.iter().find(|s| rest.starts_with(**s)) {
            Some(s) => {
                for _ in 0..s.len() {
                    self.bump();
                }
                Ok(Tok::Sym(s))
            }
            // `#` and other characters PartiQL does not know: no detail
            None => Err(malformed("")),
        }
    }
}

pub(super) fn lex(src: &str) -> Result<Vec<Token>> {
    let mut lx = Lexer {
        chars: src.chars().collect(),
        i: 0,
        line: 1,
        line_start: 0,
    };
    let mut out = Vec::new();
    loop {
        lx.skip_blank()?;
        if lx.i >= lx.chars.len() {
            return Ok(out);
        }
        let (line, col, start) = (lx.line, lx.i - lx.line_start + 1, lx.i);
        let tok = lx.token()?;
        out.push(Token {
            tok,
            line,
            col,
            len: lx.i - start,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s)
            .map(|v| v.into_iter().map(|t| t.tok).collect())
            .unwrap_or_default()
    }

    #[test]
    fn comments_are_whitespace() {
        let plain = toks("SELECT * FROM t WHERE a = 'x--y /*z*/'");
        assert_eq!(plain.len(), 8);
        assert_eq!(
            toks("-- c\nSELECT /* c */ * FROM t -- c\nWHERE a = 'x--y /*z*/' --"),
            plain
        );
        assert_eq!(toks("SELECT/**/* FROM t WHERE a = 'x--y /*z*/'"), plain);
        // `n--1` is `n` and a comment
        assert_eq!(toks("n--1"), vec![Tok::Word("n".into())]);
        assert!(lex("SELECT * FROM t /* open").is_err());
        assert!(lex("SELECT * FROM t # note").is_err());
    }

    #[test]
    fn numbers_and_positions() {
        assert_eq!(toks(".73e1"), vec![Tok::Num(".73e1".into())]);
        assert_eq!(toks("7.31E+6"), vec![Tok::Num("7.31E+6".into())]);
        // `1 e5` is a number and a word
        assert_eq!(
            toks("1 e5"),
            vec![Tok::Num("1".into()), Tok::Word("e5".into())]
        );
        assert_eq!(
            toks("a.b"),
            vec![Tok::Word("a".into()), Tok::Sym("."), Tok::Word("b".into())]
        );
        assert!(lex("1e2147483648").is_err());
        assert!(lex("1.5e-2147483647").is_err());
        assert!(lex("1e2147483647").is_ok());
        let t = lex("SET\n  x = set_add(\"ab\", <<1>>)").unwrap_or_default();
        assert_eq!(t[3].at(), "2:7:7");
        assert_eq!(t[5].at(), "2:15:4");
    }
}
