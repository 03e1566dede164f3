//! The code that runs in a forked child of Serval: the zygote, which becomes
//! an environment's init, and the runtime it forks.
//!
//! A zygote is forked ahead of need (the spawner thread has unshared a PID
//! namespace, so the zygote is that namespace's first process). It closes
//! what it inherited (so the spawning thread returns at once), joins its
//! cgroups (the slow part: the kernel waits for an RCU grace period, several
//! milliseconds, which is why this happens before a function needs it),
//! unshares its mount/IPC/UTS (and optionally network) namespaces, and waits
//! on its control socket. A launch sends it the function's plan (paths,
//! program, arguments, environment) and the output pipe; the zygote builds
//! the read-only root, pivots into it and forks the runtime, which drops to
//! an unprivileged user without capabilities, sets `no_new_privs`, installs
//! the seccomp filter and execs. The zygote stays behind as init: it reaps
//! orphans, forwards SIGTERM, reports the runtime's wait status and exits
//! with it, which kills whatever is left in the namespace.
//!
//! Everything here runs in a child of a multi-threaded process, so it only
//! makes system calls and writes into buffers allocated before the fork.
//!
//! The plan is a sequence of NUL-terminated fields: a one-letter tag, then
//! that tag's arguments (see [`Plan`]).

#![allow(unsafe_code)]

use libc::{c_char, c_int, sock_filter};
use std::os::fd::RawFd;

/// The largest plan a zygote accepts (paths, arguments, environment).
pub(crate) const MAX_PLAN: usize = 256 * 1024;
/// The most arguments plus environment variables.
pub(crate) const MAX_VECTOR: usize = 4096;

/// Builds a plan message.
#[derive(Default)]
pub(crate) struct Plan {
    buf: Vec<u8>,
}

impl Plan {
    fn field(&mut self, f: &[u8]) {
        self.buf.extend(f.iter().copied().filter(|b| *b != 0));
        self.buf.push(0);
    }
    fn op(&mut self, tag: &[u8], args: &[&[u8]]) {
        self.field(tag);
        for a in args {
            self.field(a);
        }
    }
    /// Hostname of the UTS namespace.
    pub fn hostname(&mut self, h: &[u8]) {
        self.op(b"H", &[h]);
    }
    /// mkdir with mode.
    pub fn mkdir(&mut self, path: &[u8], mode: u32) {
        self.op(b"m", &[path, mode.to_string().as_bytes()]);
    }
    /// symlink(target, link).
    pub fn symlink(&mut self, target: &[u8], link: &[u8]) {
        self.op(b"s", &[target, link]);
    }
    /// An empty file to bind a device node onto.
    pub fn touch(&mut self, path: &[u8]) {
        self.op(b"t", &[path]);
    }
    /// Bind mount, read-only unless `writable`.
    pub fn bind(&mut self, src: &[u8], dst: &[u8], writable: bool) {
        self.op(if writable { b"w" } else { b"b" }, &[src, dst]);
    }
    /// A tmpfs with mount data and flags.
    pub fn tmpfs(&mut self, dst: &[u8], data: &[u8], flags: libc::c_ulong) {
        self.op(b"f", &[dst, data, flags.to_string().as_bytes()]);
    }
    /// An ext4 filesystem on `device` at `dst`, world-writable with the
    /// sticky bit, without `lost+found`.
    pub fn ext4(&mut self, device: &[u8], dst: &[u8]) {
        let mut lost = dst.to_vec();
        lost.extend_from_slice(b"/lost+found");
        self.op(b"x", &[device, dst, &lost]);
    }
    /// Moves the mount at `from` (the zygote's pre-mounted /tmp) to `dst`.
    pub fn move_mount(&mut self, from: &[u8], dst: &[u8]) {
        self.op(b"v", &[from, dst]);
    }
    /// procfs of the PID namespace.
    pub fn proc(&mut self, dst: &[u8]) {
        self.op(b"p", &[dst]);
    }
    /// Pivot into `root`, make it read-only, and change to `workdir`.
    pub fn pivot(&mut self, root: &[u8], workdir: &[u8]) {
        self.op(b"P", &[root, workdir]);
    }
    /// The program to exec.
    pub fn program(&mut self, p: &[u8]) {
        self.op(b"X", &[p]);
    }
    /// One argument (argv[0] first).
    pub fn arg(&mut self, a: &[u8]) {
        self.op(b"a", &[a]);
    }
    /// One `NAME=value`.
    pub fn env(&mut self, kv: &[u8]) {
        self.op(b"e", &[kv]);
    }
    /// The encoded message: length, then fields.
    pub fn into_message(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.buf.len() + 4);
        out.extend((self.buf.len() as u32).to_ne_bytes());
        out.extend(self.buf);
        out
    }
}

