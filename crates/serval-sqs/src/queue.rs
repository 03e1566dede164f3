//! One queue in memory: its messages and the indexes that make receive,
//! delete and visibility changes cheap (no scan of the queue per request).
//!
//! - `msgs`: every message by sequence number (= send order), so retention
//!   expiry only ever looks at the front.
//! - `available`: standard queues, visible messages by sequence number.
//! - `groups` / `ready`: FIFO queues, each group's visible and in-flight
//!   messages in order, and the groups that may deliver (none of their
//!   messages in flight), by their first message.
//! - `timers`: delayed and in-flight messages by the time they become
//!   visible; due ones are released at the start of every operation.
//!
//! All times are platform milliseconds (see `serval_core::Clock`).

use crate::attrs::Config;
use serde::{Deserialize, Serialize};
use serval_core::MessageAttribute;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Sent with a delay that has not passed.
    Delayed(u64),
    /// Visible: a receive may take it.
    Available,
    /// Received; invisible until the time given.
    InFlight(u64),
}

/// A message in a queue.
#[derive(Debug, Clone)]
pub struct Message {
    /// Sequence number in this queue (send order).
    pub seq: u64,
    /// The message id.
    pub id: String,
    /// The body.
    pub body: String,
    /// Message attributes.
    pub attrs: BTreeMap<String, MessageAttribute>,
    /// MD5 of the body.
    pub md5_body: String,
    /// MD5 of all message attributes.
    pub md5_attrs: Option<String>,
    /// X-Ray trace header.
    pub trace: Option<String>,
    /// MD5 of the system attributes sent with the message.
    pub md5_sys: Option<String>,
    /// Platform ms when first sent (kept across a move to a dead-letter queue).
    pub sent_ms: u64,
    /// Who sent it.
    pub sender: String,
    /// FIFO message group.
    pub group: Option<String>,
    /// FIFO deduplication id.
    pub dedup: Option<String>,
    /// ARN of the queue it was moved from, in a dead-letter queue.
    pub dlq_source: Option<String>,
    /// Times received.
    pub receive_count: u32,
    /// Platform ms of the first receive (0 before).
    pub first_receive_ms: u64,
    /// Nonce of the latest receive (its receipt handle carries it).
    pub nonce: u64,
    /// State.
    pub state: State,
}

/// A message as the store keeps it (`sqs_msg`), version 1.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessageRecordV1 {
    /// Message id.
    pub id: String,
    /// Body.
    pub body: String,
    /// Attributes: name -> (data type, string value, base64 binary value).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attrs: BTreeMap<String, (String, Option<String>, Option<String>)>,
    /// Trace header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    /// Sent, platform ms.
    pub sent: u64,
    /// Visible from (delay), platform ms.
    #[serde(default)]
    pub visible: u64,
    /// Sender id.
    pub sender: String,
    /// FIFO group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// FIFO dedup id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup: Option<String>,
    /// Dead-letter source ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dlq_source: Option<String>,
    /// Receives before this record (non-zero when moved from another queue).
    #[serde(default)]
    pub rc: u32,
}

/// The receive state of a message (`sqs_mst`), version 1: written on every
/// receive and visibility change without waiting for the commit.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct ReceiveStateV1 {
    /// Receive count.
    pub rc: u32,
    /// First receive, platform ms.
    pub first: u64,
    /// Invisible until, platform ms.
    pub until: u64,
    /// Nonce of the latest receive.
    pub nonce: u64,
}

/// A FIFO message group.
#[derive(Debug, Default)]
struct Group {
    /// Visible and in-flight messages, in order.
    seqs: BTreeSet<u64>,
    /// How many of them are in flight.
    inflight: usize,
    /// Its key in the ready set, when it is there.
    ready_at: Option<u64>,
}

/// A FIFO deduplication entry.
#[derive(Debug, Clone)]
pub struct Dedup {
    /// Platform ms when it stops applying.
    pub expires: u64,
    /// The message id the first send got.
    pub message_id: String,
    /// Its sequence number text.
    pub sequence: String,
}

