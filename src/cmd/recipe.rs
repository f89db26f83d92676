//! `knowmix recipe`: flags to [`RecipeOptions`], the engine in
//! [`crate::recipe`], and its table on stderr.

use std::path::PathBuf;

use crate::recipe::RecipeOptions;

/// Arguments of `knowmix recipe`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The recipe YAML file (`datasets: [{path, sampling_size}]`; paths are
    /// relative to it).
    pub recipe: PathBuf,
    /// Output file (`-`: stdout), compressed by extension (.gz, .zst); with
    /// sharding, the stem of `STEM-00000.EXT`, …
    #[arg(short, long, default_value = "-")]
    pub output: PathBuf,
    /// Seed of the draw and the shuffle: same seed, same bytes.
    #[arg(long, env = "SEED", default_value_t = 42)]
    pub seed: u64,
    /// Keep source order (copies adjacent) instead of a global shuffle.
    #[arg(long)]
    pub no_shuffle: bool,
    /// Count tokens of records without `token_length` with this tokenizer
    /// (folder, tokenizer.json or hub id in the HF cache).
    #[arg(long)]
    pub tokenizer: Option<String>,
    /// Start a new shard after this many records.
    #[arg(long, value_name = "N")]
    pub max_records_per_file: Option<u64>,
    /// Start a new shard before a file exceeds this many bytes (uncompressed).
    #[arg(long, value_name = "SIZE", value_parser = crate::size::parse_size)]
    pub max_bytes_per_file: Option<u64>,
    /// Manifest path (default: OUTPUT.manifest.json; none for stdout).
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Memory budget for sort buffers (draw keys and shuffle slots).
    #[arg(long, default_value = "256MiB", value_parser = crate::size::parse_size)]
    pub memory_limit: u64,
    /// Folder for temporary sort runs and the shuffle's data file.
    #[arg(long)]
    pub spill_dir: Option<PathBuf>,
    /// Worker threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// No table on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Go on when the output would exceed the free space or 1 TiB.
    #[arg(long)]
    pub allow_large: bool,
}

impl Args {
    fn options(self) -> RecipeOptions {
        RecipeOptions {
            recipe: self.recipe,
            output: self.output,
            seed: self.seed,
            no_shuffle: self.no_shuffle,
            tokenizer: self.tokenizer,
            max_records_per_file: self.max_records_per_file,
            max_bytes_per_file: self.max_bytes_per_file,
            manifest: self.manifest,
            memory_limit: self.memory_limit,
            spill_dir: self.spill_dir,
            threads: self.threads,
            allow_large: self.allow_large,
        }
    }
}

/// Run a recipe; the table goes to stderr unless `--quiet`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let quiet = args.quiet;
    let outcome =
        crate::cmd::block_on(async move { crate::recipe::run_options(args.options()).await })?;
    if !quiet {
        let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), outcome.table.as_bytes());
    }
    Ok(())
}
