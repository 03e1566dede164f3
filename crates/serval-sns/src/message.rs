//! What SNS delivers: the published message as it is kept until delivered
//! ([`Notification`]), the JSON envelope SQS, HTTP(S) and email-json
//! subscribers receive, Lambda's SNS event, the subscription confirmation
//! message, `MessageStructure=json` and the message attribute rules.
//!
//! Signatures: SNS signs every message with a private key whose certificate
//! sits at `SigningCertURL`. Serval does not hold such a key: `Signature`
//! is a base64 string of 256 bytes (the length of an RSA-2048 signature)
//! derived with SHA-256 from the message's canonical string-to-sign and a
//! per-server secret, so it looks like AWS's and differs per message, but
//! it cannot be verified with a certificate.

use crate::error::{bad_value, invalid, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write;

/// A message attribute as published (binary values in base64).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MsgAttr {
    /// `String`, `Number`, `Binary`, `String.Array`, optionally with a label.
    #[serde(rename = "t")]
    pub data_type: String,
    /// Text value (String, Number, String.Array).
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    /// Binary value, base64.
    #[serde(rename = "b", default, skip_serializing_if = "Option::is_none")]
    pub binary_value: Option<String>,
}

impl MsgAttr {
    /// The value as the envelope's `Value` shows it.
    pub fn value(&self) -> &str {
        self.string_value
            .as_deref()
            .or(self.binary_value.as_deref())
            .unwrap_or_default()
    }

    /// The envelope's `Type` (`String`, `Number`, `Binary`, `String.Array`, with a label kept).
    pub fn envelope_type(&self) -> &str {
        &self.data_type
    }
}

/// A published message on its way to one subscription, version 1.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Notification {
    /// MessageId (a UUID).
    pub id: String,
    /// The topic.
    pub topic_arn: String,
    /// Subject, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The message for this subscription's protocol (MessageStructure already applied).
    pub message: String,
    /// Publish time, platform epoch ms.
    pub timestamp: u64,
    /// Message attributes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, MsgAttr>,
    /// FIFO: message group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// FIFO: deduplication id (explicit or content-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_id: Option<String>,
    /// FIFO: sequence number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
}

/// Where links in messages point (Serval's own endpoint).
#[derive(Debug, Clone)]
pub struct Links {
    /// e.g. `http://127.0.0.1:4566`.
    pub endpoint: String,
    /// Secret mixed into signatures.
    pub secret: String,
}

/// What links leave unencoded: ARNs read as they do in AWS's links.
const LINK: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b':');

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, LINK).to_string()
}

impl Links {
    /// The UnsubscribeURL of a subscription.
    pub fn unsubscribe_url(&self, sub_arn: &str) -> String {
        format!(
            "{}/?Action=Unsubscribe&SubscriptionArn={}",
            self.endpoint,
            enc(sub_arn)
        )
    }

    /// The SubscribeURL that confirms a pending subscription when fetched.
    pub fn subscribe_url(&self, topic_arn: &str, token: &str) -> String {
        format!(
            "{}/?Action=ConfirmSubscription&TopicArn={}&Token={}",
            self.endpoint,
            enc(topic_arn),
            enc(token)
        )
    }

    /// SigningCertURL.
    pub fn cert_url(&self) -> String {
        format!(
            "{}/_serval/sns/SimpleNotificationService.pem",
            self.endpoint
        )
    }

    /// A SignatureVersion 1 lookalike signature of `string_to_sign` (see the module docs).
    pub fn sign(&self, string_to_sign: &str) -> String {
        let mut out = Vec::with_capacity(256);
        let mut block = Sha256::digest(format!("{}\n{string_to_sign}", self.secret).as_bytes());
        while out.len() < 256 {
            out.extend_from_slice(&block);
            block = Sha256::digest(block);
        }
        STANDARD.encode(&out[..256])
    }
}