/// The mutable part of a queue.
#[derive(Debug, Default)]
pub struct QueueState {
    /// Typed attributes.
    pub cfg: Config,
    /// Next sequence number.
    pub next_seq: u64,
    msgs: BTreeMap<u64, Message>,
    available: BTreeSet<u64>,
    groups: HashMap<String, Group>,
    ready: BTreeSet<(u64, String)>,
    timers: BTreeSet<(u64, u64)>,
    delayed: usize,
    inflight: usize,
    /// FIFO deduplication ids seen in the last 5 minutes.
    pub dedup: HashMap<String, Dedup>,
    dedup_order: VecDeque<(u64, String)>,
    /// When the last purge ran, platform ms.
    pub last_purge_ms: Option<u64>,
    /// Set when the queue is deleted (waiting receivers stop).
    pub deleted: bool,
}

/// What a receive took out of the queue.
#[derive(Debug, Default)]
pub struct Taken {
    /// Sequence numbers now in flight, in delivery order.
    pub received: Vec<u64>,
    /// Messages past maxReceiveCount, removed for the dead-letter queue.
    pub to_dlq: Vec<Message>,
}

/// The first FIFO sequence number text.
pub fn sequence_text(seq: u64) -> String {
    format!("{}", 10_000_000_000_000_000_000u128 + seq as u128)
}

impl QueueState {
    /// An empty queue with these attributes.
    pub fn new(cfg: Config) -> Self {
        QueueState {
            cfg,
            next_seq: 1,
            ..Default::default()
        }
    }

    /// `(visible, in flight, delayed)` counts.
    pub fn counts(&self) -> (usize, usize, usize) {
        (
            self.msgs.len() - self.inflight - self.delayed,
            self.inflight,
            self.delayed,
        )
    }

    /// Number of messages.
    pub fn len(&self) -> usize {
        self.msgs.len()
    }

    /// Whether the queue holds no message.
    pub fn is_empty(&self) -> bool {
        self.msgs.is_empty()
    }

    /// The message with this sequence number.
    pub fn get(&self, seq: u64) -> Option<&Message> {
        self.msgs.get(&seq)
    }

    /// The earliest time a delayed or in-flight message becomes visible.
    pub fn next_due(&self) -> Option<u64> {
        self.timers.first().map(|(t, _)| *t)
    }

    fn make_available(&mut self, seq: u64) {
        let Some(m) = self.msgs.get_mut(&seq) else {
            return;
        };
        match m.state {
            State::Delayed(_) => self.delayed -= 1,
            State::InFlight(_) => self.inflight -= 1,
            State::Available => return,
        }
        let was = m.state;
        m.state = State::Available;
        match m.group.clone().filter(|_| self.cfg.fifo) {
            Some(g) => {
                let group = self.groups.entry(g.clone()).or_default();
                if let State::InFlight(_) = was {
                    group.inflight = group.inflight.saturating_sub(1);
                } else {
                    group.seqs.insert(seq);
                }
                self.refresh_group(&g);
            }
            None => {
                self.available.insert(seq);
            }
        }
    }

    /// Puts a group in or out of the ready set after a change.
    fn refresh_group(&mut self, g: &str) {
        let Some(group) = self.groups.get_mut(g) else {
            return;
        };
        // Drop the group's ready entry (its head may have moved).
        if let Some(at) = group.ready_at.take() {
            self.ready.remove(&(at, g.to_string()));
        }
        if group.seqs.is_empty() && group.inflight == 0 {
            self.groups.remove(g);
            return;
        }
        if group.inflight == 0 {
            if let Some(&head) = group.seqs.first() {
                group.ready_at = Some(head);
                self.ready.insert((head, g.to_string()));
            }
        }
    }

