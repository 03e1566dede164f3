//! The worker manager: pools of execution environments per function version,
//! warm reuse, cold starts within the scaling rate and the host's memory
//! budget, provisioned environments, idle reaping and retirement on update.

use crate::error::LambdaError;
use crate::placement::{Placed, Placement};
use crate::registry::FnKey;
use serval_sandbox::{EnvSpec, Environment, Runtimes, Sandbox, StartError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// AWS: each function may add 1,000 environments every 10 seconds.
const SCALE_BURST: f64 = 1000.0;
const SCALE_PER_SEC: f64 = 100.0;

/// One pool: environments of one function version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolKey {
    /// The function.
    pub function: FnKey,
    /// `$LATEST` or a version number.
    pub version: String,
}

struct Idle {
    env: Environment,
    placed: Placed,
    since: Instant,
    provisioned: bool,
}

struct Pool {
    /// Revision of the configuration the environments were started from.
    revision: String,
    idle: Vec<Idle>,
    /// Provisioned environments wanted for this version.
    provisioned_target: u32,
    /// Provisioned environments alive (idle or busy).
    provisioned_live: u32,
}

/// The scaling rate of one function (all its versions): a token bucket.
struct Bucket {
    tokens: f64,
    refilled: Instant,
}

impl Pool {
    fn new(revision: &str) -> Self {
        Self {
            revision: revision.to_string(),
            idle: Vec::new(),
            provisioned_target: 0,
            provisioned_live: 0,
        }
    }
}

impl Bucket {
    fn new() -> Self {
        Self {
            tokens: SCALE_BURST,
            refilled: Instant::now(),
        }
    }

