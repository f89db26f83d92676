//! The work folder that the stages of a sharded mix share, and nothing
//! else: `plan.json`, the tokenizer's files, each index shard's sorted
//! runs and spans, each emit shard's cut parts, and a completion marker
//! per stage and shard, written last and naming the plan's fingerprint. A
//! stage whose marker exists is done; a marker with another fingerprint
//! belongs to another plan and is an error, never silently reused.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::StageError;
use crate::format::Dataset;

/// The work folder of one sharded mix.
#[derive(Debug, Clone)]
pub struct Work {
    root: PathBuf,
    durable: bool,
    shared: PathBuf,
}

impl Work {
    /// The work folder at `root`, shared by processes that may run on
    /// other machines: every file is synced to disk before it is renamed
    /// into place.
    pub fn new(root: impl Into<PathBuf>) -> Work {
        let root = root.into();
        Work {
            shared: root.clone(),
            root,
            durable: true,
        }
    }

    /// A local copy of the work folder at `shared` (an object location),
    /// in the scratch folder `root`: the stage reads and writes `root`,
    /// [`super::remote`] moves files between the two, and messages name
    /// `shared`. Nothing in it needs to outlive the process: not synced.
    pub fn scratch(root: impl Into<PathBuf>, shared: impl Into<PathBuf>) -> Work {
        Work {
            root: root.into(),
            durable: false,
            shared: shared.into(),
        }
    }

    /// A one-process mix's own work folder, deleted when the run ends: no
    /// file needs to outlive a crash, so none is synced (the cut files
    /// moved out of it are, by their writer).
    pub fn temporary(root: impl Into<PathBuf>) -> Work {
        let root = root.into();
        Work {
            shared: root.clone(),
            root,
            durable: false,
        }
    }

    /// Whether files are synced before they are renamed into place.
    pub fn durable(&self) -> bool {
        self.durable
    }

    /// Write a small JSON file (a marker, the plan) atomically.
    pub fn write_json<T: Serialize>(&self, path: &Path, value: &T) -> Result<(), StageError> {
        write_json(path, value, self.durable)
    }

    /// Its path: where this process reads and writes work files.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the stages share it (what messages name): the root, or the
    /// object location a scratch copy stands for.
    pub fn shared_root(&self) -> &Path {
        &self.shared
    }

    /// Where the work file `path` (under [`Work::root`]) is shared: itself
    /// in a local work folder, its object in a scratch copy.
    pub fn shared(&self, path: &Path) -> PathBuf {
        match path.strip_prefix(&self.root) {
            Ok(rest) if self.shared != self.root => self.shared.join(rest),
            _ => path.to_path_buf(),
        }
    }

    /// `error` with the work files it names shown where they are shared.
    pub fn name_shared(&self, error: StageError) -> StageError {
        match error {
            StageError::Corrupt { path, what } => StageError::Corrupt {
                path: self.shared(&path),
                what,
            },
            StageError::OtherPlan {
                path,
                found,
                expected,
            } => StageError::OtherPlan {
                path: self.shared(&path),
                found,
                expected,
            },
            StageError::Version { path, found } => StageError::Version {
                path: self.shared(&path),
                found,
            },
            other => other,
        }
    }

    /// `plan.json`.
    pub fn plan_path(&self) -> PathBuf {
        self.root.join("plan.json")
    }

    /// The tokenizer's files, copied by `plan`.
    pub fn tokenizer_dir(&self) -> PathBuf {
        self.root.join("tokenizer")
    }

    /// Index shard `shard`'s folder.
    pub fn index_dir(&self, shard: u32) -> PathBuf {
        self.root.join("index").join(format!("shard-{shard:05}"))
    }

    /// Emit shard `shard`'s folder.
    pub fn emit_dir(&self, shard: u32) -> PathBuf {
        self.root.join("emit").join(format!("shard-{shard:05}"))
    }

    /// The sorted index run of `dataset` made by index shard `shard`.
    pub fn index_run(&self, shard: u32, dataset: Dataset) -> PathBuf {
        self.index_dir(shard)
            .join(format!("{}.index", dataset.folder()))
    }

    /// Where the needed values of `dataset`'s rows lie, by index shard `shard`.
    pub fn spans(&self, shard: u32, dataset: Dataset) -> PathBuf {
        self.index_dir(shard)
            .join(format!("{}.spans", dataset.folder()))
    }

    /// Rows set aside by a stage's shard under `--on-error skip`.
    pub fn rejects(dir: &Path) -> PathBuf {
        dir.join("rejected.jsonl")
    }

    /// Emit shard `shard`'s part of cut `n`.
    pub fn part(&self, shard: u32, n: u32) -> PathBuf {
        self.emit_dir(shard).join(crate::format::cut_file_name(n))
    }

    /// A stage's completion marker in its shard folder.
    pub fn marker(dir: &Path) -> PathBuf {
        dir.join("done.json")
    }
}

/// Read a marker, if there: `None` when the stage has not finished.
pub fn read_marker<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, StageError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StageError::Corrupt {
                path: path.to_path_buf(),
                what: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StageError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Write a small JSON file atomically (synced first when `durable`).
fn write_json<T: Serialize>(path: &Path, value: &T, durable: bool) -> Result<(), StageError> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("serialisable");
    bytes.push(b'\n');
    let dir = path.parent().unwrap_or(Path::new("."));
    let io = |source| StageError::Io {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut temp = tempfile::Builder::new()
        .prefix(".partial-")
        .tempfile_in(dir)
        .map_err(io)?;
    std::io::Write::write_all(&mut temp, &bytes).map_err(io)?;
    if durable {
        temp.as_file().sync_all().map_err(io)?;
    }
    temp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// Make a stage's shard folder afresh: whatever an unfinished earlier
/// attempt left there (never a finished stage's output: callers check the
/// marker first) is removed.
pub fn fresh_dir(dir: &Path) -> Result<(), StageError> {
    let io = |source| StageError::Io {
        path: dir.to_path_buf(),
        source,
    };
    match std::fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    std::fs::create_dir_all(dir).map_err(io)
}
