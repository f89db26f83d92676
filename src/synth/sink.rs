//! Output files of the generator: one dataset folder, `F` JSON-lines files,
//! each plain, gzip or zstd, written under a temporary name and renamed into
//! place when complete. Counts the bytes that reach the disk.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::Compression;

/// A writer that counts what passes through it.
struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

type Disk = Counting<BufWriter<File>>;

enum Encoder {
    Plain(Disk),
    Gzip(flate2::write::GzEncoder<Disk>),
    Zstd(zstd::Encoder<'static, Disk>),
}

/// One output file being written.
struct OutFile {
    tmp: PathBuf,
    dst: PathBuf,
    enc: Encoder,
}

impl OutFile {
    fn create(dir: &Path, name: String, kind: Compression) -> io::Result<Self> {
        let dst = dir.join(&name);
        let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
        let disk = Counting {
            inner: BufWriter::with_capacity(1 << 20, File::create(&tmp)?),
            bytes: 0,
        };
        let enc = match kind {
            Compression::None | Compression::Mixed => Encoder::Plain(disk),
            Compression::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(
                disk,
                flate2::Compression::default(),
            )),
            Compression::Zstd => Encoder::Zstd(zstd::Encoder::new(disk, 3)?),
        };
        Ok(OutFile { tmp, dst, enc })
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match &mut self.enc {
            Encoder::Plain(w) => w.write_all(buf),
            Encoder::Gzip(w) => w.write_all(buf),
            Encoder::Zstd(w) => w.write_all(buf),
        }
    }

    fn disk_bytes(&self) -> u64 {
        match &self.enc {
            Encoder::Plain(w) => w.bytes,
            Encoder::Gzip(w) => w.get_ref().bytes,
            Encoder::Zstd(w) => w.get_ref().bytes,
        }
    }

    fn finish(self) -> io::Result<(PathBuf, u64)> {
        let mut disk = match self.enc {
            Encoder::Plain(w) => w,
            Encoder::Gzip(w) => w.finish()?,
            Encoder::Zstd(w) => w.finish()?,
        };
        disk.flush()?;
        let bytes = disk.bytes;
        drop(disk.inner.into_inner().map_err(|e| e.into_error())?);
        fs::rename(&self.tmp, &self.dst)?;
        Ok((self.dst, bytes))
    }
}

/// The files of one dataset folder.
pub struct DatasetSink {
    dir: PathBuf,
    files: Vec<OutFile>,
    /// Rows written.
    pub rows: u64,
}

/// The file name of file `i` of `n` with compression `kind`.
pub fn file_name(i: usize, n: usize, kind: Compression) -> String {
    let ext = match kind {
        Compression::None => "",
        Compression::Gzip => ".gz",
        Compression::Zstd => ".zst",
        Compression::Mixed => unreachable!("resolved per file"),
    };
    if n == 1 {
        format!("gen.jsonl{ext}")
    } else {
        format!("gen-{i:05}-of-{n:05}.jsonl{ext}")
    }
}

impl DatasetSink {
    /// Create `dir` and `n` files in it; `mixed` compression cycles none,
    /// gzip, zstd over the files.
    pub fn create(dir: PathBuf, n: usize, kind: Compression) -> io::Result<Self> {
        fs::create_dir_all(&dir)?;
        let mut files = Vec::with_capacity(n);
        for i in 0..n {
            let k = kind.for_file(i);
            files.push(OutFile::create(&dir, file_name(i, n, k), k)?);
        }
        Ok(DatasetSink {
            dir,
            files,
            rows: 0,
        })
    }

    /// Write `rows` to file `which` (modulo the file count).
    pub fn write_rows(&mut self, which: usize, rows: &[Vec<u8>]) -> io::Result<()> {
        let n = self.files.len();
        let file = &mut self.files[which % n];
        for row in rows {
            file.write_all(row)?;
        }
        self.rows += rows.len() as u64;
        Ok(())
    }

    /// Bytes on disk so far (compressed bytes for compressed files).
    pub fn disk_bytes(&self) -> u64 {
        self.files.iter().map(OutFile::disk_bytes).sum()
    }

    /// Finish every file, rename it into place, and delete stale `gen*`
    /// JSON-lines files left in the folder by an earlier run. Returns the
    /// bytes on disk.
    pub fn finish(self) -> io::Result<u64> {
        let mut kept = Vec::new();
        let mut total = 0;
        for f in self.files {
            let (path, bytes) = f.finish()?;
            kept.push(path);
            total += bytes;
        }
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let ours = name.starts_with("gen")
                && [".jsonl", ".jsonl.gz", ".jsonl.zst"]
                    .iter()
                    .any(|e| name.ends_with(e));
            if ours && !kept.contains(&path) {
                fs::remove_file(&path)?;
            }
        }
        Ok(total)
    }
}
