//! Ready for training (issue 15): training's length filter counted (and
//! applied with `--drop-over-length`), column names detected when sdg_hub
//! renamed them, and `--thinking omit-empty`.
//!
//! The length rule is instructlab-training 0.16.2's
//! (`instructlab/training/data_process.py`): `filter_samples_by_length`
//! (line 1089) keeps `min_seq_len <= x["len"] < max_seq_len`, min 20, and
//! `len` is the chat template of the unmask-wrapped turns tokenized by
//! `apply_chat_template` (no special tokens added by the post-processor),
//! markers removed (`tokenize::training`). Its module imports torch (a
//! 3 GB install), so CI pins the rule here; `scripts/training_check.sh`
//! runs the real `data_process` against knowmix's counts.

use std::path::Path;

use knowmix::format::{Fit, LengthRule, Turn};
use knowmix::tokenize::chat;
use knowmix::tokenize::TokenLength;
use serde_json::Value;

use crate::util::{fixture, knowmix, llama_dir, read_jsonl, tempdir};

fn turns<'a>(user: &'a str, answer: &'a str) -> [Turn<'a>; 2] {
    [
        Turn {
            role: "user",
            content: user,
            thinking: None,
        },
        Turn {
            role: "assistant",
            content: answer,
            thinking: Some(""),
        },
    ]
}

/// instructlab-training's unmask markers, which it adds to the tokenizer
/// as special tokens.
const MARKERS: [&str; 4] = [
    "<|UNMASK_BEGIN|>",
    "<|UNMASK_END|>",
    "<|UNMASK_REASONING_BEGIN|>",
    "<|UNMASK_REASONING_END|>",
];

/// Training's length, independently: `rendered` encoded by HF `tokenizers`
/// without the post-processor's tokens (what `apply_chat_template` does),
/// with the markers as added special tokens, markers not counted.
fn hf_training_len(dir: &Path, rendered: &str) -> usize {
    // Loaded once per folder: parsing a 9 MB tokenizer.json per record
    // would take minutes.
    type Cache =
        std::collections::BTreeMap<std::path::PathBuf, std::sync::Arc<tokenizers::Tokenizer>>;
    static CACHE: std::sync::Mutex<Cache> = std::sync::Mutex::new(Cache::new());
    let tokenizer = CACHE
        .lock()
        .unwrap()
        .entry(dir.to_path_buf())
        .or_insert_with(|| {
            let resolved = knowmix::tokenize::resolve::resolve(dir.to_str().unwrap()).unwrap();
            let mut t = tokenizers::Tokenizer::from_bytes(&*resolved.tokenizer_json).unwrap();
            let markers: Vec<_> = MARKERS
                .iter()
                .map(|m| tokenizers::AddedToken::from(*m, true))
                .collect();
            t.add_special_tokens(markers).unwrap();
            std::sync::Arc::new(t)
        })
        .clone();
    let ids: Vec<u32> = MARKERS
        .iter()
        .map(|m| tokenizer.token_to_id(m).unwrap())
        .collect();
    let encoding = tokenizer.encode(rendered, false).unwrap();
    encoding
        .get_ids()
        .iter()
        .filter(|id| !ids.contains(id))
        .count()
}

