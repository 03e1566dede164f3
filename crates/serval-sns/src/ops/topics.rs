//! Topics: CreateTopic, DeleteTopic, ListTopics, Get/SetTopicAttributes,
//! tags, permissions and the data protection policy.

use super::{
    page, AddPermissionIn, CreateTopicIn, ListIn, RemovePermissionIn, ResourceIn, SetAttrIn, TagIn,
    TagResourceIn, TopicIn, UntagResourceIn,
};
use crate::error::{invalid, no_resource, Kind, Result, SnsError};
use crate::store::{self, Permission, TopicRecord};
use crate::{parse_topic_arn, Sns, State};
use serde_json::{json, Map, Value as Json};
use serval_core::RequestContext;
use std::collections::BTreeMap;

/// The HTTP delivery policy SNS applies when none is set.
pub const DEFAULT_HTTP_POLICY: &str = r#"{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":20,"maxDelayTarget":20,"numRetries":3,"numMaxDelayRetries":0,"numNoDelayRetries":0,"numMinDelayRetries":0,"backoffFunction":"linear"},"disableSubscriptionOverrides":false,"defaultRequestPolicy":{"headerContentType":"text/plain; charset=UTF-8"}}}"#;

const FEEDBACK: &[&str] = &["Application", "Firehose", "HTTP", "Lambda", "SQS"];

fn settable(name: &str) -> bool {
    matches!(
        name,
        "DeliveryPolicy"
            | "DisplayName"
            | "Policy"
            | "KmsMasterKeyId"
            | "SignatureVersion"
            | "TracingConfig"
            | "ContentBasedDeduplication"
            | "ArchivePolicy"
            | "FifoThroughputScope"
            | "DataProtectionPolicy"
    ) || FEEDBACK.iter().any(|p| {
        name.strip_prefix(p).is_some_and(|rest| {
            matches!(
                rest,
                "SuccessFeedbackRoleArn" | "SuccessFeedbackSampleRate" | "FailureFeedbackRoleArn"
            )
        })
    })
}

fn is_json_object(s: &str) -> bool {
    matches!(serde_json::from_str::<Json>(s), Ok(Json::Object(_)))
}

/// Checks one attribute value for a topic (`fifo`: the topic is FIFO).
fn check_attribute(name: &str, value: &str, fifo: bool) -> Result<()> {
    match name {
        "DeliveryPolicy" if !value.is_empty() && !is_json_object(value) => {
            Err(invalid("DeliveryPolicy: failed to parse JSON"))
        }
        "Policy" if !is_json_object(value) => Err(invalid("Policy Error: null")),
        "DataProtectionPolicy" if !value.is_empty() && !is_json_object(value) => {
            Err(invalid("DataProtectionPolicy"))
        }
        "DisplayName" if value.chars().count() > 100 => Err(invalid("DisplayName")),
        "SignatureVersion" if value != "1" && value != "2" => Err(invalid("SignatureVersion")),
        "TracingConfig" if value != "PassThrough" && value != "Active" => {
            Err(invalid("TracingConfig"))
        }
        "ContentBasedDeduplication" => {
            if !fifo {
                return Err(invalid(
                    "ContentBasedDeduplication Reason: Content-based deduplication can only be set for FIFO topics",
                ));
            }
            if value != "true" && value != "false" {
                return Err(invalid("ContentBasedDeduplication"));
            }
            Ok(())
        }
        "ArchivePolicy" | "FifoThroughputScope" if !fifo => Err(invalid(format!(
            "{name} Reason: {name} can only be set for FIFO topics"
        ))),
        _ => Ok(()),
    }
}

fn valid_name(name: &str, fifo: bool) -> bool {
    let base = if fifo {
        match name.strip_suffix(".fifo") {
            Some(b) => b,
            None => return false,
        }
    } else {
        name
    };
    !base.is_empty()
        && name.len() <= 256
        && base
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn tags_of(list: &[TagIn]) -> BTreeMap<String, String> {
    list.iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect()
}

fn check_tags(tags: &BTreeMap<String, String>) -> Result<()> {
    if tags.len() > 50 {
        return Err(SnsError::new(
            Kind::TagLimitExceeded,
            "Could not complete request: tag quota of per resource exceeded",
        ));
    }
    for k in tags.keys() {
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(invalid(
                "Tag keys cannot start with the reserved prefix aws:",
            ));
        }
    }
    Ok(())
}

