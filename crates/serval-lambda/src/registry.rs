//! The function registry: every function, version, alias and setting, held
//! in memory for the invoke path and written through to the store before a
//! change is acknowledged.

use crate::error::Result;
use crate::model::{
    AliasRecord, FunctionRecord, PolicyRecord, ProvisionedRecord, Stored, UrlRecord, VersionRecord,
};
use serval_store::{Op, Store};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

/// The keyspace Lambda's records live in.
pub const KS: &str = "lambda";

/// Identifies a function within an account and region.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FnKey {
    /// Account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// Function name.
    pub name: String,
}

impl FnKey {
    fn prefix(&self, kind: &str) -> Vec<u8> {
        format!("{kind}/{}/{}/{}/", self.account, self.region, self.name).into_bytes()
    }

    fn key(&self, kind: &str, sub: &str) -> Vec<u8> {
        let mut k = self.prefix(kind);
        k.extend_from_slice(sub.as_bytes());
        k
    }

    /// The unqualified function ARN.
    pub fn arn(&self) -> String {
        crate::arn::function_arn(&self.region, &self.account, &self.name)
    }
}

/// A function with all its versions, aliases and settings.
#[derive(Debug, Clone)]
pub struct Function {
    /// Function-level settings.
    pub rec: FunctionRecord,
    /// `$LATEST`.
    pub latest: Arc<VersionRecord>,
    /// Published versions by number.
    pub versions: BTreeMap<u64, Arc<VersionRecord>>,
    /// Aliases by name.
    pub aliases: BTreeMap<String, AliasRecord>,
    /// Provisioned concurrency by qualifier.
    pub provisioned: BTreeMap<String, ProvisionedRecord>,
    /// Resource policies by qualifier (`""`: the function itself).
    pub policies: BTreeMap<String, PolicyRecord>,
    /// Function URLs by qualifier (`""`: the function itself).
    pub urls: BTreeMap<String, UrlRecord>,
}

/// The record kinds a function is stored as.
const KINDS: [&str; 6] = ["f", "v", "a", "p", "pol", "u"];

impl Function {
    /// A version by its text (`$LATEST` or a number).
    pub fn version(&self, v: &str) -> Option<&Arc<VersionRecord>> {
        if v == "$LATEST" {
            Some(&self.latest)
        } else {
            v.parse::<u64>().ok().and_then(|n| self.versions.get(&n))
        }
    }

    /// Bytes of code stored for `$LATEST` and every published version (what
    /// counts against the account's code storage).
    pub fn code_size(&self) -> u64 {
        self.latest.code_size + self.versions.values().map(|v| v.code_size).sum::<u64>()
    }

    fn ops(&self, key: &FnKey) -> Vec<Op> {
        let mut ops = Vec::new();
        for kind in KINDS {
            ops.push(Op::DeletePrefix {
                ks: KS,
                prefix: key.prefix(kind),
            });
        }
        ops.push(Op::Put {
            ks: KS,
            key: key.key("f", ""),
            value: Stored::FunctionV1(self.rec.clone()).encode(),
        });
        let mut put_version = |v: &VersionRecord, sub: String| {
            ops.push(Op::Put {
                ks: KS,
                key: key.key("v", &sub),
                value: Stored::VersionV1(v.clone()).encode(),
            });
        };
        put_version(&self.latest, "$LATEST".into());
        for (n, v) in &self.versions {
            put_version(v, format!("{n:020}"));
        }
        for (name, a) in &self.aliases {
            ops.push(Op::Put {
                ks: KS,
                key: key.key("a", name),
                value: Stored::AliasV1(a.clone()).encode(),
            });
        }
        for (q, p) in &self.provisioned {
            ops.push(Op::Put {
                ks: KS,
                key: key.key("p", q),
                value: Stored::ProvisionedV1(p.clone()).encode(),
            });
        }
        for (q, p) in &self.policies {
            ops.push(Op::Put {
                ks: KS,
                key: key.key("pol", q),
                value: Stored::PolicyV1(p.clone()).encode(),
            });
        }
        for (q, u) in &self.urls {
            ops.push(Op::Put {
                ks: KS,
                key: key.key("u", q),
                value: Stored::UrlV1(u.clone()).encode(),
            });
        }
        ops
    }
}

/// All functions of all accounts and regions.
pub struct Registry {
    store: Store,
    map: RwLock<HashMap<FnKey, Function>>,
    /// Function URL id -> function and qualifier.
    url_index: RwLock<HashMap<String, (FnKey, String)>>,
    writer: tokio::sync::Mutex<()>,
}

fn split_key(k: &[u8]) -> Option<(FnKey, String)> {
    let s = std::str::from_utf8(k).ok()?;
    let mut p = s.splitn(5, '/');
    let _kind = p.next()?;
    let key = FnKey {
        account: p.next()?.to_string(),
        region: p.next()?.to_string(),
        name: p.next()?.to_string(),
    };
    Some((key, p.next().unwrap_or("").to_string()))
}

