//! Which tokenizer pipelines the fast path reproduces, decided from the
//! `tokenizer.json` alone (never guessed). Two shapes:
//!
//! - byte-level BPE: normalizer none, an empty `Sequence` or `NFC`;
//!   pre-tokenizer one or more `Split(Regex)` (`Isolated`, or `Removed`
//!   with `invert`) then `ByteLevel` (no prefix space, no regex); model
//!   BPE with no byte fallback;
//! - SentencePiece-style BPE: normalizer `Replace(" " → "▁")`, optionally
//!   after `Prepend("▁")`; no pre-tokenizer (or a `Split` on `" "`, which
//!   finds nothing once spaces are replaced); model BPE with
//!   `byte_fallback`, no `ignore_merges`.
//!
//! Split regexes the hand-written splitters know (Llama 3, Qwen, o200k) use them
//! ([`super::split`]); any other is compiled ([`super::regex_split`]) if it
//! can be, and the tokenizer is unsupported otherwise.

use serde_json::Value;

use super::split::Flavor;

/// How text becomes BPE pieces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Byte-level BPE.
    ByteLevel {
        /// Whether segments are NFC-normalized first.
        nfc: bool,
        /// The pre-tokenizer's splits.
        splits: Splits,
    },
    /// SentencePiece-style BPE over `▁`-for-space text, byte fallback.
    SentencePiece {
        /// Whether a `▁` is prepended to every non-empty segment.
        prepend: bool,
    },
}

/// The regex splits of a byte-level pre-tokenizer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Splits {
    /// One split whose regex a hand-written splitter implements.
    Hand(Flavor),
    /// Splits applied in turn, each to every piece of the one before.
    Rules(Vec<SplitRule>),
}

/// One `Split(Regex)` pre-tokenizer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitRule {
    /// The regex, as written in the JSON.
    pub pattern: String,
    /// Whether text between matches is kept as pieces (`Isolated`) or
    /// dropped (`Removed` with `invert`: only the matches are kept).
    pub keep_gaps: bool,
}

impl SplitRule {
    /// `Split(pattern, Isolated)`: matches and the text between them are
    /// both pieces.
    pub fn isolated(pattern: &str) -> SplitRule {
        SplitRule {
            pattern: pattern.to_owned(),
            keep_gaps: true,
        }
    }
}

impl Shape {
    /// A short description, for the manifest and `--verbose`.
    pub fn describe(&self) -> String {
        match self {
            Shape::ByteLevel { nfc, splits } => {
                let split = match splits {
                    Splits::Hand(Flavor::Llama3) => "hand-written Llama 3 splitter".to_owned(),
                    Splits::Hand(Flavor::Qwen) => "hand-written Qwen splitter".to_owned(),
                    Splits::Hand(Flavor::O200k) => "hand-written o200k splitter".to_owned(),
                    Splits::Rules(rules) if rules.len() == 1 => "compiled split regex".to_owned(),
                    Splits::Rules(rules) => format!("{} compiled split regexes", rules.len()),
                };
                let nfc = if *nfc { ", NFC" } else { "" };
                format!("byte-level BPE, {split}{nfc}")
            }
            Shape::SentencePiece { prepend: true } => {
                "SentencePiece BPE (prepend ▁, byte fallback)".to_owned()
            }
            Shape::SentencePiece { prepend: false } => {
                "SentencePiece BPE (byte fallback)".to_owned()
            }
        }
    }
}

/// Shorthand: `Some(())` when `cond` holds.
pub(super) fn check(cond: bool) -> Option<()> {
    cond.then_some(())
}

pub(super) fn field<'a>(obj: &'a Value, key: &str) -> &'a Value {
    obj.get(key).unwrap_or(&Value::Null)
}

pub(super) fn is_type(obj: &Value, name: &str) -> bool {
    field(obj, "type").as_str() == Some(name)
}

/// The normalizer, as far as the shapes go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Normalizer {
    /// None, or an empty `Sequence`: text is unchanged.
    Identity,
    /// `NFC`.
    Nfc,
    /// `Replace(" " → "▁")`, after `Prepend("▁")` when `prepend`.
    Metaspace {
        /// Whether `Prepend("▁")` runs first.
        prepend: bool,
    },
}

/// Reads the normalizer; `None` when unsupported.
pub fn normalizer(norm: &Value) -> Option<Normalizer> {
    if norm.is_null() {
        return Some(Normalizer::Identity);
    }
    if is_type(norm, "NFC") {
        return Some(Normalizer::Nfc);
    }
    let parts: Vec<&Value> = if is_type(norm, "Sequence") {
        field(norm, "normalizers").as_array()?.iter().collect()
    } else {
        vec![norm]
    };
    match parts.as_slice() {
        [] => Some(Normalizer::Identity),
        [one] if is_type(one, "NFC") => Some(Normalizer::Nfc),
        [replace] if is_space_replace(replace) => Some(Normalizer::Metaspace { prepend: false }),
        [prepend, replace] if is_prepend(prepend) && is_space_replace(replace) => {
            Some(Normalizer::Metaspace { prepend: true })
        }
        _ => None,
    }
}

