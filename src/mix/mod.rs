//! `mix`: step 04, knowledge mixing, as a library engine. A mix is the
//! stages of [`crate::shard`] run in this process with one shard — one
//! code path for one machine and for many:
//!
//! 1. **plan**: find the step-03 files, resolve the tokenizer, and see
//!    what an earlier run left ([`resume`]): up-to-date cuts are kept.
//! 2. **index** (pass 1, [`pass1`]): the summary datasets are streamed and
//!    indexed on the worker pool, the index sorted in bounded memory,
//!    while the tokenizer's counter tables are built on a thread of their
//!    own.
//! 3. **emit** (pass 2, [`pass2`]): the summaries of every cut are drawn
//!    at once ([`crate::select`]); every dataset is read again, the chosen
//!    records built on the worker pool (each record's token count computed
//!    once and shared by all cuts holding it) and appended to every cut.
//! 4. **merge**: the cuts are moved into `training_mix/`, then
//!    `manifest.json` is written, last.
//!
//! The engine prints nothing: logs and progress go to the caller's
//! [`crate::observe::Observer`], and the outcome is returned.

mod options;
pub mod pass1;
pub mod pass2;
pub mod rejects;
pub mod report;
mod resume;

use std::time::{Duration, Instant};

use anyhow::Context;

pub use options::{MixOptions, Plan, DEFAULT_SEED, DEFAULT_TOKENIZER};
pub use pass2::{CutResult, Outcome as MixOutcome};
pub use resume::fingerprint;

use crate::shard::{self, Work};
use crate::store::Location;
use crate::tokenize::chat::{LoadedTokenizer, PreparedTokenizer};

/// Run the mix on a runtime of its own; returns what was written (no
/// cuts when every cut was already up to date).
pub fn run(plan: Plan) -> anyhow::Result<MixOutcome> {
    let runtime = crate::pipeline::runtime().context("cannot start the async runtime")?;
    runtime.block_on(run_plan(plan))
}

/// Run the mix on the caller's tokio runtime.
pub async fn run_plan(plan: Plan) -> anyhow::Result<MixOutcome> {
    let started = Instant::now();
    let Some(setup) = set_up(&plan)? else {
        return Ok(MixOutcome::default());
    };
    // The work folder sits beside the cuts, so they can be renamed into
    // place; for an object output it is local, under --spill-dir.
    let object_output = Location::is_object_path(&setup.dir);
    let work_parent = match object_output {
        true => &plan.spill_dir,
        false => &setup.dir,
    };
    let work_dir = tempfile::Builder::new()
        .prefix(crate::write::WORK_PREFIX)
        .tempdir_in(work_parent)
        .with_context(|| format!("{}: cannot create a work folder", work_parent.display()))?;
    let work = Work::temporary(work_dir.path());
    let (planned, tokenizer) = plan_in(&plan, &work, setup.prepared)?;
    // The columns detected at plan time are the ones every stage reads.
    let mut plan = plan;
    plan.options.detected_columns = planned.options.detected_columns.clone();
    let (indexed, (tokenizer, built_in)) = tokio::try_join!(
        shard::index::index_planned(&planned, &work, 0, &plan),
        build_tokenizer(tokenizer),
    )?;
    drop(indexed);
    plan.log(&format!(
        "pass 1 (index): {:.2} s; tokenizer tables built alongside in {:.2} s",
        started.elapsed().as_secs_f64(),
        built_in.as_secs_f64()
    ));
    let emitting = Instant::now();
    let leave_out: Vec<u32> = setup.carried.iter().map(|(n, _)| *n).collect();
    let emitted =
        shard::emit::emit_planned(&planned, &work, 0, &plan, Some(tokenizer), &leave_out).await?;
    for (n, _) in &setup.carried {
        if emitted.feasibility.feasible.contains(n) {
            plan.log(&format!("cut {n}: up to date"));
        }
    }
    plan.log(&format!(
        "pass 2 (build and write): {:.2} s",
        emitting.elapsed().as_secs_f64()
    ));
    let carried = setup
        .carried
        .into_iter()
        .filter(|(n, _)| emitted.feasibility.feasible.contains(n))
        .map(|(_, entry)| entry)
        .collect();
    let merge = shard::merge::Merge {
        plan: &planned,
        work: &work,
        run: &plan,
        take_parts: !object_output,
    };
    let outcome = merge.run(carried, started).await?;
    if !object_output {
        resume::remove_stale_outputs_by_manifest(&setup.dir);
    }
    Ok(outcome)
}

/// Plan one shard in `work` from what [`set_up`] found.
fn plan_in(
    plan: &Plan,
    work: &Work,
    (found, tokenizer): (crate::read::step03::Discovery, PreparedTokenizer),
) -> anyhow::Result<(shard::ShardPlan, PreparedTokenizer)> {
    let planned = shard::make_plan(plan, &found, &tokenizer, 1)?;
    work.write_json(&work.plan_path(), &planned)?;
    Ok((planned, tokenizer))
}

