//! Token counting throughput: HF `tokenizers` (`encode_fast(text, true)`)
//! against `FastCounter`, single thread, on a deterministic corpus of
//! rendered chat records (English prose with the model's chat markup),
//! for every fixture tokenizer family.
//!
//! With `KNOWMIX_BENCH_DUMP=DIR` each family's records are also written to
//! `DIR/<family>.json` (a JSON list of strings) with the total HF counts, so
//! `benches/count_py.py` can time Python `tokenizers` and `tiktoken` on the
//! very same texts.
//!
//! With `KNOWMIX_BENCH_CPU=1` the measured time is this thread's CPU time
//! (from `/proc/thread-self/schedstat`, nanoseconds) instead of wall time,
//! which keeps the numbers meaningful on a machine shared with other jobs.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use knowmix::tokenize::fast::FastCounter;
use knowmix::tokenize::TokenCount;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokenizers::Tokenizer;

const CORPUS_BYTES: usize = 3 << 20;

const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "had",
    "they",
    "you",
    "were",
    "their",
    "one",
    "all",
    "we",
    "can",
    "her",
    "has",
    "there",
    "been",
    "if",
    "more",
    "when",
    "will",
    "would",
    "who",
    "so",
    "no",
    "model",
    "training",
    "data",
    "knowledge",
    "document",
    "question",
    "answer",
    "summary",
    "example",
    "system",
    "language",
    "research",
    "important",
    "however",
    "therefore",
    "between",
    "through",
    "during",
    "without",
    "although",
    "especially",
    "photosynthesis",
    "mitochondria",
    "constitutional",
    "infrastructure",
    "approximately",
    "Paris",
    "Einstein",
    "Python",
    "JSON",
    "API",
    "doesn't",
    "it's",
    "we're",
    "they've",
    "I'm",
    "you'll",
];

fn sentence(rng: &mut ChaCha8Rng, out: &mut String) {
    let n = rng.random_range(6..24);
    for i in 0..n {
        let w = WORDS[rng.random_range(0..WORDS.len())];
        if i == 0 {
            let mut cs = w.chars();
            out.extend(cs.next().map(|c| c.to_ascii_uppercase()));
            out.push_str(cs.as_str());
        } else {
            out.push(' ');
            out.push_str(w);
        }
        match rng.random_range(0..30) {
            0 => out.push(','),
            1 => out.push_str(&format!(" {}", rng.random_range(1..3000))),
            2 => out.push_str(" (see below)"),
            _ => {}
        }
    }
    out.push_str(if rng.random_bool(0.1) { "?" } else { "." });
}

fn paragraphs(rng: &mut ChaCha8Rng, count: usize) -> String {
    let mut out = String::new();
    for p in 0..count {
        if p > 0 {
            out.push_str(if rng.random_bool(0.2) {
                "\n\n- "
            } else {
                "\n\n"
            });
        }
        for s in 0..rng.random_range(2..7) {
            if s > 0 {
                out.push(' ');
            }
            sentence(rng, &mut out);
        }
    }
    out
}

/// A family's chat markup around (document, question, answer).
#[derive(Clone, Copy)]
enum Markup {
    Llama3,
    Harmony,
    ChatMl,
    DeepSeek,
    Gemma,
    Llama2,
}

fn record(markup: Markup, doc: &str, q: &str, a: &str) -> String {
    match markup {
        Markup::Harmony => format!(
            "<|start|>system<|message|>You are ChatGPT, a large language model.\nReasoning: medium<|end|>\
             <|start|>user<|message|>{doc}\n\n{q}<|end|><|start|>assistant<|channel|>final<|message|>{a}<|return|>"
        ),
        Markup::Llama3 => format!(
            "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n\
             Today Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n{doc}\n\n{q}\
             <|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n{a}<|eot_id|>"
        ),
        Markup::ChatMl => format!(
            "<|im_start|>user\n{doc}\n\n{q}<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n{a}<|im_end|>\n"
        ),
        Markup::DeepSeek => format!(
            "<｜begin▁of▁sentence｜><｜User｜>{doc}\n\n{q}<｜Assistant｜>{a}<｜end▁of▁sentence｜>"
        ),
        Markup::Gemma => format!(
            "<bos><start_of_turn>user\n{doc}\n\n{q}<end_of_turn>\n<start_of_turn>model\n{a}<end_of_turn>\n"
        ),
        Markup::Llama2 => format!("<s>[INST] {doc}\n\n{q} [/INST] {a} </s>"),
    }
}

