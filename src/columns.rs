//! Column names. sdg_hub renames columns between versions (`document` became
//! `summarized_document` in one), so every column the step reads has a
//! logical name and a physical one, changed with `--column NAME=COLUMN`.
//! Without `--column`, the names sdg_hub is known to have used
//! ([`KNOWN_NAMES`], the one table of them) are looked up in the first row
//! of each dataset's first file ([`detect`]), at plan time so every shard
//! reads the same names.

use std::path::{Path, PathBuf};

use crate::error::UsageError;
use crate::format::Dataset;
use crate::read::step03::Discovery;

/// The physical names sdg_hub has used for a logical column, oldest first
/// (sdg_hub PR #764 renamed the summary flows' `document` to
/// `summarized_document`; reasoning is `parse_response_dict_reasoning_content`
/// in older flows, `response_reasoning_content` or `reasoning_content` in
/// newer ones). `atomic_facts` / `key_facts_content` are not read by step 04.
pub const KNOWN_NAMES: [(&str, &[&str]); 2] = [
    ("document", &["document", "summarized_document"]),
    (
        "reasoning",
        &[
            "parse_response_dict_reasoning_content",
            "response_reasoning_content",
            "reasoning_content",
        ],
    ),
];

/// Why column names could not be detected.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// Two known names of one logical column are both present.
    #[error("{}: both {first:?} and {second:?} are present for the {logical} column; choose one with --column {logical}={first} (or ={second})", path.display())]
    Ambiguous {
        /// The file whose first row was read.
        path: PathBuf,
        /// The logical column.
        logical: &'static str,
        /// The first candidate present.
        first: String,
        /// The second candidate present.
        second: String,
    },
    /// The first row could not be read or is not a JSON object.
    #[error("{}: cannot read the first row to detect column names: {reason}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// The physical column behind each logical field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Columns {
    /// `question`.
    pub question: String,
    /// `response`.
    pub response: String,
    /// `document` (summary / key-facts block / chunk).
    pub document: String,
    /// `raw_document` (the source chunk).
    pub raw_document: String,
    /// `base_document` (document_based_qa's raw chunk).
    pub base_document: String,
    /// `document_outline` (title).
    pub document_outline: String,
    /// Optional reasoning text, used as the assistant's `thinking`.
    pub reasoning: String,
    /// Logical names set with `--column` (never detected).
    #[serde(default)]
    pub explicit: Vec<String>,
}

/// Logical names accepted by `--column`.
pub const LOGICAL_NAMES: [&str; 7] = [
    "question",
    "response",
    "document",
    "raw_document",
    "base_document",
    "document_outline",
    "reasoning",
];

impl Default for Columns {
    fn default() -> Self {
        Columns {
            question: "question".into(),
            response: "response".into(),
            document: "document".into(),
            raw_document: "raw_document".into(),
            base_document: "base_document".into(),
            document_outline: "document_outline".into(),
            reasoning: "parse_response_dict_reasoning_content".into(),
            explicit: Vec::new(),
        }
    }
}

impl Columns {
    /// Apply `NAME=COLUMN` mappings to the defaults.
    pub fn with_mappings(mappings: &[String]) -> Result<Self, UsageError> {
        let mut columns = Columns::default();
        for mapping in mappings {
            let (name, column) = mapping.split_once('=').ok_or_else(|| {
                UsageError(format!(
                    "--column {mapping:?}: expected NAME=COLUMN, e.g. document=summarized_document"
                ))
            })?;
            let name = name.trim();
            let Some(slot) = columns.slot(name) else {
                return Err(UsageError(format!(
                    "--column {mapping:?}: unknown name {name:?}; known: {}",
                    LOGICAL_NAMES.join(", ")
                )));
            };
            *slot = column.trim().to_owned();
            columns.explicit.push(name.to_owned());
        }
        Ok(columns)
    }