/// What a zygote knows when it is forked, and its preallocated buffers.
pub(crate) struct Fixed {
    pub cgroup_procs: Vec<RawFd>,
    /// Zygote's end of the control socket (plan and output fd arrive here).
    pub control: RawFd,
    /// Init -> Serval: the runtime's wait status (4 bytes).
    pub status_fd: RawFd,
    /// Name of a failing step.
    pub diag_fd: RawFd,
    /// EOF when the runtime exec'd; 4 bytes of errno when anything failed.
    pub exec_fd: RawFd,
    /// Private network: listen for the Runtime API on 127.0.0.1:port there
    /// and send the listener over the control socket.
    pub net_port: Option<u16>,
    /// Serval is not root: make a user namespace first (Serval's uid and
    /// gid become 0 inside), then the PID namespace, whose init is a child
    /// of this process (which stays outside as a relay).
    pub userns: Option<(libc::uid_t, libc::gid_t)>,
    pub uid: libc::uid_t,
    pub gid: libc::gid_t,
    pub cap_last: c_int,
    pub open_files: u64,
    pub filter: Vec<sock_filter>,
    /// A /tmp disk to mount ahead: (loop device, staging mount point).
    pub tmp: Option<(std::ffi::CString, std::ffi::CString)>,
    /// Serval's argv and environ areas, blanked in init's copy of memory.
    pub argv_area: Option<Area>,
    pub env_area: Option<Area>,
    /// Receives the plan (capacity [`MAX_PLAN`]).
    pub buf: Vec<u8>,
    /// argv and envp pointers (capacity [`MAX_VECTOR`]).
    pub vector: Vec<usize>,
}

/// An address range `[start, end)` of this process's memory.
pub(crate) type Area = (usize, usize);

const DOT: &[u8] = b".\0";
const SLASH: &[u8] = b"/\0";

fn cstr(b: &'static [u8]) -> *const c_char {
    b.as_ptr().cast()
}

fn errno() -> c_int {
    // SAFETY: reading the thread's errno.
    unsafe { *libc::__errno_location() }
}

/// Reports a failed step (name to `diag_fd`, errno to `exec_fd`) and exits.
fn die(f: &Fixed, what: &str) -> ! {
    let e = errno();
    // SAFETY: writes from valid buffers, then _exit.
    unsafe {
        libc::write(f.diag_fd, what.as_ptr().cast(), what.len());
        libc::write(f.exec_fd, (&e as *const c_int).cast(), 4);
        libc::_exit(1)
    }
}

fn check(f: &Fixed, rc: c_int, what: &str) {
    if rc < 0 {
        die(f, what);
    }
}

