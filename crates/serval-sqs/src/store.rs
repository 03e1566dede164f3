//! How queues and messages sit in the store, and rebuilding memory from it
//! at start.
//!
//! - `sqs_queue`: `<account>/<region>/<name>` -> [`QueueMeta`] JSON
//! - `sqs_msg`: `<queue uid>/<seq, 16 hex>` -> [`MessageRecordV1`] JSON
//! - `sqs_mst`: same key -> [`ReceiveStateV1`] JSON (latest receive)
//! - `sqs_dedup`: `<queue uid>/<dedup key>` -> [`DedupRecordV1`] JSON

use crate::error::Result;
use crate::queue::{Dedup, Message, MessageRecordV1, ReceiveStateV1, State};
use crate::{Queue, QueueMeta};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serval_core::MessageAttribute;
use serval_store::{Op, Store};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Queue definitions.
pub const KS_QUEUES: &str = "sqs_queue";
/// Messages.
pub const KS_MSGS: &str = "sqs_msg";
/// Receive states.
pub const KS_STATE: &str = "sqs_mst";
/// FIFO deduplication ids.
pub const KS_DEDUP: &str = "sqs_dedup";

/// A deduplication id as the store keeps it, version 1.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DedupRecordV1 {
    /// Platform ms when it stops applying.
    pub expires: u64,
    /// The first send's message id.
    pub id: String,
    /// Its sequence number text.
    pub seq: String,
}

/// Key of a queue definition.
pub fn queue_key(meta: &QueueMeta) -> Vec<u8> {
    format!("{}/{}/{}", meta.account, meta.region, meta.name).into_bytes()
}

/// Key of a message (and of its receive state).
pub fn msg_key(uid: &str, seq: u64) -> Vec<u8> {
    format!("{uid}/{seq:016x}").into_bytes()
}

fn dedup_key(uid: &str, key: &str) -> Vec<u8> {
    format!("{uid}/{key}").into_bytes()
}

/// Writes a queue definition.
pub fn put_queue(meta: &QueueMeta) -> Op {
    Op::Put {
        ks: KS_QUEUES,
        key: queue_key(meta),
        value: serde_json::to_vec(meta).unwrap_or_default(),
    }
}

/// Removes a queue and everything in it.
pub fn delete_queue(meta: &QueueMeta) -> Vec<Op> {
    let prefix = format!("{}/", meta.uid).into_bytes();
    vec![
        Op::Delete {
            ks: KS_QUEUES,
            key: queue_key(meta),
        },
        Op::DeletePrefix {
            ks: KS_MSGS,
            prefix: prefix.clone(),
        },
        Op::DeletePrefix {
            ks: KS_STATE,
            prefix: prefix.clone(),
        },
        Op::DeletePrefix {
            ks: KS_DEDUP,
            prefix,
        },
    ]
}

/// Removes every message of a queue (PurgeQueue).
pub fn purge_ops(uid: &str) -> Vec<Op> {
    let prefix = format!("{uid}/").into_bytes();
    vec![
        Op::DeletePrefix {
            ks: KS_MSGS,
            prefix: prefix.clone(),
        },
        Op::DeletePrefix {
            ks: KS_STATE,
            prefix,
        },
    ]
}

/// The record of a message.
pub fn record_of(m: &Message) -> MessageRecordV1 {
    MessageRecordV1 {
        id: m.id.clone(),
        body: m.body.clone(),
        attrs: m
            .attrs
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    (
                        v.data_type.clone(),
                        v.string_value.clone(),
                        v.binary_value.as_ref().map(|b| STANDARD.encode(b)),
                    ),
                )
            })
            .collect(),
        trace: m.trace.clone(),
        sent: m.sent_ms,
        visible: match m.state {
            State::Delayed(t) => t,
            _ => 0,
        },
        sender: m.sender.clone(),
        group: m.group.clone(),
        dedup: m.dedup.clone(),
        dlq_source: m.dlq_source.clone(),
        rc: m.receive_count,
    }
}

/// Writes a message.
pub fn put_msg(uid: &str, m: &Message) -> Op {
    Op::Put {
        ks: KS_MSGS,
        key: msg_key(uid, m.seq),
        value: serde_json::to_vec(&record_of(m)).unwrap_or_default(),
    }
}

/// Writes a message's receive state.
pub fn put_state(uid: &str, m: &Message) -> Op {
    let until = match m.state {
        State::InFlight(t) => t,
        _ => 0,
    };
    let st = ReceiveStateV1 {
        rc: m.receive_count,
        first: m.first_receive_ms,
        until,
        nonce: m.nonce,
    };
    Op::Put {
        ks: KS_STATE,
        key: msg_key(uid, m.seq),
        value: serde_json::to_vec(&st).unwrap_or_default(),
    }
}