/// CreateTopic: idempotent for the same name and attributes.
pub async fn create(sns: &Sns, ctx: &RequestContext, i: CreateTopicIn) -> Result<Json> {
    let mut attrs = i.attributes;
    if let Some(p) = i.data_protection_policy {
        attrs.insert("DataProtectionPolicy".into(), p);
    }
    let fifo_attr = attrs.get("FifoTopic").map(String::as_str);
    let fifo = match fifo_attr {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(invalid("FifoTopic")),
    };
    if !valid_name(&i.name, fifo) {
        if fifo || i.name.ends_with(".fifo") {
            return Err(invalid(
                "Fifo Topic names must end with .fifo and they must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.",
            ));
        }
        return Err(invalid("Topic Name"));
    }
    if !fifo {
        attrs.remove("FifoTopic");
    }
    for (k, v) in &attrs {
        if k == "FifoTopic" {
            continue;
        }
        if !settable(k) {
            return Err(invalid(format!("Attributes Reason: Unknown attribute {k}")));
        }
        check_attribute(k, v, fifo)?;
    }
    if fifo {
        attrs
            .entry("ContentBasedDeduplication".into())
            .or_insert_with(|| "false".into());
    }
    let tags = tags_of(&i.tags);
    check_tags(&tags)?;
    let arn = format!("arn:aws:sns:{}:{}:{}", ctx.region, ctx.account_id, i.name);
    let pending = {
        let mut st = sns.lock();
        if let Some(t) = st.topics.get(&arn) {
            let differs = attrs.iter().any(|(k, v)| {
                t.attributes.get(k).map(String::as_str).unwrap_or("") != v.as_str()
                    && !(k == "FifoTopic" && v == "true" && t.fifo())
            });
            if differs {
                return Err(invalid(
                    "Attributes Reason: Topic already exists with different attributes",
                ));
            }
            if !tags.is_empty() && tags != t.tags {
                return Err(invalid(
                    "Tags Reason: Topic already exists with different tags",
                ));
            }
            return Ok(json!({"TopicArn": arn}));
        }
        let rec = TopicRecord {
            v: 1,
            arn: arn.clone(),
            account: ctx.account_id.clone(),
            region: ctx.region.clone(),
            name: i.name.clone(),
            created: sns.now(),
            attributes: attrs,
            tags,
            permissions: Vec::new(),
            deleted_subs: 0,
        };
        let op = store::put_topic(&rec);
        st.topics.insert(arn.clone(), rec);
        sns.store.submit(vec![op])?
    };
    pending.wait().await?;
    Ok(json!({"TopicArn": arn}))
}

/// DeleteTopic: removes the topic and its subscriptions (no error when absent).
pub async fn delete(sns: &Sns, ctx: &RequestContext, i: TopicIn) -> Result<Json> {
    let pending = {
        let mut st = sns.lock();
        if !st.topics.contains_key(&i.topic_arn) {
            if parse_topic_arn(&i.topic_arn).is_none() {
                return Err(invalid("TopicArn"));
            }
            return Ok(json!({}));
        }
        sns.check_topic_arn(&st, ctx, &i.topic_arn, "DeleteTopic", "TopicArn")?;
        st.topics.remove(&i.topic_arn);
        let gone: Vec<String> = st
            .subs
            .values()
            .filter(|s| s.rec.topic_arn == i.topic_arn)
            .map(|s| s.rec.arn.clone())
            .collect();
        let mut ops = vec![store::delete_topic(&i.topic_arn)];
        for arn in gone {
            st.subs.remove(&arn);
            ops.push(store::delete_sub(&arn));
        }
        sns.store.submit(ops)?
    };
    pending.wait().await?;
    Ok(json!({}))
}

/// ListTopics: the caller's topics in its region, 100 per page.
pub fn list(sns: &Sns, ctx: &RequestContext, i: ListIn) -> Result<Json> {
    let prefix = format!("arn:aws:sns:{}:{}:", ctx.region, ctx.account_id);
    let items: Vec<(String, Json)> = {
        let st = sns.lock();
        st.topics
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| (k.clone(), json!({"TopicArn": k})))
            .collect()
    };
    let (topics, next) = page(&items, i.next_token.as_deref(), 100)?;
    let mut out = Map::new();
    out.insert("Topics".into(), Json::Array(topics));
    if let Some(n) = next {
        out.insert("NextToken".into(), n.into());
    }
    Ok(Json::Object(out))
}

