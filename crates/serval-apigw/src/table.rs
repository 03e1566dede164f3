//! A persisted map of records, held in memory for the request path and
//! written through to the store before a change is acknowledged.

use crate::error::Result;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serval_store::{Op, Store};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// The keyspace API Gateway's records live in.
pub const KS: &str = "apigw";

/// Records of one kind, by id.
pub struct Table<T> {
    kind: &'static str,
    store: Store,
    map: RwLock<BTreeMap<String, Arc<T>>>,
    writer: tokio::sync::Mutex<()>,
}

impl<T: Serialize + DeserializeOwned + Clone + Send + Sync> Table<T> {
    /// Loads every record of `kind` from the store.
    pub fn load(store: Store, kind: &'static str) -> Result<Self> {
        let prefix = format!("{kind}/").into_bytes();
        let mut map = BTreeMap::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = store.scan(KS, &prefix, after.as_deref(), 1000)?;
            let Some(last) = page.last() else { break };
            after = Some(last.0.clone());
            for (k, v) in &page {
                let id = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
                match serde_json::from_slice::<T>(v) {
                    Ok(rec) => {
                        map.insert(id, Arc::new(rec));
                    }
                    Err(e) => tracing::warn!(kind, id, error = %e, "skipping unreadable record"),
                }
            }
        }
        Ok(Self {
            kind,
            store,
            map: RwLock::new(map),
            writer: tokio::sync::Mutex::new(()),
        })
    }

    fn key(&self, id: &str) -> Vec<u8> {
        format!("{}/{id}", self.kind).into_bytes()
    }

    /// A record by id.
    pub fn get(&self, id: &str) -> Option<Arc<T>> {
        let m = self.map.read().unwrap_or_else(|p| p.into_inner());
        m.get(id).cloned()
    }

    /// Every record `keep` accepts, in id order.
    pub fn list(&self, mut keep: impl FnMut(&T) -> bool) -> Vec<Arc<T>> {
        let m = self.map.read().unwrap_or_else(|p| p.into_inner());
        m.values().filter(|r| keep(r)).cloned().collect()
    }

    /// Changes one record under the table's writer lock: `f` sees the current
    /// record and returns the next (`None` deletes it) and its answer.
    pub async fn update<R>(
        &self,
        id: &str,
        f: impl FnOnce(Option<&T>) -> Result<(Option<T>, R)>,
    ) -> Result<R> {
        let _guard = self.writer.lock().await;
        let current = self.get(id);
        let (next, out) = f(current.as_deref())?;
        let op = match &next {
            Some(rec) => Op::Put {
                ks: KS,
                key: self.key(id),
                value: serde_json::to_vec(rec)
                    .map_err(|e| crate::error::ApigwError::Internal(e.to_string()))?,
            },
            None if current.is_some() => Op::Delete {
                ks: KS,
                key: self.key(id),
            },
            None => return Ok(out),
        };
        self.store.write(vec![op]).await?;
        let mut m = self.map.write().unwrap_or_else(|p| p.into_inner());
        match next {
            Some(rec) => {
                m.insert(id.to_string(), Arc::new(rec));
            }
            None => {
                m.remove(id);
            }
        }
        Ok(out)
    }
}
