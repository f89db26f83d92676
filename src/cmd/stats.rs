//! `knowmix stats`: what is in a JSONL mix or a step-03 folder. For
//! records: count, bytes and tokens per `metadata.dataset`, and the
//! min / median / p95 / max of `token_length` (read, or counted with
//! `--tokenizer`), and how many records training's length filter drops
//! (`--max-seq-len`, `--min-len`). For a step-03 folder, read as `mix`
//! reads it (`--column`, detected names, `--gpt-oss`): rows, distinct raw
//! documents and summaries per dataset (grouped on disk with [`crate::select::walk_groups`]),
//! and which cut sizes `mix` could write.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use futures::StreamExt;
use serde_json::{json, Value};

use super::values::parse_cut_sizes;
use crate::assemble::RowReader;
use crate::columns::Columns;
use crate::format::{LengthRule, DEFAULT_MAX_SEQ_LEN, DEFAULT_MIN_LEN};
use crate::pipeline::{spawn_reader, WorkerPool};
use crate::read::step03;
use crate::stats::{batch_stats, group_dataset, BatchStats, Tally, Training};
use crate::tokens::{RecordCounter, Template};

const ABOUT: &str = "\
Summarise JSONL records, or a step-03 folder.

Records (files or stdin, plain/gzip/zstd): records, bytes and tokens per
metadata.dataset (metadata may be an object or a JSON string holding one), and
min / median / p95 / max token_length. Tokens come from each record's
token_length, or are counted with --tokenizer as `knowmix tokens` does.
Memory: 4 bytes per record (exact percentiles).

Step-03 folder (given as a DIR): rows, distinct raw documents and summaries
per dataset, and which --cut-sizes `knowmix mix` can write (a cut N is
feasible when every summary dataset averages at least N summaries per raw
document). Grouping sorts 40 bytes per row on disk, --memory-limit in memory.

Compose: knowmix tokens < mix.jsonl | knowmix stats --json | jq .";

/// Arguments of `knowmix stats`.
#[derive(Debug, clap::Args)]
#[command(about = "Summarise JSONL records or a step-03 folder (stdin by default)", long_about = ABOUT)]
pub struct Args {
    /// JSONL files, a step-03 folder, or `-` (stdin, the default).
    #[arg(value_name = "FILE|DIR")]
    pub paths: Vec<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Count tokens with this tokenizer instead of reading token_length.
    #[arg(long)]
    pub tokenizer: Option<String>,
    /// The list of messages counted with --tokenizer.
    #[arg(long, default_value = "messages")]
    pub field: String,
    /// Cut sizes checked for feasibility on a step-03 folder.
    #[arg(long, default_value = "5,50")]
    pub cut_sizes: String,
    /// Worker threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Memory for grouping before sorting on disk (e.g. 256MiB).
    #[arg(long, default_value = "256MiB", value_parser = crate::size::parse_size)]
    pub memory_limit: u64,
    /// Training's max_seq_len: records of this many training tokens or more
    /// are counted as too long.
    #[arg(long, env = "MAX_SEQ_LEN", default_value_t = DEFAULT_MAX_SEQ_LEN)]
    pub max_seq_len: u64,
    /// Training's minimum length: shorter records are counted as too short.
    #[arg(long, default_value_t = DEFAULT_MIN_LEN)]
    pub min_len: u64,
    /// Tokens in token_length that training's length does not have (the
    /// post-processor's BOS: 1 for Llama 3, 0 for gpt-oss); default: the
    /// --tokenizer's, else 1 (the default tokenizer, Llama 3.1).
    #[arg(long)]
    pub added_tokens: Option<u64>,
    /// Step-03 folder: map a logical column, as `mix --column`.
    #[arg(long = "column", value_name = "NAME=COLUMN")]
    pub columns: Vec<String>,
    /// Step-03 folder: apply the GPT-OSS filter, as `mix --gpt-oss`.
    #[arg(long = "gpt-oss", env = "SAVE_GPT_OSS_FORMAT", value_parser = crate::cmd::values::parse_bool,
          num_args = 0..=1, default_missing_value = "true", default_value = "false")]
    pub gpt_oss: bool,
}

/// Run `knowmix stats`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let cuts = parse_cut_sizes(&args.cut_sizes)
        .map_err(|e| crate::error::UsageError(format!("--cut-sizes: {e}")))?;
    if let [dir] = &args.paths[..] {
        if is_folder(dir) {
            return super::block_on(step03_stats(dir.clone(), cuts, args));
        }
    }
    let counter = match &args.tokenizer {
        Some(spec) => Some(RecordCounter::load(spec, Template::Chat, args.field.clone())?.0),
        None => None,
    };
    let training = Training {
        rule: LengthRule {
            max_seq_len: args.max_seq_len,
            min_len: args.min_len,
            drop: false,
        },
        added: args
            .added_tokens
            .or_else(|| counter.as_ref().map(RecordCounter::added_tokens))
            .unwrap_or(1),
    };
    super::block_on(record_stats(args, counter.map(Arc::new), training))
}

