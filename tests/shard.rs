//! `knowmix shard plan|index|emit|merge`: the merged cuts are
//! byte-identical to `knowmix mix` whatever the shard count, the stages
//! are idempotent and refuse to run out of order, and a killed shard is
//! simply rerun.

use std::path::{Path, PathBuf};

use crate::util::{fixture, knowmix, llama_dir, read_plain, tempdir};

const CUTS: &str = "1,3,5";

fn mix(input: &Path, out: &Path, extra: &[&str]) {
    knowmix()
        .arg("mix")
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(out)
        .arg("--tokenizer")
        .arg(llama_dir())
        .args(["--quiet", "--cut-sizes", CUTS])
        .args(extra)
        .assert()
        .success();
}

fn stage(args: &[&str], work: &Path) -> assert_cmd::assert::Assert {
    knowmix()
        .arg("shard")
        .args(&args[..1])
        .arg("--work")
        .arg(work)
        .args(&args[1..])
        .arg("--quiet")
        .assert()
}

/// Plan `shards`, then run every stage (index and emit shards in reverse
/// order, to show order does not matter).
fn sharded(input: &Path, work: &Path, out: &Path, shards: u32, extra: &[&str]) {
    let shards_text = shards.to_string();
    let mut flags = vec!["--cut-sizes", CUTS, "--shards", &shards_text];
    flags.extend_from_slice(extra);
    plan(input, work, &flags).success();
    for s in (0..shards).rev() {
        stage(&["index", "--shard", &s.to_string()], work).success();
    }
    for s in (0..shards).rev() {
        stage(&["emit", "--shard", &s.to_string(), "--threads", "1"], work).success();
    }
    stage(&["merge", "--output", out.to_str().unwrap()], work).success();
}

