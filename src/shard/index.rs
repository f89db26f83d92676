//! `index`: shard I's rows of the summary datasets, indexed ([`pass1`]):
//! a sorted run per dataset, value spans where pass 2 can use them,
//! rejected rows under `--on-error skip`, then the marker.
//!
//! [`pass1`]: crate::mix::pass1

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::layout::{fresh_dir, Work};
use super::remote::Staged;
use super::{marker_for, Runner, ShardPlan};
use crate::assemble::RowReader;
use crate::mix::pass1::{self, IndexTargets, Indexed};
use crate::mix::rejects::Rejects;
use crate::mix::Plan;
use crate::observe::Unit;
use crate::pipeline::WorkerPool;

/// Index shard I's marker: what it read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndexDone {
    /// The plan's fingerprint.
    pub fingerprint: String,
    /// Which shard.
    pub shard: u32,
    /// Per summary dataset, in output order.
    pub datasets: Vec<Indexed>,
    /// Rows set aside, per file.
    pub rejected: Vec<(String, u64)>,
}

/// Run index shard `shard` of the plan in `work` (nothing when done).
///
/// A work folder in object storage is worked on in a local scratch copy
/// ([`super::remote`]): the plan and this shard's marker come down, the
/// run, spans, rejects and (last) the marker go up.
pub async fn index(work: &Work, shard: u32, runner: &Runner) -> anyhow::Result<IndexDone> {
    let staged = Staged::open(work, &runner.spill_root())?;
    let plan = staged.plan().await?;
    plan.check_shard(shard)?;
    let dir = staged.work().index_dir(shard);
    let marker = Work::marker(&dir);
    let done_before = staged.fetch(&marker).await?;
    let run = runner.plan_for(&plan)?;
    let done = index_planned(&plan, staged.work(), shard, &run).await?;
    if !done_before {
        staged.publish(&dir, &marker).await?;
    }
    Ok(done)
}

/// [`index`] with the plan in hand.
pub(crate) async fn index_planned(
    plan: &ShardPlan,
    work: &Work,
    shard: u32,
    run: &Plan,
) -> anyhow::Result<IndexDone> {
    let dir = work.index_dir(shard);
    let marker = Work::marker(&dir);
    if let Some(done) = marker_for(work, &marker, &plan.fingerprint, |d: &IndexDone| {
        &d.fingerprint
    })? {
        run.log(&format!("index shard {shard}: already done"));
        return Ok(done);
    }
    fresh_dir(&dir)?;
    let spill = crate::mix::spill_dir(run)?;
    let pool = WorkerPool::new(run.threads);
    let rows = Arc::new(RowReader {
        columns: run.columns.clone(),
        detected: run.detected_columns.clone(),
        gpt_oss: run.gpt_oss,
    });
    let mut rejects = Rejects::new(&dir, run.sets_aside())?;
    let total = plan.sampled().map(|d| d.shard_bytes(shard)).sum();
    let progress = run.observer.meter("index", total, Unit::Bytes);
    let mut datasets = Vec::new();
    for d in plan.sampled() {
        let run_path = work.index_run(shard, d.dataset);
        let spans_path = work.spans(shard, d.dataset);
        let targets = IndexTargets {
            run: &run_path,
            spans: &spans_path,
            spill: spill.path(),
            durable: work.durable(),
        };
        let parts = d.shards[shard as usize].clone();
        let indexed = pass1::index_parts(
            run,
            &pool,
            &rows,
            (d.dataset, shard),
            parts,
            targets,
            &mut rejects,
            &progress,
        )
        .await?;
        datasets.push(indexed);
    }
    progress.finish();
    let rejected = rejects.counts();
    rejects.commit(|_| {}).await?;
    let done = IndexDone {
        fingerprint: plan.fingerprint.clone(),
        shard,
        datasets,
        rejected,
    };
    work.write_json(&marker, &done)?;
    Ok(done)
}

/// Every index shard's marker, or the first one missing.
pub(crate) fn all_done(plan: &ShardPlan, work: &Work) -> anyhow::Result<Vec<IndexDone>> {
    all_markers(
        plan,
        work,
        "index",
        |s| work.index_dir(s),
        |d: &IndexDone| d.fingerprint.as_str(),
    )
}

/// Every shard's marker of `stage` (kept in `dir(shard)`), each checked
/// against the plan's fingerprint, or the first one missing.
pub(crate) fn all_markers<T: serde::de::DeserializeOwned>(
    plan: &ShardPlan,
    work: &Work,
    stage: &'static str,
    dir: impl Fn(u32) -> std::path::PathBuf,
    fingerprint: impl Fn(&T) -> &str,
) -> anyhow::Result<Vec<T>> {
    (0..plan.shards)
        .map(|s| {
            let marker = Work::marker(&dir(s));
            marker_for(work, &marker, &plan.fingerprint, |d: &T| fingerprint(d))?.ok_or_else(|| {
                super::StageError::NotDone {
                    stage,
                    shard: s,
                    shards: plan.shards,
                    work: work.shared_root().to_path_buf(),
                }
                .into()
            })
        })
        .collect()
}
