//! Function logs: one log group per function (`/aws/lambda/<name>`), one
//! stream per environment, events stored durably in the `logs` keyspace.

use serval_store::{Op, Store};
use std::sync::atomic::{AtomicU64, Ordering};

/// The keyspace log events live in.
pub const KS: &str = "logs";

/// One stored log event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogEvent {
    /// Epoch ms.
    pub timestamp: u64,
    /// Stream name.
    pub stream: String,
    /// The line.
    pub message: String,
}

/// Writes and reads log events.
pub struct Logs {
    store: Store,
    seq: AtomicU64,
}

fn group_prefix(account: &str, region: &str, group: &str) -> String {
    format!("e/{account}/{region}/{group}/")
}

impl Logs {
    /// Logs kept in `store`.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            seq: AtomicU64::new(0),
        }
    }

    /// Appends events to a stream without waiting for the commit.
    pub fn append(
        &self,
        account: &str,
        region: &str,
        group: &str,
        stream: &str,
        lines: &[(u64, String)],
    ) {
        if lines.is_empty() {
            return;
        }
        let prefix = group_prefix(account, region, group);
        // Keys keep the batch's order even when a line's clock reading is
        // earlier than the one before it.
        let mut key_ts = 0u64;
        let ops = lines
            .iter()
            .map(|(ts, message)| {
                key_ts = key_ts.max(*ts);
                let seq = self.seq.fetch_add(1, Ordering::Relaxed);
                let event = LogEvent {
                    timestamp: *ts,
                    stream: stream.to_string(),
                    message: message.clone(),
                };
                Op::Put {
                    ks: KS,
                    key: format!("{prefix}{key_ts:013}/{seq:012}").into_bytes(),
                    value: serde_json::to_vec(&event).unwrap_or_default(),
                }
            })
            .collect();
        self.store.write_detached(ops);
    }

    /// Events of a group in time order, strictly after the cursor `after`
    /// (an opaque key from a previous call). Returns the next cursor.
    pub fn read(
        &self,
        account: &str,
        region: &str,
        group: &str,
        after: Option<&str>,
        limit: usize,
    ) -> (Vec<LogEvent>, Option<String>) {
        let prefix = group_prefix(account, region, group);
        let rows = self
            .store
            .scan(KS, prefix.as_bytes(), after.map(str::as_bytes), limit)
            .unwrap_or_default();
        let cursor = rows
            .last()
            .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
            .or_else(|| after.map(str::to_string));
        let events = rows
            .into_iter()
            .filter_map(|(_, v)| serde_json::from_slice(&v).ok())
            .collect();
        (events, cursor)
    }
}

/// The last 4 KB of an invocation's log, base64 (for `X-Amz-Log-Result`).
pub fn tail_base64(lines: &[(u64, String)]) -> String {
    use base64::Engine;
    let mut text = String::new();
    for (_, l) in lines {
        text.push_str(l);
        text.push('\n');
    }
    let bytes = text.as_bytes();
    let start = bytes.len().saturating_sub(4096);
    base64::engine::general_purpose::STANDARD.encode(&bytes[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_last_4k() {
        use base64::Engine;
        let lines: Vec<(u64, String)> = (0..1000).map(|i| (0, format!("line {i}"))).collect();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(tail_base64(&lines))
            .unwrap_or_default();
        assert_eq!(decoded.len(), 4096);
        assert!(String::from_utf8_lossy(&decoded).ends_with("line 999\n"));
    }
}
