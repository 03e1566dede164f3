//! Cross-module tests: whole expressions from text to evaluation, DynamoDB's
//! messages, and robustness against hostile input.