/// The zygote's life, from fork to init's exit. Never returns.
pub(crate) fn zygote(f: &mut Fixed) -> ! {
    // SAFETY (whole function): system calls on buffers owned by `f` or on
    // the stack; no allocation, no locks.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        // A session of its own: no controlling terminal a function could
        // inject keystrokes into (TIOCSTI), no signals from Serval's.
        libc::setsid();
        // Close everything inherited but our own descriptors and stdio;
        // closing std's exec-error pipe lets the spawning thread go on.
        let mut keep = [-1; 24];
        let mut n = 0;
        for fd in [f.control, f.status_fd, f.diag_fd, f.exec_fd]
            .into_iter()
            .chain(f.cgroup_procs.iter().copied())
        {
            if n < keep.len() {
                keep[n] = fd;
                n += 1;
            }
        }
        close_except(&mut keep[..n]);
        for fd in &f.cgroup_procs {
            if libc::write(*fd, b"0".as_ptr().cast(), 1) != 1 {
                die(f, "join cgroup");
            }
            libc::close(*fd);
        }
        let mut flags = libc::CLONE_NEWNS | libc::CLONE_NEWIPC | libc::CLONE_NEWUTS;
        if f.net_port.is_some() {
            flags |= libc::CLONE_NEWNET;
        }
        if let Some((uid, gid)) = f.userns {
            enter_user_namespace(f, uid, gid);
            check(
                f,
                libc::unshare(flags | libc::CLONE_NEWPID),
                "unshare namespaces",
            );
            let init = libc::fork();
            if init < 0 {
                die(f, "fork init");
            }
            if init > 0 {
                be_relay(init);
            }
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        } else {
            check(f, libc::unshare(flags), "unshare namespaces");
        }
        if let Some(port) = f.net_port {
            private_network(f, port);
        }
        check(
            f,
            libc::mount(
                std::ptr::null(),
                cstr(SLASH),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ),
            "make mounts private",
        );
        if let Some((device, stage)) = &f.tmp {
            // The spare's /tmp, mounted ahead (an ext4 mount costs
            // milliseconds); a launch moves it into place.
            mount_ext4(f, device.as_ptr(), stage.as_ptr());
        }
        let output = receive_plan(f);
        let program = apply_plan(f);
        check(f, libc::dup2(output, 1), "attach output");
        check(f, libc::dup2(output, 2), "attach output");
        libc::close(output);
        let files = libc::rlimit {
            rlim_cur: f.open_files,
            rlim_max: f.open_files,
        };
        check(
            f,
            libc::setrlimit(libc::RLIMIT_NOFILE, &files),
            "limit open files",
        );
        let core = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        check(
            f,
            libc::setrlimit(libc::RLIMIT_CORE, &core),
            "disable core dumps",
        );

        let runtime = libc::fork();
        if runtime < 0 {
            die(f, "fork runtime");
        }
        if runtime == 0 {
            be_runtime(f, program);
        }
        libc::close(f.exec_fd);
        be_init(f, runtime)
    }
}

/// Waits for the plan; returns the output descriptor. Exits quietly when
/// Serval closes the control socket instead (a spare zygote not needed).
unsafe fn receive_plan(f: &mut Fixed) -> RawFd {
    // SAFETY: recvmsg/read into `f.buf`'s spare capacity and stack buffers.
    unsafe {
        #[repr(C, align(8))]
        struct Cmsg([u8; 64]);
        let mut cbuf = Cmsg([0; 64]);
        let cap = f.buf.capacity();
        let base = f.buf.as_mut_ptr();
        let mut iov = libc::iovec {
            iov_base: base.cast(),
            iov_len: cap,
        };
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.0.as_mut_ptr().cast();
        msg.msg_controllen = cbuf.0.len() as _;
        let got = loop {
            let r = libc::recvmsg(f.control, &mut msg, 0);
            if r < 0 && errno() == libc::EINTR {
                continue;
            }
            break r;
        };
        if got <= 0 {
            libc::_exit(0);
        }
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        if cmsg.is_null() || (*cmsg).cmsg_type != libc::SCM_RIGHTS {
            die(f, "receive output descriptor");
        }
        let output: RawFd = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
        let mut have = got as usize;
        if have < 4 {
            die(f, "receive plan");
        }
        let mut len = [0u8; 4];
        std::ptr::copy_nonoverlapping(base, len.as_mut_ptr(), 4);
        let total = u32::from_ne_bytes(len) as usize + 4;
        if total > cap {
            *libc::__errno_location() = libc::E2BIG;
            die(f, "plan too large");
        }
        while have < total {
            let r = libc::read(f.control, base.add(have).cast(), total - have);
            if r < 0 && errno() == libc::EINTR {
                continue;
            }
            if r <= 0 {
                die(f, "receive plan");
            }
            have += r as usize;
        }
        f.buf.set_len(total);
        output
    }
}

