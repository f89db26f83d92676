//! Where the few values a mix needs lie inside each wide summary row, so
//! pass 2 reads those bytes instead of the whole row. A summary row is ~28 KB
//! of which the mix uses ~2 KB (the `raw_summary` column alone is ~50
//! messages). Pass 1 scans every row anyway, so it records, per row, the
//! byte extent of each needed column's JSON value ([`ValueSpans`]) in a
//! fixed-size record of an unlinked spill file, in row order
//! ([`SpansWriter`]). Pass 2 maps that file ([`SpansIndex`], memory-mapped:
//! nothing grows on the heap with the corpus), reads just those extents of a
//! picked row with a few `pread`s, and rebuilds a compact JSON line holding
//! only the needed members, values verbatim ([`compact_line`]). Records
//! built from the compact line are byte-identical to records built from
//! the full line: the same members, the same value text, read by the same
//! scanner.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::ops::Range;
use std::path::Path;

use memmap2::Mmap;

/// Columns a summary row's record reads (question, response, document,
/// raw document, outline, reasoning).
pub const MAX_COLUMNS: usize = 6;

/// Bytes between two values below which one read takes both.
const JOIN_GAP: usize = 4096;

/// Where each needed column's value is in one row's line: `(start, len)`
/// relative to the line's first byte, in the order of the column list;
/// `len == 0` when the row lacks that column. All zero: unknown, read the
/// whole row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ValueSpans([(u32, u32); MAX_COLUMNS]);

impl ValueSpans {
    /// Encoded size.
    pub const SIZE: usize = MAX_COLUMNS * 8;

    /// The spans of `extents` (one per column, `None` when the row lacks
    /// it); unknown when there are too many or one does not fit in `u32`.
    pub fn new(extents: impl IntoIterator<Item = Option<Range<usize>>>) -> ValueSpans {
        let mut spans = [(0u32, 0u32); MAX_COLUMNS];
        for (i, extent) in extents.into_iter().enumerate() {
            let Some(slot) = spans.get_mut(i) else {
                return ValueSpans::default();
            };
            if let Some(r) = extent {
                match (u32::try_from(r.start), u32::try_from(r.len())) {
                    (Ok(start), Ok(len)) if len > 0 => *slot = (start, len),
                    _ => return ValueSpans::default(),
                }
            }
        }
        ValueSpans(spans)
    }

    /// Whether the spans are known.
    pub fn is_known(&self) -> bool {
        self.0.iter().any(|&(_, len)| len > 0)
    }

    /// Whether the spans are known and lie inside a line of `line_len`
    /// bytes (a spans file that disagrees with its row is not trusted).
    pub fn fits(&self, line_len: usize) -> bool {
        self.is_known()
            && self
                .0
                .iter()
                .all(|&(start, len)| start as usize + len as usize <= line_len)
    }

    fn encode(&self, out: &mut [u8]) {
        for (chunk, (start, len)) in out.chunks_exact_mut(8).zip(self.0) {
            chunk[..4].copy_from_slice(&start.to_le_bytes());
            chunk[4..].copy_from_slice(&len.to_le_bytes());
        }
    }

    fn decode(bytes: &[u8]) -> ValueSpans {
        let mut spans = [(0u32, 0u32); MAX_COLUMNS];
        for (slot, chunk) in spans.iter_mut().zip(bytes.chunks_exact(8)) {
            let word = |r: Range<usize>| u32::from_le_bytes(chunk[r].try_into().expect("4 bytes"));
            *slot = (word(0..4), word(4..8));
        }
        ValueSpans(spans)
    }

    /// The byte ranges (relative to the line) to read: the present values,
    /// in line order, neighbours closer than [`JOIN_GAP`] joined.
    pub fn reads(&self) -> Vec<Range<usize>> {
        let mut present: Vec<Range<usize>> = self
            .0
            .iter()
            .filter(|&&(_, len)| len > 0)
            .map(|&(start, len)| start as usize..(start + len) as usize)
            .collect();
        present.sort_by_key(|r| r.start);
        let mut reads: Vec<Range<usize>> = Vec::with_capacity(present.len());
        for r in present {
            match reads.last_mut() {
                Some(last) if r.start <= last.end + JOIN_GAP => last.end = last.end.max(r.end),
                _ => reads.push(r),
            }
        }
        reads
    }

    /// Per column, where its value is relative to the line (`None` when
    /// the row lacks it).
    pub fn values(&self) -> impl Iterator<Item = Option<Range<usize>>> + '_ {
        self.0
            .iter()
            .map(|&(start, len)| (len > 0).then(|| start as usize..(start + len) as usize))
    }
}

