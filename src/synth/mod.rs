//! A deterministic generator of synthetic step-03 corpora, shaped like what
//! sdg_hub writes: the four dataset folders, wide rows whose unused columns
//! dominate the bytes, varied numbers of distinct summaries per raw document
//! and of QA per summary, interleaved rows, several scripts, and the strings
//! step 04 has to clean or filter. It exists for fixtures and for the scale
//! benchmarks: it streams rows to disk a few raw documents at a time (memory
//! stays bounded whatever the size), and the same [`Config`] always gives
//! byte-identical files.

mod doc;
mod json;
mod rows;
mod sink;
mod text;

use std::path::PathBuf;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use self::sink::DatasetSink;

/// Raw documents generated (and rows shuffled) together: rows of one summary
/// end up interleaved with rows of the other summaries in the group.
const GROUP: usize = 4;

/// The four step-03 datasets, in the order step 04 concatenates them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dataset {
    /// `extractive_summary`.
    Extractive,
    /// `detailed_summary`.
    Detailed,
    /// `key_facts_to_qa`.
    KeyFacts,
    /// `document_based_qa`.
    DocumentQa,
}

impl Dataset {
    /// All datasets in output order.
    pub const ALL: [Dataset; 4] = [
        Dataset::Extractive,
        Dataset::Detailed,
        Dataset::KeyFacts,
        Dataset::DocumentQa,
    ];

    /// The folder name under the step-03 directory.
    pub fn folder(self) -> &'static str {
        match self {
            Dataset::Extractive => "extractive_summary",
            Dataset::Detailed => "detailed_summary",
            Dataset::KeyFacts => "key_facts_to_qa",
            Dataset::DocumentQa => "document_based_qa",
        }
    }
}

/// Compression of the generated files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain `.jsonl`.
    None,
    /// `.jsonl.gz` (deflate level 6, no timestamp: deterministic).
    Gzip,
    /// `.jsonl.zst` (level 3, single-threaded: deterministic).
    Zstd,
    /// Cycle none, gzip, zstd over the files of each dataset.
    Mixed,
}

impl Compression {
    /// The compression of file `i`.
    pub fn for_file(self, i: usize) -> Compression {
        match self {
            Compression::Mixed => [Compression::None, Compression::Gzip, Compression::Zstd][i % 3],
            k => k,
        }
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Config {
    /// The step-03 folder to write (the four dataset folders go inside).
    pub output: PathBuf,
    /// Seed of every random choice.
    pub seed: u64,
    /// Number of raw documents (ignored when `target_bytes` is set).
    pub raw_docs: usize,
    /// Generate raw documents until the files on disk reach this many bytes.
    pub target_bytes: Option<u64>,
    /// Most distinct summaries per raw document (extractive and detailed).
    pub max_summaries: usize,
    /// Most QA pairs per summary.
    pub max_qa: usize,
    /// Messages in the wide `raw_summary` column of every row.
    pub wide_messages: usize,
    /// Files per dataset folder.
    pub files_per_dataset: usize,
    /// Compression of the files.
    pub compress: Compression,
    /// Write the `parse_response_dict_reasoning_content` column.
    pub reasoning: bool,
}

/// What was generated.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Raw documents.
    pub raw_docs: usize,
    /// Rows per dataset, in [`Dataset::ALL`] order.
    pub rows: [u64; 4],
    /// Bytes on disk per dataset.
    pub bytes: [u64; 4],
    /// Distinct summaries per raw document, summed: extractive, detailed.
    pub summaries: [u64; 2],
}

impl Stats {
    /// Mean distinct summaries per raw document (extractive, detailed), the
    /// number step 04 checks cut sizes against.
    pub fn mean_summaries(&self) -> [f64; 2] {
        let n = self.raw_docs.max(1) as f64;
        [self.summaries[0] as f64 / n, self.summaries[1] as f64 / n]
    }

