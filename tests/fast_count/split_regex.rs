//! The compiled split regexes ([`RegexChain`]) and the hand-written
//! splitters against `fancy-regex`, the engine HF `tokenizers` runs them
//! with: the same pieces (matches and the text between them) on the varied
//! corpus, for every chain in [`CASES`] (harness shared with the fuzz
//! target: [`super::split_reference`]).
//!
//! [`RegexChain`]: knowmix::tokenize::fast::regex_split::RegexChain

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::split_reference::{Pair, CASES};

fn same_pieces(name: &str, patterns: &[&str], seed: u64) {
    let pair = Pair::new(patterns);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut failures = Vec::new();
    let n = super::texts();
    for _ in 0..n {
        let text = super::corpus::text(&mut rng);
        let got = pair.compiled_pieces(&text);
        let want = pair
            .reference_pieces(&text)
            .expect("no backtrack limit on the corpus");
        if got != want {
            failures.push(format!("{text:?}\n  compiled {got:?}\n  fancy    {want:?}"));
        }
        if let Some(hand) = pair.hand_pieces(&text).filter(|hand| *hand != want) {
            failures.push(format!("{text:?}\n  hand  {hand:?}\n  fancy {want:?}"));
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
    for (i, (name, patterns)) in CASES.into_iter().enumerate() {
        same_pieces(name, patterns, 100 + i as u64);
    }
}
