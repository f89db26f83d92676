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
pub mod training;

/// Counts the ids `tokenizer.encode(text)` (with `add_special_tokens=True`)
/// would return. Implementations are cheap to share across worker threads.
pub trait TokenCount: Send + Sync {
    /// The number of token ids for `text`.
    fn count(&self, text: &str) -> usize;
}

/// The token count of a conversation: template, then tokenizer.
pub trait TokenLength: Send + Sync {
    /// `len(tok.encode(tok.apply_chat_template(turns, tokenize=False)))`.
    fn token_length(&self, turns: &[crate::format::Turn<'_>]) -> Result<usize, String>;

    /// The tokens the tokenizer's post-processor adds to one sequence
    /// (`len(tok.encode(""))`: 1 BOS for Llama 3, 0 for gpt-oss). Training
    /// tokenizes the rendered template without them, so its length is
    /// `token_length - added_tokens`.
    fn added_tokens(&self) -> usize;

    /// The length instructlab-training's `data_process` gives a record
    /// with `unmask: true` ([`training::length`]): every turn's content
    /// wrapped in its unmask markers, rendered, tokenized with the markers
    /// as special tokens, markers removed.
    fn training_length(&self, turns: &[crate::format::Turn<'_>]) -> Result<usize, String>;
}
