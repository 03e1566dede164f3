//! Object bodies on disk. A body is received into `s3/tmp/<id>` while its
//! digests are computed, checked, fsync'd when `--sync full` asks, and
//! renamed into `s3/blobs/<id>`; only then is a record pointing at it
//! committed. Blobs are immutable: a copy is a hard link, a replaced object's
//! blob is removed after the new record commits, and at start every blob no
//! record names (a crash between rename and commit) and every temp file is
//! removed. Bodies of up to [`INLINE_MAX`] bytes stay in the record instead.

use crate::checksum::{self, Algorithm};
use crate::chunked;
use crate::error::{self, Result};
use bytes::Bytes;
use md5::Digest;
use serval_wire::{Request, RequestBody};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// Bodies up to this size are kept in the store record, not in a file.
pub const INLINE_MAX: u64 = 16 * 1024;
/// Writes to a blob file are batched to this size.
const WRITE_BATCH: usize = 1024 * 1024;
/// The largest single PUT S3 accepts (5 GB).
pub const MAX_PUT: u64 = 5 * 1024 * 1024 * 1024;

/// Where blobs live.
#[derive(Debug, Clone)]
pub struct Blobs {
    root: PathBuf,
    /// fsync each blob before it becomes visible.
    pub fsync: bool,
}

/// A received body.
#[derive(Debug, Default)]
pub struct Received {
    /// The blob it was written to (already under `blobs/`), or `None` when inline.
    pub blob: Option<String>,
    /// The body, when small enough to keep inline.
    pub inline: Bytes,
    /// Decoded size.
    pub size: u64,
    /// MD5.
    pub md5: [u8; 16],
    /// Checksum algorithm and base64 value, when one was sent or asked for.
    pub checksum: Option<(String, String)>,
}

impl Blobs {
    /// Blobs under `<data>/s3`.
    pub fn new(data_dir: &Path, fsync: bool) -> std::io::Result<Self> {
        let root = data_dir.join("s3");
        std::fs::create_dir_all(root.join("blobs"))?;
        // Temp files are uploads a crash interrupted: nothing refers to them.
        let _ = std::fs::remove_dir_all(root.join("tmp"));
        std::fs::create_dir_all(root.join("tmp"))?;
        Ok(Blobs { root, fsync })
    }

    /// The file of a blob.
    pub fn path(&self, id: &str) -> PathBuf {
        self.root.join("blobs").join(id)
    }

    fn tmp(&self, id: &str) -> PathBuf {
        self.root.join("tmp").join(id)
    }

    /// Removes blobs (after the records that named them are gone).
    pub async fn remove(&self, ids: Vec<String>) {
        for id in ids {
            let _ = tokio::fs::remove_file(self.path(&id)).await;
        }
    }