/// Removes a message and its receive state.
pub fn delete_msg(uid: &str, seq: u64, ops: &mut Vec<Op>) {
    ops.push(Op::Delete {
        ks: KS_MSGS,
        key: msg_key(uid, seq),
    });
    ops.push(Op::Delete {
        ks: KS_STATE,
        key: msg_key(uid, seq),
    });
}

/// Writes a deduplication id.
pub fn put_dedup(uid: &str, key: &str, d: &Dedup) -> Op {
    let rec = DedupRecordV1 {
        expires: d.expires,
        id: d.message_id.clone(),
        seq: d.sequence.clone(),
    };
    Op::Put {
        ks: KS_DEDUP,
        key: dedup_key(uid, key),
        value: serde_json::to_vec(&rec).unwrap_or_default(),
    }
}

/// Deletes for expired messages and deduplication ids.
pub fn expiry_ops(uid: &str, msgs: &[u64], dedups: &[String]) -> Vec<Op> {
    let mut ops = Vec::new();
    for &seq in msgs {
        delete_msg(uid, seq, &mut ops);
    }
    for k in dedups {
        ops.push(Op::Delete {
            ks: KS_DEDUP,
            key: dedup_key(uid, k),
        });
    }
    ops
}

fn seq_of_key(key: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(key).ok()?;
    let (_, hex) = text.rsplit_once('/')?;
    u64::from_str_radix(hex, 16).ok()
}

/// A message from its record.
pub fn message_of(seq: u64, rec: MessageRecordV1, now: u64) -> Message {
    let attrs: BTreeMap<String, MessageAttribute> = rec
        .attrs
        .into_iter()
        .map(|(k, (dt, s, b))| {
            (
                k,
                MessageAttribute {
                    data_type: dt,
                    string_value: s,
                    binary_value: b.and_then(|b| STANDARD.decode(b).ok()),
                },
            )
        })
        .collect();
    let md5_attrs = crate::md5::of_attributes(&attrs);
    let md5_sys = rec
        .trace
        .as_ref()
        .map(|t| crate::ops::messages::md5_of_trace(t));
    Message {
        seq,
        md5_body: crate::md5::of_body(&rec.body),
        id: rec.id,
        body: rec.body,
        attrs,
        md5_attrs,
        trace: rec.trace,
        md5_sys,
        sent_ms: rec.sent,
        sender: rec.sender,
        group: rec.group,
        dedup: rec.dedup,
        dlq_source: rec.dlq_source,
        receive_count: rec.rc,
        first_receive_ms: 0,
        nonce: 0,
        state: if rec.visible > now {
            State::Delayed(rec.visible)
        } else {
            State::Available
        },
    }
}

/// Every queue with its messages, receive states and deduplication ids.
pub fn load(store: &Store, now: u64) -> Result<Vec<Arc<Queue>>> {
    let mut out = Vec::new();
    for (_, raw) in store.scan_all(KS_QUEUES, b"")? {
        let meta: QueueMeta = match serde_json::from_slice(&raw) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %e, "unreadable SQS queue definition skipped");
                continue;
            }
        };
        let q = Queue::new(meta);
        let prefix = format!("{}/", q.uid).into_bytes();
        let mut states: BTreeMap<u64, ReceiveStateV1> = BTreeMap::new();
        for (k, v) in store.scan_all(KS_STATE, &prefix)? {
            if let (Some(seq), Ok(st)) = (seq_of_key(&k), serde_json::from_slice(&v)) {
                states.insert(seq, st);
            }
        }
        {
            let mut inner = q.lock();
            for (k, v) in store.scan_all(KS_MSGS, &prefix)? {
                let Some(seq) = seq_of_key(&k) else { continue };
                let rec: MessageRecordV1 = match serde_json::from_slice(&v) {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::error!(queue = %q.name, error = %e, "unreadable SQS message skipped");
                        continue;
                    }
                };
                let mut m = message_of(seq, rec, now);
                if let Some(st) = states.get(&seq) {
                    m.receive_count = st.rc;
                    m.first_receive_ms = st.first;
                    m.nonce = st.nonce;
                    if st.until > now {
                        m.state = State::InFlight(st.until);
                    }
                }
                inner.st.insert(m);
            }
            for (k, v) in store.scan_all(KS_DEDUP, &prefix)? {
                let Ok(text) = String::from_utf8(k) else {
                    continue;
                };
                let Some((_, key)) = text.split_once('/') else {
                    continue;
                };
                if let Ok(rec) = serde_json::from_slice::<DedupRecordV1>(&v) {
                    if rec.expires > now {
                        inner.st.dedup_put(
                            key.to_string(),
                            Dedup {
                                expires: rec.expires,
                                message_id: rec.id,
                                sequence: rec.seq,
                            },
                        );
                    }
                }
            }
        }
        out.push(q);
    }
    Ok(out)
}
