//! Function code: validating uploaded zips, content-addressed storage of the
//! zip and its extracted tree under the data dir.

use crate::error::{LambdaError, Result};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

/// Largest zip accepted inline (`ZipFile`), as AWS.
pub const MAX_ZIPPED: usize = 50 * 1024 * 1024;
/// Largest unzipped size, as AWS.
pub const MAX_UNZIPPED: u64 = 262_144_000;

/// A stored code package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCode {
    /// base64 of the SHA-256 of the zip (`CodeSha256`).
    pub sha256_b64: String,
    /// hex of the same digest (directory name).
    pub sha256_hex: String,
    /// Size of the zip in bytes (`CodeSize`).
    pub size: u64,
}

/// Where code lives: `<root>/<hex>.zip` and `<root>/<hex>/`.
#[derive(Debug, Clone)]
pub struct CodeStore {
    root: PathBuf,
}

fn invalid_zip() -> LambdaError {
    LambdaError::InvalidParameter(
        "Could not unzip uploaded file. Please check your file, then try to upload again.".into(),
    )
}

impl CodeStore {
    /// Code storage under `root`.
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// The extracted tree of a package.
    pub fn dir(&self, hex: &str) -> PathBuf {
        self.root.join(hex)
    }

    /// The zip of a package.
    pub fn zip_path(&self, hex: &str) -> PathBuf {
        self.root.join(format!("{hex}.zip"))
    }

    /// Validates, stores and extracts a zip. Idempotent per content.
    pub fn put(&self, zip: &[u8]) -> Result<StoredCode> {
        if zip.len() > MAX_ZIPPED {
            return Err(LambdaError::RequestTooLarge(format!(
                "Request must be smaller than {} bytes for the CreateFunction operation",
                MAX_ZIPPED
            )));
        }
        let digest = Sha256::digest(zip);
        let stored = StoredCode {
            sha256_b64: base64::engine::general_purpose::STANDARD.encode(digest),
            sha256_hex: serval_core::ids::hex(&digest),
            size: zip.len() as u64,
        };
        let dir = self.dir(&stored.sha256_hex);
        if dir.is_dir() && self.zip_path(&stored.sha256_hex).is_file() {
            return Ok(stored);
        }
        let io = |e: std::io::Error| LambdaError::Internal(format!("code storage: {e}"));
        std::fs::create_dir_all(&self.root).map_err(io)?;
        let tmp = self.root.join(format!(
            ".tmp-{}-{}",
            stored.sha256_hex,
            serval_core::ids::random_hex(4)
        ));
        let result = extract(zip, &tmp);
        if let Err(e) = result {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        write_atomic(&self.zip_path(&stored.sha256_hex), zip).map_err(io)?;
        match std::fs::rename(&tmp, &dir) {
            Ok(()) => {}
            Err(_) if dir.is_dir() => {
                let _ = std::fs::remove_dir_all(&tmp);
            }
            Err(e) => return Err(io(e)),
        }
        Ok(stored)
    }
}

fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", serval_core::ids::random_hex(4)));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    std::fs::rename(tmp, path)
}

/// Extracts `zip` into `dest`, refusing path traversal and oversize content,
/// keeping unix modes (so `bootstrap` stays executable).
fn extract(zip: &[u8], dest: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).map_err(|_| invalid_zip())?;
    let io = |e: std::io::Error| LambdaError::Internal(format!("code extraction: {e}"));
    std::fs::create_dir_all(dest).map_err(io)?;
    let mut total: u64 = 0;
    // Links are made last, after every file and directory, and never under
    // another link: nothing is ever written through a link.
    let mut links: Vec<(PathBuf, String)> = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|_| invalid_zip())?;
        let Some(rel) = entry.enclosed_name() else {
            return Err(invalid_zip());
        };
        let out = dest.join(rel);
        if entry.is_dir() {
            std::fs::create_dir_all(&out).map_err(io)?;
            continue;
        }
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mode = entry.unix_mode();
        let is_symlink = mode.is_some_and(|m| m & 0o170000 == 0o120000);
        let mut data = Vec::new();
        let limit = MAX_UNZIPPED.saturating_sub(total) + 1;
        (&mut entry)
            .take(limit)
            .read_to_end(&mut data)
            .map_err(|_| invalid_zip())?;
        total += data.len() as u64;
        if total > MAX_UNZIPPED {
            return Err(LambdaError::InvalidParameter(format!(
                "Unzipped size must be smaller than {MAX_UNZIPPED} bytes"
            )));
        }
        if is_symlink {
            links.push((out, String::from_utf8_lossy(&data).into_owned()));
            continue;
        }
        std::fs::write(&out, &data).map_err(io)?;
        let perm = mode.map(|m| m & 0o777).filter(|m| *m != 0).unwrap_or(0o644) | 0o444;
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(perm)).map_err(io)?;
    }
    for (out, target) in links {
        // Links may only point inside the package, and may not sit below
        // another link (which would place them somewhere else).
        let resolved = out.parent().unwrap_or(dest).join(&target);
        if Path::new(&target).is_absolute()
            || !normalize(&resolved).starts_with(normalize(dest))
            || has_link_ancestor(dest, &out)
        {
            return Err(invalid_zip());
        }
        std::os::unix::fs::symlink(&target, &out).map_err(|_| invalid_zip())?;
    }
    Ok(())
}

