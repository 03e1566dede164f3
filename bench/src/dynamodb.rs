//! `serval-bench --dynamodb`: PutItem, GetItem and a 1,000-item Query against
//! Serval and against `moto_server` (the Python mock most local setups use),
//! both started by this run, with the same client load on each.
//!
//! Each system gets a table (`pk` S hash, `sk` N range, PAY_PER_REQUEST) and one
//! partition preloaded with 1,000 items of about 100 bytes. Then, for each
//! operation and each connection count, the two systems are loaded one after
//! the other: `conns` connections, each sending its next request as soon as
//! the last one answered, for a fixed time after a short warm-up. Request
//! bodies are built before the clock starts (PutItem writes 4,096 distinct
//! items, GetItem reads the preloaded ones, Query returns the whole partition
//! in one page). Printed per row: ops/s, p50/p99 latency, server CPU per
//! operation, the Serval/moto throughput ratio, and PASS/MISS against the
//! targets (60x moto's ops/s; p99 under 2 ms).
//!
//! moto_server comes from `MOTO_SERVER` (a path), else `bench/.venv` (made with
//! `python3 -m venv` and `pip install 'moto[server]'` the first time, then
//! reused), else `moto_server` on PATH; when none of these works, moto is
//! skipped with the reason. It runs on Werkzeug, which closes the connection
//! after every response, so moto's rows include a TCP connect per request, as
//! any client of it pays.

use super::*;

/// Signatures are not verified by either server; moto reads the region from the scope.
const DDB_AUTH: &str = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000";
const AMZ_DATE: &str = "20260101T000000Z";
const JSON_10: &str = "application/x-amz-json-1.0";
const TABLE: &str = "serval-bench";
/// The partition the Query reads and GetItem samples.
const QUERY_PK: &str = "bench#query";
const QUERY_ITEMS: usize = 1000;
/// Distinct items PutItem cycles through (each in its own partition).
const PUT_KEYS: usize = 4096;
/// Makes an item about 100 bytes (DynamoDB's size: names plus values).
const FILLER: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcd";

// Targets.
const MIN_RATIO: f64 = 60.0;
const P99_MAX_MS: f64 = 2.0;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    Put,
    Get,
    Query,
}

impl Op {
    const ALL: [Op; 3] = [Op::Put, Op::Get, Op::Query];

    fn name(self) -> &'static str {
        match self {
            Op::Put => "PutItem",
            Op::Get => "GetItem",
            Op::Query => "Query",
        }
    }

    fn target(self) -> http::HeaderValue {
        http::HeaderValue::from_static(match self {
            Op::Put => "DynamoDB_20120810.PutItem",
            Op::Get => "DynamoDB_20120810.GetItem",
            Op::Query => "DynamoDB_20120810.Query",
        })
    }
}

struct Plan {
    /// Connection counts for PutItem and GetItem.
    conns: Vec<usize>,
    /// Connection counts for the Query: moto spends about 250 ms of CPU on
    /// one, so at 64 connections each would wait some 16 s there, and a
    /// steady state would take minutes to see.
    query_conns: Vec<usize>,
    warmup: Duration,
    /// The shortest counted window.
    duration: Duration,
    /// The longest counted window, however few answers came in it.
    max_window: Duration,
}

/// `16,64` as a list of connection counts.
fn conn_list(flag: &str, list: Option<&String>) -> Result<Vec<usize>> {
    let list = list.ok_or_else(|| format!("{flag} needs a list, e.g. 16,64"))?;
    list.split(',')
        .map(|n| {
            n.trim()
                .parse::<usize>()
                .ok()
                .filter(|&n| (1..=1024).contains(&n))
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| format!("{flag} {list:?}: want e.g. 16,64").into())
}

impl Plan {
    /// The plan and whether to run moto.
    fn parse(args: &[String]) -> Result<(Plan, bool)> {
        let quick = args.iter().any(|a| a == "--quick");
        let mut plan = if quick {
            Plan {
                conns: vec![16],
                query_conns: vec![4],
                warmup: Duration::from_millis(200),
                duration: Duration::from_millis(800),
                max_window: Duration::from_secs(5),
            }
        } else {
            Plan {
                conns: vec![16, 64],
                query_conns: vec![16],
                warmup: Duration::from_millis(500),
                duration: Duration::from_secs(3),
                max_window: Duration::from_secs(20),
            }
        };
        let mut moto = true;
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--dynamodb" | "--quick" => {}
                "--no-moto" => moto = false,
                "--connections" => plan.conns = conn_list(a, it.next())?,
                "--query-connections" => plan.query_conns = conn_list(a, it.next())?,
                "--seconds" => {
                    let s = it.next().ok_or("--seconds needs a number")?;
                    let s: f64 = s
                        .parse()
                        .ok()
                        .filter(|s: &f64| *s > 0.0 && *s <= 60.0)
                        .ok_or_else(|| format!("--seconds {s:?}: want 0 < s <= 60"))?;
                    plan.duration = Duration::from_secs_f64(s);
                    plan.max_window = plan.max_window.max(plan.duration);
                }
                other => return Err(format!("unknown argument {other:?} (try --help)").into()),
            }
        }
        Ok((plan, moto))
    }

    fn conns(&self, op: Op) -> &[usize] {
        match op {
            Op::Query => &self.query_conns,
            Op::Put | Op::Get => &self.conns,
        }
    }
}

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
struct Bodies {
    put: Vec<Bytes>,
    get: Vec<Bytes>,
    query: Bytes,
}

