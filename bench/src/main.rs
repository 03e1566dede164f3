//! `serval-bench`: one command that measures Serval's Lambda invoke path end to
//! end and prints a table of the figures beside their targets.
//!
//! ```text
//! cargo build --release --workspace
//! cargo run --release -p serval-bench          # or target/release/serval-bench
//! ```
//!
//! What it measures, all over loopback with one HTTP/1.1 client (hyper, keep-alive,
//! TCP_NODELAY, the same request shape everywhere):
//! 1. **floor**: a bare hyper echo server in a separate process (this binary
//!    re-executed with `--echo-server`): p50/p99 of a small sequential POST;
//! 2. **warm invoke**: p50/p99 of `Invoke` on a Rust function (`functions/rust-echo`,
//!    official `lambda_runtime`, `provided.al2023`) and a Python 3.12 function
//!    (`def handler(e, c): return e`), and the p50 overhead over the floor;
//! 3. **cold start**: p50 of the first invoke after `UpdateFunctionConfiguration`
//!    (a changed environment variable retires the warm environments), against
//!    the p50 of spawning `python3 -c pass`;
//! 4. **throughput**: invokes/s of the Rust function with 1, 8 and 64 concurrent
//!    keep-alive connections, each sequential.
//!
//! Binaries: `SERVAL_BIN` and `RUST_ECHO_BIN` override the defaults
//! `<target>/release/serval` and `<target>/release/bootstrap`, where `<target>`
//! is `CARGO_TARGET_DIR` or the workspace's `target/`.
//! Options: `--quick` (smaller samples, for a smoke run), `--help`.
//!
//! Other modes: `--gateway` (API Gateway against direct Invoke, `gateway.rs`)
//! and `--dynamodb` (`dynamodb.rs`): PutItem, GetItem and a 1,000-item Query
//! against Serval and against a `moto_server` the run starts itself, at 16
//! and 64 connections, printing ops/s, p50/p99, server CPU per operation and
//! the Serval/moto throughput ratio beside the targets (60x, p99 < 2 ms).
//! moto comes from `MOTO_SERVER`, `bench/.venv` or PATH, or is installed into
//! `bench/.venv` with pip on first use; it is skipped, with the reason, when
//! that fails. `--no-moto` measures Serval alone. `--sqs` (`sqs.rs`) and
//! `--s3` (`s3.rs`: 4 KB PUT/GET against moto, 256 MB PUT/GET against `cp`)
//! follow the same pattern.

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

mod client;
mod cpu;
mod dynamodb;
mod gateway;
mod procs;
mod s3;
mod sqs;

use client::*;
use cpu::*;
use procs::*;

type Error = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = Error> = std::result::Result<T, E>;

/// Signatures are not verified; only the credential scope (account, region, service) is read.
const AUTH: &str = "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0";
const ROLE: &str = "arn:aws:iam::000000000000:role/x";
/// The small POST body used for every request (floor, warm, cold, throughput).
const PAYLOAD: &[u8] = br#"{"bench":"serval","n":42,"pad":"0123456789abcdef0123456789abcdef"}"#;
const PY_APP: &str = "def handler(e, c):\n    return e\n";
const RUST_FN: &str = "bench-rust";
const PY_FN: &str = "bench-python";

// Targets.
const WARM_OVERHEAD_MAX_US: f64 = 150.0;
const RUST_COLD_MAX_MS: f64 = 10.0;
const PY_COLD_MAX_RATIO: f64 = 2.0;
const THROUGHPUT_MIN: f64 = 10_000.0;
/// What full isolation may add to the p50 cold start.
const ISOLATION_COLD_MAX_MS: f64 = 5.0;

/// Sample sizes; bounded so a full run stays well under a minute on 2 cores.
struct Plan {
    warmup: usize,
    samples: usize,
    cold: usize,
    /// Pause between retiring the environments and the cold invoke, so the old
    /// environment's teardown does not overlap the measurement.
    cold_gap: Duration,
    spawn: usize,
    tp_warmup: Duration,
    tp_duration: Duration,
    concurrency: &'static [usize],
}

