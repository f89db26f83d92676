//! Regressions of issue 17's hostile test campaign, worst first: data loss,
//! panics, hangs, silent wrong output. One test per fault class; TESTING.md's
//! fault table names each with the outcome it pins.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use crate::errors::{assert_fails, edit, mix, outputs};
use crate::util::{corpus, fixture, knowmix, llama_dir, read_jsonl, read_plain, tempdir};

/// The notebook variables `knowmix()` clears, cleared here too.
const ENV: [&str; 6] = [
    "TOKENIZER_MODEL",
    "TOKENIZER_MODEL_NAME",
    "CUT_SIZES",
    "QA_PER_DOC",
    "SAVE_GPT_OSS_FORMAT",
    "SEED",
];

/// `knowmix ARGS` killed after `secs` seconds, so that a hang fails the
/// test instead of the suite.
fn within<S: AsRef<OsStr>>(secs: u64, args: &[S]) -> Output {
    let mut cmd = Command::new("timeout");
    cmd.args(["-s", "KILL", &secs.to_string()])
        .arg(assert_cmd::cargo::cargo_bin("knowmix"))
        .args(args);
    for var in ENV {
        cmd.env_remove(var);
    }
    let out = cmd.output().unwrap();
    assert_ne!(
        out.status.code(),
        None,
        "killed after {secs} s: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(out.status.code(), Some(137), "killed after {secs} s");
    out
}

/// `mix` arguments for `input` → `out` with cuts 1 and 3 and `extra`.
fn mix_args(input: &Path, out: &Path, extra: &[&str]) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["mix".into(), "--input".into(), input.into()];
    args.extend([
        "--output".into(),
        out.into(),
        "--cut-sizes".into(),
        "1,3".into(),
    ]);
    args.extend(["--tokenizer".into(), llama_dir().into()]);
    args.extend(extra.iter().map(OsString::from));
    args
}

/// The cuts 1 and 3 of the untouched fixture corpus, made once.
fn clean_cuts() -> &'static [Vec<u8>; 2] {
    static CELL: OnceLock<(tempfile::TempDir, [Vec<u8>; 2])> = OnceLock::new();
    &CELL
        .get_or_init(|| {
            let dir = tempdir();
            let out = dir.path().join("out");
            let run = mix(&fixture("step_03"), &out, &[]);
            assert!(run.status.success());
            let cut = |n| std::fs::read(out.join(format!("training_mix/combined_cut_{n}x.jsonl")));
            (dir, [cut(1).unwrap(), cut(3).unwrap()])
        })
        .1
}

