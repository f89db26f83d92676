//! Split regexes from `tokenizer.json` compiled into a lazy DFA
//! (`regex-automata`), so a byte-level BPE tokenizer with a split regex no
//! hand-written splitter knows (Qwen 2.5/3, DeepSeek V3, GPT-2 style) is
//! still split fast and exactly as HF's `Split` does with `fancy-regex`.
//!
//! The one look-around these regexes use, the branch pair
//! `\s+(?!\S)|\s+` ending the alternation, is compiled as a second pattern
//! `\s+` and its end fixed afterwards, as tiktoken-style splitters do.
//! Why that is exact: at any position the earlier branches are the same in
//! both regexes, so both reach the whitespace branches exactly when those
//! fail; `\s+(?!\S)|\s+` then matches iff `\s+` does, at the same start,
//! and its end follows from the maximal run `start..end` of `\s`: the whole
//! run when it reaches the end of the piece (`(?!\S)` holds there) or is one
//! char long (the first branch fails, the second takes the char), else the
//! run without its last char (backtracking one char makes the next char
//! whitespace). Since the set of positions where a match starts is the
//! same, `find_iter` yields the same matches. Patterns with any other
//! look-around, back-references or other `fancy-regex`-only syntax do not
//! parse here, and a pattern that can match the empty string is refused:
//! such tokenizers stay on HF.
//!
//! Every rule applies to each piece of the rule before it (HF's `Sequence`
//! of `Split`s), each piece searched as its own haystack, as HF does.

use std::cell::RefCell;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::{meta, Anchored, Input};
use regex_syntax::hir::{Hir, HirKind};

use super::shape::SplitRule;

/// The whitespace branches the look-ahead is emulated for.
const WS_TAIL: &str = r"|\s+(?!\S)|\s+";

/// Split rules compiled for matching, applied in turn.
pub struct RegexChain {
    id: u64,
    rules: Vec<CompiledRule>,
}

impl std::fmt::Debug for RegexChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegexChain")
            .field("rules", &self.rules.len())
            .finish_non_exhaustive()
    }
}

struct CompiledRule {
    /// Leftmost-first matcher for searches not anchored at the position
    /// (text between matches) and for anything the DFA gives up on.
    meta: meta::Regex,
    /// Anchored forward search: the end of the match at a position.
    dfa: Option<DFA>,
    /// Pattern 1 stands for `\s+(?!\S)|\s+` (see the module docs).
    ws_tail: bool,
    /// Whether text between matches is a piece (else dropped).
    keep_gaps: bool,
}

impl RegexChain {
    /// Compiles `rules`; `None` when one cannot be reproduced exactly.
    pub fn new(rules: &[SplitRule]) -> Option<RegexChain> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        let rules = rules
            .iter()
            .map(CompiledRule::new)
            .collect::<Option<Vec<_>>>()?;
        Some(RegexChain {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            rules,
        })
    }

    /// Calls `piece` with the byte range of every pre-token of `text`, in order.
    pub fn split(&self, text: &str, mut piece: impl FnMut(Range<usize>)) {
        with_caches(self, |caches| {
            self.split_level(0, text, 0, caches, &mut piece);
        });
    }

    fn split_level(
        &self,
        level: usize,
        hay: &str,
        base: usize,
        caches: &mut [Cache],
        out: &mut dyn FnMut(Range<usize>),
    ) {
        let (rule, rest) = (&self.rules[level], level + 1 < self.rules.len());
        let mut emit = |caches: &mut [Cache], r: Range<usize>| {
            if rest {
                self.split_level(level + 1, &hay[r.clone()], base + r.start, caches, out);
            } else {
                out(base + r.start..base + r.end);
            }
        };
        let mut i = 0;
        while i < hay.len() {
            if let Some(end) = rule.anchored(hay, i, &mut caches[level]) {
                emit(caches, i..end);
                i = end;
                continue;
            }
            match rule.leftmost(hay, i) {
                Some(m) => {
                    if rule.keep_gaps {
                        emit(caches, i..m.start);
                    }
                    emit(caches, m.clone());
                    i = m.end;
                }
                None => {
                    if rule.keep_gaps {
                        emit(caches, i..hay.len());
                    }
                    break;
                }
            }
        }
    }
}

impl CompiledRule {
    fn new(rule: &SplitRule) -> Option<CompiledRule> {
        let (patterns, ws_tail) = match rule.pattern.strip_suffix(WS_TAIL) {
            Some(head) => (vec![head, r"\s+"], true),
            None => (vec![rule.pattern.as_str()], false),
        };
        for p in &patterns {
            let hir = regex_syntax::Parser::new().parse(p).ok()?;
            let props = hir.properties();
            // Look-around (even `^`, `\b`) and empty matches are left to HF,
            // and so is a repetition of a repetition: `fancy-regex` reads
            // `a++` as possessive, `regex-syntax` as `(?:a+)+`.
            if !props.look_set().is_empty()
                || props.minimum_len().is_none_or(|n| n == 0)
                || nested_repetition(&hir)
            {
                return None;
            }
        }
        let meta = meta::Regex::new_many(&patterns).ok()?;
        let dfa = DFA::new_many(&patterns).ok();
        Some(CompiledRule {
            meta,
            dfa,
            ws_tail,
            keep_gaps: rule.keep_gaps,
        })
    }

