//! Fuzz target: `FastCounter` must count exactly what HF `tokenizers`
//! counts (`encode_fast(text, true).len()`) on arbitrary UTF-8, for both
//! fixture tokenizers (Llama 3.1 and gpt-oss).
#![no_main]

use std::sync::OnceLock;

use knowmix::tokenize::fast::FastCounter;
use knowmix::tokenize::TokenCount;
use libfuzzer_sys::fuzz_target;
use tokenizers::Tokenizer;

const FIXTURES: [&str; 2] = [
    concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/tokenizers/llama-3.1-instruct/tokenizer.json"),
    concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/tokenizers/gpt-oss/tokenizer.json"),
];

fn pairs() -> &'static [(Tokenizer, FastCounter)] {
    static PAIRS: OnceLock<Vec<(Tokenizer, FastCounter)>> = OnceLock::new();
    PAIRS.get_or_init(|| {
        FIXTURES
            .iter()
            .map(|path| {
                let json = std::fs::read(path).expect("fixture tokenizer");
                let hf = Tokenizer::from_bytes(&json).expect("HF loads");
                let fast = FastCounter::from_tokenizer_json(&json).unwrap().expect("supported");
                (hf, fast)
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for (hf, fast) in pairs() {
        let expected = hf.encode_fast(text, true).expect("HF encodes").len();
        assert_eq!(fast.count(text), expected, "text {text:?}");
    }
});
