//! The namespaces backend (Linux, as root). See [`child`] for what happens
//! in the forked processes and [`cgroup`] for the limits.
//!
//! Environments start from zygotes: processes forked ahead of need, each
//! already the init of its own PID namespace (the spawner thread unshares
//! one before every fork), already in its own cgroups and mount/IPC/UTS
//! namespaces. Joining a cgroup costs the kernel an RCU grace period
//! (milliseconds), so a small pool of zygotes is kept ready and a launch
//! only sends one the function's plan.

#![allow(unsafe_code)]

mod cgroup;
mod child;
mod fds;
mod root;
mod tmpdisk;
mod uids;

use super::{
    describe_exit, seccomp, Exit, Instance, IsolationConfig, IsolationReport, LaunchError,
    LaunchFuture, LaunchSpec, Launched, NetworkMode, Peer, Sandbox, OPEN_FILES, RUNTIME_ROOT,
};
use cgroup::{Cgroups, EnvCgroup};
use child::{Area, Fixed, MAX_PLAN, MAX_VECTOR};
use fds::{cpath, pipe, read_all, recv_listener, send_fd_with};
use root::{SystemEntry, Tmp, SYSTEM_DIRS};
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use tmpdisk::{TmpDisk, TmpDisks};
use tokio::sync::{oneshot, watch};
use uids::{Uids, FIRST_UID};

/// Where the code appears, as on Lambda.
pub(super) const TASK_ROOT: &str = "/var/task";
/// The Runtime API inside a private network, as on Lambda.
const PRIVATE_API_PORT: u16 = 9001;
/// Zygotes kept ready.
const SPARE_ZYGOTES: usize = 2;

/// A spawn to run on the spawner thread, given its own PID namespace fd.
type Job = Box<dyn FnOnce(RawFd) + Send>;

/// A forked zygote waiting for its plan.
struct Zygote {
    child: tokio::process::Child,
    uid: u32,
    control: OwnedFd,
    cgroup: Option<EnvCgroup>,
    status_r: OwnedFd,
    diag_r: OwnedFd,
    exec_r: OwnedFd,
    /// A disk-backed /tmp made ahead (default EphemeralStorage).
    tmp: Option<TmpDisk>,
}

/// EphemeralStorage most functions have: spares get a /tmp of this size.
const DEFAULT_TMP_MB: u32 = 512;

struct Inner {
    /// Disk-backed /tmp images, where the host has loop devices.
    tmpdisks: Option<TmpDisks>,
    /// Where a zygote mounts its /tmp ahead (in its own mount namespace).
    stage: PathBuf,
    cgroups: Option<Cgroups>,
    root: PathBuf,
    system: Vec<SystemEntry>,
    network: NetworkMode,
    /// Serval is not root: environments get user namespaces (uid, gid).
    userns: Option<(u32, u32)>,
    cap_last: i32,
    /// Serval's argv and environ memory (see `child::Fixed`).
    areas: (Option<Area>, Option<Area>),
    spawner: Mutex<mpsc::Sender<Job>>,
    next_id: AtomicU64,
    spares: Mutex<std::collections::VecDeque<Zygote>>,
    uids: Mutex<Uids>,
    /// Zygotes being made for the pool.
    refilling: AtomicUsize,
}

