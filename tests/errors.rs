//! Bad input and failures in `knowmix mix`: every bad input gets a one-line
//! error naming file and line (exit 1; 2 for usage) and leaves no output
//! behind; `--on-error skip` sets bad rows aside; reruns skip up-to-date
//! cuts; a run killed at any point and rerun gives the same bytes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::util::{corpus, fixture, knowmix, llama_dir, read_jsonl, tempdir};

const PLAIN: &str = "gen-00000-of-00003.jsonl";

/// Rewrite the plain file of `dataset`, line by line (`lines[i]` is line i+1).
pub(crate) fn edit(input: &Path, dataset: &str, f: impl FnOnce(&mut Vec<Vec<u8>>)) -> PathBuf {
    let path = input.join(dataset).join(PLAIN);
    let bytes = std::fs::read(&path).unwrap();
    let mut lines: Vec<Vec<u8>> = bytes
        .strip_suffix(b"\n")
        .unwrap()
        .split(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect();
    f(&mut lines);
    let mut out = lines.join(&b'\n');
    out.push(b'\n');
    std::fs::write(&path, out).unwrap();
    path
}

pub(crate) fn mix(input: &Path, out: &Path, extra: &[&str]) -> Output {
    let cuts: &[&str] = if extra.contains(&"--cut-sizes") {
        &[]
    } else {
        &["--cut-sizes", "1,3"]
    };
    knowmix()
        .arg("mix")
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(out)
        .arg("--tokenizer")
        .arg(llama_dir())
        .args(cuts)
        .arg("--quiet")
        .args(extra)
        .output()
        .unwrap()
}

/// The files under `out/training_mix` (names).
pub(crate) fn outputs(out: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(out.join("training_mix")) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Exit `code`, exactly one stderr line holding every `needles`, no output.
#[track_caller]
pub(crate) fn assert_fails(output: &Output, code: i32, out: &Path, needles: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(code), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("knowmix: error: "), "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
    let left: Vec<_> = outputs(out)
        .into_iter()
        .filter(|n| n.starts_with("combined_cut_") || n.contains(".partial-"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    stderr
}

/// Set `key` of line `line_no` (1-based) to the raw JSON `value`.
pub(crate) fn set_field(lines: &mut [Vec<u8>], line_no: usize, key: &str, value: &str) {
    let mut row: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&lines[line_no - 1]).unwrap();
    row.insert(key.into(), serde_json::from_str(value).unwrap());
    lines[line_no - 1] = serde_json::to_vec(&row).unwrap();
}

/// One bad-input class of a `mix` row: which dataset's plain file, how its
/// lines are spoiled, which line then fails, and the words that must follow
/// `file:line: ` in the one-line error.
struct BadRow {
    class: &'static str,
    dataset: &'static str,
    spoil: fn(&mut Vec<Vec<u8>>),
    line: usize,
    message: &'static [&'static str],
}

/// Every bad-row class `mix` reports (exit 1, nothing written).
const BAD_ROWS: &[BadRow] = &[
    BadRow {
        class: "malformed JSON",
        dataset: "key_facts_to_qa",
        spoil: |l| {
            let half = l[4].len() / 2;
            l[4].truncate(half);
        },
        line: 5,
        message: &["malformed JSON"],
    },
    BadRow {
        class: "a number where a string belongs",
        dataset: "detailed_summary",
        spoil: |l| set_field(l, 7, "question", "5"),
        line: 7,
        message: &["field `question` must be a string, found a number"],
    },
    BadRow {
        class: "a list where a string belongs",
        dataset: "key_facts_to_qa",
        spoil: |l| set_field(l, 3, "document_outline", "[\"a\"]"),
        line: 3,
        message: &["field `document_outline` must be a string, found a list"],
    },
    BadRow {
        class: "a missing column (found in pass 1, before any output)",
        dataset: "extractive_summary",
        spoil: |l| {
            let mut row: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(&l[9]).unwrap();
            row.remove("response");
            l[9] = serde_json::to_vec(&row).unwrap();
        },
        line: 10,
        message: &["missing column(s) [\"response\"]"],
    },
    BadRow {
        class: "invalid UTF-8",
        dataset: "document_based_qa",
        spoil: |l| {
            let at = l[1].iter().position(|&b| b == b':').unwrap() + 3;
            l[1][at] = 0xff;
        },
        line: 2,
        message: &["invalid UTF-8"],
    },
    BadRow {
        class: "a UTF-8 byte-order mark",
        dataset: "key_facts_to_qa",
        spoil: |l| {
            l[0].splice(0..0, [0xEF, 0xBB, 0xBF]);
        },
        line: 1,
        message: &["malformed JSON", "byte-order mark (BOM)"],
    },
    BadRow {
        class: "NaN",
        dataset: "detailed_summary",
        spoil: |l| {
            l[1].splice(1..1, b"\"score\":NaN,".iter().copied());
        },
        line: 2,
        message: &["NaN and Infinity are not JSON"],
    },
    BadRow {
        class: "not an object",
        dataset: "document_based_qa",
        spoil: |l| l[3] = b"[1,2]".to_vec(),
        line: 4,
        message: &["each line must be a JSON object"],
    },
];

#[test]
fn bad_rows_name_file_line_and_class() {
    for row in BAD_ROWS {
        let (dir, input) = corpus();
        let path = edit(&input, row.dataset, row.spoil);
        let out = dir.path().join("out");
        let run = mix(&input, &out, &[]);
        let place = format!("{}:{}: ", path.display(), row.line);
        let mut needles = vec![place.as_str()];
        needles.extend(row.message);
        eprintln!("bad row class: {}", row.class);
        assert_fails(&run, 1, &out, &needles);
    }
}

#[test]
fn truncated_last_line_says_so() {
    let (dir, input) = corpus();
    let path = input.join("document_based_qa").join(PLAIN);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 40]).unwrap();
    let lines = bytes.iter().filter(|&&b| b == b'\n').count();
    let out = mix(&input, &dir.path().join("out"), &[]);
    assert_fails(
        &out,
        1,
        &dir.path().join("out"),
        &[
            &format!("{}:{lines}:", path.display()),
            "truncated last line?",
        ],
    );
}

