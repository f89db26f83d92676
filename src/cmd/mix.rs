//! `knowmix mix`: flags (then environment variables, then `.env`, loaded
//! by `main` without overriding the environment, then defaults, so the
//! notebook's variables keep working) to [`MixOptions`], the engine in
//! [`crate::mix`], and the per-cut tables the notebook prints.

use std::path::PathBuf;
use std::sync::Arc;

use super::values::parse_cut_sizes;
use crate::assemble::OnError;
use crate::cmd::progress::Stderr;
use crate::cmd::values::parse_bool;
use crate::columns::Columns;
use crate::error::UsageError;
use crate::format::{LengthRule, Thinking, DEFAULT_MAX_SEQ_LEN, DEFAULT_MIN_LEN};
use crate::mix::pass2::Tally;
use crate::mix::{MixOptions, MixOutcome, DEFAULT_SEED};
use crate::read::open::Compression;
use crate::size::parse_size;

/// Arguments of `knowmix mix`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The step-03 folder (one sub-folder per dataset).
    #[arg(long, default_value = "output/step_03")]
    pub input: PathBuf,
    /// Where `training_mix/` is written.
    #[arg(long, default_value = "output/step_04")]
    pub output: PathBuf,
    /// Worker threads for parsing, templating and counting (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Folder for temporary sort runs (default: the system temp folder).
    #[arg(long)]
    pub spill_dir: Option<PathBuf>,
    /// Rewrite every cut even when the manifest says it is up to date.
    #[arg(long)]
    pub force: bool,
    /// No progress or logs on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// What to mix.
    #[command(flatten)]
    pub mix: MixArgs,
}

/// The options that decide a mix's bytes (shared with `shard plan`).
#[derive(Debug, Clone, clap::Args)]
pub struct MixArgs {
    /// Tokenizer: a folder, a tokenizer.json, or a hub id found in the local
    /// HF cache [env: TOKENIZER_MODEL, TOKENIZER_MODEL_NAME]
    #[arg(long)]
    pub tokenizer: Option<String>,
    /// Comma-separated cut sizes (summaries kept per raw document).
    #[arg(long, env = "CUT_SIZES", default_value = "5,50")]
    pub cut_sizes: String,
    /// QA pairs kept per kept summary.
    #[arg(long, env = "QA_PER_DOC", default_value_t = 3)]
    pub qa_per_doc: u32,
    /// GPT-OSS format: drop placeholder questions, Python-strip responses.
    #[arg(long = "gpt-oss", env = "SAVE_GPT_OSS_FORMAT", value_parser = parse_bool,
          num_args = 0..=1, default_missing_value = "true", default_value = "false")]
    pub gpt_oss: bool,
    /// Seed of the summary draw: same seed, same bytes.
    #[arg(long, env = "SEED", default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Map a logical column to the file's column, e.g. document=summarized_document.
    #[arg(long = "column", value_name = "NAME=COLUMN")]
    pub columns: Vec<String>,
    /// Memory budget for sort buffers (e.g. 256MiB).
    #[arg(long, default_value = "256MiB", value_parser = parse_size)]
    pub memory_limit: u64,
    /// Compress the cut files: combined_cut_{N}x.jsonl.zst / .jsonl.gz.
    #[arg(long, value_enum, default_value_t = Compression::None)]
    pub compress: Compression,
    /// Bad input rows: `fail` stops at the first one; `skip` sets them
    /// aside in `training_mix/rejected.jsonl` and counts them.
    #[arg(long, value_enum, default_value_t = OnError::Fail)]
    pub on_error: OnError,
    /// The turns' `thinking` key: `keep` (the notebook's bytes) or
    /// `omit-empty` (only on turns with reasoning text; instructlab-training
    /// treats any non-null `thinking` as reasoning).
    #[arg(long, value_enum, default_value_t = Thinking::Keep)]
    pub thinking: Thinking,
    /// Training's max_seq_len: records of this many training tokens or
    /// more are counted (and dropped with --drop-over-length).
    #[arg(long, env = "MAX_SEQ_LEN", default_value_t = DEFAULT_MAX_SEQ_LEN)]
    pub max_seq_len: u64,
    /// Training's minimum length: shorter records are counted (and
    /// dropped with --drop-over-length).
    #[arg(long, default_value_t = DEFAULT_MIN_LEN)]
    pub min_len: u64,
    /// Remove the records training would drop from the cuts (they go to
    /// training_mix/rejected.jsonl with their reason); default: only count.
    #[arg(long)]
    pub drop_over_length: bool,
}