pub(crate) struct Namespaces {
    report: IsolationReport,
    inner: Arc<Inner>,
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
        // Not root: a user namespace of its own per environment, where the
        // host allows unprivileged ones.
        // SAFETY: geteuid/getegid have no preconditions.
        let userns = (unsafe { libc::geteuid() } != 0)
            .then(|| unsafe { (libc::geteuid(), libc::getegid()) });
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
        let make =
            |cgroups: Option<Cgroups>, report: IsolationReport| -> Result<Namespaces, String> {
                let spawner = start_spawner(tokio::runtime::Handle::current())
                    .map_err(|e| format!("cannot start the spawner thread: {e}"))?;
                let inner = Arc::new(Inner {
                    stage: {
                        let stage = config.state_dir.join("stage");
                        let _ = std::fs::create_dir_all(&stage);
                        stage
                    },
                    tmpdisks: if userns.is_none() {
                        TmpDisks::probe(&config.state_dir).ok()
                    } else {
                        None
                    },
                    cgroups,
                    root: root.clone(),
                    system: system.clone(),
                    network: config.network,
                    userns,
                    cap_last,
                    areas: argv_env_areas(),
                    spawner: Mutex::new(spawner),
                    next_id: AtomicU64::new(0),
                    spares: Mutex::new(std::collections::VecDeque::new()),
                    uids: Mutex::new(Uids::lease()),
                    refilling: AtomicUsize::new(0),
                });
                Ok(Namespaces { report, inner })
            };
        let with_cgroups = cgroups.is_some();
        let mut ns = make(cgroups, report.clone())?;
        if let Err(e) = ns.trial(&config.state_dir).await {
            if !with_cgroups {
                return Err(e);
            }
            // Namespaces without limits beat no isolation at all.
            drop(ns);
            report.warnings.push(format!(
                "a sandbox with cgroups failed ({e}): memory, CPU and process limits are not enforced"
            ));
            ns = make(None, report)?;
            ns.trial(&config.state_dir).await?;
        }
        ns.fill_report();
        Inner::refill(&ns.inner);
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
        if self.inner.userns.is_some() {
            r.set(
                "user",
                true,
                "a user namespace per environment (Serval's own user, as uid 0 inside, without capabilities); the Runtime API serves only the environment's processes",
            );
        } else {
            r.set(
                "user",
                true,
                format!(
                    "a user of its own per environment (uid and gid from {FIRST_UID}), no groups; the Runtime API serves only that user"
                ),
            );
        }
        r.set(
            "pid_namespace",
            true,
            "own PID namespace; its init reaps orphans",
        );
        r.set(
            "mount_namespace",
            true,
            if self.inner.tmpdisks.is_some() {
                "read-only root: code at /var/task, system dirs; /tmp a private disk (ext4 on a loop device) of EphemeralStorage size"
            } else {
                "read-only root: code at /var/task, system dirs; /tmp a private tmpfs of EphemeralStorage size (counts towards memory: no loop devices or mkfs.ext4 here)"
            },
        );
        r.set("ipc_namespace", true, "own");
        r.set("uts_namespace", true, "own hostname");
        match self.inner.network {
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
        match &self.inner.cgroups {
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
        // SAFETY: landlock_create_ruleset with the VERSION flag only reads
        // the kernel's ABI number.
        let abi = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                std::ptr::null::<u8>(),
                0usize,
                1u32, // LANDLOCK_CREATE_RULESET_VERSION
            )
        };
        if abi >= 6 {
            r.set(
                "landlock_scope",
                true,
                "no abstract unix sockets or signals across environments",
            );
        } else {
            r.set(
                "landlock_scope",
                false,
                format!("the kernel's Landlock ABI is {abi} (scoping needs 6, Linux 6.12): environments can meet on abstract unix sockets"),
            );
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
}

impl Inner {
    /// Forks a zygote (fast: the slow cgroup join happens in the zygote).
    async fn fork_zygote(self: &Arc<Self>) -> Result<Zygote, LaunchError> {
        let id = format!("env-{}", self.next_id.fetch_add(1, Ordering::Relaxed));
        // mkdir in a cgroup tree waits for the cgroup lock, which another
        // zygote may hold for a grace period: not on a runtime thread.
        let this = self.clone();
        let (cgroup, tmp) = tokio::task::spawn_blocking(move || {
            let tmp = this
                .tmpdisks
                .as_ref()
                .and_then(|d| d.make(&id, DEFAULT_TMP_MB).ok());
            (
                this.cgroups.as_ref().map(|c| c.create_env(&id)).transpose(),
                tmp,
            )
        })
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
        let cgroup = cgroup.map_err(|e| LaunchError {
            error: e,
            step: Some("create cgroup".into()),
        })?;
        let (status_r, status_w) = pipe(false)?;
        let (diag_r, diag_w) = pipe(true)?;
        let (exec_r, exec_w) = pipe(false)?;
        let (ours, theirs) = std::os::unix::net::UnixStream::pair()?;
        let uid = self
            .uids
            .lock()
            .map_err(|_| std::io::Error::other("uid lock poisoned"))?
            .take()?;
        let mut fixed = Fixed {
            cgroup_procs: cgroup
                .as_ref()
                .map(|c| c.procs.iter().map(|f| f.as_raw_fd()).collect())
                .unwrap_or_default(),
            control: theirs.as_raw_fd(),
            status_fd: status_w.as_raw_fd(),
            diag_fd: diag_w.as_raw_fd(),
            exec_fd: exec_w.as_raw_fd(),
            net_port: (self.network == NetworkMode::None).then_some(PRIVATE_API_PORT),
            userns: self.userns,
            uid,
            gid: uid,
            cap_last: self.cap_last,
            open_files: OPEN_FILES,
            filter: seccomp::program(),
            argv_area: self.areas.0,
            env_area: self.areas.1,
            tmp: match &tmp {
                Some(t) => Some((cpath(&t.device)?, cpath(&self.stage)?)),
                None => None,
            },
            buf: Vec::with_capacity(MAX_PLAN),
            vector: Vec::with_capacity(MAX_VECTOR),
        };
        // The program is never exec'd by std: the zygote never returns.
        let mut cmd = tokio::process::Command::new("/bin/true");
        cmd.env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        // SAFETY: `child::zygote` only makes system calls and writes into
        // the buffers `fixed` preallocated (see its module docs).
        unsafe {
            cmd.pre_exec(move || child::zygote(&mut fixed));
        }
        let (tx, rx) = oneshot::channel();
        let userns = self.userns.is_some();
        let job: Job = Box::new(move |own_ns: RawFd| {
            if userns {
                // The zygote makes its user and PID namespaces itself.
                let _ = tx.send(cmd.spawn());
                return;
            }
            // SAFETY: unshare(CLONE_NEWPID) only changes the namespace this
            // thread's next child is created in; setns returns to the
            // thread's own afterwards (a thread may unshare a PID namespace
            // only while its children's namespace is its own).
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
        let child = rx
            .await
            .map_err(|_| std::io::Error::other("the spawner thread dropped a job"))??;
        drop((status_w, diag_w, exec_w, theirs));
        let mut cgroup = cgroup;
        if let Some(c) = cgroup.as_mut() {
            c.close_procs();
        }
        Ok(Zygote {
            tmp,
            child,
            uid,
            control: ours.into(),
            cgroup,
            status_r,
            diag_r,
            exec_r,
        })
    }

    /// A ready zygote, or a new one.
    async fn take(self: &Arc<Self>) -> Result<Zygote, LaunchError> {
        loop {
            // Oldest first: a spare holds the host's mounts as they were
            // when it was forked.
            let spare = self.spares.lock().ok().and_then(|mut s| s.pop_front());
            match spare {
                Some(mut z) => {
                    if matches!(z.child.try_wait(), Ok(None)) {
                        Inner::refill_later(self);
                        return Ok(z);
                    }
                    retire(self, z.child, z.cgroup, z.uid, false);
                }
                None => {
                    Inner::refill(self);
                    return self.fork_zygote().await;
                }
            }
        }
    }

    /// Tops the pool up once the cold start that took a spare is under way
    /// (a new spare's mkfs and cgroup join would compete with it).
    fn refill_later(this: &Arc<Self>) {
        let inner = this.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            Inner::refill(&inner);
        });
    }