    /// The end of the match starting exactly at `i`, if any.
    #[inline]
    fn anchored(&self, hay: &str, i: usize, cache: &mut Cache) -> Option<usize> {
        let input = Input::new(hay).range(i..).anchored(Anchored::Yes);
        let (pattern, end) = match self.dfa.as_ref().map(|d| d.try_search_fwd(cache, &input)) {
            Some(Ok(found)) => found.map(|m| (m.pattern().as_usize(), m.offset()))?,
            _ => self
                .meta
                .search(&input)
                .map(|m| (m.pattern().as_usize(), m.end()))?,
        };
        Some(self.fix_end(hay, pattern, i, end))
    }

    /// The leftmost match at or after `i`.
    fn leftmost(&self, hay: &str, i: usize) -> Option<Range<usize>> {
        let m = self.meta.search(&Input::new(hay).range(i..))?;
        let end = self.fix_end(hay, m.pattern().as_usize(), m.start(), m.end());
        Some(m.start()..end)
    }

    /// The end `\s+(?!\S)|\s+` has where `\s+` matched `start..end`.
    #[inline]
    fn fix_end(&self, hay: &str, pattern: usize, start: usize, end: usize) -> usize {
        if !self.ws_tail || pattern != 1 || end == hay.len() {
            return end;
        }
        let last = hay[..end]
            .char_indices()
            .next_back()
            .map_or(end, |(k, _)| k);
        if last > start {
            last
        } else {
            end
        }
    }
}

/// Whether `hir` has a repetition directly inside a repetition.
fn nested_repetition(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Repetition(rep) => {
            matches!(rep.sub.kind(), HirKind::Repetition(_)) || nested_repetition(&rep.sub)
        }
        HirKind::Capture(cap) => nested_repetition(&cap.sub),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => subs.iter().any(nested_repetition),
        _ => false,
    }
}

/// Lazy-DFA caches kept per thread per chain; the oldest chain's are
/// dropped past this many.
const MAX_CHAINS: usize = 8;

thread_local! {
    static CACHES: RefCell<Vec<(u64, Vec<Cache>)>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's DFA caches for `chain` (one per rule; a
/// rule without a DFA gets a placeholder that is never used).
fn with_caches<R>(chain: &RegexChain, f: impl FnOnce(&mut [Cache]) -> R) -> R {
    CACHES.with(|cell| {
        let mut all = cell.borrow_mut();
        let at = match all.iter().position(|(id, _)| *id == chain.id) {
            Some(at) => at,
            None => {
                if all.len() >= MAX_CHAINS {
                    all.remove(0);
                }
                let caches = chain
                    .rules
                    .iter()
                    .map(|r| match &r.dfa {
                        Some(dfa) => dfa.create_cache(),
                        None => placeholder_cache(),
                    })
                    .collect();
                all.push((chain.id, caches));
                all.len() - 1
            }
        };
        f(&mut all[at].1)
    })
}

fn placeholder_cache() -> Cache {
    DFA::new("a")
        .expect("a trivial regex compiles")
        .create_cache()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(patterns: &[&str]) -> RegexChain {
        let rules: Vec<SplitRule> = patterns
            .iter()
            .map(|p| SplitRule {
                pattern: (*p).to_owned(),
                keep_gaps: true,
            })
            .collect();
        RegexChain::new(&rules).expect("compiles")
    }

    fn pieces<'a>(c: &RegexChain, text: &'a str) -> Vec<&'a str> {
        let mut out = Vec::new();
        c.split(text, |r| out.push(&text[r]));
        out
    }

    #[test]
    fn whitespace_lookahead_is_emulated() {
        let c = chain(&[r"\p{L}+|\s+(?!\S)|\s+"]);
        assert_eq!(pieces(&c, "a  b"), ["a", " ", " ", "b"]);
        assert_eq!(pieces(&c, "a b"), ["a", " ", "b"]);
        assert_eq!(pieces(&c, "a   "), ["a", "   "]);
        assert_eq!(
            pieces(&c, "a \u{3000}\u{a0}b"),
            ["a", " \u{3000}", "\u{a0}", "b"]
        );
        // Text no branch matches is a piece of its own.
        assert_eq!(pieces(&c, "a12b"), ["a", "12", "b"]);
    }

    #[test]
    fn rules_chain_and_gaps_can_be_dropped() {
        let c = chain(&[r"\p{N}{1,3}", r"[a-z]+"]);
        assert_eq!(pieces(&c, "ab12345cd!"), ["ab", "123", "45", "cd", "!"]);
        let dropped = RegexChain::new(&[SplitRule {
            pattern: "[a-z]+".into(),
            keep_gaps: false,
        }])
        .unwrap();
        assert_eq!(pieces(&dropped, "ab, cd"), ["ab", "cd"]);
    }

    #[test]
    fn unsupported_patterns_are_refused() {
        for p in [
            r"a(?=b)",
            r"\s*",
            r"a|",
            r"\bword",
            r"(a)\1",
            r"^a",
            r"a++",
            r"(?:a*)+b",
        ] {
            let rule = SplitRule {
                pattern: p.into(),
                keep_gaps: true,
            };
            assert!(RegexChain::new(&[rule]).is_none(), "{p}");
        }
    }
}
