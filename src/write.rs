//! The write stage: output files that appear whole or not at all. Bytes go
//! to a temp file beside the destination (`.NAME.partial-XXXX`), through a
//! large buffer and, when the name ends in `.gz`/`.zst`, an async-compression
//! encoder; [`OutputFile::commit`] finishes the stream, fsyncs and renames.
//! While a file grows, a blocking task syncs what has reached it every
//! [`SYNC_EVERY`] bytes, so the final fsync waits only for the tail: on
//! virtual disks one fsync of a large new file costs ~0.1 s however early
//! its pages were written back.
//! Dropping an uncommitted output removes its temp file, so an error never
//! leaves a half-written file under the final name. `-` writes to stdout.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use async_compression::tokio::write::{GzipEncoder, ZstdEncoder};
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};

use crate::read::open::Compression;

/// Write buffer: stdout and files are written in large blocks.
const WRITE_BUFFER: usize = 1 << 20;

/// Bytes written between two background syncs.
const SYNC_EVERY: u64 = 8 << 20;

/// Prefix of temp files, so stale ones from a killed run can be recognised.
pub const PARTIAL_MARK: &str = ".partial-";

/// The name prefix of a one-process mix's work folder in
/// `training_mix/` (removed when the run ends; a killed run's is removed
/// by the next run, like its partial files).
pub const WORK_PREFIX: &str = ".work.partial-";

type Sink = Pin<Box<dyn AsyncWrite + Send>>;

/// Output errors name the destination.
#[derive(Debug, thiserror::Error)]
#[error("{path}: cannot write output{hint}")]
pub struct WriteError {
    /// The destination.
    pub path: String,
    /// Cause.
    pub source: std::io::Error,
    /// What to do.
    pub hint: &'static str,
}

impl WriteError {
    fn new(path: &Path, source: std::io::Error) -> Self {
        let hint = match source.raw_os_error() {
            Some(28) => " (disk full: free space or choose another --output)",
            Some(13) | Some(30) => " (permission denied: choose a writable --output)",
            _ => "",
        };
        WriteError {
            path: path.display().to_string(),
            source,
            hint,
        }
    }
}

/// An output being written; see the module docs.
pub struct OutputFile {
    sink: Sink,
    target: PathBuf,
    temp: Option<tempfile::TempPath>,
    bytes: u64,
    finished: bool,
    syncing: Option<BackgroundSync>,
}

/// Syncs a growing file in the background: at most one sync at a time.
struct BackgroundSync {
    file: std::sync::Arc<std::fs::File>,
    /// Byte count when the last sync was started.
    started_at: u64,
    running: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl BackgroundSync {
    /// Start a sync if `bytes` grew enough and none is running.
    fn poke(&mut self, bytes: u64) {
        let idle = self.running.as_ref().is_none_or(|r| r.is_finished());
        if idle && bytes - self.started_at >= SYNC_EVERY {
            self.started_at = bytes;
            let file = self.file.clone();
            // Its outcome is seen by the final fsync, which reports errors.
            self.running = Some(tokio::task::spawn_blocking(move || file.sync_data()));
        }
    }

    /// Wait for the running sync, if any.
    async fn settle(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = running.await;
        }
    }
}

impl OutputFile {
    /// Start writing `target` (`-` for stdout), compressed by its extension
    /// unless `compression` says otherwise.
    pub fn create(target: &Path, compression: Option<Compression>) -> Result<Self, WriteError> {
        let kind = compression.unwrap_or_else(|| Compression::from_extension(target));
        if target == Path::new("-") {
            let sink = wrap(Box::pin(FlushOnShutdown(tokio::io::stdout())), kind);
            return Ok(OutputFile {
                sink,
                target: target.into(),
                temp: None,
                bytes: 0,
                finished: false,
                syncing: None,
            });
        }
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(dir).map_err(|e| WriteError::new(dir, e))?;
        let name = target
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("output");
        remove_stale_partials_of(dir, &format!(".{name}{PARTIAL_MARK}"));
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}{PARTIAL_MARK}"))
            .permissions(output_permissions())
            .tempfile_in(dir)
            .map_err(|e| WriteError::new(target, e))?;
        let (file, path) = temp.into_parts();
        // Held while this process writes it: a partial nobody holds is a
        // killed run's, which [`remove_stale_partials`] may remove.
        let _ = fs4::FileExt::try_lock(&file);
        let syncing = file.try_clone().ok().map(|f| BackgroundSync {
            file: std::sync::Arc::new(f),
            started_at: 0,
            running: None,
        });
        let sink = wrap(Box::pin(tokio::fs::File::from_std(file)), kind);
        Ok(OutputFile {
            sink,
            target: target.into(),
            temp: Some(path),
            bytes: 0,
            finished: false,
            syncing,
        })
    }

    /// Append bytes.
    pub async fn write_all(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        self.bytes += bytes.len() as u64;
        if let Some(syncing) = &mut self.syncing {
            syncing.poke(self.bytes);
        }
        self.sink
            .write_all(bytes)
            .await
            .map_err(|e| WriteError::new(&self.target, e))
    }

    /// Uncompressed bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Finish the stream and fsync, without moving the file into place:
    /// finish every output of a set first (that is where a full disk
    /// shows), then commit them all, so a set appears whole or not at all.
    pub async fn finish(&mut self) -> Result<(), WriteError> {
        if self.finished {
            return Ok(());
        }
        let err = |e| WriteError::new(&self.target, e);
        self.sink.shutdown().await.map_err(err)?;
        if let Some(syncing) = &mut self.syncing {
            syncing.settle().await;
        }
        if let Some(temp) = &self.temp {
            std::fs::File::open(temp)
                .and_then(|f| f.sync_all())
                .map_err(err)?;
        }
        self.finished = true;
        Ok(())
    }

    /// Finish the stream (if not yet) and move the file into place.
    pub async fn commit(mut self) -> Result<PathBuf, WriteError> {
        self.finish().await?;
        let target = self.target.clone();
        if let Some(temp) = self.temp.take() {
            temp.persist(&target)
                .map_err(|e| WriteError::new(&target, e.error))?;
        }
        Ok(target)
    }
}