    /// Tops the pool up in the background.
    fn refill(this: &Arc<Self>) {
        let have = this.spares.lock().map(|s| s.len()).unwrap_or(0);
        let making = this.refilling.load(Ordering::Relaxed);
        if have + making >= SPARE_ZYGOTES {
            return;
        }
        this.refilling.fetch_add(1, Ordering::Relaxed);
        let inner = this.clone();
        tokio::spawn(async move {
            let made = inner.fork_zygote().await;
            inner.refilling.fetch_sub(1, Ordering::Relaxed);
            match made {
                Ok(z) => {
                    if let Ok(mut s) = inner.spares.lock() {
                        s.push_back(z);
                    }
                    Inner::refill(&inner);
                }
                Err(e) => tracing::warn!("could not prepare an environment: {e}"),
            }
        });
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

struct NsInstance {
    pid: i32,
    pidfd: Option<OwnedFd>,
    /// `pid` is a relay in front of init (user-namespace mode).
    relay: bool,
    peak: Arc<AtomicU64>,
    cgroup_peak: Option<Arc<File>>,
}

impl NsInstance {
    fn signal(&self, sig: i32) {
        // SAFETY: pidfd_send_signal on our pidfd (ESRCH once the process is
        // gone); kill(2) only where the kernel has no pidfds.
        unsafe {
            match &self.pidfd {
                Some(fd) => {
                    libc::syscall(
                        libc::SYS_pidfd_send_signal,
                        fd.as_raw_fd(),
                        sig,
                        std::ptr::null::<libc::siginfo_t>(),
                        0u32,
                    );
                }
                None => {
                    libc::kill(self.pid, sig);
                }
            }
        }
    }
}

impl Instance for NsInstance {
    fn terminate(&self) {
        // Init (or the relay) forwards SIGTERM to every process of the
        // namespace.
        self.signal(libc::SIGTERM);
    }

    fn kill(&self) {
        // Init's death kills the whole namespace. A relay kills init on
        // SIGUSR1, so that init is reaped by its parent.
        self.signal(if self.relay {
            libc::SIGUSR1
        } else {
            libc::SIGKILL
        });
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
        (self.inner.network == NetworkMode::None)
            .then(|| SocketAddr::from((Ipv4Addr::LOCALHOST, PRIVATE_API_PORT)))
    }

    fn shutdown(&self) {
        let spares: Vec<Zygote> = self
            .inner
            .spares
            .lock()
            .map(|mut s| s.drain(..).collect())
            .unwrap_or_default();
        for mut z in spares {
            // A spare exits when its control socket closes (and a relay
            // with it); reap it so its cgroup can go. Kill it if it lingers.
            let Zygote {
                ref mut child,
                control,
                ref mut cgroup,
                ..
            } = z;
            drop(control);
            if let Some(pid) = child.id() {
                for i in 0..100 {
                    // SAFETY: waitpid on our own child.
                    let r =
                        unsafe { libc::waitpid(pid as i32, std::ptr::null_mut(), libc::WNOHANG) };
                    if r != 0 {
                        break;
                    }
                    if i == 50 {
                        let _ = child.start_kill();
                    }
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
            }
            drop(cgroup.take());
        }
        if let Some(c) = &self.inner.cgroups {
            c.remove();
        }
    }

    fn launch(&self, spec: LaunchSpec) -> LaunchFuture<'_> {
        Box::pin(async move {
            let inner = &self.inner;
            let mut z = inner.take().await?;
            // A /tmp of the function's size: the spare's (mounted ahead),
            // or a new image mounted now.
            let mut premounted = z.tmp.is_some();
            if inner.tmpdisks.is_some()
                && z.tmp.as_ref().map(|t| t.size_mb) != Some(spec.ephemeral_mb)
            {
                premounted = false;
                let this = inner.clone();
                let (name, size) = (format!("tmp-{}", z.uid), spec.ephemeral_mb);
                z.tmp = tokio::task::spawn_blocking(move || {
                    this.tmpdisks
                        .as_ref()
                        .and_then(|d| d.make(&name, size).ok())
                })
                .await
                .ok()
                .flatten();
            }
            let tmp = match &z.tmp {
                Some(_) if premounted => Tmp::Staged(&inner.stage),
                Some(t) => Tmp::Disk(&t.device),
                None => Tmp::Memory,
            };
            let plan = root::plan(&inner.root, &inner.system, &spec, tmp).into_message();
            if let Some(Err(error)) = z.cgroup.as_ref().map(|c| c.set_limits(spec.memory_mb)) {
                retire(inner, z.child, z.cgroup, z.uid, true);
                return Err(LaunchError {
                    error,
                    step: Some("set cgroup limits".into()),
                });
            }
            let runtime_api = if inner.network == NetworkMode::None {
                match recv_listener(&z.control) {
                    Ok(l) => Some(l),
                    Err(error) => {
                        retire(inner, z.child, z.cgroup, z.uid, true);
                        return Err(LaunchError {
                            error,
                            step: Some("receive the Runtime API listener".into()),
                        });
                    }
                }
            } else {
                None
            };
            let control = z.control.as_raw_fd();
            let output = spec.output;
            let sent = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                let mut done = send_fd_with(control, &plan, output.as_raw_fd())?;
                drop(output);
                while done < plan.len() {
                    // SAFETY: write(2) from the plan buffer.
                    let n = unsafe {
                        libc::write(control, plan[done..].as_ptr().cast(), plan.len() - done)
                    };
                    if n <= 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    done += n as usize;
                }
                Ok(())
            })
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?;
            let Zygote {
                child,
                uid,
                control,
                cgroup,
                status_r,
                diag_r,
                exec_r,
                tmp,
            } = z;
            let mut child = child;
            let exec = tokio::task::spawn_blocking(move || read_all(exec_r))
                .await
                .unwrap_or_default();
            drop(control);
            if let Err(error) = sent {
                retire(inner, child, cgroup, uid, true);
                return Err(LaunchError {
                    error,
                    step: Some("send the plan".into()),
                });
            }
            if exec.len() >= 4 {
                let errno = i32::from_ne_bytes([exec[0], exec[1], exec[2], exec[3]]);
                let step = String::from_utf8_lossy(&read_all(diag_r)).into_owned();
                retire(inner, child, cgroup, uid, true);
                let error = std::io::Error::from_raw_os_error(errno);
                // A missing or unrunnable program is the function's error.
                let step = (step != "exec").then_some(step);
                return Err(LaunchError { error, step });
            }
            let pid = child.id().unwrap_or_default();
            // Signals go through a pidfd: never to a pid reused after the
            // environment was reaped.
            // SAFETY: pidfd_open on our own unreaped child; the fd is ours.
            let pidfd = unsafe {
                let fd = libc::syscall(libc::SYS_pidfd_open, pid as i32, 0u32);
                (fd >= 0).then(|| OwnedFd::from_raw_fd(fd as RawFd))
            };
            let peak = Arc::new(AtomicU64::new(0));
            let instance = NsInstance {
                pid: pid as i32,
                pidfd,
                relay: inner.userns.is_some(),
                peak: peak.clone(),
                cgroup_peak: cgroup.as_ref().and_then(EnvCgroup::peak_file),
            };
            let (exit_tx, exited) = watch::channel(None);
            let inner2 = inner.clone();
            tokio::spawn(async move {
                let own = child.wait().await;
                if let Ok(mut u) = inner2.uids.lock() {
                    u.release(uid);
                }
                let raw = read_all(status_r);
                let status = if raw.len() == std::mem::size_of::<i32>() {
                    use std::os::unix::process::ExitStatusExt;
                    let b = [raw[0], raw[1], raw[2], raw[3]];
                    describe_exit(std::process::ExitStatus::from_raw(i32::from_ne_bytes(b)))
                } else {
                    match own {
                        Ok(s) => describe_exit(s),
                        Err(e) => e.to_string(),
                    }
                };
                let mut out_of_memory = false;
                if let Some(c) = &cgroup {
                    out_of_memory = c.oom_killed();
                    if let Some(p) = c.peak_file().as_deref().and_then(cgroup::read_peak_mb) {
                        peak.fetch_max(p, Ordering::Relaxed);
                    }
                }
                let _ = tokio::task::spawn_blocking(move || drop((cgroup, tmp))).await;
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
                peer: Some(if inner.userns.is_some() {
                    Peer::Descendant(pid)
                } else {
                    Peer::Uid(uid)
                }),
            })
        })
    }
}

/// Ends a zygote that will not be used and, once it is gone, removes its
/// cgroup and frees its uid. `kill`: it may still be running.
fn retire(
    inner: &Arc<Inner>,
    mut child: tokio::process::Child,
    cgroup: Option<EnvCgroup>,
    uid: u32,
    kill: bool,
) {
    if kill {
        let _ = child.start_kill();
    }
    let inner = inner.clone();
    tokio::spawn(async move {
        let _ = child.wait().await;
        if let Some(c) = cgroup {
            let _ = tokio::task::spawn_blocking(move || drop(c)).await;
        }
        if let Ok(mut u) = inner.uids.lock() {
            u.release(uid);
        }
    });
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        self.shutdown();
    }
}
