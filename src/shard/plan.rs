//! `plan`: list the inputs, split them into shards of about equal bytes
//! (line-aligned byte ranges of plain files, so one 50 GB file still
//! splits; compressed files go whole to one shard), copy the tokenizer's
//! files into the work folder (shards on other machines need nothing
//! else), and write `plan.json` with a fingerprint of inputs + options +
//! tokenizer + split. Every later stage reads only the plan.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::layout::Work;
use super::remote::Staged;
use super::StageError;
use crate::format::Dataset;
use crate::mix::{MixOptions, Plan};
use crate::read::open::Compression;
use crate::read::part::{ByteRange, Part};
use crate::read::step03::{self, Discovery};
use crate::store::{self, Location};
use crate::tokenize::chat::PreparedTokenizer;

/// `plan.json`: what every stage of a sharded mix works from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardPlan {
    /// The knowmix that made it (stages refuse a plan of another version).
    pub knowmix_version: String,
    /// Of inputs, options, tokenizer and split: markers name it.
    pub fingerprint: String,
    /// Of inputs, options and tokenizer only, as a one-machine mix's
    /// manifest records it (so `knowmix mix` sees merged cuts as its own).
    pub mix_fingerprint: String,
    /// How many shards.
    pub shards: u32,
    /// The mix options (output, threads and spill folder are the stages').
    pub options: MixOptions,
    /// The tokenizer as resolved at plan time (source and file hashes).
    pub tokenizer: Value,
    /// The datasets found, in output order, with each shard's parts.
    pub datasets: Vec<PlannedDataset>,
    /// What discovery warned about.
    pub warnings: Vec<String>,
}

/// One dataset of the plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlannedDataset {
    /// Which dataset.
    pub dataset: Dataset,
    /// Its files in order.
    pub files: Vec<PlannedFile>,
    /// Per shard, the parts of those files it reads (maybe none).
    pub shards: Vec<Vec<Part>>,
}

/// One input file of the plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlannedFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Whether it is plain (not gzip or zstd).
    pub plain: bool,
}

impl PlannedDataset {
    /// The dataset's total size.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }

    /// The file paths.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.files.iter().map(|f| f.path.clone()).collect()
    }

    /// The bytes shard `shard` reads of this dataset, when known (its
    /// parts are all plain).
    pub fn shard_bytes(&self, shard: u32) -> Option<u64> {
        self.shards[shard as usize]
            .iter()
            .map(|p| {
                let file = &self.files[p.file as usize];
                match p.range {
                    Some(r) => Some(r.end - r.start),
                    None => file.plain.then_some(file.bytes),
                }
            })
            .sum()
    }
}

impl ShardPlan {
    /// Read `W/plan.json`, checking it was made by this knowmix.
    pub fn load(work: &Work) -> Result<ShardPlan, StageError> {
        let path = work.plan_path();
        let plan: ShardPlan = super::layout::read_marker(&path)
            .map_err(|e| work.name_shared(e))?
            .ok_or_else(|| StageError::NoPlan {
                work: work.shared_root().to_path_buf(),
            })?;
        if plan.knowmix_version != env!("CARGO_PKG_VERSION") {
            return Err(StageError::Version {
                path: work.shared(&path),
                found: plan.knowmix_version,
            });
        }
        Ok(plan)
    }

    /// Fail unless `shard` is one of this plan's.
    pub fn check_shard(&self, shard: u32) -> Result<(), StageError> {
        if shard >= self.shards {
            return Err(StageError::NoSuchShard {
                shard,
                shards: self.shards,
            });
        }
        Ok(())
    }

    /// The datasets whose summaries are drawn.
    pub fn sampled(&self) -> impl Iterator<Item = &PlannedDataset> {
        self.datasets.iter().filter(|d| d.dataset.is_sampled())
    }
}