/// `turns` as training wraps them before rendering (`wrap_masked_messages`
/// for a record with `unmask: true`), written out here on purpose rather
/// than taken from knowmix.
fn wrapped(turns: &[Turn<'_>]) -> Vec<(String, String, Option<String>)> {
    let reasoning = turns.iter().any(|t| t.thinking.is_some());
    turns
        .iter()
        .map(|t| {
            (
                t.role.to_owned(),
                format!("{}{}{}", MARKERS[0], t.content, MARKERS[1]),
                t.thinking
                    .filter(|_| reasoning)
                    .map(|x| format!("{}{x}{}", MARKERS[2], MARKERS[3])),
            )
        })
        .collect()
}

/// Training's length of `turns` with tokenizer `dir`, rendered by knowmix's
/// template engine (pinned to transformers by the goldens).
fn training_len(dir: &Path, length: &dyn Fn(&[Turn<'_>]) -> String, turns: &[Turn<'_>]) -> usize {
    let owned = wrapped(turns);
    let wrapped: Vec<Turn<'_>> = owned
        .iter()
        .map(|(role, content, thinking)| Turn {
            role,
            content,
            thinking: thinking.as_deref(),
        })
        .collect();
    hf_training_len(dir, &length(&wrapped))
}

/// Where the plain estimate is off by one (found by running training's
/// `data_process`: scripts/training_check.sh), knowmix's training length is
/// training's: a Llama 3.1 turn ending in `\x1f` (its template trims the
/// plain content, not the wrapped one), and Qwen 3 with `thinking: ""`
/// (the empty reasoning's markers split `\n\n`).
#[test]
fn training_length_is_the_wrapped_render() {
    for (name, answer, thinking) in [
        ("llama-3.1-instruct", "Paris.\u{1f}", None),
        ("qwen3", "Paris.", Some("")),
    ] {
        let dir = fixture(&format!("tokenizers/{name}"));
        let loaded = chat::load(dir.to_str().unwrap()).unwrap();
        let length = loaded.length;
        let t = [
            Turn {
                role: "user",
                content: "What is the capital of France?",
                thinking: None,
            },
            Turn {
                role: "assistant",
                content: answer,
                thinking,
            },
        ];
        let estimate = length.token_length(&t).unwrap() - length.added_tokens();
        let want = training_len(&dir, &|w| length.render(w).unwrap(), &t);
        assert_eq!(want, estimate + 1, "{name}: the case still differs");
        assert_eq!(length.training_length(&t).unwrap(), want, "{name}");
    }
}

#[test]
fn length_rule_boundaries_for_each_tokenizer() {
    let rule = LengthRule::default();
    assert_eq!(rule.judge(19), Fit::TooShort);
    assert_eq!(rule.judge(20), Fit::Fits);
    assert_eq!(rule.judge(8191), Fit::Fits);
    assert_eq!(rule.judge(8192), Fit::TooLong);
    for (name, added) in [("llama-3.1-instruct", 1), ("gpt-oss", 0)] {
        let dir = fixture(&format!("tokenizers/{name}"));
        let loaded = chat::load(dir.to_str().unwrap()).unwrap();
        let length = loaded.length;
        assert_eq!(length.added_tokens(), added, "{name}");
        let t = turns("What is the capital of France?", "Paris.");
        let tokens = length.token_length(&t).unwrap();
        let len = (tokens - length.added_tokens()) as u64;
        // The length compared is training's, not token_length.
        assert_eq!(
            len as usize,
            hf_training_len(&dir, &length.render(&t).unwrap()),
            "{name}"
        );
        let with = |min_len, max_seq_len| LengthRule {
            max_seq_len,
            min_len,
            drop: false,
        };
        assert_eq!(with(len + 1, len + 10).judge(len), Fit::TooShort, "{name}");
        assert_eq!(with(len, len + 10).judge(len), Fit::Fits, "{name}");
        assert_eq!(with(1, len + 1).judge(len), Fit::Fits, "{name}");
        assert_eq!(with(1, len).judge(len), Fit::TooLong, "{name}");
    }
}

fn mix(input: &Path, out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    knowmix()
        .env_remove("MAX_SEQ_LEN")
        .arg("mix")
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(out)
        .arg("--tokenizer")
        .arg(llama_dir())
        .arg("--quiet")
        .args(extra)
        .assert()
}

fn cut_bytes(out: &Path, n: u32) -> Vec<u8> {
    std::fs::read(out.join(format!("training_mix/combined_cut_{n}x.jsonl"))).unwrap()
}

fn manifest(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("training_mix/manifest.json")).unwrap()).unwrap()
}

