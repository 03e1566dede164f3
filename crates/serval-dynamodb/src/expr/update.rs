//! Update expressions: resolution with DynamoDB's checks (reserved words,
//! functions, clauses used twice, undefined placeholders, overlapping
//! paths, operand types) and atomic application to an item.

use super::ast::{Action, Path, PathElem, SetValue};
use super::attrs::Attrs;
use super::condition::Resolver;
use super::parse::{RawAction, RawOperand, RawSetValue, RawUpdate, Source};
use super::project::check_clashes;
use crate::value::{Item, Value};
use std::collections::BTreeMap;

/// A parsed UpdateExpression (or converted AttributeUpdates).
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// The actions in request order; no two paths overlap.
    pub actions: Vec<Action>,
}

const NO_ATTRIBUTE: &str =
    "The provided expression refers to an attribute that does not exist in the item";
/// The message for an update operand of the wrong type.
pub const BAD_TYPE: &str = "An operand in the update expression has an incorrect data type";
const BAD_PATH: &str = "The document path provided in the update expression is invalid for update";

// ---- resolution -----------------------------------------------------------

#[derive(Default)]
struct UpdErrors {
    misused: Option<String>,
    attr_val: Option<String>,
    operand: Option<String>,
    function: Option<String>,
}

fn set(slot: &mut Option<String>, msg: impl FnOnce() -> String) {
    if slot.is_none() {
        *slot = Some(msg());
    }
}

struct UpdResolver<'r, 's, 'a> {
    r: &'r mut Resolver<'s, 'a>,
    e: UpdErrors,
}

/// A set value during resolution with the type DynamoDB can infer.
struct Typed {
    v: Option<SetValue>,
    /// The type known from the expression alone (`None`: depends on item).
    ty: Option<&'static str>,
    /// Whether it is a plain value (for the immediate-type checks).
    immediate: bool,
    is_path: bool,
}

impl UpdResolver<'_, '_, '_> {
    fn value(&mut self, tok: usize) -> Option<Value> {
        // names and values are separate categories in update expressions
        let before = self.r.take_attr_error();
        let v = self.r.value(tok);
        let after = self.r.take_attr_error();
        if let Some(e) = before {
            self.r.put_attr_error(e);
        }
        if let Some(e) = after {
            set(&mut self.e.attr_val, || e);
        }
        v
    }

    fn operand(&mut self, raw: &RawOperand, nested: bool) -> Typed {
        match raw {
            RawOperand::Path(p) => Typed {
                v: self.r.path(p).map(SetValue::Path),
                ty: None,
                immediate: false,
                is_path: true,
            },
            RawOperand::Value(t) => {
                let v = self.value(*t);
                Typed {
                    ty: v.as_ref().map(Value::type_name),
                    v: v.map(SetValue::Value),
                    immediate: true,
                    is_path: false,
                }
            }
            RawOperand::Func(f) => {
                let name = self.r.text(f.name);
                if nested && name == "list_append" {
                    set(&mut self.e.misused, || {
                        format!("The function is not allowed to be used this way in an expression; function: {name}")
                    });
                }
                let args: Vec<Typed> = f.args.iter().map(|a| self.operand(a, true)).collect();
                self.function(name, args)
            }
        }
    }

    fn function(&mut self, name: &str, args: Vec<Typed>) -> Typed {
        let failed = Typed {
            v: None,
            ty: None,
            immediate: false,
            is_path: false,
        };
        if !matches!(name, "if_not_exists" | "list_append" | "+" | "-") {
            self.r.unknown_function(name);
            return failed;
        }
        if self.e.function.is_some() {
            return failed;
        }
        if args.len() != 2 {
            self.e.function = Some(format!("Incorrect number of operands for operator or function; operator or function: {name}, number of operands: {}", args.len()));
            return failed;
        }
        let want = match name {
            "if_not_exists" => None,
            "list_append" => Some("L"),
            _ => Some("N"),
        };
        if let Some(want) = want {
            for a in &args {
                if let (true, Some(t)) = (a.immediate, a.ty) {
                    if t != want {
                        self.e.function = Some(format!("Incorrect operand type for operator or function; operator or function: {name}, operand type: {t}"));
                        return failed;
                    }
                }
            }
        } else if !args[0].is_path {
            self.e.function = Some(format!(
                "Operator or function requires a document path; operator or function: {name}"
            ));
            return failed;
        }
        let mut it = args.into_iter();
        let (Some(a), Some(b)) = (it.next(), it.next()) else {
            return failed;
        };
        let ty = match want {
            Some(t) => Some(t),
            None => b.ty,
        };
        let v = match (name, a.v, b.v) {
            ("if_not_exists", Some(SetValue::Path(p)), Some(b)) => {
                Some(SetValue::IfNotExists(p, Box::new(b)))
            }
            ("list_append", Some(a), Some(b)) => {
                Some(SetValue::ListAppend(Box::new(a), Box::new(b)))
            }
            ("+", Some(a), Some(b)) => Some(SetValue::Plus(Box::new(a), Box::new(b))),
            ("-", Some(a), Some(b)) => Some(SetValue::Minus(Box::new(a), Box::new(b))),
            _ => None,
        };
        Typed {
            v,
            ty,
            immediate: false,
            is_path: false,
        }
    }

    fn set_value(&mut self, raw: &RawSetValue) -> Option<SetValue> {
        match raw {
            RawSetValue::Operand(o) => self.operand(o, false).v,
            RawSetValue::Arith(plus, a, b) => {
                let a = self.arith_side(a);
                let b = self.arith_side(b);
                self.function(if *plus { "+" } else { "-" }, vec![a, b]).v
            }
        }
    }

    fn arith_side(&mut self, raw: &RawSetValue) -> Typed {
        match raw {
            RawSetValue::Operand(o) => self.operand(o, false),
            // the parser allows one `+`/`-` per value, so this is unreachable
            RawSetValue::Arith(..) => Typed {
                v: None,
                ty: None,
                immediate: false,
                is_path: false,
            },
        }
    }

    fn add_delete_value(&mut self, op: &str, tok: usize) -> Option<Value> {
        let v = self.value(tok)?;
        let shown = match v.type_name() {
            "S" => Some("STRING"),
            "N" if op != "ADD" => Some("NUMBER"),
            "B" => Some("BINARY"),
            "NULL" => Some("NULL"),
            "BOOL" => Some("BOOLEAN"),
            "L" => Some("LIST"),
            "M" => Some("MAP"),
            _ => None,
        };
        if let Some(t) = shown {
            set(&mut self.e.operand, || {
                format!("Incorrect operand type for operator or function; operator: {op}, operand type: {t}")
            });
        }
        Some(v)
    }
}

