//! DynamoDB expressions: condition, filter, key condition, update and
//! projection expressions, parsed with bounded depth and evaluated on items.
