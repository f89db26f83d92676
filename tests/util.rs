//! Shared helpers: fixture paths, the frozen clock, tokenizers loaded once.

use knowmix::render::{ChatTemplate, Clock, Message};
use knowmix::tokenize::hf::HfCounter;
use knowmix::tokenize::resolve::resolve;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use std::sync::{Arc, OnceLock};

/// `fixtures/<rel>` inside the repository.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

/// The date the goldens were rendered with (fixtures/goldens/README.md).
pub fn frozen_clock() -> Clock {
    Arc::new(|| {
        chrono::NaiveDate::from_ymd_opt(2026, 1, 15)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
    })
}

/// A fixture tokenizer, resolved, compiled and loaded once per test binary.
pub struct Loaded {
    /// Its chat template with the frozen clock.
    pub template: ChatTemplate,
    /// Its counter.
    pub counter: HfCounter,
}

fn load(name: &str) -> Loaded {
    let dir = fixture(&format!("tokenizers/{name}"));
    let resolved = resolve(dir.to_str().unwrap()).unwrap();
    let template = resolved.chat_template_with_clock(frozen_clock()).unwrap();
    let counter = resolved.hf_counter().unwrap();
    Loaded { template, counter }
}

/// `fixtures/tokenizers/llama-3.1-instruct`.
pub fn llama() -> &'static Loaded {
    static CELL: OnceLock<Loaded> = OnceLock::new();
    CELL.get_or_init(|| load("llama-3.1-instruct"))
}

/// `fixtures/tokenizers/gpt-oss`.
pub fn gpt_oss() -> &'static Loaded {
    static CELL: OnceLock<Loaded> = OnceLock::new();
    CELL.get_or_init(|| load("gpt-oss"))
}

/// A user message (no thinking) and an assistant message.
pub fn qa(user: &str, assistant: &str, thinking: Option<&str>) -> Vec<Message> {
    vec![
        Message::new("user", user),
        Message {
            role: "assistant".into(),
            content: assistant.into(),
            thinking: thinking.map(Into::into),
        },
    ]
}

/// A temporary directory removed on drop.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("knowmix-test-")
        .tempdir()
        .unwrap()
}

/// Index and a short window around the first difference of two strings.
pub fn first_diff(a: &str, b: &str) -> String {
    let at = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    let window = |s: &str| {
        s.chars()
            .skip(at.saturating_sub(20))
            .take(60)
            .collect::<String>()
    };
    format!(
        "first difference at char {at}: got {:?}, want {:?}",
        window(a),
        window(b)
    )
}

/// The repository root.
#[allow(dead_code)]
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Llama 3.1 Instruct tokenizer folder.
pub fn llama_dir() -> PathBuf {
    fixture("tokenizers/llama-3.1-instruct")
}

/// The knowmix binary, with a clean environment for the notebook variables.
pub fn knowmix() -> Command {
    let mut cmd = Command::cargo_bin("knowmix").unwrap();
    for var in [
        "TOKENIZER_MODEL",
        "TOKENIZER_MODEL_NAME",
        "CUT_SIZES",
        "QA_PER_DOC",
        "SAVE_GPT_OSS_FORMAT",
        "SEED",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// The bytes of a file, gzip or zstd undone (recognised by magic bytes).
pub fn read_plain(path: &Path) -> Vec<u8> {
    let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&raw[..]), &mut out)
            .unwrap();
        out
    } else if raw.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        zstd::decode_all(&raw[..]).unwrap()
    } else {
        raw
    }
}

/// Parse every line of a JSONL file (plain, gzip or zstd).
pub fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    let text = String::from_utf8(read_plain(path)).unwrap();
    text.split('\n')
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A small step-03 corpus (`knowmix synth`) and its `mix` output (cut 2,
/// Llama tokenizer), made once per test binary: (step-03 dir, cut file).
pub fn pipe_corpus() -> &'static (PathBuf, PathBuf) {
    static CELL: OnceLock<(tempfile::TempDir, (PathBuf, PathBuf))> = OnceLock::new();
    &CELL
        .get_or_init(|| {
            let dir = tempdir();
            let step03 = dir.path().join("step_03");
            knowmix()
                .args(["synth", "--raw-docs", "6", "-q", "--output"])
                .arg(&step03)
                .assert()
                .success();
            let out = dir.path().join("step_04");
            knowmix()
                .args(["mix", "--cut-sizes", "2", "-q", "--input"])
                .arg(&step03)
                .arg("--output")
                .arg(&out)
                .arg("--tokenizer")
                .arg(llama_dir())
                .assert()
                .success();
            let cut = out.join("training_mix/combined_cut_2x.jsonl");
            (dir, (step03, cut))
        })
        .1
}

/// Compress `bytes` as `.gz` or `.zst` by `path`'s extension (or not) and write them.
pub fn write_compressed(path: &Path, bytes: &[u8]) {
    let data = match path.extension().and_then(|e| e.to_str()) {
        Some("gz") => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut enc, bytes).unwrap();
            enc.finish().unwrap()
        }
        Some("zst") => zstd::encode_all(bytes, 3).unwrap(),
        _ => bytes.to_vec(),
    };
    std::fs::write(path, data).unwrap();
}

/// Decompress by magic bytes (same as [`read_plain`]).
pub fn read_decompressed(path: &Path) -> Vec<u8> {
    read_plain(path)
}

/// Run `bash -c "set -o pipefail; <knowmix> ARGS | head -1"`: (status of
/// knowmix, stdout, stderr).
pub fn into_head(args: &str) -> (std::process::ExitStatus, String, String) {
    let bin = assert_cmd::cargo::cargo_bin("knowmix");
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -o pipefail; '{}' {args} | head -1",
            bin.display()
        ))
        .output()
        .unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A copy of the fixture corpus in a temp dir: (dir, its step_03 folder).
pub fn corpus() -> (tempfile::TempDir, PathBuf) {
    let dir = tempdir();
    let input = dir.path().join("step_03");
    for dataset in [
        "extractive_summary",
        "detailed_summary",
        "key_facts_to_qa",
        "document_based_qa",
    ] {
        let from = fixture("step_03").join(dataset);
        std::fs::create_dir_all(input.join(dataset)).unwrap();
        for entry in std::fs::read_dir(&from).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, input.join(dataset).join(path.file_name().unwrap())).unwrap();
        }
    }
    (dir, input)
}
