//! Route matching as API Gateway does it, for HTTP API routes and REST API
//! resources alike: literal segments beat `{param}`s, which beat a greedy
//! `{proxy+}`; a longer literal prefix beats a shorter one; an exact method
//! beats `ANY`; `$default` (HTTP APIs) catches the rest.

use std::cmp::Ordering;

/// One segment of a path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// A literal segment.
    Lit(String),
    /// `{name}`: exactly one segment.
    Param(String),
    /// `{name+}`: one or more segments, last only.
    Greedy(String),
}

/// A parsed resource path such as `/pets/{id}/{proxy+}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Segments in order.
    pub segs: Vec<Seg>,
}

impl Template {
    /// Parses a path; the error says why it is not a valid resource path.
    pub fn parse(path: &str) -> Result<Template, String> {
        if !path.starts_with('/') {
            return Err(format!("Invalid path: {path}; paths must start with '/'"));
        }
        let parts: Vec<&str> = path[1..].split('/').collect();
        let mut segs = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            if p.is_empty() {
                if parts.len() == 1 {
                    break;
                }
                return Err(format!("Invalid path: {path}; empty path segment"));
            }
            if let Some(inner) = p.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                if let Some(name) = inner.strip_suffix('+') {
                    if i + 1 != parts.len() {
                        return Err(format!(
                            "Invalid path: {path}; a greedy path variable must be the last segment"
                        ));
                    }
                    if name.is_empty() {
                        return Err(format!("Invalid path: {path}; empty path variable"));
                    }
                    segs.push(Seg::Greedy(name.to_string()));
                } else {
                    if inner.is_empty() || inner.contains(['{', '}']) {
                        return Err(format!("Invalid path: {path}; bad path variable"));
                    }
                    segs.push(Seg::Param(inner.to_string()));
                }
            } else if p.contains(['{', '}']) {
                return Err(format!("Invalid path: {path}; bad path variable"));
            } else {
                segs.push(Seg::Lit(p.to_string()));
            }
        }
        Ok(Template { segs })
    }

    /// The path parameters when `path` (decoded segments) matches.
    pub fn matches(&self, path: &[&str]) -> Option<Vec<(String, String)>> {
        let mut params = Vec::new();
        for (i, seg) in self.segs.iter().enumerate() {
            match seg {
                Seg::Lit(l) => {
                    if path.get(i) != Some(&l.as_str()) {
                        return None;
                    }
                }
                Seg::Param(n) => {
                    let v = path.get(i).filter(|v| !v.is_empty())?;
                    params.push((n.clone(), (*v).to_string()));
                }
                Seg::Greedy(n) => {
                    if path.len() <= i {
                        return None;
                    }
                    params.push((n.clone(), path[i..].join("/")));
                    return Some(params);
                }
            }
        }
        (path.len() == self.segs.len()).then_some(params)
    }

    /// Orders two templates that both match one path: `Greater` is more specific.
    pub fn specificity(&self, other: &Template) -> Ordering {
        fn rank(s: Option<&Seg>) -> u8 {
            match s {
                Some(Seg::Lit(_)) => 3,
                Some(Seg::Param(_)) => 2,
                Some(Seg::Greedy(_)) => 1,
                None => 0,
            }
        }
        let n = self.segs.len().max(other.segs.len());
        for i in 0..n {
            let c = rank(self.segs.get(i)).cmp(&rank(other.segs.get(i)));
            if c != Ordering::Equal {
                return c;
            }
        }
        Ordering::Equal
    }
}

/// Routes of one API ready for matching.
#[derive(Debug, Clone)]
pub struct RouteTable<T> {
    entries: Vec<(Option<String>, Template, T)>,
    default: Option<T>,
}

impl<T> Default for RouteTable<T> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            default: None,
        }
    }
}

/// A route that matched, with its path parameters.
#[derive(Debug)]
pub struct Matched<'a, T> {
    /// The route's value.
    pub value: &'a T,
    /// Path parameters by name.
    pub params: Vec<(String, String)>,
}

