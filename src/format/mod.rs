//! The step-04 record rules, as pure functions: which datasets exist and in
//! what order, how a `response` is cleaned, which rows the GPT-OSS filter
//! drops, how the user turn is worded, the `metadata` string (Python
//! `json.dumps`), and the byte encoding of an output line (pandas `to_json`:
//! compact, `\/`, `\uXXXX`; the escaping itself is in [`json`]). Nothing
//! here does I/O; every rule is pinned by the unit tests in `tests.rs`, so a
//! change of behaviour is a test change. Parsing of option values (cut
//! sizes) is the CLI's (`cmd::values`).

pub mod json;

use json::{push_json_string, push_json_text, push_python_json_string, JsonStyle};

impl serde::Serialize for Dataset {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.folder())
    }
}

impl<'de> serde::Deserialize<'de> for Dataset {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Dataset::from_folder(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown dataset {name:?}")))
    }
}

/// The four step-03 datasets, in the order their records are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dataset {
    /// One row per (extractive summary, question); sampled per cut.
    ExtractiveSummary,
    /// One row per (detailed summary, question); sampled per cut.
    DetailedSummary,
    /// One row per (key fact, question); every row in every cut.
    KeyFactsToQa,
    /// One row per question on the raw chunk; every row in every cut.
    DocumentBasedQa,
}

impl Dataset {
    /// All datasets in output order.
    pub const ALL: [Dataset; 4] = [
        Dataset::ExtractiveSummary,
        Dataset::DetailedSummary,
        Dataset::KeyFactsToQa,
        Dataset::DocumentBasedQa,
    ];

    /// The folder name under the step-03 directory.
    pub fn folder(self) -> &'static str {
        match self {
            Dataset::ExtractiveSummary => "extractive_summary",
            Dataset::DetailedSummary => "detailed_summary",
            Dataset::KeyFactsToQa => "key_facts_to_qa",
            Dataset::DocumentBasedQa => "document_based_qa",
        }
    }

    /// The dataset whose folder is `name`.
    pub fn from_folder(name: &str) -> Option<Dataset> {
        Dataset::ALL.into_iter().find(|d| d.folder() == name)
    }

    /// Whether rows are sampled per cut (summaries) or all kept.
    pub fn is_sampled(self) -> bool {
        matches!(self, Dataset::ExtractiveSummary | Dataset::DetailedSummary)
    }

    /// The column that holds the raw chunk in this dataset's files.
    pub fn raw_document_column(self) -> &'static str {
        match self {
            Dataset::DocumentBasedQa => "base_document",
            _ => "raw_document",
        }
    }

    /// The user turn for a row of this dataset.
    pub fn user_content(self, outline: &str, document: &str, question: &str) -> String {
        match self {
            Dataset::KeyFactsToQa => format!("In {outline}, {question}"),
            _ => format!("{outline}\n{document}\n\n{question}"),
        }
    }
}

/// The value of every record's `metadata.dataset` key.
pub const METADATA_DATASET: &str = "document_knowledge_qa";

/// Substrings that make the GPT-OSS filter drop a row (matched in `question`).
pub const GPT_OSS_DROP_MARKERS: [&str; 3] = ["...", "<question>", "<Insert question here>"];

/// Whether the GPT-OSS filter drops a row with this question.
pub fn gpt_oss_drops(question: &str) -> bool {
    GPT_OSS_DROP_MARKERS.iter().any(|m| question.contains(m))
}

/// Python `str.strip()` with no argument: Unicode whitespace plus the
/// separators `\x1c`–`\x1f`, which Rust's `str::trim` keeps.
pub fn python_strip(s: &str) -> &str {
    s.trim_matches(is_python_space)
}

