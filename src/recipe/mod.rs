//! `knowmix recipe`: training mixes from a recipe file, with upsampling and
//! downsampling by count, ratio, weight or token budget ([`config`] has the
//! format). Two streaming passes over each source: pass 1 counts records
//! and tokens and keeps a 24-byte draw key per record in an external sorter
//! ([`pass1`]); the planner turns asks into exact counts and rejects
//! infeasible recipes before any output ([`plan`]); the draw settles which
//! records get how many copies ([`draw`]); pass 2 streams again and emits
//! them, bytes unchanged unless a system prompt is inserted ([`pass2`],
//! [`prompt`]), through a seeded global shuffle in bounded memory
//! ([`shuffle`]) or in source order, into one file or shards ([`shards`]).
//! Then the table and manifest ([`report`]). Memory: `--memory-limit` for
//! sort buffers plus the worker pool's window of 1 MiB batches.

pub mod config;
pub mod draw;
pub mod pass1;
pub mod pass2;
pub mod plan;
pub mod prompt;
pub mod report;
pub mod shards;
pub mod shuffle;
pub mod size;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

use crate::pipeline::WorkerPool;
use crate::tokens::{RecordCounter, Template};
use config::{Ask, Loaded};
use report::{Report, SourceReport};
use shards::{Limits, Shards};

/// What a recipe run is asked to do.
#[derive(Debug, Clone)]
pub struct RecipeOptions {
    /// The recipe YAML file (`datasets: [{path, sampling_size}]`; paths are
    /// relative to it).
    pub recipe: PathBuf,
    /// Output file (`-`: stdout), compressed by extension (.gz, .zst); with
    /// sharding, the stem of `STEM-00000.EXT`, …
    pub output: PathBuf,
    /// Seed of the draw and the shuffle: same seed, same bytes.
    pub seed: u64,
    /// Keep source order (copies adjacent) instead of a global shuffle.
    pub no_shuffle: bool,
    /// Count tokens of records without `token_length` with this tokenizer.
    pub tokenizer: Option<String>,
    /// Start a new shard after this many records.
    pub max_records_per_file: Option<u64>,
    /// Start a new shard before a file exceeds this many bytes (uncompressed).
    pub max_bytes_per_file: Option<u64>,
    /// Manifest path (default: OUTPUT.manifest.json; none for stdout).
    pub manifest: Option<PathBuf>,
    /// Memory budget for sort buffers (draw keys and shuffle slots).
    pub memory_limit: u64,
    /// Folder for temporary sort runs and the shuffle's data file.
    pub spill_dir: Option<PathBuf>,
    /// Worker threads (0: all cores).
    pub threads: usize,
    /// Go on when the output would exceed the free space or 1 TiB.
    pub allow_large: bool,
}

/// What a recipe run did.
pub struct RecipeOutcome {
    /// The per-source table (populations, selections, copies, shares).
    pub table: String,
    /// The manifest (also written beside the output unless it is stdout).
    pub manifest: serde_json::Value,
}

/// Run a recipe on a runtime of its own.
pub fn run(options: RecipeOptions) -> anyhow::Result<RecipeOutcome> {
    let runtime = crate::pipeline::runtime().context("cannot start the async runtime")?;
    runtime.block_on(run_options(options))
}

/// Per source: its files and its identity in the hashes (the path as
/// written plus its repeat index, so reordering the recipe keeps draws).
fn sources(loaded: &Loaded) -> anyhow::Result<Vec<(Vec<PathBuf>, u64)>> {
    let base = loaded
        .path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let datasets = &loaded.recipe.datasets;
    let mut out = Vec::new();
    for (i, s) in datasets.iter().enumerate() {
        let files = config::resolve_files(base, &s.path)
            .map_err(|e| anyhow::anyhow!("{}: datasets[{i}]: {e}", loaded.path.display()))?;
        let repeat = datasets[..i].iter().filter(|d| d.path == s.path).count();
        out.push((
            files,
            xxhash_rust::xxh3::xxh3_64(format!("{}#{repeat}", s.path).as_bytes()),
        ));
    }
    Ok(out)
}