fn cut(out: &Path, n: u32) -> Vec<u8> {
    let path = out.join(format!("training_mix/combined_cut_{n}x.jsonl"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn assert_same_cuts(a: &Path, b: &Path, what: &str) {
    for n in [1, 3, 5] {
        let (x, y) = (cut(a, n), cut(b, n));
        assert!(!x.is_empty());
        assert!(
            x == y,
            "{what}: cut {n} differs ({} vs {} bytes)",
            x.len(),
            y.len()
        );
    }
}

/// `knowmix shard plan` of `input` into `work` with the fixture tokenizer
/// and `flags` (e.g. `--shards 3`).
fn plan(input: &Path, work: &Path, flags: &[&str]) -> assert_cmd::assert::Assert {
    knowmix()
        .args(["shard", "plan", "--quiet"])
        .args(flags)
        .arg("--input")
        .arg(input)
        .arg("--work")
        .arg(work)
        .arg("--tokenizer")
        .arg(llama_dir())
        .assert()
}

/// The fixture corpus with every file decompressed, so large plain files
/// are split mid-file by many shards.
fn plain_corpus(dir: &Path) -> PathBuf {
    let root = dir.join("plain_step_03");
    for entry in std::fs::read_dir(fixture("step_03")).unwrap() {
        let dataset = entry.unwrap().path();
        if !dataset.is_dir() {
            continue; // synth's .knowmix-synth marker
        }
        let target = root.join(dataset.file_name().unwrap());
        std::fs::create_dir_all(&target).unwrap();
        for file in std::fs::read_dir(&dataset).unwrap() {
            let file = file.unwrap().path();
            let name = file.file_name().unwrap().to_str().unwrap();
            let name = name.trim_end_matches(".gz").trim_end_matches(".zst");
            std::fs::write(target.join(name), read_plain(&file)).unwrap();
        }
    }
    root
}

#[test]
fn merged_cuts_equal_mix_for_1_3_7_shards() {
    let dir = tempdir();
    let plain = plain_corpus(dir.path());
    for (name, input) in [("mixed", fixture("step_03")), ("plain", plain)] {
        let reference = dir.path().join(format!("ref-{name}"));
        mix(&input, &reference, &[]);
        for shards in [1, 3, 7] {
            let work = dir.path().join(format!("work-{name}-{shards}"));
            let out = dir.path().join(format!("out-{name}-{shards}"));
            sharded(&input, &work, &out, shards, &[]);
            assert_same_cuts(&reference, &out, &format!("{name} corpus, {shards} shards"));
            let manifest: serde_json::Value = serde_json::from_slice(
                &std::fs::read(out.join("training_mix/manifest.json")).unwrap(),
            )
            .unwrap();
            let reference: serde_json::Value = serde_json::from_slice(
                &std::fs::read(reference.join("training_mix/manifest.json")).unwrap(),
            )
            .unwrap();
            for key in ["cuts", "inputs", "fingerprint", "infeasible_cuts"] {
                assert_eq!(
                    manifest[key], reference[key],
                    "{name}, {shards} shards: {key}"
                );
            }
        }
    }
}

/// Plan stores the fast counter's tables with the tokenizer: emit shards
/// (fresh pods, cold caches) map them and never read tokenizer.json; a
/// damaged tables file falls back to it, with the same bytes either way.
#[test]
fn emit_uses_the_tables_plan_stored() {
    let dir = tempdir();
    let input = fixture("step_03");
    let reference = dir.path().join("ref");
    mix(&input, &reference, &[]);
    for (name, damage) in [("tables only", false), ("damaged tables", true)] {
        let work = dir.path().join(format!("work-{damage}"));
        let out = dir.path().join(format!("out-{damage}"));
        plan(&input, &work, &["--cut-sizes", CUTS, "--shards", "2"]).success();
        let tokenizer = work.join("tokenizer");
        let tables = tokenizer.join("fast-counter.bin");
        assert!(tables.is_file(), "{name}: no tables in the work folder");
        if damage {
            let mut bytes = std::fs::read(&tables).unwrap();
            let last = bytes.len() - 1;
            bytes[last] ^= 0xff;
            std::fs::write(&tables, bytes).unwrap();
        } else {
            std::fs::remove_file(tokenizer.join("tokenizer.json")).unwrap();
        }
        for s in 0..2 {
            stage(&["index", "--shard", &s.to_string()], &work).success();
        }
        for s in 0..2 {
            knowmix()
                .env("KNOWMIX_CACHE_DIR", "")
                .args([
                    "shard",
                    "emit",
                    "--quiet",
                    "--shard",
                    &s.to_string(),
                    "--work",
                ])
                .arg(&work)
                .assert()
                .success();
        }
        stage(&["merge", "--output", out.to_str().unwrap()], &work).success();
        assert_same_cuts(&reference, &out, name);
    }
}

#[test]
fn plain_files_are_split_mid_file_at_line_starts() {
    let dir = tempdir();
    let input = plain_corpus(dir.path());
    let work = dir.path().join("work");
    plan(&input, &work, &["--shards", "7"]).success();
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.join("plan.json")).unwrap()).unwrap();
    let mut ranges = 0;
    for dataset in plan["datasets"].as_array().unwrap() {
        for part in dataset["shards"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s.as_array().unwrap())
        {
            let Some(range) = part["range"].as_object() else {
                continue;
            };
            ranges += 1;
            let bytes = std::fs::read(part["path"].as_str().unwrap()).unwrap();
            let start = range["start"].as_u64().unwrap() as usize;
            assert!(start == 0 || bytes[start - 1] == b'\n', "{part}");
            // Plan reads no file up to its cuts to count lines.
            assert!(range.get("lines_before").is_none(), "{part}");
        }
    }
    assert!(ranges >= 7, "only {ranges} byte ranges");
}

/// Lines of a part that starts mid-file are not counted up front; a
/// message about one still names its line, as `mix` does.
#[test]
fn errors_deep_in_a_split_file_name_their_line() {
    let dir = tempdir();
    let input = plain_corpus(dir.path());
    let file = input.join("extractive_summary/gen-00001-of-00003.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let bad = lines.len() * 9 / 10; // 0-based: line bad + 1, in the last shard
    let mut edited: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    edited[bad] = "{broken".to_owned();
    std::fs::write(&file, edited.join("\n") + "\n").unwrap();
    let name = format!("gen-00001-of-00003.jsonl:{}:", bad + 1);
    let out = dir.path().join("out");
    let run = knowmix()
        .args(["mix", "--quiet", "--cut-sizes", CUTS, "--tokenizer"])
        .arg(llama_dir())
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&out)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(said.contains(&name), "mix: {said}");
    let work = dir.path().join("work");
    plan(&input, &work, &["--cut-sizes", CUTS, "--shards", "7"]).success();
    let plan_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.join("plan.json")).unwrap()).unwrap();
    let starts_mid_file = plan_json["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["shards"].as_array().unwrap().iter().enumerate())
        .filter(|(_, parts)| {
            parts.as_array().unwrap().iter().any(|p| {
                p["path"]
                    .as_str()
                    .unwrap()
                    .ends_with("extractive_summary/gen-00001-of-00003.jsonl")
                    && p["range"]["start"].as_u64().unwrap_or(0) > 0
            })
        })
        .count();
    assert!(
        starts_mid_file > 0,
        "the file is not split mid-file: {plan_json}"
    );
    let mut said = String::new();
    for s in 0..7 {
        let run = knowmix()
            .args([
                "shard",
                "index",
                "--quiet",
                "--shard",
                &s.to_string(),
                "--work",
            ])
            .arg(&work)
            .output()
            .unwrap();
        said += &String::from_utf8_lossy(&run.stderr);
    }
    assert!(said.contains(&name), "shard index: {said}");
    // Skipped, the row goes to the rejects with the same line as mix's.
    let reference = dir.path().join("ref");
    mix(&input, &reference, &["--on-error", "skip"]);
    let (work, sharded_out) = (dir.path().join("work-skip"), dir.path().join("sharded"));
    sharded(&input, &work, &sharded_out, 7, &["--on-error", "skip"]);
    let rejected =
        |d: &Path| std::fs::read_to_string(d.join("training_mix/rejected.jsonl")).unwrap();
    assert!(
        rejected(&reference).contains(&format!("\"line\":{}", bad + 1)),
        "{}",
        rejected(&reference)
    );
    assert_eq!(rejected(&reference), rejected(&sharded_out));
}

