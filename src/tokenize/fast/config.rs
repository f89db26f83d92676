//! Reading `tokenizer.json` and deciding, from the JSON alone, whether the
//! fast path reproduces it exactly: no normalizer, truncation or padding;
//! pre-tokenizer `Sequence[Split(<known regex>, Isolated), ByteLevel(no
//! prefix space, no regex)]`; a plain byte-level BPE model; post-processor
//! `ByteLevel`, `TemplateProcessing` or a `Sequence` of them; added tokens
//! without `single_word`/`lstrip`/`rstrip`. Anything else is "unsupported".

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::split::Flavor;
use super::FastError;

/// What the fast path needs from a supported `tokenizer.json`.
pub struct Spec {
    /// Which split regex the pre-tokenizer uses.
    pub flavor: Flavor,
    /// Contents of all added tokens.
    pub added: Vec<String>,
    /// Tokens the post-processor adds to a single sequence.
    pub template_tokens: usize,
    /// The model's `ignore_merges`.
    pub ignore_merges: bool,
    /// The model's vocabulary (token string → id).
    pub vocab: HashMap<String, u32>,
    /// The model's merges, in rank order.
    pub merges: Vec<(String, String)>,
}

/// Shorthand: `Some(())` when `cond` holds.
fn check(cond: bool) -> Option<()> {
    cond.then_some(())
}

fn field<'a>(obj: &'a Value, key: &str) -> &'a Value {
    obj.get(key).unwrap_or(&Value::Null)
}

fn is_type(obj: &Value, name: &str) -> bool {
    field(obj, "type").as_str() == Some(name)
}

/// Parses `json`; `Ok(None)` when its shape is not supported.
pub fn parse(json: &[u8]) -> Result<Option<Spec>, FastError> {
    let root: Value = serde_json::from_slice(json)?;
    let Value::Object(mut root) = root else {
        return Err(FastError::Invalid("tokenizer.json is not an object".into()));
    };
    let shape = || -> Option<(Flavor, Vec<String>, usize)> {
        for key in ["normalizer", "truncation", "padding"] {
            check(root.get(key).is_none_or(Value::is_null))?;
        }
        let flavor = pre_tokenizer(root.get("pre_tokenizer")?)?;
        let template = post_processor(root.get("post_processor").unwrap_or(&Value::Null))?;
        let added = added_tokens(root.get("added_tokens").unwrap_or(&Value::Null))?;
        Some((flavor, added, template))
    };
    let Some((flavor, added, template_tokens)) = shape() else {
        return Ok(None);
    };
    let Some(Value::Object(model)) = root.remove("model") else {
        return Ok(None);
    };
    let Some(ignore_merges) = model_flags(&model) else {
        return Ok(None);
    };
    let (vocab, merges) = vocab_and_merges(model)?;
    Ok(Some(Spec {
        flavor,
        added,
        template_tokens,
        ignore_merges,
        vocab,
        merges,
    }))
}

/// `Sequence[Split(regex, Isolated), ByteLevel(add_prefix_space=false, use_regex=false)]`.
fn pre_tokenizer(pre: &Value) -> Option<Flavor> {
    check(is_type(pre, "Sequence"))?;
    let [split, byte_level] = field(pre, "pretokenizers").as_array()?.as_slice() else {
        return None;
    };
    check(is_type(split, "Split"))?;
    check(field(split, "behavior").as_str() == Some("Isolated"))?;
    check(field(split, "invert").as_bool() == Some(false))?;
    let pattern = field(split, "pattern").as_object()?;
    check(pattern.len() == 1)?;
    let flavor = Flavor::from_regex(pattern.get("Regex")?.as_str()?)?;
    check(is_type(byte_level, "ByteLevel"))?;
    check(field(byte_level, "add_prefix_space").as_bool() == Some(false))?;
    check(field(byte_level, "use_regex").as_bool() == Some(false))?;
    Some(flavor)
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

/// Added-token contents, if all are plain (no `single_word`, `lstrip`,
/// `rstrip`) and all share one `normalized` flag (with no normalizer, HF's
/// two passes then collapse into one).
fn added_tokens(list: &Value) -> Option<Vec<String>> {
    if list.is_null() {
        return Some(Vec::new());
    }
    let list = list.as_array()?;
    let mut normalized = None;
    let mut out = Vec::with_capacity(list.len());
    for token in list {
        for flag in ["single_word", "lstrip", "rstrip"] {
            check(field(token, flag).as_bool() == Some(false))?;
        }
        let norm = field(token, "normalized").as_bool()?;
        check(*normalized.get_or_insert(norm) == norm)?;
        let content = field(token, "content").as_str()?;
        check(!content.is_empty())?;
        out.push(content.to_owned());
    }
    Some(out)
}

/// `Some(ignore_merges)` for a plain BPE model (no dropout, unk, prefixes,
/// suffixes, fallback).
fn model_flags(model: &Map<String, Value>) -> Option<bool> {
    let get = |k: &str| model.get(k).unwrap_or(&Value::Null);
    check(get("type").as_str() == Some("BPE"))?;
    for key in [
        "dropout",
        "unk_token",
        "continuing_subword_prefix",
        "end_of_word_suffix",
    ] {
        check(get(key).is_null())?;
    }
    for key in ["fuse_unk", "byte_fallback"] {
        check(matches!(get(key), Value::Null | Value::Bool(false)))?;
    }
    match get("ignore_merges") {
        Value::Null => Some(false),
        Value::Bool(b) => Some(*b),
        _ => None,
    }
}

fn invalid(what: &str) -> FastError {
    FastError::Invalid(format!("model: {what}"))
}

/// The vocabulary and merges (either `"a b"` strings or `["a", "b"]` pairs,
/// as HF accepts them).
fn vocab_and_merges(
    mut model: Map<String, Value>,
) -> Result<(HashMap<String, u32>, Vec<(String, String)>), FastError> {
    let Some(Value::Object(vocab_json)) = model.remove("vocab") else {
        return Err(invalid("vocab is not a map"));
    };
    let mut vocab = HashMap::with_capacity(vocab_json.len());
    for (token, id) in vocab_json {
        let id = id.as_u64().and_then(|id| u32::try_from(id).ok());
        vocab.insert(token, id.ok_or_else(|| invalid("vocab id is not a u32"))?);
    }
    let Some(Value::Array(list)) = model.remove("merges") else {
        return Err(invalid("merges is not a list"));
    };
    let legacy = list.first().is_some_and(Value::is_string);
    let mut merges = Vec::with_capacity(list.len());
    for item in list {
        let pair = match (legacy, item) {
            (true, Value::String(line)) if line.starts_with("#version") => continue,
            (true, Value::String(line)) => match line.split(' ').collect::<Vec<_>>()[..] {
                [a, b] => (a.to_owned(), b.to_owned()),
                _ => return Err(invalid("merge line is not two tokens")),
            },
            (false, Value::Array(pair)) => match &pair[..] {
                [Value::String(a), Value::String(b)] => (a.clone(), b.clone()),
                _ => return Err(invalid("merge pair is not two strings")),
            },
            _ => return Err(invalid("merges mix strings and pairs")),
        };
        merges.push(pair);
    }
    Ok((vocab, merges))
}