/// A bad input to a command other than `mix`: files to write in a fresh
/// folder (name, bytes), the arguments (run there), the exit code and the
/// words of the message.
struct BadInput {
    class: &'static str,
    files: &'static [(&'static str, &'static str)],
    env: &'static [(&'static str, &'static str)],
    args: &'static [&'static str],
    code: i32,
    message: &'static [&'static str],
}

const CHAT: &str = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"token_length\":3}\n";

/// Every bad-input class of `tokens`, `stats`, `recipe` and the settings.
const BAD_INPUTS: &[BadInput] = &[
    BadInput {
        class: "tokens: malformed JSON in words, not simd-json internals",
        files: &[("a.jsonl", "{\"messages\": [}\n")],
        env: &[],
        args: &["tokens", "a.jsonl", "--tokenizer", "@llama"],
        code: 1,
        message: &["a.jsonl:1: malformed JSON: expected a value at byte 14"],
    },
    BadInput {
        class: "stats: NaN named",
        files: &[("a.jsonl", "{\"token_length\": NaN}\n")],
        env: &[],
        args: &["stats", "a.jsonl"],
        code: 1,
        message: &["a.jsonl:1: malformed JSON: NaN and Infinity are not JSON"],
    },
    BadInput {
        class: "tokens: no messages list hints --field, a flag it has",
        files: &[("a.jsonl", "{\"conversation\": []}\n")],
        env: &[],
        args: &["tokens", "a.jsonl", "--tokenizer", "@llama"],
        code: 1,
        message: &["missing column(s) [\"messages\"]", "--field"],
    },
    BadInput {
        class: "tokens --template none: no text field hints --text-field, a flag it has",
        files: &[("a.jsonl", "{\"body\": \"hi\"}\n")],
        env: &[],
        args: &[
            "tokens",
            "a.jsonl",
            "--tokenizer",
            "@llama",
            "--template",
            "none",
        ],
        code: 1,
        message: &["missing column(s) [\"text\"]", "--text-field"],
    },
    BadInput {
        class: "recipe: a sampling_size that is not a number",
        files: &[
            ("a.jsonl", CHAT),
            (
                "r.yaml",
                "datasets:\n  - {path: a.jsonl, sampling_size: lots}\n",
            ),
        ],
        env: &[],
        args: &["recipe", "r.yaml", "-o", "m.jsonl"],
        code: 1,
        message: &[
            "r.yaml:2:",
            "`sampling_size` as a record count (e.g. 1000) or a ratio",
        ],
    },
    BadInput {
        class: "recipe: a folder as a source path",
        files: &[
            ("d/a.jsonl", CHAT),
            ("r.yaml", "datasets:\n  - {path: d, sampling_size: 1}\n"),
        ],
        env: &[],
        args: &["recipe", "r.yaml", "-o", "m.jsonl"],
        code: 1,
        message: &["d: a folder, not a file; name its files with a glob such as d/*.jsonl"],
    },
    BadInput {
        class: "an environment variable's bad value names the variable",
        files: &[],
        env: &[("SEED", "x")],
        args: &["mix", "--input", "nowhere"],
        code: 2,
        message: &["invalid value 'x'", "environment variable SEED"],
    },
];

