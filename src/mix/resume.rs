//! Rerunning `mix` without redoing work. The manifest records a fingerprint
//! of everything that decides the bytes of a cut — every input file's path,
//! size and mtime, the seed, QA per summary, the GPT-OSS option, the column
//! names, the error policy, the `thinking` mode, training's length rule
//! (its counts are in the manifest; with `--drop-over-length` it decides
//! bytes), the tokenizer files' sha256 and the knowmix
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
        "thinking": format!("{:?}", plan.thinking),
        "lengths": format!("{:?}", plan.lengths),
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

    /// Cut `n`'s manifest entry, if it names `file` (so a changed
    /// `--compress` is a change) and that file in `dir` still holds what
    /// the entry recorded: its decompressed bytes' count and xxh3-128.
    pub fn up_to_date(&self, n: u32, dir: &Path, file: &str) -> Option<Value> {
        let entry = self.0["cuts"]
            .as_array()?
            .iter()
            .find(|c| c["cut_size"].as_u64() == Some(u64::from(n)))?;
        if entry["file"].as_str()? != file {
            return None;
        }
        let path = dir.join(file);
        let plain = file == crate::format::cut_file_name(n);
        if plain && std::fs::metadata(&path).ok()?.len() != entry["bytes"].as_u64()? {
            return None;
        }
        let (bytes, digest) = file_digest(&path).ok()?;
        (bytes == entry["bytes"].as_u64()? && digest == entry["xxh3_128"].as_str()?)
            .then(|| entry.clone())
    }
}

/// The byte count and xxh3-128 (hex) of a file's contents, gzip or zstd
/// undone (recognised by magic bytes): what the manifest records.
pub fn file_digest(path: &Path) -> std::io::Result<(u64, String)> {
    use crate::read::open::Compression;
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut head = [0u8; 4];
    let got = file.read(&mut head)?;
    let file = std::io::Cursor::new(head[..got].to_vec()).chain(file);
    let mut reader: Box<dyn Read> = match Compression::sniff(&head[..got]) {
        Compression::None => Box::new(file),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(file)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(file)?),
    };
    let mut hasher = Xxh3Default::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok((total, format!("{:032x}", hasher.digest128())));
        }
        total += n as u64;
        hasher.update(&buf[..n]);
    }
}

/// [`remove_stale_outputs`] keeping what `dir/manifest.json` (just
/// written) names: its cuts, and `rejected.jsonl` when rows were skipped.
pub fn remove_stale_outputs_by_manifest(dir: &Path) {
    let Some(manifest) = std::fs::read(dir.join("manifest.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
    else {
        return;
    };
    let mut keep: Vec<std::path::PathBuf> = manifest["cuts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| Some(dir.join(c["file"].as_str()?)))
        .collect();
    if manifest["skipped"]
        .as_array()
        .is_some_and(|s| !s.is_empty())
    {
        keep.push(dir.join("rejected.jsonl"));
    }
    remove_stale_outputs(dir, &keep);
}

/// Remove what earlier runs left in `dir` that this run's set does not
/// hold: cut files (another size, another `--compress`, now infeasible)
/// and `rejected.jsonl`. The outputs of one run are one consistent set.
pub fn remove_stale_outputs(dir: &Path, keep: &[std::path::PathBuf]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let ours = (name.starts_with("combined_cut_") && name.contains("x.jsonl"))
            || name == "rejected.jsonl";
        if ours && !keep.contains(&entry.path()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
