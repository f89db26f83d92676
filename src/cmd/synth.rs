//! `knowmix synth`: write a synthetic step-03 folder (the four dataset
//! folders sdg_hub produces, with wide rows) for fixtures and benchmarks.
//! Streams a few raw documents at a time, so memory does not grow with
//! `--target-bytes`; the same flags always give byte-identical files.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;

use crate::synth::{self, Compression, Config, Dataset};

/// Arguments of `knowmix synth`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The step-03 folder to write; the dataset folders go inside. Stale
    /// `gen*.jsonl[.gz|.zst]` files in those folders are removed.
    #[arg(long, default_value = "output/step_03")]
    pub output: PathBuf,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Number of raw documents (ignored with --target-bytes).
    #[arg(long, default_value_t = 16)]
    pub raw_docs: usize,
    /// Generate until the files on disk reach SIZE (e.g. 800MB, 4GB,
    /// 1.5GiB); overrides --raw-docs. Overshoots by at most one group of four
    /// raw documents (about 6 MB at the default widths).
    #[arg(long, value_name = "SIZE", value_parser = crate::size::parse_size)]
    pub target_bytes: Option<u64>,
    /// Most distinct summaries per raw document; the count is the larger of
    /// two uniform draws in 1..=N (mean about 5.8 for 8).
    #[arg(long, default_value_t = 8)]
    pub max_summaries: usize,
    /// Most QA pairs per summary (uniform in 1..=N).
    #[arg(long, default_value_t = 6)]
    pub max_qa: usize,
    /// Messages in the wide `raw_summary` column repeated on every row.
    #[arg(long, default_value_t = 50)]
    pub wide_messages: usize,
    /// JSON-lines files per dataset folder (`gen.jsonl` when 1).
    #[arg(long, default_value_t = 1)]
    pub files_per_dataset: usize,
    /// Compression of the files; `mixed` cycles none, gzip, zstd.
    #[arg(long, value_enum, default_value_t = Compression::None)]
    pub compress: Compression,
    /// Add the `parse_response_dict_reasoning_content` column.
    #[arg(long)]
    pub reasoning: bool,
    /// Print nothing on success.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Generate the corpus and print what was written.
pub fn run(args: Args) -> anyhow::Result<()> {
    let cfg = Config {
        output: args.output.clone(),
        seed: args.seed,
        raw_docs: args.raw_docs,
        target_bytes: args.target_bytes,
        max_summaries: args.max_summaries,
        max_qa: args.max_qa,
        wide_messages: args.wide_messages,
        files_per_dataset: args.files_per_dataset,
        compress: args.compress,
        reasoning: args.reasoning,
    };
    let start = Instant::now();
    let stats = synth::generate(&cfg)
        .with_context(|| format!("generating into {}", args.output.display()))?;
    let secs = start.elapsed().as_secs_f64();
    if !args.quiet {
        report(&args.output, &stats, secs);
    }
    Ok(())
}

fn report(output: &std::path::Path, stats: &synth::Stats, secs: f64) {
    let mb = stats.total_bytes() as f64 / 1e6;
    eprintln!(
        "wrote {} ({} raw documents, {mb:.1} MB in {secs:.2} s, {:.0} MB/s)",
        output.display(),
        stats.raw_docs,
        mb / secs.max(1e-9)
    );
    for (i, d) in Dataset::ALL.into_iter().enumerate() {
        eprintln!(
            "  {:<20} {:>9} rows {:>12} bytes",
            d.folder(),
            stats.rows[i],
            stats.bytes[i]
        );
    }
    let [e, d] = stats.mean_summaries();
    eprintln!("  mean distinct summaries per raw document: extractive {e:.3}, detailed {d:.3}");
}