impl Plan {
    fn full() -> Self {
        Plan {
            warmup: 300,
            samples: 5000,
            cold: 25,
            cold_gap: Duration::from_millis(50),
            spawn: 25,
            tp_warmup: Duration::from_millis(700),
            tp_duration: Duration::from_secs(3),
            concurrency: &[1, 8, 64],
        }
    }

    fn quick() -> Self {
        Plan {
            warmup: 50,
            samples: 300,
            cold: 5,
            cold_gap: Duration::from_millis(50),
            spawn: 5,
            tp_warmup: Duration::from_millis(300),
            tp_duration: Duration::from_millis(700),
            concurrency: &[1, 8, 64],
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.iter().any(|a| a == "--echo-server") {
        echo_server()
    } else if args.iter().any(|a| a == "-h" || a == "--help") {
        // One line per entry: `\` continuations would eat the indentation.
        let help = [
            "serval-bench: floor, warm, cold-start and throughput figures of Serval's Lambda invoke path",
            "",
            "usage: serval-bench [--quick]            the Lambda invoke path",
            "       serval-bench --gateway [--quick]  API Gateway against direct Invoke",
            "       serval-bench --dynamodb [--quick] [--no-moto] [--connections 16,64]",
            "                    [--query-connections 16] [--seconds S]",
            "                                         PutItem, GetItem and a 1,000-item Query,",
            "                                         Serval against moto_server",
            "       serval-bench --sqs [--quick] [--no-moto]",
            "                                         send+receive+delete messages/s, 16 clients,",
            "                                         Serval against moto_server",
            "       serval-bench --s3 [--quick] [--no-moto]",
            "                                         4 KB PUT/GET ops/s against moto_server,",
            "                                         256 MB PUT/GET MB/s against cp",
            "",
            "env: SERVAL_BIN (default <target>/release/serval)",
            "     RUST_ECHO_BIN (default <target>/release/bootstrap)",
            "     MOTO_SERVER (default bench/.venv/bin/moto_server, else moto_server on PATH,",
            "                  else `pip install 'moto[server]'` into bench/.venv)",
            "build first: cargo build --release --workspace",
        ];
        println!("{}", help.join("\n"));
        Ok(())
    } else if args.iter().any(|a| a == "--s3") {
        s3::run_s3(&args)
    } else if args.iter().any(|a| a == "--sqs") {
        sqs::run_sqs(&args)
    } else if args.iter().any(|a| a == "--dynamodb") {
        dynamodb::run_dynamodb(&args)
    } else if args.iter().any(|a| a == "--gateway") {
        gateway::run_gateway(args.iter().any(|a| a == "--quick"))
    } else if let Some(bad) = args.iter().find(|a| *a != "--quick") {
        Err(format!("unknown argument {bad:?} (try --help)").into())
    } else {
        let plan = if args.is_empty() {
            Plan::full()
        } else {
            Plan::quick()
        };
        run(plan)
    };
    if let Err(e) = result {
        eprintln!("serval-bench: {e}");
        std::process::exit(1);
    }
}

// ------------------------------------------------------------------ measurements

/// Latency samples (sorted), with the CPU they cost when it was measured.
struct Samples(Vec<Duration>, Option<CpuSplit>);

impl Samples {
    fn new(mut v: Vec<Duration>, cpu: Option<CpuSplit>) -> Self {
        v.sort_unstable();
        Samples(v, cpu)
    }

    /// Nearest-rank percentile.
    fn pct(&self, p: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.0.len() as f64).ceil() as usize;
        self.0[rank.clamp(1, self.0.len()) - 1]
    }

    fn p50_us(&self) -> f64 {
        us(self.pct(50.0))
    }

    fn p99_us(&self) -> f64 {
        us(self.pct(99.0))
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// One target of the warm-latency phase: the echo server or a function.
struct Target {
    client: Client,
    /// Function to invoke; `None` for the echo server.
    function: Option<&'static str>,
    probe: CpuProbe,
    samples: Vec<Duration>,
    cpu: CpuNs,
}

impl Target {
    async fn new(
        addr: SocketAddr,
        function: Option<&'static str>,
        probe: CpuProbe,
    ) -> Result<Target> {
        Ok(Target {
            client: Client::connect(addr).await?,
            function,
            probe,
            samples: Vec::new(),
            cpu: CpuNs::default(),
        })
    }

    /// One request, timed.
    async fn once(&mut self) -> Result<Duration> {
        let t = Instant::now();
        match self.function {
            Some(name) => {
                self.client.invoke(name).await?;
            }
            None => {
                let r = self
                    .client
                    .send(Method::POST, "/echo", Bytes::from_static(PAYLOAD))
                    .await?;
                if r.status != StatusCode::OK || r.body.as_ref() != PAYLOAD {
                    return Err(format!("echo server answered HTTP {}", r.status).into());
                }
            }
        }
        Ok(t.elapsed())
    }

    /// `n` sequential requests, recorded with the CPU they cost.
    async fn chunk(&mut self, n: usize) -> Result<()> {
        let before = self.probe.snap();
        let c0 = self_ns();
        for _ in 0..n {
            let d = self.once().await?;
            self.samples.push(d);
        }
        let c1 = self_ns();
        let after = self.probe.snap();
        self.cpu += self.probe.delta(&before, &after, c1.saturating_sub(c0));
        Ok(())
    }

    fn finish(self) -> Samples {
        let n = self.samples.len() as u64;
        Samples::new(self.samples, Some(self.probe.per_op(self.cpu, n)))
    }
}

/// Sequential requests on one keep-alive connection per target, interleaved
/// in chunks so drift on a shared machine affects every target alike.
async fn warm_latency(mut targets: Vec<Target>, plan: &Plan) -> Result<Vec<Samples>> {
    const CHUNK: usize = 100;
    for t in &mut targets {
        for _ in 0..plan.warmup {
            t.once().await?;
        }
    }
    for _ in 0..plan.samples.div_ceil(CHUNK) {
        for t in &mut targets {
            t.chunk(CHUNK).await?;
        }
    }
    Ok(targets.into_iter().map(Target::finish).collect())
}

/// First-invoke latency after UpdateFunctionConfiguration retired the environments.
async fn cold_starts(c: &mut Client, name: &str, plan: &Plan) -> Result<Samples> {
    let mut v = Vec::with_capacity(plan.cold);
    for i in 0..plan.cold {
        let body = serde_json::json!({ "Environment": { "Variables": { "BENCH_GENERATION": i.to_string() } } });
        c.call(
            Method::PUT,
            &format!("/2015-03-31/functions/{name}/configuration"),
            body,
            200,
        )
        .await?;
        tokio::time::sleep(plan.cold_gap).await;
        let t = Instant::now();
        c.invoke(name).await?;
        v.push(t.elapsed());
    }
    Ok(Samples::new(v, None))
}

/// The interpreter `python3` resolves to (pyenv and similar put a shell shim first on PATH).
fn python_exe() -> Result<PathBuf> {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    let exe = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || exe.is_empty() {
        return Err("python3 does not run on this host".into());
    }
    Ok(PathBuf::from(exe))
}

/// Wall time of spawning `exe args...` (e.g. `-c pass`) and waiting for it.
fn spawn_times(exe: &Path, args: &[&str], n: usize) -> Result<Samples> {
    let mut v = Vec::with_capacity(n);
    for i in 0..n + 2 {
        let t = Instant::now();
        let ok = Command::new(exe)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?
            .success();
        let d = t.elapsed();
        if !ok {
            return Err(format!("{} {} failed", exe.display(), args.join(" ")).into());
        }
        if i >= 2 {
            v.push(d); // the first two warm the page cache
        }
    }
    Ok(Samples::new(v, None))
}

/// Invokes/s of `name` with `conc` connections, each invoking sequentially,
/// and the CPU each invoke cost. Completions during `plan.tp_warmup` (while
/// environments scale out) are not counted.
async fn throughput(
    addr: SocketAddr,
    name: &str,
    conc: usize,
    plan: &Plan,
    probe: CpuProbe,
) -> Result<Tput> {
    let mut clients = Vec::with_capacity(conc);
    for _ in 0..conc {
        clients.push(Client::connect(addr).await?);
    }
    let start = tokio::time::Instant::now();
    let counted_from = start + plan.tp_warmup;
    let end = counted_from + plan.tp_duration;
    let mut set = tokio::task::JoinSet::new();
    for mut c in clients {
        let name = name.to_string();
        set.spawn(async move {
            let mut n = 0u64;
            loop {
                c.invoke(&name).await?;
                let now = tokio::time::Instant::now();
                if now >= end {
                    return Ok::<u64, Error>(n);
                }
                if now >= counted_from {
                    n += 1;
                }
            }
        });
    }
    tokio::time::sleep_until(counted_from).await;
    let before = probe.snap();
    let c0 = self_ns();
    tokio::time::sleep_until(end).await;
    let c1 = self_ns();
    let after = probe.snap();
    let mut total = 0;
    while let Some(r) = set.join_next().await {
        total += r.map_err(|e| format!("throughput task: {e}"))??;
    }
    Ok(Tput {
        conc,
        rate: total as f64 / plan.tp_duration.as_secs_f64(),
        cpu: probe.per_op(probe.delta(&before, &after, c1.saturating_sub(c0)), total),
    })
}

struct Tput {
    conc: usize,
    rate: f64,
    cpu: CpuSplit,
}

// ------------------------------------------------------------------ the run

fn mark(ok: bool) -> &'static str {
    if ok {
        "✓"
    } else {
        "✗"
    }
}

fn step(what: &str) {
    eprintln!("· {what}");
}

struct Figures {
    floor: Samples,
    warm_rust: Samples,
    warm_py: Samples,
    cold_rust: Samples,
    cold_py: Samples,
    py_pass: Samples,
    py_pass_nosite: Samples,
    py_exe: PathBuf,
    tput: Vec<Tput>,
    /// Isolation mode of the measured server (from its health report).
    isolation: String,
    /// Cold starts on a second server with `--isolation process`.
    cold_rust_plain: Samples,
    cold_py_plain: Samples,
    /// `/proc/loadavg` before the run (other load on the machine skews every figure).
    loadavg: String,
}

fn run(plan: Plan) -> Result<()> {
    let serval_bin = find_bin("SERVAL_BIN", "serval")?;
    let echo_bin = find_bin("RUST_ECHO_BIN", "bootstrap")?;
    if std::env::var_os("SERVAL_BIN").is_none() {
        warn_if_stale(&serval_bin, &["crates"]);
    }
    if std::env::var_os("RUST_ECHO_BIN").is_none() {
        warn_if_stale(&echo_bin, &["functions/rust-echo"]);
    }
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: serval-bench is a debug build; use `cargo run --release -p serval-bench`"
        );
    }
    let py_exe = python_exe()?;
    let started = Instant::now();