impl Registry {
    /// Loads every function from the store.
    pub fn load(store: Store) -> Result<Self> {
        let mut recs: HashMap<FnKey, FunctionRecord> = HashMap::new();
        let mut latest: HashMap<FnKey, VersionRecord> = HashMap::new();
        let mut versions: HashMap<FnKey, BTreeMap<u64, Arc<VersionRecord>>> = HashMap::new();
        let mut aliases: HashMap<FnKey, BTreeMap<String, AliasRecord>> = HashMap::new();
        let mut provisioned: HashMap<FnKey, BTreeMap<String, ProvisionedRecord>> = HashMap::new();
        let mut policies: HashMap<FnKey, BTreeMap<String, PolicyRecord>> = HashMap::new();
        let mut urls: HashMap<FnKey, BTreeMap<String, UrlRecord>> = HashMap::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let batch = store.scan(KS, b"", after.as_deref(), 1000)?;
            let Some(last) = batch.last() else { break };
            after = Some(last.0.clone());
            for (k, v) in batch {
                let (Some((key, sub)), Some(rec)) = (split_key(&k), Stored::decode(&v)) else {
                    tracing::warn!(key = %String::from_utf8_lossy(&k), "skipping unreadable lambda record");
                    continue;
                };
                match rec {
                    Stored::FunctionV1(f) => {
                        recs.insert(key, f);
                    }
                    Stored::VersionV1(v) if sub == "$LATEST" => {
                        latest.insert(key, v);
                    }
                    Stored::VersionV1(v) => {
                        if let Ok(n) = v.version.parse::<u64>() {
                            versions.entry(key).or_default().insert(n, Arc::new(v));
                        }
                    }
                    Stored::AliasV1(a) => {
                        aliases.entry(key).or_default().insert(a.name.clone(), a);
                    }
                    Stored::ProvisionedV1(p) => {
                        provisioned
                            .entry(key)
                            .or_default()
                            .insert(p.qualifier.clone(), p);
                    }
                    Stored::PolicyV1(p) => {
                        policies
                            .entry(key)
                            .or_default()
                            .insert(p.qualifier.clone(), p);
                    }
                    Stored::UrlV1(u) => {
                        urls.entry(key).or_default().insert(u.qualifier.clone(), u);
                    }
                }
            }
        }
        let mut map = HashMap::new();
        for (key, rec) in recs {
            let Some(l) = latest.remove(&key) else {
                continue;
            };
            let f = Function {
                rec,
                latest: Arc::new(l),
                versions: versions.remove(&key).unwrap_or_default(),
                aliases: aliases.remove(&key).unwrap_or_default(),
                provisioned: provisioned.remove(&key).unwrap_or_default(),
                policies: policies.remove(&key).unwrap_or_default(),
                urls: urls.remove(&key).unwrap_or_default(),
            };
            map.insert(key, f);
        }
        let mut url_index = HashMap::new();
        for (key, f) in &map {
            for u in f.urls.values() {
                url_index.insert(u.url_id.clone(), (key.clone(), u.qualifier.clone()));
            }
        }
        Ok(Self {
            store,
            map: RwLock::new(map),
            url_index: RwLock::new(url_index),
            writer: tokio::sync::Mutex::new(()),
        })
    }

    /// Reads a function.
    pub fn read<T>(&self, key: &FnKey, f: impl FnOnce(Option<&Function>) -> T) -> T {
        match self.map.read() {
            Ok(m) => f(m.get(key)),
            Err(p) => f(p.into_inner().get(key)),
        }
    }

    /// Functions of an account and region, sorted by name.
    pub fn list(&self, account: &str, region: &str) -> Vec<Function> {
        let m = match self.map.read() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        let mut out: Vec<(&FnKey, &Function)> = m
            .iter()
            .filter(|(k, _)| k.account == account && k.region == region)
            .collect();
        out.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        out.into_iter().map(|(_, f)| f.clone()).collect()
    }

    /// The function and qualifier a function URL id belongs to.
    pub fn url_owner(&self, url_id: &str) -> Option<(FnKey, String)> {
        let index = self.url_index.read().unwrap_or_else(|p| p.into_inner());
        index.get(url_id).cloned()
    }

    /// Every function key (for background work).
    pub fn keys(&self) -> Vec<FnKey> {
        match self.map.read() {
            Ok(m) => m.keys().cloned().collect(),
            Err(p) => p.into_inner().keys().cloned().collect(),
        }
    }

    /// Changes one function: `f` gets the current state and returns the new
    /// one (`None` deletes it). The change is durable before it is visible.
    pub async fn update<T>(
        &self,
        key: &FnKey,
        f: impl FnOnce(Option<Function>) -> Result<(Option<Function>, T)>,
    ) -> Result<T> {
        let _guard = self.writer.lock().await;
        let current = self.read(key, |f| f.cloned());
        let existed = current.is_some();
        let (next, out) = f(current)?;
        let ops = match &next {
            Some(func) => func.ops(key),
            None if existed => KINDS
                .iter()
                .map(|kind| Op::DeletePrefix {
                    ks: KS,
                    prefix: key.prefix(kind),
                })
                .collect(),
            None => Vec::new(),
        };
        if !ops.is_empty() {
            self.store.write(ops).await?;
        }
        let mut m = match self.map.write() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        let mut index = self.url_index.write().unwrap_or_else(|p| p.into_inner());
        index.retain(|_, (k, _)| k != key);
        match next {
            Some(func) => {
                for u in func.urls.values() {
                    index.insert(u.url_id.clone(), (key.clone(), u.qualifier.clone()));
                }
                m.insert(key.clone(), func);
            }
            None => {
                m.remove(key);
            }
        }
        Ok(out)
    }
}
