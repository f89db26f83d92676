//! The plumbing between stages, shared by every command: a reader task that
//! streams the files of a source as [`LineBatch`]es over a small bounded
//! channel (tokio, async I/O), and a fixed pool of CPU workers that map
//! batches to results which come back **in input order** with at most
//! `2 × threads` batches in flight. Memory is bounded by that window, and
//! the output is the same whatever the thread count.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::{Stream, StreamExt};
use tokio::sync::{mpsc, oneshot};

use crate::read::lines::{
    read_batches, read_batches_blocking, Line, LineError, Start, BATCH_BYTES,
};
use crate::read::part::Part;
use crate::read::{open, LineBatch};
use crate::select::Pick;
use crate::value_spans::{compact_line, SpansIndex, ValueSpans};

/// The tokio runtime every engine and command runs on: two threads for
/// I/O and coordination (CPU work goes to a [`WorkerPool`]).
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

/// The worker count for `--threads N`: 0 means one per core; capped at
/// [`MAX_THREADS_PER_CORE`] per core ([`thread_count`]).
pub fn resolve_threads(threads: usize) -> usize {
    thread_count(threads).0
}

/// A fixed-size pool for CPU work (parse, render, count).
#[derive(Clone)]
pub struct WorkerPool {
    pool: Arc<rayon::ThreadPool>,
    threads: usize,
}

/// Most worker threads per core: more only cost memory and start-up time
/// (`--threads 100000` used to spawn threads for minutes).
pub const MAX_THREADS_PER_CORE: usize = 4;

/// The worker count for a requested `threads` (0: one per core), capped at
/// [`MAX_THREADS_PER_CORE`] per core; and whether the cap applied.
pub fn thread_count(threads: usize) -> (usize, bool) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match threads {
        0 => (cores, false),
        n if n > cores * MAX_THREADS_PER_CORE => (cores * MAX_THREADS_PER_CORE, true),
        n => (n, false),
    }
}

