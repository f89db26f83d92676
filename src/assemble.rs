//! Turning one step-03 row into one output line: read the needed columns
//! (read stage, [`crate::read::scan`]), apply the step-04 rules
//! ([`crate::format`]), count tokens through the chat template (render +
//! tokenize stages, behind [`TokenLength`]), and encode the record. Runs on
//! the worker pool, a batch at a time; it also holds the pass-1 indexing of
//! summary rows.

use std::sync::Arc;

use crate::columns::Columns;
use crate::error::{Location, RecordError};
use crate::format::{self, Dataset, Fit, LengthRule, OutputRecord, Thinking, Turn};
use crate::read::fields::{location, FieldValue};
use crate::read::scan::{Scanner, TopLevel};
use crate::read::LineBatch;
use crate::select::{IndexEntry, Pick, Sampler};
use crate::tokenize::{training, TokenLength};
use crate::value_spans::ValueSpans;

/// Reading and checking the columns of rows: all pass 1 needs.
#[derive(Debug, Clone)]
pub struct RowReader {
    /// Column names (`--column` and defaults).
    pub columns: Columns,
    /// Per dataset, the names detected at plan time (datasets not listed
    /// read `columns`).
    pub detected: Vec<(Dataset, Columns)>,
    /// The GPT-OSS filter and cleaning.
    pub gpt_oss: bool,
}

/// Everything a worker needs to build records.
pub struct RecordBuilder {
    /// Reads the columns.
    pub rows: RowReader,
    /// The token counter.
    pub length: Arc<dyn TokenLength>,
    /// How `thinking` is written.
    pub thinking: Thinking,
    /// Training's length filter: counted, and applied when `drop` is set.
    pub lengths: LengthRule,
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
    /// Whether training's length filter keeps it.
    pub fit: Fit,
    /// Whether its line is in the batch's data (false: dropped as over
    /// length, set aside with the rejected rows).
    pub kept: bool,
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
    /// Rows set aside under [`OnError::Skip`].
    pub rejected: Vec<Rejected>,
}

/// The output of pass 1 over one batch.
#[derive(Debug, Default)]
pub struct IndexedBatch {
    /// One entry per kept summary row.
    pub entries: Vec<IndexEntry>,
    /// Row ordinal of the batch's first line.
    pub first_row: u64,
    /// Per line of the batch, where its needed values are (unknown for
    /// rows not kept), in the order of [`RowReader::needed_columns`].
    pub spans: Vec<ValueSpans>,
    /// Rows dropped by the GPT-OSS filter.
    pub dropped: u64,
    /// Rows set aside under [`OnError::Skip`].
    pub rejected: Vec<Rejected>,
}

/// A row-level failure, with the row's place.
pub type RowError = RecordError;

/// What to do with a row that cannot be used (`--on-error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Stop at the first bad row (the default).
    #[default]
    Fail,
    /// Set bad rows aside as [`Rejected`] and go on.
    Skip,
}

/// A row set aside under [`OnError::Skip`]: where, why, and its raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// File and line.
    pub at: Location,
    /// What was wrong (without the location).
    pub reason: String,
    /// The line as read (before parsing).
    pub text: Vec<u8>,
}

/// The columns of one usable row, checked.
struct Fields<'a> {
    question: &'a str,
    response: &'a str,
    document: &'a str,
    raw_document: &'a str,
    outline: &'a str,
    thinking: Option<&'a str>,
}

thread_local! {
    static SCANNER: std::cell::RefCell<Scanner> = std::cell::RefCell::new(Scanner::default());
}

