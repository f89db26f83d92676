//! Opening inputs: a path, an `s3://` URL ([`crate::store`]) or `-`
//! (stdin), decompressed by what its first bytes say (gzip `1f 8b`, zstd
//! `28 b5 2f fd`) whatever its name, through async-compression on the tokio
//! side.

use std::ops::Range;
use std::path::Path;
use std::pin::Pin;

use async_compression::tokio::bufread::{GzipDecoder, ZstdDecoder};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};

use crate::store::{Location, StoreError};

/// A decompressed byte stream.
pub type InputReader = Pin<Box<dyn AsyncBufRead + Send>>;

/// Read buffer size: large blocks keep syscalls and decoder calls rare.
const READ_BUFFER: usize = 1 << 20;

/// What a stream's first bytes say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Plain bytes.
    #[default]
    None,
    /// gzip (possibly multi-member, like `cat a.gz b.gz`).
    Gzip,
    /// zstd (possibly several frames).
    Zstd,
}

impl Compression {
    /// Recognise a stream by its magic bytes.
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    /// The suffix a file compressed this way carries after `.jsonl`.
    pub fn suffix(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
            Compression::Zstd => ".zst",
        }
    }

    /// Choose output compression from a file name's extension.
    pub fn from_extension(path: &Path) -> Compression {
        match path.extension().and_then(|e| e.to_str()) {
            Some("gz") => Compression::Gzip,
            Some("zst") | Some("zstd") => Compression::Zstd,
            _ => Compression::None,
        }
    }
}

/// Open `path` (`-` is stdin, `s3://...` an object) for reading,
/// decompressing as needed.
pub async fn open(path: &Path) -> std::io::Result<InputReader> {
    let raw: Pin<Box<dyn AsyncBufRead + Send>> = if path == Path::new("-") {
        Box::pin(BufReader::with_capacity(READ_BUFFER, tokio::io::stdin()))
    } else {
        open_raw(path, None).await?
    };
    decompress(raw).await
}

/// The bytes of `path` in `range` (all when `None`) as stored, without
/// decompressing: a seek on a local file, a ranged GET on an object.
pub async fn open_raw(path: &Path, range: Option<Range<u64>>) -> std::io::Result<InputReader> {
    // The caller names the file: the errors leave out the URL.
    let at = Location::from_path(path).map_err(StoreError::into_io_unnamed)?;
    let reader = crate::store::open_range(&at, range)
        .await
        .map_err(StoreError::into_io_unnamed)?;
    Ok(Box::pin(BufReader::with_capacity(READ_BUFFER, reader)))
}

/// Wrap `raw` in the decoder its magic bytes call for.
pub async fn decompress(mut raw: InputReader) -> std::io::Result<InputReader> {
    let kind = Compression::sniff(raw.fill_buf().await?);
    Ok(match kind {
        Compression::None => raw,
        Compression::Gzip => {
            let mut decoder = GzipDecoder::new(raw);
            decoder.multiple_members(true);
            Box::pin(BufReader::with_capacity(READ_BUFFER, decoder))
        }
        Compression::Zstd => {
            let mut decoder = ZstdDecoder::new(raw);
            decoder.multiple_members(true);
            Box::pin(BufReader::with_capacity(READ_BUFFER, decoder))
        }
    })
}
