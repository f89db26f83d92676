//! Open-addressing hash tables over plain little-endian bytes, for the BPE
//! model's two lookups: the merge of a pair of token ids, and the id of a
//! whole token's bytes. Built in memory, a table is written to the tables
//! cache ([`super::stored`]) byte for byte, and a later run uses it straight
//! from the memory-mapped file: no parsing, no allocation, and only the
//! pages its lookups touch are read (lookups run on piece-cache misses
//! only, a few thousand per run).
//!
//! Both tables have a power-of-two number of 16-byte slots, at most about
//! two thirds full, probed linearly from a multiply-shift of the key (of
//! its xxh3 for byte strings). The build is deterministic, so equal inputs
//! give equal bytes.

use std::ops::Range;
use std::sync::Arc;

/// Bytes per slot.
const SLOT: usize = 16;

/// A buffer tables can live in: a `Vec`, or a mapped cache file.
pub type SharedBuffer = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// The bytes a table lives in: a range of a shared buffer (its own `Vec`
/// when built, the mapped cache file when loaded).
#[derive(Clone)]
pub struct Backing {
    buffer: SharedBuffer,
    range: Range<usize>,
}

impl Backing {
    /// All of `bytes`.
    pub fn owned(bytes: Vec<u8>) -> Backing {
        let range = 0..bytes.len();
        Backing {
            buffer: Arc::new(bytes),
            range,
        }
    }

    /// `range` of a shared buffer (which must hold it).
    pub fn shared(buffer: SharedBuffer, range: Range<usize>) -> Backing {
        assert!(
            range.end <= (*buffer).as_ref().len(),
            "range inside the buffer"
        );
        Backing { buffer, range }
    }

    /// The bytes.
    #[inline]
    pub fn bytes(&self) -> &[u8] {
        &(*self.buffer).as_ref()[self.range.clone()]
    }
}

/// Slots for `entries` keys: a power of two, filled to at most ~2/3.
fn slot_bits(entries: usize) -> u32 {
    (entries + entries / 2 + 1)
        .next_power_of_two()
        .trailing_zeros()
}

#[inline]
fn le_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

