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

/// Load `path` (a `.env` file) into the environment without overriding it.
/// A missing file is fine; a line that does not parse is a usage error
/// naming `path:LINE`, since silently dropping it would drop every later
/// setting too.
pub fn load_dotenv(path: &std::path::Path) -> anyhow::Result<()> {
    match dotenvy::from_path(path) {
        Ok(()) => Ok(()),
        Err(dotenvy::Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(dotenvy::Error::LineParse(line, _)) => {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let first = line.lines().next().unwrap_or("").trim();
            let number = text
                .lines()
                .position(|l| l.trim() == first)
                .map_or(String::new(), |i| format!(":{}", i + 1));
            Err(crate::error::UsageError(format!(
                "{}{number}: cannot parse {first:?}; expected NAME=value",
                path.display()
            ))
            .into())
        }
        Err(e) => Err(anyhow::anyhow!("{}: {e}", path.display())),
    }
}

pub use crate::write::refuse_overwriting_inputs;

/// Worker threads for `--threads N` (0: one per core), capped at
/// [`crate::pipeline::MAX_THREADS_PER_CORE`] per core; a cap is said
/// unless `quiet`.
pub fn threads(requested: usize, quiet: bool) -> usize {
    let (threads, capped) = crate::pipeline::thread_count(requested);
    if capped && !quiet {
        crate::exit::log_line(&format!(
            "warning: --threads {requested} capped to {threads} ({} per core)",
            crate::pipeline::MAX_THREADS_PER_CORE
        ));
    }
    threads
}

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
pub fn block_on<T, F>(work: F) -> anyhow::Result<T>
where
    F: std::future::Future<Output = anyhow::Result<T>>,
{
    let runtime = runtime()?;
    let result = runtime.block_on(crate::exit::until_interrupted(work));
    // Not a plain drop: that waits for every blocking task (a worker still
    // counting a batch, a reader blocked on a pipe), which made Ctrl-C take
    // seconds. The work's own temp files were removed when it was dropped.
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
