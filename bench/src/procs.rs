//! Finding the binaries, starting and stopping processes, and the echo server (the floor).

use super::*;

// ------------------------------------------------------------------ binaries

/// The target directory the workspace builds into.
pub(crate) fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    // target/<profile>/serval-bench -> target/
    if let Ok(exe) = std::env::current_exe() {
        if let Some(profile_dir) = exe.parent() {
            let profile = profile_dir.file_name().and_then(|n| n.to_str());
            if matches!(profile, Some("release" | "debug"))
                && profile_dir.join("../CACHEDIR.TAG").exists()
            {
                if let Some(t) = profile_dir.parent() {
                    return t.to_path_buf();
                }
            }
        }
    }
    workspace_root().join("target")
}

pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A binary from `var`, or `<target>/release/<name>`.
pub(crate) fn find_bin(var: &str, name: &str) -> Result<PathBuf> {
    let (path, from_env) = match std::env::var_os(var) {
        Some(p) => (PathBuf::from(p), true),
        None => (target_dir().join("release").join(name), false),
    };
    if path.is_file() {
        return Ok(path);
    }
    Err(if from_env {
        format!("{var}={} does not exist", path.display()).into()
    } else {
        format!(
            "{} not found. Build the workspace first:\n\n    cargo build --release --workspace\n\n(or point {var} at the binary)",
            path.display()
        )
        .into()
    })
}

pub(crate) fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Newest modification time of the `.rs`/`.toml` files under `dir` (bounded walk).
pub(crate) fn newest_source(dir: &Path, budget: &mut usize) -> Option<SystemTime> {
    let mut newest = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        if *budget == 0 {
            break;
        }
        *budget -= 1;
        let path = entry.path();
        let t = if path.is_dir() {
            newest_source(&path, budget)
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("rs" | "toml")
        ) {
            mtime(&path)
        } else {
            None
        };
        newest = newest.max(t);
    }
    newest
}

/// Warns when a default-located binary is older than the sources it is built from.
pub(crate) fn warn_if_stale(bin: &Path, sources: &[&str]) {
    let root = workspace_root();
    let mut budget = 5000;
    let newest = sources
        .iter()
        .filter_map(|s| newest_source(&root.join(s), &mut budget))
        .max();
    if let (Some(built), Some(src)) = (mtime(bin), newest) {
        if src > built {
            eprintln!(
                "warning: {} is older than its sources; run `cargo build --release --workspace` for current figures",
                bin.display()
            );
        }
    }
}

// ------------------------------------------------------------------ processes

/// A child process killed (SIGKILL) and reaped when dropped.
pub(crate) struct Proc(pub(crate) Child);

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

impl Proc {
    /// SIGTERM (via kill(1): this crate forbids `unsafe`), then up to `grace`
    /// for a clean exit; Drop SIGKILLs whatever is left.
    pub(crate) fn terminate(&mut self, grace: Duration) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .stderr(Stdio::null())
            .status();
        let until = Instant::now() + grace;
        while Instant::now() < until {
            if !matches!(self.0.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

pub(crate) fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

pub(crate) fn start_echo_server() -> Result<(Proc, SocketAddr)> {
    let mut child = Command::new(std::env::current_exe()?)
        .arg("--echo-server")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("echo server: no stdout")?;
    let proc = Proc(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let port: u16 = line
        .trim()
        .parse()
        .map_err(|_| format!("echo server printed {line:?} instead of its port"))?;
    Ok((proc, SocketAddr::from(([127, 0, 0, 1], port))))
}

pub(crate) struct Serval {
    pub(crate) proc: Proc,
    pub(crate) addr: SocketAddr,
    pub(crate) log: PathBuf,
}

impl Serval {
    pub(crate) fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

/// Starts `serval serve` with `extra` flags; `tag` names its log file.
pub(crate) async fn start_serval(bin: &Path, extra: &[&str], tag: &str) -> Result<Serval> {
    let port = free_port()?;
    let log = std::env::temp_dir().join(format!("serval-bench-{}-{tag}.log", std::process::id()));
    let out = std::fs::File::create(&log)?;
    let child = Command::new(bin)
        .args(["serve", "--ephemeral", "--port", &port.to_string()])
        .args(["--account-concurrency", "1000"])
        .args(extra)
        .env(
            "SERVAL_LOG",
            std::env::var("SERVAL_BENCH_LOG").unwrap_or_else(|_| "info".into()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::from(out.try_clone()?))
        .stderr(Stdio::from(out))
        .spawn()
        .map_err(|e| format!("starting {}: {e}", bin.display()))?;
    let mut s = Serval {
        proc: Proc(child),
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        log,
    };
    match wait_healthy(&mut s, bin).await {
        Ok(()) => Ok(s),
        Err(e) => {
            let _ = std::fs::remove_file(&s.log);
            Err(e)
        }
    }
}

pub(crate) async fn wait_healthy(s: &mut Serval, bin: &Path) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(status)) = s.proc.0.try_wait() {
            return Err(format!(
                "{} exited ({status}) before becoming healthy; is it current? run `cargo build --release --workspace`\n{}",
                bin.display(),
                s.log_tail()
            )
            .into());
        }
        if let Ok(mut c) = Client::connect(s.addr).await {
            if let Ok(r) = c.send(Method::GET, "/_serval/health", Bytes::new()).await {
                if r.status == StatusCode::OK {
                    return Ok(());
                }
            }
        }
        if Instant::now() > deadline {
            s.proc.terminate(Duration::from_secs(2));
            return Err(format!(
                "{} did not answer GET /_serval/health with 200 within 20 s\n{}",
                bin.display(),
                s.log_tail()
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ------------------------------------------------------------------ echo server (floor)

/// `--echo-server`: a bare hyper HTTP/1.1 server answering every request with
/// its body. Prints its port, exits when stdin closes.
pub(crate) fn echo_server() -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let mut out = std::io::stdout();
        writeln!(out, "{}", listener.local_addr()?.port())?;
        out.flush()?;
        std::thread::spawn(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
            std::process::exit(0);
        });
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            tokio::spawn(async move {
                let svc =
                    hyper::service::service_fn(|req: Request<hyper::body::Incoming>| async move {
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let mut resp = hyper::Response::new(Full::new(body));
                        resp.headers_mut().insert(
                            http::header::CONTENT_TYPE,
                            http::HeaderValue::from_static("application/json"),
                        );
                        Ok::<_, Infallible>(resp)
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    })
}
