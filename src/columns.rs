//! Column names. sdg_hub renames columns between versions (`document` became
//! `summarized_document` in one), so every column the step reads has a
//! logical name and a physical one, changed with `--column NAME=COLUMN`.

use crate::error::UsageError;

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
            let slot = match name.trim() {
                "question" => &mut columns.question,
                "response" => &mut columns.response,
                "document" => &mut columns.document,
                "raw_document" => &mut columns.raw_document,
                "base_document" => &mut columns.base_document,
                "document_outline" => &mut columns.document_outline,
                "reasoning" => &mut columns.reasoning,
                other => {
                    return Err(UsageError(format!(
                        "--column {mapping:?}: unknown name {other:?}; known: {}",
                        LOGICAL_NAMES.join(", ")
                    )))
                }
            };
            *slot = column.trim().to_owned();
        }
        Ok(columns)
    }

    /// The column holding the raw chunk for `dataset`.
    pub fn raw_for(&self, dataset: crate::format::Dataset) -> &str {
        match dataset {
            crate::format::Dataset::DocumentBasedQa => &self.base_document,
            _ => &self.raw_document,
        }
    }
}

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
}
