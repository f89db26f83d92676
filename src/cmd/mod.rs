//! One module per subcommand, all of one shape: a clap `Args` struct and a
//! `run(args) -> anyhow::Result<()>`. This is the edge where library errors
//! become `anyhow` errors with context. The helpers below are the shared I/O
//! conventions of the pipe commands (xsv's `config.rs`): no input path or
//! `-` means stdin, and every command runs on one small tokio runtime.

pub mod mix;
pub mod progress;
pub mod recipe;
pub mod sample;
pub mod shard;
pub mod stats;
pub mod synth;
pub mod tokens;
pub mod values;

use std::path::PathBuf;

use anyhow::Context;

/// The inputs as given, or stdin (`-`) when none is.
pub fn inputs_or_stdin(files: &[PathBuf]) -> Vec<PathBuf> {
    if files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        files.to_vec()
    }
}

/// Run `work` on a two-thread tokio runtime until it ends or a signal stops
/// it. The runtime is shut down in the background, so a read blocked on
/// stdin (after `| head` closed our stdout) cannot hold the exit.
pub fn block_on<F>(work: F) -> anyhow::Result<()>
where
    F: std::future::Future<Output = anyhow::Result<()>>,
{
    let runtime = runtime()?;
    let result = runtime.block_on(crate::exit::until_interrupted(work));
    runtime.shutdown_background();
    result
}

/// The shared tokio runtime ([`crate::pipeline::runtime`]).
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    crate::pipeline::runtime().context("cannot start the async runtime")
}

/// The tokenizer spec: the flag, else `TOKENIZER_MODEL`, else
/// `TOKENIZER_MODEL_NAME`, else the default — the order `mix` uses.
pub fn tokenizer_spec(flag: Option<String>) -> String {
    flag.or_else(|| {
        std::env::var("TOKENIZER_MODEL")
            .ok()
            .filter(|s| !s.is_empty())
    })
    .or_else(|| {
        std::env::var("TOKENIZER_MODEL_NAME")
            .ok()
            .filter(|s| !s.is_empty())
    })
    .unwrap_or_else(|| crate::mix::DEFAULT_TOKENIZER.to_owned())
}