    /// Total bytes on disk.
    pub fn total_bytes(&self) -> u64 {
        self.bytes.iter().sum()
    }
}

/// Errors of the generator.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// Writing failed.
    #[error("writing {path}: {source}")]
    Io {
        /// The dataset folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The configuration cannot be honoured.
    #[error("{0}")]
    Invalid(String),
}

/// Generate the corpus described by `cfg`.
pub fn generate(cfg: &Config) -> Result<Stats, SynthError> {
    validate(cfg)?;
    let io = |d: Dataset| {
        move |source| SynthError::Io {
            path: cfg.output.join(d.folder()),
            source,
        }
    };
    let mut sinks = Vec::with_capacity(4);
    for d in Dataset::ALL {
        let dir = cfg.output.join(d.folder());
        sinks.push(DatasetSink::create(dir, cfg.files_per_dataset, cfg.compress).map_err(io(d))?);
    }
    let mut master = ChaCha8Rng::seed_from_u64(cfg.seed);
    let icl = doc::icl_sets(&mut master);
    let ctx = rows::Ctx {
        icl: &icl,
        reasoning: cfg.reasoning,
    };
    let shape = doc::Shape {
        max_summaries: cfg.max_summaries,
        max_qa: cfg.max_qa,
        wide_messages: cfg.wide_messages,
    };
    let mut stats = Stats::default();
    let mut prev: Option<doc::RawDoc> = None;
    for group in 0.. {
        if finished(cfg, &stats, &sinks) {
            break;
        }
        let mut docs = Vec::with_capacity(GROUP);
        while docs.len() < GROUP && (cfg.target_bytes.is_some() || stats.raw_docs < cfg.raw_docs) {
            let d = next_doc(cfg, &shape, docs.last().or(prev.as_ref()));
            stats.summaries[0] += d.extractive.len() as u64;
            stats.summaries[1] += d.detailed.len() as u64;
            stats.raw_docs += 1;
            docs.push(d);
        }
        for (i, mut batch) in group_rows(cfg, &ctx, &docs).into_iter().enumerate() {
            batch.shuffle(&mut master);
            sinks[i]
                .write_rows(group, &batch)
                .map_err(io(Dataset::ALL[i]))?;
        }
        prev = docs.pop();
    }
    for (i, sink) in sinks.into_iter().enumerate() {
        stats.rows[i] = sink.rows;
        stats.bytes[i] = sink.finish().map_err(io(Dataset::ALL[i]))?;
    }
    Ok(stats)
}

fn validate(cfg: &Config) -> Result<(), SynthError> {
    let bad = |m: &str| Err(SynthError::Invalid(m.to_string()));
    if cfg.files_per_dataset == 0 {
        return bad("--files-per-dataset must be at least 1");
    }
    if cfg.max_summaries == 0 || cfg.max_qa == 0 {
        return bad("--max-summaries and --max-qa must be at least 1");
    }
    if cfg.target_bytes.is_none() && cfg.raw_docs == 0 {
        return bad("--raw-docs must be at least 1");
    }
    Ok(())
}

fn finished(cfg: &Config, stats: &Stats, sinks: &[DatasetSink]) -> bool {
    match cfg.target_bytes {
        Some(target) => sinks.iter().map(DatasetSink::disk_bytes).sum::<u64>() >= target,
        None => stats.raw_docs >= cfg.raw_docs,
    }
}

/// Random streams: raw document `i` is drawn from stream `5i + 1`, its rows
/// for dataset `k` from stream `5i + 2 + k`, so rows can be serialised in
/// parallel and still come out the same.
fn stream(seed: u64, id: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(id);
    rng
}

/// Draw the raw document after `prev` (or the first one).
fn next_doc(cfg: &Config, shape: &doc::Shape, prev: Option<&doc::RawDoc>) -> doc::RawDoc {
    let index = prev.map_or(0, |p| p.index + 1);
    doc::generate(
        index,
        &mut stream(cfg.seed, 5 * index as u64 + 1),
        shape,
        prev,
    )
}

/// Serialise the rows of `docs`, in parallel, grouped per dataset in
/// document order.
fn group_rows(cfg: &Config, ctx: &rows::Ctx<'_>, docs: &[doc::RawDoc]) -> [Vec<Vec<u8>>; 4] {
    let jobs: Vec<(usize, usize)> = (0..docs.len())
        .flat_map(|d| (0..4).map(move |k| (d, k)))
        .collect();
    let parts: Vec<Vec<Vec<u8>>> = jobs
        .par_iter()
        .map(|&(d, k)| {
            let doc = &docs[d];
            let mut rng = stream(cfg.seed, 5 * doc.index as u64 + 2 + k as u64);
            let mut out = Vec::new();
            rows::rows(doc, Dataset::ALL[k], ctx, &mut rng, &mut out);
            out
        })
        .collect();
    let mut batches: [Vec<Vec<u8>>; 4] = Default::default();
    for ((_, k), part) in jobs.into_iter().zip(parts) {
        batches[k].extend(part);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_compression_cycles() {
        let kinds: Vec<_> = (0..4).map(|i| Compression::Mixed.for_file(i)).collect();
        assert_eq!(
            kinds,
            [
                Compression::None,
                Compression::Gzip,
                Compression::Zstd,
                Compression::None
            ]
        );
    }
}
