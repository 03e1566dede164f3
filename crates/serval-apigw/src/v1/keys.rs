//! API keys, usage plans and their keys; the usage a plan counts.

use super::model::*;
use super::patch::{self, PatchOp};
use super::{items, json, unknown, PatchInput};
use crate::error::{bad, ApigwError, Result};
use crate::ApiGateway;
use http::Method as HttpMethod;
use serde::Deserialize;
use serval_core::RequestContext;
use serval_wire::{Request, Response};
use std::collections::BTreeMap;

/// CreateApiKey's body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub value: Option<String>,
    pub customer_id: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
}

/// CreateUsagePlan's body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsagePlanInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub api_stages: Option<Vec<ApiStage>>,
    pub throttle: Option<Throttle>,
    pub quota: Option<Quota>,
    pub tags: Option<BTreeMap<String, String>>,
}

/// CreateUsagePlanKey's body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanKeyInput {
    pub key_id: Option<String>,
    pub key_type: Option<String>,
}

/// Key and plan operations.
#[derive(Debug)]
pub enum KeyOp {
    CreateApiKey(ApiKeyInput),
    GetApiKeys(bool, Option<String>),
    GetApiKey(String, bool),
    UpdateApiKey(String, PatchInput),
    DeleteApiKey(String),
    CreateUsagePlan(UsagePlanInput),
    GetUsagePlans(Option<String>),
    GetUsagePlan(String),
    UpdateUsagePlan(String, PatchInput),
    DeleteUsagePlan(String),
    CreateUsagePlanKey(String, PlanKeyInput),
    GetUsagePlanKeys(String),
    GetUsagePlanKey(String, String),
    DeleteUsagePlanKey(String, String),
    GetUsage(String, Option<String>, Option<String>, Option<String>),
}

/// Parses `/apikeys...` and `/usageplans...`.
pub fn parse(req: &Request, seg: &[&str]) -> Result<KeyOp> {
    let m = &req.method;
    let flag = |n: &str| req.query_param(n).as_deref() == Some("true");
    Ok(match (m, seg) {
        (&HttpMethod::POST, ["apikeys"]) => KeyOp::CreateApiKey(json(req)?),
        (&HttpMethod::GET, ["apikeys"]) => {
            KeyOp::GetApiKeys(flag("includeValues"), req.query_param("name"))
        }
        (&HttpMethod::GET, ["apikeys", k]) => KeyOp::GetApiKey(k.to_string(), flag("includeValue")),
        (&HttpMethod::PATCH, ["apikeys", k]) => KeyOp::UpdateApiKey(k.to_string(), json(req)?),
        (&HttpMethod::DELETE, ["apikeys", k]) => KeyOp::DeleteApiKey(k.to_string()),
        (&HttpMethod::POST, ["usageplans"]) => KeyOp::CreateUsagePlan(json(req)?),
        (&HttpMethod::GET, ["usageplans"]) => KeyOp::GetUsagePlans(req.query_param("keyId")),
        (&HttpMethod::GET, ["usageplans", p]) => KeyOp::GetUsagePlan(p.to_string()),
        (&HttpMethod::PATCH, ["usageplans", p]) => {
            KeyOp::UpdateUsagePlan(p.to_string(), json(req)?)
        }
        (&HttpMethod::DELETE, ["usageplans", p]) => KeyOp::DeleteUsagePlan(p.to_string()),
        (&HttpMethod::POST, ["usageplans", p, "keys"]) => {
            KeyOp::CreateUsagePlanKey(p.to_string(), json(req)?)
        }
        (&HttpMethod::GET, ["usageplans", p, "keys"]) => KeyOp::GetUsagePlanKeys(p.to_string()),
        (&HttpMethod::GET, ["usageplans", p, "keys", k]) => {
            KeyOp::GetUsagePlanKey(p.to_string(), k.to_string())
        }
        (&HttpMethod::DELETE, ["usageplans", p, "keys", k]) => {
            KeyOp::DeleteUsagePlanKey(p.to_string(), k.to_string())
        }
        (&HttpMethod::GET, ["usageplans", p, "usage"]) => KeyOp::GetUsage(
            p.to_string(),
            req.query_param("keyId"),
            req.query_param("startDate"),
            req.query_param("endDate"),
        ),
        _ => return Err(unknown(req)),
    })
}

