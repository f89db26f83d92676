//! The plumbing between stages, shared by every command: a reader task that
//! streams the files of a source as [`LineBatch`]es over a small bounded
//! channel (tokio, async I/O), and a fixed pool of CPU workers that map
//! batches to results which come back **in input order** with at most
//! `2 × threads` batches in flight. Memory is bounded by that window, and
//! the output is the same whatever the thread count.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use tokio::sync::{mpsc, oneshot};

use crate::read::lines::{read_batches, read_batches_blocking, LineError};
use crate::read::{open, LineBatch};

/// A fixed-size pool for CPU work (parse, render, count).
#[derive(Clone)]
pub struct WorkerPool {
    pool: Arc<rayon::ThreadPool>,
    threads: usize,
}

impl WorkerPool {
    /// A pool of `threads` workers (0 means one per core).
    pub fn new(threads: usize) -> Self {
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            threads
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("knowmix-worker-{i}"))
            .build()
            .expect("worker threads can be spawned");
        WorkerPool {
            pool: Arc::new(pool),
            threads,
        }
    }

    /// Number of workers.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Run `job` on a worker; the future resolves with its result.
    pub fn run<R: Send + 'static>(
        &self,
        job: impl FnOnce() -> R + Send + 'static,
    ) -> impl Future<Output = R> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        self.pool.spawn(move || {
            let _ = tx.send(job());
        });
        async move { rx.await.expect("worker finished the job") }
    }

    /// Map every item of `items` (batches, usually) through `job` on the
    /// pool, yielding results in input order.
    pub fn map_ordered<T, R, F>(
        &self,
        items: impl Stream<Item = T> + Send + 'static,
        job: F,
    ) -> impl Stream<Item = R> + Send + 'static
    where
        T: Send + 'static,
        R: Send + 'static,
        F: Fn(T) -> R + Send + Sync + 'static,
    {
        let job = Arc::new(job);
        let pool = self.clone();
        items
            .map(move |batch| {
                let job = job.clone();
                pool.run(move || job(batch))
            })
            .buffered(self.threads * 2)
    }
}

/// Stream the files of one source, in order, as batches. Row ordinals run
/// on across files. The task resolves to the number of rows read.
pub fn spawn_reader(files: Vec<PathBuf>, depth: usize) -> (BatchStream, ReaderTask) {
    let (tx, rx) = mpsc::channel(depth.max(1));
    let task = tokio::spawn(async move {
        let mut rows = 0u64;
        for path in files {
            rows += read_one(path.clone(), rows, &tx)
                .await
                .map_err(|e| e.in_file(&path))?;
            if tx.is_closed() {
                break;
            }
        }
        Ok(rows)
    });
    (tokio_stream::wrappers::ReceiverStream::new(rx), task)
}

/// Batches as they are read.
pub type BatchStream = tokio_stream::wrappers::ReceiverStream<LineBatch>;

/// The reader task: resolves to the number of rows read.
pub type ReaderTask = tokio::task::JoinHandle<Result<u64, LineError>>;

/// Read one file: plain files on a blocking thread straight into batch
/// buffers; stdin and compressed files through the async decoders.
async fn read_one(
    path: PathBuf,
    first_row: u64,
    tx: &mpsc::Sender<LineBatch>,
) -> Result<u64, LineError> {
    let open_err = |source| LineError::Open {
        path: path.display().to_string(),
        source,
    };
    if path.as_os_str() != "-" {
        let mut file = std::fs::File::open(&path).map_err(open_err)?;
        if open::Compression::sniff(&peek(&mut file).map_err(open_err)?) == open::Compression::None
        {
            let tx = tx.clone();
            let path = Arc::new(path);
            return tokio::task::spawn_blocking(move || {
                read_batches_blocking(file, path, first_row, &tx)
            })
            .await
            .expect("reader thread does not panic");
        }
    }
    let reader = open::open(&path).await.map_err(open_err)?;
    read_batches(reader, Arc::new(path), first_row, tx).await
}

/// The first bytes of `file`, leaving its position at the start.
fn peek(file: &mut std::fs::File) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek};
    let mut head = Vec::with_capacity(4);
    file.by_ref().take(4).read_to_end(&mut head)?;
    file.rewind()?;
    Ok(head)
}
