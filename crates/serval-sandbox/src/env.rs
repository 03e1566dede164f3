//! One execution environment: a function process, its Runtime API listener
//! and its output pipe.

use crate::logs::LogReader;
use crate::runtime_api::{self, Shared};
use crate::runtimes::{Runtime, Runtimes};
use crate::{error_body, Invocation, InvokeReport, Outcome};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long a runtime may take to initialise before its first `/next`
/// (AWS: 10 s, then init is retried within the invoke's timeout).
const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an answer may still arrive after the runtime exited.
const EXIT_GRACE: Duration = Duration::from_millis(50);
/// Grace between SIGTERM and SIGKILL at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(300);

/// Everything needed to start an environment for one function version.
#[derive(Debug, Clone)]
pub struct EnvSpec {
    /// Function name.
    pub function_name: String,
    /// Version (`$LATEST` or a number).
    pub version: String,
    /// Memory size in MB.
    pub memory_mb: u32,
    /// Handler string (`app.handler`).
    pub handler: String,
    /// Runtime.
    pub runtime: Runtime,
    /// Extracted code (LAMBDA_TASK_ROOT).
    pub code_dir: PathBuf,
    /// Region of the function.
    pub region: String,
    /// Log group and stream names.
    pub log_group: String,
    /// Log stream name of this environment.
    pub log_stream: String,
    /// `on-demand` or `provisioned-concurrency`.
    pub initialization_type: &'static str,
    /// The user's variables plus platform ones (credentials, endpoint).
    pub env: Vec<(String, String)>,
}

/// Why an environment could not be started. The message is AWS's.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{error_type}: {message}")]
pub struct StartError {
    /// AWS error type, e.g. `Runtime.InvalidEntrypoint`.
    pub error_type: String,
    /// Message.
    pub message: String,
}

/// A running function process with its Runtime API.
pub struct Environment {
    /// Unique id (also the log stream suffix).
    pub id: String,
    spec: Arc<EnvSpec>,
    shared: Arc<Shared>,
    logs: LogReader,
    pid: Option<u32>,
    exited: watch::Receiver<Option<String>>,
    api_task: tokio::task::JoinHandle<()>,
    started: Instant,
    init_duration: Option<Duration>,
    init_billed: bool,
    /// Last reading of peak memory and when it was taken.
    memory: std::sync::Mutex<(Option<Instant>, u64)>,
}

/// How often peak memory is re-read from /proc (a read costs ~25 µs, too
/// much for every warm invocation).
const MEMORY_SAMPLE: Duration = Duration::from_secs(1);

