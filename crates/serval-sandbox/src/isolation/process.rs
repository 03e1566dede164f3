//! The fallback backend: a plain process in its own process group, with
//! rlimits, `no_new_privs` and the seccomp filter, seeing the host's
//! filesystem. Used where namespaces are impossible (not root, not Linux) or
//! when the operator asks for it.

#![allow(unsafe_code)]

use super::{
    describe_exit, seccomp, Exit, Instance, IsolationConfig, IsolationReport, LaunchError,
    LaunchFuture, LaunchSpec, Launched, Sandbox, OPEN_FILES,
};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::sync::watch;

pub(crate) struct Process {
    report: IsolationReport,
}

impl Process {
    pub(crate) fn new(_config: &IsolationConfig) -> Self {
        let mut report = IsolationReport::new("process");
        for ns in [
            "pid_namespace",
            "mount_namespace",
            "ipc_namespace",
            "uts_namespace",
            "network_namespace",
        ] {
            report.set(ns, false, "not available in process mode");
        }
        report.set(
            "cgroups",
            false,
            "not available in process mode: memory, CPU and process limits are not enforced",
        );
        report.set("memory_limit", false, "not enforced");
        report.set("cpu_weight", false, "not enforced");
        report.set("pids_limit", false, "not enforced");
        report.set("user", false, "functions run as Serval's own user");
        report.set(
            "capabilities_dropped",
            false,
            "functions keep Serval's capabilities",
        );
        report.set(
            "rlimits",
            true,
            format!("open files {OPEN_FILES}, no core dumps"),
        );
        report.set("no_new_privs", true, "set");
        report.set(
            "seccomp",
            true,
            "deny list (mount, ptrace, kexec, modules, bpf, ...)",
        );
        Self { report }
    }

    pub(crate) fn warn(&mut self, w: String) {
        self.report.warnings.push(w);
    }
}

struct Group {
    pid: u32,
}

impl Group {
    fn signal(&self, sig: i32) {
        // The whole process group, even after the runtime itself exited:
        // children it left behind are still in the group.
        if let Ok(pid) = i32::try_from(self.pid) {
            // SAFETY: kill(2) with a negative pid signals the process group
            // created for this child; ESRCH once it is empty is harmless.
            unsafe {
                libc::kill(-pid, sig);
            }
        }
    }
}

impl Instance for Group {
    fn terminate(&self) {
        self.signal(libc::SIGTERM);
    }
    fn kill(&self) {
        self.signal(libc::SIGKILL);
    }
    fn peak_memory_mb(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb.div_ceil(1024))
    }
}

impl Sandbox for Process {
    fn report(&self) -> &IsolationReport {
        &self.report
    }

    fn task_root(&self, code_dir: &Path) -> PathBuf {
        code_dir.to_path_buf()
    }

    fn runtime_root(&self, runtime_dir: &Path) -> PathBuf {
        runtime_dir.to_path_buf()
    }

    fn private_runtime_api(&self) -> Option<SocketAddr> {
        None
    }

    fn launch(&self, spec: LaunchSpec) -> LaunchFuture<'_> {
        Box::pin(async move {
            let filter = seccomp::program();
            let stderr = spec.output.try_clone()?;
            let mut cmd = tokio::process::Command::new(&spec.program);
            cmd.args(&spec.args)
                .current_dir(&spec.code_dir)
                .env_clear()
                .envs(spec.env.iter().map(|(k, v)| (k, v)))
                .stdin(Stdio::null())
                .stdout(Stdio::from(spec.output))
                .stderr(Stdio::from(stderr))
                .kill_on_drop(true);
            // SAFETY: the closure runs in the forked child before exec and
            // only makes system calls (prctl, setrlimit, seccomp), which are
            // async-signal-safe; `filter` was built before the fork.
            unsafe {
                cmd.pre_exec(move || {
                    // The kernel kills the function if Serval dies.
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    // Own session (and process group): no controlling
                    // terminal to inject keystrokes into.
                    libc::setsid();
                    let files = libc::rlimit {
                        rlim_cur: OPEN_FILES,
                        rlim_max: OPEN_FILES,
                    };
                    libc::setrlimit(libc::RLIMIT_NOFILE, &files);
                    let core = libc::rlimit {
                        rlim_cur: 0,
                        rlim_max: 0,
                    };
                    libc::setrlimit(libc::RLIMIT_CORE, &core);
                    seccomp::install(&filter).map_err(|_| std::io::Error::last_os_error())
                });
            }
            let mut child = cmd.spawn().map_err(LaunchError::from)?;
            drop(cmd);
            let pid = child.id().unwrap_or_default();
            let (tx, exited) = watch::channel(None);
            tokio::spawn(async move {
                let status = match child.wait().await {
                    Ok(s) => describe_exit(s),
                    Err(e) => e.to_string(),
                };
                tx.send_replace(Some(Exit {
                    status,
                    out_of_memory: false,
                }));
            });
            Ok(Launched {
                pid,
                exited,
                instance: Box::new(Group { pid }),
                runtime_api: None,
                peer: None,
            })
        })
    }
}
