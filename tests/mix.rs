//! End-to-end tests of `knowmix mix` on the fixture step-03 corpus: every
//! SPEC invariant checked against an independent reading of the inputs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::util::{fixture, knowmix, llama_dir, read_jsonl, read_plain, tempdir};

const DATASETS: [&str; 4] = [
    "extractive_summary",
    "detailed_summary",
    "key_facts_to_qa",
    "document_based_qa",
];

fn run_mix(out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    knowmix()
        .arg("mix")
        .arg("--input")
        .arg(fixture("step_03"))
        .arg("--output")
        .arg(out)
        .arg("--tokenizer")
        .arg(llama_dir())
        .arg("--quiet")
        .args(extra)
        .assert()
}

/// The input rows of one dataset, in file order.
fn input_rows(dataset: &str) -> Vec<Value> {
    let dir = fixture("step_03").join(dataset);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.iter().flat_map(|f| read_jsonl(f)).collect()
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("{k} in {v}"))
}

fn cut_records(out: &Path, n: u32) -> Vec<Value> {
    read_jsonl(
        &out.join("training_mix")
            .join(format!("combined_cut_{n}x.jsonl")),
    )
}

/// Records of a cut that came from `dataset`, identified by raw document and
/// document shape (summary datasets come first, in SPEC order).
fn split_by_dataset(records: &[Value]) -> BTreeMap<&'static str, Vec<Value>> {
    let mut keys: BTreeMap<(String, String, String), &'static str> = BTreeMap::new();
    for d in DATASETS {
        let raw_col = if d == "document_based_qa" {
            "base_document"
        } else {
            "raw_document"
        };
        for row in input_rows(d) {
            keys.insert(
                (
                    s(&row, "question").into(),
                    s(&row, raw_col).into(),
                    s(&row, "document").into(),
                ),
                d,
            );
        }
    }
    let mut out: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for r in records {
        let key = (
            s(r, "question").into(),
            s(r, "raw_document").into(),
            s(r, "document").into(),
        );
        out.entry(keys[&key]).or_default().push(r.clone());
    }
    out
}

#[test]
fn mix_writes_feasible_cuts_with_every_invariant() {
    let out = tempfile::tempdir().unwrap();
    run_mix(out.path(), &["--cut-sizes", "3,5,50"]).success();
    let dir = out.path().join("training_mix");
    assert!(
        !dir.join("combined_cut_50x.jsonl").exists(),
        "cut 50 must be infeasible"
    );
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["infeasible_cuts"][0]["cut_size"], 50);
    for n in [3u32, 5] {
        let records = cut_records(out.path(), n);
        check_record_shape(&records);
        let by_dataset = split_by_dataset(&records);
        for d in &DATASETS[..2] {
            check_summary_draw(d, &by_dataset[d], n);
        }
        for d in &DATASETS[2..] {
            check_all_rows_in_order(d, &by_dataset[d]);
        }
        // Datasets appear in SPEC order.
        let order: Vec<&str> = records.iter().map(|r| dataset_of(&by_dataset, r)).collect();
        let mut sorted = order.clone();
        sorted.sort_by_key(|d| DATASETS.iter().position(|x| x == d));
        assert_eq!(order, sorted);
    }
}

fn dataset_of(by: &BTreeMap<&'static str, Vec<Value>>, r: &Value) -> &'static str {
    by.iter()
        .find(|(_, v)| v.contains(r))
        .map(|(d, _)| *d)
        .unwrap()
}

fn check_record_shape(records: &[Value]) {
    for r in records {
        let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "question",
                "document_outline",
                "raw_document",
                "document",
                "messages",
                "metadata",
                "unmask",
                "token_length"
            ]
        );
        assert_eq!(r["unmask"], true);
        assert!(r["token_length"].as_u64().unwrap() > 20);
        let meta: Value = serde_json::from_str(s(r, "metadata")).unwrap();
        assert_eq!(meta["sdg_document"], r["document"]);
        assert_eq!(meta["raw_document"], r["raw_document"]);
        assert_eq!(meta["dataset"], "document_knowledge_qa");
        let m = r["messages"].as_array().unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0]["role"], "user");
        assert_eq!(m[0]["thinking"], Value::Null);
        assert_eq!(m[1]["role"], "assistant");
        let answer = s(&m[1], "content");
        assert_eq!(answer, answer.trim());
    }
}

fn check_summary_draw(dataset: &str, records: &[Value], n: u32) {
    let rows = input_rows(dataset);
    let mut available: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for row in &rows {
        available
            .entry(s(row, "raw_document"))
            .or_default()
            .insert(s(row, "document"));
    }
    let mut kept: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in records {
        kept.entry(s(r, "raw_document"))
            .or_default()
            .insert(s(r, "document"));
    }
    for (raw, docs) in &available {
        let got = kept.get(raw).map_or(0, |k| k.len());
        assert_eq!(
            got,
            docs.len().min(n as usize),
            "{dataset}: raw doc {raw:.40}"
        );
    }
    // Each kept summary: its first 3 rows in file order, in file order.
    let mut expected = Vec::new();
    let mut seen: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for row in &rows {
        let key = (s(row, "raw_document"), s(row, "document"));
        if kept.get(key.0).is_some_and(|k| k.contains(key.1)) {
            let count = seen.entry(key).or_default();
            *count += 1;
            if *count <= 3 {
                expected.push(s(row, "question"));
            }
        }
    }
    let got: Vec<&str> = records.iter().map(|r| s(r, "question")).collect();
    assert_eq!(got, expected, "{dataset}");
}

