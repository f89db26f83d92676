//! `knowmix shard plan|index|emit|merge`: a mix as stages that share only
//! a work folder, so its shards run as separate processes on any machines
//! (by hand, as Ray tasks or Kubeflow pipeline steps). Each subcommand
//! maps flags to the stage in [`crate::shard`] and runs it.

use std::path::PathBuf;
use std::sync::Arc;

use crate::cmd::mix::MixArgs;
use crate::cmd::progress::Stderr;
use crate::shard::{self, Runner, Work};

/// Arguments of `knowmix shard`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The stage to run.
    #[command(subcommand)]
    pub stage: Stage,
}

/// The stages, in the order they run.
#[derive(Debug, clap::Subcommand)]
pub enum Stage {
    /// Split the inputs into shards and write W/plan.json (once).
    Plan(PlanArgs),
    /// Index shard I's rows (every I in 0..N, any order, any machine).
    Index(ShardArgs),
    /// Write shard I's part of every cut (after every index shard).
    Emit(ShardArgs),
    /// Concatenate the parts into OUTPUT/training_mix (after every emit shard).
    Merge(MergeArgs),
}

/// `shard plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The step-03 folder.
    #[arg(long, default_value = "output/step_03")]
    pub input: PathBuf,
    /// The work folder every shard can see (a shared volume).
    #[arg(long)]
    pub work: PathBuf,
    /// How many shards.
    #[arg(long)]
    pub shards: u32,
    /// No logs on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// What to mix (the options of `knowmix mix`).
    #[command(flatten)]
    pub mix: MixArgs,
}

/// `shard index` and `shard emit`.
#[derive(Debug, clap::Args)]
pub struct ShardArgs {
    /// The work folder `plan` wrote.
    #[arg(long)]
    pub work: PathBuf,
    /// Which shard (0 to N-1).
    #[arg(long)]
    pub shard: u32,
    #[command(flatten)]
    run: RunArgs,
}

/// `shard merge`.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The work folder.
    #[arg(long)]
    pub work: PathBuf,
    /// Where `training_mix/` is written.
    #[arg(long, default_value = "output/step_04")]
    pub output: PathBuf,
    #[command(flatten)]
    run: RunArgs,
}

/// How a stage runs here.
#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Worker threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Folder for temporary sort runs (default: the system temp folder).
    #[arg(long)]
    spill_dir: Option<PathBuf>,
    /// No progress or logs on stderr.
    #[arg(long, short)]
    quiet: bool,
}

impl RunArgs {
    fn runner(self) -> Runner {
        Runner {
            threads: self.threads,
            spill_dir: self.spill_dir,
            observer: Arc::new(Stderr { quiet: self.quiet }),
        }
    }
}

/// Run one stage.
pub fn run(args: Args) -> anyhow::Result<()> {
    let work = match &args.stage {
        Stage::Plan(a) => &a.work,
        Stage::Index(a) => &a.work,
        Stage::Emit(a) => &a.work,
        Stage::Merge(a) => &a.work,
    };
    if crate::store::Location::is_object_path(work) {
        return Err(crate::error::UsageError(format!(
            "--work {}: the work folder must be a local or shared file system folder \
             (object storage is supported for --input and --output)",
            work.display()
        ))
        .into());
    }
    match args.stage {
        Stage::Plan(a) => {
            let observer = Arc::new(Stderr { quiet: a.quiet });
            let options = a
                .mix
                .options(a.input, PathBuf::new())?
                .plan(observer.clone())?;
            let work = Work::new(a.work);
            let (plan, _) = shard::plan(&options, &work, a.shards)?;
            crate::observe::Observer::log(
                observer.as_ref(),
                &format!(
                    "planned {} shard(s) in {} (fingerprint {})",
                    plan.shards,
                    work.root().display(),
                    plan.fingerprint
                ),
            );
            Ok(())
        }
        Stage::Index(a) => {
            let (work, runner) = (Work::new(a.work), a.run.runner());
            crate::cmd::block_on(async { shard::index(&work, a.shard, &runner).await.map(drop) })
        }
        Stage::Emit(a) => {
            let (work, runner) = (Work::new(a.work), a.run.runner());
            crate::cmd::block_on(async { shard::emit(&work, a.shard, &runner).await.map(drop) })
        }
        Stage::Merge(a) => {
            let quiet = a.run.quiet;
            let (work, runner) = (Work::new(a.work), a.run.runner());
            let outcome =
                crate::cmd::block_on(async { shard::merge(&work, &a.output, &runner).await })?;
            if !quiet {
                crate::cmd::mix::print_summary(&outcome)?;
            }
            Ok(())
        }
    }
}
