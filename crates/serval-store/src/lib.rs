//! Serval's one durable store. Every service keeps its state here, each in
//! its own keyspace. It is SQLite in WAL mode: an acknowledged write survives
//! `kill -9` of the process (and, with [`SyncMode::Full`], power loss). Writes
//! go through one writer thread that commits whatever arrived together in one
//! transaction (group commit); reads use their own connections and never wait
//! for the writer. It knows nothing of the services' record shapes.

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Store failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("storage engine: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The writer thread has stopped.
    #[error("store is closed")]
    Closed,
    /// A value could not be encoded or decoded.
    #[error("codec: {0}")]
    Codec(String),
}

impl From<StoreError> for serval_core::AwsError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store failure");
        serval_core::AwsError::internal("An internal storage error occurred")
    }
}

/// How hard a commit is pushed to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncMode {
    /// Survives a crash of the process (WAL, `synchronous=NORMAL`).
    #[default]
    Normal,
    /// Survives power loss: fsync per commit (shared by a group of writers).
    Full,
}

/// A key and its value, as scans return them.
pub type Entry = (Vec<u8>, Vec<u8>);

/// One change in a write batch.
#[derive(Debug, Clone)]
pub enum Op {
    /// Insert or replace a key.
    Put {
        /// Keyspace name.
        ks: &'static str,
        /// Key bytes.
        key: Vec<u8>,
        /// Value bytes.
        value: Vec<u8>,
    },
    /// Delete a key (no error when absent).
    Delete {
        /// Keyspace name.
        ks: &'static str,
        /// Key bytes.
        key: Vec<u8>,
    },
    /// Delete every key that starts with a prefix.
    DeletePrefix {
        /// Keyspace name.
        ks: &'static str,
        /// Key prefix.
        prefix: Vec<u8>,
    },
}

struct Job {
    ops: Vec<Op>,
    done: Option<oneshot::Sender<Result<(), String>>>,
    done_sync: Option<mpsc::Sender<Result<(), String>>>,
}

/// A submitted write that has not been confirmed durable yet.
pub struct Pending(oneshot::Receiver<Result<(), String>>);

impl Pending {
    /// Waits until the batch is committed.
    pub async fn wait(self) -> Result<(), StoreError> {
        self.0
            .await
            .map_err(|_| StoreError::Closed)?
            .map_err(StoreError::Codec)
    }
}

/// A handle to the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Option<mpsc::Sender<Job>>>,
    writer_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    checkpointer: Mutex<Option<(mpsc::Sender<()>, std::thread::JoinHandle<()>)>>,
    readers: Mutex<Vec<Connection>>,
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS kv (ks TEXT NOT NULL, k BLOB NOT NULL, v BLOB NOT NULL, PRIMARY KEY (ks, k)) WITHOUT ROWID;";

fn open_conn(path: &Path, sync: SyncMode) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let level = match sync {
        SyncMode::Normal => "NORMAL",
        SyncMode::Full => "FULL",
    };
    conn.pragma_update(None, "synchronous", level)?;
    // Reads through a memory map rather than a pread per page.
    conn.pragma_update(None, "mmap_size", 256i64 << 20)?;
    Ok(conn)
}

/// The smallest byte string greater than every string starting with `prefix`
/// (`None` when there is none, i.e. the prefix is all 0xff).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

fn apply(tx: &Connection, op: &Op) -> rusqlite::Result<()> {
    match op {
        Op::Put { ks, key, value } => {
            tx.prepare_cached("INSERT OR REPLACE INTO kv (ks, k, v) VALUES (?1, ?2, ?3)")?
                .execute(params![ks, key, value])?;
        }
        Op::Delete { ks, key } => {
            tx.prepare_cached("DELETE FROM kv WHERE ks = ?1 AND k = ?2")?
                .execute(params![ks, key])?;
        }
        Op::DeletePrefix { ks, prefix } => match prefix_end(prefix) {
            Some(end) => {
                tx.prepare_cached("DELETE FROM kv WHERE ks = ?1 AND k >= ?2 AND k < ?3")?
                    .execute(params![ks, prefix, end])?;
            }
            None => {
                tx.prepare_cached("DELETE FROM kv WHERE ks = ?1 AND k >= ?2")?
                    .execute(params![ks, prefix])?;
            }
        },
    }
    Ok(())
}

/// How often the WAL is copied into the database.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Checkpoints the WAL in the background (PASSIVE: never blocks the writer
/// or readers) until told to stop.
fn checkpoint_loop(conn: Connection, stop: mpsc::Receiver<()>) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY) {
        let r: rusqlite::Result<(i64, i64, i64)> =
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            });
        if let Err(e) = r {
            tracing::warn!(error = %e, "background checkpoint failed");
        }
    }
}

/// How long the writer keeps looking for more work (yielding its CPU between
/// looks) before it sleeps. Under a stream of writes it then rarely sleeps,
/// and submitters rarely pay a futex wake-up, which on a small VM cost about a
/// quarter of a small write's time.
const LINGER: std::time::Duration = std::time::Duration::from_micros(50);