/// Field iterator over the plan (each field keeps its NUL).
struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    fn next_field(&mut self) -> Option<&'a [u8]> {
        let rest = self.buf.get(self.pos..)?;
        let end = rest.iter().position(|b| *b == 0)?;
        self.pos += end + 1;
        Some(&rest[..=end])
    }
}

fn num(field: &[u8]) -> u64 {
    field
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0u64, |n, b| {
            n.wrapping_mul(10).wrapping_add(u64::from(b - b'0'))
        })
}

fn p(field: &[u8]) -> *const c_char {
    field.as_ptr().cast()
}

/// Applies the filesystem steps; fills argv and envp. Returns the program.
unsafe fn apply_plan(f: &mut Fixed) -> *const c_char {
    let null = std::ptr::null::<c_char>();
    let buf: &[u8] = &f.buf[4..];
    // SAFETY: `buf` lives in `f.buf`, which outlives the exec; the pointers
    // stored in `f.vector` point into it.
    let buf: &'static [u8] = unsafe { std::slice::from_raw_parts(buf.as_ptr(), buf.len()) };
    let mut it = Fields { buf, pos: 0 };
    let mut args: [usize; 2] = [0, 0]; // counts: argv, envp
    let mut program = null;
    // argv in vector[0..), envp in vector[MAX_VECTOR/2..)
    let half = MAX_VECTOR / 2;
    let vector = f.vector.as_mut_ptr();
    macro_rules! field {
        () => {
            match it.next_field() {
                Some(x) => x,
                None => die(f, "malformed plan"),
            }
        };
    }
    // SAFETY: system calls on NUL-terminated fields of the plan; writes to
    // `vector` stay within its capacity.
    unsafe {
        while let Some(tag) = it.next_field() {
            match tag {
                b"H\0" => {
                    let h = field!();
                    check(f, libc::sethostname(p(h), h.len() - 1), "set hostname");
                }
                b"m\0" => {
                    let (path, mode) = (field!(), field!());
                    let mode = num(mode) as libc::mode_t;
                    if libc::mkdir(p(path), mode) < 0 && errno() != libc::EEXIST {
                        die(f, "mkdir in new root");
                    }
                    // The umask must not narrow what the function traverses.
                    check(f, libc::chmod(p(path), mode), "chmod in new root");
                }
                b"s\0" => {
                    let (target, link) = (field!(), field!());
                    check(f, libc::symlink(p(target), p(link)), "symlink in new root");
                }
                b"t\0" => {
                    let path = field!();
                    let fd = libc::open(
                        p(path),
                        libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
                        0o644,
                    );
                    if fd < 0 {
                        die(f, "create mount point");
                    }
                    libc::close(fd);
                }
                b"b\0" | b"w\0" => {
                    let (src, dst) = (field!(), field!());
                    check(
                        f,
                        libc::mount(
                            p(src),
                            p(dst),
                            null,
                            libc::MS_BIND | libc::MS_REC,
                            null.cast(),
                        ),
                        "bind mount",
                    );
                    if tag == b"b\0" && !read_only_tree(p(dst)) {
                        // No mount_setattr (Linux < 5.12): the top mount only.
                        check(
                            f,
                            libc::mount(
                                null,
                                p(dst),
                                null,
                                libc::MS_BIND
                                    | libc::MS_REMOUNT
                                    | libc::MS_RDONLY
                                    | libc::MS_NOSUID
                                    | libc::MS_NODEV,
                                null.cast(),
                            ),
                            "make bind mount read-only",
                        );
                    }
                }
                b"f\0" => {
                    let (dst, data, flags) = (field!(), field!(), field!());
                    check(
                        f,
                        libc::mount(
                            c"tmpfs".as_ptr(),
                            p(dst),
                            c"tmpfs".as_ptr(),
                            num(flags) as libc::c_ulong,
                            p(data).cast(),
                        ),
                        "mount tmpfs",
                    );
                }
                b"x\0" => {
                    let (device, dst, _lost) = (field!(), field!(), field!());
                    mount_ext4(f, p(device), p(dst));
                }
                b"v\0" => {
                    let (from, dst) = (field!(), field!());
                    check(
                        f,
                        libc::mount(p(from), p(dst), null, libc::MS_MOVE, null.cast()),
                        "move /tmp into place",
                    );
                }
                b"p\0" => {
                    let dst = field!();
                    check(
                        f,
                        libc::mount(
                            c"proc".as_ptr(),
                            p(dst),
                            c"proc".as_ptr(),
                            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                            null.cast(),
                        ),
                        "mount /proc",
                    );
                }
                b"P\0" => {
                    let (root, workdir) = (field!(), field!());
                    check(f, libc::chdir(p(root)), "chdir new root");
                    check(
                        f,
                        libc::syscall(libc::SYS_pivot_root, cstr(DOT), cstr(DOT)) as c_int,
                        "pivot_root",
                    );
                    check(
                        f,
                        libc::umount2(cstr(DOT), libc::MNT_DETACH),
                        "detach old root",
                    );
                    check(f, libc::chdir(cstr(SLASH)), "chdir /");
                    check(
                        f,
                        libc::mount(
                            null,
                            cstr(SLASH),
                            null,
                            libc::MS_REMOUNT
                                | libc::MS_BIND
                                | libc::MS_RDONLY
                                | libc::MS_NOSUID
                                | libc::MS_NODEV,
                            null.cast(),
                        ),
                        "make root read-only",
                    );
                    check(f, libc::chdir(p(workdir)), "chdir /var/task");
                }
                b"X\0" => program = p(field!()),
                b"a\0" | b"e\0" => {
                    let v = field!();
                    let k = usize::from(tag == b"e\0");
                    if args[k] + 1 >= half {
                        *libc::__errno_location() = libc::E2BIG;
                        die(f, "too many arguments or variables");
                    }
                    *vector.add(k * half + args[k]) = v.as_ptr() as usize;
                    args[k] += 1;
                }
                _ => die(f, "malformed plan"),
            }
        }
        *vector.add(args[0]) = 0;
        *vector.add(half + args[1]) = 0;
    }
    if program.is_null() {
        die(f, "no program in plan");
    }
    program
}

