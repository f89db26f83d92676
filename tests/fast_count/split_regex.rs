//! The compiled split regexes ([`RegexChain`]) against `fancy-regex`, the
//! engine HF `tokenizers` runs them with: the same pieces (matches and the
//! text between them) on the varied corpus, for the split regexes of the
//! fixture families, GPT-2's, and patterns that leave gaps.

use fancy_regex::Regex;
use knowmix::tokenize::fast::regex_split::RegexChain;
use knowmix::tokenize::fast::shape::SplitRule;
use knowmix::tokenize::fast::split::{LLAMA3_REGEX, O200K_REGEX};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// GPT-2's split regex (StarCoder, Granite, ByteLevel's `use_regex`).
pub const GPT2: &str =
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
/// Qwen 2.5 / Qwen 3's split regex.
pub const QWEN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// DeepSeek V3's three split regexes, applied in turn.
pub const DEEPSEEK: [&str; 3] = [
    r"\p{N}{1,3}",
    "[\u{4e00}-\u{9fa5}\u{3040}-\u{309f}\u{30a0}-\u{30ff}]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
];

/// HF's `Split(Isolated)` over a chain: every piece of one regex split by
/// the next, matches and gaps alike.
fn reference(regexes: &[Regex], text: &str) -> Vec<String> {
    let mut pieces = vec![text.to_owned()];
    for re in regexes {
        let mut next = Vec::new();
        for piece in &pieces {
            let mut prev = 0;
            for m in re.find_iter(piece) {
                let m = m.expect("no backtrack limit on the corpus");
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
    pieces
}

fn compiled(patterns: &[&str]) -> RegexChain {
    let rules: Vec<SplitRule> = patterns
        .iter()
        .map(|p| SplitRule {
            pattern: (*p).to_owned(),
            keep_gaps: true,
        })
        .collect();
    RegexChain::new(&rules).expect("pattern compiles")
}

fn same_pieces(name: &str, patterns: &[&str], seed: u64) {
    let chain = compiled(patterns);
    let regexes: Vec<Regex> = patterns.iter().map(|p| Regex::new(p).unwrap()).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut failures = Vec::new();
    let n = super::texts();
    for _ in 0..n {
        let text = super::corpus::text(&mut rng);
        let mut got = Vec::new();
        chain.split(&text, |r| got.push(text[r].to_owned()));
        let want = reference(&regexes, &text);
        if got != want {
            failures.push(format!("{text:?}\n  compiled {got:?}\n  fancy    {want:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{name}: {} of {n} texts split differently:\n{}",
        failures.len(),
        failures[..failures.len().min(5)].join("\n")
    );
}

#[test]
fn compiled_splits_match_fancy_regex() {
    let cases: [(&str, &[&str]); 7] = [
        ("llama3", &[LLAMA3_REGEX]),
        ("o200k", &[O200K_REGEX]),
        ("qwen", &[QWEN]),
        ("gpt2", &[GPT2]),
        ("deepseek", &DEEPSEEK),
        // Regexes that leave text between matches, with and without the
        // whitespace look-ahead.
        ("gaps", &[r"\p{L}+|\s+(?!\S)|\s+"]),
        ("gaps, chained", &[r"\p{N}+", r"[a-z]{2}|\s+(?!\S)|\s+"]),
    ];
    for (i, (name, patterns)) in cases.into_iter().enumerate() {
        same_pieces(name, patterns, 100 + i as u64);
    }
}
