//! The added-token split: HF's `AddedVocabulary` cuts the input on every
//! added token (special or not) before pre-tokenization, leftmost-longest,
//! and each match becomes exactly one token. This module does the same with
//! `aho-corasick`, for added tokens without `single_word`/`lstrip`/`rstrip`
//! (the only shape the fast path accepts).

use aho_corasick::{AhoCorasick, MatchKind};

use super::FastError;

/// Splits text on a fixed set of added tokens.
pub struct SpecialSplitter {
    matcher: Option<AhoCorasick>,
}

impl SpecialSplitter {
    /// A splitter for `tokens` (which may be empty).
    pub fn new(tokens: &[String]) -> Result<SpecialSplitter, FastError> {
        if tokens.is_empty() {
            return Ok(SpecialSplitter { matcher: None });
        }
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(tokens)
            .map_err(|e| FastError::Invalid(format!("added tokens: {e}")))?;
        Ok(SpecialSplitter {
            matcher: Some(matcher),
        })
    }

    /// Calls `on_text` with each stretch of ordinary text (possibly empty)
    /// and returns how many added tokens sat between them.
    pub fn split(&self, text: &str, mut on_text: impl FnMut(&str)) -> usize {
        let Some(matcher) = &self.matcher else {
            on_text(text);
            return 0;
        };
        let mut last = 0;
        let mut found = 0;
        for m in matcher.find_iter(text) {
            on_text(&text[last..m.start()]);
            found += 1;
            last = m.end();
        }
        on_text(&text[last..]);
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftmost_longest() {
        let s =
            SpecialSplitter::new(&["<|a|>".into(), "<|a|><|b|>".into(), "<|b|>".into()]).unwrap();
        let mut parts = Vec::new();
        let n = s.split("x<|a|><|b|>y<|b|<|b|>", |t| parts.push(t.to_string()));
        assert_eq!(n, 2);
        assert_eq!(parts, ["x", "y<|b|", ""]);
    }
}
