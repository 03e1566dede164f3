//! The statements and expressions PartiQL for DynamoDB has.

use crate::value::{Item, Value};

/// One step of a document path.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Seg {
    Name(String),
    Index(usize),
}

/// A value in an expression.
#[derive(Debug, Clone)]
pub(super) enum Operand {
    Path(Vec<Seg>),
    Lit(Value),
    Func(String, Vec<Operand>),
    Arith(Box<Operand>, &'static str, Box<Operand>),
}

/// What `x IS ...` tests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum IsKind {
    Missing,
    /// A DynamoDB type: `NULL`, `BOOL`, `S`, `N`, `B`, `M`, `L`.
    Type(&'static str),
}

/// A condition (WHERE).
#[derive(Debug, Clone)]
pub(super) enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Cmp(Operand, &'static str, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    Func(String, Vec<Operand>),
    /// `x IS [NOT] kind`; the flag is NOT.
    Is(Operand, IsKind, bool),
}

/// One `ORDER BY` term: an attribute and whether it sorts descending.
#[derive(Debug, Clone)]
pub(super) struct OrderTerm {
    pub attr: String,
    pub desc: bool,
}

/// `SET path = value`.
pub(super) type Assign = (Vec<Seg>, Operand);

/// A statement.
pub(super) enum Stmt {
    Select {
        table: String,
        index: Option<String>,
        proj: Option<Vec<Vec<Seg>>>,
        cond: Option<Cond>,
        order: Vec<OrderTerm>,
    },
    Insert {
        table: String,
        item: Item,
    },
    Update {
        table: String,
        sets: Vec<Assign>,
        removes: Vec<Vec<Seg>>,
        cond: Option<Cond>,
        returning: Option<&'static str>,
    },
    Delete {
        table: String,
        cond: Option<Cond>,
        returning: Option<&'static str>,
    },
    /// `EXISTS(SELECT ...)`: a condition check, only in a write transaction.
    Exists {
        table: String,
        index: Option<String>,
        cond: Option<Cond>,
    },
}

impl Stmt {
    /// Whether the statement reads (SELECT) rather than writes.
    pub fn is_read(&self) -> bool {
        matches!(self, Stmt::Select { .. })
    }

    /// The table the statement names.
    pub fn table(&self) -> &str {
        match self {
            Stmt::Select { table, .. }
            | Stmt::Insert { table, .. }
            | Stmt::Update { table, .. }
            | Stmt::Delete { table, .. }
            | Stmt::Exists { table, .. } => table,
        }
    }

    /// The RETURNING clause of a write, if any.
    pub fn returning(&self) -> Option<&'static str> {
        match self {
            Stmt::Update { returning, .. } | Stmt::Delete { returning, .. } => *returning,
            _ => None,
        }
    }
}