/// The canonical string SNS signs for a Notification.
fn notification_string_to_sign(n: &Notification) -> String {
    let mut s = String::new();
    let _ = write!(s, "Message\n{}\nMessageId\n{}\n", n.message, n.id);
    if let Some(subj) = &n.subject {
        let _ = write!(s, "Subject\n{subj}\n");
    }
    let _ = write!(
        s,
        "Timestamp\n{}\nTopicArn\n{}\nType\nNotification\n",
        serval_core::time::iso8601(n.timestamp),
        n.topic_arn
    );
    s
}

/// JSON text of a string, as a JSON value.
fn js(s: &str) -> String {
    Json::String(s.to_string()).to_string()
}

/// The JSON envelope (SQS, HTTP(S), email-json), laid out as SNS writes it.
pub fn envelope(n: &Notification, sub_arn: &str, links: &Links) -> String {
    let mut out = String::with_capacity(n.message.len() + 1024);
    out.push_str("{\n  \"Type\" : \"Notification\",\n");
    let _ = writeln!(out, "  \"MessageId\" : {},", js(&n.id));
    if let Some(seq) = &n.sequence_number {
        let _ = writeln!(out, "  \"SequenceNumber\" : {},", js(seq));
    }
    let _ = writeln!(out, "  \"TopicArn\" : {},", js(&n.topic_arn));
    if let Some(subj) = &n.subject {
        let _ = writeln!(out, "  \"Subject\" : {},", js(subj));
    }
    let _ = writeln!(out, "  \"Message\" : {},", js(&n.message));
    let _ = writeln!(
        out,
        "  \"Timestamp\" : {},",
        js(&serval_core::time::iso8601(n.timestamp))
    );
    out.push_str("  \"SignatureVersion\" : \"1\",\n");
    let _ = writeln!(
        out,
        "  \"Signature\" : {},",
        js(&links.sign(&notification_string_to_sign(n)))
    );
    let _ = writeln!(out, "  \"SigningCertURL\" : {},", js(&links.cert_url()));
    let _ = write!(
        out,
        "  \"UnsubscribeURL\" : {}",
        js(&links.unsubscribe_url(sub_arn))
    );
    if !n.attributes.is_empty() {
        out.push_str(",\n  \"MessageAttributes\" : {\n");
        let mut first = true;
        for (k, a) in &n.attributes {
            if !first {
                out.push_str(",\n");
            }
            first = false;
            let _ = write!(
                out,
                "    {} : {{\"Type\":{},\"Value\":{}}}",
                js(k),
                js(a.envelope_type()),
                js(a.value())
            );
        }
        out.push_str("\n  }");
    }
    out.push_str("\n}");
    out
}

/// Lambda's SNS event for one notification.
pub fn lambda_event(n: &Notification, sub_arn: &str, links: &Links) -> String {
    let attrs: Map<String, Json> = n
        .attributes
        .iter()
        .map(|(k, a)| {
            (
                k.clone(),
                serde_json::json!({"Type": a.envelope_type(), "Value": a.value()}),
            )
        })
        .collect();
    let mut sns = Map::new();
    sns.insert("Type".into(), "Notification".into());
    sns.insert("MessageId".into(), n.id.clone().into());
    if let Some(seq) = &n.sequence_number {
        sns.insert("SequenceNumber".into(), seq.clone().into());
    }
    sns.insert("TopicArn".into(), n.topic_arn.clone().into());
    sns.insert(
        "Subject".into(),
        n.subject.clone().map(Json::String).unwrap_or(Json::Null),
    );
    sns.insert("Message".into(), n.message.clone().into());
    sns.insert(
        "Timestamp".into(),
        serval_core::time::iso8601(n.timestamp).into(),
    );
    sns.insert("SignatureVersion".into(), "1".into());
    sns.insert(
        "Signature".into(),
        links.sign(&notification_string_to_sign(n)).into(),
    );
    sns.insert("SigningCertUrl".into(), links.cert_url().into());
    sns.insert(
        "UnsubscribeUrl".into(),
        links.unsubscribe_url(sub_arn).into(),
    );
    sns.insert("MessageAttributes".into(), Json::Object(attrs));
    serde_json::json!({"Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": sub_arn,
        "Sns": Json::Object(sns),
    }]})
    .to_string()
}