/// Outputs are ordinary files (rw-r--r--), not the 0600 of temp files.
fn output_permissions() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o644)
}

fn wrap(inner: Sink, kind: Compression) -> Sink {
    match kind {
        Compression::None => Box::pin(BufWriter::with_capacity(WRITE_BUFFER, inner)),
        Compression::Gzip => Box::pin(BufWriter::with_capacity(
            WRITE_BUFFER,
            GzipEncoder::new(inner),
        )),
        Compression::Zstd => Box::pin(BufWriter::with_capacity(
            WRITE_BUFFER,
            ZstdEncoder::new(inner),
        )),
    }
}

/// tokio's `Stdout` hands each write to a blocking thread and its
/// `shutdown` returns at once, without waiting for that write: the tail of
/// the output could be lost at exit. This makes `shutdown` flush first.
struct FlushOnShutdown<W>(W);

impl<W: AsyncWrite + Unpin> AsyncWrite for FlushOnShutdown<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        std::task::ready!(Pin::new(&mut self.0).poll_flush(cx))?;
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// Remove temp files left in `dir` by killed runs (best effort).
pub fn remove_stale_partials(dir: &Path) {
    remove_stale_partials_of(dir, ".");
}

/// Remove the temp files in `dir` whose name starts with `prefix` and
/// holds [`PARTIAL_MARK`], unless a live process holds their lock (every
/// [`OutputFile`] locks its temp file while writing it).
fn remove_stale_partials_of(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if !(name.starts_with(prefix) && name.contains(PARTIAL_MARK)) {
            continue;
        }
        let Ok(file) = std::fs::File::open(entry.path()) else {
            continue;
        };
        if fs4::FileExt::try_lock(&file).is_err() {
            continue;
        }
        if name.starts_with(WORK_PREFIX) && entry.path().is_dir() {
            let _ = std::fs::remove_dir_all(entry.path());
        } else {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Refuse to write `output` when it is one of `inputs` (the same file, by
/// device and inode, so `./a.jsonl` and a hard link count), before anything
/// is read: the run would replace the data it reads. `-` is never a file.
pub fn refuse_overwriting_inputs(
    output: &std::path::Path,
    inputs: &[PathBuf],
) -> Result<(), crate::error::UsageError> {
    use std::os::unix::fs::MetadataExt;
    let Ok(out) = std::fs::metadata(output) else {
        return Ok(());
    };
    for input in inputs.iter().filter(|p| p.as_os_str() != "-") {
        let same =
            std::fs::metadata(input).is_ok_and(|m| m.dev() == out.dev() && m.ino() == out.ino());
        if same {
            return Err(crate::error::UsageError(format!(
                "{}: the output is also an input ({}); write to another file",
                output.display(),
                input.display()
            )));
        }
    }
    Ok(())
}

/// Write `bytes` to `target` atomically (small files: manifests, reports).
pub fn write_small_atomic(target: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let dir = target.parent().unwrap_or(Path::new("."));
    let err = |e| WriteError::new(target, e);
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".manifest{PARTIAL_MARK}"))
        .permissions(output_permissions())
        .tempfile_in(dir)
        .map_err(err)?;
    std::io::Write::write_all(&mut temp, bytes).map_err(err)?;
    temp.as_file().sync_all().map_err(err)?;
    temp.persist(target).map_err(|e| err(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn appears_only_on_commit_and_compresses_by_name() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a.jsonl", "a.jsonl.gz", "a.jsonl.zst"] {
            let target = dir.path().join(name);
            let mut out = OutputFile::create(&target, None).unwrap();
            out.write_all(b"{\"x\":1}\n").await.unwrap();
            assert!(!target.exists());
            out.commit().await.unwrap();
            let raw = std::fs::read(&target).unwrap();
            let plain = match Compression::sniff(&raw) {
                Compression::None => raw,
                Compression::Gzip => {
                    let mut s = Vec::new();
                    std::io::Read::read_to_end(
                        &mut flate2::read::MultiGzDecoder::new(&raw[..]),
                        &mut s,
                    )
                    .unwrap();
                    s
                }
                Compression::Zstd => zstd::decode_all(&raw[..]).unwrap(),
            };
            assert_eq!(plain, b"{\"x\":1}\n", "{name}");
        }
    }

    #[tokio::test]
    async fn stale_partials_go_but_live_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("c.jsonl");
        std::fs::write(dir.path().join(".c.jsonl.partial-dead"), "x").unwrap();
        std::fs::write(dir.path().join(".other.jsonl.partial-dead"), "x").unwrap();
        let live = OutputFile::create(&target, None).unwrap();
        let names = |d: &Path| {
            let mut n: Vec<String> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            n.sort();
            n
        };
        let left = names(dir.path());
        assert_eq!(left.len(), 2, "{left:?}");
        assert!(left.contains(&".other.jsonl.partial-dead".to_owned()));
        remove_stale_partials(dir.path());
        assert_eq!(names(dir.path()).len(), 1, "the live partial stays");
        live.commit().await.unwrap();
        assert_eq!(names(dir.path()), ["c.jsonl"]);
    }

    #[tokio::test]
    async fn dropped_output_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("b.jsonl");
        let mut out = OutputFile::create(&target, None).unwrap();
        out.write_all(b"partial").await.unwrap();
        drop(out);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