impl<T> RouteTable<T> {
    /// Adds a route; `method` `None` is `ANY`.
    pub fn add(&mut self, method: Option<String>, template: Template, value: T) {
        self.entries.push((method, template, value));
    }

    /// Sets the `$default` route.
    pub fn set_default(&mut self, value: T) {
        self.default = Some(value);
    }

    /// Whether any route has this path (whatever its method).
    pub fn path_exists(&self, path: &[&str]) -> bool {
        self.entries
            .iter()
            .any(|(_, t, _)| t.matches(path).is_some())
    }

    /// The most specific route for `method` and the decoded path segments.
    pub fn find(&self, method: &str, path: &[&str]) -> Option<Matched<'_, T>> {
        type Candidate<'t, T> = (
            &'t Option<String>,
            &'t Template,
            &'t T,
            Vec<(String, String)>,
        );
        let mut best: Option<Candidate<'_, T>> = None;
        for (m, t, v) in &self.entries {
            if m.as_deref().is_some_and(|m| m != method) {
                continue;
            }
            let Some(params) = t.matches(path) else {
                continue;
            };
            let better = match &best {
                None => true,
                Some((bm, bt, ..)) => match t.specificity(bt) {
                    Ordering::Greater => true,
                    Ordering::Less => false,
                    Ordering::Equal => m.is_some() && bm.is_none(),
                },
            };
            if better {
                best = Some((m, t, v, params));
            }
        }
        match best {
            Some((_, _, value, params)) => Some(Matched { value, params }),
            None => self.default.as_ref().map(|value| Matched {
                value,
                params: Vec::new(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(routes: &[(&str, &str)]) -> RouteTable<String> {
        let mut t = RouteTable::default();
        for (m, p) in routes {
            let method = (*m != "ANY").then(|| m.to_string());
            t.add(method, Template::parse(p).unwrap(), format!("{m} {p}"));
        }
        t
    }

    fn segs(p: &str) -> Vec<&str> {
        p.split('/').filter(|s| !s.is_empty()).collect()
    }

    #[test]
    fn most_specific_route_wins() {
        let t = table(&[
            ("GET", "/pets/{id}"),
            ("GET", "/pets/dog"),
            ("ANY", "/pets/{proxy+}"),
            ("ANY", "/pets/cat"),
            ("GET", "/{proxy+}"),
        ]);
        let f = |m: &str, p: &str| t.find(m, &segs(p)).map(|x| x.value.clone());
        assert_eq!(f("GET", "/pets/dog").unwrap(), "GET /pets/dog");
        assert_eq!(f("GET", "/pets/7").unwrap(), "GET /pets/{id}");
        assert_eq!(f("POST", "/pets/7").unwrap(), "ANY /pets/{proxy+}");
        assert_eq!(f("GET", "/pets/cat").unwrap(), "ANY /pets/cat");
        assert_eq!(f("GET", "/pets/7/toys").unwrap(), "ANY /pets/{proxy+}");
        assert_eq!(f("GET", "/other").unwrap(), "GET /{proxy+}");
        assert!(f("POST", "/other").is_none());
        let m = t.find("PUT", &segs("/pets/a/b/c")).unwrap();
        assert_eq!(m.params, vec![("proxy".to_string(), "a/b/c".to_string())]);
    }

    #[test]
    fn greedy_needs_a_segment_and_default_catches_the_rest() {
        let mut t = table(&[("ANY", "/pets/{proxy+}"), ("GET", "/")]);
        t.set_default("$default".to_string());
        assert_eq!(t.find("GET", &segs("/pets")).unwrap().value, "$default");
        assert_eq!(t.find("GET", &segs("/")).unwrap().value, "GET /");
    }

    #[test]
    fn bad_templates_are_refused() {
        assert!(Template::parse("pets").is_err());
        assert!(Template::parse("/a/{proxy+}/b").is_err());
        assert!(Template::parse("/a//b").is_err());
        assert!(Template::parse("/a/{x").is_err());
        assert_eq!(Template::parse("/").unwrap().segs, vec![]);
    }
}
