//! Renders an [`AwsError`] in the exact shape of each wire protocol.

use crate::request::Response;
use crate::router::Protocol;
use bytes::Bytes;
use serval_core::{AwsError, ErrorKind};

/// Escapes text for XML element content.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The error as a response in the given protocol.
pub fn render(err: &AwsError, protocol: Protocol, request_id: &str) -> Response {
    let mut resp = match protocol {
        Protocol::RestJson => {
            let mut body = serde_json::Map::new();
            let kind = match err.kind {
                ErrorKind::User => "User",
                ErrorKind::Service => "Service",
            };
            body.insert("Type".into(), kind.into());
            body.insert("message".into(), err.message.clone().into());
            for (k, v) in &err.extra {
                body.insert(k.clone(), v.clone());
            }
            let mut r = Response::json(err.status, &serde_json::Value::Object(body));
            r.set_header("x-amzn-ErrorType", &err.code);
            r
        }
        Protocol::AwsJson10 | Protocol::AwsJson11 => {
            let mut body = serde_json::Map::new();
            body.insert("__type".into(), err.code.clone().into());
            body.insert("message".into(), err.message.clone().into());
            for (k, v) in &err.extra {
                body.insert(k.clone(), v.clone());
            }
            let ct = if protocol == Protocol::AwsJson10 {
                "application/x-amz-json-1.0"
            } else {
                "application/x-amz-json-1.1"
            };
            let body = serde_json::to_vec(&serde_json::Value::Object(body)).unwrap_or_default();
            let mut r = Response::bytes(err.status, ct, Bytes::from(body));
            r.set_header("x-amzn-ErrorType", &err.code);
            r
        }
        Protocol::RestXml => {
            // S3 adds detail elements (`<BucketName>`, `<Key>`, ...) after the message.
            let mut extra = String::new();
            for (k, v) in &err.extra {
                let text = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                extra.push_str(&format!("<{k}>{}</{k}>", xml_escape(&text)));
            }
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>{extra}<RequestId>{}</RequestId></Error>",
                xml_escape(&err.code),
                xml_escape(&err.message),
                xml_escape(request_id)
            );
            Response::bytes(err.status, "application/xml", Bytes::from(body))
        }
        Protocol::Query => {
            let kind = match err.kind {
                ErrorKind::User => "Sender",
                ErrorKind::Service => "Receiver",
            };
            let body = format!(
                "<?xml version=\"1.0\"?>\n<ErrorResponse><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
                kind,
                xml_escape(&err.code),
                xml_escape(&err.message),
                xml_escape(request_id)
            );
            Response::bytes(err.status, "text/xml", Bytes::from(body))
        }
    };
    for (k, v) in &err.headers {
        resp.set_header(k, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_json_carries_type_header_and_extra_fields() {
        let err = AwsError::new("TooManyRequestsException", 429, "Rate exceeded").with_field(
            "Reason",
            "ReservedFunctionConcurrentInvocationLimitExceeded".into(),
        );
        let r = render(&err, Protocol::RestJson, "rid");
        assert_eq!(r.status.as_u16(), 429);
        assert_eq!(
            r.headers
                .get("x-amzn-ErrorType")
                .and_then(|v| v.to_str().ok()),
            Some("TooManyRequestsException")
        );
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
        assert_eq!(
            v["Reason"],
            "ReservedFunctionConcurrentInvocationLimitExceeded"
        );
        assert_eq!(v["message"], "Rate exceeded");
    }

    #[test]
    fn query_xml_escapes() {
        let err = AwsError::new("InvalidAction", 400, "bad <thing>");
        let r = render(&err, Protocol::Query, "rid");
        let body = String::from_utf8_lossy(&r.body);
        assert!(body.contains("<Code>InvalidAction</Code>"));
        assert!(body.contains("bad &lt;thing&gt;"));
        assert!(body.contains("<Type>Sender</Type>"));
    }
}
