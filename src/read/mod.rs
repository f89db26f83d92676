//! The read stage: everything between a path on disk and parsed fields.
//! [`open`] opens a file or stdin and undoes gzip/zstd compression by magic
//! bytes; [`lines`] cuts the byte stream into batches of lines that remember
//! their file and line numbers; [`step03`] finds the dataset folders and
//! their files; [`fields`] pulls the few columns a stage needs out of a wide
//! JSON row without materialising the rest, and [`scan`] does the same for
//! top-level strings only, stepping over the other values without a tape.

pub mod fields;
pub mod lines;
pub mod open;
pub mod part;
pub mod place;
pub mod scan;
pub mod step03;

pub use lines::{Line, LineBatch};
pub use place::RowPlace;
