//! Where `--on-error skip` puts bad rows (and `--drop-over-length` the
//! records training would drop): each one streamed, with its file, line and
//! reason, to `training_mix/rejected.jsonl` (an [`OutputFile`], so it
//! appears whole or not at all), and counted per file for the summary and
//! the manifest. Otherwise nothing is written.

use serde_json::{json, Value};

use crate::assemble::Rejected;
use crate::write::OutputFile;

/// Rejected rows of one run.
pub struct Rejects {
    out: Option<OutputFile>,
    /// (file, lines skipped), in the order met.
    counts: Vec<(String, u64)>,
    /// The first row set aside: `file:line: reason`.
    first: Option<String>,
}

impl Rejects {
    /// Start `dir/rejected.jsonl` when rows are set aside
    /// ([`crate::mix::Plan::sets_aside`]).
    pub fn new(dir: &std::path::Path, sets_aside: bool) -> anyhow::Result<Self> {
        let out = if sets_aside {
            Some(OutputFile::create(&dir.join("rejected.jsonl"), None)?)
        } else {
            None
        };
        Ok(Rejects {
            out,
            counts: Vec::new(),
            first: None,
        })
    }

    /// Record a batch's rejected rows.
    pub async fn add(&mut self, rejected: Vec<Rejected>) -> anyhow::Result<()> {
        let Some(out) = self.out.as_mut() else {
            return Ok(());
        };
        for r in rejected {
            let file = r.at.path.display().to_string();
            if self.first.is_none() {
                self.first = Some(format!("{}: {}", r.at, r.reason));
            }
            match self.counts.last_mut() {
                Some((f, n)) if *f == file => *n += 1,
                _ => self.counts.push((file.clone(), 1)),
            }
            let line = json!({
                "file": file,
                "line": r.at.line,
                "reason": r.reason,
                "text": String::from_utf8_lossy(&r.text),
            });
            let mut bytes = serde_json::to_vec(&line)?;
            bytes.push(b'\n');
            out.write_all(&bytes).await?;
        }
        Ok(())
    }

    /// Fail when every one of the `rows` rows of `dataset`'s `files` was set
    /// aside: a dataset silently emptied would change the mix, and the
    /// cuts would merely be called infeasible.
    pub fn check_dataset(
        &self,
        dataset: crate::format::Dataset,
        files: &[std::path::PathBuf],
        rows: u64,
    ) -> anyhow::Result<()> {
        let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        let rejected: u64 = self
            .counts
            .iter()
            .filter(|(file, _)| names.contains(file))
            .map(|(_, n)| n)
            .sum();
        if rows > 0 && rejected >= rows {
            anyhow::bail!(
                "{}: every row ({rows}) was rejected under --on-error skip (first: {})",
                dataset.folder(),
                self.first.as_deref().unwrap_or("?")
            );
        }
        Ok(())
    }

    /// Lines skipped per file, merged in first-met order.
    pub fn counts(&self) -> Vec<(String, u64)> {
        let mut merged: Vec<(String, u64)> = Vec::new();
        for (file, n) in &self.counts {
            match merged.iter_mut().find(|(f, _)| f == file) {
                Some((_, total)) => *total += n,
                None => merged.push((file.clone(), *n)),
            }
        }
        merged
    }

    /// The manifest's `skipped` list.
    pub fn manifest(&self) -> Value {
        Value::Array(
            self.counts()
                .into_iter()
                .map(|(file, lines)| json!({"file": file, "lines": lines}))
                .collect(),
        )
    }

    /// Finish writing (before the cuts are committed: a full disk shows here).
    pub async fn finish(&mut self) -> anyhow::Result<()> {
        if let Some(out) = self.out.as_mut() {
            out.finish().await?;
        }
        Ok(())
    }

    /// Log the counts and move `rejected.jsonl` into place; returns the
    /// files written.
    pub async fn commit(self, log: impl Fn(&str)) -> anyhow::Result<Vec<std::path::PathBuf>> {
        for (file, n) in self.counts() {
            log(&format!(
                "skipped {n} bad line(s) in {file}; see training_mix/rejected.jsonl"
            ));
        }
        match self.out {
            Some(out) => Ok(vec![out.commit().await?]),
            None => Ok(Vec::new()),
        }
    }
}
