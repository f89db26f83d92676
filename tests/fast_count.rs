//! Differential tests: `FastCounter` against HF `tokenizers`
//! (`encode_fast(text, true).len()`) on the fixture tokenizers, over a
//! deterministic, seeded corpus of varied texts, plus shape detection
//! (unsupported `tokenizer.json`s give `Ok(None)`).

use knowmix::tokenize::fast::{split, FastCounter};
use knowmix::tokenize::TokenCount;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokenizers::Tokenizer;

const LLAMA: &str = "fixtures/tokenizers/llama-3.1-instruct/tokenizer.json";
const GPT_OSS: &str = "fixtures/tokenizers/gpt-oss/tokenizer.json";
const TEXTS: usize = 100_000;

const PROSE: &[&[&str]] = &[
    &[
        "The", "quick", "brown", "fox", "isn't", "what", "we'll", "say", "they're", "I'm",
        "you've", "HE'D", "Don't", "it's", "data", "model", "tokens", "e-mail", "U.S.A.", "naïve",
        "café",
    ],
    &[
        "l'homme",
        "aujourd'hui",
        "français",
        "être",
        "où",
        "ça",
        "déjà",
        "Noël",
        "cœur",
        "qu'il",
    ],
    &[
        "Straße",
        "Grüße",
        "Übermäßig",
        "ÄÖÜ",
        "Maß",
        "Fußball",
        "größer",
    ],
    &["¿Qué", "tal?", "¡Hola!", "niño", "año", "mañana", "Señor"],
    &["İstanbul", "ılık", "ŞEHİR", "ağaç", "İİ", "ığdır"],
    &[
        "Привет",
        "мир",
        "Москва",
        "ЁЛКА",
        "съешь",
        "ещё",
        "этих",
        "мягких",
    ],
    &["Καλημέρα", "κόσμε", "ΑΘΗΝΑ", "ς", "ΣΊΣΥΦΟΣ", "ἀρχή"],
    &[
        "你好", "世界", "中文", "分词", "测试", "。", "，", "的", "模型",
    ],
    &["こんにちは", "カタカナ", "日本語", "です", "ｶﾀｶﾅ", "ー"],
    &["مرحبا", "بالعالم", "العربية", "٣٤٥", "كتاب", "ـ"],
    &["שָׁלוֹם", "עולם", "עברית", "ספר"],
    &["नमस्ते", "दुनिया", "हिन्दी", "१२३", "क्षत्रिय"],
    &["สวัสดี", "ภาษาไทย", "ครับ", "๑๒๓"],
    &["안녕하세요", "세계", "한국어", "ᄀᄁ", "ㅋㅋㅋ"],
];

const TRICKY: &[&str] = &[
    "'",
    "'",
    "s",
    "S",
    "ſ",
    "t",
    "T",
    "re",
    "RE",
    "rE",
    "ve",
    "VE",
    "m",
    "M",
    "ll",
    "LL",
    "lL",
    "d",
    "D",
    "K",
    "k",
    "K",
    "İ",
    "ı",
    "ǅ",
    "ʰ",
    "ß",
    "ẞ",
    "0",
    "7",
    "42",
    "٣",
    "५",
    "Ⅻ",
    "²",
    "½",
    "𝟘",
    " ",
    " ",
    " ",
    "  ",
    "\u{a0}",
    "\u{2000}",
    "\u{2003}",
    "\u{200a}",
    "\u{3000}",
    "\u{85}",
    "\u{1680}",
    "\u{2028}",
    "\u{2029}",
    "\u{202f}",
    "\u{205f}",
    "\u{200b}",
    "\u{feff}",
    "\r\n",
    "\r",
    "\n",
    "\n\n",
    "\t",
    "\u{b}",
    "\u{c}",
    "\u{301}",
    "\u{308}",
    "\u{93f}",
    "\u{e34}",
    "👨\u{200d}👩\u{200d}👧",
    "😀",
    "🇫🇷",
    "!",
    ".",
    ",",
    "/",
    "//",
    "-",
    "(",
    ")",
    "«",
    "»",
    "…",
    "—",
    "$",
    "€",
    "\"",
    "`",
    "<",
    ">",
    "|",
    "_",
    "a",
    "Z",
    "é",
    "É",
    "ω",
    "Ω",
    "я",
    "Я",
    "中",
    "あ",
    "ا",
    "א",
    "ก",
    "한",
    "\u{0}",
    "\u{7f}",
    "\u{9f}",
];

const SPECIALS: &[&str] = &[
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|eot_id|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eom_id|>",
    "<|python_tag|>",
    "<|reserved_special_token_5|>",
    "<|finetune_right_pad_id|>",
    "<|start|>",
    "<|end|>",
    "<|message|>",
    "<|channel|>",
    "<|return|>",
    "<|call|>",
    "<|constrain|>",
    "<|endoftext|>",
    "<|startoftext|>",
    "<|reserved_200013|>",
    "<|eot_id",
    "<|",
    "|>",
    "<|start_header_id|",
    "eot_id|>",
    "<|<|eot_id|>|>",
    "<|end|><|end|>",
];

fn pick<'a>(rng: &mut ChaCha8Rng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

