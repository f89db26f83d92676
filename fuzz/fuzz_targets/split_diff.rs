//! Fuzz target: the compiled split regexes (`RegexChain`, a lazy DFA with
//! the `\s+(?!\S)` look-ahead emulated) and the hand-written splitters
//! (Llama 3, Qwen, o200k) must cut arbitrary UTF-8 into exactly the
//! pieces `fancy-regex` (HF `tokenizers`' engine) gives, for
//! every chain the differential test checks (the harness is that test's,
//! included by path).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/fast_count/split_reference.rs"]
mod split_reference;

use split_reference::{Pair, CASES};

fn pairs() -> &'static [Pair] {
    static PAIRS: OnceLock<Vec<Pair>> = OnceLock::new();
    PAIRS.get_or_init(|| {
        CASES
            .iter()
            .map(|(_, patterns)| Pair::new(patterns))
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for pair in pairs() {
        // A backtrack-limit error: HF stops splitting there; skip.
        let Ok(want) = pair.reference_pieces(text) else {
            continue;
        };
        assert_eq!(pair.compiled_pieces(text), want, "text {text:?}");
        if let Some(hand) = pair.hand_pieces(text) {
            assert_eq!(hand, want, "hand-written, text {text:?}");
        }
    }
});
