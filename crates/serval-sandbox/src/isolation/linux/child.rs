//! The code that runs between fork and exec. The forked child is the first
//! process of a new PID namespace (the spawner thread unshared it) and
//! becomes the environment's init: it joins the environment's cgroups,
//! makes its own mount/IPC/UTS (and optionally network) namespaces, builds
//! the read-only root and pivots into it, then forks the runtime. The
//! runtime drops to an unprivileged user without capabilities, sets
//! `no_new_privs`, installs the seccomp filter and returns to be exec'd.
//! Init stays behind to reap orphans, forward SIGTERM, and report the
//! runtime's wait status through a pipe before it exits (which kills
//! whatever is left in the namespace).
//!
//! Everything here runs in a child of a multi-threaded process, so it may
//! only make system calls: every path and buffer is prepared in [`Plan`]
//! before the fork, nothing allocates.

#![allow(unsafe_code)]

use libc::{c_char, c_int, sock_filter};
use std::ffi::CString;
use std::io;
use std::os::fd::RawFd;

/// One filesystem step, with absolute host paths under the new root.
pub(crate) enum Op {
    /// mkdir with mode.
    Mkdir(CString, libc::mode_t),
    /// symlink(target, link).
    Symlink(CString, CString),
    /// An empty file to bind a device node onto.
    Touch(CString),
    /// Bind mount `src` onto `dst`, read-only unless `writable`.
    Bind {
        src: CString,
        dst: CString,
        writable: bool,
    },
    /// A tmpfs with mount data (size, mode).
    Tmpfs {
        dst: CString,
        data: CString,
        flags: libc::c_ulong,
    },
    /// procfs of the new PID namespace.
    Proc(CString),
}

/// Private network: the listener for the Runtime API is made inside it.
pub(crate) struct Net {
    /// One end of a socketpair; the listener's fd is sent through it.
    pub sock: RawFd,
    /// Port on 127.0.0.1 inside the namespace.
    pub port: u16,
}

/// An address range `[start, end)` of this process's memory.
pub(crate) type Area = (usize, usize);

/// Everything the child needs, prepared before the fork.
pub(crate) struct Plan {
    pub cgroup_procs: Vec<RawFd>,
    pub hostname: CString,
    pub root: CString,
    pub ops: Vec<Op>,
    pub workdir: CString,
    pub uid: libc::uid_t,
    pub gid: libc::gid_t,
    pub cap_last: c_int,
    pub open_files: u64,
    pub filter: Vec<sock_filter>,
    /// Write end: init writes the runtime's wait status here (4 bytes).
    pub status_fd: RawFd,
    /// Write end: the name of a failing step.
    pub diag_fd: RawFd,
    pub net: Option<Net>,
    /// Serval's argv and environ areas (`/proc/self/stat`), which init
    /// (a fork of Serval) blanks so `/proc/1/cmdline` shows `/init`.
    pub argv_area: Option<Area>,
    pub env_area: Option<Area>,
}

const DOT: &[u8] = b".\0";
const SLASH: &[u8] = b"/\0";
const PROC_OOM_ADJ: &[u8] = b"/proc/self/oom_score_adj\0";

fn cstr(b: &'static [u8]) -> *const c_char {
    b.as_ptr().cast()
}

/// Records which step failed and returns the OS error.
fn fail(plan: &Plan, what: &str) -> io::Error {
    let err = io::Error::last_os_error();
    // SAFETY: write(2) from a valid buffer; the result is irrelevant.
    unsafe {
        libc::write(plan.diag_fd, what.as_ptr().cast(), what.len());
    }
    err
}

fn check(plan: &Plan, rc: c_int, what: &str) -> io::Result<()> {
    if rc < 0 {
        Err(fail(plan, what))
    } else {
        Ok(())
    }
}