    // The client side runs on one thread: no cross-thread wake-ups in the
    // measured path, and at most one core taken from the server under load.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (echo, echo_addr) = start_echo_server()?;
    let echo_probe = CpuProbe::new(echo.0.id(), false);
    let mut serval = rt.block_on(start_serval(&serval_bin, &[], "main"))?;
    let probes = Probes {
        echo: echo_probe,
        serval: CpuProbe::new(serval.proc.0.id(), true),
    };
    let figures = rt.block_on(measure(
        &plan,
        echo_addr,
        serval.addr,
        &echo_bin,
        &py_exe,
        probes,
    ));
    // The same cold starts without isolation, for the isolation row.
    let figures = match figures {
        Ok(mut f) => rt
            .block_on(plain_cold_starts(&serval_bin, &echo_bin, &plan))
            .map(|(r, p)| {
                f.cold_rust_plain = r;
                f.cold_py_plain = p;
                f
            }),
        Err(e) => Err(e),
    };
    drop(rt);
    drop(echo);
    step("stopping serval");
    let log_tail = serval.log_tail();
    serval.proc.terminate(Duration::from_secs(5));
    if std::env::var_os("SERVAL_BENCH_KEEP_LOG").is_none() {
        let _ = std::fs::remove_file(&serval.log);
    }
    let figures = figures.map_err(|e| format!("{e}\n--- serval log (tail) ---\n{log_tail}"))?;

