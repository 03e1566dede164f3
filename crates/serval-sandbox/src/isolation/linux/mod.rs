//! The namespaces backend (Linux, as root). See [`child`] for what happens
//! between fork and exec and [`cgroup`] for the limits.
//!
//! The PID namespace is made by the spawner thread: it calls
//! `unshare(CLONE_NEWPID)` before every spawn, so the forked child is the
//! first process (init) of a fresh namespace without an extra fork.
//! Everything else is unshared by the child itself.

#![allow(unsafe_code)]

mod cgroup;
mod child;

use super::{
    describe_exit, seccomp, Exit, Instance, IsolationConfig, IsolationReport, LaunchError,
    LaunchFuture, LaunchSpec, Launched, NetworkMode, Sandbox, OPEN_FILES,
};
use cgroup::{Cgroups, EnvCgroup};
use child::{Area, Net, Op, Plan};
use std::ffi::CString;
use std::fs::File;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use tokio::sync::{oneshot, watch};

/// The user functions run as (Lambda's sbx_user1051).
const SANDBOX_UID: u32 = 993;
const SANDBOX_GID: u32 = 990;
/// Where the code appears, as on Lambda.
const TASK_ROOT: &str = "/var/task";
/// Where Serval's runtime files appear (Lambda's runtime directory).
const RUNTIME_ROOT: &str = "/var/runtime";
/// The Runtime API inside a private network, as on Lambda.
const PRIVATE_API_PORT: u16 = 9001;
/// Host directories shown read-only (or as the symlinks they are).
const SYSTEM_DIRS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/nix",
];
/// Device nodes a function may use.
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

enum SystemEntry {
    Dir(PathBuf),
    Link(PathBuf, PathBuf),
}

/// A spawn to run on the spawner thread, given its own PID namespace fd.
type Job = Box<dyn FnOnce(RawFd) + Send>;

pub(crate) struct Namespaces {
    report: IsolationReport,
    /// Serval's argv and environ memory (see `child::Plan`).
    areas: (Option<Area>, Option<Area>),
    cgroups: Option<Cgroups>,
    root: PathBuf,
    system: Vec<SystemEntry>,
    network: NetworkMode,
    cap_last: i32,
    spawner: std::sync::Mutex<mpsc::Sender<Job>>,
    next_id: AtomicU64,
}

fn cpath(p: &Path) -> Result<CString, LaunchError> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| LaunchError {
        error: std::io::Error::from(std::io::ErrorKind::InvalidInput),
        step: Some(format!("path with NUL: {}", p.display())),
    })
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors we then own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn read_all(fd: OwnedFd) -> Vec<u8> {
    let mut f = File::from(fd);
    let mut out = Vec::new();
    let _ = f.read_to_end(&mut out);
    out
}

fn start_spawner(handle: tokio::runtime::Handle) -> std::io::Result<mpsc::Sender<Job>> {
    let (tx, rx) = mpsc::channel::<Job>();
    let own_ns = File::open("/proc/thread-self/ns/pid")?;
    std::thread::Builder::new()
        .name("serval-spawner".into())
        .spawn(move || {
            // tokio's process driver needs the runtime's context.
            let _guard = handle.enter();
            while let Ok(job) = rx.recv() {
                job(own_ns.as_raw_fd());
            }
        })?;
    Ok(tx)
}

