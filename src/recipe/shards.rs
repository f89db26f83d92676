//! Where records go: one [`OutputFile`] (`-` is stdout), or, with
//! `--max-records-per-file` / `--max-bytes-per-file`, numbered shards
//! `STEM-00000.EXT`, `STEM-00001.EXT`, … (the stem is the name up to its
//! first dot, so `mix.jsonl.zst` gives `mix-00000.jsonl.zst`). Every file is
//! written atomically and compressed by its extension; a full shard is
//! committed as soon as the next one starts, and if the run fails the
//! shards already committed are removed again.

use std::path::{Path, PathBuf};

use crate::error::UsageError;
use crate::write::OutputFile;

/// Shard size limits (`None`: unlimited).
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    /// Records per file.
    pub records: Option<u64>,
    /// Uncompressed bytes per file (a record never straddles files).
    pub bytes: Option<u64>,
}

/// One written file.
#[derive(Debug, Clone)]
pub struct Written {
    /// Its path (`-` for stdout).
    pub path: PathBuf,
    /// Records in it.
    pub records: u64,
    /// Uncompressed bytes.
    pub bytes: u64,
}

/// The output side of `recipe`; see the module docs.
pub struct Shards {
    target: PathBuf,
    limits: Limits,
    current: Option<(OutputFile, Written)>,
    done: Vec<Written>,
    finished: bool,
}

impl Shards {
    /// Output to `target`, sharded when a limit is set.
    pub fn new(target: &Path, limits: Limits) -> Result<Self, UsageError> {
        let sharded = limits.records.is_some() || limits.bytes.is_some();
        if sharded && target == Path::new("-") {
            return Err(UsageError(
                "sharding (--max-*-per-file) needs -o STEM.jsonl, not stdout".into(),
            ));
        }
        if limits.records == Some(0) || limits.bytes == Some(0) {
            return Err(UsageError(
                "--max-records-per-file and --max-bytes-per-file must be > 0".into(),
            ));
        }
        Ok(Shards {
            target: target.to_path_buf(),
            limits,
            current: None,
            done: Vec::new(),
            finished: false,
        })
    }

    fn sharded(&self) -> bool {
        self.limits.records.is_some() || self.limits.bytes.is_some()
    }

    /// The path of shard `index`.
    pub fn shard_path(target: &Path, index: usize) -> PathBuf {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (stem, ext) = name.split_at(name.find('.').unwrap_or(name.len()));
        target.with_file_name(format!("{stem}-{index:05}{ext}"))
    }

    /// Append one record (its bytes end with a newline).
    pub async fn write_record(&mut self, record: &[u8]) -> anyhow::Result<()> {
        if let Some((_, w)) = &self.current {
            let full = self.limits.records.is_some_and(|max| w.records >= max)
                || self
                    .limits
                    .bytes
                    .is_some_and(|max| w.bytes > 0 && w.bytes + record.len() as u64 > max);
            if full {
                self.rotate().await?;
            }
        }
        if self.current.is_none() {
            self.open()?;
        }
        let (file, w) = self.current.as_mut().expect("opened");
        file.write_all(record).await?;
        w.records += 1;
        w.bytes += record.len() as u64;
        Ok(())
    }

    fn open(&mut self) -> anyhow::Result<()> {
        let path = if self.sharded() {
            Self::shard_path(&self.target, self.done.len())
        } else {
            self.target.clone()
        };
        let file = OutputFile::create(&path, None)?;
        self.current = Some((
            file,
            Written {
                path,
                records: 0,
                bytes: 0,
            },
        ));
        Ok(())
    }

    async fn rotate(&mut self) -> anyhow::Result<()> {
        if let Some((file, w)) = self.current.take() {
            file.commit().await?;
            self.done.push(w);
        }
        Ok(())
    }

    /// Commit the last file (an empty one if nothing was written) and
    /// return every file written.
    pub async fn finish(mut self) -> anyhow::Result<Vec<Written>> {
        if self.current.is_none() && self.done.is_empty() {
            self.open()?;
        }
        self.rotate().await?;
        self.finished = true;
        Ok(std::mem::take(&mut self.done))
    }
}

impl Drop for Shards {
    fn drop(&mut self) {
        if !self.finished {
            for w in &self.done {
                let _ = std::fs::remove_file(&w.path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_names_keep_every_extension() {
        assert_eq!(
            Shards::shard_path(Path::new("o/mix.jsonl.zst"), 3),
            Path::new("o/mix-00003.jsonl.zst")
        );
        assert_eq!(
            Shards::shard_path(Path::new("mix"), 0),
            Path::new("mix-00000")
        );
    }
}
