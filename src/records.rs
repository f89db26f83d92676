//! Turning one step-03 row into one output line: parse the needed columns
//! (read stage), apply the step-04 rules ([`crate::format`]), count tokens
//! through the chat template (render + tokenize stages, behind
//! [`TokenLength`]), and encode the record. Runs on the worker pool, a batch
//! at a time; it also holds the pass-1 indexing of summary rows.

use std::sync::Arc;

use crate::columns::Columns;
use crate::error::RecordError;
use crate::format::{self, Dataset, OutputRecord, Turn};
use crate::read::fields::{location, FieldParser, FieldValue, ParsedLine};
use crate::read::LineBatch;
use crate::select::{IndexEntry, Pick, Sampler};

/// The token count of a conversation: template, then tokenizer.
pub trait TokenLength: Send + Sync {
    /// `len(tok.encode(tok.apply_chat_template(turns, tokenize=False)))`.
    fn token_length(&self, turns: &[Turn<'_>]) -> Result<usize, String>;
}

/// Everything a worker needs to build records.
pub struct RecordBuilder {
    /// Column names.
    pub columns: Columns,
    /// The GPT-OSS filter and cleaning.
    pub gpt_oss: bool,
    /// The token counter.
    pub length: Arc<dyn TokenLength>,
}

/// One built record inside a [`BuiltBatch`].
#[derive(Debug, Clone, Copy)]
pub struct BuiltRecord {
    /// End offset of its line in `BuiltBatch::data`.
    pub end: usize,
    /// Its pick level (0 for datasets that are not sampled).
    pub level: u32,
    /// Its token_length.
    pub tokens: u64,
}

/// The output of one batch: encoded lines back to back.
#[derive(Debug, Default)]
pub struct BuiltBatch {
    /// Encoded JSON lines.
    pub data: Vec<u8>,
    /// Record boundaries and levels.
    pub records: Vec<BuiltRecord>,
    /// Rows dropped by the GPT-OSS filter.
    pub dropped: u64,
}

/// The output of pass 1 over one batch.
#[derive(Debug, Default)]
pub struct IndexedBatch {
    /// One entry per kept summary row.
    pub entries: Vec<IndexEntry>,
    /// Rows dropped by the GPT-OSS filter.
    pub dropped: u64,
}

/// A row-level failure, with the row's place.
pub type RowError = RecordError;

thread_local! {
    static PARSER: std::cell::RefCell<FieldParser> = std::cell::RefCell::new(FieldParser::default());
}

fn with_row<R>(
    batch: &mut LineBatch,
    i: usize,
    f: impl FnOnce(&ParsedLine<'_>, &dyn Fn() -> crate::error::Location) -> Result<R, RowError>,
) -> Result<R, RowError> {
    let line = batch.lines[i];
    let path = batch.path.clone();
    let at = move || location(&path, line.line_no);
    let bytes = &mut batch.data[line.start..line.end];
    PARSER.with(|p| {
        let mut parser = p.borrow_mut();
        let row = parser.parse(bytes, &at)?;
        f(&row, &at)
    })
}

impl RecordBuilder {
    /// Pass 1: index the summary rows of a batch.
    pub fn index_batch(&self, mut batch: LineBatch, sampler: Sampler) -> Result<IndexedBatch, RowError> {
        let mut out = IndexedBatch::default();
        for i in 0..batch.len() {
            let row = batch.first_row + i as u64;
            let entry = with_row(&mut batch, i, |line, at| {
                if self.gpt_oss && format::gpt_oss_drops(line.required_str(&self.columns.question, at)?) {
                    return Ok(None);
                }
                let raw = line.required_str(&self.columns.raw_document, at)?;
                let doc = line.required_str(&self.columns.document, at)?;
                Ok(Some(sampler.entry(raw, doc, row)))
            })?;
            match entry {
                Some(e) => out.entries.push(e),
                None => out.dropped += 1,
            }
        }
        Ok(out)
    }

    /// Pass 2: build the records of a batch. `picks` (sorted by row) chooses
    /// rows of sampled datasets; `None` keeps every row.
    pub fn build_batch(
        &self,
        dataset: Dataset,
        mut batch: LineBatch,
        picks: Option<Vec<Pick>>,
    ) -> Result<BuiltBatch, RowError> {
        let mut out = BuiltBatch::default();
        let chosen: Vec<(usize, u32)> = match picks {
            Some(picks) => picks
                .iter()
                .map(|p| ((p.row - batch.first_row) as usize, p.level))
                .collect(),
            None => (0..batch.len()).map(|i| (i, 0)).collect(),
        };
        for (i, level) in chosen {
            let kept = with_row(&mut batch, i, |line, at| self.build_row(dataset, line, at, &mut out.data))?;
            match kept {
                Some(tokens) => out.records.push(BuiltRecord { end: out.data.len(), level, tokens }),
                None => out.dropped += 1,
            }
        }
        Ok(out)
    }

    fn build_row(
        &self,
        dataset: Dataset,
        line: &ParsedLine<'_>,
        at: &dyn Fn() -> crate::error::Location,
        out: &mut Vec<u8>,
    ) -> Result<Option<u64>, RowError> {
        let c = &self.columns;
        let question = line.required_str(&c.question, at)?;
        if self.gpt_oss && format::gpt_oss_drops(question) {
            return Ok(None);
        }
        let response = line.required_str(&c.response, at)?;
        let document = line.required_str(&c.document, at)?;
        let raw_document = line.required_str(c.raw_for(dataset), at)?;
        let outline = line.required_str(&c.document_outline, at)?;
        // As the notebook: reasoning only for the summary datasets.
        let reasoning = if dataset.is_sampled() { line.get(&c.reasoning) } else { FieldValue::Missing };
        let thinking = match reasoning {
            FieldValue::Missing => Some(""),
            FieldValue::Null => None,
            FieldValue::Str(s) => Some(s),
            other => {
                return Err(RecordError::WrongType {
                    at: at(),
                    field: c.reasoning.clone(),
                    expected: "a string",
                    found: other.type_name(),
                })
            }
        };
        let user = dataset.user_content(outline, document, question);
        let answer = format::clean_response(response, self.gpt_oss);
        let messages = [
            Turn { role: "user", content: &user, thinking: None },
            Turn { role: "assistant", content: &answer, thinking },
        ];
        let tokens = self.length.token_length(&messages).map_err(|reason| RecordError::Template {
            at: at(),
            reason,
        })?;
        let metadata = format::metadata_string(document, raw_document);
        let record = OutputRecord {
            question,
            document_outline: outline,
            raw_document,
            document,
            messages,
            metadata: &metadata,
            token_length: tokens,
        };
        format::push_record_line(out, &record);
        Ok(Some(tokens as u64))
    }
}