fn prose(rng: &mut ChaCha8Rng, out: &mut String) {
    let words = PROSE[rng.random_range(0..PROSE.len())];
    for _ in 0..rng.random_range(1..16) {
        out.push_str(pick(rng, words));
        out.push_str(match rng.random_range(0..20) {
            0 => ", ",
            1 => ". ",
            2 => "\n",
            3 => "",
            4 => "  ",
            5 => " 2024 ",
            6 => "'s ",
            _ => " ",
        });
    }
}

fn tricky(rng: &mut ChaCha8Rng, out: &mut String) {
    for _ in 0..rng.random_range(1..16) {
        out.push_str(pick(rng, TRICKY));
    }
}

fn random_chars(rng: &mut ChaCha8Rng, out: &mut String) {
    for _ in 0..rng.random_range(1..20) {
        let max = [0x80, 0x800, 0x3400, 0x110000][rng.random_range(0..4)];
        if let Some(c) = char::from_u32(rng.random_range(0..max)) {
            out.push(c);
        }
    }
}

fn repeats(rng: &mut ChaCha8Rng, out: &mut String) {
    let unit = pick(
        rng,
        &[
            " ", "\n", "=", "-", "a", "ab", "0", "\t", " \n", "'s", "😀", "中", "\u{301}",
        ],
    );
    out.push_str(&unit.repeat(rng.random_range(2..100)));
}

fn digits(rng: &mut ChaCha8Rng, out: &mut String) {
    for _ in 0..rng.random_range(1..20) {
        out.push_str(pick(
            rng,
            &["0", "1", "9", "٣", "५", "๑", "Ⅻ", "²", ".", ",", " "],
        ));
    }
}

fn chat(rng: &mut ChaCha8Rng, out: &mut String) {
    let mut body = String::new();
    prose(rng, &mut body);
    if rng.random_bool(0.5) {
        out.push_str("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n");
        out.push_str(
            "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>",
        );
        out.push_str("<|start_header_id|>user<|end_header_id|>\n\n");
        out.push_str(&body);
        out.push_str("<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
    } else {
        out.push_str("<|start|>system<|message|>You are ChatGPT.\nReasoning: medium<|end|>");
        out.push_str("<|start|>user<|message|>");
        out.push_str(&body);
        out.push_str("<|end|><|start|>assistant<|channel|>final<|message|>");
    }
}

/// One varied text: 1–4 segments of the kinds above.
fn text(rng: &mut ChaCha8Rng) -> String {
    let mut out = String::new();
    for _ in 0..rng.random_range(1..5) {
        match rng.random_range(0..9) {
            0 | 1 => prose(rng, &mut out),
            2 | 3 => tricky(rng, &mut out),
            4 => random_chars(rng, &mut out),
            5 => repeats(rng, &mut out),
            6 => digits(rng, &mut out),
            7 => chat(rng, &mut out),
            _ => out.push_str(pick(rng, SPECIALS)),
        }
    }
    out
}

fn hf_count(tok: &Tokenizer, text: &str) -> usize {
    tok.encode_fast(text, true).expect("HF encodes").len()
}

fn explain(tok: &Tokenizer, fast: &FastCounter, text: &str) -> String {
    let flavor = if hf_count(tok, "<|eot_id|>") == 2 {
        split::Flavor::Llama3
    } else {
        split::Flavor::O200k
    };
    let mut pieces = Vec::new();
    split::split(flavor, text, |p| pieces.push(text[p].to_owned()));
    let hf = tok.encode_fast(text, true).expect("HF encodes");
    format!(
        "text {text:?}\n  fast {} pieces {pieces:?}\n  hf {} tokens {:?}",
        fast.count(text),
        hf.len(),
        hf.get_tokens()
    )
}

fn differential(path: &str, seed: u64) {
    let json = std::fs::read(path).expect("fixture exists");
    let hf = Tokenizer::from_bytes(&json).expect("HF loads fixture");
    let fast = FastCounter::from_tokenizer_json(&json)
        .expect("fixture parses")
        .expect("fixture is supported");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut failures = Vec::new();
    let mut bytes = 0;
    for _ in 0..TEXTS {
        let text = text(&mut rng);
        bytes += text.len();
        if fast.count(&text) != hf_count(&hf, &text) {
            failures.push(explain(&hf, &fast, &text));
        }
    }
    eprintln!("{path}: {TEXTS} texts, {bytes} bytes");
    for fixed in [
        "",
        " ",
        "\n",
        "<|eot_id|>",
        "'ſ 'K 'S",
        "a  \u{a0}b",
        "x\r\n\r\n  y",
    ] {
        if fast.count(fixed) != hf_count(&hf, fixed) {
            failures.push(explain(&hf, &fast, fixed));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {TEXTS} texts ({bytes} bytes) differ; first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(8)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn llama3_counts_match_hf() {
    differential(LLAMA, 1);
}

#[test]
fn gpt_oss_counts_match_hf() {
    differential(GPT_OSS, 2);
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
            j["normalizer"] = serde_json::json!({"type": "NFC"})
        }),
        ("other regex", |j| {
            j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\s+".into()
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
        ("mixed normalized", |j| {
            j["added_tokens"][0]["normalized"] = true.into()
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