#[track_caller]
fn assert_clean_cuts(out: &Path, suffix: &str) {
    for (i, n) in [1, 3].into_iter().enumerate() {
        let path = out.join(format!("training_mix/combined_cut_{n}x.jsonl{suffix}"));
        assert!(read_plain(&path) == clean_cuts()[i], "cut {n} differs");
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Write `n` chat records `{messages, id}` (plus `extra` members) to `path`.
fn chat_source(path: &Path, n: usize, extra: &str) {
    let mut text = String::new();
    for i in 0..n {
        text += &format!(
            "{{\"messages\":[{{\"role\":\"user\",\"content\":\"q{i}\"}},{{\"role\":\"assistant\",\"content\":\"a{i}\"}}]{extra},\"id\":{i}}}\n"
        );
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

// 1. synth never deletes or overwrites files it did not create.
#[test]
fn synth_needs_an_output_and_never_touches_a_foreign_corpus() {
    let dir = tempdir();
    let run = knowmix()
        .current_dir(dir.path())
        .args(["synth", "-q"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert!(stderr(&run).contains("--output"), "{}", stderr(&run));
    assert!(!dir.path().join("output").exists());
    // A real corpus where synth is pointed: refused, every byte kept.
    let (_keep, input) = corpus();
    let before = std::fs::read_dir(input.join("detailed_summary"))
        .unwrap()
        .count();
    let run = knowmix()
        .args(["synth", "-q", "--raw-docs", "2", "--output"])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("not written by knowmix synth"),
        "{}",
        stderr(&run)
    );
    assert_eq!(
        std::fs::read_dir(input.join("detailed_summary"))
            .unwrap()
            .count(),
        before
    );
    assert!(!input.join("detailed_summary/gen.jsonl").exists());
    // Its own output it may rewrite, stale shards included.
    let own = dir.path().join("own");
    for files in ["3", "1"] {
        let run = knowmix()
            .args([
                "synth",
                "-q",
                "--raw-docs",
                "2",
                "--files-per-dataset",
                files,
                "--output",
            ])
            .arg(&own)
            .output()
            .unwrap();
        assert!(run.status.success(), "{}", stderr(&run));
    }
    let names: Vec<_> = std::fs::read_dir(own.join("detailed_summary"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["gen.jsonl"]);
}

// 2. A failed log write never aborts the work nor panics.
#[test]
fn unwritable_stderr_never_aborts_the_work() {
    let full = || {
        Stdio::from(
            std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap(),
        )
    };
    let (dir, input) = corpus();
    let out = dir.path().join("out");
    let run = Command::new(assert_cmd::cargo::cargo_bin("knowmix"))
        .args(mix_args(&input, &out, &[]))
        .stderr(full())
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0));
    assert_clean_cuts(&out, "");
    let synth = dir.path().join("synth");
    let run = Command::new(assert_cmd::cargo::cargo_bin("knowmix"))
        .args(["synth", "--raw-docs", "2", "--output"])
        .arg(&synth)
        .stderr(full())
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0));
    chat_source(&dir.path().join("a.jsonl"), 5, ",\"token_length\":3");
    std::fs::write(
        dir.path().join("r.yaml"),
        "datasets:\n  - {path: a.jsonl, sampling_size: 2}\n",
    )
    .unwrap();
    let run = Command::new(assert_cmd::cargo::cargo_bin("knowmix"))
        .arg("recipe")
        .arg(dir.path().join("r.yaml"))
        .arg("-o")
        .arg(dir.path().join("m.jsonl"))
        .stderr(full())
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0));
    assert_eq!(read_jsonl(&dir.path().join("m.jsonl")).len(), 2);
    // A failure still exits 1, not 101.
    let run = Command::new(assert_cmd::cargo::cargo_bin("knowmix"))
        .args(["mix", "--input"])
        .arg(dir.path().join("nowhere"))
        .stderr(full())
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
}

/// The Llama tokenizer with a chat template that always raises.
fn raising_tokenizer(dir: &Path) -> PathBuf {
    let tok = dir.join("raising-tokenizer");
    std::fs::create_dir(&tok).unwrap();
    std::os::unix::fs::symlink(
        llama_dir().join("tokenizer.json"),
        tok.join("tokenizer.json"),
    )
    .unwrap();
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(llama_dir().join("tokenizer_config.json")).unwrap())
            .unwrap();
    config["chat_template"] = "{{ raise_exception('boom') }}".into();
    std::fs::write(tok.join("tokenizer_config.json"), config.to_string()).unwrap();
    tok
}

// 3. A template failure is not a bad input row; nor is a dataset whose
// every row was set aside a success.
#[test]
fn template_failures_and_all_rows_rejected_fail_under_skip() {
    let (dir, input) = corpus();
    let tok = raising_tokenizer(dir.path());
    let out = dir.path().join("out");
    let run = knowmix()
        .arg("mix")
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&out)
        .arg("--tokenizer")
        .arg(&tok)
        .args(["--on-error", "skip", "--cut-sizes", "1", "--quiet"])
        .output()
        .unwrap();
    assert_fails(&run, 1, &out, &["boom"]);
    // Every row of a dataset rejected: the run fails and says so.
    let (dir, input) = corpus();
    for name in std::fs::read_dir(input.join("key_facts_to_qa")).unwrap() {
        std::fs::remove_file(name.unwrap().path()).unwrap();
    }
    std::fs::write(input.join("key_facts_to_qa/gen.jsonl"), "{oops\n[1]\n").unwrap();
    let out = dir.path().join("out");
    let run = mix(&input, &out, &["--on-error", "skip"]);
    assert_fails(
        &run,
        1,
        &out,
        &["key_facts_to_qa: every row (2) was rejected"],
    );
}

