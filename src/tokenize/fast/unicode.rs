//! Unicode character classes for the splitter, built once from
//! `regex-syntax`'s own tables so they agree exactly with the classes the
//! `regex`/`fancy-regex` engines use inside HF `tokenizers` (`\p{L}`,
//! `\p{N}`, `\s`, the o200k letter-case groups and the case-folding sets of
//! the `(?i:'s|'t|...)` contractions). Lookup is a two-level table: 4352
//! block indices into deduplicated 256-entry blocks of class bits, with a
//! direct table for ASCII.

use std::collections::HashMap;
use std::sync::OnceLock;

use regex_syntax::hir::{Class, HirKind};

/// `\p{L}`: any letter.
pub const L: u8 = 1;
/// `\p{N}`: any number.
pub const N: u8 = 2;
/// `\s`: Unicode `White_Space`.
pub const WS: u8 = 4;
/// o200k's `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]` (upper-ish letters and marks).
pub const UP: u8 = 8;
/// o200k's `[\p{Ll}\p{Lm}\p{Lo}\p{M}]` (lower-ish letters and marks).
pub const LO: u8 = 16;

/// Class bits of every code point, plus the contraction fold sets.
pub struct Tables {
    ascii: [u8; 128],
    index: Vec<u16>,
    blocks: Vec<[u8; 256]>,
    folds: [(char, Vec<char>); 8],
}

impl Tables {
    /// The shared tables, built on first use (a few milliseconds).
    pub fn get() -> &'static Tables {
        static TABLES: OnceLock<Tables> = OnceLock::new();
        TABLES.get_or_init(Tables::build)
    }

    /// The class bits of the ASCII byte `b` (which must be < 0x80).
    #[inline]
    pub fn ascii_class(&self, b: u8) -> u8 {
        self.ascii[usize::from(b & 0x7f)]
    }

    /// The class bits of `c`.
    #[inline]
    pub fn class(&self, c: char) -> u8 {
        let cp = c as usize;
        if cp < 128 {
            self.ascii[cp]
        } else {
            self.blocks[self.index[cp >> 8] as usize][cp & 0xff]
        }
    }

    /// Whether `c` matches the ASCII letter `lower` under the regex crate's
    /// case-insensitive (simple case folding) semantics, e.g. `ſ` for `s`.
    #[inline]
    pub fn folds_to(&self, c: char, lower: char) -> bool {
        self.folds
            .iter()
            .find(|(l, _)| *l == lower)
            .is_some_and(|(_, set)| set.contains(&c))
    }

    fn build() -> Tables {
        let mut flat = vec![0u8; 0x110000];
        let groups: [(&str, u8); 5] = [
            (r"\p{L}", L),
            (r"\p{N}", N),
            (r"\s", WS),
            (r"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]", UP),
            (r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]", LO),
        ];
        for (pattern, bit) in groups {
            for (lo, hi) in class_ranges(pattern) {
                for cp in lo..=hi {
                    flat[cp as usize] |= bit;
                }
            }
        }
        let mut ascii = [0u8; 128];
        ascii.copy_from_slice(&flat[..128]);
        let mut seen: HashMap<[u8; 256], u16> = HashMap::new();
        let mut blocks = Vec::new();
        let index = flat
            .chunks_exact(256)
            .map(|chunk| {
                let block: [u8; 256] = chunk.try_into().expect("256-entry chunk");
                *seen.entry(block).or_insert_with(|| {
                    blocks.push(block);
                    (blocks.len() - 1) as u16
                })
            })
            .collect();
        let folds = ['s', 't', 'r', 'e', 'v', 'm', 'l', 'd'].map(|l| (l, fold_set(l)));
        Tables {
            ascii,
            index,
            blocks,
            folds,
        }
    }
}

/// The code point ranges of a single-class pattern, per `regex-syntax`.
fn class_ranges(pattern: &str) -> Vec<(u32, u32)> {
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(true)
        .build()
        .parse(pattern)
        .expect("built-in class pattern parses");
    match hir.kind() {
        HirKind::Class(Class::Unicode(cls)) => cls
            .ranges()
            .iter()
            .map(|r| (r.start() as u32, r.end() as u32))
            .collect(),
        other => panic!("pattern {pattern} is not a Unicode class: {other:?}"),
    }
}

/// Every char `(?i:x)` matches for the ASCII letter `x`.
fn fold_set(lower: char) -> Vec<char> {
    let ranges = class_ranges(&format!("(?i:[{lower}])"));
    ranges
        .into_iter()
        .flat_map(|(lo, hi)| (lo..=hi).filter_map(char::from_u32))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_of_known_chars() {
        let t = Tables::get();
        assert_eq!(t.class('a'), L | LO);
        assert_eq!(t.class('A'), L | UP);
        assert_eq!(t.class('7'), N);
        assert_eq!(t.class('Ⅻ'), N);
        assert_eq!(t.class('²'), N);
        assert_eq!(t.class(' '), WS);
        assert_eq!(t.class('\u{3000}'), WS);
        assert_eq!(t.class('\u{85}'), WS);
        assert_eq!(t.class('\u{200B}'), 0);
        assert_eq!(t.class('\u{301}'), UP | LO);
        assert_eq!(t.class('中'), L | UP | LO);
        assert_eq!(t.class('!'), 0);
    }

    #[test]
    fn contraction_folds() {
        let t = Tables::get();
        assert!(t.folds_to('ſ', 's'));
        assert!(t.folds_to('S', 's'));
        assert!(!t.folds_to('K', 's'));
        assert!(t.folds_to('T', 't'));
        assert!(!t.folds_to('x', 't'));
    }
}