#[test]
fn skipped_rows_are_gathered_from_every_shard() {
    let dir = tempdir();
    let input = plain_corpus(dir.path());
    let file = input.join("extractive_summary/gen-00001-of-00003.jsonl");
    let mut text = std::fs::read_to_string(&file).unwrap();
    let at = text.len() / 2;
    let at = at + text[at..].find('\n').unwrap() + 1;
    text.insert_str(at, "{broken\n");
    std::fs::write(&file, text).unwrap();
    let reference = dir.path().join("ref");
    mix(&input, &reference, &["--on-error", "skip"]);
    let (work, out) = (dir.path().join("work"), dir.path().join("out"));
    sharded(&input, &work, &out, 4, &["--on-error", "skip"]);
    assert_same_cuts(&reference, &out, "skip, 4 shards");
    let rejected = |d: &Path| std::fs::read_to_string(d.join("training_mix/rejected.jsonl"));
    assert_eq!(rejected(&reference).unwrap(), rejected(&out).unwrap());
}

#[test]
fn stages_refuse_to_run_early_and_are_idempotent() {
    let dir = tempdir();
    let work = dir.path().join("work");
    stage(&["index", "--shard", "0"], &work)
        .failure()
        .stderr(predicates::str::contains("no plan.json"));
    plan(&fixture("step_03"), &work, &["--shards", "3"]).success();
    stage(&["index", "--shard", "3"], &work)
        .failure()
        .stderr(predicates::str::contains("shard 3 does not exist"));
    stage(&["index", "--shard", "0"], &work).success();
    stage(&["emit", "--shard", "0"], &work)
        .failure()
        .code(1)
        .stderr(predicates::str::contains("index shard 1 of 3 is not done"));
    let marker = work.join("index/shard-00000/done.json");
    let before = std::fs::metadata(&marker).unwrap().modified().unwrap();
    knowmix()
        .args(["shard", "index", "--shard", "0"])
        .arg("--work")
        .arg(&work)
        .assert()
        .success()
        .stderr(predicates::str::contains("already done"));
    assert_eq!(
        std::fs::metadata(&marker).unwrap().modified().unwrap(),
        before
    );
    stage(&["index", "--shard", "1"], &work).success();
    stage(&["index", "--shard", "2"], &work).success();
    stage(
        &["merge", "--output", dir.path().join("o").to_str().unwrap()],
        &work,
    )
    .failure()
    .stderr(predicates::str::contains("emit shard 0 of 3 is not done"));
    // Planned again with other options: old markers are another plan's.
    plan(
        &fixture("step_03"),
        &work,
        &["--shards", "3", "--seed", "7"],
    )
    .success();
    stage(&["emit", "--shard", "0"], &work)
        .failure()
        .stderr(predicates::str::contains("written for another plan"));
}

