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

/// Writes and reads log events. Appends are buffered and committed in one
/// transaction every [`FLUSH_EVERY`] (a commit per invocation would cost
/// more CPU than the invocation itself); reads flush first.
pub struct Logs {
    store: Store,
    seq: AtomicU64,
    pending: std::sync::Mutex<Vec<Op>>,
}

/// How often buffered log records are committed.
pub const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(100);
/// Buffered records that trigger an early commit.
const FLUSH_AT: usize = 2048;

fn group_prefix(account: &str, region: &str, group: &str) -> String {
    format!("e/{account}/{region}/{group}/")
}

impl Logs {
    /// Logs kept in `store`.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            seq: AtomicU64::new(0),
            pending: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn take_pending(&self) -> Vec<Op> {
        match self.pending.lock() {
            Ok(mut p) => std::mem::take(&mut *p),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        }
    }

    /// Queues buffered records for commit without waiting.
    pub fn flush(&self) {
        let ops = self.take_pending();
        if !ops.is_empty() {
            self.store.write_detached(ops);
        }
    }

    /// Commits buffered records and waits for the commit.
    pub fn flush_sync(&self) {
        let ops = self.take_pending();
        if !ops.is_empty() {
            if let Err(e) = self.store.write_blocking(ops) {
                tracing::warn!(error = %e, "could not store log records");
            }
        }
    }

    /// Appends events to a stream without waiting for the commit. The lines
    /// of one call are stored as one record (one row per invocation).
    pub fn append(
        &self,
        account: &str,
        region: &str,
        group: &str,
        stream: &str,
        lines: &[(u64, String)],
    ) {
        let Some(first) = lines.first() else { return };
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let block = BlockRef { stream, lines };
        let mut key = String::with_capacity(48 + group.len() + account.len() + region.len());
        {
            use std::fmt::Write;
            // group_prefix(..) then the time and sequence, in one go.
            let _ = write!(
                key,
                "e/{account}/{region}/{group}/{:013}/{seq:012}",
                first.0
            );
        }
        let op = Op::Put {
            ks: KS,
            key: key.into_bytes(),
            value: serde_json::to_vec(&StoredRef::BlockV1(block)).unwrap_or_default(),
        };
        let full = match self.pending.lock() {
            Ok(mut p) => {
                p.push(op);
                p.len() >= FLUSH_AT
            }
            Err(_) => false,
        };
        if full {
            self.flush();
        }
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
        self.flush_sync();
        let prefix = group_prefix(account, region, group);
        let rows = self
            .store
            .scan(KS, prefix.as_bytes(), after.map(str::as_bytes), limit)
            .unwrap_or_default();
        let cursor = rows
            .last()
            .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
            .or_else(|| after.map(str::to_string));
        let mut events = Vec::new();
        for (_, v) in rows {
            let Ok(Stored::BlockV1(block)) = serde_json::from_slice(&v) else {
                continue;
            };
            events.extend(
                block
                    .lines
                    .into_iter()
                    .map(|(timestamp, message)| LogEvent {
                        timestamp,
                        stream: block.stream.clone(),
                        message,
                    }),
            );
        }
        (events, cursor)
    }
}

/// The lines one invocation (or one init) wrote, stored together.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Block {
    stream: String,
    lines: Vec<(u64, String)>,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(tag = "schema")]
enum Stored {
    #[serde(rename = "log-block/1")]
    BlockV1(Block),
}

/// [`Block`] borrowed, for writing without copying the lines.
#[derive(serde::Serialize)]
struct BlockRef<'a> {
    stream: &'a str,
    lines: &'a [(u64, String)],
}

/// [`Stored`] borrowed: the same shape on disk.
#[derive(serde::Serialize)]
#[serde(tag = "schema")]
enum StoredRef<'a> {
    #[serde(rename = "log-block/1")]
    BlockV1(BlockRef<'a>),
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
    fn borrowed_block_is_stored_like_an_owned_one() {
        let lines = vec![
            (1, "START".to_string()),
            (2, "a \"quoted\"\tline".to_string()),
        ];
        let owned = Stored::BlockV1(Block {
            stream: "s".into(),
            lines: lines.clone(),
        });
        let borrowed = StoredRef::BlockV1(BlockRef {
            stream: "s",
            lines: &lines,
        });
        assert_eq!(
            serde_json::to_vec(&owned).unwrap_or_default(),
            serde_json::to_vec(&borrowed).unwrap_or_default()
        );
    }

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
