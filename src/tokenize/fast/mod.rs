//! Exact, counting-only fast path for BPE tokenizers: byte-level ones
//! (Llama 3, o200k/gpt-oss, Qwen 2.5/3, DeepSeek V3, cl100k, GPT-2 style)
//! and SentencePiece-style ones with byte fallback (Llama 2, Gemma). It
//! reproduces `len(tokenizer.encode(text))` of HF `tokenizers` stage by
//! stage — added-token split ([`special`]), normalizer (NFC, or
//! SentencePiece's `▁` for space), pre-tokenization by a hand-written
//! matcher ([`split`], with class tables from [`unicode`]) or by split
//! regexes compiled into a lazy DFA ([`regex_split`]), BPE ([`bpe`], [`sp`])
//! behind a per-thread piece cache ([`cache`]), plus the post-processor's
//! added tokens — but never builds token ids or offsets. Which
//! `tokenizer.json` shapes it supports is decided from the JSON ([`config`],
//! [`shape`]); for any other the constructor returns `Ok(None)` and callers
//! use the HF counter (`hf::HfCounter`). The built tables can be kept on
//! disk between runs ([`stored`]).
//!
//! ```no_run
//! use knowmix::tokenize::{fast::FastCounter, TokenCount};
//! let json = std::fs::read("tokenizer.json").unwrap();
//! if let Some(counter) = FastCounter::from_tokenizer_json(&json).unwrap() {
//!     println!("{}", counter.count("Hello, world!"));
//! }
//! ```

pub mod bpe;
pub mod cache;
pub mod config;
pub mod flat;
pub mod regex_split;
pub mod shape;
pub mod sp;
pub mod special;
pub mod split;
pub mod stored;
pub mod unicode;

use std::sync::atomic::{AtomicU64, Ordering};

use self::bpe::Bpe;
use self::regex_split::RegexChain;
use self::shape::{Shape, Splits};
use self::sp::SpModel;
use self::special::SpecialSplitter;
use self::split::Flavor;
use super::TokenCount;

/// Why a `tokenizer.json` could not be read (as opposed to merely being
/// unsupported, which is `Ok(None)`).
#[derive(Debug, thiserror::Error)]
pub enum FastError {
    /// The bytes are not valid JSON.
    #[error("tokenizer.json is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The JSON is inconsistent in a way HF `tokenizers` also rejects.
    #[error("invalid tokenizer.json: {0}")]
    Invalid(String),
}

/// Exact token counter for supported BPE tokenizers.
pub struct FastCounter {
    id: u64,
    shape: Shape,
    special: SpecialSplitter,
    model: Model,
    template_tokens: usize,
}

/// The splitter and model behind a [`Shape`].
enum Model {
    /// Byte-level BPE split by a hand-written splitter.
    Hand(Flavor, Bpe),
    /// Byte-level BPE split by compiled regexes.
    Compiled(RegexChain, Bpe),
    /// SentencePiece-style BPE (boxed: its tables are the biggest variant).
    SentencePiece(Box<SpModel>),
}

impl std::fmt::Debug for FastCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FastCounter")
            .field("shape", &self.shape)
            .field("template_tokens", &self.template_tokens)
            .finish_non_exhaustive()
    }
}

impl FastCounter {
    /// Builds a counter from the bytes of a `tokenizer.json`.
    ///
    /// `Ok(None)` when the tokenizer uses a normalizer, pre-tokenizer,
    /// model or post-processor the fast path does not support (detected
    /// from the JSON, never guessed) so callers fall back to HF.
    pub fn from_tokenizer_json(json: &[u8]) -> Result<Option<FastCounter>, FastError> {
        match config::parse(json)? {
            Some(spec) => FastCounter::from_spec(&spec),
            None => Ok(None),
        }
    }