#[test]
fn bad_inputs_of_other_commands_say_what_is_wrong() {
    for case in BAD_INPUTS {
        let dir = tempdir();
        for (name, text) in case.files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let llama = llama_dir();
        let args: Vec<&std::ffi::OsStr> = case
            .args
            .iter()
            .map(|a| {
                if *a == "@llama" {
                    llama.as_os_str()
                } else {
                    a.as_ref()
                }
            })
            .collect();
        let run = knowmix()
            .current_dir(dir.path())
            .args(args)
            .envs(case.env.iter().copied())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(
            run.status.code(),
            Some(case.code),
            "{}: {stderr}",
            case.class
        );
        for needle in case.message {
            assert!(
                stderr.contains(needle),
                "{}: {needle:?} not in {stderr}",
                case.class
            );
        }
        for internal in [
            "InternalError",
            "TapeError",
            "untagged enum",
            "ExpectedObjectContent",
        ] {
            assert!(!stderr.contains(internal), "{}: {stderr}", case.class);
        }
    }
}

#[test]
fn truncated_compressed_streams_say_so() {
    for (name, format) in [
        ("gen-00001-of-00003.jsonl.gz", "gzip"),
        ("gen-00002-of-00003.jsonl.zst", "zstd"),
    ] {
        let (dir, input) = corpus();
        let path = input.join("key_facts_to_qa").join(name);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() * 2 / 3]).unwrap();
        let out = mix(&input, &dir.path().join("out"), &[]);
        let needle = format!(
            "{}: {format} stream is truncated or corrupt",
            path.display()
        );
        assert_fails(&out, 1, &dir.path().join("out"), &[&needle]);
    }
}

