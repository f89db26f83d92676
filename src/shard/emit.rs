//! `emit`: after every index shard is done, draw from all their runs (the
//! same draw in every emit shard) and write shard I's part of every
//! feasible cut ([`pass2`]), its tallies, then the marker.
//!
//! [`pass2`]: crate::mix::pass2

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::index::{all_done, IndexDone};
use super::layout::{fresh_dir, Work};
use super::remote::Staged;
use super::{marker_for, Runner, ShardPlan};
use crate::assemble::{RecordBuilder, RowReader};
use crate::format::Dataset;
use crate::mix::pass1::{self, Selection};
use crate::mix::pass2::{CutResult, Pass2, ShardInput};
use crate::mix::rejects::Rejects;
use crate::mix::report::Feasibility;
use crate::mix::Plan;
use crate::pipeline::WorkerPool;
use crate::tokenize::chat::{self, LoadedTokenizer};
use crate::value_spans::SpansIndex;

/// Emit shard I's marker: what it wrote.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmitDone {
    /// The plan's fingerprint.
    pub fingerprint: String,
    /// Which shard.
    pub shard: u32,
    /// Which cuts are feasible (the same in every shard).
    pub feasibility: Feasibility,
    /// The parts written (`path` is the part).
    pub cuts: Vec<CutResult>,
    /// Rows read, per dataset.
    pub rows: BTreeMap<Dataset, u64>,
    /// Rows dropped by the GPT-OSS filter, per dataset.
    pub dropped: BTreeMap<Dataset, u64>,
    /// Rows set aside, per file.
    pub rejected: Vec<(String, u64)>,
    /// Which token counter ran (`fast` or `hf`).
    pub counter: String,
}

/// Run emit shard `shard` of the plan in `work` (nothing when done).
///
/// A work folder in object storage is worked on in a local scratch copy
/// ([`super::remote`]): down come the plan, the tokenizer, every index
/// shard's marker and runs and this shard's spans; up go the parts,
/// rejects and (last) the marker.
pub async fn emit(work: &Work, shard: u32, runner: &Runner) -> anyhow::Result<EmitDone> {
    let staged = Staged::open(work, &runner.spill_root())?;
    let plan = staged.plan().await?;
    plan.check_shard(shard)?;
    let dir = staged.work().emit_dir(shard);
    let marker = Work::marker(&dir);
    let done_before = staged.fetch(&marker).await?;
    if !done_before {
        fetch_inputs(&staged, &plan, shard).await?;
    }
    let run = runner.plan_for(&plan)?;
    let done = emit_planned(&plan, staged.work(), shard, &run, None, &[]).await?;
    if !done_before {
        staged.publish(&dir, &marker).await?;
    }
    Ok(done)
}

/// Fetch what emit shard `shard` reads from a shared work folder: every
/// index shard's marker (checked before anything large comes down), their
/// runs, this shard's spans and the tokenizer.
async fn fetch_inputs(staged: &Staged, plan: &ShardPlan, shard: u32) -> anyhow::Result<()> {
    let work = staged.work();
    let markers = (0..plan.shards).map(|s| Work::marker(&work.index_dir(s)));
    staged.fetch_all(markers.collect()).await?;
    all_done(plan, work)?;
    let mut files = Vec::new();
    for d in plan.sampled() {
        files.extend((0..plan.shards).map(|s| work.index_run(s, d.dataset)));
        files.push(work.spans(shard, d.dataset));
    }
    staged.fetch_all(files).await?;
    staged.fetch_folder(&work.tokenizer_dir()).await?;
    Ok(())
}

