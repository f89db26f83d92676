//! Per-thread, per-counter memo of piece → token count. Chat text repeats a
//! few tens of thousands of distinct pre-tokens, so almost every piece is a
//! hit. Each thread keeps its own bounded map for each of the last few
//! counters it used (no locks, no sharing); a map that fills up is cleared.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::Hasher;

use rustc_hash::FxBuildHasher;

/// Pieces longer than this are counted without the cache.
const MAX_KEY_LEN: usize = 64;
/// Entries per map before it is cleared.
const MAX_ENTRIES: usize = 1 << 16;
/// Counters remembered per thread; the oldest is dropped past this.
const MAX_COUNTERS: usize = 8;

/// Pieces of at most this many bytes are keyed inline (no pointer chase).
const SHORT: usize = 23;

/// A piece of at most [`SHORT`] bytes, zero-padded, its length in the last byte.
#[derive(Clone, Copy, PartialEq, Eq)]
struct ShortKey([u64; 3]);

impl ShortKey {
    /// Whole words are loaded as such and the last partial one byte by
    /// byte: no call to `memcpy` for a few bytes.
    #[inline]
    fn new(piece: &[u8]) -> ShortKey {
        let mut words = [0u64; 3];
        let (whole, tail) = piece.split_at(piece.len() & !7);
        for (word, chunk) in words.iter_mut().zip(whole.chunks_exact(8)) {
            *word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        }
        let mut last = 0u64;
        for (j, &b) in tail.iter().enumerate() {
            last |= u64::from(b) << (8 * j);
        }
        words[whole.len() / 8] |= last;
        words[2] |= (piece.len() as u64) << 56;
        ShortKey(words)
    }
}

impl std::hash::Hash for ShortKey {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        for word in self.0 {
            state.write_u64(word);
        }
    }
}

/// One thread's memo for one counter.
#[derive(Default)]
pub struct PieceCache {
    short: HashMap<ShortKey, u32, FxBuildHasher>,
    long: HashMap<Box<[u8]>, u32, FxBuildHasher>,
}

impl PieceCache {
    /// The count of `piece`, from the memo or from `compute` (then stored).
    #[inline]
    pub fn count(&mut self, piece: &[u8], compute: impl FnOnce(&[u8]) -> usize) -> usize {
        if piece.len() <= SHORT {
            let key = ShortKey::new(piece);
            if let Some(&n) = self.short.get(&key) {
                return n as usize;
            }
            let n = compute(piece);
            if self.short.len() >= MAX_ENTRIES {
                self.short.clear();
            }
            // A piece of at most SHORT bytes has at most that many tokens.
            self.short.insert(key, n as u32);
            return n;
        }
        if piece.len() > MAX_KEY_LEN {
            return compute(piece);
        }
        if let Some(&n) = self.long.get(piece) {
            return n as usize;
        }
        let n = compute(piece);
        if self.long.len() >= MAX_ENTRIES {
            self.long.clear();
        }
        self.long.insert(piece.into(), n as u32);
        n
    }
}

thread_local! {
    static CACHES: RefCell<Vec<(u64, PieceCache)>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's cache for the counter `id`.
pub fn with_cache<R>(id: u64, f: impl FnOnce(&mut PieceCache) -> R) -> R {
    CACHES.with(|caches| {
        let mut caches = caches.borrow_mut();
        let at = match caches.iter().position(|(k, _)| *k == id) {
            Some(at) => at,
            None => {
                if caches.len() >= MAX_COUNTERS {
                    caches.remove(0);
                }
                caches.push((id, PieceCache::default()));
                caches.len() - 1
            }
        };
        f(&mut caches[at].1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_are_the_zero_padded_bytes_and_length() {
        let bytes: Vec<u8> = (1..=SHORT as u8)
            .map(|b| b.wrapping_mul(37) | 0x80)
            .collect();
        for len in 0..=SHORT {
            let mut buf = [0u8; 24];
            buf[..len].copy_from_slice(&bytes[..len]);
            buf[SHORT] = len as u8;
            let word = |i: usize| u64::from_le_bytes(buf[i * 8..i * 8 + 8].try_into().unwrap());
            assert_eq!(
                ShortKey::new(&bytes[..len]).0,
                [word(0), word(1), word(2)],
                "{len}"
            );
        }
    }

    #[test]
    fn caches_and_bypasses_long_pieces() {
        let mut calls = 0;
        with_cache(u64::MAX, |c| {
            assert_eq!(
                c.count(b"abc", |_| {
                    calls += 1;
                    2
                }),
                2
            );
            assert_eq!(
                c.count(b"abc", |_| {
                    calls += 1;
                    9
                }),
                2
            );
            assert_eq!(
                c.count(b"abc\0", |_| {
                    calls += 1;
                    3
                }),
                3
            );
            let mid = [b'y'; SHORT + 1];
            assert_eq!(
                c.count(&mid, |_| {
                    calls += 1;
                    4
                }),
                4
            );
            assert_eq!(
                c.count(&mid, |_| {
                    calls += 1;
                    0
                }),
                4
            );
            let long = [b'x'; MAX_KEY_LEN + 1];
            assert_eq!(
                c.count(&long, |_| {
                    calls += 1;
                    5
                }),
                5
            );
        });
        assert_eq!(calls, 4);
    }
}