/// The next job: at once if one is queued, else after a short linger, else
/// when one arrives; `None` when every sender is gone.
fn next_job(rx: &mpsc::Receiver<Job>) -> Option<Job> {
    match rx.try_recv() {
        Ok(job) => return Some(job),
        Err(mpsc::TryRecvError::Disconnected) => return None,
        Err(mpsc::TryRecvError::Empty) => {}
    }
    let until = std::time::Instant::now() + LINGER;
    while std::time::Instant::now() < until {
        std::thread::yield_now();
        match rx.try_recv() {
            Ok(job) => return Some(job),
            Err(mpsc::TryRecvError::Disconnected) => return None,
            Err(mpsc::TryRecvError::Empty) => {}
        }
    }
    rx.recv().ok()
}

fn writer_loop(conn: Connection, rx: mpsc::Receiver<Job>) {
    while let Some(first) = next_job(&rx) {
        let mut jobs = vec![first];
        while let Ok(more) = rx.try_recv() {
            jobs.push(more);
            if jobs.len() >= 512 {
                break;
            }
        }
        // BEGIN/COMMIT as cached statements: parsing them anew for every
        // group commit showed in profiles of small writes
        let result = (|| -> rusqlite::Result<()> {
            conn.prepare_cached("BEGIN")?.execute([])?;
            let applied = jobs
                .iter()
                .flat_map(|job| job.ops.iter())
                .try_for_each(|op| apply(&conn, op));
            match applied {
                Ok(()) => conn.prepare_cached("COMMIT")?.execute([]).map(|_| ()),
                Err(e) => {
                    let _ = conn
                        .prepare_cached("ROLLBACK")
                        .and_then(|mut s| s.execute([]));
                    Err(e)
                }
            }
        })();
        let result = result.map_err(|e| e.to_string());
        if let Err(e) = &result {
            tracing::error!(error = %e, jobs = jobs.len(), "store commit failed");
        }
        for job in jobs {
            if let Some(done) = job.done {
                let _ = done.send(result.clone());
            }
            if let Some(done) = job.done_sync {
                let _ = done.send(result.clone());
            }
        }
    }
    let _ = conn.pragma_update(None, "wal_checkpoint", "TRUNCATE");
}

