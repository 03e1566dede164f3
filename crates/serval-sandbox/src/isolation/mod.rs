//! Isolation backends: how an environment's process is launched and confined.
//!
//! [`Sandbox`] is the one small interface the rest of the crate uses; an
//! [`Environment`](crate::Environment) never touches namespaces or cgroups
//! itself. Two backends exist today:
//! - `namespaces` (Linux, as root): own PID, mount, IPC and UTS namespaces
//!   (and optionally network), a read-only root built from bind mounts,
//!   a private `/tmp` tmpfs, per-environment cgroups (memory, CPU weight,
//!   pids), an unprivileged user with no capabilities, `no_new_privs` and a
//!   seccomp filter;
//! - `process`: plain processes with rlimits, `no_new_privs` and the same
//!   seccomp filter, for hosts where the above is impossible.
//!
//! A microVM backend would be a third implementation of [`Sandbox`].

#[cfg(target_os = "linux")]
mod linux;
mod process;
mod seccomp;

use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::watch;

/// Which backend the operator asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsolationMode {
    /// Namespaces when the host allows them, else plain processes.
    Auto,
    /// Namespaces, or refuse to start.
    Namespaces,
    /// Plain processes with rlimits.
    Process,
}

impl std::str::FromStr for IsolationMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Self::Auto),
            "namespaces" => Ok(Self::Namespaces),
            "process" | "none" => Ok(Self::Process),
            _ => Err(format!(
                "unknown isolation mode {s:?} (expected auto, namespaces or process)"
            )),
        }
    }
}

/// What network a function gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkMode {
    /// The host's network: functions reach Serval and loopback services.
    Host,
    /// No network but the Runtime API (namespaces backend only).
    None,
}

impl std::str::FromStr for NetworkMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "host" => Ok(Self::Host),
            "none" => Ok(Self::None),
            _ => Err(format!(
                "unknown function network {s:?} (expected host or none)"
            )),
        }
    }
}

/// How environments are isolated.
#[derive(Debug, Clone)]
pub struct IsolationConfig {
    /// Requested backend.
    pub mode: IsolationMode,
    /// Function network.
    pub network: NetworkMode,
    /// A directory the backend may use for its own bookkeeping (the mount
    /// point of environments' roots). Must not be shared with functions.
    pub state_dir: PathBuf,
}

/// One isolation feature and whether it is in force.
#[derive(Debug, Clone, Serialize)]
pub struct Feature {
    /// True when every environment gets it.
    pub active: bool,
    /// What is in force, or why not.
    pub detail: String,
}

/// What isolation environments get on this host, for `/_serval/health` and
/// `serval doctor`.
#[derive(Debug, Clone, Serialize)]
pub struct IsolationReport {
    /// `namespaces` or `process`.
    pub mode: &'static str,
    /// Feature name -> state.
    pub features: BTreeMap<&'static str, Feature>,
    /// Things the operator should know (e.g. why isolation is reduced).
    pub warnings: Vec<String>,
}

impl IsolationReport {
    fn new(mode: &'static str) -> Self {
        Self {
            mode,
            features: BTreeMap::new(),
            warnings: Vec::new(),
        }
    }

    fn set(&mut self, name: &'static str, active: bool, detail: impl Into<String>) {
        self.features.insert(
            name,
            Feature {
                active,
                detail: detail.into(),
            },
        );
    }

    /// The report as text, one feature per line.
    pub fn to_text(&self) -> String {
        let mut out = format!("isolation: {}\n", self.mode);
        for (name, f) in &self.features {
            let mark = if f.active { "yes" } else { "no " };
            out.push_str(&format!("  {mark}  {name:<22} {}\n", f.detail));
        }
        for w in &self.warnings {
            out.push_str(&format!("warning: {w}\n"));
        }
        out
    }
}

/// Everything a backend needs to launch one environment's runtime.
#[derive(Debug)]
pub struct LaunchSpec {
    /// Program to execute, as the function sees the filesystem.
    pub program: PathBuf,
    /// Arguments.
    pub args: Vec<String>,
    /// The complete environment.
    pub env: Vec<(String, String)>,
    /// The function's extracted code on the host.
    pub code_dir: PathBuf,
    /// Serval's runtime files on the host (bootstraps, SDKs).
    pub runtime_dir: PathBuf,
    /// Host paths the runtime needs read-only at the same path (interpreter
    /// prefix, SDKs, Serval's bootstraps).
    pub ro_paths: Vec<PathBuf>,
    /// Memory limit, MB.
    pub memory_mb: u32,
    /// Size of `/tmp`, MB.
    pub ephemeral_mb: u32,
    /// Write end of the output pipe (stdout and stderr).
    pub output: OwnedFd,
}

/// How the runtime process ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Exit {
    /// As Lambda words it: `exit status 1`, `signal: killed`.
    pub status: String,
    /// The kernel killed it for exceeding its memory limit.
    pub out_of_memory: bool,
}