#[test]
fn empty_files_and_folders() {
    // A missing dataset folder: warned and skipped (an empty one is an
    // error: tests/faults.rs).
    let (dir, input) = corpus();
    std::fs::remove_dir_all(input.join("key_facts_to_qa")).unwrap();
    // An empty .jsonl: warned, read as no rows.
    std::fs::write(
        input
            .join("document_based_qa")
            .join("gen-00003-of-00003.jsonl"),
        "",
    )
    .unwrap();
    let out = knowmix()
        .args(["mix", "--cut-sizes", "1"])
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(dir.path().join("out"))
        .arg("--tokenizer")
        .arg(llama_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("key_facts_to_qa: folder missing, dataset skipped"),
        "{stderr}"
    );
    assert!(
        stderr.contains("gen-00003-of-00003.jsonl: empty file"),
        "{stderr}"
    );
    // An input folder with no dataset at all.
    let empty = tempdir();
    let out = mix(empty.path(), &dir.path().join("out2"), &[]);
    assert_fails(
        &out,
        1,
        &dir.path().join("out2"),
        &["no step-03 dataset found"],
    );
}

#[test]
fn unrelated_files_are_warned_and_ignored() {
    let (dir, input) = corpus();
    std::fs::write(input.join("detailed_summary").join("notes.txt"), "hello").unwrap();
    std::fs::write(input.join("README.md"), "top-level").unwrap();
    let out = knowmix()
        .args(["mix", "--cut-sizes", "1"])
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(dir.path().join("out"))
        .arg("--tokenizer")
        .arg(llama_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("notes.txt: not a .jsonl file, ignored"),
        "{stderr}"
    );
}

