//! Subscriptions: Subscribe (with the confirmation handshake for HTTP(S)
//! and email), Unsubscribe, ConfirmSubscription, Get/SetSubscriptionAttributes,
//! ListSubscriptions(ByTopic).

use super::{page, ConfirmIn, ListIn, SetAttrIn, SubIn, SubscribeIn};
use crate::error::{invalid, no_subscription, no_topic, Result};
use crate::filter::{Policy, Scope};
use crate::store::{self, Job, JobKind, Mail, SubRecord};
use crate::{Sns, Sub};
use serde_json::{json, Map, Value as Json};
use serval_core::RequestContext;
use std::collections::BTreeMap;

const SETTABLE: &[&str] = &[
    "DeliveryPolicy",
    "FilterPolicy",
    "FilterPolicyScope",
    "RawMessageDelivery",
    "RedrivePolicy",
    "SubscriptionRoleArn",
    "ReplayPolicy",
];

fn valid_endpoint(protocol: &str, endpoint: &str) -> Result<()> {
    let parts: Vec<&str> = endpoint.split(':').collect();
    match protocol {
        "sqs" => {
            if parts.len() != 6 || parts[0] != "arn" || parts[2] != "sqs" || parts[5].is_empty() {
                return Err(invalid("SQS endpoint ARN"));
            }
        }
        "lambda" => {
            if !(parts.len() == 7 || parts.len() == 8)
                || parts[0] != "arn"
                || parts[2] != "lambda"
                || parts[5] != "function"
                || parts[6].is_empty()
            {
                return Err(invalid("Lambda endpoint ARN"));
            }
        }
        "http" | "https" => {
            let lower = endpoint.to_ascii_lowercase();
            if !lower.starts_with(&format!("{protocol}://")) || endpoint.len() <= protocol.len() + 3
            {
                return Err(invalid("Endpoint must match the specified protocol"));
            }
        }
        "email" | "email-json" => {
            let ok = endpoint
                .split_once('@')
                .is_some_and(|(u, d)| !u.is_empty() && d.contains('.') && !d.contains('@'));
            if !ok {
                return Err(invalid("Email address"));
            }
        }
        "sms" => {
            let digits = endpoint.trim_start_matches('+');
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit() || c == '-') {
                return Err(invalid("Invalid SMS endpoint"));
            }
        }
        other => {
            return Err(invalid(format!(
                "Amazon SNS does not support this protocol string: {other}"
            )))
        }
    }
    Ok(())
}

/// Applies one attribute to `attrs` of a subscription with `protocol`, checking it.
fn set_one(
    attrs: &mut BTreeMap<String, String>,
    protocol: &str,
    name: &str,
    value: &str,
) -> Result<()> {
    if !SETTABLE.contains(&name) {
        return Err(invalid("AttributeName"));
    }
    match name {
        "RawMessageDelivery" => {
            let v = value.to_ascii_lowercase();
            if v != "true" && v != "false" {
                return Err(invalid("RawMessageDelivery: Invalid value"));
            }
            if !matches!(protocol, "sqs" | "http" | "https" | "firehose") {
                return Err(invalid(format!(
                    "Delivery protocol [{protocol}] does not support raw message delivery."
                )));
            }
            attrs.insert(name.into(), v);
            return Ok(());
        }
        "FilterPolicyScope" => {
            let Some(scope) = Scope::parse(value) else {
                return Err(invalid(format!(
                    "FilterPolicyScope: Invalid value [{value}]. Please use either MessageBody or MessageAttributes"
                )));
            };
            if let Some(p) = attrs.get("FilterPolicy") {
                Policy::parse(p, scope).map_err(invalid_raw)?;
            }
        }
        "FilterPolicy" => {
            if value.trim().is_empty() {
                attrs.remove(name);
                return Ok(());
            }
            let scope = attrs
                .get("FilterPolicyScope")
                .and_then(|s| Scope::parse(s))
                .unwrap_or(Scope::MessageAttributes);
            Policy::parse(value, scope).map_err(invalid_raw)?;
        }
        "RedrivePolicy" => {
            if value.is_empty() {
                attrs.remove(name);
                return Ok(());
            }
            let doc: Json = serde_json::from_str(value)
                .map_err(|_| invalid("RedrivePolicy: failed to parse JSON."))?;
            let target = doc.get("deadLetterTargetArn").and_then(Json::as_str);
            let Some(target) = target else {
                return Err(invalid("RedrivePolicy: deadLetterTargetArn is missing"));
            };
            let parts: Vec<&str> = target.split(':').collect();
            if parts.len() != 6 || parts[0] != "arn" || parts[2] != "sqs" {
                return Err(invalid(format!(
                    "RedrivePolicy: Invalid deadLetterTargetArn: {target}"
                )));
            }
        }
        "DeliveryPolicy" => {
            if value.is_empty() {
                attrs.remove(name);
                return Ok(());
            }
            if !matches!(serde_json::from_str::<Json>(value), Ok(Json::Object(_))) {
                return Err(invalid("DeliveryPolicy: failed to parse JSON"));
            }
        }
        _ => {}
    }
    attrs.insert(name.into(), value.into());
    Ok(())
}

