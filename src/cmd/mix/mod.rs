//! `knowmix mix`: step 04, knowledge mixing. Reads the step-03 folder in two
//! streaming passes — pass 1 indexes the summary datasets and draws the
//! summaries of every cut at once ([`crate::select`]); pass 2 reads every
//! dataset again, builds the chosen records on the worker pool (each record's
//! token count computed once and shared by all cuts holding it) and writes
//! `training_mix/combined_cut_{N}x.jsonl` for every feasible cut — then a
//! `manifest.json` and the summary table.

mod args;
mod pass1;
mod pass2;
mod rejects;
mod report;
mod resume;

use std::time::{Duration, Instant};

use anyhow::Context;

pub use args::{parse_size, Args, DEFAULT_TOKENIZER};

use std::sync::Arc;

use crate::pipeline::WorkerPool;
use crate::progress::{plain_total, Progress};
use crate::read::step03;
use crate::records::{OnError, RecordBuilder, RowReader};
use crate::tokenize::chat::{LoadedTokenizer, PreparedTokenizer};
use crate::write::remove_stale_partials;

/// Run the mix.
pub fn run(args: Args) -> anyhow::Result<()> {
    let plan = args.plan()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(crate::exit::until_interrupted(run_plan(plan)))
}

async fn run_plan(plan: args::Plan) -> anyhow::Result<()> {
    let started = Instant::now();
    let Some((setup, prepared)) = set_up(&plan)? else {
        return Ok(());
    };
    let spill = spill_dir(&plan)?;
    let pool = WorkerPool::new(plan.threads);
    let rows = Arc::new(RowReader {
        columns: plan.columns.clone(),
        gpt_oss: plan.gpt_oss,
    });
    let mut rejects = rejects::Rejects::new(&setup.dir, plan.on_error)?;
    let (selections, (tokenizer, built_in)) = pass_one(
        &plan,
        &setup,
        prepared,
        &pool,
        &rows,
        spill.path(),
        &mut rejects,
    )
    .await?;
    plan.log(&format!(
        "pass 1 (index and draw): {:.2} s; tokenizer tables built alongside in {:.2} s",
        started.elapsed().as_secs_f64(),
        built_in.as_secs_f64()
    ));
    let pass2_started = Instant::now();
    let feasibility = decide_cuts(&plan, &selections)?;
    let (carried, stale) = split_up_to_date(
        &plan,
        setup.previous.as_ref(),
        &feasibility.feasible,
        &setup.dir,
    );
    let builder = Arc::new(RecordBuilder {
        rows: (*rows).clone(),
        length: tokenizer.length.clone(),
    });
    let outcome = pass_two(
        &plan,
        &setup,
        &pool,
        &builder,
        selections,
        &stale,
        &mut rejects,
    )
    .await?;
    plan.log(&format!(
        "pass 2 (build and write): {:.2} s",
        pass2_started.elapsed().as_secs_f64()
    ));
    let skipped = if plan.on_error == OnError::Skip {
        rejects.manifest()
    } else {
        serde_json::Value::Null
    };
    rejects.commit(|line| plan.log(line)).await?;
    let manifest = report::Manifest::new(
        &plan,
        &setup.found,
        &tokenizer,
        &feasibility,
        &outcome,
        started.elapsed(),
    );
    // Last: a cut file only counts as up to date once this names it.
    manifest
        .finish(&setup.fingerprint, skipped, carried)
        .write(&setup.dir.join("manifest.json"))?;
    report::print_summary(&outcome, plan.quiet)?;
    Ok(())
}

/// What a run knows before reading any row.
struct Setup {
    /// The step-03 files.
    found: step03::Discovery,
    /// `OUTPUT/training_mix`.
    dir: std::path::PathBuf,
    /// Of the inputs, settings and tokenizer (for resuming).
    fingerprint: String,
    /// The manifest of an earlier run with the same fingerprint.
    previous: Option<resume::Previous>,
}

/// Find the inputs, prepare the tokenizer and the output folder, and see
/// what an earlier run left: `None` when every cut is already up to date.
fn set_up(plan: &args::Plan) -> anyhow::Result<Option<(Setup, PreparedTokenizer)>> {
    let found = step03::discover(&plan.input)?;
    for warning in &found.warnings {
        plan.log(&format!("warning: {warning}"));
    }
    let tokenizer = plan.prepare_tokenizer()?;
    plan.log(&format!("tokenizer: {}", tokenizer.description()));
    let dir = output_dir(plan)?;
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
    let setup = Setup {
        found,
        dir,
        fingerprint,
        previous,
    };
    Ok(Some((setup, tokenizer)))
}

