//! Fuzz target: the compiled split regexes (`RegexChain`, a lazy DFA with
//! the `\s+(?!\S)` look-ahead emulated) must cut arbitrary UTF-8 into
//! exactly the pieces `fancy-regex` (HF `tokenizers`' engine) gives, for
//! the split regexes of the fixture families and GPT-2's.
#![no_main]

use std::sync::OnceLock;

use fancy_regex::Regex;
use knowmix::tokenize::fast::regex_split::RegexChain;
use knowmix::tokenize::fast::shape::SplitRule;
use knowmix::tokenize::fast::split::{LLAMA3_REGEX, O200K_REGEX};
use libfuzzer_sys::fuzz_target;

const GPT2: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
const QWEN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const DEEPSEEK: [&str; 3] = [
    r"\p{N}{1,3}",
    "[\u{4e00}-\u{9fa5}\u{3040}-\u{309f}\u{30a0}-\u{30ff}]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
];

fn chains() -> &'static [(RegexChain, Vec<Regex>)] {
    static CHAINS: OnceLock<Vec<(RegexChain, Vec<Regex>)>> = OnceLock::new();
    CHAINS.get_or_init(|| {
        let sets: [&[&str]; 5] = [&[LLAMA3_REGEX], &[O200K_REGEX], &[QWEN], &[GPT2], &DEEPSEEK];
        sets.iter()
            .map(|patterns| {
                let rules: Vec<SplitRule> = patterns
                    .iter()
                    .map(|p| SplitRule { pattern: (*p).to_owned(), keep_gaps: true })
                    .collect();
                let chain = RegexChain::new(&rules).expect("compiles");
                (chain, patterns.iter().map(|p| Regex::new(p).unwrap()).collect())
            })
            .collect()
    })
}

/// HF's `Split(Isolated)` chain: matches and the text between them.
fn reference(regexes: &[Regex], text: &str) -> Option<Vec<String>> {
    let mut pieces = vec![text.to_owned()];
    for re in regexes {
        let mut next = Vec::new();
        for piece in &pieces {
            let mut prev = 0;
            for m in re.find_iter(piece) {
                // A backtrack-limit error: HF stops splitting there; skip.
                let m = m.ok()?;
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
    Some(pieces)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for (chain, regexes) in chains() {
        let Some(want) = reference(regexes, text) else {
            continue;
        };
        let mut got = Vec::new();
        chain.split(text, |r| got.push(text[r].to_owned()));
        assert_eq!(got, want, "text {text:?}");
    }
});