/// Build the tokenizer's counter on a blocking thread; with its build time.
async fn build_tokenizer(
    prepared: PreparedTokenizer,
) -> anyhow::Result<(LoadedTokenizer, Duration)> {
    tokio::task::spawn_blocking(move || {
        let building = Instant::now();
        prepared.build().map(|t| (t, building.elapsed()))
    })
    .await
    .context("tokenizer loading failed")?
}

/// What a run knows before reading any row.
struct Setup {
    /// The step-03 files and the tokenizer.
    prepared: (crate::read::step03::Discovery, PreparedTokenizer),
    /// `OUTPUT/training_mix`.
    dir: std::path::PathBuf,
    /// Cuts an earlier run left up to date, with their manifest entries.
    carried: Vec<(u32, serde_json::Value)>,
    /// Held for the whole run: no other run writes into `dir`.
    _lock: Option<crate::lock::FolderLock>,
}

/// Find the inputs, prepare the tokenizer and the output folder, and see
/// what an earlier run left: `None` when every cut is already up to date.
fn set_up(plan: &Plan) -> anyhow::Result<Option<Setup>> {
    let found = crate::read::step03::discover(&plan.input)?;
    for warning in &found.warnings {
        plan.log(&format!("warning: {warning}"));
    }
    let tokenizer = plan.prepare_tokenizer()?;
    plan.log(&format!("tokenizer: {}", tokenizer.description()));
    let (dir, lock) = output_dir(plan)?;
    let fingerprint = resume::fingerprint(plan, &found, &tokenizer.files_manifest());
    let previous = (!plan.force)
        .then(|| resume::Previous::load(&dir.join("manifest.json"), &fingerprint))
        .flatten();
    if previous
        .as_ref()
        .is_some_and(|p| all_up_to_date(plan, p, &dir))
    {
        return Ok(None);
    }
    let carried = previous.map_or_else(Vec::new, |p| {
        plan.cuts
            .iter()
            .filter_map(|&n| {
                p.up_to_date(n, &dir, &plan.cut_file(n))
                    .map(|entry| (n, entry))
            })
            .collect()
    });
    Ok(Some(Setup {
        prepared: (found, tokenizer),
        dir,
        carried,
        _lock: lock,
    }))
}

/// `OUTPUT/training_mix`, created and locked, with partial files of killed
/// runs removed.
fn output_dir(
    plan: &Plan,
) -> anyhow::Result<(std::path::PathBuf, Option<crate::lock::FolderLock>)> {
    let dir = plan.output.join("training_mix");
    if Location::is_object_path(&dir) {
        // Objects need no folder, and unfinished uploads are not objects.
        return Ok((dir, None));
    }
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("{}: cannot create output folder", dir.display()))?;
    let lock = crate::lock::FolderLock::acquire(&dir)?;
    crate::write::remove_stale_partials(&dir);
    Ok((dir, Some(lock)))
}

/// A spill folder under `--spill-dir` for one stage (locked while alive,
/// removed when dropped; a killed run's is removed by the next).
pub fn spill_dir(plan: &Plan) -> anyhow::Result<crate::spill::SpillFolder> {
    crate::spill::SpillFolder::create(&plan.spill_dir).with_context(|| {
        format!(
            "{}: cannot create spill folder; set --spill-dir",
            plan.spill_dir.display()
        )
    })
}

/// Which cuts the draw can fill; logs why others are skipped, and fails
/// when none can be written.
pub fn decide_cuts(
    plan: &Plan,
    selections: &[pass1::Selection],
) -> anyhow::Result<report::Feasibility> {
    let feasibility = report::Feasibility::decide(&plan.cuts, selections);
    for line in feasibility.explain() {
        plan.log(&line);
    }
    if feasibility.feasible.is_empty() {
        anyhow::bail!(
            "no requested cut size is feasible ({}); choose smaller --cut-sizes",
            feasibility.explain().join("; ")
        );
    }
    Ok(feasibility)
}

/// Whether every feasible cut (judged by the stored means) is up to date;
/// logs them when so.
fn all_up_to_date(plan: &Plan, previous: &resume::Previous, dir: &std::path::Path) -> bool {
    let Some(means) = previous.means() else {
        return false;
    };
    let feasibility = report::Feasibility::from_means(&plan.cuts, means);
    let fresh = !feasibility.feasible.is_empty()
        && feasibility
            .feasible
            .iter()
            .all(|&n| previous.up_to_date(n, dir, &plan.cut_file(n)).is_some());
    if fresh {
        for line in feasibility.explain() {
            plan.log(&line);
        }
        for n in &feasibility.feasible {
            plan.log(&format!("cut {n}: up to date"));
        }
        plan.log("nothing to do; pass --force to rewrite");
    }
    fresh
}