/// A launched environment process.
pub struct Launched {
    /// Host pid of the environment's top process.
    pub pid: u32,
    /// Set once the runtime has exited.
    pub exited: watch::Receiver<Option<Exit>>,
    /// Signals and measurements.
    pub instance: Box<dyn Instance>,
    /// The Runtime API listener, when the backend had to create it inside
    /// the environment's own network.
    pub runtime_api: Option<std::net::TcpListener>,
    /// Who may connect to the environment's Runtime API, when the backend
    /// can tell: other environments share the host's loopback.
    pub peer: Option<Peer>,
}

/// How the Runtime API recognises its own environment's connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// The environment runs as a user of its own.
    Uid(u32),
    /// The connecting socket belongs to a descendant of this host pid.
    Descendant(u32),
}

/// Why a launch failed.
#[derive(Debug)]
pub struct LaunchError {
    /// The OS error of the failing step.
    pub error: std::io::Error,
    /// Which step failed, when known (e.g. `mount /proc`).
    pub step: Option<String>,
}

impl std::fmt::Display for LaunchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.step {
            Some(s) => write!(f, "{s}: {}", self.error),
            None => write!(f, "{}", self.error),
        }
    }
}

impl From<std::io::Error> for LaunchError {
    fn from(error: std::io::Error) -> Self {
        Self { error, step: None }
    }
}

/// A running environment process as seen by its backend.
pub trait Instance: Send + Sync {
    /// Asks the runtime (and everything it started) to stop: SIGTERM.
    fn terminate(&self);
    /// Kills every process of the environment: SIGKILL.
    fn kill(&self);
    /// Peak memory of the environment in MB, when the backend measures it.
    fn peak_memory_mb(&self) -> Option<u64>;
}

/// A future returned by [`Sandbox::launch`].
pub type LaunchFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Launched, LaunchError>> + Send + 'a>>;

/// An isolation backend.
pub trait Sandbox: Send + Sync {
    /// What this backend enforces.
    fn report(&self) -> &IsolationReport;
    /// Where a function's code appears to the function.
    fn task_root(&self, code_dir: &Path) -> PathBuf;
    /// Where Serval's runtime files appear to the function.
    fn runtime_root(&self, runtime_dir: &Path) -> PathBuf;
    /// The fixed Runtime API address inside a private network, if any.
    fn private_runtime_api(&self) -> Option<SocketAddr>;
    /// Starts one environment's runtime.
    fn launch(&self, spec: LaunchSpec) -> LaunchFuture<'_>;
    /// Removes what the backend made on the host (after every environment
    /// has stopped).
    fn shutdown(&self) {}
}

/// Picks and prepares the backend `config` asks for. Must be called inside a
/// tokio runtime. Fails only when `namespaces` was required and is
/// impossible here.
pub async fn create(config: &IsolationConfig) -> Result<Arc<dyn Sandbox>, String> {
    let mut reasons: Vec<String> = Vec::new();
    if config.mode != IsolationMode::Process {
        #[cfg(target_os = "linux")]
        match linux::Namespaces::create(config).await {
            Ok(ns) => return Ok(Arc::new(ns)),
            Err(e) => reasons.push(e),
        }
        #[cfg(not(target_os = "linux"))]
        reasons.push("namespaces need Linux".to_string());
        if config.mode == IsolationMode::Namespaces {
            return Err(format!(
                "--isolation namespaces is not possible on this host: {}",
                reasons.join("; ")
            ));
        }
    } else {
        reasons.push("--isolation process was chosen".to_string());
    }
    let mut backend = process::Process::new(config);
    if config.network == NetworkMode::None {
        backend.warn(
            "--function-network none needs the namespaces backend; functions use the host network"
                .into(),
        );
    }
    if config.mode == IsolationMode::Auto {
        backend.warn(format!(
            "functions run as plain processes with rlimits, without namespaces or cgroups ({}); run Serval as root on Linux for full isolation",
            reasons.join("; ")
        ));
    }
    Ok(Arc::new(backend))
}

/// Where a sandbox shows Serval's runtime files (Lambda's runtime directory).
pub(crate) const RUNTIME_ROOT: &str = "/var/runtime";

/// The processes and limits both backends give every environment.
const OPEN_FILES: u64 = 1024;

/// Describes a wait status the way Lambda reports runtime exits.
pub(crate) fn describe_exit(s: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = s.code() {
        format!("exit status {code}")
    } else if let Some(sig) = s.signal() {
        let name = match sig {
            libc::SIGKILL => "killed",
            libc::SIGSEGV => "segmentation fault",
            libc::SIGABRT => "aborted",
            libc::SIGTERM => "terminated",
            libc::SIGXFSZ => "file size limit exceeded",
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
