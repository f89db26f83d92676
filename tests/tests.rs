//! knowmix's integration tests: one binary, one module per area.

mod goldens;
mod render;
mod resolve;
mod util;
