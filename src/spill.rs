//! External sorting in bounded memory. Items of a fixed binary size are
//! buffered up to a byte budget, sorted, and spilled as runs to anonymous
//! temp files in the spill folder (unlinked at creation, so nothing is left
//! behind on success, error, Ctrl-C or SIGKILL); reading back merges the
//! runs with a heap. With a single run nothing touches the disk. This is how
//! knowmix groups rows by raw document without a heap-resident hash map.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// A plain-old-data record that can be written to and read from a run.
pub trait FixedRecord: Copy + Ord + Send + Sync {
    /// Encoded size in bytes.
    const SIZE: usize;
    /// Encode into `out` (exactly `SIZE` bytes).
    fn encode(&self, out: &mut [u8]);
    /// Decode from `bytes` (exactly `SIZE` bytes).
    fn decode(bytes: &[u8]) -> Self;
}

/// Buffers, sorts and spills records; see the module docs.
pub struct ExternalSorter<T: FixedRecord> {
    buffer: Vec<T>,
    capacity: usize,
    spill_dir: PathBuf,
    runs: Vec<File>,
    total: u64,
}

impl<T: FixedRecord> ExternalSorter<T> {
    /// A sorter that keeps at most `memory_bytes` of records in memory.
    pub fn new(spill_dir: &Path, memory_bytes: usize) -> Self {
        let capacity = (memory_bytes / std::mem::size_of::<T>().max(1)).max(1024);
        ExternalSorter {
            buffer: Vec::new(),
            capacity,
            spill_dir: spill_dir.to_path_buf(),
            runs: Vec::new(),
            total: 0,
        }
    }

    /// Add one record.
    pub fn push(&mut self, item: T) -> std::io::Result<()> {
        if self.buffer.len() >= self.capacity {
            self.spill()?;
        }
        self.buffer.push(item);
        self.total += 1;
        Ok(())
    }

    /// How many records were pushed.
    pub fn len(&self) -> u64 {
        self.total
    }

    /// Whether no record was pushed.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// How many runs went to disk so far.
    pub fn spilled_runs(&self) -> usize {
        self.runs.len()
    }

    fn spill(&mut self) -> std::io::Result<()> {
        sort_buffer(&mut self.buffer);
        let file = tempfile::tempfile_in(&self.spill_dir)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let mut bytes = vec![0u8; T::SIZE];
        for item in self.buffer.drain(..) {
            item.encode(&mut bytes);
            out.write_all(&bytes)?;
        }
        let mut file = out.into_inner().map_err(|e| e.into_error())?;
        std::io::Seek::rewind(&mut file)?;
        self.runs.push(file);
        Ok(())
    }

    /// Finish: all records in ascending order.
    pub fn finish(mut self) -> std::io::Result<Sorted<T>> {
        if self.runs.is_empty() {
            sort_buffer(&mut self.buffer);
            return Ok(Sorted(Source::Memory(self.buffer.into_iter())));
        }
        if !self.buffer.is_empty() {
            self.spill()?;
        }
        let budget = self.capacity * std::mem::size_of::<T>();
        Sorted::merge(self.runs, budget)
    }
}

impl<T: FixedRecord> Sorted<T> {
    /// Merge sorted runs (files of encoded records, each in ascending
    /// order, read from their current position), reading with about
    /// `budget` bytes of buffers in all.
    pub fn merge(runs: Vec<File>, budget: usize) -> std::io::Result<Sorted<T>> {
        let per_run = (budget / runs.len().max(1)).clamp(T::SIZE * 64, 1 << 20);
        let mut readers: Vec<RunReader<T>> = runs
            .into_iter()
            .map(|f| RunReader::new(f, per_run))
            .collect();
        let mut heap = BinaryHeap::with_capacity(readers.len());
        for (i, r) in readers.iter_mut().enumerate() {
            if let Some(item) = r.next()? {
                heap.push(Reverse((item, i)));
            }
        }
        Ok(Sorted(Source::Merge { readers, heap }))
    }

    /// Write every record, in order, to `out` (a run [`Sorted::merge`]
    /// can read); returns how many.
    pub fn write_to(self, out: impl Write) -> std::io::Result<u64> {
        let mut out = BufWriter::with_capacity(1 << 20, out);
        let mut bytes = vec![0u8; T::SIZE];
        let mut n = 0;
        for item in self {
            item?.encode(&mut bytes);
            out.write_all(&bytes)?;
            n += 1;
        }
        out.flush()?;
        Ok(n)
    }
}

fn sort_buffer<T: FixedRecord>(buffer: &mut [T]) {
    use rayon::slice::ParallelSliceMut;
    if buffer.len() > 1 << 16 {
        buffer.par_sort_unstable();
    } else {
        buffer.sort_unstable();
    }
}

struct RunReader<T> {
    reader: BufReader<File>,
    bytes: Vec<u8>,
    _item: std::marker::PhantomData<T>,
}

impl<T: FixedRecord> RunReader<T> {
    fn new(file: File, buffer: usize) -> Self {
        RunReader {
            reader: BufReader::with_capacity(buffer, file),
            bytes: vec![0u8; T::SIZE],
            _item: std::marker::PhantomData,
        }
    }

    fn next(&mut self) -> std::io::Result<Option<T>> {
        match self.reader.read_exact(&mut self.bytes) {
            Ok(()) => Ok(Some(T::decode(&self.bytes))),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Sorted records, from memory or merged from runs on disk.
pub struct Sorted<T: FixedRecord>(Source<T>);

enum Source<T: FixedRecord> {
    Memory(std::vec::IntoIter<T>),
    Merge {
        readers: Vec<RunReader<T>>,
        heap: BinaryHeap<Reverse<(T, usize)>>,
    },
}

impl<T: FixedRecord> Iterator for Sorted<T> {
    type Item = std::io::Result<T>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            Source::Memory(items) => items.next().map(Ok),
            Source::Merge { readers, heap } => {
                let Reverse((item, i)) = heap.pop()?;
                match readers[i].next() {
                    Ok(Some(next)) => heap.push(Reverse((next, i))),
                    Ok(None) => {}
                    Err(e) => return Some(Err(e)),
                }
                Some(Ok(item))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl FixedRecord for u64 {
        const SIZE: usize = 8;
        fn encode(&self, out: &mut [u8]) {
            out.copy_from_slice(&self.to_le_bytes());
        }
        fn decode(bytes: &[u8]) -> Self {
            u64::from_le_bytes(bytes.try_into().unwrap())
        }
    }

    fn sorted_through(items: &[u64], memory: usize) -> (Vec<u64>, usize) {
        let dir = tempfile::tempdir().unwrap();
        let mut sorter = ExternalSorter::new(dir.path(), memory);
        for &i in items {
            sorter.push(i).unwrap();
        }
        let runs = sorter.spilled_runs();
        let out = sorter.finish().unwrap().map(Result::unwrap).collect();
        // Runs are anonymous: nothing visible in the spill folder.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        (out, runs)
    }

    #[test]
    fn sorts_in_memory_and_with_many_runs() {
        let items: Vec<u64> = (0..50_000u64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .collect();
        let mut expected = items.clone();
        expected.sort();
        let (mem, runs) = sorted_through(&items, 1 << 30);
        assert_eq!((mem == expected, runs), (true, 0));
        let (disk, runs) = sorted_through(&items, 8 * 1024);
        assert!(runs >= 40, "{runs}");
        assert_eq!(disk, expected);
        assert_eq!(sorted_through(&[], 1024).0, Vec::<u64>::new());
    }
}
