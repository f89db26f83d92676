//! Sampling files by position: each input is read once, front to back (a
//! compressed one is first decompressed into an anonymous spill file), and
//! the byte extent of every record is written to an index file; then
//! [`draw_indices`](super::reservoir::draw_indices) picks K ordinals and
//! only those records are read back, each with positional reads (`pread`)
//! of its index entry and its bytes. Nothing is memory-mapped: a file that
//! shrinks while it is sampled gives a read error naming it, not a SIGBUS,
//! and the resident size stays a few buffers whatever the inputs' size.
//! Memory: the K chosen ordinals; the index costs 16 bytes per record on
//! disk.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::read::open::{self, Compression};

/// Bytes of one index entry: the record's start and end offsets.
const ENTRY: usize = 16;

/// The records of a set of files, addressable by ordinal.
pub struct RecordIndex {
    /// Each input's plain bytes (the input itself, or its decompressed
    /// spill file), and its name for errors.
    files: Vec<(File, PathBuf)>,
    /// Ordinal of each file's first record, plus the total at the end.
    first: Vec<u64>,
    /// `ENTRY` bytes per record: start and end offsets in its file.
    index: File,
}

impl RecordIndex {
    /// Read `files` and index their records (non-blank lines).
    pub async fn build(files: &[PathBuf], spill_dir: &Path) -> anyhow::Result<Self> {
        let index_file = tempfile::tempfile_in(spill_dir).with_context(|| {
            format!(
                "{}: cannot create the index file; set --spill-dir",
                spill_dir.display()
            )
        })?;
        let mut writer = BufWriter::with_capacity(1 << 20, index_file);
        let (mut plain, mut first) = (Vec::new(), vec![0u64]);
        for path in files {
            let file = plain_file(path, spill_dir).await?;
            let n = write_extents(&file, &mut writer).with_context(|| {
                format!(
                    "{}: cannot index (or write the index into --spill-dir)",
                    path.display()
                )
            })?;
            first.push(first.last().expect("starts at 0") + n);
            plain.push((file, path.clone()));
        }
        let index = writer.into_inner().map_err(|e| e.into_error())?;
        Ok(RecordIndex {
            files: plain,
            first,
            index,
        })
    }

    /// The number of records.
    pub fn len(&self) -> u64 {
        *self.first.last().expect("starts at 0")
    }

    /// Whether there is no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Append the bytes of record `ordinal` (no newline, no `\r`) to `out`.
    pub fn read_record(&self, ordinal: u64, out: &mut Vec<u8>) -> anyhow::Result<()> {
        let file = self.first.partition_point(|&f| f <= ordinal) - 1;
        let mut entry = [0u8; ENTRY];
        self.index
            .read_exact_at(&mut entry, ordinal * ENTRY as u64)
            .context("cannot read the index file in --spill-dir")?;
        let start = u64::from_le_bytes(entry[..8].try_into().expect("8 bytes"));
        let end = u64::from_le_bytes(entry[8..].try_into().expect("8 bytes"));
        let (data, path) = &self.files[file];
        let at = out.len();
        out.resize(at + (end - start) as usize, 0);
        data.read_exact_at(&mut out[at..], start).with_context(|| {
            format!(
                "{}: cannot read a sampled record at byte {start} (did the file change while it was sampled?)",
                path.display()
            )
        })?;
        if out.last() == Some(&b'\r') {
            out.pop();
        }
        Ok(())
    }
}

/// `path` as plain bytes: the file itself, or its decompressed copy in an
/// anonymous spill file when it is compressed.
async fn plain_file(path: &Path, spill_dir: &Path) -> anyhow::Result<File> {
    let mut file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut head = [0u8; 4];
    let n = file
        .read(&mut head)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    if Compression::sniff(&head[..n]) == Compression::None {
        return Ok(file);
    }
    let spill = tempfile::tempfile_in(spill_dir).with_context(|| {
        format!(
            "{}: cannot create a spill file; set --spill-dir",
            spill_dir.display()
        )
    })?;
    let mut reader = open::open(path)
        .await
        .with_context(|| format!("{}: cannot open", path.display()))?;
    let mut out = tokio::io::BufWriter::with_capacity(1 << 20, tokio::fs::File::from_std(spill));
    tokio::io::copy_buf(&mut reader, &mut out)
        .await
        .with_context(|| format!("{}: cannot decompress into --spill-dir (truncated or corrupt input, or disk full?)", path.display()))?;
    tokio::io::AsyncWriteExt::flush(&mut out).await?;
    Ok(out.into_inner().into_std().await)
}

