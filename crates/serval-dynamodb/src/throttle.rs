//! Optional enforcement of provisioned throughput (`serve
//! --dynamodb-enforce-throughput`), for users who test their retry logic: a
//! provisioned table admits a request while its bucket holds capacity, the
//! bucket refills at the provisioned rate up to one second's worth, and what
//! a request consumed is charged after it ran (so a large read can go into
//! debt, as DynamoDB's burst accounting does). On-demand tables are never
//! throttled.

use crate::error;
use serval_core::AwsError;
use std::sync::Mutex;

#[derive(Debug, Default)]
struct Bucket {
    tokens: f64,
    last_ms: u64,
    started: bool,
}

impl Bucket {
    fn refill(&mut self, rate: f64, now_ms: u64) {
        if !self.started {
            self.started = true;
            self.tokens = rate;
        } else {
            let dt = now_ms.saturating_sub(self.last_ms) as f64 / 1000.0;
            self.tokens = (self.tokens + rate * dt).min(rate);
        }
        self.last_ms = now_ms;
    }
}

/// A table's read and write buckets.
#[derive(Debug, Default)]
pub struct Buckets {
    read: Mutex<Bucket>,
    write: Mutex<Bucket>,
}

/// ProvisionedThroughputExceededException.
pub fn exceeded() -> AwsError {
    error::err(
        "ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
    )
}

impl Buckets {
    fn bucket(&self, read: bool) -> std::sync::MutexGuard<'_, Bucket> {
        let m = if read { &self.read } else { &self.write };
        m.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a request may run now at `rate` units per second.
    pub fn admit(&self, read: bool, rate: u64, now_ms: u64) -> Result<(), AwsError> {
        let mut b = self.bucket(read);
        b.refill(rate as f64, now_ms);
        if b.tokens > 0.0 {
            Ok(())
        } else {
            Err(exceeded())
        }
    }

    /// Charges what a request consumed.
    pub fn charge(&self, read: bool, units: f64) {
        self.bucket(read).tokens -= units;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_at_the_provisioned_rate() {
        let b = Buckets::default();
        assert!(b.admit(false, 2, 1000).is_ok());
        b.charge(false, 2.0);
        assert!(b.admit(false, 2, 1000).is_err());
        assert!(b.admit(false, 2, 1600).is_ok());
        b.charge(false, 5.0);
        assert!(b.admit(false, 2, 2000).is_err());
        assert!(b.admit(false, 2, 4000).is_ok());
    }
}
