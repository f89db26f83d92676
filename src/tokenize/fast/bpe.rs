//! The BPE model, counting only: vocabulary and merges re-keyed by raw bytes
//! (byte-level BPE is a bijection between bytes and the GPT-2 alphabet), the
//! HF `ignore_merges` shortcut (a piece that is itself a token counts 1), and
//! otherwise the same lowest-rank, leftmost-first merge loop as HF's
//! `Word::merge_all`. Runs only on cache misses.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use rustc_hash::FxBuildHasher;

use super::config::TokenStr;
use super::flat::{Backing, BytesTable, PairEntry, PairTable, SharedBuffer};
use super::FastError;

use super::stored::{put_u32, Reader};

/// Counting-only byte-level BPE.
pub struct Bpe {
    byte_ids: [u32; 256],
    /// `(left id << 32 | right id)` → `(rank, merged id)`.
    merges: PairTable,
    /// Raw-byte vocabulary, for `ignore_merges`; empty when that is off.
    whole: BytesTable,
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

/// Inverse of [`byte_to_char`]: indexed by char, `NO_BYTE` where a char
/// is outside the alphabet (all of it lies below U+0144).
struct CharToByte([u16; 0x200]);

const NO_BYTE: u16 = u16::MAX;

impl CharToByte {
    fn new() -> CharToByte {
        let mut table = [NO_BYTE; 0x200];
        for (b, c) in byte_to_char().iter().enumerate() {
            table[*c as usize] = b as u16;
        }
        CharToByte(table)
    }

    /// Appends the raw bytes `token` stands for to `out`; `false` (and
    /// `out` partly written) when it has chars outside the alphabet: such
    /// a token can never be produced from bytes.
    fn decode_into(&self, token: &str, out: &mut Vec<u8>) -> bool {
        token.chars().all(|c| {
            let byte = self.0.get(c as usize).copied().unwrap_or(NO_BYTE);
            out.push(byte as u8);
            byte != NO_BYTE
        })
    }
}

/// The vocabulary keyed by raw bytes, plus the tokens that have none.
struct ByteVocab<'v> {
    ids: HashMap<Box<[u8]>, u32, FxBuildHasher>,
    undecodable: HashSet<&'v str>,
}

impl<'v> ByteVocab<'v> {
    fn new(vocab: &'v [(TokenStr<'_>, u32)], table: &CharToByte) -> ByteVocab<'v> {
        let mut ids = HashMap::with_capacity_and_hasher(vocab.len(), FxBuildHasher);
        let mut undecodable = HashSet::new();
        let mut buf = Vec::new();
        for (token, id) in vocab {
            buf.clear();
            if table.decode_into(token, &mut buf) {
                // Later duplicates win, as when HF reads the JSON map.
                ids.insert(buf.as_slice().into(), *id);
            } else {
                undecodable.insert(token.as_ref());
            }
        }
        ByteVocab { ids, undecodable }
    }
}

/// The merge table's key of the pair `(left, right)`.
#[inline]
pub(super) fn pair_key(left: u32, right: u32) -> u64 {
    (u64::from(left) << 32) | u64::from(right)
}

impl Bpe {
    /// Builds the model. `Ok(None)` when some byte has no token (HF would
    /// then drop or `unk` it, which this path does not model); `Err` when a
    /// merge names a token missing from `vocab` (HF refuses to load).
    pub fn new(
        vocab: &[(TokenStr<'_>, u32)],
        merges: &[(TokenStr<'_>, TokenStr<'_>)],
        ignore_merges: bool,
    ) -> Result<Option<Bpe>, FastError> {
        let table = CharToByte::new();
        let by_bytes = ByteVocab::new(vocab, &table);
        let mut byte_ids = [0u32; 256];
        for (b, id) in byte_ids.iter_mut().enumerate() {
            match by_bytes.ids.get(&[b as u8][..]) {
                Some(&found) => *id = found,
                None => return Ok(None),
            }
        }
        let merges = PairTable::build(&merge_ranks(merges, &table, &by_bytes)?);
        let mut whole: Vec<(&[u8], u32)> = match ignore_merges {
            true => by_bytes.ids.iter().map(|(k, &id)| (&k[..], id)).collect(),
            false => Vec::new(),
        };
        // Map order is not a fixed order: sort, so equal inputs give equal
        // table bytes.
        whole.sort_unstable();
        Ok(Some(Bpe {
            byte_ids,
            merges,
            whole: BytesTable::build(&whole),
        }))
    }

    /// Append the tables to `out` (see [`super::stored`]): the byte ids,
    /// then each table's slot bits, byte length and bytes.
    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        for id in self.byte_ids {
            put_u32(out, id);
        }
        for (bits, bytes) in [self.merges.parts(), self.whole.parts()] {
            put_u32(out, bits);
            out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            out.extend_from_slice(bytes);
        }
    }

    /// Read back what [`Bpe::encode`] wrote, the tables left where they are
    /// in `buffer` (whose bytes `r` reads, from `r_start` on); `None` when
    /// it is cut short or does not fit.
    pub(super) fn decode(r: &mut Reader<'_>, buffer: &SharedBuffer, r_start: usize) -> Option<Bpe> {
        let mut byte_ids = [0u32; 256];
        for id in &mut byte_ids {
            *id = r.u32()?;
        }
        let table = |r: &mut Reader<'_>| {
            let bits = r.u32()?;
            let len = usize::try_from(r.u64()?).ok()?;
            let start = r_start + r.consumed();
            r.take(len)?;
            Some((bits, Backing::shared(buffer.clone(), start..start + len)))
        };
        let (merge_bits, merges) = table(r)?;
        let (whole_bits, whole) = table(r)?;
        Some(Bpe {
            byte_ids,
            merges: PairTable::from_parts(merge_bits, merges)?,
            whole: BytesTable::from_parts(whole_bits, whole)?,
        })
    }

