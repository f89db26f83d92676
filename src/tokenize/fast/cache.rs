//! Per-thread, per-counter memo of piece → token count. Chat text repeats a
//! few thousand distinct pre-tokens, so almost every piece is a hit, and a
//! hit must cost little more than reading the piece: pieces of up to 15
//! bytes (99.7% of them in chat text) are keyed by two words loaded straight
//! from the text, in an open-addressing table of 16-byte slots that also
//! hold the count; longer ones (up to 64 bytes) go to a hash map. Each
//! thread keeps its own memo for each of the last few counters it used (no
//! locks, no sharing); a memo that reaches its bound is cleared.

use std::cell::RefCell;
use std::collections::HashMap;

use rustc_hash::FxBuildHasher;

/// Pieces longer than this are counted without the cache.
const MAX_KEY_LEN: usize = 64;
/// Pieces of at most this many bytes go to the packed table.
const PACKED_LEN: usize = 15;
/// Entries of the long-piece map before it is cleared.
const MAX_LONG_ENTRIES: usize = 1 << 16;
/// Slots of a new packed table (it doubles up to [`MAX_PACKED_SLOTS`]).
const MIN_PACKED_SLOTS: usize = 1 << 12;
/// Slots past which the packed table is cleared rather than grown (2 MiB,
/// 65,536 pieces).
const MAX_PACKED_SLOTS: usize = 1 << 17;
/// Counters remembered per thread; the oldest is dropped past this.
const MAX_COUNTERS: usize = 8;

/// Bits of a slot's second word that hold the count (under the length).
const COUNT_BITS: u64 = 0xF << 56;

/// A piece of at most [`PACKED_LEN`] bytes as two words: its bytes, zero
/// padded, with the length in the top four bits (bits 56–59 are left for
/// the count). Never all zero, since pieces are not empty.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct PackedKey([u64; 2]);

impl PackedKey {
    /// The key of `text[start..start + len]` (`1 <= len <= 15`). Whole
    /// words are loaded from the text and masked, so no byte loop runs
    /// unless the piece ends within 16 bytes of the end of the text.
    #[inline]
    fn at(text: &[u8], start: usize, len: usize) -> PackedKey {
        debug_assert!((1..=PACKED_LEN).contains(&len) && start + len <= text.len());
        let low = load_word(text, start) & low_bytes(len);
        let high = if len > 8 {
            load_word(text, start + 8) & low_bytes(len - 8)
        } else {
            0
        };
        PackedKey([low, high | (len as u64) << 60])
    }

    /// The slot index of this key in a table of `1 << bits` slots.
    #[inline]
    fn slot(self, bits: u32) -> usize {
        let mixed = (self.0[0].wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ self.0[1])
            .wrapping_mul(0xD6E8_FEB8_6659_FD93);
        (mixed >> (64 - bits)) as usize
    }
}

/// The 8 bytes of `text` from `at` as a little-endian word, zero past the end.
#[inline]
fn load_word(text: &[u8], at: usize) -> u64 {
    match text.get(at..at + 8) {
        Some(word) => u64::from_le_bytes(word.try_into().expect("8 bytes")),
        None => text
            .get(at..)
            .unwrap_or_default()
            .iter()
            .rev()
            .fold(0, |word, &b| word << 8 | u64::from(b)),
    }
}

/// A mask of the low `n` bytes of a word (all of it from 8 up).
#[inline]
fn low_bytes(n: usize) -> u64 {
    if n >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * n)) - 1
    }
}

/// Open-addressing table (linear probing, at most half full) of packed
/// keys, each slot holding its key with the count in [`COUNT_BITS`].
struct PackedTable {
    slots: Vec<[u64; 2]>,
    bits: u32,
    filled: usize,
}

impl Default for PackedTable {
    fn default() -> PackedTable {
        PackedTable::with_bits(MIN_PACKED_SLOTS.trailing_zeros())
    }
}

impl PackedTable {
    fn with_bits(bits: u32) -> PackedTable {
        PackedTable {
            slots: vec![[0; 2]; 1 << bits],
            bits,
            filled: 0,
        }
    }