impl Namespaces {
    pub(crate) async fn create(config: &IsolationConfig) -> Result<Namespaces, String> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err("Serval is not running as root".into());
        }
        let root = config.state_dir.join("root");
        std::fs::create_dir_all(&root)
            .map_err(|e| format!("cannot create {}: {e}", root.display()))?;
        let mut system = Vec::new();
        for d in SYSTEM_DIRS {
            let p = Path::new(d);
            match std::fs::symlink_metadata(p) {
                Ok(m) if m.file_type().is_symlink() => {
                    if let Ok(t) = std::fs::read_link(p) {
                        system.push(SystemEntry::Link(p.to_path_buf(), t));
                    }
                }
                Ok(m) if m.is_dir() => system.push(SystemEntry::Dir(p.to_path_buf())),
                _ => {}
            }
        }
        let cap_last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(40);
        let spawner = start_spawner(tokio::runtime::Handle::current())
            .map_err(|e| format!("cannot start the spawner thread: {e}"))?;
        let mut report = IsolationReport::new("namespaces");
        let cgroups = match Cgroups::create() {
            Ok(c) => Some(c),
            Err(e) => {
                report.warnings.push(format!(
                    "cgroups are not usable ({e}): memory, CPU and process limits are not enforced"
                ));
                None
            }
        };
        let ns = Namespaces {
            report,
            areas: argv_env_areas(),
            cgroups,
            root,
            system,
            network: config.network,
            cap_last,
            spawner: std::sync::Mutex::new(spawner),
            next_id: AtomicU64::new(0),
        };
        ns.trial(&config.state_dir).await?;
        let mut ns = ns;
        ns.fill_report();
        Ok(ns)
    }

    /// Launches `/bin/true` in a full sandbox to prove the host allows it.
    async fn trial(&self, state_dir: &Path) -> Result<(), String> {
        let code = state_dir.join("trial");
        std::fs::create_dir_all(&code).map_err(|e| e.to_string())?;
        let devnull = File::options()
            .write(true)
            .open("/dev/null")
            .map_err(|e| e.to_string())?;
        let spec = LaunchSpec {
            program: PathBuf::from("/bin/true"),
            args: Vec::new(),
            env: Vec::new(),
            code_dir: code.clone(),
            runtime_dir: code,
            ro_paths: Vec::new(),
            memory_mb: 128,
            ephemeral_mb: 512,
            output: devnull.into(),
        };
        let launched = self.launch(spec).await.map_err(|e| e.to_string())?;
        let mut exited = launched.exited;
        let exit = exited
            .wait_for(|e| e.is_some())
            .await
            .map_err(|e| e.to_string())?
            .clone();
        match exit {
            Some(e) if e.status == "exit status 0" => Ok(()),
            Some(e) => Err(format!("a sandboxed /bin/true ended with {}", e.status)),
            None => Err("a sandboxed /bin/true did not report".into()),
        }
    }

    fn fill_report(&mut self) {
        let r = &mut self.report;
        r.set(
            "user",
            true,
            format!("uid {SANDBOX_UID}, gid {SANDBOX_GID}"),
        );
        r.set(
            "pid_namespace",
            true,
            "own PID namespace; its init reaps orphans",
        );
        r.set(
            "mount_namespace",
            true,
            "read-only root: code at /var/task, system dirs, private /tmp tmpfs",
        );
        r.set("ipc_namespace", true, "own");
        r.set("uts_namespace", true, "own hostname");
        match self.network {
            NetworkMode::Host => r.set(
                "network_namespace",
                false,
                "host network (--function-network none gives functions only the Runtime API)",
            ),
            NetworkMode::None => r.set(
                "network_namespace",
                true,
                "own, loopback only: the Runtime API and nothing else",
            ),
        }
        match &self.cgroups {
            Some(c) => {
                let (cpu, pids) = c.has_cpu_and_pids();
                r.set("cgroups", true, c.describe());
                r.set(
                    "memory_limit",
                    true,
                    "MemorySize, OOM reported as Runtime.OutOfMemory",
                );
                r.set(
                    "cpu_weight",
                    cpu,
                    if cpu {
                        "proportional to memory (1,769 MB = one vCPU's weight)"
                    } else {
                        "cpu controller not available"
                    },
                );
                r.set(
                    "pids_limit",
                    pids,
                    if pids {
                        format!("{} processes and threads", cgroup::PIDS_MAX)
                    } else {
                        "pids controller not available".into()
                    },
                );
            }
            None => {
                r.set("cgroups", false, "not usable on this host");
                r.set("memory_limit", false, "not enforced (no cgroups)");
                r.set("cpu_weight", false, "not enforced (no cgroups)");
                r.set("pids_limit", false, "not enforced (no cgroups)");
            }
        }
        r.set(
            "capabilities_dropped",
            true,
            "all, including the bounding set",
        );
        r.set("no_new_privs", true, "set");
        r.set(
            "seccomp",
            true,
            "deny list (mount, ptrace, kexec, modules, bpf, namespaces, ...)",
        );
        r.set(
            "rlimits",
            true,
            format!("open files {OPEN_FILES}, no core dumps"),
        );
    }

    fn plan_ops(&self, spec: &LaunchSpec) -> Result<Vec<Op>, LaunchError> {
        let root = &self.root;
        let under = |p: &Path| root.join(p.strip_prefix("/").unwrap_or(p));
        let mut ops = vec![Op::Tmpfs {
            dst: cpath(root)?,
            data: CString::new("mode=0755,size=1m,nr_inodes=4096").unwrap_or_default(),
            flags: libc::MS_NOSUID | libc::MS_NODEV,
        }];
        let mut made: Vec<PathBuf> = vec![PathBuf::from("/")];
        let mut mkdirs =
            |ops: &mut Vec<Op>, p: &Path, mode: libc::mode_t| -> Result<(), LaunchError> {
                let mut chain: Vec<&Path> = p.ancestors().collect();
                chain.reverse();
                for a in chain {
                    if !made.iter().any(|m| m == a) {
                        let m = if a == p { mode } else { 0o755 };
                        ops.push(Op::Mkdir(cpath(&under(a))?, m));
                        made.push(a.to_path_buf());
                    }
                }
                Ok(())
            };
        let mut bound: Vec<PathBuf> = Vec::new();
        for e in &self.system {
            match e {
                SystemEntry::Dir(p) => {
                    mkdirs(&mut ops, p, 0o755)?;
                    ops.push(Op::Bind {
                        src: cpath(p)?,
                        dst: cpath(&under(p))?,
                        writable: false,
                    });
                    bound.push(p.clone());
                }
                SystemEntry::Link(p, target) => {
                    ops.push(Op::Symlink(cpath(target)?, cpath(&under(p))?));
                }
            }
        }
        for p in &spec.ro_paths {
            let p = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
            let reserved = ["/opt", "/tmp", "/proc", "/dev", TASK_ROOT, RUNTIME_ROOT];
            if !p.is_absolute()
                || reserved.iter().any(|r| p.starts_with(r))
                || p == Path::new("/")
                || bound.iter().any(|b| p.starts_with(b))
                || !p.exists()
            {
                continue;
            }
            if p.is_dir() {
                mkdirs(&mut ops, &p, 0o755)?;
            } else {
                if let Some(parent) = p.parent() {
                    mkdirs(&mut ops, parent, 0o755)?;
                }
                ops.push(Op::Touch(cpath(&under(&p))?));
            }
            ops.push(Op::Bind {
                src: cpath(&p)?,
                dst: cpath(&under(&p))?,
                writable: false,
            });
            bound.push(p);
        }
        let task = Path::new(TASK_ROOT);
        mkdirs(&mut ops, task, 0o755)?;
        ops.push(Op::Bind {
            src: cpath(&spec.code_dir)?,
            dst: cpath(&under(task))?,
            writable: false,
        });
        let runtime = Path::new(RUNTIME_ROOT);
        if spec.runtime_dir.is_dir() {
            mkdirs(&mut ops, runtime, 0o755)?;
            ops.push(Op::Bind {
                src: cpath(&spec.runtime_dir)?,
                dst: cpath(&under(runtime))?,
                writable: false,
            });
        }
        mkdirs(&mut ops, Path::new("/opt"), 0o755)?;
        mkdirs(&mut ops, Path::new("/tmp"), 0o1777)?;
        ops.push(Op::Tmpfs {
            dst: cpath(&under(Path::new("/tmp")))?,
            data: CString::new(format!("mode=1777,size={}m", spec.ephemeral_mb))
                .unwrap_or_default(),
            flags: libc::MS_NOSUID | libc::MS_NODEV,
        });
        let dev = Path::new("/dev");
        mkdirs(&mut ops, dev, 0o755)?;
        ops.push(Op::Tmpfs {
            dst: cpath(&under(dev))?,
            data: CString::new("mode=0755,size=64k,nr_inodes=64").unwrap_or_default(),
            flags: libc::MS_NOSUID | libc::MS_NOEXEC,
        });
        for d in DEVICES {
            let host = dev.join(d);
            if !host.exists() {
                continue;
            }
            ops.push(Op::Touch(cpath(&under(&host))?));
            ops.push(Op::Bind {
                src: cpath(&host)?,
                dst: cpath(&under(&host))?,
                writable: true,
            });
        }
        for (link, target) in [
            ("fd", "/proc/self/fd"),
            ("stdin", "/proc/self/fd/0"),
            ("stdout", "/proc/self/fd/1"),
            ("stderr", "/proc/self/fd/2"),
        ] {
            ops.push(Op::Symlink(
                cpath(Path::new(target))?,
                cpath(&under(&dev.join(link)))?,
            ));
        }
        let proc_dir = Path::new("/proc");
        mkdirs(&mut ops, proc_dir, 0o555)?;
        ops.push(Op::Proc(cpath(&under(proc_dir))?));
        Ok(ops)
    }
}