/// Makes the mount at `dst` and every mount below it read-only, nosuid and
/// nodev (a writable filesystem mounted under /usr on the host must not be
/// writable inside). False when the kernel lacks mount_setattr.
unsafe fn read_only_tree(dst: *const c_char) -> bool {
    #[repr(C)]
    struct MountAttr {
        attr_set: u64,
        attr_clr: u64,
        propagation: u64,
        userns_fd: u64,
    }
    let attr = MountAttr {
        attr_set: 0x1 | 0x2 | 0x4, // MOUNT_ATTR_RDONLY | NOSUID | NODEV
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: mount_setattr on a NUL-terminated path with a valid struct.
    unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            dst,
            0x8000u32, // AT_RECURSIVE
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        ) == 0
    }
}

/// Confines the process with Landlock scoping where the kernel has it
/// (ABI 6, Linux 6.12): no connecting to abstract unix sockets and no
/// signalling outside its own Landlock domain, so environments cannot pass
/// each other descriptors or signals. Silently absent on older kernels.
unsafe fn landlock_scope() {
    #[repr(C)]
    struct RulesetAttr {
        handled_access_fs: u64,
        handled_access_net: u64,
        scoped: u64,
    }
    let attr = RulesetAttr {
        handled_access_fs: 0,
        handled_access_net: 0,
        scoped: 0x1 | 0x2, // LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL
    };
    // SAFETY: landlock syscalls with a valid struct; the ruleset fd is ours.
    unsafe {
        let fd = libc::syscall(
            libc::SYS_landlock_create_ruleset,
            &attr as *const RulesetAttr,
            std::mem::size_of::<RulesetAttr>(),
            0u32,
        );
        if fd >= 0 {
            libc::syscall(libc::SYS_landlock_restrict_self, fd as c_int, 0u32);
            libc::close(fd as c_int);
        }
    }
}

