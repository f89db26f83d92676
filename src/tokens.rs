//! The `tokens` engine: set `token_length` on finished records, exactly as
//! `mix` computes it (same tokenizer resolution, same chat template), and
//! pass everything else through byte for byte. [`RecordCounter`] counts one
//! record (also for `stats` and `recipe`); [`count_batch`] does a batch on
//! the worker pool. The conversation is read by [`crate::conversation`].

use std::sync::Arc;

use crate::conversation::{self, with_parsed};
use crate::error::{Location, RecordError};
use crate::read::fields::{location, ParsedLine};
use crate::read::LineBatch;
use crate::tokenize::chat::{self, ChatTokenLength};
use crate::tokenize::TokenLength;

/// How a record's tokens are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// Render the messages with the tokenizer's chat template (as `mix`).
    Chat,
    /// Count a plain text field (see --text-field).
    None,
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
                let turns = conversation::conversation(line, &self.field, at)?;
                let n = self
                    .length
                    .token_length(&turns)
                    .map_err(|reason| RecordError::Template { at: at(), reason })?;
                Ok(n as u64)
            }
            Template::None => {
                let text = line
                    .required_str(&self.field, at)
                    .map_err(|e| e.with_missing_hint("; name the text field with --text-field"))?;
                Ok(self.length.count_text(text) as u64)
            }
        }
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
        let at = || location(&batch.path, batch.lines[i].line_no);
        let n = with_parsed(batch.line(i), &at, |line, at| counter.count(line, at))?;
        conversation::push_with_token_length(&mut out.data, batch.line(i), n, &at)?;
        out.data.push(b'\n');
        out.records += 1;
        out.tokens += n;
    }
    Ok(out)
}