impl Store {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path, sync: SyncMode) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Codec(e.to_string()))?;
        let path = dir.join("serval.db");
        let conn = open_conn(&path, sync)?;
        conn.execute_batch(SCHEMA)?;
        // the writer never checkpoints: a checkpoint copies the WAL into the
        // database and, done inline, stalled every writer waiting on the
        // group commit; a thread of its own does it in the background
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer_loop(conn, rx))
            .map_err(|e| StoreError::Codec(e.to_string()))?;
        let cp_conn = open_conn(&path, sync)?;
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let cp_thread = std::thread::Builder::new()
            .name("store-checkpoint".into())
            .spawn(move || checkpoint_loop(cp_conn, stop_rx))
            .map_err(|e| StoreError::Codec(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(Some(tx)),
                writer_thread: Mutex::new(Some(thread)),
                checkpointer: Mutex::new(Some((stop_tx, cp_thread))),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    fn with_reader<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let conn = self.inner.readers.lock().ok().and_then(|mut v| v.pop());
        let conn = match conn {
            Some(c) => c,
            None => {
                let c = open_conn(&self.inner.path, SyncMode::Normal)?;
                c.pragma_update(None, "query_only", "ON")?;
                c
            }
        };
        let out = f(&conn);
        if let Ok(mut pool) = self.inner.readers.lock() {
            if pool.len() < 8 {
                pool.push(conn);
            }
        }
        Ok(out?)
    }

    /// The value of `key` in keyspace `ks`.
    pub fn get(&self, ks: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.with_reader(|c| {
            c.prepare_cached("SELECT v FROM kv WHERE ks = ?1 AND k = ?2")?
                .query_row(params![ks, key], |r| r.get(0))
                .optional()
        })
    }

    /// Every entry whose key starts with `prefix`, in key order, read in
    /// pages (for loading a service's state at start).
    pub fn scan_all(&self, ks: &str, prefix: &[u8]) -> Result<Vec<Entry>, StoreError> {
        const PAGE: usize = 10_000;
        let mut out = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = self.scan(ks, prefix, after.as_deref(), PAGE)?;
            let done = page.len() < PAGE;
            after = page.last().map(|(k, _)| k.clone());
            out.extend(page);
            if done {
                return Ok(out);
            }
        }
    }

    /// Up to `limit` entries whose key starts with `prefix`, in key order,
    /// strictly after `after` when given.
    pub fn scan(
        &self,
        ks: &str,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        let start: Vec<u8> = match after {
            Some(a) if a >= prefix => {
                let mut s = a.to_vec();
                s.push(0);
                s
            }
            _ => prefix.to_vec(),
        };
        let end = prefix_end(prefix);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with_reader(|c| {
            let mut out = Vec::new();
            match &end {
                Some(end) => {
                    let mut st = c.prepare_cached(
                        "SELECT k, v FROM kv WHERE ks = ?1 AND k >= ?2 AND k < ?3 ORDER BY k LIMIT ?4",
                    )?;
                    let rows = st.query_map(params![ks, start, end, limit], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })?;
                    for r in rows {
                        out.push(r?);
                    }
                }
                None => {
                    let mut st = c.prepare_cached(
                        "SELECT k, v FROM kv WHERE ks = ?1 AND k >= ?2 ORDER BY k LIMIT ?3",
                    )?;
                    let rows =
                        st.query_map(params![ks, start, limit], |r| Ok((r.get(0)?, r.get(1)?)))?;
                    for r in rows {
                        out.push(r?);
                    }
                }
            }
            Ok(out)
        })
    }

    fn sender(&self) -> Result<mpsc::Sender<Job>, StoreError> {
        self.inner
            .writer
            .lock()
            .ok()
            .and_then(|w| w.clone())
            .ok_or(StoreError::Closed)
    }

    /// Commits `ops` atomically; returns once they are durable.
    pub async fn write(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        self.submit(ops)?.wait().await
    }

    /// Queues `ops` for the next commit and returns at once; the commit is
    /// ordered after every batch submitted before it (so a caller holding its
    /// own lock while submitting keeps the store in the order of its memory).
    /// Await [`Pending::wait`] before acknowledging the write.
    pub fn submit(&self, ops: Vec<Op>) -> Result<Pending, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.sender()?
            .send(Job {
                ops,
                done: Some(tx),
                done_sync: None,
            })
            .map_err(|_| StoreError::Closed)?;
        Ok(Pending(rx))
    }

    /// Like [`Store::write`], for synchronous callers (not on an async runtime thread).
    pub fn write_blocking(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        let (tx, rx) = mpsc::channel();
        self.sender()?
            .send(Job {
                ops,
                done: None,
                done_sync: Some(tx),
            })
            .map_err(|_| StoreError::Closed)?;
        rx.recv()
            .map_err(|_| StoreError::Closed)?
            .map_err(StoreError::Codec)
    }

    /// Queues `ops` without waiting for the commit (for logs and other
    /// best-effort records; ordering with later writes is kept).
    pub fn write_detached(&self, ops: Vec<Op>) {
        if let Ok(s) = self.sender() {
            let _ = s.send(Job {
                ops,
                done: None,
                done_sync: None,
            });
        }
    }

    /// Flushes pending writes, stops the writer and checkpoints the WAL.
    pub fn close(&self) {
        let checkpointer = self
            .inner
            .checkpointer
            .lock()
            .ok()
            .and_then(|mut c| c.take());
        if let Some((stop, handle)) = checkpointer {
            drop(stop);
            let _ = handle.join();
        }
        if let Ok(mut w) = self.inner.writer.lock() {
            w.take();
        }
        let handle = self
            .inner
            .writer_thread
            .lock()
            .ok()
            .and_then(|mut t| t.take());
        if let Some(h) = handle {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(key: &str, value: &str) -> Op {
        Op::Put {
            ks: "t",
            key: key.as_bytes().to_vec(),
            value: value.as_bytes().to_vec(),
        }
    }

    #[tokio::test]
    async fn put_get_scan_delete() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Codec(e.to_string()))?;
        let store = Store::open(dir.path(), SyncMode::Normal)?;
        store
            .write(vec![put("a/1", "x"), put("a/2", "y"), put("b/1", "z")])
            .await?;
        assert_eq!(store.get("t", b"a/2")?, Some(b"y".to_vec()));
        assert_eq!(store.get("other", b"a/2")?, None);
        let all = store.scan("t", b"a/", None, 10)?;
        assert_eq!(all.len(), 2);
        let after = store.scan("t", b"a/", Some(b"a/1"), 10)?;
        assert_eq!(after, vec![(b"a/2".to_vec(), b"y".to_vec())]);
        store
            .write(vec![Op::DeletePrefix {
                ks: "t",
                prefix: b"a/".to_vec(),
            }])
            .await?;
        assert!(store.scan("t", b"a/", None, 10)?.is_empty());
        assert_eq!(store.get("t", b"b/1")?, Some(b"z".to_vec()));
        Ok(())
    }

    #[tokio::test]
    async fn survives_reopen() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Codec(e.to_string()))?;
        {
            let store = Store::open(dir.path(), SyncMode::Normal)?;
            store.write(vec![put("k", "v")]).await?;
            // No close(): like a crash after the acknowledgement.
        }
        let store = Store::open(dir.path(), SyncMode::Full)?;
        assert_eq!(store.get("t", b"k")?, Some(b"v".to_vec()));
        Ok(())
    }

    #[test]
    fn prefix_end_handles_ff() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[0x61, 0xff]), Some(vec![0x62]));
        assert_eq!(prefix_end(&[0xff]), None);
    }
}
