//! Build script: compresses the default tokenizer (Llama 3.1 Instruct,
//! `fixtures/tokenizers/llama-3.1-instruct/`) with zstd into `OUT_DIR`, so the
//! binary can embed it with `include_bytes!` at a quarter of its size and
//! still work offline when the HF cache has no copy.

use std::path::{Path, PathBuf};

const FIXTURE: &str = "fixtures/tokenizers/llama-3.1-instruct";
const FILES: [&str; 2] = ["tokenizer.json", "tokenizer_config.json"];
/// Level 9 gives ~2.1 MB for the 9 MB tokenizer.json in well under a second;
/// 19 saves only 4% more and is an order of magnitude slower.
const LEVEL: i32 = 9;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed=build.rs");
    for name in FILES {
        let src = Path::new(FIXTURE).join(name);
        println!("cargo:rerun-if-changed={}", src.display());
        let raw = std::fs::read(&src).unwrap_or_else(|e| panic!("reading {}: {e}", src.display()));
        let packed = zstd::bulk::compress(&raw, LEVEL)
            .unwrap_or_else(|e| panic!("compressing {}: {e}", src.display()));
        let dst = out.join(format!("{name}.zst"));
        std::fs::write(&dst, packed).unwrap_or_else(|e| panic!("writing {}: {e}", dst.display()));
    }
}
