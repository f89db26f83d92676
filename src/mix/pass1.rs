//! Pass 1 (the index stage's work): stream a shard's parts of a summary
//! dataset, index each row on the worker pool, and leave in the work
//! folder the index sorted in bounded memory (a run other shards' runs
//! merge with) and, where pass 2 can use them, the value spans of every
//! row. Drawing happens later, over every shard's runs ([`draw`]).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::options::Plan;
use super::rejects::Rejects;
use crate::assemble::{OnError, RowReader};
use crate::format::Dataset;
use crate::observe::Meter;
use crate::pipeline::{spawn_part_reader, WorkerPool};
use crate::read::part::Part;
use crate::select::{self, GroupStats, IndexEntry, Pick, Sampler};
use crate::spill::{ExternalSorter, Sorted};
use crate::value_spans::{SpansIndex, SpansWriter};

/// The draw for one summary dataset, as one shard's pass 2 needs it.
pub struct Selection {
    /// Which dataset.
    pub dataset: Dataset,
    /// This shard's chosen rows, sorted by row.
    pub picks: Sorted<Pick>,
    /// Grouping counts over every shard.
    pub stats: GroupStats,
    /// This shard's picks per draw level (a cut N holds levels below N).
    pub per_level: Vec<u64>,
    /// Rows of this shard dropped by the GPT-OSS filter.
    pub dropped: u64,
    /// Rows this shard read.
    pub rows: u64,
    /// Whether every row this shard indexed has a known place (all files
    /// plain), so pass 2 can read just the picked rows.
    pub seekable: bool,
    /// Where each row's needed values are, so pass 2 can read just those.
    pub spans: Option<SpansIndex>,
}

/// What indexing one dataset's parts left behind.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Indexed {
    /// Which dataset.
    pub dataset: Option<Dataset>,
    /// Rows read.
    pub rows: u64,
    /// Rows dropped by the GPT-OSS filter.
    pub dropped: u64,
    /// Whether every indexed row has a known place.
    pub seekable: bool,
    /// Whether a spans file was kept.
    pub spans: bool,
}

/// Where pass 1 leaves its results for one dataset.
pub struct IndexTargets<'a> {
    /// The sorted run.
    pub run: &'a Path,
    /// The spans file.
    pub spans: &'a Path,
    /// Folder for sort spills.
    pub spill: &'a Path,
    /// Sync files before renaming them into place.
    pub durable: bool,
}

/// Index `parts` of `dataset` as shard `shard`: write the sorted run and
/// (when usable) the spans file.
#[allow(clippy::too_many_arguments)]
pub async fn index_parts(
    plan: &Plan,
    pool: &WorkerPool,
    rows: &Arc<RowReader>,
    (dataset, shard): (Dataset, u32),
    parts: Vec<Part>,
    targets: IndexTargets<'_>,
    rejects: &mut Rejects,
    progress: &Meter,
) -> anyhow::Result<Indexed> {
    let sampler = Sampler::new(plan.seed);
    let (batches, reader) = spawn_part_reader(parts, pool.threads() * 2);
    progress.label(&format!("index {}", dataset.folder()));
    let shown = progress.clone();
    let batches = batches.inspect(move |b| shown.add(b.data.len() as u64));
    let worker = rows.clone();
    let on_error = plan.on_error;
    let mut indexed = pool.map_ordered(batches, move |batch| {
        worker.index_batch(dataset, batch, sampler, on_error)
    });
    let mut index = ExternalSorter::new(targets.spill, plan.sort_budget());
    let spill_err = "cannot spill the index; check --spill-dir";
    let work_err = || format!("{}: cannot write the index", targets.spans.display());
    // Value spans serve pass 2 only under `--on-error fail` (rejects need
    // whole rows) and only while every row has a known place, in order.
    let mut spans = match on_error {
        OnError::Fail => Some(SpansWriter::create_at(targets.spans).with_context(work_err)?),
        OnError::Skip => None,
    };
    let mut out = Indexed {
        dataset: Some(dataset),
        seekable: true,
        ..Indexed::default()
    };
    while let Some(batch) = indexed.next().await {
        let batch = batch?;
        out.dropped += batch.dropped;
        rejects.add(batch.rejected).await?;
        for entry in batch.entries {
            out.seekable &= entry.place.is_known();
            index
                .push(IndexEntry { shard, ..entry })
                .context(spill_err)?;
        }
        let seekable = out.seekable;
        spans = spans.filter(|(s, _)| seekable && batch.first_row == s.rows());
        if let Some((spans, _)) = spans.as_mut() {
            for row in &batch.spans {
                spans.push(row).context(spill_err)?;
            }
        }
    }
    out.rows = reader.await.context("reader task failed")??;
    let (run, durable) = (targets.run.to_path_buf(), targets.durable);
    tokio::task::spawn_blocking(move || write_run(index, &run, durable))
        .await
        .context("index writer failed")?
        .with_context(|| format!("{}: cannot write the index run", targets.run.display()))?;
    if let Some((writer, temp)) = spans {
        writer
            .persist(temp, targets.spans, targets.durable)
            .with_context(work_err)?;
        out.spans = true;
    }
    Ok(out)
}

/// Sort and write the index as a run, under a temporary name renamed
/// when complete (synced first when `durable`).
fn write_run(index: ExternalSorter<IndexEntry>, path: &Path, durable: bool) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let temp = tempfile::Builder::new()
        .prefix(".partial-")
        .tempfile_in(dir)?;
    let (file, temp_path) = temp.into_parts();
    index.finish()?.write_to(&file)?;
    if durable {
        file.sync_all()?;
    }
    temp_path.persist(path).map_err(|e| e.error)
}

/// Draw over the runs of every shard: this shard's picks (sorted by row)
/// and the grouping counts of the whole dataset.
pub fn draw(
    plan: &Plan,
    runs: &[std::path::PathBuf],
    shard: u32,
    spill: &Path,
) -> std::io::Result<(Sorted<Pick>, GroupStats, Vec<u64>)> {
    let files = runs
        .iter()
        .map(std::fs::File::open)
        .collect::<std::io::Result<Vec<_>>>()?;
    let index = Sorted::<IndexEntry>::merge(files, plan.sort_budget())?;
    let draw = select::Plan {
        qa_per_doc: plan.qa_per_doc,
        max_cut: plan.cuts.iter().copied().max().unwrap_or(0),
        shard: Some(shard),
    };
    let picks = ExternalSorter::new(spill, plan.sort_budget());
    select::select(index, draw, picks)
}
