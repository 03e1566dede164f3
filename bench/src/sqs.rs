//! `serval-bench --sqs`: messages/s of a send + receive + delete cycle with
//! 16 clients against Serval and against `moto_server`, both started by this
//! run, and the ratio (target: 50x moto).
//!
//! Each system gets one standard queue. Each client (its own keep-alive
//! HTTP/1.1 connection, reopened when the server closes it, as moto's
//! Werkzeug does after every answer) loops: SendMessage (a 100-byte body),
//! ReceiveMessage (up to 1 message, no wait; retried when the queue looks
//! empty), DeleteMessage with the handle it got. A cycle counts as one
//! message; the figure is completed cycles per second over the window after
//! a warm-up. The JSON protocol is used on both (moto 5 speaks it).

use super::*;
use crate::dynamodb::moto::{find_moto, moto_version, start_moto};

const SQS_AUTH: &str = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000";
const BODY: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz0123";
const MIN_RATIO: f64 = 50.0;

/// One client connection, reopened when the server closes it.
struct Client {
    addr: SocketAddr,
    host: http::HeaderValue,
    tx: Option<SendRequest<Full<Bytes>>>,
}

impl Client {
    fn new(addr: SocketAddr) -> Result<Client> {
        Ok(Client {
            addr,
            host: http::HeaderValue::from_str(&addr.to_string())?,
            tx: None,
        })
    }

    async fn call(&mut self, op: &str, body: String) -> Result<serde_json::Value> {
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
                tx
            }
        };
        let mut req = Request::new(Full::new(Bytes::from(body)));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = http::Uri::from_static("/");
        let h = req.headers_mut();
        h.insert(HOST, self.host.clone());
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-amz-json-1.0"),
        );
        h.insert(AUTHORIZATION, HeaderValue::from_static(SQS_AUTH));
        h.insert("x-amz-date", HeaderValue::from_static("20260101T000000Z"));
        h.insert(
            "x-amz-target",
            HeaderValue::from_str(&format!("AmazonSQS.{op}"))?,
        );
        tx.ready().await?;
        let resp = tx.send_request(req).await?;
        let (parts, incoming) = resp.into_parts();
        let close = parts
            .headers
            .get(CONNECTION)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
        let bytes = incoming.collect().await?.to_bytes();
        if !close {
            self.tx = Some(tx);
        }
        if parts.status != StatusCode::OK {
            return Err(format!(
                "{op}: HTTP {} {}",
                parts.status,
                String::from_utf8_lossy(&bytes)
            )
            .into());
        }
        if bytes.is_empty() {
            return Ok(serde_json::Value::Null);
        }
        Ok(serde_json::from_slice(&bytes)?)
    }
}

/// One message's full cycle; `false` when the receive found nothing.
async fn cycle(c: &mut Client, url: &str, n: u64) -> Result<bool> {
    let body = serde_json::json!({"QueueUrl": url, "MessageBody": format!("{n}:{BODY}")});
    c.call("SendMessage", body.to_string()).await?;
    let recv = serde_json::json!({"QueueUrl": url, "MaxNumberOfMessages": 1, "WaitTimeSeconds": 0});
    let got = c.call("ReceiveMessage", recv.to_string()).await?;
    let Some(handle) = got["Messages"][0]["ReceiptHandle"].as_str() else {
        return Ok(false);
    };
    let del = serde_json::json!({"QueueUrl": url, "ReceiptHandle": handle});
    c.call("DeleteMessage", del.to_string()).await?;
    Ok(true)
}

struct Measured {
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
}

