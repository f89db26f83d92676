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
mod report;

use std::time::Instant;

use anyhow::Context;

pub use args::{parse_size, Args, DEFAULT_TOKENIZER};

use std::sync::Arc;

use crate::records::RecordBuilder;
use crate::pipeline::WorkerPool;
use crate::progress::{plain_total, Progress};
use crate::read::step03;

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
    let found = step03::discover(&plan.input)?;
    for warning in &found.warnings {
        plan.log(&format!("warning: {warning}"));
    }
    let tokenizer = plan.load_tokenizer()?;
    plan.log(&format!("tokenizer: {}", tokenizer.description));
    let spill = tempfile::Builder::new()
        .prefix("knowmix-spill-")
        .tempdir_in(&plan.spill_dir)
        .with_context(|| format!("{}: cannot create spill folder; set --spill-dir", plan.spill_dir.display()))?;
    let pool = WorkerPool::new(plan.threads);
    let builder = Arc::new(RecordBuilder {
        columns: plan.columns.clone(),
        gpt_oss: plan.gpt_oss,
        length: tokenizer.length.clone(),
    });
    let sampled: Vec<_> = found.datasets.iter().filter(|d| d.dataset.is_sampled()).collect();
    let progress = Progress::bytes("index", plain_total(sampled.iter().flat_map(|d| &d.files)), plan.quiet);
    let mut selections = Vec::new();
    for files in sampled {
        let selection = pass1::index_dataset(&plan, &pool, &builder, files, spill.path(), &progress).await?;
        selections.push(selection);
    }
    progress.finish();
    let feasibility = report::Feasibility::decide(&plan.cuts, &selections);
    for line in feasibility.explain() {
        plan.log(&line);
    }
    if feasibility.feasible.is_empty() {
        anyhow::bail!(
            "no requested cut size is feasible ({}); choose smaller --cut-sizes",
            feasibility.explain().join("; ")
        );
    }
    let progress = Progress::bytes("write", plain_total(found.datasets.iter().flat_map(|d| &d.files)), plan.quiet);
    let outcome = pass2::write_cuts(&plan, &pool, &builder, &found, selections, &feasibility.feasible, &progress).await?;
    progress.finish();
    let manifest = report::Manifest::new(&plan, &found, &tokenizer, &feasibility, &outcome, started.elapsed());
    manifest.write(&plan.output.join("training_mix").join("manifest.json"))?;
    report::print_summary(&outcome, plan.quiet)?;
    Ok(())
}
