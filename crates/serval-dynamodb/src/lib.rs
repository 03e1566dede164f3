//! Amazon DynamoDB for Serval: the JSON 1.0 protocol (`DynamoDB_20120810.*`)
//! and Streams (`DynamoDBStreams_20120810.*`) on Serval's durable store.

pub mod error;
pub mod expr;
pub mod number;
pub mod value;