/// Pass 1 ([`index_all`]) while the tokenizer's counter is built on a
/// blocking thread; returns the draws and the tokenizer with its build time.
async fn pass_one(
    plan: &args::Plan,
    setup: &Setup,
    prepared: PreparedTokenizer,
    pool: &WorkerPool,
    rows: &Arc<RowReader>,
    spill: &std::path::Path,
    rejects: &mut rejects::Rejects,
) -> anyhow::Result<(Vec<pass1::Selection>, (LoadedTokenizer, Duration))> {
    let loading = tokio::task::spawn_blocking(move || {
        let building = Instant::now();
        prepared.build().map(|t| (t, building.elapsed()))
    });
    tokio::try_join!(
        index_all(plan, pool, rows, &setup.found, spill, rejects),
        async { loading.await.context("tokenizer loading failed")? },
    )
}

/// Pass 2: write the cuts in `stale` ([`pass2::Pass2::write_cuts`]).
async fn pass_two(
    plan: &args::Plan,
    setup: &Setup,
    pool: &WorkerPool,
    builder: &Arc<RecordBuilder>,
    selections: Vec<pass1::Selection>,
    stale: &[u32],
    rejects: &mut rejects::Rejects,
) -> anyhow::Result<pass2::Outcome> {
    let progress = Progress::bytes(
        "write",
        plain_total(setup.found.datasets.iter().flat_map(|d| &d.files)),
        plan.quiet,
    );
    let pass = pass2::Pass2 {
        plan,
        pool,
        builder,
        found: &setup.found,
        progress: &progress,
    };
    let outcome = pass.write_cuts(selections, stale, rejects).await?;
    progress.finish();
    Ok(outcome)
}

/// `OUTPUT/training_mix`, created, with partial files of killed runs removed.
fn output_dir(plan: &args::Plan) -> anyhow::Result<std::path::PathBuf> {
    let dir = plan.output.join("training_mix");
    if crate::store::Location::is_object_path(&dir) {
        // Objects need no folder, and unfinished uploads are not objects.
        return Ok(dir);
    }
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("{}: cannot create output folder", dir.display()))?;
    remove_stale_partials(&dir);
    Ok(dir)
}

/// This run's spill folder under `--spill-dir` (removed when dropped).
fn spill_dir(plan: &args::Plan) -> anyhow::Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("knowmix-spill-")
        .tempdir_in(&plan.spill_dir)
        .with_context(|| {
            format!(
                "{}: cannot create spill folder; set --spill-dir",
                plan.spill_dir.display()
            )
        })
}

/// Pass 1 over every summary dataset, one after the other.
async fn index_all(
    plan: &args::Plan,
    pool: &WorkerPool,
    rows: &Arc<RowReader>,
    found: &step03::Discovery,
    spill: &std::path::Path,
    rejects: &mut rejects::Rejects,
) -> anyhow::Result<Vec<pass1::Selection>> {
    let sampled: Vec<_> = found
        .datasets
        .iter()
        .filter(|d| d.dataset.is_sampled())
        .collect();
    let progress = Progress::bytes(
        "index",
        plain_total(sampled.iter().flat_map(|d| &d.files)),
        plan.quiet,
    );
    let mut selections = Vec::new();
    for files in sampled {
        let selection =
            pass1::index_dataset(plan, pool, rows, files, spill, rejects, &progress).await?;
        selections.push(selection);
    }
    progress.finish();
    Ok(selections)
}

/// Which cuts the draw can fill; logs why others are skipped, and fails
/// when none can be written.
fn decide_cuts(
    plan: &args::Plan,
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
fn all_up_to_date(plan: &args::Plan, previous: &resume::Previous, dir: &std::path::Path) -> bool {
    let Some(means) = previous.means() else {
        return false;
    };
    let feasibility = report::Feasibility::from_means(&plan.cuts, means);
    let fresh = !feasibility.feasible.is_empty()
        && feasibility
            .feasible
            .iter()
            .all(|&n| previous.up_to_date(n, dir).is_some());
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

/// Split the feasible cuts into up-to-date ones (their manifest entries)
/// and the ones to write.
fn split_up_to_date(
    plan: &args::Plan,
    previous: Option<&resume::Previous>,
    feasible: &[u32],
    dir: &std::path::Path,
) -> (Vec<serde_json::Value>, Vec<u32>) {
    let mut carried = Vec::new();
    let mut stale = Vec::new();
    for &n in feasible {
        match previous.and_then(|p| p.up_to_date(n, dir)) {
            Some(entry) => {
                plan.log(&format!("cut {n}: up to date"));
                carried.push(entry);
            }
            None => stale.push(n),
        }
    }
    (carried, stale)
}
