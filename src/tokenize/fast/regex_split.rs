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
//!
//! Two things keep the per-piece cost down (DeepSeek V3 runs three rules
//! over every byte). Positions whose first byte takes the DFA's start state
//! to the dead state cannot start a match, so a byte table skips them
//! without a search (for `\p{N}{1,3}`, all but digits and non-ASCII lead
//! bytes); the match leftmost-first search would find from the first
//! skipped position is the one found from the first position not skipped.
//! And the anchored search runs a one-pattern DFA (`head|\s+`), so no
//! pattern id is decoded at every match state; which branch matched is
//! asked only when it can matter (a run of two or more chars, not at the
//! end, that may be all whitespace): by the head alone, anchored at the
//! same position, since `head|\s+` takes the `\s+` branch exactly when the
//! head does not match there.

use std::cell::RefCell;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::util::start;
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
    /// (text between matches) and for anything the DFA gives up on; with
    /// `ws_tail`, pattern 1 stands for `\s+(?!\S)|\s+`.
    meta: meta::Regex,
    /// Anchored forward search, one pattern (`head|\s+` with `ws_tail`):
    /// the end of the match at a position.
    dfa: Option<DFA>,
    /// With `ws_tail`, the head alone: whether it matches at a position.
    head: Option<DFA>,
    /// Whether a match can start with this byte (see the module docs).
    starts: [bool; 256],
    /// The rule ends with `|\s+(?!\S)|\s+` (see the module docs).
    ws_tail: bool,
    /// Whether text between matches is a piece (else dropped).
    keep_gaps: bool,
}

