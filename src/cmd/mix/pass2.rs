//! Pass 2: stream every dataset again, in output order; build the chosen
//! records on the worker pool; append each record to every cut that holds
//! it. All cut files are written in this one pass and committed together.

use std::collections::BTreeMap;
use std::iter::Peekable;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use futures::StreamExt;

use super::args::Plan;
use super::pass1::Selection;
use super::rejects::Rejects;
use crate::format::{cut_file_name, Dataset};
use crate::pipeline::{spawn_reader, WorkerPool};
use crate::progress::Progress;
use crate::read::step03::Discovery;
use crate::read::LineBatch;
use crate::records::{BuiltBatch, RecordBuilder};
use crate::select::Pick;
use crate::spill::Sorted;
use crate::write::OutputFile;
use xxhash_rust::xxh3::Xxh3Default as Xxh3;

/// Samples and tokens of one dataset in one cut.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tally {
    /// Records.
    pub samples: u64,
    /// Sum of token_length.
    pub tokens: u64,
}

/// One written cut.
#[derive(Debug, Clone)]
pub struct CutResult {
    /// The cut size.
    pub n: u32,
    /// The file written.
    pub path: PathBuf,
    /// Per dataset, in output order.
    pub datasets: Vec<(Dataset, Tally)>,
    /// Uncompressed bytes.
    pub bytes: u64,
    /// xxh3-128 of the bytes, hex.
    pub digest: String,
}

impl CutResult {
    /// Totals over datasets.
    pub fn total(&self) -> Tally {
        self.datasets
            .iter()
            .fold(Tally::default(), |t, (_, d)| Tally {
                samples: t.samples + d.samples,
                tokens: t.tokens + d.tokens,
            })
    }
}

/// What pass 2 did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The cuts written.
    pub cuts: Vec<CutResult>,
    /// Rows dropped by the GPT-OSS filter, per dataset.
    pub dropped: BTreeMap<Dataset, u64>,
    /// Rows read, per dataset.
    pub rows: BTreeMap<Dataset, u64>,
}

/// Write every feasible cut.
pub async fn write_cuts(
    plan: &Plan,
    pool: &WorkerPool,
    builder: &Arc<RecordBuilder>,
    found: &Discovery,
    selections: Vec<Selection>,
    feasible: &[u32],
    rejects: &mut Rejects,
    progress: &Progress,
) -> anyhow::Result<Outcome> {
    let dir = plan.output.join("training_mix");
    let mut outputs = Vec::new();
    let mut hashers = vec![Xxh3::new(); feasible.len()];
    let mut outcome = Outcome::default();
    for &n in feasible {
        let path = dir.join(format!("{}{}", cut_file_name(n), plan.compress.suffix()));
        outputs.push(OutputFile::create(&path, None)?);
        outcome.cuts.push(CutResult {
            n,
            path,
            datasets: Vec::new(),
            bytes: 0,
            digest: String::new(),
        });
    }
    let mut selections: BTreeMap<Dataset, Selection> =
        selections.into_iter().map(|s| (s.dataset, s)).collect();
    for files in &found.datasets {
        let selection = selections.remove(&files.dataset);
        if let Some(s) = &selection {
            *outcome.dropped.entry(files.dataset).or_default() += s.dropped;
        }
        let picks = selection.map(|s| s.picks.peekable());
        let (batches, reader) = spawn_reader(files.files.clone(), pool.threads() * 2);
        progress.label(&format!("write {}", files.dataset.folder()));
        let shown = progress.clone();
        let batches = batches.inspect(move |b| shown.add(b.data.len() as u64));
        let dataset = files.dataset;
        let with_picks = batches.map(attach_picks(picks));
        let worker = builder.clone();
        let on_error = plan.on_error;
        let mut built =
            pool.map_ordered(with_picks, move |(batch, picks)| match picks {
                Ok(picks) => worker
                    .build_batch_with(dataset, batch, picks, on_error)
                    .map_err(anyhow::Error::from),
                Err(e) => Err(anyhow::Error::from(e)
                    .context("cannot read the selection back from --spill-dir")),
            });
        let mut tallies = vec![Tally::default(); feasible.len()];
        let mut dropped = 0;
        while let Some(batch) = built.next().await {
            let mut batch = batch?;
            dropped += batch.dropped;
            rejects.add(std::mem::take(&mut batch.rejected)).await?;
            append_to_cuts(&batch, feasible, &mut outputs, &mut tallies, &mut hashers).await?;
        }
        let rows = reader.await.context("reader task failed")??;
        outcome.rows.insert(dataset, rows);
        if !dataset.is_sampled() {
            *outcome.dropped.entry(dataset).or_default() += dropped;
        }
        for (cut, tally) in outcome.cuts.iter_mut().zip(tallies) {
            cut.datasets.push((dataset, tally));
        }
    }
    for ((cut, output), hasher) in outcome.cuts.iter_mut().zip(outputs.iter_mut()).zip(hashers) {
        cut.bytes = output.bytes();
        cut.digest = format!("{:032x}", hasher.digest128());
        output.finish().await?;
    }
    rejects.finish().await?;
    for output in outputs {
        output.commit().await?;
    }
    Ok(outcome)
}

type PickIter = Peekable<Sorted<Pick>>;

/// A closure that pairs each batch with its picks (`None`: keep all rows).
fn attach_picks(
    mut picks: Option<PickIter>,
) -> impl FnMut(LineBatch) -> (LineBatch, std::io::Result<Option<Vec<Pick>>>) {
    move |batch| {
        let Some(picks) = picks.as_mut() else {
            return (batch, Ok(None));
        };
        let end = batch.first_row + batch.len() as u64;
        let mut mine = Vec::new();
        while let Some(next) = picks.peek() {
            match next {
                Ok(p) if p.row >= end => break,
                Ok(p) => {
                    mine.push(*p);
                    picks.next();
                }
                Err(_) => {
                    let e = picks.next().expect("peeked").expect_err("peeked an error");
                    return (batch, Err(e));
                }
            }
        }
        (batch, Ok(Some(mine)))
    }
}

async fn append_to_cuts(
    batch: &BuiltBatch,
    cuts: &[u32],
    outputs: &mut [OutputFile],
    tallies: &mut [Tally],
    hashers: &mut [Xxh3],
) -> anyhow::Result<()> {
    let per_cut = outputs
        .iter_mut()
        .zip(tallies.iter_mut())
        .zip(hashers.iter_mut());
    for (&n, ((output, tally), hasher)) in cuts.iter().zip(per_cut) {
        let mut kept: Vec<u8> = Vec::new();
        let mut start = 0;
        // Common case: the whole batch goes to this cut; skip the copy.
        let all_kept = batch.records.iter().all(|r| r.level < n);
        for record in batch.records.iter().filter(|r| r.level < n) {
            tally.samples += 1;
            tally.tokens += record.tokens;
        }
        if !all_kept {
            for record in &batch.records {
                if record.level < n {
                    kept.extend_from_slice(&batch.data[start..record.end]);
                }
                start = record.end;
            }
        }
        let bytes = if all_kept { &batch.data } else { &kept };
        hasher.update(bytes);
        output.write_all(bytes).await?;
    }
    Ok(())
}