/// Mounts the ext4 on `device` at `dst`: world-writable with the sticky bit,
/// without `lost+found`, no background zeroing of inode tables.
unsafe fn mount_ext4(f: &Fixed, device: *const c_char, dst: *const c_char) {
    // SAFETY: mount/chmod/rmdir on NUL-terminated paths; the lost+found
    // path is built in a stack buffer.
    unsafe {
        check(
            f,
            libc::mount(
                device,
                dst,
                c"ext4".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV,
                c"noinit_itable".as_ptr().cast(),
            ),
            "mount /tmp",
        );
        check(f, libc::chmod(dst, 0o1777), "chmod /tmp");
        let mut buf = [0u8; 4096];
        let len = libc::strlen(dst);
        let tail = b"/lost+found\0";
        if len + tail.len() <= buf.len() {
            std::ptr::copy_nonoverlapping(dst.cast::<u8>(), buf.as_mut_ptr(), len);
            buf[len..len + tail.len()].copy_from_slice(tail);
            libc::rmdir(buf.as_ptr().cast());
        }
    }
}

/// The runtime process: drop privileges and exec. Never returns.
unsafe fn be_runtime(f: &Fixed, program: *const c_char) -> ! {
    // SAFETY: system calls; argv/envp were filled by `apply_plan`.
    unsafe {
        drop_privileges(f);
        // Cleared by the uid change; the runtime dies with init.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        // Keep /proc/self readable by the function itself.
        libc::prctl(libc::PR_SET_DUMPABLE, 1);
        landlock_scope();
        if crate::isolation::seccomp::install(&f.filter).is_err() {
            die(f, "install seccomp filter");
        }
        let argv = f.vector.as_ptr() as *const *const c_char;
        let envp = argv.add(MAX_VECTOR / 2);
        libc::execve(program, argv, envp);
        die(f, "exec")
    }
}

