//! `knowmix tokens`: the CLI of [`crate::tokens`]. Records are counted on
//! the worker pool a batch at a time and written in input order, so memory
//! is a few batches (`2 × threads` MiB) whatever the input size.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use futures::StreamExt;

use crate::pipeline::{spawn_reader, WorkerPool};
use crate::tokens::{count_batch, RecordCounter, Template};
use crate::write::OutputFile;

const ABOUT: &str = "\
Set token_length on JSONL records, as `knowmix mix` counts it.

Reads records with a `messages` list ({role, content, thinking?}), renders
them with the tokenizer's chat template, counts tokens, and writes each record
unchanged except for `token_length` (replaced in place, or appended before the
closing brace). With `--template none` the string field `--text-field` is
counted instead. Inputs may be plain, gzip or zstd (by magic bytes); output is
compressed by the -o name's extension (.gz, .zst).

Memory: about 2 MiB per worker thread. Order: output order = input order,
whatever --threads.

Compose: zstdcat big.jsonl.zst | knowmix tokens | knowmix sample -n 100000 > mix.jsonl";

/// Arguments of `knowmix tokens`.
#[derive(Debug, clap::Args)]
#[command(about = "Set token_length on JSONL records (stdin to stdout by default)", long_about = ABOUT)]
pub struct Args {
    /// Input files (plain, .gz or .zst); none or `-` reads stdin.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output file (`-`: stdout); .gz/.zst names are compressed.
    #[arg(short, long, default_value = "-")]
    pub output: PathBuf,
    /// The list of messages to render.
    #[arg(long, default_value = "messages")]
    pub field: String,
    /// `chat` renders --field with the chat template; `none` counts --text-field.
    #[arg(long, value_enum, default_value_t = Template::Chat)]
    pub template: Template,
    /// The string field counted with `--template none`.
    #[arg(long, default_value = "text")]
    pub text_field: String,
    /// Tokenizer: a folder, a tokenizer.json, or a hub id found in the local
    /// HF cache [env: TOKENIZER_MODEL, TOKENIZER_MODEL_NAME]
    #[arg(long)]
    pub tokenizer: Option<String>,
    /// Worker threads for parsing, templating and counting (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Print the tokenizer and a records/tokens summary on stderr.
    #[arg(short, long)]
    pub verbose: bool,
}

/// Run `knowmix tokens`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let spec = super::tokenizer_spec(args.tokenizer.clone());
    let field = match args.template {
        Template::Chat => args.field.clone(),
        Template::None => args.text_field.clone(),
    };
    super::refuse_overwriting_inputs(&args.output, &super::inputs_or_stdin(&args.files))?;
    let (counter, description) = RecordCounter::load(&spec, args.template, field)?;
    if args.verbose {
        crate::exit::log_line(&format!("tokenizer: {description}"));
    }
    super::block_on(count_all(args, Arc::new(counter)))
}

async fn count_all(args: Args, counter: Arc<RecordCounter>) -> anyhow::Result<()> {
    let inputs = super::inputs_or_stdin(&args.files);
    let pool = WorkerPool::new(super::threads(args.threads, !args.verbose));
    let mut output = OutputFile::create(&args.output, None)?;
    let (batches, reader) = spawn_reader(inputs, pool.threads() * 2);
    let mut counted = pool.map_ordered(batches, move |batch| count_batch(&counter, &batch));
    let (mut records, mut tokens) = (0u64, 0u64);
    while let Some(batch) = counted.next().await {
        let batch = batch?;
        records += batch.records;
        tokens += batch.tokens;
        output.write_all(&batch.data).await?;
    }
    reader.await.context("reader task failed")??;
    output.commit().await?;
    if args.verbose {
        crate::exit::log_line(&format!("tokens: {records} records, {tokens} tokens"));
    }
    Ok(())
}
