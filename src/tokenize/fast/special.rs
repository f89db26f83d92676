//! The added-token split: HF's `AddedVocabulary` cuts the input on every
//! added token (special or not) before pre-tokenization, leftmost-longest,
//! and each match becomes exactly one token. This module does the same with
//! `aho-corasick`, for added tokens without `single_word`/`lstrip`/`rstrip`
//! (the only shape the fast path accepts). Like HF it makes two passes:
//! tokens with `normalized: false` on the raw text, then those with
//! `normalized: true` on each stretch left (HF normalizes the stretch in
//! between; the fast path accepts normalized tokens only with a normalizer
//! that changes nothing, so there is nothing to do there).

use aho_corasick::{AhoCorasick, MatchKind};

use super::FastError;

/// Splits text on a fixed set of added tokens.
pub struct SpecialSplitter {
    raw: Option<AhoCorasick>,
    normalized: Option<AhoCorasick>,
}

fn matcher(tokens: &[String]) -> Result<Option<AhoCorasick>, FastError> {
    if tokens.is_empty() {
        return Ok(None);
    }
    AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .build(tokens)
        .map(Some)
        .map_err(|e| FastError::Invalid(format!("added tokens: {e}")))
}

/// Calls `on_text` with each stretch of `text` around matches of
/// `matcher` (possibly empty); returns the number of matches.
fn split_on(matcher: Option<&AhoCorasick>, text: &str, on_text: &mut dyn FnMut(&str)) -> usize {
    let Some(matcher) = matcher else {
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

impl SpecialSplitter {
    /// A splitter for `raw` tokens (matched first) and `normalized` ones
    /// (matched in what is left); either may be empty.
    pub fn new(raw: &[String], normalized: &[String]) -> Result<SpecialSplitter, FastError> {
        Ok(SpecialSplitter {
            raw: matcher(raw)?,
            normalized: matcher(normalized)?,
        })
    }

    /// Calls `on_text` with each stretch of ordinary text (possibly empty)
    /// and returns how many added tokens sat between them.
    pub fn split(&self, text: &str, mut on_text: impl FnMut(&str)) -> usize {
        let Some(normalized) = &self.normalized else {
            return split_on(self.raw.as_ref(), text, &mut on_text);
        };
        let mut found = 0;
        found += split_on(self.raw.as_ref(), text, &mut |stretch| {
            found += split_on(Some(normalized), stretch, &mut on_text);
        });
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftmost_longest() {
        let s = SpecialSplitter::new(&["<|a|>".into(), "<|a|><|b|>".into(), "<|b|>".into()], &[])
            .unwrap();
        let mut parts = Vec::new();
        let n = s.split("x<|a|><|b|>y<|b|<|b|>", |t| parts.push(t.to_string()));
        assert_eq!(n, 2);
        assert_eq!(parts, ["x", "y<|b|", ""]);
    }

    #[test]
    fn normalized_tokens_are_matched_after_raw_ones() {
        // Leftmost-longest over all tokens would take "<|ab|>" first; HF
        // takes the raw "b|>" first, and "<|a" is left for the second pass.
        let s = SpecialSplitter::new(&["b|>".into()], &["<|a".into(), "<|ab|>".into()]).unwrap();
        let mut parts = Vec::new();
        let n = s.split("x<|ab|>y", |t| parts.push(t.to_string()));
        assert_eq!(n, 2);
        assert_eq!(parts, ["x", "", "y"]);
    }
}