/// Resolves and checks a parsed update expression.
pub(crate) fn resolve(src: &Source<'_>, raw: RawUpdate, attrs: &Attrs) -> Result<Update, String> {
    let mut base = Resolver::new(src, attrs);
    let mut u = UpdResolver {
        r: &mut base,
        e: UpdErrors::default(),
    };
    let mut actions = Vec::with_capacity(raw.actions.len());
    let mut paths: Vec<Option<Path>> = Vec::with_capacity(raw.actions.len());
    for a in &raw.actions {
        let (path, action) = match a {
            RawAction::Set(p, v) => {
                let path = u.r.path(p);
                let v = u.set_value(v);
                (path.clone(), path.zip(v).map(|(p, v)| Action::Set(p, v)))
            }
            RawAction::Remove(p) => {
                let path = u.r.path(p);
                (path.clone(), path.map(Action::Remove))
            }
            RawAction::Add(p, t) => {
                let path = u.r.path(p);
                let v = u.add_delete_value("ADD", *t);
                (path.clone(), path.zip(v).map(|(p, v)| Action::Add(p, v)))
            }
            RawAction::Delete(p, t) => {
                let path = u.r.path(p);
                let v = u.add_delete_value("DELETE", *t);
                (path.clone(), path.zip(v).map(|(p, v)| Action::Delete(p, v)))
            }
        };
        paths.push(path);
        actions.push(action);
    }
    let e = u.e;
    let (reserved, unknown, attr_name) = base.update_errors();
    let clashes = {
        let refs: Vec<&Path> = paths.iter().flatten().collect();
        check_clashes(&refs).err()
    };
    let first = reserved
        .or(unknown)
        .or(e.misused)
        .or(raw.section_error)
        .or(attr_name)
        .or(e.attr_val)
        .or(clashes)
        .or(e.operand)
        .or(e.function);
    if let Some(msg) = first {
        return Err(msg);
    }
    let actions: Option<Vec<Action>> = actions.into_iter().collect();
    actions
        .map(|actions| Update { actions })
        .ok_or_else(|| "Invalid expression".to_string())
}

