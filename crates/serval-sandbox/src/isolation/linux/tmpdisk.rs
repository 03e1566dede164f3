//! Disk-backed `/tmp`: a sparse ext4 image of the function's
//! EphemeralStorage size on a loop device. Unlike a tmpfs, its pages are
//! page cache (reclaimable), so `/tmp` does not count against MemorySize,
//! and writing past its size fails with ENOSPC, as on Lambda. Images are
//! made ahead of need for spare zygotes (mkfs takes tens of milliseconds)
//! and removed when their environment is gone.

#![allow(unsafe_code)]

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

const LOOP_CTL_GET_FREE: libc::c_ulong = 0x4C82;
const LOOP_CONFIGURE: libc::c_ulong = 0x4C0A;
const LO_FLAGS_AUTOCLEAR: u32 = 4;

/// Where images go and the mkfs that makes them.
pub(crate) struct TmpDisks {
    dir: PathBuf,
    mkfs: PathBuf,
}

/// One environment's `/tmp` image, attached to a loop device. Dropping it
/// closes the device (which detaches itself once unmounted) and deletes
/// the image.
pub(crate) struct TmpDisk {
    pub size_mb: u32,
    pub device: PathBuf,
    image: PathBuf,
    _device: File,
}

impl Drop for TmpDisk {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.image);
    }
}

#[repr(C)]
struct LoopConfig {
    fd: u32,
    block_size: u32,
    // struct loop_info64
    lo_device: u64,
    lo_inode: u64,
    lo_rdevice: u64,
    lo_offset: u64,
    lo_sizelimit: u64,
    lo_number: u32,
    lo_encrypt_type: u32,
    lo_encrypt_key_size: u32,
    lo_flags: u32,
    lo_file_name: [u8; 64],
    lo_crypt_name: [u8; 64],
    lo_encrypt_key: [u8; 32],
    lo_init: [u64; 2],
    reserved: [u64; 8],
}

impl TmpDisks {
    /// Available as root with loop devices and mkfs.ext4; stale images of
    /// earlier runs in `state_dir/tmp` are removed.
    pub(crate) fn probe(state_dir: &Path) -> Result<TmpDisks, String> {
        if !Path::new("/dev/loop-control").exists() {
            return Err("no /dev/loop-control".into());
        }
        let mkfs = ["/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .or_else(|| crate::runtimes::which("mkfs.ext4"))
            .ok_or("mkfs.ext4 (e2fsprogs) is not installed")?;
        let dir = state_dir.join("tmp");
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(TmpDisks { dir, mkfs })
    }

    /// Makes an image of `size_mb` named `name` and attaches it. Blocking
    /// (runs mkfs).
    pub(crate) fn make(&self, name: &str, size_mb: u32) -> io::Result<TmpDisk> {
        let image = self.dir.join(format!("{name}.img"));
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&image)?;
        let guard = Remove(&image);
        // ext4's inode tables take 1/64 of the disk: with them on top, the
        // filesystem reports `size_mb` (and holds about 98% of it in files).
        let bytes = u64::from(size_mb) * 1024 * 1024;
        file.set_len(bytes + bytes / 64)?;
        let mut mkfs = std::process::Command::new(&self.mkfs);
        // Spares are made while functions start: mkfs yields to them.
        // SAFETY: setpriority(2) in the forked child before exec.
        unsafe {
            use std::os::unix::process::CommandExt;
            mkfs.pre_exec(|| {
                libc::setpriority(libc::PRIO_PROCESS, 0, 19);
                Ok(())
            });
        }
        let status = mkfs
            .args(["-q", "-F", "-O", "^has_journal", "-m", "0"])
            .args(["-E", "nodiscard,lazy_itable_init=1,root_owner=0:0"])
            .arg(&image)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()?;
        if !status.success() {
            return Err(io::Error::other(format!("mkfs.ext4 failed: {status}")));
        }
        let (device, dev_file) = attach(&file)?;
        std::mem::forget(guard);
        Ok(TmpDisk {
            size_mb,
            device,
            image,
            _device: dev_file,
        })
    }
}

struct Remove<'a>(&'a Path);

impl Drop for Remove<'_> {
    fn drop(&mut self) {
        let _ = fs::remove_file(self.0);
    }
}

/// Attaches `file` to a free loop device with autoclear.
fn attach(file: &File) -> io::Result<(PathBuf, File)> {
    let ctl = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/loop-control")?;
    for _ in 0..16 {
        // SAFETY: ioctl on a descriptor we own, no argument.
        let n = unsafe { libc::ioctl(ctl.as_raw_fd(), LOOP_CTL_GET_FREE as _) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let device = PathBuf::from(format!("/dev/loop{n}"));
        let dev = OpenOptions::new().read(true).write(true).open(&device)?;
        // SAFETY: LoopConfig is plain data; zeroed is a valid value.
        let mut cfg: LoopConfig = unsafe { std::mem::zeroed() };
        cfg.fd = file.as_raw_fd() as u32;
        cfg.lo_flags = LO_FLAGS_AUTOCLEAR;
        // SAFETY: LOOP_CONFIGURE reads a loop_config we own.
        let rc = unsafe { libc::ioctl(dev.as_raw_fd(), LOOP_CONFIGURE as _, &cfg) };
        if rc == 0 {
            return Ok((device, dev));
        }
        let e = io::Error::last_os_error();
        // Taken by someone else between GET_FREE and CONFIGURE: again.
        if e.raw_os_error() != Some(libc::EBUSY) {
            return Err(e);
        }
    }
    Err(io::Error::other("no free loop device"))
}