async fn measure(
    addr: SocketAddr,
    clients: usize,
    warmup: Duration,
    window: Duration,
) -> Result<Measured> {
    let mut c = Client::new(addr)?;
    let name = format!("bench-{}", std::process::id());
    let created = c
        .call(
            "CreateQueue",
            serde_json::json!({"QueueName": name}).to_string(),
        )
        .await?;
    let url = created["QueueUrl"]
        .as_str()
        .ok_or("CreateQueue answered no QueueUrl")?
        .to_string();
    let start = Instant::now() + warmup;
    let end = start + window;
    let mut tasks = Vec::new();
    for k in 0..clients {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = Client::new(addr)?;
            let mut lat = Vec::new();
            let mut n = (k as u64) << 32;
            loop {
                let t = Instant::now();
                if t >= end {
                    break;
                }
                let done = cycle(&mut c, &url, n).await?;
                n += 1;
                if done && t >= start {
                    lat.push(t.elapsed());
                }
            }
            Ok::<_, Error>(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.map_err(|e| e.to_string())??);
    }
    let _ = c
        .call(
            "DeleteQueue",
            serde_json::json!({"QueueUrl": url}).to_string(),
        )
        .await;
    let s = Samples::new(all, None);
    Ok(Measured {
        rate: s.0.len() as f64 / window.as_secs_f64(),
        p50_ms: s.p50_us() / 1000.0,
        p99_ms: s.pct(99.0).as_secs_f64() * 1000.0,
    })
}

/// The function of the end-to-end measurement: at the start of each
/// invocation it sends every record's body and its own start time (epoch ns)
/// back over TCP.
const E2E_FN: &str = r#"
import os, socket, time
def handler(event, context):
    t = time.time_ns()
    host, port = os.environ["NOTIFY"].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as s:
        for r in event["Records"]:
            s.sendall(("%s|%d\n" % (r["body"], t)).encode())
    return None
"#;

fn epoch_ns() -> u128 {
    SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// End-to-end latency from SendMessage to the start of the function an SQS
/// event source mapping invokes: `n` messages, one at a time.
async fn end_to_end(addr: SocketAddr, n: usize) -> Result<Samples> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let notify = listener.local_addr()?.to_string();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, u128)>();
    tokio::spawn(async move {
        use tokio::io::AsyncBufReadExt;
        while let Ok((sock, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut lines = tokio::io::BufReader::new(sock).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some((body, t)) = line.rsplit_once('|') {
                        if let Ok(t) = t.parse() {
                            let _ = tx.send((body.to_string(), t));
                        }
                    }
                }
            });
        }
    });
    let mut lam = crate::client::Client::connect(addr).await?;
    let zip = zip_one("e2e.py", E2E_FN.as_bytes(), 0o644)?;
    use base64::Engine;
    lam.call(
        Method::POST,
        "/2015-03-31/functions",
        serde_json::json!({
            "FunctionName": "sqs-e2e",
            "Runtime": "python3.12",
            "Role": ROLE,
            "Handler": "e2e.handler",
            "Code": { "ZipFile": base64::engine::general_purpose::STANDARD.encode(&zip) },
            "Environment": { "Variables": { "NOTIFY": notify } },
        }),
        201,
    )
    .await?;
    let mut c = Client::new(addr)?;
    let url = c
        .call(
            "CreateQueue",
            serde_json::json!({"QueueName": "e2e-bench"}).to_string(),
        )
        .await?["QueueUrl"]
        .as_str()
        .ok_or("CreateQueue gave no QueueUrl")?
        .to_string();
    let arn = c
        .call(
            "GetQueueAttributes",
            serde_json::json!({"QueueUrl": url, "AttributeNames": ["QueueArn"]}).to_string(),
        )
        .await?["Attributes"]["QueueArn"]
        .as_str()
        .ok_or("no QueueArn")?
        .to_string();
    lam.call(
        Method::POST,
        "/2015-03-31/event-source-mappings",
        serde_json::json!({"EventSourceArn": arn, "FunctionName": "sqs-e2e", "BatchSize": 1}),
        202,
    )
    .await?;
    let mut samples = Vec::with_capacity(n);
    // The first message also starts the function's environment: not counted.
    for i in 0..=n {
        let sent = epoch_ns();
        c.call(
            "SendMessage",
            serde_json::json!({"QueueUrl": url, "MessageBody": format!("m{i}")}).to_string(),
        )
        .await?;
        let want = format!("m{i}");
        loop {
            let (body, started) = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                .await
                .map_err(|_| format!("message {i} did not reach the function in 30 s"))?
                .ok_or("the notification listener stopped")?;
            if body == want {
                if i > 0 {
                    let ns = started.saturating_sub(sent);
                    samples.push(Duration::from_nanos(ns as u64));
                }
                break;
            }
        }
    }
    Ok(Samples::new(samples, None))
}

