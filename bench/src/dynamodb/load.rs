//! The measured load: connections in a loop, a window, CPU accounting.

use super::*;

/// One measured row: one operation on one system at one connection count.
pub(super) struct Row {
    pub(super) rate: f64,
    pub(super) lat: Samples,
    /// Server CPU per operation, µs.
    pub(super) cpu_us: f64,
    /// This client's CPU per operation, µs.
    pub(super) client_us: f64,
    /// Connections opened per request (1 when the server closes each one).
    pub(super) conns_per_op: f64,
    /// Length of the counted window.
    pub(super) window: Duration,
    /// CPUs' worth of work done by other processes during the window
    /// (anything well above 0 skews the row).
    pub(super) other_cpus: f64,
}

/// Busy CPU time of the whole machine in ns (`/proc/stat`: user, nice,
/// system, irq, softirq, steal).
fn machine_busy_ns(ns_per_tick: u64) -> u64 {
    let Ok(text) = std::fs::read_to_string("/proc/stat") else {
        return 0;
    };
    let Some(cpu) = text.lines().next().filter(|l| l.starts_with("cpu ")) else {
        return 0;
    };
    let f: Vec<u64> = cpu
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    let at = |i: usize| f.get(i).copied().unwrap_or(0);
    (at(0) + at(1) + at(2) + at(5) + at(6) + at(7)) * ns_per_tick
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
pub(super) fn ns_per_tick() -> u64 {
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
pub(super) async fn load(
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
        Op::Query => sys.query_len.unwrap_or(0) * 9 / 10,
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
    let self0 = self_ns();
    let busy0 = machine_busy_ns(sys.ns_per_tick);
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
    let self1 = self_ns();
    let busy1 = machine_busy_ns(sys.ns_per_tick);
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
    let (server, client) = (cpu1.saturating_sub(cpu0), self1.saturating_sub(self0));
    Ok(Row {
        rate: n as f64 / window.as_secs_f64(),
        cpu_us: server as f64 / 1e3 / n.max(1) as f64,
        client_us: client as f64 / 1e3 / n.max(1) as f64,
        other_cpus: busy1.saturating_sub(busy0).saturating_sub(server + client) as f64
            / window.as_nanos().max(1) as f64,
        conns_per_op: opened as f64 / sent.max(1) as f64,
        lat: Samples::new(all, None),
        window,
    })
}