// 4. A changed --compress is a change; compressed cuts resume.
#[test]
fn compress_is_a_change_and_compressed_cuts_resume() {
    let (dir, input) = corpus();
    let out = dir.path().join("out");
    assert!(mix(&input, &out, &[]).status.success());
    let run = mix(&input, &out, &["--compress", "zstd"]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert_clean_cuts(&out, ".zst");
    let want = [
        "combined_cut_1x.jsonl.zst",
        "combined_cut_3x.jsonl.zst",
        "manifest.json",
    ];
    assert_eq!(outputs(&out), want);
    let zst = out.join("training_mix/combined_cut_3x.jsonl.zst");
    let stamp = std::fs::metadata(&zst).unwrap().modified().unwrap();
    let run = within(60, &mix_args(&input, &out, &["--compress", "zstd"]));
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("cut 3: up to date"),
        "{}",
        stderr(&run)
    );
    assert_eq!(std::fs::metadata(&zst).unwrap().modified().unwrap(), stamp);
}

// 5. Directory links are not followed into loops, in any walker.
#[test]
fn directory_links_are_not_followed_into_loops() {
    use std::os::unix::fs::symlink;
    let (dir, input) = corpus();
    symlink(".", input.join("detailed_summary/self")).unwrap();
    symlink("..", input.join("detailed_summary/up")).unwrap();
    let out = dir.path().join("out");
    let run = within(60, &mix_args(&input, &out, &[]));
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("self: a link to a folder, not followed"),
        "{}",
        stderr(&run)
    );
    assert_clean_cuts(&out, "");
    let run = within(60, &[OsStr::new("stats"), input.as_os_str()]);
    assert!(run.status.success(), "{}", stderr(&run));
    // A recipe `**` glob.
    let data = dir.path().join("data");
    chat_source(&data.join("a.jsonl"), 5, ",\"token_length\":3");
    chat_source(&data.join("sub/b.jsonl"), 5, ",\"token_length\":3");
    symlink(".", data.join("self")).unwrap();
    symlink("..", data.join("sub/up")).unwrap();
    let recipe = dir.path().join("r.yaml");
    std::fs::write(
        &recipe,
        "datasets:\n  - {path: \"data/**/*.jsonl\", sampling_size: 1.0}\n",
    )
    .unwrap();
    let mixed = dir.path().join("m.jsonl");
    let run = within(
        60,
        &[
            OsStr::new("recipe"),
            recipe.as_os_str(),
            OsStr::new("-o"),
            mixed.as_os_str(),
        ],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(read_jsonl(&mixed).len(), 10);
}

// 6. An output that is one of the inputs is refused before reading.
#[test]
fn an_output_that_is_an_input_is_refused() {
    let dir = tempdir();
    let a = dir.path().join("a.jsonl");
    chat_source(&a, 20, ",\"token_length\":3");
    let original = std::fs::read(&a).unwrap();
    let linked = dir.path().join("linked.jsonl");
    std::fs::hard_link(&a, &linked).unwrap();
    for args in [
        vec!["sample", "-n", "10", "a.jsonl", "-o", "a.jsonl"],
        vec!["sample", "-n", "10", "a.jsonl", "-o", "./linked.jsonl"],
        vec!["tokens", "a.jsonl", "-o", "a.jsonl"],
        vec!["recipe", "r.yaml", "-o", "a.jsonl"],
    ] {
        std::fs::write(
            dir.path().join("r.yaml"),
            "datasets:\n  - {path: a.jsonl, sampling_size: 2}\n",
        )
        .unwrap();
        let run = knowmix()
            .current_dir(dir.path())
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(2), "{args:?}: {}", stderr(&run));
        assert!(
            stderr(&run).contains("is also an input"),
            "{args:?}: {}",
            stderr(&run)
        );
        assert_eq!(std::fs::read(&a).unwrap(), original, "{args:?}");
    }
}

