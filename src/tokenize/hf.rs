//! The reference token counter: the HF `tokenizers` crate (pure Rust,
//! `fancy-regex` backend) run on a `tokenizer.json`, counting what
//! transformers' `len(tok.encode(text))` counts (post-processor special
//! tokens included, no truncation, no padding). It supports every tokenizer
//! transformers' fast tokenizers support; the fast counter is checked
//! against it.

use super::TokenCount;
use tokenizers::Tokenizer;

/// The `tokenizers` crate's boxed error.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Errors loading a tokenizer or encoding with it.
#[derive(Debug, thiserror::Error)]
pub enum HfError {
    /// The `tokenizer.json` could not be parsed or built.
    #[error("cannot load tokenizer.json from {origin}: {source}")]
    Load {
        /// Where the JSON came from (a path or "embedded ...").
        origin: String,
        /// The `tokenizers` crate's error.
        #[source]
        source: BoxError,
    },
    /// Encoding a text failed.
    #[error("tokenizer failed to encode a text of {chars} characters: {source}")]
    Encode {
        /// Length of the text, in characters.
        chars: usize,
        /// The `tokenizers` crate's error.
        #[source]
        source: BoxError,
    },
}

/// A [`TokenCount`] backed by `tokenizers::Tokenizer`.
#[derive(Clone)]
pub struct HfCounter {
    tokenizer: Tokenizer,
}

impl std::fmt::Debug for HfCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HfCounter")
            .field("vocab_size", &self.tokenizer.get_vocab_size(true))
            .finish()
    }
}

impl HfCounter {
    /// Parses a `tokenizer.json`; `origin` names it in errors.
    pub fn from_json(json: &[u8], origin: &str) -> Result<Self, HfError> {
        let tokenizer = Tokenizer::from_bytes(json).map_err(|source| HfError::Load {
            origin: origin.to_owned(),
            source,
        })?;
        Ok(Self::from_tokenizer(tokenizer))
    }

    /// Wraps a tokenizer, switching off any truncation or padding its JSON
    /// configures (transformers' `encode` does not apply them by default).
    pub fn from_tokenizer(mut tokenizer: Tokenizer) -> Self {
        tokenizer
            .with_truncation(None)
            .expect("disabling truncation cannot fail");
        tokenizer.with_padding(None);
        HfCounter { tokenizer }
    }

    /// The wrapped tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The ids `encode(text)` returns, special tokens added.
    pub fn ids(&self, text: &str) -> Result<Vec<u32>, HfError> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|source| encode_error(text, source))?;
        Ok(enc.get_ids().to_vec())
    }

    /// The number of ids `encode(text)` returns, special tokens added
    /// (`encode_fast`: offsets are not computed).
    pub fn try_count(&self, text: &str) -> Result<usize, HfError> {
        let enc = self
            .tokenizer
            .encode_fast(text, true)
            .map_err(|source| encode_error(text, source))?;
        Ok(enc.len())
    }
}

fn encode_error(text: &str, source: BoxError) -> HfError {
    HfError::Encode {
        chars: text.chars().count(),
        source,
    }
}

impl TokenCount for HfCounter {
    /// # Panics
    ///
    /// If the tokenizer cannot encode `text`. Byte-level BPE tokenizers (Llama
    /// 3, gpt-oss) encode every string; use [`HfCounter::try_count`] to get
    /// the error instead.
    fn count(&self, text: &str) -> usize {
        match self.try_count(text) {
            Ok(n) => n,
            Err(e) => panic!("{e}"),
        }
    }
}
