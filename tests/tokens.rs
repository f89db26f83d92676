//! `knowmix tokens`: token_length as `mix` computes it, everything else
//! byte for byte, from stdin or files, plain or compressed; and `mix
//! --compress`.

use crate::util::{
    into_head, knowmix, llama_dir as llama, pipe_corpus, read_decompressed, tempdir,
    write_compressed,
};

/// The mix output with every `,"token_length":N` removed.
fn stripped(cut: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(cut.to_vec()).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        let at = line
            .rfind(",\"token_length\":")
            .expect("mix writes token_length last");
        out.push_str(&line[..at]);
        out.push_str("}\n");
    }
    out.into_bytes()
}

#[test]
fn tokens_on_stdin_equals_mix_token_length() {
    let (_, cut) = pipe_corpus();
    let want = std::fs::read(cut).unwrap();
    let input = stripped(&want);
    assert_ne!(input, want);
    let got = knowmix()
        .arg("tokens")
        .arg("--tokenizer")
        .arg(llama())
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert!(got.stdout == want, "tokens differs from mix");
    assert!(got.stderr.is_empty());
}

#[test]
fn tokens_reads_gz_and_zst_files_and_writes_compressed() {
    let (_, cut) = pipe_corpus();
    let want = std::fs::read(cut).unwrap();
    let dir = tempdir();
    for (name, out) in [
        ("in.jsonl.gz", "out.jsonl.zst"),
        ("in.jsonl.zst", "out.jsonl.gz"),
        ("in.jsonl", "out.jsonl"),
    ] {
        let input = dir.path().join(name);
        write_compressed(&input, &stripped(&want));
        let output = dir.path().join(out);
        knowmix()
            .args(["tokens", "--threads", "2", "--tokenizer"])
            .arg(llama())
            .arg(&input)
            .arg("-o")
            .arg(&output)
            .assert()
            .success();
        assert!(read_decompressed(&output) == want, "{name} -> {out}");
    }
}

#[test]
fn tokens_replaces_an_existing_token_length_in_place() {
    let line = r#"{"token_length": 99999 ,"messages":[{"role":"user","content":"hi","thinking":null}],"x":"token_length"}"#;
    let got = knowmix()
        .arg("tokens")
        .arg("--tokenizer")
        .arg(llama())
        .write_stdin(format!("{line}\n"))
        .output()
        .unwrap();
    let text = String::from_utf8(got.stdout).unwrap();
    let n: serde_json::Value = serde_json::from_str(&text).unwrap();
    let n = n["token_length"].as_u64().unwrap();
    assert!(n > 0 && n < 100);
    assert_eq!(text, format!("{}\n", line.replace("99999", &n.to_string())));
}

#[test]
fn tokens_template_none_counts_the_text_field() {
    use knowmix::tokenize::TokenCount;
    let counter = &crate::util::llama().counter;
    let input = "{\"text\":\"Hello, world. Tokens!\"}\n{\"text\":\"\"}\n";
    let got = knowmix()
        .args(["tokens", "--template", "none", "--tokenizer"])
        .arg(llama())
        .write_stdin(input)
        .output()
        .unwrap();
    let want = format!(
        "{{\"text\":\"Hello, world. Tokens!\",\"token_length\":{}}}\n{{\"text\":\"\",\"token_length\":{}}}\n",
        counter.count("Hello, world. Tokens!"),
        counter.count("")
    );
    assert_eq!(String::from_utf8(got.stdout).unwrap(), want);
}

