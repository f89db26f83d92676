//! The pre-tokenizer: a hand-written matcher equivalent to HF's
//! `Split(regex, Isolated)` for the split regexes it recognises (Llama 3 /
//! cl100k, Qwen 2.5 / 3 and o200k, by exact string match), including the leftmost-first
//! backtracking of `\s*[\r\n]+`, `\s+(?!\S)` and o200k's
//! `[UP]*[LO]+` letter runs, and Unicode case folding in the contractions.
//! Like `find_iter`, text between matches becomes a piece of its own (it
//! never happens with these regexes, since every char starts some branch).

use std::ops::Range;

use super::unicode::{Tables, L, LO, N, UP, WS};

/// Llama 3's split regex, as written in its `tokenizer.json`.
pub const LLAMA3_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Qwen 2.5 / Qwen 3's split regex: Llama 3's with single digits
/// (`\p{N}` for `\p{N}{1,3}`).
pub const QWEN_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// o200k's split regex (gpt-oss, GPT-4o), as written in its `tokenizer.json`.
pub const O200K_REGEX: &str = r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Which split regex a tokenizer uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// [`LLAMA3_REGEX`].
    Llama3,
    /// [`QWEN_REGEX`].
    Qwen,
    /// [`O200K_REGEX`].
    O200k,
}

impl Flavor {
    /// The flavor whose regex is exactly `regex`, if any.
    pub fn from_regex(regex: &str) -> Option<Flavor> {
        match regex {
            LLAMA3_REGEX => Some(Flavor::Llama3),
            QWEN_REGEX => Some(Flavor::Qwen),
            O200K_REGEX => Some(Flavor::O200k),
            _ => None,
        }
    }
}

/// Calls `piece` with the byte range of every pre-token of `text`, in order.
pub fn split(flavor: Flavor, text: &str, mut piece: impl FnMut(Range<usize>)) {
    let m = Matcher {
        t: text,
        tab: Tables::get(),
    };
    let mut gap_start = 0;
    let mut i = 0;
    while i < text.len() {
        let end = match flavor {
            Flavor::Llama3 => m.llama3(i, 3),
            Flavor::Qwen => m.llama3(i, 1),
            Flavor::O200k => m.o200k(i),
        };
        match end {
            Some(end) => {
                if gap_start < i {
                    piece(gap_start..i);
                }
                piece(i..end);
                i = end;
                gap_start = end;
            }
            None => i = m.next(i),
        }
    }
    if gap_start < text.len() {
        piece(gap_start..text.len());
    }
}

/// `[^\r\n\p{L}\p{N}]`.
#[inline]
fn is_prefix(c: char, k: u8) -> bool {
    c != '\r' && c != '\n' && k & (L | N) == 0
}

/// `[^\s\p{L}\p{N}]`.
#[inline]
fn is_punct(k: u8) -> bool {
    k & (WS | L | N) == 0
}

/// Matching primitives over one text; positions are byte offsets.
struct Matcher<'a> {
    t: &'a str,
    tab: &'static Tables,
}

