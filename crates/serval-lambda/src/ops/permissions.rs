//! AddPermission, RemovePermission, GetPolicy: resource-based policies,
//! recorded per function or qualifier as AWS renders them (enforced once
//! Serval enforces IAM).

use super::ok;
use crate::arn::FunctionRef;
use crate::error::{validation, LambdaError, Result};
use crate::model::PolicyRecord;
use crate::registry::{FnKey, Function};
use crate::{not_found, Lambda};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use serval_core::{ids, RequestContext};
use serval_wire::Response;

/// AddPermission's body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PermissionInput {
    /// Statement id.
    pub statement_id: Option<String>,
    /// `lambda:InvokeFunction`, `lambda:*`, ...
    pub action: Option<String>,
    /// A service principal, an account id or an ARN.
    pub principal: Option<String>,
    /// `AWS:SourceArn` condition.
    pub source_arn: Option<String>,
    /// `AWS:SourceAccount` condition.
    pub source_account: Option<String>,
    /// Alexa's `lambda:EventSourceToken` condition.
    pub event_source_token: Option<String>,
    /// Expected policy revision.
    pub revision_id: Option<String>,
    /// `aws:PrincipalOrgID` condition.
    #[serde(rename = "PrincipalOrgID")]
    pub principal_org_id: Option<String>,
    /// `lambda:FunctionUrlAuthType` condition.
    pub function_url_auth_type: Option<String>,
    /// `lambda:InvokedViaFunctionUrl` condition.
    pub invoked_via_function_url: Option<bool>,
}

fn sid_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn action_ok(a: &str) -> bool {
    a == "*"
        || a == "lambda:*"
        || a.strip_prefix("lambda:")
            .is_some_and(|x| !x.is_empty() && x.bytes().all(|b| b.is_ascii_alphabetic()))
}

/// The policy a reference names: `""` for the function (also `$LATEST`),
/// else the version or alias.
fn policy_qualifier(fref: &FunctionRef) -> String {
    match fref.qualifier.as_deref() {
        None | Some("$LATEST") => String::new(),
        Some(q) => q.to_string(),
    }
}

/// The qualifier's resource, checked to exist (`""` is the function).
fn resource(f: &Function, key: &FnKey, qualifier: &str) -> Result<String> {
    if qualifier.is_empty() {
        return Ok(key.arn());
    }
    if f.version(qualifier).is_none() && !f.aliases.contains_key(qualifier) {
        return Err(not_found(key, Some(qualifier)));
    }
    Ok(format!("{}:{qualifier}", key.arn()))
}

fn principal_of(p: &str) -> Value {
    if p.ends_with(".amazonaws.com") || p.ends_with(".amazonaws.com.cn") {
        json!({ "Service": p })
    } else if p == "*" {
        json!("*")
    } else if p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit()) {
        json!({ "AWS": format!("arn:aws:iam::{p}:root") })
    } else {
        json!({ "AWS": p })
    }
}

fn statement(
    input: &PermissionInput,
    sid: &str,
    action: &str,
    principal: &str,
    res: &str,
) -> Value {
    let mut cond: Map<String, Value> = Map::new();
    let mut add = |op: &str, k: &str, v: Value| {
        let entry = cond.entry(op.to_string()).or_insert_with(|| json!({}));
        entry[k] = v;
    };
    if let Some(a) = &input.source_arn {
        add("ArnLike", "AWS:SourceArn", a.clone().into());
    }
    if let Some(a) = &input.source_account {
        add("StringEquals", "AWS:SourceAccount", a.clone().into());
    }
    if let Some(t) = &input.event_source_token {
        add("StringEquals", "lambda:EventSourceToken", t.clone().into());
    }
    if let Some(o) = &input.principal_org_id {
        add("StringEquals", "aws:PrincipalOrgID", o.clone().into());
    }
    if let Some(t) = &input.function_url_auth_type {
        add(
            "StringEquals",
            "lambda:FunctionUrlAuthType",
            t.clone().into(),
        );
    }
    if let Some(v) = input.invoked_via_function_url {
        add("Bool", "lambda:InvokedViaFunctionUrl", v.to_string().into());
    }
    let mut s = json!({
        "Sid": sid,
        "Effect": "Allow",
        "Principal": principal_of(principal),
        "Action": action,
        "Resource": res,
    });
    if !cond.is_empty() {
        s["Condition"] = Value::Object(cond);
    }
    s
}