fn with_row<R>(
    batch: &LineBatch,
    i: usize,
    f: impl FnOnce(&TopLevel<'_>, &dyn Fn() -> Location) -> Result<R, RowError>,
) -> Result<R, RowError> {
    let line = batch.lines[i];
    let tail = batch.unterminated_tail && i + 1 == batch.len();
    let path = batch.path.clone();
    let at = move || location(&path, line.number(&path));
    let bytes = &batch.data[line.start..line.end];
    let result = SCANNER.with(|s| {
        let mut scanner = s.borrow_mut();
        let row = scanner.scan(bytes, &at)?;
        f(&row, &at)
    });
    result.map_err(|e| if tail { e.on_truncated_tail() } else { e })
}

impl OnError {
    /// Apply this policy to a row's result: `Ok(None)` for a rejected row.
    /// `line` is the row's text as read (scanning never writes it).
    fn settle<R>(
        self,
        result: Result<R, RowError>,
        line: &[u8],
        rejected: &mut Vec<Rejected>,
    ) -> Result<Option<R>, RowError> {
        match (result, self) {
            (Ok(r), _) => Ok(Some(r)),
            (Err(e), OnError::Fail) => Err(e),
            // A template or tokenizer failure is not a bad input row: every
            // row would be set aside and the cuts left empty.
            (Err(e @ RecordError::Template { .. }), OnError::Skip) => Err(e),
            (Err(e), OnError::Skip) => {
                rejected.push(Rejected {
                    at: e.location().clone(),
                    reason: e.reason(),
                    text: line.to_vec(),
                });
                Ok(None)
            }
        }
    }
}

impl RowReader {
    /// The columns read from `dataset`'s rows.
    pub fn columns_for(&self, dataset: Dataset) -> &Columns {
        self.detected
            .iter()
            .find(|(d, _)| *d == dataset)
            .map_or(&self.columns, |(_, c)| c)
    }

    /// Pass 1: index the rows of a sampled `dataset`'s batch. Every column
    /// pass 2 needs is checked here, so a row that fails is never picked.
    pub fn index_batch(
        &self,
        dataset: Dataset,
        batch: LineBatch,
        sampler: Sampler,
        on_error: OnError,
    ) -> Result<IndexedBatch, RowError> {
        let mut out = IndexedBatch {
            first_row: batch.first_row,
            ..IndexedBatch::default()
        };
        let needed = self.needed_columns(dataset);
        for i in 0..batch.len() {
            let row = batch.first_row + i as u64;
            let place = batch.row_place(i);
            let entry = with_row(&batch, i, |line, at| {
                let kept = self.fields(dataset, line, at)?.map(|f| IndexEntry {
                    place,
                    ..sampler.entry(f.raw_document, f.document, row)
                });
                let spans = kept.map_or_else(ValueSpans::default, |_| {
                    ValueSpans::new(needed.iter().map(|c| line.extent(c)))
                });
                Ok((kept, spans))
            });
            let (entry, spans) = match entry {
                Ok((kept, spans)) => (Ok(kept), spans),
                Err(e) => (Err(e), ValueSpans::default()),
            };
            out.spans.push(spans);
            match on_error.settle(entry, batch.line(i), &mut out.rejected)? {
                Some(Some(e)) => out.entries.push(e),
                Some(None) => out.dropped += 1,
                None => {}
            }
        }
        Ok(out)
    }

    /// The columns [`RowReader::fields`] reads from a row of `dataset`, in
    /// the order [`ValueSpans`] keeps them, without repeats.
    pub fn needed_columns(&self, dataset: Dataset) -> Vec<String> {
        let c = self.columns_for(dataset);
        let mut names = vec![
            c.question.as_str(),
            &c.response,
            &c.document,
            c.raw_for(dataset),
            &c.document_outline,
        ];
        if dataset.is_sampled() {
            names.push(&c.reasoning);
        }
        let mut needed: Vec<String> = Vec::with_capacity(names.len());
        for name in names {
            if !needed.iter().any(|n| n == name) {
                needed.push(name.to_owned());
            }
        }
        needed
    }

    /// The checked columns of a row; `None` when the GPT-OSS filter drops it.
    fn fields<'a>(
        &self,
        dataset: Dataset,
        line: &TopLevel<'a>,
        at: &dyn Fn() -> Location,
    ) -> Result<Option<Fields<'a>>, RowError> {
        let c = self.columns_for(dataset);
        let question = line.required_str(&c.question, at)?;
        if self.gpt_oss && format::gpt_oss_drops(question) {
            return Ok(None);
        }
        let response = line.required_str(&c.response, at)?;
        let document = line.required_str(&c.document, at)?;
        let raw_document = line.required_str(c.raw_for(dataset), at)?;
        let outline = line.required_str(&c.document_outline, at)?;
        // As the notebook: reasoning only for the summary datasets.
        let reasoning = if dataset.is_sampled() {
            line.get(&c.reasoning)
        } else {
            FieldValue::Missing
        };
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
        Ok(Some(Fields {
            question,
            response,
            document,
            raw_document,
            outline,
            thinking,
        }))
    }
}