/// Write the (start, end) offsets of every non-blank line of `file`, read
/// front to back in 1 MiB blocks; the count.
fn write_extents(file: &File, out: &mut impl Write) -> std::io::Result<u64> {
    let mut lines = LineExtents::default();
    let mut block = vec![0u8; 1 << 20];
    let mut n = 0;
    let mut base = 0u64;
    // Positional reads: from the start, whatever the handle's position
    // (the sniff read 4 bytes).
    loop {
        let got = file.read_at(&mut block, base)?;
        if got == 0 {
            break;
        }
        n += lines.feed(&block[..got], base, out)?;
        base += got as u64;
    }
    n += lines.finish(base, out)?;
    Ok(n)
}

/// Line extents across blocks: where the current line started and whether
/// it has a byte that is not whitespace yet.
#[derive(Default)]
struct LineExtents {
    start: u64,
    nonblank: bool,
}

impl LineExtents {
    /// Account for `block`, which starts at file offset `base`.
    fn feed(&mut self, block: &[u8], base: u64, out: &mut impl Write) -> std::io::Result<u64> {
        let mut n = 0;
        let mut from = 0;
        for nl in memchr::memchr_iter(b'\n', block) {
            self.see(&block[from..nl]);
            n += self.end(base + nl as u64, out)?;
            self.start = base + nl as u64 + 1;
            from = nl + 1;
        }
        self.see(&block[from..]);
        Ok(n)
    }

    fn see(&mut self, bytes: &[u8]) {
        self.nonblank = self.nonblank || !bytes.iter().all(u8::is_ascii_whitespace);
    }

    /// The current line ends at `end`: write it when it is not blank.
    fn end(&mut self, end: u64, out: &mut impl Write) -> std::io::Result<u64> {
        let keep = std::mem::take(&mut self.nonblank);
        if keep {
            out.write_all(&self.start.to_le_bytes())?;
            out.write_all(&end.to_le_bytes())?;
        }
        Ok(u64::from(keep))
    }

    /// The file ends at `len`: a last line without a newline counts.
    fn finish(&mut self, len: u64, out: &mut impl Write) -> std::io::Result<u64> {
        if self.start < len {
            self.end(len, out)
        } else {
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extents(data: &[u8], block: usize) -> Vec<(u64, u64)> {
        let mut lines = LineExtents::default();
        let mut out = Vec::new();
        let mut base = 0;
        for chunk in data.chunks(block) {
            lines.feed(chunk, base, &mut out).unwrap();
            base += chunk.len() as u64;
        }
        lines.finish(base, &mut out).unwrap();
        out.chunks(ENTRY)
            .map(|e| {
                (
                    u64::from_le_bytes(e[..8].try_into().unwrap()),
                    u64::from_le_bytes(e[8..].try_into().unwrap()),
                )
            })
            .collect()
    }

    #[test]
    fn skips_blank_lines_whatever_the_block_size() {
        let data = b"{\"a\":1}\n\n  \t\n{\"b\":2}\r\n   x\n{\"c\":3}";
        let want = vec![(0, 7), (13, 21), (22, 26), (27, 34)];
        for block in 1..=data.len() {
            assert_eq!(extents(data, block), want, "block {block}");
        }
        assert!(extents(b"\n \n", 2).is_empty());
    }

    /// A file that shrinks after it was indexed gives an error naming it
    /// (a memory map would have died of SIGBUS).
    #[test]
    fn a_file_truncated_after_indexing_is_an_error_not_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let line = format!("{{\"x\":\"{}\"}}\n", "y".repeat(5000));
        std::fs::write(&path, line.repeat(100)).unwrap();
        let runtime = crate::pipeline::runtime().unwrap();
        let index = runtime
            .block_on(RecordIndex::build(std::slice::from_ref(&path), dir.path()))
            .unwrap();
        assert_eq!(index.len(), 100);
        let mut out = Vec::new();
        index.read_record(99, &mut out).unwrap();
        assert_eq!(out, line.trim_end().as_bytes());
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(10)
            .unwrap();
        let err = index.read_record(99, &mut out).unwrap_err();
        assert!(
            format!("{err:#}").contains("a.jsonl: cannot read a sampled record"),
            "{err:#}"
        );
    }
}
