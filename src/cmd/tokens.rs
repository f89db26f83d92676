//! `knowmix tokens`: set `token_length` on every JSONL record, exactly as
//! `mix` computes it (same tokenizer resolution, same chat template), and
//! pass everything else through byte for byte. Records are counted on the
//! worker pool a batch at a time and written in input order, so memory is a
//! few batches (`2 × threads` MiB) whatever the input size.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use futures::StreamExt;

use crate::chat_record;
use crate::error::{Location, RecordError};
use crate::pipeline::{spawn_reader, WorkerPool};
use crate::read::fields::{location, FieldParser, ParsedLine};
use crate::read::LineBatch;
use crate::records::TokenLength;
use crate::tokenize::chat::{self, ChatTokenLength};
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

/// How a record's tokens are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Template {
    /// Render the messages with the tokenizer's chat template (as `mix`).
    Chat,
    /// Count a plain text field (see --text-field).
    None,
}

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

/// Counts the tokens of one record; shared by `tokens` and `stats`.
pub struct RecordCounter {
    length: Arc<ChatTokenLength>,
    template: Template,
    field: String,
}

impl RecordCounter {
    /// Load the tokenizer `spec` and count `field` the `template` way.
    pub fn load(spec: &str, template: Template, field: String) -> anyhow::Result<(Self, String)> {
        let loaded = match template {
            Template::Chat => chat::load(spec)?,
            Template::None => chat::load_counter(spec)?,
        };
        let counter = RecordCounter {
            length: loaded.length.clone(),
            template,
            field,
        };
        let description = format!(
            "{} (counter: {}, {})",
            loaded.description, loaded.counter_kind, loaded.counter_detail
        );
        Ok((counter, description))
    }

    /// The tokens the tokenizer's post-processor adds to one sequence.
    pub fn added_tokens(&self) -> u64 {
        self.length.added_tokens() as u64
    }

    /// The token count of one parsed record.
    pub fn count(
        &self,
        line: &ParsedLine<'_>,
        at: &dyn Fn() -> Location,
    ) -> Result<u64, RecordError> {
        match self.template {
            Template::Chat => {
                let turns = chat_record::conversation(line, &self.field, at)?;
                let n = self
                    .length
                    .token_length(&turns)
                    .map_err(|reason| RecordError::Template { at: at(), reason })?;
                Ok(n as u64)
            }
            Template::None => {
                Ok(self.length.count_text(line.required_str(&self.field, at)?) as u64)
            }
        }
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<(FieldParser, Vec<u8>)> = std::cell::RefCell::new(Default::default());
}

/// Parse line `i` of `batch` (on a copy: the original bytes stay intact)
/// and call `f` with the parsed record and its location.
pub fn with_parsed<R>(
    batch: &LineBatch,
    i: usize,
    f: impl FnOnce(&ParsedLine<'_>, &dyn Fn() -> Location) -> Result<R, RecordError>,
) -> Result<R, RecordError> {
    let line_no = batch.lines[i].line_no;
    let at = || location(&batch.path, line_no);
    SCRATCH.with(|cell| {
        let (parser, copy) = &mut *cell.borrow_mut();
        copy.clear();
        copy.extend_from_slice(batch.line(i));
        let parsed = parser
            .parse(copy, at)
            .map_err(|e| clearer(e, batch.line(i), &at))?;
        f(&parsed, &at)
    })
}

/// simd-json's words for a malformed line name its internals
/// (`InternalError(TapeError)`); the strict scanner's say what is wrong
/// and where, so a malformed line is described by the scanner.
fn clearer(err: RecordError, line: &[u8], at: &dyn Fn() -> Location) -> RecordError {
    if !matches!(err, RecordError::Malformed { .. }) {
        return err;
    }
    match crate::read::scan::Scanner::default().scan(line, at) {
        Err(described) => described,
        Ok(_) => err,
    }
}

/// One batch with token_length set: output bytes, records, tokens.
pub struct CountedBatch {
    /// The output lines, `\n`-terminated.
    pub data: Vec<u8>,
    /// Records in the batch.
    pub records: u64,
    /// Sum of their token counts.
    pub tokens: u64,
}

/// Set token_length on every line of `batch`.
pub fn count_batch(
    counter: &RecordCounter,
    batch: &LineBatch,
) -> Result<CountedBatch, RecordError> {
    let mut out = CountedBatch {
        data: Vec::with_capacity(batch.data.len() + 24 * batch.len()),
        records: 0,
        tokens: 0,
    };
    for i in 0..batch.len() {
        let n = with_parsed(batch, i, |line, at| counter.count(line, at))?;
        chat_record::push_with_token_length(&mut out.data, batch.line(i), n);
        out.data.push(b'\n');
        out.records += 1;
        out.tokens += n;
    }
    Ok(out)
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
