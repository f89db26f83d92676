//! `knowmix stats`: totals and percentiles of records, per-dataset
//! grouping, and cut feasibility on a step-03 folder.

use serde_json::Value;

use crate::util::{knowmix, pipe_corpus, read_jsonl, tempdir, write_compressed};

fn stats_json(args: &[&str], stdin: Option<&str>) -> Value {
    let mut cmd = knowmix();
    cmd.args(["stats", "--json"]).args(args);
    if let Some(input) = stdin {
        cmd.write_stdin(input.to_owned());
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn stats_totals_match_the_records() {
    let (_, cut) = pipe_corpus();
    let records = read_jsonl(cut);
    let tokens: u64 = records
        .iter()
        .map(|r| r["token_length"].as_u64().unwrap())
        .sum();
    let mut lengths: Vec<u64> = records
        .iter()
        .map(|r| r["token_length"].as_u64().unwrap())
        .collect();
    lengths.sort();
    let dir = tempdir();
    let zst = dir.path().join("cut.jsonl.zst");
    write_compressed(&zst, &std::fs::read(cut).unwrap());
    let from_file = stats_json(&[zst.to_str().unwrap()], None);
    let from_stdin = stats_json(&[], Some(&std::fs::read_to_string(cut).unwrap()));
    assert_eq!(from_file, from_stdin);
    let total = &from_file["total"];
    assert_eq!(total["records"], records.len() as u64);
    assert_eq!(total["bytes"], std::fs::metadata(cut).unwrap().len());
    assert_eq!(total["tokens"], tokens);
    assert_eq!(
        from_file["datasets"]["document_knowledge_qa"]["records"],
        records.len() as u64
    );
    assert_eq!(from_file["token_length"]["min"], lengths[0]);
    assert_eq!(from_file["token_length"]["max"], *lengths.last().unwrap());
    let llama = crate::util::llama_dir();
    let counted = stats_json(
        &[
            "--tokenizer",
            llama.to_str().unwrap(),
            cut.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(counted, from_file, "--tokenizer counts what mix wrote");
}

#[test]
fn stats_reads_metadata_objects_and_strings() {
    let input = concat!(
        "{\"metadata\":{\"dataset\":\"a\"},\"token_length\":1}\n",
        "{\"metadata\":\"{\\\"dataset\\\": \\\"b\\\"}\",\"token_length\":2}\n",
        "{\"metadata\":{\"dataset\":\"a\"},\"token_length\":10}\n",
        "{\"x\":1}\n",
    );
    let s = stats_json(&[], Some(input));
    assert_eq!(s["datasets"]["a"]["records"], 2);
    assert_eq!(s["datasets"]["a"]["tokens"], 11);
    assert_eq!(s["datasets"]["b"]["tokens"], 2);
    assert_eq!(s["datasets"]["(none)"]["without_token_length"], 1);
    assert_eq!(
        s["token_length"],
        serde_json::json!({"min": 1, "median": 2.0, "p95": 10, "max": 10})
    );
}

#[test]
fn stats_on_a_step03_folder_agrees_with_mix_feasibility() {
    let (step03, _) = pipe_corpus();
    let s = stats_json(&["--cut-sizes", "1,2,50", step03.to_str().unwrap()], None);
    assert_eq!(s["feasible_cut_sizes"], serde_json::json!([1, 2]));
    for d in ["extractive_summary", "detailed_summary"] {
        let ds = &s["datasets"][d];
        assert_eq!(ds["raw_documents"], 6, "{d}");
        assert!(ds["summaries"].as_u64().unwrap() >= 6, "{d}");
    }
    let table = knowmix().arg("stats").arg(step03).output().unwrap();
    assert!(String::from_utf8(table.stdout)
        .unwrap()
        .contains("feasible_cut_sizes: "));
}
