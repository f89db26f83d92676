//! Tokenizers: find one (folder, `tokenizer.json`, HF cache, or the embedded
//! Llama 3.1 copy), and count tokens exactly as transformers'
//! `len(tok.encode(text))` does (special tokens added by the post-processor
//! included). Two counters implement [`TokenCount`]: [`hf::HfCounter`]
//! (the `tokenizers` crate, supports everything) and [`fast::FastCounter`]
//! (an exact counting-only fast path for byte-level BPE tokenizers whose
//! pre-tokenizer it recognises; [`chat::PreparedTokenizer::build`] falls
//! back to HF otherwise).

pub mod chat;
pub mod fast;
pub mod hf;
pub mod resolve;

/// Counts the ids `tokenizer.encode(text)` (with `add_special_tokens=True`)
/// would return. Implementations are cheap to share across worker threads.
pub trait TokenCount: Send + Sync {
    /// The number of token ids for `text`.
    fn count(&self, text: &str) -> usize;
}