/// The argv and environ address ranges of this process (fields 48-51 of
/// `/proc/self/stat`).
fn argv_env_areas() -> (Option<Area>, Option<Area>) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return (None, None);
    };
    // `rest` starts at field 3.
    let f: Vec<usize> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let pair = |i: usize| -> Option<Area> {
        let (a, b) = (*f.get(i - 3)?, *f.get(i - 2)?);
        (a > 0 && b > a).then_some((a, b))
    };
    (pair(48), pair(50))
}

/// A hostname like Lambda's (an address that always resolves).
fn hostname() -> String {
    let r = serval_core::ids::random_hex(4);
    let n = u32::from_str_radix(&r, 16).unwrap_or(0);
    format!("169.254.{}.{}", (n >> 8) & 0xff, (n & 0xff).max(1))
}

struct NsInstance {
    pid: i32,
    peak: Arc<AtomicU64>,
    cgroup_peak: Option<Arc<File>>,
}

impl Instance for NsInstance {
    fn terminate(&self) {
        // Init forwards SIGTERM to every process of the namespace.
        // SAFETY: kill(2) has no memory preconditions; ESRCH is harmless.
        unsafe {
            libc::kill(self.pid, libc::SIGTERM);
        }
    }

    fn kill(&self) {
        // Init's death kills the whole namespace.
        // SAFETY: as above.
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
        }
    }

    fn peak_memory_mb(&self) -> Option<u64> {
        let live = self.cgroup_peak.as_deref().and_then(cgroup::read_peak_mb);
        let last = self.peak.load(Ordering::Relaxed);
        match live {
            Some(v) => {
                self.peak.fetch_max(v, Ordering::Relaxed);
                Some(v.max(last))
            }
            None if last > 0 => Some(last),
            None => None,
        }
    }
}