/// A filter policy error is already `Invalid parameter: ...`.
fn invalid_raw(message: String) -> crate::error::SnsError {
    crate::error::SnsError::new(crate::error::Kind::InvalidParameter, message)
}

/// The text of a confirmation mail.
fn confirmation_mail_body(topic_arn: &str, url: &str) -> String {
    format!(
        "You have chosen to subscribe to the topic: \n{topic_arn}\n\nTo confirm this subscription, click or visit the link below (If this was in error no action is necessary): \nConfirm subscription: {url}\n\nPlease do not reply directly to this email. If you wish to remove yourself from receiving all future SNS subscription confirmation requests please send an email to sns-opt-out"
    )
}

/// The sender of SNS mails for a topic.
pub(crate) fn mail_from(display_name: Option<&str>) -> String {
    let name = display_name
        .filter(|d| !d.is_empty())
        .unwrap_or("AWS Notifications");
    format!("{name} <no-reply@sns.amazonaws.com>")
}

/// Subscribe.
pub async fn subscribe(sns: &Sns, ctx: &RequestContext, i: SubscribeIn) -> Result<Json> {
    let protocol = i.protocol.to_ascii_lowercase();
    let endpoint = i.endpoint.clone().unwrap_or_default();
    let pending_write;
    let result;
    {
        let mut st = sns.lock();
        sns.check_topic_arn(&st, ctx, &i.topic_arn, "Subscribe", "TopicArn")?;
        let topic = st.topics.get(&i.topic_arn).ok_or_else(no_topic)?.clone();
        valid_endpoint(&protocol, &endpoint)?;
        if topic.fifo() && protocol != "sqs" {
            return Err(invalid(format!("Invalid protocol type: {protocol}")));
        }
        // Scope first, so the policy is checked in the scope asked for.
        let mut attrs = BTreeMap::new();
        if let Some(scope) = i.attributes.get("FilterPolicyScope") {
            set_one(&mut attrs, &protocol, "FilterPolicyScope", scope)?;
        }
        for (k, v) in &i.attributes {
            if k != "FilterPolicyScope" {
                set_one(&mut attrs, &protocol, k, v).map_err(|e| reword_for_subscribe(e, k))?;
            }
        }
        if let Some(existing) = st.subs.values().find(|s| {
            s.rec.topic_arn == i.topic_arn
                && s.rec.protocol == protocol
                && s.rec.endpoint == endpoint
        }) {
            let same = attrs
                .iter()
                .all(|(k, v)| existing.rec.attributes.get(k) == Some(v));
            if !same {
                return Err(invalid(
                    "Attributes Reason: Subscription already exists with different attributes",
                ));
            }
            let arn = if existing.rec.confirmed || i.return_subscription_arn {
                existing.rec.arn.clone()
            } else {
                "pending confirmation".to_string()
            };
            return Ok(json!({ "SubscriptionArn": arn }));
        }
        let arn = format!("{}:{}", i.topic_arn, serval_core::ids::uuid_v4());
        let needs_confirmation =
            matches!(protocol.as_str(), "http" | "https" | "email" | "email-json");
        let token = serval_core::ids::random_hex(64);
        let now = sns.now();
        let rec = SubRecord {
            v: 1,
            arn: arn.clone(),
            topic_arn: i.topic_arn.clone(),
            owner: ctx.account_id.clone(),
            region: ctx.region.clone(),
            protocol: protocol.clone(),
            endpoint: endpoint.clone(),
            attributes: attrs,
            confirmed: !needs_confirmation,
            token: token.clone(),
            created: now,
        };
        let mut ops = vec![store::put_sub(&rec)];
        let mut job = None;
        match protocol.as_str() {
            "http" | "https" => {
                let j = Job {
                    v: 1,
                    seq: sns.next_seq(),
                    sub: arn.clone(),
                    topic: i.topic_arn.clone(),
                    protocol: protocol.clone(),
                    endpoint: endpoint.clone(),
                    attempts: 0,
                    due: now,
                    lane: None,
                    kind: JobKind::Confirm {
                        id: serval_core::ids::uuid_v4(),
                        token: token.clone(),
                        ts: now,
                    },
                };
                ops.push(store::put_job(&j));
                job = Some(j);
            }
            "email" | "email-json" => {
                let url = sns.links.subscribe_url(&i.topic_arn, &token);
                let mail = Mail {
                    v: 1,
                    seq: sns.next_seq(),
                    message_id: serval_core::ids::uuid_v4(),
                    timestamp: now,
                    from: mail_from(topic.attributes.get("DisplayName").map(String::as_str)),
                    to: endpoint.clone(),
                    subject: "AWS Notification - Subscription Confirmation".into(),
                    body: confirmation_mail_body(&i.topic_arn, &url),
                    kind: "confirmation".into(),
                    topic_arn: i.topic_arn.clone(),
                    subscription_arn: arn.clone(),
                    confirm_url: Some(url),
                    token: Some(token.clone()),
                };
                ops.push(store::put_mail(&mail));
            }
            _ => {}
        }
        st.subs.insert(arn.clone(), Sub::new(rec));
        pending_write = sns.store.submit(ops)?;
        if let Some(j) = job {
            sns.engine.push(j);
        }
        result = if !needs_confirmation || i.return_subscription_arn {
            arn
        } else {
            "pending confirmation".to_string()
        };
    }
    pending_write.wait().await?;
    sns.engine.wake();
    Ok(json!({ "SubscriptionArn": result }))
}