/// AddPermission.
pub async fn add(
    l: &Lambda,
    ctx: &RequestContext,
    fref: &FunctionRef,
    input: PermissionInput,
) -> Result<Response> {
    let key = l.key(ctx, fref)?;
    let qualifier = policy_qualifier(fref);
    let sid = input
        .statement_id
        .clone()
        .ok_or_else(|| LambdaError::InvalidParameter("StatementId is required".into()))?;
    if !sid_ok(&sid) {
        return Err(validation(
            &sid,
            "statementId",
            "Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)",
        ));
    }
    let action = input
        .action
        .clone()
        .ok_or_else(|| LambdaError::InvalidParameter("Action is required".into()))?;
    if !action_ok(&action) {
        return Err(validation(
            &action,
            "action",
            "Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])",
        ));
    }
    let principal = input
        .principal
        .clone()
        .filter(|p| !p.is_empty() && !p.contains(char::is_whitespace))
        .ok_or_else(|| LambdaError::InvalidParameter("Principal is required".into()))?;
    if let Some(a) = &input.source_account {
        if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
            return Err(validation(
                a,
                "sourceAccount",
                "Member must satisfy regular expression pattern: \\d{12}",
            ));
        }
    }
    if let Some(t) = &input.function_url_auth_type {
        if t != "NONE" && t != "AWS_IAM" {
            return Err(validation(
                t,
                "functionUrlAuthType",
                "Member must satisfy enum value set: [NONE, AWS_IAM]",
            ));
        }
    }
    let stmt = l
        .update_function(&key, |mut f| {
            let res = resource(&f, &key, &qualifier)?;
            let policy = f.policies.entry(qualifier.clone()).or_insert_with(|| PolicyRecord {
                qualifier: qualifier.clone(),
                statements: Vec::new(),
                revision_id: ids::uuid_v4(),
            });
            if let Some(want) = &input.revision_id {
                if *want != policy.revision_id {
                    return Err(crate::error::stale_revision("GetPolicy"));
                }
            }
            if policy.statements.iter().any(|s| s["Sid"] == sid.as_str()) {
                return Err(LambdaError::Conflict(format!(
                    "The statement id ({sid}) provided already exists. Please provide a new statement id, or remove the existing statement."
                )));
            }
            let stmt = statement(&input, &sid, &action, &principal, &res);
            policy.statements.push(stmt.clone());
            policy.revision_id = ids::uuid_v4();
            Ok((Some(f), stmt))
        })
        .await?;
    ok(201, &json!({ "Statement": stmt.to_string() }))
}

/// RemovePermission.
pub async fn remove(
    l: &Lambda,
    ctx: &RequestContext,
    fref: &FunctionRef,
    sid: &str,
    revision_id: Option<String>,
) -> Result<Response> {
    let key = l.key(ctx, fref)?;
    let qualifier = policy_qualifier(fref);
    l.update_function(&key, |mut f| {
        resource(&f, &key, &qualifier)?;
        let missing =
            || LambdaError::NotFound(format!("Statement {sid} is not found in resource policy."));
        let policy = f.policies.get_mut(&qualifier).ok_or_else(missing)?;
        if let Some(want) = &revision_id {
            if *want != policy.revision_id {
                return Err(crate::error::stale_revision("GetPolicy"));
            }
        }
        let before = policy.statements.len();
        policy.statements.retain(|s| s["Sid"] != sid);
        if policy.statements.len() == before {
            return Err(missing());
        }
        policy.revision_id = ids::uuid_v4();
        if policy.statements.is_empty() {
            f.policies.remove(&qualifier);
        }
        Ok((Some(f), ()))
    })
    .await?;
    Ok(Response::empty(204))
}

/// GetPolicy.
pub fn get(l: &Lambda, ctx: &RequestContext, fref: &FunctionRef) -> Result<Response> {
    let key = l.key(ctx, fref)?;
    let qualifier = policy_qualifier(fref);
    l.read_function(&key, |f| {
        resource(f, &key, &qualifier)?;
        let p = f.policies.get(&qualifier).ok_or_else(|| {
            LambdaError::NotFound("The resource you requested does not exist.".into())
        })?;
        let doc = json!({
            "Version": "2012-10-17",
            "Id": "default",
            "Statement": p.statements,
        });
        ok(
            200,
            &json!({ "Policy": doc.to_string(), "RevisionId": p.revision_id }),
        )
    })
}