/// One thread's lazy-DFA caches for one rule.
struct RuleCaches {
    dfa: Cache,
    head: Option<Cache>,
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
        caches: &mut [RuleCaches],
        out: &mut dyn FnMut(Range<usize>),
    ) {
        let (rule, rest) = (&self.rules[level], level + 1 < self.rules.len());
        let mut emit = |caches: &mut [RuleCaches], r: Range<usize>| {
            if rest {
                self.split_level(level + 1, &hay[r.clone()], base + r.start, caches, out);
            } else {
                out(base + r.start..base + r.end);
            }
        };
        let mut i = 0;
        while i < hay.len() {
            // The first position a match can start at (a char boundary
            // unless the table says a continuation byte can start one,
            // which no UTF-8 pattern does: then search from `i`).
            let at = rule.next_start(hay.as_bytes(), i);
            let at = if hay.is_char_boundary(at) { at } else { i };
            let found = match at < hay.len() {
                false => None,
                true => match rule.anchored(hay, at, &mut caches[level]) {
                    Some(end) => Some(at..end),
                    None => rule.leftmost(hay, at),
                },
            };
            let Some(m) = found else {
                if rule.keep_gaps {
                    emit(caches, i..hay.len());
                }
                break;
            };
            if rule.keep_gaps && m.start > i {
                emit(caches, i..m.start);
            }
            emit(caches, m.clone());
            i = m.end;
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
        let (dfa, head) = match ws_tail {
            true => (
                DFA::new(&format!("(?:{})|\\s+", patterns[0])).ok(),
                DFA::new(patterns[0]).ok(),
            ),
            false => (DFA::new(patterns[0]).ok(), None),
        };
        Some(CompiledRule {
            meta,
            starts: start_bytes(dfa.as_ref()),
            // Without the head's DFA, which branch matched is asked of `meta`.
            dfa: dfa.filter(|_| !ws_tail || head.is_some()),
            head,
            ws_tail,
            keep_gaps: rule.keep_gaps,
        })
    }

    /// The first position from `i` whose byte can start a match, or the end.
    #[inline]
    fn next_start(&self, hay: &[u8], mut i: usize) -> usize {
        while i < hay.len() && !self.starts[usize::from(hay[i])] {
            i += 1;
        }
        i
    }

    /// The end of the match starting exactly at `i`, if any.
    #[inline]
    fn anchored(&self, hay: &str, i: usize, caches: &mut RuleCaches) -> Option<usize> {
        let input = Input::new(hay).range(i..).anchored(Anchored::Yes);
        let Some(Ok(found)) = self
            .dfa
            .as_ref()
            .map(|d| d.try_search_fwd(&mut caches.dfa, &input))
        else {
            return self.anchored_meta(hay, &input);
        };
        let end = found?.offset();
        if !self.ws_tail || !maybe_whitespace_run(hay.as_bytes(), i, end) {
            return Some(end);
        }
        let head = self.head.as_ref().expect("a head DFA with ws_tail");
        let cache = caches.head.as_mut().expect("a head cache with ws_tail");
        match head.try_search_fwd(cache, &input) {
            Ok(Some(_)) => Some(end),
            Ok(None) => Some(self.fix_end(hay, 1, i, end)),
            Err(_) => self.anchored_meta(hay, &input),
        }
    }

    /// [`Self::anchored`] by the meta regex, which names the pattern.
    fn anchored_meta(&self, hay: &str, input: &Input<'_>) -> Option<usize> {
        let m = self.meta.search(input)?;
        Some(self.fix_end(hay, m.pattern().as_usize(), m.start(), m.end()))
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

/// Whether `hay[start..end]`, a match, could be one of `\s+` that
/// [`CompiledRule::fix_end`] would shorten: two or more bytes, not at the
/// end, and neither its first nor its last byte an ASCII byte outside `\s`
/// (the ASCII chars of Unicode `\s` are `\t`, `\n`, `\v`, `\f`, `\r`, space).
#[inline]
fn maybe_whitespace_run(hay: &[u8], start: usize, end: usize) -> bool {
    let could_be_space = |b: u8| b >= 0x80 || matches!(b, b'\t'..=b'\r' | b' ');
    end < hay.len() && end - start > 1 && could_be_space(hay[start]) && could_be_space(hay[end - 1])
}

/// Which bytes can start a match of `dfa` (anchored): those that do not
/// take its start state to the dead state. All, without a DFA or when the
/// DFA cannot tell.
fn start_bytes(dfa: Option<&DFA>) -> [bool; 256] {
    let mut table = [true; 256];
    let Some(dfa) = dfa else {
        return table;
    };
    let mut cache = dfa.create_cache();
    let config = start::Config::new().anchored(Anchored::Yes);
    for (b, slot) in table.iter_mut().enumerate() {
        // The start state afresh each time: a cache clear would void it.
        let next = dfa
            .start_state(&mut cache, &config)
            .ok()
            .and_then(|s| dfa.next_state(&mut cache, s, b as u8).ok());
        if let Some(next) = next {
            *slot = !next.is_dead();
        }
    }
    table
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
    static CACHES: RefCell<Vec<(u64, Vec<RuleCaches>)>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's DFA caches for `chain` (one set per rule; a
/// rule without a DFA gets a placeholder that is never used).
fn with_caches<R>(chain: &RegexChain, f: impl FnOnce(&mut [RuleCaches]) -> R) -> R {
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
                    .map(|r| RuleCaches {
                        dfa: match &r.dfa {
                            Some(dfa) => dfa.create_cache(),
                            None => placeholder_cache(),
                        },
                        head: r.head.as_ref().map(DFA::create_cache),
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
        let rules: Vec<SplitRule> = patterns.iter().map(|p| SplitRule::isolated(p)).collect();
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
    fn only_bytes_that_can_start_a_match_are_searched_from() {
        let rule = |p: &str| {
            CompiledRule::new(&SplitRule {
                pattern: p.into(),
                keep_gaps: true,
            })
            .unwrap()
        };
        let digits = rule(r"\p{N}{1,3}");
        assert!(digits.starts[usize::from(b'7')]);
        assert!(!digits.starts[usize::from(b'a')] && !digits.starts[usize::from(b' ')]);
        assert!(digits.starts[0xD9], "lead byte of Arabic-Indic digits");
        assert!(
            !digits.starts[0x80],
            "continuation bytes never start a match"
        );
        let c = chain(&[r"\p{N}{1,3}", r"[a-z]+|\s+(?!\S)|\s+"]);
        assert_eq!(
            pieces(&c, "ab 1234  x٣"),
            ["ab", " ", "123", "4", " ", " ", "x", "٣"]
        );
    }

    #[test]
    fn the_whitespace_branch_is_told_from_the_head() {
        // The head also matches runs of whitespace (ending in a newline):
        // those keep their end; a plain run before text gives back a char.
        let c = chain(&[r"\s*[\r\n]+|\p{L}+|\s+(?!\S)|\s+"]);
        assert_eq!(pieces(&c, "a \n\nb"), ["a", " \n\n", "b"]);
        assert_eq!(pieces(&c, "a \u{3000} b"), ["a", " \u{3000}", " ", "b"]);
        assert_eq!(pieces(&c, "a\t\t"), ["a", "\t\t"]);
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
