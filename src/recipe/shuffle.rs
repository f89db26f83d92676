//! The seeded global shuffle, in bounded memory. Pass 2 appends each
//! emitted record's bytes once to an anonymous spill data file and pushes
//! one 20-byte [`Slot`] (shuffle key, offset, length) per copy into the
//! external sorter; reading back walks the slots in key order and copies
//! each record out of the data file with a positional read. The order is a
//! uniformly random permutation that depends only on (seed, source,
//! ordinal, copy). Positional reads rather than a memory map keep the
//! process's resident size at the sorter's budget instead of the data
//! file's size. Costs: one extra write and one random read of the output.

use std::fs::File;
use std::hash::Hasher;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::spill::{ExternalSorter, FixedRecord, Sorted};

/// The shuffle key of copy `copy` of record `ordinal` of source `source`.
pub fn shuffle_key(seed: u64, source: u64, ordinal: u64, copy: u64) -> u64 {
    crate::keyed::hash(seed, crate::keyed::RECIPE_SHUFFLE, |h| {
        h.write_u64(source);
        h.write_u64(ordinal);
        h.write_u64(copy);
    })
}

/// One emitted copy: where its bytes are in the data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Slot {
    /// Shuffle key (sort order).
    pub key: u64,
    /// Offset in the data file (breaks key ties deterministically).
    pub offset: u64,
    /// Length in bytes, newline included.
    pub len: u32,
}

impl FixedRecord for Slot {
    const SIZE: usize = 20;
    fn encode(&self, out: &mut [u8]) {
        out[..8].copy_from_slice(&self.key.to_le_bytes());
        out[8..16].copy_from_slice(&self.offset.to_le_bytes());
        out[16..20].copy_from_slice(&self.len.to_le_bytes());
    }
    fn decode(b: &[u8]) -> Self {
        Slot {
            key: u64::from_le_bytes(b[..8].try_into().expect("8 bytes")),
            offset: u64::from_le_bytes(b[8..16].try_into().expect("8 bytes")),
            len: u32::from_le_bytes(b[16..20].try_into().expect("4 bytes")),
        }
    }
}

/// Records being collected for the shuffle.
pub struct ShuffleSpill {
    data: BufWriter<File>,
    offset: u64,
    slots: ExternalSorter<Slot>,
}

impl ShuffleSpill {
    /// An empty spill in `dir`, sorting with `budget` bytes of memory.
    pub fn new(dir: &Path, budget: usize) -> std::io::Result<Self> {
        let file = tempfile::tempfile_in(dir)?;
        Ok(ShuffleSpill {
            data: BufWriter::with_capacity(1 << 20, file),
            offset: 0,
            slots: ExternalSorter::new(dir, budget),
        })
    }

    /// Store `record` (newline included) once, with one slot per key.
    pub fn add(&mut self, record: &[u8], keys: impl Iterator<Item = u64>) -> std::io::Result<()> {
        let len = u32::try_from(record.len()).map_err(std::io::Error::other)?;
        self.data.write_all(record)?;
        for key in keys {
            self.slots.push(Slot {
                key,
                offset: self.offset,
                len,
            })?;
        }
        self.offset += u64::from(len);
        Ok(())
    }

    /// Finish writing; records come back in shuffled order.
    pub fn into_shuffled(self) -> std::io::Result<Shuffled> {
        let file = self.data.into_inner().map_err(|e| e.into_error())?;
        Ok(Shuffled {
            file,
            slots: self.slots.finish()?,
        })
    }
}

/// Records in shuffled order.
pub struct Shuffled {
    file: File,
    slots: Sorted<Slot>,
}

/// Records back to back, with their end offsets.
#[derive(Debug, Default)]
pub struct Chunk {
    /// The bytes.
    pub data: Vec<u8>,
    /// End of each record in `data`.
    pub ends: Vec<usize>,
}

impl Shuffled {
    /// The next records, about `max_bytes` of them; `None` at the end.
    pub fn next_chunk(&mut self, max_bytes: usize) -> std::io::Result<Option<Chunk>> {
        let mut chunk = Chunk::default();
        while chunk.data.len() < max_bytes {
            let Some(slot) = self.slots.next().transpose()? else {
                break;
            };
            let start = chunk.data.len();
            chunk.data.resize(start + slot.len as usize, 0);
            self.file
                .read_exact_at(&mut chunk.data[start..], slot.offset)?;
            chunk.ends.push(chunk.data.len());
        }
        Ok((!chunk.ends.is_empty()).then_some(chunk))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_copy_comes_back_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut spill = ShuffleSpill::new(dir.path(), 1 << 10).unwrap();
        for i in 0..500u64 {
            let copies = 1 + i % 3;
            spill
                .add(
                    format!("{i}\n").as_bytes(),
                    (0..copies).map(|c| shuffle_key(1, 0, i, c)),
                )
                .unwrap();
        }
        let mut shuffled = spill.into_shuffled().unwrap();
        let mut seen = Vec::new();
        while let Some(chunk) = shuffled.next_chunk(64).unwrap() {
            let text = String::from_utf8(chunk.data).unwrap();
            seen.extend(text.lines().map(|l| l.parse::<u64>().unwrap()));
        }
        assert_eq!(seen.len(), 500 + 500 / 3 * 3 + 1);
        assert_ne!(seen[..10], (0..10).collect::<Vec<_>>()[..]);
        seen.sort();
        assert_eq!(seen.iter().filter(|&&i| i == 5).count(), 3);
    }
}