fn recv_listener(sock: &OwnedFd) -> std::io::Result<std::net::TcpListener> {
    #[repr(C, align(8))]
    struct Cmsg([u8; 64]);
    let mut buf = Cmsg([0; 64]);
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // SAFETY: recvmsg into stack buffers sized for one descriptor; the
    // received descriptor is new and owned by us.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = buf.0.as_mut_ptr().cast();
        msg.msg_controllen = buf.0.len() as _;
        if libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) < 1 {
            return Err(std::io::Error::last_os_error());
        }
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        if cmsg.is_null() || (*cmsg).cmsg_type != libc::SCM_RIGHTS {
            return Err(std::io::Error::other("no listener received"));
        }
        let fd: RawFd = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
        let l = std::net::TcpListener::from_raw_fd(fd);
        l.set_nonblocking(true)?;
        Ok(l)
    }
}

impl Sandbox for Namespaces {
    fn report(&self) -> &IsolationReport {
        &self.report
    }

    fn task_root(&self, _code_dir: &Path) -> PathBuf {
        PathBuf::from(TASK_ROOT)
    }

    fn runtime_root(&self, _runtime_dir: &Path) -> PathBuf {
        PathBuf::from(RUNTIME_ROOT)
    }

    fn private_runtime_api(&self) -> Option<SocketAddr> {
        (self.network == NetworkMode::None)
            .then(|| SocketAddr::from((Ipv4Addr::LOCALHOST, PRIVATE_API_PORT)))
    }

    fn shutdown(&self) {
        self.remove_cgroups();
    }

