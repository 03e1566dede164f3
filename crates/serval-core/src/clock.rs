//! Time as services see it: injectable so tests can run back-offs and TTLs fast.
//!
//! [`ScaledClock`] is platform time that runs `N` times faster than real time
//! (`serval serve --time-scale N`): platform now = start + real elapsed × N.
//! Services keep every timestamp, delay and deadline in platform time, and
//! turn a platform-time wait into the real time to sleep with
//! [`Clock::real_duration`].

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A source of wall-clock time.
pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since the Unix epoch.
    fn now_millis(&self) -> u64;

    /// How many platform seconds pass per real second (1 for the real clock).
    fn scale(&self) -> f64 {
        1.0
    }

    /// The real time to sleep for `platform` to pass on this clock.
    fn real_duration(&self, platform: Duration) -> Duration {
        let scale = self.scale();
        if scale == 1.0 || !scale.is_finite() || scale <= 0.0 {
            return platform;
        }
        platform.div_f64(scale)
    }
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

fn system_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis() as u64
}

impl Clock for SystemClock {
    fn now_millis(&self) -> u64 {
        system_millis()
    }
}

/// Platform time running `scale` times faster than real time from the moment
/// it was made (which is also when the two agree).
#[derive(Debug, Clone, Copy)]
pub struct ScaledClock {
    start_millis: u64,
    start: Instant,
    scale: f64,
}

impl ScaledClock {
    /// A clock that agrees with real time now and then runs `scale` times
    /// faster (a scale that is not a positive finite number counts as 1).
    pub fn new(scale: f64) -> Self {
        let scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        ScaledClock {
            start_millis: system_millis(),
            start: Instant::now(),
            scale,
        }
    }
}

impl Clock for ScaledClock {
    fn now_millis(&self) -> u64 {
        if self.scale == 1.0 {
            return system_millis();
        }
        let elapsed = self.start.elapsed().as_secs_f64() * 1000.0 * self.scale;
        self.start_millis + elapsed as u64
    }

    fn scale(&self) -> f64 {
        self.scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_clock_runs_faster_and_converts_waits() {
        let c = ScaledClock::new(100.0);
        let t0 = c.now_millis();
        std::thread::sleep(Duration::from_millis(20));
        let passed = c.now_millis() - t0;
        assert!(passed >= 1_900, "{passed} ms of platform time in 20 ms");
        assert_eq!(
            c.real_duration(Duration::from_secs(60)),
            Duration::from_millis(600)
        );
        assert_eq!(
            SystemClock.real_duration(Duration::from_secs(3)),
            Duration::from_secs(3)
        );
        assert_eq!(ScaledClock::new(-1.0).scale(), 1.0);
        assert_eq!(ScaledClock::new(f64::NAN).scale(), 1.0);
    }
}