/// A copy of the fixture step-03 folder as newer sdg_hub writes it: only
/// the columns step 04 reads, `document` renamed `summarized_document`
/// (reasoning, were there any, under `reasoning_content`).
fn renamed_copy(dir: &Path, extra: Option<&str>) {
    for dataset in [
        "extractive_summary",
        "detailed_summary",
        "key_facts_to_qa",
        "document_based_qa",
    ] {
        let from = fixture("step_03").join(dataset);
        let to = dir.join(dataset);
        std::fs::create_dir_all(&to).unwrap();
        let mut files: Vec<_> = std::fs::read_dir(&from)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for (i, file) in files.iter().enumerate() {
            let mut text = String::new();
            for row in read_jsonl(file) {
                let mut narrow = serde_json::Map::new();
                for (old, new) in [
                    ("question", "question"),
                    ("response", "response"),
                    ("document", "summarized_document"),
                    ("raw_document", "raw_document"),
                    ("base_document", "base_document"),
                    ("document_outline", "document_outline"),
                    ("parse_response_dict_reasoning_content", "reasoning_content"),
                ] {
                    if let Some(v) = row.get(old) {
                        narrow.insert(new.to_owned(), v.clone());
                    }
                }
                if let Some(extra) = extra {
                    narrow.insert(extra.to_owned(), Value::from("x"));
                }
                text.push_str(&serde_json::to_string(&narrow).unwrap());
                text.push('\n');
            }
            std::fs::write(to.join(format!("gen-{i:05}.jsonl")), text).unwrap();
        }
    }
}

#[test]
fn renamed_narrow_columns_give_the_same_cuts_with_no_flags() {
    let tmp = tempdir();
    let (input, plain, renamed) = (
        tmp.path().join("in"),
        tmp.path().join("a"),
        tmp.path().join("b"),
    );
    renamed_copy(&input, None);
    mix(&fixture("step_03"), &plain, &[]).success();
    mix(&input, &renamed, &[]).success();
    let m = manifest(&renamed);
    let cuts = m["cuts"].as_array().unwrap();
    assert!(!cuts.is_empty());
    for cut in cuts {
        let n = cut["cut_size"].as_u64().unwrap() as u32;
        assert!(cut_bytes(&plain, n) == cut_bytes(&renamed, n), "cut {n}");
    }
    let cols = &m["parameters"]["dataset_columns"]["extractive_summary"];
    assert_eq!(cols["document"], "summarized_document");
    // The fixtures have no reasoning column: the default name stays.
    assert_eq!(cols["reasoning"], "parse_response_dict_reasoning_content");
}

#[test]
fn two_known_names_present_is_an_error_naming_both() {
    let tmp = tempdir();
    let input = tmp.path().join("in");
    renamed_copy(&input, Some("document"));
    let out = mix(&input, &tmp.path().join("o"), &[]).failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("\"document\"") && stderr.contains("\"summarized_document\""),
        "{stderr}"
    );
    // Naming the column settles it.
    mix(
        &input,
        &tmp.path().join("o"),
        &["--column", "document=summarized_document"],
    )
    .success();
}

/// Per (cut, dataset order), the too-long / too-short counts of a cut's
/// records under `rule`, training length from HF `tokenizers`.
fn expected_counts(records: &[Value], rule: &LengthRule) -> (u64, u64) {
    let loaded = chat::load(llama_dir().to_str().unwrap()).unwrap();
    let (mut long, mut short) = (0, 0);
    for r in records {
        let m = &r["messages"];
        let t = turns(
            m[0]["content"].as_str().unwrap(),
            m[1]["content"].as_str().unwrap(),
        );
        let t = [
            t[0].clone(),
            Turn {
                thinking: m[1]["thinking"].as_str(),
                ..t[1].clone()
            },
        ];
        let len = training_len(&llama_dir(), &|w| loaded.length.render(w).unwrap(), &t);
        match rule.judge(len as u64) {
            Fit::TooLong => long += 1,
            Fit::TooShort => short += 1,
            Fit::Fits => {}
        }
    }
    (long, short)
}

