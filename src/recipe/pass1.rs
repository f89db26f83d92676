//! Pass 1: stream one source, validate every line as a JSON object, read
//! its `token_length` (or count it with `--tokenizer` when absent: the
//! `messages` through the chat template), and push one draw [`Key`] per
//! record into an external sorter. Memory: the sorter's budget plus the
//! pool's window of batches.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use futures::StreamExt;

use super::draw::{rank, Key};
use super::plan::Population;
use crate::conversation::with_parsed;
use crate::error::{Location, RecordError};
use crate::pipeline::{spawn_reader, WorkerPool};
use crate::read::fields::location;
use crate::read::scan::Scanner;
use crate::read::LineBatch;
use crate::spill::ExternalSorter;
use crate::tokens::RecordCounter;

thread_local! {
    static SCANNER: std::cell::RefCell<Scanner> = std::cell::RefCell::new(Scanner::default());
}

/// What a worker needs to index records.
pub struct Indexer {
    /// The draw seed.
    pub seed: u64,
    /// The source's identity in the hash.
    pub source: u64,
    /// Counts tokens of records without `token_length`.
    pub length: Option<Arc<RecordCounter>>,
}

/// One source after pass 1.
pub struct Indexed {
    /// Records and tokens.
    pub population: Population,
    /// Keys, ready to be sorted.
    pub keys: ExternalSorter<Key>,
    /// Records with no `token_length` (counted as 0 tokens).
    pub missing_tokens: u64,
    /// The first of them.
    pub first_missing: Option<Location>,
}

#[derive(Default)]
struct Batch {
    keys: Vec<Key>,
    missing: u64,
    first_missing: Option<Location>,
}

/// Index every record of `files`.
pub async fn index_source(
    pool: &WorkerPool,
    files: &[PathBuf],
    indexer: Arc<Indexer>,
    spill: &Path,
    budget: usize,
) -> anyhow::Result<Indexed> {
    let (batches, reader) = spawn_reader(files.to_vec(), pool.threads() * 2);
    let mut indexed = pool.map_ordered(batches, move |batch| indexer.index_batch(batch));
    let mut out = Indexed {
        population: Population::default(),
        keys: ExternalSorter::new(spill, budget),
        missing_tokens: 0,
        first_missing: None,
    };
    while let Some(batch) = indexed.next().await {
        let batch = batch?;
        out.missing_tokens += batch.missing;
        out.first_missing = out.first_missing.or(batch.first_missing);
        for key in batch.keys {
            out.population.records += 1;
            out.population.tokens += key.tokens;
            out.keys
                .push(key)
                .context("cannot spill the draw keys; check --spill-dir")?;
        }
    }
    reader.await.context("reader task failed")??;
    Ok(out)
}

impl Indexer {
    fn index_batch(&self, batch: LineBatch) -> Result<Batch, RecordError> {
        let mut out = Batch::default();
        for i in 0..batch.len() {
            let line = batch.lines[i];
            let ordinal = batch.first_row + i as u64;
            let path = batch.path.clone();
            let at = move || location(&path, line.line_no);
            let bytes = &batch.data[line.start..line.end];
            // Only a top-level `token_length` is a length (not one nested
            // in `meta`), so the record is scanned, not searched.
            let tokens = match (read_token_length(bytes, &at)?, &self.length) {
                (Some(n), _) => Some(n),
                (None, Some(length)) => Some(count_tokens(bytes, length.as_ref(), &at)?),
                (None, None) => None,
            };
            if tokens.is_none() {
                out.missing += 1;
                out.first_missing = out.first_missing.or_else(|| Some(at()));
            }
            let tokens = tokens.unwrap_or(0);
            out.keys.push(Key {
                rank: rank(self.seed, self.source, ordinal),
                ordinal,
                tokens,
            });
        }
        Ok(out)
    }
}

fn read_token_length(bytes: &[u8], at: &dyn Fn() -> Location) -> Result<Option<u64>, RecordError> {
    SCANNER.with(|s| {
        let mut scanner = s.borrow_mut();
        let row = scanner.scan(bytes, at)?;
        row.get_u64("token_length")
            .map_err(|found| RecordError::WrongType {
                at: at(),
                field: "token_length".into(),
                expected: "a non-negative integer",
                found,
            })
    })
}

/// Tokens of a record's `messages` through the chat template, read by the
/// one conversation parser (`thinking` included, as `tokens` counts it).
fn count_tokens(
    bytes: &[u8],
    counter: &RecordCounter,
    at: &dyn Fn() -> Location,
) -> Result<u64, RecordError> {
    with_parsed(bytes, at, |line, at| counter.count(line, at)).map_err(|e| {
        e.with_missing_hint("; to count tokens each record needs `messages: [{role, content}]`")
    })
}
