//! Files that appear whole or not at all. Locally, bytes go to a temp file
//! beside the destination (`.NAME.partial-XXXX`) that is fsynced and renamed
//! into place on commit; while it grows, a blocking task syncs what has
//! reached it every [`SYNC_EVERY`] bytes, so the final fsync waits only for
//! the tail (on virtual disks one fsync of a large new file costs ~0.1 s
//! however early its pages were written back). On object storage, bytes go
//! up as the parts of a multipart upload ([`PART_SIZE`] each, at most
//! [`PARTS_IN_FLIGHT`] at a time, so memory stays bounded), and the object
//! exists only once commit completes the upload. Dropping an uncommitted
//! writer removes the temp file or aborts the upload.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use object_store::path::Path as ObjectPath;
use object_store::{MultipartUpload, ObjectStore, ObjectStoreExt, WriteMultipart};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::{local, object, Location, StoreError};

/// Bytes written between two background syncs of a local file.
pub const SYNC_EVERY: u64 = 8 << 20;

/// Size of one uploaded part: S3 allows 10,000 parts, so objects up to
/// 160 GB.
pub const PART_SIZE: usize = 16 << 20;

/// Parts uploading at once.
pub const PARTS_IN_FLIGHT: usize = 2;

/// How long a dropped writer waits for its upload to be aborted.
const ABORT_WAIT: Duration = Duration::from_secs(5);

/// A file being written; see the module docs. Write with `AsyncWrite`, then
/// `shutdown`, [`AtomicWriter::finish`], [`AtomicWriter::commit`].
pub struct AtomicWriter {
    location: Location,
    inner: Inner,
}

enum Inner {
    Local(LocalFile),
    Object(Upload),
    Committed,
}

impl AtomicWriter {
    /// Start writing `at`. Local folders are made as needed; on object
    /// storage nothing is sent before the first bytes.
    pub fn create(at: &Location) -> Result<AtomicWriter, StoreError> {
        let inner = match at {
            Location::Local(path) => {
                let temp = local::temp_file(path).map_err(|e| StoreError::io(at, e))?;
                Inner::Local(LocalFile::new(temp, path.clone()))
            }
            Location::Object { bucket, key } => Inner::Object(Upload::Idle {
                client: object::client(bucket)?,
                path: ObjectPath::from(key.as_str()),
            }),
        };
        Ok(AtomicWriter {
            location: at.clone(),
            inner,
        })
    }

    /// Where the file goes.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// After `shutdown`: make the bytes durable without publishing them
    /// (local: wait for the background sync, fsync). Finish every file of
    /// a set first (that is where a full disk shows), then commit them all.
    pub async fn finish(&mut self) -> Result<(), StoreError> {
        if let Inner::Local(file) = &mut self.inner {
            file.finish()
                .await
                .map_err(|e| StoreError::io(&self.location, e))?;
        }
        Ok(())
    }

    /// Publish the file: rename the temp file into place, or complete the
    /// upload. Call after `shutdown` and [`AtomicWriter::finish`].
    pub async fn commit(&mut self) -> Result<(), StoreError> {
        let inner = std::mem::replace(&mut self.inner, Inner::Committed);
        // (Not a method on `self`: a borrow of `self` held across the
        // awaits below would keep this future from being `Send`.)
        let location = &self.location;
        let err = |e| error_at(location, e);
        match inner {
            Inner::Local(mut file) => {
                file.finish()
                    .await
                    .map_err(|e| StoreError::io(&self.location, e))?;
                file.persist()
                    .map_err(|e| StoreError::io(&self.location, e))?;
            }
            Inner::Object(Upload::Idle { client, path }) => {
                client.put(&path, Vec::new().into()).await.map_err(err)?;
            }
            Inner::Object(Upload::Starting(start)) => {
                let upload = start.await.map_err(err)?;
                WriteMultipart::new(upload).finish().await.map_err(err)?;
            }
            Inner::Object(Upload::Open(upload)) => {
                upload.finish().await.map_err(err)?;
            }
            Inner::Committed => {}
        }
        Ok(())
    }
}

fn error_at(at: &Location, err: object_store::Error) -> StoreError {
    match at {
        Location::Object { bucket, key } => object::error(bucket, key, err),
        local => StoreError::Other {
            url: local.to_string(),
            reason: err.to_string(),
        },
    }
}

