//! Finding, installing and starting `moto_server`.

use super::*;

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
pub(crate) fn find_moto() -> Result<PathBuf> {
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
pub(crate) fn moto_version(moto: &Path) -> Option<String> {
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

pub(crate) struct Moto {
    pub(crate) proc: Proc,
    pub(crate) addr: SocketAddr,
    pub(crate) log: PathBuf,
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
pub(crate) async fn start_moto(exe: &Path) -> Result<Moto> {
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
