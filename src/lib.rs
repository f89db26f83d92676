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
//! * [`store`]: local paths and `s3://` objects behind one set of calls.
//! * [`assemble`]: building step-04 records from step-03 rows on the worker pool.
//! * [`value_spans`]: where a wide row's needed values lie, so pass 2 reads only those.
//! * [`tokens`]: setting `token_length` on finished records (`knowmix tokens`).
//! * [`conversation`]: the one parser of a finished record's `messages`, and
//!   splicing `token_length` into it (the pipe commands and `recipe`).
//!
//! Which JSON reader serves what: [`read::scan`] is the one top-level
//! reader (strict, allocation-free, keeps the line's bytes) for step-03 rows,
//! `token_length`, and rewriting one top-level member; simd-json's tape
//! ([`read::fields`]) reads nested values (a finished record's `messages`);
//! serde_json reads the small documents we write ourselves (manifests, plans,
//! recipes).
#![deny(missing_docs)]

pub mod assemble;
pub mod cli;
pub mod cmd;
pub mod columns;
pub mod conversation;
pub mod error;
pub mod exit;
pub mod format;
pub mod keyed;
pub mod lock;
pub mod mix;
pub mod observe;
pub mod pipeline;
pub mod read;
pub mod recipe;
pub mod render;
pub mod sample;
pub mod select;
pub mod shard;
pub mod size;
pub mod spill;
pub mod stats;
pub mod store;
pub mod synth;
pub mod tokenize;
pub mod tokens;
pub mod value_spans;
pub mod write;
