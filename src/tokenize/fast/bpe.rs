//! The BPE model, counting only: vocabulary and merges re-keyed by raw bytes
//! (byte-level BPE is a bijection between bytes and the GPT-2 alphabet), the
//! HF `ignore_merges` shortcut (a piece that is itself a token counts 1), and
//! otherwise the same lowest-rank, leftmost-first merge loop as HF's
//! `Word::merge_all`. Runs only on cache misses.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use super::cache::FxBuild;
use super::FastError;

/// Counting-only byte-level BPE.
pub struct Bpe {
    byte_ids: [u32; 256],
    /// `(left id << 32 | right id)` → `(rank, merged id)`.
    merges: HashMap<u64, (u32, u32), FxBuild>,
    /// Raw-byte vocabulary, for `ignore_merges`; empty when that is off.
    whole: HashMap<Box<[u8]>, u32, FxBuild>,
}

/// GPT-2's byte → char table (`bytes_to_unicode`).
pub fn byte_to_char() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut extra = 0u32;
    for b in 0..=255u8 {
        let printable = matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
        let cp = if printable {
            u32::from(b)
        } else {
            extra += 1;
            255 + extra
        };
        table[b as usize] = char::from_u32(cp).expect("below the surrogates");
    }
    table
}

/// The raw bytes a byte-level token string stands for, or `None` when it
/// has chars outside the 256-char alphabet (it can never be produced).
fn decode(token: &str, char_to_byte: &HashMap<char, u8>) -> Option<Box<[u8]>> {
    token
        .chars()
        .map(|c| char_to_byte.get(&c).copied())
        .collect()
}

#[inline]
fn pair_key(left: u32, right: u32) -> u64 {
    (u64::from(left) << 32) | u64::from(right)
}

impl Bpe {
    /// Builds the model. `Ok(None)` when some byte has no token (HF would
    /// then drop or `unk` it, which this path does not model); `Err` when a
    /// merge names a token missing from `vocab` (HF refuses to load).
    pub fn new(
        vocab: &HashMap<String, u32>,
        merges: &[(String, String)],
        ignore_merges: bool,
    ) -> Result<Option<Bpe>, FastError> {
        let b2c = byte_to_char();
        let char_to_byte: HashMap<char, u8> =
            b2c.iter().enumerate().map(|(b, &c)| (c, b as u8)).collect();
        let mut byte_ids = [0u32; 256];
        for (b, c) in b2c.iter().enumerate() {
            match vocab.get(c.to_string().as_str()) {
                Some(&id) => byte_ids[b] = id,
                None => return Ok(None),
            }
        }
        let missing = |t: &str| FastError::Invalid(format!("merge token {t:?} not in vocab"));
        let mut merge_map = HashMap::with_capacity_and_hasher(merges.len(), FxBuild);
        for (rank, (a, b)) in merges.iter().enumerate() {
            let a_id = *vocab.get(a).ok_or_else(|| missing(a))?;
            let b_id = *vocab.get(b).ok_or_else(|| missing(b))?;
            let joined = format!("{a}{b}");
            let new_id = *vocab.get(&joined).ok_or_else(|| missing(&joined))?;
            let rank =
                u32::try_from(rank).map_err(|_| FastError::Invalid("too many merges".into()))?;
            // Later duplicates win, as in HF's `collect` into a map.
            merge_map.insert(pair_key(a_id, b_id), (rank, new_id));
        }
        let mut whole = HashMap::with_hasher(FxBuild);
        if ignore_merges {
            whole.reserve(vocab.len());
            for (token, &id) in vocab {
                if let Some(bytes) = decode(token, &char_to_byte) {
                    whole.insert(bytes, id);
                }
            }
        }
        Ok(Some(Bpe {
            byte_ids,
            merges: merge_map,
            whole,
        }))
    }

    /// The number of tokens HF's BPE produces for `piece`.
    pub fn count(&self, piece: &[u8]) -> usize {
        if piece.len() <= 1 || self.whole.contains_key(piece) {
            return piece.len().min(1);
        }
        self.merge_count(piece)
    }

    /// HF's `Word::merge_all` (without dropout), returning the symbol count.
    fn merge_count(&self, piece: &[u8]) -> usize {
        let n = piece.len();
        let mut ids: Vec<u32> = piece.iter().map(|&b| self.byte_ids[b as usize]).collect();
        let mut alive = vec![true; n];
        // Doubly linked list over positions; `n` / `usize::MAX` mean none.
        let mut next: Vec<usize> = (1..=n).collect();
        let mut prev: Vec<usize> = (0..n).map(|i| i.wrapping_sub(1)).collect();
        let mut heap = BinaryHeap::with_capacity(n);
        for i in 0..n - 1 {
            if let Some(&(rank, new_id)) = self.merges.get(&pair_key(ids[i], ids[i + 1])) {
                heap.push(Reverse((rank, i, new_id)));
            }
        }
        let mut symbols = n;
        while let Some(Reverse((_, pos, new_id))) = heap.pop() {
            if !alive[pos] || next[pos] >= n {
                continue;
            }
            let right = next[pos];
            let current = self.merges.get(&pair_key(ids[pos], ids[right]));
            if current.is_none_or(|&(_, id)| id != new_id) {
                continue;
            }
            ids[pos] = new_id;
            alive[right] = false;
            next[pos] = next[right];
            if next[pos] < n {
                prev[next[pos]] = pos;
            }
            symbols -= 1;
            if prev[pos] != usize::MAX {
                let p = prev[pos];
                if let Some(&(rank, id)) = self.merges.get(&pair_key(ids[p], ids[pos])) {
                    heap.push(Reverse((rank, p, id)));
                }
            }
            if next[pos] < n {
                let q = next[pos];
                if let Some(&(rank, id)) = self.merges.get(&pair_key(ids[pos], ids[q])) {
                    heap.push(Reverse((rank, pos, id)));
                }
            }
        }
        symbols
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy(ignore_merges: bool) -> Bpe {
        let b2c = byte_to_char();
        let mut vocab: HashMap<String, u32> = b2c
            .iter()
            .enumerate()
            .map(|(i, c)| (c.to_string(), i as u32))
            .collect();
        for (i, t) in ["ab", "bc", "abc", "aa", "aaa"].iter().enumerate() {
            vocab.insert(t.to_string(), 300 + i as u32);
        }
        let merges: Vec<(String, String)> = [("b", "c"), ("a", "b"), ("a", "bc"), ("a", "a")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        Bpe::new(&vocab, &merges, ignore_merges).unwrap().unwrap()
    }

    #[test]
    fn merges_lowest_rank_first() {
        let bpe = toy(false);
        assert_eq!(bpe.count(b"abc"), 1); // b c, then a bc
        assert_eq!(bpe.count(b"aaa"), 2); // aa a: "aa a" is no merge
        assert_eq!(bpe.count(b"xyz"), 3);
        assert_eq!(bpe.count(b""), 0);
    }

    #[test]
    fn ignore_merges_takes_whole_tokens() {
        assert_eq!(toy(false).count(b"aaa"), 2);
        assert_eq!(toy(true).count(b"aaa"), 1);
    }
}