pub(crate) fn run_sqs(args: &[String]) -> Result<()> {
    let quick = args.iter().any(|a| a == "--quick");
    let want_moto = !args.iter().any(|a| a == "--no-moto");
    let clients = 16;
    let (warmup, window) = if quick {
        (Duration::from_millis(300), Duration::from_secs(1))
    } else {
        (Duration::from_secs(1), Duration::from_secs(5))
    };
    let serval_bin = find_bin("SERVAL_BIN", "serval")?;
    if std::env::var_os("SERVAL_BIN").is_none() {
        warn_if_stale(&serval_bin, &["crates"]);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    step("starting serval");
    let mut serval = rt.block_on(start_serval(
        &serval_bin,
        &["--isolation", "process"],
        "sqs",
    ))?;
    step(&format!("serval: send+receive+delete, {clients} clients"));
    let s = rt.block_on(measure(serval.addr, clients, warmup, window));
    let e2e_n = if quick { 50 } else { 300 };
    step(&format!(
        "serval: SendMessage -> function start, {e2e_n} messages"
    ));
    let e2e = rt.block_on(end_to_end(serval.addr, e2e_n));
    serval.proc.terminate(Duration::from_secs(5));
    let _ = std::fs::remove_file(&serval.log);
    let s = s?;
    let mut moto_row = None;
    let mut moto_note = String::from("not run");
    if want_moto {
        match find_moto() {
            Ok(exe) => {
                moto_note = format!(
                    "{}{}",
                    exe.display(),
                    moto_version(&exe)
                        .map(|v| format!(" (moto {v})"))
                        .unwrap_or_default()
                );
                step("starting moto_server");
                match rt.block_on(start_moto(&exe)) {
                    Ok(m) => {
                        step(&format!("moto: send+receive+delete, {clients} clients"));
                        match rt.block_on(measure(m.addr, clients, warmup, window)) {
                            Ok(r) => moto_row = Some(r),
                            Err(e) => moto_note.push_str(&format!("; failed: {e}")),
                        }
                        drop(m);
                    }
                    Err(e) => moto_note.push_str(&format!("; did not start: {e}")),
                }
            }
            Err(e) => moto_note = format!("skipped: {e}"),
        }
    }
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    println!();
    println!(
        "SQS: send + receive + delete cycles with {clients} clients, {cores} CPUs, loopback HTTP/1.1, {:.1} s window after {:.1} s warm-up",
        window.as_secs_f64(),
        warmup.as_secs_f64()
    );
    println!("  serval  {}", serval_bin.display());
    println!("  moto    {moto_note}");
    println!();
    println!(
        "{:<8} {:>12} {:>9} {:>9}",
        "system", "messages/s", "p50 ms", "p99 ms"
    );
    println!(
        "{:<8} {:>12.0} {:>9.2} {:>9.2}",
        "serval", s.rate, s.p50_ms, s.p99_ms
    );
    if let Some(m) = &moto_row {
        println!(
            "{:<8} {:>12.0} {:>9.2} {:>9.2}",
            "moto", m.rate, m.p50_ms, m.p99_ms
        );
        let ratio = if m.rate > 0.0 {
            s.rate / m.rate
        } else {
            f64::INFINITY
        };
        println!();
        println!(
            "ratio {ratio:.1}x (target ≥ {MIN_RATIO:.0}x): {}",
            if ratio >= MIN_RATIO { "PASS" } else { "MISS" }
        );
    }
    println!("  (one message = SendMessage + ReceiveMessage + DeleteMessage; latency is of the whole cycle)");
    println!();
    match e2e {
        Ok(e) => println!(
            "SQS -> Lambda (event source mapping, BatchSize 1, Python function): SendMessage to the function's start, {} messages one at a time: p50 {:.2} ms, p99 {:.2} ms (moto runs functions in Docker: not measured)",
            e.0.len(),
            e.p50_us() / 1000.0,
            e.p99_us() / 1000.0
        ),
        Err(e) => println!("SQS -> Lambda end-to-end latency: failed: {e}"),
    }
    Ok(())
}