    /// Whether `other` holds the same tables.
    #[cfg(test)]
    pub(super) fn same_tables(&self, other: &Bpe) -> bool {
        self.byte_ids == other.byte_ids
            && self.merges.parts() == other.merges.parts()
            && self.whole.parts() == other.whole.parts()
    }

    /// The number of tokens HF's BPE produces for `piece`.
    pub fn count(&self, piece: &[u8]) -> usize {
        if piece.len() <= 1 || self.whole.get(piece).is_some() {
            return piece.len().min(1);
        }
        self.merge_count(piece)
    }

    /// HF's `Word::merge_all` on the byte symbols of `piece`.
    fn merge_count(&self, piece: &[u8]) -> usize {
        let ids = piece.iter().map(|&b| self.byte_ids[b as usize]).collect();
        merge_count(&self.merges, ids)
    }
}

/// HF's `Word::merge_all` (without dropout) on a word whose symbols have
/// the ids `ids`, returning the symbol count: the lowest-rank pair merges
/// first, the leftmost among equal ranks. Shared by the byte-level model
/// and the SentencePiece one ([`super::sp`]).
pub(super) fn merge_count(merges: &PairTable, mut ids: Vec<u32>) -> usize {
    let n = ids.len();
    if n <= 1 {
        return n;
    }
    let mut alive = vec![true; n];
    // Doubly linked list over positions; `n` / `usize::MAX` mean none.
    let mut next: Vec<usize> = (1..=n).collect();
    let mut prev: Vec<usize> = (0..n).map(|i| i.wrapping_sub(1)).collect();
    let mut heap = BinaryHeap::with_capacity(n);
    for i in 0..n - 1 {
        if let Some((rank, new_id)) = merges.get(pair_key(ids[i], ids[i + 1])) {
            heap.push(Reverse((rank, i, new_id)));
        }
    }
    let mut symbols = n;
    while let Some(Reverse((_, pos, new_id))) = heap.pop() {
        if !alive[pos] || next[pos] >= n {
            continue;
        }
        let right = next[pos];
        let current = merges.get(pair_key(ids[pos], ids[right]));
        if current.is_none_or(|(_, id)| id != new_id) {
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
            if let Some((rank, id)) = merges.get(pair_key(ids[p], ids[pos])) {
                heap.push(Reverse((rank, p, id)));
            }
        }
        if next[pos] < n {
            let q = next[pos];
            if let Some((rank, id)) = merges.get(pair_key(ids[pos], ids[q])) {
                heap.push(Reverse((rank, pos, id)));
            }
        }
    }
    symbols
}

/// `(left id, right id)` → `(rank, merged id)`, in rank order, for every
/// merge of two byte-level tokens (a merge of a token outside the byte
/// alphabet can never fire and is left out). `Err` when a merge names a token missing
/// from the vocabulary, as HF refuses to load that.
fn merge_ranks(
    merges: &[(TokenStr<'_>, TokenStr<'_>)],
    table: &CharToByte,
    vocab: &ByteVocab<'_>,
) -> Result<Vec<PairEntry>, FastError> {
    let missing = |t: &str| FastError::Invalid(format!("merge token {t:?} not in vocab"));
    let mut map = Vec::with_capacity(merges.len());
    let (mut joined, mut right) = (Vec::new(), Vec::new());
    for (rank, (a, b)) in merges.iter().enumerate() {
        joined.clear();
        right.clear();
        let decodable = table.decode_into(a, &mut joined) && table.decode_into(b, &mut right);
        if !decodable {
            let known =
                |t: &str| vocab.undecodable.contains(t) || decodes_to_known(t, table, vocab);
            for t in [a.as_ref(), b.as_ref(), &format!("{a}{b}")] {
                if !known(t) {
                    return Err(missing(t));
                }
            }
            continue;
        }
        let a_id = *vocab.ids.get(joined.as_slice()).ok_or_else(|| missing(a))?;
        let b_id = *vocab.ids.get(right.as_slice()).ok_or_else(|| missing(b))?;
        joined.extend_from_slice(&right);
        let new_id = *vocab
            .ids
            .get(joined.as_slice())
            .ok_or_else(|| missing(&format!("{a}{b}")))?;
        let rank = u32::try_from(rank).map_err(|_| FastError::Invalid("too many merges".into()))?;
        // Later duplicates win (the table keeps the last), as in HF's
        // `collect` into a map.
        map.push((pair_key(a_id, b_id), (rank, new_id)));
    }
    Ok(map)
}

/// Whether `token` decodes to bytes that are in the vocabulary.
fn decodes_to_known(token: &str, table: &CharToByte, vocab: &ByteVocab<'_>) -> bool {
    let mut buf = Vec::new();
    table.decode_into(token, &mut buf) && vocab.ids.contains_key(buf.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy(ignore_merges: bool) -> Bpe {
        let b2c = byte_to_char();
        let mut vocab: Vec<(TokenStr, u32)> = b2c
            .iter()
            .enumerate()
            .map(|(i, c)| (c.to_string().into(), i as u32))
            .collect();
        for (i, t) in ["ab", "bc", "abc", "aa", "aaa"].iter().enumerate() {
            vocab.push(((*t).into(), 300 + i as u32));
        }
        let merges: Vec<(TokenStr, TokenStr)> = [("b", "c"), ("a", "b"), ("a", "bc"), ("a", "a")]
            .iter()
            .map(|&(a, b)| (a.into(), b.into()))
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
