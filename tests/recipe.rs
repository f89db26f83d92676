//! End-to-end tests of `knowmix recipe`: exact counts for every kind of ask,
//! repetition caps and the infeasible error, determinism, shuffle
//! uniformity, system prompts, sharding and manifests. Inputs are small
//! chat JSONL files written to a temp dir; each record carries an `id`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde_json::Value;

use crate::util::{knowmix, read_jsonl, tempdir};

/// Write `n` records `{messages, token_length, id: "{name}-{i}"}`.
fn source(dir: &Path, name: &str, n: usize, tokens: Option<u64>) {
    let mut text = String::new();
    for i in 0..n {
        let tl = tokens.map_or(String::new(), |t| format!(",\"token_length\":{t}"));
        text += &format!(
            "{{\"messages\":[{{\"role\":\"user\",\"content\":\"q{i}\"}},{{\"role\":\"assistant\",\"content\":\"a{i}\"}}]{tl},\"id\":\"{name}-{i}\"}}\n"
        );
    }
    std::fs::write(dir.join(name), text).unwrap();
}

/// Run `recipe` (written to `dir/recipe.yaml`) with `extra` args.
fn run(dir: &Path, recipe: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
    std::fs::write(dir.join("recipe.yaml"), recipe).unwrap();
    knowmix()
        .arg("recipe")
        .arg(dir.join("recipe.yaml"))
        .arg("-o")
        .arg(dir.join("mix.jsonl"))
        .args(extra)
        .assert()
}

