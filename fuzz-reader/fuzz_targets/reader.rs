//! Fuzz the record reader end to end: bytes (maybe gzip/zstd) → line
//! batches → field parsing → `RecordBuilder` (pass-1 indexing and pass-2
//! building, both error policies) with a stub token counter. Checks that
//! nothing panics and that the policies agree: under `skip` every row is
//! accounted for (kept, dropped or rejected) and every output line is JSON;
//! `fail` fails exactly when `skip` rejects something.

#![no_main]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use knowmix::columns::Columns;
use knowmix::format::{Dataset, Turn};
use knowmix::read::lines::{read_batches, Start};
use knowmix::read::open::{decompress, InputReader};
use knowmix::read::LineBatch;
use knowmix::records::{OnError, RecordBuilder, TokenLength};
use knowmix::select::Sampler;
use libfuzzer_sys::fuzz_target;

/// Counts characters: no tokenizer needed.
struct Chars;

impl TokenLength for Chars {
    fn token_length(&self, turns: &[Turn<'_>]) -> Result<usize, String> {
        Ok(turns.iter().map(|t| t.content.chars().count()).sum())
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().build().unwrap())
}

fn copy(b: &LineBatch) -> LineBatch {
    LineBatch {
        path: b.path.clone(),
        first_row: b.first_row,
        data: b.data.clone(),
        lines: b.lines.clone(),
        unterminated_tail: b.unterminated_tail,
    }
}

fn check(builder: &RecordBuilder, batch: &LineBatch) {
    let n = batch.len() as u64;
    for dataset in [Dataset::ExtractiveSummary, Dataset::DocumentBasedQa] {
        let skip = builder.build_batch_with(dataset, copy(batch), None, OnError::Skip).expect("skip never fails");
        let kept = skip.records.len() as u64;
        assert_eq!(kept + skip.dropped + skip.rejected.len() as u64, n);
        for line in skip.data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            serde_json::from_slice::<serde_json::Value>(line).expect("output lines are JSON");
        }
        let fail = builder.build_batch_with(dataset, copy(batch), None, OnError::Fail);
        assert_eq!(fail.is_err(), !skip.rejected.is_empty());
        if let Ok(fail) = fail {
            assert_eq!(fail.data, skip.data);
        }
    }
    let sampler = Sampler::new(42);
    let skip = builder
        .index_batch(Dataset::DetailedSummary, copy(batch), sampler, OnError::Skip)
        .expect("skip never fails");
    assert_eq!(skip.entries.len() as u64 + skip.dropped + skip.rejected.len() as u64, n);
}

fuzz_target!(|data: &[u8]| {
    let builder = RecordBuilder { columns: Columns::default(), gpt_oss: data.first() == Some(&b' '), length: Arc::new(Chars) };
    runtime().block_on(async {
        let raw: InputReader = Box::pin(std::io::Cursor::new(data.to_vec()));
        let Ok(reader) = decompress(raw).await else { return };
        let (tx, mut rx) = tokio::sync::mpsc::channel(2);
        let path = Arc::new(PathBuf::from("fuzz.jsonl"));
        let read = async move { read_batches(reader, path, Start::default(), &tx).await };
        let consume = async {
            while let Some(batch) = rx.recv().await {
                check(&builder, &batch);
            }
        };
        let (_, ()) = tokio::join!(read, consume);
    });
});
