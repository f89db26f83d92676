//! Pulling named top-level string fields out of one JSON line. Rows from
//! sdg_hub are wide (a `raw_summary` of ~50 messages on every row); the line
//! is validated and parsed once into a simd-json tape, whose strings borrow
//! the line buffer, and only the requested keys are looked at: unused
//! columns are never copied or allocated.

use std::path::Path;

use simd_json::prelude::*;
use simd_json::value::tape::Tape;
use simd_json::{Buffers, ValueType};

use crate::error::{Location, RecordError};

/// The value of one requested field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValue<'a> {
    /// The key is absent.
    Missing,
    /// `null`.
    Null,
    /// A string (unescaped, borrowed from the line buffer).
    Str(&'a str),
    /// Some other JSON type (its name).
    Other(&'static str),
}

impl<'a> FieldValue<'a> {
    /// A number.
    pub const NUMBER: Self = FieldValue::Other("a number");
    /// `true` or `false`.
    pub const BOOLEAN: Self = FieldValue::Other("a boolean");
    /// An array.
    pub const LIST: Self = FieldValue::Other("a list");
    /// An object.
    pub const OBJECT: Self = FieldValue::Other("an object");

    /// The JSON type's name, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            FieldValue::Missing => "nothing",
            FieldValue::Null => "null",
            FieldValue::Str(_) => "a string",
            FieldValue::Other(t) => t,
        }
    }

    /// The string of required field `name`, or the error saying what it is
    /// instead. `keys` lists the line's keys, for the missing-column hint.
    pub fn required_str(
        self,
        name: &str,
        at: impl Fn() -> Location,
        keys: impl FnOnce() -> Vec<String>,
    ) -> Result<&'a str, RecordError> {
        match self {
            FieldValue::Str(s) => Ok(s),
            FieldValue::Missing => Err(missing_columns(at(), &[name], keys())),
            other => Err(RecordError::WrongType {
                at: at(),
                field: name.to_owned(),
                expected: "a string",
                found: other.type_name(),
            }),
        }
    }

    /// This field as an unsigned integer: `Ok(None)` when absent or null,
    /// `integer()` for a number (`None` when it is not a non-negative
    /// integer), and the type's name as the error for anything else.
    pub fn unsigned(
        self,
        integer: impl FnOnce() -> Option<u64>,
    ) -> Result<Option<u64>, &'static str> {
        match self {
            FieldValue::Missing | FieldValue::Null => Ok(None),
            FieldValue::NUMBER => integer()
                .map(Some)
                .ok_or("a number that is not a non-negative integer"),
            other => Err(other.type_name()),
        }
    }
}

/// A reusable parser: keeps simd-json's scratch buffers between lines.
pub struct FieldParser {
    buffers: Buffers,
}

impl Default for FieldParser {
    fn default() -> Self {
        FieldParser {
            buffers: Buffers::new(1 << 16),
        }
    }
}

/// A parsed line: the tape borrows the (mutated) line buffer.
pub struct ParsedLine<'a> {
    tape: Tape<'a>,
}

impl FieldParser {
    /// Parse `line` (mutated in place by simd-json). `at` names the place
    /// for errors.
    pub fn parse<'a>(
        &mut self,
        line: &'a mut [u8],
        at: impl FnOnce() -> Location,
    ) -> Result<ParsedLine<'a>, RecordError> {
        // simd-json validates UTF-8 itself (in SIMD): no separate pass.
        let mut tape = Tape::null().reset();
        match simd_json::fill_tape(line, &mut self.buffers, &mut tape) {
            Ok(()) => {}
            Err(e) if *e.error() == simd_json::ErrorType::InvalidUtf8 => {
                return Err(RecordError::InvalidUtf8 {
                    at: at(),
                    offset: e.index(),
                });
            }
            Err(e) => {
                return Err(RecordError::Malformed {
                    at: at(),
                    reason: e.to_string(),
                })
            }
        }
        if tape.as_value().value_type() != ValueType::Object {
            return Err(RecordError::Malformed {
                at: at(),
                reason: "each line must be a JSON object".into(),
            });
        }
        Ok(ParsedLine { tape })
    }
}

impl<'a> ParsedLine<'a> {
    /// The whole object, for callers that need more than top-level strings
    /// (lists of messages, nested objects).
    pub fn value(&self) -> simd_json::value::tape::Value<'_, 'a> {
        self.tape.as_value()
    }

    /// The value of top-level key `name` (its last occurrence).
    pub fn get(&self, name: &str) -> FieldValue<'a> {
        match member(self.tape.as_value(), name) {
            None => FieldValue::Missing,
            Some(v) => classify(v),
        }
    }

    /// Top-level key `name` as an unsigned integer: `Ok(None)` when absent
    /// or null, `Err(type name)` when it is anything else.
    pub fn get_u64(&self, name: &str) -> Result<Option<u64>, &'static str> {
        let found = member(self.tape.as_value(), name);
        found
            .map_or(FieldValue::Missing, classify)
            .unsigned(|| found?.as_u64())
    }

    /// Every top-level key, in file order (for error messages).
    pub fn keys(&self) -> Vec<String> {
        let value = self.tape.as_value();
        let object = value.as_object().expect("checked in parse");
        object.keys().map(str::to_owned).collect()
    }

    /// The string value of a required field, or a typed error.
    pub fn required_str(
        &self,
        name: &str,
        at: impl Fn() -> Location,
    ) -> Result<&'a str, RecordError> {
        self.get(name).required_str(name, at, || self.keys())
    }
}

