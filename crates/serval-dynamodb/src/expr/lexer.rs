//! The tokenizer shared by every expression kind. Tokens borrow nothing:
//! each is a kind and a byte span into the source, so lexing allocates one
//! vector and no strings.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    /// `[a-zA-Z][a-zA-Z0-9_]*`: a name, a function or a keyword.
    Ident,
    /// `#[a-zA-Z0-9_]+`: an ExpressionAttributeNames placeholder.
    Name,
    /// `:[a-zA-Z0-9_]+`: an ExpressionAttributeValues placeholder.
    Value,
    /// `[0-9]+` (only meaningful inside `[...]`).
    Number,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `,`
    Comma,
    /// `.`
    Dot,
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// Anything else (one character): always a syntax error.
    Other,
}

/// One token: its kind and where it sits in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// Kind.
    pub tok: Tok,
    /// Byte offset of the first character.
    pub start: u32,
    /// Byte offset after the last character.
    pub end: u32,
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Splits `src` into tokens (whitespace is space, tab, CR and LF). The
/// caller has already bounded `src` to a few kilobytes.
pub fn tokenize(src: &str) -> Vec<Token> {
    let b = src.as_bytes();
    let mut out = Vec::with_capacity(b.len() / 2 + 1);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
            continue;
        }
        let start = i;
        let tok = match c {
            b'a'..=b'z' | b'A'..=b'Z' => {
                i += 1;
                while i < b.len() && is_word(b[i]) {
                    i += 1;
                }
                Tok::Ident
            }
            b'0'..=b'9' => {
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                Tok::Number
            }
            b'#' | b':' => {
                i += 1;
                let body = i;
                while i < b.len() && is_word(b[i]) {
                    i += 1;
                }
                if i == body {
                    Tok::Other
                } else if c == b'#' {
                    Tok::Name
                } else {
                    Tok::Value
                }
            }
            b'<' => {
                i += 1;
                match b.get(i) {
                    Some(b'>') => {
                        i += 1;
                        Tok::Ne
                    }
                    Some(b'=') => {
                        i += 1;
                        Tok::Le
                    }
                    _ => Tok::Lt,
                }
            }
            b'>' => {
                i += 1;
                if b.get(i) == Some(&b'=') {
                    i += 1;
                    Tok::Ge
                } else {
                    Tok::Gt
                }
            }
            _ => {
                i += 1;
                match c {
                    b'(' => Tok::LParen,
                    b')' => Tok::RParen,
                    b'[' => Tok::LBracket,
                    b']' => Tok::RBracket,
                    b',' => Tok::Comma,
                    b'.' => Tok::Dot,
                    b'=' => Tok::Eq,
                    b'+' => Tok::Plus,
                    b'-' => Tok::Minus,
                    _ => {
                        // one whole UTF-8 character, for the error message
                        while i < b.len() && (b[i] & 0xC0) == 0x80 {
                            i += 1;
                        }
                        Tok::Other
                    }
                }
            }
        };
        out.push(Token {
            tok,
            start: start as u32,
            end: i as u32,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<Tok> {
        tokenize(s).iter().map(|t| t.tok).collect()
    }

    #[test]
    fn splits_every_kind() {
        use Tok::*;
        assert_eq!(
            kinds("a.b[12] <> :v1 AND #n>=x<=(y)<z>w,+-=ü"),
            [
                Ident, Dot, Ident, LBracket, Number, RBracket, Ne, Value, Ident, Name, Ge, Ident,
                Le, LParen, Ident, RParen, Lt, Ident, Gt, Ident, Comma, Plus, Minus, Eq, Other
            ]
        );
        assert_eq!(
            kinds("# : _a 1a"),
            [Other, Other, Other, Ident, Number, Ident]
        );
        let t = tokenize("  ab  ü");
        assert_eq!((t[0].start, t[0].end), (2, 4));
        assert_eq!((t[1].start, t[1].end), (6, 8));
    }
}