fn check_all_rows_in_order(dataset: &str, records: &[Value]) {
    let rows = input_rows(dataset);
    assert_eq!(records.len(), rows.len(), "{dataset}");
    for (r, row) in records.iter().zip(&rows) {
        assert_eq!(r["question"], row["question"]);
        // polars cleaning: [END], then [ANSWER], then strip_chars().
        let answer = s(row, "response")
            .replace("[END]", "")
            .replace("[ANSWER]", "");
        assert_eq!(s(&r["messages"][1], "content"), answer.trim());
        assert_eq!(r["messages"][1]["thinking"], "");
        let user = s(&r["messages"][0], "content");
        if dataset == "key_facts_to_qa" {
            assert_eq!(
                user,
                format!("In {}, {}", s(row, "document_outline"), s(row, "question"))
            );
        } else {
            assert_eq!(
                user,
                format!(
                    "{}\n{}\n\n{}",
                    s(row, "document_outline"),
                    s(row, "document"),
                    s(row, "question")
                )
            );
            assert_eq!(r["raw_document"], row["base_document"]);
        }
    }
}

#[test]
fn cuts_are_nested() {
    let out = tempfile::tempdir().unwrap();
    run_mix(out.path(), &["--cut-sizes", "1,2,3"]).success();
    let lines = |n| -> BTreeSet<String> {
        cut_records(out.path(), n)
            .iter()
            .map(|r| r.to_string())
            .collect()
    };
    assert!(lines(1).is_subset(&lines(2)));
    assert!(lines(2).is_subset(&lines(3)));
}

/// A cut's bytes do not depend on which other cuts are asked for: larger
/// ones (feasible or not) draw deeper, and pass 2 builds only the rows of
/// the feasible ones.
#[test]
fn a_cut_is_the_same_whatever_else_is_asked() {
    let cut_2 = |sizes: &str| {
        let out = tempfile::tempdir().unwrap();
        run_mix(out.path(), &["--cut-sizes", sizes]).success();
        std::fs::read(out.path().join("training_mix/combined_cut_2x.jsonl")).unwrap()
    };
    let alone = cut_2("2");
    assert!(!alone.is_empty());
    assert_eq!(alone, cut_2("2,3"));
    assert_eq!(alone, cut_2("2,1000"));
}

#[test]
fn same_bytes_whatever_the_thread_count_and_seed_matters() {
    let bytes = |threads: &str, seed: &str| {
        let out = tempfile::tempdir().unwrap();
        run_mix(
            out.path(),
            &["--cut-sizes", "2", "--threads", threads, "--seed", seed],
        )
        .success();
        std::fs::read(out.path().join("training_mix/combined_cut_2x.jsonl")).unwrap()
    };
    let one = bytes("1", "7");
    assert_eq!(one, bytes("3", "7"));
    assert_ne!(one, bytes("1", "8"));
}

/// Pass 2 reads picked rows of all-plain datasets at the places pass 1
/// recorded, and streams datasets with compressed files: both must give
/// the same bytes. The fixture mixes plain, gzip and zstd files in every
/// dataset; its decompressed copy is all plain, so there picked summary
/// rows are read as just their needed values (compact lines).
#[test]
fn reading_picks_at_their_places_gives_the_streamed_bytes() {
    let plain = tempdir();
    for entry in std::fs::read_dir(fixture("step_03")).unwrap() {
        let dataset = entry.unwrap().path();
        if !dataset.is_dir() {
            continue; // synth's .knowmix-synth marker
        }
        let target = plain.path().join(dataset.file_name().unwrap());
        std::fs::create_dir_all(&target).unwrap();
        for file in std::fs::read_dir(&dataset).unwrap() {
            let file = file.unwrap().path();
            let name = file.file_name().unwrap().to_str().unwrap();
            let name = name.trim_end_matches(".gz").trim_end_matches(".zst");
            std::fs::write(target.join(name), read_plain(&file)).unwrap();
        }
    }
    let streamed = tempdir();
    run_mix(streamed.path(), &["--cut-sizes", "1,3,5"]).success();
    let picked = tempdir();
    knowmix()
        .arg("mix")
        .arg("--input")
        .arg(plain.path())
        .arg("--output")
        .arg(picked.path())
        .arg("--tokenizer")
        .arg(llama_dir())
        .args(["--quiet", "--cut-sizes", "1,3,5", "--threads", "3"])
        .assert()
        .success();
    for n in [1, 3, 5] {
        let name = format!("training_mix/combined_cut_{n}x.jsonl");
        let streamed = std::fs::read(streamed.path().join(&name)).unwrap();
        assert!(!streamed.is_empty());
        assert!(
            std::fs::read(picked.path().join(&name)).unwrap() == streamed,
            "cut {n} differs between read-at-place and streamed"
        );
    }
}

