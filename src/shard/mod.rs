//! Mix as stages that share only storage, so one mix can run on many
//! machines (as Ray tasks, Kubeflow pipeline steps, or by hand):
//!
//! ```text
//! plan (once) -> index (shard 0..N, any order, anywhere) -> emit (0..N) -> merge (once)
//! ```
//!
//! * [`plan()`] splits the inputs into N shards of about equal bytes and
//!   writes `plan.json` and the tokenizer's files to the work folder.
//! * [`index()`] indexes shard I's rows of the summary datasets: a sorted
//!   run and the value spans (pass 1).
//! * [`emit()`] draws from every shard's runs (the same answer in every
//!   shard: the draw is a pure function of seed and texts, and rows are
//!   identified by their place in their file) and writes shard I's part of every cut
//!   (pass 2).
//! * [`merge()`] concatenates the parts in shard order into
//!   `combined_cut_{N}x.jsonl` and writes the manifest.
//!
//! The merged files are byte-identical to a one-machine mix, which is
//! these same stages run in one process with one shard
//! ([`crate::mix::run_plan`]). Each stage writes its files under
//! temporary names and a completion marker last; rerunning a finished
//! stage does nothing, a killed one is simply rerun, and a stage run too
//! early, or against another plan, fails at once saying what is missing.

pub mod emit;
pub mod index;
pub mod layout;
pub mod merge;
mod plan;
mod remote;

use std::path::PathBuf;
use std::sync::Arc;

use crate::mix::Plan;
use crate::observe::Observer;

pub use emit::{emit, EmitDone};
pub use index::{index, IndexDone};
pub use layout::Work;
pub use merge::merge;
pub use plan::{make as make_plan, plan, PlannedDataset, ShardPlan};

/// How a stage runs on this machine (what does not change its bytes).
#[derive(Clone)]
pub struct Runner {
    /// Worker threads (0: all cores).
    pub threads: usize,
    /// Folder for sort spills (`None`: the system temp folder).
    pub spill_dir: Option<PathBuf>,
    /// Who hears logs and progress.
    pub observer: Arc<dyn Observer>,
}

impl Runner {
    /// The plan's options, run here.
    pub fn plan_for(&self, plan: &ShardPlan) -> Result<Plan, crate::error::UsageError> {
        let mut options = plan.options.clone();
        options.threads = self.threads;
        options.spill_dir = self.spill_dir.clone();
        options.plan(self.observer.clone())
    }

    /// Where scratch and spill folders go.
    pub fn spill_root(&self) -> PathBuf {
        self.spill_dir.clone().unwrap_or_else(std::env::temp_dir)
    }
}

/// Why a stage cannot run.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// Column names could not be detected.
    #[error(transparent)]
    Columns(#[from] crate::columns::DetectError),
    /// No `plan.json` in the work folder.
    #[error("{}: no plan.json; run `knowmix shard plan --work {}` first", work.display(), work.display())]
    NoPlan {
        /// The work folder.
        work: PathBuf,
    },
    /// A plan made by another knowmix version.
    #[error("{}: made by knowmix {found}, this is {}; plan again", path.display(), env!("CARGO_PKG_VERSION"))]
    Version {
        /// plan.json.
        path: PathBuf,
        /// Its version.
        found: String,
    },
    /// `--shards 0`.
    #[error("--shards must be at least 1")]
    NoShards,
    /// A shard number past the plan's.
    #[error("shard {shard} does not exist: the plan has {shards} shards (0 to {})", shards - 1)]
    NoSuchShard {
        /// Asked for.
        shard: u32,
        /// In the plan.
        shards: u32,
    },
    /// An earlier stage has not finished.
    #[error("{stage} shard {shard} of {shards} is not done; run `knowmix shard {stage} --work {} --shard {shard}` first", work.display())]
    NotDone {
        /// `index` or `emit`.
        stage: &'static str,
        /// Which shard.
        shard: u32,
        /// Of how many.
        shards: u32,
        /// The work folder.
        work: PathBuf,
    },
    /// A marker of another plan (the work folder was planned again).
    #[error("{}: written for another plan (fingerprint {found}, plan.json has {expected}); rerun that stage or use a fresh --work", path.display())]
    OtherPlan {
        /// The marker.
        path: PathBuf,
        /// Its fingerprint.
        found: String,
        /// The plan's.
        expected: String,
    },
    /// A work file that cannot be read as what it should be.
    #[error("{}: damaged work file ({what}); rerun the stage that wrote it", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// Fetching or publishing a work file in object storage failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Reading or writing the work folder failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// Check a finished stage's marker against the plan: `Ok(None)` when the
/// stage has not finished, an error when it finished for another plan.
fn marker_for<T>(
    work: &Work,
    path: &std::path::Path,
    fingerprint: &str,
    of: impl Fn(&T) -> &str,
) -> Result<Option<T>, StageError>
where
    T: serde::de::DeserializeOwned,
{
    let Some(done) = layout::read_marker::<T>(path).map_err(|e| work.name_shared(e))? else {
        return Ok(None);
    };
    if of(&done) != fingerprint {
        return Err(StageError::OtherPlan {
            path: work.shared(path),
            found: of(&done).to_owned(),
            expected: fingerprint.to_owned(),
        });
    }
    Ok(Some(done))
}