#[test]
fn a_killed_index_shard_is_rerun_alone() {
    let dir = tempdir();
    let input = dir.path().join("step_03");
    knowmix()
        .arg("synth")
        .arg("--output")
        .arg(&input)
        .args(["--raw-docs", "40", "--quiet"])
        .assert()
        .success();
    let reference = dir.path().join("ref");
    mix(&input, &reference, &[]);
    let work = dir.path().join("work");
    plan(&input, &work, &["--shards", "2", "--cut-sizes", CUTS]).success();
    stage(&["index", "--shard", "0"], &work).success();
    let bin = assert_cmd::cargo::cargo_bin("knowmix");
    let started = std::time::Instant::now();
    stage(&["index", "--shard", "1"], &work).success();
    let full = started.elapsed();
    std::fs::remove_dir_all(work.join("index/shard-00001")).unwrap();
    for permille in [100u32, 400, 700, 900] {
        let mut child = std::process::Command::new(&bin)
            .args(["shard", "index", "--shard", "1", "--quiet"])
            .arg("--work")
            .arg(&work)
            .spawn()
            .unwrap();
        std::thread::sleep(full * permille / 1000);
        let _ = child.kill(); // SIGKILL
        child.wait().unwrap();
    }
    stage(&["index", "--shard", "1"], &work).success();
    for s in ["0", "1"] {
        stage(&["emit", "--shard", s], &work).success();
    }
    let out = dir.path().join("out");
    stage(&["merge", "--output", out.to_str().unwrap()], &work).success();
    assert_same_cuts(&reference, &out, "after SIGKILL and rerun");
}

/// Records every meter: its label, total, unit, the units added, and
/// whether it was finished.
#[derive(Default)]
struct Meters(std::sync::Mutex<Vec<std::sync::Arc<Recorded>>>);

#[derive(Debug, Default)]
struct Recorded {
    what: std::sync::Mutex<String>,
    total: Option<u64>,
    records: bool,
    added: std::sync::atomic::AtomicU64,
    finished: std::sync::atomic::AtomicBool,
}

impl knowmix::observe::MeterSink for Recorded {
    fn add(&self, n: u64) {
        self.added
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }
    fn label(&self, what: &str) {
        *self.what.lock().unwrap() = what.to_owned();
    }
    fn finish(&self) {
        self.finished
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl knowmix::observe::Observer for Meters {
    fn log(&self, _line: &str) {}
    fn meter(
        &self,
        what: &str,
        total: Option<u64>,
        unit: knowmix::observe::Unit,
    ) -> knowmix::observe::Meter {
        let recorded = std::sync::Arc::new(Recorded {
            what: std::sync::Mutex::new(what.to_owned()),
            total,
            records: unit == knowmix::observe::Unit::Records,
            ..Recorded::default()
        });
        self.0.lock().unwrap().push(recorded.clone());
        knowmix::observe::Meter::new(recorded)
    }
}

/// Every progress meter's total is the work its stage really does: a
/// finished meter stands at exactly 100% (issue 17: pass 2's bar stopped at
/// ~15% because its total was the whole input). Plain inputs give every
/// meter a total; the summary datasets' write meters count picked records.
#[test]
fn progress_meters_end_at_their_totals() {
    let dir = tempdir();
    let plain = plain_corpus(dir.path());
    for (name, input) in [("mixed", fixture("step_03")), ("plain", plain)] {
        let meters = std::sync::Arc::new(Meters::default());
        let mut options =
            knowmix::mix::MixOptions::new(&input, dir.path().join(format!("out-{name}")));
        options.tokenizer = llama_dir().display().to_string();
        options.cuts = vec![1, 3];
        options.threads = 2;
        let plan = options.plan(meters.clone()).unwrap();
        let runtime = knowmix::pipeline::runtime().unwrap();
        runtime.block_on(knowmix::mix::run_plan(plan)).unwrap();
        let all = meters.0.lock().unwrap();
        assert!(all.len() >= 5, "{name}: {all:?}");
        for m in all.iter() {
            let what = m.what.lock().unwrap().clone();
            let added = m.added.load(std::sync::atomic::Ordering::Relaxed);
            assert!(
                m.finished.load(std::sync::atomic::Ordering::Relaxed),
                "{name} {what}"
            );
            if let Some(total) = m.total {
                assert_eq!(added, total, "{name}: {what} ends at {added} of {total}");
            } else {
                assert_eq!(name, "mixed", "{what}: a plain input has a known total");
            }
        }
        let picked = all
            .iter()
            .filter(|m| m.records && m.total.is_some_and(|t| t > 0));
        // Compressed files are streamed (bytes); plain ones read picks.
        assert!(
            name == "mixed" || picked.count() >= 2,
            "{name}: summary datasets count records"
        );
    }
}
