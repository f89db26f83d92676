//! The write stage: output files that appear whole or not at all, local or
//! on object storage ([`crate::store::AtomicWriter`]: a temp file renamed
//! into place, or a multipart upload completed on commit), through a large
//! buffer and, when the name ends in `.gz`/`.zst`, an async-compression
//! encoder. [`OutputFile::commit`] finishes the stream and publishes it.
//! Dropping an uncommitted output removes its temp file (aborts its
//! upload), so an error never leaves a half-written file under the final
//! name. `-` writes to stdout.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use async_compression::tokio::write::{GzipEncoder, ZstdEncoder};
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio_util::either::Either;

use crate::read::open::Compression;
use crate::store::{AtomicWriter, Location, StoreError};

/// Write buffer: stdout and files are written in large blocks.
const WRITE_BUFFER: usize = 1 << 20;

/// Prefix of temp files, so stale ones from a killed run can be recognised.
pub const PARTIAL_MARK: &str = ".partial-";

/// The name prefix of a one-process mix's work folder in
/// `training_mix/` (removed when the run ends; a killed run's is removed
/// by the next run, like its partial files).
pub const WORK_PREFIX: &str = ".work.partial-";

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

    fn store(path: &Path, source: StoreError) -> Self {
        WriteError::new(path, source.into_io_unnamed())
    }
}

/// An output being written; see the module docs.
pub struct OutputFile {
    sink: Encoder<Target>,
    target: PathBuf,
    bytes: u64,
    finished: bool,
}

impl OutputFile {
    /// Start writing `target` (`-` for stdout, `s3://...` for an object),
    /// compressed by its extension unless `compression` says otherwise.
    pub fn create(target: &Path, compression: Option<Compression>) -> Result<Self, WriteError> {
        let kind = compression.unwrap_or_else(|| Compression::from_extension(target));
        let inner = if target == Path::new("-") {
            Either::Left(FlushOnShutdown(tokio::io::stdout()))
        } else {
            let at = Location::from_path(target).map_err(|e| WriteError::store(target, e))?;
            Either::Right(AtomicWriter::create(&at).map_err(|e| WriteError::store(target, e))?)
        };
        Ok(OutputFile {
            sink: Encoder::new(inner, kind),
            target: target.into(),
            bytes: 0,
            finished: false,
        })
    }

    /// Append bytes.
    pub async fn write_all(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        self.bytes += bytes.len() as u64;
        self.sink
            .write_all(bytes)
            .await
            .map_err(|e| WriteError::new(&self.target, e))
    }

    /// Uncompressed bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Finish the stream and make it durable, without publishing it:
    /// finish every output of a set first (that is where a full disk
    /// shows), then commit them all, so a set appears whole or not at all.
    pub async fn finish(&mut self) -> Result<(), WriteError> {
        if self.finished {
            return Ok(());
        }
        let target = &self.target;
        self.sink
            .shutdown()
            .await
            .map_err(|e| WriteError::new(target, e))?;
        if let Either::Right(writer) = self.sink.get_mut() {
            writer
                .finish()
                .await
                .map_err(|e| WriteError::store(target, e))?;
        }
        self.finished = true;
        Ok(())
    }

    /// Finish the stream (if not yet) and move the file into place.
    pub async fn commit(mut self) -> Result<PathBuf, WriteError> {
        self.finish().await?;
        if let Either::Right(writer) = self.sink.get_mut() {
            writer
                .commit()
                .await
                .map_err(|e| WriteError::store(&self.target, e))?;
        }
        Ok(self.target)
    }
}

/// Where an output's bytes go: stdout, or an atomic writer (a local temp
/// file or a multipart upload). `Either` forwards `AsyncWrite` to the side
/// in use.
type Target = Either<FlushOnShutdown<tokio::io::Stdout>, AtomicWriter>;

/// A buffer and, by the output's name, a compressor in front of `W`.
enum Encoder<W: AsyncWrite> {
    Plain(BufWriter<W>),
    Gzip(BufWriter<GzipEncoder<W>>),
    Zstd(BufWriter<ZstdEncoder<W>>),
}

impl<W: AsyncWrite + Unpin> Encoder<W> {
    fn new(inner: W, kind: Compression) -> Self {
        match kind {
            Compression::None => Encoder::Plain(BufWriter::with_capacity(WRITE_BUFFER, inner)),
            Compression::Gzip => Encoder::Gzip(BufWriter::with_capacity(
                WRITE_BUFFER,
                GzipEncoder::new(inner),
            )),
            Compression::Zstd => Encoder::Zstd(BufWriter::with_capacity(
                WRITE_BUFFER,
                ZstdEncoder::new(inner),
            )),
        }
    }

    fn get_mut(&mut self) -> &mut W {
        match self {
            Encoder::Plain(w) => w.get_mut(),
            Encoder::Gzip(w) => w.get_mut().get_mut(),
            Encoder::Zstd(w) => w.get_mut().get_mut(),
        }
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for Encoder<W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Encoder::Plain(w) => Pin::new(w).poll_write(cx, buf),
            Encoder::Gzip(w) => Pin::new(w).poll_write(cx, buf),
            Encoder::Zstd(w) => Pin::new(w).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Encoder::Plain(w) => Pin::new(w).poll_flush(cx),
            Encoder::Gzip(w) => Pin::new(w).poll_flush(cx),
            Encoder::Zstd(w) => Pin::new(w).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Encoder::Plain(w) => Pin::new(w).poll_shutdown(cx),
            Encoder::Gzip(w) => Pin::new(w).poll_shutdown(cx),
            Encoder::Zstd(w) => Pin::new(w).poll_shutdown(cx),
        }
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
pub(crate) fn remove_stale_partials_of(dir: &Path, prefix: &str) {
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
/// Callable from synchronous code, inside the runtime or not.
pub fn write_small_atomic(target: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let at = Location::from_path(target).map_err(|e| WriteError::store(target, e))?;
    crate::store::blocking(crate::store::write_small_atomic(&at, bytes))
        .map_err(|e| WriteError::store(target, e))
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
