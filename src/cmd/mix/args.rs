//! `mix`'s command line and the validated plan made from it. Precedence:
//! flags, then environment variables, then a `.env` file in the working
//! folder (loaded by `main` without overriding the environment), then
//! defaults — the notebook's variables keep working.

use std::path::PathBuf;

use crate::columns::Columns;
use crate::error::UsageError;
use crate::format::parse_cut_sizes;
use crate::records::OnError;
use crate::tokenize::chat::{self, PreparedTokenizer};

/// The default tokenizer id (resolved in the HF cache, else embedded).
pub const DEFAULT_TOKENIZER: &str = "RedHatAI/Llama-3.1-8B-Instruct";

/// The fixed default seed.
pub const DEFAULT_SEED: u64 = 42;

/// Arguments of `knowmix mix`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The step-03 folder (one sub-folder per dataset).
    #[arg(long, default_value = "output/step_03")]
    pub input: PathBuf,
    /// Where `training_mix/` is written.
    #[arg(long, default_value = "output/step_04")]
    pub output: PathBuf,
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
    /// Worker threads for parsing, templating and counting (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Map a logical column to the file's column, e.g. document=summarized_document.
    #[arg(long = "column", value_name = "NAME=COLUMN")]
    pub columns: Vec<String>,
    /// Memory budget for sort buffers (e.g. 256MiB).
    #[arg(long, default_value = "256MiB", value_parser = parse_size)]
    pub memory_limit: u64,
    /// Folder for temporary sort runs (default: the system temp folder).
    #[arg(long)]
    pub spill_dir: Option<PathBuf>,
    /// Compress the cut files: combined_cut_{N}x.jsonl.zst / .jsonl.gz.
    #[arg(long, value_enum, default_value_t = CutCompression::None)]
    pub compress: CutCompression,
    /// Bad input rows: `fail` stops at the first one; `skip` sets them
    /// aside in `training_mix/rejected.jsonl` and counts them.
    #[arg(long, value_enum, default_value_t = OnError::Fail)]
    pub on_error: OnError,
    /// Rewrite every cut even when the manifest says it is up to date.
    #[arg(long)]
    pub force: bool,
    /// No progress or logs on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `--compress`: how cut files are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CutCompression {
    /// Plain `.jsonl`.
    None,
    /// `.jsonl.zst`.
    Zstd,
    /// `.jsonl.gz`.
    Gzip,
}

impl CutCompression {
    /// The suffix added after `.jsonl` (the writer compresses by extension).
    pub fn suffix(self) -> &'static str {
        match self {
            CutCompression::None => "",
            CutCompression::Zstd => ".zst",
            CutCompression::Gzip => ".gz",
        }
    }
}

/// A validated run of `mix`.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The step-03 folder.
    pub input: PathBuf,
    /// The step-04 folder.
    pub output: PathBuf,
    /// Tokenizer spec.
    pub tokenizer: String,
    /// Sorted, distinct cut sizes.
    pub cuts: Vec<u32>,
    /// QA per summary.
    pub qa_per_doc: u32,
    /// GPT-OSS option.
    pub gpt_oss: bool,
    /// Seed.
    pub seed: u64,
    /// Worker threads.
    pub threads: usize,
    /// Column names.
    pub columns: Columns,
    /// Bytes of sort buffer per sorter.
    pub memory_limit: u64,
    /// Where spills go.
    pub spill_dir: PathBuf,
    /// Compression of the cut files.
    pub compress: CutCompression,
    /// What to do with bad rows.
    pub on_error: OnError,
    /// Ignore up-to-date outputs.
    pub force: bool,
    /// Quiet mode.
    pub quiet: bool,
}

impl Args {
    /// Validate into a [`Plan`].
    pub fn plan(self) -> Result<Plan, UsageError> {
        let cuts = parse_cut_sizes(&self.cut_sizes)
            .map_err(|e| UsageError(format!("CUT_SIZES / --cut-sizes: {e}")))?;
        let tokenizer = crate::cmd::tokenizer_spec(self.tokenizer);
        if self.qa_per_doc == 0 {
            return Err(UsageError(
                "QA_PER_DOC / --qa-per-doc must be at least 1".into(),
            ));
        }
        let threads = crate::cmd::threads(self.threads, self.quiet);
        Ok(Plan {
            input: self.input,
            output: self.output,
            tokenizer,
            cuts,
            qa_per_doc: self.qa_per_doc,
            gpt_oss: self.gpt_oss,
            seed: self.seed,
            threads,
            columns: Columns::with_mappings(&self.columns)?,
            memory_limit: self.memory_limit,
            spill_dir: self.spill_dir.unwrap_or_else(std::env::temp_dir),
            compress: self.compress,
            on_error: self.on_error,
            force: self.force,
            quiet: self.quiet,
        })
    }
}

impl Plan {
    /// A line on stderr unless quiet.
    pub fn log(&self, line: &str) {
        if !self.quiet {
            crate::exit::log_line(line);
        }
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

    /// Sort buffer bytes for one sorter (two sorters may be live at once).
    pub fn sort_budget(&self) -> usize {
        (self.memory_limit / 4).max(1 << 20) as usize
    }
}

/// Parse `true`/`false` the way the notebook's `.env` files write them.
pub fn parse_bool(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        other => Err(format!("expected true or false, found {other:?}")),
    }
}

/// Parse a size such as `256MiB`, `1GB`, `4096`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid size {text:?}: expected e.g. 256MiB"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        "t" | "tb" => 1_000_000_000_000,
        "tib" => 1 << 40,
        other => return Err(format!("invalid size unit {other:?} in {text:?}")),
    };
    Ok((n * mult as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_bools() {
        assert_eq!(parse_size("256MiB").unwrap(), 256 << 20);
        assert_eq!(parse_size("4GB").unwrap(), 4_000_000_000);
        assert_eq!(parse_size("1.5k").unwrap(), 1500);
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_bool("True").unwrap());
        assert!(!parse_bool("false").unwrap());
        assert!(parse_bool("maybe").is_err());
    }
}
