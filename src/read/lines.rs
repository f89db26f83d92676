//! Cutting a byte stream into batches of JSON lines. A batch owns one buffer
//! and the line boundaries inside it, plus the file, first line number and
//! first row number, so that any stage can say `file:line` in an error and
//! rows keep a stable ordinal across passes. Blank lines are not rows.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

use super::open::InputReader;
use super::place::RowPlace;

/// Target batch size in bytes: big enough to amortise channel hops, small
/// enough that `threads × 2` batches in flight stay within memory bounds.
pub const BATCH_BYTES: usize = 1 << 20;

/// Upper bound on one line, so a corrupt file cannot exhaust memory.
pub const MAX_LINE_BYTES: usize = 1 << 30;

/// One line of a batch.
#[derive(Debug, Clone, Copy)]
pub struct Line {
    /// Byte range inside the batch buffer (no trailing newline).
    pub start: usize,
    /// End of the byte range.
    pub end: usize,
    /// 1-based line number in its file; 0 when not counted (a range
    /// that starts mid-file): [`Line::number`] finds it from `offset`.
    pub line_no: u64,
    /// Byte offset of the line in its file; `u64::MAX` when unknown (a
    /// compressed file or a pipe, whose lines are always counted).
    pub offset: u64,
}

impl Line {
    /// The line's 1-based number in `path` (its file): as counted, or
    /// found from its byte offset. For messages: finding it reads the file
    /// up to the line (once per file and stretch, see
    /// [`super::place::line_at`]).
    pub fn number(&self, path: &Path) -> u64 {
        super::place::line_number(path, self.line_no, self.offset)
    }
}

/// A run of consecutive non-blank lines from one file.
#[derive(Debug)]
pub struct LineBatch {
    /// The file the lines come from.
    pub path: Arc<PathBuf>,
    /// Index of that file among its dataset's files.
    pub file: u32,
    /// Row ordinal (0-based, counting non-blank lines across all the
    /// parts one reader reads) of the first line: a row's local position,
    /// for stages that read the same parts again. Row identity across
    /// machines is its place in its file ([`RowPlace::key`]).
    pub first_row: u64,
    /// The bytes of every line, back to back.
    pub data: Vec<u8>,
    /// Line boundaries in `data`.
    pub lines: Vec<Line>,
    /// Whether the file's last line had no newline (a truncated write).
    pub unterminated_tail: bool,
    /// Where `data` starts in its file, when the file is plain (seekable).
    pub place: Option<BatchPlace>,
}

/// Where a batch read from a plain file starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchPlace {
    /// Index of the file among its source's files.
    pub file: u32,
    /// Byte offset of the batch's first byte in that file.
    pub offset: u64,
}

/// Buffers of dropped batches, for the reader to fill again. Freed
/// megabyte buffers would go back to the kernel and come back as page
/// faults on fresh zeroed pages (5% of a mix's CPU time); reusing them
/// costs nothing. At most [`MAX_SPARE_BUFFERS`] are kept, so no more
/// memory is held than the most batches ever in flight at once.
static SPARE_BUFFERS: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::new(Vec::new());

/// How many spare batch buffers are kept at most.
const MAX_SPARE_BUFFERS: usize = 16;

/// The capacity of a new batch buffer: a batch plus a long line's tail.
const BUFFER_BYTES: usize = BATCH_BYTES + BATCH_BYTES / 4;

/// An empty batch buffer: a spare one, or a new one.
fn batch_buffer() -> Vec<u8> {
    let spare = SPARE_BUFFERS.lock().ok().and_then(|mut spare| spare.pop());
    spare.unwrap_or_else(|| Vec::with_capacity(BUFFER_BYTES))
}

impl Drop for LineBatch {
    fn drop(&mut self) {
        let mut data = std::mem::take(&mut self.data);
        // Only buffers of the usual size: an outsized one (a very long
        // line) is given back to the allocator.
        if !(BUFFER_BYTES..=2 * BUFFER_BYTES).contains(&data.capacity()) {
            return;
        }
        data.clear();
        if let Ok(mut spare) = SPARE_BUFFERS.lock() {
            if spare.len() < MAX_SPARE_BUFFERS {
                spare.push(data);
            }
        }
    }
}

impl LineBatch {
    /// An empty batch of `path`'s lines starting at row `first_row`.
    pub fn new(path: Arc<PathBuf>, first_row: u64) -> Self {
        LineBatch {
            path,
            file: 0,
            first_row,
            data: batch_buffer(),
            lines: Vec::new(),
            unterminated_tail: false,
            place: None,
        }
    }

