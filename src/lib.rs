//! knowmix builds LLM fine-tuning mixes out of generated knowledge data.
//!
//! The main job, [`mix`], is step 04 ("knowledge mixing") of the
//! knowledge-tuning pipeline done as a streaming, out-of-core processor. The
//! data flows through named stages, one module each:
//!
//! read → select → render → tokenize → write
//!
//! * [`read`]: open inputs (plain, gzip, zstd by magic bytes), split lines,
//!   find the step-03 dataset folders.
//! * [`select`]: bottom-k summary sampling per raw document, nested across cuts.
//! * [`format`]: the step-04 record rules (pure functions).
//! * [`render`]: the model's chat template (minijinja with transformers shims).
//! * [`tokenize`]: resolving and running tokenizers; exact fast counting.
//! * [`write`]: atomic, optionally compressed output files.
//! * [`chat_record`]: reading and splicing finished records (the pipe commands).
//! * [`records`]: building step-04 records from step-03 rows on the worker pool.
//! * [`spans`]: where a wide row's needed values lie, so pass 2 reads only those.
#![deny(missing_docs)]

pub mod chat_record;
pub mod cli;
pub mod cmd;
pub mod columns;
pub mod error;
pub mod exit;
pub mod format;
pub mod mix;
pub mod observe;
pub mod pipeline;
pub mod read;
pub mod recipe;
pub mod records;
pub mod render;
pub mod sample;
pub mod select;
pub mod shard;
pub mod size;
pub mod spans;
pub mod spill;
pub mod synth;
pub mod tokenize;
pub mod write;