/// The default access policy of a topic (laid out as SNS writes it).
pub fn default_policy(arn: &str, account: &str) -> String {
    format!(
        r#"{{"Version":"2008-10-17","Id":"__default_policy_ID","Statement":[{{"Sid":"__default_statement_ID","Effect":"Allow","Principal":{{"AWS":"*"}},"Action":["SNS:GetTopicAttributes","SNS:SetTopicAttributes","SNS:AddPermission","SNS:RemovePermission","SNS:DeleteTopic","SNS:Subscribe","SNS:ListSubscriptionsByTopic","SNS:Publish"],"Resource":"{arn}","Condition":{{"StringEquals":{{"AWS:SourceOwner":"{account}"}}}}}}]}}"#
    )
}

/// The attributes GetTopicAttributes shows.
pub(crate) fn attributes_of(st: &State, t: &TopicRecord) -> BTreeMap<String, String> {
    let mut a: BTreeMap<String, String> = t.attributes.clone();
    a.insert("TopicArn".into(), t.arn.clone());
    a.insert("Owner".into(), t.account.clone());
    a.entry("Policy".into())
        .or_insert_with(|| default_policy(&t.arn, &t.account));
    a.entry("DisplayName".into()).or_default();
    let (mut confirmed, mut pending) = (0, 0);
    for s in st.subs.values().filter(|s| s.rec.topic_arn == t.arn) {
        if s.rec.confirmed {
            confirmed += 1;
        } else {
            pending += 1;
        }
    }
    a.insert("SubscriptionsConfirmed".into(), confirmed.to_string());
    a.insert("SubscriptionsPending".into(), pending.to_string());
    a.insert("SubscriptionsDeleted".into(), t.deleted_subs.to_string());
    a.insert(
        "EffectiveDeliveryPolicy".into(),
        effective_delivery_policy(t.attributes.get("DeliveryPolicy").map(String::as_str)),
    );
    if t.fifo() {
        a.insert("FifoTopic".into(), "true".into());
    }
    a.remove("DataProtectionPolicy");
    a
}

/// The topic's DeliveryPolicy merged over the default.
pub fn effective_delivery_policy(set: Option<&str>) -> String {
    let mut base: Json = serde_json::from_str(DEFAULT_HTTP_POLICY).unwrap_or(Json::Null);
    if let Some(Json::Object(over)) = set.and_then(|s| serde_json::from_str::<Json>(s).ok()) {
        merge(&mut base, &Json::Object(over));
    }
    base.to_string()
}