/// Init's life: never returns.
unsafe fn be_init(f: &Fixed, runtime: libc::pid_t) -> ! {
    // SAFETY: system calls and writes into this process's own copy of
    // Serval's argv/environ memory.
    unsafe {
        // Init is a fork of Serval: nothing in the namespace may read its
        // memory (/proc/1/mem), whatever user it runs as.
        libc::prctl(libc::PR_SET_DUMPABLE, 0);
        // The OOM killer must pick the runtime, not init (a fork of Serval
        // whose mapped size dwarfs a small function's).
        let fd = libc::open(
            c"/proc/self/oom_score_adj".as_ptr(),
            libc::O_WRONLY | libc::O_CLOEXEC,
        );
        if fd >= 0 {
            libc::write(fd, b"-1000".as_ptr().cast(), 5);
            libc::close(fd);
        }
        // Init is a fork of Serval: blank Serval's command line and
        // environment in its copy of memory, and rename it.
        if let Some((start, end)) = f.env_area {
            std::ptr::write_bytes(start as *mut u8, 0, end - start);
        }
        if let Some((start, end)) = f.argv_area {
            std::ptr::write_bytes(start as *mut u8, 0, end - start);
            let name = b"/init";
            if end - start > name.len() {
                std::ptr::copy_nonoverlapping(name.as_ptr(), start as *mut u8, name.len());
            }
        }
        libc::prctl(libc::PR_SET_NAME, c"init".as_ptr());
        drop_privileges(f);
        // Changing credentials may reset it; make sure.
        libc::prctl(libc::PR_SET_DUMPABLE, 0);
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        let mut keep = [f.status_fd];
        close_except(&mut keep);
        let handler: extern "C" fn(c_int) = forward_term;
        libc::signal(libc::SIGTERM, handler as libc::sighandler_t);
        let mut status: c_int = 0;
        loop {
            let pid = libc::waitpid(-1, &mut status, 0);
            if pid == runtime {
                break;
            }
            if pid < 0 && errno() != libc::EINTR {
                // ECHILD: nothing left to wait for.
                status = 0;
                break;
            }
        }
        libc::write(
            f.status_fd,
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

/// Closes every descriptor from 3 up except those in `keep` (sorted here).
unsafe fn close_except(keep: &mut [RawFd]) {
    keep.sort_unstable();
    let mut from: libc::c_uint = 3;
    // SAFETY: close_range/close on descriptors this process owns.
    unsafe {
        let range = |a: libc::c_uint, b: libc::c_uint| {
            if a <= b && libc::syscall(libc::SYS_close_range, a, b, 0u32) != 0 {
                for fd in a..=b.min(4095) {
                    libc::close(fd as c_int);
                }
            }
        };
        for &k in keep.iter() {
            let Ok(k) = libc::c_uint::try_from(k) else {
                continue;
            };
            if k >= from {
                if k > from {
                    range(from, k - 1);
                }
                from = k + 1;
            }
        }
        range(from, libc::c_uint::MAX);
    }
}

unsafe fn drop_privileges(f: &Fixed) {
    // SAFETY: prctl/setgroups/setresgid/setresuid/capset with plain arguments.
    unsafe {
        for cap in 0..=f.cap_last {
            // EINVAL for capabilities this kernel does not know is harmless.
            libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0);
        }
        if f.userns.is_some() {
            // Only Serval's own uid is mapped (as 0): stay uid 0 of the user
            // namespace, but never hold or regain a capability: securebits
            // locked against root's exec rules, all sets cleared.
            const SECBITS: libc::c_ulong = 0x01 | 0x02 | 0x04 | 0x08 | 0x20; // NOROOT(+LOCKED), NO_SETUID_FIXUP(+LOCKED), KEEP_CAPS_LOCKED
            check(
                f,
                libc::prctl(libc::PR_SET_SECUREBITS, SECBITS, 0, 0, 0),
                "lock securebits",
            );
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_CLEAR_ALL,
                0,
                0,
                0,
            );
            let header = CapHeader {
                version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3
                pid: 0,
            };
            let data = [CapData::default(); 2];
            check(
                f,
                libc::syscall(libc::SYS_capset, &header as *const CapHeader, data.as_ptr())
                    as c_int,
                "drop capabilities",
            );
        } else {
            check(
                f,
                libc::setgroups(0, std::ptr::null()),
                "drop supplementary groups",
            );
            check(f, libc::setresgid(f.gid, f.gid, f.gid), "set gid");
            // From root to a non-zero uid the kernel clears the permitted,
            // effective and ambient capability sets.
            check(f, libc::setresuid(f.uid, f.uid, f.uid), "set uid");
        }
        check(
            f,
            libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0),
            "set no_new_privs",
        );
    }
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Writes `text` to a /proc file.
unsafe fn write_file(f: &Fixed, path: &std::ffi::CStr, text: &[u8], what: &str) {
    // SAFETY: open/write/close on a NUL-terminated path and a valid buffer.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 || libc::write(fd, text.as_ptr().cast(), text.len()) != text.len() as isize {
            die(f, what);
        }
        libc::close(fd);
    }
}

