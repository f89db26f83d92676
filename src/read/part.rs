//! What one reader reads: a whole input file, or a line-aligned byte range
//! of a plain one. Shards of a mix are lists of parts, so one 50 GB file
//! can be split among machines. Nobody counts the lines before a range up
//! front (that would read the file up to it): its lines carry their byte
//! offsets, and a message finds its line number from the offset when it
//! needs one ([`super::place::line_at`]), so messages still say
//! `file:line`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A whole file or a byte range of one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// The file.
    pub path: PathBuf,
    /// Its index among its dataset's files (the `file` of [`super::RowPlace`]).
    pub file: u32,
    /// The bytes to read; `None` for the whole file (the only choice for
    /// compressed files and stdin).
    pub range: Option<ByteRange>,
}

/// Bytes `start..end` of a plain file, both at line starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ByteRange {
    /// First byte (the start of a line).
    pub start: u64,
    /// One past the last byte (the start of a line, or the file's end).
    pub end: u64,
}

impl Part {
    /// Every file whole, numbered in order.
    pub fn whole_files(files: &[PathBuf]) -> Vec<Part> {
        files
            .iter()
            .enumerate()
            .map(|(i, path)| Part {
                path: path.clone(),
                file: u32::try_from(i).expect("fewer than 2^32 files"),
                range: None,
            })
            .collect()
    }

    /// The bytes this part will read, when known without opening it.
    pub fn bytes(&self) -> Option<u64> {
        self.range.map(|r| r.end - r.start)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
