//! knowmix's integration tests: one binary, one module per area (ripgrep's layout).

mod errors;
mod goldens;
mod mix;
mod recipe;
mod render;
mod resolve;
mod synth;
mod util;