fn key_view(k: &ApiKey, include_value: bool) -> ApiKey {
    let mut k = k.clone();
    if !include_value {
        k.value = None;
    }
    k
}

fn plan_key_view(k: &ApiKey) -> serde_json::Value {
    serde_json::json!({"id": k.id, "type": "API_KEY", "value": k.value, "name": k.name})
}

/// `/apiStages` patches: add/remove `apiId:stage`.
fn plan_ops(plan: &mut UsagePlan, ops: &[PatchOp]) -> Vec<PatchOp> {
    let mut rest = Vec::new();
    for op in ops {
        if op.path == "/apiStages" {
            let v = op.value.clone().unwrap_or_default();
            if let Some((api, stage)) = v.split_once(':') {
                let s = ApiStage {
                    api_id: api.to_string(),
                    stage: stage.to_string(),
                    throttle: None,
                };
                match op.op.as_str() {
                    "add" if !plan.api_stages.contains(&s) => plan.api_stages.push(s),
                    "remove" => plan
                        .api_stages
                        .retain(|x| x.api_id != s.api_id || x.stage != s.stage),
                    _ => {}
                }
            }
        } else if op.op == "remove" && (op.path == "/throttle" || op.path == "/quota") {
            if op.path == "/throttle" {
                plan.throttle = None;
            } else {
                plan.quota = None;
            }
        } else {
            let mut op = op.clone();
            // `/throttle/rateLimit` etc. on an absent object start from empty.
            if op.path.starts_with("/throttle/") && plan.throttle.is_none() {
                plan.throttle = Some(Throttle::default());
            }
            if op.path.starts_with("/quota/") && plan.quota.is_none() {
                plan.quota = Some(Quota {
                    limit: 0,
                    offset: 0,
                    period: "DAY".into(),
                });
            }
            if op.path == "/throttle/rateLimit"
                || op.path == "/throttle/burstLimit"
                || op.path == "/quota/limit"
            {
                op.value = op.value.map(|v| v.trim().to_string());
            }
            rest.push(op);
        }
    }
    rest
}

fn check_quota(q: &Option<Quota>) -> Result<()> {
    if let Some(q) = q {
        if !["DAY", "WEEK", "MONTH"].contains(&q.period.as_str()) {
            return Err(bad(format!("Invalid quota period: {}", q.period)));
        }
        if q.limit < 0 {
            return Err(bad("Quota limit must be non-negative"));
        }
    }
    Ok(())
}

impl ApiGateway {
    fn read_key(&self, ctx: &RequestContext, id: &str) -> Result<std::sync::Arc<ApiKeyRec>> {
        self.api_keys
            .get(id)
            .filter(|k| k.account == ctx.account_id && k.region == ctx.region)
            .ok_or_else(|| ApigwError::NotFound("Invalid API Key identifier specified".into()))
    }

    fn read_plan(&self, ctx: &RequestContext, id: &str) -> Result<std::sync::Arc<UsagePlanRec>> {
        self.usage_plans
            .get(id)
            .filter(|p| p.account == ctx.account_id && p.region == ctx.region)
            .ok_or_else(|| ApigwError::NotFound("Invalid Usage Plan ID specified".into()))
    }

    async fn change_plan<R>(
        &self,
        ctx: &RequestContext,
        id: &str,
        f: impl FnOnce(&mut UsagePlanRec) -> Result<R>,
    ) -> Result<R> {
        self.read_plan(ctx, id)?;
        self.usage_plans
            .update(id, |cur| {
                let mut p = cur.cloned().ok_or_else(|| {
                    ApigwError::NotFound("Invalid Usage Plan ID specified".into())
                })?;
                let out = f(&mut p)?;
                Ok((Some(p), out))
            })
            .await
    }

