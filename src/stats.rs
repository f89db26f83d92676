//! The `stats` engine: what is in a JSONL mix (records, bytes and tokens
//! per `metadata.dataset`, token-length percentiles, what training's length
//! filter drops) and how a step-03 folder groups (rows, raw documents and
//! summaries per dataset, read by `mix`'s own pass-1 reader). `cmd::stats`
//! runs these on the worker pool and prints the report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use futures::StreamExt;
use serde_json::{json, Value};

use crate::assemble::{OnError, RowReader};
use crate::conversation::{self, with_parsed};
use crate::format::{Dataset, Fit, LengthRule};
use crate::pipeline::{spawn_reader, WorkerPool};
use crate::read::fields::location;
use crate::read::LineBatch;
use crate::select::{self, GroupStats, Sampler};
use crate::spill::ExternalSorter;
use crate::tokens::RecordCounter;

/// Records, bytes and tokens of one group, its token lengths, and what
/// training's length filter drops.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Records.
    pub records: u64,
    /// Bytes, newlines included.
    pub bytes: u64,
    /// Sum of their token lengths.
    pub tokens: u64,
    /// Records with no `token_length` (and no `--tokenizer`).
    pub without_tokens: u64,
    /// Records training drops as too long.
    pub too_long: u64,
    /// Records training drops as too short.
    pub too_short: u64,
    /// Every token length (sorted by `to_json`).
    pub lengths: Vec<u32>,
}

impl Tally {
    /// Add `other`'s counts.
    pub fn add(&mut self, other: &Tally) {
        self.records += other.records;
        self.bytes += other.bytes;
        self.tokens += other.tokens;
        self.without_tokens += other.without_tokens;
        self.too_long += other.too_long;
        self.too_short += other.too_short;
        self.lengths.extend_from_slice(&other.lengths);
    }

    /// The report entry (sorts the lengths).
    pub fn to_json(&mut self, rule: &LengthRule) -> Value {
        self.lengths.sort_unstable();
        json!({
            "records": self.records, "bytes": self.bytes, "tokens": self.tokens,
            "without_token_length": self.without_tokens,
            "token_length": percentiles(&self.lengths),
            "over_length": {
                "max_seq_len": rule.max_seq_len, "min_len": rule.min_len,
                "too_long": self.too_long, "too_short": self.too_short,
            },
        })
    }
}

/// What one batch of records adds.
#[derive(Default)]
pub struct BatchStats {
    /// Per `metadata.dataset`.
    pub datasets: BTreeMap<String, Tally>,
}

/// Training's length rule, and what token_length has beyond training's length.
#[derive(Debug, Clone, Copy)]
pub struct Training {
    /// Training's length rule.
    pub rule: LengthRule,
    /// Tokens `token_length` counts beyond training's length (the BOS the
    /// post-processor adds).
    pub added: u64,
}

/// Count one batch of finished records.
pub fn batch_stats(
    batch: &LineBatch,
    counter: Option<&RecordCounter>,
    training: Training,
) -> anyhow::Result<BatchStats> {
    let mut out = BatchStats::default();
    for i in 0..batch.len() {
        let at = || location(&batch.path, batch.lines[i].line_no);
        let (dataset, tokens) = with_parsed(batch.line(i), &at, |line, at| {
            let tokens = match counter {
                Some(c) => Some(c.count(line, at)?),
                None => conversation::top_level_u64(line, "token_length"),
            };
            Ok((
                conversation::metadata_dataset(line).unwrap_or_else(|| "(none)".into()),
                tokens,
            ))
        })?;
        let tally = out.datasets.entry(dataset).or_default();
        tally.records += 1;
        tally.bytes += batch.line(i).len() as u64 + 1;
        match tokens {
            Some(n) => {
                tally.tokens += n;
                tally.lengths.push(u32::try_from(n).unwrap_or(u32::MAX));
                match training.rule.judge(n.saturating_sub(training.added)) {
                    Fit::Fits => {}
                    Fit::TooLong => tally.too_long += 1,
                    Fit::TooShort => tally.too_short += 1,
                }
            }
            None => tally.without_tokens += 1,
        }
    }
    Ok(out)
}

/// min / median / p95 / max of sorted `lengths` (nearest rank), or null.
pub fn percentiles(sorted: &[u32]) -> Value {
    if sorted.is_empty() {
        return Value::Null;
    }
    let rank =
        |p: f64| sorted[((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
    let n = sorted.len();
    let median = if n % 2 == 1 {
        f64::from(sorted[n / 2])
    } else {
        (f64::from(sorted[n / 2 - 1]) + f64::from(sorted[n / 2])) / 2.0
    };
    json!({"min": sorted[0], "median": median, "p95": rank(0.95), "max": sorted[n - 1]})
}

/// Rows, bytes and grouping counts of one step-03 dataset, its rows read
/// by `mix`'s own pass-1 reader (rows the GPT-OSS filter drops are counted
/// as rows but not grouped).
pub async fn group_dataset(
    pool: &WorkerPool,
    dataset: Dataset,
    files: &[PathBuf],
    spill: &Path,
    memory: u64,
    reading: Arc<RowReader>,
) -> anyhow::Result<(u64, u64, GroupStats)> {
    let sampler = Sampler::new(0);
    let (batches, reader) = spawn_reader(files.to_vec(), pool.threads() * 2);
    let mut entries = pool.map_ordered(batches, move |batch| {
        let bytes = batch
            .lines
            .iter()
            .map(|l| (l.end - l.start) as u64 + 1)
            .sum::<u64>();
        reading
            .index_batch(dataset, batch, sampler, OnError::Fail)
            .map(|indexed| (bytes, indexed.entries))
    });
    let mut sorter = ExternalSorter::new(spill, memory as usize);
    let mut bytes = 0;
    while let Some(batch) = entries.next().await {
        let (batch_bytes, batch_entries) = batch?;
        bytes += batch_bytes;
        for entry in batch_entries {
            sorter
                .push(entry)
                .context("cannot spill the grouping index")?;
        }
    }
    let rows = reader.await.context("reader task failed")??;
    let plan = select::Plan {
        qa_per_doc: 0,
        max_cut: 0,
        shard: None,
    };
    let stats = tokio::task::spawn_blocking(move || -> std::io::Result<GroupStats> {
        select::walk_groups(sorter.finish()?, plan, |_| Ok(()))
    })
    .await
    .context("grouping task failed")?
    .context("cannot sort the grouping index on disk")?;
    Ok((rows, bytes, stats))
}
