//! `knowmix sample`: a uniform sample of JSONL records, without
//! replacement, passed through byte for byte. Three algorithms, one per
//! input shape: [`crate::sample::index`] for files, [`crate::sample::reservoir`]
//! for streams, and a keyed hash for `--ratio` (each record kept on its
//! own, so it streams in input order).

use std::hash::Hasher;
use std::path::{Path, PathBuf};

use anyhow::Context;
use futures::StreamExt;

use crate::pipeline::spawn_reader;
use crate::read::LineBatch;
use crate::sample::store::RecordStore;
use crate::sample::{index, reservoir, store};
use crate::write::OutputFile;

const ABOUT: &str = "\
Sample JSONL records uniformly, without replacement, byte for byte.

-n K   exactly K records (all of them if there are fewer). Files are indexed
       (8 bytes per record in a temp file; compressed files are first
       decompressed to a temp file) and only the chosen records are read.
       Stdin goes through a reservoir: memory holds the K kept records up to
       --memory-limit, the rest is spilled to a temp file. A file and the
       same bytes on stdin give the same sample for the same --seed.
--ratio R  each record kept with probability R, decided by a keyed hash of
       (seed, record bytes): streams in constant memory, and the same record
       gets the same decision in any stream.

Order: input order; --shuffle gives a seeded random order (with --ratio it
buffers the kept records like the reservoir does).

Compose: zstdcat big.jsonl.zst | knowmix tokens | knowmix sample -n 100000 > mix.jsonl";

/// Arguments of `knowmix sample`.
#[derive(Debug, clap::Args)]
#[command(about = "Sample JSONL records uniformly (stdin to stdout by default)", long_about = ABOUT)]
#[command(group = clap::ArgGroup::new("size").required(true).args(["n", "ratio"]))]
pub struct Args {
    /// Input files (plain, .gz or .zst); none or `-` reads stdin.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output file (`-`: stdout); .gz/.zst names are compressed.
    #[arg(short, long, default_value = "-")]
    pub output: PathBuf,
    /// Keep exactly K records (fewer only when the input has fewer).
    #[arg(short = 'n', value_name = "K")]
    pub n: Option<usize>,
    /// Keep each record with probability R (0 < R <= 1).
    #[arg(long, value_name = "R")]
    pub ratio: Option<f64>,
    /// Seed: same seed and input, same bytes out.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Write the sample in a seeded random order instead of input order.
    #[arg(long)]
    pub shuffle: bool,
    /// Memory for held records before they spill to disk (e.g. 256MiB).
    #[arg(long, default_value = "256MiB", value_parser = crate::size::parse_size)]
    pub memory_limit: u64,
    /// Folder for temp files (default: the system temp folder).
    #[arg(long)]
    pub spill_dir: Option<PathBuf>,
}

/// Run `knowmix sample`.
pub fn run(args: Args) -> anyhow::Result<()> {
    if let Some(r) = args.ratio {
        if !(r > 0.0 && r <= 1.0) {
            return Err(crate::error::UsageError(format!("--ratio {r}: must be in (0, 1]")).into());
        }
    }
    super::block_on(sample(args))
}

async fn sample(args: Args) -> anyhow::Result<()> {
    let inputs = super::inputs_or_stdin(&args.files);
    super::refuse_overwriting_inputs(&args.output, &inputs)?;
    let spill_dir = args.spill_dir.clone().unwrap_or_else(std::env::temp_dir);
    let mut output = OutputFile::create(&args.output, None)?;
    // Objects stream through the reservoir, like stdin: indexing would map
    // whole files, and an object is not downloaded.
    let from_files = inputs
        .iter()
        .all(|p| p != Path::new("-") && !crate::store::Location::is_object_path(p));
    match (args.n, args.ratio) {
        (Some(k), _) if from_files => {
            sample_files(&inputs, k, &args, &spill_dir, &mut output).await?
        }
        (Some(k), _) => sample_stream(inputs, k, &args, &spill_dir, &mut output).await?,
        (None, Some(ratio)) => sample_ratio(inputs, ratio, &args, &spill_dir, &mut output).await?,
        (None, None) => unreachable!("clap requires -n or --ratio"),
    }
    output.commit().await?;
    Ok(())
}

