//! The filesystem a function sees, as a plan for its zygote: a tmpfs root
//! with the host's system directories read-only, the code at /var/task,
//! Serval's runtime files at /var/runtime, /tmp, a minimal /dev and /proc.

use super::child::Plan;
use super::TASK_ROOT;
use crate::isolation::{LaunchSpec, RUNTIME_ROOT};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Host directories shown read-only (or as the symlinks they are).
pub(super) const SYSTEM_DIRS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/nix",
];
/// Device nodes a function may use.
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom"];

/// A system directory as found on the host at start.
#[derive(Clone)]
pub(super) enum SystemEntry {
    Dir(PathBuf),
    Link(PathBuf, PathBuf),
}

/// Where an environment's /tmp comes from.
pub(super) enum Tmp<'a> {
    /// The zygote mounted its disk at this staging point ahead.
    Staged(&'a Path),
    /// A disk (loop device) to mount now.
    Disk(&'a Path),
    /// A tmpfs (no loop devices on this host).
    Memory,
}

/// The function-specific part of a launch, for the zygote: the root
/// built on `root` from `system`, then the program.
pub(super) fn plan(
    root: &Path,
    system: &[SystemEntry],
    spec: &LaunchSpec,
    tmp_disk: Tmp<'_>,
) -> Plan {
    let under = |p: &Path| -> Vec<u8> {
        root.join(p.strip_prefix("/").unwrap_or(p))
            .into_os_string()
            .into_encoded_bytes()
    };
    let b = |p: &Path| p.as_os_str().as_bytes().to_vec();
    let mut plan = Plan::default();
    plan.hostname(hostname().as_bytes());
    plan.tmpfs(
        &b(root),
        b"mode=0755,size=1m,nr_inodes=4096",
        libc::MS_NOSUID | libc::MS_NODEV,
    );
    let mut made: Vec<PathBuf> = vec![PathBuf::from("/")];
    let mut mkdirs = |plan: &mut Plan, p: &Path, mode: u32| {
        let mut chain: Vec<&Path> = p.ancestors().collect();
        chain.reverse();
        for a in chain {
            if !made.iter().any(|m| m == a) {
                plan.mkdir(&under(a), if a == p { mode } else { 0o755 });
                made.push(a.to_path_buf());
            }
        }
    };
    let mut bound: Vec<PathBuf> = Vec::new();
    for e in system {
        match e {
            SystemEntry::Dir(p) => {
                mkdirs(&mut plan, p, 0o755);
                plan.bind(&b(p), &under(p), false);
                bound.push(p.clone());
            }
            SystemEntry::Link(p, target) => plan.symlink(&b(target), &under(p)),
        }
    }
    for p in &spec.ro_paths {
        let p = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
        let reserved = ["/opt", "/tmp", "/proc", "/dev", TASK_ROOT, RUNTIME_ROOT];
        if !p.is_absolute()
            || reserved.iter().any(|r| p.starts_with(r))
            || p == Path::new("/")
            || bound.iter().any(|x| p.starts_with(x))
            || !p.exists()
        {
            continue;
        }
        if p.is_dir() {
            mkdirs(&mut plan, &p, 0o755);
        } else {
            if let Some(parent) = p.parent() {
                mkdirs(&mut plan, parent, 0o755);
            }
            plan.touch(&under(&p));
        }
        plan.bind(&b(&p), &under(&p), false);
        bound.push(p);
    }
    let task = Path::new(TASK_ROOT);
    mkdirs(&mut plan, task, 0o755);
    plan.bind(&b(&spec.code_dir), &under(task), false);
    let runtime = Path::new(RUNTIME_ROOT);
    if spec.runtime_dir.is_dir() {
        mkdirs(&mut plan, runtime, 0o755);
        plan.bind(&b(&spec.runtime_dir), &under(runtime), false);
    }
    mkdirs(&mut plan, Path::new("/opt"), 0o755);
    let tmp = Path::new("/tmp");
    mkdirs(&mut plan, tmp, 0o1777);
    match tmp_disk {
        Tmp::Staged(stage) => plan.move_mount(&b(stage), &under(tmp)),
        Tmp::Disk(dev) => plan.ext4(&b(dev), &under(tmp)),
        Tmp::Memory => plan.tmpfs(
            &under(tmp),
            format!("mode=1777,size={}m", spec.ephemeral_mb).as_bytes(),
            libc::MS_NOSUID | libc::MS_NODEV,
        ),
    }
    let dev = Path::new("/dev");
    mkdirs(&mut plan, dev, 0o755);
    plan.tmpfs(
        &under(dev),
        b"mode=0755,size=64k,nr_inodes=64",
        libc::MS_NOSUID | libc::MS_NOEXEC,
    );
    for d in DEVICES {
        let host = dev.join(d);
        if host.exists() {
            plan.touch(&under(&host));
            plan.bind(&b(&host), &under(&host), true);
        }
    }
    for (link, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        plan.symlink(target.as_bytes(), &under(&dev.join(link)));
    }
    let proc_dir = Path::new("/proc");
    mkdirs(&mut plan, proc_dir, 0o555);
    plan.proc(&under(proc_dir));
    plan.pivot(&b(root), TASK_ROOT.as_bytes());
    plan.program(&b(&spec.program));
    plan.arg(&b(&spec.program));
    for a in &spec.args {
        plan.arg(a.as_bytes());
    }
    for (k, v) in &spec.env {
        plan.env(format!("{k}={v}").as_bytes());
    }
    plan
}

/// A hostname like Lambda's (an address that always resolves).
fn hostname() -> String {
    let r = serval_core::ids::random_hex(4);
    let n = u32::from_str_radix(&r, 16).unwrap_or(0);
    format!("169.254.{}.{}", (n >> 8) & 0xff, (n & 0xff).max(1))
}
