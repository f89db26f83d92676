//! Pass 2 (the emit stage's work): stream a shard's parts of every dataset
//! again, in output order; build the chosen records on the worker pool;
//! append each record to every cut part that holds it. All of a shard's
//! parts are written in this one pass and committed together.

use std::collections::BTreeMap;
use std::iter::Peekable;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use futures::stream::BoxStream;
use futures::StreamExt;

use super::options::Plan;
use super::pass1::Selection;
use super::rejects::Rejects;
use crate::assemble::{BuiltBatch, BuiltRecord, RecordBuilder};
use crate::format::{Dataset, Fit, LengthRule};
use crate::observe::{Meter, Unit};
use crate::pipeline::{spawn_part_reader, spawn_pick_reader, CompactRows, PickedBatch, WorkerPool};
use crate::read::open::Compression;
use crate::read::part::Part;
use crate::read::LineBatch;
use crate::select::{in_cut, Pick};
use crate::spill::Sorted;
use crate::write::OutputFile;
use xxhash_rust::xxh3::Xxh3Default as Xxh3;

/// Samples and tokens of one dataset in one cut, and how many of its
/// records training's length filter drops.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    /// Records written.
    pub samples: u64,
    /// Sum of token_length of the records written.
    pub tokens: u64,
    /// Records at or over `max_seq_len` (written unless dropped).
    #[serde(default)]
    pub too_long: u64,
    /// Records under `min_len` (written unless dropped).
    #[serde(default)]
    pub too_short: u64,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, other: Tally) {
        self.samples += other.samples;
        self.tokens += other.tokens;
        self.too_long += other.too_long;
        self.too_short += other.too_short;
    }
}

/// One written cut.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
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
        let mut total = Tally::default();
        for (_, d) in &self.datasets {
            total += *d;
        }
        total
    }
}

impl Tally {
    /// Count one record of the cut.
    fn count(&mut self, record: &BuiltRecord) {
        if record.kept {
            self.samples += 1;
            self.tokens += record.tokens;
        }
        match record.fit {
            Fit::Fits => {}
            Fit::TooLong => self.too_long += 1,
            Fit::TooShort => self.too_short += 1,
        }
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
    /// Training's length rule the tallies were counted under.
    pub lengths: LengthRule,
}

/// What pass 2 works with.
pub struct Pass2<'a> {
    /// The run's settings.
    pub plan: &'a Plan,
    /// CPU workers.
    pub pool: &'a WorkerPool,
    /// Builds records (rules + tokenizer).
    pub builder: &'a Arc<RecordBuilder>,
    /// Per dataset in output order: its files (all of them: picks name
    /// their file by index) and the parts of them this shard reads.
    pub datasets: &'a [ShardInput],
}

/// One dataset as a shard's pass 2 reads it.
pub struct ShardInput {
    /// Which dataset.
    pub dataset: Dataset,
    /// All its files, in order.
    pub files: Vec<PathBuf>,
    /// The parts this shard reads.
    pub parts: Vec<Part>,
    /// The bytes of those parts, when all are plain (a meter's total).
    pub bytes: Option<u64>,
}

impl Pass2<'_> {
    /// Write every cut of `targets` (cut size, part file): every dataset in
    /// output order, each record appended to every cut that holds it; all
    /// parts committed together.
    pub async fn write_cuts(
        &self,
        selections: Vec<Selection>,
        targets: &[(u32, PathBuf)],
        rejects: &mut Rejects,
    ) -> anyhow::Result<Outcome> {
        let feasible: Vec<u32> = targets.iter().map(|(n, _)| *n).collect();
        let mut cuts = OpenCuts::create(targets)?;
        let mut outcome = Outcome {
            lengths: self.plan.lengths,
            ..Outcome::default()
        };
        let mut selections: BTreeMap<Dataset, Selection> =
            selections.into_iter().map(|s| (s.dataset, s)).collect();
        // Picks are drawn for the largest requested cut; rows beyond the
        // largest feasible one go to no file, so they are never built.
        let level_limit = feasible.iter().copied().max().unwrap_or(0);
        for files in self.datasets {
            let selection = selections.remove(&files.dataset);
            if let Some(s) = &selection {
                *outcome.dropped.entry(files.dataset).or_default() += s.dropped;
            }
            let written = self
                .write_dataset(files, selection, level_limit, &mut cuts, rejects)
                .await?;
            rejects.check_dataset(files.dataset, &files.files, written.rows)?;
            outcome.rows.insert(files.dataset, written.rows);
            if !files.dataset.is_sampled() {
                *outcome.dropped.entry(files.dataset).or_default() += written.dropped;
            }
            cuts.end_dataset(files.dataset, written.tallies);
        }
        outcome.cuts = cuts.finish().await?;
        rejects.finish().await?;
        cuts.commit().await?;
        Ok(outcome)
    }

    /// Build one dataset's records (all rows, or the selection's picks
    /// below `level_limit`) and append them. Picks in plain files are read
    /// at their places; otherwise the files are streamed and the picks
    /// matched by row.
    async fn write_dataset(
        &self,
        files: &ShardInput,
        selection: Option<Selection>,
        level_limit: u32,
        cuts: &mut OpenCuts,
        rejects: &mut Rejects,
    ) -> anyhow::Result<DatasetWritten> {
        let depth = self.pool.threads() * 2;
        let progress = self.meter(files, selection.as_ref(), level_limit);
        let shown = progress.clone();
        let known_rows = selection.as_ref().map(|s| s.rows);
        let (with_picks, reader): (BoxStream<'static, PickedBatch>, _) = match selection {
            Some(s) if s.seekable => {
                let compact = s.spans.map(|spans| CompactRows {
                    spans,
                    columns: self.builder.rows.needed_columns(files.dataset),
                });
                let picks = below_level(s.picks, level_limit);
                let (picked, reader) =
                    spawn_pick_reader(files.files.clone(), picks, compact, depth);
                let show = move |b: &PickedBatch| shown.add(b.0.len() as u64);
                (picked.inspect(show).boxed(), reader)
            }
            selection => {
                let (batches, reader) = spawn_part_reader(files.parts.clone(), depth);
                let picks = selection.map(|s| below_level(s.picks, level_limit).peekable());
                let show = move |b: &PickedBatch| shown.add(b.0.data.len() as u64);
                (
                    batches.map(attach_picks(picks)).inspect(show).boxed(),
                    reader,
                )
            }
        };
        let (worker, dataset, on_error) = (self.builder.clone(), files.dataset, self.plan.on_error);
        let mut built = self
            .pool
            .map_ordered(with_picks, move |(batch, picks)| match picks {
                Ok(picks) => worker
                    .build_batch_with(dataset, batch, picks, on_error)
                    .map_err(anyhow::Error::from),
                Err(e) => Err(anyhow::Error::from(e)
                    .context("cannot read the selection back from --spill-dir")),
            });
        let mut written = DatasetWritten {
            tallies: vec![Tally::default(); cuts.len()],
            ..DatasetWritten::default()
        };
        while let Some(batch) = built.next().await {
            let mut batch = batch?;
            written.dropped += batch.dropped;
            rejects.add(std::mem::take(&mut batch.rejected)).await?;
            cuts.append(&batch, &mut written.tallies).await?;
        }
        let read = reader.await.context("reader task failed")??;
        progress.finish();
        written.rows = known_rows.unwrap_or(read);
        Ok(written)
    }

    /// The meter of writing one dataset, totalled by what it will read:
    /// the picked rows below `level_limit` when they are read at their
    /// places, else the bytes of its parts (unknown when compressed).
    fn meter(&self, files: &ShardInput, selection: Option<&Selection>, level_limit: u32) -> Meter {
        let what = format!("write {}", files.dataset.folder());
        match selection {
            Some(s) if s.seekable => {
                let rows = s.per_level.iter().take(level_limit as usize).sum();
                self.plan.observer.meter(&what, Some(rows), Unit::Records)
            }
            _ => self.plan.observer.meter(&what, files.bytes, Unit::Bytes),
        }
    }
}

