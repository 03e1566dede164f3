//! `serval-bench --s3`: small-object (4 KB) PutObject and GetObject ops/s
//! with 16 clients against Serval and against `moto_server`, both started
//! by this run, and the ratio (target: 50x moto); then one 256 MB object
//! PUT and GET against Serval in MB/s beside `cp` of the same bytes in the
//! same directory tree Serval keeps its data in (target: within 2x of cp).
//!
//! Each client has its own keep-alive HTTP/1.1 connection (reopened when
//! the server closes it, as moto's Werkzeug does after every answer) and
//! loops over its own keys: first PUTs, then GETs of the keys it wrote.
//! Path-style addressing, SigV4 `Authorization` with an unsigned payload
//! (neither server verifies signatures).

use super::*;
use crate::dynamodb::moto::{find_moto, moto_version, start_moto};

const S3_AUTH: &str = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=0000";
const SMALL: usize = 4096;
const MIN_RATIO: f64 = 50.0;
const MAX_CP_FACTOR: f64 = 2.0;

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

    /// Sends a request and returns its status and the number of body bytes
    /// (read as they arrive, not kept).
    async fn call(&mut self, method: Method, path: &str, body: Bytes) -> Result<(StatusCode, u64)> {
        use http::header::{AUTHORIZATION, CONNECTION, HOST};
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
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = method;
        *req.uri_mut() = path.parse()?;
        let h = req.headers_mut();
        h.insert(HOST, self.host.clone());
        h.insert(AUTHORIZATION, HeaderValue::from_static(S3_AUTH));
        h.insert("x-amz-date", HeaderValue::from_static("20260101T000000Z"));
        h.insert(
            "x-amz-content-sha256",
            HeaderValue::from_static("UNSIGNED-PAYLOAD"),
        );
        tx.ready().await?;
        let resp = tx.send_request(req).await?;
        let (parts, mut incoming) = resp.into_parts();
        let close = parts
            .headers
            .get(CONNECTION)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
        let mut n = 0u64;
        while let Some(f) = incoming.frame().await {
            if let Ok(d) = f?.into_data() {
                n += d.len() as u64;
            }
        }
        if !close {
            self.tx = Some(tx);
        }
        if !parts.status.is_success() {
            return Err(format!("{path}: HTTP {}", parts.status).into());
        }
        Ok((parts.status, n))
    }
}

struct Measured {
    put: f64,
    get: f64,
    put_p50_ms: f64,
    get_p50_ms: f64,
}