fn ids(records: &[Value]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in records {
        *out.entry(r["id"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    out
}

fn from<'a>(
    counts: &'a BTreeMap<String, usize>,
    prefix: &'a str,
) -> impl Iterator<Item = usize> + 'a {
    counts
        .iter()
        .filter(move |(k, _)| k.starts_with(prefix))
        .map(|(_, c)| *c)
}

#[test]
fn integer_and_float_sampling_sizes_are_exact() {
    let dir = tempdir();
    source(dir.path(), "a.jsonl", 200, Some(5));
    source(dir.path(), "b.jsonl", 100, Some(5));
    source(dir.path(), "c.jsonl", 50, Some(5));
    source(dir.path(), "d.jsonl", 7, Some(5));
    let recipe = "datasets:\n  - {path: a.jsonl, sampling_size: 2.5}\n  - {path: b.jsonl, sampling_size: 30}\n  \
                  - {path: c.jsonl, sampling_size: 0.2}\n  - {path: d.jsonl, sampling_size: 1.0}\n";
    run(dir.path(), recipe, &[]).success();
    let counts = ids(&read_jsonl(&dir.path().join("mix.jsonl")));
    let a: Vec<usize> = from(&counts, "a.jsonl").collect();
    assert_eq!(a.len(), 200, "every record of a at least twice");
    assert_eq!(
        a.iter().filter(|c| **c == 3).count(),
        100,
        "100 distinct records a third time"
    );
    assert!(a.iter().all(|c| *c == 2 || *c == 3));
    assert_eq!(from(&counts, "b.jsonl").collect::<Vec<_>>(), vec![1; 30]);
    assert_eq!(from(&counts, "c.jsonl").collect::<Vec<_>>(), vec![1; 10]);
    assert_eq!(from(&counts, "d.jsonl").collect::<Vec<_>>(), vec![1; 7]);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("mix.jsonl.manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["sources"][0]["copies"], 500);
    assert_eq!(manifest["sources"][0]["selected"], 200);
    assert_eq!(manifest["total"]["records"], 547);
    assert_eq!(manifest["seed"], 42);
    assert_eq!(manifest["recipe"]["sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn token_budget_and_weights() {
    let dir = tempdir();
    source(dir.path(), "t.jsonl", 100, Some(10));
    source(dir.path(), "w1.jsonl", 300, Some(1));
    source(dir.path(), "w2.jsonl", 500, Some(1));
    let recipe = "target: {records: 1000}\ndatasets:\n  - {path: t.jsonl, tokens: 2345}\n  \
                  - {path: w1.jsonl, weight: 3}\n  - {path: w2.jsonl, weight: 1}\n";
    run(dir.path(), recipe, &[]).success();
    let records = read_jsonl(&dir.path().join("mix.jsonl"));
    let counts = ids(&records);
    let t: Vec<usize> = from(&counts, "t.jsonl").collect();
    // 2 whole copies (2000 tokens) + 35 records to reach 345 more: 2350 tokens.
    assert_eq!((t.len(), t.iter().sum::<usize>()), (100, 235));
    assert_eq!(from(&counts, "w1.jsonl").sum::<usize>(), 750);
    assert_eq!(from(&counts, "w2.jsonl").sum::<usize>(), 250);
    assert_eq!(
        from(&counts, "w2.jsonl").count(),
        250,
        "downsampling draws without replacement"
    );
}

#[test]
fn repetition_caps_and_the_infeasible_error() {
    let dir = tempdir();
    source(dir.path(), "w1.jsonl", 300, None);
    source(dir.path(), "w2.jsonl", 500, None);
    let recipe =
        "target: {records: 1000}\ndatasets:\n  - {path: w1.jsonl, weight: 3, max_repeats: 2}\n  \
                  - {path: w2.jsonl, weight: 1}\n";
    let out = run(dir.path(), recipe, &[]).failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains("largest achievable target is records: 800"),
        "{err}"
    );
    assert!(err.contains("would need max_repeats 3"), "{err}");
    assert!(!dir.path().join("mix.jsonl").exists());
    let ok = recipe.replace("1000", "800");
    run(dir.path(), &ok, &[]).success();
    let counts = ids(&read_jsonl(&dir.path().join("mix.jsonl")));
    assert!(from(&counts, "w1.jsonl").all(|c| c == 2));
    let fixed = "datasets:\n  - {path: w1.jsonl, sampling_size: 1000, max_repeats: 3}\n";
    let out = run(dir.path(), fixed, &[]).failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains("largest achievable is sampling_size: 900") && err.contains("max_repeats 4"),
        "{err}"
    );
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let dir = tempdir();
    source(dir.path(), "a.jsonl", 300, Some(3));
    let recipe = "datasets:\n  - {path: a.jsonl, sampling_size: 0.5}\n";
    let bytes = |seed: &str| {
        run(
            dir.path(),
            recipe,
            &["--seed", seed, "--memory-limit", "1KiB"],
        )
        .success();
        std::fs::read(dir.path().join("mix.jsonl")).unwrap()
    };
    let first = bytes("7");
    assert_eq!(first, bytes("7"));
    assert_ne!(first, bytes("8"));
    run(dir.path(), recipe, &["--no-shuffle"]).success();
    let ordered: Vec<usize> = read_jsonl(&dir.path().join("mix.jsonl"))
        .iter()
        .map(|r| r["id"].as_str().unwrap()[8..].parse().unwrap())
        .collect();
    assert_eq!(ordered.len(), 150);
    assert!(ordered.windows(2).all(|w| w[0] < w[1]), "source order");
}

#[test]
fn shuffle_first_position_is_uniform() {
    use knowmix::recipe::shuffle::shuffle_key;
    let (n, seeds) = (10u64, 20_000u64);
    let mut first = vec![0u64; n as usize];
    for seed in 0..seeds {
        let winner = (0..n).min_by_key(|&o| shuffle_key(seed, 1, o, 0)).unwrap();
        first[winner as usize] += 1;
    }
    let expected = seeds as f64 / n as f64;
    let chi2: f64 = first
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum();
    assert!(
        chi2 < 27.88,
        "chi-square {chi2} over 9 degrees of freedom (p = 0.001): {first:?}"
    );
}

#[test]
fn system_prompt_is_inserted_and_other_bytes_kept() {
    let dir = tempdir();
    std::fs::write(
        dir.path().join("s.jsonl"),
        "{\"id\": 1, \"messages\": [{\"role\":\"user\",\"content\":\"q\"}], \"token_length\": 3}\n",
    )
    .unwrap();
    let recipe = "metadata:\n  sys_prompt: You are a tester.\ndatasets:\n  - {path: s.jsonl, sampling_size: 1}\n";
    run(dir.path(), recipe, &[]).success();
    let text = std::fs::read_to_string(dir.path().join("mix.jsonl")).unwrap();
    assert_eq!(
        text,
        "{\"id\": 1, \"messages\": [{\"role\":\"system\",\"content\":\"You are a tester.\"},{\"role\":\"user\",\"content\":\"q\"}], \"token_length\": 3}\n"
    );
}

#[test]
fn globs_compressed_inputs_and_shards() {
    let dir = tempdir();
    std::fs::create_dir(dir.path().join("parts")).unwrap();
    source(&dir.path().join("parts"), "p1.jsonl", 40, Some(2));
    source(dir.path(), "p2.tmp", 60, Some(2));
    let plain = std::fs::read(dir.path().join("p2.tmp")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&plain).unwrap();
    std::fs::write(dir.path().join("parts/p2.jsonl.gz"), gz.finish().unwrap()).unwrap();
    let recipe = "datasets:\n  - {path: \"parts/*.jsonl*\", sampling_size: 1.0}\n";
    run(dir.path(), recipe, &["--max-records-per-file", "30"]).success();
    let shards: Vec<usize> = (0..4)
        .map(|i| read_jsonl(&dir.path().join(format!("mix-{i:05}.jsonl"))).len())
        .collect();
    assert_eq!(shards, [30, 30, 30, 10]);
    assert!(!dir.path().join("mix-00004.jsonl").exists());
}

#[test]
fn errors_name_the_recipe_line_and_the_missing_token_lengths() {
    let dir = tempdir();
    source(dir.path(), "a.jsonl", 5, None);
    let out = run(
        dir.path(),
        "datasets:\n  - path: a.jsonl\n    sampling_sise: 2\n",
        &[],
    )
    .failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains("recipe.yaml:3:") && err.contains("sampling_sise"),
        "{err}"
    );
    let out = run(
        dir.path(),
        "datasets:\n  - {path: a.jsonl, tokens: 5k}\n",
        &[],
    )
    .failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains("a.jsonl:1: record has no `token_length`") && err.contains("--tokenizer"),
        "{err}"
    );
}