impl WorkerPool {
    /// A pool of `threads` workers (0 means one per core).
    pub fn new(threads: usize) -> Self {
        let (threads, _) = thread_count(threads);
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

/// Stream whole files, in order, as batches ([`spawn_part_reader`] of
/// each file whole).
pub fn spawn_reader(files: Vec<PathBuf>, depth: usize) -> (BatchStream, ReaderTask) {
    spawn_part_reader(Part::whole_files(&files), depth)
}

/// Stream `parts` (whole files, or byte ranges of plain files), in order,
/// as batches. Row ordinals run on across parts. The task resolves to the
/// number of rows read.
pub fn spawn_part_reader(parts: Vec<Part>, depth: usize) -> (BatchStream, ReaderTask) {
    let (tx, rx) = mpsc::channel(depth.max(1));
    let task = tokio::spawn(async move {
        let mut rows = 0u64;
        for part in parts {
            rows += read_one(&part, rows, &tx)
                .await
                .map_err(|e| e.in_file(&part.path))?;
            if tx.is_closed() {
                break;
            }
        }
        Ok(rows)
    });
    (tokio_stream::wrappers::ReceiverStream::new(rx), task)
}

/// Read only the picked rows of a source made of plain files, each at its
/// recorded place (pass 1 saw where every row is), in pick order, as
/// batches of one file and about [`BATCH_BYTES`] each. Each batch comes
/// with its picks renumbered to its lines (`row` = line index, first row
/// 0), the shape [`crate::assemble::RecordBuilder::build_batch_with`] takes.
/// With `compact`, a row whose value spans are known is read as just those
/// values and handed on as a compact line of the needed columns
/// ([`crate::value_spans`]). A failure to read the picks back is passed on in the
/// stream; a failure to read a file ends the task with an error naming file
/// and line.
pub fn spawn_pick_reader(
    files: Vec<PathBuf>,
    picks: impl Iterator<Item = std::io::Result<Pick>> + Send + 'static,
    compact: Option<CompactRows>,
    depth: usize,
) -> (PickedStream, ReaderTask) {
    let (tx, rx) = mpsc::channel(depth.max(1));
    let task =
        tokio::task::spawn_blocking(move || read_picks(&files, picks, compact.as_ref(), &tx));
    (tokio_stream::wrappers::ReceiverStream::new(rx), task)
}

/// What reading picked rows as compact lines takes: where each row's
/// values are, and the names of the columns they belong to.
pub struct CompactRows {
    /// Per row, where its needed values are.
    pub spans: SpansIndex,
    /// The columns, in the order of the spans.
    pub columns: Vec<String>,
}

/// Batches of picked rows, each with its picks (or the error that stopped
/// reading them).
pub type PickedStream = tokio_stream::wrappers::ReceiverStream<PickedBatch>;

/// One batch of picked rows.
pub type PickedBatch = (LineBatch, std::io::Result<Option<Vec<Pick>>>);

fn read_picks(
    files: &[PathBuf],
    picks: impl Iterator<Item = std::io::Result<Pick>>,
    compact: Option<&CompactRows>,
    tx: &mpsc::Sender<PickedBatch>,
) -> Result<u64, LineError> {
    let paths: Vec<Arc<PathBuf>> = files.iter().cloned().map(Arc::new).collect();
    let mut handles: Vec<Option<std::fs::File>> = files.iter().map(|_| None).collect();
    let mut current: Option<(usize, LineBatch, Vec<Pick>)> = None;
    let mut read = 0u64;
    let send = |batch: Option<(usize, LineBatch, Vec<Pick>)>| match batch {
        Some((_, batch, picks)) => tx.blocking_send((batch, Ok(Some(picks)))).is_ok(),
        None => true,
    };
    for pick in picks {
        let pick = match pick {
            Ok(pick) => pick,
            Err(e) => {
                let path = paths.first().cloned().unwrap_or_default();
                send(current.take());
                let _ = tx.blocking_send((LineBatch::new(path, 0), Err(e)));
                return Ok(read);
            }
        };
        let file = pick.place.file as usize;
        let full = current
            .as_ref()
            .is_some_and(|(f, b, _)| *f != file || b.data.len() >= BATCH_BYTES);
        if full && !send(current.take()) {
            return Ok(read);
        }
        let (_, batch, mine) = current.get_or_insert_with(|| {
            let mut batch = LineBatch::new(paths[file].clone(), 0);
            batch.file = pick.place.file;
            (file, batch, Vec::new())
        });
        let spans = compact.map_or_else(ValueSpans::default, |c| c.spans.get(pick.row));
        match compact {
            Some(c) if spans.fits(pick.place.len as usize) => {
                read_values_at(&mut handles[file], &paths[file], &pick, &spans, c, batch)?;
            }
            _ => read_line_at(&mut handles[file], &paths[file], &pick, batch)?,
        }
        mine.push(Pick {
            row: mine.len() as u64,
            ..pick
        });
        read += 1;
    }
    send(current);
    Ok(read)
}

/// Append the line `pick` names to `batch`, opening the file on first use.
fn read_line_at(
    handle: &mut Option<std::fs::File>,
    path: &Path,
    pick: &Pick,
    batch: &mut LineBatch,
) -> Result<(), LineError> {
    use std::os::unix::fs::FileExt;
    let file = open_once(handle, path)?;
    let start = batch.data.len();
    batch.data.resize(start + pick.place.len as usize, 0);
    file.read_exact_at(&mut batch.data[start..], pick.place.offset)
        .map_err(|source| pick_read_error(path, pick, source))?;
    batch.lines.push(Line {
        start,
        end: batch.data.len(),
        line_no: pick.place.line_no,
        offset: pick.place.offset,
    });
    Ok(())
}

/// Append the compact line of the row `pick` names to `batch`: only the
/// values `spans` locates, read with one `pread` per group of neighbours.
fn read_values_at(
    handle: &mut Option<std::fs::File>,
    path: &Path,
    pick: &Pick,
    spans: &ValueSpans,
    compact: &CompactRows,
    batch: &mut LineBatch,
) -> Result<(), LineError> {
    use std::os::unix::fs::FileExt;
    let file = open_once(handle, path)?;
    let reads = spans.reads();
    let mut bytes = Vec::with_capacity(reads.iter().map(|r| r.len()).sum());
    for r in &reads {
        let at = bytes.len();
        bytes.resize(at + r.len(), 0);
        file.read_exact_at(&mut bytes[at..], pick.place.offset + r.start as u64)
            .map_err(|source| pick_read_error(path, pick, source))?;
    }
    let mut rest = bytes.as_slice();
    let chunks: Vec<_> = reads
        .into_iter()
        .map(|r| {
            let (chunk, after) = rest.split_at(r.len());
            rest = after;
            (r, chunk)
        })
        .collect();
    let start = batch.data.len();
    compact_line(&compact.columns, spans, &chunks, &mut batch.data);
    batch.lines.push(Line {
        start,
        end: batch.data.len(),
        line_no: pick.place.line_no,
        offset: pick.place.offset,
    });
    Ok(())
}

/// The file behind `handle`, opened on first use.
fn open_once<'h>(
    handle: &'h mut Option<std::fs::File>,
    path: &Path,
) -> Result<&'h std::fs::File, LineError> {
    if handle.is_none() {
        *handle = Some(std::fs::File::open(path).map_err(|source| LineError::Open {
            path: path.display().to_string(),
            source,
        })?);
    }
    Ok(handle.as_ref().expect("opened above"))
}