// ---- application ----------------------------------------------------------

/// What phase one decided to write.
enum Write {
    Put(Value),
    Remove,
}

fn eval_set(v: &SetValue, item: &Item) -> Result<Value, String> {
    match v {
        SetValue::Value(v) => Ok(v.clone()),
        SetValue::Path(p) => p.get(item).cloned().ok_or_else(|| NO_ATTRIBUTE.to_string()),
        SetValue::IfNotExists(p, fallback) => match p.get(item) {
            Some(v) => Ok(v.clone()),
            None => eval_set(fallback, item),
        },
        SetValue::ListAppend(a, b) => {
            let Value::L(mut a) = eval_set(a, item)? else {
                return Err(BAD_TYPE.into());
            };
            let Value::L(b) = eval_set(b, item)? else {
                return Err(BAD_TYPE.into());
            };
            a.extend(b);
            Ok(Value::L(a))
        }
        SetValue::Plus(a, b) | SetValue::Minus(a, b) => {
            let Value::N(x) = eval_set(a, item)? else {
                return Err(BAD_TYPE.into());
            };
            let Value::N(y) = eval_set(b, item)? else {
                return Err(BAD_TYPE.into());
            };
            let r = if matches!(v, SetValue::Plus(..)) {
                x.add(&y)
            } else {
                x.sub(&y)
            };
            r.map(Value::N).map_err(|e| e.0)
        }
    }
}

/// Where a path's last step lives in `item`: `Ok(Some(v))` the current
/// value, `Ok(None)` a valid but empty slot, `Err` a parent that is missing
/// or of the wrong kind.
fn slot<'a>(item: &'a Item, path: &Path) -> Result<Option<&'a Value>, ()> {
    let Some((last, parents)) = path.0.split_last() else {
        return Err(());
    };
    if parents.is_empty() {
        return match last {
            PathElem::Key(k) => Ok(item.get(k)),
            PathElem::Index(_) => Err(()),
        };
    }
    let parent = Path(parents.to_vec());
    match (parent.get(item), last) {
        (Some(Value::M(m)), PathElem::Key(k)) => Ok(m.get(k)),
        (Some(Value::L(l)), PathElem::Index(i)) => Ok(l.get(*i as usize)),
        _ => Err(()),
    }
}

fn add_value(existing: Option<&Value>, add: &Value) -> Result<Value, String> {
    fn union<T: PartialEq + Clone>(a: &[T], b: &[T]) -> Vec<T> {
        let mut out = a.to_vec();
        for x in b {
            if !out.contains(x) {
                out.push(x.clone());
            }
        }
        out
    }
    Ok(match (existing, add) {
        (None, v) => v.clone(),
        (Some(Value::N(a)), Value::N(b)) => Value::N(a.add(b).map_err(|e| e.0)?),
        (Some(Value::Ss(a)), Value::Ss(b)) => Value::Ss(union(a, b)),
        (Some(Value::Ns(a)), Value::Ns(b)) => Value::Ns(union(a, b)),
        (Some(Value::Bs(a)), Value::Bs(b)) => Value::Bs(union(a, b)),
        _ => return Err(BAD_TYPE.into()),
    })
}

fn delete_value(existing: Option<&Value>, del: &Value) -> Result<Option<Write>, String> {
    fn minus<T: PartialEq + Clone>(a: &[T], b: &[T]) -> Vec<T> {
        a.iter().filter(|x| !b.contains(x)).cloned().collect()
    }
    let left = match (existing, del) {
        (None, _) => return Ok(None),
        (Some(Value::Ss(a)), Value::Ss(b)) => Value::Ss(minus(a, b)),
        (Some(Value::Ns(a)), Value::Ns(b)) => Value::Ns(minus(a, b)),
        (Some(Value::Bs(a)), Value::Bs(b)) => Value::Bs(minus(a, b)),
        _ => return Err(BAD_TYPE.into()),
    };
    let empty = matches!(&left, Value::Ss(s) if s.is_empty())
        || matches!(&left, Value::Ns(s) if s.is_empty())
        || matches!(&left, Value::Bs(s) if s.is_empty());
    Ok(Some(if empty {
        Write::Remove
    } else {
        Write::Put(left)
    }))
}

