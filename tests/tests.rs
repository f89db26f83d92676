//! knowmix's integration tests: one binary, one module per area (ripgrep's layout).

mod goldens;
mod mix;
mod render;
mod resolve;
mod sample;
mod stats;
mod tokens;
mod util;