fn pick_read_error(path: &Path, pick: &Pick, source: std::io::Error) -> LineError {
    LineError::Io {
        path: path.display().to_string(),
        line: pick.place.line(path),
        source,
    }
}

/// Batches as they are read.
pub type BatchStream = tokio_stream::wrappers::ReceiverStream<LineBatch>;

/// The reader task: resolves to the number of rows read.
pub type ReaderTask = tokio::task::JoinHandle<Result<u64, LineError>>;

/// Read one part: plain local files on a blocking thread straight into
/// batch buffers (a byte range: from its start, no further than its end);
/// stdin and compressed files, always whole, and objects (a range of a
/// plain one as a ranged GET) through the async readers. Rows of objects
/// have no known place: a later pass streams them again, as for
/// compressed files.
async fn read_one(
    part: &Part,
    first_row: u64,
    tx: &mpsc::Sender<LineBatch>,
) -> Result<u64, LineError> {
    let path = part.path.clone();
    let open_err = |source| LineError::Open {
        path: path.display().to_string(),
        source,
    };
    let mut at = Start {
        file: part.file,
        first_row,
        ..Start::default()
    };
    let object = crate::store::Location::is_object_path(&path);
    if path.as_os_str() != "-" && !object {
        let mut file = std::fs::File::open(&path).map_err(open_err)?;
        if open::Compression::sniff(&peek(&mut file).map_err(open_err)?) == open::Compression::None
        {
            let tx = tx.clone();
            let path = Arc::new(path);
            let range = part.range;
            return tokio::task::spawn_blocking(move || {
                use std::io::{Read, Seek, SeekFrom};
                let Some(r) = range else {
                    return read_batches_blocking(file, path, at, &tx);
                };
                file.seek(SeekFrom::Start(r.start))
                    .map_err(|source| LineError::Open {
                        path: path.display().to_string(),
                        source,
                    })?;
                at.offset = r.start;
                // Not counted past the file's start: see `read::part`.
                at.lines_before = (r.start == 0).then_some(0);
                read_batches_blocking(file.take(r.end - r.start), path, at, &tx)
            })
            .await
            .expect("reader thread does not panic");
        }
    }
    let reader = match part.range {
        Some(r) if object => {
            // Objects are never split (`shard plan`), so this range starts
            // at byte 0 and its lines are counted.
            open::open_raw(&path, Some(r.start..r.end)).await
        }
        _ => open::open(&path).await,
    };
    read_batches(reader.map_err(open_err)?, Arc::new(path), at, tx).await
}

/// The first bytes of `file`, leaving its position at the start.
fn peek(file: &mut std::fs::File) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek};
    let mut head = Vec::with_capacity(4);
    file.by_ref().take(4).read_to_end(&mut head)?;
    file.rewind()?;
    Ok(head)
}
