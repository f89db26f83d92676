//! Tokenizer resolution: folder, tokenizer.json path, HF cache (fake, in a
//! temp dir), the embedded default, and the errors' wording.

use crate::util::{fixture, tempdir};
use knowmix::tokenize::resolve::{
    hub_cache_dir, resolve, resolve_in, ResolveError, TokenizerSource, DEFAULT_TOKENIZER,
};
use sha2::{Digest, Sha256};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

fn sha256_file(path: &Path) -> String {
    format!("{:x}", Sha256::digest(std::fs::read(path).unwrap()))
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A folder with a dummy tokenizer.json (resolution does not parse it).
fn fake_folder(dir: &Path, config: &str, jinja: Option<&str>) {
    write(&dir.join("tokenizer.json"), "{}");
    write(&dir.join("tokenizer_config.json"), config);
    if let Some(j) = jinja {
        write(&dir.join("chat_template.jinja"), j);
    }
}

#[test]
fn folder_with_chat_template_jinja() {
    let dir = fixture("tokenizers/gpt-oss");
    let r = resolve(dir.to_str().unwrap()).unwrap();
    assert_eq!(r.source, TokenizerSource::Folder(dir.clone()));
    assert_eq!(r.bos_token.as_deref(), Some("<|startoftext|>"));
    assert_eq!(r.eos_token.as_deref(), Some("<|return|>"));
    assert_eq!(
        r.chat_template.as_deref(),
        Some(
            std::fs::read_to_string(dir.join("chat_template.jinja"))
                .unwrap()
                .as_str()
        )
    );
    let names: Vec<&str> = r.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "tokenizer.json",
            "tokenizer_config.json",
            "chat_template.jinja"
        ]
    );
    for f in &r.files {
        assert_eq!(f.sha256, sha256_file(&dir.join(&f.name)), "{}", f.name);
    }
    assert!(r.describe().starts_with("folder "), "{}", r.describe());
}

#[test]
fn tokenizer_json_path_reads_siblings() {
    let path = fixture("tokenizers/llama-3.1-instruct/tokenizer.json");
    let r = resolve(path.to_str().unwrap()).unwrap();
    assert_eq!(r.source, TokenizerSource::File(path.clone()));
    assert_eq!(r.bos_token.as_deref(), Some("<|begin_of_text|>"));
    assert_eq!(r.eos_token.as_deref(), Some("<|eot_id|>"));
    assert!(r.chat_template.as_deref().unwrap().contains("Today Date: "));
    assert_eq!(&*r.tokenizer_json, std::fs::read(&path).unwrap().as_slice());
}

#[test]
fn chat_template_jinja_wins_over_config_and_tokens_may_be_objects() {
    let tmp = tempdir();
    let config = r#"{"chat_template": "from config", "bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>"}"#;
    fake_folder(tmp.path(), config, Some("from jinja"));
    let r = resolve(tmp.path().to_str().unwrap()).unwrap();
    assert_eq!(r.chat_template.as_deref(), Some("from jinja"));
    assert_eq!(
        (r.bos_token.as_deref(), r.eos_token.as_deref()),
        (Some("<s>"), Some("</s>"))
    );
    std::fs::remove_file(tmp.path().join("chat_template.jinja")).unwrap();
    let r = resolve(tmp.path().to_str().unwrap()).unwrap();
    assert_eq!(r.chat_template.as_deref(), Some("from config"));
}

#[test]
fn config_template_list_uses_default_and_special_tokens_map_fills_gaps() {
    let tmp = tempdir();
    let config = r#"{"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]}"#;
    fake_folder(tmp.path(), config, None);
    write(
        &tmp.path().join("special_tokens_map.json"),
        r#"{"bos_token": "<b>", "eos_token": {"content": "<e>"}}"#,
    );
    let r = resolve(tmp.path().to_str().unwrap()).unwrap();
    assert_eq!(r.chat_template.as_deref(), Some("D"));
    assert_eq!(
        (r.bos_token.as_deref(), r.eos_token.as_deref()),
        (Some("<b>"), Some("<e>"))
    );
}

#[test]
fn hub_id_found_in_hf_cache_prefers_refs_main() {
    let tmp = tempdir();
    let repo = tmp.path().join("models--acme--tiny");
    fake_folder(
        &repo.join("snapshots/aaa"),
        r#"{"chat_template": "old"}"#,
        None,
    );
    fake_folder(
        &repo.join("snapshots/bbb"),
        r#"{"chat_template": "main"}"#,
        None,
    );
    write(&repo.join("refs/main"), "bbb\n");
    let r = resolve_in("acme/tiny", tmp.path()).unwrap();
    assert_eq!(r.chat_template.as_deref(), Some("main"));
    assert_eq!(
        r.source,
        TokenizerSource::HfCache {
            id: "acme/tiny".into(),
            snapshot: repo.join("snapshots/bbb")
        }
    );
    std::fs::remove_file(repo.join("refs/main")).unwrap();
    assert_eq!(
        resolve_in("acme/tiny", tmp.path())
            .unwrap()
            .chat_template
            .as_deref(),
        Some("old")
    );
}

