//! DynamoDB expressions: condition, filter, key condition, update and
//! projection expressions, parsed with bounded depth and evaluated on items.
//!
//! Each request builds one [`Attrs`] from its ExpressionAttributeNames and
//! ExpressionAttributeValues, parses each of its expressions against it
//! (errors come back as the full ValidationException message, prefixed
//! `Invalid ConditionExpression: ` and so on as DynamoDB does), then calls
//! [`Attrs::check_unused`]. The legacy parameters (Expected, KeyConditions,
//! QueryFilter, ScanFilter, AttributeUpdates, AttributesToGet) convert into
//! the same trees in [`legacy`].
//!
//! Not here: key-schema checks that need the table (nested paths on keys,
//! updates of key attributes, index key types) — the trees expose what those
//! checks need ([`Path::is_nested`], [`Update::actions`], [`Cond::path_heads`]).

mod ast;
mod attrs;
mod condition;
mod keycond;
pub mod legacy;
mod lexer;
mod parse;
mod project;
mod reserved;
mod update;

#[cfg(test)]
mod tests;

pub use ast::{Action, CmpOp, Cond, Operand, Path, PathElem, SetValue};
pub use attrs::{check_expression_params, Attrs, ParamsError};
pub use condition::TYPE_NAMES;
pub use keycond::{KeyCondition, KeySchema, RangeCond};
pub use project::{project, Projection};
pub use reserved::is_reserved;
pub use update::{Update, BAD_TYPE};

/// Which request parameter an expression came from (it names the parameter
/// in error messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExprKind {
    /// `ConditionExpression`.
    Condition,
    /// `FilterExpression`.
    Filter,
    /// `KeyConditionExpression`.
    KeyCondition,
    /// `UpdateExpression`.
    Update,
    /// `ProjectionExpression`.
    Projection,
}

impl ExprKind {
    /// The parameter name.
    pub fn param(self) -> &'static str {
        match self {
            ExprKind::Condition => "ConditionExpression",
            ExprKind::Filter => "FilterExpression",
            ExprKind::KeyCondition => "KeyConditionExpression",
            ExprKind::Update => "UpdateExpression",
            ExprKind::Projection => "ProjectionExpression",
        }
    }

    fn invalid(self, msg: String) -> String {
        format!("Invalid {}: {msg}", self.param())
    }
}

/// Parses a ConditionExpression or FilterExpression (`kind` names it in
/// errors), resolving placeholders from `attrs`.
pub fn parse_condition(text: &str, kind: ExprKind, attrs: &Attrs) -> Result<Cond, String> {
    let src = parse::source(text).map_err(|e| kind.invalid(e))?;
    let raw = parse::parse_condition(&src).map_err(|e| kind.invalid(e))?;
    condition::resolve(&src, &raw, attrs).map_err(|e| kind.invalid(e))
}

/// Parses a KeyConditionExpression and matches it against the key schema
/// of the table or index queried.
pub fn parse_key_condition(
    text: &str,
    attrs: &Attrs,
    schema: &KeySchema<'_>,
) -> Result<KeyCondition, String> {
    let cond = parse_condition(text, ExprKind::KeyCondition, attrs)?;
    keycond::from_cond(&cond, schema)
}

/// Parses an UpdateExpression.
pub fn parse_update(text: &str, attrs: &Attrs) -> Result<Update, String> {
    let kind = ExprKind::Update;
    let src = parse::source(text).map_err(|e| kind.invalid(e))?;
    let raw = parse::parse_update(&src).map_err(|e| kind.invalid(e))?;
    update::resolve(&src, raw, attrs).map_err(|e| kind.invalid(e))
}

/// Parses a ProjectionExpression.
pub fn parse_projection(text: &str, attrs: &Attrs) -> Result<Projection, String> {
    let kind = ExprKind::Projection;
    let src = parse::source(text).map_err(|e| kind.invalid(e))?;
    let raw = parse::parse_projection(&src).map_err(|e| kind.invalid(e))?;
    project::resolve(&src, &raw, attrs).map_err(|e| kind.invalid(e))
}