impl Environment {
    /// Starts the process; init runs in the background until its first `/next`.
    pub async fn start(
        id: String,
        spec: Arc<EnvSpec>,
        runtimes: &Runtimes,
    ) -> Result<Environment, StartError> {
        let started = Instant::now();
        let command = runtimes
            .command(spec.runtime, &spec.code_dir)
            .await
            .map_err(|message| StartError {
                error_type: "Runtime.InvalidRuntime".into(),
                message,
            })?;
        let shared = Arc::new(Shared::new());
        let (addr, api_task) =
            runtime_api::start(shared.clone())
                .await
                .map_err(|e| StartError {
                    error_type: "Runtime.Unknown".into(),
                    message: format!("could not open the Runtime API: {e}"),
                })?;
        let (reader, writer) = std::io::pipe().map_err(|e| StartError {
            error_type: "Runtime.Unknown".into(),
            message: e.to_string(),
        })?;
        let writer2 = writer.try_clone().map_err(|e| StartError {
            error_type: "Runtime.Unknown".into(),
            message: e.to_string(),
        })?;
        let mut cmd = tokio::process::Command::new(&command.program);
        cmd.args(&command.args)
            .current_dir(&spec.code_dir)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::from(writer))
            .stderr(Stdio::from(writer2))
            .kill_on_drop(true)
            .process_group(0);
        // SAFETY: the closure runs in the forked child before exec and only
        // calls prctl(2), which is async-signal-safe. PR_SET_PDEATHSIG makes
        // the kernel kill the function if Serval itself dies (even by
        // SIGKILL), so no environment outlives the server.
        #[allow(unsafe_code)]
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let host_path =
            std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
        let code = spec.code_dir.to_string_lossy().into_owned();
        let mut vars: Vec<(String, String)> = vec![
            ("PATH".into(), format!("{host_path}:/opt/bin")),
            ("LANG".into(), "en_US.UTF-8".into()),
            ("TZ".into(), ":UTC".into()),
            (
                "LD_LIBRARY_PATH".into(),
                format!("{code}:{code}/lib:/opt/lib"),
            ),
            ("LAMBDA_TASK_ROOT".into(), code.clone()),
            ("LAMBDA_RUNTIME_DIR".into(), code.clone()),
            ("_HANDLER".into(), spec.handler.clone()),
            ("AWS_LAMBDA_RUNTIME_API".into(), addr.to_string()),
            (
                "AWS_LAMBDA_FUNCTION_NAME".into(),
                spec.function_name.clone(),
            ),
            ("AWS_LAMBDA_FUNCTION_VERSION".into(), spec.version.clone()),
            (
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(),
                spec.memory_mb.to_string(),
            ),
            ("AWS_LAMBDA_LOG_GROUP_NAME".into(), spec.log_group.clone()),
            ("AWS_LAMBDA_LOG_STREAM_NAME".into(), spec.log_stream.clone()),
            (
                "AWS_LAMBDA_INITIALIZATION_TYPE".into(),
                spec.initialization_type.into(),
            ),
            ("AWS_REGION".into(), spec.region.clone()),
            ("AWS_DEFAULT_REGION".into(), spec.region.clone()),
        ];
        if let Some(e) = spec.runtime.execution_env() {
            vars.push(("AWS_EXECUTION_ENV".into(), e));
        }
        vars.extend(command.env.iter().cloned());
        vars.extend(spec.env.iter().cloned());
        cmd.envs(vars);
        let mut child = cmd.spawn().map_err(|e| StartError {
            error_type: "Runtime.InvalidEntrypoint".into(),
            message: match e.kind() {
                std::io::ErrorKind::NotFound => {
                    "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]".into()
                }
                std::io::ErrorKind::PermissionDenied => {
                    format!("fork/exec {}: permission denied", command.program.display())
                }
                _ => format!("fork/exec {}: {e}", command.program.display()),
            },
        })?;
        // Our copies of the pipe's write end must close, or we never see EOF.
        drop(cmd);
        let logs = LogReader::start(reader.into()).map_err(|e| StartError {
            error_type: "Runtime.Unknown".into(),
            message: e.to_string(),
        })?;
        let pid = child.id();
        let (exit_tx, exited) = watch::channel(None);
        tokio::spawn(async move {
            let status = child.wait().await;
            let text = match status {
                Ok(s) => describe_exit(s),
                Err(e) => e.to_string(),
            };
            exit_tx.send_replace(Some(text));
        });
        Ok(Environment {
            id,
            spec,
            shared,
            logs,
            pid,
            exited,
            api_task,
            started,
            init_duration: None,
            init_billed: false,
            memory: std::sync::Mutex::new((None, 0)),
        })
    }

    /// The spec this environment was started from.
    pub fn spec(&self) -> &EnvSpec {
        &self.spec
    }

    /// Waits until the runtime's first `/next` (init done). On failure returns
    /// the init error as an [`Outcome::Error`].
    pub async fn wait_ready(&mut self, limit: Duration) -> Result<Duration, Outcome> {
        if let Some(d) = self.init_duration {
            return Ok(d);
        }
        let mut ready = self.shared.ready.subscribe();
        let mut init_error = self.shared.init_error.subscribe();
        let mut exited = self.exited.clone();
        let deadline = tokio::time::sleep(limit);
        tokio::pin!(deadline);
        loop {
            if *ready.borrow_and_update() {
                let d = self.started.elapsed();
                self.init_duration = Some(d);
                return Ok(d);
            }
            if let Some(err) = init_error.borrow_and_update().clone() {
                return Err(err);
            }
            if let Some(status) = exited.borrow_and_update().clone() {
                // The runtime may have posted an init error just before exiting.
                if let Some(err) = self.shared.init_error.borrow().clone() {
                    return Err(err);
                }
                return Err(exit_error(&status));
            }
            tokio::select! {
                _ = ready.changed() => {}
                _ = init_error.changed() => {}
                _ = exited.changed() => {}
                _ = &mut deadline => {
                    return Err(Outcome::Error {
                        body: error_body("Sandbox.Timedout", &format!("Init timed out after {:.2} seconds", limit.as_secs_f64())),
                        error_type: "Sandbox.Timedout".into(),
                    });
                }
            }
        }
    }

    /// Runs one invocation to its end: response, error, timeout or crash.
    pub async fn invoke(&mut self, inv: Invocation) -> InvokeReport {
        let timeout = inv.timeout;
        let request_id = inv.request_id.clone();
        let init = match self.wait_ready(INIT_TIMEOUT + timeout).await {
            Ok(d) => d,
            Err(outcome) => {
                let lines = self.logs.take().await;
                return InvokeReport {
                    outcome,
                    duration: self.started.elapsed(),
                    init_duration: Some(self.started.elapsed()),
                    max_memory_mb: self.max_memory_mb(),
                    log_lines: lines,
                    reusable: false,
                    timed_out: false,
                    delivered: false,
                };
            }
        };
        let init_duration = if self.init_billed {
            None
        } else {
            self.init_billed = true;
            Some(init)
        };
        let sent_at = Instant::now();
        let mut exited = self.exited.clone();
        let sleep = tokio::time::sleep(timeout);
        tokio::pin!(sleep);
        let shared = self.shared.clone();
        let deliver = runtime_api::deliver(&shared, inv);
        tokio::pin!(deliver);
        let delivered = tokio::select! {
            // The answer wins over an exit seen at the same moment.
            biased;
            r = &mut deliver => r,
            _ = &mut sleep => {
                self.kill();
                let lines = self.logs.take().await;
                let message = format!("RequestId: {request_id} Error: Task timed out after {:.2} seconds", timeout.as_secs_f64());
                return InvokeReport {
                    outcome: Outcome::Error { body: error_body("Sandbox.Timedout", &message), error_type: "Sandbox.Timedout".into() },
                    duration: timeout,
                    init_duration,
                    max_memory_mb: self.max_memory_mb(),
                    log_lines: lines,
                    reusable: false,
                    timed_out: true,
                    delivered: true,
                };
            }
            _ = wait_exit(&mut exited) => {
                // A runtime that answered and exited at once: its answer may
                // still be in a socket.
                tokio::time::timeout(EXIT_GRACE, &mut deliver).await.ok().flatten()
            }
        };
        let (outcome, picked) = match delivered {
            Some((o, p)) => (Some(o), p),
            None => (None, sent_at),
        };
        let duration = picked.elapsed();
        match outcome {
            Some(outcome) => InvokeReport {
                outcome,
                duration,
                init_duration,
                max_memory_mb: self.max_memory_mb(),
                log_lines: self.logs.take().await,
                reusable: self.exited.borrow().is_none(),
                timed_out: false,
                delivered: true,
            },
            None => {
                let status = self.exited.borrow().clone().unwrap_or_default();
                let message =
                    format!("RequestId: {request_id} Error: Runtime exited with error: {status}");
                self.failed(
                    request_id,
                    "Runtime.ExitError",
                    &message,
                    init_duration,
                    picked,
                )
                .await
            }
        }
    }

    async fn failed(
        &mut self,
        _request_id: String,
        error_type: &str,
        message: &str,
        init_duration: Option<Duration>,
        since: Instant,
    ) -> InvokeReport {
        self.kill();
        InvokeReport {
            outcome: Outcome::Error {
                body: error_body(error_type, message),
                error_type: error_type.into(),
            },
            duration: since.elapsed(),
            init_duration,
            max_memory_mb: self.max_memory_mb(),
            log_lines: self.logs.take().await,
            reusable: false,
            timed_out: false,
            delivered: self.shared.picked(),
        }
    }

    /// True while the process is alive.
    pub fn is_alive(&self) -> bool {
        self.exited.borrow().is_none()
    }

    /// Log lines written since the last invocation (e.g. during init).
    pub async fn take_logs(&self) -> Vec<(u64, String)> {
        self.logs.take().await
    }

    /// Peak resident memory of the process, in MB (VmHWM), re-read at most
    /// once a second.
    fn max_memory_mb(&self) -> u64 {
        let mut m = match self.memory.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        let fresh = m.0.is_some_and(|t| t.elapsed() < MEMORY_SAMPLE);
        if !fresh {
            let read = self.read_memory_mb();
            if read > 0 || m.0.is_none() {
                m.1 = m.1.max(read);
            }
            m.0 = Some(Instant::now());
        }
        m.1
    }

    fn read_memory_mb(&self) -> u64 {
        let Some(pid) = self.pid else { return 0 };
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            return 0;
        };
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb.div_ceil(1024))
            .unwrap_or(0)
    }

    fn signal(&self, sig: i32) {
        // The whole process group, even after the runtime itself exited:
        // children it left behind are still in the group.
        if let Some(pid) = self.pid.and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: kill(2) with a negative pid signals the process group we
            // created for this child (process_group(0)); it has no
            // memory-safety preconditions, and ESRCH once the group is empty
            // is harmless.
            #[allow(unsafe_code)]
            unsafe {
                libc::kill(-pid, sig);
            }
        }
    }

    fn kill(&self) {
        self.signal(libc::SIGKILL);
    }

    /// SIGTERM, a short grace, then SIGKILL; closes the Runtime API.
    pub async fn shutdown(self) {
        self.signal(libc::SIGTERM);
        let mut exited = self.exited.clone();
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, wait_exit(&mut exited)).await;
        self.kill();
        self.api_task.abort();
    }
}

impl Drop for Environment {
    fn drop(&mut self) {
        self.kill();
        self.api_task.abort();
    }
}

async fn wait_exit(exited: &mut watch::Receiver<Option<String>>) {
    let _ = exited.wait_for(|s| s.is_some()).await;
}

fn describe_exit(s: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = s.code() {
        format!("exit status {code}")
    } else if let Some(sig) = s.signal() {
        let name = match sig {
            libc::SIGKILL => "killed",
            libc::SIGSEGV => "segmentation fault",
            libc::SIGABRT => "aborted",
            libc::SIGTERM => "terminated",
            _ => "",
        };
        if name.is_empty() {
            format!("signal: {sig}")
        } else {
            format!("signal: {name}")
        }
    } else {
        "exited".into()
    }
}

fn exit_error(status: &str) -> Outcome {
    let message = format!("Runtime exited with error: {status}");
    Outcome::Error {
        body: error_body("Runtime.ExitError", &message),
        error_type: "Runtime.ExitError".into(),
    }
}