/// Python's `str.isspace` for one character.
pub fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// Clean a `response` as the notebook does. With the GPT-OSS option its
/// filter step runs first: remove every `[ANSWER]`, then every `[END]`,
/// then Python `strip()` (which also strips `\x1c`–`\x1f`). Always: remove
/// every `[END]`, then every `[ANSWER]`, then polars `strip_chars()` (Rust
/// `trim`: Unicode White_Space, keeping `\x1c`–`\x1f`).
pub fn clean_response(response: &str, gpt_oss: bool) -> String {
    let pre;
    let start = if gpt_oss {
        pre = response.replace("[ANSWER]", "").replace("[END]", "");
        python_strip(&pre)
    } else {
        response
    };
    let cleaned = start.replace("[END]", "").replace("[ANSWER]", "");
    cleaned.trim().to_owned()
}

/// The `metadata` string: Python `json.dumps({"sdg_document": …, "dataset":
/// "document_knowledge_qa", "raw_document": …})` with its default
/// `", "`/`": "` separators and `ensure_ascii=True`.
pub fn metadata_string(document: &str, raw_document: &str) -> String {
    let mut out = Vec::with_capacity(document.len() + raw_document.len() + 96);
    out.extend_from_slice(b"{\"sdg_document\": ");
    push_python_json_string(&mut out, document);
    out.extend_from_slice(b", \"dataset\": ");
    push_python_json_string(&mut out, METADATA_DATASET);
    out.extend_from_slice(b", \"raw_document\": ");
    push_python_json_string(&mut out, raw_document);
    out.push(b'}');
    String::from_utf8(out).expect("escaped JSON is ASCII")
}

/// The `metadata` string ([`metadata_string`]) of `document` and
/// `raw_document` as a written record holds it (a pandas JSON string), in
/// one pass instead of building the Python JSON and escaping it again.
pub fn push_metadata(out: &mut Vec<u8>, document: &str, raw_document: &str) {
    let style = JsonStyle::PythonInPandas;
    out.extend_from_slice(br#""{\"sdg_document\": \""#);
    push_json_text(out, document, style);
    out.extend_from_slice(br#"\", \"dataset\": \""#);
    push_json_text(out, METADATA_DATASET, style);
    out.extend_from_slice(br#"\", \"raw_document\": \""#);
    push_json_text(out, raw_document, style);
    out.extend_from_slice(br#"\"}""#);
}

/// One chat turn as written in an output record's `messages`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn<'a> {
    /// `user` or `assistant`.
    pub role: &'a str,
    /// The turn's text.
    pub content: &'a str,
    /// `None` is written `null` (and dropped before templating).
    pub thinking: Option<&'a str>,
}

/// The fields of one output record, borrowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputRecord<'a> {
    /// The question.
    pub question: &'a str,
    /// The outline (title).
    pub document_outline: &'a str,
    /// The raw chunk.
    pub raw_document: &'a str,
    /// The summary / key-facts block / chunk.
    pub document: &'a str,
    /// The user and assistant turns.
    pub messages: [Turn<'a>; 2],
    /// The chat-templated token count.
    pub token_length: usize,
}

/// How the `thinking` key of a turn is written (`--thinking`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Thinking {
    /// Every turn has `thinking` (`null`, `""` or the text): the notebook's bytes.
    #[default]
    Keep,
    /// `thinking` only on turns with reasoning text: instructlab-training
    /// treats any non-null `thinking` as reasoning, so an empty one adds an
    /// empty reasoning block at training time.
    OmitEmpty,
}

impl Thinking {
    /// Whether a turn's `thinking` is written at all.
    pub fn writes(self, thinking: Option<&str>) -> bool {
        match self {
            Thinking::Keep => true,
            Thinking::OmitEmpty => thinking.is_some_and(|t| !t.is_empty()),
        }
    }
}

/// Append one output record as a JSON line (pandas encoding, `\n` ended).
pub fn push_record_line(out: &mut Vec<u8>, record: &OutputRecord<'_>) {
    push_record_line_with(out, record, Thinking::Keep);
}

/// [`push_record_line`] with a choice of how `thinking` is written.
pub fn push_record_line_with(out: &mut Vec<u8>, record: &OutputRecord<'_>, thinking: Thinking) {
    let style = JsonStyle::Pandas;
    let field = |out: &mut Vec<u8>, first: bool, name: &str| {
        out.extend_from_slice(if first { b"{\"" } else { b",\"" });
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
    };
    field(out, true, "question");
    push_json_string(out, record.question, style);
    field(out, false, "document_outline");
    push_json_string(out, record.document_outline, style);
    field(out, false, "raw_document");
    push_json_string(out, record.raw_document, style);
    field(out, false, "document");
    push_json_string(out, record.document, style);
    field(out, false, "messages");
    push_turns(out, &record.messages, thinking);
    // `metadata` is the Python JSON of `document` and `raw_document`
    // ([`metadata_string`]), written as a string.
    field(out, false, "metadata");
    push_metadata(out, record.document, record.raw_document);
    out.extend_from_slice(b",\"unmask\":true,\"token_length\":");
    out.extend_from_slice(record.token_length.to_string().as_bytes());
    out.extend_from_slice(b"}\n");
}

fn push_turns(out: &mut Vec<u8>, turns: &[Turn<'_>], mode: Thinking) {
    out.push(b'[');
    for (i, turn) in turns.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"role\":");
        push_json_string(out, turn.role, JsonStyle::Pandas);
        out.extend_from_slice(b",\"content\":");
        push_json_string(out, turn.content, JsonStyle::Pandas);
        if mode.writes(turn.thinking) {
            out.extend_from_slice(b",\"thinking\":");
            match turn.thinking {
                Some(t) => push_json_string(out, t, JsonStyle::Pandas),
                None => out.extend_from_slice(b"null"),
            }
        }
        out.push(b'}');
    }
    out.push(b']');
}

/// Training's length filter. instructlab-training's `data_process` keeps a
/// record when `min_len <= len < max_seq_len` (`filter_samples_by_length`,
/// `instructlab/training/data_process.py` line 1089 in 0.16.2), where `len`
/// is the chat template tokenized without the tokenizer's added special
/// tokens: [`OutputRecord::token_length`] minus what the post-processor adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LengthRule {
    /// Records of this many tokens or more are dropped by training.
    pub max_seq_len: u64,
    /// Records of fewer tokens are dropped by training.
    pub min_len: u64,
    /// Drop them here too (to the rejects file) instead of only counting.
    pub drop: bool,
}

