//! Pass 2: stream one source again; on the worker pool, recompute each
//! record's rank and keep the records the [`Draw`] gives copies to, bytes
//! unchanged (or with the system prompt applied); then hand each kept
//! record with its copy count to the sink: straight to the output in source
//! order (`--no-shuffle`, copies adjacent), or to the shuffle spill.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use futures::StreamExt;

use super::draw::{rank, Draw};
use super::prompt;
use super::shards::Shards;
use super::shuffle::{shuffle_key, ShuffleSpill};
use crate::error::RecordError;
use crate::pipeline::{spawn_reader, WorkerPool};
use crate::read::fields::location;
use crate::read::LineBatch;

/// What a worker needs to pick a source's records.
pub struct Emitter {
    /// The draw seed.
    pub seed: u64,
    /// The source's identity in the hash.
    pub source: u64,
    /// The source's draw.
    pub draw: Draw,
    /// `metadata.sys_prompt`.
    pub prompt: Option<Arc<str>>,
}

/// Where emitted records go.
pub enum Sink<'a> {
    /// In source order.
    Ordered(&'a mut Shards),
    /// Into the shuffle.
    Shuffle(&'a mut ShuffleSpill),
}

/// What pass 2 emitted from one source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Emitted {
    /// Distinct records.
    pub selected: u64,
    /// Records, copies included.
    pub copies: u64,
}

#[derive(Default)]
struct Kept {
    data: Vec<u8>,
    /// (end in `data`, ordinal, copies).
    records: Vec<(usize, u64, u64)>,
}

/// Emit the drawn records of `files` into `sink`.
pub async fn emit_source(
    pool: &WorkerPool,
    files: &[PathBuf],
    emitter: Arc<Emitter>,
    sink: &mut Sink<'_>,
) -> anyhow::Result<Emitted> {
    let (seed, source) = (emitter.seed, emitter.source);
    let (batches, reader) = spawn_reader(files.to_vec(), pool.threads() * 2);
    let mut kept = pool.map_ordered(batches, move |batch| emitter.keep(batch));
    let mut out = Emitted::default();
    while let Some(batch) = kept.next().await {
        let batch = batch?;
        let mut start = 0;
        for &(end, ordinal, copies) in &batch.records {
            let record = &batch.data[start..end];
            start = end;
            out.selected += 1;
            out.copies += copies;
            match sink {
                Sink::Ordered(shards) => {
                    for _ in 0..copies {
                        shards.write_record(record).await?;
                    }
                }
                Sink::Shuffle(spill) => spill
                    .add(
                        record,
                        (0..copies).map(|c| shuffle_key(seed, source, ordinal, c)),
                    )
                    .context("cannot write the shuffle spill; check --spill-dir")?,
            }
        }
    }
    reader.await.context("reader task failed")??;
    Ok(out)
}

impl Emitter {
    fn keep(&self, batch: LineBatch) -> Result<Kept, RecordError> {
        let mut out = Kept::default();
        for i in 0..batch.len() {
            let ordinal = batch.first_row + i as u64;
            let copies = self
                .draw
                .copies_of(rank(self.seed, self.source, ordinal), ordinal);
            if copies == 0 {
                continue;
            }
            let line = batch.line(i);
            match &self.prompt {
                None => out.data.extend_from_slice(line),
                Some(p) => prompt::apply(line, p, &mut out.data).map_err(|reason| {
                    RecordError::Malformed {
                        at: location(&batch.path, batch.lines[i].line_no),
                        reason: format!("{reason} (needed for metadata.sys_prompt)"),
                    }
                })?,
            }
            out.data.push(b'\n');
            out.records.push((out.data.len(), ordinal, copies));
        }
        Ok(out)
    }
}