    fn launch(&self, spec: LaunchSpec) -> LaunchFuture<'_> {
        Box::pin(async move {
            let id = format!("env-{}", self.next_id.fetch_add(1, Ordering::Relaxed));
            let mut cgroup = match &self.cgroups {
                Some(c) => Some(c.create_env(&id, spec.memory_mb).map_err(|e| LaunchError {
                    error: e,
                    step: Some("create cgroup".into()),
                })?),
                None => None,
            };
            let (status_r, status_w) = pipe()?;
            let (diag_r, diag_w) = pipe()?;
            let net_pair = if self.network == NetworkMode::None {
                let (a, b) = std::os::unix::net::UnixStream::pair()?;
                Some((OwnedFd::from(a), OwnedFd::from(b)))
            } else {
                None
            };
            let plan = Plan {
                cgroup_procs: cgroup
                    .as_ref()
                    .map(|c| c.procs.iter().map(|f| f.as_raw_fd()).collect())
                    .unwrap_or_default(),
                hostname: CString::new(hostname()).unwrap_or_default(),
                root: cpath(&self.root)?,
                ops: self.plan_ops(&spec)?,
                workdir: cpath(Path::new(TASK_ROOT))?,
                uid: SANDBOX_UID,
                gid: SANDBOX_GID,
                cap_last: self.cap_last,
                open_files: OPEN_FILES,
                filter: seccomp::program(),
                status_fd: status_w.as_raw_fd(),
                diag_fd: diag_w.as_raw_fd(),
                net: net_pair.as_ref().map(|(_, child_end)| Net {
                    sock: child_end.as_raw_fd(),
                    port: PRIVATE_API_PORT,
                }),
                argv_area: self.areas.0,
                env_area: self.areas.1,
            };
            let stderr = spec.output.try_clone()?;
            let mut cmd = tokio::process::Command::new(&spec.program);
            cmd.args(&spec.args)
                .env_clear()
                .envs(spec.env.iter().map(|(k, v)| (k, v)))
                .stdin(Stdio::null())
                .stdout(Stdio::from(spec.output))
                .stderr(Stdio::from(stderr))
                .kill_on_drop(true)
                .process_group(0);
            // SAFETY: `child::run` only makes system calls on buffers the
            // plan owns (see its module docs); the plan lives in the closure
            // until the Command is dropped after spawn.
            unsafe {
                cmd.pre_exec(move || child::run(&plan));
            }
            let (tx, rx) = oneshot::channel();
            let job: Job = Box::new(move |own_ns: RawFd| {
                // SAFETY: unshare(CLONE_NEWPID) only changes the namespace
                // this thread's next child is created in; setns back to the
                // thread's own namespace afterwards (a thread may unshare a
                // PID namespace only while its children's namespace is its
                // own).
                let r = if unsafe { libc::unshare(libc::CLONE_NEWPID) } != 0 {
                    Err(std::io::Error::last_os_error())
                } else {
                    let r = cmd.spawn();
                    // SAFETY: setns on a namespace descriptor we own.
                    if unsafe { libc::setns(own_ns, libc::CLONE_NEWPID) } != 0 {
                        tracing::error!(
                            "spawner: cannot return to its own PID namespace: {}",
                            std::io::Error::last_os_error()
                        );
                    }
                    r
                };
                drop(cmd);
                let _ = tx.send(r);
            });
            self.spawner
                .lock()
                .map_err(|_| std::io::Error::other("spawner lock poisoned"))?
                .send(job)
                .map_err(|_| std::io::Error::other("the spawner thread is gone"))?;
            let spawned = rx
                .await
                .map_err(|_| std::io::Error::other("the spawner thread dropped a job"))?;
            drop(status_w);
            drop(diag_w);
            if let Some(c) = cgroup.as_mut() {
                c.close_procs();
            }
            let mut child = match spawned {
                Ok(c) => c,
                Err(error) => {
                    let step = String::from_utf8_lossy(&read_all(diag_r)).into_owned();
                    return Err(LaunchError {
                        error,
                        step: (!step.is_empty()).then_some(step),
                    });
                }
            };
            let runtime_api = match &net_pair {
                Some((ours, _)) => Some(recv_listener(ours).map_err(|e| LaunchError {
                    error: e,
                    step: Some("receive the Runtime API listener".into()),
                })?),
                None => None,
            };
            drop(net_pair);
            let pid = child.id().unwrap_or_default();
            let peak = Arc::new(AtomicU64::new(0));
            let instance = NsInstance {
                pid: pid as i32,
                peak: peak.clone(),
                cgroup_peak: cgroup.as_ref().and_then(EnvCgroup::peak_file),
            };
            let (exit_tx, exited) = watch::channel(None);
            tokio::spawn(async move {
                let own = child.wait().await;
                let raw = read_all(status_r);
                let status = if raw.len() == std::mem::size_of::<i32>() {
                    use std::os::unix::process::ExitStatusExt;
                    let mut b = [0u8; 4];
                    b.copy_from_slice(&raw);
                    describe_exit(std::process::ExitStatus::from_raw(i32::from_ne_bytes(b)))
                } else {
                    match own {
                        Ok(s) => describe_exit(s),
                        Err(e) => e.to_string(),
                    }
                };
                let mut out_of_memory = false;
                if let Some(c) = cgroup {
                    out_of_memory = c.oom_killed();
                    if let Some(p) = c.peak_file().as_deref().and_then(cgroup::read_peak_mb) {
                        peak.fetch_max(p, Ordering::Relaxed);
                    }
                    let _ = tokio::task::spawn_blocking(move || drop(c)).await;
                }
                exit_tx.send_replace(Some(Exit {
                    status,
                    out_of_memory,
                }));
            });
            Ok(Launched {
                pid,
                exited,
                instance: Box::new(instance),
                runtime_api,
            })
        })
    }
}

impl Namespaces {
    fn remove_cgroups(&self) {
        if let Some(c) = &self.cgroups {
            c.remove();
        }
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        self.remove_cgroups();
    }
}