/// The text of a subscription confirmation message.
pub fn confirmation_text(topic_arn: &str) -> String {
    format!(
        "You have chosen to subscribe to the topic {topic_arn}.\nTo confirm the subscription, visit the SubscribeURL included in this message."
    )
}

/// The SubscriptionConfirmation (or UnsubscribeConfirmation) message posted to HTTP(S) endpoints.
pub fn confirmation(
    message_id: &str,
    topic_arn: &str,
    token: &str,
    timestamp: u64,
    links: &Links,
) -> String {
    let message = confirmation_text(topic_arn);
    let url = links.subscribe_url(topic_arn, token);
    let ts = serval_core::time::iso8601(timestamp);
    let to_sign = format!(
        "Message\n{message}\nMessageId\n{message_id}\nSubscribeURL\n{url}\nTimestamp\n{ts}\nToken\n{token}\nTopicArn\n{topic_arn}\nType\nSubscriptionConfirmation\n"
    );
    format!(
        "{{\n  \"Type\" : \"SubscriptionConfirmation\",\n  \"MessageId\" : {},\n  \"Token\" : {},\n  \"TopicArn\" : {},\n  \"Message\" : {},\n  \"SubscribeURL\" : {},\n  \"Timestamp\" : {},\n  \"SignatureVersion\" : \"1\",\n  \"Signature\" : {},\n  \"SigningCertURL\" : {}\n}}",
        js(message_id),
        js(token),
        js(topic_arn),
        js(&message),
        js(&url),
        js(&ts),
        js(&links.sign(&to_sign)),
        js(&links.cert_url())
    )
}

/// The message for `protocol` from a `MessageStructure=json` message (its
/// protocol's key, else `default`), checked at publish time.
pub fn parse_structure(message: &str) -> Result<Map<String, Json>> {
    let doc: Json = serde_json::from_str(message)
        .map_err(|_| invalid("Message Structure - JSON message body failed to parse"))?;
    let Json::Object(obj) = doc else {
        return Err(invalid(
            "Message Structure - JSON message body failed to parse",
        ));
    };
    match obj.get("default") {
        Some(Json::String(_)) => {}
        _ => {
            return Err(invalid(
                "Message Structure - No default entry in JSON message body",
            ))
        }
    }
    for v in obj.values() {
        if !v.is_string() {
            return Err(invalid(
                "Message Structure - JSON message body failed to parse",
            ));
        }
    }
    Ok(obj)
}

/// The message one protocol gets from a parsed structure.
pub fn for_protocol(structure: &Map<String, Json>, protocol: &str) -> String {
    structure
        .get(protocol)
        .or_else(|| structure.get("default"))
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string()
}

/// A message attribute as it arrives on the wire.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct AttrIn {
    /// Data type.
    #[serde(default)]
    pub data_type: String,
    /// String/Number/String.Array value.
    #[serde(default)]
    pub string_value: Option<String>,
    /// Binary value, base64.
    #[serde(default)]
    pub binary_value: Option<String>,
}