/// `0 <id> 1\n` into `buf`; returns the length.
fn id_map(buf: &mut [u8; 32], id: u32) -> usize {
    let mut digits = [0u8; 10];
    let mut n = 0;
    let mut v = id;
    loop {
        digits[n] = b'0' + (v % 10) as u8;
        n += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf[0] = b'0';
    buf[1] = b' ';
    let mut len = 2;
    for i in (0..n).rev() {
        buf[len] = digits[i];
        len += 1;
    }
    buf[len..len + 3].copy_from_slice(b" 1\n");
    len + 3
}

/// Makes a user namespace in which Serval's uid and gid are 0.
unsafe fn enter_user_namespace(f: &Fixed, uid: libc::uid_t, gid: libc::gid_t) {
    // SAFETY: unshare and writes to this process's own /proc files.
    unsafe {
        check(
            f,
            libc::unshare(libc::CLONE_NEWUSER),
            "unshare user namespace",
        );
        write_file(f, c"/proc/self/setgroups", b"deny", "deny setgroups");
        let mut buf = [0u8; 32];
        let n = id_map(&mut buf, gid);
        write_file(f, c"/proc/self/gid_map", &buf[..n], "map gid");
        let n = id_map(&mut buf, uid);
        write_file(f, c"/proc/self/uid_map", &buf[..n], "map uid");
    }
}

/// The init the relay forwards SIGTERM to.
static RELAY_TARGET: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// SIGTERM is forwarded; SIGUSR1 asks the relay to kill init (Serval's
/// "kill the environment": killing the relay itself would leave init to the
/// host's init to reap).
extern "C" fn relay_signal(sig: c_int) {
    let pid = RELAY_TARGET.load(std::sync::atomic::Ordering::Relaxed);
    let forward = if sig == libc::SIGUSR1 {
        libc::SIGKILL
    } else {
        sig
    };
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe.
        unsafe {
            libc::kill(pid, forward);
        }
    }
}

/// Outside the PID namespace, between Serval and the namespace's init: holds
/// nothing, forwards SIGTERM, kills init on SIGUSR1, exits when init does
/// (and init dies if it dies).
unsafe fn be_relay(init: libc::pid_t) -> ! {
    // SAFETY: system calls only.
    unsafe {
        close_except(&mut []);
        RELAY_TARGET.store(init, std::sync::atomic::Ordering::Relaxed);
        let handler: extern "C" fn(c_int) = relay_signal;
        libc::signal(libc::SIGTERM, handler as libc::sighandler_t);
        libc::signal(libc::SIGUSR1, handler as libc::sighandler_t);
        let mut status = 0;
        while libc::waitpid(init, &mut status, 0) < 0 && errno() == libc::EINTR {}
        libc::_exit(0)
    }
}

/// Brings up loopback in the new network namespace, listens on
/// 127.0.0.1:port there and sends the listener to Serval.
unsafe fn private_network(f: &Fixed, port: u16) {
    // SAFETY: socket/ioctl/bind/listen/sendmsg on stack buffers.
    unsafe {
        let s = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if s < 0 {
            die(f, "socket for loopback");
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        req.ifr_name[0] = b'l' as c_char;
        req.ifr_name[1] = b'o' as c_char;
        check(
            f,
            libc::ioctl(s, libc::SIOCGIFFLAGS, &mut req),
            "read loopback flags",
        );
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        check(
            f,
            libc::ioctl(s, libc::SIOCSIFFLAGS, &req),
            "bring loopback up",
        );
        libc::close(s);

        let l = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if l < 0 {
            die(f, "socket for the Runtime API");
        }
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_port = port.to_be();
        addr.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
        check(
            f,
            libc::bind(
                l,
                (&addr as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            ),
            "bind the Runtime API",
        );
        check(f, libc::listen(l, 128), "listen on the Runtime API");
        if super::fds::send_fd(f.control, l).is_err() {
            die(f, "send the Runtime API listener");
        }
        libc::close(l);
    }
}
