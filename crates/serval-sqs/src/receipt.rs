//! Receipt handles: which queue, which message, which receive. Every receive
//! makes a new one (a new nonce); only the latest receive's handle acts on
//! the message. A handle SQS did not make is `ReceiptHandleIsInvalid`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// A decoded receipt handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The queue's uid.
    pub uid: String,
    /// The message's sequence number.
    pub seq: u64,
    /// The receive's nonce.
    pub nonce: u64,
}

const TAG: &str = "sq1";

/// Encodes a handle.
pub fn encode(uid: &str, seq: u64, nonce: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{TAG}:{uid}:{seq}:{nonce:016x}"))
}

/// Decodes a handle, or `None` when it is not one of ours.
pub fn decode(handle: &str) -> Option<Receipt> {
    let raw = URL_SAFE_NO_PAD.decode(handle.trim().as_bytes()).ok()?;
    let text = std::str::from_utf8(&raw).ok()?;
    let mut parts = text.split(':');
    if parts.next()? != TAG {
        return None;
    }
    let uid = parts.next()?.to_string();
    let seq = parts.next()?.parse().ok()?;
    let nonce = u64::from_str_radix(parts.next()?, 16).ok()?;
    if parts.next().is_some() || uid.is_empty() || nonce == 0 {
        return None;
    }
    Some(Receipt { uid, seq, nonce })
}

/// A new non-zero nonce.
pub fn nonce() -> u64 {
    loop {
        let n = rand::random::<u64>();
        if n != 0 {
            return n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects() {
        let h = encode("abc123", 42, 0xdead_beef);
        assert_eq!(
            decode(&h),
            Some(Receipt {
                uid: "abc123".into(),
                seq: 42,
                nonce: 0xdead_beef
            })
        );
        assert_ne!(encode("abc123", 42, 1), encode("abc123", 42, 2));
        assert_eq!(decode("garbage"), None);
        assert_eq!(decode(""), None);
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode("sq1:u:1:0")), None);
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode("xx:u:1:5")), None);
    }
}