    print_table(&figures, &plan, &serval_bin, &echo_bin, started.elapsed());
    Ok(())
}

#[derive(Clone, Copy)]
struct Probes {
    echo: CpuProbe,
    serval: CpuProbe,
}

async fn measure(
    plan: &Plan,
    echo_addr: SocketAddr,
    serval: SocketAddr,
    echo_bin: &Path,
    py_exe: &Path,
    probes: Probes,
) -> Result<Figures> {
    let loadavg = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    step("deploying functions");
    let mut c = Client::connect(serval).await?;
    deploy(&mut c, echo_bin).await?;
    let health = c.send(Method::GET, "/_serval/health", Bytes::new()).await?;
    let isolation = serde_json::from_slice::<serde_json::Value>(&health.body)
        .ok()
        .and_then(|v| v["isolation"]["mode"].as_str().map(str::to_string))
        .unwrap_or_else(|| "unknown".into());

    step("warm latency: floor (echo server), rust, python, interleaved");
    let targets = vec![
        Target::new(echo_addr, None, probes.echo).await?,
        Target::new(serval, Some(RUST_FN), probes.serval).await?,
        Target::new(serval, Some(PY_FN), probes.serval).await?,
    ];
    let mut warm = warm_latency(targets, plan).await?.into_iter();
    let (Some(floor), Some(warm_rust), Some(warm_py)) = (warm.next(), warm.next(), warm.next())
    else {
        return Err("warm latency: missing samples".into());
    };

    step("cold start: rust");
    let cold_rust = cold_starts(&mut c, RUST_FN, plan).await?;
    step("cold start: python");
    let cold_py = cold_starts(&mut c, PY_FN, plan).await?;
    step("python3 -c pass");
    let py_pass = spawn_times(py_exe, &["-c", "pass"], plan.spawn)?;
    let py_pass_nosite = spawn_times(py_exe, &["-S", "-s", "-c", "pass"], plan.spawn)?;

    let mut tput = Vec::new();
    for &conc in plan.concurrency {
        step(&format!("throughput: rust, concurrency {conc}"));
        tput.push(throughput(serval, RUST_FN, conc, plan, probes.serval).await?);
    }
    Ok(Figures {
        floor,
        warm_rust,
        warm_py,
        cold_rust,
        cold_py,
        py_pass,
        py_pass_nosite,
        py_exe: py_exe.to_path_buf(),
        tput,
        loadavg,
        isolation,
        cold_rust_plain: Samples::new(Vec::new(), None),
        cold_py_plain: Samples::new(Vec::new(), None),
    })
}

