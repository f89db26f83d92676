//! Uniform samples of JSONL records, without replacement, passed through
//! byte for byte: [`index`] for files (sample positions, then read only
//! the chosen records), [`reservoir`] for streams (bounded memory, with
//! [`store`] spilling kept records to disk). `knowmix sample` (in
//! `cmd::sample`) picks one per input shape, or a keyed hash for `--ratio`.

pub mod index;
pub mod reservoir;
pub mod store;
