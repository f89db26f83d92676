//! Where a row is. A row's identity is (file, byte offset) in a plain
//! file and (file, line) in a compressed one (read whole, never split),
//! never a global ordinal, so index runs made on different machines, from
//! different parts of the same files, merge and agree; the byte offset
//! lets a later stage read just that row again.
//!
//! Line numbers are for messages. A shard's part of a large file starts
//! mid-file, and counting the lines before it would mean reading the file
//! up to there (what made `shard plan` cost as much as an index shard), so
//! its lines are not counted: a message finds its line number from the
//! byte offset ([`line_at`]) when it needs one.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Where a row's line lies: its file (index among its dataset's files)
/// and line, which together are the row's identity on any machine, and,
/// in a plain (seekable) file, its byte offset and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RowPlace {
    /// Byte offset of the line in its file; `u64::MAX` when unknown
    /// (a compressed file or a pipe).
    pub offset: u64,
    /// 1-based line number, for messages.
    pub line_no: u64,
    /// Length of the line, without its newline.
    pub len: u32,
    /// Index of the file among its dataset's files.
    pub file: u32,
}

impl RowPlace {
    /// A row that can only be reached by streaming its file.
    pub const UNKNOWN: RowPlace = RowPlace {
        offset: u64::MAX,
        line_no: 0,
        len: 0,
        file: 0,
    };
    /// Encoded size in bytes.
    pub const SIZE: usize = 24;

    /// Whether the row can be read at its offset.
    pub fn is_known(&self) -> bool {
        self.offset != u64::MAX
    }

    /// Encode into `out` (exactly [`RowPlace::SIZE`] bytes).
    pub fn encode(&self, out: &mut [u8]) {
        out[..8].copy_from_slice(&self.offset.to_le_bytes());
        out[8..16].copy_from_slice(&self.line_no.to_le_bytes());
        out[16..20].copy_from_slice(&self.len.to_le_bytes());
        out[20..24].copy_from_slice(&self.file.to_le_bytes());
    }

    /// Decode from [`RowPlace::SIZE`] bytes.
    pub fn decode(b: &[u8]) -> Self {
        RowPlace {
            offset: u64::from_le_bytes(b[..8].try_into().expect("8 bytes")),
            line_no: u64::from_le_bytes(b[8..16].try_into().expect("8 bytes")),
            len: u32::from_le_bytes(b[16..20].try_into().expect("4 bytes")),
            file: u32::from_le_bytes(b[20..24].try_into().expect("4 bytes")),
        }
    }
}

impl RowPlace {
    /// The row's identity, ordered as the rows are in their files: the
    /// file, then the byte offset (plain files) or the line number
    /// (compressed ones, which are read whole, so always counted).
    pub fn key(&self) -> (u32, u64) {
        let within = if self.is_known() {
            self.offset
        } else {
            self.line_no
        };
        (self.file, within)
    }

    /// The row's 1-based line number in `path` (its file), for messages:
    /// as counted, or found from its byte offset ([`line_at`]).
    pub fn line(&self, path: &Path) -> u64 {
        line_number(path, self.line_no, self.offset)
    }
}

/// A line's 1-based number in `path`: `line_no` when counted (not 0) or
/// when the offset is unknown (`u64::MAX`: compressed files and pipes are
/// always counted), else found from the byte `offset` ([`line_at`]).
pub fn line_number(path: &Path, line_no: u64, offset: u64) -> u64 {
    if line_no != 0 || offset == u64::MAX {
        return line_no;
    }
    line_at(path, offset)
}

/// Lines counted so far, per file: byte offset of a line start -> lines
/// before it. Messages about nearby lines count on from the nearest.
/// At most [`MARKS_PER_FILE`] are kept per file (every other one is
/// dropped when full), so millions of rejected rows hold little memory.
static COUNTED: Mutex<Option<HashMap<PathBuf, BTreeMap<u64, u64>>>> = Mutex::new(None);

/// The 1-based number of the line that starts at byte `offset` of `path`:
/// the newlines before it, counted from the nearest offset counted before
/// (so a run's messages about one file read it about once), plus one. For
/// messages only; 0 when the file cannot be read.
pub fn line_at(path: &Path, offset: u64) -> u64 {
    let (from, before) = {
        let counted = COUNTED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        counted
            .as_ref()
            .and_then(|m| m.get(path))
            .and_then(|marks| marks.range(..=offset).next_back())
            .map_or((0, 0), |(&at, &lines)| (at, lines))
    };
    let Ok(newlines) = count_newlines(path, from, offset) else {
        return 0;
    };
    let lines = before + newlines;
    let mut counted = COUNTED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let marks = counted
        .get_or_insert_with(HashMap::new)
        .entry(path.to_path_buf())
        .or_default();
    if marks.len() >= MARKS_PER_FILE {
        let mut keep = false;
        marks.retain(|_, _| {
            keep = !keep;
            keep
        });
    }
    marks.insert(offset, lines);
    lines + 1
}

/// How many counted offsets [`line_at`] keeps per file.
const MARKS_PER_FILE: usize = 4096;

/// The newlines in bytes `from..to` of `path`.
fn count_newlines(path: &Path, from: u64, to: u64) -> std::io::Result<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(from))?;
    let mut rest = file.take(to.saturating_sub(from));
    let mut buf = vec![0u8; 1 << 20];
    let mut lines = 0u64;
    loop {
        let n = rest.read(&mut buf)?;
        if n == 0 {
            return Ok(lines);
        }
        lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line's number found from its offset, in an order that jumps
    /// back and forth and past the marks kept per file, equals its count.
    #[test]
    fn line_at_finds_every_line_from_its_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lines.jsonl");
        let mut text = Vec::new();
        let mut starts = Vec::new();
        for i in 0..(MARKS_PER_FILE + 1500) {
            starts.push(text.len() as u64);
            text.extend_from_slice(format!("{{\"row\":{i}}}").as_bytes());
            text.extend_from_slice(if i % 7 == 0 { b"\r\n\n" } else { b"\n" });
        }
        std::fs::write(&path, &text).unwrap();
        let number = |offset: u64| {
            1 + text[..offset as usize]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64
        };
        // A fixed shuffle: stride through the lines from several places.
        let n = starts.len();
        for k in 0..n {
            let at = starts[(k * 7919 + 13) % n];
            assert_eq!(line_at(&path, at), number(at), "offset {at}");
        }
        assert!(COUNTED.lock().unwrap().as_ref().unwrap()[&path].len() <= MARKS_PER_FILE);
        assert_eq!(line_at(&dir.path().join("gone"), 10), 0);
    }
}