/// `Replace` of the string `" "` by `"▁"`.
fn is_space_replace(v: &Value) -> bool {
    is_type(v, "Replace")
        && field(field(v, "pattern"), "String").as_str() == Some(" ")
        && field(v, "pattern")
            .as_object()
            .is_some_and(|o| o.len() == 1)
        && field(v, "content").as_str() == Some("▁")
}

fn is_prepend(v: &Value) -> bool {
    is_type(v, "Prepend") && field(v, "prepend").as_str() == Some("▁")
}

/// The shape, from the normalizer and pre-tokenizer and whether the model
/// uses byte fallback; `None` when unsupported.
pub fn shape(norm: Normalizer, pre: &Value, byte_fallback: bool) -> Option<Shape> {
    match norm {
        Normalizer::Metaspace { prepend } => {
            check(byte_fallback && sentencepiece_pre_tokenizer(pre))?;
            Some(Shape::SentencePiece { prepend })
        }
        Normalizer::Identity | Normalizer::Nfc => {
            check(!byte_fallback)?;
            let splits = byte_level_pre_tokenizer(pre)?;
            Some(Shape::ByteLevel {
                nfc: norm == Normalizer::Nfc,
                splits,
            })
        }
    }
}

/// No pre-tokenizer, or a `Split` on the string `" "` (not inverted):
/// once the normalizer has replaced every space it never matches, so the
/// whole segment stays one piece whatever its behavior.
fn sentencepiece_pre_tokenizer(pre: &Value) -> bool {
    pre.is_null()
        || (is_type(pre, "Split")
            && field(field(pre, "pattern"), "String").as_str() == Some(" ")
            && field(pre, "invert").as_bool() == Some(false))
}

/// `Sequence[Split(regex)..., ByteLevel(add_prefix_space=false, use_regex=false)]`.
fn byte_level_pre_tokenizer(pre: &Value) -> Option<Splits> {
    check(is_type(pre, "Sequence"))?;
    let (byte_level, splits) = field(pre, "pretokenizers").as_array()?.split_last()?;
    check(is_type(byte_level, "ByteLevel"))?;
    check(field(byte_level, "add_prefix_space").as_bool() == Some(false))?;
    check(field(byte_level, "use_regex").as_bool() == Some(false))?;
    check(!splits.is_empty())?;
    let rules = splits.iter().map(split_rule).collect::<Option<Vec<_>>>()?;
    if let [only] = rules.as_slice() {
        // The hand-written splitters never leave text between matches
        // (every char starts a branch), so the behavior does not matter.
        if let Some(flavor) = Flavor::from_regex(&only.pattern) {
            return Some(Splits::Hand(flavor));
        }
    }
    Some(Splits::Rules(rules))
}

fn split_rule(split: &Value) -> Option<SplitRule> {
    check(is_type(split, "Split"))?;
    let invert = field(split, "invert").as_bool()?;
    let keep_gaps = match field(split, "behavior").as_str()? {
        // Isolated keeps matches and gaps as pieces, inverted or not.
        "Isolated" => true,
        "Removed" if invert => false,
        _ => return None,
    };
    let pattern = field(split, "pattern").as_object()?;
    check(pattern.len() == 1)?;
    let pattern = pattern.get("Regex")?.as_str()?.to_owned();
    Some(SplitRule { pattern, keep_gaps })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn normalizers() {
        assert_eq!(normalizer(&Value::Null), Some(Normalizer::Identity));
        let empty = json!({"type": "Sequence", "normalizers": []});
        assert_eq!(normalizer(&empty), Some(Normalizer::Identity));
        assert_eq!(normalizer(&json!({"type": "NFC"})), Some(Normalizer::Nfc));
        assert_eq!(normalizer(&json!({"type": "NFKC"})), None);
        let replace = json!({"type": "Replace", "pattern": {"String": " "}, "content": "▁"});
        let prepend = json!({"type": "Prepend", "prepend": "▁"});
        assert_eq!(
            normalizer(&replace),
            Some(Normalizer::Metaspace { prepend: false })
        );
        let both = json!({"type": "Sequence", "normalizers": [prepend, replace]});
        assert_eq!(
            normalizer(&both),
            Some(Normalizer::Metaspace { prepend: true })
        );
        let swapped = json!({"type": "Sequence", "normalizers": [replace, prepend]});
        assert_eq!(normalizer(&swapped), None);
        let regex = json!({"type": "Replace", "pattern": {"Regex": " "}, "content": "▁"});
        assert_eq!(normalizer(&regex), None);
    }

    #[test]
    fn split_behaviors() {
        let rule = |behavior: &str, invert: bool| {
            split_rule(&json!({"type": "Split", "pattern": {"Regex": "a+"},
                               "behavior": behavior, "invert": invert}))
        };
        assert_eq!(rule("Isolated", false).map(|r| r.keep_gaps), Some(true));
        assert_eq!(rule("Isolated", true).map(|r| r.keep_gaps), Some(true));
        assert_eq!(rule("Removed", true).map(|r| r.keep_gaps), Some(false));
        assert_eq!(rule("Removed", false), None);
        assert_eq!(rule("MergedWithPrevious", false), None);
    }
}