    /// (logical, physical) for every column, in [`LOGICAL_NAMES`] order.
    pub fn pairs(&self) -> [(&'static str, &str); 7] {
        [
            ("question", &self.question),
            ("response", &self.response),
            ("document", &self.document),
            ("raw_document", &self.raw_document),
            ("base_document", &self.base_document),
            ("document_outline", &self.document_outline),
            ("reasoning", &self.reasoning),
        ]
    }

    /// The physical name of logical column `name`, to change.
    fn slot(&mut self, name: &str) -> Option<&mut String> {
        Some(match name {
            "question" => &mut self.question,
            "response" => &mut self.response,
            "document" => &mut self.document,
            "raw_document" => &mut self.raw_document,
            "base_document" => &mut self.base_document,
            "document_outline" => &mut self.document_outline,
            "reasoning" => &mut self.reasoning,
            _ => return None,
        })
    }

    /// These columns with every logical column not set by `--column` taken
    /// from the known names present in `keys` (a row's keys); unchanged
    /// when none is present. `path` names the file in errors.
    pub fn detect_in(&self, keys: &[String], path: &Path) -> Result<Columns, DetectError> {
        let mut out = self.clone();
        for (logical, candidates) in KNOWN_NAMES {
            if self.explicit.iter().any(|e| e == logical) {
                continue;
            }
            let present: Vec<&str> = candidates
                .iter()
                .copied()
                .filter(|c| keys.iter().any(|k| k == c))
                .collect();
            match present.as_slice() {
                [] => {}
                [one] => *out.slot(logical).expect("known logical name") = (*one).to_owned(),
                [first, second, ..] => {
                    return Err(DetectError::Ambiguous {
                        path: path.to_path_buf(),
                        logical,
                        first: (*first).to_owned(),
                        second: (*second).to_owned(),
                    })
                }
            }
        }
        Ok(out)
    }

    /// The column holding the raw chunk for `dataset`.
    pub fn raw_for(&self, dataset: crate::format::Dataset) -> &str {
        match dataset {
            crate::format::Dataset::DocumentBasedQa => &self.base_document,
            _ => &self.raw_document,
        }
    }
}

/// Per dataset found, the columns to read: `columns` with the logical
/// columns not set by `--column` detected from the first row of the
/// dataset's first file.
pub fn detect(
    columns: &Columns,
    found: &Discovery,
) -> Result<Vec<(Dataset, Columns)>, DetectError> {
    let mut out = Vec::new();
    for d in &found.datasets {
        let Some(first) = d.files.first() else {
            continue;
        };
        let keys = first_row_keys(first)?;
        out.push((d.dataset, columns.detect_in(&keys, first)?));
    }
    Ok(out)
}

/// Log lines naming the detected names that differ from the defaults,
/// e.g. `extractive_summary: document=summarized_document`.
pub fn describe(detected: &[(Dataset, Columns)]) -> Vec<String> {
    let defaults = Columns::default();
    detected
        .iter()
        .filter_map(|(d, c)| {
            let changed: Vec<String> = c
                .pairs()
                .into_iter()
                .zip(defaults.pairs())
                .filter(|((_, now), (_, was))| now != was)
                .map(|((name, now), _)| format!("{name}={now}"))
                .collect();
            (!changed.is_empty())
                .then(|| format!("columns of {}: {}", d.folder(), changed.join(", ")))
        })
        .collect()
}

/// The keys of the first row of `path` (empty for an empty file). Read on
/// a thread of its own with a small runtime, so callers may be async.
fn first_row_keys(path: &Path) -> Result<Vec<String>, DetectError> {
    let error = |reason: String| DetectError::Read {
        path: path.to_path_buf(),
        reason,
    };
    let lines = std::thread::scope(|s| {
        s.spawn(|| -> std::io::Result<Vec<Vec<u8>>> {
            crate::pipeline::runtime()?.block_on(async {
                use tokio::io::AsyncBufReadExt;
                let mut reader = crate::read::open::open(path).await?;
                let mut lines = Vec::new();
                for _ in 0..DETECT_LINES {
                    let mut line = Vec::new();
                    if reader.read_until(b'\n', &mut line).await? == 0 {
                        break;
                    }
                    lines.push(line);
                }
                Ok(lines)
            })
        })
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("reader thread panicked")))
    })
    .map_err(|e| error(e.to_string()))?;
    // The first row that reads as an object; a bad row is not this step's
    // to report: the pass that reads it names its line (or sets it aside).
    let mut scanner = crate::read::scan::Scanner::default();
    for (i, line) in lines.iter().enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let at = || crate::read::fields::location(path, i as u64 + 1);
        if let Ok(row) = scanner.scan(line, at) {
            return Ok(row.keys());
        }
    }
    Ok(Vec::new())
}

/// How many lines detection looks at for a row that reads as an object.
const DETECT_LINES: usize = 100;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_apply_and_reject_unknown() {
        let c = Columns::with_mappings(&["document=summarized_document".into()]).unwrap();
        assert_eq!(c.document, "summarized_document");
        assert_eq!(c.question, "question");
        assert!(Columns::with_mappings(&["doc=x".into()])
            .unwrap_err()
            .0
            .contains("unknown name"));
        assert!(Columns::with_mappings(&["document".into()]).is_err());
    }

    fn keys(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn detection_picks_the_present_name_and_rejects_two() {
        let path = Path::new("f.jsonl");
        let c = Columns::default()
            .detect_in(
                &keys(&["question", "summarized_document", "reasoning_content"]),
                path,
            )
            .unwrap();
        assert_eq!(c.document, "summarized_document");
        assert_eq!(c.reasoning, "reasoning_content");
        // None present: the defaults stay (a missing required column is
        // reported when rows are read).
        assert_eq!(
            Columns::default()
                .detect_in(&keys(&["question"]), path)
                .unwrap(),
            Columns::default()
        );
        let err = Columns::default()
            .detect_in(&keys(&["document", "summarized_document"]), path)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"document\"") && err.contains("\"summarized_document\""),
            "{err}"
        );
        // --column wins over detection, and is never ambiguous.
        let explicit = Columns::with_mappings(&["document=document".into()]).unwrap();
        let c = explicit
            .detect_in(&keys(&["document", "summarized_document"]), path)
            .unwrap();
        assert_eq!(c.document, "document");
    }
}