/// Rendered records in `markup`.
fn corpus(markup: Markup) -> Vec<String> {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut records = Vec::new();
    let mut total = 0;
    while total < CORPUS_BYTES {
        let (doc, q, a) = (
            paragraphs(&mut rng, 3),
            paragraphs(&mut rng, 1),
            paragraphs(&mut rng, 2),
        );
        let record = record(markup, &doc, &q, &a);
        total += record.len();
        records.push(record);
    }
    records
}

/// CPU time this thread has run, if the kernel exposes it.
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Runs `f` `iters` times; wall time, or CPU time under `KNOWMIX_BENCH_CPU`.
fn measure(iters: u64, mut f: impl FnMut() -> usize) -> Duration {
    let cpu = std::env::var_os("KNOWMIX_BENCH_CPU").is_some();
    let (wall, start) = (Instant::now(), thread_cpu());
    for _ in 0..iters {
        std::hint::black_box(f());
    }
    match (cpu, start, thread_cpu()) {
        (true, Some(a), Some(b)) => b - a,
        _ => wall.elapsed(),
    }
}

/// The `tokenizer.json` of a fixture family (plain or `.zst`).
fn fixture_json(family: &str) -> Vec<u8> {
    let path = format!("fixtures/tokenizers/{family}/tokenizer.json");
    match std::fs::read(&path) {
        Ok(json) => json,
        Err(_) => zstd::decode_all(std::fs::File::open(format!("{path}.zst")).expect("fixture"))
            .expect("fixture decompresses"),
    }
}

fn bench_tokenizer(c: &mut Criterion, name: &str, family: &str, markup: Markup) {
    let json = fixture_json(family);
    let hf = Tokenizer::from_bytes(&json).expect("HF loads");
    let fast = FastCounter::from_tokenizer_json(&json)
        .expect("parses")
        .expect("supported");
    let records = corpus(markup);
    let bytes: usize = records.iter().map(String::len).sum();
    let hf_total: usize = records
        .iter()
        .map(|r| hf.encode_fast(r.as_str(), true).unwrap().len())
        .sum();
    let fast_total: usize = records.iter().map(|r| fast.count(r)).sum();
    assert_eq!(hf_total, fast_total, "{family}: counts differ");
    if let Some(dir) = std::env::var_os("KNOWMIX_BENCH_DUMP") {
        let dump = serde_json::json!({"family": family, "tokens": hf_total, "records": records});
        let path = std::path::Path::new(&dir).join(format!("{name}.json"));
        std::fs::write(path, serde_json::to_vec(&dump).unwrap()).expect("dump written");
    }
    let mut group = c.benchmark_group(format!("count/{name}"));
    group
        .throughput(Throughput::Bytes(bytes as u64))
        .sample_size(10);
    let hf_pass = || {
        records
            .iter()
            .map(|r| hf.encode_fast(r.as_str(), true).unwrap().len())
            .sum()
    };
    let fast_pass = || records.iter().map(|r| fast.count(r)).sum();
    group.bench_function("hf", |b| b.iter_custom(|iters| measure(iters, hf_pass)));
    group.bench_function("fast", |b| b.iter_custom(|iters| measure(iters, fast_pass)));
    group.finish();
}

fn counting(c: &mut Criterion) {
    let families = [
        ("llama3", "llama-3.1-instruct", Markup::Llama3),
        ("gpt-oss", "gpt-oss", Markup::Harmony),
        ("qwen3", "qwen3", Markup::ChatMl),
        ("deepseek-v3", "deepseek-v3", Markup::DeepSeek),
        ("cl100k", "cl100k", Markup::ChatMl),
        ("llama2", "llama2", Markup::Llama2),
        ("gemma3", "gemma3", Markup::Gemma),
    ];
    for (name, family, markup) in families {
        bench_tokenizer(c, name, family, markup);
    }
}

criterion_group!(benches, counting);
criterion_main!(benches);
