//! `knowmix synth`: the committed fixture regenerates byte for byte, has the
//! shape `fixtures/README.md` promises, and output never depends on the
//! thread count.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

const DATASETS: [&str; 4] = [
    "extractive_summary",
    "detailed_summary",
    "key_facts_to_qa",
    "document_based_qa",
];

/// The command recorded in `fixtures/README.md`, minus `--output`.
const FIXTURE_FLAGS: &[&str] = &[
    "--seed",
    "5",
    "--raw-docs",
    "12",
    "--max-qa",
    "4",
    "--wide-messages",
    "4",
    "--files-per-dataset",
    "3",
    "--compress",
    "mixed",
];

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/step_03")
}

fn synth(out: &Path, flags: &[&str], threads: &str) {
    Command::cargo_bin("knowmix")
        .unwrap()
        .env("RAYON_NUM_THREADS", threads)
        .arg("synth")
        .arg("--quiet")
        .arg("--output")
        .arg(out)
        .args(flags)
        .assert()
        .success();
}

/// Every file under `dir`, relative path → bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut all = BTreeMap::new();
    for d in DATASETS {
        for entry in std::fs::read_dir(dir.join(d)).unwrap() {
            let path = entry.unwrap().path();
            let name = format!("{d}/{}", path.file_name().unwrap().to_string_lossy());
            all.insert(name, std::fs::read(&path).unwrap());
        }
    }
    all
}

/// The rows of one dataset folder, files in name order, decompressed.
fn rows(dir: &Path, dataset: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for (name, bytes) in files(dir)
        .into_iter()
        .filter(|(n, _)| n.starts_with(&format!("{dataset}/")))
    {
        let mut text = String::new();
        if name.ends_with(".gz") {
            flate2::read::GzDecoder::new(&bytes[..])
                .read_to_string(&mut text)
                .unwrap();
        } else if name.ends_with(".zst") {
            zstd::stream::read::Decoder::new(&bytes[..])
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
        } else {
            text = String::from_utf8(bytes).unwrap();
        }
        out.extend(
            text.split('\n')
                .filter(|l| !l.is_empty())
                .map(|l| serde_json::from_str::<Value>(l).unwrap()),
        );
    }
    out
}

fn s<'a>(row: &'a Value, key: &str) -> &'a str {
    row[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string"))
}

#[test]
fn fixture_regenerates_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    synth(tmp.path(), FIXTURE_FLAGS, "2");
    let (want, got) = (files(&fixture()), files(tmp.path()));
    assert_eq!(
        want.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>(),
        "file names differ"
    );
    for (name, bytes) in &want {
        assert!(bytes == &got[name], "{name} differs from the committed fixture: regenerate it with the command in fixtures/README.md (or find what broke determinism)");
    }
}

#[test]
fn fixture_has_the_promised_shape() {
    let dir = fixture();
    let counts: Vec<usize> = DATASETS.iter().map(|d| rows(&dir, d).len()).collect();
    assert_eq!(counts, [160, 165, 100, 43]);
    for d in &DATASETS[..2] {
        let rows = rows(&dir, d);
        let mut per_raw: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        let mut raws_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for r in &rows {
            per_raw
                .entry(s(r, "raw_document"))
                .or_default()
                .insert(s(r, "document"));
            raws_of
                .entry(s(r, "document"))
                .or_default()
                .insert(s(r, "raw_document"));
        }
        let mean = per_raw.values().map(BTreeSet::len).sum::<usize>() as f64 / per_raw.len() as f64;
        assert_eq!(per_raw.len(), 12, "{d}: raw documents");
        assert!(
            (5.0..6.0).contains(&mean),
            "{d}: mean distinct summaries {mean} must make cut 5 feasible, 50 not"
        );
        assert!(
            raws_of.values().any(|r| r.len() > 1),
            "{d}: no summary shared by two raw documents"
        );
        let positions: Vec<&str> = rows.iter().map(|r| s(r, "document")).collect();
        assert!(
            interleaved(&positions),
            "{d}: rows of each summary are contiguous"
        );
    }
    let dq = rows(&dir, "document_based_qa");
    assert!(dq
        .iter()
        .all(|r| r.get("raw_document").is_none() && r["base_document"].is_string()));
}

/// True when some summary's rows are not contiguous in file order.
fn interleaved(docs: &[&str]) -> bool {
    let mut seen = BTreeSet::new();
    docs.iter().enumerate().any(|(i, d)| {
        let again = seen.contains(d) && i > 0 && docs[i - 1] != *d;
        seen.insert(*d);
        again
    })
}

#[test]
fn fixture_carries_the_strings_step04_must_clean_or_drop() {
    let all: Vec<Value> = DATASETS.iter().flat_map(|d| rows(&fixture(), d)).collect();
    let count = |key: &str, pat: &str| all.iter().filter(|r| s(r, key).contains(pat)).count();
    for pat in ["...", "<question>", "<Insert question here>"] {
        assert!(count("question", pat) > 0, "no question with {pat:?}");
    }
    for pat in [
        "[END]",
        "[ANSWER]",
        "[AN[END]SWER]",
        "\u{1f}",
        "\u{1c}",
        "\u{3000}",
        "\u{85}",
    ] {
        assert!(count("response", pat) > 0, "no response with {pat:?}");
    }
}

#[test]
fn output_does_not_depend_on_thread_count() {
    let flags = [
        "--seed",
        "11",
        "--raw-docs",
        "9",
        "--wide-messages",
        "3",
        "--reasoning",
        "--compress",
        "gzip",
        "--files-per-dataset",
        "2",
    ];
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    synth(a.path(), &flags, "1");
    synth(b.path(), &flags, "2");
    assert!(
        files(a.path()) == files(b.path()),
        "1 and 2 threads gave different bytes"
    );
    let rows = rows(a.path(), "extractive_summary");
    assert!(rows
        .iter()
        .all(|r| r["parse_response_dict_reasoning_content"].is_string()));
}

#[test]
fn target_bytes_stops_near_the_target_and_stale_files_go() {
    let tmp = tempfile::tempdir().unwrap();
    synth(
        tmp.path(),
        &["--files-per-dataset", "3", "--raw-docs", "2"],
        "2",
    );
    synth(
        tmp.path(),
        &["--target-bytes", "3MB", "--wide-messages", "10"],
        "2",
    );
    let all = files(tmp.path());
    assert_eq!(
        all.keys().filter(|n| n.contains("-of-")).count(),
        0,
        "stale split files left behind"
    );
    let total: usize = all.values().map(Vec::len).sum();
    assert!(
        (3_000_000..6_000_000).contains(&total),
        "wrote {total} bytes for a 3MB target"
    );
}
