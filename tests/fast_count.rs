//! Differential tests: `FastCounter` against HF `tokenizers`
//! (`encode_fast(text, true).len()`) on every fixture tokenizer family,
//! over a deterministic, seeded corpus of varied texts ([`corpus`]); the
//! compiled split regexes against `fancy-regex` ([`split_regex`]); plus
//! shape detection (unsupported `tokenizer.json`s give `Ok(None)`).
//!
//! Each family runs `KNOWMIX_DIFF_TEXTS` texts (default 20,000, so the
//! suite stays quick on two cores); TESTING.md records the 100,000-text run.

mod corpus;
mod split_reference;
mod split_regex;

use knowmix::tokenize::fast::{split, FastCounter};
use knowmix::tokenize::TokenCount;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokenizers::Tokenizer;

/// Texts per family unless `KNOWMIX_DIFF_TEXTS` says otherwise.
const DEFAULT_TEXTS: usize = 20_000;

fn texts() -> usize {
    std::env::var("KNOWMIX_DIFF_TEXTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_TEXTS)
}

/// The `tokenizer.json` of a fixture family (plain or `.zst`).
pub fn fixture_json(family: &str) -> Vec<u8> {
    let path = format!("fixtures/tokenizers/{family}/tokenizer.json");
    match std::fs::read(&path) {
        Ok(json) => json,
        Err(_) => {
            let packed = std::fs::File::open(format!("{path}.zst")).expect("fixture exists");
            zstd::decode_all(packed).expect("fixture decompresses")
        }
    }
}

fn hf_count(tok: &Tokenizer, text: &str) -> usize {
    tok.encode_fast(text, true).expect("HF encodes").len()
}

fn explain(tok: &Tokenizer, fast: &FastCounter, text: &str) -> String {
    let hf = tok.encode_fast(text, true).expect("HF encodes");
    format!(
        "text {text:?}\n  fast {}\n  hf {} tokens {:?}",
        fast.count(text),
        hf.len(),
        hf.get_tokens()
    )
}

/// `FastCounter` and HF on the same `json` over `texts` seeded texts, plus
/// a few fixed edge cases; panics with the first mismatches.
fn differential_json(name: &str, json: &[u8], seed: u64, texts: usize) {
    let hf = Tokenizer::from_bytes(json).expect("HF loads fixture");
    let fast = FastCounter::from_tokenizer_json(json)
        .expect("fixture parses")
        .expect("fixture is supported");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut failures = Vec::new();
    let mut bytes = 0;
    let fixed = [
        "",
        " ",
        "  ",
        "\n",
        "<|eot_id|>",
        "'ſ 'K 'S",
        "a  \u{a0}b",
        "x\r\n\r\n  y",
        "▁",
        " <s> </s>",
    ];
    let generated = (0..texts).map(|_| corpus::text(&mut rng));
    for text in fixed.iter().map(|s| s.to_string()).chain(generated) {
        bytes += text.len();
        if fast.count(&text) != hf_count(&hf, &text) {
            failures.push(explain(&hf, &fast, &text));
        }
    }
    eprintln!("{name} ({}): {texts} texts, {bytes} bytes", fast.describe());
    assert!(
        failures.is_empty(),
        "{name}: {} of {texts} texts ({bytes} bytes) differ; first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(8)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn differential(family: &str, seed: u64) {
    differential_json(family, &fixture_json(family), seed, texts());
}

#[test]
fn llama3_counts_match_hf() {
    differential("llama-3.1-instruct", 1);
}

#[test]
fn gpt_oss_counts_match_hf() {
    differential("gpt-oss", 2);
}

#[test]
fn qwen3_counts_match_hf() {
    differential("qwen3", 3);
}

#[test]
fn deepseek_v3_counts_match_hf() {
    differential("deepseek-v3", 4);
}

#[test]
fn cl100k_counts_match_hf() {
    differential("cl100k", 5);
}

#[test]
fn llama2_counts_match_hf() {
    differential("llama2", 6);
}

#[test]
fn gemma3_counts_match_hf() {
    differential("gemma3", 7);
}

/// The fast path on each family describes itself as the path it took.
#[test]
fn families_take_the_expected_path() {
    let want = [
        (
            "llama-3.1-instruct",
            "byte-level BPE, hand-written Llama 3 splitter",
        ),
        ("gpt-oss", "byte-level BPE, hand-written o200k splitter"),
        ("cl100k", "byte-level BPE, hand-written Llama 3 splitter"),
        ("qwen3", "byte-level BPE, hand-written Qwen splitter, NFC"),
        ("deepseek-v3", "byte-level BPE, 3 compiled split regexes"),
        ("llama2", "SentencePiece BPE (prepend ▁, byte fallback)"),
        ("gemma3", "SentencePiece BPE (byte fallback)"),
    ];
    for (family, describe) in want {
        let json = fixture_json(family);
        let fast = FastCounter::from_tokenizer_json(&json).unwrap().unwrap();
        assert_eq!(fast.describe(), describe, "{family}");
    }
}

/// Other split regexes on a real vocabulary: GPT-2's (StarCoder, Granite)
/// through the compiled path, Qwen's through its hand-written splitter,
/// and Qwen's and Llama 3's forced through the compiler (a second rule
/// that keeps every piece whole), each against HF on the same JSON.
#[test]
fn compiled_regexes_on_llama3_vocab_match_hf() {
    let base: serde_json::Value =
        serde_json::from_slice(&fixture_json("llama-3.1-instruct")).unwrap();
    let llama3 = split::LLAMA3_REGEX;
    let cases: [(&str, Vec<&str>); 4] = [
        ("gpt2", vec![split_reference::GPT2]),
        ("qwen", vec![split::QWEN_REGEX]),
        ("qwen compiled", vec![split::QWEN_REGEX, r"[\s\S]+"]),
        ("llama3 compiled", vec![llama3, r"[\s\S]+"]),
    ];
    for (i, (name, patterns)) in cases.into_iter().enumerate() {
        let mut json = base.clone();
        let byte_level = json["pre_tokenizer"]["pretokenizers"][1].clone();
        let mut list: Vec<serde_json::Value> = patterns
            .iter()
            .map(|p| {
                serde_json::json!({"type": "Split", "pattern": {"Regex": p},
                                        "behavior": "Isolated", "invert": false})
            })
            .collect();
        list.push(byte_level);
        json["pre_tokenizer"]["pretokenizers"] = list.into();
        let bytes = serde_json::to_vec(&json).unwrap();
        differential_json(name, &bytes, 10 + i as u64, texts() / 4);
    }
}

/// A small byte-level BPE `tokenizer.json` in the Llama 3 shape, with
/// `edit` applied to its JSON value.
fn tiny_json(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let b2c = knowmix::tokenize::fast::bpe::byte_to_char();
    let mut vocab = serde_json::Map::new();
    for (i, c) in b2c.iter().enumerate() {
        vocab.insert(c.to_string(), i.into());
    }
    for (i, t) in [
        "he", "ll", "hell", "hello", "Ġw", "or", "ld", "orld", "Ġworld", "\"h", "\\\\",
    ]
    .iter()
    .enumerate()
    {
        vocab.insert(t.to_string(), (256 + i).into());
    }
    let mut json = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null,
        "added_tokens": [{"id": 300, "content": "<|eot_id|>", "single_word": false, "lstrip": false,
                          "rstrip": false, "normalized": false, "special": true},
                         {"id": 301, "content": "<|bos|>", "single_word": false, "lstrip": false,
                          "rstrip": false, "normalized": false, "special": true}],
        "normalizer": null,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": split::LLAMA3_REGEX}, "behavior": "Isolated", "invert": false},
            {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]},
        "post_processor": {"type": "Sequence", "processors": [
            {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
            {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": "<|bos|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
             "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
             "special_tokens": {"<|bos|>": {"id": "<|bos|>", "ids": [301], "tokens": ["<|bos|>"]}}}]},
        "decoder": null,
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                  "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                  "vocab": vocab, "merges": ["h e", "l l", "he ll", "hell o", "Ġ w", "o r", "l d", "or ld", "Ġw orld", "\" h", "\\ \\"]}
    });
    edit(&mut json);
    serde_json::to_vec(&json).unwrap()
}