    /// Removes every blob not in `live` (at start).
    pub fn collect_garbage(&self, live: &std::collections::HashSet<String>) -> usize {
        let mut removed = 0;
        if let Ok(dir) = std::fs::read_dir(self.root.join("blobs")) {
            for e in dir.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if !live.contains(&name) && std::fs::remove_file(e.path()).is_ok() {
                    removed += 1;
                }
            }
        }
        removed
    }

    /// A new blob that is a copy of `src` (a hard link; a byte copy where links fail).
    pub async fn duplicate(&self, src: &str) -> Result<String> {
        let id = serval_core::ids::random_hex(16);
        let (from, to) = (self.path(src), self.path(&id));
        if tokio::fs::hard_link(&from, &to).await.is_err() {
            tokio::fs::copy(&from, &to).await.map_err(error::internal)?;
        }
        Ok(id)
    }

    /// Receives a request body: decodes aws-chunked, computes MD5 and the
    /// checksum asked for, verifies `Content-MD5` and `x-amz-checksum-*`
    /// (header or trailer), and stores it (inline or as a blob).
    pub async fn receive(&self, req: &Request, mut body: RequestBody) -> Result<Received> {
        let chunked = chunked::is_aws_chunked(
            req.header("x-amz-content-sha256"),
            req.header("content-encoding"),
        );
        let declared: Option<u64> = if chunked {
            req.header("x-amz-decoded-content-length")
                .and_then(|v| v.parse().ok())
        } else {
            req.header("content-length").and_then(|v| v.parse().ok())
        };
        if let Some(n) = declared {
            if n > MAX_PUT {
                return Err(error::entity_too_large(n, MAX_PUT));
            }
        }
        let expect_md5 = match req.header("content-md5") {
            Some(v) => {
                let d = checksum::unb64(v).filter(|d| d.len() == 16);
                Some(d.ok_or_else(error::invalid_digest)?)
            }
            None => None,
        };
        let mut algorithm = None;
        let mut expect_sum: Option<String> = None;
        for a in Algorithm::ALL {
            if let Some(v) = req.header(a.header()) {
                algorithm = Some(a);
                expect_sum = Some(v.to_string());
            }
        }
        let trailer = req
            .header("x-amz-trailer")
            .map(|t| t.trim().to_ascii_lowercase());
        if algorithm.is_none() {
            algorithm = trailer
                .as_deref()
                .and_then(|t| t.strip_prefix("x-amz-checksum-"))
                .and_then(Algorithm::parse)
                .or_else(|| {
                    req.header("x-amz-sdk-checksum-algorithm")
                        .or_else(|| req.header("x-amz-checksum-algorithm"))
                        .and_then(Algorithm::parse)
                });
        }
        let mut hasher = algorithm.map(Algorithm::hasher);
        let mut decoder = chunked.then(chunked::Decoder::new);
        let mut writer = BlobWriter::new(self);
        let result: Result<()> = async {
            let mut decoded = Vec::new();
            loop {
                let chunk = body.next_chunk().await?;
                let Some(chunk) = chunk else { break };
                let data: &[u8] = match decoder.as_mut() {
                    Some(d) => {
                        decoded.clear();
                        d.feed(&chunk, &mut decoded)
                            .map_err(|_| error::incomplete_body())?;
                        &decoded
                    }
                    None => &chunk,
                };
                if data.is_empty() {
                    continue;
                }
                writer.write(data).await?;
                if let Some(h) = hasher.as_mut() {
                    h.update(data);
                }
            }
            if let Some(d) = &decoder {
                if !d.finished() {
                    return Err(error::incomplete_body());
                }
            }
            if declared.is_some_and(|n| n != writer.size()) {
                return Err(error::incomplete_body());
            }
            Ok(())
        }
        .await;
        if let Err(e) = result {
            writer.discard().await;
            return Err(e);
        }
        let mut rec = writer.finish().await?;
        if expect_md5.is_some_and(|e| e[..] != rec.md5[..]) {
            self.remove(rec.blob.take().into_iter().collect()).await;
            return Err(error::bad_digest());
        }
        if let (Some(a), Some(h)) = (algorithm, hasher) {
            let got = checksum::b64(&h.finish());
            let expect = expect_sum.or_else(|| {
                decoder
                    .as_ref()
                    .and_then(|d| d.trailer(a.header()).map(str::to_string))
            });
            if let Some(e) = expect {
                if e.trim() != got {
                    self.remove(rec.blob.take().into_iter().collect()).await;
                    return Err(error::checksum_mismatch(&a.name().to_ascii_lowercase()));
                }
            }
            rec.checksum = Some((a.name().to_string(), got));
        }
        Ok(rec)
    }

    /// Writes a body already in memory as a new blob (used by copies of inline objects into parts).
    pub async fn write_new(&self, data: &[u8]) -> Result<String> {
        let id = serval_core::ids::random_hex(16);
        tokio::fs::write(self.tmp(&id), data)
            .await
            .map_err(error::internal)?;
        tokio::fs::rename(self.tmp(&id), self.path(&id))
            .await
            .map_err(error::internal)?;
        Ok(id)
    }
}

/// A body being received: digested with MD5 as it arrives, kept in memory
/// while it is small enough to stay inline, spilled to a temp file past
/// that, and renamed into `blobs/` by [`BlobWriter::finish`]. PutObject,
/// UploadPart and POST uploads all receive through one.
pub struct BlobWriter<'a> {
    blobs: &'a Blobs,
    md5: md5::Md5,
    mem: Vec<u8>,
    file: Option<(String, tokio::fs::File)>,
    size: u64,
}