#[test]
fn hf_cache_location_follows_huggingface_hub() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| OsString::from(v))
        }
    };
    const ALL: &[(&str, &str)] = &[
        ("HF_HUB_CACHE", "/c"),
        ("HF_HOME", "/h"),
        ("XDG_CACHE_HOME", "/x"),
        ("HOME", "/home/u"),
    ];
    assert_eq!(hub_cache_dir(env(ALL)), PathBuf::from("/c"));
    assert_eq!(hub_cache_dir(env(&ALL[1..])), PathBuf::from("/h/hub"));
    assert_eq!(
        hub_cache_dir(env(&ALL[2..])),
        PathBuf::from("/x/huggingface/hub")
    );
    assert_eq!(
        hub_cache_dir(env(&ALL[3..])),
        PathBuf::from("/home/u/.cache/huggingface/hub")
    );
    assert_eq!(
        hub_cache_dir(env(&[("HF_HUB_CACHE", ""), ("HF_HOME", "/h")])),
        PathBuf::from("/h/hub")
    );
}

#[test]
fn missing_hub_id_error_lists_places_and_the_fix() {
    let tmp = tempdir();
    let err = resolve_in("nobody/nothing", tmp.path()).unwrap_err();
    assert!(matches!(err, ResolveError::NotFound { .. }));
    let msg = err.to_string();
    let snapshots = tmp.path().join("models--nobody--nothing").join("snapshots");
    for want in [
        "nobody/nothing",
        snapshots.to_str().unwrap(),
        "--tokenizer PATH",
        "never downloads",
    ] {
        assert!(msg.contains(want), "{want:?} not in {msg:?}");
    }
}

#[test]
fn missing_path_is_not_found() {
    for spec in [
        "./no/such/folder",
        "/no/such/tokenizer.json",
        "dir/tokenizer.json",
    ] {
        let err = resolve_in(spec, Path::new("/nonexistent")).unwrap_err();
        assert!(
            matches!(err, ResolveError::PathNotFound { .. }),
            "{spec}: {err}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains(spec) && msg.contains("--tokenizer PATH"),
            "{msg}"
        );
    }
}

#[test]
fn folder_without_tokenizer_json_says_so() {
    let tmp = tempdir();
    let err = resolve(tmp.path().to_str().unwrap()).unwrap_err();
    assert!(matches!(err, ResolveError::NoTokenizerJson { .. }));
    assert!(err.to_string().contains("no tokenizer.json"), "{err}");
}

#[test]
fn no_chat_template_is_an_error_when_asked_for() {
    let tmp = tempdir();
    fake_folder(tmp.path(), "{}", None);
    let r = resolve(tmp.path().to_str().unwrap()).unwrap();
    let err = r.chat_template().unwrap_err();
    assert!(err.to_string().contains("chat_template.jinja"), "{err}");
}

#[test]
fn default_falls_back_to_embedded_llama() {
    let tmp = tempdir();
    let r = resolve_in(DEFAULT_TOKENIZER, tmp.path()).unwrap();
    assert_eq!(r.source, TokenizerSource::Embedded);
    assert_eq!(r.describe(), "embedded Llama 3.1 Instruct");
    let dir = fixture("tokenizers/llama-3.1-instruct");
    assert_eq!(
        &*r.tokenizer_json,
        std::fs::read(dir.join("tokenizer.json"))
            .unwrap()
            .as_slice()
    );
    assert_eq!(r.files[0].sha256, sha256_file(&dir.join("tokenizer.json")));
    assert_eq!(
        r.files[1].sha256,
        sha256_file(&dir.join("tokenizer_config.json"))
    );
    let folder = resolve(dir.to_str().unwrap()).unwrap();
    assert_eq!(r.chat_template, folder.chat_template);
    assert_eq!(
        (r.bos_token, r.eos_token),
        (folder.bos_token, folder.eos_token)
    );
}

#[test]
fn default_prefers_the_hf_cache() {
    let tmp = tempdir();
    let snap = tmp
        .path()
        .join("models--RedHatAI--Llama-3.1-8B-Instruct/snapshots/rev1");
    fake_folder(&snap, r#"{"chat_template": "cached"}"#, None);
    let r = resolve_in(DEFAULT_TOKENIZER, tmp.path()).unwrap();
    assert_eq!(r.chat_template.as_deref(), Some("cached"));
    assert!(r.describe().contains("HF cache"), "{}", r.describe());
}
