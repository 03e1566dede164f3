//! Who is on the other end of a Runtime API connection. Environments on the
//! host's network share its loopback, so a listener must tell its own
//! environment's connections from another function's.

/// Whether the socket at `from` (connected to `to`) is the environment's.
pub(crate) fn is_own(
    want: crate::isolation::Peer,
    from: std::net::SocketAddr,
    to: std::net::SocketAddr,
) -> bool {
    let Some((uid, inode)) = socket_owner(from, to) else {
        return false;
    };
    match want {
        crate::isolation::Peer::Uid(u) => uid == u,
        crate::isolation::Peer::Descendant(root) => held_by_descendant(root, inode),
    }
}

/// Whether a process in the tree under `root` holds socket `inode`.
fn held_by_descendant(root: u32, inode: u32) -> bool {
    let needle = format!("socket:[{inode}]");
    let mut stack = vec![root];
    // Bounded work: a runtime's own connection is found among its first
    // processes; a function that spawns thousands of them only slows itself.
    let (mut visited, mut fds_seen) = (0, 0);
    while let Some(pid) = stack.pop() {
        visited += 1;
        if visited > 256 {
            return false;
        }
        if let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
            for fd in fds.flatten() {
                fds_seen += 1;
                if fds_seen > 16_384 {
                    return false;
                }
                if std::fs::read_link(fd.path()).is_ok_and(|l| l.as_os_str() == needle.as_str()) {
                    return true;
                }
            }
        }
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
            for t in tasks.flatten() {
                let children =
                    std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
                stack.extend(
                    children
                        .split_whitespace()
                        .filter_map(|c| c.parse::<u32>().ok()),
                );
            }
        }
    }
    false
}

/// The owner and inode of the TCP socket at `from` connected to `to`
/// (IPv4), asked of the kernel with one exact sock_diag lookup (reading
/// /proc/net/tcp walks the whole socket table: milliseconds).
#[allow(unsafe_code)]
fn socket_owner(from: std::net::SocketAddr, to: std::net::SocketAddr) -> Option<(u32, u32)> {
    let (std::net::SocketAddr::V4(from), std::net::SocketAddr::V4(to)) = (from, to) else {
        return None;
    };
    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const NETLINK_SOCK_DIAG: i32 = 4;
    // nlmsghdr (16) + inet_diag_req_v2 (8 + 48-byte inet_diag_sockid)
    let mut req = [0u8; 72];
    req[0..4].copy_from_slice(&72u32.to_ne_bytes());
    req[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    req[6..8].copy_from_slice(&(libc::NLM_F_REQUEST as u16).to_ne_bytes());
    req[16] = libc::AF_INET as u8;
    req[17] = libc::IPPROTO_TCP as u8;
    req[20..24].copy_from_slice(&u32::MAX.to_ne_bytes()); // every state
    let id = 24;
    req[id..id + 2].copy_from_slice(&from.port().to_be_bytes());
    req[id + 2..id + 4].copy_from_slice(&to.port().to_be_bytes());
    req[id + 4..id + 8].copy_from_slice(&from.ip().octets());
    req[id + 20..id + 24].copy_from_slice(&to.ip().octets());
    req[id + 40..id + 48].copy_from_slice(&[0xff; 8]); // INET_DIAG_NOCOOKIE
    let mut resp = [0u8; 512];
    // SAFETY: a netlink socket we own and close; send/recv from stack
    // buffers of the stated sizes.
    let n = unsafe {
        let fd = libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            NETLINK_SOCK_DIAG,
        );
        if fd < 0 {
            return None;
        }
        let n = if libc::send(fd, req.as_ptr().cast(), req.len(), 0) == req.len() as isize {
            libc::recv(fd, resp.as_mut_ptr().cast(), resp.len(), 0)
        } else {
            -1
        };
        libc::close(fd);
        n
    };
    // nlmsghdr (16) then inet_diag_msg, whose uid is at offset 64.
    let kind = u16::from_ne_bytes([resp[4], resp[5]]);
    if n < 16 + 68 || kind != SOCK_DIAG_BY_FAMILY {
        return None;
    }
    let uid = u32::from_ne_bytes([resp[80], resp[81], resp[82], resp[83]]);
    let inode = u32::from_ne_bytes([resp[84], resp[85], resp[86], resp[87]]);
    Some((uid, inode))
}