    /// Releases delayed and in-flight messages whose time has come.
    pub fn release(&mut self, now: u64) {
        while let Some(&(due, seq)) = self.timers.first() {
            if due > now {
                break;
            }
            self.timers.pop_first();
            let current = self.msgs.get(&seq).map(|m| m.state);
            match current {
                Some(State::Delayed(t) | State::InFlight(t)) if t == due => {
                    self.make_available(seq)
                }
                _ => {}
            }
        }
    }

    /// Adds a message (state as given: delayed, available or in flight).
    pub fn insert(&mut self, m: Message) {
        let seq = m.seq;
        self.next_seq = self.next_seq.max(seq + 1);
        let state = m.state;
        let group = m.group.clone().filter(|_| self.cfg.fifo);
        self.msgs.insert(seq, m);
        match state {
            State::Delayed(t) => {
                self.delayed += 1;
                self.timers.insert((t, seq));
            }
            State::InFlight(t) => {
                self.inflight += 1;
                self.timers.insert((t, seq));
                if let Some(g) = group {
                    let grp = self.groups.entry(g.clone()).or_default();
                    grp.seqs.insert(seq);
                    grp.inflight += 1;
                    self.refresh_group(&g);
                }
            }
            State::Available => match group {
                Some(g) => {
                    self.groups.entry(g.clone()).or_default().seqs.insert(seq);
                    self.refresh_group(&g);
                }
                None => {
                    self.available.insert(seq);
                }
            },
        }
    }

    /// Removes a message from every index.
    pub fn remove(&mut self, seq: u64) -> Option<Message> {
        let m = self.msgs.remove(&seq)?;
        match m.state {
            State::Delayed(t) => {
                self.delayed -= 1;
                self.timers.remove(&(t, seq));
            }
            State::InFlight(t) => {
                self.inflight -= 1;
                self.timers.remove(&(t, seq));
            }
            State::Available => {
                self.available.remove(&seq);
            }
        }
        if let Some(g) = m.group.as_ref().filter(|_| self.cfg.fifo) {
            if let Some(group) = self.groups.get_mut(g) {
                if group.seqs.remove(&seq) {
                    if let State::InFlight(_) = m.state {
                        group.inflight = group.inflight.saturating_sub(1);
                    }
                }
            }
            let g = g.clone();
            self.refresh_group(&g);
        }
        Some(m)
    }

    /// Removes every message past the retention period; returns their sequence numbers.
    pub fn expire(&mut self, now: u64) -> Vec<u64> {
        let keep_ms = u64::from(self.cfg.retention) * 1000;
        let mut gone = Vec::new();
        while let Some((&seq, m)) = self.msgs.first_key_value() {
            if m.sent_ms.saturating_add(keep_ms) > now {
                break;
            }
            self.remove(seq);
            gone.push(seq);
        }
        gone
    }

    /// Takes up to `max` visible messages and puts them in flight until
    /// `now + visibility_ms`; messages already received `maxReceiveCount`
    /// times are removed for the dead-letter queue instead (when `redrive`).
    pub fn take(
        &mut self,
        now: u64,
        max: usize,
        visibility_ms: u64,
        redrive: Option<u32>,
        mut nonce: impl FnMut() -> u64,
    ) -> Taken {
        let mut out = Taken::default();
        while out.received.len() < max {
            let seqs: Vec<u64> = if self.cfg.fifo {
                // The first group that may deliver, as many of its messages as fit.
                let Some((_, g)) = self.ready.first().cloned() else {
                    break;
                };
                let room = max - out.received.len();
                let group = self.groups.get(&g);
                group
                    .map(|grp| grp.seqs.iter().take(room).copied().collect())
                    .unwrap_or_default()
            } else {
                match self.available.first() {
                    Some(&s) => vec![s],
                    None => break,
                }
            };
            if seqs.is_empty() {
                // A ready group without messages: drop it and go on.
                if let Some(first) = self.ready.pop_first() {
                    self.groups.remove(&first.1);
                }
                continue;
            }
            for seq in seqs {
                let over = match (redrive, self.msgs.get(&seq)) {
                    (Some(max_rc), Some(m)) => m.receive_count >= max_rc,
                    _ => false,
                };
                if over {
                    if let Some(m) = self.remove(seq) {
                        out.to_dlq.push(m);
                    }
                    continue;
                }
                self.receive_one(seq, now, visibility_ms, nonce());
                out.received.push(seq);
            }
        }
        out
    }

