//! Per-environment cgroups on either hierarchy. Serval makes one directory
//! `serval-<pid>` under its own cgroup (in each v1 controller it uses, or in
//! the v2 tree) and one child per environment with the memory limit, the
//! CPU weight and the process limit. Directories of Serval processes that
//! died are swept at start.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Processes and threads an environment may have (Lambda: 1,024).
pub(crate) const PIDS_MAX: u32 = 1024;
/// Memory at which a function gets one full vCPU (Lambda: 1,769 MB).
const MB_PER_VCPU: u64 = 1769;

#[derive(Debug)]
enum Tree {
    /// v1: a base directory per controller.
    V1 {
        memory: PathBuf,
        cpu: Option<PathBuf>,
        pids: Option<PathBuf>,
    },
    /// v2: one base directory with the controllers enabled below it.
    V2 {
        base: PathBuf,
        cpu: bool,
        pids: bool,
    },
}

/// Serval's cgroup base directories.
#[derive(Debug)]
pub(crate) struct Cgroups {
    tree: Tree,
}

/// One environment's cgroup(s).
pub(crate) struct EnvCgroup {
    dirs: Vec<PathBuf>,
    /// Opened `cgroup.procs` files the child writes `0` into to join.
    pub(crate) procs: Vec<OwnedFd>,
    peak: Option<Arc<File>>,
    /// v1 `memory.oom_control` or v2 `memory.events`.
    events: PathBuf,
    /// `memory.limit_in_bytes` or `memory.max`.
    memory_limit: PathBuf,
    /// `cpu.shares` or `cpu.weight`.
    cpu: Option<PathBuf>,
    v2: bool,
}

fn mountinfo() -> Vec<(PathBuf, String, String)> {
    // (mount point, fs type, super options)
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let mount = left.split(' ').nth(4)?;
            let mut r = right.split(' ');
            let fstype = r.next()?.to_string();
            let _source = r.next();
            let opts = r.next().unwrap_or("").to_string();
            Some((PathBuf::from(unescape(mount)), fstype, opts))
        })
        .collect()
}

fn unescape(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// Own cgroup path per hierarchy: (controllers, path).
fn own_cgroups() -> Vec<(String, String)> {
    let text = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let _id = parts.next()?;
            let ctrls = parts.next()?.to_string();
            let path = parts.next()?.to_string();
            Some((ctrls, path))
        })
        .collect()
}

fn join(mount: &Path, cg: &str) -> PathBuf {
    mount.join(cg.trim_start_matches('/'))
}

fn v1_base(name: &str) -> Option<PathBuf> {
    let mount = mountinfo()
        .into_iter()
        .find(|(_, t, o)| t == "cgroup" && o.split(',').any(|x| x == name))?
        .0;
    let own = own_cgroups()
        .into_iter()
        .find(|(c, _)| c.split(',').any(|x| x == name))?
        .1;
    Some(join(&mount, &own))
}

fn instance_dir() -> String {
    format!("serval-{}", std::process::id())
}