#[test]
fn gpt_oss_drops_placeholder_questions() {
    let out = tempfile::tempdir().unwrap();
    run_mix(out.path(), &["--cut-sizes", "3", "--gpt-oss"]).success();
    let records = cut_records(out.path(), 3);
    for r in &records {
        let q = s(r, "question");
        assert!(
            !q.contains("...")
                && !q.contains("<question>")
                && !q.contains("<Insert question here>"),
            "{q}"
        );
    }
    let all = input_rows("key_facts_to_qa").len() + input_rows("document_based_qa").len();
    let plain = tempfile::tempdir().unwrap();
    run_mix(plain.path(), &["--cut-sizes", "3"]).success();
    assert!(records.len() < cut_records(plain.path(), 3).len() || all == 0);
}

#[test]
fn environment_and_dotenv_configure_like_the_notebook() {
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join(".env"), "CUT_SIZES=2\nQA_PER_DOC=1\n").unwrap();
    knowmix()
        .current_dir(work.path())
        .env("TOKENIZER_MODEL_NAME", llama_dir())
        .env("CUT_SIZES", "1")
        .args(["mix", "--quiet", "--output", "out", "--input"])
        .arg(fixture("step_03"))
        .assert()
        .success();
    // Environment (1) beats .env (2); QA_PER_DOC comes from .env.
    let dir = work.path().join("out/training_mix");
    assert!(dir.join("combined_cut_1x.jsonl").exists());
    assert!(!dir.join("combined_cut_2x.jsonl").exists());
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["parameters"]["qa_per_doc"], 1);
}

#[test]
fn no_feasible_cut_is_an_error_and_writes_nothing() {
    let out = tempfile::tempdir().unwrap();
    run_mix(out.path(), &["--cut-sizes", "500"])
        .failure()
        .code(1)
        .stderr(predicates::str::contains(
            "no requested cut size is feasible",
        ));
    assert!(!out
        .path()
        .join("training_mix/combined_cut_500x.jsonl")
        .exists());
}

#[test]
fn invalid_cut_sizes_is_a_usage_error() {
    let out = tempfile::tempdir().unwrap();
    run_mix(out.path(), &["--cut-sizes", "5,x"])
        .failure()
        .code(2)
        .stderr(predicates::str::contains("\"x\""));
}

/// Every record we write is byte-identical to the line the notebook writes
/// for the same row (goldens from `scripts/notebook_mix.py --all-summaries`,
/// see fixtures/goldens/README.md), token_length included. Rows of a summary
/// shared by two raw documents are the one known exception: the notebook
/// groups them under the first raw document only.
#[test]
fn records_match_the_notebook_byte_for_byte() {
    for (flag, golden) in [(None, "plain"), (Some("--gpt-oss"), "gpt-oss")] {
        let path = fixture(&format!(
            "goldens/notebook/all_summaries_qa3_{golden}.jsonl"
        ));
        let text = std::fs::read_to_string(&path).unwrap();
        let mut by_key: BTreeMap<(String, String, String), &str> = BTreeMap::new();
        for line in text.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            by_key.insert(
                (
                    s(&v, "question").into(),
                    s(&v, "raw_document").into(),
                    s(&v, "document").into(),
                ),
                line,
            );
        }
        let out = tempfile::tempdir().unwrap();
        let mut args = vec!["--cut-sizes", "5"];
        args.extend(flag);
        run_mix(out.path(), &args).success();
        let ours =
            std::fs::read_to_string(out.path().join("training_mix/combined_cut_5x.jsonl")).unwrap();
        let (mut same, mut unmatched) = (0, Vec::new());
        for line in ours.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            let key = (
                s(&v, "question").into(),
                s(&v, "raw_document").into(),
                s(&v, "document").into(),
            );
            match by_key.get(&key) {
                Some(golden) => {
                    assert_eq!(
                        line, *golden,
                        "{golden}: record differs from the notebook's"
                    );
                    same += 1;
                }
                None => unmatched.push(key.2),
            }
        }
        let shared = shared_summaries();
        assert!(
            unmatched.iter().all(|d| shared.contains(d)),
            "{golden}: unmatched {unmatched:?}"
        );
        assert!(same > 300, "{golden}: only {same} records compared");
    }
}

/// Summaries that appear under more than one raw document.
fn shared_summaries() -> BTreeSet<String> {
    let mut raws: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for d in &DATASETS[..2] {
        for row in input_rows(d) {
            raws.entry(s(&row, "document").into())
                .or_default()
                .insert(s(&row, "raw_document").into());
        }
    }
    raws.into_iter()
        .filter(|(_, r)| r.len() > 1)
        .map(|(d, _)| d)
        .collect()
}
