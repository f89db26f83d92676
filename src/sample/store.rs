//! Where sampled records wait until they are written: in memory while the
//! live bytes stay under the memory limit, else appended to an anonymous
//! spill file (unlinked at creation, so nothing is left behind) and read
//! back with positioned reads. A record handle frees its memory when it is
//! dropped — when the reservoir replaces it — so memory follows what the
//! reservoir holds, not what passed through it.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The bytes of one record, or where they went.
enum Data {
    Memory(Vec<u8>),
    Spilled { offset: u64, len: usize },
}

/// Shared between a store and its records.
struct Shared {
    limit: u64,
    live: AtomicU64,
    spill: Mutex<Option<(File, u64)>>,
    spill_dir: std::path::PathBuf,
}

/// A record held by the store; see the module docs.
pub struct Held {
    /// Its ordinal in the input (0-based).
    pub index: u64,
    data: Mutex<Data>,
    shared: Arc<Shared>,
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Data::Memory(bytes) = &*self.data.lock().expect("record lock") {
            self.shared
                .live
                .fetch_sub(bytes.len() as u64, Ordering::Relaxed);
        }
    }
}

impl Held {
    /// Append the record's bytes to `out`.
    pub fn read_into(&self, out: &mut Vec<u8>) -> std::io::Result<()> {
        match &*self.data.lock().expect("record lock") {
            Data::Memory(bytes) => out.extend_from_slice(bytes),
            Data::Spilled { offset, len } => {
                let spill = self.shared.spill.lock().expect("spill lock");
                let (file, _) = spill.as_ref().expect("a spilled record has a spill file");
                let start = out.len();
                out.resize(start + len, 0);
                file.read_exact_at(&mut out[start..], *offset)?;
            }
        }
        Ok(())
    }
}

/// Holds records in memory up to a byte limit, then on disk.
#[derive(Clone)]
pub struct RecordStore {
    shared: Arc<Shared>,
}

impl RecordStore {
    /// A store keeping at most `limit` bytes of records in memory; spill
    /// files go to `spill_dir`.
    pub fn new(limit: u64, spill_dir: &Path) -> Self {
        let shared = Shared {
            limit,
            live: AtomicU64::new(0),
            spill: Mutex::new(None),
            spill_dir: spill_dir.into(),
        };
        RecordStore {
            shared: Arc::new(shared),
        }
    }

    /// Take a copy of `bytes` (in memory, for now).
    pub fn hold(&self, index: u64, bytes: &[u8]) -> Arc<Held> {
        self.shared
            .live
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        Arc::new(Held {
            index,
            data: Mutex::new(Data::Memory(bytes.to_vec())),
            shared: self.shared.clone(),
        })
    }

    /// Record `held` is being kept: move it to disk if memory is over the limit.
    pub fn settle(&self, held: &Held) -> std::io::Result<()> {
        if self.shared.live.load(Ordering::Relaxed) <= self.shared.limit {
            return Ok(());
        }
        let mut data = held.data.lock().expect("record lock");
        let Data::Memory(bytes) = &*data else {
            return Ok(());
        };
        let mut spill = self.shared.spill.lock().expect("spill lock");
        if spill.is_none() {
            *spill = Some((tempfile::tempfile_in(&self.shared.spill_dir)?, 0));
        }
        let (file, end) = spill.as_mut().expect("just created");
        file.write_all_at(bytes, *end)?;
        let spilled = Data::Spilled {
            offset: *end,
            len: bytes.len(),
        };
        *end += bytes.len() as u64;
        self.shared
            .live
            .fetch_sub(bytes.len() as u64, Ordering::Relaxed);
        *data = spilled;
        Ok(())
    }

    /// Bytes of records held in memory now.
    pub fn live_bytes(&self) -> u64 {
        self.shared.live.load(Ordering::Relaxed)
    }

    /// Bytes written to the spill file so far (replaced records included).
    pub fn spilled_bytes(&self) -> u64 {
        self.shared
            .spill
            .lock()
            .expect("spill lock")
            .as_ref()
            .map_or(0, |(_, end)| *end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spills_past_the_limit_and_frees_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let store = RecordStore::new(10, dir.path());
        let a = store.hold(0, b"0123456789");
        store.settle(&a).unwrap();
        let b = store.hold(1, b"abcdef");
        store.settle(&b).unwrap();
        assert_eq!((store.live_bytes(), store.spilled_bytes()), (10, 6));
        let mut out = Vec::new();
        a.read_into(&mut out).unwrap();
        b.read_into(&mut out).unwrap();
        assert_eq!(out, b"0123456789abcdef");
        drop(a);
        assert_eq!(store.live_bytes(), 0);
    }
}