impl Matcher<'_> {
    /// The char at `i` (which must be < len), its class bits and the next offset.
    #[inline]
    fn at(&self, i: usize) -> (char, u8, usize) {
        let b = self.t.as_bytes()[i];
        if b < 0x80 {
            return (b as char, self.tab.ascii_class(b), i + 1);
        }
        self.at_wide(i)
    }

    /// [`Self::at`] for a char of two or more bytes (kept out of line, so
    /// the ASCII path stays small).
    #[inline(never)]
    fn at_wide(&self, i: usize) -> (char, u8, usize) {
        let c = self.t[i..].chars().next().expect("i is a char boundary");
        (c, self.tab.class(c), i + c.len_utf8())
    }

    /// Like [`Self::at`], `None` at the end of the text.
    #[inline]
    fn peek(&self, i: usize) -> Option<(char, u8, usize)> {
        (i < self.t.len()).then(|| self.at(i))
    }

    #[inline]
    fn next(&self, i: usize) -> usize {
        self.at(i).2
    }

    /// End of the maximal run, from `i`, of chars with any bit of `mask`:
    /// ASCII bytes a table lookup each, other chars decoded.
    #[inline]
    fn run(&self, mut i: usize, mask: u8) -> usize {
        let bytes = self.t.as_bytes();
        loop {
            while let Some(&b) = bytes.get(i) {
                if b >= 0x80 || self.tab.ascii_class(b) & mask == 0 {
                    break;
                }
                i += 1;
            }
            match bytes.get(i) {
                Some(&b) if b >= 0x80 => {
                    let (_, k, next) = self.at_wide(i);
                    if k & mask == 0 {
                        return i;
                    }
                    i = next;
                }
                _ => return i,
            }
        }
    }

    /// End of the maximal run, from `i`, of `[^\s\p{L}\p{N}]`.
    #[inline]
    fn run_punct(&self, mut i: usize) -> usize {
        while let Some((_, k, n)) = self.peek(i) {
            if !is_punct(k) {
                break;
            }
            i = n;
        }
        i
    }

    /// End of the maximal run, from `i`, of ASCII bytes in `set`.
    #[inline]
    fn run_bytes(&self, mut i: usize, set: &[u8]) -> usize {
        let bytes = self.t.as_bytes();
        while i < bytes.len() && set.contains(&bytes[i]) {
            i += 1;
        }
        i
    }

    /// `\p{N}{1,max}` at `i` (the char at `i` is known to be a number).
    fn digits(&self, i: usize, max: usize) -> usize {
        let mut end = i;
        for _ in 0..max {
            match self.peek(end) {
                Some((_, k, n)) if k & N != 0 => end = n,
                _ => break,
            }
        }
        end
    }

    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)` at `i`.
    fn contraction(&self, i: usize) -> Option<usize> {
        let (c0, _, i1) = self.peek(i)?;
        if c0 != '\'' {
            return None;
        }
        let (c1, _, i2) = self.peek(i1)?;
        let f = |c, l| self.tab.folds_to(c, l);
        if f(c1, 's') || f(c1, 't') || f(c1, 'm') || f(c1, 'd') {
            return Some(i2);
        }
        let second = match () {
            _ if f(c1, 'r') || f(c1, 'v') => 'e',
            _ if f(c1, 'l') => 'l',
            _ => return None,
        };
        let (c2, _, i3) = self.peek(i2)?;
        f(c2, second).then_some(i3)
    }

    /// The three whitespace branches `\s*[\r\n]+|\s+(?!\S)|\s+` at `i`
    /// (the char at `i` is known to be whitespace).
    fn whitespace(&self, i: usize) -> usize {
        let mut last_nl_end = None;
        let mut last_start = i;
        let mut chars = 0usize;
        let mut end = i;
        while let Some((c, k, n)) = self.peek(end) {
            if k & WS == 0 {
                break;
            }
            if c == '\r' || c == '\n' {
                last_nl_end = Some(n);
            }
            last_start = end;
            chars += 1;
            end = n;
        }
        if let Some(nl_end) = last_nl_end {
            nl_end
        } else if end == self.t.len() || chars == 1 {
            end
        } else {
            last_start
        }
    }

    /// One match of [`LLAMA3_REGEX`] starting exactly at `i`, or of
    /// [`QWEN_REGEX`] with `max_digits` 1.
    fn llama3(&self, i: usize, max_digits: usize) -> Option<usize> {
        let (c0, k0, i1) = self.at(i);
        if c0 == '\'' {
            if let Some(end) = self.contraction(i) {
                return Some(end);
            }
        }
        if k0 & L != 0 {
            return Some(self.run(i1, L));
        }
        let next = self.peek(i1);
        if is_prefix(c0, k0) {
            if let Some((_, k1, i2)) = next {
                if k1 & L != 0 {
                    return Some(self.run(i2, L));
                }
            }
        }
        if k0 & N != 0 {
            return Some(self.digits(i, max_digits));
        }
        self.punct_or_space(i, (c0, k0, i1), next, b"\r\n")
    }

    /// ` ?[^\s\p{L}\p{N}]+[<tail>]*` then the whitespace branches, at `i`.
    fn punct_or_space(
        &self,
        i: usize,
        (c0, k0, i1): (char, u8, usize),
        next: Option<(char, u8, usize)>,
        tail: &[u8],
    ) -> Option<usize> {
        if c0 == ' ' {
            if let Some((_, k1, i2)) = next {
                if is_punct(k1) {
                    return Some(self.run_bytes(self.run_punct(i2), tail));
                }
            }
        }
        if is_punct(k0) {
            return Some(self.run_bytes(self.run_punct(i1), tail));
        }
        if k0 & WS != 0 {
            return Some(self.whitespace(i));
        }
        None
    }

    /// One match of [`O200K_REGEX`] starting exactly at `i`.
    fn o200k(&self, i: usize) -> Option<usize> {
        let (c0, k0, i1) = self.at(i);
        let prefix = is_prefix(c0, k0);
        let body = |s| self.o200k_lower_body(s);
        if let Some(end) = prefix.then(|| body(i1)).flatten().or_else(|| body(i)) {
            return Some(self.contraction(end).unwrap_or(end));
        }
        let body = |s| self.o200k_upper_body(s);
        if let Some(end) = prefix.then(|| body(i1)).flatten().or_else(|| body(i)) {
            return Some(self.contraction(end).unwrap_or(end));
        }
        if k0 & N != 0 {
            return Some(self.digits(i, 3));
        }
        self.punct_or_space(i, (c0, k0, i1), self.peek(i1), b"\r\n/")
    }

    /// `[UP]*[LO]+` at `s`, with the greedy star giving back chars until
    /// the plus can match.
    fn o200k_lower_body(&self, s: usize) -> Option<usize> {
        let mut last_lo = None;
        let mut u = s;
        while let Some((_, k, n)) = self.peek(u) {
            if k & UP == 0 {
                break;
            }
            if k & LO != 0 {
                last_lo = Some(u);
            }
            u = n;
        }
        let start = match self.peek(u) {
            Some((_, k, _)) if k & LO != 0 => u,
            _ => last_lo?,
        };
        Some(self.run(start, LO))
    }

    /// `[UP]+[LO]*` at `s`.
    fn o200k_upper_body(&self, s: usize) -> Option<usize> {
        let (_, k, n) = self.peek(s)?;
        if k & UP == 0 {
            return None;
        }
        Some(self.run(self.run(n, UP), LO))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(flavor: Flavor, text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        split(flavor, text, |p| out.push(&text[p]));
        out
    }

    #[test]
    fn llama3_pieces() {
        let got = pieces(
            Flavor::Llama3,
            "Hello world's 12345  \n\n  x!!\n 'ſup\u{a0}ok",
        );
        let want = [
            "Hello", " world", "'s", " ", "123", "45", "  \n\n", " ", " x", "!!\n", " '", "ſup",
            "\u{a0}ok",
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn qwen_pieces_take_single_digits() {
        let got = pieces(Flavor::Qwen, "Hello world's 12345  \n\n x!!");
        let want = [
            "Hello", " world", "'s", " ", "1", "2", "3", "4", "5", "  \n\n", " x", "!!",
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn o200k_pieces() {
        let got = pieces(Flavor::O200k, "HelloWORLDWide they're a/\n/b  ");
        let want = ["Hello", "WORLDWide", " they're", " a", "/\n/", "b", "  "];
        assert_eq!(got, want);
    }
}
