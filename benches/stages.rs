//! Per-stage throughput of `mix` on the fixture step-03 corpus: record
//! parsing (picking 3 fields out of wide rows: simd-json tape, the skipping
//! scanner the mix uses, serde_json for scale), chat template rendering,
//! building a full output record (parse + rules + render + count + encode),
//! and `knowmix mix` end to end.
//!
//! Run: `cargo bench --bench stages`.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Bencher, Criterion, Throughput};
use knowmix::assemble::{RecordBuilder, RowReader};
use knowmix::columns::Columns;
use knowmix::format::{Dataset, Turn};
use knowmix::read::fields::FieldParser;
use knowmix::read::scan::Scanner;
use knowmix::tokenize::TokenLength;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The plain (uncompressed) extractive-summary lines of the fixture.
fn wide_lines() -> Vec<Vec<u8>> {
    let path = root().join("fixtures/step_03/extractive_summary/gen-00000-of-00003.jsonl");
    std::fs::read(path)
        .unwrap()
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// The columns the parse benchmarks pick out of each row.
const PICKED: [&str; 3] = ["raw_document", "document", "question"];

/// Time `parse` over every line. simd-json writes into the line, so each
/// pass works on a fresh copy of the lines (the same buffers each time),
/// made outside the timing; the scanner, which only reads, gets the same
/// treatment so that both find the lines equally warm in the caches.
fn time_in_place(b: &mut Bencher, lines: &[Vec<u8>], mut parse: impl FnMut(&mut [u8]) -> usize) {
    let mut copies = lines.to_vec();
    b.iter_custom(|passes| {
        let mut timed = Duration::ZERO;
        for _ in 0..passes {
            for (copy, line) in copies.iter_mut().zip(lines) {
                copy.copy_from_slice(line);
            }
            let start = Instant::now();
            black_box(copies.iter_mut().map(|l| parse(l)).sum::<usize>());
            timed += start.elapsed();
        }
        timed
    })
}

fn bench_parse(c: &mut Criterion) {
    let lines = wide_lines();
    let bytes: usize = lines.iter().map(Vec::len).sum();
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(bytes as u64));
    let at = || knowmix::read::fields::location(Path::new("x"), 1);
    group.bench_function("simd_json_tape_3_fields", |b| {
        let mut parser = FieldParser::default();
        time_in_place(b, &lines, |buf| {
            let row = parser.parse(buf, at).unwrap();
            PICKED
                .map(|name| row.required_str(name, at).unwrap().len())
                .iter()
                .sum()
        })
    });
    group.bench_function("skip_scan_3_fields", |b| {
        let mut scanner = Scanner::default();
        time_in_place(b, &lines, |buf| {
            let row = scanner.scan(buf, at).unwrap();
            PICKED
                .map(|name| row.required_str(name, at).unwrap().len())
                .iter()
                .sum()
        })
    });
    group.bench_function("serde_json_value", |b| {
        b.iter(|| {
            lines
                .iter()
                .map(|l| {
                    serde_json::from_slice::<serde_json::Value>(l).unwrap()["document"]
                        .as_str()
                        .unwrap()
                        .len()
                })
                .sum::<usize>()
        })
    });
    group.finish();
}

fn bench_render_and_build(c: &mut Criterion) {
    let loaded = knowmix::tokenize::chat::load(
        root()
            .join("fixtures/tokenizers/llama-3.1-instruct")
            .to_str()
            .unwrap(),
    )
    .unwrap();
    let turns = [
        Turn {
            role: "user",
            content: "Rules, Part 3\nA summary of the rules.\n\nWhat is a foul?",
            thinking: None,
        },
        Turn {
            role: "assistant",
            content: "A foul is an infringement of the rules.",
            thinking: Some(""),
        },
    ];
    let mut group = c.benchmark_group("render");
    group.bench_function("llama_chat_template", |b| {
        b.iter(|| loaded.length.render(&turns).unwrap().len())
    });
    group.bench_function("render_and_count", |b| {
        b.iter(|| loaded.length.token_length(&turns).unwrap())
    });
    group.finish();

    let builder = RecordBuilder {
        rows: RowReader {
            columns: Columns::default(),
            detected: Vec::new(),
            gpt_oss: false,
        },
        length: loaded.length.clone() as Arc<dyn TokenLength>,
        thinking: Default::default(),
        lengths: Default::default(),
    };
    let lines = wide_lines();
    let mut data = Vec::new();
    for l in &lines {
        data.extend_from_slice(l);
        data.push(b'\n');
    }
    let mut group = c.benchmark_group("build");
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("extractive_records", |b| {
        b.iter(|| {
            let batch = knowmix::read::lines::LineBatch::from_bytes(
                Arc::new(PathBuf::from("x")),
                0,
                data.clone(),
            );
            builder
                .build_batch(Dataset::ExtractiveSummary, batch, None)
                .unwrap()
                .records
                .len()
        })
    });
    group.finish();
}

fn bench_mix(c: &mut Criterion) {
    let bin = root().join("target/release/knowmix");
    if !bin.exists() {
        eprintln!("skipping mix end-to-end: build the release binary first");
        return;
    }
    let mut group = c.benchmark_group("mix");
    group.sample_size(10);
    group.bench_function("fixture_corpus_cuts_3_5", |b| {
        b.iter(|| {
            let out = tempfile::tempdir().unwrap();
            let status = std::process::Command::new(&bin)
                .args(["mix", "--quiet", "--cut-sizes", "3,5", "--input"])
                .arg(root().join("fixtures/step_03"))
                .arg("--output")
                .arg(out.path())
                .arg("--tokenizer")
                .arg(root().join("fixtures/tokenizers/llama-3.1-instruct"))
                .status()
                .unwrap();
            assert!(status.success());
        })
    });
    group.finish();
}

criterion_group!(benches, bench_parse, bench_render_and_build, bench_mix);
criterion_main!(benches);