/// Whether `path` is a folder (a step-03 output) rather than a file; an
/// `s3://` URL is a folder when it is a prefix with objects under it.
fn is_folder(path: &Path) -> bool {
    use crate::store::{self, Location};
    match Location::from_path(path) {
        Ok(Location::Local(_)) | Err(_) => path.is_dir(),
        Ok(at) => store::blocking(async {
            !store::exists(&at).await.unwrap_or(true)
                && store::folder_exists(&at).await.unwrap_or(false)
        }),
    }
}

async fn record_stats(
    args: Args,
    counter: Option<Arc<RecordCounter>>,
    training: Training,
) -> anyhow::Result<()> {
    let pool = WorkerPool::new(super::threads(args.threads, false));
    let (batches, reader) = spawn_reader(super::inputs_or_stdin(&args.paths), pool.threads() * 2);
    let mut per_batch = pool.map_ordered(batches, move |batch| {
        batch_stats(&batch, counter.as_deref(), training)
    });
    let mut total = BatchStats::default();
    while let Some(batch) = per_batch.next().await {
        let batch = batch?;
        for (name, tally) in &batch.datasets {
            total.datasets.entry(name.clone()).or_default().add(tally);
        }
    }
    reader.await.context("reader task failed")??;
    let mut all = Tally::default();
    total.datasets.values().for_each(|t| all.add(t));
    let rule = &training.rule;
    let mut total_json = all.to_json(rule);
    let token_length = total_json["token_length"].take();
    if let Some(o) = total_json.as_object_mut() {
        o.remove("token_length");
    }
    let report = json!({
        "total": total_json,
        "datasets": total.datasets.iter_mut().map(|(k, t)| (k.clone(), t.to_json(rule))).collect::<serde_json::Map<_, _>>(),
        "token_length": token_length,
    });
    print_report(&report, args.json)
}

async fn step03_stats(dir: PathBuf, cuts: Vec<u32>, args: Args) -> anyhow::Result<()> {
    let found = step03::discover(&dir)?;
    let given = Columns::with_mappings(&args.columns)?;
    let detected = crate::columns::detect(&given, &found)?;
    let pool = WorkerPool::new(super::threads(args.threads, false));
    let spill = tempfile::Builder::new()
        .prefix("knowmix-stats-")
        .tempdir()
        .context("cannot create a spill folder")?;
    let mut datasets = serde_json::Map::new();
    let mut means = Vec::new();
    let reading = Arc::new(RowReader {
        columns: given,
        detected,
        gpt_oss: args.gpt_oss,
    });
    for files in &found.datasets {
        let reading = reading.clone();
        let (rows, bytes, stats) = group_dataset(
            &pool,
            files.dataset,
            &files.files,
            spill.path(),
            args.memory_limit,
            reading,
        )
        .await?;
        if files.dataset.is_sampled() {
            means.push((files.dataset, stats.mean_summaries()));
        }
        datasets.insert(files.dataset.folder().into(), json!({
            "rows": rows, "bytes": bytes, "raw_documents": stats.raw_documents,
            "summaries": stats.summaries, "mean_summaries_per_raw_document": stats.mean_summaries(),
        }));
    }
    let feasible = crate::mix::report::Feasibility::from_means(&cuts, means).feasible;
    let report = json!({
        "step03": dir.display().to_string(),
        "datasets": datasets,
        "cut_sizes": cuts,
        "feasible_cut_sizes": feasible,
        "warnings": found.warnings,
    });
    print_report(&report, args.json)
}

fn print_report(report: &Value, as_json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if as_json {
        let mut text = serde_json::to_vec_pretty(report)?;
        text.push(b'\n');
        out.write_all(&text)?;
    } else {
        write_table(&mut out, report, "")?;
    }
    out.flush()?;
    Ok(())
}

/// A plain indented rendering of the report, one `key: value` per line.
fn write_table(out: &mut impl Write, value: &Value, indent: &str) -> std::io::Result<()> {
    let Value::Object(map) = value else {
        return writeln!(out, "{indent}{value}");
    };
    for (key, v) in map {
        match v {
            Value::Object(_) => {
                writeln!(out, "{indent}{key}:")?;
                write_table(out, v, &format!("{indent}  "))?;
            }
            _ => writeln!(out, "{indent}{key}: {v}")?,
        }
    }
    Ok(())
}
