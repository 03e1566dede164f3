//! The resolved syntax trees every expression (and every legacy parameter)
//! becomes: placeholders replaced by names and values, validated, ready to
//! evaluate.

use crate::value::{Item, Value};
use std::fmt;

/// One step of a document path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElem {
    /// A map key (or, first, a top-level attribute name).
    Key(String),
    /// A list index.
    Index(u32),
}

/// A document path: a top-level attribute then map keys and list indexes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Path(pub Vec<PathElem>);

impl Path {
    /// A path to a top-level attribute.
    pub fn attr(name: impl Into<String>) -> Path {
        Path(vec![PathElem::Key(name.into())])
    }

    /// The top-level attribute name.
    pub fn head(&self) -> &str {
        match self.0.first() {
            Some(PathElem::Key(k)) => k,
            _ => "",
        }
    }

    /// Whether the path goes below the top level.
    pub fn is_nested(&self) -> bool {
        self.0.len() > 1
    }

    /// The value at this path in `item`, if every step exists.
    pub fn get<'a>(&self, item: &'a Item) -> Option<&'a Value> {
        let mut steps = self.0.iter();
        let mut cur = match steps.next()? {
            PathElem::Key(k) => item.get(k)?,
            PathElem::Index(_) => return None,
        };
        for step in steps {
            cur = match (step, cur) {
                (PathElem::Key(k), Value::M(m)) => m.get(k)?,
                (PathElem::Index(i), Value::L(l)) => l.get(*i as usize)?,
                _ => return None,
            };
        }
        Some(cur)
    }
}

impl fmt::Display for Path {
    /// DynamoDB's rendering in messages: `[a, b, [2], c]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match e {
                PathElem::Key(k) => f.write_str(k)?,
                PathElem::Index(n) => write!(f, "[{n}]")?,
            }
        }
        f.write_str("]")
    }
}

/// Something a condition compares: an attribute, a constant or a size.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// The value at a document path (absent when the path does not resolve).
    Path(Path),
    /// A constant from ExpressionAttributeValues (or a legacy parameter).
    Value(Value),
    /// `size(operand)`: a number, absent when the operand has no size.
    Size(Box<Operand>),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
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
}

impl CmpOp {
    /// The operator as written in an expression.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// A condition (ConditionExpression, FilterExpression, Expected,
/// QueryFilter, ScanFilter).
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// `a <op> b`.
    Cmp(CmpOp, Operand, Operand),
    /// `a BETWEEN lo AND hi`.
    Between(Operand, Operand, Operand),
    /// `a IN (b, c, ...)`.
    In(Operand, Vec<Operand>),
    /// `attribute_exists(path)`.
    Exists(Path),
    /// `attribute_not_exists(path)`.
    NotExists(Path),
    /// `attribute_type(operand, :t)` with a valid type name (`S`, `SS`, ...).
    Type(Operand, &'static str),
    /// `begins_with(a, b)`.
    BeginsWith(Operand, Operand),
    /// `contains(a, b)`.
    Contains(Operand, Operand),
    /// All of them (empty: true).
    And(Vec<Cond>),
    /// Any of them (empty: false).
    Or(Vec<Cond>),
    /// The negation.
    Not(Box<Cond>),
}

/// The right-hand side of a `SET` action.
#[derive(Debug, Clone, PartialEq)]
pub enum SetValue {
    /// A constant.
    Value(Value),
    /// A copy of another attribute (must exist).
    Path(Path),
    /// `if_not_exists(path, fallback)`.
    IfNotExists(Path, Box<SetValue>),
    /// `list_append(a, b)`.
    ListAppend(Box<SetValue>, Box<SetValue>),
    /// `a + b` (numbers).
    Plus(Box<SetValue>, Box<SetValue>),
    /// `a - b` (numbers).
    Minus(Box<SetValue>, Box<SetValue>),
}

/// One action of an update.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `SET path = value`.
    Set(Path, SetValue),
    /// `REMOVE path`.
    Remove(Path),
    /// `ADD path :v` (a number to add or a set to merge).
    Add(Path, Value),
    /// `DELETE path :set` (elements to take out of a set).
    Delete(Path, Value),
}

impl Action {
    /// The path the action writes.
    pub fn path(&self) -> &Path {
        match self {
            Action::Set(p, _) | Action::Remove(p) | Action::Add(p, _) | Action::Delete(p, _) => p,
        }
    }
}