/// What writing one dataset did.
#[derive(Default)]
struct DatasetWritten {
    rows: u64,
    dropped: u64,
    tallies: Vec<Tally>,
}

type PickIter = Peekable<Picks>;

/// Picks read back from the spill, in row order.
type Picks = Box<dyn Iterator<Item = std::io::Result<Pick>> + Send>;

/// The picks whose level is below `limit` (read errors are kept).
fn below_level(picks: Sorted<Pick>, limit: u32) -> Picks {
    Box::new(picks.filter(move |p| p.as_ref().map_or(true, |p| in_cut(p.level, limit))))
}

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

/// The cut files being written, with what each holds so far.
struct OpenCuts {
    outputs: Vec<OutputFile>,
    hashers: Vec<Xxh3>,
    results: Vec<CutResult>,
}

impl OpenCuts {
    /// Open a temporary file for each of `targets` (plain: compression is
    /// the merge's).
    fn create(targets: &[(u32, PathBuf)]) -> anyhow::Result<OpenCuts> {
        let mut cuts = OpenCuts {
            outputs: Vec::new(),
            hashers: vec![Xxh3::new(); targets.len()],
            results: Vec::new(),
        };
        for (n, path) in targets {
            let (n, path) = (*n, path.clone());
            cuts.outputs
                .push(OutputFile::create(&path, Some(Compression::None))?);
            cuts.results.push(CutResult {
                n,
                path,
                datasets: Vec::new(),
                bytes: 0,
                digest: String::new(),
            });
        }
        Ok(cuts)
    }

    fn len(&self) -> usize {
        self.results.len()
    }

    /// Append each record of `batch` to every cut whose size exceeds its
    /// pick level, counting it in that cut's tally.
    async fn append(&mut self, batch: &BuiltBatch, tallies: &mut [Tally]) -> anyhow::Result<()> {
        let per_cut = self.outputs.iter_mut().zip(&mut self.hashers).zip(tallies);
        for (result, ((output, hasher), tally)) in self.results.iter().zip(per_cut) {
            let n = result.n;
            let mut kept: Vec<u8> = Vec::new();
            let mut start = 0;
            // Common case: the whole batch goes to this cut; skip the copy.
            let all_kept = batch.records.iter().all(|r| in_cut(r.level, n));
            for record in batch.records.iter().filter(|r| in_cut(r.level, n)) {
                tally.count(record);
            }
            if !all_kept {
                for record in &batch.records {
                    if in_cut(record.level, n) {
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

    /// Record one finished dataset's tallies.
    fn end_dataset(&mut self, dataset: Dataset, tallies: Vec<Tally>) {
        for (result, tally) in self.results.iter_mut().zip(tallies) {
            result.datasets.push((dataset, tally));
        }
    }

    /// Flush every cut (not yet renamed into place) and report them.
    async fn finish(&mut self) -> anyhow::Result<Vec<CutResult>> {
        let per_cut = self.outputs.iter_mut().zip(&self.hashers);
        for (result, (output, hasher)) in self.results.iter_mut().zip(per_cut) {
            result.bytes = output.bytes();
            result.digest = format!("{:032x}", hasher.digest128());
            output.finish().await?;
        }
        Ok(self.results.clone())
    }

    /// Rename every finished cut into place.
    async fn commit(self) -> anyhow::Result<()> {
        for output in self.outputs {
            output.commit().await?;
        }
        Ok(())
    }
}