/// Runs `clients` loops of `op(client, k, i)` for a warm-up then a window;
/// returns ops/s in the window and the p50.
async fn load<F, Fut>(
    clients: usize,
    warmup: Duration,
    window: Duration,
    op: F,
) -> Result<(f64, f64)>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let start = Instant::now() + warmup;
    let end = start + window;
    let mut tasks = Vec::new();
    for k in 0..clients {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = 0u64;
            loop {
                let t = Instant::now();
                if t >= end {
                    break;
                }
                op(k, i).await?;
                i += 1;
                if t >= start {
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
    let s = Samples::new(all, None);
    Ok((s.0.len() as f64 / window.as_secs_f64(), s.p50_us() / 1000.0))
}

async fn small_objects(
    addr: SocketAddr,
    clients: usize,
    warmup: Duration,
    window: Duration,
) -> Result<Measured> {
    let bucket = format!("bench-{}", std::process::id());
    Client::new(addr)?
        .call(Method::PUT, &format!("/{bucket}"), Bytes::new())
        .await?;
    let body = Bytes::from(vec![b'x'; SMALL]);
    let conns: Vec<_> = (0..clients)
        .map(|_| Client::new(addr).map(tokio::sync::Mutex::new))
        .collect::<Result<_>>()?;
    let conns = Arc::new(conns);
    let written: Arc<Vec<std::sync::atomic::AtomicU64>> =
        Arc::new((0..clients).map(|_| Default::default()).collect());
    let (c, w, b, bk) = (conns.clone(), written.clone(), body.clone(), bucket.clone());
    let (put, put_p50_ms) = load(clients, warmup, window, move |k, i| {
        let (c, w, b, bk) = (c.clone(), w.clone(), b.clone(), bk.clone());
        async move {
            c[k].lock()
                .await
                .call(Method::PUT, &format!("/{bk}/o-{k}-{i}"), b)
                .await?;
            w[k].store(i + 1, std::sync::atomic::Ordering::Relaxed);
            Ok(())
        }
    })
    .await?;
    let (c, w, bk) = (conns.clone(), written.clone(), bucket.clone());
    let (get, get_p50_ms) = load(clients, warmup, window, move |k, i| {
        let (c, w, bk) = (c.clone(), w.clone(), bk.clone());
        async move {
            let n = w[k].load(std::sync::atomic::Ordering::Relaxed).max(1);
            let (_, got) = c[k]
                .lock()
                .await
                .call(Method::GET, &format!("/{bk}/o-{k}-{}", i % n), Bytes::new())
                .await?;
            if got != SMALL as u64 {
                return Err(format!("GET returned {got} bytes").into());
            }
            Ok(())
        }
    })
    .await?;
    Ok(Measured {
        put,
        get,
        put_p50_ms,
        get_p50_ms,
    })
}

/// MB/s of one PUT and one GET of `size` bytes (the best of `runs`).
async fn large_object(addr: SocketAddr, size: usize, runs: usize) -> Result<(f64, f64)> {
    let mut c = Client::new(addr)?;
    c.call(Method::PUT, "/bench-large", Bytes::new()).await?;
    let body = Bytes::from((0..size).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
    let mb = size as f64 / (1024.0 * 1024.0);
    let (mut put, mut get) = (0f64, 0f64);
    for _ in 0..runs {
        let t = Instant::now();
        c.call(Method::PUT, "/bench-large/big", body.clone())
            .await?;
        put = put.max(mb / t.elapsed().as_secs_f64());
        let t = Instant::now();
        let (_, n) = c
            .call(Method::GET, "/bench-large/big", Bytes::new())
            .await?;
        get = get.max(mb / t.elapsed().as_secs_f64());
        if n != size as u64 {
            return Err(format!("GET returned {n} of {size} bytes").into());
        }
    }
    c.call(Method::DELETE, "/bench-large/big", Bytes::new())
        .await?;
    Ok((put, get))
}

/// MB/s of `cp` of `size` bytes within the temp directory (where
/// `serve --ephemeral` keeps its data), the best of `runs`.
fn cp_rate(size: usize, runs: usize) -> Result<f64> {
    let dir = std::env::temp_dir().join(format!("serval-bench-cp-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let src = dir.join("src");
    let dst = dir.join("dst");
    let body: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    std::fs::write(&src, &body)?;
    drop(body);
    let mut best = 0f64;
    let mb = size as f64 / (1024.0 * 1024.0);
    for _ in 0..runs {
        let _ = std::fs::remove_file(&dst);
        let t = Instant::now();
        let st = Command::new("cp").arg(&src).arg(&dst).status()?;
        let secs = t.elapsed().as_secs_f64();
        if !st.success() {
            return Err("cp failed".into());
        }
        best = best.max(mb / secs);
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(best)
}

pub(crate) fn run_s3(args: &[String]) -> Result<()> {
    let quick = args.iter().any(|a| a == "--quick");
    let want_moto = !args.iter().any(|a| a == "--no-moto");
    let clients = 16;
    let (warmup, window) = if quick {
        (Duration::from_millis(300), Duration::from_secs(1))
    } else {
        (Duration::from_secs(1), Duration::from_secs(5))
    };
    let (large, runs) = if quick { (64 << 20, 1) } else { (256 << 20, 3) };
    let serval_bin = find_bin("SERVAL_BIN", "serval")?;
    if std::env::var_os("SERVAL_BIN").is_none() {
        warn_if_stale(&serval_bin, &["crates"]);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    step("starting serval");
    let mut serval = rt.block_on(start_serval(&serval_bin, &["--isolation", "process"], "s3"))?;
    step(&format!("serval: 4 KB PUT then GET, {clients} clients"));
    let s = rt.block_on(small_objects(serval.addr, clients, warmup, window));
    step(&format!("serval: {} MB PUT and GET", large >> 20));
    let big = rt.block_on(large_object(serval.addr, large, runs));
    let tail = serval.log_tail();
    serval.proc.terminate(Duration::from_secs(5));
    let _ = std::fs::remove_file(&serval.log);
    let s = s.map_err(|e| format!("{e}\n--- serval log (tail) ---\n{tail}"))?;
    step(&format!(
        "cp of {} MB in {}",
        large >> 20,
        std::env::temp_dir().display()
    ));
    let cp = cp_rate(large, runs);
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
                        step(&format!("moto: 4 KB PUT then GET, {clients} clients"));
                        match rt.block_on(small_objects(m.addr, clients, warmup, window)) {
                            Ok(r) => moto_row = Some(r),
                            Err(e) => moto_note.push_str(&format!("; its S3 is unavailable: {e}")),
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
        "S3: 4 KB objects with {clients} clients, {cores} CPUs, loopback HTTP/1.1, {:.1} s window after {:.1} s warm-up",
        window.as_secs_f64(),
        warmup.as_secs_f64()
    );
    println!("  serval  {}", serval_bin.display());
    println!("  moto    {moto_note}");
    println!();
    println!(
        "{:<8} {:>10} {:>9} {:>10} {:>9}",
        "system", "PUT ops/s", "p50 ms", "GET ops/s", "p50 ms"
    );
    println!(
        "{:<8} {:>10.0} {:>9.2} {:>10.0} {:>9.2}",
        "serval", s.put, s.put_p50_ms, s.get, s.get_p50_ms
    );
    if let Some(m) = &moto_row {
        println!(
            "{:<8} {:>10.0} {:>9.2} {:>10.0} {:>9.2}",
            "moto", m.put, m.put_p50_ms, m.get, m.get_p50_ms
        );
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::INFINITY };
        let verdict = |r: f64| if r >= MIN_RATIO { "PASS" } else { "MISS" };
        let (rp, rg) = (ratio(s.put, m.put), ratio(s.get, m.get));
        println!();
        println!(
            "ratio PUT {rp:.1}x, GET {rg:.1}x (target ≥ {MIN_RATIO:.0}x): {} / {}",
            verdict(rp),
            verdict(rg)
        );
    }
    println!();
    match (big, cp) {
        (Ok((put, get)), Ok(cp)) => {
            let verdict = |r: f64| {
                if r * MAX_CP_FACTOR >= cp {
                    "PASS"
                } else {
                    "MISS"
                }
            };
            println!(
                "S3: one {} MB object (best of {runs}), serval PUT {put:.0} MB/s, GET {get:.0} MB/s; cp of the same bytes {cp:.0} MB/s",
                large >> 20
            );
            println!(
                "  PUT {:.2}x, GET {:.2}x of cp's time (target within {MAX_CP_FACTOR:.0}x): {} / {}",
                cp / put,
                cp / get,
                verdict(put),
                verdict(get)
            );
        }
        (Err(e), _) => println!("S3 large object: failed: {e}"),
        (_, Err(e)) => println!("cp baseline: failed: {e}"),
    }
    Ok(())
}
