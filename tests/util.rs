//! Shared helpers for the integration tests: paths to fixtures, running
//! the binary, reading JSONL.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture path.
pub fn fixture(rel: &str) -> PathBuf {
    root().join("fixtures").join(rel)
}

/// The Llama 3.1 Instruct tokenizer folder.
pub fn llama() -> PathBuf {
    fixture("tokenizers/llama-3.1-instruct")
}

/// The knowmix binary, with a clean environment for the notebook variables.
pub fn knowmix() -> Command {
    let mut cmd = Command::cargo_bin("knowmix").unwrap();
    for var in ["TOKENIZER_MODEL", "TOKENIZER_MODEL_NAME", "CUT_SIZES", "QA_PER_DOC", "SAVE_GPT_OSS_FORMAT", "SEED"] {
        cmd.env_remove(var);
    }
    cmd
}

/// Parse every line of a JSONL file.
pub fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}