#[test]
fn tiny_tokenizer_matches_hf_with_and_without_ignore_merges() {
    for ignore in [false, true] {
        let json = tiny_json(|j| j["model"]["ignore_merges"] = ignore.into());
        let hf = Tokenizer::from_bytes(&json).unwrap();
        let fast = FastCounter::from_tokenizer_json(&json).unwrap().unwrap();
        for text in [
            "hello world",
            "hello<|eot_id|>hell",
            " world worlds",
            "",
            "ħello",
        ] {
            assert_eq!(
                fast.count(text),
                hf_count(&hf, text),
                "{text:?} ignore_merges={ignore}"
            );
        }
    }
}

/// With no normalizer, `normalized` added tokens are matched in a second
/// pass over what the raw ones leave, as HF does.
#[test]
fn normalized_added_tokens_match_hf() {
    let json = tiny_json(|j| {
        j["added_tokens"][0]["normalized"] = true.into();
        j["added_tokens"][0]["content"] = "llo<|bos|".into();
    });
    let hf = Tokenizer::from_bytes(&json).unwrap();
    let fast = FastCounter::from_tokenizer_json(&json).unwrap().unwrap();
    for text in ["hello<|bos|>", "hello<|bos|", "llo<|bos|llo<|bos|>", ""] {
        assert_eq!(fast.count(text), hf_count(&hf, text), "{text:?}");
    }
}