/// Runs in the forked child. Returns `Ok` only in the runtime process,
/// which std then execs; init never returns.
pub(crate) fn run(plan: &Plan) -> io::Result<()> {
    // SAFETY (whole function): every call below is a plain system call on
    // buffers owned by `plan` or on the stack; no allocation, no locks.
    unsafe {
        check(
            plan,
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL),
            "set parent-death signal",
        )?;
        for fd in &plan.cgroup_procs {
            if libc::write(*fd, b"0".as_ptr().cast(), 1) != 1 {
                return Err(fail(plan, "join cgroup"));
            }
        }
        let mut flags = libc::CLONE_NEWNS | libc::CLONE_NEWIPC | libc::CLONE_NEWUTS;
        if plan.net.is_some() {
            flags |= libc::CLONE_NEWNET;
        }
        check(plan, libc::unshare(flags), "unshare namespaces")?;
        check(
            plan,
            libc::sethostname(plan.hostname.as_ptr(), plan.hostname.as_bytes().len()),
            "set hostname",
        )?;
        if let Some(net) = &plan.net {
            private_network(plan, net)?;
        }
        check(
            plan,
            libc::mount(
                std::ptr::null(),
                cstr(SLASH),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ),
            "make mounts private",
        )?;
        for op in &plan.ops {
            apply(plan, op)?;
        }
        check(plan, libc::chdir(plan.root.as_ptr()), "chdir new root")?;
        check(
            plan,
            libc::syscall(libc::SYS_pivot_root, cstr(DOT), cstr(DOT)) as c_int,
            "pivot_root",
        )?;
        check(
            plan,
            libc::umount2(cstr(DOT), libc::MNT_DETACH),
            "detach old root",
        )?;
        check(plan, libc::chdir(cstr(SLASH)), "chdir /")?;
        check(
            plan,
            libc::mount(
                std::ptr::null(),
                cstr(SLASH),
                std::ptr::null(),
                libc::MS_REMOUNT
                    | libc::MS_BIND
                    | libc::MS_RDONLY
                    | libc::MS_NOSUID
                    | libc::MS_NODEV,
                std::ptr::null(),
            ),
            "make root read-only",
        )?;
        check(plan, libc::chdir(plan.workdir.as_ptr()), "chdir /var/task")?;
        let files = libc::rlimit {
            rlim_cur: plan.open_files,
            rlim_max: plan.open_files,
        };
        check(
            plan,
            libc::setrlimit(libc::RLIMIT_NOFILE, &files),
            "limit open files",
        )?;
        let core = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        check(
            plan,
            libc::setrlimit(libc::RLIMIT_CORE, &core),
            "disable core dumps",
        )?;

        let runtime = libc::fork();
        if runtime < 0 {
            return Err(fail(plan, "fork runtime"));
        }
        if runtime == 0 {
            drop_privileges(plan)?;
            // Cleared by the uid change; the runtime dies with init.
            check(
                plan,
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL),
                "set parent-death signal",
            )?;
            // Keep /proc/self readable by the function itself.
            libc::prctl(libc::PR_SET_DUMPABLE, 1);
            if crate::isolation::seccomp::install(&plan.filter).is_err() {
                return Err(fail(plan, "install seccomp filter"));
            }
            return Ok(());
        }
        be_init(plan, runtime)
    }
}

/// Init's life: never returns.
unsafe fn be_init(plan: &Plan, runtime: libc::pid_t) -> ! {
    // SAFETY: system calls only, as in `run`.
    unsafe {
        // The OOM killer must pick the runtime, not init (a fork of Serval
        // whose mapped size dwarfs a small function's).
        let fd = libc::open(cstr(PROC_OOM_ADJ), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd >= 0 {
            libc::write(fd, b"-1000".as_ptr().cast(), 5);
            libc::close(fd);
        }
        // Init is a fork of Serval: blank Serval's command line and
        // environment in its copy of memory, and rename it.
        if let Some((start, end)) = plan.env_area {
            std::ptr::write_bytes(start as *mut u8, 0, end - start);
        }
        if let Some((start, end)) = plan.argv_area {
            std::ptr::write_bytes(start as *mut u8, 0, end - start);
            let name = b"/init";
            if end - start > name.len() {
                std::ptr::copy_nonoverlapping(name.as_ptr(), start as *mut u8, name.len());
            }
        }
        libc::prctl(libc::PR_SET_NAME, c"init".as_ptr());
        let _ = drop_privileges(plan);
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        // Close everything but the status pipe: std's exec-error pipe (so
        // the spawning thread sees the runtime's exec), the output pipe (so
        // the log reader sees EOF with the runtime) and the rest.
        close_all_but(plan.status_fd);
        let handler: extern "C" fn(c_int) = forward_term;
        libc::signal(libc::SIGTERM, handler as libc::sighandler_t);
        let mut status: c_int = 0;
        loop {
            let pid = libc::waitpid(-1, &mut status, 0);
            if pid == runtime {
                break;
            }
            if pid < 0 && *libc::__errno_location() != libc::EINTR {
                // ECHILD: nothing left to wait for.
                status = 0;
                break;
            }
        }
        libc::write(
            plan.status_fd,
            (&status as *const c_int).cast(),
            std::mem::size_of::<c_int>(),
        );
        // Init's exit kills every process left in the namespace.
        libc::_exit(0)
    }
}

extern "C" fn forward_term(_: c_int) {
    // SAFETY: kill(2) is async-signal-safe. From a namespace's init, pid -1
    // means every other process of the namespace.
    unsafe {
        libc::kill(-1, libc::SIGTERM);
    }
}

unsafe fn close_all_but(keep: RawFd) {
    // SAFETY: close_range/close on descriptors this process owns.
    unsafe {
        let keep = keep as libc::c_uint;
        let ok = (keep == 0 || libc::syscall(libc::SYS_close_range, 0u32, keep - 1, 0u32) == 0)
            && libc::syscall(libc::SYS_close_range, keep + 1, u32::MAX, 0u32) == 0;
        if !ok {
            for fd in 0..4096 {
                if fd != keep as c_int {
                    libc::close(fd);
                }
            }
        }
    }
}

unsafe fn drop_privileges(plan: &Plan) -> io::Result<()> {
    // SAFETY: prctl/setgroups/setresgid/setresuid with plain arguments.
    unsafe {
        for cap in 0..=plan.cap_last {
            // EINVAL for capabilities this kernel does not know is harmless.
            libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0);
        }
        check(
            plan,
            libc::setgroups(0, std::ptr::null()),
            "drop supplementary groups",
        )?;
        check(
            plan,
            libc::setresgid(plan.gid, plan.gid, plan.gid),
            "set gid",
        )?;
        // From root to a non-zero uid the kernel clears the permitted,
        // effective and ambient capability sets.
        check(
            plan,
            libc::setresuid(plan.uid, plan.uid, plan.uid),
            "set uid",
        )?;
        check(
            plan,
            libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0),
            "set no_new_privs",
        )
    }
}