/// Subscribe's attribute errors name the attributes.
fn reword_for_subscribe(e: crate::error::SnsError, name: &str) -> crate::error::SnsError {
    if e.message == "Invalid parameter: AttributeName" {
        return invalid(format!("Attributes Reason: Unknown attribute {name}"));
    }
    e
}

/// Unsubscribe (no error when the subscription is already gone).
pub async fn unsubscribe(sns: &Sns, _ctx: &RequestContext, i: SubIn) -> Result<Json> {
    let pending = {
        let mut st = sns.lock();
        match sns.check_sub_arn(&st, &i.subscription_arn) {
            Ok(()) => {}
            Err(e) if e.kind == crate::error::Kind::NotFound => return Ok(json!({})),
            Err(e) => return Err(e),
        }
        let Some(sub) = st.subs.remove(&i.subscription_arn) else {
            return Ok(json!({}));
        };
        let mut ops = vec![store::delete_sub(&sub.rec.arn)];
        if let Some(t) = st.topics.get_mut(&sub.rec.topic_arn) {
            t.deleted_subs += 1;
            ops.push(store::put_topic(t));
        }
        sns.store.submit(ops)?
    };
    pending.wait().await?;
    Ok(json!({}))
}

/// ConfirmSubscription: the token from the confirmation message.
pub async fn confirm(sns: &Sns, _ctx: &RequestContext, i: ConfirmIn) -> Result<Json> {
    let (arn, pending) = {
        let mut st = sns.lock();
        if crate::parse_topic_arn(&i.topic_arn).is_none() {
            return Err(invalid("TopicArn"));
        }
        if !st.topics.contains_key(&i.topic_arn) {
            return Err(no_topic());
        }
        let Some(sub) = st
            .subs
            .values_mut()
            .find(|s| s.rec.topic_arn == i.topic_arn && s.rec.token == i.token)
        else {
            return Err(invalid("Invalid token"));
        };
        if sub.rec.confirmed {
            (sub.rec.arn.clone(), None)
        } else {
            sub.rec.confirmed = true;
            if i.authenticate_on_unsubscribe.as_deref() == Some("true") {
                sub.rec
                    .attributes
                    .insert("ConfirmationWasAuthenticated".into(), "true".into());
            }
            (
                sub.rec.arn.clone(),
                Some(sns.store.submit(vec![store::put_sub(&sub.rec)])?),
            )
        }
    };
    if let Some(p) = pending {
        p.wait().await?;
    }
    Ok(json!({ "SubscriptionArn": arn }))
}

