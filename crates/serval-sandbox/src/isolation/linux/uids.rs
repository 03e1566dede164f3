//! Users for environments: each Serval on the host leases a block of uids
//! (an flock'd file every Serval shares), and never gives a uid to a second
//! environment while the first lives.

#![allow(unsafe_code)]

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

/// Each environment runs as a user of its own, from this range (no host
/// account uses it): environments cannot signal or trace each other, and
/// the Runtime API can tell its own environment's connections apart. Each
/// Serval on the host leases its own block of UIDS_PER_SERVAL.
pub(super) const FIRST_UID: u32 = 2_000_000;
const UIDS_PER_SERVAL: u32 = 100_000;
const UID_BLOCKS: u32 = 1_000;

/// This Serval's block of uids and which of them are in use.
pub(super) struct Uids {
    base: u32,
    next: u32,
    live: std::collections::HashSet<u32>,
    /// The flock'd lease file of the block (held while Serval runs).
    _lease: Option<File>,
}

impl Uids {
    /// Leases a free block: an exclusive lock on `<dir>/uid-block-N.lock`
    /// in a directory every Serval on the host shares.
    pub(super) fn lease() -> Uids {
        let dir = Path::new("/run/serval");
        let dir = if std::fs::create_dir_all(dir).is_ok() {
            dir.to_path_buf()
        } else {
            std::env::temp_dir().join("serval-uid-leases")
        };
        let _ = std::fs::create_dir_all(&dir);
        for block in 0..UID_BLOCKS {
            let Ok(f) = File::options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(dir.join(format!("uid-block-{block}.lock")))
            else {
                continue;
            };
            // SAFETY: flock on a descriptor we own.
            if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                return Uids {
                    base: FIRST_UID + block * UIDS_PER_SERVAL,
                    next: 0,
                    live: Default::default(),
                    _lease: Some(f),
                };
            }
        }
        tracing::warn!(
            "no free uid block to lease; environments may share uids with another Serval"
        );
        Uids {
            base: FIRST_UID,
            next: 0,
            live: Default::default(),
            _lease: None,
        }
    }

    /// A uid no live environment of this Serval has.
    pub(super) fn take(&mut self) -> std::io::Result<u32> {
        for _ in 0..UIDS_PER_SERVAL {
            let uid = self.base + self.next % UIDS_PER_SERVAL;
            self.next = self.next.wrapping_add(1);
            if self.live.insert(uid) {
                return Ok(uid);
            }
        }
        Err(std::io::Error::other("every environment uid is in use"))
    }

    pub(super) fn release(&mut self, uid: u32) {
        self.live.remove(&uid);
    }
}
