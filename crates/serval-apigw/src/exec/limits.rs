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
    /// An IAM policy answer, evaluated against each request's ARN.
    Policy(Value),
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

/// Requests counted against usage plan quotas, per plan, key and period;
/// written through to the store (without waiting for the commit), so a
/// restart keeps the period's usage.
#[derive(Default)]
pub struct Quotas {
    counts: Mutex<HashMap<(String, String), (i64, u64)>>,
    store: Option<serval_store::Store>,
}

const USAGE_PREFIX: &str = "usage/";

/// The quota period an instant falls in (days, weeks or months since the epoch).
fn period_of(period: &str, offset: i64, millis: u64) -> i64 {
    let days = (millis / 86_400_000) as i64 - offset.max(0);
    match period {
        "WEEK" => (days + 3).div_euclid(7),
        "MONTH" => {
            let (y, m) = serval_core::time::year_month(millis);
            y * 12 + i64::from(m)
        }
        _ => days,
    }
}

impl Quotas {
    /// Counters as the store last saw them.
    pub fn load(store: serval_store::Store) -> Self {
        let mut counts = HashMap::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let Ok(page) = store.scan(
                crate::table::KS,
                USAGE_PREFIX.as_bytes(),
                after.as_deref(),
                1000,
            ) else {
                break;
            };
            let Some(last) = page.last() else { break };
            after = Some(last.0.clone());
            for (k, v) in &page {
                let key = String::from_utf8_lossy(&k[USAGE_PREFIX.len()..]).into_owned();
                let val = String::from_utf8_lossy(v).into_owned();
                let (Some((plan, api_key)), Some((period, n))) =
                    (key.split_once('/'), val.split_once(' '))
                else {
                    continue;
                };
                if let (Ok(period), Ok(n)) = (period.parse::<i64>(), n.parse::<u64>()) {
                    counts.insert((plan.to_string(), api_key.to_string()), (period, n));
                }
            }
        }
        Self {
            counts: Mutex::new(counts),
            store: Some(store),
        }
    }

    /// Requests used in the current period.
    pub fn used(
        &self,
        plan: &str,
        key: &str,
        quota: Option<&crate::v1::model::Quota>,
        now_ms: u64,
    ) -> u64 {
        let Some(q) = quota else { return 0 };
        let p = period_of(&q.period, q.offset, now_ms);
        let m = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        match m.get(&(plan.to_string(), key.to_string())) {
            Some((period, n)) if *period == p => *n,
            _ => 0,
        }
    }

    /// Counts one request; false when the quota is used up.
    pub fn take(&self, plan: &str, key: &str, q: &crate::v1::model::Quota, now_ms: u64) -> bool {
        let p = period_of(&q.period, q.offset, now_ms);
        let mut m = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let e = m
            .entry((plan.to_string(), key.to_string()))
            .or_insert((p, 0));
        if e.0 != p {
            *e = (p, 0);
        }
        if e.1 as i64 >= q.limit {
            return false;
        }
        e.1 += 1;
        if let Some(store) = &self.store {
            store.write_detached(vec![serval_store::Op::Put {
                ks: crate::table::KS,
                key: format!("{USAGE_PREFIX}{plan}/{key}").into_bytes(),
                value: format!("{} {}", e.0, e.1).into_bytes(),
            }]);
        }
        true
    }
}

/// Cached REST API responses by `api/stage/method/path?query`.
#[derive(Default)]
pub struct ResponseCache {
    entries: Mutex<HashMap<String, (Instant, serval_wire::Response)>>,
}

impl ResponseCache {
    /// A cached response that has not expired.
    pub fn get(&self, key: &str) -> Option<serval_wire::Response> {
        let m = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        m.get(key)
            .filter(|(exp, _)| *exp > Instant::now())
            .map(|(_, r)| r.clone())
    }

    /// Caches a response for `ttl`.
    pub fn put(&self, key: String, ttl: Duration, r: serval_wire::Response) {
        if ttl.is_zero() {
            return;
        }
        let mut m = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() >= 10_000 {
            let now = Instant::now();
            m.retain(|_, (exp, _)| *exp > now);
            if m.len() >= 10_000 {
                m.clear();
            }
        }
        m.insert(key, (Instant::now() + ttl, r));
    }

    /// Forgets an API's cached responses.
    pub fn forget_api(&self, api_id: &str) {
        let prefix = format!("{api_id}/");
        let mut m = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        m.retain(|k, _| !k.starts_with(&prefix));
    }
}