#[test]
fn max_seq_len_counts_what_training_drops_and_drop_removes_them() {
    let tmp = tempdir();
    let (counted, dropped) = (tmp.path().join("a"), tmp.path().join("b"));
    // Fixture records are 50 to 600 tokens: both bounds bite.
    let args = ["--max-seq-len", "300", "--min-len", "100"];
    mix(&fixture("step_03"), &counted, &args).success();
    let rule = LengthRule {
        max_seq_len: 300,
        min_len: 100,
        drop: false,
    };
    let m = manifest(&counted);
    let (mut total_long, mut total_short) = (0, 0);
    for cut in m["cuts"].as_array().unwrap() {
        let n = cut["cut_size"].as_u64().unwrap() as u32;
        let records = read_jsonl(&counted.join(format!("training_mix/combined_cut_{n}x.jsonl")));
        let (long, short) = expected_counts(&records, &rule);
        let over = &cut["over_length"];
        assert_eq!(over["max_seq_len"], 300);
        assert_eq!(over["min_len"], 100);
        assert_eq!(
            (over["too_long"].as_u64(), over["too_short"].as_u64()),
            (Some(long), Some(short)),
            "cut {n}"
        );
        let by_dataset: u64 = cut["datasets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["over_length"]["too_long"].as_u64().unwrap())
            .sum();
        assert_eq!(by_dataset, long);
        total_long += long;
        total_short += short;
    }
    assert!(
        total_long > 0 && total_short > 0,
        "the test must exercise both bounds"
    );

    let mut with_drop = args.to_vec();
    with_drop.push("--drop-over-length");
    mix(&fixture("step_03"), &dropped, &with_drop).success();
    let m2 = manifest(&dropped);
    for (cut, cut2) in m["cuts"]
        .as_array()
        .unwrap()
        .iter()
        .zip(m2["cuts"].as_array().unwrap())
    {
        let n = cut["cut_size"].as_u64().unwrap() as u32;
        let kept = read_jsonl(&dropped.join(format!("training_mix/combined_cut_{n}x.jsonl")));
        assert_eq!(expected_counts(&kept, &rule), (0, 0), "cut {n}");
        let over = &cut["over_length"];
        let gone = over["too_long"].as_u64().unwrap() + over["too_short"].as_u64().unwrap();
        assert_eq!(
            cut2["samples"].as_u64().unwrap() + gone,
            cut["samples"].as_u64().unwrap()
        );
        assert_eq!(cut2["over_length"], cut["over_length"]);
    }
    let rejected = read_jsonl(&dropped.join("training_mix/rejected.jsonl"));
    assert!(!rejected.is_empty());
    assert!(rejected.iter().all(|r| {
        let reason = r["reason"].as_str().unwrap();
        reason.starts_with("over length") || reason.starts_with("under length")
    }));
}

#[test]
fn omit_empty_drops_empty_thinking_and_keeps_the_rest() {
    let tmp = tempdir();
    let (keep, omit) = (tmp.path().join("a"), tmp.path().join("b"));
    mix(&fixture("step_03"), &keep, &[]).success();
    mix(&fixture("step_03"), &omit, &["--thinking", "omit-empty"]).success();
    let cut = manifest(&keep)["cuts"][0].clone();
    assert_eq!(cut["over_length"]["max_seq_len"], 8192);
    let n = cut["cut_size"].as_u64().unwrap();
    let a = read_jsonl(&keep.join(format!("training_mix/combined_cut_{n}x.jsonl")));
    let b = read_jsonl(&omit.join(format!("training_mix/combined_cut_{n}x.jsonl")));
    assert_eq!(a.len(), b.len());
    for (a, b) in a.iter().zip(&b) {
        for (ta, tb) in a["messages"]
            .as_array()
            .unwrap()
            .iter()
            .zip(b["messages"].as_array().unwrap())
        {
            match ta["thinking"].as_str() {
                Some(t) if !t.is_empty() => {
                    assert_eq!(tb["thinking"], ta["thinking"]);
                }
                _ => assert!(tb.get("thinking").is_none(), "{tb}"),
            }
            assert_eq!(ta["content"], tb["content"]);
        }
        assert_eq!(a["token_length"], b["token_length"]);
    }
}