    /// The slot that holds `key`, or the empty slot where it would go.
    #[inline]
    fn find(&self, key: PackedKey) -> usize {
        let mask = self.slots.len() - 1;
        let mut at = key.slot(self.bits);
        loop {
            let [low, high] = self.slots[at];
            if (low == key.0[0] && high & !COUNT_BITS == key.0[1]) || high == 0 {
                return at;
            }
            at = (at + 1) & mask;
        }
    }

    #[inline]
    fn get(&self, key: PackedKey) -> Option<usize> {
        let high = self.slots[self.find(key)][1];
        (high != 0).then_some(((high & COUNT_BITS) >> 56) as usize)
    }

    /// Stores `count` (at most 15) for a key that is not in the table.
    fn insert(&mut self, key: PackedKey, count: usize) {
        if 2 * (self.filled + 1) > self.slots.len() {
            self.make_room();
        }
        let at = self.find(key);
        self.slots[at] = [key.0[0], key.0[1] | (count as u64) << 56];
        self.filled += 1;
    }

    /// Doubles the table, or clears it once it has reached its bound.
    fn make_room(&mut self) {
        if self.slots.len() >= MAX_PACKED_SLOTS {
            self.slots.fill([0; 2]);
            self.filled = 0;
            return;
        }
        let old = std::mem::replace(self, PackedTable::with_bits(self.bits + 1));
        for [low, high] in old.slots.into_iter().filter(|s| s[1] != 0) {
            let at = self.find(PackedKey([low, high & !COUNT_BITS]));
            self.slots[at] = [low, high];
            self.filled += 1;
        }
    }
}

/// One thread's memo for one counter.
#[derive(Default)]
pub struct PieceCache {
    packed: PackedTable,
    long: HashMap<Box<[u8]>, u32, FxBuildHasher>,
}

impl PieceCache {
    /// The count of the piece `text[start..end]`, from the memo or from
    /// `compute` (then stored). Passing the whole text lets short keys be
    /// read a word at a time past the piece's end.
    #[inline]
    pub fn count(
        &mut self,
        text: &[u8],
        start: usize,
        end: usize,
        compute: impl FnOnce(&[u8]) -> usize,
    ) -> usize {
        let len = end - start;
        if (1..=PACKED_LEN).contains(&len) {
            let key = PackedKey::at(text, start, len);
            if let Some(n) = self.packed.get(key) {
                return n;
            }
            let n = compute(&text[start..end]);
            // A byte-level piece has at most one token per byte, so this
            // always fits in the slot's four count bits.
            if n <= PACKED_LEN {
                self.packed.insert(key, n);
            }
            return n;
        }
        let piece = &text[start..end];
        if len > MAX_KEY_LEN || len == 0 {
            return compute(piece);
        }
        if let Some(&n) = self.long.get(piece) {
            return n as usize;
        }
        let n = compute(piece);
        if self.long.len() >= MAX_LONG_ENTRIES {
            self.long.clear();
        }
        self.long.insert(piece.into(), n as u32);
        n
    }
}

/// One thread's state for one counter: the memo, and a text buffer for
/// normalized segments (reused, so normalizing allocates once per thread).
#[derive(Default)]
pub struct Scratch {
    /// The piece memo.
    pub pieces: PieceCache,
    /// A reusable buffer.
    pub text: String,
}

