//! Reading `tokenizer.json` and deciding, from the JSON alone, whether the
//! fast path reproduces it exactly: no truncation or padding; a normalizer
//! and pre-tokenizer of a supported [`Shape`]; a plain BPE model (byte
//! fallback only in the SentencePiece shape); post-processor `ByteLevel`,
//! `TemplateProcessing` or a `Sequence` of them; added tokens without
//! `single_word`/`lstrip`/`rstrip`, and `normalized` ones only when the
//! normalizer changes nothing. Anything else is "unsupported".

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use super::shape::{self, check, field, is_type, Normalizer, Shape};
use super::FastError;

/// A token string as written in the JSON: borrowed unless it had escapes.
pub type TokenStr<'a> = Cow<'a, str>;

/// What the fast path needs from a supported `tokenizer.json`; token
/// strings borrow the JSON bytes where they can (a 28 MB vocabulary is
/// never copied into a DOM).
pub struct Spec<'a> {
    /// How text becomes BPE pieces.
    pub shape: Shape,
    /// Contents of the added tokens matched on the raw text.
    pub added: Vec<String>,
    /// Contents of the added tokens matched on normalized text
    /// (`normalized: true`; only with a normalizer that changes nothing).
    pub added_normalized: Vec<String>,
    /// Tokens the post-processor adds to a single sequence.
    pub template_tokens: usize,
    /// The model's `ignore_merges`.
    pub ignore_merges: bool,
    /// The model's vocabulary (token string, id), in file order.
    pub vocab: Vec<(TokenStr<'a>, u32)>,
    /// The model's merges, in rank order.
    pub merges: Vec<(TokenStr<'a>, TokenStr<'a>)>,
}

/// The top level of `tokenizer.json`: the small parts as `Value`s, the
/// model typed (its vocabulary and merges are the bulk of the file).
#[derive(Deserialize)]
struct RootJson<'a> {
    #[serde(default)]
    normalizer: Value,
    #[serde(default)]
    truncation: Value,
    #[serde(default)]
    padding: Value,
    #[serde(default)]
    pre_tokenizer: Value,
    #[serde(default)]
    post_processor: Value,
    #[serde(default)]
    added_tokens: Value,
    #[serde(default, borrow)]
    model: Option<ModelJson<'a>>,
}

/// The `model` object; `vocab`/`merges` are `None` when they are not in
/// the BPE shapes (another model type, which is then unsupported).
#[derive(Deserialize)]
struct ModelJson<'a> {
    #[serde(rename = "type", default)]
    kind: Value,
    #[serde(default)]
    dropout: Value,
    #[serde(default)]
    unk_token: Value,
    #[serde(default)]
    continuing_subword_prefix: Value,
    #[serde(default)]
    end_of_word_suffix: Value,
    #[serde(default)]
    fuse_unk: Value,
    #[serde(default)]
    byte_fallback: Value,
    #[serde(default)]
    ignore_merges: Value,
    #[serde(default, borrow)]
    vocab: json::Vocab<'a>,
    #[serde(default, borrow)]
    merges: json::Merges<'a>,
}

/// Parses `json`; `Ok(None)` when its shape is not supported.
pub fn parse(json: &[u8]) -> Result<Option<Spec<'_>>, FastError> {
    let root: RootJson = serde_json::from_slice(json)?;
    if !root.truncation.is_null() || !root.padding.is_null() {
        return Ok(None);
    }
    let Some(model) = root.model else {
        return Ok(None);
    };
    let parts = || -> Option<(Shape, Added, usize, bool)> {
        let norm = shape::normalizer(&root.normalizer)?;
        let (byte_fallback, ignore_merges) = model_flags(&model)?;
        let shape = shape::shape(norm, &root.pre_tokenizer, byte_fallback)?;
        let template = post_processor(&root.post_processor)?;
        let added = added_tokens(&root.added_tokens)?;
        check(added.1.is_empty() || norm == Normalizer::Identity)?;
        // SentencePiece words are whole segments: `ignore_merges` would
        // make them not decompose into pieces.
        check(!(ignore_merges && matches!(shape, Shape::SentencePiece { .. })))?;
        Some((shape, added, template, ignore_merges))
    };
    let Some((shape, (added, added_normalized), template_tokens, ignore_merges)) = parts() else {
        return Ok(None);
    };
    let (vocab, merges) = vocab_and_merges(model)?;
    Ok(Some(Spec {
        shape,
        added,
        added_normalized,
        template_tokens,
        ignore_merges,
        vocab,
        merges,
    }))
}

