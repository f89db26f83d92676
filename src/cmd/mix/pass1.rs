//! Pass 1: stream a summary dataset, index each row on the worker pool,
//! sort the index on disk and draw every cut's summaries at once.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use futures::StreamExt;

use super::args::Plan;
use super::rejects::Rejects;
use crate::format::Dataset;
use crate::pipeline::{spawn_reader, WorkerPool};
use crate::progress::Progress;
use crate::read::step03::DatasetFiles;
use crate::records::OnError;
use crate::records::RowReader;
use crate::select::{self, GroupStats, Pick, Sampler};
use crate::spans::{SpansIndex, SpansWriter};
use crate::spill::{ExternalSorter, Sorted};

/// The draw for one summary dataset.
pub struct Selection {
    /// Which dataset.
    pub dataset: Dataset,
    /// Chosen rows, sorted by row.
    pub picks: Sorted<Pick>,
    /// Grouping counts.
    pub stats: GroupStats,
    /// Rows dropped by the GPT-OSS filter.
    pub dropped: u64,
    /// Rows read.
    pub rows: u64,
    /// Whether every indexed row has a known place (all files plain), so
    /// pass 2 can read just the picked rows.
    pub seekable: bool,
    /// Where each row's needed values are, so pass 2 can read just those
    /// (seekable datasets under `--on-error fail`, whose rejects need no
    /// original rows).
    pub spans: Option<SpansIndex>,
}

/// Index `files` and draw.
pub async fn index_dataset(
    plan: &Plan,
    pool: &WorkerPool,
    rows: &Arc<RowReader>,
    files: &DatasetFiles,
    spill: &Path,
    rejects: &mut Rejects,
    progress: &Progress,
) -> anyhow::Result<Selection> {
    let sampler = Sampler::new(plan.seed);
    let (batches, reader) = spawn_reader(files.files.clone(), pool.threads() * 2);
    progress.label(&format!("index {}", files.dataset.folder()));
    let shown = progress.clone();
    let batches = batches.inspect(move |b| shown.add(b.data.len() as u64));
    let worker = rows.clone();
    let (dataset, on_error) = (files.dataset, plan.on_error);
    let mut indexed = pool.map_ordered(batches, move |batch| {
        worker.index_batch(dataset, batch, sampler, on_error)
    });
    let mut index = ExternalSorter::new(spill, plan.sort_budget());
    let spill_err = "cannot spill the index; check --spill-dir";
    // Value spans serve pass 2 only under `--on-error fail` (rejects need
    // whole rows) and only while every row has a known place, in order.
    let mut spans = match plan.on_error {
        OnError::Fail => Some(SpansWriter::create(spill).context(spill_err)?),
        OnError::Skip => None,
    };
    let mut dropped = 0;
    let mut seekable = true;
    while let Some(batch) = indexed.next().await {
        let batch = batch?;
        dropped += batch.dropped;
        rejects.add(batch.rejected).await?;
        for entry in batch.entries {
            seekable &= entry.place.is_known();
            index.push(entry).context(spill_err)?;
        }
        spans = spans.filter(|s| seekable && batch.first_row == s.rows());
        if let Some(spans) = spans.as_mut() {
            for row in &batch.spans {
                spans.push(row).context(spill_err)?;
            }
        }
    }
    let rows = reader.await.context("reader task failed")??;
    let draw = select::Plan {
        qa_per_doc: plan.qa_per_doc,
        max_cut: plan.cuts.iter().copied().max().unwrap_or(0),
    };
    let picks = ExternalSorter::new(spill, plan.sort_budget());
    let (picks, stats) = tokio::task::spawn_blocking(move || select::select(index, draw, picks))
        .await
        .context("selection task failed")?
        .context("cannot sort the index on disk; check --spill-dir")?;
    let spans = spans
        .map(SpansWriter::finish)
        .transpose()
        .context(spill_err)?;
    Ok(Selection {
        dataset: files.dataset,
        picks,
        stats,
        dropped,
        rows,
        seekable,
        spans,
    })
}