unsafe fn apply(plan: &Plan, op: &Op) -> io::Result<()> {
    let null = std::ptr::null::<c_char>();
    // SAFETY: system calls on NUL-terminated strings owned by `plan`.
    unsafe {
        match op {
            Op::Mkdir(p, mode) => {
                if libc::mkdir(p.as_ptr(), *mode) < 0 && *libc::__errno_location() != libc::EEXIST {
                    return Err(fail(plan, "mkdir in new root"));
                }
                // The umask must not narrow directories the function traverses.
                check(plan, libc::chmod(p.as_ptr(), *mode), "chmod in new root")
            }
            Op::Symlink(target, link) => check(
                plan,
                libc::symlink(target.as_ptr(), link.as_ptr()),
                "symlink in new root",
            ),
            Op::Touch(p) => {
                let fd = libc::open(
                    p.as_ptr(),
                    libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
                    0o644,
                );
                if fd < 0 {
                    return Err(fail(plan, "create mount point"));
                }
                libc::close(fd);
                Ok(())
            }
            Op::Bind { src, dst, writable } => {
                check(
                    plan,
                    libc::mount(
                        src.as_ptr(),
                        dst.as_ptr(),
                        null,
                        libc::MS_BIND | libc::MS_REC,
                        null.cast(),
                    ),
                    "bind mount",
                )?;
                if *writable {
                    return Ok(());
                }
                check(
                    plan,
                    libc::mount(
                        null,
                        dst.as_ptr(),
                        null,
                        libc::MS_BIND
                            | libc::MS_REMOUNT
                            | libc::MS_RDONLY
                            | libc::MS_NOSUID
                            | libc::MS_NODEV,
                        null.cast(),
                    ),
                    "make bind mount read-only",
                )
            }
            Op::Tmpfs { dst, data, flags } => check(
                plan,
                libc::mount(
                    c"tmpfs".as_ptr(),
                    dst.as_ptr(),
                    c"tmpfs".as_ptr(),
                    *flags,
                    data.as_ptr().cast(),
                ),
                "mount tmpfs",
            ),
            Op::Proc(dst) => check(
                plan,
                libc::mount(
                    c"proc".as_ptr(),
                    dst.as_ptr(),
                    c"proc".as_ptr(),
                    libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                    null.cast(),
                ),
                "mount /proc",
            ),
        }
    }
}

/// Brings up loopback in the new network namespace, listens on
/// 127.0.0.1:port there and sends the listener to Serval.
unsafe fn private_network(plan: &Plan, net: &Net) -> io::Result<()> {
    // SAFETY: socket/ioctl/bind/listen/sendmsg on stack buffers.
    unsafe {
        let s = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if s < 0 {
            return Err(fail(plan, "socket for loopback"));
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        req.ifr_name[0] = b'l' as c_char;
        req.ifr_name[1] = b'o' as c_char;
        check(
            plan,
            libc::ioctl(s, libc::SIOCGIFFLAGS, &mut req),
            "read loopback flags",
        )?;
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        check(
            plan,
            libc::ioctl(s, libc::SIOCSIFFLAGS, &req),
            "bring loopback up",
        )?;
        libc::close(s);

        let l = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if l < 0 {
            return Err(fail(plan, "socket for the Runtime API"));
        }
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_port = net.port.to_be();
        addr.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
        check(
            plan,
            libc::bind(
                l,
                (&addr as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            ),
            "bind the Runtime API",
        )?;
        check(plan, libc::listen(l, 128), "listen on the Runtime API")?;

        // One SCM_RIGHTS message carrying `l`.
        #[repr(C, align(8))]
        struct Cmsg([u8; 64]);
        let mut buf = Cmsg([0; 64]);
        let mut byte = [0u8; 1];
        let mut iov = libc::iovec {
            iov_base: byte.as_mut_ptr().cast(),
            iov_len: 1,
        };
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = buf.0.as_mut_ptr().cast();
        msg.msg_controllen = libc::CMSG_SPACE(std::mem::size_of::<c_int>() as u32) as _;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<c_int>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<c_int>(), l);
        if libc::sendmsg(net.sock, &msg, 0) < 0 {
            return Err(fail(plan, "send the Runtime API listener"));
        }
        libc::close(l);
        Ok(())
    }
}