/// The attributes GetSubscriptionAttributes shows.
fn attributes_of(rec: &SubRecord) -> BTreeMap<String, String> {
    let mut a = rec.attributes.clone();
    a.insert("SubscriptionArn".into(), rec.arn.clone());
    a.insert("TopicArn".into(), rec.topic_arn.clone());
    a.insert("Owner".into(), rec.owner.clone());
    a.insert("Protocol".into(), rec.protocol.clone());
    a.insert("Endpoint".into(), rec.endpoint.clone());
    a.insert("PendingConfirmation".into(), (!rec.confirmed).to_string());
    a.entry("ConfirmationWasAuthenticated".into())
        .or_insert_with(|| "true".into());
    a.entry("RawMessageDelivery".into())
        .or_insert_with(|| "false".into());
    a.insert(
        "SubscriptionPrincipal".into(),
        format!("arn:aws:iam::{}:root", rec.owner),
    );
    if a.contains_key("FilterPolicy") {
        a.entry("FilterPolicyScope".into())
            .or_insert_with(|| "MessageAttributes".into());
    } else {
        a.remove("FilterPolicyScope");
    }
    if matches!(rec.protocol.as_str(), "http" | "https") {
        a.insert(
            "EffectiveDeliveryPolicy".into(),
            crate::ops::topics::effective_delivery_policy(
                rec.attributes.get("DeliveryPolicy").map(String::as_str),
            ),
        );
    }
    a
}

/// GetSubscriptionAttributes.
pub fn get_attributes(sns: &Sns, _ctx: &RequestContext, i: SubIn) -> Result<Json> {
    let st = sns.lock();
    sns.check_sub_arn(&st, &i.subscription_arn)?;
    let sub = st
        .subs
        .get(&i.subscription_arn)
        .ok_or_else(no_subscription)?;
    Ok(json!({ "Attributes": attributes_of(&sub.rec) }))
}

/// SetSubscriptionAttributes.
pub async fn set_attribute(sns: &Sns, _ctx: &RequestContext, i: SetAttrIn) -> Result<Json> {
    let arn = i.subscription_arn.unwrap_or_default();
    let value = i.attribute_value.unwrap_or_default();
    let pending = {
        let mut st = sns.lock();
        sns.check_sub_arn(&st, &arn)?;
        let Some(sub) = st.subs.get_mut(&arn) else {
            return Err(no_subscription());
        };
        let mut attrs = sub.rec.attributes.clone();
        set_one(&mut attrs, &sub.rec.protocol, &i.attribute_name, &value)?;
        let mut rec = sub.rec.clone();
        rec.attributes = attrs;
        let op = store::put_sub(&rec);
        *sub = Sub::new(rec);
        sns.store.submit(vec![op])?
    };
    pending.wait().await?;
    Ok(json!({}))
}

fn summary(rec: &SubRecord) -> Json {
    json!({
        "SubscriptionArn": if rec.confirmed { rec.arn.as_str() } else { "PendingConfirmation" },
        "Owner": rec.owner,
        "Protocol": rec.protocol,
        "Endpoint": rec.endpoint,
        "TopicArn": rec.topic_arn,
    })
}

fn listing(items: Vec<(String, Json)>, token: Option<&str>) -> Result<Json> {
    let (subs, next) = page(&items, token, 100)?;
    let mut out = Map::new();
    out.insert("Subscriptions".into(), Json::Array(subs));
    if let Some(n) = next {
        out.insert("NextToken".into(), n.into());
    }
    Ok(Json::Object(out))
}

/// ListSubscriptions: the caller's subscriptions in its region.
pub fn list(sns: &Sns, ctx: &RequestContext, i: ListIn) -> Result<Json> {
    let items: Vec<(String, Json)> = {
        let st = sns.lock();
        st.subs
            .values()
            .filter(|s| s.rec.owner == ctx.account_id && s.rec.region == ctx.region)
            .map(|s| (s.rec.arn.clone(), summary(&s.rec)))
            .collect()
    };
    listing(items, i.next_token.as_deref())
}

/// ListSubscriptionsByTopic.
pub fn list_by_topic(sns: &Sns, ctx: &RequestContext, i: ListIn) -> Result<Json> {
    let topic = i.topic_arn.clone().unwrap_or_default();
    let items: Vec<(String, Json)> = {
        let st = sns.lock();
        sns.check_topic_arn(&st, ctx, &topic, "ListSubscriptionsByTopic", "TopicArn")?;
        st.subs
            .values()
            .filter(|s| s.rec.topic_arn == topic)
            .map(|s| (s.rec.arn.clone(), summary(&s.rec)))
            .collect()
    };
    listing(items, i.next_token.as_deref())
}
