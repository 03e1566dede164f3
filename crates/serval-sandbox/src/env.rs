//! One execution environment: a function process, its Runtime API listener
//! and its output pipe.

use crate::isolation::{Exit, Instance, LaunchError, LaunchSpec, Sandbox};
use crate::logs::LogReader;
use crate::runtime_api::{self, Shared};
use crate::runtimes::{Runtime, Runtimes};
use crate::{error_body, Invocation, InvokeReport, Outcome};
use std::path::{Path, PathBuf};
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
    /// Size of `/tmp` in MB.
    pub ephemeral_mb: u32,
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
    instance: Box<dyn Instance>,
    exited: watch::Receiver<Option<Exit>>,
    api_task: tokio::task::JoinHandle<()>,
    started: Instant,
    init_duration: Option<Duration>,
    init_billed: bool,
    /// Last reading of peak memory and when it was taken.
    memory: std::sync::Mutex<(Option<Instant>, u64)>,
}

/// How often peak memory is re-read during fast warm invocations.
const MEMORY_SAMPLE: Duration = Duration::from_millis(100);

impl Environment {
    /// Starts the process in `sandbox`; init runs in the background until
    /// its first `/next`.
    pub async fn start(
        id: String,
        spec: Arc<EnvSpec>,
        runtimes: &Runtimes,
        sandbox: &Arc<dyn Sandbox>,
    ) -> Result<Environment, StartError> {
        let started = Instant::now();
        let unknown = |e: &dyn std::fmt::Display| StartError {
            error_type: "Runtime.Unknown".into(),
            message: e.to_string(),
        };
        let task_root = sandbox.task_root(&spec.code_dir);
        let isolated = task_root != spec.code_dir;
        let runtime_root = sandbox.runtime_root(runtimes.cache_dir());
        let command = runtimes
            .command(spec.runtime, &task_root, &runtime_root)
            .await
            .map_err(|message| StartError {
                error_type: "Runtime.InvalidRuntime".into(),
                message,
            })?;
        let shared = Arc::new(Shared::new());
        // The Runtime API listens on loopback here, or inside the
        // environment's own network (the sandbox makes it there).
        let (addr, listener) = match sandbox.private_runtime_api() {
            Some(addr) => (addr, None),
            None => {
                let l = runtime_api::bind().map_err(|e| StartError {
                    error_type: "Runtime.Unknown".into(),
                    message: format!("could not open the Runtime API: {e}"),
                })?;
                (l.local_addr().map_err(|e| unknown(&e))?, Some(l))
            }
        };
        let (reader, writer) = std::io::pipe().map_err(|e| unknown(&e))?;
        let root = task_root.to_string_lossy().into_owned();
        let path = if isolated {
            // Lambda's PATH, with the host interpreter's own directory first.
            let interp = command
                .program
                .parent()
                .filter(|_| spec.runtime.family != crate::RuntimeFamily::Provided)
                .map(|d| format!("{}:", d.display()))
                .unwrap_or_default();
            format!("{interp}/usr/local/bin:/usr/bin:/bin:/opt/bin")
        } else {
            let host =
                std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
            format!("{host}:/opt/bin")
        };
        let mut vars: Vec<(String, String)> = vec![
            ("PATH".into(), path),
            ("LANG".into(), "en_US.UTF-8".into()),
            ("TZ".into(), ":UTC".into()),
            (
                "LD_LIBRARY_PATH".into(),
                format!("{root}:{root}/lib:/opt/lib"),
            ),
            ("LAMBDA_TASK_ROOT".into(), root.clone()),
            (
                "LAMBDA_RUNTIME_DIR".into(),
                runtime_root.to_string_lossy().into_owned(),
            ),
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
        let launch = LaunchSpec {
            program: command.program.clone(),
            args: command.args.clone(),
            env: vars,
            code_dir: spec.code_dir.clone(),
            runtime_dir: runtimes.cache_dir().to_path_buf(),
            ro_paths: runtimes.host_paths(spec.runtime).await,
            memory_mb: spec.memory_mb,
            ephemeral_mb: spec.ephemeral_mb,
            output: writer.into(),
        };
        // Whether the program itself is there (as opposed to what it needs,
        // like the interpreter of a #! line).
        let host_program = if spec.runtime.family == crate::RuntimeFamily::Provided {
            spec.code_dir.join("bootstrap")
        } else {
            command.program.clone()
        };
        let present = std::fs::symlink_metadata(&host_program).is_ok();
        let launched = sandbox
            .launch(launch)
            .await
            .map_err(|e| launch_error(&command.program, present, e))?;
        tracing::debug!("environment {id}: launched in {:?}", started.elapsed());
        let logs = LogReader::start(reader.into()).map_err(|e| unknown(&e))?;
        let listener = match (listener, launched.runtime_api) {
            (Some(l), _) | (None, Some(l)) => l,
            (None, None) => {
                launched.instance.kill();
                return Err(unknown(&"the sandbox gave no Runtime API listener"));
            }
        };
        // In a private network no other environment can reach the listener.
        let peer = launched
            .peer
            .filter(|_| sandbox.private_runtime_api().is_none());
        let api_task = match runtime_api::serve_listener(shared.clone(), listener, peer) {
            Ok(t) => t,
            Err(e) => {
                launched.instance.kill();
                return Err(unknown(&e));
            }
        };
        Ok(Environment {
            id,
            spec,
            shared,
            logs,
            instance: launched.instance,
            exited: launched.exited,
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
                tracing::debug!("environment {}: ready in {d:?}", self.id);
                self.init_duration = Some(d);
                return Ok(d);
            }
            if let Some(err) = init_error.borrow_and_update().clone() {
                return Err(err);
            }
            if let Some(exit) = exited.borrow_and_update().clone() {
                // The runtime may have posted an init error just before exiting.
                if let Some(err) = self.shared.init_error.borrow().clone() {
                    if !exit.out_of_memory {
                        return Err(err);
                    }
                }
                return Err(exit_error(None, &exit));
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
                // A runtime that died during init is reported against the
                // invocation that waited for it, as Lambda words it.
                let outcome = match (&outcome, self.exited.borrow().clone()) {
                    (Outcome::Error { error_type, .. }, Some(exit))
                        if error_type == "Runtime.ExitError"
                            || error_type == "Runtime.OutOfMemory" =>
                    {
                        exit_error(Some(&request_id), &exit)
                    }
                    _ => outcome,
                };
                let lines = self.logs.take().await;
                return InvokeReport {
                    outcome,
                    duration: self.started.elapsed(),
                    init_duration: Some(self.started.elapsed()),
                    max_memory_mb: self.memory_mb(true),
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
                    max_memory_mb: self.memory_mb(true),
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
                max_memory_mb: self.memory_mb(duration > Duration::from_millis(2)),
                log_lines: self.logs.take().await,
                reusable: self.exited.borrow().is_none(),
                timed_out: false,
                delivered: true,
            },
            None => {
                let exit = self.exited.borrow().clone().unwrap_or(Exit {
                    status: String::new(),
                    out_of_memory: false,
                });
                let Outcome::Error { body, error_type } = exit_error(Some(&request_id), &exit)
                else {
                    unreachable!("exit_error returns an error")
                };
                self.failed(body, error_type, init_duration, picked).await
            }
        }
    }

    async fn failed(
        &mut self,
        body: bytes::Bytes,
        error_type: String,
        init_duration: Option<Duration>,
        since: Instant,
    ) -> InvokeReport {
        self.kill();
        InvokeReport {
            outcome: Outcome::Error { body, error_type },
            duration: since.elapsed(),
            init_duration,
            max_memory_mb: self.memory_mb(true),
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

    /// Peak memory of the environment in MB (from its cgroup, or VmHWM of
    /// the runtime); unless `force`, re-read at most every
    /// [`MEMORY_SAMPLE`] (a read costs microseconds).
    fn memory_mb(&self, force: bool) -> u64 {
        let mut m = match self.memory.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        let fresh = !force && m.0.is_some_and(|t| t.elapsed() < MEMORY_SAMPLE);
        if !fresh {
            if let Some(read) = self.instance.peak_memory_mb() {
                m.1 = m.1.max(read);
            }
            m.0 = Some(Instant::now());
        }
        m.1
    }

    fn kill(&self) {
        self.instance.kill();
    }

    /// SIGTERM, a short grace, then SIGKILL; closes the Runtime API.
    pub async fn shutdown(self) {
        self.instance.terminate();
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

async fn wait_exit(exited: &mut watch::Receiver<Option<Exit>>) {
    let _ = exited.wait_for(|s| s.is_some()).await;
}

/// The error for a runtime that exited: Lambda's `Runtime.OutOfMemory` when
/// the memory limit killed it, else `Runtime.ExitError`.
fn exit_error(request_id: Option<&str>, exit: &Exit) -> Outcome {
    let prefix = request_id
        .map(|id| format!("RequestId: {id} Error: "))
        .unwrap_or_default();
    let message = format!("{prefix}Runtime exited with error: {}", exit.status);
    let error_type = if exit.out_of_memory {
        "Runtime.OutOfMemory"
    } else {
        "Runtime.ExitError"
    };
    Outcome::Error {
        body: error_body(error_type, &message),
        error_type: error_type.into(),
    }
}

/// Maps a failed launch to the error AWS gives for it (Lambda's runtime is
/// written in Go: its exec errors are Go's lower-case wording).
fn launch_error(program: &Path, present: bool, e: LaunchError) -> StartError {
    let message = match &e.step {
        None if !present && e.error.kind() == std::io::ErrorKind::NotFound => {
            "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]".into()
        }
        None => format!("fork/exec {}: {}", program.display(), go_errno(&e.error)),
        Some(step) => format!("sandbox: {step}: {}", e.error),
    };
    let error_type = if e.step.is_some() {
        "Runtime.Unknown"
    } else {
        "Runtime.InvalidEntrypoint"
    };
    StartError {
        error_type: error_type.into(),
        message,
    }
}

/// An OS error as Go's syscall package words it.
fn go_errno(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ENOENT) => "no such file or directory".into(),
        Some(libc::EACCES) => "permission denied".into(),
        Some(libc::ENOEXEC) => "exec format error".into(),
        Some(libc::ETXTBSY) => "text file busy".into(),
        Some(libc::E2BIG) => "argument list too long".into(),
        Some(libc::ENOMEM) => "cannot allocate memory".into(),
        _ => {
            let text = e.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text).to_string();
            let mut c = text.chars();
            c.next()
                .map(|f| f.to_lowercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        }
    }
}