/// Training's defaults: `max_seq_len` 8192, `min_seq_len` 20.
pub const DEFAULT_MAX_SEQ_LEN: u64 = 8192;
/// See [`DEFAULT_MAX_SEQ_LEN`].
pub const DEFAULT_MIN_LEN: u64 = 20;

impl Default for LengthRule {
    fn default() -> Self {
        LengthRule {
            max_seq_len: DEFAULT_MAX_SEQ_LEN,
            min_len: DEFAULT_MIN_LEN,
            drop: false,
        }
    }
}

/// How a record's training length compares with a [`LengthRule`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fit {
    /// Training keeps it.
    #[default]
    Fits,
    /// `len >= max_seq_len`.
    TooLong,
    /// `len < min_len`.
    TooShort,
}

impl LengthRule {
    /// Judge a record of `len` training tokens.
    pub fn judge(&self, len: u64) -> Fit {
        if len >= self.max_seq_len {
            Fit::TooLong
        } else if len < self.min_len {
            Fit::TooShort
        } else {
            Fit::Fits
        }
    }

    /// Why a record of `len` tokens is dropped (`None` when it fits).
    pub fn reason(&self, len: u64) -> Option<String> {
        match self.judge(len) {
            Fit::Fits => None,
            Fit::TooLong => Some(format!(
                "over length: {len} training tokens >= --max-seq-len {}",
                self.max_seq_len
            )),
            Fit::TooShort => Some(format!(
                "under length: {len} training tokens < --min-len {}",
                self.min_len
            )),
        }
    }
}

/// The output file name for cut `n`.
pub fn cut_file_name(n: u32) -> String {
    format!("combined_cut_{n}x.jsonl")
}

#[cfg(test)]
mod tests;