/// Tokens added to a single sequence by `ByteLevel` (none),
/// `TemplateProcessing`, or a `Sequence` of those; `None` if unsupported.
fn post_processor(post: &Value) -> Option<usize> {
    if post.is_null() || is_type(post, "ByteLevel") {
        return Some(0);
    }
    if is_type(post, "Sequence") {
        let parts = field(post, "processors").as_array()?;
        return parts.iter().map(post_processor).sum();
    }
    check(is_type(post, "TemplateProcessing"))?;
    let specials = field(post, "special_tokens").as_object()?;
    let mut added = 0;
    let mut sequences = 0;
    for piece in field(post, "single").as_array()? {
        let piece = piece.as_object()?;
        check(piece.len() == 1)?;
        if let Some(special) = piece.get("SpecialToken") {
            let id = field(special, "id").as_str()?;
            added += field(specials.get(id)?, "ids").as_array()?.len();
        } else {
            check(field(piece.get("Sequence")?, "id").as_str() == Some("A"))?;
            sequences += 1;
        }
    }
    check(sequences == 1)?;
    Some(added)
}

/// Added-token contents: (matched on raw text, matched on normalized
/// text), if all are plain (no `single_word`, `lstrip`, `rstrip`).
type Added = (Vec<String>, Vec<String>);

fn added_tokens(list: &Value) -> Option<Added> {
    if list.is_null() {
        return Some((Vec::new(), Vec::new()));
    }
    let mut out: Added = (Vec::new(), Vec::new());
    for token in list.as_array()? {
        for flag in ["single_word", "lstrip", "rstrip"] {
            check(field(token, flag).as_bool() == Some(false))?;
        }
        let content = field(token, "content").as_str()?;
        check(!content.is_empty())?;
        match field(token, "normalized").as_bool()? {
            false => out.0.push(content.to_owned()),
            true => out.1.push(content.to_owned()),
        }
    }
    Some(out)
}

/// `Some((byte_fallback, ignore_merges))` for a plain BPE model: no
/// dropout, no prefixes or suffixes (empty ones are no-ops), and an unknown
/// token only alongside byte fallback (where [`super::sp`] proves it is
/// never used).
fn model_flags(model: &ModelJson<'_>) -> Option<(bool, bool)> {
    check(model.kind.as_str() == Some("BPE"))?;
    check(model.dropout.is_null())?;
    for value in [&model.continuing_subword_prefix, &model.end_of_word_suffix] {
        check(matches!(value, Value::Null) || value.as_str() == Some(""))?;
    }
    let flag = |v: &Value| match v {
        Value::Null => Some(false),
        Value::Bool(b) => Some(*b),
        _ => None,
    };
    flag(&model.fuse_unk)?;
    let byte_fallback = flag(&model.byte_fallback)?;
    check(model.unk_token.is_null() || (byte_fallback && model.unk_token.is_string()))?;
    Some((byte_fallback, flag(&model.ignore_merges)?))
}

fn invalid(what: &str) -> FastError {
    FastError::Invalid(format!("model: {what}"))
}

type VocabAndMerges<'a> = (Vec<(TokenStr<'a>, u32)>, Vec<(TokenStr<'a>, TokenStr<'a>)>);

