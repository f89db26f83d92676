//! A work folder in object storage (`--work s3://bucket/prefix`), so the
//! shards of one mix, on different machines, share only a bucket.
//!
//! A stage cannot run on objects in place (index runs are merged with
//! seeks, spans are mapped into memory), so it runs on a local copy: a
//! [`Staged`] work folder is a scratch folder under the spill root into
//! which the stage fetches the work files it reads; the stage's own code
//! then runs on it unchanged, and what it wrote goes up with the store's
//! atomic writer, its completion marker last. The contract of a local
//! work folder carries over: an object is whole or absent, a marker names
//! a finished stage, and a rerun of a finished stage fetches its marker
//! and does nothing. The scratch folder is removed when the stage ends,
//! fails or is interrupted (after a SIGKILL, by the next stage that uses
//! the same spill root).
//!
//! For a local work folder every call here does nothing: one code path.

use std::path::{Path, PathBuf};

use futures::{StreamExt, TryStreamExt};
use tokio::io::AsyncWriteExt;

use super::layout::Work;
use super::{ShardPlan, StageError};
use crate::spill::SpillFolder;
use crate::store::{self, AtomicWriter, Location};

/// Work files moved at once.
const IN_FLIGHT: usize = 4;

/// Files up to this size go up in one PUT, larger ones as multipart
/// uploads (both are atomic).
const ONE_PUT: u64 = 8 << 20;

/// The work folder a stage reads and writes: the shared one itself when
/// local, else a scratch copy of the objects the stage needs.
pub(crate) struct Staged {
    work: Work,
    scratch: Option<SpillFolder>,
}

impl Staged {
    /// Stage `work` for one stage; a scratch folder under `spill_root`
    /// when it is an object location.
    pub fn open(work: &Work, spill_root: &Path) -> Result<Staged, StageError> {
        if !Location::is_object_path(work.root()) {
            return Ok(Staged {
                work: work.clone(),
                scratch: None,
            });
        }
        Location::from_path(work.root())?;
        let scratch = SpillFolder::create(spill_root).map_err(|source| StageError::Io {
            path: spill_root.to_path_buf(),
            source,
        })?;
        Ok(Staged {
            work: Work::scratch(scratch.path(), work.root()),
            scratch: Some(scratch),
        })
    }

    /// Where the stage reads and writes.
    pub fn work(&self) -> &Work {
        &self.work
    }

    /// `plan.json`, fetched and checked.
    pub async fn plan(&self) -> Result<ShardPlan, StageError> {
        self.fetch(&self.work.plan_path()).await?;
        ShardPlan::load(&self.work)
    }

    /// Fetch the work file `path` (under the scratch root): whether it
    /// was there to fetch (never, for a local work folder).
    pub async fn fetch(&self, path: &Path) -> Result<bool, StageError> {
        if self.scratch.is_none() {
            return Ok(false);
        }
        download(&self.location(path)?, path).await
    }

    /// Fetch every one of `paths` that is there.
    pub async fn fetch_all(&self, paths: Vec<PathBuf>) -> Result<(), StageError> {
        if self.scratch.is_none() {
            return Ok(());
        }
        let mut fetches = Vec::new();
        for path in paths {
            let from = self.location(&path)?;
            fetches.push(async move { download(&from, &path).await });
        }
        futures::stream::iter(fetches)
            .buffer_unordered(IN_FLIGHT)
            .try_collect::<Vec<bool>>()
            .await
            .map(drop)
    }

    /// Fetch every file under the folder `dir`.
    pub async fn fetch_folder(&self, dir: &Path) -> Result<(), StageError> {
        if self.scratch.is_none() {
            return Ok(());
        }
        let shared = self.location(dir)?;
        let prefix = format!("{shared}/");
        let mut paths = Vec::new();
        for entry in store::list(&shared).await? {
            let url = entry.location.to_string();
            if let Some(rest) = url.strip_prefix(&prefix) {
                paths.push(dir.join(rest));
            }
        }
        self.fetch_all(paths).await
    }

    /// Publish every file under `dir` (which this stage wrote), `last`
    /// (its marker) after all the others are up.
    pub async fn publish(&self, dir: &Path, last: &Path) -> Result<(), StageError> {
        if self.scratch.is_none() {
            return Ok(());
        }
        let mut uploads = Vec::new();
        for file in files_under(dir)?.into_iter().filter(|f| f != last) {
            let to = self.location(&file)?;
            uploads.push(async move { upload(&file, &to).await });
        }
        futures::stream::iter(uploads)
            .buffer_unordered(IN_FLIGHT)
            .try_collect::<Vec<()>>()
            .await?;
        upload(last, &self.location(last)?).await
    }

    fn location(&self, path: &Path) -> Result<Location, StageError> {
        Ok(Location::from_path(&self.work.shared(path))?)
    }
}