thread_local! {
    static CACHES: RefCell<Vec<(u64, Scratch)>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's memo and buffer for the counter `id`.
pub fn with_cache<R>(id: u64, f: impl FnOnce(&mut Scratch) -> R) -> R {
    CACHES.with(|caches| {
        let mut caches = caches.borrow_mut();
        let at = match caches.iter().position(|(k, _)| *k == id) {
            Some(at) => at,
            None => {
                if caches.len() >= MAX_COUNTERS {
                    caches.remove(0);
                }
                caches.push((id, Scratch::default()));
                caches.len() - 1
            }
        };
        f(&mut caches[at].1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys built byte by byte, the plain way.
    fn plain_key(piece: &[u8]) -> [u64; 2] {
        let mut buf = [0u8; 16];
        buf[..piece.len()].copy_from_slice(piece);
        buf[15] = (piece.len() as u8) << 4;
        [
            u64::from_le_bytes(buf[..8].try_into().unwrap()),
            u64::from_le_bytes(buf[8..].try_into().unwrap()),
        ]
    }

    #[test]
    fn packed_keys_are_the_zero_padded_bytes_and_length_wherever_the_piece_lies() {
        let text: Vec<u8> = (1..=40u8).map(|b| b.wrapping_mul(37) | 0x80).collect();
        for start in 0..text.len() {
            for len in 1..=PACKED_LEN.min(text.len() - start) {
                let piece = &text[start..start + len];
                assert_eq!(
                    PackedKey::at(&text, start, len).0,
                    plain_key(piece),
                    "{start} {len}"
                );
                // The same piece at the very end of a text (byte-wise tail).
                assert_eq!(PackedKey::at(piece, 0, len).0, plain_key(piece), "{len}");
            }
        }
    }

    /// Counts `piece` (standing alone) through `cache`, noting calls.
    fn through(cache: &mut PieceCache, piece: &[u8], value: usize, calls: &mut usize) -> usize {
        cache.count(piece, 0, piece.len(), |_| {
            *calls += 1;
            value
        })
    }

    #[test]
    fn caches_short_and_mid_pieces_and_bypasses_long_ones() {
        let mut calls = 0;
        with_cache(u64::MAX, |s| {
            let c = &mut s.pieces;
            assert_eq!(through(c, b"abc", 2, &mut calls), 2);
            assert_eq!(through(c, b"abc", 9, &mut calls), 2);
            assert_eq!(through(c, b"abc\0", 3, &mut calls), 3);
            assert_eq!(through(c, b"abc", 9, &mut calls), 2);
            let fifteen = [b'q'; PACKED_LEN];
            assert_eq!(through(c, &fifteen, 15, &mut calls), 15);
            assert_eq!(through(c, &fifteen, 0, &mut calls), 15);
            let mid = [b'y'; PACKED_LEN + 1];
            assert_eq!(through(c, &mid, 4, &mut calls), 4);
            assert_eq!(through(c, &mid, 0, &mut calls), 4);
            let long = [b'x'; MAX_KEY_LEN + 1];
            assert_eq!(through(c, &long, 5, &mut calls), 5);
            assert_eq!(through(c, &long, 5, &mut calls), 5);
        });
        assert_eq!(calls, 6);
    }

    #[test]
    fn a_piece_inside_a_text_shares_its_entry_with_the_same_bytes_alone() {
        let mut calls = 0;
        let mut cache = PieceCache::default();
        let text = b"  hello world, hello";
        let n = cache.count(text, 2, 7, |p| {
            assert_eq!(p, b"hello");
            calls += 1;
            1
        });
        assert_eq!(n, 1);
        assert_eq!(through(&mut cache, b"hello", 7, &mut calls), 1);
        assert_eq!(cache.count(text, 15, 20, |_| 7), 1);
        assert_eq!(through(&mut cache, b"hell", 3, &mut calls), 3);
        assert_eq!(calls, 2);
    }

    #[test]
    fn the_packed_table_grows_then_clears_and_never_answers_wrong() {
        let mut cache = PieceCache::default();
        let mut computed = 0usize;
        // More distinct pieces than the table's bound, each counted twice.
        for round in 0..2 {
            for i in 0..(MAX_PACKED_SLOTS as u64) {
                let piece = format!("{i:x}").into_bytes();
                let want = piece.len() % 16;
                let got = cache.count(&piece, 0, piece.len(), |_| {
                    computed += 1;
                    want
                });
                assert_eq!(got, want, "round {round} piece {i}");
            }
        }
        assert_eq!(cache.packed.slots.len(), MAX_PACKED_SLOTS);
        assert!(2 * cache.packed.filled <= cache.packed.slots.len());
        assert!(computed > MAX_PACKED_SLOTS);
        // Whatever was cleared, the latest pieces are still there.
        let before = computed;
        for i in (2 * MAX_PACKED_SLOTS as u64 - 100)..(2 * MAX_PACKED_SLOTS as u64) {
            let piece = format!("{i:x}").into_bytes();
            cache.count(&piece, 0, piece.len(), |_| {
                computed += 1;
                piece.len() % 16
            });
        }
        assert_eq!(computed, before + 100, "new pieces are computed");
        for i in (2 * MAX_PACKED_SLOTS as u64 - 100)..(2 * MAX_PACKED_SLOTS as u64) {
            let piece = format!("{i:x}").into_bytes();
            cache.count(&piece, 0, piece.len(), |_| {
                unreachable!("{i:x} was just stored")
            });
        }
    }
}
