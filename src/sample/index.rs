//! Sampling files by position: each input is memory-mapped (a compressed
//! one is first decompressed into an anonymous spill file), the byte offset
//! of every record is written to an index file, which is memory-mapped in
//! turn; then [`draw_indices`](super::reservoir::draw_indices) picks K ordinals and only those records are
//! read. Memory: the K chosen ordinals; the index costs 8 bytes per record
//! on disk; the inputs are paged in by the kernel.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use memmap2::Mmap;

use crate::read::open::{self, Compression};

/// The records of a set of files, addressable by ordinal.
pub struct RecordIndex {
    maps: Vec<Option<Mmap>>,
    /// Ordinal of each file's first record, plus the total at the end.
    first: Vec<u64>,
    offsets: Option<Mmap>,
}

impl RecordIndex {
    /// Map `files` and index their records (non-blank lines).
    pub async fn build(files: &[PathBuf], spill_dir: &Path) -> anyhow::Result<Self> {
        let index_file = tempfile::tempfile_in(spill_dir).with_context(|| {
            format!(
                "{}: cannot create the index file; set --spill-dir",
                spill_dir.display()
            )
        })?;
        let mut writer = BufWriter::with_capacity(1 << 20, index_file);
        let (mut maps, mut first) = (Vec::new(), vec![0u64]);
        for path in files {
            let map = map_plain(path, spill_dir).await?;
            let bytes = map.as_deref().unwrap_or_default();
            let n = write_offsets(bytes, &mut writer)
                .context("cannot write the index file; check --spill-dir")?;
            first.push(first.last().expect("starts at 0") + n);
            maps.push(map);
        }
        let index_file = writer.into_inner().map_err(|e| e.into_error())?;
        // SAFETY: the index is an unlinked temp file only this process holds.
        let offsets = match first.last() {
            Some(0) => None,
            _ => Some(unsafe { Mmap::map(&index_file) }.context("cannot map the index file")?),
        };
        Ok(RecordIndex {
            maps,
            first,
            offsets,
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

    /// The bytes of record `ordinal` (no newline).
    pub fn record(&self, ordinal: u64) -> &[u8] {
        let file = self.first.partition_point(|&f| f <= ordinal) - 1;
        let at = ordinal as usize * 8;
        let offsets = self.offsets.as_ref().expect("a record exists");
        let start = u64::from_le_bytes(offsets[at..at + 8].try_into().expect("8 bytes")) as usize;
        let data = &self.maps[file].as_ref().expect("the file has records")[..];
        let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
        let line = &data[start..end];
        line.strip_suffix(b"\r").unwrap_or(line)
    }
}

/// Map `path`, decompressing it into a spill file first when it is compressed.
async fn map_plain(path: &Path, spill_dir: &Path) -> anyhow::Result<Option<Mmap>> {
    let mut file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut head = [0u8; 4];
    let n = std::io::Read::read(&mut file, &mut head)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let file = if Compression::sniff(&head[..n]) == Compression::None {
        file
    } else {
        let spill = tempfile::tempfile_in(spill_dir).with_context(|| {
            format!(
                "{}: cannot create a spill file; set --spill-dir",
                spill_dir.display()
            )
        })?;
        let mut reader = open::open(path)
            .await
            .with_context(|| format!("{}: cannot open", path.display()))?;
        let mut out =
            tokio::io::BufWriter::with_capacity(1 << 20, tokio::fs::File::from_std(spill));
        tokio::io::copy_buf(&mut reader, &mut out)
            .await
            .with_context(|| format!("{}: cannot decompress into --spill-dir (truncated or corrupt input, or disk full?)", path.display()))?;
        tokio::io::AsyncWriteExt::flush(&mut out).await?;
        out.into_inner().into_std().await
    };
    if file.metadata()?.len() == 0 {
        return Ok(None);
    }
    // SAFETY: inputs are not expected to change while knowmix reads them;
    // like every mmap-based tool we cannot prevent another process from it.
    Ok(Some(unsafe { Mmap::map(&file) }.with_context(|| {
        format!("{}: cannot map", path.display())
    })?))
}

/// Write the start offset of every non-blank line of `data`; the count.
fn write_offsets(data: &[u8], out: &mut impl Write) -> std::io::Result<u64> {
    let (mut start, mut n) = (0usize, 0u64);
    while start < data.len() {
        let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
        if !data[start..end].iter().all(u8::is_ascii_whitespace) {
            out.write_all(&(start as u64).to_le_bytes())?;
            n += 1;
        }
        start = end + 1;
    }
    Ok(n)
}
