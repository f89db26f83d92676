//! Where bytes live: a local path or an object in S3-compatible storage
//! (`s3://bucket/prefix`), behind one set of calls, so that every command
//! reads and writes both the same way and nothing above this module has
//! two code paths. A corpus in object storage is never copied to local disk:
//! reads stream ([`open_range`] is a ranged GET), and outputs go up as
//! multipart uploads that are completed only when whole ([`AtomicWriter`]),
//! the object-store twin of a temp file renamed into place.
//!
//! URLs ride through the engines in `PathBuf`s (`s3://b/k` is a valid path
//! string, and `join`/`parent`/`file_name` keep working on it); this module
//! parses them at the point of I/O with [`Location::from_path`].
//!
//! Object access is configured by the standard AWS variables, read by
//! object_store's builder: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`, `AWS_REGION` (or `AWS_DEFAULT_REGION`),
//! `AWS_ENDPOINT_URL` for S3-compatible stores (MinIO, Ceph/ODF), and
//! `AWS_ALLOW_HTTP=true` for a plain-http endpoint. A dead endpoint fails in
//! seconds: the connect timeout is [`CONNECT_TIMEOUT`] (`AWS_CONNECT_TIMEOUT`
//! overrides it) and a request is retried at most [`MAX_RETRIES`] times.

mod error;
mod local;
mod object;
mod writer;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use tokio::io::AsyncRead;

pub use error::StoreError;
pub use object::{register_bucket, CONNECT_TIMEOUT, MAX_RETRIES};
pub use writer::AtomicWriter;

/// The URL scheme of S3-compatible object storage.
pub const S3_SCHEME: &str = "s3://";

/// A file or folder: a local path, or a key (prefix) in a bucket.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Location {
    /// A local path.
    Local(PathBuf),
    /// An object (or a prefix standing for a folder) in S3-compatible
    /// storage; `key` has no leading or trailing `/`, empty for the bucket.
    Object {
        /// The bucket.
        bucket: String,
        /// The key within the bucket.
        key: String,
    },
}

/// One file found by [`list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Where it is.
    pub location: Location,
    /// Its size in bytes.
    pub size: u64,
}

/// A byte stream read from a [`Location`].
pub type Reader = Pin<Box<dyn AsyncRead + Send>>;

impl Location {
    /// Parse a command-line path: `s3://bucket/key` is an object, another
    /// `scheme://` is refused, anything else is a local path.
    pub fn parse(text: &str) -> Result<Location, StoreError> {
        if let Some(rest) = text.strip_prefix(S3_SCHEME) {
            let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(StoreError::BadUrl { url: text.into() });
            }
            let key = key.split('/').filter(|p| !p.is_empty()).collect::<Vec<_>>();
            return Ok(Location::Object {
                bucket: bucket.into(),
                key: key.join("/"),
            });
        }
        match text.split_once("://") {
            Some((scheme, _)) if !scheme.is_empty() && !scheme.contains('/') => {
                Err(StoreError::BadUrl { url: text.into() })
            }
            _ => Ok(Location::Local(PathBuf::from(text))),
        }
    }

    /// The location a path stands for (see the module docs).
    pub fn from_path(path: &Path) -> Result<Location, StoreError> {
        match path.to_str() {
            Some(text) => Location::parse(text),
            None => Ok(Location::Local(path.to_path_buf())),
        }
    }

    /// Whether a path names an object rather than a local file.
    pub fn is_object_path(path: &Path) -> bool {
        path.to_str().is_some_and(|p| p.starts_with(S3_SCHEME))
    }

    /// The path form, for the engines that carry `PathBuf`s.
    pub fn to_path_buf(&self) -> PathBuf {
        match self {
            Location::Local(path) => path.clone(),
            other => PathBuf::from(other.to_string()),
        }
    }

    /// `name` inside this folder (`name` may hold `/`).
    pub fn join(&self, name: &str) -> Location {
        match self {
            Location::Local(path) => Location::Local(path.join(name)),
            Location::Object { bucket, key } => {
                let name = name.trim_matches('/');
                let key = match (key.is_empty(), name.is_empty()) {
                    (_, true) => key.clone(),
                    (true, false) => name.to_owned(),
                    (false, false) => format!("{key}/{name}"),
                };
                Location::Object {
                    bucket: bucket.clone(),
                    key,
                }
            }
        }
    }

    /// Whether this is an object location.
    pub fn is_object(&self) -> bool {
        matches!(self, Location::Object { .. })
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Local(path) => write!(f, "{}", path.display()),
            Location::Object { bucket, key } if key.is_empty() => write!(f, "{S3_SCHEME}{bucket}"),
            Location::Object { bucket, key } => write!(f, "{S3_SCHEME}{bucket}/{key}"),
        }
    }
}