    fn take_token(&mut self) -> bool {
        let now = Instant::now();
        let add = now.duration_since(self.refilled).as_secs_f64() * SCALE_PER_SEC;
        self.tokens = (self.tokens + add).min(SCALE_BURST);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// An environment lent to one invocation.
pub struct Lease {
    /// The environment.
    pub env: Environment,
    /// True when it was started for this invocation.
    pub cold: bool,
    key: PoolKey,
    revision: String,
    placed: Placed,
    provisioned: bool,
}

/// Why no environment could be had.
#[derive(Debug)]
pub enum AcquireError {
    /// Throttled (scaling rate or host capacity).
    Throttled(LambdaError),
    /// The environment could not be started.
    Start(StartError),
}

/// Owns every execution environment.
pub struct WorkerManager {
    runtimes: Arc<Runtimes>,
    sandbox: Arc<dyn Sandbox>,
    placement: Arc<Placement>,
    pools: Mutex<HashMap<PoolKey, Pool>>,
    idle_timeout: Duration,
    /// One provisioning run at a time, so concurrent requests do not both
    /// start the missing environments.
    provisioning: tokio::sync::Mutex<()>,
    /// Scaling rate per function.
    buckets: Mutex<HashMap<FnKey, Bucket>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl WorkerManager {
    /// A manager starting environments with `runtimes` in `sandbox`.
    pub fn new(
        runtimes: Arc<Runtimes>,
        sandbox: Arc<dyn Sandbox>,
        placement: Arc<Placement>,
        idle_timeout: Duration,
    ) -> Arc<Self> {
        Arc::new(Self {
            runtimes,
            sandbox,
            placement,
            pools: Mutex::new(HashMap::new()),
            idle_timeout,
            provisioning: tokio::sync::Mutex::new(()),
            buckets: Mutex::new(HashMap::new()),
        })
    }

    /// An idle environment for `key` at `revision`, or a newly started one.
    pub async fn acquire(
        &self,
        key: &PoolKey,
        revision: &str,
        spec: impl FnOnce(&'static str) -> EnvSpec,
        memory_mb: u32,
    ) -> Result<Lease, AcquireError> {
        let mut stale = Vec::new();
        let warm = {
            let mut pools = lock(&self.pools);
            let pool = pools
                .entry(key.clone())
                .or_insert_with(|| Pool::new(revision));
            if pool.revision != revision {
                stale.append(&mut pool.idle);
                pool.revision = revision.to_string();
                pool.provisioned_live = 0;
            }
            let mut found = None;
            // Prefer provisioned environments, then the most recently used.
            while let Some(pos) = pool
                .idle
                .iter()
                .rposition(|i| i.provisioned)
                .or_else(|| pool.idle.len().checked_sub(1))
            {
                let idle = pool.idle.swap_remove(pos);
                if idle.env.is_alive() {
                    found = Some(idle);
                    break;
                }
                if idle.provisioned {
                    pool.provisioned_live = pool.provisioned_live.saturating_sub(1);
                }
                stale.push(idle);
            }
            if found.is_none()
                && !lock(&self.buckets)
                    .entry(key.function.clone())
                    .or_insert_with(Bucket::new)
                    .take_token()
            {
                drop(pools);
                retire_all(stale);
                return Err(AcquireError::Throttled(LambdaError::TooManyRequests {
                    message: "Rate Exceeded.".into(),
                    reason: "FunctionInvocationRateLimitExceeded",
                }));
            }
            found
        };
        retire_all(stale);
        if let Some(idle) = warm {
            return Ok(Lease {
                env: idle.env,
                cold: false,
                key: key.clone(),
                revision: revision.to_string(),
                placed: idle.placed,
                provisioned: idle.provisioned,
            });
        }
        let placed = self.place(u64::from(memory_mb))?;
        let env = Environment::start(
            serval_core::ids::random_hex(16),
            Arc::new(spec("on-demand")),
            &self.runtimes,
            &self.sandbox,
        )
        .await
        .map_err(AcquireError::Start)?;
        Ok(Lease {
            env,
            cold: true,
            key: key.clone(),
            revision: revision.to_string(),
            placed,
            provisioned: false,
        })
    }

    fn place(&self, mb: u64) -> Result<Placed, AcquireError> {
        if let Some(p) = self.placement.try_place(mb) {
            return Ok(p);
        }
        // Make room by retiring the longest-idle on-demand environments.
        let mut victims = Vec::new();
        {
            let mut pools = lock(&self.pools);
            let mut all: Vec<(Instant, PoolKey, usize)> = pools
                .iter()
                .flat_map(|(k, p)| {
                    p.idle
                        .iter()
                        .enumerate()
                        .filter(|(_, i)| !i.provisioned)
                        .map(move |(n, i)| (i.since, k.clone(), n))
                })
                .collect();
            all.sort_by_key(|(since, _, _)| *since);
            let mut freed = 0;
            let mut by_pool: HashMap<PoolKey, Vec<usize>> = HashMap::new();
            for (_, k, n) in all {
                if freed >= mb {
                    break;
                }
                if let Some(p) = pools.get(&k) {
                    freed += u64::from(p.idle[n].env.spec().memory_mb);
                }
                by_pool.entry(k).or_default().push(n);
            }
            for (k, mut idx) in by_pool {
                idx.sort_unstable_by(|a, b| b.cmp(a));
                if let Some(p) = pools.get_mut(&k) {
                    for n in idx {
                        victims.push(p.idle.swap_remove(n));
                    }
                }
            }
        }
        retire_all(victims);
        self.placement.try_place(mb).ok_or_else(|| {
            AcquireError::Throttled(LambdaError::TooManyRequests {
                message: "Rate Exceeded.".into(),
                reason: "ConcurrentInvocationLimitExceeded",
            })
        })
    }

    /// Returns an environment after an invocation.
    pub fn release(&self, lease: Lease, reusable: bool) {
        let mut pools = lock(&self.pools);
        // A provisioned environment beyond a lowered target is not kept.
        let surplus = lease.provisioned
            && pools
                .get(&lease.key)
                .is_some_and(|p| p.provisioned_live > p.provisioned_target);
        let keep = reusable
            && !surplus
            && lease.env.is_alive()
            && pools
                .get(&lease.key)
                .is_some_and(|p| p.revision == lease.revision);
        if keep {
            if let Some(pool) = pools.get_mut(&lease.key) {
                pool.idle.push(Idle {
                    env: lease.env,
                    placed: lease.placed,
                    since: Instant::now(),
                    provisioned: lease.provisioned,
                });
            }
            return;
        }
        if lease.provisioned {
            if let Some(pool) = pools.get_mut(&lease.key) {
                pool.provisioned_live = pool.provisioned_live.saturating_sub(1);
            }
        }
        drop(pools);
        tokio::spawn(lease.env.shutdown());
    }

    /// Stops every idle environment of a function version (after an update)
    /// and makes busy ones retire when they come back.
    pub fn retire(&self, key: &PoolKey) {
        let victims = {
            let mut pools = lock(&self.pools);
            pools.remove(key).map(|p| p.idle).unwrap_or_default()
        };
        retire_all(victims);
    }

    /// Stops every environment of every version of a function.
    pub fn retire_function(&self, function: &FnKey) {
        lock(&self.buckets).remove(function);
        let victims: Vec<Idle> = {
            let mut pools = lock(&self.pools);
            let keys: Vec<PoolKey> = pools
                .keys()
                .filter(|k| &k.function == function)
                .cloned()
                .collect();
            keys.iter()
                .filter_map(|k| pools.remove(k))
                .flat_map(|p| p.idle)
                .collect()
        };
        retire_all(victims);
    }

    /// Stops on-demand environments idle for longer than the idle timeout.
    pub fn reap_idle(&self) {
        let now = Instant::now();
        let victims: Vec<Idle> = {
            let mut pools = lock(&self.pools);
            let mut out = Vec::new();
            for pool in pools.values_mut() {
                let mut i = 0;
                while i < pool.idle.len() {
                    let idle = &pool.idle[i];
                    let expired =
                        !idle.provisioned && now.duration_since(idle.since) >= self.idle_timeout;
                    if expired || !idle.env.is_alive() {
                        if idle.provisioned {
                            pool.provisioned_live = pool.provisioned_live.saturating_sub(1);
                        }
                        out.push(pool.idle.swap_remove(i));
                    } else {
                        i += 1;
                    }
                }
            }
            out
        };
        retire_all(victims);
    }

    /// Brings the provisioned environments of a version to `target`, started
    /// and initialised. Returns how many are ready.
    pub async fn provision(
        &self,
        key: &PoolKey,
        revision: &str,
        target: u32,
        spec: impl Fn(&'static str) -> EnvSpec,
        memory_mb: u32,
    ) -> u32 {
        let _one_at_a_time = self.provisioning.lock().await;
        let (missing, surplus) = {
            let mut pools = lock(&self.pools);
            let pool = pools
                .entry(key.clone())
                .or_insert_with(|| Pool::new(revision));
            pool.provisioned_target = target;
            let mut surplus = Vec::new();
            while pool.provisioned_live > target {
                match pool.idle.iter().position(|i| i.provisioned) {
                    Some(pos) => {
                        surplus.push(pool.idle.swap_remove(pos));
                        pool.provisioned_live -= 1;
                    }
                    None => break,
                }
            }
            (target.saturating_sub(pool.provisioned_live), surplus)
        };
        retire_all(surplus);
        let mut started = Vec::new();
        for _ in 0..missing {
            let Some(placed) = self.placement.try_place(u64::from(memory_mb)) else {
                break;
            };
            let id = serval_core::ids::random_hex(16);
            let Ok(mut env) = Environment::start(
                id,
                Arc::new(spec("provisioned-concurrency")),
                &self.runtimes,
                &self.sandbox,
            )
            .await
            else {
                break;
            };
            if env.wait_ready(Duration::from_secs(10)).await.is_err() {
                env.shutdown().await;
                break;
            }
            let _ = env.take_logs().await;
            started.push(Idle {
                env,
                placed,
                since: Instant::now(),
                provisioned: true,
            });
        }
        let mut pools = lock(&self.pools);
        let pool = pools
            .entry(key.clone())
            .or_insert_with(|| Pool::new(revision));
        pool.provisioned_live += started.len() as u32;
        pool.idle.extend(started);
        pool.provisioned_live
    }

    /// Provisioned environments alive for a version.
    pub fn provisioned_live(&self, key: &PoolKey) -> u32 {
        lock(&self.pools)
            .get(key)
            .map(|p| p.provisioned_live)
            .unwrap_or(0)
    }

    /// Stops every environment (server shutdown).
    pub async fn shutdown(&self) {
        let victims: Vec<Idle> = {
            let mut pools = lock(&self.pools);
            pools.drain().flat_map(|(_, p)| p.idle).collect()
        };
        let mut tasks = Vec::new();
        for v in victims {
            tasks.push(tokio::spawn(v.env.shutdown()));
        }
        for t in tasks {
            let _ = t.await;
        }
    }

    /// Environments alive and idle, by count.
    pub fn idle_count(&self) -> usize {
        lock(&self.pools).values().map(|p| p.idle.len()).sum()
    }
}

fn retire_all(victims: Vec<Idle>) {
    for v in victims {
        // The memory is free for the next environment at once; the process
        // gets its grace period in the background.
        let Idle { env, placed, .. } = v;
        drop(placed);
        tokio::spawn(env.shutdown());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_bucket_allows_a_burst_of_1000_then_refills() {
        let mut b = Bucket::new();
        let taken = (0..1100).filter(|_| b.take_token()).count();
        // 1,000 at once, plus whatever refilled while looping (100/s).
        assert!((1000..1005).contains(&taken), "took {taken}");
        b.refilled -= Duration::from_millis(100);
        assert!(b.take_token(), "100 ms refill 10 environments");
    }
}