    fn receive_one(&mut self, seq: u64, now: u64, visibility_ms: u64, nonce: u64) {
        let fifo = self.cfg.fifo;
        let Some(m) = self.msgs.get_mut(&seq) else {
            return;
        };
        let until = now + visibility_ms;
        m.receive_count += 1;
        if m.first_receive_ms == 0 {
            m.first_receive_ms = now;
        }
        m.nonce = nonce;
        m.state = State::InFlight(until);
        let group = m.group.clone().filter(|_| fifo);
        self.inflight += 1;
        self.timers.insert((until, seq));
        match group {
            Some(g) => {
                if let Some(grp) = self.groups.get_mut(&g) {
                    grp.inflight += 1;
                }
                self.refresh_group(&g);
            }
            None => {
                self.available.remove(&seq);
            }
        }
    }

    /// Changes an in-flight message's visibility: visible again at
    /// `now + ms` (at once when `ms` is 0).
    pub fn set_visibility(&mut self, seq: u64, now: u64, ms: u64) {
        let Some(m) = self.msgs.get_mut(&seq) else {
            return;
        };
        let State::InFlight(old) = m.state else {
            return;
        };
        self.timers.remove(&(old, seq));
        let until = now + ms;
        m.state = State::InFlight(until);
        self.timers.insert((until, seq));
        if ms == 0 {
            self.release(now);
        }
    }

    /// Removes up to `max` visible messages, in delivery order (move tasks).
    pub fn drain_available(&mut self, max: usize) -> Vec<Message> {
        let mut out = Vec::new();
        while out.len() < max {
            let next = if self.cfg.fifo {
                self.ready
                    .first()
                    .and_then(|(_, g)| self.groups.get(g))
                    .and_then(|g| g.seqs.first().copied())
            } else {
                self.available.first().copied()
            };
            let Some(seq) = next else { break };
            match self.remove(seq) {
                Some(m) => out.push(m),
                None => break,
            }
        }
        out
    }

    /// Removes every message; returns how many there were.
    pub fn purge(&mut self) -> usize {
        let n = self.msgs.len();
        self.msgs.clear();
        self.available.clear();
        self.groups.clear();
        self.ready.clear();
        self.timers.clear();
        self.delayed = 0;
        self.inflight = 0;
        n
    }

    /// Every message (for moves and listing), in order.
    pub fn messages(&self) -> impl Iterator<Item = &Message> {
        self.msgs.values()
    }

    /// A deduplication entry still in force.
    pub fn dedup_hit(&mut self, key: &str, now: u64) -> Option<Dedup> {
        self.expire_dedup(now);
        self.dedup.get(key).cloned()
    }

    /// Remembers a deduplication id.
    pub fn dedup_put(&mut self, key: String, d: Dedup) {
        self.dedup_order.push_back((d.expires, key.clone()));
        self.dedup.insert(key, d);
    }

