//! The draw: which records of a source are emitted and how many times.
//! Every record gets a rank, a keyed hash of (seed, source, ordinal), so the
//! draw is a pure function of the seed and the keys, independent of threads
//! and batch sizes. A request of `c` records from `N` is `c div N` whole
//! copies of every record plus one more copy of the `c mod N` lowest-ranked
//! records (bottom-k: a uniform sample without replacement). A token budget
//! `B` over `T` tokens is `B div T` whole copies plus the lowest-ranked
//! records taken while their token sum is below `B mod T` (so the budget is
//! reached, overshooting by less than one record). Pass 1 keeps only a
//! 24-byte [`Key`] per record in the external sorter; the walk over sorted
//! keys leaves a single threshold, so pass 2 decides each record by
//! recomputing its rank.

use std::hash::Hasher;

use super::plan::{Population, Request};
use crate::spill::FixedRecord;

/// The rank of record `ordinal` of source `source` under `seed`.
pub fn rank(seed: u64, source: u64, ordinal: u64) -> u64 {
    crate::keyed::hash(seed, crate::keyed::RECIPE_RANK, |h| {
        h.write_u64(source);
        h.write_u64(ordinal);
    })
}

/// One record as pass 1 indexes it; ordered by (rank, ordinal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    /// Its rank.
    pub rank: u64,
    /// Its ordinal in the source (0-based over all its files).
    pub ordinal: u64,
    /// Its token length.
    pub tokens: u64,
}

impl FixedRecord for Key {
    const SIZE: usize = 24;
    fn encode(&self, out: &mut [u8]) {
        out[..8].copy_from_slice(&self.rank.to_le_bytes());
        out[8..16].copy_from_slice(&self.ordinal.to_le_bytes());
        out[16..24].copy_from_slice(&self.tokens.to_le_bytes());
    }
    fn decode(b: &[u8]) -> Self {
        let word = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        Key {
            rank: word(0),
            ordinal: word(8),
            tokens: word(16),
        }
    }
}

/// The outcome of the draw for one source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Draw {
    /// Copies every record gets.
    pub whole: u64,
    /// Records ranked at or below this (rank, ordinal) get one more copy.
    pub last: Option<(u64, u64)>,
    /// How many records get that extra copy.
    pub extra: u64,
    /// Distinct records emitted.
    pub selected: u64,
    /// Records emitted, copies included.
    pub copies: u64,
    /// Tokens emitted, copies included.
    pub tokens: u64,
}

impl Draw {
    /// Copies of the record with this rank and ordinal.
    pub fn copies_of(&self, rank: u64, ordinal: u64) -> u64 {
        self.whole + u64::from(self.last.is_some_and(|last| (rank, ordinal) <= last))
    }
}

/// Decides, for the next key in rank order, whether the partial round
/// takes it (`taken` keys taken so far in that round).
type TakesNext = Box<dyn FnMut(u64, &Key) -> bool>;

/// Walk keys in ascending order and settle `request` for a source of
/// `population` (feasibility was checked by the planner).
pub fn walk<E>(
    sorted: impl Iterator<Item = Result<Key, E>>,
    population: Population,
    request: Request,
) -> Result<Draw, E> {
    let (n, t) = (population.records, population.tokens);
    let (whole, mut more): (u64, TakesNext) = match request {
        Request::Records(c) if n > 0 => {
            let k = c % n;
            (c / n, Box::new(move |taken, _| taken < k))
        }
        Request::Tokens(b) if t > 0 => {
            let rem = b % t;
            let mut sum = 0u64;
            (
                b / t,
                Box::new(move |_, key: &Key| {
                    let take = sum < rem;
                    sum += key.tokens;
                    take
                }),
            )
        }
        _ => return Ok(Draw::default()),
    };
    let mut draw = Draw {
        whole,
        tokens: whole * t,
        ..Draw::default()
    };
    for key in sorted {
        let key = key?;
        if !more(draw.extra, &key) {
            break;
        }
        draw.extra += 1;
        draw.tokens += key.tokens;
        draw.last = Some((key.rank, key.ordinal));
    }
    draw.selected = if whole > 0 { n } else { draw.extra };
    draw.copies = whole * n + draw.extra;
    Ok(draw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: u64, tokens: u64) -> Vec<Key> {
        let mut v: Vec<Key> = (0..n)
            .map(|o| Key {
                rank: rank(7, 1, o),
                ordinal: o,
                tokens,
            })
            .collect();
        v.sort();
        v
    }

    fn run(n: u64, tokens: u64, request: Request) -> Draw {
        let k = keys(n, tokens);
        walk(
            k.into_iter().map(Ok::<_, ()>),
            Population {
                records: n,
                tokens: n * tokens,
            },
            request,
        )
        .unwrap()
    }

    #[test]
    fn fractional_ratio_is_whole_copies_plus_a_sample() {
        let d = run(200, 3, Request::Records(500));
        assert_eq!(
            (d.whole, d.extra, d.selected, d.copies, d.tokens),
            (2, 100, 200, 500, 1500)
        );
        let per_record: Vec<u64> = (0..200).map(|o| d.copies_of(rank(7, 1, o), o)).collect();
        assert_eq!(per_record.iter().filter(|c| **c == 3).count(), 100);
        assert!(per_record.iter().all(|c| *c == 2 || *c == 3));
        let down = run(10, 1, Request::Records(3));
        assert_eq!((down.whole, down.selected, down.copies), (0, 3, 3));
    }

    #[test]
    fn token_budget_reaches_the_budget() {
        let d = run(100, 10, Request::Tokens(2_345));
        assert_eq!((d.whole, d.extra, d.tokens), (2, 35, 2_350));
        assert_eq!(run(5, 0, Request::Tokens(0)), Draw::default());
    }
}