impl Cgroups {
    /// Finds the hierarchy, sweeps dead instances' directories and creates
    /// this instance's. Errors say why cgroups cannot be used.
    pub(crate) fn create() -> Result<Cgroups, String> {
        let mounts = mountinfo();
        let v1_memory = mounts
            .iter()
            .any(|(_, t, o)| t == "cgroup" && o.split(',').any(|x| x == "memory"));
        let tree = if v1_memory {
            let memory = v1_base("memory").ok_or("memory cgroup path not found")?;
            let mk = |base: PathBuf| -> Result<PathBuf, String> {
                sweep(&base);
                let dir = base.join(instance_dir());
                fs::create_dir_all(&dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                Ok(dir)
            };
            Tree::V1 {
                memory: mk(memory)?,
                cpu: v1_base("cpu").and_then(|b| mk(b).ok()),
                pids: v1_base("pids").and_then(|b| mk(b).ok()),
            }
        } else {
            let mount = mounts
                .iter()
                .find(|(_, t, _)| t == "cgroup2")
                .map(|m| m.0.clone())
                .ok_or("no cgroup filesystem is mounted")?;
            let own = own_cgroups()
                .into_iter()
                .find(|(c, _)| c.is_empty())
                .map(|(_, p)| p)
                .ok_or("own cgroup2 path not found")?;
            let own_dir = join(&mount, &own);
            sweep(&own_dir);
            let available = fs::read_to_string(own_dir.join("cgroup.controllers"))
                .map_err(|e| format!("cannot read cgroup.controllers: {e}"))?;
            if !available.split_whitespace().any(|c| c == "memory") {
                return Err(format!(
                    "the memory controller is not delegated to {}",
                    own_dir.display()
                ));
            }
            let cpu = available.split_whitespace().any(|c| c == "cpu");
            let pids = available.split_whitespace().any(|c| c == "pids");
            let wanted: String = ["memory", "cpu", "pids"]
                .iter()
                .filter(|c| available.split_whitespace().any(|a| a == **c))
                .map(|c| format!("+{c} "))
                .collect();
            let base = own_dir.join(instance_dir());
            fs::create_dir_all(&base)
                .map_err(|e| format!("cannot create {}: {e}", base.display()))?;
            // Controllers must be enabled in every ancestor's subtree. A
            // cgroup with processes cannot enable them ("no internal
            // processes"), so Serval moves itself into a leaf first.
            if write(&own_dir.join("cgroup.subtree_control"), wanted.trim()).is_err() {
                let leaf = own_dir.join(format!("{}-main", instance_dir()));
                fs::create_dir_all(&leaf).map_err(|e| e.to_string())?;
                write(&leaf.join("cgroup.procs"), &std::process::id().to_string())
                    .map_err(|e| format!("cannot move Serval into {}: {e}", leaf.display()))?;
                write(&own_dir.join("cgroup.subtree_control"), wanted.trim()).map_err(|e| {
                    format!("cannot enable controllers in {}: {e}", own_dir.display())
                })?;
            }
            write(&base.join("cgroup.subtree_control"), wanted.trim())
                .map_err(|e| format!("cannot enable controllers in {}: {e}", base.display()))?;
            Tree::V2 { base, cpu, pids }
        };
        // One environment may have PIDS_MAX tasks; all of them together
        // must leave the host room to work.
        let host_max = ["/proc/sys/kernel/pid_max", "/proc/sys/kernel/threads-max"]
            .iter()
            .filter_map(|f| fs::read_to_string(f).ok()?.trim().parse::<u64>().ok())
            .min()
            .unwrap_or(32768);
        let total = (host_max * 3 / 4).max(u64::from(PIDS_MAX));
        match &tree {
            Tree::V1 { pids: Some(p), .. } => {
                let _ = write(&p.join("pids.max"), &total.to_string());
            }
            Tree::V2 {
                base, pids: true, ..
            } => {
                let _ = write(&base.join("pids.max"), &total.to_string());
            }
            _ => {}
        }
        Ok(Cgroups { tree })
    }

    /// `v1` or `v2`, and where.
    pub(crate) fn describe(&self) -> String {
        match &self.tree {
            Tree::V1 { memory, .. } => format!("v1, under {}", memory.display()),
            Tree::V2 { base, .. } => format!("v2, under {}", base.display()),
        }
    }

    /// Whether CPU weights and process limits are enforced.
    pub(crate) fn has_cpu_and_pids(&self) -> (bool, bool) {
        match &self.tree {
            Tree::V1 { cpu, pids, .. } => (cpu.is_some(), pids.is_some()),
            Tree::V2 { cpu, pids, .. } => (*cpu, *pids),
        }
    }

    /// Creates an environment's cgroup (limits come with [`EnvCgroup::set_limits`]).
    pub(crate) fn create_env(&self, id: &str) -> io::Result<EnvCgroup> {
        let mut env = EnvCgroup {
            dirs: Vec::new(),
            procs: Vec::new(),
            peak: None,
            events: PathBuf::new(),
            memory_limit: PathBuf::new(),
            cpu: None,
            v2: false,
        };
        // On failure `env` is dropped, which removes what was made.
        match &self.tree {
            Tree::V1 { memory, cpu, pids } => {
                let m = env.mkdir(memory, id)?;
                // Swap would let a function exceed its memory silently.
                let _ = write(&m.join("memory.swappiness"), "0");
                env.peak = File::open(m.join("memory.max_usage_in_bytes"))
                    .ok()
                    .map(Arc::new);
                env.events = m.join("memory.oom_control");
                env.memory_limit = m.join("memory.limit_in_bytes");
                if let Some(cpu) = cpu {
                    env.cpu = Some(env.mkdir(cpu, id)?.join("cpu.shares"));
                }
                if let Some(pids) = pids {
                    let p = env.mkdir(pids, id)?;
                    write(&p.join("pids.max"), &PIDS_MAX.to_string())?;
                }
            }
            Tree::V2 { base, cpu, pids } => {
                env.v2 = true;
                let d = env.mkdir(base, id)?;
                let _ = write(&d.join("memory.swap.max"), "0");
                env.peak = File::open(d.join("memory.peak"))
                    .or_else(|_| File::open(d.join("memory.current")))
                    .ok()
                    .map(Arc::new);
                env.events = d.join("memory.events");
                env.memory_limit = d.join("memory.max");
                if *cpu {
                    env.cpu = Some(d.join("cpu.weight"));
                }
                if *pids {
                    write(&d.join("pids.max"), &PIDS_MAX.to_string())?;
                }
            }
        }
        Ok(env)
    }

    /// Removes this instance's base directories (at shutdown).
    pub(crate) fn remove(&self) {
        let bases: Vec<&PathBuf> = match &self.tree {
            Tree::V1 { memory, cpu, pids } => std::iter::once(memory)
                .chain(cpu.iter())
                .chain(pids.iter())
                .collect(),
            Tree::V2 { base, .. } => vec![base],
        };
        for b in bases {
            remove_tree(b);
        }
    }
}

impl EnvCgroup {
    fn mkdir(&mut self, base: &Path, id: &str) -> io::Result<PathBuf> {
        let dir = base.join(id);
        fs::create_dir(&dir)?;
        self.dirs.push(dir.clone());
        let procs = OpenOptions::new()
            .write(true)
            .open(dir.join("cgroup.procs"))?;
        self.procs.push(procs.into());
        Ok(dir)
    }

