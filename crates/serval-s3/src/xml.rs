//! The little XML S3 needs: a tolerant element-tree parser for request
//! bodies (CompleteMultipartUpload, Delete, Tagging, configurations) and a
//! writer for responses. Namespaces are ignored; attributes are skipped.

pub use serval_wire::error_render::xml_escape as escape;

/// One element with its text and child elements.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Element {
    /// Local name (prefix dropped).
    pub name: String,
    /// Concatenated text content, entities decoded.
    pub text: String,
    /// Child elements in order.
    pub children: Vec<Element>,
}

impl Element {
    /// The first child called `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child called `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The trimmed text of the first child called `name`.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }
}

/// Largest nesting accepted (hostile bodies cannot overflow the stack).
const MAX_DEPTH: usize = 32;

/// Parses a document into its root element; `None` when it is not well formed.
pub fn parse(input: &[u8]) -> Option<Element> {
    let s = std::str::from_utf8(input).ok()?;
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    let mut i = 0;
    let b = s.as_bytes();
    while i < b.len() {
        if b[i] == b'<' {
            let rest = &s[i..];
            if rest.starts_with("<?") {
                i += rest.find("?>")? + 2;
            } else if rest.starts_with("<!--") {
                i += rest.find("-->")? + 3;
            } else if rest.starts_with("<![CDATA[") {
                let end = rest.find("]]>")?;
                stack.last_mut()?.text.push_str(&rest[9..end]);
                i += end + 3;
            } else if rest.starts_with("<!") {
                i += rest.find('>')? + 1;
            } else if let Some(r) = rest.strip_prefix("</") {
                let end = r.find('>')?;
                let name = local(r[..end].trim());
                let el = stack.pop()?;
                if el.name != name {
                    return None;
                }
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
                i += end + 3;
            } else {
                let end = rest.find('>')?;
                let inner = &rest[1..end];
                let self_closing = inner.ends_with('/');
                let inner = inner.trim_end_matches('/');
                let name = local(inner.split_whitespace().next()?);
                let el = Element {
                    name: name.to_string(),
                    ..Default::default()
                };
                if self_closing {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(el),
                        None => root = Some(el),
                    }
                } else {
                    if stack.len() >= MAX_DEPTH {
                        return None;
                    }
                    stack.push(el);
                }
                i += end + 1;
            }
        } else {
            let end = s[i..].find('<').map_or(s.len(), |e| i + e);
            let text = &s[i..end];
            match stack.last_mut() {
                Some(el) => el.text.push_str(&unescape(text)?),
                None if text.trim().is_empty() => {}
                None => return None,
            }
            i = end;
        }
    }
    if !stack.is_empty() {
        return None;
    }
    root
}

fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

fn unescape(s: &str) -> Option<String> {
    if !s.contains('&') {
        return Some(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        let r = &rest[p + 1..];
        let end = r.find(';')?;
        let ent = &r[..end];
        match ent {
            "amp" => out.push('&'),
            "lt" => out.push('<'),
            "gt" => out.push('>'),
            "quot" => out.push('"'),
            "apos" => out.push('\''),
            _ => {
                let code = if let Some(h) = ent.strip_prefix("#x") {
                    u32::from_str_radix(h, 16).ok()?
                } else {
                    ent.strip_prefix('#')?.parse().ok()?
                };
                out.push(char::from_u32(code)?);
            }
        }
        rest = &r[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// Builds a response document.
pub struct Writer {
    out: String,
}

/// The namespace of S3's documents.
pub const NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

impl Writer {
    /// A document whose root element `root` carries S3's namespace.
    pub fn new(root: &str) -> Self {
        let mut out = String::with_capacity(512);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<");
        out.push_str(root);
        out.push_str(" xmlns=\"");
        out.push_str(NS);
        out.push_str("\">");
        Writer { out }
    }

    /// Opens an element.
    pub fn open(&mut self, name: &str) -> &mut Self {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        self
    }

    /// Closes an element.
    pub fn close(&mut self, name: &str) -> &mut Self {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
        self
    }

    /// `<name>text</name>`, escaped.
    pub fn elem(&mut self, name: &str, text: &str) -> &mut Self {
        self.open(name);
        self.out.push_str(&escape(text));
        self.close(name)
    }

    /// Raw, already well-formed XML.
    pub fn raw(&mut self, xml: &str) -> &mut Self {
        self.out.push_str(xml);
        self
    }

    /// Closes the root and returns the document.
    pub fn finish(mut self, root: &str) -> String {
        self.close(root);
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_with_namespaces_and_entities() {
        let doc = br#"<?xml version="1.0"?><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><PartNumber>1</PartNumber><ETag>&quot;abc&quot;</ETag></Part><Part><PartNumber>2</PartNumber><ETag>"d&#x41;"</ETag></Part><Empty/></CompleteMultipartUpload>"#;
        let el = parse(doc).expect("parses");
        assert_eq!(el.name, "CompleteMultipartUpload");
        let parts: Vec<_> = el.all("Part").collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].text_of("ETag"), Some("\"abc\""));
        assert_eq!(parts[1].text_of("ETag"), Some("\"dA\""));
        assert!(el.child("Empty").is_some());
    }

    #[test]
    fn rejects_malformed_and_deep() {
        assert!(parse(b"<a><b></a>").is_none());
        assert!(parse(b"<a>").is_none());
        assert!(parse(b"not xml").is_none());
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(parse(deep.as_bytes()).is_none());
    }

    #[test]
    fn writer_escapes() {
        let mut w = Writer::new("R");
        w.elem("Key", "a<b&c");
        let s = w.finish("R");
        assert!(s.contains("<Key>a&lt;b&amp;c</Key></R>"));
    }
}
