//! The seccomp filter every function runs under: a deny list of what a
//! function never needs (mounting, tracing, kernel modules, kexec, bpf,
//! reboot, swap, new namespaces, keyrings, io_uring, ...). Denied calls fail
//! with EPERM; `clone3` fails with ENOSYS so libc falls back to `clone`,
//! whose flags the filter can inspect. Built before fork; installed in the
//! child with two system calls.

#![allow(unsafe_code)]

use libc::sock_filter;

const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JEQ_K: u16 = 0x15;
const BPF_JGE_K: u16 = 0x35;
const BPF_JSET_K: u16 = 0x45;
const BPF_RET_K: u16 = 0x06;
/// Offsets in `struct seccomp_data`.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
/// Low 32 bits of args[0] and args[1] (little-endian).
const OFF_ARG0: u32 = 16;
const OFF_ARG1: u32 = 24;
const TIOCLINUX: u32 = 0x541C;

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7;

/// Namespace flags a function may not pass to `clone`.
const CLONE_NS_FLAGS: u32 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWCGROUP) as u32;

/// System calls refused with EPERM.
fn denied() -> Vec<libc::c_long> {
    let mut v = vec![
        libc::SYS_mount,
        libc::SYS_umount2,
        libc::SYS_pivot_root,
        libc::SYS_chroot,
        libc::SYS_ptrace,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        libc::SYS_kexec_load,
        libc::SYS_kexec_file_load,
        libc::SYS_init_module,
        libc::SYS_finit_module,
        libc::SYS_delete_module,
        libc::SYS_bpf,
        libc::SYS_reboot,
        libc::SYS_swapon,
        libc::SYS_swapoff,
        libc::SYS_unshare,
        libc::SYS_setns,
        libc::SYS_keyctl,
        libc::SYS_add_key,
        libc::SYS_request_key,
        libc::SYS_perf_event_open,
        libc::SYS_userfaultfd,
        libc::SYS_open_by_handle_at,
        libc::SYS_name_to_handle_at,
        libc::SYS_acct,
        libc::SYS_settimeofday,
        libc::SYS_clock_settime,
        libc::SYS_clock_adjtime,
        libc::SYS_adjtimex,
        libc::SYS_sethostname,
        libc::SYS_setdomainname,
        libc::SYS_syslog,
        libc::SYS_quotactl,
        libc::SYS_vhangup,
        libc::SYS_fanotify_init,
        libc::SYS_io_uring_setup,
        libc::SYS_io_uring_enter,
        libc::SYS_io_uring_register,
        libc::SYS_fsopen,
        libc::SYS_fsconfig,
        libc::SYS_fsmount,
        libc::SYS_fspick,
        libc::SYS_move_mount,
        libc::SYS_open_tree,
        libc::SYS_lookup_dcookie,
    ];
    #[cfg(target_arch = "x86_64")]
    v.extend([
        libc::SYS_iopl,
        libc::SYS_ioperm,
        libc::SYS_uselib,
        libc::SYS_nfsservctl,
    ]);
    v
}

fn stmt(code: u16, k: u32) -> sock_filter {
    sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

/// The filter program.
pub(crate) fn program() -> Vec<sock_filter> {
    let eperm = SECCOMP_RET_ERRNO | libc::EPERM as u32;
    let enosys = SECCOMP_RET_ERRNO | libc::ENOSYS as u32;
    let mut p = vec![
        stmt(BPF_LD_W_ABS, OFF_ARCH),
        jump(BPF_JEQ_K, AUDIT_ARCH, 1, 0),
        stmt(BPF_RET_K, SECCOMP_RET_KILL_PROCESS),
        stmt(BPF_LD_W_ABS, OFF_NR),
    ];
    // x32 system calls (bit 30) on x86_64 would bypass the numbers below.
    #[cfg(target_arch = "x86_64")]
    {
        p.push(jump(BPF_JGE_K, 0x4000_0000, 0, 1));
        p.push(stmt(BPF_RET_K, eperm));
    }
    for nr in denied() {
        p.push(jump(BPF_JEQ_K, nr as u32, 0, 1));
        p.push(stmt(BPF_RET_K, eperm));
    }
    // socket(AF_VSOCK, ...): the hypervisor's channel when Serval runs in a VM.
    p.push(jump(BPF_JEQ_K, libc::SYS_socket as u32, 0, 3));
    p.push(stmt(BPF_LD_W_ABS, OFF_ARG0));
    p.push(jump(BPF_JEQ_K, libc::AF_VSOCK as u32, 0, 1));
    p.push(stmt(BPF_RET_K, eperm));
    // (A no longer holds the number: reload it for the checks below.)
    p.push(stmt(BPF_LD_W_ABS, OFF_NR));
    // ioctl(fd, TIOCSTI / TIOCLINUX, ...): typing into a terminal.
    p.push(jump(BPF_JEQ_K, libc::SYS_ioctl as u32, 0, 5));
    p.push(stmt(BPF_LD_W_ABS, OFF_ARG1));
    p.push(jump(BPF_JEQ_K, libc::TIOCSTI as u32, 1, 0));
    p.push(jump(BPF_JEQ_K, TIOCLINUX, 0, 1));
    p.push(stmt(BPF_RET_K, eperm));
    p.push(stmt(BPF_RET_K, SECCOMP_RET_ALLOW));
    p.push(jump(BPF_JEQ_K, libc::SYS_clone3 as u32, 0, 1));
    p.push(stmt(BPF_RET_K, enosys));
    p.push(jump(BPF_JEQ_K, libc::SYS_clone as u32, 0, 3));
    p.push(stmt(BPF_LD_W_ABS, OFF_ARG0));
    p.push(jump(BPF_JSET_K, CLONE_NS_FLAGS, 0, 1));
    p.push(stmt(BPF_RET_K, eperm));
    p.push(stmt(BPF_RET_K, SECCOMP_RET_ALLOW));
    p
}

/// Sets `no_new_privs` and installs `prog`. Async-signal-safe: only system
/// calls, no allocation, so it may run between fork and exec.
pub(crate) fn install(prog: &[sock_filter]) -> Result<(), &'static str> {
    // SAFETY: prctl with integer arguments has no memory preconditions.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err("set no_new_privs");
    }
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr() as *mut sock_filter,
    };
    // SAFETY: `fprog` points at `prog`, which outlives the call; the kernel
    // copies the program and does not write through the pointer.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            1, /* SECCOMP_SET_MODE_FILTER */
            0,
            &fprog as *const libc::sock_fprog,
        )
    };
    if rc != 0 {
        return Err("install seccomp filter");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_is_within_bpf_limits() {
        let p = program();
        assert!(p.len() < 4096);
        // the last instruction allows, the first checks the architecture
        assert_eq!(p.last().map(|i| i.k), Some(SECCOMP_RET_ALLOW));
        assert_eq!(p[0].k, OFF_ARCH);
    }
}
