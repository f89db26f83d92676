//! Exact, counting-only fast path for byte-level BPE tokenizers (Llama 3,
//! o200k/gpt-oss). It reproduces `len(tokenizer.encode(text))` of HF
//! `tokenizers` stage by stage — added-token split ([`special`]), regex
//! pre-tokenization by a hand-written matcher ([`split`], with class tables
//! from [`unicode`]), BPE ([`bpe`]) behind a per-thread piece cache
//! ([`cache`]), plus the post-processor's added tokens — but never builds
//! token ids or offsets. Which `tokenizer.json` shapes it supports is
//! decided from the JSON ([`config`]); for any other the constructor returns
//! `Ok(None)` and callers use the HF counter (`hf::HfCounter`). The built
//! tables can be kept on disk between runs ([`stored`]).
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
pub mod special;
pub mod split;
pub mod stored;
pub mod unicode;

use std::sync::atomic::{AtomicU64, Ordering};

use self::bpe::Bpe;
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

/// Exact token counter for supported byte-level BPE tokenizers.
pub struct FastCounter {
    id: u64,
    flavor: Flavor,
    special: SpecialSplitter,
    bpe: Bpe,
    template_tokens: usize,
}

impl std::fmt::Debug for FastCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FastCounter")
            .field("flavor", &self.flavor)
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
        let Some(bpe) = Bpe::new(&spec.vocab, &spec.merges, spec.ignore_merges)? else {
            return Ok(None);
        };
        FastCounter::from_parts(spec.flavor, &spec.added, bpe, spec.template_tokens).map(Some)
    }

    fn from_parts(
        flavor: Flavor,
        added: &[String],
        bpe: Bpe,
        template_tokens: usize,
    ) -> Result<FastCounter, FastError> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Ok(FastCounter {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            flavor,
            special: SpecialSplitter::new(added)?,
            bpe,
            template_tokens,
        })
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
        cache::with_cache(self.id, |cache| {
            let mut total = self.template_tokens;
            total += self.special.split(text, |part| {
                let bytes = part.as_bytes();
                split::split(self.flavor, part, |piece| {
                    total += cache.count(bytes, piece.start, piece.end, |p| self.bpe.count(p));
                });
            });
            total
        })
    }
}
