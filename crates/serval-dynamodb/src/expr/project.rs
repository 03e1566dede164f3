//! Projection expressions and the projection of an item onto document
//! paths (also used for `UPDATED_OLD` / `UPDATED_NEW` return values).

use super::ast::{Path, PathElem};
use super::attrs::Attrs;
use super::condition::Resolver;
use super::parse::{RawPath, Source};
use crate::value::{Item, Value};
use std::collections::BTreeMap;

/// A parsed ProjectionExpression (or AttributesToGet).
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    /// The paths, in request order, none overlapping another.
    pub paths: Vec<Path>,
}

impl Projection {
    /// The item reduced to the projected paths.
    pub fn apply(&self, item: &Item) -> Item {
        project(item, &self.paths)
    }
}

/// How two paths relate, as DynamoDB's overlap check sees them.
pub(crate) enum Clash {
    /// One is a prefix of the other (or they are equal).
    Overlap,
    /// They agree up to a step where one indexes a list and the other a map.
    Conflict,
}

/// Whether two paths overlap or conflict.
pub(crate) fn clash(a: &Path, b: &Path) -> Option<Clash> {
    for (x, y) in a.0.iter().zip(&b.0) {
        match (x, y) {
            (PathElem::Key(p), PathElem::Key(q)) if p != q => return None,
            (PathElem::Index(p), PathElem::Index(q)) if p != q => return None,
            (PathElem::Key(_), PathElem::Index(_)) | (PathElem::Index(_), PathElem::Key(_)) => {
                return Some(Clash::Conflict)
            }
            _ => {}
        }
    }
    Some(Clash::Overlap)
}

/// Checks a list of paths pairwise; the first overlap wins over conflicts.
pub(crate) fn check_clashes(paths: &[&Path]) -> Result<(), String> {
    let mut conflict = None;
    for (i, b) in paths.iter().enumerate() {
        for a in &paths[..i] {
            match clash(a, b) {
                Some(Clash::Overlap) => {
                    return Err(format!("Two document paths overlap with each other; must remove or rewrite one of these paths; path one: {a}, path two: {b}"));
                }
                Some(Clash::Conflict) if conflict.is_none() => {
                    conflict = Some(format!("Two document paths conflict with each other; must remove or rewrite one of these paths; path one: {a}, path two: {b}"));
                }
                _ => {}
            }
        }
    }
    conflict.map_or(Ok(()), Err)
}

/// Resolves and checks parsed projection paths.
pub(crate) fn resolve(
    src: &Source<'_>,
    raw: &[RawPath],
    attrs: &Attrs,
) -> Result<Projection, String> {
    let mut r = Resolver::new(src, attrs);
    let paths: Vec<Option<Path>> = raw.iter().map(|p| r.path(p)).collect();
    if let Some(e) = r.error(false) {
        return Err(e);
    }
    let paths: Vec<Path> = paths.into_iter().flatten().collect();
    let refs: Vec<&Path> = paths.iter().collect();
    check_clashes(&refs)?;
    Ok(Projection { paths })
}

enum Node {
    Leaf(Value),
    Map(BTreeMap<String, Node>),
    List(BTreeMap<u32, Node>),
}

impl Node {
    fn into_value(self) -> Value {
        match self {
            Node::Leaf(v) => v,
            Node::Map(m) => Value::M(m.into_iter().map(|(k, v)| (k, v.into_value())).collect()),
            Node::List(l) => Value::L(l.into_values().map(Node::into_value).collect()),
        }
    }
}

/// Places `value` at `rest` below `node`, creating maps and lists.
fn place(mut node: &mut Node, rest: &[PathElem], value: &Value) {
    for (i, step) in rest.iter().enumerate() {
        let last = i + 1 == rest.len();
        let fresh = |next: Option<&PathElem>| match next {
            Some(PathElem::Index(_)) => Node::List(BTreeMap::new()),
            Some(PathElem::Key(_)) => Node::Map(BTreeMap::new()),
            None => Node::Leaf(value.clone()),
        };
        let next = rest.get(i + 1);
        let child = match (node, step) {
            (Node::Map(m), PathElem::Key(k)) => m.entry(k.clone()).or_insert_with(|| fresh(next)),
            (Node::List(l), PathElem::Index(n)) => l.entry(*n).or_insert_with(|| fresh(next)),
            _ => return,
        };
        if last {
            return;
        }
        node = child;
    }
}

/// The item reduced to `paths`, as DynamoDB projects: nested paths keep
/// their maps, list elements keep their order but are compacted, and paths
/// that do not resolve are left out.
pub fn project(item: &Item, paths: &[Path]) -> Item {
    let mut root: BTreeMap<String, Node> = BTreeMap::new();
    for path in paths {
        let Some(value) = path.get(item) else {
            continue;
        };
        let head = path.head();
        if !path.is_nested() {
            root.insert(head.to_string(), Node::Leaf(value.clone()));
            continue;
        }
        let rest = &path.0[1..];
        let node = root
            .entry(head.to_string())
            .or_insert_with(|| match rest.first() {
                Some(PathElem::Index(_)) => Node::List(BTreeMap::new()),
                _ => Node::Map(BTreeMap::new()),
            });
        place(node, rest, value);
    }
    root.into_iter().map(|(k, v)| (k, v.into_value())).collect()
}