/// The vocabulary and merges (either `"a b"` strings or `["a", "b"]` pairs,
/// as HF accepts them).
fn vocab_and_merges(model: ModelJson<'_>) -> Result<VocabAndMerges<'_>, FastError> {
    let vocab = model.vocab.0.ok_or_else(|| invalid("vocab is not a map"))?;
    let list = model
        .merges
        .0
        .ok_or_else(|| invalid("merges is not a list"))?;
    let legacy = matches!(list.first(), Some(json::MergeItem::Line(_)));
    let mut merges = Vec::with_capacity(list.len());
    for item in list {
        let pair = match (legacy, item) {
            (true, json::MergeItem::Line(line)) if line.starts_with("#version") => continue,
            (true, json::MergeItem::Line(line)) => split_merge_line(line)?,
            (false, json::MergeItem::Pair(a, b)) => (a, b),
            _ => return Err(invalid("merges mix strings and pairs")),
        };
        merges.push(pair);
    }
    Ok((vocab, merges))
}

/// `"a b"` → `(a, b)`, borrowing when the line does.
fn split_merge_line(line: TokenStr<'_>) -> Result<(TokenStr<'_>, TokenStr<'_>), FastError> {
    // Exactly one space: the length of the first token.
    let first_len = |l: &str| match l.split_once(' ') {
        Some((a, b)) if !b.contains(' ') => Ok(a.len()),
        _ => Err(invalid("merge line is not two tokens")),
    };
    match line {
        Cow::Borrowed(l) => {
            let a = first_len(l)?;
            Ok((Cow::Borrowed(&l[..a]), Cow::Borrowed(&l[a + 1..])))
        }
        Cow::Owned(l) => {
            let a = first_len(&l)?;
            Ok((
                Cow::Owned(l[..a].to_owned()),
                Cow::Owned(l[a + 1..].to_owned()),
            ))
        }
    }
}

/// Streaming deserializers for the two big parts of the model.
mod json {
    use std::borrow::Cow;
    use std::fmt;

    use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

    use super::TokenStr;

    /// A string, borrowed from the input when it has no escapes.
    struct Token<'a>(TokenStr<'a>);

    impl<'de> Deserialize<'de> for Token<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Token<'de>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a string")
                }
                fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Token<'de>, E> {
                    Ok(Token(Cow::Borrowed(s)))
                }
                fn visit_str<E>(self, s: &str) -> Result<Token<'de>, E> {
                    Ok(Token(Cow::Owned(s.to_owned())))
                }
                fn visit_string<E>(self, s: String) -> Result<Token<'de>, E> {
                    Ok(Token(Cow::Owned(s)))
                }
            }
            d.deserialize_str(V)
        }
    }

    /// A BPE vocabulary (`{"token": id, ...}`), in file order. Any other
    /// shape (Unigram's list of pairs, say) is skipped and reads as `None`.
    #[derive(Default)]
    pub struct Vocab<'a>(pub Option<Vec<(TokenStr<'a>, u32)>>);

    impl<'de: 'a, 'a> Deserialize<'de> for Vocab<'a> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Vocab<'de>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a vocabulary")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                    let mut out = Vec::with_capacity(map.size_hint().unwrap_or(1 << 16));
                    while let Some((Token(token), id)) = map.next_entry::<Token, u32>()? {
                        out.push((token, id));
                    }
                    Ok(Vocab(Some(out)))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                    while seq.next_element::<IgnoredAny>()?.is_some() {}
                    Ok(Vocab(None))
                }
                fn visit_unit<E>(self) -> Result<Self::Value, E> {
                    Ok(Vocab(None))
                }
            }
            d.deserialize_any(V)
        }
    }

    /// One merge as written: `"a b"` or `["a", "b"]`.
    pub enum MergeItem<'a> {
        Line(TokenStr<'a>),
        Pair(TokenStr<'a>, TokenStr<'a>),
    }

    impl<'de> Deserialize<'de> for MergeItem<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = MergeItem<'de>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a merge (\"a b\" or [\"a\", \"b\"])")
                }
                fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                    Ok(MergeItem::Line(Cow::Borrowed(s)))
                }
                fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                    Ok(MergeItem::Line(Cow::Owned(s.to_owned())))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                    use serde::de::Error;
                    let pair = (seq.next_element::<Token>()?, seq.next_element::<Token>()?);
                    let (Some(Token(a)), Some(Token(b))) = pair else {
                        return Err(A::Error::custom("merge pair is not two strings"));
                    };
                    if seq.next_element::<IgnoredAny>()?.is_some() {
                        return Err(A::Error::custom("merge pair is not two strings"));
                    }
                    Ok(MergeItem::Pair(a, b))
                }
            }
            d.deserialize_any(V)
        }
    }

    /// The merges list; `None` when it is not a list.
    #[derive(Default)]
    pub struct Merges<'a>(pub Option<Vec<MergeItem<'a>>>);

    impl<'de: 'a, 'a> Deserialize<'de> for Merges<'a> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Merges<'de>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a list of merges")
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                    let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(1 << 16));
                    while let Some(item) = seq.next_element::<MergeItem>()? {
                        out.push(item);
                    }
                    Ok(Merges(Some(out)))
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                    Ok(Merges(None))
                }
                fn visit_unit<E>(self) -> Result<Self::Value, E> {
                    Ok(Merges(None))
                }
            }
            d.deserialize_any(V)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_lines_are_exactly_two_tokens() {
        let split = |l: &'static str| split_merge_line(Cow::Borrowed(l)).ok();
        let pair = |a: &'static str, b: &'static str| Some((Cow::Borrowed(a), Cow::Borrowed(b)));
        assert_eq!(split("Ġ t"), pair("Ġ", "t"));
        assert_eq!(split("a "), pair("a", ""));
        assert_eq!(split("ab"), None);
        assert_eq!(split("a b c"), None);
        let owned = split_merge_line(Cow::Owned("x yz".to_owned())).unwrap();
        assert_eq!((owned.0.as_ref(), owned.1.as_ref()), ("x", "yz"));
    }
}