/// Every file under the folder (prefix) `at`, recursively, sorted by
/// location. A folder that is not there lists as empty.
pub async fn list(at: &Location) -> Result<Vec<Entry>, StoreError> {
    let mut entries = match at {
        Location::Local(path) => local::list(path).await?,
        Location::Object { bucket, key } => object::list(bucket, key).await?,
    };
    entries.sort_by(|a, b| a.location.cmp(&b.location));
    Ok(entries)
}

/// The size of one file.
pub async fn size(at: &Location) -> Result<u64, StoreError> {
    match at {
        Location::Local(path) => local::size(path).await,
        Location::Object { bucket, key } => object::size(bucket, key).await,
    }
}

/// Whether the file `at` exists.
pub async fn exists(at: &Location) -> Result<bool, StoreError> {
    match size(at).await {
        Ok(_) => Ok(true),
        Err(StoreError::NotFound { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether the folder (prefix) `at` holds at least one file.
pub async fn folder_exists(at: &Location) -> Result<bool, StoreError> {
    match at {
        Location::Local(path) => Ok(tokio::fs::metadata(path).await.is_ok_and(|m| m.is_dir())),
        Location::Object { bucket, key } => object::any_under(bucket, key).await,
    }
}

/// Stream the bytes of `at` in `range` (the whole file when `None`): a
/// ranged GET on object storage, a seek and a bounded read on local files.
pub async fn open_range(at: &Location, range: Option<Range<u64>>) -> Result<Reader, StoreError> {
    match at {
        Location::Local(path) => local::open_range(path, range).await,
        Location::Object { bucket, key } => object::open_range(bucket, key, range).await,
    }
}

/// Read a small file whole (configs, manifests, markers).
pub async fn read_all(at: &Location) -> Result<Vec<u8>, StoreError> {
    match at {
        Location::Local(path) => tokio::fs::read(path)
            .await
            .map_err(|e| StoreError::io(at, e)),
        Location::Object { bucket, key } => object::read_all(bucket, key).await,
    }
}

/// Write a small file whole, atomically: temp file and rename locally, one
/// PUT (atomic by itself) on object storage.
pub async fn write_small_atomic(at: &Location, bytes: &[u8]) -> Result<(), StoreError> {
    match at {
        Location::Local(path) => {
            local::write_small_atomic(path, bytes).map_err(|e| StoreError::io(at, e))
        }
        Location::Object { bucket, key } => object::put(bucket, key, bytes).await,
    }
}

/// Run a store call from synchronous code: on the current multi-thread
/// runtime when there is one, else on a runtime of the store's own that
/// lives as long as the process (the clients it builds keep connections
/// spawned on it, so it must not go away).
pub fn blocking<F>(work: F) -> F::Output
where
    F: std::future::Future + Send,
    F::Output: Send,
{
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::CurrentThread => {
            std::thread::scope(|s| {
                s.spawn(|| own_runtime().block_on(work))
                    .join()
                    .expect("store thread does not panic")
            })
        }
        Ok(handle) => tokio::task::block_in_place(|| handle.block_on(work)),
        Err(_) => own_runtime().block_on(work),
    }
}

fn own_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("knowmix-store")
            .enable_all()
            .build()
            .expect("a runtime can be started")
    })
}

/// Remove the file `at`; a file that is not there is not an error.
pub async fn delete(at: &Location) -> Result<(), StoreError> {
    match at {
        Location::Local(path) => match tokio::fs::remove_file(path).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::io(at, e)),
            _ => Ok(()),
        },
        Location::Object { bucket, key } => object::delete(bucket, key).await,
    }
}

#[cfg(test)]
mod tests;