/// A tokenizer folder with no chat template at all (just tokenizer.json):
/// `--template none` never renders one, so it must not ask for one; the
/// chat path still reports the missing template.
#[test]
fn tokens_template_none_needs_no_chat_template() {
    use knowmix::tokenize::TokenCount;
    let counter = &crate::util::llama().counter;
    let dir = tempdir();
    std::fs::copy(
        llama().join("tokenizer.json"),
        dir.path().join("tokenizer.json"),
    )
    .unwrap();
    let got = knowmix()
        .args(["tokens", "--template", "none", "--tokenizer"])
        .arg(dir.path())
        .write_stdin("{\"text\":\"Hello, world.\"}\n")
        .output()
        .unwrap();
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    let want = format!(
        "{{\"text\":\"Hello, world.\",\"token_length\":{}}}\n",
        counter.count("Hello, world.")
    );
    assert_eq!(String::from_utf8(got.stdout).unwrap(), want);
    let chat = knowmix()
        .args(["tokens", "--tokenizer"])
        .arg(dir.path())
        .write_stdin("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}\n")
        .output()
        .unwrap();
    assert!(!chat.status.success());
    let err = String::from_utf8(chat.stderr).unwrap();
    assert!(err.contains("no chat template"), "{err}");
}

/// `--verbose` names the counter that ran: the fast counter's path for
/// each family it supports (the fixtures are zstd-compressed folders,
/// read as they are; Llama 2 and cl100k have no chat template at all).
#[test]
fn tokens_verbose_names_the_counter_for_each_family() {
    let cases = [
        (
            "llama2",
            "counter: fast, SentencePiece BPE (prepend ▁, byte fallback)",
        ),
        (
            "cl100k",
            "counter: fast, byte-level BPE, hand-written Llama 3 splitter",
        ),
        (
            "qwen3",
            "counter: fast, byte-level BPE, hand-written Qwen splitter, NFC",
        ),
        (
            "deepseek-v3",
            "counter: fast, byte-level BPE, 3 compiled split regexes",
        ),
        ("gemma3", "counter: fast, SentencePiece BPE (byte fallback)"),
    ];
    for (family, want) in cases {
        let got = knowmix()
            .args(["tokens", "--verbose", "--template", "none", "--tokenizer"])
            .arg(crate::util::fixture(&format!("tokenizers/{family}")))
            .env("KNOWMIX_CACHE_DIR", "")
            .write_stdin("{\"text\":\"Hello world\"}\n")
            .output()
            .unwrap();
        let err = String::from_utf8(got.stderr).unwrap();
        assert!(got.status.success(), "{family}: {err}");
        assert!(err.contains(want), "{family}: {err}");
        let out: serde_json::Value = serde_json::from_slice(&got.stdout).unwrap();
        assert!(out["token_length"].as_u64().unwrap() >= 2, "{family}");
    }
}

#[test]
fn tokens_errors_name_the_line_and_exit_1() {
    let got = knowmix()
        .arg("tokens")
        .arg("--tokenizer")
        .arg(llama())
        .write_stdin("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}\n{\"nope\":1}\n")
        .output()
        .unwrap();
    assert_eq!(got.status.code(), Some(1));
    let err = String::from_utf8(got.stderr).unwrap();
    assert!(
        err.contains("-:2: missing column(s) [\"messages\"]"),
        "{err}"
    );
}

#[test]
fn tokens_into_head_ends_quietly() {
    let (_, cut) = pipe_corpus();
    let args = format!(
        "tokens --tokenizer '{}' '{}' '{}' '{}'",
        llama().display(),
        cut.display(),
        cut.display(),
        cut.display()
    );
    let (status, stdout, stderr) = into_head(&args);
    assert!(matches!(status.code(), Some(0 | 141)), "{status:?}");
    assert_eq!(stdout.lines().count(), 1);
    assert_eq!(stderr, "");
}

#[test]
fn mix_compress_zstd_and_gzip_write_the_same_records() {
    let (step03, cut) = pipe_corpus();
    let want = std::fs::read(cut).unwrap();
    for (flag, ext) in [("zstd", "zst"), ("gzip", "gz")] {
        let out = tempdir();
        knowmix()
            .args([
                "mix",
                "--cut-sizes",
                "2",
                "-q",
                "--compress",
                flag,
                "--input",
            ])
            .arg(step03)
            .arg("--output")
            .arg(out.path())
            .arg("--tokenizer")
            .arg(llama())
            .assert()
            .success();
        let file = out
            .path()
            .join(format!("training_mix/combined_cut_2x.jsonl.{ext}"));
        assert!(read_decompressed(&file) == want, "{flag}");
    }
}