impl AsyncWrite for AtomicWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let AtomicWriter { location, inner } = &mut *self;
        match inner {
            Inner::Local(file) => file.poll_write(cx, buf),
            Inner::Object(upload) => {
                let ready = ready!(upload.poll_ready(cx, PARTS_IN_FLIGHT));
                ready.map_err(|e| std::io::Error::from(error_at(location, e)))?;
                let Upload::Open(open) = upload else {
                    unreachable!("poll_ready opens the upload")
                };
                open.write(buf);
                Poll::Ready(Ok(buf.len()))
            }
            Inner::Committed => Poll::Ready(Err(std::io::Error::other("write after commit"))),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match &mut self.inner {
            Inner::Local(file) => Pin::new(&mut file.file).poll_flush(cx),
            _ => Poll::Ready(Ok(())),
        }
    }

    /// Local: flush. Object: wait until every full part is uploaded (the
    /// last, partial one goes up on commit).
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let AtomicWriter { location, inner } = &mut *self;
        match inner {
            Inner::Local(file) => Pin::new(&mut file.file).poll_shutdown(cx),
            Inner::Object(Upload::Idle { .. }) | Inner::Committed => Poll::Ready(Ok(())),
            Inner::Object(upload) => {
                let ready = ready!(upload.poll_ready(cx, 0));
                Poll::Ready(ready.map_err(|e| error_at(location, e).into()))
            }
        }
    }
}

impl Drop for AtomicWriter {
    fn drop(&mut self) {
        if let Inner::Object(Upload::Open(upload)) =
            std::mem::replace(&mut self.inner, Inner::Committed)
        {
            abort_upload(upload);
        }
    }
}

/// Abort an unfinished upload so no parts linger: waited for when the
/// runtime allows blocking here, else left to a task.
fn abort_upload(upload: WriteMultipart) {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let abort = async move {
        let _ = tokio::time::timeout(ABORT_WAIT, upload.abort()).await;
    };
    match handle.runtime_flavor() {
        tokio::runtime::RuntimeFlavor::CurrentThread => {
            handle.spawn(abort);
        }
        _ => tokio::task::block_in_place(|| handle.block_on(abort)),
    }
}

type Starting =
    Pin<Box<dyn Future<Output = object_store::Result<Box<dyn MultipartUpload>>> + Send>>;

/// A multipart upload, started on the first write.
enum Upload {
    Idle {
        client: std::sync::Arc<dyn ObjectStore>,
        path: ObjectPath,
    },
    Starting(Starting),
    Open(WriteMultipart),
}

impl Upload {
    /// Start the upload if needed, then wait until at most `in_flight`
    /// parts are uploading.
    fn poll_ready(
        &mut self,
        cx: &mut Context<'_>,
        in_flight: usize,
    ) -> Poll<object_store::Result<()>> {
        loop {
            match self {
                Upload::Idle { client, path } => {
                    let (client, path) = (client.clone(), path.clone());
                    *self = Upload::Starting(Box::pin(
                        async move { client.put_multipart(&path).await },
                    ));
                }
                Upload::Starting(start) => {
                    let upload = ready!(start.as_mut().poll(cx))?;
                    *self = Upload::Open(WriteMultipart::new_with_chunk_size(upload, PART_SIZE));
                }
                Upload::Open(open) => return open.poll_for_capacity(cx, in_flight),
            }
        }
    }
}

/// A local temp file on its way to `target`.
struct LocalFile {
    file: tokio::fs::File,
    temp: Option<tempfile::TempPath>,
    target: PathBuf,
    bytes: u64,
    syncing: Option<BackgroundSync>,
}

impl LocalFile {
    fn new(temp: tempfile::NamedTempFile, target: PathBuf) -> Self {
        let (file, path) = temp.into_parts();
        let syncing = file.try_clone().ok().map(|f| BackgroundSync {
            file: std::sync::Arc::new(f),
            started_at: 0,
            running: None,
        });
        LocalFile {
            file: tokio::fs::File::from_std(file),
            temp: Some(path),
            target,
            bytes: 0,
            syncing,
        }
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let written = ready!(Pin::new(&mut self.file).poll_write(cx, buf))?;
        self.bytes += written as u64;
        if let Some(syncing) = &mut self.syncing {
            syncing.poke(self.bytes);
        }
        Poll::Ready(Ok(written))
    }

    async fn finish(&mut self) -> std::io::Result<()> {
        self.file.flush().await?;
        if let Some(syncing) = &mut self.syncing {
            syncing.settle().await;
        }
        if let Some(temp) = &self.temp {
            std::fs::File::open(temp)?.sync_all()?;
        }
        Ok(())
    }

    fn persist(&mut self) -> std::io::Result<()> {
        if let Some(temp) = self.temp.take() {
            temp.persist(&self.target).map_err(|e| e.error)?;
        }
        Ok(())
    }
}

/// Syncs a growing file in the background: at most one sync at a time.
struct BackgroundSync {
    file: std::sync::Arc<std::fs::File>,
    /// Byte count when the last sync was started.
    started_at: u64,
    running: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl BackgroundSync {
    /// Start a sync if `bytes` grew enough and none is running.
    fn poke(&mut self, bytes: u64) {
        let idle = self.running.as_ref().is_none_or(|r| r.is_finished());
        if idle && bytes - self.started_at >= SYNC_EVERY {
            self.started_at = bytes;
            let file = self.file.clone();
            // Its outcome is seen by the final fsync, which reports errors.
            self.running = Some(tokio::task::spawn_blocking(move || file.sync_data()));
        }
    }

    /// Wait for the running sync, if any.
    async fn settle(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = running.await;
        }
    }
}