    pub(crate) async fn handle_keys(&self, ctx: &RequestContext, op: KeyOp) -> Result<Response> {
        let now = self.now_secs();
        let mine = |acct: &str, region: &str| acct == ctx.account_id && region == ctx.region;
        match op {
            KeyOp::CreateApiKey(i) => {
                if let Some(v) = &i.value {
                    if v.len() < 20 || v.len() > 128 {
                        return Err(bad("API Key value should be at least 20 characters"));
                    }
                    if !self
                        .api_keys
                        .list(|k| mine(&k.account, &k.region) && k.key.value.as_deref() == Some(v))
                        .is_empty()
                    {
                        return Err(ApigwError::Conflict("API Key already exists".into()));
                    }
                }
                let key = ApiKey {
                    id: crate::new_id(10),
                    value: Some(i.value.unwrap_or_else(|| crate::new_id(40))),
                    name: i.name.unwrap_or_default(),
                    customer_id: i.customer_id,
                    description: i.description,
                    enabled: i.enabled.unwrap_or(false),
                    created_date: now,
                    last_updated_date: now,
                    stage_keys: Vec::new(),
                    tags: i.tags.unwrap_or_default(),
                };
                let rec = ApiKeyRec {
                    v: 1,
                    account: ctx.account_id.clone(),
                    region: ctx.region.clone(),
                    key: key.clone(),
                };
                self.api_keys
                    .update(&key.id, |_| Ok((Some(rec), ())))
                    .await?;
                Ok(Response::json(
                    201,
                    &serde_json::to_value(&key).unwrap_or_default(),
                ))
            }
            KeyOp::GetApiKeys(values, name) => {
                let all: Vec<ApiKey> = self
                    .api_keys
                    .list(|k| {
                        mine(&k.account, &k.region)
                            && name
                                .as_ref()
                                .is_none_or(|n| k.key.name.starts_with(n.as_str()))
                    })
                    .iter()
                    .map(|k| key_view(&k.key, values))
                    .collect();
                Ok(items(&all))
            }
            KeyOp::GetApiKey(id, value) => {
                let k = self.read_key(ctx, &id)?;
                Ok(Response::json(
                    200,
                    &serde_json::to_value(key_view(&k.key, value)).unwrap_or_default(),
                ))
            }
            KeyOp::UpdateApiKey(id, p) => {
                self.read_key(ctx, &id)?;
                let key = self
                    .api_keys
                    .update(&id, |cur| {
                        let mut rec = cur.cloned().ok_or_else(|| {
                            ApigwError::NotFound("Invalid API Key identifier specified".into())
                        })?;
                        rec.key = patch::apply(&rec.key, &p.patch_operations)?;
                        rec.key.last_updated_date = now;
                        let k = rec.key.clone();
                        Ok((Some(rec), k))
                    })
                    .await?;
                Ok(Response::json(
                    200,
                    &serde_json::to_value(key_view(&key, false)).unwrap_or_default(),
                ))
            }
            KeyOp::DeleteApiKey(id) => {
                self.read_key(ctx, &id)?;
                self.api_keys.update(&id, |_| Ok((None, ()))).await?;
                for p in self.usage_plans.list(|p| p.keys.contains(&id)) {
                    let _ = self
                        .usage_plans
                        .update(&p.plan.id, |cur| {
                            let mut p = cur.cloned().ok_or_else(|| bad("gone"))?;
                            p.keys.retain(|k| *k != id);
                            Ok((Some(p), ()))
                        })
                        .await;
                }
                Ok(Response::empty(202))
            }
            KeyOp::CreateUsagePlan(i) => {
                let name = i
                    .name
                    .ok_or_else(|| bad("Usage plan name must be specified"))?;
                check_quota(&i.quota)?;
                for s in i.api_stages.iter().flatten() {
                    let api = self.read_rest(ctx, &s.api_id).map_err(|_| {
                        bad(format!("Invalid API identifier specified {}", s.api_id))
                    })?;
                    if !api.stages.contains_key(&s.stage) {
                        return Err(bad(format!(
                            "Invalid stage identifier specified {}",
                            s.stage
                        )));
                    }
                }
                let plan = UsagePlan {
                    id: crate::new_id(6),
                    name,
                    description: i.description,
                    api_stages: i.api_stages.unwrap_or_default(),
                    throttle: i.throttle,
                    quota: i.quota,
                    tags: i.tags.unwrap_or_default(),
                };
                let rec = UsagePlanRec {
                    v: 1,
                    account: ctx.account_id.clone(),
                    region: ctx.region.clone(),
                    plan: plan.clone(),
                    keys: Vec::new(),
                };
                self.usage_plans
                    .update(&plan.id, |_| Ok((Some(rec), ())))
                    .await?;
                Ok(Response::json(
                    201,
                    &serde_json::to_value(&plan).unwrap_or_default(),
                ))
            }
            KeyOp::GetUsagePlans(key) => {
                let all: Vec<UsagePlan> = self
                    .usage_plans
                    .list(|p| {
                        mine(&p.account, &p.region)
                            && key.as_ref().is_none_or(|k| p.keys.contains(k))
                    })
                    .iter()
                    .map(|p| p.plan.clone())
                    .collect();
                Ok(items(&all))
            }
            KeyOp::GetUsagePlan(id) => {
                let p = self.read_plan(ctx, &id)?;
                Ok(Response::json(
                    200,
                    &serde_json::to_value(&p.plan).unwrap_or_default(),
                ))
            }
            KeyOp::UpdateUsagePlan(id, p) => {
                let plan = self
                    .change_plan(ctx, &id, |rec| {
                        let ops = plan_ops(&mut rec.plan, &p.patch_operations);
                        rec.plan = patch::apply(&rec.plan, &ops)?;
                        check_quota(&rec.plan.quota)?;
                        Ok(rec.plan.clone())
                    })
                    .await?;
                self.exec.throttles.forget(&format!("plan/{id}/"));
                Ok(Response::json(
                    200,
                    &serde_json::to_value(&plan).unwrap_or_default(),
                ))
            }
            KeyOp::DeleteUsagePlan(id) => {
                self.read_plan(ctx, &id)?;
                self.usage_plans.update(&id, |_| Ok((None, ()))).await?;
                Ok(Response::empty(202))
            }
            KeyOp::CreateUsagePlanKey(id, i) => {
                let key_id = i
                    .key_id
                    .ok_or_else(|| bad("API Key id must be specified"))?;
                if i.key_type.as_deref() != Some("API_KEY") {
                    return Err(bad("Invalid key type, only API_KEY is supported"));
                }
                let key = self.read_key(ctx, &key_id)?;
                self.change_plan(ctx, &id, |rec| {
                    if rec.keys.contains(&key_id) {
                        return Err(ApigwError::Conflict("Usage Plan Key already exists".into()));
                    }
                    rec.keys.push(key_id.clone());
                    Ok(())
                })
                .await?;
                Ok(Response::json(201, &plan_key_view(&key.key)))
            }
            KeyOp::GetUsagePlanKeys(id) => {
                let p = self.read_plan(ctx, &id)?;
                let all: Vec<serde_json::Value> = p
                    .keys
                    .iter()
                    .filter_map(|k| self.api_keys.get(k))
                    .map(|k| plan_key_view(&k.key))
                    .collect();
                Ok(items(&all))
            }
            KeyOp::GetUsagePlanKey(id, key_id) => {
                let p = self.read_plan(ctx, &id)?;
                if !p.keys.contains(&key_id) {
                    return Err(ApigwError::NotFound(
                        "Invalid Usage Plan Key identifier specified".into(),
                    ));
                }
                let k = self.read_key(ctx, &key_id)?;
                Ok(Response::json(200, &plan_key_view(&k.key)))
            }
            KeyOp::DeleteUsagePlanKey(id, key_id) => {
                self.change_plan(ctx, &id, |rec| {
                    if !rec.keys.contains(&key_id) {
                        return Err(ApigwError::NotFound(
                            "Invalid Usage Plan Key identifier specified".into(),
                        ));
                    }
                    rec.keys.retain(|k| *k != key_id);
                    Ok(())
                })
                .await?;
                Ok(Response::empty(202))
            }
            KeyOp::GetUsage(id, key, start, end) => {
                let p = self.read_plan(ctx, &id)?;
                let mut usage = serde_json::Map::new();
                for k in p
                    .keys
                    .iter()
                    .filter(|k| key.as_ref().is_none_or(|x| x == *k))
                {
                    let used = self.exec.quotas.used(
                        &id,
                        k,
                        p.plan.quota.as_ref(),
                        self.clock.now_millis(),
                    );
                    let left = p
                        .plan
                        .quota
                        .as_ref()
                        .map(|q| (q.limit - used as i64).max(0))
                        .unwrap_or(0);
                    usage.insert(k.clone(), serde_json::json!([[used, left]]));
                }
                Ok(Response::json(
                    200,
                    &serde_json::json!({
                        "usagePlanId": id,
                        "startDate": start,
                        "endDate": end,
                        "values": usage,
                    }),
                ))
            }
        }
    }
}