fn merge(base: &mut Json, over: &Json) {
    match (base, over) {
        (Json::Object(b), Json::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// GetTopicAttributes.
pub fn get_attributes(sns: &Sns, ctx: &RequestContext, i: TopicIn) -> Result<Json> {
    let st = sns.lock();
    sns.check_topic_arn(&st, ctx, &i.topic_arn, "GetTopicAttributes", "TopicArn")?;
    let t = st
        .topics
        .get(&i.topic_arn)
        .ok_or_else(crate::error::no_topic)?;
    Ok(json!({"Attributes": attributes_of(&st, t)}))
}

/// SetTopicAttributes.
pub async fn set_attribute(sns: &Sns, ctx: &RequestContext, i: SetAttrIn) -> Result<Json> {
    let arn = i.topic_arn.unwrap_or_default();
    let value = i.attribute_value.unwrap_or_default();
    let pending = {
        let mut st = sns.lock();
        sns.check_topic_arn(&st, ctx, &arn, "SetTopicAttributes", "TopicArn")?;
        if !settable(&i.attribute_name) {
            return Err(invalid("AttributeName"));
        }
        let Some(t) = st.topics.get_mut(&arn) else {
            return Err(crate::error::no_topic());
        };
        check_attribute(&i.attribute_name, &value, t.fifo())?;
        if value.is_empty() && i.attribute_name != "DisplayName" {
            t.attributes.remove(&i.attribute_name);
        } else {
            t.attributes.insert(i.attribute_name.clone(), value);
        }
        sns.store.submit(vec![store::put_topic(t)])?
    };
    pending.wait().await?;
    Ok(json!({}))
}

/// The topic a tagging request names.
fn resource<'a>(st: &'a mut State, ctx: &RequestContext, arn: &str) -> Result<&'a mut TopicRecord> {
    let Some(parts) = parse_topic_arn(arn) else {
        return Err(invalid("ResourceArn"));
    };
    if parts.region != ctx.region || parts.account != ctx.account_id {
        return Err(no_resource());
    }
    st.topics.get_mut(arn).ok_or_else(no_resource)
}

/// TagResource.
pub async fn tag(sns: &Sns, ctx: &RequestContext, i: TagResourceIn) -> Result<Json> {
    let pending = {
        let mut st = sns.lock();
        let t = resource(&mut st, ctx, &i.resource_arn)?;
        let mut tags = t.tags.clone();
        tags.extend(tags_of(&i.tags));
        check_tags(&tags)?;
        t.tags = tags;
        sns.store.submit(vec![store::put_topic(t)])?
    };
    pending.wait().await?;
    Ok(json!({}))
}

/// UntagResource.
pub async fn untag(sns: &Sns, ctx: &RequestContext, i: UntagResourceIn) -> Result<Json> {
    let pending = {
        let mut st = sns.lock();
        let t = resource(&mut st, ctx, &i.resource_arn)?;
        for k in &i.tag_keys {
            t.tags.remove(k);
        }
        sns.store.submit(vec![store::put_topic(t)])?
    };
    pending.wait().await?;
    Ok(json!({}))
}

/// ListTagsForResource.
pub fn list_tags(sns: &Sns, ctx: &RequestContext, i: ResourceIn) -> Result<Json> {
    let mut st = sns.lock();
    let t = resource(&mut st, ctx, &i.resource_arn)?;
    let tags: Vec<Json> = t
        .tags
        .iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect();
    Ok(json!({ "Tags": tags }))
}

/// AddPermission (recorded; Serval does not enforce topic policies beyond
/// letting granted accounts reach the topic).
pub async fn add_permission(sns: &Sns, ctx: &RequestContext, i: AddPermissionIn) -> Result<Json> {
    let pending = {
        let mut st = sns.lock();
        sns.check_topic_arn(&st, ctx, &i.topic_arn, "AddPermission", "TopicArn")?;
        let Some(t) = st.topics.get_mut(&i.topic_arn) else {
            return Err(crate::error::no_topic());
        };
        if i.accounts.is_empty() || i.action_name.is_empty() {
            return Err(invalid("AWSAccountId and ActionName must not be empty"));
        }
        if t.permissions.iter().any(|p| p.label == i.label) {
            return Err(invalid("Statement already exists"));
        }
        t.permissions.push(Permission {
            label: i.label,
            accounts: i.accounts,
            actions: i.action_name,
        });
        sns.store.submit(vec![store::put_topic(t)])?
    };
    pending.wait().await?;
    Ok(json!({}))
}

/// RemovePermission.
pub async fn remove_permission(
    sns: &Sns,
    ctx: &RequestContext,
    i: RemovePermissionIn,
) -> Result<Json> {
    let pending = {
        let mut st = sns.lock();
        sns.check_topic_arn(&st, ctx, &i.topic_arn, "RemovePermission", "TopicArn")?;
        let Some(t) = st.topics.get_mut(&i.topic_arn) else {
            return Err(crate::error::no_topic());
        };
        let before = t.permissions.len();
        t.permissions.retain(|p| p.label != i.label);
        if t.permissions.len() == before {
            return Err(invalid("Statement with the given label does not exist"));
        }
        sns.store.submit(vec![store::put_topic(t)])?
    };
    pending.wait().await?;
    Ok(json!({}))
}

/// GetDataProtectionPolicy.
pub fn get_data_protection(sns: &Sns, ctx: &RequestContext, i: ResourceIn) -> Result<Json> {
    let st = sns.lock();
    sns.check_topic_arn(
        &st,
        ctx,
        &i.resource_arn,
        "GetDataProtectionPolicy",
        "ResourceArn",
    )?;
    let t = st
        .topics
        .get(&i.resource_arn)
        .ok_or_else(crate::error::no_topic)?;
    let mut out = Map::new();
    if let Some(p) = t.attributes.get("DataProtectionPolicy") {
        out.insert("DataProtectionPolicy".into(), p.clone().into());
    }
    Ok(Json::Object(out))
}

/// PutDataProtectionPolicy (recorded, not applied).
pub async fn put_data_protection(sns: &Sns, ctx: &RequestContext, i: ResourceIn) -> Result<Json> {
    let policy = i.data_protection_policy.unwrap_or_default();
    if !is_json_object(&policy) {
        return Err(invalid("DataProtectionPolicy"));
    }
    let pending = {
        let mut st = sns.lock();
        sns.check_topic_arn(
            &st,
            ctx,
            &i.resource_arn,
            "PutDataProtectionPolicy",
            "ResourceArn",
        )?;
        let Some(t) = st.topics.get_mut(&i.resource_arn) else {
            return Err(crate::error::no_topic());
        };
        t.attributes.insert("DataProtectionPolicy".into(), policy);
        sns.store.submit(vec![store::put_topic(t)])?
    };
    pending.wait().await?;
    Ok(json!({}))
}