/// Checks message attributes as SNS does and converts them.
pub fn check_attributes(input: &BTreeMap<String, AttrIn>) -> Result<BTreeMap<String, MsgAttr>> {
    if input.len() > 10 {
        return Err(invalid(format!(
            "MessageAttributes: Number of message attributes [{}] exceeds the allowed maximum [10].",
            input.len()
        )));
    }
    let mut out = BTreeMap::new();
    for (name, a) in input {
        if name.is_empty()
            || name.len() > 256
            || name.starts_with('.')
            || name.ends_with('.')
            || name.contains("..")
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(invalid(format!(
                "MessageAttributes: Invalid attribute name: {name}"
            )));
        }
        let lower = name.to_ascii_lowercase();
        if lower.starts_with("aws.") || lower.starts_with("amazon.") {
            return Err(invalid(format!(
                "MessageAttributes: Invalid attribute name: {name}"
            )));
        }
        let base = a.data_type.split('.').next().unwrap_or_default();
        let is_array = a.data_type == "String.Array";
        if !matches!(base, "String" | "Number" | "Binary") {
            return Err(bad_value(format!(
                "The message attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String."
            )));
        }
        if base == "Binary" {
            let Some(b) = a.binary_value.as_deref().filter(|b| !b.is_empty()) else {
                return Err(bad_value(format!(
                    "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{}'.",
                    a.data_type
                )));
            };
            out.insert(
                name.clone(),
                MsgAttr {
                    data_type: a.data_type.clone(),
                    string_value: None,
                    binary_value: Some(b.to_string()),
                },
            );
            continue;
        }
        let Some(v) = a.string_value.as_deref().filter(|v| !v.is_empty()) else {
            return Err(bad_value(format!(
                "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{}'.",
                a.data_type
            )));
        };
        if base == "Number" && !is_number(v) {
            return Err(bad_value(format!(
                "Could not cast message attribute '{name}' value to number."
            )));
        }
        if is_array {
            match serde_json::from_str::<Json>(v) {
                Ok(Json::Array(items))
                    if items
                        .iter()
                        .all(|i| matches!(i, Json::String(_) | Json::Number(_) | Json::Bool(_) | Json::Null)) => {}
                _ => {
                    return Err(bad_value(format!(
                        "The message attribute '{name}' with type 'String.Array' has an invalid value: the value must be a JSON array of strings, numbers, booleans or null."
                    )))
                }
            }
        }
        out.insert(
            name.clone(),
            MsgAttr {
                data_type: a.data_type.clone(),
                string_value: Some(v.to_string()),
                binary_value: None,
            },
        );
    }
    Ok(out)
}

fn is_number(v: &str) -> bool {
    let t = v.trim();
    !t.is_empty() && t.parse::<f64>().is_ok_and(f64::is_finite)
}

