//! The lifecycle sweeper: a background task that applies each bucket's
//! lifecycle rules in platform time (`--time-scale` makes days pass fast):
//! current versions expire (deleted, or a delete marker in versioned
//! buckets), noncurrent versions expire, lone delete markers are removed,
//! and stale multipart uploads are aborted. Every removal goes through the
//! same commit as DeleteObject, with `LifecycleExpiration:*` events.

use super::objects::{self, Cause};
use crate::lifecycle::{self, Rule};
use crate::model::{self, BucketMeta, ObjectMeta, UploadMeta};
use crate::S3;
use serval_core::RequestContext;
use std::sync::Arc;
use std::time::Duration;

/// Platform time between sweeps (S3 itself runs about once a day; an hour
/// keeps `--time-scale` tests prompt), bounded in real time.
const PERIOD: Duration = Duration::from_secs(3600);
const MIN_REAL: Duration = Duration::from_millis(200);
const MAX_REAL: Duration = Duration::from_secs(60);

/// Starts the sweeper.
pub fn spawn(s3: &Arc<S3>) {
    let me = Arc::downgrade(s3);
    let period = s3.clock.real_duration(PERIOD).clamp(MIN_REAL, MAX_REAL);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(period).await;
            let Some(s3) = me.upgrade() else { return };
            for b in s3.all_buckets() {
                let rules = lifecycle::rules_of(&b);
                if rules.iter().any(|r| r.enabled) {
                    if let Err(e) = sweep(&s3, &b, &rules).await {
                        tracing::warn!(bucket = %b.name, error = %e.message, "s3 lifecycle sweep failed");
                    }
                }
            }
        }
    });
}

fn context(b: &BucketMeta) -> RequestContext {
    RequestContext {
        account_id: b.account.clone(),
        region: b.region.clone(),
        access_key_id: String::new(),
        request_id: serval_core::ids::request_id(),
    }
}

/// One pass over one bucket; returns how many actions it took.
pub async fn sweep(s3: &S3, b: &BucketMeta, rules: &[Rule]) -> crate::error::Result<usize> {
    let now = s3.now();
    let ctx = context(b);
    let prefix = format!("{}/", b.uid).into_bytes();
    let mut done = 0;
    // Current versions past an Expiration.
    for (_, v) in s3.store.scan_all(model::KS_OBJ, &prefix)? {
        let Some((meta, _)) = model::decode_obj(&v) else {
            continue;
        };
        if lifecycle::expiration(rules, &meta).is_some_and(|(at, _)| now >= at) {
            let cause = Cause::Lifecycle {
                current: Some(&meta.vkey),
            };
            objects::remove_for(s3, &ctx, b, &meta.key, None, cause).await?;
            done += 1;
        }
    }
    // Noncurrent versions and expired delete markers (versioned buckets).
    if b.versioning.is_some() {
        let rows = s3.store.scan_all(model::KS_VER, &prefix)?;
        let mut group: Vec<ObjectMeta> = Vec::new();
        for (_, v) in rows {
            let Some((meta, _)) = model::decode_obj(&v) else {
                continue;
            };
            if group.first().is_some_and(|g| g.key != meta.key) {
                done += versions(s3, &ctx, b, rules, &group, now).await?;
                group.clear();
            }
            group.push(meta);
        }
        if !group.is_empty() {
            done += versions(s3, &ctx, b, rules, &group, now).await?;
        }
    }
    // Incomplete multipart uploads.
    for (_, v) in s3.store.scan_all(model::KS_MPU, &prefix)? {
        let Ok(u) = serde_json::from_slice::<UploadMeta>(&v) else {
            continue;
        };
        let stale = rules.iter().any(|r| {
            r.enabled
                && u.key.starts_with(&r.filter.prefix)
                && r.abort_days
                    .is_some_and(|d| now >= lifecycle::due(u.initiated, d))
        });
        if stale {
            super::multipart::abort_upload(s3, b, &u).await?;
            done += 1;
        }
    }
    Ok(done)
}

/// The versions of one key, newest first.
async fn versions(
    s3: &S3,
    ctx: &RequestContext,
    b: &BucketMeta,
    rules: &[Rule],
    all: &[ObjectMeta],
    now: u64,
) -> crate::error::Result<usize> {
    let mut done = 0;
    // A delete marker with no versions behind it.
    if let [only] = all {
        let lone_marker_rule = rules
            .iter()
            .any(|r| r.enabled && r.expired_marker && only.key.starts_with(&r.filter.prefix));
        if only.delete_marker && lone_marker_rule {
            let cause = Cause::Lifecycle { current: None };
            objects::remove_for(s3, ctx, b, &only.key, Some(&only.version_id), cause).await?;
            return Ok(1);
        }
        return Ok(0);
    }
    for (i, v) in all.iter().enumerate().skip(1) {
        // Noncurrent since its successor was written.
        let since = all[i - 1].modified;
        if rules
            .iter()
            .any(|r| lifecycle::noncurrent_due(r, v, i - 1, since, now))
        {
            let cause = Cause::Lifecycle { current: None };
            objects::remove_for(s3, ctx, b, &v.key, Some(&v.version_id), cause).await?;
            done += 1;
        }
    }
    Ok(done)
}
