//! The select stage: which summary rows go into which cut. Pass 1 turns each
//! summary row into an [`IndexEntry`] (hashes of its raw document and
//! summary, a keyed rank, its row number). Sorted by (raw document, rank),
//! each raw document's distinct summaries come out in a random order that
//! depends only on (seed, raw_document, document): the summary at position
//! r is in every cut N > r. That is bottom-k sampling: uniform, independent
//! of input order and thread count, and nested (cut 5 ⊇ cut 3). Within a
//! kept summary, its first `qa_per_doc` rows in file order are kept. The
//! result is a stream of [`Pick`]s sorted by row, which pass 2 merges with
//! the rows as it reads them again.

use std::hash::Hasher;
use xxhash_rust::xxh3::{xxh3_128, xxh3_64_with_seed};

use crate::read::place::RowPlace;
use crate::spill::{ExternalSorter, FixedRecord, Sorted};

/// Domain separator for the rank key, so ranks differ from other uses of
/// the same seed (e.g. `sample --ratio`).
const DOC_HASH_SEED: u64 = 0x646f_6375_6d65_6e74; // "document"

/// One summary row, as pass 1 records it. Ordered for grouping: by raw
/// document, rank, summary, then the row's place in its file
/// ([`RowPlace::key`]), so a summary's rows come in file order however
/// the index was split.
#[derive(Debug, Clone, Copy)]
pub struct IndexEntry {
    /// 128-bit hash of `raw_document`: the group.
    pub raw: u128,
    /// Keyed rank of (seed, raw_document, document): the draw.
    pub rank: u64,
    /// 64-bit hash of `document`: which summary, within the group.
    pub doc: u64,
    /// Row ordinal within the part of the dataset its shard reads.
    pub row: u64,
    /// Where the row's line is: its identity, and how to read just it.
    pub place: RowPlace,
    /// The shard that indexed it (and will write it).
    pub shard: u32,
}

impl IndexEntry {
    fn order_key(&self) -> (u128, u64, u64, (u32, u64)) {
        (self.raw, self.rank, self.doc, self.place.key())
    }
}

impl PartialEq for IndexEntry {
    fn eq(&self, other: &Self) -> bool {
        self.order_key() == other.order_key()
    }
}

impl Eq for IndexEntry {}

impl PartialOrd for IndexEntry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for IndexEntry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.order_key().cmp(&other.order_key())
    }
}

impl FixedRecord for IndexEntry {
    const SIZE: usize = 44 + RowPlace::SIZE;
    fn encode(&self, out: &mut [u8]) {
        out[..16].copy_from_slice(&self.raw.to_le_bytes());
        out[16..24].copy_from_slice(&self.rank.to_le_bytes());
        out[24..32].copy_from_slice(&self.doc.to_le_bytes());
        out[32..40].copy_from_slice(&self.row.to_le_bytes());
        out[40..44].copy_from_slice(&self.shard.to_le_bytes());
        self.place.encode(&mut out[44..]);
    }
    fn decode(b: &[u8]) -> Self {
        IndexEntry {
            raw: u128::from_le_bytes(b[..16].try_into().expect("16 bytes")),
            rank: u64::from_le_bytes(b[16..24].try_into().expect("8 bytes")),
            doc: u64::from_le_bytes(b[24..32].try_into().expect("8 bytes")),
            row: u64::from_le_bytes(b[32..40].try_into().expect("8 bytes")),
            shard: u32::from_le_bytes(b[40..44].try_into().expect("4 bytes")),
            place: RowPlace::decode(&b[44..]),
        }
    }
}

/// A chosen row: in every cut larger than `level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pick {
    /// Row ordinal within its dataset.
    pub row: u64,
    /// The summary's position in its raw document's draw (0-based).
    pub level: u32,
    /// Where the row's line is.
    pub place: RowPlace,
}

/// Whether a row whose summary is at draw position `level` belongs to cut
/// `n`: the summary at position r is in every cut N > r (cuts are nested).
/// The one rule: pass 2, shard emit and the tests all ask it.
pub fn in_cut(level: u32, n: u32) -> bool {
    level < n
}

/// Whether cut `n` is feasible for a dataset averaging `mean` distinct
/// summaries per raw document (the notebook's rule). The one rule: `mix`,
/// `shard`, `stats` and resumed runs all ask it.
pub fn feasible(mean: f64, n: u32) -> bool {
    mean >= f64::from(n)
}

impl Pick {
    /// Whether this row belongs to cut `n` ([`in_cut`]).
    pub fn in_cut(&self, n: u32) -> bool {
        in_cut(self.level, n)
    }
}

