//! Time to live: a background sweep deletes items whose TTL attribute (epoch
//! seconds) has passed, writing REMOVE stream records with the service's
//! identity. Until swept, an expired item still shows in reads, as on AWS.
//! Values more than five years in the past are ignored, as AWS ignores them.

use crate::ops::items::stage;
use crate::streams::TTL_IDENTITY;
use crate::table::PKey;
use crate::value::Value;
use crate::DynamoDb;

const FIVE_YEARS_SECS: f64 = 5.0 * 365.0 * 24.0 * 3600.0;

fn expired(v: Option<&Value>, now: f64) -> bool {
    match v {
        Some(Value::N(n)) => {
            let at = n.as_f64();
            at < now && at > now - FIVE_YEARS_SECS
        }
        _ => false,
    }
}

impl DynamoDb {
    /// Deletes every expired item of every table with TTL enabled.
    pub async fn sweep_ttl(&self) {
        let now = self.now_secs();
        for t in self.all_tables() {
            let due: Vec<PKey> = {
                let st = t.read();
                let Some(attr) = st.meta.ttl_attr.clone() else {
                    continue;
                };
                st.items
                    .iter()
                    .filter(|(_, item)| expired(item.get(&attr), now))
                    .map(|(k, _)| k.clone())
                    .collect()
            };
            if due.is_empty() {
                continue;
            }
            let pending = {
                let mut st = t.write();
                let Some(attr) = st.meta.ttl_attr.clone() else {
                    continue;
                };
                let mut ops = Vec::new();
                for pk in due {
                    let still = st
                        .items
                        .get(&pk)
                        .is_some_and(|item| expired(item.get(&attr), now));
                    if still {
                        let (_, o) = stage(self, &mut st, &pk, None, Some(TTL_IDENTITY));
                        ops.extend(o);
                    }
                }
                self.store.submit(ops)
            };
            match pending {
                Ok(p) => {
                    if let Err(e) = p.wait().await {
                        tracing::error!(error = %e, "TTL sweep commit failed");
                    }
                }
                Err(e) => tracing::error!(error = %e, "TTL sweep not submitted"),
            }
        }
    }
}
