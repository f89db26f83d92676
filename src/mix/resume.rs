//! Rerunning `mix` without redoing work. The manifest records a fingerprint
//! of everything that decides the bytes of a cut — every input file's path,
//! size and mtime, the seed, QA per summary, the GPT-OSS option, the column
//! names, the error policy, the tokenizer files' sha256 and the knowmix
//! version (cut sizes are not in it: cut N's bytes depend on N alone) — and
//! each cut file's size and xxh3-128. A cut whose file and manifest entry
//! match under the same fingerprint is up to date. The manifest is written
//! last, so a run killed at any point is simply redone where it matters.

use std::path::Path;

use serde_json::{json, Value};
use xxhash_rust::xxh3::Xxh3Default;

use super::options::Plan;
use crate::format::Dataset;
use crate::read::step03::Discovery;

/// The fingerprint of a run's inputs and byte-deciding parameters, hex.
/// `tokenizer_files` lists the tokenizer's files and their sha256.
pub fn fingerprint(plan: &Plan, found: &Discovery, tokenizer_files: &Value) -> String {
    let files: Vec<Value> = found
        .datasets
        .iter()
        .flat_map(|d| d.files.iter())
        .map(|f| {
            let meta = std::fs::metadata(f).ok();
            let mtime = meta
                .as_ref()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            json!([
                f.display().to_string(),
                meta.map_or(0, |m| m.len()),
                mtime.to_string()
            ])
        })
        .collect();
    let record = json!({
        "version": env!("CARGO_PKG_VERSION"),
        "files": files,
        "seed": plan.seed,
        "qa_per_doc": plan.qa_per_doc,
        "gpt_oss": plan.gpt_oss,
        "columns": format!("{:?}", plan.columns),
        "on_error": format!("{:?}", plan.on_error),
        "tokenizer": tokenizer_files,
    });
    let mut hasher = Xxh3Default::new();
    hasher.update(record.to_string().as_bytes());
    format!("{:032x}", hasher.digest128())
}

/// The manifest of an earlier run with the same fingerprint.
pub struct Previous(Value);

impl Previous {
    /// Read `path` if it exists and was written under `fingerprint`.
    pub fn load(path: &Path, fingerprint: &str) -> Option<Previous> {
        let bytes = std::fs::read(path).ok()?;
        let manifest: Value = serde_json::from_slice(&bytes).ok()?;
        (manifest["fingerprint"].as_str() == Some(fingerprint)).then_some(Previous(manifest))
    }

    /// The stored mean summaries per raw document, per sampled dataset.
    pub fn means(&self) -> Option<Vec<(Dataset, f64)>> {
        self.0["summaries_per_raw_document"]
            .as_array()?
            .iter()
            .map(|m| {
                let name = m["dataset"].as_str()?;
                let dataset = Dataset::ALL.into_iter().find(|d| d.folder() == name)?;
                Some((dataset, m["mean"].as_f64()?))
            })
            .collect()
    }

    /// Cut `n`'s manifest entry, if its file in `dir` still matches it.
    pub fn up_to_date(&self, n: u32, dir: &Path) -> Option<Value> {
        let entry = self.0["cuts"]
            .as_array()?
            .iter()
            .find(|c| c["cut_size"].as_u64() == Some(u64::from(n)))?;
        let path = dir.join(entry["file"].as_str()?);
        if std::fs::metadata(&path).ok()?.len() != entry["bytes"].as_u64()? {
            return None;
        }
        (file_digest(&path).ok()? == entry["xxh3_128"].as_str()?).then(|| entry.clone())
    }
}

/// xxh3-128 of a file's bytes, hex.
pub fn file_digest(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Xxh3Default::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = std::io::Read::read(&mut file, &mut buf)?;
        if n == 0 {
            return Ok(format!("{:032x}", hasher.digest128()));
        }
        hasher.update(&buf[..n]);
    }
}