impl Bodies {
    fn new() -> Self {
        Bodies {
            put: (0..PUT_KEYS)
                .map(|i| put_body(&format!("bench#put#{i}"), 0))
                .collect(),
            get: (0..QUERY_ITEMS).map(get_body).collect(),
            query: query_body(),
        }
    }

    /// The `i`-th body of `op` (cycling).
    fn get(&self, op: Op, i: usize) -> Bytes {
        match op {
            Op::Put => self.put[i % self.put.len()].clone(),
            Op::Get => self.get[i % self.get.len()].clone(),
            Op::Query => self.query.clone(),
        }
    }
}

// ------------------------------------------------------------------ client

/// One HTTP/1.1 connection that is reopened when the server closes it.
struct Conn {
    addr: SocketAddr,
    host: http::HeaderValue,
    tx: Option<SendRequest<Full<Bytes>>>,
    /// Connections opened so far.
    opened: u64,
}

impl Conn {
    fn new(addr: SocketAddr) -> Result<Conn> {
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
    async fn call(&mut self, op: Op, body: Bytes) -> Result<(StatusCode, usize, Option<Bytes>)> {
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
    async fn raw(&mut self, op: &'static str, body: Bytes) -> Result<(StatusCode, Bytes)> {
        let target = http::HeaderValue::from_str(&format!("DynamoDB_20120810.{op}"))?;
        let (parts, incoming) = self.send(target, body).await?;
        Ok((parts.status, incoming.collect().await?.to_bytes()))
    }

    /// An operation that must succeed; its parsed answer.
    async fn json(
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

// ------------------------------------------------------------------ systems under test

/// A server under test, ready for the load.
struct System {
    name: &'static str,
    addr: SocketAddr,
    pid: u32,
    ns_per_tick: u64,
    /// Size of the Query answer seen when checking the table.
    query_len: usize,
}

/// Creates the table, preloads the Query partition and checks what GetItem
/// and Query answer; returns the Query answer's size.
async fn prepare(addr: SocketAddr, bodies: &Arc<Bodies>) -> Result<usize> {
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
    c.json("CreateTable", create).await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let d = c
            .json("DescribeTable", serde_json::json!({ "TableName": TABLE }))
            .await?;
        match d["Table"]["TableStatus"].as_str() {
            Some("ACTIVE") => break,
            s if Instant::now() > deadline => {
                return Err(format!("table still {s:?} after 10 s").into())
            }
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
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
    let (status, q) = c.raw("Query", bodies.query.clone()).await?;
    let qv: serde_json::Value = serde_json::from_slice(&q)
        .map_err(|e| format!("Query: HTTP {status} {e}: {}", lossy(Some(q.clone()))))?;
    let items = qv["Items"].as_array().map_or(0, Vec::len);
    if status != StatusCode::OK
        || qv["Count"] != QUERY_ITEMS
        || items != QUERY_ITEMS
        || qv.get("LastEvaluatedKey").is_some()
    {
        return Err(format!(
            "Query answered HTTP {status}, Count {}, {items} items, LastEvaluatedKey {}; want {QUERY_ITEMS} items in one page",
            qv["Count"], qv["LastEvaluatedKey"]
        )
        .into());
    }
    Ok(q.len())
}

fn lossy(body: Option<Bytes>) -> String {
    let b = body.unwrap_or_default();
    String::from_utf8_lossy(&b[..b.len().min(300)]).into_owned()
}

/// One measured row: one operation on one system at one connection count.
struct Row {
    rate: f64,
    lat: Samples,
    /// Server CPU per operation, µs.
    cpu_us: f64,
    /// Connections opened per request (1 when the server closes each one).
    conns_per_op: f64,
    /// Length of the counted window.
    window: Duration,
}

/// CPU time of a whole process in ns, dead threads included (`utime + stime`
/// of `/proc/<pid>/stat`, in clock ticks). Werkzeug runs each request on a
/// thread of its own, so summing the live threads' schedstat would miss
/// nearly all of moto's work; ticks (10 ms) are exact enough over seconds.
fn process_cpu_ns(pid: u32, ns_per_tick: u64) -> u64 {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    let Some(rest) = text.rfind(')').map(|i| &text[i + 1..]) else {
        return 0;
    };
    // After `(comm)`: state is field 3, utime 14, stime 15.
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) * ns_per_tick
}

/// Nanoseconds per clock tick (`getconf CLK_TCK`; 100 Hz when it cannot be asked).
fn ns_per_tick() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<u64>()
                .ok()
        })
        .filter(|&hz| hz > 0)
        .map_or(10_000_000, |hz| 1_000_000_000 / hz)
}

/// Shared between the load's connections and its clock.
#[derive(Default)]
struct Progress {
    /// Connections that have completed at least one request.
    warmed: std::sync::atomic::AtomicUsize,
    /// Requests completed so far.
    done: std::sync::atomic::AtomicU64,
    stop: std::sync::atomic::AtomicBool,
}

/// `conns` connections, each sending its next request when the last one is
/// answered. The counted window opens once `plan.warmup` has passed and every
/// connection has had one answer, and closes after `plan.duration` once at
/// least two requests per connection were answered in it (so a server that
/// takes seconds per request, as moto does for a large Query, is still seen
/// in a steady state), or after `plan.max_window` whatever happened.
async fn load(
    sys: &System,
    bodies: &Arc<Bodies>,
    op: Op,
    conns: usize,
    plan: &Plan,
) -> Result<Row> {
    use std::sync::atomic::Ordering::Relaxed;
    // A short answer where an item or a page was expected is a failure, not a fast op.
    let min_len = match op {
        Op::Put => 0,
        Op::Get => 50,
        Op::Query => sys.query_len * 9 / 10,
    };
    let progress = Arc::new(Progress::default());
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for k in 0..conns {
        let mut c = Conn::new(sys.addr)?;
        let bodies = bodies.clone();
        let progress = progress.clone();
        set.spawn(async move {
            // (completed at, latency) of every request.
            let mut lat: Vec<(Instant, Duration)> = Vec::with_capacity(4096);
            // Each connection walks the keys from its own offset.
            let mut i = k * 997;
            while !progress.stop.load(Relaxed) {
                let body = bodies.get(op, i);
                i += 1;
                let t = Instant::now();
                let (status, len, err) = c.call(op, body).await?;
                let now = Instant::now();
                if status != StatusCode::OK || len < min_len {
                    return Err::<_, Error>(
                        format!("{}: HTTP {status}, {len} bytes: {}", op.name(), lossy(err)).into(),
                    );
                }
                if lat.is_empty() {
                    progress.warmed.fetch_add(1, Relaxed);
                }
                lat.push((now, now - t));
                progress.done.fetch_add(1, Relaxed);
            }
            Ok((lat, c.opened))
        });
    }
    let tick = Duration::from_millis(5);
    let cap = start + plan.warmup + plan.max_window;
    tokio::time::sleep(plan.warmup).await;
    while progress.warmed.load(Relaxed) < conns && Instant::now() < cap {
        tokio::time::sleep(tick).await;
    }
    let pid = sys.pid;
    let from = Instant::now();
    let cpu0 = process_cpu_ns(pid, sys.ns_per_tick);
    let done0 = progress.done.load(Relaxed);
    let want = 2 * conns as u64;
    let end = loop {
        let now = Instant::now();
        let enough = now - from >= plan.duration && progress.done.load(Relaxed) - done0 >= want;
        if enough || now >= cap.max(from + plan.duration) {
            break now;
        }
        tokio::time::sleep(tick).await;
    };
    let cpu1 = process_cpu_ns(pid, sys.ns_per_tick);
    progress.stop.store(true, Relaxed);
    let mut all = Vec::new();
    let (mut opened, mut sent) = (0, 0);
    while let Some(r) = set.join_next().await {
        let (lat, o) = r.map_err(|e| format!("load task: {e}"))??;
        sent += lat.len() as u64;
        all.extend(
            lat.into_iter()
                .filter(|(at, _)| *at >= from && *at < end)
                .map(|(_, d)| d),
        );
        opened += o;
    }
    let n = all.len() as u64;
    let window = end - from;
    Ok(Row {
        rate: n as f64 / window.as_secs_f64(),
        cpu_us: cpu1.saturating_sub(cpu0) as f64 / 1e3 / n.max(1) as f64,
        conns_per_op: opened as f64 / sent.max(1) as f64,
        lat: Samples::new(all, None),
        window,
    })
}

// ------------------------------------------------------------------ moto_server

/// Whether `exe --help` runs and succeeds (a pyenv shim without the package fails).
fn runs(exe: &Path) -> bool {
    Command::new(exe)
        .arg("--help")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// `MOTO_SERVER`, else `bench/.venv/bin/moto_server`, else `moto_server` on
/// PATH, else a new `bench/.venv` with `pip install 'moto[server]'`.
fn find_moto() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("MOTO_SERVER") {
        let p = PathBuf::from(p);
        return if runs(&p) {
            Ok(p)
        } else {
            Err(format!("MOTO_SERVER={} does not run", p.display()).into())
        };
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv");
    let in_venv = venv.join("bin").join("moto_server");
    if runs(&in_venv) {
        return Ok(in_venv);
    }
    if let Some(p) = on_path("moto_server").filter(|p| runs(p)) {
        return Ok(p);
    }
    step(&format!(
        "installing moto[server] into {} (once; later runs reuse it)",
        venv.display()
    ));
    let py = venv.join("bin").join("python");
    if !py.is_file() {
        let out = Command::new(python_exe()?)
            .args(["-m", "venv"])
            .arg(&venv)
            .stdin(Stdio::null())
            .output()?;
        if !out.status.success() {
            return Err(format!(
                "python3 -m venv {} failed: {}",
                venv.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            )
            .into());
        }
    }
    let out = Command::new(&py)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(["--no-input", "moto[server]"])
        .stdin(Stdio::null())
        .output()?;
    if !out.status.success() || !runs(&in_venv) {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(5).collect();
        return Err(format!(
            "pip install 'moto[server]' into {} failed:\n{}",
            venv.display(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
        .into());
    }
    Ok(in_venv)
}

/// moto's version, asked of the Python beside `moto_server` (a venv's or pyenv's shims).
fn moto_version(moto: &Path) -> Option<String> {
    let dir = moto.parent()?;
    ["python", "python3"].iter().find_map(|py| {
        let out = Command::new(dir.join(py))
            .args(["-c", "import moto; print(moto.__version__)"])
            .stderr(Stdio::null())
            .output()
            .ok()?;
        let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (out.status.success() && !v.is_empty()).then_some(v)
    })
}

struct Moto {
    proc: Proc,
    addr: SocketAddr,
    log: PathBuf,
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.proc.terminate(Duration::from_secs(2));
        let _ = std::fs::remove_file(&self.log);
    }
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// Starts `moto_server` on a free port and waits until it answers ListTables.
async fn start_moto(exe: &Path) -> Result<Moto> {
    let port = free_port()?;
    let log = std::env::temp_dir().join(format!("serval-bench-{}-moto.log", std::process::id()));
    let out = std::fs::File::create(&log)?;
    let child = Command::new(exe)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::from(out.try_clone()?))
        .stderr(Stdio::from(out))
        .spawn()
        .map_err(|e| format!("starting {}: {e}", exe.display()))?;
    let mut m = Moto {
        proc: Proc(child),
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        log,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(status)) = m.proc.0.try_wait() {
            return Err(format!("moto_server exited ({status})\n{}", log_tail(&m.log)).into());
        }
        if let Ok(mut c) = Conn::new(m.addr) {
            if let Ok((StatusCode::OK, _)) = c.raw("ListTables", Bytes::from_static(b"{}")).await {
                return Ok(m);
            }
        }
        if Instant::now() > deadline {
            return Err(format!(
                "moto_server did not answer within 30 s\n{}",
                log_tail(&m.log)
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ------------------------------------------------------------------ the run

/// One line of the table: an operation at a connection count, on both systems.
struct Line {
    op: Op,
    conns: usize,
    serval: Option<Row>,
    moto: Option<Row>,
}

pub(crate) fn run_dynamodb(args: &[String]) -> Result<()> {
    let (plan, want_moto) = Plan::parse(args)?;
    let serval_bin = find_bin("SERVAL_BIN", "serval")?;
    if std::env::var_os("SERVAL_BIN").is_none() {
        warn_if_stale(&serval_bin, &["crates"]);
    }
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: serval-bench is a debug build; use `cargo run --release -p serval-bench -- --dynamodb`"
        );
    }
    let started = Instant::now();
    let loadavg = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    let moto_exe = if want_moto {
        match find_moto() {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("moto skipped: {e}");
                None
            }
        }
    } else {
        None
    };
    let moto_ver = moto_exe.as_deref().and_then(moto_version);

    // The client runs on one thread, so it takes at most one core from the servers.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let bodies = Arc::new(Bodies::new());
    let tick_ns = ns_per_tick();
    step("starting serval");
    // No functions run here: plain processes spare the isolation set-up.
    let mut serval = rt.block_on(start_serval(
        &serval_bin,
        &["--isolation", "process"],
        "dynamodb",
    ))?;
    let mut notes = Vec::new();
    let serval_sys = rt
        .block_on(async {
            step("serval: table, 1,000-item partition, checks");
            prepare(serval.addr, &bodies).await
        })
        .map(|query_len| System {
            name: "serval",
            addr: serval.addr,
            pid: serval.proc.0.id(),
            ns_per_tick: tick_ns,
            query_len,
        })
        .map_err(|e| notes.push(format!("serval skipped: {e}")))
        .ok();
    let moto = match &moto_exe {
        Some(exe) => {
            step("starting moto_server");
            match rt.block_on(start_moto(exe)) {
                Ok(m) => Some(m),
                Err(e) => {
                    notes.push(format!("moto skipped: {e}"));
                    None
                }
            }
        }
        None => None,
    };
    let moto_sys = moto.as_ref().and_then(|m| {
        step("moto: table, 1,000-item partition, checks");
        rt.block_on(prepare(m.addr, &bodies))
            .map(|query_len| System {
                name: "moto",
                addr: m.addr,
                pid: m.proc.0.id(),
                ns_per_tick: tick_ns,
                query_len,
            })
            .map_err(|e| notes.push(format!("moto skipped: {e}")))
            .ok()
    });
    for n in &notes {
        eprintln!("{n}");
    }
    if serval_sys.is_none() && moto_sys.is_none() {
        let tail = serval.log_tail();
        serval.proc.terminate(Duration::from_secs(5));
        let _ = std::fs::remove_file(&serval.log);
        return Err(
            format!("neither system can be measured\n--- serval log (tail) ---\n{tail}").into(),
        );
    }

    let result = rt.block_on(async {
        let mut lines = Vec::new();
        for op in Op::ALL {
            for &conns in plan.conns(op) {
                let mut line = Line {
                    op,
                    conns,
                    serval: None,
                    moto: None,
                };
                for sys in [&serval_sys, &moto_sys].into_iter().flatten() {
                    step(&format!(
                        "{} on {}, {conns} connections",
                        op.name(),
                        sys.name
                    ));
                    let row = load(sys, &bodies, op, conns, &plan)
                        .await
                        .map_err(|e| format!("{} on {}: {e}", op.name(), sys.name))?;
                    if sys.name == "serval" {
                        line.serval = Some(row);
                    } else {
                        line.moto = Some(row);
                    }
                }
                lines.push(line);
            }
        }
        Ok::<_, Error>(lines)
    });
    drop(rt);
    drop(moto);
    step("stopping serval");
    let tail = serval.log_tail();
    serval.proc.terminate(Duration::from_secs(5));
    if std::env::var_os("SERVAL_BENCH_KEEP_LOG").is_none() {
        let _ = std::fs::remove_file(&serval.log);
    }
    let lines = result.map_err(|e| format!("{e}\n--- serval log (tail) ---\n{tail}"))?;

    let query_len = serval_sys
        .as_ref()
        .or(moto_sys.as_ref())
        .map_or(0, |s| s.query_len);
    let header = Header {
        serval_bin: &serval_bin,
        moto_exe: moto_exe.as_deref(),
        moto_ver: moto_ver.as_deref(),
        query_len,
        loadavg: &loadavg,
        notes: &notes,
    };
    print_dynamodb(&header, &lines, &plan, started.elapsed());
    Ok(())
}

struct Header<'a> {
    serval_bin: &'a Path,
    moto_exe: Option<&'a Path>,
    moto_ver: Option<&'a str>,
    query_len: usize,
    loadavg: &'a str,
    notes: &'a [String],
}

/// `12345.6` as `12,346`.
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "MISS"
    }
}

fn print_dynamodb(h: &Header, lines: &[Line], plan: &Plan, took: Duration) {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mut out = String::new();
    let mut line = |l: String| {
        out.push_str(&l);
        out.push('\n');
    };
    line(String::new());
    line(format!(
        "DynamoDB: Serval against moto_server, {cores} CPUs, loopback HTTP/1.1, at least {:.1} s per row after {:.1} s warm-up",
        plan.duration.as_secs_f64(),
        plan.warmup.as_secs_f64()
    ));
    line(format!("  serval  {}", h.serval_bin.display()));
    match h.moto_exe {
        Some(m) => line(format!(
            "  moto    {}{}",
            m.display(),
            h.moto_ver
                .map(|v| format!(" (moto {v})"))
                .unwrap_or_default()
        )),
        None => line("  moto    not run".to_string()),
    }
    line(format!(
        "  items of about 100 B; Query: {QUERY_ITEMS} items in one page ({} kB answer); PutItem cycles {PUT_KEYS} keys",
        h.query_len / 1000
    ));
    line(format!("  load average at start: {}", h.loadavg));
    line(
        "  cpu: µs of the server's CPU per operation; ratio: Serval ops/s / moto ops/s".to_string(),
    );
    let moto_reopens = lines
        .iter()
        .filter_map(|l| l.moto.as_ref())
        .any(|r| r.conns_per_op > 0.5);
    if moto_reopens {
        line("  moto_server (Werkzeug) closes the connection after every answer: its rows include a TCP connect per request".to_string());
    }
    for n in h.notes {
        line(format!("  {n}"));
    }
    line(String::new());
    let sys_cols = |r: Option<&Row>| match r {
        Some(r) => format!(
            "{:>9} {:>8.2} {:>8.2} {:>7.0}",
            thousands(r.rate),
            r.lat.p50_us() / 1000.0,
            r.lat.p99_us() / 1000.0,
            r.cpu_us
        ),
        None => format!("{:>9} {:>8} {:>8} {:>7}", "-", "-", "-", "-"),
    };
    let group = |name: &str| format!("{:─^35}", format!(" {name} "));
    line(format!(
        "{:<15} {}   {}",
        "",
        group("Serval"),
        group("moto")
    ));
    line(format!(
        "{:<8} {:>6} {:>9} {:>8} {:>8} {:>7}   {:>9} {:>8} {:>8} {:>7}   {:>8}  {:>6}  {:>8}",
        "op",
        "conns",
        "ops/s",
        "p50 ms",
        "p99 ms",
        "cpu µs",
        "ops/s",
        "p50 ms",
        "p99 ms",
        "cpu µs",
        "ratio",
        "≥60x",
        "p99<2ms"
    ));
    line("─".repeat(120));
    for l in lines {
        let ratio = match (&l.serval, &l.moto) {
            (Some(s), Some(m)) if m.rate > 0.0 => Some(s.rate / m.rate),
            _ => None,
        };
        let ratio_cell = ratio.map_or("n/a".to_string(), |r| format!("{r:.1}x"));
        let ratio_mark = ratio.map_or("n/a", |r| verdict(r >= MIN_RATIO));
        let p99_mark = l
            .serval
            .as_ref()
            .map_or("n/a", |s| verdict(s.lat.p99_us() / 1000.0 < P99_MAX_MS));
        line(format!(
            "{:<8} {:>6} {}   {}   {:>8}  {:>6}  {:>8}",
            l.op.name(),
            l.conns,
            sys_cols(l.serval.as_ref()),
            sys_cols(l.moto.as_ref()),
            ratio_cell,
            ratio_mark,
            p99_mark
        ));
    }
    // Rows measured over a stretched window or few answers, said plainly.
    for l in lines {
        for (name, row) in [("serval", &l.serval), ("moto", &l.moto)] {
            let Some(r) = row else { continue };
            let n = r.lat.0.len();
            if r.window > plan.duration + Duration::from_millis(100) || n < 200 {
                line(format!(
                    "  {name} {} at {} connections: {n} answers in a {:.1} s window{}",
                    l.op.name(),
                    l.conns,
                    r.window.as_secs_f64(),
                    if n < 100 {
                        " (p99 is about the slowest of them)"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    line(String::new());
    line(format!(
        "targets: Serval ≥ {MIN_RATIO:.0}x moto's ops/s, and Serval's p99 < {P99_MAX_MS:.0} ms; total {:.1} s",
        took.as_secs_f64()
    ));
    print!("{out}");
}
