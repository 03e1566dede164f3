//! `Content-Encoding: aws-chunked` bodies, as the aws CLI and the SDKs send
//! uploads (`x-amz-content-sha256: STREAMING-...`): a sequence of
//! `<hex size>[;chunk-signature=...]\r\n<data>\r\n` chunks ended by a
//! zero-size chunk, then optional trailers (`x-amz-checksum-crc32:...`)
//! and an empty line. Decoded incrementally: memory stays one line long.

/// Longest chunk header or trailer line accepted.
const MAX_LINE: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Header,
    Data(u64),
    DataEnd,
    Trailers,
    Done,
}

/// An incremental aws-chunked decoder.
#[derive(Debug)]
pub struct Decoder {
    state: State,
    line: Vec<u8>,
    /// Trailers seen (lower-case name, value).
    pub trailers: Vec<(String, String)>,
    /// Decoded bytes so far.
    pub decoded: u64,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A decoder at the start of a body.
    pub fn new() -> Self {
        Decoder {
            state: State::Header,
            line: Vec::new(),
            trailers: Vec::new(),
            decoded: 0,
        }
    }

    /// Decodes `input`, appending payload bytes to `out`. Errors on a malformed body.
    pub fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), &'static str> {
        while !input.is_empty() {
            match self.state {
                State::Done => return Ok(()),
                State::Data(n) => {
                    let take = usize::try_from(n).unwrap_or(usize::MAX).min(input.len());
                    out.extend_from_slice(&input[..take]);
                    self.decoded += take as u64;
                    input = &input[take..];
                    let left = n - take as u64;
                    self.state = if left == 0 {
                        State::DataEnd
                    } else {
                        State::Data(left)
                    };
                }
                State::Header | State::DataEnd | State::Trailers => {
                    let Some(line) = self.take_line(&mut input)? else {
                        return Ok(());
                    };
                    self.on_line(&line)?;
                }
            }
        }
        Ok(())
    }

    fn take_line(&mut self, input: &mut &[u8]) -> Result<Option<Vec<u8>>, &'static str> {
        match input.iter().position(|&b| b == b'\n') {
            Some(p) => {
                self.line.extend_from_slice(&input[..p]);
                *input = &input[p + 1..];
                let mut line = std::mem::take(&mut self.line);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                Ok(Some(line))
            }
            None => {
                self.line.extend_from_slice(input);
                *input = &[];
                if self.line.len() > MAX_LINE {
                    return Err("chunk header too long");
                }
                Ok(None)
            }
        }
    }

    fn on_line(&mut self, line: &[u8]) -> Result<(), &'static str> {
        match self.state {
            State::DataEnd => {
                if !line.is_empty() {
                    return Err("chunk data longer than its size");
                }
                self.state = State::Header;
            }
            State::Header => {
                let text = std::str::from_utf8(line).map_err(|_| "bad chunk header")?;
                let size = text.split(';').next().unwrap_or("").trim();
                let n = u64::from_str_radix(size, 16).map_err(|_| "bad chunk size")?;
                self.state = if n == 0 {
                    State::Trailers
                } else {
                    State::Data(n)
                };
            }
            State::Trailers => {
                if line.is_empty() {
                    self.state = State::Done;
                } else {
                    let text = std::str::from_utf8(line).map_err(|_| "bad trailer")?;
                    let (k, v) = text.split_once(':').ok_or("bad trailer")?;
                    self.trailers
                        .push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                }
            }
            State::Data(_) | State::Done => {}
        }
        Ok(())
    }

    /// Whether the body ended properly. A body that stops right after the
    /// final zero chunk (no trailer section) is accepted, as S3 does.
    pub fn finished(&self) -> bool {
        matches!(self.state, State::Done | State::Trailers) && self.line.is_empty()
    }

    /// A trailer's value.
    pub fn trailer(&self, name: &str) -> Option<&str> {
        self.trailers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Whether a request's body is aws-chunked.
pub fn is_aws_chunked(content_sha256: Option<&str>, content_encoding: Option<&str>) -> bool {
    content_sha256.is_some_and(|s| s.starts_with("STREAMING-"))
        || content_encoding.is_some_and(|e| e.split(',').any(|p| p.trim() == "aws-chunked"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_pieces(body: &[u8], piece: usize) -> (Vec<u8>, Decoder) {
        let mut d = Decoder::new();
        let mut out = Vec::new();
        for c in body.chunks(piece) {
            d.feed(c, &mut out).expect("decodes");
        }
        (out, d)
    }

    #[test]
    fn signed_chunks_any_split() {
        let body = b"5;chunk-signature=abc\r\nhello\r\n6;chunk-signature=def\r\n world\r\n0;chunk-signature=0\r\n\r\n";
        for piece in [1, 2, 3, 7, 100] {
            let (out, d) = decode_in_pieces(body, piece);
            assert_eq!(out, b"hello world");
            assert!(d.finished());
        }
    }

    #[test]
    fn unsigned_with_trailers() {
        let body = b"b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
        let (out, d) = decode_in_pieces(body, 4);
        assert_eq!(out, b"hello world");
        assert_eq!(d.trailer("x-amz-checksum-crc32"), Some("DUoRhQ=="));
        assert!(d.finished());
    }

    #[test]
    fn malformed_and_truncated() {
        let mut d = Decoder::new();
        let mut out = Vec::new();
        assert!(d.feed(b"zz\r\n", &mut out).is_err());
        let mut d = Decoder::new();
        assert!(d.feed(b"2\r\nabc\r\n", &mut out).is_err());
        let (_, d) = decode_in_pieces(b"5\r\nhel", 2);
        assert!(!d.finished());
    }
}