/// Merges as `[a, b]` pairs, and a `#version` header on string merges:
/// both shapes HF reads, with tokens that need JSON escapes.
#[test]
fn merge_shapes_and_escaped_tokens_match_hf() {
    type Edit = fn(&mut serde_json::Value);
    let as_pairs: Edit = |j| {
        let pairs: Vec<serde_json::Value> = j["model"]["merges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let (a, b) = m.as_str().unwrap().split_once(' ').unwrap();
                serde_json::json!([a, b])
            })
            .collect();
        j["model"]["merges"] = pairs.into();
    };
    let versioned: Edit = |j| {
        j["model"]["merges"]
            .as_array_mut()
            .unwrap()
            .insert(0, "#version: 0.2".into())
    };
    for edit in [as_pairs, versioned] {
        let json = tiny_json(edit);
        let hf = Tokenizer::from_bytes(&json).unwrap();
        let fast = FastCounter::from_tokenizer_json(&json).unwrap().unwrap();
        for text in ["hello world", "\"hello\\\\\"", "\\\\\\"] {
            assert_eq!(fast.count(text), hf_count(&hf, text), "{text:?}");
        }
    }
}

#[test]
fn unsupported_shapes_are_none() {
    type Edit = fn(&mut serde_json::Value);
    let edits: &[(&str, Edit)] = &[
        ("normalizer", |j| {
            j["normalizer"] = serde_json::json!({"type": "NFKC"})
        }),
        ("look-behind regex", |j| {
            j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(?<=a)b|\\s+".into()
        }),
        ("regex matching empty", |j| {
            j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\s*".into()
        }),
        ("metaspace", |j| {
            j["pre_tokenizer"] = serde_json::json!({"type": "Metaspace", "replacement": "▁",
                "prepend_scheme": "always", "split": true})
        }),
        ("byte fallback on byte-level", |j| {
            j["model"]["byte_fallback"] = true.into()
        }),
        ("normalized token with NFC", |j| {
            j["normalizer"] = serde_json::json!({"type": "NFC"});
            j["added_tokens"][0]["normalized"] = true.into();
        }),
        ("string pattern", |j| {
            j["pre_tokenizer"]["pretokenizers"][0]["pattern"] = serde_json::json!({"String": " "})
        }),
        ("split behavior", |j| {
            j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Removed".into()
        }),
        ("byte-level regex", |j| {
            j["pre_tokenizer"]["pretokenizers"][1]["use_regex"] = true.into()
        }),
        ("prefix space", |j| {
            j["pre_tokenizer"]["pretokenizers"][1]["add_prefix_space"] = true.into()
        }),
        ("bert post", |j| {
            j["post_processor"] = serde_json::json!({"type": "BertProcessing"})
        }),
        ("lstrip", |j| j["added_tokens"][0]["lstrip"] = true.into()),
        ("single_word", |j| {
            j["added_tokens"][0]["single_word"] = true.into()
        }),
        ("unk", |j| j["model"]["unk_token"] = "h".into()),
        ("dropout", |j| j["model"]["dropout"] = 0.1.into()),
        ("wordpiece", |j| j["model"]["type"] = "WordPiece".into()),
        ("unigram", |j| {
            j["model"] = serde_json::json!({"type": "Unigram", "unk_id": 0,
                "vocab": [["<unk>", 0.0], ["h", -1.5]], "byte_fallback": false})
        }),
        ("padding", |j| {
            j["padding"] = serde_json::json!({"strategy": "BatchLongest"})
        }),
    ];
    for (name, edit) in edits {
        let json = tiny_json(edit);
        assert!(
            FastCounter::from_tokenizer_json(&json).unwrap().is_none(),
            "{name} should be unsupported"
        );
    }
    assert!(FastCounter::from_tokenizer_json(b"not json").is_err());
    let broken = tiny_json(|j| j["model"]["merges"][0] = "h x".into());
    assert!(Tokenizer::from_bytes(&broken).is_err());
    assert!(FastCounter::from_tokenizer_json(&broken).is_err());
}