    /// Forgets expired deduplication ids; returns their keys.
    pub fn expire_dedup(&mut self, now: u64) -> Vec<String> {
        let mut gone = Vec::new();
        while let Some((t, _)) = self.dedup_order.front() {
            if *t > now {
                break;
            }
            if let Some((t, k)) = self.dedup_order.pop_front() {
                if self.dedup.get(&k).is_some_and(|d| d.expires == t) {
                    self.dedup.remove(&k);
                    gone.push(k);
                }
            }
        }
        gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(seq: u64, group: Option<&str>, state: State) -> Message {
        Message {
            seq,
            id: format!("m{seq}"),
            body: format!("b{seq}"),
            attrs: BTreeMap::new(),
            md5_body: String::new(),
            md5_attrs: None,
            trace: None,
            md5_sys: None,
            sent_ms: 1000 + seq,
            sender: "s".into(),
            group: group.map(str::to_string),
            dedup: None,
            dlq_source: None,
            receive_count: 0,
            first_receive_ms: 0,
            nonce: 0,
            state,
        }
    }

    fn std_queue() -> QueueState {
        QueueState::new(Config {
            retention: 60,
            visibility: 30,
            ..Default::default()
        })
    }

    #[test]
    fn standard_receive_visibility_and_delete() {
        let mut q = std_queue();
        for i in 1..=3 {
            q.insert(msg(i, None, State::Available));
        }
        q.insert(msg(4, None, State::Delayed(5_000)));
        assert_eq!(q.counts(), (3, 0, 1));
        let t = q.take(2_000, 2, 1_000, None, || 7);
        assert_eq!(t.received, vec![1, 2]);
        assert_eq!(q.counts(), (1, 2, 1));
        assert_eq!(q.get(1).map(|m| m.receive_count), Some(1));
        // visibility expires at 3000: 1 and 2 come back
        q.release(3_000);
        assert_eq!(q.counts(), (3, 0, 1));
        q.release(5_000);
        assert_eq!(q.counts(), (4, 0, 0));
        let t = q.take(5_000, 10, 1_000, None, || 8);
        assert_eq!(t.received, vec![1, 2, 3, 4]);
        assert_eq!(q.get(1).map(|m| m.receive_count), Some(2));
        q.remove(1);
        assert_eq!(q.counts(), (0, 3, 0));
        q.set_visibility(2, 5_500, 0);
        assert_eq!(q.counts(), (1, 2, 0));
    }

    #[test]
    fn redrive_removes_messages_past_max_receives() {
        let mut q = std_queue();
        q.insert(msg(1, None, State::Available));
        assert_eq!(q.take(0, 1, 10, Some(1), || 1).received, vec![1]);
        q.release(10);
        let t = q.take(10, 1, 10, Some(1), || 2);
        assert!(t.received.is_empty());
        assert_eq!(t.to_dlq.len(), 1);
        assert!(q.is_empty());
    }

    #[test]
    fn fifo_groups_are_ordered_and_locked_while_in_flight() {
        let mut q = QueueState::new(Config {
            fifo: true,
            retention: 60,
            ..Default::default()
        });
        q.insert(msg(1, Some("a"), State::Available));
        q.insert(msg(2, Some("b"), State::Available));
        q.insert(msg(3, Some("a"), State::Available));
        // one receive of 1 takes the head of group a only
        assert_eq!(q.take(0, 1, 100, None, || 1).received, vec![1]);
        // group a is locked: next comes b
        assert_eq!(q.take(0, 10, 100, None, || 1).received, vec![2]);
        assert!(q.take(0, 10, 100, None, || 1).received.is_empty());
        // deleting 1 unlocks a with 3 at its head
        q.remove(1);
        assert_eq!(q.take(0, 10, 100, None, || 1).received, vec![3]);
        // 3's visibility expires: it is delivered again, before anything later
        q.release(200);
        q.insert(msg(4, Some("a"), State::Available));
        assert_eq!(q.take(200, 10, 100, None, || 1).received, vec![2, 3, 4]);
    }

    #[test]
    fn retention_expires_from_the_front() {
        let mut q = std_queue();
        q.insert(msg(1, None, State::Available));
        q.insert(msg(2, None, State::Available));
        assert_eq!(q.expire(61_001), vec![1]);
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn dedup_window() {
        let mut q = std_queue();
        q.dedup_put(
            "k".into(),
            Dedup {
                expires: 300_000,
                message_id: "m".into(),
                sequence: String::new(),
            },
        );
        assert!(q.dedup_hit("k", 299_999).is_some());
        assert!(q.dedup_hit("k", 300_000).is_none());
    }
}