/// The size SNS counts for a message: body plus attribute names, types and values.
pub fn size_of(message: &str, attrs: &BTreeMap<String, MsgAttr>) -> usize {
    message.len()
        + attrs
            .iter()
            .map(|(k, a)| k.len() + a.data_type.len() + a.value().len())
            .sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> Links {
        Links {
            endpoint: "http://localhost:4566".into(),
            secret: "s".into(),
        }
    }

    fn note() -> Notification {
        Notification {
            id: "m-1".into(),
            topic_arn: "arn:aws:sns:us-east-1:000000000000:t".into(),
            subject: Some("Hi".into()),
            message: "hello \"world\"".into(),
            timestamp: 1_709_251_199_123,
            attributes: [(
                "color".to_string(),
                MsgAttr {
                    data_type: "String".into(),
                    string_value: Some("red".into()),
                    binary_value: None,
                },
            )]
            .into_iter()
            .collect(),
            group_id: None,
            dedup_id: None,
            sequence_number: None,
        }
    }

    #[test]
    fn envelope_has_sns_fields_in_order() {
        let sub = "arn:aws:sns:us-east-1:000000000000:t:abc";
        let text = envelope(&note(), sub, &links());
        let doc: Json = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["Type"], "Notification");
        assert_eq!(doc["MessageId"], "m-1");
        assert_eq!(doc["Subject"], "Hi");
        assert_eq!(doc["Message"], "hello \"world\"");
        assert_eq!(doc["Timestamp"], "2024-02-29T23:59:59.123Z");
        assert_eq!(doc["SignatureVersion"], "1");
        assert_eq!(
            STANDARD
                .decode(doc["Signature"].as_str().unwrap())
                .unwrap()
                .len(),
            256
        );
        assert_eq!(
            doc["UnsubscribeURL"],
            "http://localhost:4566/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-east-1:000000000000:t:abc"
        );
        assert_eq!(
            doc["MessageAttributes"]["color"],
            serde_json::json!({"Type":"String","Value":"red"})
        );
        let keys: Vec<&str> = [
            "\"Type\"",
            "\"MessageId\"",
            "\"TopicArn\"",
            "\"Subject\"",
            "\"Message\"",
            "\"Timestamp\"",
            "\"SignatureVersion\"",
            "\"Signature\"",
            "\"SigningCertURL\"",
            "\"UnsubscribeURL\"",
            "\"MessageAttributes\"",
        ]
        .to_vec();
        let pos: Vec<usize> = keys.iter().map(|k| text.find(k).unwrap()).collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "{text}");
        // No Subject or attributes: left out.
        let mut n = note();
        n.subject = None;
        n.attributes.clear();
        let doc: Json = serde_json::from_str(&envelope(&n, sub, &links())).unwrap();
        assert!(doc.get("Subject").is_none() && doc.get("MessageAttributes").is_none());
    }

    #[test]
    fn lambda_event_uses_lambda_casing() {
        let mut n = note();
        n.subject = None;
        let doc: Json = serde_json::from_str(&lambda_event(&n, "sub-arn", &links())).unwrap();
        let r = &doc["Records"][0];
        assert_eq!(r["EventSource"], "aws:sns");
        assert_eq!(r["EventVersion"], "1.0");
        assert_eq!(r["EventSubscriptionArn"], "sub-arn");
        assert!(r["Sns"]["Subject"].is_null());
        assert!(r["Sns"]["SigningCertUrl"].is_string() && r["Sns"]["UnsubscribeUrl"].is_string());
        assert!(r["Sns"].get("SigningCertURL").is_none());
        assert_eq!(r["Sns"]["MessageAttributes"]["color"]["Value"], "red");
    }

    #[test]
    fn message_structure_json() {
        let s = parse_structure(r#"{"default":"d","sqs":"q","email":"e"}"#).unwrap();
        assert_eq!(for_protocol(&s, "sqs"), "q");
        assert_eq!(for_protocol(&s, "lambda"), "d");
        assert_eq!(for_protocol(&s, "email"), "e");
        assert_eq!(
            parse_structure(r#"{"sqs":"q"}"#).unwrap_err().message,
            "Invalid parameter: Message Structure - No default entry in JSON message body"
        );
        assert_eq!(
            parse_structure("not json").unwrap_err().message,
            "Invalid parameter: Message Structure - JSON message body failed to parse"
        );
        assert!(parse_structure(r#"{"default":{"a":1}}"#).is_err());
    }

    #[test]
    fn attribute_checks() {
        let mk = |t: &str, v: Option<&str>| {
            let mut m = BTreeMap::new();
            m.insert(
                "a".to_string(),
                AttrIn {
                    data_type: t.into(),
                    string_value: v.map(str::to_string),
                    binary_value: None,
                },
            );
            m
        };
        assert!(check_attributes(&mk("String", Some("x"))).is_ok());
        assert!(check_attributes(&mk("Number.float", Some("1.5"))).is_ok());
        assert!(check_attributes(&mk("String.Array", Some(r#"["a",1,true]"#))).is_ok());
        let e = check_attributes(&mk("Number", Some("abc"))).unwrap_err();
        assert_eq!(
            e.message,
            "Could not cast message attribute 'a' value to number."
        );
        let e = check_attributes(&mk("Integer", Some("1"))).unwrap_err();
        assert!(e.message.contains("invalid message attribute type"));
        let e = check_attributes(&mk("String", None)).unwrap_err();
        assert!(e
            .message
            .contains("must contain non-empty message attribute value"));
        assert!(check_attributes(&mk("String.Array", Some("[{}]"))).is_err());
    }
}