/// Member `name` of the object `value`: its last occurrence, as Python's
/// `json` (the notebook) keeps the last of duplicate keys. `None` when
/// absent or when `value` is not an object.
pub fn member<'t, 'a>(
    value: simd_json::value::tape::Value<'t, 'a>,
    name: &str,
) -> Option<simd_json::value::tape::Value<'t, 'a>> {
    let object = value.as_object()?;
    let found = object.iter().filter(|(key, _)| *key == name).last();
    found.map(|(_, v)| v)
}

fn classify<'a>(v: simd_json::value::tape::Value<'_, 'a>) -> FieldValue<'a> {
    match v.value_type() {
        ValueType::String => FieldValue::Str(v.into_string().expect("string node")),
        ValueType::Null => FieldValue::Null,
        ValueType::Bool => FieldValue::BOOLEAN,
        ValueType::Array => FieldValue::LIST,
        ValueType::Object => FieldValue::OBJECT,
        _ => FieldValue::NUMBER,
    }
}

/// Known column renames across sdg_hub versions: (canonical, alternatives).
const KNOWN_RENAMES: &[(&str, &[&str])] = &[
    (
        "document",
        &["summarized_document", "summary", "summary_text"],
    ),
    ("raw_document", &["base_document", "chunk", "raw_chunk"]),
    ("base_document", &["raw_document", "chunk"]),
    ("question", &["query", "generated_question"]),
    ("response", &["answer", "generated_response"]),
    ("document_outline", &["outline", "title"]),
];

/// Build the missing-columns error, with the `--column` mapping that would
/// fix it when the file has a known alternative name.
pub fn missing_columns(at: Location, missing: &[&str], found: Vec<String>) -> RecordError {
    let mut hints = Vec::new();
    for name in missing {
        let alternatives = KNOWN_RENAMES
            .iter()
            .find(|(canonical, _)| canonical == name)
            .map(|(_, alts)| *alts)
            .unwrap_or(&[]);
        if let Some(alt) = alternatives.iter().find(|a| found.iter().any(|f| f == *a)) {
            hints.push(format!("--column {name}={alt}"));
        }
    }
    let hint = if hints.is_empty() {
        "; map a differently named column with --column NAME=COLUMN".to_owned()
    } else {
        format!("; try {}", hints.join(" "))
    };
    RecordError::MissingColumns {
        at,
        missing: missing.iter().map(|s| s.to_string()).collect(),
        found,
        hint,
    }
}

/// A [`Location`] for `path` and `line`.
pub fn location(path: &Path, line: u64) -> Location {
    Location {
        path: path.to_path_buf(),
        line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Location {
        location(Path::new("f.jsonl"), 3)
    }

    #[test]
    fn picks_strings_and_skips_wide_columns() {
        let mut line = br#"{"raw_summary":[{"role":"u","content":"x"}],"question":"Q\/\u00e9","n":1,"z":null}"#.to_vec();
        let mut p = FieldParser::default();
        let row = p.parse(&mut line, at).unwrap();
        assert_eq!(row.get("question"), FieldValue::Str("Q/é"));
        assert_eq!(row.get("n"), FieldValue::Other("a number"));
        assert_eq!(row.get("z"), FieldValue::Null);
        assert_eq!(row.get("nope"), FieldValue::Missing);
        assert_eq!(row.keys(), ["raw_summary", "question", "n", "z"]);
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let mut p = FieldParser::default();
        let mut bad = b"{\"a\": ".to_vec();
        let e = p.parse(&mut bad, at).err().unwrap().to_string();
        assert!(e.starts_with("f.jsonl:3: malformed JSON"), "{e}");
        let mut arr = b"[1]".to_vec();
        assert!(p.parse(&mut arr, at).is_err());
        let mut typed = br#"{"question": 5}"#.to_vec();
        let row = p.parse(&mut typed, at).unwrap();
        let e = row.required_str("question", at).unwrap_err().to_string();
        assert_eq!(
            e,
            "f.jsonl:3: field `question` must be a string, found a number"
        );
        let mut utf = b"{\"a\": \"\xff\"}".to_vec();
        let e = p.parse(&mut utf, at).err().unwrap().to_string();
        assert!(e.starts_with("f.jsonl:3: invalid UTF-8"), "{e}");
    }

    #[test]
    fn missing_column_suggests_mapping() {
        let mut p = FieldParser::default();
        let mut line = br#"{"summarized_document": "s", "question": "q"}"#.to_vec();
        let row = p.parse(&mut line, at).unwrap();
        let e = row.required_str("document", at).unwrap_err().to_string();
        assert!(e.contains("--column document=summarized_document"), "{e}");
        assert!(e.contains("f.jsonl:3"), "{e}");
    }
}