/// `recipe --tokenizer` reads a record's conversation with the same parser
/// as `tokens` (`thinking` included): its population tokens equal the sum
/// of the `token_length`s `tokens` sets on the same file.
#[test]
fn recipe_counts_tokens_as_tokens_does() {
    let dir = tempdir();
    let records = [
        r#"{"messages":[{"role":"user","content":"What is 2+2?"},{"role":"assistant","content":"4","thinking":"Add two and two: that is four, said plainly."}],"id":"a-0"}"#,
        r#"{"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello!","thinking":null}],"id":"a-1"}"#,
    ];
    std::fs::write(dir.path().join("a.jsonl"), records.join("\n") + "\n").unwrap();
    let tokenizer = crate::util::fixture("tokenizers/llama-3.1-instruct");
    let counted = knowmix()
        .arg("tokens")
        .arg("--tokenizer")
        .arg(&tokenizer)
        .arg(dir.path().join("a.jsonl"))
        .output()
        .unwrap();
    assert!(
        counted.status.success(),
        "{}",
        String::from_utf8_lossy(&counted.stderr)
    );
    let want: u64 = String::from_utf8(counted.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["token_length"]
                .as_u64()
                .unwrap()
        })
        .sum();
    run(
        dir.path(),
        "datasets:\n  - {path: a.jsonl, sampling_size: 1.0}\n",
        &["--tokenizer", tokenizer.to_str().unwrap()],
    )
    .success();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("mix.jsonl.manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["sources"][0]["population"]["tokens"], want);
}
