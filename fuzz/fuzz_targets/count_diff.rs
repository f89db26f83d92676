//! Fuzz target: `FastCounter` must count exactly what HF `tokenizers`
//! counts (`encode_fast(text, true).len()`) on arbitrary UTF-8, for every
//! fixture tokenizer family: the hand-written splitters (Llama 3, gpt-oss,
//! cl100k), the compiled split regexes (Qwen 3, DeepSeek V3) and the
//! SentencePiece path (Llama 2, Gemma 3).
#![no_main]

use std::sync::OnceLock;

use knowmix::tokenize::fast::FastCounter;
use knowmix::tokenize::TokenCount;
use libfuzzer_sys::fuzz_target;
use tokenizers::Tokenizer;

const FAMILIES: [&str; 7] = [
    "llama-3.1-instruct",
    "gpt-oss",
    "cl100k",
    "qwen3",
    "deepseek-v3",
    "llama2",
    "gemma3",
];

fn tokenizer_json(family: &str) -> Vec<u8> {
    let path = format!(
        "{}/../fixtures/tokenizers/{family}/tokenizer.json",
        env!("CARGO_MANIFEST_DIR")
    );
    match std::fs::read(&path) {
        Ok(json) => json,
        Err(_) => zstd::decode_all(std::fs::File::open(path + ".zst").expect("fixture"))
            .expect("fixture decompresses"),
    }
}

fn pairs() -> &'static [(Tokenizer, FastCounter)] {
    static PAIRS: OnceLock<Vec<(Tokenizer, FastCounter)>> = OnceLock::new();
    PAIRS.get_or_init(|| {
        FAMILIES
            .iter()
            .map(|family| {
                let json = tokenizer_json(family);
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
        assert_eq!(fast.count(text), expected, "{} text {text:?}", fast.describe());
    }
});
