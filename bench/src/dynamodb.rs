//! `serval-bench --dynamodb`: PutItem, GetItem and a 1,000-item Query against
//! Serval and against `moto_server` (the Python mock most local setups use),
//! both started by this run, with the same client load on each.
//!
//! Each system gets a table (`pk` S hash, `sk` N range, PAY_PER_REQUEST) and one
//! partition preloaded with 1,000 items of about 100 bytes. Then, for each
//! operation and each connection count (PutItem and GetItem at 16 and 64, the
//! Query at 16: moto needs some 370 ms of CPU for one), the two systems are
//! loaded one after the other: `conns` connections, each sending its next
//! request as soon as the last one answered, for at least 3 s after a short
//! warm-up (see `load::load` for how the window stretches). Request
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

mod conn;
mod load;
pub(crate) mod moto;

use conn::*;
use load::*;
use moto::*;

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
    step("starting serval");
    // No functions run here: plain processes spare the isolation set-up.
    let mut serval = rt.block_on(start_serval(
        &serval_bin,
        &["--isolation", "process"],
        "dynamodb",
    ))?;
    let mut notes = Vec::new();
    let serval_sys = ready(
        &rt,
        "serval",
        serval.addr,
        serval.proc.0.id(),
        &bodies,
        &mut notes,
    );
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
    let moto_sys = moto
        .as_ref()
        .and_then(|m| ready(&rt, "moto", m.addr, m.proc.0.id(), &bodies, &mut notes));
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
                let systems = [&serval_sys, &moto_sys].into_iter().flatten();
                for sys in systems.filter(|s| op != Op::Query || s.query_len.is_some()) {
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

    let query_len = [&serval_sys, &moto_sys]
        .into_iter()
        .flatten()
        .find_map(|s| s.query_len)
        .unwrap_or(0);
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

/// Prepares a system and checks its Query; `None` (with a note) when it
/// cannot be measured at all. A failed Query check only drops its Query rows.
fn ready(
    rt: &tokio::runtime::Runtime,
    name: &'static str,
    addr: SocketAddr,
    pid: u32,
    bodies: &Arc<Bodies>,
    notes: &mut Vec<String>,
) -> Option<System> {
    step(&format!("{name}: table, 1,000-item partition, checks"));
    if let Err(e) = rt.block_on(prepare(addr, bodies)) {
        notes.push(format!("{name} skipped: {e}"));
        return None;
    }
    let query_len = rt
        .block_on(check_query(addr, bodies))
        .map_err(|e| notes.push(format!("{name} Query skipped: {e}")))
        .ok();
    Some(System {
        name,
        addr,
        pid,
        ns_per_tick: ns_per_tick(),
        query_len,
    })
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
        "  cpu: µs of the server's CPU per operation; cli: of this client's; ratio: Serval ops/s / moto ops/s".to_string(),
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
    // The client's CPU is shown for Serval only: that is where it can be the limit.
    let sys_cols = |r: Option<&Row>, client: bool| {
        let mut cells = match r {
            Some(r) => format!(
                "{:>9} {:>8.2} {:>8.2} {:>7.0}",
                thousands(r.rate),
                r.lat.p50_us() / 1000.0,
                r.lat.p99_us() / 1000.0,
                r.cpu_us
            ),
            None => format!("{:>9} {:>8} {:>8} {:>7}", "-", "-", "-", "-"),
        };
        if client {
            match r {
                Some(r) => cells.push_str(&format!(" {:>7.0}", r.client_us)),
                None => cells.push_str(&format!(" {:>7}", "-")),
            }
        }
        cells
    };
    line(format!(
        "{:<15} {:─^43}   {:─^35}",
        "", " Serval ", " moto "
    ));
    line(format!(
        "{:<8} {:>6} {:>9} {:>8} {:>8} {:>7} {:>7}   {:>9} {:>8} {:>8} {:>7}   {:>8}  {:>6}  {:>8}",
        "op",
        "conns",
        "ops/s",
        "p50 ms",
        "p99 ms",
        "cpu µs",
        "cli µs",
        "ops/s",
        "p50 ms",
        "p99 ms",
        "cpu µs",
        "ratio",
        "≥60x",
        "p99<2ms"
    ));
    line("─".repeat(128));
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
            sys_cols(l.serval.as_ref(), true),
            sys_cols(l.moto.as_ref(), false),
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
    let skewed: Vec<String> = lines
        .iter()
        .flat_map(|l| [("serval", &l.serval, l), ("moto", &l.moto, l)])
        .filter_map(|(name, r, l)| {
            let r = r.as_ref().filter(|r| r.other_cpus > 0.2)?;
            Some(format!(
                "{} {name} @{} ({:.1})",
                l.op.name(),
                l.conns,
                r.other_cpus
            ))
        })
        .collect();
    if !skewed.is_empty() {
        line(format!(
            "  warning: other processes took CPUs (of {cores}) during {}; those rows are skewed: compare ratios, or run again on a quiet machine",
            skewed.join(", ")
        ));
    }
    line(String::new());
    line(format!(
        "targets: Serval ≥ {MIN_RATIO:.0}x moto's ops/s, and Serval's p99 < {P99_MAX_MS:.0} ms; total {:.1} s",
        took.as_secs_f64()
    ));
    if let Some(&most) = plan.conns.iter().max() {
        line(format!(
            "  (at n connections the mean latency is n / (ops/s): a p99 under {P99_MAX_MS:.0} ms at {most} needs well over {} ops/s)",
            thousands(most as f64 / (P99_MAX_MS / 1000.0))
        ));
    }
    print!("{out}");
}
