//! The library's error types. Every error that comes from input data says
//! where (file and line, field when there is one) and what to do about it.

use std::path::PathBuf;

/// A place in an input: file and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The input file (`-` for stdin).
    pub path: PathBuf,
    /// 1-based line number.
    pub line: u64,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.path.display(), self.line)
    }
}

/// Errors in input records.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The line is not valid JSON.
    #[error("{at}: malformed JSON: {reason}")]
    Malformed {
        /// Where.
        at: Location,
        /// The parser's words.
        reason: String,
    },
    /// A field has the wrong JSON type.
    #[error("{at}: field `{field}` must be {expected}, found {found}")]
    WrongType {
        /// Where.
        at: Location,
        /// The field's name.
        field: String,
        /// What it should be.
        expected: &'static str,
        /// What it was.
        found: &'static str,
    },
    /// Required columns are missing.
    #[error("{at}: missing column(s) {missing:?}; this file has {found:?}{hint}")]
    MissingColumns {
        /// Where.
        at: Location,
        /// Columns needed but absent.
        missing: Vec<String>,
        /// Columns present on that line.
        found: Vec<String>,
        /// A `--column` mapping that would fix it, if one is apparent.
        hint: String,
    },
    /// The chat template failed on this row.
    #[error("{at}: chat template failed: {reason}")]
    Template {
        /// Where.
        at: Location,
        /// The template engine's words.
        reason: String,
    },
    /// The line is not UTF-8.
    #[error("{at}: invalid UTF-8 near byte {offset}; the file must be UTF-8 JSON lines")]
    InvalidUtf8 {
        /// Where.
        at: Location,
        /// Byte offset inside the line.
        offset: usize,
    },
}

impl RecordError {
    /// Where the row is.
    pub fn location(&self) -> &Location {
        match self {
            RecordError::Malformed { at, .. }
            | RecordError::WrongType { at, .. }
            | RecordError::MissingColumns { at, .. }
            | RecordError::Template { at, .. }
            | RecordError::InvalidUtf8 { at, .. } => at,
        }
    }

    /// The same error with `hint` as a missing column's advice: the
    /// command's own flag, where the generic hint names `mix`'s
    /// `--column`. Other errors are unchanged.
    pub fn with_missing_hint(self, hint: &str) -> Self {
        match self {
            RecordError::MissingColumns {
                at, missing, found, ..
            } => RecordError::MissingColumns {
                at,
                missing,
                found,
                hint: hint.to_owned(),
            },
            e => e,
        }
    }

    /// The message without its `file:line: ` prefix.
    pub fn reason(&self) -> String {
        let text = self.to_string();
        let prefix = format!("{}: ", self.location());
        text.strip_prefix(&prefix)
            .map(str::to_owned)
            .unwrap_or(text)
    }

    /// The same error for a file's last line when it has no newline: a
    /// parse failure there most likely means the writer was cut short.
    pub fn on_truncated_tail(self) -> Self {
        match self {
            RecordError::Malformed { at, reason } => RecordError::Malformed {
                at,
                reason: format!("{reason} (truncated last line? it has no final newline)"),
            },
            RecordError::InvalidUtf8 { at, offset } => RecordError::Malformed {
                at,
                reason: format!(
                    "invalid UTF-8 at byte {offset} (truncated last line? it has no final newline)"
                ),
            },
            other => other,
        }
    }
}

/// A mistake in how knowmix was invoked (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