/// Whether any directory between `dest` and `path` is a symbolic link.
fn has_link_ancestor(dest: &Path, path: &Path) -> bool {
    let Ok(rel) = path.strip_prefix(dest) else {
        return true;
    };
    let mut cur = dest.to_path_buf();
    let parts: Vec<_> = rel.components().collect();
    for c in parts.iter().take(parts.len().saturating_sub(1)) {
        cur.push(c);
        match std::fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => return true,
            _ => {}
        }
    }
    false
}

fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use zip::write::SimpleFileOptions;

    fn make_zip(files: &[(&str, &[u8], u32)]) -> Vec<u8> {
        let mut buf = Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut buf);
            for (name, data, mode) in files {
                let opts = SimpleFileOptions::default().unix_permissions(*mode);
                w.start_file(*name, opts).ok();
                w.write_all(data).ok();
            }
            w.finish().ok();
        }
        buf.into_inner()
    }

    #[test]
    fn stores_and_keeps_modes() -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().map_err(|e| LambdaError::Internal(e.to_string()))?;
        let store = CodeStore::new(dir.path().to_path_buf());
        let zip = make_zip(&[
            ("bootstrap", b"#!/bin/sh\n", 0o755),
            ("lib/a.py", b"x=1", 0o644),
        ]);
        let code = store.put(&zip)?;
        assert_eq!(code.size, zip.len() as u64);
        let boot = store.dir(&code.sha256_hex).join("bootstrap");
        let mode = std::fs::metadata(&boot)
            .map(|m| m.permissions().mode())
            .unwrap_or(0);
        assert_eq!(mode & 0o111, 0o111);
        assert!(store.dir(&code.sha256_hex).join("lib/a.py").is_file());
        // Idempotent.
        assert_eq!(store.put(&zip)?, code);
        Ok(())
    }

    /// A zip of files and symlinks (`link: Some(target)`).
    fn make_zip_with_links(entries: &[(&str, &[u8], Option<&str>)]) -> Vec<u8> {
        let mut buf = Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut buf);
            for (name, data, link) in entries {
                match link {
                    Some(target) => {
                        w.add_symlink(*name, *target, SimpleFileOptions::default())
                            .ok();
                    }
                    None => {
                        w.start_file(*name, SimpleFileOptions::default()).ok();
                        w.write_all(data).ok();
                    }
                }
            }
            w.finish().ok();
        }
        buf.into_inner()
    }

    #[test]
    fn chained_links_cannot_escape() {
        let dir = tempfile::tempdir().ok();
        let Some(dir) = dir else { return };
        let store = CodeStore::new(dir.path().join("code"));
        let evil = make_zip_with_links(&[
            ("l", b"", Some(".")),
            ("l/l/l/esc", b"", Some("../../..")),
            ("l/l/l/esc/pwned", b"owned", None),
        ]);
        let _ = store.put(&evil);
        assert!(!dir.path().join("pwned").exists());
        assert!(!dir.path().join("code").join("pwned").exists());
        // Links alone: the second one would land (through `l`) at the top with
        // a target outside the package.
        let links_only =
            make_zip_with_links(&[("l", b"", Some(".")), ("l/l/l/esc", b"", Some("../../.."))]);
        let r = store.put(&links_only);
        assert!(r.is_err(), "{r:?}");
        // An ordinary relative link inside the package is fine.
        let fine = make_zip_with_links(&[("a.txt", b"x", None), ("b", b"", Some("a.txt"))]);
        let code = store.put(&fine).expect("a plain relative link is accepted");
        let link = store.dir(&code.sha256_hex).join("b");
        assert!(std::fs::symlink_metadata(&link).is_ok_and(|m| m.file_type().is_symlink()));
    }

    #[test]
    fn rejects_garbage_and_traversal() {
        let dir = tempfile::tempdir().ok();
        let Some(dir) = dir else { return };
        let store = CodeStore::new(dir.path().to_path_buf());
        assert!(matches!(
            store.put(b"not a zip"),
            Err(LambdaError::InvalidParameter(_))
        ));
        let evil = make_zip(&[("../evil", b"x", 0o644)]);
        assert!(store.put(&evil).is_err());
        assert!(!dir.path().join("evil").exists());
    }
}