/// Plan a mix of `shards` shards into `work`: discover, split, copy the
/// tokenizer, write `plan.json`. Returns the plan and the prepared
/// tokenizer (for a caller that runs the stages in this process).
pub fn plan(
    options: &Plan,
    work: &Work,
    shards: u32,
) -> Result<(ShardPlan, PreparedTokenizer), anyhow::Error> {
    if shards == 0 {
        return Err(StageError::NoShards.into());
    }
    let found = step03::discover(&options.input)?;
    for warning in &found.warnings {
        options.log(&format!("warning: {warning}"));
    }
    let tokenizer = options.prepare_tokenizer()?;
    options.log(&format!("tokenizer: {}", tokenizer.description()));
    let plan = make(options, &found, &tokenizer, shards)?;
    // A work folder in object storage is written in a local scratch copy,
    // then published, plan.json last.
    let staged = Staged::open(work, &options.spill_dir)?;
    let work = staged.work();
    std::fs::create_dir_all(work.root()).map_err(|source| StageError::Io {
        path: work.root().to_path_buf(),
        source,
    })?;
    save_tokenizer(&tokenizer, &work.tokenizer_dir())?;
    work.write_json(&work.plan_path(), &plan)?;
    store::blocking(staged.publish(work.root(), &work.plan_path()))?;
    Ok((plan, tokenizer))
}

/// The plan for `found`, split `shards` ways.
pub fn make(
    run: &Plan,
    found: &Discovery,
    tokenizer: &PreparedTokenizer,
    shards: u32,
) -> Result<ShardPlan, StageError> {
    let files = tokenizer.files_manifest();
    let mix_fingerprint = crate::mix::fingerprint(run, found, &files);
    let datasets = split(found, shards)?;
    let mut options = run.options.clone();
    options.detected_columns = crate::columns::detect(&options.columns, found)?;
    for line in crate::columns::describe(&options.detected_columns) {
        run.log(&line);
    }
    let split_json = serde_json::to_string(&datasets).expect("serialisable");
    let fingerprint = format!(
        "{:032x}",
        xxhash_rust::xxh3::xxh3_128(format!("{mix_fingerprint}/{shards}/{split_json}").as_bytes())
    );
    Ok(ShardPlan {
        knowmix_version: env!("CARGO_PKG_VERSION").to_owned(),
        fingerprint,
        mix_fingerprint,
        shards,
        options,
        tokenizer: serde_json::json!({
            "source": tokenizer.description(),
            "files": files,
        }),
        datasets,
        warnings: found.warnings.clone(),
    })
}

/// One input file in the global order (datasets in output order, files
/// in order).
struct Input<'a> {
    dataset: usize,
    file: u32,
    path: &'a Path,
    bytes: u64,
    splittable: bool,
}

/// Split every dataset's files among `shards` shards of about equal
/// bytes, in the global order, so concatenating the shards' outputs in
/// shard order gives the one-machine order.
fn split(found: &Discovery, shards: u32) -> Result<Vec<PlannedDataset>, StageError> {
    let mut datasets: Vec<PlannedDataset> = Vec::new();
    let mut inputs = Vec::new();
    for (d, files) in found.datasets.iter().enumerate() {
        let mut listed = Vec::new();
        for (i, path) in files.files.iter().enumerate() {
            let (bytes, splittable) = size_and_kind(path)?;
            listed.push(PlannedFile {
                path: path.clone(),
                bytes,
                plain: splittable,
            });
            inputs.push(Input {
                dataset: d,
                file: u32::try_from(i).expect("fewer than 2^32 files"),
                path,
                bytes,
                splittable,
            });
        }
        datasets.push(PlannedDataset {
            dataset: files.dataset,
            files: listed,
            shards: vec![Vec::new(); shards as usize],
        });
    }
    let total: u64 = inputs.iter().map(|i| i.bytes).sum();
    let target = total.div_ceil(u64::from(shards)).max(1);
    let mut shard = 0u32;
    let mut filled = 0u64;
    for input in &inputs {
        let cuts = place_file(input, target, shards, &mut shard, &mut filled)?;
        let parts = &mut datasets[input.dataset].shards;
        for (s, part) in cuts {
            parts[s as usize].push(part);
        }
    }
    Ok(datasets)
}