    /// Builds a counter from a parsed `tokenizer.json`.
    pub fn from_spec(spec: &config::Spec<'_>) -> Result<Option<FastCounter>, FastError> {
        if !ids_are_unique(spec) {
            return Ok(None);
        }
        let model = match &spec.shape {
            Shape::SentencePiece { .. } => match SpModel::new(&spec.vocab, &spec.merges)? {
                Some(sp) => Model::SentencePiece(Box::new(sp)),
                None => return Ok(None),
            },
            Shape::ByteLevel { splits, .. } => {
                let Some(bpe) = Bpe::new(&spec.vocab, &spec.merges, spec.ignore_merges)? else {
                    return Ok(None);
                };
                match splits {
                    Splits::Hand(flavor) => Model::Hand(*flavor, bpe),
                    Splits::Rules(rules) => match RegexChain::new(rules) {
                        Some(chain) => Model::Compiled(chain, bpe),
                        None => return Ok(None),
                    },
                }
            }
        };
        let special = SpecialSplitter::new(&spec.added, &spec.added_normalized)?;
        let shape = spec.shape.clone();
        Ok(Some(FastCounter::from_parts(
            shape,
            special,
            model,
            spec.template_tokens,
        )))
    }

    fn from_parts(
        shape: Shape,
        special: SpecialSplitter,
        model: Model,
        template_tokens: usize,
    ) -> FastCounter {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        FastCounter {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            shape,
            special,
            model,
            template_tokens,
        }
    }

    /// What this counter reproduces, e.g. "byte-level BPE, compiled split
    /// regex, NFC" (for the manifest and `--verbose`).
    pub fn describe(&self) -> String {
        self.shape.describe()
    }
}

/// Whether no id is given to two tokens (the fast path keys merges by id;
/// duplicate tokens, where the later one wins, are fine).
fn ids_are_unique(spec: &config::Spec<'_>) -> bool {
    // Common case: ids dense and no id repeated at all.
    let max = spec
        .vocab
        .iter()
        .map(|(_, id)| *id as usize)
        .max()
        .unwrap_or(0);
    if max < 4 * spec.vocab.len() + 1024 {
        let mut seen = vec![false; max + 1];
        if spec
            .vocab
            .iter()
            .all(|(_, id)| !std::mem::replace(&mut seen[*id as usize], true))
        {
            return true;
        }
    }
    let mut latest = std::collections::HashMap::with_capacity(spec.vocab.len());
    for (token, id) in &spec.vocab {
        latest.insert(token.as_ref(), *id);
    }
    let mut ids: Vec<u32> = latest.into_values().collect();
    ids.sort_unstable();
    ids.windows(2).all(|w| w[0] != w[1])
}

impl TokenCount for FastCounter {
    fn count(&self, text: &str) -> usize {
        cache::with_cache(self.id, |scratch| {
            let mut total = self.template_tokens;
            total += self.special.split(text, |part| {
                total += self.count_segment(part, scratch);
            });
            total
        })
    }
}

impl FastCounter {
    /// The tokens of one stretch of text between added tokens.
    fn count_segment(&self, part: &str, scratch: &mut cache::Scratch) -> usize {
        let (cache, buffer) = (&mut scratch.pieces, &mut scratch.text);
        let mut total = 0;
        let nfc = matches!(self.shape, Shape::ByteLevel { nfc: true, .. });
        let normalized = match nfc && normalize_nfc(part, buffer) {
            true => buffer.as_str(),
            false => part,
        };
        let bytes = normalized.as_bytes();
        match &self.model {
            Model::Hand(flavor, bpe) => {
                split::split(*flavor, normalized, |p| {
                    total += cache.count(bytes, p.start, p.end, |b| bpe.count(b));
                });
            }
            Model::Compiled(chain, bpe) => {
                chain.split(normalized, |p| {
                    total += cache.count(bytes, p.start, p.end, |b| bpe.count(b));
                });
            }
            Model::SentencePiece(sp) => {
                let prepend = matches!(self.shape, Shape::SentencePiece { prepend: true });
                sp::normalize(part, prepend, buffer);
                let bytes = buffer.as_bytes();
                sp.pieces(buffer, |start, end| {
                    total += cache.count(bytes, start, end, |b| {
                        sp.count(std::str::from_utf8(b).expect("cut at char boundaries"))
                    });
                });
            }
        }
        total
    }
}

/// NFC-normalizes `text` into `out` with the same tables HF's `NFC`
/// normalizer uses; `false` (and `out` untouched) when `text` is already
/// NFC by the quick check, so the caller uses `text` itself.
fn normalize_nfc(text: &str, out: &mut String) -> bool {
    use unicode_normalization_alignments::{is_nfc_quick, IsNormalized, UnicodeNormalization};
    if text.is_ascii() || is_nfc_quick(text.chars()) == IsNormalized::Yes {
        return false;
    }
    out.clear();
    out.extend(text.nfc().map(|(c, _)| c));
    true
}