/// Run a recipe on the caller's tokio runtime.
pub async fn run_options(args: RecipeOptions) -> anyhow::Result<RecipeOutcome> {
    let started = Instant::now();
    let loaded = config::load(&args.recipe)?;
    let sources = sources(&loaded)?;
    let inputs: Vec<PathBuf> = sources.iter().flat_map(|(f, _)| f.clone()).collect();
    crate::write::refuse_overwriting_inputs(&args.output, &inputs)?;
    if let Some(manifest) = &args.manifest {
        crate::write::refuse_overwriting_inputs(manifest, &inputs)?;
    }
    let limits = Limits {
        records: args.max_records_per_file,
        bytes: args.max_bytes_per_file,
    };
    let mut shards = Shards::new(&args.output, limits)?;
    let length = match &args.tokenizer {
        Some(spec) => Some(Arc::new(
            RecordCounter::load(spec, Template::Chat, "messages".into())?.0,
        )),
        None => None,
    };
    let spill_root = args.spill_dir.clone().unwrap_or_else(std::env::temp_dir);
    let spill = crate::spill::SpillFolder::create(&spill_root).with_context(|| {
        format!(
            "{}: cannot create spill folder; set --spill-dir",
            spill_root.display()
        )
    })?;
    let pool = WorkerPool::new(args.threads);
    let key_budget = (args.memory_limit / 2 / sources.len() as u64).max(1 << 20) as usize;
    let mut indexed = Vec::new();
    for (files, id) in &sources {
        let indexer = Arc::new(pass1::Indexer {
            seed: args.seed,
            source: *id,
            length: length.clone(),
        });
        indexed.push(pass1::index_source(&pool, files, indexer, spill.path(), key_budget).await?);
    }
    let limit = size::Limit {
        output: args.output.clone(),
        spill: (!args.no_shuffle).then(|| spill.path().to_path_buf()),
        allow: args.allow_large,
    };
    let mut reports = plan_and_draw(&loaded, &sources, indexed, &limit)?;
    let prompt: Option<Arc<str>> = loaded.recipe.metadata.sys_prompt.as_deref().map(Arc::from);
    let shuffle_budget = (args.memory_limit / 2).max(1 << 20) as usize;
    let mut spill_data = if args.no_shuffle {
        None
    } else {
        Some(
            shuffle::ShuffleSpill::new(spill.path(), shuffle_budget)
                .context("cannot create the shuffle spill; check --spill-dir")?,
        )
    };
    for ((files, id), report) in sources.iter().zip(&mut reports) {
        let emitter = Arc::new(pass2::Emitter {
            seed: args.seed,
            source: *id,
            draw: report.draw,
            prompt: prompt.clone(),
        });
        let mut sink = match spill_data.as_mut() {
            Some(s) => pass2::Sink::Shuffle(s),
            None => pass2::Sink::Ordered(&mut shards),
        };
        let emitted = pass2::emit_source(&pool, files, emitter, &mut sink).await?;
        if (emitted.selected, emitted.copies) != (report.draw.selected, report.draw.copies) {
            anyhow::bail!(
                "{}: the input changed between the two passes; run again",
                report.name
            );
        }
    }
    if let Some(data) = spill_data {
        write_shuffled(data, &mut shards).await?;
    }
    let outputs = shards.finish().await?;
    let report = Report {
        recipe: &loaded,
        seed: args.seed,
        shuffle: !args.no_shuffle,
        sources: reports,
        outputs,
        elapsed: started.elapsed(),
    };
    let manifest = args.manifest.clone().or_else(|| {
        (args.output != Path::new("-"))
            .then(|| PathBuf::from(format!("{}.manifest.json", args.output.display())))
    });
    if let Some(path) = manifest {
        report.write_manifest(&path)?;
    }
    Ok(RecipeOutcome {
        table: report.table(),
        manifest: report.manifest(),
    })
}

/// Check token needs, plan every source's request, and draw.
fn plan_and_draw(
    loaded: &Loaded,
    sources: &[(Vec<PathBuf>, u64)],
    indexed: Vec<pass1::Indexed>,
    limit: &size::Limit,
) -> anyhow::Result<Vec<SourceReport>> {
    let recipe = &loaded.recipe;
    let by_tokens = recipe.target.is_some_and(|t| t.tokens.is_some());
    let mut inputs = Vec::new();
    for (i, (s, ix)) in recipe.datasets.iter().zip(&indexed).enumerate() {
        let ask = loaded.asks[i];
        let needs_tokens =
            matches!(ask, Ask::Tokens(_)) || (by_tokens && matches!(ask, Ask::Weight(_)));
        if let (true, Some(at)) = (needs_tokens, &ix.first_missing) {
            anyhow::bail!(
                "{at}: record has no `token_length`, but datasets[{i}] ({}) is sized in tokens; \
                 add token_length to the records or pass --tokenizer",
                s.path
            );
        }
        inputs.push(plan::Input {
            name: format!("datasets[{i}] ({})", s.path),
            ask,
            max_repeats: s.max_repeats,
            population: ix.population,
        });
    }
    let requests = plan::requests(&inputs, recipe.target)
        .map_err(|e| anyhow::anyhow!("{}: {e}; nothing was written", loaded.path.display()))?;
    let estimate = requests
        .iter()
        .zip(&indexed)
        .zip(sources)
        .map(|((r, ix), (files, _))| size::estimate(*r, ix.population, files))
        .fold(0, u64::saturating_add);
    limit.check(estimate)?;
    let mut reports = Vec::new();
    for ((((s, ix), request), input), (files, _)) in recipe
        .datasets
        .iter()
        .zip(indexed)
        .zip(requests)
        .zip(inputs)
        .zip(sources)
    {
        let sorted = ix
            .keys
            .finish()
            .context("cannot sort the draw keys; check --spill-dir")?;
        let draw =
            draw::walk(sorted, ix.population, request).context("cannot read the draw keys back")?;
        reports.push(SourceReport {
            name: s.path.clone(),
            files: files.clone(),
            ask: input.ask,
            max_repeats: s.max_repeats,
            population: ix.population,
            missing_tokens: ix.missing_tokens,
            request,
            draw,
        });
    }
    Ok(reports)
}

/// Read the shuffle back (on a blocking thread) and write it out.
async fn write_shuffled(data: shuffle::ShuffleSpill, shards: &mut Shards) -> anyhow::Result<()> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<shuffle::Chunk>>(4);
    let reader = tokio::task::spawn_blocking(move || {
        let mut shuffled = match data.into_shuffled() {
            Ok(s) => s,
            Err(e) => return tx.blocking_send(Err(e)).unwrap_or(()),
        };
        loop {
            match shuffled.next_chunk(1 << 20).transpose() {
                None => return,
                Some(chunk) => {
                    if tx.blocking_send(chunk).is_err() {
                        return;
                    }
                }
            }
        }
    });
    while let Some(chunk) = rx.recv().await {
        let chunk = chunk.context("cannot read the shuffle spill back; check --spill-dir")?;
        let mut start = 0;
        for &end in &chunk.ends {
            shards.write_record(&chunk.data[start..end]).await?;
            start = end;
        }
    }
    reader.await.context("shuffle reader failed")?;
    Ok(())
}