// 9. A malformed .env line is an error naming it.
#[test]
fn malformed_dotenv_names_its_line() {
    let dir = tempdir();
    std::fs::write(
        dir.path().join(".env"),
        "SEED=7\nthis is not valid\nCUT_SIZES=1\n",
    )
    .unwrap();
    let run = knowmix()
        .current_dir(dir.path())
        .args(["mix", "--input", "nowhere"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert!(stderr(&run).contains(".env:2"), "{}", stderr(&run));
}

// 10. A second run into a locked output folder fails at once.
#[test]
fn a_busy_output_folder_is_refused() {
    let (dir, input) = corpus();
    let out = dir.path().join("out");
    let folder = out.join("training_mix");
    std::fs::create_dir_all(&folder).unwrap();
    let mut holder = Command::new("flock")
        .arg(&folder)
        .args(["sleep", "60"])
        .spawn()
        .unwrap();
    // Wait until the holder has the lock.
    while Command::new("flock")
        .arg("-n")
        .arg(&folder)
        .arg("true")
        .status()
        .unwrap()
        .success()
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let run = within(30, &mix_args(&input, &out, &["--quiet"]));
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_fails(
        &run,
        1,
        &out,
        &["training_mix: in use by another knowmix run"],
    );
}

// 11. A dataset that exists but yields nothing readable is an error.
#[test]
fn a_dataset_with_nothing_readable_is_an_error() {
    /// (what, how the dataset folder is spoiled, expected message)
    type Case = (&'static str, fn(&Path), &'static str);
    let cases: [Case; 4] = [
        (
            "only .bz2",
            |d| {
                std::fs::write(d.join("gen.jsonl.bz2"), "BZh9").unwrap();
            },
            "gen.jsonl.bz2: unsupported compression",
        ),
        (
            "only hidden",
            |d| {
                std::fs::write(d.join(".gen.jsonl"), "{}\n").unwrap();
            },
            "detailed_summary: no readable JSON-lines file",
        ),
        (
            "empty",
            |_| {},
            "detailed_summary: no readable JSON-lines file",
        ),
        (
            "a file",
            |d| {
                std::fs::remove_dir(d).unwrap();
                std::fs::write(d, "{}\n").unwrap();
            },
            "detailed_summary: not a folder",
        ),
    ];
    for (what, make, needle) in cases {
        let (dir, input) = corpus();
        let folder = input.join("detailed_summary");
        for entry in std::fs::read_dir(&folder).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
        make(&folder);
        let out = dir.path().join("out");
        let run = mix(&input, &out, &[]);
        assert_eq!(run.status.code(), Some(1), "{what}: {}", stderr(&run));
        assert!(stderr(&run).contains(needle), "{what}: {}", stderr(&run));
    }
    // Upper-case names are plainly JSON lines: read.
    let (dir, input) = corpus();
    let folder = input.join("detailed_summary");
    std::fs::rename(
        folder.join("gen-00000-of-00003.jsonl"),
        folder.join("gen-00000-of-00003.JSONL"),
    )
    .unwrap();
    let out = dir.path().join("out");
    assert!(mix(&input, &out, &[]).status.success());
    assert_clean_cuts(&out, "");
}

// 12. Duplicate keys: the last value wins (Python's json); none is written twice.
#[test]
fn duplicate_keys_keep_the_last_value() {
    let (dir, input) = corpus();
    edit(&input, "document_based_qa", |lines| {
        for l in lines.iter_mut() {
            l.splice(1..1, br#""question":"an earlier value","#.iter().copied());
        }
    });
    let out = dir.path().join("out");
    assert!(mix(&input, &out, &[]).status.success());
    assert_clean_cuts(&out, "");
    let messages =
        r#"[{"role":"user","content":"hello there"},{"role":"assistant","content":"hi"}]"#;
    let other = r#"[{"role":"user","content":"x"}]"#;
    let input = format!(
        "{{\"messages\":{messages}}}\n{{\"token_length\":1,\"messages\":{other},\"messages\":{messages},\"token_length\":2}}\n"
    );
    let run = knowmix()
        .arg("tokens")
        .arg("--tokenizer")
        .arg(llama_dir())
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr(&run));
    let text = String::from_utf8(run.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[1].matches("token_length").count(), 1, "{}", lines[1]);
    let count =
        |l: &str| serde_json::from_str::<serde_json::Value>(l).unwrap()["token_length"].clone();
    assert_eq!(count(lines[1]), count(lines[0]));
}

// 13. FIFOs are skipped, not read; --threads is capped.
#[test]
fn fifos_are_skipped_and_threads_capped() {
    let (dir, input) = corpus();
    let fifo = input.join("detailed_summary/gen-00003-of-00003.jsonl");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let out = dir.path().join("out");
    let run = within(60, &mix_args(&input, &out, &["--threads", "100000"]));
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("gen-00003-of-00003.jsonl: not a regular file, ignored"),
        "{}",
        stderr(&run)
    );
    assert!(
        stderr(&run).contains("--threads 100000 capped to"),
        "{}",
        stderr(&run)
    );
    assert_clean_cuts(&out, "");
}

// 14. Only a top-level token_length is a length.
#[test]
fn nested_token_length_is_not_a_length() {
    let dir = tempdir();
    chat_source(
        &dir.path().join("a.jsonl"),
        20,
        ",\"meta\":{\"token_length\":1}",
    );
    std::fs::write(
        dir.path().join("r.yaml"),
        "datasets:\n  - {path: a.jsonl, tokens: 100}\n",
    )
    .unwrap();
    let run = knowmix()
        .arg("recipe")
        .arg(dir.path().join("r.yaml"))
        .arg("-o")
        .arg(dir.path().join("m.jsonl"))
        .arg("--tokenizer")
        .arg(llama_dir())
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(!read_jsonl(&dir.path().join("m.jsonl")).is_empty());
}

// 7. The outputs of one run are one set: nothing stale stays beside them.
#[test]
fn stale_outputs_do_not_survive_a_new_run() {
    let (dir, input) = corpus();
    let bad = edit(&input, "key_facts_to_qa", |l| l[2] = b"{oops".to_vec());
    let out = dir.path().join("out");
    assert!(mix(&input, &out, &["--on-error", "skip"]).status.success());
    assert!(outputs(&out).contains(&"rejected.jsonl".to_owned()));
    std::fs::copy(
        fixture("step_03/key_facts_to_qa").join(bad.file_name().unwrap()),
        &bad,
    )
    .unwrap();
    // An old cut that is now infeasible.
    std::fs::write(out.join("training_mix/combined_cut_50x.jsonl"), "{}\n").unwrap();
    let run = mix(
        &input,
        &out,
        &["--on-error", "skip", "--cut-sizes", "1,3,50"],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    let want = [
        "combined_cut_1x.jsonl",
        "combined_cut_3x.jsonl",
        "manifest.json",
    ];
    assert_eq!(outputs(&out), want);
    // recipe resharding to fewer files.
    let dir = tempdir();
    chat_source(&dir.path().join("a.jsonl"), 20, ",\"token_length\":3");
    std::fs::write(
        dir.path().join("r.yaml"),
        "datasets:\n  - {path: a.jsonl, sampling_size: 1.0}\n",
    )
    .unwrap();
    for per_file in ["5", "10"] {
        let run = knowmix()
            .current_dir(dir.path())
            .args([
                "recipe",
                "r.yaml",
                "-o",
                "mix.jsonl",
                "--max-records-per-file",
                per_file,
            ])
            .output()
            .unwrap();
        assert!(run.status.success(), "{}", stderr(&run));
    }
    let mut shards: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("mix-"))
        .collect();
    shards.sort();
    assert_eq!(shards, ["mix-00000.jsonl", "mix-00001.jsonl"]);
}

// 7. A cut that cannot be put in place leaves no manifest describing the
// previous run beside the new files: the folder is plainly unfinished.
#[test]
fn a_failed_rename_leaves_no_old_manifest() {
    let dir = tempdir();
    let out = dir.path().join("out");
    assert!(mix(&fixture("step_03"), &out, &[]).status.success());
    let mix_dir = out.join("training_mix");
    assert!(mix_dir.join("manifest.json").exists());
    // Cut 3's place is taken by a non-empty folder: its rename fails, after
    // cut 1's may have succeeded.
    let cut3 = mix_dir.join("combined_cut_3x.jsonl");
    std::fs::remove_file(&cut3).unwrap();
    std::fs::create_dir(&cut3).unwrap();
    std::fs::write(cut3.join("x"), "x").unwrap();
    let run = mix(&fixture("step_03"), &out, &["--seed", "7", "--force"]);
    assert!(!run.status.success());
    assert!(
        stderr(&run).contains("combined_cut_3x.jsonl"),
        "{}",
        stderr(&run)
    );
    assert!(
        !mix_dir.join("manifest.json").exists(),
        "the old manifest would describe files of two runs"
    );
    std::fs::remove_dir_all(&cut3).unwrap();
    let run = mix(&fixture("step_03"), &out, &["--seed", "7"]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(mix_dir.join("manifest.json").exists());
}

// 8. Absurd sizes are refused before any work; killed runs' leftovers go.
#[test]
fn absurd_sizes_are_refused_and_leftovers_removed() {
    let dir = tempdir();
    let d = dir.path();
    chat_source(&d.join("a.jsonl"), 20, ",\"token_length\":3");
    std::fs::write(
        d.join("r.yaml"),
        "datasets:\n  - {path: a.jsonl, sampling_size: 1000000000000.0}\n",
    )
    .unwrap();
    let run = within(
        60,
        &[
            OsStr::new("recipe"),
            d.join("r.yaml").as_os_str(),
            OsStr::new("-o"),
            d.join("m.jsonl").as_os_str(),
        ],
    );
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(stderr(&run).contains("--allow-large"), "{}", stderr(&run));
    assert!(!d.join("m.jsonl").exists());
    // Leftovers of killed runs: partial outputs nobody holds, spill folders.
    let spill = d.join("spill");
    std::fs::create_dir_all(spill.join("knowmix-spill-dead")).unwrap();
    for name in [
        ".m.jsonl.partial-dead",
        ".s.jsonl.partial-dead",
        ".t.jsonl.partial-dead",
    ] {
        std::fs::write(d.join(name), "x").unwrap();
    }
    std::fs::write(
        d.join("r.yaml"),
        "datasets:\n  - {path: a.jsonl, sampling_size: 2}\n",
    )
    .unwrap();
    let llama = llama_dir().display().to_string();
    for args in [
        &["recipe", "r.yaml", "-o", "m.jsonl", "--spill-dir", "spill"][..],
        &["sample", "-n", "3", "a.jsonl", "-o", "s.jsonl"],
        &["tokens", "a.jsonl", "--tokenizer", &llama, "-o", "t.jsonl"],
    ] {
        let run = knowmix().current_dir(d).args(args).output().unwrap();
        assert!(run.status.success(), "{args:?}: {}", stderr(&run));
    }
    let left: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".partial-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(std::fs::read_dir(&spill).unwrap().count(), 0);
}

// 8. Ctrl-C is prompt in every phase, even with a read blocked on a pipe
// that never closes: the run ends with 130 and leaves no partial output.
#[test]
fn an_interrupt_ends_a_blocked_run_at_once() {
    use std::io::Write;
    use std::time::{Duration, Instant};
    let dir = tempdir();
    let d = dir.path();
    let llama = llama_dir().display().to_string();
    let cases: [(&[&str], u64); 3] = [
        // While the tokenizer's tables are built, then while reading stdin.
        (&["tokens", "--tokenizer", &llama, "-o", "t.jsonl"], 100),
        (&["tokens", "--tokenizer", &llama, "-o", "t.jsonl"], 1500),
        (&["sample", "-n", "3", "-o", "s.jsonl"], 500),
    ];
    for (args, after_ms) in cases {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("knowmix"));
        for var in ENV {
            child.env_remove(var);
        }
        let mut child = child
            .current_dir(d)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // One record, and the pipe stays open: the reader waits for more.
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(b"{\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}\n")
            .unwrap();
        std::thread::sleep(Duration::from_millis(after_ms));
        let sent = Instant::now();
        assert!(Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap()
            .success());
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if sent.elapsed() > Duration::from_secs(15) {
                let _ = child.kill();
                panic!("{args:?}: still running 15 s after SIGINT");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        drop(stdin);
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        assert_eq!(
            status.code(),
            Some(130),
            "{args:?} after {after_ms} ms: {err}"
        );
        assert!(err.contains("interrupted"), "{args:?}: {err}");
        let left: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(left.is_empty(), "{args:?} left {left:?}");
    }
}
