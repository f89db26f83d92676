//! Sampling a stream of unknown length: rand's `IteratorRandom::sample`
//! (a reservoir, uniform without replacement) driven by a seeded
//! `ChaCha8Rng`, over an iterator of held records. Each record is copied
//! into the [`RecordStore`] when it is read; when the next one is read, the
//! previous one is settled (kept in memory or spilled) only if the
//! reservoir still holds it — a record the reservoir passes over is
//! dropped at once and never touches the disk. Memory: the K kept records
//! up to `--memory-limit`, the rest in the spill file.
//!
//! The rng's calls depend only on record positions, so the indices drawn
//! here equal those drawn by [`draw_indices`] over `0..N`: a file and the
//! same file on stdin give the same sample.

use std::sync::{Arc, Weak};

use rand::seq::{IteratorRandom, SliceRandom};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::store::{Held, RecordStore};

/// The generator every draw uses.
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// `k` of the indices `0..n`, uniformly, in input order (or in a seeded
/// order with `shuffle`).
pub fn draw_indices(n: u64, k: usize, seed: u64, shuffle: bool) -> Vec<u64> {
    let mut rng = rng(seed);
    let mut chosen = (0..n).sample(&mut rng, k);
    chosen.sort_unstable();
    if shuffle {
        chosen.shuffle(&mut rng);
    }
    chosen
}

/// Feeds records to the reservoir; see the module docs.
struct Candidates<'s, I> {
    records: I,
    store: &'s RecordStore,
    pending: Weak<Held>,
    next_index: u64,
    error: Option<std::io::Error>,
}

impl<I: Iterator<Item = Vec<u8>>> Iterator for Candidates<'_, I> {
    type Item = Arc<Held>;

    fn next(&mut self) -> Option<Arc<Held>> {
        if let Some(kept) = self.pending.upgrade() {
            if let Err(e) = self.store.settle(&kept) {
                self.error = Some(e);
                return None;
            }
        }
        let bytes = self.records.next()?;
        let held = self.store.hold(self.next_index, &bytes);
        self.next_index += 1;
        self.pending = Arc::downgrade(&held);
        Some(held)
    }
}

/// `k` records of `records`, uniformly without replacement, held in
/// `store`; in input order, or in a seeded order with `shuffle`.
pub fn sample_records(
    records: impl Iterator<Item = Vec<u8>>,
    k: usize,
    seed: u64,
    shuffle: bool,
    store: &RecordStore,
) -> std::io::Result<Vec<Arc<Held>>> {
    let mut rng = rng(seed);
    let mut candidates = Candidates {
        records,
        store,
        pending: Weak::new(),
        next_index: 0,
        error: None,
    };
    let mut kept = candidates.by_ref().sample(&mut rng, k);
    if let Some(e) = candidates.error.take() {
        return Err(e);
    }
    kept.sort_unstable_by_key(|h| h.index);
    if shuffle {
        kept.shuffle(&mut rng);
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(n: u64) -> impl Iterator<Item = Vec<u8>> {
        (0..n).map(|i| format!("{{\"i\":{i}}}").into_bytes())
    }

    #[test]
    fn stream_and_index_draws_agree_and_spill_stays_small() {
        let dir = tempfile::tempdir().unwrap();
        for (n, k, shuffle) in [
            (1000, 10, false),
            (1000, 10, true),
            (5, 10, false),
            (50, 50, true),
        ] {
            let store = RecordStore::new(40, dir.path());
            let held = sample_records(records(n), k, 7, shuffle, &store).unwrap();
            let got: Vec<u64> = held.iter().map(|h| h.index).collect();
            assert_eq!(got, draw_indices(n, k, 7, shuffle), "n={n} k={k}");
            let mut bytes = Vec::new();
            held[0].read_into(&mut bytes).unwrap();
            assert_eq!(bytes, format!("{{\"i\":{}}}", got[0]).into_bytes());
            assert!(
                store.spilled_bytes() < 100 * 12,
                "{}",
                store.spilled_bytes()
            );
        }
    }
}