/// [`emit`] with the plan in hand, the tokenizer when already loaded, and
/// cuts to leave out (up to date already).
pub(crate) async fn emit_planned(
    plan: &ShardPlan,
    work: &Work,
    shard: u32,
    run: &Plan,
    tokenizer: Option<LoadedTokenizer>,
    leave_out: &[u32],
) -> anyhow::Result<EmitDone> {
    let dir = work.emit_dir(shard);
    let marker = Work::marker(&dir);
    if let Some(done) = marker_for(work, &marker, &plan.fingerprint, |d: &EmitDone| {
        d.fingerprint.as_str()
    })? {
        run.log(&format!("emit shard {shard}: already done"));
        return Ok(done);
    }
    let indexed = all_done(plan, work)?;
    fresh_dir(&dir)?;
    let tokenizer = match tokenizer {
        Some(t) => t,
        None => load_tokenizer(work)?,
    };
    let spill = crate::mix::spill_dir(run)?;
    let selections = draw_all(
        plan,
        work,
        shard,
        run,
        &indexed[shard as usize],
        spill.path(),
    )
    .await?;
    let feasibility = crate::mix::decide_cuts(run, &selections)?;
    let targets: Vec<(u32, PathBuf)> = feasibility
        .feasible
        .iter()
        .filter(|n| !leave_out.contains(n))
        .map(|&n| (n, work.part(shard, n)))
        .collect();
    let mut rejects = Rejects::new(&dir, run.sets_aside())?;
    let pool = WorkerPool::new(run.threads);
    let builder = Arc::new(RecordBuilder {
        rows: RowReader {
            columns: run.columns.clone(),
            detected: run.detected_columns.clone(),
            gpt_oss: run.gpt_oss,
        },
        length: tokenizer.length.clone(),
        thinking: run.thinking,
        lengths: run.lengths,
    });
    let inputs = shard_inputs(plan, shard);
    let pass = Pass2 {
        plan: run,
        pool: &pool,
        builder: &builder,
        datasets: &inputs,
    };
    let outcome = pass.write_cuts(selections, &targets, &mut rejects).await?;
    let rejected = rejects.counts();
    rejects.commit(|_| {}).await?;
    let done = EmitDone {
        fingerprint: plan.fingerprint.clone(),
        shard,
        feasibility,
        cuts: outcome.cuts,
        rows: outcome.rows,
        dropped: outcome.dropped,
        rejected,
        counter: tokenizer.counter_kind.to_owned(),
    };
    work.write_json(&marker, &done)?;
    Ok(done)
}

/// The tokenizer `plan` copied into the work folder.
fn load_tokenizer(work: &Work) -> anyhow::Result<LoadedTokenizer> {
    let dir = work.tokenizer_dir();
    chat::load_planned(&dir)
        .with_context(|| format!("{}: cannot load the planned tokenizer", dir.display()))
}

/// Every dataset as shard `shard` reads it.
fn shard_inputs(plan: &ShardPlan, shard: u32) -> Vec<ShardInput> {
    plan.datasets
        .iter()
        .map(|d| ShardInput {
            dataset: d.dataset,
            files: d.paths(),
            parts: d.shards[shard as usize].clone(),
            bytes: d.shard_bytes(shard),
        })
        .collect()
}

/// The draw of every summary dataset over all shards' runs, with this
/// shard's picks, tallies and spans.
async fn draw_all(
    plan: &ShardPlan,
    work: &Work,
    shard: u32,
    run: &Plan,
    own: &IndexDone,
    spill: &std::path::Path,
) -> anyhow::Result<Vec<Selection>> {
    let mut selections = Vec::new();
    for (d, mine) in plan.sampled().zip(&own.datasets) {
        let runs: Vec<PathBuf> = (0..plan.shards)
            .map(|s| work.index_run(s, d.dataset))
            .collect();
        let (run2, spill2) = (run.clone(), spill.to_path_buf());
        let (picks, stats, per_level) =
            tokio::task::spawn_blocking(move || pass1::draw(&run2, &runs, shard, &spill2))
                .await
                .context("selection task failed")?
                .with_context(|| {
                    format!(
                        "{}: cannot read the index runs back",
                        work.root().join("index").display()
                    )
                })?;
        let spans = if mine.spans {
            let path = work.spans(shard, d.dataset);
            Some(
                SpansIndex::open(&path)
                    .with_context(|| format!("{}: cannot map the spans", path.display()))?,
            )
        } else {
            None
        };
        selections.push(Selection {
            dataset: d.dataset,
            picks,
            stats,
            per_level,
            dropped: mine.dropped,
            rows: mine.rows,
            seekable: mine.seekable,
            spans,
        });
    }
    Ok(selections)
}

/// Every emit shard's marker, or the first one missing.
pub(crate) fn all_emitted(plan: &ShardPlan, work: &Work) -> anyhow::Result<Vec<EmitDone>> {
    super::index::all_markers(
        plan,
        work,
        "emit",
        |s| work.emit_dir(s),
        |d: &EmitDone| d.fingerprint.as_str(),
    )
}