/// A container on the way down a path.
enum Cur<'a> {
    Map(&'a mut BTreeMap<String, Value>),
    List(&'a mut Vec<Value>),
}

/// The container holding the last step of a path, if it exists.
fn parent_mut<'a>(item: &'a mut Item, parents: &[PathElem]) -> Option<Cur<'a>> {
    let mut cur = Cur::Map(item);
    for step in parents {
        let next = match (cur, step) {
            (Cur::Map(m), PathElem::Key(k)) => m.get_mut(k)?,
            (Cur::List(l), PathElem::Index(i)) => l.get_mut(*i as usize)?,
            _ => return None,
        };
        cur = match next {
            Value::M(m) => Cur::Map(m),
            Value::L(l) => Cur::List(l),
            _ => return None,
        };
    }
    Some(cur)
}

/// Writes `v` at `path` (parents known to exist), appending past a list end.
fn put(item: &mut Item, path: &Path, v: Value) {
    let Some((last, parents)) = path.0.split_last() else {
        return;
    };
    match (parent_mut(item, parents), last) {
        (Some(Cur::Map(m)), PathElem::Key(k)) => {
            m.insert(k.clone(), v);
        }
        (Some(Cur::List(l)), PathElem::Index(i)) => match l.get_mut(*i as usize) {
            Some(slot) => *slot = v,
            None => l.push(v),
        },
        _ => {}
    }
}

/// Removes the value at `path`, if there.
fn remove(item: &mut Item, path: &Path) {
    let Some((last, parents)) = path.0.split_last() else {
        return;
    };
    match (parent_mut(item, parents), last) {
        (Some(Cur::Map(m)), PathElem::Key(k)) => {
            m.remove(k);
        }
        (Some(Cur::List(l)), PathElem::Index(i)) if (*i as usize) < l.len() => {
            l.remove(*i as usize);
        }
        _ => {}
    }
}

impl Update {
    /// Every path the update writes, in request order (project the old or
    /// new item onto them for `UPDATED_OLD` / `UPDATED_NEW`).
    pub fn paths(&self) -> Vec<Path> {
        self.actions.iter().map(|a| a.path().clone()).collect()
    }

    /// The distinct top-level attributes the update writes.
    pub fn touched_attrs(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for a in &self.actions {
            let h = a.path().head();
            if !out.contains(&h) {
                out.push(h);
            }
        }
        out
    }

    /// Applies the update to `item` (`existed`: whether the item was stored
    /// before, as opposed to a fresh item holding only its key). Atomic:
    /// on error `item` is unchanged. Every value is computed from the item
    /// as it was before the update, as DynamoDB does; list indexes refer
    /// to the original positions.
    pub fn apply(&self, item: &mut Item, existed: bool) -> Result<(), String> {
        let mut writes: Vec<(&Path, Write)> = Vec::with_capacity(self.actions.len());
        // SET values first: their errors come before path errors
        let mut set_values: Vec<Option<Value>> = Vec::with_capacity(self.actions.len());
        for a in &self.actions {
            set_values.push(match a {
                Action::Set(_, v) => Some(eval_set(v, item)?),
                _ => None,
            });
        }
        for (a, sv) in self.actions.iter().zip(set_values) {
            let path = a.path();
            let here = match slot(item, path) {
                Ok(v) => v,
                Err(()) if matches!(a, Action::Remove(_)) && !existed => continue,
                Err(()) => return Err(BAD_PATH.into()),
            };
            match (a, sv) {
                (Action::Set(..), Some(v)) => writes.push((path, Write::Put(v))),
                (Action::Remove(_), _) if here.is_some() => writes.push((path, Write::Remove)),
                (Action::Add(_, v), _) => writes.push((path, Write::Put(add_value(here, v)?))),
                (Action::Delete(_, v), _) => {
                    if let Some(w) = delete_value(here, v)? {
                        writes.push((path, w));
                    }
                }
                _ => {}
            }
        }
        // puts in path order (appends land sorted by index), then removals
        // from the highest index down so earlier indexes stay valid
        writes.sort_by(|(pa, wa), (pb, wb)| match (wa, wb) {
            (Write::Put(_), Write::Remove) => std::cmp::Ordering::Less,
            (Write::Remove, Write::Put(_)) => std::cmp::Ordering::Greater,
            (Write::Put(_), Write::Put(_)) => pa.cmp(pb),
            (Write::Remove, Write::Remove) => pb.cmp(pa),
        });
        for (path, w) in writes {
            match w {
                Write::Put(v) => put(item, path, v),
                Write::Remove => remove(item, path),
            }
        }
        Ok(())
    }
}
