//! Where `--on-error skip` puts bad rows: each one streamed, with its file,
//! line and reason, to `training_mix/rejected.jsonl` (an [`OutputFile`], so
//! it appears whole or not at all), and counted per file for the summary
//! and the manifest. Under `--on-error fail` nothing is written.

use serde_json::{json, Value};

use crate::records::{OnError, Rejected};
use crate::write::OutputFile;

/// Rejected rows of one run.
pub struct Rejects {
    out: Option<OutputFile>,
    /// (file, lines skipped), in the order met.
    counts: Vec<(String, u64)>,
}

impl Rejects {
    /// Start `dir/rejected.jsonl` when the policy is skip.
    pub fn new(dir: &std::path::Path, on_error: OnError) -> anyhow::Result<Self> {
        let out = match on_error {
            OnError::Skip => Some(OutputFile::create(&dir.join("rejected.jsonl"), None)?),
            OnError::Fail => None,
        };
        Ok(Rejects {
            out,
            counts: Vec::new(),
        })
    }

    /// Record a batch's rejected rows.
    pub async fn add(&mut self, rejected: Vec<Rejected>) -> anyhow::Result<()> {
        let Some(out) = self.out.as_mut() else {
            return Ok(());
        };
        for r in rejected {
            let file = r.at.path.display().to_string();
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

    /// Log the counts and move `rejected.jsonl` into place.
    pub async fn commit(self, log: impl Fn(&str)) -> anyhow::Result<()> {
        for (file, n) in self.counts() {
            log(&format!(
                "skipped {n} bad line(s) in {file}; see training_mix/rejected.jsonl"
            ));
        }
        if let Some(out) = self.out {
            out.commit().await?;
        }
        Ok(())
    }
}