impl FixedRecord for Pick {
    const SIZE: usize = 12 + RowPlace::SIZE;
    fn encode(&self, out: &mut [u8]) {
        out[..8].copy_from_slice(&self.row.to_le_bytes());
        out[8..12].copy_from_slice(&self.level.to_le_bytes());
        self.place.encode(&mut out[12..]);
    }
    fn decode(b: &[u8]) -> Self {
        Pick {
            row: u64::from_le_bytes(b[..8].try_into().expect("8 bytes")),
            level: u32::from_le_bytes(b[8..12].try_into().expect("4 bytes")),
            place: RowPlace::decode(&b[12..]),
        }
    }
}

/// Computes index entries: a pure function of (seed, raw_document, document).
#[derive(Debug, Clone, Copy)]
pub struct Sampler {
    seed: u64,
}

impl Sampler {
    /// A sampler for `seed`.
    pub fn new(seed: u64) -> Self {
        Sampler { seed }
    }

    /// The index entry of one summary row.
    pub fn entry(&self, raw_document: &str, document: &str, row: u64) -> IndexEntry {
        let raw = xxh3_128(raw_document.as_bytes());
        let doc = xxh3_64_with_seed(document.as_bytes(), DOC_HASH_SEED);
        IndexEntry {
            raw,
            rank: self.rank(raw, doc),
            doc,
            row,
            place: RowPlace::UNKNOWN,
            shard: 0,
        }
    }

    fn rank(&self, raw: u128, doc: u64) -> u64 {
        crate::keyed::hash(self.seed, crate::keyed::MIX_RANK, |h| {
            h.write(&raw.to_le_bytes());
            h.write(&doc.to_le_bytes());
        })
    }
}

/// What selection needs to know besides the rows.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Rows kept per kept summary.
    pub qa_per_doc: u32,
    /// The largest requested cut: summaries ranked at or past it are dropped.
    pub max_cut: u32,
    /// Keep only the picks of this shard (all when `None`); the grouping
    /// counts are over every entry either way.
    pub shard: Option<u32>,
}

/// Counts from grouping one dataset.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GroupStats {
    /// Summary rows indexed.
    pub rows: u64,
    /// Distinct raw documents.
    pub raw_documents: u64,
    /// Distinct (raw document, summary) pairs.
    pub summaries: u64,
}

impl GroupStats {
    /// Mean distinct summaries per raw document (0 when there are none).
    pub fn mean_summaries(&self) -> f64 {
        if self.raw_documents == 0 {
            0.0
        } else {
            self.summaries as f64 / self.raw_documents as f64
        }
    }

    /// Whether cut `n` is feasible for this dataset ([`feasible`]).
    pub fn is_feasible(&self, n: u32) -> bool {
        feasible(self.mean_summaries(), n)
    }
}

/// Walk entries sorted by (raw, rank, doc, row), calling `pick` for every
/// kept row. Returns the grouping counts.
pub fn walk_groups<E>(
    sorted: impl Iterator<Item = Result<IndexEntry, E>>,
    plan: Plan,
    mut pick: impl FnMut(Pick) -> Result<(), E>,
) -> Result<GroupStats, E> {
    let mut stats = GroupStats::default();
    let mut current: Option<(u128, u64)> = None; // (raw, doc)
    let (mut level, mut qa) = (0u32, 0u32);
    for entry in sorted {
        let e = entry?;
        stats.rows += 1;
        match current {
            Some((raw, doc)) if raw == e.raw && doc == e.doc => qa += 1,
            Some((raw, _)) if raw == e.raw => {
                level += 1;
                qa = 0;
                stats.summaries += 1;
            }
            _ => {
                level = 0;
                qa = 0;
                stats.raw_documents += 1;
                stats.summaries += 1;
            }
        }
        current = Some((e.raw, e.doc));
        let mine = plan.shard.is_none_or(|s| s == e.shard);
        if mine && level < plan.max_cut && qa < plan.qa_per_doc {
            pick(Pick {
                row: e.row,
                level,
                place: e.place,
            })?;
        }
    }
    Ok(stats)
}

/// Group the sorted index (one shard's, or every shard's runs merged) and
/// return the picks sorted by row, the grouping counts, and how many picks
/// each draw level has (`max_cut` levels).
pub fn select(
    index: Sorted<IndexEntry>,
    plan: Plan,
    picks: ExternalSorter<Pick>,
) -> std::io::Result<(Sorted<Pick>, GroupStats, Vec<u64>)> {
    let mut picks = picks;
    let mut per_level = vec![0u64; plan.max_cut as usize];
    let stats = walk_groups(index, plan, |p| {
        per_level[p.level as usize] += 1;
        picks.push(p)
    })?;
    Ok((picks.finish()?, stats, per_level))
}

#[cfg(test)]
mod tests;
