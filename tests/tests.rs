//! The integration test binary: one `mod` per area (ripgrep's layout).

mod mix;
mod util;