/// Appends one [`ValueSpans`] per row, in row order, to an unlinked file
/// in the spill folder.
pub struct SpansWriter {
    out: BufWriter<File>,
    rows: u64,
}

impl SpansWriter {
    /// A new, empty spans file in `spill_dir`.
    pub fn create(spill_dir: &Path) -> std::io::Result<SpansWriter> {
        Ok(SpansWriter {
            out: BufWriter::with_capacity(1 << 16, tempfile::tempfile_in(spill_dir)?),
            rows: 0,
        })
    }

    /// A new, empty spans file at `path` (a stage's output, kept for the
    /// next stage; written under a temporary name and renamed by
    /// [`SpansWriter::persist`]).
    pub fn create_at(path: &Path) -> std::io::Result<(SpansWriter, tempfile::TempPath)> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let temp = tempfile::Builder::new()
            .prefix(".partial-")
            .tempfile_in(dir)?;
        let (file, temp_path) = temp.into_parts();
        let writer = SpansWriter {
            out: BufWriter::with_capacity(1 << 16, file),
            rows: 0,
        };
        Ok((writer, temp_path))
    }

    /// Finish a spans file made by [`SpansWriter::create_at`]: flush,
    /// sync when `durable`, and rename it to `path`.
    pub fn persist(
        self,
        temp: tempfile::TempPath,
        path: &Path,
        durable: bool,
    ) -> std::io::Result<()> {
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        if durable {
            file.sync_all()?;
        }
        temp.persist(path).map_err(|e| e.error)
    }

    /// Rows written so far (the next row's ordinal).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Record the next row's spans.
    pub fn push(&mut self, spans: &ValueSpans) -> std::io::Result<()> {
        let mut record = [0u8; ValueSpans::SIZE];
        spans.encode(&mut record);
        self.rows += 1;
        self.out.write_all(&record)
    }

    /// Finish writing and map the file for reading.
    pub fn finish(self) -> std::io::Result<SpansIndex> {
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        if self.rows == 0 {
            return Ok(SpansIndex { map: None });
        }
        // SAFETY: the file is this process's own unlinked temp file; no one
        // else can write it while it is mapped.
        let map = unsafe { Mmap::map(&file)? };
        Ok(SpansIndex { map: Some(map) })
    }
}

/// The spans of every row of one dataset, memory-mapped.
pub struct SpansIndex {
    map: Option<Mmap>,
}

impl SpansIndex {
    /// Map a spans file a finished stage wrote.
    pub fn open(path: &Path) -> std::io::Result<SpansIndex> {
        let file = File::open(path)?;
        if file.metadata()?.len() == 0 {
            return Ok(SpansIndex { map: None });
        }
        // SAFETY: the file was renamed into place complete by the stage that
        // wrote it and is never written again (stages are idempotent and
        // skip work whose marker exists).
        let map = unsafe { Mmap::map(&file)? };
        Ok(SpansIndex { map: Some(map) })
    }

    /// The spans of `row`; unknown when out of range.
    pub fn get(&self, row: u64) -> ValueSpans {
        let at = usize::try_from(row)
            .ok()
            .and_then(|r| r.checked_mul(ValueSpans::SIZE));
        match (self.map.as_deref(), at) {
            (Some(map), Some(at)) if at + ValueSpans::SIZE <= map.len() => {
                ValueSpans::decode(&map[at..at + ValueSpans::SIZE])
            }
            _ => ValueSpans::default(),
        }
    }
}

/// Rebuild a row as a JSON object of just `columns` (names, in the order
/// of the spans), each value's text taken verbatim from `chunks`: the
/// bytes read for each of [`ValueSpans::reads`]. Appends to `out`.
pub fn compact_line(
    columns: &[String],
    spans: &ValueSpans,
    chunks: &[(Range<usize>, &[u8])],
    out: &mut Vec<u8>,
) {
    out.push(b'{');
    let mut first = true;
    for (name, value) in columns.iter().zip(spans.values()) {
        let Some(value) = value else { continue };
        let (range, bytes) = chunks
            .iter()
            .find(|(r, _)| r.start <= value.start && value.end <= r.end)
            .expect("every value lies in one of the reads");
        if !first {
            out.push(b',');
        }
        first = false;
        crate::format::json::push_python_json_string(out, name);
        out.push(b':');
        out.extend_from_slice(&bytes[value.start - range.start..value.end - range.start]);
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests;
