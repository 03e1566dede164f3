//! The expressions of one request (condition, update, filter, key condition,
//! projection, and their legacy equivalents), parsed together so that unused
//! names and values are reported across all of them, as DynamoDB does.

use crate::error::{self, Result};
use crate::request::Body;
use crate::value::{Item, Value};

/// A sort key condition.
#[derive(Debug, Clone)]
pub enum RangeCond {
    /// `=`
    Eq(Value),
    /// `<`
    Lt(Value),
    /// `<=`
    Le(Value),
    /// `>`
    Gt(Value),
    /// `>=`
    Ge(Value),
    /// `BETWEEN a AND b`
    Between(Value, Value),
    /// `begins_with(sk, v)`
    BeginsWith(Value),
}

/// A Query's key condition: the partition key value and an optional sort key condition.
#[derive(Debug, Clone)]
pub struct KeyCond {
    /// Partition key value.
    pub hash: Value,
    /// Sort key condition.
    pub range: Option<RangeCond>,
}

/// Which expressions a request may carry.
#[derive(Debug, Clone, Copy, Default)]
pub struct Allowed {
    /// ConditionExpression / Expected.
    pub condition: bool,
    /// UpdateExpression / AttributeUpdates.
    pub update: bool,
    /// FilterExpression / QueryFilter / ScanFilter.
    pub filter: bool,
    /// ProjectionExpression / AttributesToGet.
    pub projection: bool,
    /// KeyConditionExpression / KeyConditions (needs the key schema).
    pub key: bool,
}

/// A request's parsed expressions.
#[derive(Debug, Default)]
pub struct Prepared {
    /// The key condition of a Query.
    pub key: Option<KeyCond>,
}

impl Prepared {
    /// Parses the expressions `allowed` in `body`.
    pub fn new(
        body: &Body,
        allowed: Allowed,
        _keys: Option<&crate::model::KeySchema>,
    ) -> Result<Prepared> {
        let _ = allowed;
        for f in [
            "ConditionExpression",
            "UpdateExpression",
            "FilterExpression",
            "ProjectionExpression",
            "KeyConditionExpression",
            "Expected",
            "AttributeUpdates",
            "QueryFilter",
            "ScanFilter",
            "AttributesToGet",
            "KeyConditions",
        ] {
            if body.get(f).is_some_and(|v| !v.is_null()) {
                return Err(error::validation(format!("{f} is not supported yet")));
            }
        }
        Ok(Prepared::default())
    }

    /// Whether the condition holds for the current item (true without one).
    pub fn condition_holds(&self, _item: Option<&Item>) -> Result<bool> {
        Ok(true)
    }

    /// Whether the filter keeps an item (true without one).
    pub fn filter_keeps(&self, _item: &Item) -> Result<bool> {
        Ok(true)
    }

    /// Whether there is an update to apply.
    pub fn has_update(&self) -> bool {
        false
    }

    /// Applies the update; returns the top-level attribute names it touched.
    pub fn apply_update(&self, _item: &mut Item) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    /// The item as the projection shows it (the item itself without one).
    pub fn project(&self, item: &Item) -> Item {
        item.clone()
    }

    /// Whether a projection was asked for.
    pub fn has_projection(&self) -> bool {
        false
    }

    /// Keeps only the updated paths of an item (UPDATED_OLD / UPDATED_NEW).
    pub fn updated_part(&self, item: &Item, touched: &[String]) -> Item {
        item.iter()
            .filter(|(k, _)| touched.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}
