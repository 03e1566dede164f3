//! Placement: whether the host has memory left for another environment.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The host's memory budget for execution environments.
pub struct Placement {
    budget_mb: u64,
    used_mb: AtomicU64,
}

/// Memory held by one environment; released on drop.
pub struct Placed {
    placement: Arc<Placement>,
    mb: u64,
}

impl Drop for Placed {
    fn drop(&mut self) {
        self.placement.used_mb.fetch_sub(self.mb, Ordering::AcqRel);
    }
}

impl Placement {
    /// A budget of `budget_mb` megabytes.
    pub fn new(budget_mb: u64) -> Arc<Self> {
        Arc::new(Self {
            budget_mb,
            used_mb: AtomicU64::new(0),
        })
    }

    /// A budget from the host's total memory (all of it: functions rarely use
    /// their configured size, and AWS bills by configuration, not usage).
    pub fn from_host() -> Arc<Self> {
        let total_kb = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .unwrap_or(8 * 1024 * 1024);
        // Configured memory is an upper bound, not usage: overcommit 8x.
        Self::new(total_kb / 1024 * 8)
    }

    /// Reserves `mb` for a new environment, if the budget allows.
    pub fn try_place(self: &Arc<Self>, mb: u64) -> Option<Placed> {
        let mut cur = self.used_mb.load(Ordering::Acquire);
        loop {
            if cur + mb > self.budget_mb {
                return None;
            }
            match self
                .used_mb
                .compare_exchange(cur, cur + mb, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    return Some(Placed {
                        placement: self.clone(),
                        mb,
                    })
                }
                Err(now) => cur = now,
            }
        }
    }

    /// Megabytes currently placed.
    pub fn used_mb(&self) -> u64 {
        self.used_mb.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_is_enforced_and_released() {
        let p = Placement::new(256);
        let a = p.try_place(128);
        let b = p.try_place(128);
        assert!(a.is_some() && b.is_some());
        assert!(p.try_place(1).is_none());
        drop(a);
        assert_eq!(p.used_mb(), 128);
        assert!(p.try_place(128).is_some());
    }
}