#[inline]
fn le_u64(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// The first slot to probe for `hash` among `1 << bits`.
#[inline]
fn home(hash: u64, bits: u32) -> usize {
    if bits == 0 {
        return 0;
    }
    (hash.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
}

/// A pair-table entry: key, value.
pub type PairEntry = (u64, (u32, u32));

/// `u64` key → `(u32, u32)` value; slot = key, value.0, value.1. The key
/// `u64::MAX` marks an empty slot (a pair of ids is never that).
#[derive(Clone)]
pub struct PairTable {
    bits: u32,
    slots: Backing,
}

const EMPTY_PAIR: u64 = u64::MAX;

impl PairTable {
    /// A table of `entries`, a later duplicate key replacing the value.
    pub fn build(entries: &[PairEntry]) -> PairTable {
        let bits = slot_bits(entries.len());
        let mut slots = vec![0u8; SLOT << bits];
        for chunk in slots.chunks_exact_mut(SLOT) {
            chunk[..8].copy_from_slice(&EMPTY_PAIR.to_le_bytes());
        }
        let mask = (1usize << bits) - 1;
        for &(key, (a, b)) in entries {
            assert_ne!(key, EMPTY_PAIR, "the empty key is never a pair of ids");
            let mut at = home(key, bits);
            loop {
                let stored = le_u64(&slots, at * SLOT);
                if stored == EMPTY_PAIR || stored == key {
                    let slot = &mut slots[at * SLOT..(at + 1) * SLOT];
                    slot[..8].copy_from_slice(&key.to_le_bytes());
                    slot[8..12].copy_from_slice(&a.to_le_bytes());
                    slot[12..].copy_from_slice(&b.to_le_bytes());
                    break;
                }
                at = (at + 1) & mask;
            }
        }
        PairTable {
            bits,
            slots: Backing::owned(slots),
        }
    }

    /// A table stored as `bits` and slot bytes (see [`Self::parts`]);
    /// `None` when the sizes do not match.
    pub fn from_parts(bits: u32, slots: Backing) -> Option<PairTable> {
        (bits < 40 && slots.bytes().len() == SLOT << bits).then_some(PairTable { bits, slots })
    }

    /// What [`Self::from_parts`] takes.
    pub fn parts(&self) -> (u32, &[u8]) {
        (self.bits, self.slots.bytes())
    }

    /// The value of `key`.
    #[inline]
    pub fn get(&self, key: u64) -> Option<(u32, u32)> {
        let slots = self.slots.bytes();
        let mask = (1usize << self.bits) - 1;
        let mut at = home(key, self.bits);
        loop {
            let stored = le_u64(slots, at * SLOT);
            if stored == key {
                return Some((le_u32(slots, at * SLOT + 8), le_u32(slots, at * SLOT + 12)));
            }
            if stored == EMPTY_PAIR {
                return None;
            }
            at = (at + 1) & mask;
        }
    }
}

/// Byte string → `u32`; slot = low half of the key's xxh3, offset and
/// length of the key in the text area after the slots, value. Length
/// `u32::MAX` marks an empty slot.
#[derive(Clone)]
pub struct BytesTable {
    bits: u32,
    /// The slots, then the keys' bytes.
    data: Backing,
}

const EMPTY_LEN: u32 = u32::MAX;

impl BytesTable {
    /// A table of `entries` (keys distinct).
    pub fn build(entries: &[(&[u8], u32)]) -> BytesTable {
        let bits = slot_bits(entries.len());
        let text_len: usize = entries.iter().map(|(k, _)| k.len()).sum();
        let mut data = vec![0u8; (SLOT << bits) + text_len];
        for chunk in data[..SLOT << bits].chunks_exact_mut(SLOT) {
            chunk[8..12].copy_from_slice(&EMPTY_LEN.to_le_bytes());
        }
        let mask = (1usize << bits) - 1;
        let mut text_at = SLOT << bits;
        for &(key, value) in entries {
            let hash = xxhash_rust::xxh3::xxh3_64(key);
            let mut at = home(hash, bits);
            while le_u32(&data, at * SLOT + 8) != EMPTY_LEN {
                at = (at + 1) & mask;
            }
            let offset = u32::try_from(text_at).expect("tables under 4 GiB");
            let slot = &mut data[at * SLOT..(at + 1) * SLOT];
            slot[..4].copy_from_slice(&(hash as u32).to_le_bytes());
            slot[4..8].copy_from_slice(&offset.to_le_bytes());
            slot[8..12].copy_from_slice(&(key.len() as u32).to_le_bytes());
            slot[12..].copy_from_slice(&value.to_le_bytes());
            data[text_at..text_at + key.len()].copy_from_slice(key);
            text_at += key.len();
        }
        BytesTable {
            bits,
            data: Backing::owned(data),
        }
    }

    /// A table stored as `bits` and its bytes (see [`Self::parts`]); `None`
    /// when they are too short for the slots. (A slot whose key range lies
    /// outside the bytes matches nothing.)
    pub fn from_parts(bits: u32, data: Backing) -> Option<BytesTable> {
        (bits < 40 && data.bytes().len() >= SLOT << bits).then_some(BytesTable { bits, data })
    }

    /// What [`Self::from_parts`] takes.
    pub fn parts(&self) -> (u32, &[u8]) {
        (self.bits, self.data.bytes())
    }

    /// The value of `key`.
    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<u32> {
        let data = self.data.bytes();
        let hash = xxhash_rust::xxh3::xxh3_64(key);
        let mask = (1usize << self.bits) - 1;
        let mut at = home(hash, self.bits);
        loop {
            let slot = &data[at * SLOT..(at + 1) * SLOT];
            let len = le_u32(slot, 8);
            if len == EMPTY_LEN {
                return None;
            }
            if le_u32(slot, 0) == hash as u32 && len as usize == key.len() {
                let offset = le_u32(slot, 4) as usize;
                if data.get(offset..offset + key.len()) == Some(key) {
                    return Some(le_u32(slot, 12));
                }
            }
            at = (at + 1) & mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn pair_table_answers_as_a_map_with_later_duplicates_winning() {
        let entries: Vec<PairEntry> = (0..5000u64)
            .map(|i| {
                (
                    (((i * 7919) % 3000) << 32) | (i % 17),
                    (i as u32, (i * 3) as u32),
                )
            })
            .collect();
        let map: HashMap<u64, (u32, u32)> = entries.iter().copied().collect();
        let table = PairTable::build(&entries);
        for (key, value) in &map {
            assert_eq!(table.get(*key), Some(*value));
        }
        for key in [1u64 << 40, 5, u64::MAX - 1] {
            assert_eq!(table.get(key), map.get(&key).copied());
        }
        let (bits, slots) = table.parts();
        let again = PairTable::from_parts(bits, Backing::owned(slots.to_vec())).unwrap();
        assert_eq!(again.get(entries[10].0), map.get(&entries[10].0).copied());
        assert!(PairTable::from_parts(bits + 1, Backing::owned(slots.to_vec())).is_none());
    }

    #[test]
    fn bytes_table_finds_every_key_and_nothing_else() {
        let keys: Vec<Vec<u8>> = (0..3000u32)
            .map(|i| format!("k{i}").into_bytes())
            .chain([Vec::new(), b"\xff\x00".to_vec()])
            .collect();
        let entries: Vec<(&[u8], u32)> = keys.iter().zip(0..).map(|(k, i)| (&k[..], i)).collect();
        let table = BytesTable::build(&entries);
        for (key, value) in &entries {
            assert_eq!(table.get(key), Some(*value));
        }
        for missing in [&b"k3000"[..], b"k", b"\xff", b"k12 "] {
            assert_eq!(table.get(missing), None);
        }
        let empty = BytesTable::build(&[]);
        assert_eq!(empty.get(b""), None);
        let (bits, data) = table.parts();
        let again = BytesTable::from_parts(bits, Backing::owned(data.to_vec())).unwrap();
        assert_eq!(again.get(b"k77"), Some(77));
        let mut cut = data.to_vec();
        cut.truncate(SLOT << bits);
        let keyless = BytesTable::from_parts(bits, Backing::owned(cut.clone())).unwrap();
        assert_eq!(
            keyless.get(b"k77"),
            None,
            "keys outside the bytes match nothing"
        );
        cut.pop();
        assert!(BytesTable::from_parts(bits, Backing::owned(cut)).is_none());
    }
}
