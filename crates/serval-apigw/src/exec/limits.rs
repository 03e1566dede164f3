//! Token buckets for stage, route and usage-plan throttling, and the
//! authorizer result cache.

use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
    rate: f64,
    burst: f64,
}

/// Rate/burst limiters by key (`api/stage`, `api/stage/route`, `plan/key`).
#[derive(Default)]
pub struct Throttles {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Throttles {
    /// Takes one token from the bucket of `key` (made with `rate` per second
    /// and `burst` capacity); false when it is empty. A bucket whose limits
    /// changed starts over with the new ones.
    pub fn admit(&self, key: &str, rate: f64, burst: f64) -> bool {
        if burst <= 0.0 && rate <= 0.0 {
            return false;
        }
        let now = Instant::now();
        let mut m = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let b = m.entry(key.to_string()).or_insert(Bucket {
            tokens: burst.max(1.0),
            last: now,
            rate,
            burst,
        });
        if b.rate != rate || b.burst != burst {
            *b = Bucket {
                tokens: burst.max(1.0),
                last: now,
                rate,
                burst,
            };
        }
        let elapsed = now.duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(burst.max(1.0));
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Forgets every bucket whose key starts with `prefix`.
    pub fn forget(&self, prefix: &str) {
        let mut m = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        m.retain(|k, _| !k.starts_with(prefix));
    }
}

/// What an authorizer decided for one identity.
#[derive(Debug, Clone)]
pub enum AuthDecision {
    /// Allowed, with the context the integration sees.
    Allow(Value),
    /// Denied (403); `true` when a policy statement denied explicitly.
    Deny(bool),
    /// Not authenticated (401).
    Unauthorized,
}

/// The most authorizer results kept at once.
const MAX_CACHED: usize = 100_000;

/// Cached authorizer results by `api/authorizer/identity`, each with its TTL.
#[derive(Default)]
pub struct AuthCache {
    entries: Mutex<HashMap<String, (Instant, AuthDecision)>>,
}

impl AuthCache {
    /// A cached decision that has not expired.
    pub fn get(&self, key: &str) -> Option<AuthDecision> {
        let m = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        m.get(key)
            .filter(|(exp, _)| *exp > Instant::now())
            .map(|(_, d)| d.clone())
    }

    /// Caches a decision for `ttl`.
    pub fn put(&self, key: String, ttl: Duration, d: AuthDecision) {
        if ttl.is_zero() {
            return;
        }
        let mut m = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() >= MAX_CACHED {
            let now = Instant::now();
            m.retain(|_, (exp, _)| *exp > now);
            // Identities are the caller's to choose: never hold more than
            // the cap, even when every entry is still fresh.
            if m.len() >= MAX_CACHED {
                m.clear();
            }
        }
        m.insert(key, (Instant::now() + ttl, d));
    }

    /// Forgets every cached result of an API.
    pub fn clear_api(&self, api_id: &str) {
        let prefix = format!("{api_id}/");
        let mut m = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        m.retain(|k, _| !k.starts_with(&prefix));
    }
}