async fn deploy(c: &mut Client, echo_bin: &Path) -> Result<()> {
    let rust_zip = zip_one("bootstrap", &std::fs::read(echo_bin)?, 0o755)?;
    create_function(c, RUST_FN, "provided.al2023", "bootstrap", &rust_zip).await?;
    let py_zip = zip_one("app.py", PY_APP.as_bytes(), 0o644)?;
    create_function(c, PY_FN, "python3.12", "app.handler", &py_zip).await?;
    check_echo(c, RUST_FN).await?;
    check_echo(c, PY_FN).await
}

/// Cold starts on a second server that runs functions as plain processes.
async fn plain_cold_starts(bin: &Path, echo_bin: &Path, plan: &Plan) -> Result<(Samples, Samples)> {
    step("cold start without isolation (--isolation process): rust, python");
    let mut s = start_serval(bin, &["--isolation", "process"], "plain").await?;
    let r = async {
        let mut c = Client::connect(s.addr).await?;
        deploy(&mut c, echo_bin).await?;
        let rust = cold_starts(&mut c, RUST_FN, plan).await?;
        let py = cold_starts(&mut c, PY_FN, plan).await?;
        Ok((rust, py))
    }
    .await;
    s.proc.terminate(Duration::from_secs(5));
    let _ = std::fs::remove_file(&s.log);
    r
}

