//! What a mix is asked to do ([`MixOptions`], plain data a front end fills
//! in: the CLI from flags, environment and `.env`; Python from keyword
//! arguments; a shard stage from `plan.json`) and the validated [`Plan`]
//! the engine runs, which adds the caller's [`Observer`].

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::assemble::OnError;
use crate::columns::Columns;
use crate::error::UsageError;
use crate::format::{Dataset, LengthRule, Thinking};
use crate::observe::Observer;
use crate::read::open::Compression;
use crate::tokenize::chat::{self, PreparedTokenizer};

pub use crate::tokenize::resolve::DEFAULT_TOKENIZER;

/// The fixed default seed.
pub const DEFAULT_SEED: u64 = 42;

/// Everything that decides a mix's output, and how it is run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MixOptions {
    /// The step-03 folder (one sub-folder per dataset).
    pub input: PathBuf,
    /// Where `training_mix/` is written.
    pub output: PathBuf,
    /// Tokenizer: a folder, a tokenizer.json, or a hub id in the HF cache.
    pub tokenizer: String,
    /// Cut sizes (summaries kept per raw document), any order.
    pub cuts: Vec<u32>,
    /// QA pairs kept per kept summary (at least 1).
    pub qa_per_doc: u32,
    /// GPT-OSS format: drop placeholder questions, Python-strip responses.
    pub gpt_oss: bool,
    /// Seed of the summary draw: same seed, same bytes.
    pub seed: u64,
    /// Worker threads (0: all cores).
    pub threads: usize,
    /// Physical column names.
    pub columns: Columns,
    /// Bytes of memory for sort buffers.
    pub memory_limit: u64,
    /// Folder for temporary sort runs (`None`: the system temp folder).
    pub spill_dir: Option<PathBuf>,
    /// Compression of the cut files.
    pub compress: Compression,
    /// What to do with bad rows.
    pub on_error: OnError,
    /// Rewrite cuts even when the manifest says they are up to date.
    pub force: bool,
    /// How the turns' `thinking` key is written.
    #[serde(default)]
    pub thinking: Thinking,
    /// Training's length filter: counted per cut and dataset; applied when
    /// its `drop` is set.
    #[serde(default)]
    pub lengths: LengthRule,
    /// Per dataset, the columns read: `columns` with the names not set by
    /// `--column` detected at plan time ([`crate::columns::detect`]);
    /// empty until planned.
    #[serde(default)]
    pub detected_columns: Vec<(Dataset, Columns)>,
}

impl MixOptions {
    /// The defaults of step 04 (the notebook's), reading `input`, writing
    /// under `output`.
    pub fn new(input: impl Into<PathBuf>, output: impl Into<PathBuf>) -> MixOptions {
        MixOptions {
            input: input.into(),
            output: output.into(),
            tokenizer: DEFAULT_TOKENIZER.to_owned(),
            cuts: vec![5, 50],
            qa_per_doc: 3,
            gpt_oss: false,
            seed: DEFAULT_SEED,
            threads: 0,
            columns: Columns::default(),
            memory_limit: 256 << 20,
            spill_dir: None,
            compress: Compression::None,
            on_error: OnError::Fail,
            force: false,
            thinking: Thinking::Keep,
            lengths: LengthRule::default(),
            detected_columns: Vec::new(),
        }
    }

    /// Check the options and attach the observer.
    pub fn plan(self, observer: Arc<dyn Observer>) -> Result<Plan, UsageError> {
        let mut cuts = self.cuts.clone();
        cuts.sort_unstable();
        cuts.dedup();
        if cuts.is_empty() || cuts[0] == 0 {
            return Err(UsageError(
                "CUT_SIZES / --cut-sizes: cut sizes must be positive integers".into(),
            ));
        }
        if self.qa_per_doc == 0 {
            return Err(UsageError(
                "QA_PER_DOC / --qa-per-doc must be at least 1".into(),
            ));
        }
        if self.lengths.max_seq_len <= self.lengths.min_len {
            return Err(UsageError(format!(
                "MAX_SEQ_LEN / --max-seq-len ({}) must be above --min-len ({})",
                self.lengths.max_seq_len, self.lengths.min_len
            )));
        }
        Ok(Plan {
            threads: crate::pipeline::resolve_threads(self.threads),
            spill_dir: self.spill_dir.clone().unwrap_or_else(std::env::temp_dir),
            cuts,
            options: self,
            observer,
        })
    }
}

/// A validated mix, ready to run.
#[derive(Clone)]
pub struct Plan {
    /// The options as given.
    pub options: MixOptions,
    /// Sorted, distinct cut sizes.
    pub cuts: Vec<u32>,
    /// Worker threads (resolved).
    pub threads: usize,
    /// Where spills go (resolved).
    pub spill_dir: PathBuf,
    /// Who hears the logs and the progress.
    pub observer: Arc<dyn Observer>,
}

impl std::ops::Deref for Plan {
    type Target = MixOptions;
    fn deref(&self) -> &MixOptions {
        &self.options
    }
}

impl Plan {
    /// A log line for the observer.
    pub fn log(&self, line: &str) {
        self.observer.log(line);
    }

    /// Resolve and load the tokenizer and its chat template.
    pub fn prepare_tokenizer(&self) -> anyhow::Result<PreparedTokenizer> {
        chat::prepare(&self.tokenizer)
    }

    /// The file name of cut `n` under this plan's `--compress`.
    pub fn cut_file(&self, n: u32) -> String {
        format!(
            "{}{}",
            crate::format::cut_file_name(n),
            self.compress.suffix()
        )
    }

    /// Whether rows are set aside in `rejected.jsonl` (bad rows under
    /// `--on-error skip`, over-length records under `--drop-over-length`).
    pub fn sets_aside(&self) -> bool {
        self.on_error == OnError::Skip || self.lengths.drop
    }

    /// Sort buffer bytes for one sorter (two sorters may be live at once).
    pub fn sort_budget(&self) -> usize {
        (self.memory_limit / 4).max(1 << 20) as usize
    }
}
