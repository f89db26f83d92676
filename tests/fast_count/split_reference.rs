//! The split-regex harness shared by the differential test
//! (`tests/fast_count/split_regex.rs`) and the fuzz target
//! (`fuzz/fuzz_targets/split_diff.rs`, which includes this file by path):
//! the regex sets under test, HF's `Split(Isolated)` chain run with
//! `fancy-regex` (the engine HF `tokenizers` uses), and the pieces of the
//! same text from the compiled [`RegexChain`] and, for a regex a
//! hand-written splitter knows, from that splitter.

use fancy_regex::Regex;
use knowmix::tokenize::fast::regex_split::RegexChain;
use knowmix::tokenize::fast::shape::SplitRule;
use knowmix::tokenize::fast::split::{self, Flavor, LLAMA3_REGEX, O200K_REGEX, QWEN_REGEX};

/// GPT-2's split regex (StarCoder, Granite, ByteLevel's `use_regex`).
pub const GPT2: &str =
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
/// DeepSeek V3's three split regexes, applied in turn.
pub const DEEPSEEK: [&str; 3] = [
    r"\p{N}{1,3}",
    "[\u{4e00}-\u{9fa5}\u{3040}-\u{309f}\u{30a0}-\u{30ff}]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
];

/// The regex chains under test, by name: the fixture families', GPT-2's,
/// and patterns that leave text between matches (with and without the
/// whitespace look-ahead).
pub const CASES: [(&str, &[&str]); 7] = [
    ("llama3", &[LLAMA3_REGEX]),
    ("o200k", &[O200K_REGEX]),
    ("qwen", &[QWEN_REGEX]),
    ("gpt2", &[GPT2]),
    ("deepseek", &DEEPSEEK),
    ("gaps", &[r"\p{L}+|\s+(?!\S)|\s+"]),
    ("gaps, chained", &[r"\p{N}+", r"[a-z]{2}|\s+(?!\S)|\s+"]),
];

/// One chain both ways: compiled (and hand-written, if one knows it), and
/// as `fancy-regex`es.
pub struct Pair {
    pub compiled: RegexChain,
    pub hand: Option<Flavor>,
    pub fancy: Vec<Regex>,
}

impl Pair {
    /// Compiles `patterns` (each a `Split(Isolated)` rule) both ways.
    pub fn new(patterns: &[&str]) -> Pair {
        let rules: Vec<SplitRule> = patterns.iter().map(|p| SplitRule::isolated(p)).collect();
        Pair {
            compiled: RegexChain::new(&rules).expect("pattern compiles"),
            hand: match patterns {
                [only] => Flavor::from_regex(only),
                _ => None,
            },
            fancy: patterns.iter().map(|p| Regex::new(p).unwrap()).collect(),
        }
    }

    /// The compiled chain's pieces of `text`.
    pub fn compiled_pieces(&self, text: &str) -> Vec<String> {
        let mut got = Vec::new();
        self.compiled.split(text, |r| got.push(text[r].to_owned()));
        got
    }

    /// The hand-written splitter's pieces of `text`, if one knows the regex.
    pub fn hand_pieces(&self, text: &str) -> Option<Vec<String>> {
        let mut got = Vec::new();
        split::split(self.hand?, text, |r| got.push(text[r].to_owned()));
        Some(got)
    }

    /// HF's pieces of `text`: every piece of one regex split by the next,
    /// matches and gaps alike. `Err` on `fancy-regex`'s backtrack limit
    /// (HF then stops splitting there).
    pub fn reference_pieces(&self, text: &str) -> Result<Vec<String>, fancy_regex::Error> {
        let mut pieces = vec![text.to_owned()];
        for re in &self.fancy {
            let mut next = Vec::new();
            for piece in &pieces {
                let mut prev = 0;
                for m in re.find_iter(piece) {
                    let m = m?;
                    if prev != m.start() {
                        next.push(piece[prev..m.start()].to_owned());
                    }
                    next.push(m.as_str().to_owned());
                    prev = m.end();
                }
                if prev != piece.len() {
                    next.push(piece[prev..].to_owned());
                }
            }
            pieces = next;
        }
        Ok(pieces)
    }
}