#[test]
fn huge_line_bad_is_a_clear_error() {
    // 200 MB on one line: read whole, rejected by the parser with file:line.
    let (dir, input) = corpus();
    let path = input
        .join("document_based_qa")
        .join("gen-00003-of-00003.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    f.write_all(b"{\"question\": \"").unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..200 {
        f.write_all(&chunk).unwrap();
    }
    f.write_all(b"\n").unwrap();
    drop(f);
    let out = mix(&input, &dir.path().join("out"), &[]);
    assert_fails(
        &out,
        1,
        &dir.path().join("out"),
        &[&format!("{}:1: malformed JSON", path.display())],
    );
}

#[test]
fn huge_line_valid_works() {
    // A valid 20 MB row (tokenizing 200 MB of text would take minutes).
    let (dir, input) = corpus();
    let mut big = Vec::new();
    edit(&input, "document_based_qa", |l| {
        let doc = "word ".repeat(4 << 20);
        set_field(l, 1, "document", &serde_json::to_string(&doc).unwrap());
        big = l[0].clone();
    });
    assert!(big.len() > 20 << 20);
    let out = mix(&input, &dir.path().join("out"), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cut = read_jsonl(&dir.path().join("out/training_mix/combined_cut_1x.jsonl"));
    assert!(cut
        .iter()
        .any(|r| r["document"].as_str().is_some_and(|d| d.len() == 20 << 20)));
}

#[test]
fn tokenizer_missing_or_unreadable() {
    let (dir, input) = corpus();
    let missing = dir.path().join("no-such-tokenizer");
    let out = knowmix()
        .arg("mix")
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(dir.path().join("out"))
        .arg("--tokenizer")
        .arg(&missing)
        .arg("--quiet")
        .output()
        .unwrap();
    assert_fails(&out, 1, &dir.path().join("out"), &["no-such-tokenizer"]);
    let bad = dir.path().join("bad-tok");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(bad.join("tokenizer.json"), "{not json").unwrap();
    std::fs::copy(
        llama_dir().join("tokenizer_config.json"),
        bad.join("tokenizer_config.json"),
    )
    .unwrap();
    let out = knowmix()
        .arg("mix")
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(dir.path().join("out"))
        .arg("--tokenizer")
        .arg(&bad)
        .arg("--quiet")
        .output()
        .unwrap();
    assert_fails(&out, 1, &dir.path().join("out"), &["bad-tok"]);
}

#[test]
fn invalid_cut_sizes_is_a_usage_error() {
    let (dir, input) = corpus();
    for sizes in ["0", "five", "3,,x", ""] {
        let out = knowmix()
            .arg("mix")
            .arg("--input")
            .arg(&input)
            .arg("--output")
            .arg(dir.path().join("out"))
            .arg("--tokenizer")
            .arg(llama_dir())
            .env("CUT_SIZES", sizes)
            .arg("--quiet")
            .output()
            .unwrap();
        assert_fails(&out, 2, &dir.path().join("out"), &["CUT_SIZES"]);
    }
}

#[test]
fn unwritable_output_fails_cleanly_and_earlier_outputs_survive() {
    let (dir, input) = corpus();
    let file = dir.path().join("file.txt");
    std::fs::write(&file, "x").unwrap();
    let out = mix(&input, &file.join("sub"), &[]);
    assert_fails(
        &out,
        1,
        &file.join("sub"),
        &["file.txt/sub/training_mix: cannot create output folder"],
    );
    // A good run, then a failing one into the same folder: nothing lost.
    let good = dir.path().join("out");
    assert!(mix(&input, &good, &[]).status.success());
    let before: Vec<_> = outputs(&good)
        .iter()
        .map(|n| std::fs::read(good.join("training_mix").join(n)).unwrap())
        .collect();
    edit(&input, "key_facts_to_qa", |l| l[2].truncate(10));
    assert_eq!(mix(&input, &good, &[]).status.code(), Some(1));
    let after: Vec<_> = outputs(&good)
        .iter()
        .map(|n| std::fs::read(good.join("training_mix").join(n)).unwrap())
        .collect();
    assert_eq!(before, after);
}

#[test]
fn skip_sets_bad_rows_aside_and_keeps_the_rest() {
    let (dir, input) = corpus();
    let bad_row =
        br#"{"question":"q","document":"d","raw_document":"r","document_outline":"o"}"#.to_vec();
    let summary = edit(&input, "detailed_summary", |l| {
        l.insert(3, bad_row.clone()); // line 4: missing response
        l.insert(10, b"{oops".to_vec()); // line 11
    });
    let facts = edit(&input, "key_facts_to_qa", |l| {
        l.insert(0, b"[1,2]".to_vec())
    });
    let out = dir.path().join("out");
    let run = mix(&input, &out, &["--on-error", "skip"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let rejected = read_jsonl(&out.join("training_mix/rejected.jsonl"));
    let got: Vec<(String, u64)> = rejected
        .iter()
        .map(|r| {
            (
                r["file"].as_str().unwrap().to_owned(),
                r["line"].as_u64().unwrap(),
            )
        })
        .collect();
    let want = [
        (summary.display().to_string(), 4),
        (summary.display().to_string(), 11),
        (facts.display().to_string(), 1),
    ];
    assert_eq!(got, want);
    assert_eq!(rejected[1]["text"], "{oops");
    assert!(
        rejected[0]["reason"].as_str().unwrap().contains("response"),
        "{}",
        rejected[0]
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("training_mix/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["skipped"][0]["lines"], 2);
    assert_eq!(manifest["skipped"][1]["lines"], 1);
    let clean = dir.path().join("clean");
    assert!(mix(&fixture("step_03"), &clean, &[]).status.success());
    for n in [1, 3] {
        let name = format!("training_mix/combined_cut_{n}x.jsonl");
        assert!(
            std::fs::read(out.join(&name)).unwrap() == std::fs::read(clean.join(&name)).unwrap(),
            "cut {n}"
        );
    }
}

fn stamp(path: &Path) -> (u64, std::time::SystemTime) {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).unwrap();
    (meta.ino(), meta.modified().unwrap())
}

#[test]
fn rerun_skips_up_to_date_cuts_and_force_rewrites() {
    let (dir, input) = corpus();
    let out = dir.path().join("out");
    assert!(mix(&input, &out, &[]).status.success());
    let cut = out.join("training_mix/combined_cut_3x.jsonl");
    let first = stamp(&cut);
    let again = knowmix()
        .arg("mix")
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&out)
        .arg("--tokenizer")
        .arg(llama_dir())
        .args(["--cut-sizes", "1,3"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert!(
        stderr.contains("cut 1: up to date") && stderr.contains("cut 3: up to date"),
        "{stderr}"
    );
    assert_eq!(stamp(&cut), first);
    // A damaged cut is rewritten; the intact one is left alone.
    let small = out.join("training_mix/combined_cut_1x.jsonl");
    let good = std::fs::read(&small).unwrap();
    std::fs::write(&small, &good[..good.len() - 1]).unwrap();
    assert!(mix(&input, &out, &[]).status.success());
    assert_eq!(std::fs::read(&small).unwrap(), good);
    assert_eq!(stamp(&cut), first);
    // --force rewrites even an up-to-date cut.
    assert!(mix(&input, &out, &["--force"]).status.success());
    assert_ne!(stamp(&cut), first);
}

#[test]
fn killed_runs_then_rerun_give_the_same_bytes() {
    let dir = tempdir();
    let input = dir.path().join("step_03");
    let synth = knowmix()
        .arg("synth")
        .arg("--output")
        .arg(&input)
        .args(["--raw-docs", "60"])
        .output()
        .unwrap();
    assert!(
        synth.status.success(),
        "{}",
        String::from_utf8_lossy(&synth.stderr)
    );
    let reference = dir.path().join("ref");
    let started = std::time::Instant::now();
    assert!(mix(&input, &reference, &["--cut-sizes", "1,2"])
        .status
        .success());
    let full = started.elapsed();
    let out = dir.path().join("out");
    let bin = assert_cmd::cargo::cargo_bin("knowmix");
    // Kill at spread-out points of a run (fractions of the full run time).
    for permille in [50u32, 300, 550, 800, 950, 990] {
        let mut child = std::process::Command::new(&bin)
            .arg("mix")
            .arg("--input")
            .arg(&input)
            .arg("--output")
            .arg(&out)
            .arg("--tokenizer")
            .arg(llama_dir())
            .args(["--cut-sizes", "1,2", "--quiet", "--force"])
            // SIGKILL leaves the (empty) spill directory behind: keep it in ours.
            .arg("--spill-dir")
            .arg(dir.path())
            .spawn()
            .unwrap();
        std::thread::sleep(full * permille / 1000);
        let _ = child.kill(); // SIGKILL
        child.wait().unwrap();
    }
    assert!(mix(&input, &out, &["--cut-sizes", "1,2"]).status.success());
    for n in [1, 2] {
        let name = format!("training_mix/combined_cut_{n}x.jsonl");
        assert!(
            std::fs::read(out.join(&name)).unwrap()
                == std::fs::read(reference.join(&name)).unwrap(),
            "cut {n}"
        );
    }
    assert!(
        !outputs(&out).iter().any(|n| n.contains(".partial-")),
        "{:?}",
        outputs(&out)
    );
}

/// A disk-full run on a 2 MiB tmpfs (where mount is not allowed the test
/// fails unless KNOWMIX_TEST_NO_MOUNT=1 says to skip it):
/// a clear error, and no cut of the set appears when one does not fit.
#[test]
fn disk_full_is_clear_and_commits_nothing() {
    let dir = tempdir();
    let mnt = dir.path().join("tiny");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(&mnt)
        .status();
    if !mounted.is_ok_and(|s| s.success()) {
        // A skip must be a choice, not a silent pass.
        assert!(
            std::env::var_os("KNOWMIX_TEST_NO_MOUNT").is_some(),
            "cannot mount a tmpfs here (needs root); set KNOWMIX_TEST_NO_MOUNT=1 to skip this test knowingly"
        );
        return;
    }
    let out = mnt.join("out");
    let run = mix(&fixture("step_03"), &out, &[]);
    let left = outputs(&out);
    let _ = std::process::Command::new("umount").arg(&mnt).status();
    assert!(left.is_empty(), "left behind: {left:?}");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot write output (disk full"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("No space left").count(), 1, "{stderr}");
}
