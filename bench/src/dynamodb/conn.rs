//! Request bodies, the DynamoDB client connection, and preparing a table.

use super::*;

// ------------------------------------------------------------------ requests

fn put_body(pk: &str, sk: usize) -> Bytes {
    Bytes::from(format!(
        r#"{{"TableName":"{TABLE}","Item":{{"pk":{{"S":"{pk}"}},"sk":{{"N":"{sk}"}},"payload":{{"S":"{FILLER}"}}}}}}"#
    ))
}

fn get_body(sk: usize) -> Bytes {
    Bytes::from(format!(
        r#"{{"TableName":"{TABLE}","Key":{{"pk":{{"S":"{QUERY_PK}"}},"sk":{{"N":"{sk}"}}}}}}"#
    ))
}

fn query_body() -> Bytes {
    Bytes::from(format!(
        r#"{{"TableName":"{TABLE}","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{{":p":{{"S":"{QUERY_PK}"}}}}}}"#
    ))
}

/// Every request body of the run, built before any clock starts.
pub(super) struct Bodies {
    put: Vec<Bytes>,
    get: Vec<Bytes>,
    query: Bytes,
}

impl Bodies {
    pub(super) fn new() -> Self {
        Bodies {
            put: (0..PUT_KEYS)
                .map(|i| put_body(&format!("bench#put#{i}"), 0))
                .collect(),
            get: (0..QUERY_ITEMS).map(get_body).collect(),
            query: query_body(),
        }
    }

    /// The `i`-th body of `op` (cycling).
    pub(super) fn get(&self, op: Op, i: usize) -> Bytes {
        match op {
            Op::Put => self.put[i % self.put.len()].clone(),
            Op::Get => self.get[i % self.get.len()].clone(),
            Op::Query => self.query.clone(),
        }
    }
}

// ------------------------------------------------------------------ client

/// One HTTP/1.1 connection that is reopened when the server closes it.
pub(super) struct Conn {
    addr: SocketAddr,
    host: http::HeaderValue,
    tx: Option<SendRequest<Full<Bytes>>>,
    /// Connections opened so far.
    pub(super) opened: u64,
}

impl Conn {
    pub(super) fn new(addr: SocketAddr) -> Result<Conn> {
        Ok(Conn {
            addr,
            host: http::HeaderValue::from_str(&addr.to_string())?,
            tx: None,
            opened: 0,
        })
    }

    /// Sends one request (on a new connection if the last one was closed)
    /// and returns the answer's head with its unread body.
    async fn send(
        &mut self,
        target: http::HeaderValue,
        body: Bytes,
    ) -> Result<(http::response::Parts, hyper::body::Incoming)> {
        use http::header::{AUTHORIZATION, CONNECTION, CONTENT_TYPE, HOST};
        use http::HeaderValue;
        let mut tx = match self.tx.take() {
            Some(tx) if !tx.is_closed() => tx,
            _ => {
                let stream = tokio::net::TcpStream::connect(self.addr).await?;
                stream.set_nodelay(true)?;
                let (tx, conn) =
                    hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                self.opened += 1;
                tx
            }
        };
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = http::Uri::from_static("/");
        let h = req.headers_mut();
        h.insert(HOST, self.host.clone());
        h.insert(CONTENT_TYPE, HeaderValue::from_static(JSON_10));
        h.insert(AUTHORIZATION, HeaderValue::from_static(DDB_AUTH));
        h.insert("x-amz-date", HeaderValue::from_static(AMZ_DATE));
        h.insert("x-amz-target", target);
        tx.ready().await?;
        let (parts, incoming) = tx.send_request(req).await?.into_parts();
        let close = parts
            .headers
            .get(CONNECTION)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
        if !close {
            // hyper sends nothing more on it until this body is read.
            self.tx = Some(tx);
        }
        Ok((parts, incoming))
    }

    /// One measured call: the status and body length; the body itself only
    /// on an error status (a 1,000-item Query answer is drained, not copied).
    pub(super) async fn call(
        &mut self,
        op: Op,
        body: Bytes,
    ) -> Result<(StatusCode, usize, Option<Bytes>)> {
        let (parts, mut incoming) = self.send(op.target(), body).await?;
        if parts.status != StatusCode::OK {
            let body = incoming.collect().await?.to_bytes();
            return Ok((parts.status, body.len(), Some(body)));
        }
        let mut len = 0;
        while let Some(frame) = incoming.frame().await {
            if let Ok(data) = frame?.into_data() {
                len += data.len();
            }
        }
        Ok((parts.status, len, None))
    }

    /// Any operation (`CreateTable`, ...) with its whole answer.
    pub(super) async fn raw(
        &mut self,
        op: &'static str,
        body: Bytes,
    ) -> Result<(StatusCode, Bytes)> {
        let target = http::HeaderValue::from_str(&format!("DynamoDB_20120810.{op}"))?;
        let (parts, incoming) = self.send(target, body).await?;
        Ok((parts.status, incoming.collect().await?.to_bytes()))
    }

