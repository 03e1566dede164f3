//! The digests SQS returns and the SDKs verify (the Java, Go, .NET and
//! JavaScript SDKs fail a send or receive on a mismatch). The algorithm is
//! the one in the AWS SDK for Java's `MessageMD5ChecksumInterceptor`:
//! attributes sorted by name; for each, the 4-byte big-endian length and
//! UTF-8 bytes of the name, then of the data type, then a transport byte
//! (1 string, 2 binary) and the length and bytes of the value; hex MD5 of the
//! whole. The same is applied to message system attributes (`AWSTraceHeader`).

use md5::{Digest, Md5};
use serval_core::MessageAttribute;
use std::collections::BTreeMap;

fn hex(bytes: &[u8]) -> String {
    serval_core::ids::hex(bytes)
}

/// Hex MD5 of a message body.
pub fn of_body(body: &str) -> String {
    hex(&Md5::digest(body.as_bytes()))
}

fn update_len(d: &mut Md5, bytes: &[u8]) {
    d.update((bytes.len() as u32).to_be_bytes());
    d.update(bytes);
}

/// Hex MD5 of message attributes, or `None` when there are none.
pub fn of_attributes(attrs: &BTreeMap<String, MessageAttribute>) -> Option<String> {
    if attrs.is_empty() {
        return None;
    }
    let mut d = Md5::new();
    // A BTreeMap iterates in byte order of the names, as Java's String sort
    // does for the ASCII names SQS allows.
    for (name, v) in attrs {
        update_len(&mut d, name.as_bytes());
        update_len(&mut d, v.data_type.as_bytes());
        if let Some(s) = &v.string_value {
            d.update([1u8]);
            update_len(&mut d, s.as_bytes());
        } else if let Some(b) = &v.binary_value {
            d.update([2u8]);
            update_len(&mut d, b);
        }
    }
    Some(hex(&d.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(dt: &str, v: &str) -> MessageAttribute {
        MessageAttribute {
            data_type: dt.into(),
            string_value: Some(v.into()),
            binary_value: None,
        }
    }

    #[test]
    fn body_md5() {
        assert_eq!(of_body(""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(of_body("hello"), "5d41402abc4b2a76b9719d911017c592");
    }

    #[test]
    fn attribute_md5_matches_a_hand_built_digest() {
        let mut attrs = BTreeMap::new();
        attrs.insert("b".to_string(), s("Number", "1"));
        attrs.insert(
            "a".to_string(),
            MessageAttribute {
                data_type: "Binary".into(),
                string_value: None,
                binary_value: Some(vec![0, 255]),
            },
        );
        let mut raw = Vec::new();
        for (name, dt, tag, val) in [
            ("a", "Binary", 2u8, &[0u8, 255][..]),
            ("b", "Number", 1u8, b"1"),
        ] {
            raw.extend((name.len() as u32).to_be_bytes());
            raw.extend(name.as_bytes());
            raw.extend((dt.len() as u32).to_be_bytes());
            raw.extend(dt.as_bytes());
            raw.push(tag);
            raw.extend((val.len() as u32).to_be_bytes());
            raw.extend(val);
        }
        assert_eq!(of_attributes(&attrs), Some(hex(&Md5::digest(&raw))));
        assert_eq!(of_attributes(&BTreeMap::new()), None);
    }

    #[test]
    fn attribute_md5_known_value() {
        // The digest moto and AWS give for {"timestamp": Number "1493147359900"}.
        let mut attrs = BTreeMap::new();
        attrs.insert("timestamp".to_string(), s("Number", "1493147359900"));
        assert_eq!(
            of_attributes(&attrs).as_deref(),
            Some("235c5c510d26fb653d073faed50ae77c")
        );
    }
}