async fn sample_files(
    files: &[PathBuf],
    k: usize,
    args: &Args,
    spill: &Path,
    out: &mut OutputFile,
) -> anyhow::Result<()> {
    let index = index::RecordIndex::build(files, spill).await?;
    let chosen = reservoir::draw_indices(index.len(), k, args.seed, args.shuffle);
    let mut block = Vec::with_capacity(1 << 20);
    for ordinal in chosen {
        index.read_record(ordinal, &mut block)?;
        block.push(b'\n');
        if block.len() >= 1 << 20 {
            out.write_all(&block).await?;
            block.clear();
        }
    }
    out.write_all(&block).await?;
    Ok(())
}

async fn sample_stream(
    inputs: Vec<PathBuf>,
    k: usize,
    args: &Args,
    spill: &Path,
    out: &mut OutputFile,
) -> anyhow::Result<()> {
    let (batches, reader) = spawn_reader(inputs, 4);
    let mut batches = batches.into_inner();
    let store = RecordStore::new(args.memory_limit, spill);
    let (seed, shuffle, holder) = (args.seed, args.shuffle, store.clone());
    let kept = tokio::task::spawn_blocking(move || {
        let records = std::iter::from_fn(move || batches.blocking_recv()).flat_map(lines);
        reservoir::sample_records(records, k, seed, shuffle, &holder)
    })
    .await
    .context("sampling task failed")?
    .context("cannot spill sampled records; check --spill-dir")?;
    reader.await.context("reader task failed")??;
    write_held(&kept, out).await
}

async fn sample_ratio(
    inputs: Vec<PathBuf>,
    ratio: f64,
    args: &Args,
    spill: &Path,
    out: &mut OutputFile,
) -> anyhow::Result<()> {
    let threshold = (ratio * 2f64.powi(64)).min(u64::MAX as f64) as u64;
    let keep = |bytes: &[u8]| ratio >= 1.0 || keyed_hash(args.seed, bytes) < threshold;
    let (mut batches, reader) = spawn_reader(inputs, 4);
    let store = RecordStore::new(args.memory_limit, spill);
    let (mut held, mut block, mut index) = (Vec::new(), Vec::with_capacity(1 << 20), 0u64);
    while let Some(batch) = batches.next().await {
        for i in 0..batch.len() {
            let line = batch.line(i);
            if keep(line) && args.shuffle {
                let record = store.hold(index, line);
                store
                    .settle(&record)
                    .context("cannot spill sampled records; check --spill-dir")?;
                held.push(record);
            } else if keep(line) {
                block.extend_from_slice(line);
                block.push(b'\n');
            }
            index += 1;
        }
        out.write_all(&block).await?;
        block.clear();
    }
    reader.await.context("reader task failed")??;
    if args.shuffle {
        rand::seq::SliceRandom::shuffle(&mut held[..], &mut reservoir::rng(args.seed));
        write_held(&held, out).await?;
    }
    Ok(())
}

/// Whether `--ratio` keeps a record: SipHash-1-3 keyed with the seed.
pub fn keyed_hash(seed: u64, bytes: &[u8]) -> u64 {
    crate::keyed::hash(seed, crate::keyed::SAMPLE_RATIO, |h| h.write(bytes))
}

fn lines(batch: LineBatch) -> impl Iterator<Item = Vec<u8>> {
    (0..batch.len()).map(move |i| batch.line(i).to_vec())
}

async fn write_held(
    held: &[std::sync::Arc<store::Held>],
    out: &mut OutputFile,
) -> anyhow::Result<()> {
    let mut block = Vec::with_capacity(1 << 20);
    for record in held {
        record
            .read_into(&mut block)
            .context("cannot read a spilled record back")?;
        block.push(b'\n');
        if block.len() >= 1 << 20 {
            out.write_all(&block).await?;
            block.clear();
        }
    }
    out.write_all(&block).await?;
    Ok(())
}