impl RecordBuilder {
    /// Pass 2: build the records of a batch, failing on the first bad row.
    /// `picks` (sorted by row) chooses rows of sampled datasets; `None`
    /// keeps every row.
    pub fn build_batch(
        &self,
        dataset: Dataset,
        batch: LineBatch,
        picks: Option<Vec<Pick>>,
    ) -> Result<BuiltBatch, RowError> {
        self.build_batch_with(dataset, batch, picks, OnError::Fail)
    }

    /// [`RecordBuilder::build_batch`] with a policy for bad rows.
    pub fn build_batch_with(
        &self,
        dataset: Dataset,
        batch: LineBatch,
        picks: Option<Vec<Pick>>,
        on_error: OnError,
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
            let mark = out.data.len();
            let kept = with_row(&batch, i, |line, at| {
                self.build_row(dataset, line, at, &mut out.data)
            });
            match on_error.settle(kept, batch.line(i), &mut out.rejected)? {
                Some(Some((tokens, train_len))) => {
                    let fit = self.lengths.judge(train_len);
                    let kept = !(self.lengths.drop && fit != Fit::Fits);
                    if !kept {
                        out.data.truncate(mark);
                        out.rejected.push(Rejected {
                            at: location(&batch.path, batch.lines[i].number(&batch.path)),
                            reason: self.lengths.reason(train_len).unwrap_or_default(),
                            text: batch.line(i).to_vec(),
                        });
                    }
                    out.records.push(BuiltRecord {
                        end: out.data.len(),
                        level,
                        tokens,
                        fit,
                        kept,
                    });
                }
                Some(None) => out.dropped += 1,
                None => out.data.truncate(mark),
            }
        }
        Ok(out)
    }

    /// Build one row's record into `out`: its token_length and training
    /// length, or `None` when the GPT-OSS filter drops it.
    fn build_row(
        &self,
        dataset: Dataset,
        line: &TopLevel<'_>,
        at: &dyn Fn() -> Location,
        out: &mut Vec<u8>,
    ) -> Result<Option<(u64, u64)>, RowError> {
        let Some(f) = self.rows.fields(dataset, line, at)? else {
            return Ok(None);
        };
        let user = dataset.user_content(f.outline, f.document, f.question);
        let answer = format::clean_response(f.response, self.rows.gpt_oss);
        let messages = [
            Turn {
                role: "user",
                content: &user,
                thinking: None,
            },
            Turn {
                role: "assistant",
                content: &answer,
                thinking: f.thinking,
            },
        ];
        let tokens = self
            .length
            .token_length(&messages)
            .map_err(|reason| RecordError::Template { at: at(), reason })?;
        let record = OutputRecord {
            question: f.question,
            document_outline: f.outline,
            raw_document: f.raw_document,
            document: f.document,
            messages,
            token_length: tokens,
        };
        format::push_record_line_with(out, &record, self.thinking);
        let estimate = tokens.saturating_sub(self.length.added_tokens()) as u64;
        // Training reads the record as written (`--thinking`).
        let written = record.messages.clone().map(|t| Turn {
            thinking: t.thinking.filter(|&x| self.thinking.writes(Some(x))),
            ..t
        });
        let limits = (self.lengths.max_seq_len, self.lengths.min_len);
        let train_len = if training::matters(&written, estimate, limits) {
            self.length
                .training_length(&written)
                .map_err(|reason| RecordError::Template { at: at(), reason })? as u64
        } else {
            estimate
        };
        Ok(Some((tokens as u64, train_len)))
    }
}