impl MixArgs {
    /// The options, reading `input` and writing under `output`.
    pub fn options(self, input: PathBuf, output: PathBuf) -> Result<MixOptions, UsageError> {
        let cuts = parse_cut_sizes(&self.cut_sizes)
            .map_err(|e| UsageError(format!("CUT_SIZES / --cut-sizes: {e}")))?;
        let mut options = MixOptions::new(input, output);
        options.tokenizer = crate::cmd::tokenizer_spec(self.tokenizer);
        options.cuts = cuts;
        options.qa_per_doc = self.qa_per_doc;
        options.gpt_oss = self.gpt_oss;
        options.seed = self.seed;
        options.columns = Columns::with_mappings(&self.columns)?;
        options.memory_limit = self.memory_limit;
        options.compress = self.compress;
        options.on_error = self.on_error;
        options.thinking = self.thinking;
        options.lengths = LengthRule {
            max_seq_len: self.max_seq_len,
            min_len: self.min_len,
            drop: self.drop_over_length,
        };
        Ok(options)
    }
}

/// Run the mix and print the tables.
pub fn run(args: Args) -> anyhow::Result<()> {
    let mut options = args.mix.options(args.input, args.output)?;
    options.threads = crate::cmd::threads(args.threads, args.quiet);
    options.spill_dir = args.spill_dir;
    options.force = args.force;
    let observer = Arc::new(Stderr { quiet: args.quiet });
    let plan = options.plan(observer)?;
    let outcome = crate::cmd::block_on(crate::mix::run_plan(plan))?;
    if !args.quiet {
        print_summary(&outcome)?;
    }
    Ok(())
}

/// Print the per-cut tables and the final summary on stdout (one write, so
/// a closed pipe is an error `exit` reports quietly, never a panic).
pub fn print_summary(outcome: &MixOutcome) -> std::io::Result<()> {
    use std::fmt::Write as _;
    let mut text = String::new();
    for cut in &outcome.cuts {
        let _ = writeln!(text, "cut {}x -> {}", cut.n, cut.path.display());
        for (dataset, tally) in &cut.datasets {
            let _ = writeln!(
                text,
                "  {:<22} {:>10} samples {:>14} tokens{}",
                dataset.folder(),
                tally.samples,
                tally.tokens,
                over_length_note(tally, outcome.lengths.drop)
            );
        }
    }
    let _ = writeln!(
        text,
        "{:>8}  {:>14}  {:>13}",
        "cut_size", "total_tokens", "total_samples"
    );
    for cut in &outcome.cuts {
        let total = cut.total();
        let _ = writeln!(
            text,
            "{:>8}  {:>14}  {:>13}",
            cut.n, total.tokens, total.samples
        );
    }
    let dropping = outcome.lengths.drop;
    for cut in &outcome.cuts {
        let total = cut.total();
        if total.too_long + total.too_short > 0 {
            let _ = writeln!(
                text,
                "cut {}x: training (max_seq_len {}, min_len {}) {} {} too long, {} too short",
                cut.n,
                outcome.lengths.max_seq_len,
                outcome.lengths.min_len,
                if dropping {
                    "would drop; removed here:"
                } else {
                    "drops"
                },
                total.too_long,
                total.too_short
            );
        }
    }
    std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes())
}

/// `, N too long / M too short` after a dataset's line, when any.
fn over_length_note(tally: &Tally, dropped: bool) -> String {
    if tally.too_long + tally.too_short == 0 {
        return String::new();
    }
    let verb = if dropped { "dropped" } else { "training drops" };
    format!(
        "  ({verb}: {} too long, {} too short)",
        tally.too_long, tally.too_short
    )
}