impl<'a> BlobWriter<'a> {
    /// An empty body.
    pub fn new(blobs: &'a Blobs) -> Self {
        BlobWriter {
            blobs,
            md5: md5::Md5::new(),
            mem: Vec::new(),
            file: None,
            size: 0,
        }
    }

    /// Bytes so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends bytes (EntityTooLarge past S3's 5 GB).
    pub async fn write(&mut self, data: &[u8]) -> Result<()> {
        self.size += data.len() as u64;
        if self.size > MAX_PUT {
            return Err(error::entity_too_large(self.size, MAX_PUT));
        }
        self.md5.update(data);
        self.mem.extend_from_slice(data);
        if self.size > INLINE_MAX && self.mem.len() >= WRITE_BATCH {
            self.spill().await?;
        }
        Ok(())
    }

    async fn spill(&mut self) -> Result<()> {
        if self.file.is_none() {
            let id = serval_core::ids::random_hex(16);
            let f = tokio::fs::File::create(self.blobs.tmp(&id))
                .await
                .map_err(error::internal)?;
            self.file = Some((id, f));
        }
        if let Some((_, f)) = self.file.as_mut() {
            f.write_all(&self.mem).await.map_err(error::internal)?;
        }
        self.mem.clear();
        if self.mem.capacity() < WRITE_BATCH {
            self.mem.reserve(WRITE_BATCH);
        }
        Ok(())
    }

    /// Drops what was received (the temp file, if any).
    pub async fn discard(self) {
        if let Some((id, f)) = self.file {
            drop(f);
            let _ = tokio::fs::remove_file(self.blobs.tmp(&id)).await;
        }
    }

    /// Makes the body a blob (fsync'd under `--sync full`) or keeps it inline.
    pub async fn finish(mut self) -> Result<Received> {
        if self.size > INLINE_MAX || self.file.is_some() {
            if let Err(e) = self.spill().await {
                self.discard().await;
                return Err(e);
            }
        }
        let md5: [u8; 16] = self.md5.finalize().into();
        let blob = match self.file {
            Some((id, mut f)) => {
                let done: std::io::Result<()> = async {
                    f.flush().await?;
                    if self.blobs.fsync {
                        f.sync_all().await?;
                    }
                    drop(f);
                    tokio::fs::rename(self.blobs.tmp(&id), self.blobs.path(&id)).await
                }
                .await;
                if let Err(e) = done {
                    let _ = tokio::fs::remove_file(self.blobs.tmp(&id)).await;
                    return Err(error::internal(e));
                }
                Some(id)
            }
            None => None,
        };
        let inline = if blob.is_none() {
            Bytes::from(self.mem)
        } else {
            Bytes::new()
        };
        Ok(Received {
            blob,
            inline,
            size: self.size,
            md5,
            checksum: None,
        })
    }
}

/// Opens the byte range `[start, end)` of an object made of `segments` as
/// one reader, for a streamed response. Files are opened before the
/// response starts, so a concurrent delete cannot cut it short.
pub async fn open_range(
    blobs: &Blobs,
    segments: &[crate::model::Segment],
    start: u64,
    end: u64,
) -> Result<serval_wire::request::BodyReader> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let mut parts = Vec::new();
    let mut offset = 0u64;
    for s in segments {
        let (s0, s1) = (offset, offset + s.size);
        offset = s1;
        if s1 <= start || s0 >= end {
            continue;
        }
        let mut f = tokio::fs::File::open(blobs.path(&s.blob))
            .await
            .map_err(error::internal)?;
        let from = start.saturating_sub(s0);
        if from > 0 {
            f.seek(std::io::SeekFrom::Start(from))
                .await
                .map_err(error::internal)?;
        }
        let len = end.min(s1) - s0.max(start);
        parts.push(f.take(len));
    }
    let mut reader: Option<serval_wire::request::BodyReader> = None;
    for p in parts.into_iter().rev() {
        reader = Some(match reader {
            None => Box::pin(p),
            Some(rest) => Box::pin(p.chain(rest)),
        });
    }
    Ok(reader.unwrap_or_else(|| Box::pin(tokio::io::empty())))
}
