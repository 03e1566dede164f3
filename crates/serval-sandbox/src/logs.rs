//! Collects what a function process writes to stdout and stderr (one pipe,
//! so the order is kept) and hands it out per invocation.

use serval_core::{Clock, SystemClock};
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};
use tokio::net::unix::pipe;
use tokio::sync::{mpsc, oneshot};

/// The longest single log line kept (AWS cuts events at 256 KB).
const MAX_LINE: usize = 256 * 1024;
/// Lines buffered while nobody drains them (between invocations).
const MAX_BUFFERED: usize = 10_000;

#[derive(Default)]
struct Buffer {
    lines: Vec<(u64, String)>,
    partial: Vec<u8>,
}

impl Buffer {
    fn push_bytes(&mut self, data: &[u8]) {
        let now = SystemClock.now_millis();
        for chunk in data.split_inclusive(|b| *b == b'\n') {
            if let Some(line) = chunk.strip_suffix(b"\n") {
                self.partial.extend_from_slice(line);
                let text = String::from_utf8_lossy(&self.partial).into_owned();
                self.partial.clear();
                if self.lines.len() < MAX_BUFFERED {
                    self.lines.push((now, text));
                }
            } else {
                self.partial.extend_from_slice(chunk);
                if self.partial.len() >= MAX_LINE {
                    let text = String::from_utf8_lossy(&self.partial).into_owned();
                    self.partial.clear();
                    self.lines.push((now, text));
                }
            }
        }
    }
}

/// Reads a process's output pipe in the background.
pub(crate) struct LogReader {
    buffer: Arc<Mutex<Buffer>>,
    flush: mpsc::Sender<oneshot::Sender<()>>,
}

impl LogReader {
    /// Starts reading `fd` (the read end of the process's output pipe).
    pub(crate) fn start(fd: OwnedFd) -> std::io::Result<Self> {
        let rx = pipe::Receiver::from_owned_fd(fd)?;
        let buffer = Arc::new(Mutex::new(Buffer::default()));
        let (flush, mut flush_rx) = mpsc::channel::<oneshot::Sender<()>>(4);
        let buf = buffer.clone();
        tokio::spawn(async move {
            let mut data = vec![0u8; 64 * 1024];
            let mut open = true;
            loop {
                tokio::select! {
                    r = rx.readable(), if open => {
                        if r.is_err() { open = false; continue; }
                        if !drain(&rx, &mut data, &buf) { open = false; }
                    }
                    req = flush_rx.recv() => {
                        let Some(ack) = req else { break };
                        if open && !drain(&rx, &mut data, &buf) { open = false; }
                        let _ = ack.send(());
                    }
                }
            }
        });
        Ok(Self { buffer, flush })
    }

    /// Reads everything already written to the pipe, then returns the lines
    /// collected since the last call.
    pub(crate) async fn take(&self) -> Vec<(u64, String)> {
        let (tx, rx) = oneshot::channel();
        if self.flush.send(tx).await.is_ok() {
            let _ = rx.await;
        }
        match self.buffer.lock() {
            Ok(mut b) => std::mem::take(&mut b.lines),
            Err(_) => Vec::new(),
        }
    }
}

/// Reads until the pipe would block. Returns false at end of file.
fn drain(rx: &pipe::Receiver, data: &mut [u8], buf: &Mutex<Buffer>) -> bool {
    loop {
        match rx.try_read(data) {
            Ok(0) => {
                if let Ok(mut b) = buf.lock() {
                    if !b.partial.is_empty() {
                        b.push_bytes(b"\n");
                    }
                }
                return false;
            }
            Ok(n) => {
                if let Ok(mut b) = buf.lock() {
                    b.push_bytes(&data[..n]);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_and_keeps_partials() {
        let mut b = Buffer::default();
        b.push_bytes(b"one\ntw");
        b.push_bytes(b"o\nthree");
        let lines: Vec<_> = b.lines.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(lines, vec!["one", "two"]);
        assert_eq!(b.partial, b"three");
    }
}