    /// A batch holding `data` split into lines (for tests and benches).
    pub fn from_bytes(path: Arc<PathBuf>, first_row: u64, data: Vec<u8>) -> Self {
        let mut batch = LineBatch::new(path, first_row);
        batch.data = data;
        split_lines(
            &mut batch,
            &mut Cursor {
                row: first_row,
                line_no: Some(0),
            },
        );
        batch
    }

    /// Where line `i` lies: always its file and line; its byte offset
    /// and length when the file is plain (seekable).
    pub fn row_place(&self, i: usize) -> RowPlace {
        let line = self.lines[i];
        match self.place {
            Some(p) => RowPlace {
                offset: p.offset + line.start as u64,
                line_no: line.line_no,
                len: u32::try_from(line.end - line.start).unwrap_or(u32::MAX),
                file: p.file,
            },
            None => RowPlace {
                line_no: line.line_no,
                file: self.file,
                ..RowPlace::UNKNOWN
            },
        }
    }

    /// The bytes of line `i`.
    pub fn line(&self, i: usize) -> &[u8] {
        let l = self.lines[i];
        &self.data[l.start..l.end]
    }

    /// The number of lines.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether the batch holds no line.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

/// Errors while splitting lines.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    /// Reading or decompressing failed.
    #[error("{path}:{line}: read failed: {source} (is the file truncated or corrupt?)")]
    Io {
        /// File.
        path: String,
        /// Line being read.
        line: u64,
        /// Cause.
        source: std::io::Error,
    },
    /// A gzip or zstd stream ended early or holds bad data.
    #[error("{path}: {format} stream is truncated or corrupt (failed near line {line}): {source}")]
    Corrupt {
        /// File.
        path: String,
        /// `gzip` or `zstd`.
        format: &'static str,
        /// Line being read.
        line: u64,
        /// Cause.
        source: std::io::Error,
    },
    /// The file cannot be opened.
    #[error("{path}: cannot open: {source}")]
    Open {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// A line is longer than [`MAX_LINE_BYTES`].
    #[error("{path}:{line}: line longer than {max} bytes; is this JSONL?")]
    TooLong {
        /// File.
        path: String,
        /// Line.
        line: u64,
        /// The limit.
        max: usize,
    },
}

impl LineError {
    /// Name a read failure in a compressed file for what it is: the
    /// decoder hit a truncated or corrupt stream. `path`'s magic bytes say
    /// whether it is compressed.
    pub fn in_file(self, path: &std::path::Path) -> Self {
        let LineError::Io {
            path: name,
            line,
            source,
        } = self
        else {
            return self;
        };
        let mut head = [0u8; 4];
        let n = std::fs::File::open(path)
            .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
            .unwrap_or(0);
        let format = match super::open::Compression::sniff(&head[..n]) {
            super::open::Compression::Gzip => "gzip",
            super::open::Compression::Zstd => "zstd",
            super::open::Compression::None => {
                return LineError::Io {
                    path: name,
                    line,
                    source,
                }
            }
        };
        LineError::Corrupt {
            path: name,
            format,
            line,
            source,
        }
    }
}

/// Where a reader starts: which file of the dataset, the ordinal of its
/// first row, and how many lines come before the bytes it reads (0 at the
/// start of a file; not counted for a shard's part of a large file that
/// starts further on).
#[derive(Debug, Clone, Copy)]
pub struct Start {
    /// Index of the file among its dataset's files.
    pub file: u32,
    /// Ordinal of the first row read.
    pub first_row: u64,
    /// Byte offset of the first byte read (plain files).
    pub offset: u64,
    /// Lines before that byte; `None` when not counted: the lines are
    /// then numbered 0 and found from their offsets ([`Line::number`]).
    /// Only plain files, read with [`read_batches_blocking`], start
    /// mid-file.
    pub lines_before: Option<u64>,
}

impl Default for Start {
    fn default() -> Self {
        Start {
            file: 0,
            first_row: 0,
            offset: 0,
            lines_before: Some(0),
        }
    }
}

/// Read `reader` to the end, sending each full batch to `tx` (stops early,
/// quietly, when the receiver is gone). Returns the
/// number of rows read.
pub async fn read_batches(
    mut reader: InputReader,
    path: Arc<PathBuf>,
    at: Start,
    tx: &mpsc::Sender<LineBatch>,
) -> Result<u64, LineError> {
    let first_row = at.first_row;
    let new_batch = |row| {
        let mut batch = LineBatch::new(path.clone(), row);
        batch.file = at.file;
        batch
    };
    let mut batch = new_batch(first_row);
    let mut row = first_row;
    // Compressed files, pipes and objects are read whole (never split).
    let mut line_no = at.lines_before.unwrap_or(0);
    loop {
        line_no += 1;
        let start = batch.data.len();
        let n = read_line(&mut reader, &mut batch.data, &path, line_no).await?;
        if n == 0 {
            break;
        }
        let terminated = batch.data.last() == Some(&b'\n');
        let mut end = batch.data.len();
        if terminated {
            end -= 1;
        }
        if end > start && batch.data[end - 1] == b'\r' {
            end -= 1;
        }
        if batch.data[start..end].iter().all(u8::is_ascii_whitespace) {
            batch.data.truncate(start);
            continue;
        }
        batch.lines.push(Line {
            start,
            end,
            line_no,
            offset: u64::MAX,
        });
        batch.unterminated_tail = !terminated;
        row += 1;
        if batch.data.len() >= BATCH_BYTES {
            let full = std::mem::replace(&mut batch, new_batch(row));
            if tx.send(full).await.is_err() {
                return Ok(row - first_row);
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.send(batch).await;
    }
    Ok(row - first_row)
}

async fn read_line(
    reader: &mut InputReader,
    buf: &mut Vec<u8>,
    path: &Arc<PathBuf>,
    line: u64,
) -> Result<usize, LineError> {
    let start = buf.len();
    loop {
        let chunk = reader.fill_buf().await.map_err(|source| LineError::Io {
            path: path.display().to_string(),
            line,
            source,
        })?;
        if chunk.is_empty() {
            return Ok(buf.len() - start);
        }
        let (take, done) = match memchr_newline(chunk) {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        buf.extend_from_slice(&chunk[..take]);
        reader.consume(take);
        if buf.len() - start > MAX_LINE_BYTES {
            return Err(LineError::TooLong {
                path: path.display().to_string(),
                line,
                max: MAX_LINE_BYTES,
            });
        }
        if done {
            return Ok(buf.len() - start);
        }
    }
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', bytes)
}

/// Read size for the blocking reader.
const READ_CHUNK: usize = 1 << 20;

/// Like [`read_batches`], for plain files on a blocking thread: bytes are
/// read straight into the batch buffer (one copy, no line-by-line calls);
/// only a line cut by the batch boundary is carried over.
/// `reader` is positioned at `at.offset`: batches record where they start
/// in the file ([`LineBatch::place`]).
pub fn read_batches_blocking(
    mut reader: impl std::io::Read,
    path: Arc<PathBuf>,
    at: Start,
    tx: &mpsc::Sender<LineBatch>,
) -> Result<u64, LineError> {
    let (file, first_row) = (at.file, at.first_row);
    let mut cursor = Cursor {
        row: first_row,
        line_no: at.lines_before,
    };
    let mut carry: Vec<u8> = Vec::new();
    let mut offset = at.offset;
    loop {
        let mut batch = LineBatch::new(path.clone(), cursor.row);
        batch.file = file;
        batch.place = Some(BatchPlace { file, offset });
        batch.data.append(&mut carry);
        // Where a read error or an endless line is reported: the first
        // line the batch holds.
        let first_line = || {
            cursor
                .line_no
                .map_or_else(|| super::place::line_at(&path, offset), |n| n + 1)
        };
        let eof = fill(&mut reader, &mut batch.data, &path, first_line)?;
        let complete = match memchr::memrchr(b'\n', &batch.data) {
            _ if eof => batch.data.len(),
            Some(nl) => nl + 1,
            None => unreachable!("fill stops at EOF or after a newline"),
        };
        carry.extend_from_slice(&batch.data[complete..]);
        batch.data.truncate(complete);
        offset += complete as u64;
        split_lines(&mut batch, &mut cursor);
        if !batch.is_empty() && tx.blocking_send(batch).is_err() {
            break;
        }
        if eof {
            break;
        }
    }
    Ok(cursor.row - first_row)
}

struct Cursor {
    row: u64,
    /// Lines so far; `None` when not counted ([`Start::lines_before`]).
    line_no: Option<u64>,
}

/// Read until the buffer holds a batch and a newline, or EOF (true).
fn fill(
    reader: &mut impl std::io::Read,
    data: &mut Vec<u8>,
    path: &Path,
    first_line: impl Fn() -> u64,
) -> Result<bool, LineError> {
    let mut scanned = 0;
    loop {
        use std::io::Read;
        // `read_to_end` reads into spare capacity: files fill it without
        // zeroing it first.
        let n = match reader.by_ref().take(READ_CHUNK as u64).read_to_end(data) {
            Ok(n) => n,
            Err(source) => {
                let path = path.display().to_string();
                return Err(LineError::Io {
                    path,
                    line: first_line(),
                    source,
                });
            }
        };
        if n == 0 {
            return Ok(true);
        }
        if data.len() >= BATCH_BYTES && memchr::memchr(b'\n', &data[scanned..]).is_some() {
            return Ok(false);
        }
        scanned = data.len();
        if data.len() > MAX_LINE_BYTES + BATCH_BYTES {
            let path = path.display().to_string();
            return Err(LineError::TooLong {
                path,
                line: first_line(),
                max: MAX_LINE_BYTES,
            });
        }
    }
}

/// Record every line of `batch.data` (all complete but maybe the last).
fn split_lines(batch: &mut LineBatch, cursor: &mut Cursor) {
    let len = batch.data.len();
    let base = batch.place.map_or(u64::MAX, |p| p.offset);
    let mut start = 0;
    while start < len {
        let (end, next, terminated) = match memchr::memchr(b'\n', &batch.data[start..]) {
            Some(i) => (start + i, start + i + 1, true),
            None => (len, len, false),
        };
        if let Some(n) = &mut cursor.line_no {
            *n += 1;
        }
        let mut stop = end;
        if stop > start && batch.data[stop - 1] == b'\r' {
            stop -= 1;
        }
        if !batch.data[start..stop].iter().all(u8::is_ascii_whitespace) {
            batch.lines.push(Line {
                start,
                end: stop,
                line_no: cursor.line_no.unwrap_or(0),
                offset: base.saturating_add(start as u64),
            });
            batch.unterminated_tail = !terminated;
            cursor.row += 1;
        }
        start = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(batches: &[LineBatch]) -> Vec<(u64, u64, Vec<u8>, bool)> {
        let mut out = Vec::new();
        for b in batches {
            for (i, l) in b.lines.iter().enumerate() {
                out.push((
                    b.first_row + i as u64,
                    l.line_no,
                    b.line(i).to_vec(),
                    b.unterminated_tail && i + 1 == b.len(),
                ));
            }
        }
        out
    }

    async fn both_ways(input: Vec<u8>) -> (Vec<(u64, u64, Vec<u8>, bool)>, u64) {
        let path = Arc::new(PathBuf::from("t.jsonl"));
        let (tx, mut rx) = mpsc::channel(1024);
        let reader: InputReader = Box::pin(std::io::Cursor::new(input.clone()));
        let at = Start {
            file: 2,
            first_row: 5,
            ..Start::default()
        };
        let rows = read_batches(reader, path.clone(), at, &tx).await.unwrap();
        drop(tx);
        let mut async_batches = Vec::new();
        while let Some(b) = rx.recv().await {
            async_batches.push(b);
        }
        let (tx, mut rx) = mpsc::channel(1024);
        let bytes = input.clone();
        let blocking_rows = tokio::task::spawn_blocking(move || {
            read_batches_blocking(std::io::Cursor::new(bytes), path, at, &tx).unwrap()
        })
        .await
        .unwrap();
        let mut blocking_batches = Vec::new();
        while let Some(b) = rx.recv().await {
            blocking_batches.push(b);
        }
        assert_eq!(rows, blocking_rows);
        assert_eq!(lines_of(&async_batches), lines_of(&blocking_batches));
        // Every line of a plain file can be found again at its place.
        for batch in &blocking_batches {
            for i in 0..batch.len() {
                let place = batch.row_place(i);
                let at = place.offset as usize..place.offset as usize + place.len as usize;
                assert_eq!((place.file, place.line_no), (2, batch.lines[i].line_no));
                assert_eq!(&input[at], batch.line(i));
            }
        }
        assert!(async_batches.iter().all(|b| b.place.is_none()));
        (lines_of(&blocking_batches), rows)
    }

    #[tokio::test]
    async fn blocking_and_async_readers_agree() {
        let (lines, rows) = both_ways(b"{\"a\":1}\r\n\n  \n{\"b\":2}\n{\"c\":3}".to_vec()).await;
        assert_eq!(rows, 3);
        assert_eq!(lines[0], (5, 1, b"{\"a\":1}".to_vec(), false));
        assert_eq!(lines[1], (6, 4, b"{\"b\":2}".to_vec(), false));
        assert_eq!(lines[2], (7, 5, b"{\"c\":3}".to_vec(), true));
        // Many batches, lines of every size around the batch boundary.
        let mut big = Vec::new();
        for i in 0..3000usize {
            big.extend(std::iter::repeat_n(b'x', (i * 7919) % 4000));
            big.push(b'\n');
        }
        let (lines, rows) = both_ways(big).await;
        assert_eq!(rows as usize, lines.len());
        assert!(rows > 2900);
        assert_eq!(both_ways(Vec::new()).await.1, 0);
    }
}