/// Assign one file (whole, or cut at line starts) to the shards from
/// `*shard` on, `*filled` bytes of which are already taken.
fn place_file(
    input: &Input<'_>,
    target: u64,
    shards: u32,
    shard: &mut u32,
    filled: &mut u64,
) -> Result<Vec<(u32, Part)>, StageError> {
    let whole = || Part {
        path: input.path.to_path_buf(),
        file: input.file,
        range: None,
    };
    let mut out = Vec::new();
    let mut start = 0u64;
    let mut bounds = Vec::new();
    loop {
        let rest = input.bytes - start;
        let last = *shard + 1 == shards;
        let room = target.saturating_sub(*filled);
        if last || rest <= room || !input.splittable {
            bounds.push((*shard, start, input.bytes));
            *filled += rest;
            break;
        }
        let cut = next_line_start(input.path, start + room.max(1))?;
        if cut >= input.bytes {
            bounds.push((*shard, start, input.bytes));
            *filled += rest;
            break;
        }
        if cut > start {
            bounds.push((*shard, start, cut));
        }
        *shard += 1;
        *filled = 0;
        start = cut;
    }
    if *filled >= target && *shard + 1 < shards {
        *shard += 1;
        *filled = 0;
    }
    if bounds.len() == 1 && bounds[0].1 == 0 {
        out.push((bounds[0].0, whole()));
        return Ok(out);
    }
    for (s, start, end) in bounds {
        let part = Part {
            range: Some(ByteRange { start, end }),
            ..whole()
        };
        out.push((s, part));
    }
    Ok(out)
}

/// A file's size, and whether it is plain (can be read from a byte on).
/// An object is never split (its parts would be found with ranged reads;
/// not done yet): it is one part, whatever its size.
fn size_and_kind(path: &Path) -> Result<(u64, bool), StageError> {
    let io = |source| StageError::Io {
        path: path.to_path_buf(),
        source,
    };
    if Location::is_object_path(path) {
        let at = Location::from_path(path).map_err(|e| io(e.into_io_unnamed()))?;
        let bytes = store::blocking(store::size(&at)).map_err(|e| io(e.into_io_unnamed()))?;
        return Ok((bytes, false));
    }
    let mut file = std::fs::File::open(path).map_err(io)?;
    let bytes = file.metadata().map_err(io)?.len();
    let mut head = Vec::with_capacity(4);
    file.by_ref().take(4).read_to_end(&mut head).map_err(io)?;
    Ok((bytes, Compression::sniff(&head) == Compression::None))
}

/// The first line start at or after `at` (the file's size when none).
fn next_line_start(path: &Path, at: u64) -> Result<u64, StageError> {
    let io = |source| StageError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut pos = at - 1;
    file.seek(SeekFrom::Start(pos)).map_err(io)?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            return Ok(pos);
        }
        if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
            return Ok(pos + i as u64 + 1);
        }
        pos += n as u64;
    }
}

/// Write the tokenizer as a folder any stage can load: `tokenizer.json`,
/// the chat template, the special tokens the template uses, and the fast
/// counter's tables ([`crate::tokenize::chat::load_planned`]).
fn save_tokenizer(tokenizer: &PreparedTokenizer, dir: &Path) -> Result<(), StageError> {
    let resolved = tokenizer.resolved();
    let io = |source| StageError::Io {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let write = |name: &str, bytes: &[u8]| {
        crate::write::write_small_atomic(&dir.join(name), bytes).map_err(|e| StageError::Io {
            path: dir.join(name),
            source: std::io::Error::other(e.to_string()),
        })
    };
    write("tokenizer.json", &resolved.tokenizer_json)?;
    let config = serde_json::json!({
        "bos_token": resolved.bos_token,
        "eos_token": resolved.eos_token,
    });
    write("tokenizer_config.json", config.to_string().as_bytes())?;
    if let Some(template) = &resolved.chat_template {
        write("chat_template.jinja", template.as_bytes())?;
    }
    // The fast counter's tables too: no stage reads, hashes or rebuilds
    // the 9 MB tokenizer.json (a fresh pod would spend ~0.4 s building).
    tokenizer.store_tables(dir).map_err(io)?;
    Ok(())
}
