//! Where a row is. A row's identity is (file, line), never a global
//! ordinal, so index runs made on different machines, from different parts
//! of the same files, merge and agree; the byte offset lets a later stage
//! read just that row again.

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
    /// The row's identity as one ordered number: file, then line. Files of
    /// more than 2^40 lines or datasets of more than 2^24 files are beyond
    /// any real corpus.
    pub fn key(&self) -> u64 {
        (u64::from(self.file) << 40) | (self.line_no & ((1 << 40) - 1))
    }
}
