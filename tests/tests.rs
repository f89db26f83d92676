//! knowmix's integration tests: one binary, one module per area (ripgrep's layout).

mod errors;
mod fast_count;
mod goldens;
mod mix;
mod recipe;
mod render;
mod resolve;
mod sample;
mod shard;
mod stats;
mod synth;
mod tokens;
mod util;