    /// An operation that must succeed; its parsed answer.
    pub(super) async fn json(
        &mut self,
        op: &'static str,
        body: serde_json::Value,
    ) -> Result<serde_json::Value> {
        let (status, body) = self.raw(op, Bytes::from(body.to_string())).await?;
        if status != StatusCode::OK {
            return Err(format!("{op}: HTTP {status} {}", String::from_utf8_lossy(&body)).into());
        }
        serde_json::from_slice(&body).map_err(|e| format!("{op}: answer is not JSON: {e}").into())
    }
}

/// A server under test, ready for the load.
pub(super) struct System {
    pub(super) name: &'static str,
    pub(super) addr: SocketAddr,
    pub(super) pid: u32,
    pub(super) ns_per_tick: u64,
    /// Size of the Query answer seen when checking it; `None` when the
    /// Query failed its check (its rows are then left out for this system).
    pub(super) query_len: Option<usize>,
}

/// Creates the table, preloads the Query partition and checks what GetItem answers.
pub(super) async fn prepare(addr: SocketAddr, bodies: &Arc<Bodies>) -> Result<()> {
    let mut c = Conn::new(addr)?;
    let (status, body) = c.raw("ListTables", Bytes::from_static(b"{}")).await?;
    if status != StatusCode::OK {
        return Err(format!(
            "does not answer DynamoDB (ListTables: HTTP {status} {})",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        )
        .into());
    }
    let create = serde_json::json!({
        "TableName": TABLE,
        "AttributeDefinitions": [
            { "AttributeName": "pk", "AttributeType": "S" },
            { "AttributeName": "sk", "AttributeType": "N" },
        ],
        "KeySchema": [
            { "AttributeName": "pk", "KeyType": "HASH" },
            { "AttributeName": "sk", "KeyType": "RANGE" },
        ],
        "BillingMode": "PAY_PER_REQUEST",
    });
    let created = c.json("CreateTable", create).await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut status = created["TableDescription"]["TableStatus"].clone();
    while status != "ACTIVE" {
        if Instant::now() > deadline {
            return Err(format!("table still {status} after 10 s").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        let d = c
            .json("DescribeTable", serde_json::json!({ "TableName": TABLE }))
            .await?;
        status = d["Table"]["TableStatus"].clone();
    }

    // Preload on 16 connections.
    let mut set = tokio::task::JoinSet::new();
    for k in 0..16 {
        let mut c = Conn::new(addr)?;
        set.spawn(async move {
            for i in (k..QUERY_ITEMS).step_by(16) {
                let (status, _, body) = c.call(Op::Put, put_body(QUERY_PK, i)).await?;
                if status != StatusCode::OK {
                    return Err::<(), Error>(
                        format!("preload PutItem: HTTP {status} {}", lossy(body)).into(),
                    );
                }
            }
            Ok(())
        });
    }
    while let Some(r) = set.join_next().await {
        r.map_err(|e| format!("preload task: {e}"))??;
    }

    let get = c.raw("GetItem", bodies.get(Op::Get, 7)).await?;
    let got: serde_json::Value = serde_json::from_slice(&get.1).map_err(|e| {
        format!(
            "GetItem: HTTP {} {e}: {}",
            get.0,
            lossy(Some(get.1.clone()))
        )
    })?;
    if got["Item"]["sk"]["N"] != "7" || got["Item"]["payload"]["S"] != FILLER {
        return Err(format!("GetItem answered {got}").into());
    }
    Ok(())
}

/// Checks that the Query returns the whole partition in one page; its answer's size.
pub(super) async fn check_query(addr: SocketAddr, bodies: &Arc<Bodies>) -> Result<usize> {
    let mut c = Conn::new(addr)?;
    let (status, q) = c.raw("Query", bodies.query.clone()).await?;
    let qv: serde_json::Value = serde_json::from_slice(&q)
        .map_err(|e| format!("Query: HTTP {status} {e}: {}", lossy(Some(q.clone()))))?;
    if status != StatusCode::OK {
        return Err(format!("HTTP {status} {}", lossy(Some(q))).into());
    }
    let items = qv["Items"].as_array().map_or(0, Vec::len);
    if qv["Count"] != QUERY_ITEMS || items != QUERY_ITEMS || qv.get("LastEvaluatedKey").is_some() {
        return Err(format!(
            "Count {}, {items} items, LastEvaluatedKey {}; want {QUERY_ITEMS} items in one page",
            qv["Count"], qv["LastEvaluatedKey"]
        )
        .into());
    }
    Ok(q.len())
}

pub(super) fn lossy(body: Option<Bytes>) -> String {
    let b = body.unwrap_or_default();
    String::from_utf8_lossy(&b[..b.len().min(300)]).into_owned()
}