/// Copy the object `from` to the local file `to`: false when there is no
/// such object.
async fn download(from: &Location, to: &Path) -> Result<bool, StageError> {
    let mut reader = match store::open_range(from, None).await {
        Ok(reader) => reader,
        Err(e) if e.is_not_found() => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    let io = |source| StageError::Io {
        path: to.to_path_buf(),
        source,
    };
    if let Some(dir) = to.parent() {
        tokio::fs::create_dir_all(dir).await.map_err(io)?;
    }
    let mut file = tokio::fs::File::create(to).await.map_err(io)?;
    tokio::io::copy(&mut reader, &mut file)
        .await
        .map_err(|e| store_io(from, e))?;
    file.flush().await.map_err(io)?;
    Ok(true)
}

/// Put the local file `from` at `to`, whole or not at all.
async fn upload(from: &Path, to: &Location) -> Result<(), StageError> {
    let io = |source| StageError::Io {
        path: from.to_path_buf(),
        source,
    };
    let size = tokio::fs::metadata(from).await.map_err(io)?.len();
    if size <= ONE_PUT {
        let bytes = tokio::fs::read(from).await.map_err(io)?;
        return Ok(store::write_small_atomic(to, &bytes).await?);
    }
    let mut file = tokio::fs::File::open(from).await.map_err(io)?;
    let mut writer = AtomicWriter::create(to)?;
    tokio::io::copy(&mut file, &mut writer)
        .await
        .map_err(|e| store_io(to, e))?;
    writer.shutdown().await.map_err(|e| store_io(to, e))?;
    writer.finish().await?;
    writer.commit().await?;
    Ok(())
}

/// An I/O error while moving the bytes of `at`: the store's own error
/// when it is one (it names the URL already).
fn store_io(at: &Location, source: std::io::Error) -> StageError {
    if source
        .get_ref()
        .is_some_and(|e| e.is::<store::StoreError>())
    {
        let inner = source.into_inner().expect("checked above");
        return StageError::Store(*inner.downcast().expect("checked above"));
    }
    StageError::Store(store::StoreError::io(at, source))
}

/// Every file under `dir`, recursively, sorted.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>, StageError> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let io = |source| StageError::Io {
            path: folder.clone(),
            source,
        };
        for entry in std::fs::read_dir(&folder).map_err(io)? {
            let entry = entry.map_err(io)?;
            match entry.file_type().map_err(io)?.is_dir() {
                true => folders.push(entry.path()),
                false => files.push(entry.path()),
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// A stage's folder goes up whole, marker last, and comes back down
    /// into another scratch copy byte for byte; a local work folder is
    /// left alone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn publish_then_fetch_round_trips_through_a_bucket() {
        let bucket = Arc::new(object_store::memory::InMemory::new());
        store::register_bucket("unit-staged", bucket);
        let spill = tempfile::tempdir().unwrap();
        let shared = Work::new("s3://unit-staged/w");
        let up = Staged::open(&shared, spill.path()).unwrap();
        let dir = up.work().index_dir(1);
        let big: Vec<u8> = (0..=255u8).cycle().take((ONE_PUT + 5) as usize).collect();
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("a.index"), &big).unwrap();
        std::fs::write(dir.join("sub/b.spans"), b"spans").unwrap();
        let marker = Work::marker(&dir);
        std::fs::write(&marker, b"{}").unwrap();
        up.publish(&dir, &marker).await.unwrap();
        let listed: Vec<String> = store::list(&Location::parse("s3://unit-staged/w").unwrap())
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.location.to_string())
            .collect();
        assert_eq!(
            listed,
            [
                "s3://unit-staged/w/index/shard-00001/a.index",
                "s3://unit-staged/w/index/shard-00001/done.json",
                "s3://unit-staged/w/index/shard-00001/sub/b.spans",
            ]
        );
        drop(up);
        assert_eq!(std::fs::read_dir(spill.path()).unwrap().count(), 0);

        let down = Staged::open(&shared, spill.path()).unwrap();
        let dir = down.work().index_dir(1);
        assert!(down.fetch(&Work::marker(&dir)).await.unwrap());
        assert!(!down.fetch(&dir.join("missing")).await.unwrap());
        down.fetch_folder(&down.work().index_dir(1)).await.unwrap();
        assert_eq!(std::fs::read(dir.join("a.index")).unwrap(), big);
        assert_eq!(std::fs::read(dir.join("sub/b.spans")).unwrap(), b"spans");
        assert_eq!(
            down.work().shared(&dir.join("a.index")),
            Path::new("s3://unit-staged/w/index/shard-00001/a.index")
        );

        drop(down);
        let local = tempfile::tempdir().unwrap();
        let same = Staged::open(&Work::new(local.path()), spill.path()).unwrap();
        assert_eq!(same.work().root(), local.path());
        assert!(!same.fetch(&same.work().plan_path()).await.unwrap());
        same.publish(local.path(), &local.path().join("x"))
            .await
            .unwrap();
        assert_eq!(std::fs::read_dir(spill.path()).unwrap().count(), 0);
    }
}