    /// Sets the memory limit and the CPU weight for `memory_mb`.
    pub(crate) fn set_limits(&self, memory_mb: u32) -> io::Result<()> {
        let mb = u64::from(memory_mb);
        write(&self.memory_limit, &(mb * 1024 * 1024).to_string())?;
        if let Some(cpu) = &self.cpu {
            let weight = if self.v2 {
                (mb * 100 / MB_PER_VCPU).clamp(1, 10_000)
            } else {
                (mb * 1024 / MB_PER_VCPU).max(2)
            };
            write(cpu, &weight.to_string())?;
        }
        Ok(())
    }

    /// The open peak-memory file, readable after the cgroup is gone.
    pub(crate) fn peak_file(&self) -> Option<Arc<File>> {
        self.peak.clone()
    }

    /// True when the kernel's OOM killer killed a process of this cgroup.
    pub(crate) fn oom_killed(&self) -> bool {
        fs::read_to_string(&self.events)
            .map(|t| {
                t.lines().any(|l| {
                    l.strip_prefix("oom_kill ")
                        .and_then(|n| n.trim().parse::<u64>().ok())
                        .is_some_and(|n| n > 0)
                })
            })
            .unwrap_or(false)
    }

    /// Closes the join handles (the child has its own copies).
    pub(crate) fn close_procs(&mut self) {
        self.procs.clear();
    }
}

impl Drop for EnvCgroup {
    fn drop(&mut self) {
        self.procs.clear();
        for d in self.dirs.drain(..) {
            rmdir_retry(&d);
        }
    }
}

/// Peak memory in MB from a cgroup's peak file.
pub(crate) fn read_peak_mb(f: &File) -> Option<u64> {
    let mut buf = [0u8; 32];
    let n = f.read_at(&mut buf, 0).ok()?;
    let bytes: u64 = std::str::from_utf8(&buf[..n]).ok()?.trim().parse().ok()?;
    Some(bytes.div_ceil(1024 * 1024))
}

fn write(path: &Path, value: &str) -> io::Result<()> {
    let mut f = OpenOptions::new().write(true).open(path)?;
    f.write_all(value.as_bytes())
}

/// rmdir fails with EBUSY while the last processes are still exiting.
fn rmdir_retry(d: &Path) {
    for i in 0..50 {
        match fs::remove_dir(d) {
            Ok(()) => return,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return,
            Err(_) => std::thread::sleep(Duration::from_millis(if i < 10 { 1 } else { 20 })),
        }
    }
    tracing::warn!("could not remove cgroup {}", d.display());
}

/// Removes a `serval-<pid>` directory and its environments' directories,
/// waiting briefly for processes that are still exiting.
fn remove_tree(dir: &Path) {
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                rmdir_retry(&e.path());
            }
        }
    }
    let _ = fs::remove_dir(dir);
}

/// Removes `serval-<pid>` directories of Serval processes that are gone.
fn sweep(base: &Path) {
    let Ok(rd) = fs::read_dir(base) else { return };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("serval-") else {
            continue;
        };
        let pid = pid.trim_end_matches("-main");
        if pid.parse::<u32>().is_ok() && !Path::new(&format!("/proc/{pid}")).exists() {
            remove_tree(&e.path());
        }
    }
}
