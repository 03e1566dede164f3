//! Lambda as other services see it: the [`Invoker`] from `serval-core`.

use crate::arn::FunctionRef;
use crate::error::LambdaError;
use crate::invoke::{execute, resolve, MAX_SYNC_PAYLOAD};
use crate::Lambda;
use bytes::Bytes;
use serval_core::invoke::CallFuture;
use serval_core::{
    ids, AwsError, FunctionUrlTarget, InvokeRequest, InvokeResponse, Invoker, RequestContext,
};
use serval_sandbox::Outcome;
use std::sync::Arc;

/// Lambda's [`Invoker`]: synchronous invokes for API Gateway, function URLs
/// and event sources, through the same admission and environments as the
/// Invoke API.
pub struct LambdaInvoker(pub Arc<Lambda>);

impl LambdaInvoker {
    async fn run(&self, req: InvokeRequest) -> Result<InvokeResponse, LambdaError> {
        let l = &self.0;
        let fref = FunctionRef::parse(&req.function)?.with_qualifier(req.qualifier)?;
        let ctx = RequestContext {
            account_id: req.account_id,
            region: req.region,
            access_key_id: String::new(),
            request_id: ids::request_id(),
        };
        let key = l.key(&ctx, &fref)?;
        let target = resolve(l, &key, fref.qualifier.as_deref())?;
        if req.payload.len() > MAX_SYNC_PAYLOAD {
            return Err(LambdaError::RequestTooLarge(format!(
                "Request must be smaller than {MAX_SYNC_PAYLOAD} bytes for the InvokeFunction operation"
            )));
        }
        // As with the Invoke API, the invocation runs in its own task so a
        // caller that stops waiting does not stop the function.
        let lambda = l.clone();
        let payload = req.payload;
        let (exec, target) = tokio::spawn(async move {
            let exec = execute(&lambda, &target, ctx.request_id, payload, None, false).await;
            (exec, target)
        })
        .await
        .map_err(|e| LambdaError::Internal(format!("invocation task failed: {e}")))?;
        let (payload, function_error) = match exec?.outcome {
            Outcome::Success(body) => (body, None),
            Outcome::Error { body, .. } => (body, Some("Unhandled".to_string())),
        };
        Ok(InvokeResponse {
            payload: if payload.is_empty() {
                Bytes::from_static(b"null")
            } else {
                payload
            },
            function_error,
            executed_version: target.version,
        })
    }
}

impl Invoker for LambdaInvoker {
    fn invoke(&self, req: InvokeRequest) -> CallFuture<'_, InvokeResponse> {
        Box::pin(async move { self.run(req).await.map_err(AwsError::from) })
    }

    fn function_url(&self, url_id: &str) -> Option<FunctionUrlTarget> {
        let l = &self.0;
        let (key, qualifier) = l.registry.url_owner(url_id)?;
        l.registry.read(&key, |f| {
            let u = f?.urls.get(&qualifier)?;
            let function_arn = if qualifier.is_empty() {
                key.arn()
            } else {
                format!("{}:{qualifier}", key.arn())
            };
            Some(FunctionUrlTarget {
                account_id: key.account.clone(),
                region: key.region.clone(),
                function_name: key.name.clone(),
                qualifier: (!qualifier.is_empty()).then(|| qualifier.clone()),
                auth_type: u.auth_type.clone(),
                cors: u.cors.clone(),
                invoke_mode: u.invoke_mode.clone(),
                function_arn,
            })
        })
    }
}

/// Lambda's log store as other services write to it (API Gateway access logs).
pub struct LambdaLogSink(pub Arc<Lambda>);

impl serval_core::LogSink for LambdaLogSink {
    fn append(
        &self,
        account: &str,
        region: &str,
        group: &str,
        stream: &str,
        events: &[(u64, String)],
    ) {
        self.0.logs.append(account, region, group, stream, events);
    }
}
