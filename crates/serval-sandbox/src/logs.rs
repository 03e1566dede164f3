//! Collects what a function process writes to stdout and stderr (one pipe,
//! so the order is kept) and hands it out per invocation.

use serval_core::{Clock, SystemClock};
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};
use tokio::net::unix::pipe;

/// The longest single log line kept (AWS cuts events at 256 KB).
const MAX_LINE: usize = 256 * 1024;
/// Lines buffered while nobody drains them (between invocations).
const MAX_BUFFERED: usize = 10_000;
/// Bytes buffered between drains; output past this is dropped (noted once).
const MAX_BUFFERED_BYTES: usize = 8 * 1024 * 1024;

#[derive(Default)]
struct Buffer {
    lines: Vec<(u64, String)>,
    partial: Vec<u8>,
    bytes: usize,
    dropped: bool,
}

impl Buffer {
    fn push_line(&mut self, now: u64, text: String) {
        if self.lines.len() >= MAX_BUFFERED || self.bytes + text.len() > MAX_BUFFERED_BYTES {
            if !self.dropped {
                self.dropped = true;
                self.lines.push((
                    now,
                    "[serval] function output truncated: too much log output in one invocation"
                        .into(),
                ));
            }
            return;
        }
        self.bytes += text.len();
        self.lines.push((now, text));
    }

    fn push_bytes(&mut self, data: &[u8]) {
        let now = SystemClock.now_millis();
        for chunk in data.split_inclusive(|b| *b == b'\n') {
            if let Some(line) = chunk.strip_suffix(b"\n") {
                self.partial.extend_from_slice(line);
                let text = String::from_utf8_lossy(&self.partial).into_owned();
                self.partial.clear();
                self.push_line(now, text);
            } else {
                self.partial.extend_from_slice(chunk);
                if self.partial.len() >= MAX_LINE {
                    let text = String::from_utf8_lossy(&self.partial).into_owned();
                    self.partial.clear();
                    self.push_line(now, text);
                }
            }
        }
    }
}

/// Reads a process's output pipe in the background.
pub(crate) struct LogReader {
    buffer: Arc<Mutex<Buffer>>,
    pipe: Arc<pipe::Receiver>,
    task: tokio::task::JoinHandle<()>,
}

impl LogReader {
    /// Starts reading `fd` (the read end of the process's output pipe).
    pub(crate) fn start(fd: OwnedFd) -> std::io::Result<Self> {
        let pipe = Arc::new(pipe::Receiver::from_owned_fd(fd)?);
        let buffer = Arc::new(Mutex::new(Buffer::default()));
        let (buf, rx) = (buffer.clone(), pipe.clone());
        let task = tokio::spawn(async move {
            let mut data = Vec::with_capacity(64 * 1024);
            loop {
                if rx.readable().await.is_err() || !drain(&rx, &mut data, &buf) {
                    break;
                }
            }
        });
        Ok(Self { buffer, pipe, task })
    }

    /// Reads everything already written to the pipe, then returns the lines
    /// collected since the last call. Output written before the runtime
    /// answered is in the pipe by now, so nothing of the invocation is lost.
    pub(crate) async fn take(&self) -> Vec<(u64, String)> {
        // Not zeroed: zeroing 16 KB cost more than the rest of an invocation's
        // log handling, and the pipe is usually empty.
        let mut data = Vec::with_capacity(16 * 1024);
        drain(&self.pipe, &mut data, &self.buffer);
        match self.buffer.lock() {
            Ok(mut b) => {
                b.bytes = 0;
                b.dropped = false;
                std::mem::take(&mut b.lines)
            }
            Err(_) => Vec::new(),
        }
    }
}

impl Drop for LogReader {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads until the pipe would block, through `data` (its capacity is the
/// read size). Returns false at end of file. The buffer stays locked
/// throughout, so concurrent drains keep byte order.
fn drain(rx: &pipe::Receiver, data: &mut Vec<u8>, buf: &Mutex<Buffer>) -> bool {
    let mut b = match buf.lock() {
        Ok(b) => b,
        Err(p) => p.into_inner(),
    };
    loop {
        data.clear();
        match rx.try_read_buf(data) {
            Ok(0) => {
                if !b.partial.is_empty() {
                    b.push_bytes(b"\n");
                }
                return false;
            }
            Ok(_) => b.push_bytes(data),
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