const RULE: usize = 100;

fn cpu_cells(cpu: Option<CpuSplit>) -> String {
    match cpu {
        Some(c) => format!("{:>7.0} {:>7.0} {:>7.0}", c.server, c.function, c.client),
        None => format!("{:>7} {:>7} {:>7}", "", "", ""),
    }
}

fn print_table(f: &Figures, plan: &Plan, serval_bin: &Path, echo_bin: &Path, took: Duration) {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let ov_rust = f.warm_rust.p50_us() - f.floor.p50_us();
    let ov_py = f.warm_py.p50_us() - f.floor.p50_us();
    let cold_rust_ms = f.cold_rust.p50_us() / 1000.0;
    let cold_py_ms = f.cold_py.p50_us() / 1000.0;
    let pass_ms = f.py_pass.p50_us() / 1000.0;
    let ratio = if pass_ms > 0.0 {
        cold_py_ms / pass_ms
    } else {
        f64::INFINITY
    };
    let peak = f.tput.iter().map(|t| t.rate).fold(0.0, f64::max);
    let w = 44;
    let rule = "─".repeat(RULE);

    let mut out = String::new();
    let mut line = |l: String| {
        out.push_str(&l);
        out.push('\n');
    };
    line(String::new());
    line(format!(
        "Serval invoke benchmark: {cores} CPUs, loopback, HTTP/1.1 keep-alive, {} B JSON payload",
        PAYLOAD.len()
    ));
    line(format!("  serval     {}", serval_bin.display()));
    line(format!("  rust-echo  {}", echo_bin.display()));
    line(format!("  python     {}", f.py_exe.display()));
    line(format!("  load average at start: {}", f.loadavg));
    line(
        "  CPU columns: µs of CPU per request/invoke (server = echo server or serval, fn = function processes, client = this bench)"
            .to_string(),
    );
    line(String::new());
    line(format!(
        "{:<w$} {:>11} {:>11}  {:>7} {:>7} {:>7}  target",
        "warm latency (sequential, 1 connection)", "p50", "p99", "server", "fn", "client"
    ));
    line(rule.clone());
    let row = |label: String, s: &Samples| {
        format!(
            "{label:<w$} {:>8.1} µs {:>8.1} µs  {}",
            s.p50_us(),
            s.p99_us(),
            cpu_cells(s.1)
        )
    };
    let overhead = |ov: f64| {
        format!(
            "{:<w$} {:>+8.1} µs {:>11}  {}  ≤ {WARM_OVERHEAD_MAX_US:.0} µs {}",
            "  overhead vs floor (p50)",
            ov,
            "",
            cpu_cells(None),
            mark(ov <= WARM_OVERHEAD_MAX_US)
        )
    };
    line(row(
        format!("floor: hyper echo server (n={})", f.floor.0.len()),
        &f.floor,
    ));
    line(row(
        format!("invoke rust, lambda_runtime (n={})", f.warm_rust.0.len()),
        &f.warm_rust,
    ));
    line(overhead(ov_rust));
    line(row(
        format!("invoke python3.12 (n={})", f.warm_py.0.len()),
        &f.warm_py,
    ));
    line(overhead(ov_py));
    line(String::new());
    line(format!(
        "{:<w$} {:>11} {:>11}  target",
        format!(
            "cold start, isolation {} (1st invoke after config update)",
            f.isolation
        ),
        "p50",
        "p99"
    ));
    line(rule.clone());
    line(format!(
        "{:<w$} {:>8.2} ms {:>8.2} ms  < {RUST_COLD_MAX_MS:.0} ms {}",
        format!("rust, provided.al2023 (n={})", f.cold_rust.0.len()),
        cold_rust_ms,
        f.cold_rust.p99_us() / 1000.0,
        mark(cold_rust_ms < RUST_COLD_MAX_MS)
    ));
    line(format!(
        "{:<w$} {:>8.2} ms {:>8.2} ms",
        format!("python3.12 (n={})", f.cold_py.0.len()),
        cold_py_ms,
        f.cold_py.p99_us() / 1000.0
    ));
    let iso = |label: &str, with: &Samples, without: &Samples| {
        let added = (with.p50_us() - without.p50_us()) / 1000.0;
        format!(
            "{:<w$} {:>8.2} ms {:>8.2} ms  isolation adds {added:+.2} ms (≤ {ISOLATION_COLD_MAX_MS:.0} ms {})",
            format!("{label} without isolation (n={})", without.0.len()),
            without.p50_us() / 1000.0,
            without.p99_us() / 1000.0,
            mark(added <= ISOLATION_COLD_MAX_MS)
        )
    };
    line(iso("rust", &f.cold_rust, &f.cold_rust_plain));
    line(iso("python3.12", &f.cold_py, &f.cold_py_plain));
    line(format!(
        "{:<w$} {:>8.2} ms {:>8.2} ms",
        format!("spawn `python3 -c pass` (n={})", f.py_pass.0.len()),
        pass_ms,
        f.py_pass.p99_us() / 1000.0
    ));
    line(format!(
        "{:<w$} {:>9.2} x {:>11}  < {PY_COLD_MAX_RATIO:.0} x   {}",
        "  python cold / python3 -c pass",
        ratio,
        "",
        mark(ratio < PY_COLD_MAX_RATIO)
    ));
    line(format!(
        "{:<w$} {:>8.2} ms {:>8.2} ms  (info: no site, as Serval runs it)",
        format!(
            "spawn `python3 -S -s -c pass` (n={})",
            f.py_pass_nosite.0.len()
        ),
        f.py_pass_nosite.p50_us() / 1000.0,
        f.py_pass_nosite.p99_us() / 1000.0
    ));
    line(String::new());
    line(format!(
        "{:<w$} {:>11} {:>11}  {:>7} {:>7} {:>7}  target",
        format!(
            "throughput, rust ({:.1} s each)",
            plan.tp_duration.as_secs_f64()
        ),
        "invokes/s",
        "µs/invoke",
        "server",
        "fn",
        "client"
    ));
    line(rule.clone());
    for t in &f.tput {
        line(format!(
            "{:<w$} {:>11.0} {:>11.1}  {}",
            format!("concurrency {}", t.conc),
            t.rate,
            if t.rate > 0.0 { 1e6 / t.rate } else { 0.0 },
            cpu_cells(Some(t.cpu))
        ));
    }
    line(format!(
        "{:<w$} {:>11.0} {:>11}  {}  ≥ {THROUGHPUT_MIN:.0}/s {}",
        format!("  peak ({cores} CPUs)"),
        peak,
        "",
        cpu_cells(None),
        mark(peak >= THROUGHPUT_MIN)
    ));
    line(String::new());
    line(format!("total {:.1} s", took.as_secs_f64()));
    print!("{out}");
}
